package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/dittodb/ditto/internal/proc"
)

// copyRecord is what a test needs of a copy's record in the state directory.
type copyRecord struct {
	DataDir    string   `json:"data_dir"`
	SocketDir  string   `json:"socket_dir"`
	LogFile    string   `json:"log_file"`
	Postmaster proc.Ref `json:"postmaster"`
}

func (f *fixture) readRecord(id string) copyRecord {
	f.t.Helper()
	var r copyRecord
	b, err := os.ReadFile(filepath.Join(f.home, "copies", id+".json"))
	if err == nil {
		err = json.Unmarshal(b, &r)
	}
	if err != nil {
		f.t.Fatalf("reading the record of copy %s: %v", id, err)
	}
	return r
}

// fromInside runs a shell command as copy c's superuser can, with COPY ...
// FROM PROGRAM, and returns its output and exit status (rc=N on the last
// line), so that a failing command is an answer, not an error. Tabs and
// backslashes, which COPY's text format would parse, become spaces.
func fromInside(t *testing.T, c copyInfo, command string) string {
	t.Helper()
	q := fmt.Sprintf(`CREATE TEMP TABLE o(l text); COPY o FROM PROGRAM $$ { %s; echo rc=$?; } 2>&1 | tr '\t\\' '  '$$; SELECT string_agg(l, E'\n') FROM o`, command)
	return mustPsql(t, c.DatabaseURL, q)
}

// attacks are what copy a's superuser tries against copy b and ditto's
// files; each returns what it reached, or "" when it reached nothing.
func attacks(t *testing.T, f *fixture, a, b copyInfo) map[string]string {
	rb := f.readRecord(b.ID)
	found := map[string]string{}
	try := func(name, out string, reached bool) {
		if reached {
			found[name] = out
		}
	}
	out := fromInside(t, a, "ps -eo args")
	try("ps lists copy B", out, strings.Contains(out, rb.DataDir) || strings.Contains(out, fmt.Sprint(b.Port)))
	out = fromInside(t, a, fmt.Sprintf("psql -X -At -h %s -p %d -U ditto -d sample -c 'select 42'", rb.SocketDir, b.Port))
	try("psql to B's socket", out, strings.Contains(out, "42\nrc=0"))
	out = fromInside(t, a, "ls "+filepath.Dir(rb.SocketDir))
	try("B's socket folder visible", out, strings.Contains(out, b.ID))
	out, err := psql(t, a.DatabaseURL, fmt.Sprintf("SELECT pg_read_file('%s/PG_VERSION')", rb.DataDir))
	try("pg_read_file of B's data", out, err == nil)
	out = fromInside(t, a, fmt.Sprintf("touch %s/planted", rb.DataDir))
	try("write into B's data", out, strings.HasSuffix(out, "rc=0"))
	out, err = psql(t, a.DatabaseURL, fmt.Sprintf("SELECT pg_ls_dir('%s/copies')", f.home))
	try("pg_ls_dir of ditto's records", out, err == nil)
	out = fromInside(t, a, fmt.Sprintf("cat %s/copies/%s.json", f.home, b.ID))
	try("read B's record", out, strings.Contains(out, "password"))
	out = fromInside(t, a, "cat "+rb.LogFile)
	try("read B's log", out, strings.Contains(out, "database system is ready"))
	out = fromInside(t, a, fmt.Sprintf("kill -9 %d", rb.Postmaster.PID))
	time.Sleep(100 * time.Millisecond) // the kernel ends a killed process a moment later
	try("kill -9 B's postmaster", out, !rb.Postmaster.Alive())
	return found
}

func TestSandbox(t *testing.T) {
	f := goldenFixture(t)
	a, b := f.create(), f.create()
	for _, c := range f.list() {
		if c.Sandbox != "full" {
			t.Fatalf("copy %s: sandbox %q, want full", c.ID, c.Sandbox)
		}
	}
	f.doctor().expect(t, "sandbox", "ok", "sandbox: full")

	t.Run("attacks from inside a copy fail", func(t *testing.T) {
		record(t, "sandbox", "from copy A as superuser: ps, psql to B's socket, see/read/write B's files and log, ditto's records, kill B", 9)
		if found := attacks(t, f.with(t), a, b); len(found) > 0 {
			t.Fatalf("copy A reached: %v", found)
		}
		// PID 1 is the init, and not even the kernel's threads show
		if out := fromInside(t, a, "ps -eo pid,args"); !strings.Contains(out, " 1 ditto sandbox-init") || strings.Contains(out, "kthreadd") {
			t.Fatalf("ps in the sandbox shows more than the sandbox: %s", out)
		}
		if got := mustPsql(t, b.DatabaseURL, "SELECT count(*) > 0 FROM customer"); got != "t" {
			t.Fatalf("copy B after the attacks: %s", got)
		}
	})

	t.Run("an orphan exiting with status 2 does not restart the server", func(t *testing.T) {
		record(t, "sandbox", "a backgrounded child of a superuser's program exits with status 2", 1)
		before := f.readRecord(a.ID).Postmaster
		fromInside(t, a, `sh -c "(sleep 0.2; exit 2) &"`)
		time.Sleep(time.Second)
		mustPsql(t, a.DatabaseURL, "SELECT 1")
		log, err := os.ReadFile(f.readRecord(a.ID).LogFile)
		if err != nil {
			t.Fatal(err)
		}
		if !before.Alive() || strings.Contains(string(log), "terminating any other active server processes") {
			t.Fatalf("copy A's server restarted (postmaster %d alive: %v); its log:\n%s", before.PID, before.Alive(), log)
		}
	})

	t.Run("killing the init takes its server down; copy start brings it back", func(t *testing.T) {
		pm := f.readRecord(a.ID).Postmaster
		init, err := proc.Parent(pm.PID)
		if err != nil {
			t.Fatal(err)
		}
		syscall.Kill(init, syscall.SIGKILL)
		waitExited(pm.PID)
		if pm.Alive() {
			t.Fatalf("postmaster %d outlived its init %d", pm.PID, init)
		}
		f.with(t).must("copy", "start", a.ID)
		mustPsql(t, a.DatabaseURL, "SELECT 1")
		mustPsql(t, b.DatabaseURL, "SELECT 1")
	})

	// the same attacks, on copies started with the sandbox off, reach B: the
	// test above proves something
	t.Run("without the sandbox the attacks succeed", func(t *testing.T) {
		f := f.with(t)
		f.must("init", "--sandbox", "off")
		f.doctor().expect(t, "sandbox", "warn", "--sandbox off", "ditto init --sandbox on")
		c, d := f.create(), f.create()
		for _, l := range f.list() {
			if want := map[string]string{c.ID: "none", d.ID: "none", a.ID: "full", b.ID: "full"}[l.ID]; l.Sandbox != want {
				t.Fatalf("copy %s: sandbox %q, want %q", l.ID, l.Sandbox, want)
			}
		}
		found := attacks(t, f, c, d)
		// ditto's records, logs and the list of socket folders are root's
		// alone, sandbox or not
		for _, name := range []string{"ps lists copy B", "psql to B's socket", "pg_read_file of B's data", "write into B's data", "kill -9 B's postmaster"} {
			if _, ok := found[name]; !ok {
				t.Errorf("unconfined, %q failed", name)
			}
		}
		f.must("init", "--sandbox", "on")
	})
}
