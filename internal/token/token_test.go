package token

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func newStore(t *testing.T) Store {
	dir := t.TempDir()
	return Store{Path: filepath.Join(dir, "tokens.json"), LockPath: filepath.Join(dir, "tokens.lock")}
}

func TestCreateCheckRevoke(t *testing.T) {
	s := newStore(t)
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	a, err := s.Create("ci-a", false, 0, now)
	if err != nil {
		t.Fatal(err)
	}
	b, err := s.Create("ops", true, 0, now)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(a, Prefix) || len(a) < len(Prefix)+50 || a == b {
		t.Fatalf("implausible secrets %q, %q", a, b)
	}
	if tok, ok := s.Check(a, now); !ok || tok.Name != "ci-a" || tok.Admin {
		t.Fatalf("Check(a) = %+v, %v", tok, ok)
	}
	if tok, ok := s.Check(b, now); !ok || tok.Name != "ops" || !tok.Admin {
		t.Fatalf("Check(b) = %+v, %v", tok, ok)
	}
	for _, wrong := range []string{"", Prefix, a[:len(a)-1], a + "x", strings.ToUpper(a)} {
		if tok, ok := s.Check(wrong, now); ok {
			t.Fatalf("Check(%q) accepted as %s", wrong, tok.Name)
		}
	}
	if _, err := s.Create("ci-a", false, 0, now); !errors.Is(err, ErrExists) {
		t.Fatalf("a second token of one name: %v", err)
	}
	if err := s.Revoke("ci-a"); err != nil {
		t.Fatal(err)
	}
	if _, ok := s.Check(a, now); ok {
		t.Fatal("a revoked token was accepted")
	}
	if _, ok := s.Check(b, now); !ok {
		t.Fatal("revoking one token refused another")
	}
	if err := s.Revoke("ci-a"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("revoking twice: %v", err)
	}
}

func TestExpiry(t *testing.T) {
	s := newStore(t)
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	secret, err := s.Create("short", false, time.Hour, now)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := s.Check(secret, now.Add(59*time.Minute)); !ok {
		t.Fatal("refused before its expiry")
	}
	if _, ok := s.Check(secret, now.Add(time.Hour)); ok {
		t.Fatal("accepted at its expiry")
	}
}

// The file keeps the hash, never the secret, and only root may read it.
func TestStoredHashOnly(t *testing.T) {
	s := newStore(t)
	secret, err := s.Create("ci", false, 0, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(s.Path)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), secret) || strings.Contains(string(b), strings.TrimPrefix(secret, Prefix)) {
		t.Fatal("the token file holds the secret")
	}
	if !strings.Contains(string(b), hash(secret)) {
		t.Fatal("the token file lacks the secret's hash")
	}
	if fi, _ := os.Stat(s.Path); fi.Mode().Perm() != 0o600 {
		t.Fatalf("token file mode %v, want 0600", fi.Mode().Perm())
	}
	ts, err := s.List()
	if err != nil || len(ts) != 1 || ts[0].Name != "ci" {
		t.Fatalf("List = %+v, %v", ts, err)
	}
}

func TestInvalidNames(t *testing.T) {
	s := newStore(t)
	for _, name := range []string{"", "-x", "a b", "../x", strings.Repeat("a", 64), "tök"} {
		if _, err := s.Create(name, false, 0, time.Now()); !errors.Is(err, ErrInvalidName) {
			t.Fatalf("Create(%q): %v, want ErrInvalidName", name, err)
		}
	}
}

// A damaged stored hash matches nothing, and does not stop the others
// from matching.
func TestMatchSkipsDamagedHashes(t *testing.T) {
	good := "ditto_secret"
	tokens := []Token{{Name: "bad", Hash: "zz"}, {Name: "short", Hash: "abcd"}, {Name: "good", Hash: hash(good)}}
	if tok, ok := match(tokens, good, time.Now()); !ok || tok.Name != "good" {
		t.Fatalf("match = %+v, %v", tok, ok)
	}
	if _, ok := match(tokens, "zz", time.Now()); ok {
		t.Fatal("a damaged hash matched")
	}
}
