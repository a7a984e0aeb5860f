package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dittodb/ditto/internal/rawhttp"
)

// limitsView is the limits of a copy's JSON view.
type limitsView struct {
	Memory       int64   `json:"memory"`
	CPUs         float64 `json:"cpus"`
	MaxProcesses int     `json:"max_processes"`
	MaxSize      int64   `json:"max_size"`
}

func (f *fixture) limitsOf(id string) limitsView {
	f.t.Helper()
	var v struct {
		Limits limitsView `json:"limits"`
	}
	if err := json.Unmarshal([]byte(f.must("copy", "get", "--format", "json", id)), &v); err != nil {
		f.t.Fatal(err)
	}
	return v.Limits
}

// copyCgroups lists the folders of copy id's cgroup, in every hierarchy
// (cgroup v2, or the v1 controllers' own).
func copyCgroups(t *testing.T, id string) []string {
	var dirs []string
	for _, pattern := range []string{"/sys/fs/cgroup/ditto/*/" + id, "/sys/fs/cgroup/*/ditto/*/" + id} {
		found, err := filepath.Glob(pattern)
		if err != nil {
			t.Fatal(err)
		}
		dirs = append(dirs, found...)
	}
	return dirs
}

// inCgroup reports whether process pid is in copy id's cgroup.
func inCgroup(t *testing.T, pid int, id string) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", pid))
	if err != nil {
		t.Fatal(err)
	}
	return strings.Contains(string(b), "/ditto/") && strings.Contains(string(b), "/"+id+"\n")
}

// cgroupValue reads a number from a file of copy id's cgroup.
func cgroupValue(t *testing.T, id, file string) int {
	for _, d := range copyCgroups(t, id) {
		if b, err := os.ReadFile(filepath.Join(d, file)); err == nil {
			n, err := strconv.Atoi(strings.TrimSpace(string(b)))
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
	}
	t.Fatalf("copy %s's cgroup has no %s", id, file)
	return 0
}

// failedAlone checks, after copy a went over a limit, that its neighbour b
// answers at once and a again within a minute (a server that lost a
// process to the kernel restarts itself; processes over the limit end).
func failedAlone(t *testing.T, a, b copyInfo) {
	if got := mustPsql(t, b.DatabaseURL, "SELECT count(*) > 0 FROM customer"); got != "t" {
		t.Fatalf("copy B: %s", got)
	}
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(200 * time.Millisecond) {
		out, err := psql(t, a.DatabaseURL, "SELECT 1")
		if err == nil && out == "1" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("copy A does not answer again: %v %s", err, out)
		}
	}
}

func TestLimits(t *testing.T) {
	// a range of its own: other tests of the machine may take ports of the default one
	f := goldenFixture(t, "--port-range", "24100-24199")
	for _, bad := range [][]string{{"--memory", "1M"}, {"--cpus", "many"}, {"--cpus", "0.001"}, {"--max-processes", "3"}, {"--max-size", "1K"}} {
		f.fails("invalid "+bad[0], append([]string{"copy", "create"}, bad...)...)
	}
	f.doctor().expect(t, "limits", "ok", "--memory", "--max-processes")

	a := f.create("--memory", "64M", "--cpus", "0.5", "--max-processes", "40")
	b := f.create()
	if got, want := f.limitsOf(a.ID), (limitsView{Memory: 64 << 20, CPUs: 0.5, MaxProcesses: 40}); got != want {
		t.Fatalf("copy A's limits = %+v, want %+v", got, want)
	}
	if got := f.limitsOf(b.ID); got != (limitsView{}) {
		t.Fatalf("copy B has limits %+v, want none", got)
	}
	if out := f.must("status"); !strings.Contains(out, "copy "+a.ID+": memory 64.0 MiB, cpus 0.5, max-processes 40") {
		t.Errorf("status does not show copy A's limits:\n%s", out)
	}
	pm := f.readRecord(a.ID).Postmaster
	if len(copyCgroups(t, a.ID)) == 0 || !inCgroup(t, pm.PID, a.ID) {
		t.Fatalf("copy A's postmaster %d is not in a cgroup of its own (%v)", pm.PID, copyCgroups(t, a.ID))
	}
	if len(copyCgroups(t, b.ID)) != 0 {
		t.Fatalf("copy B, without limits, has a cgroup: %v", copyCgroups(t, b.ID))
	}

	t.Run("a copy over its memory limit fails alone", func(t *testing.T) {
		record(t, "limits", "copy A (--memory 64M) runs a 300 MiB memory hog from SQL; copy B keeps answering", 1)
		// tail keeps a whole line in memory: 300 MiB without a newline
		out, err := psql(t, a.DatabaseURL, `CREATE TEMP TABLE o(l text); COPY o FROM PROGRAM 'head -c 300M /dev/zero | tail >/dev/null; echo rc=$?'; SELECT * FROM o`)
		if err == nil && !strings.HasSuffix(out, "rc=137") {
			t.Fatalf("the memory hog in copy A was not killed: %s", out)
		}
		t.Logf("copy A: %v %s", err, out)
		failedAlone(t, a, b)
	})

	t.Run("a fork bomb stops at the process limit", func(t *testing.T) {
		record(t, "limits", "copy A (--max-processes 40) forks 100 processes from SQL; copy B keeps answering", 1)
		out := fromInside(t, a, `for i in $(seq 100); do sleep 20 </dev/null >/dev/null 2>&1 & done`)
		if !strings.Contains(out, "fork") {
			t.Fatalf("copy A forked 100 processes past its limit of 40:\n%s", out)
		}
		n := cgroupValue(t, a.ID, "pids.current")
		if n < 30 || n > 40 {
			t.Fatalf("copy A's cgroup holds %d processes, want its limit of 40 (or a few less)", n)
		}
		t.Logf("copy A's cgroup holds %d processes; from inside:\n%s", n, out)
		failedAlone(t, a, b)
	})

	t.Run("reset applies the limits again; destroy and gc remove the cgroup", func(t *testing.T) {
		f := f.with(t)
		f.must("copy", "reset", a.ID)
		if pm := f.readRecord(a.ID).Postmaster; !inCgroup(t, pm.PID, a.ID) {
			t.Fatalf("after reset, copy A's postmaster %d is outside its cgroup", pm.PID)
		}
		dirs := copyCgroups(t, a.ID)
		f.must("copy", "destroy", a.ID)
		if left := copyCgroups(t, a.ID); len(left) != 0 {
			t.Fatalf("copy A's cgroup outlived it: %v", left)
		}
		// a crash between destroying a copy and its cgroup leaves one behind
		stray := filepath.Join(filepath.Dir(dirs[0]), "c0ffee")
		if err := os.MkdirAll(stray, 0o755); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.Remove(stray); os.Remove(filepath.Dir(stray)) })
		f.must("gc")
		if _, err := os.Stat(stray); !os.IsNotExist(err) {
			t.Fatalf("gc left the stray cgroup %s: %v", stray, err)
		}
	})

	t.Run("defaults from init", func(t *testing.T) {
		f := f.with(t)
		f.must("init", "--max-processes", "50")
		c := f.create("--memory", "128M")
		if got, want := f.limitsOf(c.ID), (limitsView{Memory: 128 << 20, MaxProcesses: 50}); got != want {
			t.Fatalf("limits with a default = %+v, want %+v", got, want)
		}
		f.must("copy", "destroy", c.ID)
		f.must("init", "--max-processes", "0")
	})

	t.Run("through the daemon", func(t *testing.T) {
		d := f.with(t).startDaemon(t, "root")
		c := d.createAs(t, nil, "--cpus", "1.5", "--max-processes", "60")
		var v struct {
			Limits limitsView `json:"limits"`
		}
		if err := json.Unmarshal([]byte(d.mustAs(t, nil, "copy", "get", "--format", "json", c.ID)), &v); err != nil {
			t.Fatal(err)
		}
		if want := (limitsView{CPUs: 1.5, MaxProcesses: 60}); v.Limits != want {
			t.Fatalf("limits through the daemon = %+v, want %+v", v.Limits, want)
		}
		if pm := f.readRecord(c.ID).Postmaster; !inCgroup(t, pm.PID, c.ID) {
			t.Fatalf("the postmaster of a copy made by the daemon is outside its cgroup")
		}
		// past the CLI's own check: the daemon validates too
		body := `{"limits":{"memory":1048576}}`
		a, err := rawhttp.Send(d.socket, fmt.Sprintf("POST /v1/copies HTTP/1.1\r\nHost: d\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", len(body), body), 30*time.Second)
		if err != nil || !strings.HasPrefix(a.Status, "400") || !strings.Contains(a.Body, "invalid --memory") {
			t.Fatalf("the daemon answered a memory limit of 1 MiB with %+v, %v", a, err)
		}
		d.mustAs(t, nil, "copy", "destroy", c.ID)
		if left := copyCgroups(t, c.ID); len(left) != 0 {
			t.Fatalf("the cgroup outlived its copy: %v", left)
		}
	})

	t.Run("limits that cannot be enforced are refused", func(t *testing.T) {
		f := f.with(t)
		f.must("init", "--sandbox", "off")
		f.fails("the sandbox is off", "copy", "create", "--memory", "64M")
		f.must("init", "--sandbox", "on")
	})

	t.Run("max-size", func(t *testing.T) {
		f := f.with(t)
		if os.Getenv("DITTO_TEST_ZFS_POOL") == "" {
			f.fails("--max-size is not supported on btrfs", "copy", "create", "--max-size", "1G")
			f.fails("not supported on Btrfs", "init", "--max-size", "1G")
			return
		}
		record(t, "limits", "copy A (--max-size 32M) writes 96 MiB; copy B keeps writing", 1)
		full, neighbour := f.create("--max-size", "32M"), f.create()
		if got := f.limitsOf(full.ID).MaxSize; got != 32<<20 {
			t.Fatalf("max_size = %d", got)
		}
		for _, c := range []copyInfo{full, neighbour} {
			// under emulation, writes of 8k records near a quota take minutes
			if out, err := exec.Command("zfs", "set", "recordsize=1M", f.pool+"/copies/"+c.ID).CombinedOutput(); err != nil {
				t.Fatalf("%v %s", err, out)
			}
		}
		// into the data directory, the program's working directory
		fill := "dd if=/dev/urandom of=filler bs=1M count=96"
		// the full copy may not even hold dd's answer: its COPY fails too
		out, _ := psql(t, full.DatabaseURL, fmt.Sprintf(`CREATE TEMP TABLE o(l text); COPY o FROM PROGRAM '%s 2>&1; echo rc=$?'; SELECT string_agg(l, E'\n') FROM o`, fill))
		if !strings.Contains(out, "Disk quota exceeded") || strings.HasSuffix(out, "rc=0") {
			t.Fatalf("copy A wrote 96 MiB past its --max-size 32M: %s", out)
		}
		if out, err := psql(t, full.DatabaseURL, "CREATE TABLE more AS SELECT generate_series(1, 200000) i"); err == nil {
			t.Fatalf("copy A, full, still writes: %s", out)
		} else {
			t.Logf("copy A, full: %v %s", err, out)
		}
		if out := fromInside(t, neighbour, fill); !strings.HasSuffix(out, "rc=0") {
			t.Fatalf("copy B could not write 96 MiB: %s", out)
		}
		mustPsql(t, neighbour.DatabaseURL, "CREATE TABLE more AS SELECT generate_series(1, 200000) i")
	})
}
