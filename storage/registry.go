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
	// Check, optional, inspects the pool cfg names and changes nothing: it
	// mounts, imports and creates nothing, unlike Open, so that `ditto
	// doctor` can look at a pool it must not touch.
	Check func(ctx context.Context, cfg Config) Health
}

// Status is how one finding of a check turned out.
type Status string

const (
	StatusOK   Status = "ok"
	StatusWarn Status = "warn" // ditto works, but something deserves a look
	StatusFail Status = "fail" // ditto cannot use the pool until this is fixed
)

// Finding is one thing a check found about the pool.
type Finding struct {
	// Name is the doctor check it answers: pool.mounted, pool.health or
	// pool.image.
	Name   string
	Status Status
	Detail string
	// Fix says what to do when Status is not StatusOK.
	Fix string
}

// Health is what a backend's check found.
type Health struct {
	Findings []Finding
	// Unready says why the pool cannot be opened as it is (it is not
	// mounted, not imported, its dataset is missing), so that Open would
	// have to mount, import or create it; "" when it can.
	Unready string
}

// Add appends a finding.
func (h *Health) Add(name string, s Status, detail, fix string) {
	h.Findings = append(h.Findings, Finding{Name: name, Status: s, Detail: detail, Fix: fix})
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

// Check inspects the pool of the backend cfg.Backend names without
// changing anything. A backend without a check reports nothing, ready.
func Check(ctx context.Context, cfg Config) (Health, error) {
	b, err := lookup(cfg.Backend)
	if err != nil || b.Check == nil {
		return Health{}, err
	}
	return b.Check(ctx, cfg), nil
}
