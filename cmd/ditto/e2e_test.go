package main

import (
	"bufio"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/dittodb/ditto/internal/testpg"
)

// goldenFixture is a pool with a golden reseeded from the sample database.
func goldenFixture(t *testing.T, initArgs ...string) *fixture {
	f := newFixture(t, initArgs...)
	f.must("reseed", "--dump", sampleSQL(t))
	return f
}

func TestReseedEveryDumpFormat(t *testing.T) {
	f := goldenFixture(t)
	src := f.create()
	mustPsql(t, src.DatabaseURL, "CREATE ROLE app_owner NOLOGIN; ALTER TABLE customer OWNER TO app_owner; INSERT INTO orders VALUES (900001, 1, 1.00, now())")
	dir := t.TempDir()
	dumps := map[string]string{
		"custom":     filepath.Join(dir, "db.dump"),
		"directory":  filepath.Join(testpg.Dir(t), "db.dir"),
		"tar":        filepath.Join(dir, "db.tar"),
		"plain":      filepath.Join(dir, "db.sql"),
		"plain-gzip": filepath.Join(dir, "db.sql.gz"),
	}
	for format, path := range dumps {
		if format == "plain-gzip" {
			continue
		}
		pgDump(t, src.DatabaseURL, format[:1], path)
	}
	gzipFile(t, dumps["plain"], dumps["plain-gzip"])
	f.must("copy", "destroy", src.ID)

	for _, format := range []string{"custom", "directory", "tar", "plain", "plain-gzip"} {
		t.Run(format, func(t *testing.T) {
			gen := f.must("reseed", "--dump", dumps[format], "--database", "app")
			c := f.create()
			if c.Golden != gen {
				t.Fatalf("copy golden %s, want the new generation %s", c.Golden, gen)
			}
			if got := mustPsql(t, c.DatabaseURL, "SELECT count(*) FROM orders"); got != "50001" {
				t.Fatalf("orders in a copy of the %s dump: %s, want 50001", format, got)
			}
			if got := mustPsql(t, c.DatabaseURL, "SELECT tableowner FROM pg_tables WHERE tablename = 'customer'"); got != "app_owner" {
				t.Fatalf("owner of customer after a %s restore: %s, want app_owner", format, got)
			}
			// vacuumed and analyzed in the golden, so no copy's autovacuum
			// rewrites the tables (each page it touches becomes the copy's own)
			if got := mustPsql(t, c.DatabaseURL, "SELECT count(*) FROM pg_stat_user_tables WHERE n_ins_since_vacuum > 0 OR n_mod_since_analyze > 0 OR last_vacuum IS NULL"); got != "0" {
				t.Fatalf("a copy of the %s golden has %s tables its autovacuum would vacuum or analyze", format, got)
			}
			f.must("copy", "destroy", c.ID)
		})
	}
	// every earlier generation is unused now: gc keeps only the current one
	f.must("gc")
	var s struct{ Generations int }
	json.Unmarshal([]byte(f.must("status", "--format", "json")), &s)
	if s.Generations != 1 {
		t.Fatalf("after gc %d golden generations remain, want 1", s.Generations)
	}
}

func gzipFile(t *testing.T, src, dst string) {
	in, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		t.Fatal(err)
	}
	zw := gzip.NewWriter(out)
	if _, err := io.Copy(zw, in); err != nil {
		t.Fatal(err)
	}
	zw.Close()
	out.Close()
}

func TestCopies(t *testing.T) {
	f := goldenFixture(t)

	t.Run("isolation", func(t *testing.T) {
		a, b := f.create(), f.create()
		if a.Port == b.Port {
			t.Fatalf("two copies share port %d", a.Port)
		}
		mustPsql(t, a.DatabaseURL, "DELETE FROM orders; CREATE TABLE only_in_a (x int)")
		if got := mustPsql(t, b.DatabaseURL, "SELECT count(*) FROM orders"); got != "50000" {
			t.Fatalf("copy b sees %s orders after copy a deleted them, want 50000", got)
		}
		c := f.create()
		if got := mustPsql(t, c.DatabaseURL, "SELECT count(*) FROM orders"); got != "50000" {
			t.Fatalf("a fresh copy sees %s orders, want 50000 (the golden changed?)", got)
		}
		if _, err := psql(t, c.DatabaseURL, "SELECT * FROM only_in_a"); err == nil {
			t.Fatal("a table created in copy a is visible in a fresh copy")
		}
		f.must("copy", "destroy", a.ID, b.ID, c.ID)
		if n := len(f.list()); n != 0 {
			t.Fatalf("%d copies left after destroy", n)
		}
	})

	t.Run("create formats", func(t *testing.T) {
		url := f.must("copy", "create", "--label", "job=42")
		if !strings.HasPrefix(url, "postgres://ditto:") || strings.Contains(url, "\n") {
			t.Fatalf("copy create printed %q, want only a URL", url)
		}
		mustPsql(t, url, "SELECT 1")
		env := f.must("copy", "create", "--format", "env", "--ttl", "0")
		for _, want := range []string{"export DATABASE_URL='postgres://", "export DITTO_COPY_ID='", "export PGPORT='"} {
			if !strings.Contains(env, want) {
				t.Fatalf("--format env lacks %q:\n%s", want, env)
			}
		}
		var labelled int
		for _, c := range f.list() {
			if c.Labels["job"] == "42" {
				labelled++
			}
			if c.State != "running" {
				t.Fatalf("copy %s state %q, want running", c.ID, c.State)
			}
		}
		if labelled != 1 {
			t.Fatalf("%d copies carry label job=42, want 1", labelled)
		}
		for _, c := range f.list() {
			f.must("copy", "destroy", c.ID)
		}
	})

	t.Run("run env and exit codes", func(t *testing.T) {
		script := `test -n "$DATABASE_URL" && test -n "$DITTO_COPY_ID" && test -n "$MY_DB" &&
			test "$(psql -X -At -c 'select count(*) from customer')" = 10000 &&
			test "$(psql -X -At -d "$MY_DB" -c 'select 1')" = 1 && exit "$CODE"`
		for _, code := range []string{"0", "3"} {
			r := f.run("CODE="+code, "copy", "run", "--env-name", "MY_DB", "--", "bash", "-c", script)
			if fmt.Sprint(r.code) != code {
				t.Fatalf("copy run exit %d, want %s: %s", r.code, code, r)
			}
		}
		r := f.run("copy", "run", "--", "bash", "-c", "kill -TERM $$")
		if r.code != 128+int(syscall.SIGTERM) {
			t.Fatalf("command killed by SIGTERM: copy run exit %d, want %d", r.code, 128+int(syscall.SIGTERM))
		}
		r = f.run("copy", "run", "--", "no-such-command-xyz")
		if r.code != 127 {
			t.Fatalf("missing command: exit %d, want 127: %s", r.code, r)
		}
		f.fails("no command to run", "copy", "run")
		if n := len(f.list()); n != 0 {
			t.Fatalf("%d copies left after copy run, want 0", n)
		}
	})

	t.Run("run forwards SIGTERM", func(t *testing.T) {
		cmd := exec.Command(dittoBin, "--home", f.home, "copy", "run", "--", "bash", "-c",
			`trap 'echo got-term; exit 7' TERM; echo started; while :; do sleep 0.05; done`)
		out, _ := cmd.StdoutPipe()
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		line, _ := bufio.NewReader(out).ReadString('\n')
		if line != "started\n" {
			t.Fatalf("command printed %q", line)
		}
		cmd.Process.Signal(syscall.SIGTERM)
		rest, _ := io.ReadAll(out)
		err := cmd.Wait()
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 7 || !strings.Contains(string(rest), "got-term") {
			t.Fatalf("after SIGTERM: %v, output %q; want exit 7 and got-term", err, rest)
		}
		if n := len(f.list()); n != 0 {
			t.Fatalf("%d copies left after an interrupted copy run", n)
		}
	})

	t.Run("keep on failure", func(t *testing.T) {
		r := f.run("copy", "run", "--keep-on-failure", "--", "false")
		if r.code != 1 || !strings.Contains(r.stderr, "ditto copy destroy") {
			t.Fatalf("keep-on-failure: %s", r)
		}
		cs := f.list()
		if len(cs) != 1 {
			t.Fatalf("%d copies kept, want 1", len(cs))
		}
		f.must("gc") // its owner is gone, but it was kept on purpose
		if len(f.list()) != 1 {
			t.Fatal("gc removed a copy kept with --keep-on-failure")
		}
		f.must("copy", "destroy", cs[0].ID)
	})

	t.Run("env export", func(t *testing.T) {
		script := fmt.Sprintf(`set -e
			eval "$(%[1]s --home %[2]s env export --ttl 1h)"
			psql -X -At -c 'select count(*) from orders'
			eval "$(%[1]s --home %[2]s env destroy)"
			test -z "${DITTO_COPY_ID:-}" && echo unset`, dittoBin, f.home)
		out, err := exec.Command("bash", "-c", script).CombinedOutput()
		if err != nil || string(out) != "50000\nunset\n" {
			t.Fatalf("env export / destroy: %v: %q", err, out)
		}
		if n := len(f.list()); n != 0 {
			t.Fatalf("%d copies left after env destroy", n)
		}
		r := f.run("DITTO_COPY_ID=", "env", "destroy")
		if r.code == 0 || !strings.Contains(r.stderr, "DITTO_COPY_ID is not set") {
			t.Fatalf("env destroy without a copy: %s", r)
		}
	})

	t.Run("reset", func(t *testing.T) {
		c := f.create()
		mustPsql(t, c.DatabaseURL, "DELETE FROM orders")
		out := f.must("copy", "reset", c.ID)
		if out != c.DatabaseURL {
			t.Fatalf("reset printed %q, want the same URL %q", out, c.DatabaseURL)
		}
		if got := mustPsql(t, c.DatabaseURL, "SELECT count(*) FROM orders"); got != "50000" {
			t.Fatalf("after reset %s orders, want 50000", got)
		}
		f.must("copy", "destroy", c.ID)
	})

	t.Run("ttl expiry by gc", func(t *testing.T) {
		c := f.create("--ttl", "1s")
		time.Sleep(1500 * time.Millisecond)
		f.must("gc")
		if n := len(f.list()); n != 0 {
			t.Fatalf("expired copy %s survived gc", c.ID)
		}
		if _, err := psql(t, c.DatabaseURL, "SELECT 1"); err == nil {
			t.Fatal("expired copy still answers after gc")
		}
	})

	t.Run("kill -9 of copy run, then gc", func(t *testing.T) {
		cmd := exec.Command(dittoBin, "--home", f.home, "copy", "run", "--", "sleep", "60")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		var c copyInfo
		for deadline := time.Now().Add(30 * time.Second); ; {
			if cs := f.list(); len(cs) == 1 && cs[0].State == "running" {
				c = cs[0]
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("copy run did not create a copy within 30s")
			}
			time.Sleep(20 * time.Millisecond)
		}
		cmd.Process.Kill()
		cmd.Wait()
		f.must("gc")
		f.assertClean(t)
		if _, err := psql(t, c.DatabaseURL, "SELECT 1"); err == nil {
			t.Fatal("the copy of a killed copy run still answers after gc")
		}
	})

	t.Run("8 parallel copy runs", func(t *testing.T) {
		var wg sync.WaitGroup
		results := make([]result, 8)
		for i := range results {
			wg.Add(1)
			go func() {
				defer wg.Done()
				script := fmt.Sprintf(`psql -X -q -v ON_ERROR_STOP=1 -c "CREATE TABLE marker (job int); INSERT INTO marker VALUES (%d)" &&
					test "$(psql -X -At -c 'select count(*), min(job) from marker')" = "1|%d" && echo "$PGPORT"`, i, i)
				results[i] = f.run("copy", "run", "--", "bash", "-c", script)
			}()
		}
		wg.Wait()
		ports := map[string]bool{}
		for i, r := range results {
			if r.code != 0 {
				t.Fatalf("parallel copy run %d: %s", i, r)
			}
			ports[strings.TrimSpace(r.stdout)] = true
		}
		if len(ports) != 8 {
			t.Fatalf("8 parallel copies used %d distinct ports", len(ports))
		}
		f.assertClean(t)
	})

	t.Run("copy logs show clean starts", func(t *testing.T) {
		c := f.create()
		log := filepath.Join(f.home, "logs", c.ID+".log")
		b, err := os.ReadFile(log)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(b), "not properly shut down") || strings.Contains(string(b), "redo starts") {
			t.Fatalf("copy %s ran crash recovery:\n%s", c.ID, b)
		}
		if !strings.Contains(string(b), "database system is ready to accept connections") {
			t.Fatalf("copy log %s does not show a started server:\n%s", log, b)
		}
		f.must("copy", "destroy", c.ID)
	})
}

// assertClean checks that no copy, postgres process, copy volume, socket
// folder or log is left.
func (f *fixture) assertClean(t *testing.T) {
	t.Helper()
	if cs := f.list(); len(cs) != 0 {
		t.Fatalf("%d copy records left: %+v", len(cs), cs)
	}
	for _, dir := range []string{"run", "logs", "copies"} {
		entries, _ := os.ReadDir(filepath.Join(f.home, dir))
		if len(entries) != 0 {
			t.Fatalf("%s/%s still holds %d entries", f.home, dir, len(entries))
		}
	}
	for _, pid := range postgresUnder(f.home, f.pool) {
		t.Fatalf("postgres %d still runs on the pool", pid)
	}
	var s struct{ Copies, Running int }
	json.Unmarshal([]byte(f.must("status", "--format", "json")), &s)
	if s.Copies != 0 || s.Running != 0 {
		t.Fatalf("status reports %d copies, %d running", s.Copies, s.Running)
	}
	if vols := f.copyVolumes(); len(vols) != 0 {
		t.Fatalf("copy volumes left in the pool: %v", vols)
	}
}

// copyVolumes lists the copy volumes the backend still has.
func (f *fixture) copyVolumes() []string {
	if os.Getenv("DITTO_TEST_ZFS_POOL") != "" {
		out, _ := exec.Command("zfs", "list", "-H", "-o", "name,ditto:role", "-r", f.pool).Output()
		var vols []string
		for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
			if fields := strings.Fields(line); len(fields) == 2 && fields[1] == "copy" {
				vols = append(vols, fields[0])
			}
		}
		return vols
	}
	entries, _ := os.ReadDir(filepath.Join(f.pool, "copies"))
	var vols []string
	for _, e := range entries {
		vols = append(vols, e.Name())
	}
	return vols
}
