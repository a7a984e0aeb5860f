package postgres_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/dittodb/ditto/postgres"
)

// A postmaster's child shows the postmaster's command line for a moment
// after the fork: Postmasters names the parent, never the child (gc would
// otherwise wait for ever for a "stray" it cannot signal as a group).
func TestPostmastersSkipsForkedChildren(t *testing.T) {
	dir := t.TempDir()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	fake := filepath.Join(dir, "postgres") // a postmaster by its name
	if err := os.Symlink(exe, fake); err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(dir, "pgdata")
	parent := exec.Command(fake, "-test.run=^TestFakePostmaster$", "--", "-D", data)
	parent.Env = append(os.Environ(), "DITTO_FAKE_POSTMASTER=parent")
	parent.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := parent.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		syscall.Kill(-parent.Process.Pid, syscall.SIGKILL)
		parent.Wait()
	}()
	// the parent's child runs once both have -D pgdata
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if n := countWithDataDir(data); n == 2 {
			break
		} else if time.Now().After(deadline) {
			t.Fatalf("%d fake postgres processes after 10 s, want 2", n)
		}
	}
	found := postgres.Postmasters(dir)
	if len(found) != 1 || found[data].PID != parent.Process.Pid {
		t.Fatalf("Postmasters = %v, want only the parent %d on %s", found, parent.Process.Pid, data)
	}
}

// TestFakePostmaster is the fake postmaster of the test above (and its child).
func TestFakePostmaster(t *testing.T) {
	switch os.Getenv("DITTO_FAKE_POSTMASTER") {
	case "":
		t.Skip("a helper process")
	case "parent":
		child := exec.Command(os.Args[0], os.Args[1:]...)
		child.Env = append(os.Environ(), "DITTO_FAKE_POSTMASTER=child")
		if err := child.Start(); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(time.Minute)
}

// countWithDataDir counts the processes whose command line names data.
func countWithDataDir(data string) int {
	n := 0
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		if b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline")); err == nil && bytes.Contains(b, []byte(data)) {
			n++
		}
	}
	return n
}
