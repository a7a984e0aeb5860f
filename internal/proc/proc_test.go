package proc

import (
	"os"
	"os/exec"
	"testing"
	"time"
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
	defer cmd.Wait()
	// Not reaped yet: once the kernel has made it a zombie, which it does a
	// moment after the signal, it must count as gone.
	for deadline := time.Now().Add(5 * time.Second); r.Alive(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("killed child (a zombie, not reaped) still counts as alive after 5s")
		}
	}
}

func TestStatFieldsWithParenInName(t *testing.T) {
	f, err := statFields([]byte("42 (a) b) S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 99"))
	if err != nil || f[0] != "S" || f[19] != "99" {
		t.Fatalf("statFields = %v, %v", f, err)
	}
}

func TestTreePSS(t *testing.T) {
	if TreePSS(os.Getpid()) == 0 {
		t.Fatal("this process's PSS reads as 0")
	}
	if TreePSS(1<<22+7) != 0 {
		t.Fatal("a missing process's PSS is not 0")
	}
}
