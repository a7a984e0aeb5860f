package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dittodb/ditto/internal/testbtrfs"
)

// embeddedFixture is a state directory with the default, embedded pool: a
// 1 GiB sparse Btrfs image loop-mounted at <home>/pool, unmounted and its
// loop device checked as detached when the test ends.
func embeddedFixture(t *testing.T) *fixture {
	t.Helper()
	testbtrfs.Require(t)
	f := &fixture{t: t, home: shortTempDir(t)}
	img, mnt := filepath.Join(f.home, "pool.img"), filepath.Join(f.home, "pool")
	t.Cleanup(func() {
		exec.Command("umount", mnt).Run()
		if out := testbtrfs.WaitDetached(t, img); out != "" {
			t.Errorf("loop device left: %s", out)
		}
	})
	t.Cleanup(f.teardown)
	f.must("init", "--size", "1G") // the default floor, 1G, would refuse every copy: a tenth of the pool then
	f.pool = mnt
	return f
}

// unmountPool unmounts the embedded pool, as a reboot would leave it.
func (f *fixture) unmountPool() {
	f.t.Helper()
	if out, err := exec.Command("umount", f.pool).CombinedOutput(); err != nil {
		f.t.Fatalf("umount %s: %v %s", f.pool, err, out)
	}
}

// isMountpoint reports whether a filesystem is mounted exactly at dir.
func isMountpoint(dir string) bool {
	b, _ := os.ReadFile("/proc/self/mountinfo")
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) > 4 && f[4] == dir {
			return true
		}
	}
	return false
}
