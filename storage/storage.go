// Package storage defines the small interface every copy-on-write backend
// (Btrfs, ZFS) implements. A backend knows volumes, snapshots and clones;
// it knows nothing about PostgreSQL, records or ports.
package storage

import (
	"context"
	"errors"
	"fmt"
)

// Kind says what a volume is for.
type Kind string

const (
	// KindBuilding is a writable golden generation being restored by reseed.
	KindBuilding Kind = "building"
	// KindGolden is a frozen, read-only golden generation that copies clone.
	KindGolden Kind = "golden"
	// KindCopy is a writable clone of a golden generation.
	KindCopy Kind = "copy"
)

// Volume is one volume the backend holds for ditto.
type Volume struct {
	Kind Kind
	// Name is the generation ID (building, golden) or the copy ID (copy).
	Name string
	// Path is the directory where the volume's files are visible.
	Path string
	// Origin is, for a copy, the golden generation it was cloned from, when
	// the backend can tell.
	Origin string
}

// Usage is the pool's capacity in bytes.
type Usage struct {
	Size uint64 `json:"size"`
	Used uint64 `json:"used"`
	Free uint64 `json:"free"`
}

// Storage is what ditto needs from a copy-on-write filesystem. Every method
// is safe to call from several ditto processes at once for different names.
type Storage interface {
	// Backend names the backend: "btrfs" or "zfs".
	Backend() string
	// Root is the folder under which the files of every volume are visible,
	// so that ditto can find the processes working in its volumes.
	Root() string
	// CreateBuilding makes a new empty writable volume for generation gen and
	// returns its path.
	CreateBuilding(ctx context.Context, gen string) (string, error)
	// Freeze turns the building volume gen into a read-only golden (flushing
	// it to disk first) and returns the golden's path. The building volume is
	// gone afterwards.
	Freeze(ctx context.Context, gen string) (string, error)
	// Clone makes a writable copy named copyID of golden gen, in O(1), and
	// returns its path.
	Clone(ctx context.Context, gen, copyID string) (string, error)
	// Destroy removes a volume. A volume that does not exist is not an error,
	// so that interrupted clean-ups can simply be repeated.
	Destroy(ctx context.Context, kind Kind, name string) error
	// List returns every volume of every kind.
	List(ctx context.Context) ([]Volume, error)
	// Usage reports the pool's size and free space.
	Usage(ctx context.Context) (Usage, error)
	// Reclaim waits, as long as ctx allows, until the space of destroyed
	// volumes that the filesystem frees in the background counts as free.
	Reclaim(ctx context.Context) error
}

// Quota is the optional capability of a backend to cap what one copy may
// hold, so that one runaway test cannot fill the pool for every other
// copy. Callers discover it with a type assertion on a Storage.
type Quota interface {
	// SetCopyQuota limits copy copyID to bytes; 0 removes the limit. Writes
	// past it fail inside the copy (EDQUOT). A missing copy is ErrNotFound.
	SetCopyQuota(ctx context.Context, copyID string, bytes int64) error
}

// ErrNotFound is returned (wrapped) when a named volume does not exist.
var ErrNotFound = errors.New("volume not found")

// ErrNoSpace is returned (wrapped) when the pool has no room left for a new
// volume or for writes into one.
var ErrNoSpace = errors.New("no space left in the pool")

// ErrHasClones is returned (wrapped) when a golden cannot be destroyed yet
// because copies still depend on it; gc retries once they are gone.
var ErrHasClones = errors.New("golden still has clones")

// HumanBytes formats a byte count as ditto prints sizes, such as "1.5 GiB".
func HumanBytes(b uint64) string {
	const unit = 1024
	if b < unit {
		return fmt.Sprintf("%d B", b)
	}
	div, exp := uint64(unit), 0
	for n := b / unit; n >= unit; n /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(b)/float64(div), "KMGTPE"[exp])
}
