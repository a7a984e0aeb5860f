package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/dittodb/ditto/internal/testbtrfs"
	"github.com/dittodb/ditto/internal/testpg"
	"github.com/dittodb/ditto/postgres"
)

// dittoBin is the ditto binary the end-to-end tests run, built by TestMain
// (or given by DITTO_TEST_BIN, as in the ZFS test VM).
var dittoBin string

func TestMain(m *testing.M) {
	os.Exit(testMain(m))
}

func testMain(m *testing.M) int {
	dittoBin = os.Getenv("DITTO_TEST_BIN")
	if dittoBin == "" {
		dir, err := os.MkdirTemp("", "ditto-bin-")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer os.RemoveAll(dir)
		dittoBin = filepath.Join(dir, "ditto")
		// the dittotest tag enables DITTO_CRASH_AT, for the crash tests
		out, err := exec.Command("go", "build", "-tags", "dittotest", "-o", dittoBin, ".").CombinedOutput()
		if err != nil {
			fmt.Fprintf(os.Stderr, "building ditto: %v\n%s", err, out)
			return 1
		}
	}
	code := m.Run()
	if err := writeReliabilityReport(); err != nil {
		fmt.Fprintln(os.Stderr, "writing the reliability report:", err)
		return 1
	}
	return code
}

// fixture is one ditto state directory on its own real pool: a Btrfs
// filesystem on a loop device, or, when DITTO_TEST_ZFS_POOL names a pool
// (inside the ZFS test VM), a dataset of that OpenZFS pool.
type fixture struct {
	t    *testing.T
	home string
	pool string
}

// with returns the fixture reporting to t, for use inside subtests.
func (f *fixture) with(t *testing.T) *fixture {
	g := *f
	g.t = t
	return &g
}

func newFixture(t *testing.T, initArgs ...string) *fixture {
	return newFixtureSize(t, 2<<30, initArgs...)
}

// newFixtureSize is newFixture with a pool of size bytes.
func newFixtureSize(t *testing.T, size int64, initArgs ...string) *fixture {
	t.Helper()
	f := &fixture{t: t}
	if zpool := os.Getenv("DITTO_TEST_ZFS_POOL"); zpool != "" {
		requireRoot(t)
		f.pool = zpool + "/" + strings.ToLower(strings.NewReplacer("/", "-", "_", "-", " ", "-").Replace(t.Name()))
		if out, err := exec.Command("zfs", "create", "-p", "-o", fmt.Sprintf("quota=%d", size), f.pool).CombinedOutput(); err != nil {
			t.Fatalf("zfs create %s: %v %s", f.pool, err, out)
		}
		initArgs = append([]string{"--backend", "zfs", "--dataset", f.pool}, initArgs...)
		t.Cleanup(func() { exec.Command("zfs", "destroy", "-r", f.pool).Run() })
	} else {
		mnt := testbtrfs.NewSize(t, size)
		f.pool = filepath.Join(mnt, "ditto")
		if err := os.Mkdir(f.pool, 0o755); err != nil {
			t.Fatal(err)
		}
		allowTraverse(t, mnt)
		initArgs = append([]string{"--path", f.pool}, initArgs...)
	}
	f.home = shortTempDir(t)
	t.Cleanup(f.teardown)
	f.must(append([]string{"init"}, initArgs...)...)
	return f
}

// shortTempDir returns a fresh home whose path stays short: a Unix socket
// path below it must fit in 107 bytes, and t.TempDir embeds the test name.
func shortTempDir(t *testing.T) string {
	dir, err := os.MkdirTemp("", "dt")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	allowTraverse(t, dir)
	return filepath.Join(dir, "home")
}

func requireRoot(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test skipped under -short")
	}
	if os.Geteuid() != 0 {
		t.Fatal("end-to-end tests need root (loop devices, postgres as another user): run as root, or add -short")
	}
}

// allowTraverse lets the postgres OS user walk through the test's
// temporary folders (created 0700) down to the state directory.
func allowTraverse(t *testing.T, dir string) {
	for d := dir; d != "/" && d != os.TempDir(); d = filepath.Dir(d) {
		info, err := os.Stat(d)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(d, info.Mode().Perm()|0o011); err != nil {
			t.Fatal(err)
		}
	}
}

type result struct {
	stdout, stderr string
	code           int
}

func (r result) String() string {
	return fmt.Sprintf("exit %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
}

// run runs ditto on the fixture's home with extra environment variables
// given as leading "K=V" arguments.
func (f *fixture) run(args ...string) result {
	f.t.Helper()
	var env []string
	for len(args) > 0 && strings.Contains(args[0], "=") && !strings.HasPrefix(args[0], "-") {
		env, args = append(env, args[0]), args[1:]
	}
	cmd := exec.Command(dittoBin, append([]string{"--home", f.home}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	return runDitto(f.t, cmd)
}

// runDitto runs cmd, a ditto command, and returns its outputs and exit code.
func runDitto(t *testing.T, cmd *exec.Cmd) result {
	t.Helper()
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	r := result{stdout: out.String(), stderr: errb.String()}
	if ee, ok := err.(*exec.ExitError); ok {
		r.code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("running %v: %v", cmd.Args, err)
	}
	return r
}

// must runs ditto and fails the test unless it exits 0; it returns stdout.
func (f *fixture) must(args ...string) string {
	f.t.Helper()
	r := f.run(args...)
	if r.code != 0 {
		f.t.Fatalf("ditto %s failed: %s", strings.Join(args, " "), r)
	}
	return strings.TrimSpace(r.stdout)
}

// fails runs ditto, expects a non-zero exit and a message containing want.
func (f *fixture) fails(want string, args ...string) result {
	f.t.Helper()
	r := f.run(args...)
	if r.code == 0 {
		f.t.Fatalf("ditto %s succeeded, want an error containing %q: %s", strings.Join(args, " "), want, r)
	}
	if !strings.Contains(r.stderr, want) {
		f.t.Fatalf("ditto %s: stderr lacks %q: %s", strings.Join(args, " "), want, r)
	}
	return r
}

type copyInfo struct {
	ID          string            `json:"id"`
	State       string            `json:"state"`
	Port        int               `json:"port"`
	DatabaseURL string            `json:"database_url"`
	Golden      string            `json:"golden"`
	ExpiresAt   *time.Time        `json:"expires_at"`
	Labels      map[string]string `json:"labels"`
	Sandbox     string            `json:"sandbox"`
}

func (f *fixture) create(args ...string) copyInfo {
	f.t.Helper()
	var c copyInfo
	out := f.must(append([]string{"copy", "create", "--format", "json"}, args...)...)
	if err := json.Unmarshal([]byte(out), &c); err != nil {
		f.t.Fatalf("copy create --format json printed %q: %v", out, err)
	}
	return c
}

func (f *fixture) list() []copyInfo {
	f.t.Helper()
	var cs []copyInfo
	if err := json.Unmarshal([]byte(f.must("copy", "list", "--format", "json")), &cs); err != nil {
		f.t.Fatal(err)
	}
	return cs
}

// teardown destroys every copy and checks that nothing is left running on
// the pool, so that the loop device can be unmounted.
func (f *fixture) teardown() {
	if _, err := os.Stat(filepath.Join(f.home, "config.json")); err != nil {
		return
	}
	r := f.run("copy", "list", "--format", "json")
	var cs []copyInfo
	_ = json.Unmarshal([]byte(r.stdout), &cs)
	for _, c := range cs {
		f.run("copy", "destroy", c.ID)
	}
	f.run("gc") // warm copies, once no daemon keeps them
	pids := postgresUnder(f.home, f.pool)
	for _, pid := range pids {
		f.t.Errorf("postgres process %d still runs on the pool after teardown; killing it", pid)
		syscall.Kill(pid, syscall.SIGKILL)
	}
	for _, pid := range pids { // the pool can go once they are gone
		waitExited(pid)
	}
}

// waitExited waits up to 10 s until process pid is gone and reaped: the
// kernel finishes a killed process a moment after the signal.
func waitExited(pid int) {
	proc := filepath.Join("/proc", strconv.Itoa(pid))
	for deadline := time.Now().Add(10 * time.Second); exists(proc) && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
}

// postgresUnder lists the postmasters whose data directory lies below any
// of the roots.
func postgresUnder(roots ...string) []int {
	var pids []int
	for _, root := range roots {
		for _, r := range postgres.Postmasters(root) {
			pids = append(pids, r.PID)
		}
	}
	return pids
}

// psql runs a query against a URL and returns its unaligned output.
func psql(t *testing.T, url, query string) (string, error) {
	t.Helper()
	out, err := exec.Command("psql", "-X", "-At", "-v", "ON_ERROR_STOP=1", "-d", url, "-c", query).CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

func mustPsql(t *testing.T, url, query string) string {
	t.Helper()
	out, err := psql(t, url, query)
	if err != nil {
		t.Fatalf("psql %q: %v: %s", query, err, out)
	}
	return out
}

// sampleSQL is the plain SQL sample database shipped for the demo.
func sampleSQL(t *testing.T) string {
	p, err := filepath.Abs("../../scripts/sample.sql")
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// readableSample returns a copy of the sample database's dump that every
// user can read (a clone of the repository may sit in a folder only root
// can enter).
func readableSample(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(sampleSQL(t))
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(filepath.Dir(shortTempDir(t)), "sample.sql")
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// pgDump dumps url in the given pg_dump format (c, d, t, p) into out. A
// directory dump (d) is made by the postgres OS user, as pg_restore, which
// runs as that user, reads it by its path: out must be in a folder of its
// own (testpg.Dir).
func pgDump(t *testing.T, url, format, out string) {
	t.Helper()
	cmd := exec.Command("pg_dump", "-F", format, "-f", out, "-d", url)
	if format == "d" {
		u := testpg.User(t)
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(u.UID), Gid: uint32(u.GID)}}
	}
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("pg_dump -F %s: %v: %s", format, err, b)
	}
}
