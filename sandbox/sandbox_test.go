package sandbox

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"

	"github.com/dittodb/ditto/internal/proc"
)

func TestMain(m *testing.M) {
	Main() // the test binary is the init of the sandboxes its tests start
	os.Exit(m.Run())
}

func TestCovers(t *testing.T) {
	got := covers([]string{"/tmp/x/home", "/srv/pool/", "/srv/pool/copies", "/srv/poolside"})
	want := []string{"/dev", "/srv/pool", "/srv/poolside", "/tmp"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("covers = %v, want %v", got, want)
	}
}

// TestStart runs a shell in a sandbox: it sees the kept folder but not the
// hidden one's other files, nor a mount below it (detached, so it cannot
// stay busy), only its own processes, and its exit status comes back
// through the init, past an orphan that exits with status 2.
func TestStart(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("sandboxes need root")
	}
	hidden := t.TempDir()
	keep := filepath.Join(hidden, "keep")
	for _, d := range []string{keep, filepath.Join(hidden, "secret")} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	mounted := filepath.Join(hidden, "secret")
	if err := syscall.Mount("tmpfs", mounted, "tmpfs", 0, ""); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Unmount(mounted, 0) })
	var out bytes.Buffer
	cmd := exec.Command("/bin/sh", "-c", `(sleep 0.1; exit 2) & ls `+hidden+`; ps -eo pid,args; cat /proc/self/mountinfo; touch `+keep+`/made; sleep 0.3; exit 7`)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	cmd.Stdout, cmd.Stderr = &out, &out
	os.Chmod(keep, 0o777)
	init, pid, err := Start(cmd, Spec{Hide: []string{hidden}, Keep: []string{keep}})
	if err != nil {
		t.Fatal(err)
	}
	if pid == init.Process.Pid {
		t.Fatalf("Start returned the init's PID %d, want its child's", pid)
	}
	// the shell is the init's first child: PID 2 apart from the init's threads
	if inner, err := proc.InnerPID(pid); err != nil || inner == pid || inner < 2 {
		t.Fatalf("the shell (host PID %d) has PID %d, %v in its namespace", pid, inner, err)
	}
	err = init.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 7 {
		t.Fatalf("init exited with %v, want the shell's status 7; output:\n%s", err, &out)
	}
	s := out.String()
	if strings.Contains(s, "secret") || !strings.Contains(s, "keep") {
		t.Fatalf("ls of the hidden folder in the sandbox, want only keep:\n%s", s)
	}
	if !strings.Contains(s, " 1 ditto sandbox-init") || strings.Contains(s, "kthreadd") {
		t.Fatalf("ps in the sandbox shows more than the sandbox:\n%s", s)
	}
	if _, err := os.Stat(filepath.Join(keep, "made")); err != nil {
		t.Fatalf("a file written to a kept folder is not on the host: %v", err)
	}
}

// BenchmarkStart is what a sandbox adds to starting a program: compare
// with BenchmarkStartUnconfined.
func BenchmarkStart(b *testing.B) {
	for i := 0; i < b.N; i++ {
		cmd := exec.Command("/bin/sleep", "0.05")
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
		init, _, err := Start(cmd, Spec{Hide: []string{b.TempDir()}})
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		init.Wait()
		b.StartTimer()
	}
}

func BenchmarkStartUnconfined(b *testing.B) {
	for i := 0; i < b.N; i++ {
		cmd := exec.Command("/bin/sleep", "0.05")
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		cmd.Wait()
		b.StartTimer()
	}
}
