package btrfs

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// The embedded pool: a sparse file formatted as Btrfs and loop-mounted, for
// machines without a Btrfs partition. It grows on disk only as data is
// written.

// CreateImage makes img a sparse file of size bytes formatted as Btrfs. An
// image that already holds Btrfs is kept as it is, never reformatted, so
// CreateImage can be repeated. mkfs.btrfs runs without -f, so it also
// refuses to overwrite another filesystem.
func CreateImage(ctx context.Context, img string, size int64) error {
	if ok, err := isBtrfsImage(img); err != nil || ok {
		return err
	}
	if size <= 0 {
		return fmt.Errorf("create pool image %s: size %d is not positive: give a size such as 10G", img, size)
	}
	mkfs, err := tool("mkfs.btrfs", "btrfs-progs")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(img), 0o700); err != nil {
		return fmt.Errorf("create pool image %s: %w", img, err)
	}
	f, err := os.OpenFile(img, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("create pool image %s: %w", img, err)
	}
	fi, err := f.Stat()
	if err == nil && fi.Size() < size {
		err = f.Truncate(size) // sparse: no blocks are written
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("create pool image %s: %w", img, err)
	}
	return run(ctx, "format pool image "+img, mkfs, "-q", "-L", "ditto", img)
}

// btrfsMagic sits 0x40 bytes into the primary superblock, at 64 KiB.
const (
	btrfsMagic       = "_BHRfS_M"
	btrfsMagicOffset = 0x10000 + 0x40
)

func isBtrfsImage(img string) (bool, error) {
	f, err := os.Open(img)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("read pool image %s: %w", img, err)
	}
	defer f.Close()
	buf := make([]byte, len(btrfsMagic))
	if _, err := f.ReadAt(buf, btrfsMagicOffset); err != nil && !errors.Is(err, io.EOF) {
		return false, fmt.Errorf("read pool image %s: %w", img, err)
	}
	return string(buf) == btrfsMagic, nil
}

// MountImage loop-mounts img at mnt, creating mnt if needed. If img is
// already mounted exactly at mnt it does nothing; if something else is
// mounted there it fails rather than stack a second mount on top. The loop
// device gets autoclear from mount(8), so umount frees it.
func MountImage(ctx context.Context, img, mnt string) error {
	ri, err1 := resolve(img)
	rm, err2 := resolve(mnt)
	if err := errors.Join(err1, err2); err != nil {
		return fmt.Errorf("mount pool image %s at %s: %w", img, mnt, err)
	}
	img, mnt = ri, rm
	m, ok, err := mountAt(mnt)
	if err != nil {
		return err
	}
	if ok {
		if m.FSType == "btrfs" && loopBackingFile(m.Source) == img {
			return nil
		}
		return fmt.Errorf("mount pool image %s: %s (%s) is already mounted at %s: unmount it or choose another folder",
			img, m.Source, m.FSType, mnt)
	}
	if err := needRoot("mount pool image " + img); err != nil {
		return err
	}
	if _, err := os.Stat(img); err != nil {
		return fmt.Errorf("mount pool image %s: %w: create it first with \"ditto init\"", img, err)
	}
	mountCmd, err := tool("mount", "mount")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(mnt, 0o700); err != nil {
		return fmt.Errorf("mount pool image %s: %w", img, err)
	}
	return run(ctx, "mount pool image "+img+" at "+mnt, mountCmd, "-o", "loop,noatime", img, mnt)
}

// loopBackingFile returns the file behind loop device dev, or "".
func loopBackingFile(dev string) string {
	if !strings.HasPrefix(dev, "/dev/loop") {
		return ""
	}
	b, err := os.ReadFile(filepath.Join("/sys/block", filepath.Base(dev), "loop", "backing_file"))
	if err != nil {
		return ""
	}
	return strings.TrimSuffix(string(b), "\n")
}

// Unmount unmounts mnt; if nothing is mounted there it does nothing.
func Unmount(ctx context.Context, mnt string) error {
	rm, err := resolve(mnt)
	if err != nil {
		return fmt.Errorf("unmount %s: %w", mnt, err)
	}
	if _, ok, err := mountAt(rm); err != nil || !ok {
		return err
	}
	if err := needRoot("unmount " + rm); err != nil {
		return err
	}
	umount, err := tool("umount", "mount")
	if err != nil {
		return err
	}
	if err := run(ctx, "unmount "+rm, umount, rm); err != nil {
		return fmt.Errorf("%w (if it is busy, stop the copies using it; \"fuser -vm %s\" shows who)", err, rm)
	}
	return nil
}

// IsMounted reports whether a filesystem is mounted exactly at mnt.
func IsMounted(mnt string) (bool, error) {
	rm, err := resolve(mnt)
	if err != nil {
		return false, fmt.Errorf("check whether %s is mounted: %w", mnt, err)
	}
	_, ok, err := mountAt(rm)
	return ok, err
}

func needRoot(op string) error {
	if os.Geteuid() != 0 {
		return fmt.Errorf("%s: this needs root: run ditto as root (sudo)", op)
	}
	return nil
}

// tool finds an executable, also in the sbin folders that a non-root PATH
// often lacks.
func tool(name, pkg string) (string, error) {
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	for _, dir := range []string{"/usr/sbin", "/sbin", "/usr/bin", "/bin"} {
		p := filepath.Join(dir, name)
		if fi, err := os.Stat(p); err == nil && fi.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s not found: install it (apt-get install %s)", name, pkg)
}

// run executes a command from an argument list and puts its output into
// the error, since that output is what explains a failure.
func run(ctx context.Context, op, name string, args ...string) error {
	var out bytes.Buffer
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s: %s: %w: %s", op, filepath.Base(name), err, strings.TrimSpace(out.String()))
	}
	return nil
}
