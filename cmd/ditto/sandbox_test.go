package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/user"
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
// dump is the file the golden was reseeded from, readable by everyone: only
// the sandbox keeps it from a copy.
func attacks(t *testing.T, f *fixture, a, b copyInfo, dump string) map[string]string {
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
	// what no mount namespace hides: only Landlock keeps these out
	out = fromInside(t, a, "head -c 40 "+dump)
	try("read the dump reseed was given", out, strings.HasSuffix(out, "rc=0"))
	for name, dir := range map[string]string{"write to /var/tmp": "/var/tmp", "write to the postgres user's home": postgresHome(t)} {
		planted := filepath.Join(dir, "ditto-planted-"+a.ID)
		out = fromInside(t, a, "touch "+planted)
		os.Remove(planted)
		try(name, out, strings.HasSuffix(out, "rc=0"))
	}
	// pg_hba: no local login without a password but ditto's own
	ra := f.readRecord(a.ID)
	mustPsql(t, a.DatabaseURL, "CREATE ROLE other LOGIN PASSWORD 'pw'")
	for _, role := range []string{"ditto", "other"} {
		out = fromInside(t, a, fmt.Sprintf("psql -X -w -At -h %s -p %d -U %s -d sample -c 'select 42'", ra.SocketDir, a.Port, role))
		try("psql to its own socket as "+role+" without a password", out, strings.Contains(out, "42\nrc=0"))
	}
	return found
}

// postgresHome is the home folder of the servers' OS user.
func postgresHome(t *testing.T) string {
	u, err := user.Lookup("postgres")
	if err != nil {
		t.Fatal(err)
	}
	return u.HomeDir
}

func TestSandbox(t *testing.T) {
	f := newFixture(t)
	dump := readableSample(t)
	f.must("reseed", "--dump", dump)
	a, b := f.create(), f.create()
	for _, c := range f.list() {
		if c.Sandbox != "full" {
			t.Fatalf("copy %s: sandbox %q, want full", c.ID, c.Sandbox)
		}
	}
	f.doctor().expect(t, "sandbox", "ok", "sandbox: full")

	t.Run("attacks from inside a copy fail", func(t *testing.T) {
		record(t, "sandbox", "from copy A as superuser: ps, psql to B's socket, see/read/write B's files and log, ditto's records, kill B, read the reseed's dump, write /var/tmp and the postgres home, psql to its own socket without a password", 15)
		if found := attacks(t, f.with(t), a, b, dump); len(found) > 0 {
			t.Fatalf("copy A reached: %v", found)
		}
		// PID 1 is the init, and not even the kernel's threads show
		if out := fromInside(t, a, "ps -eo pid,args"); !strings.Contains(out, " 1 ditto sandbox-init") || strings.Contains(out, "kthreadd") {
			t.Fatalf("ps in the sandbox shows more than the sandbox: %s", out)
		}
		// the one process outside its Landlock domain that it sees
		if out := fromInside(t, a, "kill -TERM 1"); strings.HasSuffix(out, "rc=0") {
			t.Fatalf("copy A signalled its init: %s", out)
		}
		// what it may: psql runs, a role logs in on the socket with its
		// password, /tmp is writable and bounded
		ra := f.readRecord(a.ID)
		out := fromInside(t, a, fmt.Sprintf("PGPASSWORD=pw psql -X -w -At -h %s -p %d -U other -d sample -c 'select 42'; df -k --output=size /tmp /dev/shm | tail -2", ra.SocketDir, a.Port))
		if !strings.Contains(out, "42\n") || strings.Count(out, "262144") != 2 {
			t.Fatalf("inside copy A, psql with a password or the bounded /tmp and /dev/shm failed:\n%s", out)
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

	t.Run("a reseed's restore server and files are out of a copy's reach, and the copy out of its", func(t *testing.T) {
		record(t, "sandbox", "while a reseed's restore server runs: from copy A, list ditto's tmp, read the raw dump there, psql to the restore server; from the restore server, ps, read A's data, list ditto's tmp", 6)
		f := f.with(t)
		// killed once restored, the reseed leaves its server running and
		// its temporary folder in place until gc
		if r := f.run("DITTO_CRASH_AT=reseed:restored", "reseed", "--dump", sampleSQL(t)); r.code == 0 {
			t.Fatalf("the reseed did not stop at its crash point: %s", r)
		}
		t.Cleanup(func() { f.run("gc") })
		tmps, _ := filepath.Glob(filepath.Join(f.home, "tmp", "reseed-*"))
		if len(tmps) != 1 {
			t.Fatalf("reseed temporary folders: %v, want one", tmps)
		}
		// where a reseed from --source-url keeps the raw, unmasked dump
		raw := filepath.Join(tmps[0], "source.dump")
		if err := os.WriteFile(raw, []byte("raw rows"), 0o644); err != nil {
			t.Fatal(err)
		}
		sock := filepath.Join(f.home, "run", "reseed")
		var restore int
		for _, pid := range postgresUnder(f.pool) {
			if pid != f.readRecord(a.ID).Postmaster.PID && pid != f.readRecord(b.ID).Postmaster.PID {
				restore = pid
			}
		}
		if inner, err := proc.InnerPID(restore); restore == 0 || err != nil || inner == restore {
			t.Fatalf("the restore server (pid %d) has PID %d, %v in its namespace: not sandboxed", restore, inner, err)
		}
		ra := f.readRecord(a.ID)
		for _, cmd := range []string{"ls " + filepath.Join(f.home, "tmp"), "cat " + raw, fmt.Sprintf("psql -X -w -At -h %s -p 5432 -U ditto -d postgres -c 'select 42'", sock)} {
			if out := fromInside(t, a, cmd); !strings.HasSuffix(out, "rc=1") && !strings.HasSuffix(out, "rc=2") {
				t.Errorf("from copy A, %s: %s", cmd, out)
			}
		}
		// ditto (root) logs in on the restore server's socket by peer
		restoreServer := copyInfo{DatabaseURL: fmt.Sprintf("host=%s port=5432 user=ditto dbname=postgres", sock)}
		if out := fromInside(t, restoreServer, "ps -eo args"); strings.Contains(out, ra.DataDir) || !strings.Contains(out, "sandbox-init") {
			t.Errorf("ps in the restore server's sandbox: %s", out)
		}
		for _, cmd := range []string{"cat " + filepath.Join(ra.DataDir, "PG_VERSION"), "ls " + filepath.Join(f.home, "tmp")} {
			if out := fromInside(t, restoreServer, cmd); strings.HasSuffix(out, "rc=0") {
				t.Errorf("from the restore server, %s: %s", cmd, out)
			}
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
		found := attacks(t, f, c, d, dump)
		// ditto's records, logs and the list of socket folders are root's
		// alone, sandbox or not; pg_hba keeps every local login but
		// ditto's own behind a password
		for _, name := range []string{"ps lists copy B", "pg_read_file of B's data", "write into B's data", "kill -9 B's postmaster",
			"read the dump reseed was given", "write to /var/tmp", "write to the postgres user's home"} {
			if _, ok := found[name]; !ok {
				t.Errorf("unconfined, %q failed", name)
			}
		}
		for _, name := range []string{"psql to B's socket", "psql to its own socket as ditto without a password", "psql to its own socket as other without a password"} {
			if out, ok := found[name]; ok {
				t.Errorf("unconfined, %q reached: %s", name, out)
			}
		}
		f.must("init", "--sandbox", "on")
	})
}
