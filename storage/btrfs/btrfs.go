// Package btrfs is ditto's Btrfs backend: each golden generation is a
// read-only subvolume snapshot and each copy a writable snapshot of it.
//
// Layout under the pool folder:
//
//	building/<gen>  writable subvolume that reseed restores into
//	golden/<gen>    read-only snapshot of a finished building volume
//	copies/<id>     writable snapshot of a golden, one per copy
package btrfs

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/dittodb/ditto/storage"
)

// Store keeps ditto's volumes as subvolumes under one folder of a Btrfs
// filesystem. It holds no state besides the folder, so several processes
// can use the same pool at once.
type Store struct {
	dir string
	gid int
}

var _ storage.Storage = (*Store)(nil)

// folders maps each kind to the folder holding its volumes.
var folders = map[storage.Kind]string{
	storage.KindBuilding: "building",
	storage.KindGolden:   "golden",
	storage.KindCopy:     "copies",
}

// Open uses dir, which must be on Btrfs, as the pool, creating its layout
// if needed. Folders ditto creates get mode 0710 and group gid (the
// PostgreSQL user's group; -1 keeps the default) so that PostgreSQL can
// reach its data directory inside a volume but nobody else can list the
// pool. An existing dir is adjusted only if it is empty (a fresh mount):
// a folder that already holds other things may be shared, so it is left as
// it is.
func Open(dir string, gid int) (*Store, error) {
	abs, err := resolve(dir)
	if err != nil {
		return nil, fmt.Errorf("open Btrfs pool %s: %w", dir, err)
	}
	dir = abs
	if err := checkBtrfs(dir); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return nil, fmt.Errorf("open Btrfs pool %s: %w", dir, err)
	}
	if entries, err := os.ReadDir(dir); errors.Is(err, fs.ErrNotExist) || (err == nil && len(entries) == 0) {
		if err := makeDir(dir, gid); err != nil {
			return nil, fmt.Errorf("open Btrfs pool %s: %w", dir, err)
		}
	}
	for _, f := range folders {
		if err := makeDir(filepath.Join(dir, f), gid); err != nil {
			return nil, fmt.Errorf("open Btrfs pool %s: %w", dir, err)
		}
	}
	return &Store{dir: dir, gid: gid}, nil
}

// checkBtrfs fails with advice unless dir, or the nearest existing folder
// above it, is on Btrfs.
func checkBtrfs(dir string) error {
	p := dir
	var st unix.Statfs_t
	for {
		err := unix.Statfs(p, &st)
		if err == nil {
			break
		}
		if !errors.Is(err, fs.ErrNotExist) || p == filepath.Dir(p) {
			return fmt.Errorf("check the filesystem of %s: %w", p, err)
		}
		p = filepath.Dir(p)
	}
	if st.Type == unix.BTRFS_SUPER_MAGIC {
		return nil
	}
	kind := fmt.Sprintf("a filesystem of type %#x", st.Type)
	if m, ok, _ := mountOf(p); ok {
		kind = m.FSType
	}
	return fmt.Errorf("%s is on %s, not Btrfs: choose a folder on a Btrfs filesystem, "+
		"or run \"ditto init\" without --path to use the embedded pool image", dir, kind)
}

// makeDir creates path if missing and sets mode 0710 and group gid, whatever
// the umask.
func makeDir(path string, gid int) error {
	if err := os.Mkdir(path, 0o710); err != nil && !errors.Is(err, fs.ErrExist) {
		return err
	}
	return setMode(path, gid)
}

func setMode(path string, gid int) error {
	if err := os.Chmod(path, 0o710); err != nil {
		return err
	}
	if gid >= 0 {
		return os.Lchown(path, -1, gid)
	}
	return nil
}

// Backend implements storage.Storage.
func (s *Store) Backend() string { return "btrfs" }

// Root implements storage.Storage: the pool folder.
func (s *Store) Root() string { return s.dir }

// path returns where volume name of kind lives, refusing any name that could
// point outside its folder.
func (s *Store) path(kind storage.Kind, name string) (string, error) {
	f, ok := folders[kind]
	if !ok {
		return "", fmt.Errorf("unknown volume kind %q: use %q, %q or %q", kind,
			storage.KindBuilding, storage.KindGolden, storage.KindCopy)
	}
	if err := ValidateName(name); err != nil {
		return "", err
	}
	return filepath.Join(s.dir, f, name), nil
}

// ValidateName rejects volume names that are empty, "." or "..", contain a
// slash or NUL, or are longer than a file name may be.
func ValidateName(name string) error {
	switch {
	case name == "", name == ".", name == "..", strings.ContainsAny(name, "/\x00"), len(name) > 255:
		return fmt.Errorf("invalid volume name %q: use 1 to 255 characters without \"/\", and not \".\" or \"..\"", name)
	}
	return nil
}

func what(kind storage.Kind, name string) string { return fmt.Sprintf("%s %q", kind, name) }
