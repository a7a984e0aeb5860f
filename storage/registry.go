package storage

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
)

// Config is what opening a backend needs. Each backend reads the fields
// that concern it.
type Config struct {
	// Backend names a registered backend: "btrfs" or "zfs".
	Backend string
	// Path is the Btrfs pool folder.
	Path string
	// Dataset is the ZFS parent dataset, POOL/PATH.
	Dataset string
	// MountBase is the folder under which ZFS mounts the volumes.
	MountBase string
	// Image, when set, is the file of the embedded pool: a Btrfs image that
	// Open loop-mounts at Path, or the file vdev of the ZFS pool named by
	// Dataset, which Open imports (and creates, of ImageSize bytes, if the
	// file is missing).
	Image     string
	ImageSize int64
	// GID is the PostgreSQL user's group: the folders a backend makes get
	// mode 0710 and this group, so PostgreSQL reaches its data directory and
	// nobody else can list the pool. -1 keeps the default group.
	GID int
}

// Backend is what a backend package registers in its init function.
type Backend struct {
	// Open opens the pool cfg names, mounting or importing the embedded
	// pool first and creating the backend's layout if missing.
	Open func(ctx context.Context, cfg Config) (Storage, error)
}

// ErrUnknownBackend is returned (wrapped) for a backend name nobody
// registered.
var ErrUnknownBackend = errors.New("unknown storage backend")

var (
	mu       sync.RWMutex
	backends = map[string]Backend{}
)

// Register makes backend b available under name. It panics if b has no
// Open or name is taken, as both are programming errors.
func Register(name string, b Backend) {
	mu.Lock()
	defer mu.Unlock()
	if b.Open == nil {
		panic("storage: Register of " + name + " without Open")
	}
	if _, dup := backends[name]; dup {
		panic("storage: Register called twice for " + name)
	}
	backends[name] = b
}

// Backends returns the registered backend names, sorted.
func Backends() []string {
	mu.RLock()
	defer mu.RUnlock()
	names := make([]string, 0, len(backends))
	for n := range backends {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

func lookup(name string) (Backend, error) {
	mu.RLock()
	b, ok := backends[name]
	mu.RUnlock()
	if ok {
		return b, nil
	}
	known := strings.Join(Backends(), ", ")
	if known == "" {
		known = "none (import a backend package, such as github.com/dittodb/ditto/storage/btrfs)"
	}
	return Backend{}, fmt.Errorf("%w %q: known backends: %s", ErrUnknownBackend, name, known)
}

// Open opens the pool of the backend cfg.Backend names.
func Open(ctx context.Context, cfg Config) (Storage, error) {
	b, err := lookup(cfg.Backend)
	if err != nil {
		return nil, err
	}
	return b.Open(ctx, cfg)
}
