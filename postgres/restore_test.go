package postgres_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/jackc/pgx/v5"

	"github.com/dittodb/ditto/internal/testpg"
	"github.com/dittodb/ditto/postgres"
)

var formats = []postgres.Format{postgres.FormatCustom, postgres.FormatDirectory, postgres.FormatTar, postgres.FormatPlain, postgres.FormatPlainGzip}

// restoreInto restores dump into a fresh server under the database name the
// dump wants (or "restored"), logging to logs.
func restoreInto(t *testing.T, dump string, logs *bytes.Buffer) (*testpg.Source, string, error) {
	t.Helper()
	info, err := postgres.InspectDump(dump)
	if err != nil {
		t.Fatal(err)
	}
	dst := testpg.Start(t)
	db := "restored"
	if !info.Format.IsArchive() && info.Database != "" {
		db = info.Database
	}
	err = postgres.Restore(context.Background(), postgres.RestoreOptions{
		Bin: dst.Bin, User: dst.User, Dump: info, SocketDir: dst.Server.SocketDir, Port: dst.Server.Port,
		Superuser: testpg.Superuser, Database: db, Jobs: 2,
		Log: hclog.New(&hclog.LoggerOptions{Output: logs, Level: hclog.Info}),
	})
	return dst, db, err
}

func TestInspectRealDumps(t *testing.T) {
	src := testpg.Start(t)
	for _, f := range formats {
		info, err := postgres.InspectDump(testpg.MakeDump(t, src, f))
		if err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		wantDB := testpg.SampleDB
		if f == postgres.FormatPlainGzip {
			wantDB = "" // dumped without --create
		}
		if info.Format != f || info.Database != wantDB || info.DumperVersion != src.Bin.Version ||
			info.DumperMajor != src.Bin.Major || info.ServerMajor != src.Bin.Major || info.ServerVersion != src.Bin.Version {
			t.Errorf("%s: got %+v", f, info)
		}
	}
}

func TestRestoreRoundTrip(t *testing.T) {
	src := testpg.Start(t)
	src.LoadSample(t)
	srcConn := src.Conn(t, testpg.SampleDB)
	for _, f := range formats {
		t.Run(string(f), func(t *testing.T) {
			var logs bytes.Buffer
			dst, db, err := restoreInto(t, testpg.MakeDump(t, src, f), &logs)
			if err != nil {
				t.Fatalf("%v\nlog:\n%s", err, logs.String())
			}
			conn := dst.Conn(t, db)
			for _, table := range testpg.SampleTables {
				if got, want := testpg.Count(t, conn, table), testpg.Count(t, srcConn, table); got != want {
					t.Errorf("%s: %d rows, want %d", table, got, want)
				}
				if owner := testpg.Owner(t, conn, table); owner != testpg.SampleOwner {
					t.Errorf("%s: owner %q, want %q", table, owner, testpg.SampleOwner)
				}
			}
			var canRead bool
			if err := conn.QueryRow(context.Background(), `SELECT has_table_privilege($1, 'orders', 'SELECT')`, testpg.SampleReader).Scan(&canRead); err != nil || !canRead {
				t.Errorf("grant to %q lost: %v, %v", testpg.SampleReader, canRead, err)
			}
			var login bool
			if err := conn.QueryRow(context.Background(), `SELECT rolcanlogin FROM pg_roles WHERE rolname = $1`, testpg.SampleOwner).Scan(&login); err != nil || login {
				t.Errorf("role %s: canlogin=%v, %v; want a NOLOGIN role", testpg.SampleOwner, login, err)
			}
			if !strings.Contains(logs.String(), "restore done") || !strings.Contains(logs.String(), "orders") {
				t.Errorf("progress log lacks the tables or the end:\n%s", logs.String())
			}
		})
	}
}

// A cut dump must fail with an error that says so, whether the cut is in
// the table of contents, in the data, or in plain SQL.
func TestRestoreTruncatedDumps(t *testing.T) {
	src := testpg.Start(t)
	cases := []struct {
		format postgres.Format
		keep   func(n int) int
	}{
		{postgres.FormatCustom, func(n int) int { return n / 3 }},
		{postgres.FormatCustom, func(n int) int { return n - 60 }},
		{postgres.FormatPlain, func(n int) int { return n * 2 / 3 }},
		{postgres.FormatPlain, func(n int) int { return n - 60 }},
		{postgres.FormatPlainGzip, func(n int) int { return n - 60 }},
	}
	for _, c := range cases {
		b, err := os.ReadFile(testpg.MakeDump(t, src, c.format))
		if err != nil {
			t.Fatal(err)
		}
		size := c.keep(len(b))
		cut := filepath.Join(t.TempDir(), "cut.dump")
		if err := os.WriteFile(cut, b[:size], 0o600); err != nil {
			t.Fatal(err)
		}
		var logs bytes.Buffer
		_, _, err = restoreInto(t, cut, &logs)
		t.Logf("%s cut at %d of %d bytes: %v", c.format, size, len(b), err)
		if err == nil || !strings.Contains(err.Error(), "truncated or corrupt") || !strings.Contains(err.Error(), "make it again with pg_dump") || !strings.Contains(err.Error(), cut) {
			t.Errorf("restoring a %s dump cut at %d of %d bytes: %v", c.format, size, len(b), err)
		}
	}
}

// A dump from a newer pg_dump than any installed must be refused with the
// major it needs, both by PickBin and by Restore.
func TestDumpFromNewerPgDump(t *testing.T) {
	src := testpg.Start(t)
	dump := testpg.MakeDump(t, src, postgres.FormatCustom)
	b, err := os.ReadFile(dump)
	if err != nil {
		t.Fatal(err)
	}
	// The header holds the server's version, then pg_dump's: "15.18 (Debian ...)".
	i := bytes.LastIndex(b[:200], []byte(src.Bin.Version+" ("))
	if i < 0 {
		t.Fatalf("no pg_dump version in the header: %q", b[:200])
	}
	copy(b[i:], "99")
	newer := filepath.Join(t.TempDir(), "newer.dump")
	if err := os.WriteFile(newer, b, 0o600); err != nil {
		t.Fatal(err)
	}
	info, err := postgres.InspectDump(newer)
	if err != nil || info.DumperMajor != 99 || info.ServerMajor != src.Bin.Major {
		t.Fatalf("InspectDump = %+v, %v", info, err)
	}
	bins, err := postgres.FindBins("")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := postgres.PickBin(bins, info.DumperMajor); err == nil || !strings.Contains(err.Error(), "need PostgreSQL 99 or newer") {
		t.Errorf("PickBin: %v", err)
	}
	var logs bytes.Buffer
	if _, _, err := restoreInto(t, newer, &logs); err == nil || !strings.Contains(err.Error(), "needs PostgreSQL 99 or newer") {
		t.Errorf("Restore: %v", err)
	}
}

// Restored rows are loaded frozen and all-visible (COPY FREEZE), so that
// the golden's VACUUM (FREEZE) does not rewrite every page; tables COPY
// FREEZE refuses (a partitioned root, loaded through with
// --load-via-partition-root) still get all their rows.
func TestRestoreLoadsRowsFrozen(t *testing.T) {
	src := testpg.Start(t)
	ctx := context.Background()
	if _, err := src.Conn(t, "postgres").Exec(ctx, "CREATE DATABASE frozen"); err != nil {
		t.Fatal(err)
	}
	conn := src.Conn(t, "frozen")
	for _, q := range []string{
		`CREATE TABLE items (id int PRIMARY KEY, v text)`,
		`INSERT INTO items SELECT i, repeat('x', 100) FROM generate_series(1, 5000) i`,
		`CREATE TABLE "Mixed Case" (id int)`,
		`INSERT INTO "Mixed Case" SELECT generate_series(1, 3000)`,
		`CREATE TABLE parted (id int, v text) PARTITION BY RANGE (id)`,
		`CREATE TABLE parted_a PARTITION OF parted FOR VALUES FROM (1) TO (1001)`,
		`CREATE TABLE parted_b PARTITION OF parted FOR VALUES FROM (1001) TO (2001)`,
		`INSERT INTO parted SELECT i, 'p' FROM generate_series(1, 2000) i`,
	} {
		if _, err := conn.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	counts := map[string]int64{"items": 5000, "Mixed Case": 3000, "parted": 2000, "parted_a": 1000, "parted_b": 1000}
	for _, c := range []struct {
		name    string
		args    []string
		viaRoot bool
	}{
		{"custom", []string{"-Fc"}, false},
		{"custom-via-root", []string{"-Fc", "--load-via-partition-root"}, true},
		{"directory", []string{"-Fd"}, false},
		{"plain-via-root", []string{"-Fp", "--load-via-partition-root"}, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			dump := src.Dump(t, "frozen", "frozen.dump", c.args...)
			var logs bytes.Buffer
			dst, db, err := restoreInto(t, dump, &logs)
			if err != nil {
				t.Fatalf("%v\nlog:\n%s", err, logs.String())
			}
			conn := dst.Conn(t, db)
			for table, want := range counts {
				if got := testpg.Count(t, conn, table); got != want {
					t.Errorf("%s: %d rows, want %d", table, got, want)
				}
			}
			frozen := []string{"items", "Mixed Case"}
			if !c.viaRoot {
				frozen = append(frozen, "parted_a", "parted_b")
			}
			for _, table := range frozen {
				// ANALYZE counts the all-visible pages of the visibility
				// map; only a frozen load sets them before any VACUUM.
				var pages, visible int32
				if _, err := conn.Exec(ctx, "ANALYZE "+pgx.Identifier{table}.Sanitize()); err != nil {
					t.Fatal(err)
				}
				if err := conn.QueryRow(ctx, "SELECT relpages, relallvisible FROM pg_class WHERE relname = $1", table).Scan(&pages, &visible); err != nil {
					t.Fatal(err)
				}
				if pages == 0 || visible != pages {
					t.Errorf("%s: %d of %d pages all-visible after the restore; want all (loaded with COPY FREEZE)", table, visible, pages)
				}
			}
		})
	}
}

// Every psql and pg_restore a restore starts runs as the server's OS user,
// with the dump root's own in a folder only root may enter. An index on a
// slow function keeps each tool running long enough to be seen.
func TestRestoreToolsRunAsPostgres(t *testing.T) {
	src := testpg.Start(t)
	ctx := context.Background()
	if _, err := src.Conn(t, "postgres").Exec(ctx, "CREATE DATABASE slow"); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		`CREATE FUNCTION slow(int) RETURNS int LANGUAGE sql IMMUTABLE AS 'SELECT $1 FROM pg_sleep(0.5)'`,
		`CREATE TABLE t (x int)`,
		`INSERT INTO t VALUES (1)`,
		`CREATE INDEX ON t (slow(x))`,
	} {
		if _, err := src.Conn(t, "slow").Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	for _, format := range []string{"-Fc", "-Fp"} {
		dump := src.Dump(t, "slow", "slow.dump", format)
		stop := watchTools(t)
		var logs bytes.Buffer
		_, _, err := restoreInto(t, dump, &logs)
		seen := stop()
		if err != nil {
			t.Fatalf("%s: %v\nlog:\n%s", format, err, logs.String())
		}
		want := []string{"psql"}
		if format == "-Fc" {
			want = append(want, "pg_restore")
		}
		for _, tool := range want {
			if len(seen[tool]) == 0 {
				t.Errorf("%s: no %s seen while restoring", format, tool)
			}
		}
		for tool, uids := range seen {
			for _, uid := range uids {
				if uid != src.User.UID {
					t.Errorf("%s: %s ran as uid %d, want %d (%s)", format, tool, uid, src.User.UID, src.User.Name)
				}
			}
		}
	}
}

// watchTools notes the real uid of each psql and pg_restore that this test
// process starts (and of their children) until the returned stop is called.
func watchTools(t *testing.T) (stop func() map[string][]int) {
	done := make(chan struct{})
	result := make(chan map[string][]int)
	go func() {
		seen, uids := map[int]bool{os.Getpid(): true}, map[string][]int{}
		for {
			entries, _ := os.ReadDir("/proc")
			for _, e := range entries {
				pid, err := strconv.Atoi(e.Name())
				if err != nil || seen[pid] {
					continue
				}
				status, err := os.ReadFile(filepath.Join("/proc", e.Name(), "status"))
				if err != nil {
					continue
				}
				var name string
				var ppid, uid int
				for _, line := range strings.Split(string(status), "\n") {
					f := strings.Fields(line)
					switch {
					case len(f) < 2:
					case f[0] == "Name:":
						name = f[1]
					case f[0] == "PPid:":
						ppid, _ = strconv.Atoi(f[1])
					case f[0] == "Uid:":
						uid, _ = strconv.Atoi(f[1])
					}
				}
				if seen[ppid] && (name == "psql" || name == "pg_restore") {
					seen[pid] = true
					uids[name] = append(uids[name], uid)
				}
			}
			select {
			case <-done:
				result <- uids
				return
			case <-time.After(time.Millisecond):
			}
		}
	}()
	return func() map[string][]int {
		close(done)
		return <-result
	}
}

// pg_restore reads a directory dump by its path, so the OS user it runs as
// must be able to: if not, the error says how to fix that.
func TestRestoreUnreadableDirectoryDump(t *testing.T) {
	src := testpg.Start(t)
	dump := filepath.Join(t.TempDir(), "shop.dir") // root's, made by root
	args := []string{"-h", src.Server.SocketDir, "-p", strconv.Itoa(src.Server.Port), "-U", testpg.Superuser, "-Fd", "-f", dump, "postgres"}
	if out, err := exec.Command(src.Bin.Path("pg_dump"), args...).CombinedOutput(); err != nil {
		t.Fatalf("pg_dump: %v: %s", err, out)
	}
	var logs bytes.Buffer
	_, _, err := restoreInto(t, dump, &logs)
	if err == nil || !strings.Contains(err.Error(), "OS user postgres, which cannot read "+dump) || !strings.Contains(err.Error(), "pg_dump -Fc") {
		t.Errorf("restoring a directory dump the postgres user cannot read: %v", err)
	}
}

// A plain dump streams through a restore: a 200 MB comment line in its
// schema and a 200 MB field in its rows restore while ditto's heap grows
// by a few MB, not by multiples of the line.
func TestRestorePlainLongLinesInBoundedMemory(t *testing.T) {
	src := testpg.Start(t) // for the binaries' version
	const long = 200 << 20
	dump := filepath.Join(t.TempDir(), "long.sql")
	f, err := os.Create(dump)
	if err != nil {
		t.Fatal(err)
	}
	_, err = io.Copy(f, io.MultiReader(
		strings.NewReader("--\n-- PostgreSQL database dump\n--\n\n-- Dumped from database version "+src.Bin.Version+
			"\n-- Dumped by pg_dump version "+src.Bin.Version+"\n\nSET client_encoding = 'UTF8';\nSET standard_conforming_strings = on;\n-- "),
		repeatByte('c', long),
		strings.NewReader("\nCREATE TABLE public.big (id integer, v text);\n\nCOPY public.big (id, v) FROM stdin;\n1\t"),
		repeatByte('v', long),
		strings.NewReader("\n\\.\n\n\n--\n-- PostgreSQL database dump complete\n--\n\n"),
	))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	dst, db, err := restoreInto(t, dump, &logs)
	runtime.ReadMemStats(&after)
	if err != nil {
		t.Fatalf("%v\nlog:\n%s", err, logs.String())
	}
	grew := after.TotalAlloc - before.TotalAlloc
	t.Logf("the restore allocated %d MB in all", grew>>20)
	if grew > 64<<20 {
		t.Errorf("restoring a dump with 200 MB lines allocated %d MB; want under 64 MB (lines must stream, not be held)", grew>>20)
	}
	var n int
	if err := dst.Conn(t, db).QueryRow(context.Background(), "SELECT length(v) FROM big WHERE id = 1").Scan(&n); err != nil || n != long {
		t.Errorf("the long field restored with length %d (%v); want %d", n, err, long)
	}
}

// repeatByte reads as n copies of c, without holding them.
func repeatByte(c byte, n int64) io.Reader {
	return io.LimitReader(byteReader(c), n)
}

type byteReader byte

func (b byteReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(b)
	}
	return len(p), nil
}

// A plain dump is data: its psql meta-commands are refused before anything
// changes on the server, whether alone on a line, after a statement, or
// after COPY data. None of them runs.
func TestRestoreRefusesPsqlMetaCommands(t *testing.T) {
	dst := testpg.Start(t)
	dir := testpg.Dir(t) // the postgres user could write there
	header := "SET client_encoding = 'UTF8';\nSET standard_conforming_strings = on;\n\nCREATE TABLE public.s (a text);\n\n"
	cases := map[string]struct {
		sql  string // RAN: a file that a command which ran would leave
		line int
		cmd  string
	}{
		"shell":             {`\! id > RAN` + "\n", 6, `\!`},
		"copy from a file":  {"\\copy s from /etc/shadow\n", 6, `\copy`},
		"after a statement": {"SELECT 1; \\! id > RAN\n", 6, `\!`},
		"after COPY data":   {"COPY public.s (a) FROM stdin;\n\\! data, not a command\n\\.\n\\! id > RAN\n", 9, `\!`},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			ran := filepath.Join(dir, name)
			dump := filepath.Join(t.TempDir(), "evil.sql")
			if err := os.WriteFile(dump, []byte(header+strings.ReplaceAll(c.sql, "RAN", ran)), 0o600); err != nil {
				t.Fatal(err)
			}
			info, err := postgres.InspectDump(dump)
			if err != nil {
				t.Fatal(err)
			}
			err = postgres.Restore(context.Background(), postgres.RestoreOptions{
				Bin: dst.Bin, User: dst.User, Dump: info, SocketDir: dst.Server.SocketDir, Port: dst.Server.Port,
				Superuser: testpg.Superuser, Database: name, Jobs: 1,
			})
			want := fmt.Sprintf("is refused, line %d: the psql meta-command %s", c.line, c.cmd)
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("Restore = %v; want an error with %q", err, want)
			}
			if _, err := os.Stat(ran); !os.IsNotExist(err) {
				t.Errorf("a meta-command of the dump ran: %s exists (%v)", ran, err)
			}
			var n int
			if err := dst.Conn(t, "postgres").QueryRow(context.Background(), "SELECT count(*) FROM pg_database WHERE datname = $1", name).Scan(&n); err != nil || n != 0 {
				t.Errorf("the refused dump changed the server: database %q exists (%d, %v)", name, n, err)
			}
		})
	}
}

// An archive's data reaches psql as pg_restore prints it, so a meta-command
// planted in the archive (here in a COPY statement of its table of
// contents) is refused there too.
func TestRestoreRefusesMetaCommandsInArchives(t *testing.T) {
	src := testpg.Start(t)
	ctx := context.Background()
	table := strings.Repeat("t", 63)
	if _, err := src.Conn(t, "postgres").Exec(ctx, "CREATE DATABASE planted"); err != nil {
		t.Fatal(err)
	}
	if _, err := src.Conn(t, "planted").Exec(ctx, "CREATE TABLE public."+table+" (a int); CREATE TABLE public.t (a int); INSERT INTO public."+table+" VALUES (1)"); err != nil {
		t.Fatal(err)
	}
	dump := src.Dump(t, "planted", "planted.dump", "-Fc")
	b, err := os.ReadFile(dump)
	if err != nil {
		t.Fatal(err)
	}
	ran := filepath.Join(testpg.Dir(t), "ran")
	stmt := "COPY public." + table + " (a) FROM stdin;\n"
	planted := "\\! id >" + ran + "\nCOPY public.t (a) FROM stdin;\n"
	planted = strings.Replace(planted, ">", ">"+strings.Repeat(" ", len(stmt)-len(planted)), 1)
	if i := bytes.Index(b, []byte(stmt)); i < 0 || len(planted) != len(stmt) {
		t.Fatalf("no %q in the archive, or no room to plant (%d, %d bytes)", stmt, len(planted), len(stmt))
	} else {
		copy(b[i:], planted)
	}
	if err := os.WriteFile(dump, b, 0o600); err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	_, _, err = restoreInto(t, dump, &logs)
	if err == nil || !strings.Contains(err.Error(), `is refused, in what pg_restore prints of its data, line`) || !strings.Contains(err.Error(), `the psql meta-command \!`) {
		t.Errorf("Restore = %v; want the planted \\! refused", err)
	}
	if _, err := os.Stat(ran); !os.IsNotExist(err) {
		t.Errorf("the planted meta-command ran: %s exists (%v)", ran, err)
	}
}

// What pg_dump writes restores, backslashes and all: in dollar-quoted
// function bodies (lines that start with one), in multi-line string
// literals, in E” strings, and in COPY data.
func TestRestoreDumpsWithBackslashes(t *testing.T) {
	src := testpg.Start(t)
	ctx := context.Background()
	if _, err := src.Conn(t, "postgres").Exec(ctx, "CREATE DATABASE bs"); err != nil {
		t.Fatal(err)
	}
	conn := src.Conn(t, "bs")
	for _, q := range []string{
		"CREATE FUNCTION public.f() RETURNS text LANGUAGE plpgsql AS $f$\nBEGIN\n  RETURN 'one\n\\! id > /tmp/never\n\\copy x from y'\n    || E'\\\\\\'' || $$\\$$;\nEND\n$f$",
		"CREATE FUNCTION public.g() RETURNS text LANGUAGE sql AS 'SELECT ''a\\b''::text'",
		"CREATE TABLE public.v (id int PRIMARY KEY, s text, note text DEFAULT 'C:\\dir' CHECK (note <> '\\\\'))",
		"COMMENT ON TABLE public.v IS E'first\\n\\\\second: \\\\! not a command'",
		`INSERT INTO public.v VALUES (1, E'\\\\N', NULL), (2, E'\\\\.', 'x'), (3, E'tab\there\nnewline\\\\', E'\\\\! no'), (4, '\.', NULL)`,
	} {
		if _, err := conn.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	const check = "SELECT f() || g() || obj_description('public.v'::regclass) || string_agg(concat_ws('|', id, s, note), ',' ORDER BY id) FROM v"
	var want string
	if err := conn.QueryRow(ctx, check).Scan(&want); err != nil {
		t.Fatal(err)
	}
	// E'' strings with backslashes, which pg_dump itself writes only when
	// standard_conforming_strings is off
	extra := "CREATE TABLE public.e (s text);\nINSERT INTO public.e VALUES (E'a\\\\b\\'c'), (E'line\\\n\\! not a command''s'), ('C:\\dir');\n"
	for _, format := range []string{"-Fp", "-Fc"} {
		t.Run(format, func(t *testing.T) {
			dump := src.Dump(t, "bs", "bs.dump", format)
			if format == "-Fp" {
				b, err := os.ReadFile(dump)
				if err == nil {
					b = bytes.Replace(b, []byte("--\n-- PostgreSQL database dump complete"), []byte(extra+"--\n-- PostgreSQL database dump complete"), 1)
					err = os.WriteFile(dump, b, 0o600)
				}
				if err != nil {
					t.Fatal(err)
				}
			}
			var logs bytes.Buffer
			dst, db, err := restoreInto(t, dump, &logs)
			if err != nil {
				t.Fatalf("%v\nlog:\n%s", err, logs.String())
			}
			var got string
			if err := dst.Conn(t, db).QueryRow(ctx, check).Scan(&got); err != nil || got != want {
				t.Errorf("restored: %q (%v)\nwant      %q", got, err, want)
			}
			if format == "-Fp" {
				var e string
				if err := dst.Conn(t, db).QueryRow(ctx, "SELECT string_agg(s, '|') FROM e").Scan(&e); err != nil || e != "a\\b'c|line\n! not a command's|C:\\dir" {
					t.Errorf("E'' strings restored as %q (%v)", e, err)
				}
			}
		})
	}
}
