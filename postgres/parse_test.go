package postgres

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestParseVersionOutput(t *testing.T) {
	for in, want := range map[string]string{
		"postgres (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)\n": "15.18",
		"PostgreSQL 16.4\n":               "16.4",
		"postgres (PostgreSQL) 17beta1\n": "17beta1",
		"postgres (PostgreSQL) 9.6.24\n":  "9.6.24",
	} {
		v, major, err := parseVersionOutput(in)
		if err != nil || v != want || major == 0 {
			t.Errorf("parseVersionOutput(%q) = %q, %d, %v; want %q", in, v, major, err, want)
		}
	}
	if _, _, err := parseVersionOutput("bash: postgres: not found"); err == nil {
		t.Error("want an error for output without a version")
	}
}

func TestCompareVersions(t *testing.T) {
	if compareVersions("15.18", "15.2") <= 0 || compareVersions("16.1", "15.18") <= 0 || compareVersions("15.2", "15.2") != 0 {
		t.Error("compareVersions orders by number, not text")
	}
}

func TestPickBinTooOld(t *testing.T) {
	bins := []Bin{{Dir: "/usr/lib/postgresql/15/bin", Major: 15, Version: "15.18"}, {Dir: "/opt/pg14/bin", Major: 14, Version: "14.2"}}
	b, err := PickBin(bins, 14)
	if err != nil || b.Major != 15 {
		t.Fatalf("PickBin(14) = %v, %v; want the newest, 15", b, err)
	}
	_, err = PickBin(bins, 17)
	for _, want := range []string{"need PostgreSQL 17 or newer", "15 (/usr/lib/postgresql/15/bin)", "14 (/opt/pg14/bin)", "apt-get install postgresql-17", "--pg-bin"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("PickBin(17) error = %v; want it to mention %q", err, want)
		}
	}
}

// header writes an archive header the way pg_dump's WriteHead does, for
// version 1.maj with 4-byte integers.
func header(minor byte, format byte, db, server, dumper string) []byte {
	var b bytes.Buffer
	b.WriteString("PGDMP")
	b.Write([]byte{1, minor, 0, 4, 8, format})
	putInt := func(n int) {
		sign := byte(0)
		if n < 0 {
			sign, n = 1, -n
		}
		b.Write([]byte{sign, byte(n), byte(n >> 8), byte(n >> 16), byte(n >> 24)})
	}
	putStr := func(s string) { putInt(len(s)); b.WriteString(s) }
	if minor >= 15 {
		b.WriteByte(0)
	} else {
		putInt(-1)
	}
	for _, n := range []int{5, 4, 3, 2, 0, 124, 0} { // 2024-01-02 03:04:05
		putInt(n)
	}
	putStr(db)
	putStr(server)
	putStr(dumper)
	return b.Bytes()
}

func writeFile(t *testing.T, name string, b []byte) string {
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestInspectSyntheticHeaders(t *testing.T) {
	for _, minor := range []byte{14, 15, 16} {
		p := writeFile(t, "x", header(minor, 1, "shop", "16.2 (Debian)", "17.1"))
		info, err := InspectDump(p)
		if err != nil {
			t.Fatalf("1.%d: %v", minor, err)
		}
		if info.Format != FormatCustom || info.Database != "shop" || info.ServerMajor != 16 || info.DumperVersion != "17.1" || info.DumperMajor != 17 || info.Created.Year() != 2024 {
			t.Errorf("1.%d: %+v", minor, info)
		}
	}
}

func TestInspectBadInputs(t *testing.T) {
	dir := t.TempDir()
	notDump := filepath.Join(dir, "notdump")
	os.Mkdir(notDump, 0o700)
	random := make([]byte, 4096)
	for i := range random {
		random[i] = byte(i*7919 + i*i*31 + 13)
	}
	full := header(14, 1, "shop", "15.18", "15.18")
	cases := []struct {
		name, path string
		want       []string
	}{
		{"missing", filepath.Join(dir, "nope.dump"), []string{"nope.dump", "no such file"}},
		{"empty", writeFile(t, "empty.dump", nil), []string{"empty.dump", "is empty", "pg_dump"}},
		{"random", writeFile(t, "random.dump", random), []string{"random.dump", "not a PostgreSQL dump", "custom, directory or tar"}},
		{"dir", notDump, []string{"notdump", "not a directory-format dump", "toc.dat"}},
		{"truncated", writeFile(t, "trunc.dump", full[:40]), []string{"trunc.dump", "truncated", "pg_dump"}},
		{"newer", writeFile(t, "new.dump", header(17, 1, "shop", "19.0", "19.0")), []string{"new.dump", "1.17", "newer"}},
		{"wrong format byte", writeFile(t, "fmt.dump", header(14, 3, "shop", "15.18", "15.18")), []string{"fmt.dump", "corrupt"}},
	}
	for _, c := range cases {
		_, err := InspectDump(c.path)
		for _, w := range c.want {
			if err == nil || !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %v; want it to mention %q", c.name, err, w)
			}
		}
	}
}

func TestInspectPlainText(t *testing.T) {
	sql := "--\n-- PostgreSQL database dump\n--\n\n-- Dumped from database version 14.9 (Ubuntu)\n-- Dumped by pg_dump version 15.18 (Debian 15.18-0+deb12u1)\n\nSET x = 0;\n" +
		"CREATE DATABASE \"My \"\"Shop\"\"\" WITH TEMPLATE = template0;\n\\connect \"My \"\"Shop\"\"\"\nCREATE DATABASE later;\n"
	info, err := InspectDump(writeFile(t, "a.sql", []byte(sql)))
	if err != nil {
		t.Fatal(err)
	}
	want := DumpInfo{Format: FormatPlain, Database: `My "Shop"`, ServerVersion: "14.9", ServerMajor: 14, DumperVersion: "15.18", DumperMajor: 15}
	info.Path = ""
	if info != want {
		t.Errorf("got %+v, want %+v", info, want)
	}
}

func TestScanRoles(t *testing.T) {
	sql := `ALTER TABLE public.t OWNER TO shop_owner;
GRANT SELECT ON TABLE public.t TO "Shop Reader", app_ro WITH GRANT OPTION;
REVOKE ALL ON SCHEMA public FROM PUBLIC;
REVOKE ALL ON TABLE public.t FROM old_user;
SET ROLE migrator;
SET SESSION AUTHORIZATION 'O''Brien';
ALTER DEFAULT PRIVILEGES FOR ROLE deployer IN SCHEMA public GRANT SELECT ON TABLES TO reporting;
CREATE POLICY p ON public.t FOR SELECT TO tenant USING (true);
GRANT pg_read_all_data TO CURRENT_USER;
COPY public.t (a) FROM stdin;
GRANT x TO data_not_a_role;
\.
ALTER SCHEMA s OWNER TO "MixedCase";
`
	got, err := scanRoles(strings.NewReader(sql))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"MixedCase", "O'Brien", "Shop Reader", "app_ro", "deployer", "migrator", "old_user", "reporting", "shop_owner", "tenant"}
	if !slices.Equal(got, want) {
		t.Errorf("scanRoles = %q\nwant        %q", got, want)
	}
}

func TestRedactAndSplitPassword(t *testing.T) {
	for in, want := range map[string][2]string{
		"postgres://app:s3cr%40t@db:5432/shop?sslmode=require": {"postgres://app@db:5432/shop?sslmode=require", "s3cr@t"},
		"postgres://db/shop?user=app&password=pw123":           {"postgres://db/shop?user=app", "pw123"},
		"host=db user=app password='a b\\'c' dbname=shop":      {"host=db user=app  dbname=shop", "a b'c"},
		"host=db user=app dbname=shop":                         {"host=db user=app dbname=shop", ""},
	} {
		conn, pw := splitPassword(in)
		if conn != want[0] || pw != want[1] {
			t.Errorf("splitPassword(%q) = %q, %q; want %q, %q", in, conn, pw, want[0], want[1])
		}
		if red := RedactURL(in); want[1] != "" && strings.Contains(red, want[1]) {
			t.Errorf("RedactURL(%q) = %q still shows the password", in, red)
		}
	}
}

func TestScramVerifierFormat(t *testing.T) {
	pw, err := RandomPassword()
	if err != nil || len(pw) < 24 || strings.ContainsAny(pw, "+/=:@%") {
		t.Fatalf("RandomPassword = %q, %v", pw, err)
	}
	v, err := ScramVerifier(pw)
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(v, "$")
	if len(parts) != 3 || parts[0] != "SCRAM-SHA-256" || !strings.HasPrefix(parts[1], "1:") || len(strings.Split(parts[2], ":")) != 2 || strings.Contains(v, pw) {
		t.Errorf("ScramVerifier = %q", v)
	}
	if _, err := ScramVerifier("pässword"); err == nil {
		t.Error("non-ASCII password: want an error")
	}
}

func BenchmarkScramVerifier(b *testing.B) {
	for b.Loop() {
		if _, err := ScramVerifier("correct horse battery staple"); err != nil {
			b.Fatal(err)
		}
	}
}

func TestRestoreStep(t *testing.T) {
	for line, want := range map[string]string{
		`pg_restore: processing data for table "public.orders"`:                          `processing data for table "public.orders"`,
		`pg_restore: pg_restore: processing data for table "public.orders"`:              `processing data for table "public.orders"`,
		`pg_restore: creating INDEX "public.i"pg_restore: processing data for table "x"`: `creating INDEX "public.i"`,
		`pg_restore: connecting to database for restore`:                                 ``,
	} {
		if got, _ := restoreStep(line); got != want {
			t.Errorf("restoreStep(%q) = %q, want %q", line, got, want)
		}
	}
}
