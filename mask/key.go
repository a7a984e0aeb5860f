package mask

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// MinKeyLen is the shortest secret accepted. Masked values are keyed hashes
// of the originals, so a guessable key lets anyone confirm guesses (is this
// the masked form of alice@corp.com?).
const MinKeyLen = 16

// ResolveKey reads the secret the rules' key setting names. A file: path is
// relative to the rules file.
func (r *Rules) ResolveKey() ([]byte, error) {
	key, err := ResolveKey(r.Key, filepath.Dir(r.File), os.Getenv)
	if err != nil {
		return nil, fmt.Errorf("%s:%d: %w", r.File, r.KeyLine, err)
	}
	return key, nil
}

// ResolveKey reads the secret source names: "env:NAME" looks NAME up with
// getenv, "file:PATH" reads PATH (relative to dir). Surrounding whitespace,
// such as a file's trailing newline, is not part of the secret.
func ResolveKey(source, dir string, getenv func(string) string) ([]byte, error) {
	const howto = "a random secret of at least 16 characters, e.g. from: openssl rand -hex 32"
	kind, ref, _ := strings.Cut(source, ":")
	var key []byte
	switch kind {
	case "env":
		v := getenv(ref)
		if v == "" {
			return nil, fmt.Errorf("masking key %s: the environment variable %s is not set or empty; set it to %s", source, ref, howto)
		}
		key = []byte(v)
	case "file":
		path := ref
		if !filepath.IsAbs(path) {
			path = filepath.Join(dir, path)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("masking key %s: %w; write %s into it (chmod 600)", source, err, howto)
		}
		key = data
	default:
		return nil, fmt.Errorf("masking key %q: not a key source; use env:NAME or file:PATH", source)
	}
	key = bytes.TrimSpace(key)
	if len(key) < MinKeyLen {
		return nil, fmt.Errorf("masking key %s: the secret is %d bytes; use %s", source, len(key), howto)
	}
	return key, nil
}
