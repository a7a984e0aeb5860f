package main

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestErrorsTellWhatToDo covers every error of the backbone issue: each is a
// non-zero exit with one message that names the fix, and changes nothing.
func TestErrorsTellWhatToDo(t *testing.T) {
	requireRoot(t)
	t.Run("no pool", func(t *testing.T) {
		f := &fixture{t: t, home: shortTempDir(t)}
		f.fails("run `ditto init`", "copy", "create")
		f.fails("run `ditto init`", "status")
	})

	t.Run("not root", func(t *testing.T) {
		f := newFixture(t)
		cmd := exec.Command("setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups",
			dittoBin, "--home", f.home, "copy", "create")
		out, err := cmd.CombinedOutput()
		if err == nil || !strings.Contains(string(out), "run ditto as root") {
			t.Fatalf("as nobody: %v: %s", err, out)
		}
	})

	f := newFixture(t)
	t.Run("no golden", func(t *testing.T) {
		f.fails("run `ditto reseed", "copy", "create")
		f.fails("run `ditto reseed", "copy", "run", "--", "true")
	})

	t.Run("bad dumps change nothing", func(t *testing.T) {
		record(t, "bad input", "empty file, random bytes named .dump, a directory that is not a dump, a missing file", 4)
		dir := t.TempDir()
		empty := filepath.Join(dir, "empty.dump")
		os.WriteFile(empty, nil, 0o600)
		random := filepath.Join(dir, "random.dump")
		b := make([]byte, 4096)
		for i := range b {
			b[i] = byte(i*7919 + 13)
		}
		os.WriteFile(random, b, 0o600)
		notDump := filepath.Join(dir, "notadump")
		os.Mkdir(notDump, 0o700)
		for _, p := range []string{empty, random, notDump, filepath.Join(dir, "missing.dump")} {
			r := f.run("reseed", "--dump", p)
			if r.code == 0 || !strings.Contains(r.stderr, filepath.Base(p)) {
				t.Fatalf("reseed --dump %s: want an error naming the file: %s", p, r)
			}
		}
		f.fails("run `ditto reseed", "copy", "create")
	})

	t.Run("binaries missing", func(t *testing.T) {
		f.fails("/nonexistent/pg", "reseed", "--pg-bin", "/nonexistent/pg", "--dump", sampleSQL(t))
	})

	t.Run("unreachable source", func(t *testing.T) {
		record(t, "bad input", "source URL on a closed port (answered within 10 s, password not shown)", 1)
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := l.Addr().String()
		l.Close() // nothing listens there now
		r := f.fails(addr, "reseed", "--source-url", "postgres://u:secretpw@"+addr+"/db")
		if strings.Contains(r.stderr, "secretpw") {
			t.Fatalf("the source password leaked into the error: %s", r.stderr)
		}
	})

	f.must("reseed", "--dump", sampleSQL(t))
	golden := func() string {
		var s struct{ Golden json.RawMessage }
		json.Unmarshal([]byte(f.must("status", "--format", "json")), &s)
		return string(s.Golden)
	}
	gen := golden()

	t.Run("failed reseed keeps the old golden", func(t *testing.T) {
		record(t, "bad input", "truncated custom dump: reseed fails, the old golden stays current", 1)
		c := f.create()
		dump := filepath.Join(t.TempDir(), "db.dump")
		pgDump(t, c.DatabaseURL, "c", dump)
		f.must("copy", "destroy", c.ID)
		b, _ := os.ReadFile(dump)
		os.WriteFile(dump, b[:len(b)*2/3], 0o600) // truncated: header fine, data cut
		f.fails("dump", "reseed", "--dump", dump)
		if got := golden(); got != gen {
			t.Fatalf("status changed after a failed reseed:\nbefore %s\nafter  %s", gen, got)
		}
		if entries, _ := os.ReadDir(filepath.Join(f.pool, "building")); len(entries) != 0 && os.Getenv("DITTO_TEST_ZFS_POOL") == "" {
			t.Fatalf("a half-built golden is left: %v", entries)
		}
		c = f.create()
		mustPsql(t, c.DatabaseURL, "SELECT count(*) FROM orders")
		f.must("copy", "destroy", c.ID)
	})

	t.Run("bad flags", func(t *testing.T) {
		f.fails("invalid --ttl", "copy", "create", "--ttl", "soon")
		f.fails("invalid --label", "copy", "create", "--label", "nokey")
		f.fails("no such copy", "copy", "destroy", "deadbeef")
		f.fails("no such copy", "copy", "reset", "deadbeef")
		g := &fixture{t: t, home: shortTempDir(t)}
		g.fails("invalid port range", "init", "--path", f.pool, "--port-range", "7000-6000")
	})

	t.Run("pool below the free-space floor", func(t *testing.T) {
		g := f.with(t)
		var s struct{ Usage struct{ Size int64 } }
		json.Unmarshal([]byte(g.must("status", "--format", "json")), &s)
		// a floor just below the pool's size: init takes it, the golden is above it
		g.must("init", "--min-free", fmt.Sprint(s.Usage.Size-1))
		defer g.must("init", "--min-free", "100M")
		r := g.fails("below the floor", "copy", "create")
		if !strings.Contains(r.stderr, "`ditto init --min-free ") {
			t.Fatalf("the error should say how to lower the floor: %s", r.stderr)
		}
	})

	t.Run("no free port", func(t *testing.T) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		busy := l.Addr().(*net.TCPAddr).Port
		g := goldenFixture(t, "--port-range", portRange(busy, busy+1))
		g.create() // takes busy+1: busy is in use by the listener
		g.fails("no free port", "copy", "create")
	})
}

func portRange(lo, hi int) string { return fmt.Sprintf("%d-%d", lo, hi) }
