package state

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// WriteFileAtomic replaces path with data so that a crash at any moment
// leaves either the old or the new content, never a torn file: write a
// temporary file beside it, fsync it, rename it over path, fsync the folder.
func WriteFileAtomic(path string, data []byte, mode os.FileMode) error {
	return replaceFile(path, data, mode, true)
}

// replaceFile replaces path with data by a rename, so that no process ever
// reads a partial file. With durable, as WriteFileAtomic; without, a crash
// of the machine may leave an empty or damaged file behind instead.
func replaceFile(path string, data []byte, mode os.FileMode, durable bool) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+TempInfix+"*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp) // no-op after a successful rename
	if err := f.Chmod(mode); err != nil {
		f.Close()
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if durable {
		if err := f.Sync(); err != nil {
			f.Close()
			return err
		}
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	if !durable {
		return nil
	}
	return syncDir(dir)
}

// TempInfix is in the name of every temporary file of an atomic write:
// .NAME.tmp-RANDOM beside NAME.
const TempInfix = ".tmp-"

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// WriteJSON writes v, indented so a person can read it, as a 0600 file
// replaced atomically; durable also syncs it (see replaceFile).
func WriteJSON(path string, v any, durable bool) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return replaceFile(path, append(b, '\n'), 0o600, durable)
}

// ErrDamaged marks a JSON file that does not parse.
var ErrDamaged = errors.New("damaged")

// ReadJSON reads path into v.
func ReadJSON(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("%s is %w (%v): remove it, or run ditto gc", path, ErrDamaged, err)
	}
	return nil
}

// Lock holds an flock(2) on a file. The kernel drops it when the process
// dies, so a kill -9 never leaves a stale lock behind.
type Lock struct{ f *os.File }

// ErrLocked is returned by TryLock when another process holds the lock.
var ErrLocked = errors.New("locked by another process")

// LockFile waits for an exclusive lock on path.
func LockFile(path string) (*Lock, error) { return lockFile(path, true) }

// TryLock takes an exclusive lock on path, or returns ErrLocked at once.
func TryLock(path string) (*Lock, error) { return lockFile(path, false) }

func lockFile(path string, wait bool) (*Lock, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	how := syscall.LOCK_EX
	if !wait {
		how |= syscall.LOCK_NB
	}
	for {
		err = syscall.Flock(int(f.Fd()), how)
		if err != syscall.EINTR {
			break
		}
	}
	if err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, ErrLocked
		}
		return nil, fmt.Errorf("locking %s: %w", path, err)
	}
	return &Lock{f: f}, nil
}

// File is the locked file, for a holder that writes its PID into it.
func (l *Lock) File() *os.File { return l.f }

// Unlock releases the lock.
func (l *Lock) Unlock() {
	if l != nil {
		l.f.Close() // closing the descriptor releases the flock
	}
}
