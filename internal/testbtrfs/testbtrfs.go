// Package testbtrfs gives integration tests a real, throw-away Btrfs
// filesystem: a sparse image in the test's temporary folder, formatted and
// loop-mounted, unmounted again when the test ends.
//
// It deliberately does not use ditto's own image code (storage/btrfs), so
// that a bug there cannot hide behind the fixture.
package testbtrfs

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// DefaultSize is the image size New uses: big enough for Btrfs's minimum
// and a few MB of files. The image is sparse, so only what is written
// takes disk space.
const DefaultSize = 256 << 20

// New returns the mount point of a fresh Btrfs filesystem of DefaultSize.
// It skips the test under -short and fails it when not run as root.
func New(tb testing.TB) string {
	tb.Helper()
	return NewSize(tb, DefaultSize)
}

// NewSize is New with an image of size bytes.
func NewSize(tb testing.TB, size int64) string {
	tb.Helper()
	Require(tb)
	dir := tb.TempDir() // before Cleanup below, so the unmount runs first
	img, mnt := filepath.Join(dir, "btrfs.img"), filepath.Join(dir, "mnt")
	if err := os.Mkdir(mnt, 0o755); err != nil {
		tb.Fatal(err)
	}
	f, err := os.Create(img)
	if err == nil {
		err = f.Truncate(size)
		f.Close()
	}
	if err != nil {
		tb.Fatalf("testbtrfs: create image: %v", err)
	}
	cmd(tb, "mkfs.btrfs", "btrfs-progs", "-q", img)
	cmd(tb, "mount", "mount", "-o", "loop,noatime", img, mnt)
	tb.Cleanup(func() { unmount(tb, img, mnt) })
	return mnt
}

// Require skips the test under -short and fails it unless it runs as root
// with btrfs-progs installed: what any test that mounts Btrfs needs.
func Require(tb testing.TB) {
	tb.Helper()
	if testing.Short() {
		tb.Skip("testbtrfs: skipping the Btrfs integration test under -short")
	}
	if os.Geteuid() != 0 {
		tb.Fatal("testbtrfs: loop-mounting a Btrfs image needs root: run the tests as root (sudo go test ./...), or add -short to skip them")
	}
	path(tb, "mkfs.btrfs", "btrfs-progs")
}

// unmount unmounts mnt and checks that mount's autoclear freed the loop
// device. Detaching can lag the umount a little, so it polls briefly.
func unmount(tb testing.TB, img, mnt string) {
	if out, err := exec.Command(path(tb, "umount", "mount"), mnt).CombinedOutput(); err != nil {
		tb.Errorf("testbtrfs: umount %s: %v: %s (something still uses it; unmounting lazily)", mnt, err, out)
		exec.Command(path(tb, "umount", "mount"), "-l", mnt).Run()
	}
	if out := WaitDetached(tb, img); out != "" {
		tb.Errorf("testbtrfs: loop device still attached to %s after umount: %s (detach it with losetup -d)", img, out)
	}
}

// WaitDetached waits up to 10 s for every loop device backed by img to go
// away, as the kernel may free an autoclear device just after umount
// returns. It returns the devices still attached, or "". Unlike
// "losetup -j", it also sees devices whose image was deleted.
func WaitDetached(tb testing.TB, img string) string {
	tb.Helper()
	losetup := path(tb, "losetup", "mount")
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		out, err := exec.Command(losetup, "--json", "-O", "NAME,BACK-FILE").Output()
		var list struct {
			Devices []struct {
				Name string `json:"name"`
				File string `json:"back-file"`
			} `json:"loopdevices"`
		}
		if err == nil {
			err = json.Unmarshal(out, &list)
		}
		if err != nil {
			tb.Fatalf("testbtrfs: losetup --json: %v: %s", err, out)
		}
		var left []string
		for _, d := range list.Devices {
			if d.File == img || d.File == img+" (deleted)" {
				left = append(left, d.Name+" ("+d.File+")")
			}
		}
		if len(left) == 0 || time.Now().After(deadline) {
			return strings.Join(left, ", ")
		}
	}
}

func cmd(tb testing.TB, name, pkg string, args ...string) {
	tb.Helper()
	if out, err := exec.Command(path(tb, name, pkg), args...).CombinedOutput(); err != nil {
		tb.Fatalf("testbtrfs: %s %s: %v: %s", name, strings.Join(args, " "), err, out)
	}
}

// path finds a tool, also in /usr/sbin and /sbin, which PATH may lack.
func path(tb testing.TB, name, pkg string) string {
	tb.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	for _, dir := range []string{"/usr/sbin", "/sbin"} {
		if _, err := os.Stat(filepath.Join(dir, name)); err == nil {
			return filepath.Join(dir, name)
		}
	}
	tb.Fatalf("testbtrfs: %s not found: install it (apt-get install %s)", name, pkg)
	return ""
}
