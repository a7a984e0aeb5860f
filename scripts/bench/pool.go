package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/containerd/btrfs/v2"
	"golang.org/x/sys/unix"
)

// pool is what the benchmark does on the filesystem behind ditto, without
// ditto: the floor's bare clone of a golden, a scratch volume for the plain
// restore, and the space accounting of a copy.
type pool interface {
	// describe says which backend and pool were measured.
	describe() string
	// goldenDir is the folder of a golden generation (holding pgdata).
	goldenDir(ctx context.Context, gen string) (string, error)
	// copyDir is the folder of a copy's volume (holding pgdata).
	copyDir(ctx context.Context, id string) (string, error)
	// clone makes the floor's bare writable clone of golden gen, named name,
	// and returns its folder.
	clone(ctx context.Context, gen, name string) (string, error)
	// unclone removes a clone made by clone.
	unclone(ctx context.Context, name string) error
	// exclusive is the space that only the copy's volume holds.
	exclusive(ctx context.Context, id string) (int64, error)
	// free is the space the pool can still give to new data.
	free(ctx context.Context) (int64, error)
	// sync flushes the pool, so that the space accounting is settled.
	sync(ctx context.Context) error
	// scratch makes an empty volume for a plain cluster and returns its
	// folder; dropScratch removes it.
	scratch(ctx context.Context) (string, error)
	dropScratch(ctx context.Context) error
	// cleanup removes what the benchmark itself made in the pool.
	cleanup(ctx context.Context) error
}

// benchDir holds the benchmark's own volumes inside the pool, beside ditto's
// building/, golden/ and copies/ folders (which ditto alone lists).
const benchDir = "bench"

// btrfsPool is a Btrfs folder, the embedded image's mount or one given
// with --path.
type btrfsPool struct {
	dir, image string
	gid        int
}

func (p *btrfsPool) describe() string {
	if p.image != "" {
		return fmt.Sprintf("btrfs: embedded image %s on a loop device, mounted at %s", p.image, p.dir)
	}
	return "btrfs: folder " + p.dir
}

func (p *btrfsPool) goldenDir(_ context.Context, gen string) (string, error) {
	return existing(filepath.Join(p.dir, "golden", gen))
}

func (p *btrfsPool) copyDir(_ context.Context, id string) (string, error) {
	return existing(filepath.Join(p.dir, "copies", id))
}

func (p *btrfsPool) own() (string, error) {
	d := filepath.Join(p.dir, benchDir)
	if err := os.MkdirAll(d, 0o710); err != nil {
		return "", err
	}
	// postgres must traverse it to reach the data directories
	return d, os.Chown(d, 0, p.gid)
}

// clone uses the snapshot ioctl directly (what `btrfs subvolume snapshot`
// does, without starting a process).
func (p *btrfsPool) clone(ctx context.Context, gen, name string) (string, error) {
	d, err := p.own()
	if err != nil {
		return "", err
	}
	dst := filepath.Join(d, name)
	if err := btrfs.SubvolSnapshot(dst, filepath.Join(p.dir, "golden", gen), false); err != nil {
		return "", fmt.Errorf("snapshot of golden %s: %w", gen, err)
	}
	return dst, nil
}

func (p *btrfsPool) unclone(ctx context.Context, name string) error {
	return deleteSubvol(ctx, filepath.Join(p.dir, benchDir, name))
}

func deleteSubvol(ctx context.Context, path string) error {
	if _, err := os.Lstat(path); errors.Is(err, os.ErrNotExist) {
		return nil
	}
	_, err := output(ctx, "btrfs", "subvolume", "delete", path)
	return err
}

// exclusive reads `btrfs filesystem du`, which sums the extents only this
// volume references (no quota groups needed).
func (p *btrfsPool) exclusive(ctx context.Context, id string) (int64, error) {
	out, err := output(ctx, "btrfs", "filesystem", "du", "-s", "--raw", filepath.Join(p.dir, "copies", id))
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

func (p *btrfsPool) free(context.Context) (int64, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(p.dir, &st); err != nil {
		return 0, err
	}
	return int64(st.Bavail) * st.Bsize, nil
}

// sync flushes the filesystem. It does not wait for Btrfs's cleaner to
// free deleted subvolumes (`btrfs subvolume sync` takes up to the 30 s
// commit interval), so the pool's free space may still grow afterwards.
func (p *btrfsPool) sync(context.Context) error {
	f, err := os.Open(p.dir)
	if err != nil {
		return err
	}
	defer f.Close()
	return unix.Syncfs(int(f.Fd()))
}

func (p *btrfsPool) scratch(ctx context.Context) (string, error) {
	d, err := p.own()
	if err != nil {
		return "", err
	}
	s := filepath.Join(d, "scratch")
	if err := btrfs.SubvolCreate(s); err != nil {
		return "", fmt.Errorf("scratch volume: %w", err)
	}
	return s, setOwner(s, 0, p.gid, 0o710)
}

func (p *btrfsPool) dropScratch(ctx context.Context) error {
	return deleteSubvol(ctx, filepath.Join(p.dir, benchDir, "scratch"))
}

func (p *btrfsPool) cleanup(ctx context.Context) error {
	d := filepath.Join(p.dir, benchDir)
	entries, err := os.ReadDir(d)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	var errs []error
	for _, e := range entries {
		errs = append(errs, deleteSubvol(ctx, filepath.Join(d, e.Name())))
	}
	errs = append(errs, os.Remove(d))
	return errors.Join(errs...)
}

// zfsPool is a parent dataset POOL/PATH. The benchmark's own datasets live
// in a sibling, POOL/PATH-bench, mounted below the work folder.
type zfsPool struct {
	parent, own, mnt string
	gid              int
}

func newZFSPool(ctx context.Context, parent, work string, gid int) (*zfsPool, error) {
	if !strings.Contains(parent, "/") {
		return nil, fmt.Errorf("--dataset %q: give POOL/PATH, a dataset inside the pool", parent)
	}
	p := &zfsPool{parent: parent, own: parent + "-bench", mnt: filepath.Join(work, "zfs"), gid: gid}
	if _, err := output(ctx, "zfs", "list", "-H", "-o", "name", p.own); err == nil {
		return nil, fmt.Errorf("dataset %s exists already (left by an earlier benchmark?): `zfs destroy -r %s` first", p.own, p.own)
	}
	if _, err := output(ctx, "zfs", "create", "-o", "mountpoint=none", "-o", "recordsize=8k",
		"-o", "compression=lz4", "-o", "atime=off", p.own); err != nil {
		return nil, err
	}
	return p, os.MkdirAll(p.mnt, 0o711)
}

func (p *zfsPool) describe() string { return "zfs: dataset " + p.parent }

func (p *zfsPool) mountpoint(ctx context.Context, ds string) (string, error) {
	out, err := output(ctx, "zfs", "get", "-H", "-o", "value", "mountpoint", ds)
	if err != nil {
		return "", err
	}
	return existing(strings.TrimSpace(out))
}

func (p *zfsPool) goldenDir(ctx context.Context, gen string) (string, error) {
	return p.mountpoint(ctx, p.parent+"/golden/"+gen)
}

func (p *zfsPool) copyDir(ctx context.Context, id string) (string, error) {
	return p.mountpoint(ctx, p.parent+"/copies/"+id)
}

// goldenSnapshot finds the read-only snapshot ditto froze golden gen as.
func (p *zfsPool) goldenSnapshot(ctx context.Context, gen string) (string, error) {
	ds := p.parent + "/golden/" + gen
	out, err := output(ctx, "zfs", "list", "-H", "-o", "name", "-t", "snapshot", "-d", "1", ds)
	if err != nil {
		return "", err
	}
	for _, l := range strings.Split(out, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			return l, nil
		}
	}
	return "", fmt.Errorf("golden dataset %s has no snapshot", ds)
}

// clone is `zfs clone` of the golden's snapshot: what ditto does for a copy.
func (p *zfsPool) clone(ctx context.Context, gen, name string) (string, error) {
	snap, err := p.goldenSnapshot(ctx, gen)
	if err != nil {
		return "", err
	}
	dir := filepath.Join(p.mnt, name)
	if _, err := output(ctx, "zfs", "clone", "-o", "mountpoint="+dir, snap, p.own+"/"+name); err != nil {
		return "", err
	}
	return dir, nil
}

func (p *zfsPool) unclone(ctx context.Context, name string) error {
	ds := p.own + "/" + name
	if _, err := output(ctx, "zfs", "list", "-H", "-o", "name", ds); err != nil {
		return nil // gone already
	}
	_, err := output(ctx, "zfs", "destroy", ds)
	return err
}

// exclusive is the clone's "used": the space its own blocks take.
func (p *zfsPool) exclusive(ctx context.Context, id string) (int64, error) {
	return zfsNumber(ctx, "used", p.parent+"/copies/"+id)
}

func (p *zfsPool) free(ctx context.Context) (int64, error) {
	return zfsNumber(ctx, "available", p.parent)
}

func zfsNumber(ctx context.Context, prop, ds string) (int64, error) {
	out, err := output(ctx, "zfs", "get", "-Hp", "-o", "value", prop, ds)
	if err != nil {
		return 0, err
	}
	return strconv.ParseInt(strings.TrimSpace(out), 10, 64)
}

func (p *zfsPool) sync(ctx context.Context) error {
	_, err := output(ctx, "zpool", "sync", strings.SplitN(p.parent, "/", 2)[0])
	return err
}

func (p *zfsPool) scratch(ctx context.Context) (string, error) {
	dir := filepath.Join(p.mnt, "scratch")
	if _, err := output(ctx, "zfs", "create", "-o", "mountpoint="+dir, p.own+"/scratch"); err != nil {
		return "", err
	}
	return dir, setOwner(dir, 0, p.gid, 0o710)
}

func (p *zfsPool) dropScratch(ctx context.Context) error { return p.unclone(ctx, "scratch") }

func (p *zfsPool) cleanup(ctx context.Context) error {
	if _, err := output(ctx, "zfs", "list", "-H", "-o", "name", p.own); err != nil {
		return nil
	}
	_, err := output(ctx, "zfs", "destroy", "-r", p.own)
	return err
}

// existing returns dir if it exists.
func existing(dir string) (string, error) {
	if _, err := os.Stat(dir); err != nil {
		return "", err
	}
	return dir, nil
}

func setOwner(path string, uid, gid int, mode os.FileMode) error {
	if err := os.Chown(path, uid, gid); err != nil {
		return err
	}
	return os.Chmod(path, mode)
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
