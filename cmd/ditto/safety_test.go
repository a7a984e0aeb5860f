package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestCopyRunSafety: what `copy run` hands its command, and how long its
// copy lives.
func TestCopyRunSafety(t *testing.T) {
	f := goldenFixture(t)
	record(t, "security", "copy run under sudo: command runs as the invoking user, without ditto's secrets; a reset keeps the owner; a TTL waits for the run", 4)

	t.Run("runs as the invoking user without ditto's secrets", func(t *testing.T) {
		script := `id -u; id -g; env | grep '^DITTO_' | cut -d= -f1 | sort | tr '\n' ' '; echo;
			psql -X -At -c 'select count(*) from customer';
			if cat "$H"/copies/*.json >/dev/null 2>&1; then echo records-readable; fi`
		r := f.run("SUDO_UID=65534", "SUDO_GID=65534", "SUDO_USER=nobody", "H="+f.home,
			"DITTO_MASK_KEY=mask-key-secret", "DITTO_SOURCE_URL=postgres://u:source-pw@db/x",
			"copy", "run", "--", "sh", "-c", script)
		if r.code != 0 {
			t.Fatalf("copy run as nobody: %s", r)
		}
		lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
		if len(lines) != 4 || lines[0] != "65534" || lines[1] != "65534" || lines[3] != "10000" {
			t.Fatalf("command output %q: want uid and gid 65534 (nobody) and a working DATABASE_URL", lines)
		}
		for _, leaked := range []string{"DITTO_MASK_KEY", "DITTO_SOURCE_URL", "records-readable"} {
			if strings.Contains(r.stdout, leaked) {
				t.Fatalf("the command saw %s: %s", leaked, r.stdout)
			}
		}
		if !strings.Contains(lines[2], "DITTO_COPY_ID") {
			t.Fatalf("the command lacks DITTO_COPY_ID: %q", lines[2])
		}
	})

	t.Run("a TTL does not end a running copy run", func(t *testing.T) {
		cmd := exec.Command(dittoBin, "--home", f.home, "copy", "run", "--ttl", "1s", "--",
			"sh", "-c", `sleep 3; psql -X -At -c 'select 1'`)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(2 * time.Second)
		f.must("gc") // the TTL has passed; the run's copy must survive it
		if err := cmd.Wait(); err != nil {
			t.Fatalf("copy run whose TTL passed while its command ran: %v", err)
		}
	})

	t.Run("a copy destroyed under the command is not a success", func(t *testing.T) {
		r := f.run("DITTO="+dittoBin, "DITTO_HOME="+f.home, "copy", "run", "--", "sh", "-c", `"$DITTO" copy destroy "$DITTO_COPY_ID"`)
		if r.code != 125 || !strings.Contains(r.stderr, "destroyed while the command ran") {
			t.Fatalf("copy run whose copy vanished: want exit 125 and why: %s", r)
		}
	})

	t.Run("a failed reset keeps the owner", func(t *testing.T) {
		c := f.create("--ttl", "30m")
		if r := f.run("DITTO_CRASH_AT=reset:volume-gone", "copy", "reset", c.ID); r.code != -1 {
			t.Fatalf("reset was not killed at reset:volume-gone: %s", r)
		}
		if s := f.list()[0].State; s != "down" {
			t.Fatalf("a copy whose reset died is listed %q, want down", s)
		}
		f.must("copy", "reset", c.ID)
		f.must("gc")
		cs := f.list()
		if len(cs) != 1 || cs[0].ID != c.ID || cs[0].State != "running" {
			t.Fatalf("after a failed then a successful reset and gc: %+v, want copy %s running", cs, c.ID)
		}
		mustPsql(t, c.DatabaseURL, "select 1")
		f.must("copy", "destroy", c.ID)
	})
}

// TestHomeIsNeverTakenOver: init refuses folders that are not its own, and
// gc deletes only files ditto names. System folders are refused in the
// root package's TestInitRefusesSystemFolders: a regression here would
// change the modes of /, /run and /tmp of the machine running the test.
func TestHomeIsNeverTakenOver(t *testing.T) {
	requireRoot(t)
	record(t, "bad input", "init on a file, on a folder of someone else's; gc beside a user's files in the home", 3)
	foreign := t.TempDir()
	for _, p := range []string{"tmp/f", "run/app.pid", "logs/app.log"} {
		writeTestFile(t, filepath.Join(foreign, p))
	}
	before, _ := os.Stat(foreign)
	afile := filepath.Join(t.TempDir(), "file")
	writeTestFile(t, afile)
	for _, c := range []struct{ home, want string }{
		{afile, "is a file"},
		{foreign, "is not a ditto home"},
	} {
		cmd := exec.Command(dittoBin, "--home", c.home, "init", "--path", t.TempDir())
		out, err := cmd.CombinedOutput()
		if err == nil || !strings.Contains(string(out), c.want) {
			t.Fatalf("init --home %s: %v %s; want a refusal saying %q", c.home, err, out, c.want)
		}
	}
	if after, _ := os.Stat(foreign); after.Mode() != before.Mode() {
		t.Fatalf("a refused init changed %s's mode from %v to %v", foreign, before.Mode(), after.Mode())
	}

	f := newFixture(t)
	mine := []string{"tmp/f", "run/app.pid", "logs/app.log", "copies/notes.txt", "logs/0badcafe.txt"}
	for _, p := range mine {
		writeTestFile(t, filepath.Join(f.home, p))
	}
	f.must("gc")
	for _, p := range mine {
		if _, err := os.Stat(filepath.Join(f.home, p)); err != nil {
			t.Fatalf("gc deleted %s, a file ditto did not make: %v", p, err)
		}
	}
	f.must("init", "--path", f.pool) // its own home: init again is fine
}

func writeTestFile(t *testing.T, path string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte("a user's file\n"), 0o644); err != nil {
		t.Fatal(err)
	}
}
