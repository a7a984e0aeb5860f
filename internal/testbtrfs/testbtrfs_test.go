package testbtrfs_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/dittodb/ditto/internal/testbtrfs"
)

// TestFailingTest runs a test that fails (in a child process, so that this
// one can pass) and checks that its Btrfs was still unmounted and its loop
// device freed.
func TestFailingTest(t *testing.T) {
	if os.Getenv("TESTBTRFS_CHILD") == "1" {
		mnt := testbtrfs.New(t)
		os.WriteFile(filepath.Join(mnt, "f"), []byte("x"), 0o600)
		t.Log("MNT=" + mnt)
		t.Fatal("failing on purpose")
	}
	testbtrfs.Require(t)
	cmd := exec.Command(os.Args[0], "-test.run=^TestFailingTest$", "-test.v")
	cmd.Env = append(os.Environ(), "TESTBTRFS_CHILD=1")
	out, err := cmd.CombinedOutput()
	if err == nil || !bytes.Contains(out, []byte("failing on purpose")) {
		t.Fatalf("child test did not fail as planned: %v\n%s", err, out)
	}
	_, after, ok := strings.Cut(string(out), "MNT=")
	if !ok {
		t.Fatalf("child printed no mount point:\n%s", out)
	}
	mnt := strings.Fields(after)[0]
	if info, _ := os.ReadFile("/proc/self/mountinfo"); bytes.Contains(info, []byte(" "+mnt+" ")) {
		t.Errorf("%s is still mounted after the failed test", mnt)
	}
	img := filepath.Join(filepath.Dir(mnt), "btrfs.img")
	if out := testbtrfs.WaitDetached(t, img); out != "" {
		t.Errorf("loop device left after the failed test: %s", out)
	}
	if strings.Contains(string(out), "testbtrfs:") {
		t.Errorf("the fixture reported a problem:\n%s", out)
	}
}

func TestNew(t *testing.T) {
	mnt := testbtrfs.New(t)
	var st unix.Statfs_t
	if err := unix.Statfs(mnt, &st); err != nil || st.Type != unix.BTRFS_SUPER_MAGIC {
		t.Fatalf("%s: statfs type %#x, %v; want Btrfs", mnt, st.Type, err)
	}
}
