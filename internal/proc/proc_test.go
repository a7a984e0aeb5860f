package proc

import (
	"os"
	"os/exec"
	"testing"
)

func TestSelfIsAlive(t *testing.T) {
	r := Self()
	if r.PID != os.Getpid() || !r.Alive() {
		t.Fatalf("Self() = %+v, want alive with pid %d", r, os.Getpid())
	}
}

func TestReusedPIDIsNotAlive(t *testing.T) {
	r := Self()
	r.Start++ // same PID, different start time: another process.
	if r.Alive() {
		t.Fatal("a Ref with another start time must not count as alive")
	}
}

func TestExitedProcessIsNotAlive(t *testing.T) {
	cmd := exec.Command("sleep", "10")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	r, err := Lookup(cmd.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	if !r.Alive() {
		t.Fatal("running child should be alive")
	}
	_ = cmd.Process.Kill()
	// Not reaped yet: a zombie must already count as gone.
	if r.Alive() {
		// the kernel may take a moment to turn it into a zombie
		_ = cmd.Wait()
	} else {
		_ = cmd.Wait()
	}
	if r.Alive() {
		t.Fatal("killed child still alive")
	}
}

func TestStatFieldsWithParenInName(t *testing.T) {
	f, err := statFields([]byte("42 (a) b) S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 99"))
	if err != nil || f[0] != "S" || f[19] != "99" {
		t.Fatalf("statFields = %v, %v", f, err)
	}
}
