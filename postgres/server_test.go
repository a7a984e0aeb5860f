package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dittodb/ditto/internal/proc"
	"github.com/dittodb/ditto/internal/testpg"
	"github.com/dittodb/ditto/postgres"
)

func TestFindBins(t *testing.T) {
	want := testpg.Bin(t)
	bins, err := postgres.FindBins("")
	if err != nil {
		t.Fatal(err)
	}
	for i, b := range bins {
		if b.Major == 0 || b.Version == "" || (i > 0 && b.Major > bins[i-1].Major) {
			t.Errorf("FindBins: bad or unordered entry %d: %+v", i, b)
		}
	}
	one, err := postgres.FindBins(want.Dir)
	if err != nil || len(one) != 1 || one[0] != want {
		t.Errorf("FindBins(%q) = %v, %v; want [%v]", want.Dir, one, err, want)
	}
	if _, err := postgres.FindBins(t.TempDir()); err == nil || !strings.Contains(err.Error(), "--pg-bin") {
		t.Errorf("FindBins(empty dir) error = %v; want one naming --pg-bin", err)
	}
	if _, err := postgres.PickBin(bins, want.Major); err != nil {
		t.Error(err)
	}
	_, err = postgres.PickBin(bins, want.Major+1)
	if err == nil || !strings.Contains(err.Error(), "need PostgreSQL "+strconv.Itoa(want.Major+1)+" or newer") || !strings.Contains(err.Error(), want.Dir) {
		t.Errorf("PickBin too old: %v", err)
	}
}

func TestStartStopRestart(t *testing.T) {
	c := testpg.InitDB(t)
	o := c.Options(testpg.FreePort(t))
	o.Settings = []string{"shared_buffers=16MB", "fsync=off"}
	for round := 0; round < 2; round++ {
		start := time.Now()
		s := testpg.StartServer(t, o)
		conn := testpg.Ready(t, s, "postgres")
		t.Logf("round %d: Start to ready in %v", round, time.Since(start))
		var sb string
		if err := conn.QueryRow(context.Background(), "SHOW shared_buffers").Scan(&sb); err != nil || sb != "16MB" {
			t.Errorf("-c setting not applied: shared_buffers = %q, %v", sb, err)
		}
		conn.Close(context.Background())
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		if err := postgres.Stop(ctx, s.Proc); err != nil {
			t.Fatal(err)
		}
		cancel()
		if s.Proc.Alive() {
			t.Fatal("postmaster still alive after Stop")
		}
	}
	log, err := os.ReadFile(o.LogFile)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(log), "not properly shut down") {
		t.Errorf("restart ran crash recovery:\n%s", log)
	}
	if fi, err := os.Stat(o.LogFile); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("log file mode: %v %v", fi.Mode(), err)
	}
}

// A postmaster that dies at start-up must make WaitReady fail at once, with
// the reason from the log, not after its timeout.
func TestWaitReadyFailsFast(t *testing.T) {
	c := testpg.InitDB(t)
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	badSetting := c.Options(testpg.FreePort(t))
	badSetting.Settings = []string{"shared_buffers=lots"}
	badSetting.LogFile = filepath.Join(c.Dir, "bad.log")
	cases := map[string]struct {
		o    postgres.ServerOptions
		want string
	}{
		"port in use": {c.Options(busy.Addr().(*net.TCPAddr).Port), "could not create any TCP/IP sockets"},
		"bad setting": {badSetting, "shared_buffers"},
	}
	for name, tc := range cases {
		s := testpg.StartServer(t, tc.o)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		start := time.Now()
		conn, err := s.WaitReady(ctx, testpg.Superuser, "postgres")
		cancel()
		if err == nil {
			conn.Close(context.Background())
			t.Fatalf("%s: WaitReady succeeded", name)
		}
		t.Logf("%s: failed after %v: %v", name, time.Since(start), err)
		if took := time.Since(start); took > 10*time.Second {
			t.Errorf("%s: WaitReady took %v to notice", name, took)
		}
		if !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "exited") {
			t.Errorf("%s: error %q; want the log line %q", name, err, tc.want)
		}
		if portInUse := errors.Is(err, postgres.ErrPortInUse); portInUse != (name == "port in use") {
			t.Errorf("%s: errors.Is(err, ErrPortInUse) = %v", name, portInUse)
		}
	}
}

func TestWaitReadyHonoursContext(t *testing.T) {
	// Nothing listens, and the "postmaster" is this live test process.
	s := &postgres.Server{Proc: proc.Self(), Port: testpg.FreePort(t), SocketDir: testpg.Dir(t)}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	if _, err := s.WaitReady(ctx, testpg.Superuser, "postgres"); err == nil || !strings.Contains(err.Error(), "not ready after") {
		t.Errorf("WaitReady error = %v", err)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("WaitReady ignored its deadline: %v", took)
	}
}

func TestKill(t *testing.T) {
	c := testpg.InitDB(t)
	s := testpg.StartServer(t, c.Options(testpg.FreePort(t)))
	testpg.Ready(t, s, "postgres").Close(context.Background())
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if shm := sharedMemoryOf(t, s.Proc.PID); shm == 0 {
		t.Error("no System V segment found for the running server")
	}
	if err := postgres.Kill(ctx, s.Proc); err != nil {
		t.Fatal(err)
	}
	if s.Proc.Alive() {
		t.Fatal("postmaster alive after Kill")
	}
	// Its backends were in its process group and must be gone too, and
	// with them the segment: Kill marks it for removal, and the kernel
	// drops it once the last dying backend has detached, a little later.
	if left := eventually(5*time.Second, func() string {
		var left []string
		entries, _ := os.ReadDir("/proc")
		for _, e := range entries {
			if pgid, err := getpgid(e.Name()); err == nil && pgid == s.Proc.PID {
				left = append(left, "process "+e.Name()+" of the killed server's group survived")
			}
		}
		if n := sharedMemoryOf(t, s.Proc.PID); n != 0 {
			left = append(left, fmt.Sprintf("Kill left %d shared memory segment(s) of the server behind", n))
		}
		return strings.Join(left, "; ")
	}); left != "" {
		t.Error(left)
	}
}

// A server's environment is readable by its superuser (COPY ... FROM
// PROGRAM 'env'): none of ditto's own secrets may reach it.
func TestServerEnvironmentHoldsNoSecrets(t *testing.T) {
	t.Setenv("DITTO_SOURCE_URL", "postgres://u:source-secret@db/x")
	t.Setenv("DITTO_MASK_KEY", "mask-secret")
	t.Setenv("CI_JOB_TOKEN", "job-secret")
	c := testpg.InitDB(t)
	s := testpg.StartServer(t, c.Options(testpg.FreePort(t)))
	conn := testpg.Ready(t, s, "postgres")
	defer conn.Close(context.Background())
	ctx := context.Background()
	if _, err := conn.Exec(ctx, "CREATE TEMP TABLE env (line text); COPY env FROM PROGRAM 'env'"); err != nil {
		t.Fatal(err)
	}
	var env string
	if err := conn.QueryRow(ctx, "SELECT string_agg(line, ' ') FROM env").Scan(&env); err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{"source-secret", "mask-secret", "job-secret"} {
		if strings.Contains(env, secret) {
			t.Errorf("the server's environment holds %s: %s", secret, env)
		}
	}
	if !strings.Contains(env, "PATH=") {
		t.Errorf("the server has no PATH: %s", env)
	}
}

// A process that leads no process group of its own (started by another
// tool than Start) is killed alone, not waited for in vain.
func TestKillOutsideItsOwnGroup(t *testing.T) {
	cmd := exec.Command("sleep", "60")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go cmd.Wait()
	ref, err := proc.Lookup(cmd.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := postgres.Kill(ctx, ref); err != nil || ref.Alive() {
		t.Fatalf("Kill of a process outside its own group: %v, alive %v", err, ref.Alive())
	}
}
