package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/dittodb/ditto/internal/state"
	"github.com/dittodb/ditto/storage"
	// the backends a benchmarked home may use
	_ "github.com/dittodb/ditto/storage/btrfs"
	_ "github.com/dittodb/ditto/storage/zfs"
)

// pool is the pool of one ditto home, opened with ditto's own backend, which
// the benchmark also uses without ditto: the floor's bare clone of a golden
// and a scratch volume for the plain restore, both named with benchPrefix.
// The benchmark adds what ditto does not do: a volume's exclusive space and
// a flush of the whole pool.
type pool struct {
	storage.Storage
	cfg dittoConfig
}

// benchPrefix starts the names of the benchmark's own volumes. They are
// ditto volumes without a record: a `ditto gc` on the home while the
// benchmark runs would remove them.
const benchPrefix = "bench-"

// scratchName is the building volume of the plain restore.
const scratchName = benchPrefix + "scratch"

// openPool opens the pool of the home in dir, whose volumes' folders
// belong to group gid.
func openPool(ctx context.Context, dir string, cfg dittoConfig, gid int) (*pool, error) {
	s, err := storage.Open(ctx, storage.Config{
		Backend: cfg.Backend, Path: cfg.PoolPath, Dataset: cfg.Dataset,
		MountBase: state.Layout{Dir: dir}.ZFSMountBase(), Image: cfg.Image, GID: gid,
	})
	if err != nil {
		return nil, err
	}
	return &pool{Storage: s, cfg: cfg}, nil
}

// describe says which backend and pool were measured.
func (p *pool) describe() string {
	switch {
	case p.cfg.Backend == "zfs":
		return "zfs: dataset " + p.cfg.Dataset
	case p.cfg.Image != "":
		return fmt.Sprintf("btrfs: embedded image %s on a loop device, mounted at %s", p.cfg.Image, p.cfg.PoolPath)
	}
	return "btrfs: folder " + p.cfg.PoolPath
}

// volume returns the folder of the volume kind name.
func (p *pool) volume(ctx context.Context, kind storage.Kind, name string) (string, error) {
	vols, err := p.List(ctx)
	if err != nil {
		return "", err
	}
	for _, v := range vols {
		if v.Kind == kind && v.Name == name {
			return v.Path, nil
		}
	}
	return "", fmt.Errorf("%s %s: %w", kind, name, storage.ErrNotFound)
}

// exclusive is the space that only copy id's volume holds: on Btrfs, the
// extents only it references (`btrfs filesystem du`, no quota groups
// needed); on ZFS, the clone's "used".
func (p *pool) exclusive(ctx context.Context, id string) (int64, error) {
	if p.cfg.Backend == "zfs" {
		return zfsNumber(ctx, "used", p.cfg.Dataset+"/copies/"+id)
	}
	dir, err := p.volume(ctx, storage.KindCopy, id)
	if err != nil {
		return 0, err
	}
	out, err := output(ctx, "btrfs", "filesystem", "du", "-s", "--raw", dir)
	if err != nil {
		return 0, err
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	f := strings.Fields(lines[len(lines)-1])
	if len(f) < 3 {
		return 0, fmt.Errorf("unexpected btrfs filesystem du output: %q", out)
	}
	return strconv.ParseInt(f[1], 10, 64)
}

func zfsNumber(ctx context.Context, prop, ds string) (int64, error) {
	out, err := output(ctx, "zfs", "get", "-Hp", "-o", "value", prop, ds)
	if err != nil {
		return 0, err
	}
	return strconv.ParseInt(strings.TrimSpace(out), 10, 64)
}

// free is the space the pool can still give to new data.
func (p *pool) free(ctx context.Context) (int64, error) {
	u, err := p.Usage(ctx)
	return int64(u.Free), err
}

// sync flushes the pool, so that the space accounting is settled. On Btrfs
// it does not wait for the cleaner to free deleted subvolumes (`btrfs
// subvolume sync` takes up to the 30 s commit interval), so the pool's free
// space may still grow afterwards.
func (p *pool) sync(ctx context.Context) error {
	if p.cfg.Backend == "zfs" {
		_, err := output(ctx, "zpool", "sync", strings.SplitN(p.cfg.Dataset, "/", 2)[0])
		return err
	}
	f, err := os.Open(p.cfg.PoolPath)
	if err != nil {
		return err
	}
	defer f.Close()
	return unix.Syncfs(int(f.Fd()))
}

// cleanup removes the benchmark's own volumes, should any be left.
func (p *pool) cleanup(ctx context.Context) error {
	vols, err := p.List(ctx)
	if err != nil {
		return err
	}
	var errs []error
	for _, v := range vols {
		if strings.HasPrefix(v.Name, benchPrefix) {
			errs = append(errs, p.Destroy(ctx, v.Kind, v.Name))
		}
	}
	return errors.Join(errs...)
}

// removeVolumes destroys every volume of the pool: the copies first, as a
// golden with clones cannot go.
func (p *pool) removeVolumes(ctx context.Context) error {
	vols, err := p.List(ctx)
	if err != nil {
		return err
	}
	var errs []error
	for _, copies := range []bool{true, false} {
		for _, v := range vols {
			if (v.Kind == storage.KindCopy) == copies {
				errs = append(errs, p.Destroy(ctx, v.Kind, v.Name))
			}
		}
	}
	return errors.Join(errs...)
}

// output runs a tool from an argument list and returns its stdout; a
// failure carries the tool's stderr.
func output(ctx context.Context, name string, args ...string) (string, error) {
	var stderr strings.Builder
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return string(out), fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return string(out), nil
}
