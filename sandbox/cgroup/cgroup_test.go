package cgroup

import (
	"crypto/rand"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func testName(t *testing.T) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("making cgroups needs root")
	}
	b := make([]byte, 4)
	rand.Read(b)
	return "ditto-test/" + hex.EncodeToString(b)
}

// TestCreateEnterRemove makes a group with every limit this machine has,
// checks the kernel's files, runs a process in it and removes it.
func TestCreateEnterRemove(t *testing.T) {
	name := testName(t)
	l := Limits{}
	for _, s := range Available() {
		switch {
		case s.Err != nil:
			t.Logf("%s: %v", s.Controller, s.Err)
		case s.Controller == Memory:
			l.Memory = 64 << 20
		case s.Controller == CPU:
			l.CPUs = 0.5
		case s.Controller == Processes:
			l.Processes = 20
		}
	}
	if l.IsZero() {
		t.Skip("no cgroup controller here")
	}
	g, err := Create(name, l)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := Remove(name); err != nil {
			t.Error(err)
		}
		for _, d := range g.Dirs {
			if _, err := os.Stat(d); !os.IsNotExist(err) {
				t.Errorf("%s left after Remove: %v", d, err)
			}
		}
	})
	if names, err := List(filepath.Dir(name)); err != nil || len(names) != 1 || names[0] != name {
		t.Errorf("List = %v, %v; want [%s]", names, err, name)
	}
	for _, d := range g.Dirs {
		for file, want := range map[string]string{
			"memory.limit_in_bytes": strconv.Itoa(64 << 20), "memory.max": strconv.Itoa(64 << 20),
			"cpu.cfs_quota_us": "50000", "cpu.max": "50000 100000", "pids.max": "20",
		} {
			b, err := os.ReadFile(filepath.Join(d, file))
			if err == nil && strings.TrimSpace(string(b)) != want {
				t.Errorf("%s/%s = %q, want %q", d, file, b, want)
			}
		}
	}
	// a second Create updates the limits of the group there
	if l.Processes > 0 {
		l.Processes = 30
		if _, err := Create(name, l); err != nil {
			t.Fatal(err)
		}
	}

	leave, err := Enter(g.Dirs)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("cat", "/proc/self/cgroup")
	out, err := cmd.Output()
	if lerr := leave(); lerr != nil {
		t.Fatal(lerr)
	}
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(out), "/"+name+"\n") {
		t.Errorf("a child forked after Enter is in\n%s\nnot in %s", out, name)
	}
	self, _ := os.ReadFile("/proc/self/cgroup")
	if strings.Contains(string(self), name) {
		t.Errorf("after leave, this process is still in %s:\n%s", name, self)
	}
}

func TestUnavailable(t *testing.T) {
	if err := checkName("../x"); err == nil {
		t.Error("checkName accepted ../x")
	}
	if _, err := Create("/abs", Limits{Memory: 1 << 30}); err == nil {
		t.Error("Create accepted an absolute name")
	}
}
