// Package token keeps the bearer tokens of the daemon's TCP listener: a
// token is shown once when made; the state directory keeps only its
// SHA-256 (a token is 32 random bytes, so no slow hash is needed).
package token

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/dittodb/ditto/internal/state"
)

// Prefix starts every token, so that a leaked one is easy to recognise
// (secret scanners, logs).
const Prefix = "ditto_"

// Token is what the store keeps of one token: never the secret.
type Token struct {
	Name      string    `json:"name"`
	Admin     bool      `json:"admin,omitempty"`
	Hash      string    `json:"sha256"` // hex SHA-256 of the secret
	CreatedAt time.Time `json:"created_at"`
	ExpiresAt time.Time `json:"expires_at,omitzero"` // zero: never
}

// Expired reports whether the token has expired at now.
func (t Token) Expired(now time.Time) bool { return !t.ExpiresAt.IsZero() && !now.Before(t.ExpiresAt) }

// Store is the token file (JSON, mode 0600) and its lock.
type Store struct {
	Path, LockPath string
}

type file struct {
	Tokens []Token `json:"tokens"`
}

var validName = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9._-]{0,62}$`)

// ErrExists, ErrNotFound and ErrInvalidName are the store's refusals.
var (
	ErrExists      = errors.New("a token of that name exists")
	ErrNotFound    = errors.New("no token of that name")
	ErrInvalidName = errors.New("invalid token name: use 1 to 63 letters, digits, '.', '_' or '-', starting with a letter or digit")
)

// Create makes a token named name that expires after ttl (0: never) and
// returns its secret, which only the caller ever sees.
func (s Store) Create(name string, admin bool, ttl time.Duration, now time.Time) (string, error) {
	if !validName.MatchString(name) {
		return "", ErrInvalidName
	}
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	secret := Prefix + strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b))
	t := Token{Name: name, Admin: admin, Hash: hash(secret), CreatedAt: now.UTC()}
	if ttl > 0 {
		t.ExpiresAt = t.CreatedAt.Add(ttl)
	}
	err := s.update(func(f *file) error {
		for _, o := range f.Tokens {
			if o.Name == name {
				return ErrExists
			}
		}
		f.Tokens = append(f.Tokens, t)
		return nil
	})
	if err != nil {
		return "", err
	}
	return secret, nil
}

// Revoke removes the token named name: from then on it is refused as one
// that never existed.
func (s Store) Revoke(name string) error {
	return s.update(func(f *file) error {
		for i, t := range f.Tokens {
			if t.Name == name {
				f.Tokens = append(f.Tokens[:i], f.Tokens[i+1:]...)
				return nil
			}
		}
		return ErrNotFound
	})
}

// List returns the tokens by name.
func (s Store) List() ([]Token, error) {
	f, err := s.read()
	sort.Slice(f.Tokens, func(i, j int) bool { return f.Tokens[i].Name < f.Tokens[j].Name })
	return f.Tokens, err
}

// Check returns the token whose secret was presented, if it exists and
// has not expired. Every stored hash is compared, in constant time, so the
// time taken says nothing about which tokens exist or how close a guess
// was.
func (s Store) Check(secret string, now time.Time) (Token, bool) {
	f, err := s.read()
	if err != nil {
		return Token{}, false
	}
	return match(f.Tokens, secret, now)
}

func match(tokens []Token, secret string, now time.Time) (Token, bool) {
	presented := sha256.Sum256([]byte(secret))
	var found Token
	ok := 0
	for _, t := range tokens {
		stored, err := hex.DecodeString(t.Hash)
		if err != nil || len(stored) != sha256.Size {
			continue
		}
		if subtle.ConstantTimeCompare(stored, presented[:]) == 1 {
			found, ok = t, 1
		}
	}
	if ok == 0 || found.Expired(now) {
		return Token{}, false
	}
	return found, true
}

func hash(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

func (s Store) read() (file, error) {
	var f file
	err := state.ReadJSON(s.Path, &f)
	if errors.Is(err, fs.ErrNotExist) {
		return file{}, nil
	}
	if err != nil {
		return file{}, fmt.Errorf("reading the tokens %s: %w", s.Path, err)
	}
	return f, nil
}

// update changes the token file under its lock, replacing it atomically.
func (s Store) update(fn func(*file) error) error {
	l, err := state.LockFile(s.LockPath)
	if err != nil {
		return err
	}
	defer l.Unlock()
	f, err := s.read()
	if err != nil {
		return err
	}
	if err := fn(&f); err != nil {
		return err
	}
	return state.WriteJSON(s.Path, f, true)
}
