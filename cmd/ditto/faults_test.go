package main

import (
	"bufio"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestPoolFull: a copy writes until the filesystem says no space. New
// copies are refused with the free-space error. Copies whose servers the
// full pool stopped (a PANIC for want of WAL space, then a failed recovery;
// here kill -9 stops them on cue) stay down while it is full: copy start
// says to free space, gc and the sweep of copy create leave them be. Once
// the big copy is destroyed they come back with the rows they had
// committed, through gc and through copy start.
func TestPoolFull(t *testing.T) {
	// ports apart from the default range: a down copy's port is free for the
	// copies of other ditto homes (parallel test runs) to take
	f := newFixtureSize(t, 800<<20, "--min-free", "200M", "--port-range", "17533-17632")
	f.must("reseed", "--dump", sampleSQL(t))
	record(t, "faults", "a copy fills the pool until no space is left: new copies refused, copies stopped by the full pool back with their data once space is back (gc, copy start)", 1)
	byStart, byGC := f.create(), f.create()
	for _, c := range []copyInfo{byStart, byGC} {
		// committed for sure, although copies commit asynchronously
		mustPsql(t, c.DatabaseURL, "SET synchronous_commit = on; CREATE TABLE kept AS SELECT generate_series(1, 1000) AS i")
	}
	big := f.create()
	free := func() uint64 {
		var s struct{ Usage struct{ Free uint64 } }
		json.Unmarshal([]byte(f.must("status", "--format", "json")), &s)
		return s.Usage.Free
	}
	// Committed batches of about 6 MB each, so what was written stays. When
	// the disk runs out, the copy's server may crash and, recovering,
	// remove its WAL and give space back: fill again until it stays full.
	psql(t, big.DatabaseURL, "CREATE TABLE big (pad text)")
	fill := strings.Repeat("INSERT INTO big SELECT repeat(md5(random()::text), 20) FROM generate_series(1, 10000);", 400)
	var out string
	var err error
	for round := 1; free() >= 200<<20; round++ {
		if round > 5 {
			t.Fatalf("the pool still has %d MiB free after 5 rounds of filling; the last ended with:\n%s", free()>>20, out)
		}
		if out, err = psql(t, big.DatabaseURL, fill); err == nil {
			t.Fatalf("filling the pool did not fail: %s", out)
		}
		// wait for a crashed server to be back before the next round
		for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
			if _, err := psql(t, big.DatabaseURL, "SELECT 1"); err == nil {
				break
			}
		}
	}
	// what the big copy's server gave back by recovering, taken by a file
	// in its volume: the pool is full
	filler, err := os.Create(filepath.Join(filepath.Dir(readRecord(t, f, big.ID)["data_dir"].(string)), "filler"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = io.Copy(filler, zeros{})
	filler.Close()
	t.Logf("filler: %v; %d KiB free", err, free()>>10)
	for _, c := range []copyInfo{byStart, byGC} {
		if state := f.copyState(c.ID); state == "running" {
			killPostmaster(t, f, c.ID)
		} else {
			t.Logf("copy %s is %s: the full pool stopped its server", c.ID, state)
		}
	}
	r := f.fails("the pool has only", "copy", "start", byStart.ID)
	if !strings.Contains(r.stderr, "end of its log") || !strings.Contains(r.stderr, "ditto copy destroy ID") {
		t.Fatalf("copy start on the full pool should show the server's log and say to free space: %s", r)
	}
	f.fails("below the floor", "copy", "create")
	if state := f.copyState(byGC.ID); state != "down" {
		t.Fatalf("below the floor, the sweep of copy create left copy %s %s, want down", byGC.ID, state)
	}

	f.must("copy", "destroy", big.ID)
	// Btrfs gives a deleted subvolume's space back in the background.
	deadline := time.Now().Add(60 * time.Second)
	for free() < 200<<20 && time.Now().Before(deadline) {
		exec.Command("btrfs", "filesystem", "sync", f.pool).Run()
		time.Sleep(500 * time.Millisecond)
	}
	var rep struct{ Restarted []string }
	if err := json.Unmarshal([]byte(f.must("gc", "--format", "json")), &rep); err != nil || len(rep.Restarted) != 1 || rep.Restarted[0] != byGC.ID {
		t.Fatalf("gc once space is back: restarted %v (%v), want [%s]", rep.Restarted, err, byGC.ID)
	}
	if got := f.must("copy", "start", byStart.ID); got != byStart.DatabaseURL {
		t.Fatalf("copy start printed %q, want the copy's URL", got)
	}
	for _, c := range []copyInfo{byStart, byGC} {
		if got := mustPsql(t, c.DatabaseURL, "SELECT count(*) FROM kept"); got != "1000" {
			t.Fatalf("copy %s is back with %s of the 1000 rows it committed before the pool filled", c.ID, got)
		}
	}
	c := f.create()
	if got := mustPsql(t, c.DatabaseURL, "SELECT count(*) FROM orders"); got != "50000" {
		t.Fatalf("a copy made after the space came back has %s orders", got)
	}
	f.must("copy", "destroy", c.ID, byStart.ID, byGC.ID)
}

// zeros is an endless reader of zero bytes.
type zeros struct{}

func (zeros) Read(b []byte) (int, error) {
	clear(b)
	return len(b), nil
}

// copyState is the state copy list shows for copy id.
func (f *fixture) copyState(id string) string {
	f.t.Helper()
	for _, c := range f.list() {
		if c.ID == id {
			return c.State
		}
	}
	f.t.Fatalf("copy %s is not listed", id)
	return ""
}

// TestBadInput: each bad input gets a clear message, a non-zero exit, and
// changes nothing.
func TestBadInput(t *testing.T) {
	f := goldenFixture(t)
	before := f.goldenJSON()
	check := func(t *testing.T) {
		t.Helper()
		if got := f.goldenJSON(); got != before {
			t.Fatalf("the golden changed:\n%s\n%s", before, got)
		}
		assertTmpEmpty(t, f)
	}

	t.Run("dump from a newer PostgreSQL", func(t *testing.T) {
		record(t, "bad input", "dump whose header says pg_dump 99", 1)
		c := f.with(t).create()
		dump := filepath.Join(t.TempDir(), "new.dump")
		pgDump(t, c.DatabaseURL, "c", dump)
		f.with(t).must("copy", "destroy", c.ID)
		b, _ := os.ReadFile(dump)
		// the header's server and pg_dump version strings: 15.x -> 99.x
		b = []byte(strings.Replace(strings.Replace(string(b), "15.", "99.", 1), "15.", "99.", 1))
		os.WriteFile(dump, b, 0o600)
		r := f.with(t).fails("99", "reseed", "--dump", dump)
		if !strings.Contains(r.stderr, "/usr/lib/postgresql") {
			t.Fatalf("the error should say where ditto looked for binaries: %s", r.stderr)
		}
		check(t)
	})

	t.Run("two reseeds at once", func(t *testing.T) {
		record(t, "bad input", "a second reseed while one runs", 1)
		first := exec.Command(dittoBin, "--home", f.home, "reseed", "--dump", sampleSQL(t))
		stderr, _ := first.StderrPipe()
		if err := first.Start(); err != nil {
			t.Fatal(err)
		}
		// it logs "reseeding" once it holds the reseed lock (a fixed pause
		// was too short in the emulated ZFS VM)
		sc := bufio.NewScanner(stderr)
		var log strings.Builder
		for sc.Scan() && !strings.Contains(sc.Text(), "reseeding") {
			log.WriteString(sc.Text() + "\n")
		}
		done := make(chan struct{})
		go func() {
			defer close(done)
			for sc.Scan() {
				log.WriteString(sc.Text() + "\n")
			}
		}()
		r := f.with(t).run("reseed", "--dump", sampleSQL(t))
		<-done // the first has exited: its stderr ended
		if err := first.Wait(); err != nil {
			t.Fatalf("the first reseed failed: %v\n%s", err, log.String())
		}
		if r.code == 0 || !strings.Contains(r.stderr, "another reseed is running") {
			t.Fatalf("the second reseed: %s", r)
		}
		f.with(t).assertOneGolden(t)
		before = f.goldenJSON()
	})

	t.Run("two destroys at once", func(t *testing.T) {
		record(t, "bad input", "two `copy destroy` of the same copy at once: each succeeds or finds it gone, never busy", 3)
		f := f.with(t)
		for i := 0; i < 3; i++ {
			id := f.create().ID
			var wg sync.WaitGroup
			results := make([]result, 2)
			for j := range results {
				wg.Add(1)
				go func() {
					defer wg.Done()
					results[j] = f.run("copy", "destroy", id)
				}()
			}
			wg.Wait()
			// the second one waits for the first, or starts once the
			// first is done and finds the copy gone
			for _, r := range results {
				if r.code != 0 && !strings.Contains(r.stderr, "no such copy") {
					t.Fatalf("concurrent destroy of %s: %s", id, r)
				}
			}
		}
		if n := len(f.list()); n != 0 {
			t.Fatalf("%d copies left", n)
		}
	})

	t.Run("listen addresses", func(t *testing.T) {
		record(t, "bad input", "--listen with an address not of this machine (copy create, init), an empty entry; a list of two addresses works", 4)
		f := f.with(t)
		// 203.0.113.77 is of TEST-NET-3, kept for documentation: no machine has it
		f.fails("cannot listen on 203.0.113.77: not an address of this machine", "copy", "create", "--listen", "203.0.113.77")
		f.fails("empty", "copy", "create", "--listen", "127.0.0.1,,localhost")
		g := &fixture{t: t, home: shortTempDir(t)}
		g.fails("cannot listen on 203.0.113.77: not an address of this machine", "init", "--path", f.pool, "--listen", "203.0.113.77")
		c := f.create("--listen", "127.0.0.1,localhost")
		mustPsql(t, c.DatabaseURL, "SELECT 1")
		f.must("copy", "destroy", c.ID)
	})

	t.Run("copy server that cannot start", func(t *testing.T) {
		record(t, "bad input", "a setting postgres refuses: the error quotes the server log that the rollback removes", 1)
		f := f.with(t)
		r := f.fails(`invalid value for parameter "shared_buffers"`, "copy", "create", "--set", "shared_buffers=lots")
		if logs := filepath.Join(f.home, "logs"); strings.Contains(r.stderr, logs) {
			t.Fatalf("the error cites a log in %s, which the failed create removed: %s", logs, r.stderr)
		}
		if entries, _ := os.ReadDir(filepath.Join(f.home, "logs")); len(entries) != 0 || len(f.list()) != 0 {
			t.Fatalf("a failed create left %d logs, %d copies", len(entries), len(f.list()))
		}
	})

	t.Run("home not writable", func(t *testing.T) {
		record(t, "bad input", "--home that cannot be written", 1)
		g := &fixture{t: t, home: "/proc/ditto-home"}
		r := g.run("init", "--path", f.pool)
		if r.code == 0 || !strings.Contains(r.stderr, "/proc/ditto-home") {
			t.Fatalf("init with an unwritable home: %s", r)
		}
		check(t)
	})

	t.Run("unknown and missing arguments", func(t *testing.T) {
		record(t, "bad input", "invalid --ttl, --label (no key, a newline, 100 KB, a key twice), --format, port range (malformed, below 1024); unknown copy; copy run without command", 11)
		f := f.with(t)
		f.fails("invalid --ttl", "copy", "create", "--ttl", "-5m")
		f.fails("invalid --label", "copy", "create", "--label", "=x")
		f.fails("invalid --label", "copy", "create", "--label", "note=two\nlines") // would break `copy list`
		f.fails("invalid --label", "copy", "create", "--label", "note="+strings.Repeat("x", 100<<10))
		f.fails("given twice", "copy", "create", "--label", "a=1", "--label", "a=2")
		f.fails("invalid --format", "copy", "list", "--format", "xml")
		f.fails("no such copy", "copy", "destroy", "0badc0de")
		f.fails("no command to run", "copy", "run", "--")
		g := &fixture{t: t, home: shortTempDir(t)}
		g.fails("invalid port range", "init", "--path", f.pool, "--port-range", "6000")
		g.fails("privileged", "init", "--path", f.pool, "--port-range", "80-90")
		g.fails("not Btrfs", "init", "--path", t.TempDir())
		if n := len(f.list()); n != 0 {
			t.Fatalf("%d copies after bad input", n)
		}
		check(t)
	})
}

// goldenJSON is the current golden as status reports it.
func (f *fixture) goldenJSON() string {
	var s struct{ Golden json.RawMessage }
	json.Unmarshal([]byte(f.must("status", "--format", "json")), &s)
	return string(s.Golden)
}
