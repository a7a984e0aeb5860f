package btrfs

import (
	"errors"
	"fmt"
	"io/fs"
	"syscall"

	"github.com/dittodb/ditto/storage"
)

// fail turns err from a Btrfs call about volume what (e.g. `copy "c1"`) into
// an error that callers can test with errors.Is (storage.ErrNotFound,
// storage.ErrNoSpace, fs.ErrExist) and that tells the user what to do.
func fail(op, what string, err error) error {
	switch {
	case errors.Is(err, syscall.ENOSPC):
		return fmt.Errorf("%s %s: %w: %w: destroy copies (`ditto copy list`, `ditto copy destroy ID`), run `ditto gc`, or give the pool more space",
			op, what, storage.ErrNoSpace, err)
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("%s %s: %w: %w: check the name with `ditto copy list`, or run `ditto reseed` for a new golden", op, what, storage.ErrNotFound, err)
	case errors.Is(err, fs.ErrExist):
		return fmt.Errorf("%s %s: it already exists: destroy it first or choose another name: %w", op, what, err)
	case errors.Is(err, syscall.EPERM), errors.Is(err, syscall.EACCES):
		return fmt.Errorf("%s %s: %w: run ditto as root (sudo)", op, what, err)
	}
	return fmt.Errorf("%s %s: %w", op, what, err)
}
