package btrfs_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/dittodb/ditto/internal/testbtrfs"
	"github.com/dittodb/ditto/storage"
	"github.com/dittodb/ditto/storage/btrfs"
)

// mountCount counts the mounts exactly at mnt, to catch stacked mounts.
func mountCount(t *testing.T, mnt string) int {
	t.Helper()
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) > 4 && f[4] == strings.ReplaceAll(mnt, " ", `\040`) {
			n++
		}
	}
	return n
}

func checkMounted(t *testing.T, mnt string, want bool) {
	t.Helper()
	got, err := btrfs.IsMounted(mnt)
	if err != nil || got != want {
		t.Fatalf("IsMounted(%s) = %v, %v; want %v", mnt, got, err, want)
	}
	if n := mountCount(t, mnt); (n == 1) != want {
		t.Fatalf("%d mounts at %s", n, mnt)
	}
}

func TestImage(t *testing.T) {
	testbtrfs.Require(t)
	dir := t.TempDir()
	img, mnt := filepath.Join(dir, "pool.img"), filepath.Join(dir, "pool mnt") // a space, escaped in mountinfo
	t.Cleanup(func() { btrfs.Unmount(ctx, mnt) })

	const size = 256 << 20
	if err := btrfs.CreateImage(ctx, img, size); err != nil {
		t.Fatal(err)
	}
	var st syscall.Stat_t
	if err := syscall.Stat(img, &st); err != nil || st.Size != size || st.Blocks*512 > size/4 {
		t.Fatalf("image: size %d, %d bytes on disk, %v; want %d, sparse", st.Size, st.Blocks*512, err, size)
	}
	checkMounted(t, mnt, false)
	for i := 0; i < 2; i++ { // the second MountImage must not stack a mount
		if err := btrfs.MountImage(ctx, img, mnt); err != nil {
			t.Fatal(err)
		}
		checkMounted(t, mnt, true)
	}
	write(t, filepath.Join(mnt, "keep"), "data")
	for i := 0; i < 2; i++ { // Unmount of an unmounted folder is a no-op
		if err := btrfs.Unmount(ctx, mnt); err != nil {
			t.Fatal(err)
		}
		checkMounted(t, mnt, false)
	}

	if err := btrfs.CreateImage(ctx, img, size); err != nil { // must not reformat
		t.Fatal(err)
	}
	if err := btrfs.MountImage(ctx, img, mnt); err != nil {
		t.Fatal(err)
	}
	if got := read(t, filepath.Join(mnt, "keep")); got != "data" {
		t.Errorf("after a second CreateImage, keep = %q: the image was reformatted", got)
	}
	if err := btrfs.Unmount(ctx, mnt); err != nil {
		t.Fatal(err)
	}
	if out := testbtrfs.WaitDetached(t, img); out != "" {
		t.Errorf("loop device left after Unmount: %s", out)
	}
	if out, err := exec.Command("losetup", "-a").CombinedOutput(); err != nil || strings.Contains(string(out), img) {
		t.Errorf("losetup -a = %s, %v; still lists %s", out, err, img)
	}
}

// imagePaths returns where a test's embedded image and its mount point
// go; whatever the test mounts there is unmounted and detached after it.
func imagePaths(t *testing.T) (img, mnt string) {
	testbtrfs.Require(t)
	dir := t.TempDir()
	img, mnt = filepath.Join(dir, "pool.img"), filepath.Join(dir, "pool")
	t.Cleanup(func() {
		if err := btrfs.Unmount(ctx, mnt); err != nil {
			t.Error(err)
		}
		if out := testbtrfs.WaitDetached(t, img); out != "" {
			t.Errorf("loop device left: %s", out)
		}
	})
	return img, mnt
}

// Opening a pool with an image through the registry mounts it first, once.
func TestOpenEmbeddedImage(t *testing.T) {
	img, mnt := imagePaths(t)
	if err := btrfs.CreateImage(ctx, img, 256<<20); err != nil {
		t.Fatal(err)
	}
	cfg := storage.Config{Backend: "btrfs", Path: mnt, Image: img, ImageSize: 256 << 20, GID: testGID}
	for i := 0; i < 2; i++ {
		s, err := storage.Open(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		if s.Backend() != "btrfs" || s.Root() != mnt {
			t.Errorf("Open = %s store at %s, want btrfs at %s", s.Backend(), s.Root(), mnt)
		}
		checkMounted(t, mnt, true)
	}
}

func TestMountImageRefusesAnotherMount(t *testing.T) {
	mnt := testbtrfs.New(t)
	img := filepath.Join(t.TempDir(), "other.img")
	if err := btrfs.CreateImage(ctx, img, 256<<20); err != nil {
		t.Fatal(err)
	}
	err := btrfs.MountImage(ctx, img, mnt)
	if err == nil || !strings.Contains(err.Error(), "is already mounted at "+mnt) {
		t.Errorf("MountImage over another mount = %v, want a refusal", err)
	}
	if out := testbtrfs.WaitDetached(t, img); out != "" {
		t.Errorf("loop device left: %s", out)
	}
}

func TestCreateImageKeepsOtherFilesystems(t *testing.T) {
	mkfs, err := exec.LookPath("mkfs.ext4")
	if err != nil {
		t.Skip("mkfs.ext4 not installed")
	}
	testbtrfs.Require(t)
	img := filepath.Join(t.TempDir(), "ext4.img")
	if err := os.WriteFile(img, nil, 0o600); err != nil || os.Truncate(img, 256<<20) != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(mkfs, "-q", img).CombinedOutput(); err != nil {
		t.Fatalf("mkfs.ext4: %v: %s", err, out)
	}
	if err := btrfs.CreateImage(ctx, img, 256<<20); err == nil || !strings.Contains(err.Error(), "existing filesystem") {
		t.Errorf("CreateImage over ext4 = %v, want mkfs.btrfs's refusal", err)
	}
	mnt := t.TempDir()
	if out, err := exec.Command("mount", "-o", "loop,ro", img, mnt).CombinedOutput(); err != nil {
		t.Fatalf("the ext4 image no longer mounts: %v: %s", err, out)
	}
	var fs unix.Statfs_t
	err = unix.Statfs(mnt, &fs)
	exec.Command("umount", mnt).Run()
	if err != nil || fs.Type != unix.EXT4_SUPER_MAGIC {
		t.Errorf("image is no longer ext4: type %#x, %v", fs.Type, err)
	}
	testbtrfs.WaitDetached(t, img)
}
