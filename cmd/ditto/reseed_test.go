package main

import (
	"bufio"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/dittodb/ditto/internal/proc"
)

func TestReseedFromSourceURL(t *testing.T) {
	f := goldenFixture(t)
	src := f.create()
	mustPsql(t, src.DatabaseURL, "DELETE FROM orders WHERE id > 100")
	// a folder that does not exist yet, as in the quick start of the article
	// that introduced ditto: DITTO_DUMP_PATH="$PWD/.ditto/latest.gz"
	kept := filepath.Join(t.TempDir(), ".ditto", "latest.dump")

	r := f.run("DITTO_DUMP_PATH="+kept, "reseed", "--source-url", src.DatabaseURL, "--database", "fromsource")
	if r.code != 0 {
		t.Fatalf("reseed --source-url: %s", r)
	}
	if strings.Contains(r.stderr, strings.TrimPrefix(strings.SplitN(src.DatabaseURL, "@", 2)[0], "postgres://ditto:")) {
		t.Fatalf("the source password appears in the log:\n%s", r.stderr)
	}
	if _, err := os.Stat(kept); err != nil {
		t.Fatalf("DITTO_DUMP_PATH was not kept: %v", err)
	}
	if st, err := os.Stat(filepath.Dir(kept)); err != nil || st.Mode().Perm() != 0o700 {
		t.Fatalf("the folder made for DITTO_DUMP_PATH: %v, %v; want private (0700)", st.Mode(), err)
	}
	c := f.create()
	if got := mustPsql(t, c.DatabaseURL, "SELECT current_database(), count(*) FROM orders GROUP BY 1"); got != "fromsource|100" {
		t.Fatalf("copy of the source: %s, want fromsource|100", got)
	}
	f.must("copy", "destroy", c.ID)
	// a dump of the database initdb already makes (pgbench's, a small app's)
	f.must("reseed", "--dump", kept, "--database", "postgres")
	c = f.create()
	if got := mustPsql(t, c.DatabaseURL, "SELECT current_database(), count(*) FROM orders GROUP BY 1"); got != "postgres|100" {
		t.Fatalf("copy of a golden named postgres: %s, want postgres|100", got)
	}
	f.must("copy", "destroy", c.ID)
	assertTmpEmpty(t, f)

	record(t, "bad input", "source URL with a wrong password", 1)
	bad := strings.Replace(src.DatabaseURL, "ditto:", "ditto:wrong", 1)
	r = f.fails("authentication", "reseed", "--source-url", bad)
	if strings.Contains(r.stderr, "wrong") {
		t.Fatalf("the password appears in the error: %s", r.stderr)
	}
	f.must("copy", "destroy", src.ID)
}

// TestInterruptedReseed stops a reseed with Ctrl-C and with kill -9 while
// it restores: the current golden stays, and nothing of the attempt is left
// once it (or gc) is done.
func TestInterruptedReseed(t *testing.T) {
	f := goldenFixture(t)
	before := f.must("status", "--format", "json")
	golden := func(s string) string { return s[strings.Index(s, `"golden"`):strings.Index(s, `"generations"`)] }

	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGKILL} {
		t.Run(sig.String(), func(t *testing.T) {
			record(t, "faults", "reseed interrupted by "+sig.String()+" while restoring: old golden stays current, nothing left", 1)
			cmd := exec.Command(dittoBin, "--home", f.home, "reseed", "--dump", sampleSQL(t))
			stderr, _ := cmd.StderrPipe()
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			sc := bufio.NewScanner(stderr)
			for sc.Scan() && !strings.Contains(sc.Text(), "initdb done") {
			}
			cmd.Process.Signal(sig)
			go func() {
				for sc.Scan() {
				}
			}()
			err := cmd.Wait()
			if err == nil {
				t.Fatal("an interrupted reseed exited 0")
			}
			if sig == syscall.SIGKILL {
				f.must("gc")
			}
			if got := f.must("status", "--format", "json"); golden(got) != golden(before) {
				t.Fatalf("the golden changed after an interrupted reseed:\n%s\n%s", before, got)
			}
			deadline := time.Now().Add(5 * time.Second)
			for len(postgresUnder(f.home, f.pool)) > 0 && time.Now().Before(deadline) {
				time.Sleep(20 * time.Millisecond)
			}
			if pids := postgresUnder(f.home, f.pool); len(pids) > 0 {
				t.Fatalf("postgres %v still runs after the interrupted reseed", pids)
			}
			if os.Getenv("DITTO_TEST_ZFS_POOL") == "" {
				if entries, _ := os.ReadDir(filepath.Join(f.pool, "building")); len(entries) != 0 {
					t.Fatalf("half-built golden left: %v", entries)
				}
			}
			assertTmpEmpty(t, f)
			c := f.create()
			mustPsql(t, c.DatabaseURL, "SELECT count(*) FROM orders")
			f.must("copy", "destroy", c.ID)
		})
	}
}

func assertTmpEmpty(t *testing.T, f *fixture) {
	t.Helper()
	if entries, _ := os.ReadDir(filepath.Join(f.home, "tmp")); len(entries) != 0 {
		t.Fatalf("reseed left temporary files: %v", entries)
	}
}

// TestDamagedRecord: a record a crash of the machine left empty (records
// are not fsynced) stops nothing; gc removes it with its server and volume.
func TestDamagedRecord(t *testing.T) {
	f := goldenFixture(t)
	record(t, "faults", "a copy record left empty by a crash: list, create and doctor go on; gc removes the copy", 1)
	c := f.create()
	if err := os.Truncate(filepath.Join(f.home, "copies", c.ID+".json"), 0); err != nil {
		t.Fatal(err)
	}
	r := f.run("copy", "list")
	if r.code != 0 || !strings.Contains(r.stderr, "damaged copy record") {
		t.Fatalf("copy list with a damaged record: want success and a warning: %s", r)
	}
	other := f.create()
	if got := mustPsql(t, other.DatabaseURL, "SELECT 1"); got != "1" {
		t.Fatalf("copy created next to a damaged record: %s", got)
	}
	if out := f.run("doctor"); !strings.Contains(out.stdout+out.stderr, c.ID+".json (damaged record)") {
		t.Fatalf("doctor does not report the damaged record: %s", out)
	}
	f.must("copy", "destroy", other.ID)
	f.must("gc")
	f.assertClean(t)
}

// TestCopySettings: --set reaches the copy's server (and survives a reset)
// over ditto's defaults; settings ditto relies on are refused.
func TestCopySettings(t *testing.T) {
	f := goldenFixture(t)
	c := f.create("--set", "work_mem=7MB", "--set", "Statement_Timeout=42s")
	check := func(when string) {
		t.Helper()
		for q, want := range map[string]string{"SHOW work_mem": "7MB", "SHOW statement_timeout": "42s", "SHOW shared_buffers": "32MB", "SHOW fsync": "off"} {
			if got := mustPsql(t, c.DatabaseURL, q); got != want {
				t.Errorf("%s: %s = %q, want %q", when, q, got, want)
			}
		}
	}
	check("after create")
	f.must("copy", "reset", c.ID)
	check("after reset")
	d := f.create("--set", "shared_buffers=48MB", "--durable")
	if got := mustPsql(t, d.DatabaseURL, "SELECT current_setting('shared_buffers') || current_setting('fsync')"); got != "48MBon" {
		t.Errorf("--set shared_buffers=48MB --durable: %s", got)
	}
	f.fails("ditto sets this one itself", "copy", "create", "--set", "port=5999")
	f.fails("want NAME=VALUE", "copy", "create", "--set", "work mem=1MB")
	f.fails("want NAME=VALUE", "copy", "create", "--set", "work_mem")
	r := f.fails("did not start", "copy", "create", "--set", "no_such_setting=1")
	if !strings.Contains(r.stderr, "no_such_setting") {
		t.Errorf("an unknown setting: the error should show the server's complaint: %s", r)
	}
	f.must("copy", "destroy", c.ID, d.ID)
	f.assertClean(t)
}

// TestDeadCopyServer: kill -9 of a copy's postmaster shows as down; `copy
// start` and gc bring it back with the rows it had committed, keeping its
// URL, state and owner; then reset and destroy work.
func TestDeadCopyServer(t *testing.T) {
	// ports apart from the default range: a down copy's port is free for the
	// copies of other ditto homes (parallel test runs) to take
	f := goldenFixture(t, "--port-range", "17433-17532")
	record(t, "faults", "kill -9 of a copy's postmaster: listed as down, back with its data by copy start and by gc; then reset and destroy work", 4)
	c := f.create()
	// committed for sure before the kill, although copies commit asynchronously
	mustPsql(t, c.DatabaseURL, "SET synchronous_commit = on; CREATE TABLE kept AS SELECT generate_series(1, 1000) AS i")
	kill := func() {
		t.Helper()
		killPostmaster(t, f, c.ID)
		if cs := f.list(); len(cs) != 1 || cs[0].State != "down" {
			t.Fatalf("copy list after kill -9 of the postmaster: %+v, want one copy down", cs)
		}
	}
	backWithData := func(how string) {
		t.Helper()
		if got := mustPsql(t, c.DatabaseURL, "SELECT count(*) FROM kept"); got != "1000" {
			t.Fatalf("after %s the copy has %s of the 1000 rows it committed", how, got)
		}
		if cs := f.list(); len(cs) != 1 || cs[0].State != "running" {
			t.Fatalf("copy list after %s: %+v, want one copy running", how, cs)
		}
	}

	kill()
	// as if a `copy run` owned the copy: start must keep its owner and state
	rec := readRecord(t, f, c.ID)
	rec["owner"] = selfRef()
	writeRecord(t, f, c.ID, rec)
	if got := f.must("copy", "start", c.ID); got != c.DatabaseURL {
		t.Fatalf("copy start printed %q, want the copy's URL %q", got, c.DatabaseURL)
	}
	backWithData("copy start")
	after := readRecord(t, f, c.ID)
	if after["state"] != "ready" || after["busy"] != nil || !reflect.DeepEqual(after["owner"], rec["owner"]) {
		t.Fatalf("copy start changed the record's state or owner: %v %v, was %v %v", after["state"], after["owner"], rec["state"], rec["owner"])
	}
	if got := f.must("copy", "start", c.ID); got != c.DatabaseURL {
		t.Fatalf("copy start of a running copy printed %q", got)
	}
	delete(after, "owner")
	writeRecord(t, f, c.ID, after)

	kill()
	var r struct{ Restarted []string }
	if err := json.Unmarshal([]byte(f.must("gc", "--format", "json")), &r); err != nil || len(r.Restarted) != 1 || r.Restarted[0] != c.ID {
		t.Fatalf("gc with a copy down: restarted %v (%v), want [%s]", r.Restarted, err, c.ID)
	}
	backWithData("gc")

	// a copy that another live ditto process is destroying is not started
	busy := readRecord(t, f, c.ID)
	busy["state"], busy["busy"] = "destroying", selfRef()
	writeRecord(t, f, c.ID, busy)
	killPostmaster(t, f, c.ID)
	f.fails("is busy", "copy", "start", c.ID)
	busy["state"] = "ready"
	delete(busy, "busy")
	writeRecord(t, f, c.ID, busy)

	f.must("copy", "reset", c.ID)
	if got := mustPsql(t, c.DatabaseURL, "SELECT count(*) FROM customer"); got != "10000" {
		t.Fatalf("after reset: %s", got)
	}
	killPostmaster(t, f, c.ID)
	f.must("copy", "destroy", c.ID)
	f.assertClean(t)
}

// readRecord reads copy id's record as JSON fields.
func readRecord(t *testing.T, f *fixture, id string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(f.home, "copies", id+".json"))
	if err != nil {
		t.Fatal(err)
	}
	var rec map[string]any
	if err := json.Unmarshal(b, &rec); err != nil {
		t.Fatal(err)
	}
	return rec
}

func writeRecord(t *testing.T, f *fixture, id string, rec map[string]any) {
	t.Helper()
	b, err := json.Marshal(rec)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(f.home, "copies", id+".json"), b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// selfRef is the test process as a record's owner: alive while the test runs.
func selfRef() map[string]any {
	r := proc.Self()
	return map[string]any{"pid": float64(r.PID), "start": float64(r.Start)}
}

// TestAfterRestore: --after-restore runs its SQL on the golden before it
// is frozen, so every copy sees it; a failing file keeps the current
// golden, and a missing one fails before any restore.
func TestAfterRestore(t *testing.T) {
	f := goldenFixture(t)
	dir := t.TempDir()
	sql := filepath.Join(dir, "after.sql")
	if err := os.WriteFile(sql, []byte("create table ditto_marker as select count(*) as n from customer;\ncomment on table ditto_marker is 'after restore';\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	f.must("reseed", "--dump", sampleSQL(t), "--after-restore", sql)
	c := f.create()
	if got := mustPsql(t, c.DatabaseURL, "select n from ditto_marker"); got != "10000" {
		t.Fatalf("a copy of a golden made with --after-restore: ditto_marker says %q, want 10000", got)
	}
	current := c.Golden

	bad := filepath.Join(dir, "bad.sql")
	if err := os.WriteFile(bad, []byte("create table half_done (id int);\nselect 1/0;\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	f.fails("--after-restore "+bad+" failed on the golden (the current golden is unchanged): ERROR: division by zero", "reseed", "--dump", sampleSQL(t), "--after-restore", bad)
	f.fails("--after-restore: open "+filepath.Join(dir, "missing.sql"), "reseed", "--dump", sampleSQL(t), "--after-restore", filepath.Join(dir, "missing.sql"))
	c2 := f.create()
	if c2.Golden != current {
		t.Fatalf("after failed reseeds the golden is %s, want %s", c2.Golden, current)
	}
	if got := mustPsql(t, c2.DatabaseURL, "select count(*) from pg_tables where tablename = 'half_done'"); got != "0" {
		t.Fatalf("the failing file's first statement reached a copy")
	}
}

// TestDump: ditto dump writes the golden as a dump that another machine's
// reseed restores, through a copy that is gone afterwards; DITTO_DUMP_PATH
// and a FILE or --dump naming another file are refused.
func TestDump(t *testing.T) {
	f := goldenFixture(t)
	out := filepath.Join(t.TempDir(), "made", "golden.dump")
	if got := f.must("dump", out); got != out {
		t.Fatalf("ditto dump printed %q, want %q", got, out)
	}
	if st, err := os.Stat(out); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("the dump: %v, %v; want a 0600 file", st, err)
	}
	if st, err := os.Stat(filepath.Dir(out)); err != nil || st.Mode().Perm() != 0o700 {
		t.Fatalf("the dump's folder made by ditto: %v, %v; want 0700", st, err)
	}
	if cs := f.list(); len(cs) != 0 {
		t.Fatalf("ditto dump left copies: %+v", cs)
	}
	f.fails("name different files", "DITTO_DUMP_PATH=/elsewhere.dump", "dump", out)
	f.fails("--dump "+out+" and DITTO_DUMP_PATH=/elsewhere.dump name different files", "DITTO_DUMP_PATH=/elsewhere.dump", "reseed", "--dump", out)

	other := newFixture(t)
	other.must("DITTO_DUMP_PATH="+out, "reseed")
	if got := mustPsql(t, other.create().DatabaseURL, "select count(*) from customer"); got != "10000" {
		t.Fatalf("a golden restored from ditto dump has %s customers, want 10000", got)
	}
}
