package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"
)

// isolationPackages are the packages of the Go module the `go test -exec`
// test writes: each creates the same type and table, fills it with its own
// rows and checks that it sees exactly those.
var isolationPackages = []string{"alpha", "beta", "gamma", "delta"}

// isolationTest is the test file of every package (PKG is replaced by the
// package name). It needs nothing beyond the standard library and psql, so
// the module builds offline. A file barrier makes the packages' tests
// overlap for certain instead of by luck: each waits until
// ISOLATION_PACKAGES packages have started before touching the database.
const isolationTest = `package PKG

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

const me = "PKG"

var greeting = flag.String("greeting", "", "passed through go test -args")

func psql(t *testing.T, sql string) string {
	t.Helper()
	url := os.Getenv("MY_DB_URL")
	if url == "" {
		t.Fatal("MY_DB_URL is not set")
	}
	out, err := exec.Command("psql", "-X", "-At", "-v", "ON_ERROR_STOP=1", "-d", url, "-c", sql).CombinedOutput()
	if err != nil {
		t.Fatalf("psql %q: %v: %s", sql, err, out)
	}
	return strings.TrimSpace(string(out))
}

func barrier(t *testing.T) {
	dir := os.Getenv("ISOLATION_BARRIER")
	n, err := strconv.Atoi(os.Getenv("ISOLATION_PACKAGES"))
	if dir == "" || err != nil {
		t.Fatal("ISOLATION_BARRIER and ISOLATION_PACKAGES must be set")
	}
	if err := os.WriteFile(filepath.Join(dir, me), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(90 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		entries, _ := os.ReadDir(dir)
		if len(entries) >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("only %d of %d packages started together: run go test with -p %d", len(entries), n, n)
		}
	}
}

func TestOwnTables(t *testing.T) {
	if *greeting != "hello, world -x" {
		t.Fatalf("-greeting=%q: the argument given to go test -args was changed on the way", *greeting)
	}
	if want := os.Getenv("EXPECT_VERBOSE") == "1"; testing.Verbose() != want {
		t.Fatalf("testing.Verbose() = %v, want %v: -test.v was lost on the way", testing.Verbose(), want)
	}
	fmt.Fprintf(os.Stderr, "stderr of %s\n", me)
	t.Logf("package %s uses copy %q on port %s", me, os.Getenv("DITTO_COPY_ID"), os.Getenv("PGPORT"))
	barrier(t)
	psql(t, "CREATE TYPE mood AS ENUM ('happy', 'sad'); CREATE TABLE things (id serial PRIMARY KEY, pkg text NOT NULL, m mood NOT NULL)")
	psql(t, "INSERT INTO things (pkg, m) SELECT '"+me+"', 'happy' FROM generate_series(1, 100)")
	time.Sleep(300 * time.Millisecond) // let the other packages write meanwhile
	if got := psql(t, "SELECT count(*) FILTER (WHERE pkg = '"+me+"') || '/' || count(*) FROM things"); got != "100/100" {
		t.Fatalf("own rows/all rows = %s, want 100/100", got)
	}
	psql(t, "DROP TABLE things; DROP TYPE mood")
}
`

// privatePortRange gives the test's copies ports of their own: ports are
// reserved per state directory, so copies of other homes (other tests running
// at the same time) could take a port between ditto's check and the server's
// bind.
func privatePortRange() string {
	lo := 20000 + os.Getpid()%100*100
	return fmt.Sprintf("%d-%d", lo, lo+99)
}

// writeIsolationModule writes the multi-package module into a new folder.
func writeIsolationModule(t *testing.T) string {
	dir := t.TempDir()
	files := map[string]string{"go.mod": "module example.com/isolation\n\ngo 1.22\n"}
	for _, p := range isolationPackages {
		files[filepath.Join(p, p+".go")] = "// Package " + p + " exists to be tested.\npackage " + p + "\n"
		files[filepath.Join(p, p+"_test.go")] = strings.ReplaceAll(isolationTest, "PKG", p)
	}
	for name, body := range files {
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

type goTestRun struct {
	out  string
	err  error
	took time.Duration
}

// goTest runs `go test` in the module with the given -p, extra go test
// flags and environment, and a fresh barrier for n packages.
func goTest(t *testing.T, module string, n int, env []string, flags ...string) goTestRun {
	t.Helper()
	args := append([]string{"test", "-count=1"}, flags...)
	args = append(args, "./...", "-args", "-greeting=hello, world -x")
	cmd := exec.Command("go", args...)
	cmd.Dir = module
	cmd.Env = append(os.Environ(), "GOFLAGS=", "GOTOOLCHAIN=local", "GOPROXY=off", "GOWORK=off", "MY_DB_URL=",
		"ISOLATION_BARRIER="+t.TempDir(), fmt.Sprintf("ISOLATION_PACKAGES=%d", n))
	cmd.Env = append(cmd.Env, env...)
	t0 := time.Now()
	out, err := cmd.CombinedOutput()
	return goTestRun{out: string(out), err: err, took: time.Since(t0)}
}

// TestGoTestExec runs a real multi-package Go module whose packages all
// create the same table and type: against one shared database, run in
// parallel, they fail; with `go test -exec "ditto copy run ..."` every
// package gets its own copy and they all pass.
func TestGoTestExec(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("no go on PATH to build the test module (as in the ZFS test VM)")
	}
	f := goldenFixture(t, "--port-range", privatePortRange())
	module := writeIsolationModule(t)
	n := len(isolationPackages)
	execFlag := fmt.Sprintf("-exec=%s --home %s copy run --env-name MY_DB_URL --", dittoBin, f.home)

	shared := f.create()
	sharedEnv := []string{"MY_DB_URL=" + shared.DatabaseURL}
	// One package at a time, the tests are sound against a shared database:
	// they clean up after themselves. (This also builds the test binaries.)
	seq := goTest(t, module, 1, sharedEnv, "-p", "1")
	if seq.err != nil {
		t.Fatalf("the module's tests fail on a shared database even one package at a time: %v\n%s", seq.err, seq.out)
	}

	t.Run("one shared database fails", func(t *testing.T) {
		r := goTest(t, module, n, sharedEnv, "-p", fmt.Sprint(n))
		if r.err == nil {
			t.Fatalf("%d packages in parallel on one shared database passed; the test proves nothing:\n%s", n, r.out)
		}
		if !strings.Contains(r.out, "already exists") && !strings.Contains(r.out, "duplicate key value") {
			t.Fatalf("go test failed, but not because the packages collided in the shared database: %v\n%s", r.err, r.out)
		}
		// the package that won the race dropped its table and type again;
		// make sure, for the sequential run below
		mustPsql(t, shared.DatabaseURL, "DROP TABLE IF EXISTS things; DROP TYPE IF EXISTS mood")
	})

	t.Run("a copy per package passes", func(t *testing.T) {
		r := goTest(t, module, n, []string{"EXPECT_VERBOSE=1"}, "-p", fmt.Sprint(n), "-v", execFlag)
		if r.err != nil {
			t.Fatalf("go test -p %d -exec ditto: %v\n%s", n, r.err, r.out)
		}
		for _, p := range isolationPackages {
			if !regexp.MustCompile(`(?m)^ok\s+example.com/isolation/` + p + `\s`).MatchString(r.out) {
				t.Errorf("no ok line for package %s", p)
			}
			if !strings.Contains(r.out, "stderr of "+p+"\n") {
				t.Errorf("the stderr of package %s's test binary did not reach go test", p)
			}
		}
		if got := strings.Count(r.out, "=== RUN   TestOwnTables"); got != n {
			t.Errorf("%d '=== RUN' lines, want %d (-test.v passed through to each binary)", got, n)
		}
		ids := regexp.MustCompile(`uses copy "([0-9a-f]+)" on port \d+`).FindAllStringSubmatch(r.out, -1)
		distinct := map[string]bool{}
		for _, m := range ids {
			distinct[m[1]] = true
		}
		if len(distinct) != n {
			t.Errorf("the packages used %d distinct copies (%v), want %d", len(distinct), distinct, n)
		}
		if t.Failed() {
			t.Logf("go test output:\n%s", r.out)
		}
		if cs := f.list(); len(cs) != 1 || cs[0].ID != shared.ID {
			t.Fatalf("after go test -exec the copies are %v, want only the shared one %s", cs, shared.ID)
		}
	})

	t.Run("overhead per package", func(t *testing.T) {
		// Each package's test binary run alone, directly on the shared
		// database and through copy run, alternately: the difference is what
		// copy run adds per package (create a copy, start its server, destroy
		// it). Logged, not asserted: timings belong in reports, not tests.
		bins := t.TempDir()
		cmd := exec.Command("go", "test", "-c", "-o", bins+"/", "./...")
		cmd.Dir, cmd.Env = module, append(os.Environ(), "GOFLAGS=", "GOTOOLCHAIN=local", "GOPROXY=off", "GOWORK=off")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go test -c: %v\n%s", err, out)
		}
		barrier := t.TempDir()
		env := append(os.Environ(), "ISOLATION_BARRIER="+barrier, "ISOLATION_PACKAGES=1")
		timeRun := func(args ...string) time.Duration {
			cmd := exec.Command(args[0], append(args[1:], "-greeting=hello, world -x")...)
			cmd.Env = env
			t0 := time.Now()
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("%v: %v\n%s", args, err, out)
			}
			return time.Since(t0)
		}
		var added []time.Duration
		for range 3 {
			for _, p := range isolationPackages {
				bin := filepath.Join(bins, p+".test")
				direct := timeRun("env", "MY_DB_URL="+shared.DatabaseURL, bin)
				through := timeRun(dittoBin, "--home", f.home, "copy", "run", "--env-name", "MY_DB_URL", "--", bin)
				added = append(added, through-direct)
			}
		}
		slices.Sort(added)
		t.Logf("time copy run adds to one package's test binary, %d runs: min %v, median %v, max %v", len(added),
			added[0].Round(time.Millisecond), added[len(added)/2].Round(time.Millisecond), added[len(added)-1].Round(time.Millisecond))

		var runs []time.Duration
		for range 10 {
			t0 := time.Now()
			f.must("copy", "run", "--", "true")
			runs = append(runs, time.Since(t0))
		}
		slices.Sort(runs)
		t.Logf("`ditto copy run -- true`, %d runs: min %v, median %v, max %v", len(runs),
			runs[0].Round(time.Millisecond), runs[len(runs)/2].Round(time.Millisecond), runs[len(runs)-1].Round(time.Millisecond))
	})
	f.must("copy", "destroy", shared.ID)
}

// TestCopyRunPassesThrough checks that `copy run` hands the command its
// arguments byte for byte and its very stdin, stdout and stderr (the same
// open files, not pipes copied through ditto).
func TestCopyRunPassesThrough(t *testing.T) {
	f := goldenFixture(t, "--port-range", privatePortRange())
	dir := t.TempDir()
	in, out, errf := filepath.Join(dir, "stdin"), filepath.Join(dir, "stdout"), filepath.Join(dir, "stderr")
	if err := os.WriteFile(in, []byte("line from stdin\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{"-test.v=true", "-test.run=^TestX$", "--home", "/nowhere", "--", "", "a b", " lead", "*", "$HOME", "'q'", `"dq"`, "--help", "-h", "--generate-bash-completion"}
	script := `for fd in 0 1 2; do readlink /proc/self/fd/$fd; done; cat; echo to-stderr >&2; printf '[%s]\n' "$@"`
	cmd := exec.Command(dittoBin, append([]string{"--home", f.home, "copy", "run", "--", "bash", "-c", script, "bash"}, args...)...)
	files := []*os.File{}
	for _, p := range []string{in, out, errf} {
		fl, err := os.OpenFile(p, os.O_RDWR|os.O_CREATE, 0o644)
		if err != nil {
			t.Fatal(err)
		}
		defer fl.Close()
		files = append(files, fl)
	}
	cmd.Stdin, cmd.Stdout, cmd.Stderr = files[0], files[1], files[2]
	if err := cmd.Run(); err != nil {
		b, _ := os.ReadFile(errf)
		t.Fatalf("copy run: %v: %s", err, b)
	}
	var want bytes.Buffer
	fmt.Fprintf(&want, "%s\n%s\n%s\nline from stdin\n", in, out, errf)
	for _, a := range args {
		fmt.Fprintf(&want, "[%s]\n", a)
	}
	if got, _ := os.ReadFile(out); string(got) != want.String() {
		t.Errorf("stdout of the command:\n%s\nwant:\n%s", got, want.String())
	}
	if got, _ := os.ReadFile(errf); string(got) != "to-stderr\n" {
		t.Errorf("stderr: %q, want only the command's %q", got, "to-stderr\n")
	}
	if cs := f.list(); len(cs) != 0 {
		ids := make([]string, 0, len(cs))
		for _, c := range cs {
			ids = append(ids, c.ID)
		}
		sort.Strings(ids)
		t.Fatalf("copies left after copy run: %v", ids)
	}
}
