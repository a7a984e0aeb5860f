package btrfs

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"

	"github.com/containerd/btrfs/v2"
	"golang.org/x/sys/unix"

	"github.com/dittodb/ditto/storage"
)

// CreateBuilding implements storage.Storage.
func (s *Store) CreateBuilding(ctx context.Context, gen string) (string, error) {
	p, err := s.path(storage.KindBuilding, gen)
	if err != nil {
		return "", err
	}
	if err := ctx.Err(); err != nil {
		return "", err
	}
	if err := btrfs.SubvolCreate(p); err != nil {
		return "", fail("create", what(storage.KindBuilding, gen), err)
	}
	// Snapshots inherit the root folder's mode and group, so setting them
	// here once covers the golden and every copy: no chown per copy.
	if err := setMode(p, s.gid); err != nil {
		_ = destroy(p)
		return "", fail("set the mode of", what(storage.KindBuilding, gen), err)
	}
	return p, nil
}

// Freeze implements storage.Storage. It may be repeated after a crash: a
// golden that is already a snapshot of the building volume is kept and only
// the building volume is removed.
func (s *Store) Freeze(ctx context.Context, gen string) (string, error) {
	b, err := s.path(storage.KindBuilding, gen)
	if err != nil {
		return "", err
	}
	g, _ := s.path(storage.KindGolden, gen)
	if err := ctx.Err(); err != nil {
		return "", err
	}
	bi, err := subvolInfo(b)
	if errors.Is(err, fs.ErrNotExist) && isSubvol(g) {
		return g, nil // frozen before
	}
	if err != nil {
		return "", fail("freeze", what(storage.KindBuilding, gen), err)
	}
	gi, err := subvolInfo(g)
	switch {
	case err == nil && !gi.hasParent(bi):
		return "", fail("freeze", what(storage.KindGolden, gen), fs.ErrExist)
	case errors.Is(err, fs.ErrNotExist):
		// Flush the restored files first so the golden holds them on disk.
		if err := syncfs(b); err != nil {
			return "", fail("flush", what(storage.KindBuilding, gen), err)
		}
		if err := btrfs.SubvolSnapshot(g, b, true); err != nil {
			return "", fail("freeze", what(storage.KindBuilding, gen), err)
		}
	case err != nil:
		return "", fail("freeze", what(storage.KindGolden, gen), err)
	}
	if err := destroy(b); err != nil {
		return "", fail("remove the frozen", what(storage.KindBuilding, gen), err)
	}
	return g, nil
}

// Clone implements storage.Storage with a writable snapshot: O(1), whatever
// the size of the golden.
func (s *Store) Clone(ctx context.Context, gen, copyID string) (string, error) {
	g, err := s.path(storage.KindGolden, gen)
	if err != nil {
		return "", err
	}
	c, err := s.path(storage.KindCopy, copyID)
	if err != nil {
		return "", err
	}
	if err := ctx.Err(); err != nil {
		return "", err
	}
	if _, err := os.Lstat(g); err != nil {
		return "", fail("clone", what(storage.KindGolden, gen), err)
	}
	if err := btrfs.SubvolSnapshot(c, g, false); err != nil {
		return "", fail(fmt.Sprintf("clone golden %q as", gen), what(storage.KindCopy, copyID), err)
	}
	return c, nil
}

// Destroy implements storage.Storage.
func (s *Store) Destroy(ctx context.Context, kind storage.Kind, name string) error {
	p, err := s.path(kind, name)
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	fi, err := os.Lstat(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fail("destroy", what(kind, name), err)
	}
	if !isSubvolRoot(fi) {
		return fmt.Errorf("destroy %s: %s is not a Btrfs subvolume, so ditto did not make it: remove it by hand if nothing needs it",
			what(kind, name), p)
	}
	if err := destroy(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fail("destroy", what(kind, name), err)
	}
	return nil
}

// destroy deletes the subvolume at path: with one ioctl, or, if it holds
// nested subvolumes (ENOTEMPTY), with btrfs.SubvolDelete, which deletes
// those first. Root may delete a read-only snapshot; where the kernel
// refuses, the read-only flag is cleared and the delete tried again.
func destroy(path string) error {
	del := func() error {
		err := snapDestroy(path)
		if errors.Is(err, syscall.ENOTEMPTY) {
			err = btrfs.SubvolDelete(path)
		}
		return err
	}
	err := del()
	if errors.Is(err, syscall.EPERM) || errors.Is(err, syscall.EROFS) || errors.Is(err, syscall.EACCES) {
		if v, ierr := subvolInfo(path); ierr == nil && v.ReadOnly && clearReadOnly(path) == nil {
			err = del()
		}
	}
	return err
}

// List implements storage.Storage. Volumes come ordered by kind, then name.
// A copy's Origin is the golden whose UUID is the copy's parent UUID; it is
// "" once that golden is destroyed.
func (s *Store) List(ctx context.Context) ([]storage.Volume, error) {
	var vols []storage.Volume
	var infos []subvol
	for _, kind := range []storage.Kind{storage.KindBuilding, storage.KindGolden, storage.KindCopy} {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		entries, err := os.ReadDir(filepath.Join(s.dir, folders[kind]))
		if err != nil {
			return nil, fmt.Errorf("list %s volumes: %w", kind, err)
		}
		for _, e := range entries {
			p := filepath.Join(s.dir, folders[kind], e.Name())
			fi, err := e.Info()
			if err != nil || !isSubvolRoot(fi) {
				continue // destroyed meanwhile, or not ours
			}
			info, err := subvolInfo(p)
			if errors.Is(err, fs.ErrNotExist) {
				continue
			}
			if err != nil {
				return nil, fail("inspect", what(kind, e.Name()), err)
			}
			vols = append(vols, storage.Volume{Kind: kind, Name: e.Name(), Path: p})
			infos = append(infos, info)
		}
	}
	goldens := map[[16]byte]string{}
	for i, v := range vols {
		if v.Kind == storage.KindGolden {
			goldens[infos[i].UUID] = v.Name
		}
	}
	for i := range vols {
		if vols[i].Kind == storage.KindCopy && infos[i].ParentUUID != [16]byte{} {
			vols[i].Origin = goldens[infos[i].ParentUUID]
		}
	}
	return vols, nil
}

// Usage implements storage.Storage from statfs. On Btrfs, Free is the
// kernel's estimate of file data that can still be written: free space in
// data chunks plus unallocated space, after the data profile and the
// metadata reserve. Metadata can run out before it reaches 0, and space of a
// destroyed volume comes back only after Btrfs's cleaner has run (seconds).
// Used is Size minus all free blocks, metadata included.
func (s *Store) Usage(ctx context.Context) (storage.Usage, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(s.dir, &st); err != nil {
		return storage.Usage{}, fmt.Errorf("read the usage of Btrfs pool %s: %w", s.dir, err)
	}
	bs := uint64(st.Frsize)
	if bs == 0 {
		bs = uint64(st.Bsize)
	}
	return storage.Usage{Size: st.Blocks * bs, Used: (st.Blocks - st.Bfree) * bs, Free: st.Bavail * bs}, nil
}

// Reclaim implements storage.Storage: Btrfs frees a deleted subvolume's
// space in the background (an old golden gc just removed, destroyed
// copies); wait for that, then commit so that statfs counts it.
func (s *Store) Reclaim(ctx context.Context) error {
	bin, err := tool("btrfs", "btrfs-progs")
	if err != nil {
		return err
	}
	if err := run(ctx, "waiting for deleted subvolumes", bin, "subvolume", "sync", s.dir); err != nil {
		return err
	}
	return syncfs(s.dir)
}

// isSubvolRoot reports whether fi is the root folder of a subvolume: on
// Btrfs that is always inode 256.
func isSubvolRoot(fi fs.FileInfo) bool {
	st, ok := fi.Sys().(*syscall.Stat_t)
	return ok && fi.IsDir() && st.Ino == 256
}

func isSubvol(path string) bool {
	fi, err := os.Lstat(path)
	return err == nil && isSubvolRoot(fi)
}

// syncfs writes the whole filesystem holding path to disk.
func syncfs(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return unix.Syncfs(int(f.Fd()))
}
