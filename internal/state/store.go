// Package state keeps ditto's state directory: its layout, the copies'
// records, the current-golden pointer and the locks. Every change that
// must not race another ditto process goes through one locked Update.
package state

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Layout names the files and folders of a state directory.
type Layout struct{ Dir string }

func (l Layout) path(elem ...string) string {
	return filepath.Join(append([]string{l.Dir}, elem...)...)
}

func (l Layout) Config() string     { return l.path("config.json") }
func (l Layout) Marker() string     { return l.path(".ditto-home") }
func (l Layout) StateLock() string  { return l.path("ditto.lock") }
func (l Layout) ReseedLock() string { return l.path("reseed.lock") }
func (l Layout) ServeLock() string  { return l.path("serve.lock") }
func (l Layout) Current() string    { return l.path("current") }

// Tokens holds the hashes of the daemon's bearer tokens; TokensLock
// serialises their changes.
func (l Layout) Tokens() string     { return l.path("tokens.json") }
func (l Layout) TokensLock() string { return l.path("tokens.lock") }

// TLS holds ditto's CA and the daemon's API certificate (0700).
func (l Layout) TLS() string     { return l.path("tls") }
func (l Layout) Records() string { return l.path("copies") }
func (l Layout) Run() string     { return l.path("run") }
func (l Layout) Logs() string    { return l.path("logs") }
func (l Layout) Tmp() string     { return l.path("tmp") }
func (l Layout) InitDB() string  { return l.path("initdb") }

// ReseedStatus is what the home remembers of the reseeds.
func (l Layout) ReseedStatus() string { return l.path("reseed-status.json") }

// PoolMount is where the embedded Btrfs image is mounted.
func (l Layout) PoolMount() string { return l.path("pool") }

// PoolImage is the embedded Btrfs pool's image file.
func (l Layout) PoolImage() string { return l.path("pool.img") }

// ZFSPoolImage is the embedded ZFS pool's file vdev.
func (l Layout) ZFSPoolImage() string { return l.path("zfs-pool.img") }

// ZFSMountBase is where ZFS datasets are mounted.
func (l Layout) ZFSMountBase() string { return l.path("zfs") }

// Record is the path of copy id's record.
func (l Layout) Record(id string) string { return filepath.Join(l.Records(), id+".json") }

// SocketDir is copy id's Unix socket folder.
func (l Layout) SocketDir(id string) string { return filepath.Join(l.Run(), id) }

// LogFile is copy id's server log.
func (l Layout) LogFile(id string) string { return filepath.Join(l.Logs(), id+".log") }

// Record is what the store needs of a copy's record.
type Record interface {
	RecordID() string
	// ReservedPort is the port the record holds, 0 for none.
	ReservedPort() int
	// Durable says whether the record is synced to disk when saved.
	DurableRecord() bool
}

// ErrNotFound is returned (wrapped) for a record that does not exist.
var ErrNotFound = errors.New("no such record")

// ErrNoCurrent is returned when no golden has been made current yet.
var ErrNoCurrent = errors.New("no current golden")

// Store is a state directory holding records of type T (P is *T).
type Store[T any, P interface {
	*T
	Record
}] struct {
	Layout
}

// Open returns the store of the state directory dir.
func Open[T any, P interface {
	*T
	Record
}](dir string) *Store[T, P] {
	return &Store[T, P]{Layout{Dir: dir}}
}

// Update runs fn under the state lock, so that reservations (IDs, ports),
// claims on a copy and the current golden change for one ditto process at a
// time. A record that this process has claimed (or reserved) under the
// lock is then written with Save without it: no other process writes it.
func (s *Store[T, P]) Update(fn func(tx *Tx[T, P]) error) error {
	l, err := LockFile(s.StateLock())
	if err != nil {
		return err
	}
	defer l.Unlock()
	return fn(&Tx[T, P]{s: s})
}

// Tx is the state seen under the lock of one Update.
type Tx[T any, P interface {
	*T
	Record
}] struct {
	s *Store[T, P]
}

// Load reads record id.
func (tx *Tx[T, P]) Load(id string) (P, error) { return tx.s.Load(id) }

// List returns every record (see Store.List).
func (tx *Tx[T, P]) List() ([]P, []string, error) { return tx.s.List() }

// Save writes r's record.
func (tx *Tx[T, P]) Save(r P) error { return tx.s.Save(r) }

// Remove deletes record id; a missing one is not an error.
func (tx *Tx[T, P]) Remove(id string) error { return tx.s.Remove(id) }

// Remove deletes record id, which this process has claimed; a missing one
// is not an error.
func (s *Store[T, P]) Remove(id string) error {
	err := os.Remove(s.Record(id))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

// Current returns the current golden generation, or ErrNoCurrent.
func (tx *Tx[T, P]) Current() (string, error) { return tx.s.Current() }

// SetCurrent makes gen current in one atomic rename.
func (tx *Tx[T, P]) SetCurrent(gen string) error {
	return WriteFileAtomic(tx.s.Layout.Current(), []byte(gen+"\n"), 0o600)
}

// Reserved returns the ports and IDs the records hold.
func (tx *Tx[T, P]) Reserved() (ports map[int]bool, ids map[string]bool, err error) {
	records, _, err := tx.s.List()
	if err != nil {
		return nil, nil, err
	}
	ports, ids = map[int]bool{}, map[string]bool{}
	for _, r := range records {
		ids[r.RecordID()] = true
		if p := r.ReservedPort(); p != 0 {
			ports[p] = true
		}
	}
	return ports, ids, nil
}

// NewID returns a copy ID that no record holds. Saving a record with it
// before the Update ends reserves it.
func (tx *Tx[T, P]) NewID() (string, error) {
	_, ids, err := tx.Reserved()
	if err != nil {
		return "", err
	}
	for {
		if id := newID(); !ids[id] {
			return id, nil
		}
	}
}

func newID() string {
	b := make([]byte, 4)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand does not fail on Linux
	}
	return hex.EncodeToString(b)
}

// IsCopyID reports whether name has the form NewID gives, so that gc
// deletes only files named after copies.
func IsCopyID(name string) bool {
	if len(name) != 8 {
		return false
	}
	_, err := hex.DecodeString(name)
	return err == nil && strings.ToLower(name) == name
}

// Load reads record id without the lock: records are replaced atomically.
func (s *Store[T, P]) Load(id string) (P, error) {
	var r T
	err := ReadJSON(s.Record(id), &r)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w %q", ErrNotFound, id)
	}
	if err != nil {
		return nil, err
	}
	return &r, nil
}

// Save writes r's record, synced only if r says it must be: a record lets
// ditto reach and clean up a copy's server, and a crash of the machine ends
// every server anyway (gc then removes what no record explains, and
// damaged records).
func (s *Store[T, P]) Save(r P) error {
	return WriteJSON(s.Record(r.RecordID()), r, r.DurableRecord())
}

// List returns every record, and the paths of records that do not parse
// (left by a crash of the machine).
func (s *Store[T, P]) List() (out []P, damaged []string, err error) {
	entries, err := os.ReadDir(s.Records())
	if err != nil {
		return nil, nil, err
	}
	for _, e := range entries {
		name := e.Name()
		id, ok := strings.CutSuffix(name, ".json")
		if strings.HasPrefix(name, ".") || !ok {
			continue
		}
		r, err := s.Load(id)
		switch {
		case errors.Is(err, ErrNotFound):
			continue // removed meanwhile by another ditto
		case errors.Is(err, ErrDamaged):
			damaged = append(damaged, filepath.Join(s.Records(), name))
			continue
		case err != nil:
			return nil, nil, err
		}
		out = append(out, r)
	}
	return out, damaged, nil
}

// Current returns the current golden generation, or ErrNoCurrent.
func (s *Store[T, P]) Current() (string, error) {
	b, err := os.ReadFile(s.Layout.Current())
	if errors.Is(err, fs.ErrNotExist) {
		return "", ErrNoCurrent
	}
	if err != nil {
		return "", err
	}
	gen := strings.TrimSpace(string(b))
	if gen == "" {
		return "", ErrNoCurrent
	}
	return gen, nil
}

// StaleTemp reports whether name, in a folder of records, is a temporary
// file of an atomic write that a crash left behind (older than a minute;
// younger ones may be in flight).
func StaleTemp(e fs.DirEntry) bool {
	base, ok := strings.CutPrefix(e.Name(), ".")
	if !ok || !strings.Contains(base, TempInfix) {
		return false
	}
	info, err := e.Info()
	return err == nil && time.Since(info.ModTime()) > time.Minute
}
