package mask

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const testKey = "0123456789abcdef0123456789abcdef"

func TestResolveKey(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "k"), []byte(testKey+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"GOOD": "  " + testKey, "SHORT": "abc"}
	getenv := func(k string) string { return env[k] }
	ok := []string{"env:GOOD", "file:k", "file:" + filepath.Join(dir, "k")}
	for _, src := range ok {
		key, err := ResolveKey(src, dir, getenv)
		if err != nil || string(key) != testKey {
			t.Errorf("ResolveKey(%q) = %q, %v", src, key, err)
		}
	}
	bad := map[string]string{
		"env:UNSET":  "masking key env:UNSET: the environment variable UNSET is not set or empty; set it to a random secret of at least 16 characters, e.g. from: openssl rand -hex 32",
		"env:SHORT":  "masking key env:SHORT: the secret is 3 bytes; use a random secret of at least 16 characters",
		"file:none":  "masking key file:none: open " + filepath.Join(dir, "none") + ": no such file or directory; write a random secret",
		"vault:x":    `masking key "vault:x": not a key source; use env:NAME or file:PATH`,
		"file:empty": "masking key file:empty: the secret is 0 bytes",
	}
	if err := os.WriteFile(filepath.Join(dir, "empty"), []byte("\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for src, want := range bad {
		if _, err := ResolveKey(src, dir, getenv); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ResolveKey(%q) error\n%v\nwant\n%s", src, err, want)
		}
	}
}

func TestRulesResolveKey(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "secret"), []byte(testKey), 0o600); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "rules.yaml")
	if err := os.WriteFile(file, []byte("version: 1\nkey: file:secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	r, err := Load(file)
	if err != nil {
		t.Fatal(err)
	}
	if key, err := r.ResolveKey(); err != nil || string(key) != testKey {
		t.Errorf("a file: key is found beside the rules file: %q, %v", key, err)
	}
	t.Setenv("DITTO_TEST_UNSET_KEY", "")
	r.Key = "env:DITTO_TEST_UNSET_KEY"
	if _, err := r.ResolveKey(); err == nil || !strings.HasPrefix(err.Error(), file+":2: masking key env:DITTO_TEST_UNSET_KEY") {
		t.Errorf("error names the rules file and line: %v", err)
	}
}
