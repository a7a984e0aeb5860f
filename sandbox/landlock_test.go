package sandbox

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func TestLevelFor(t *testing.T) {
	for abi, want := range map[int]Level{0: Partial, 1: Partial, 5: Partial, 6: Full, 7: Full} {
		if got := levelFor(abi); got != want {
			t.Errorf("levelFor(%d) = %s, want %s", abi, got, want)
		}
	}
}

func TestLandlockRulesNeverOpenTheRoot(t *testing.T) {
	for _, r := range landlockRules("/bin/sh", nil) {
		if s := fmt.Sprint(r); strings.Contains(s, `"/"`) || strings.Contains(s, "[/]") {
			t.Fatalf("rules for /bin/sh open the whole tree: %s", s)
		}
	}
}

// outside makes a folder that no mount namespace hides, open to everyone
// by its mode bits, with a file to read; only Landlock keeps a sandbox out.
func outside(t *testing.T) (dir, file string) {
	dir, err := os.MkdirTemp("/var/tmp", "ditto-landlock-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	os.Chmod(dir, 0o777)
	file = filepath.Join(dir, "secret")
	if err := os.WriteFile(file, []byte("secret"), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir, file
}

// TestLandlock runs a shell as nobody under Landlock alone (no namespaces):
// it writes in its kept folder, /tmp and /dev/null, runs programs, and
// cannot read, write or list a folder of the host that its mode bits open
// to it, nor signal a process of its own user outside its domain.
func TestLandlock(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root, to start the shell as nobody")
	}
	if LandlockABI() < scopesABI {
		t.Skipf("this kernel has Landlock ABI %d: %s", LandlockABI(), Missing())
	}
	keep, _ := outside(t)
	dir, file := outside(t)
	victim := exec.Command("/bin/sleep", "30")
	victim.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	if err := victim.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { victim.Process.Kill(); victim.Wait() })
	script := fmt.Sprintf(`try() { if "$@" >/dev/null 2>&1; then echo "ok $*"; else echo "no $*"; fi; }
try touch %[1]s/made
try mkdir %[1]s/sub
try mv %[1]s/made %[1]s/sub/moved
try sh -c 'echo x > /dev/null'
try cat /etc/passwd
try cat %[2]s
try ls %[3]s
try touch %[3]s/planted
try kill -0 %[4]d
try kill -0 $$`, keep, file, dir, victim.Process.Pid)
	out := runConfined(t, keep, script)
	for _, want := range []string{"ok touch " + keep, "ok mv " + keep, "ok sh -c", "ok cat /etc/passwd", "no cat " + file, "no ls " + dir, "no touch " + dir, fmt.Sprintf("no kill -0 %d", victim.Process.Pid), "ok kill -0"} {
		if !strings.Contains(out, want) {
			t.Errorf("want %q in:\n%s", want, out)
		}
	}
	// the control: the same user, unconfined, reaches all of it
	cmd := exec.Command("/bin/sh", "-c", fmt.Sprintf("cat %s && touch %s/planted && kill -0 %d", file, dir, victim.Process.Pid))
	cmd.SysProcAttr = victim.SysProcAttr
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("unconfined, nobody cannot reach the folder or the process either: %v %s", err, b)
	}
}

func runConfined(t *testing.T, keep, script string) string {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	pid, err := forkExecConfined([]string{"/bin/sh", "sh", "-c", script}, &syscall.ProcAttr{
		Env: []string{"PATH=/usr/bin:/bin"}, Files: []uintptr{0, w.Fd(), w.Fd()},
		Sys: &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}},
	}, []string{keep})
	w.Close()
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	buf := make([]byte, 4096)
	for {
		n, err := r.Read(buf)
		out.Write(buf[:n])
		if err != nil {
			break
		}
	}
	var ws syscall.WaitStatus
	syscall.Wait4(pid, &ws, 0, nil)
	return out.String()
}

// BenchmarkForkExecConfined is what Landlock adds to starting a program:
// compare with BenchmarkForkExecPlain.
func BenchmarkForkExecConfined(b *testing.B) { benchForkExec(b, true) }

func BenchmarkForkExecPlain(b *testing.B) { benchForkExec(b, false) }

func benchForkExec(b *testing.B, confined bool) {
	attr := &syscall.ProcAttr{Sys: &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}}
	argv := []string{"/bin/true", "true"}
	for i := 0; i < b.N; i++ {
		var pid int
		var err error
		if confined {
			pid, err = forkExecConfined(argv, attr, []string{b.TempDir()})
		} else {
			pid, err = syscall.ForkExec(argv[0], argv[1:], attr)
		}
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		var ws syscall.WaitStatus
		syscall.Wait4(pid, &ws, 0, nil)
		b.StartTimer()
	}
}
