package sandbox

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"

	"github.com/dittodb/ditto/sandbox/cgroup"
)

// TestStartInCgroup: the program and what it forks are born in the
// sandbox's cgroup; the init is not in it.
func TestStartInCgroup(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("sandboxes need root")
	}
	name := fmt.Sprintf("ditto-test/sandbox-%d", os.Getpid())
	g, err := cgroup.Create(name, cgroup.Limits{Processes: 50})
	if err != nil {
		t.Skipf("no cgroup with a pids controller here: %v", err)
	}
	t.Cleanup(func() {
		if err := cgroup.Remove(name); err != nil {
			t.Error(err)
		}
	})
	var out bytes.Buffer
	cmd := exec.Command("/bin/sh", "-c", "cat /proc/self/cgroup; sleep 0.3")
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	cmd.Stdout, cmd.Stderr = &out, &out
	init, _, err := Start(cmd, Spec{Cgroups: g.Dirs})
	if err != nil {
		t.Fatal(err)
	}
	initGroups, err := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", init.Process.Pid))
	if err := init.Wait(); err != nil {
		t.Fatalf("%v: %s", err, &out)
	}
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "/"+name+"\n") {
		t.Errorf("a process forked by the program is not in %s:\n%s", name, &out)
	}
	if strings.Contains(string(initGroups), name) {
		t.Errorf("the init stayed in the program's cgroup:\n%s", initGroups)
	}
}
