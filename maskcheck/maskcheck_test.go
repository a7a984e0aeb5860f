package maskcheck

import (
	"bufio"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/dittodb/ditto/internal/testpg"
	"github.com/dittodb/ditto/mask"
)

func TestMaskCheckSamplable(t *testing.T) {
	text := []string{"text", "character varying(40)", "character varying", "character(2)", "citext", "ext.citext",
		"jsonb", "json", "xml", "text[]", "character varying(10)[]"}
	other := []string{"integer", "bigint", "numeric(10,2)", "uuid", "bytea", "timestamp with time zone", "boolean",
		`"char"`, "public.mood"}
	for _, typ := range text {
		if !samplable(typ) {
			t.Errorf("%s is not sampled", typ)
		}
	}
	for _, typ := range other {
		if samplable(typ) {
			t.Errorf("%s is sampled", typ)
		}
	}
}

func TestMaskCheckSampleQuery(t *testing.T) {
	tbl := mask.Table{Schema: "Sales", Name: `odd "name"`}
	got := sampleQuery(tbl, mask.Column{Name: "E-Mail", Type: "text"}, 7)
	want := `SELECT left("E-Mail"::text, 4096) FROM "Sales"."odd ""name""" WHERE "E-Mail" IS NOT NULL LIMIT 7`
	if got != want {
		t.Fatalf("sampleQuery:\n got %s\nwant %s", got, want)
	}
}

func TestMaskCheckOptionErrors(t *testing.T) {
	for _, c := range []struct {
		o    Options
		want string
	}{
		{Options{}, "give --source-url URL"},
		{Options{SourceURL: "postgres://x", DumpPath: "x.dump"}, "not both"},
		{Options{DumpPath: "x.dump", Sample: -1}, "invalid --sample"},
		{Options{DumpPath: "x.dump", Rules: "/nonexistent/rules.yaml"}, "--rules or DITTO_RULES"},
	} {
		_, err := Run(context.Background(), c.o)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Run(%+v) = %v, want an error containing %q", c.o, err, c.want)
		}
	}
}

// TestMaskCheckNameWithNewline: mask check reads the COPY statements of
// tables and columns whose names hold a newline, from plain and archive
// dumps: with --sample it finds the emails of a column whose name gives
// nothing away.
func TestMaskCheckNameWithNewline(t *testing.T) {
	testpg.RequireRoot(t)
	ctx := context.Background()
	src := testpg.Start(t)
	src.LoadOdd(t)
	dir := t.TempDir()
	rulesFile := filepath.Join(dir, "rules.yaml")
	noInfo := filepath.Join(dir, "no-info.yaml")
	if err := os.WriteFile(rulesFile, []byte(testpg.OddRules), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(noInfo, []byte(strings.Replace(testpg.OddRules, ", info: hash", "", 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, format := range []string{"p", "c"} {
		dump := src.Dump(t, testpg.OddDB, "odd."+format, "-F"+format)
		t.Run(format, func(t *testing.T) {
			rep, err := Run(ctx, Options{Rules: rulesFile, DumpPath: dump, Sample: 5})
			if err != nil || !rep.OK {
				t.Fatalf("mask check with the rules that cover the dump: %+v, %v", rep, err)
			}
			rep, err = Run(ctx, Options{Rules: noInfo, DumpPath: dump, Sample: 5})
			if err != nil || len(rep.Problems) != 1 || rep.Problems[0].Column != "info" || !strings.Contains(rep.Problems[0].Message, "sampled values contain") {
				t.Errorf("mask check should find the emails sampled in info: %+v, %v", rep, err)
			}
		})
	}
}

// copyScript is pg_dump-style SQL: settings, a table sampled whole, one with
// more rows than asked for, one nobody wants, and text that only looks like
// COPY.
const copyScript = `SET client_encoding = 'UTF8';
CREATE FUNCTION f() RETURNS void AS $$ SELECT 1 $$ LANGUAGE sql;
COPY public.skip (secret) FROM stdin;
COPY public.t (note) FROM stdin;
leaked
\.
COPY public.t (id, note, "E-Mail") FROM stdin;
1	a\tb	x@example.com
2	\N	\N
3	back\\slash	caf\303\251
\.
COPY public."we
ird" ("e
mail") FROM stdin;
COPY is data here
\.
COPY "Odd"."Tab" (a) FROM stdin;
one
two
three
four
\.
SELECT pg_catalog.setval('s', 1, true);
`

func TestMaskCheckCopyData(t *testing.T) {
	want := map[string]map[string]bool{
		"public.t":       {"note": true, "E-Mail": true},
		"Odd.Tab":        {"a": true},
		"public.we\nird": {"e\nmail": true},
		"public.no":      {"x": true}, // never in the data: reading goes to the end
	}
	got, complete, err := sampleCopyData(strings.NewReader(copyScript), want, 2)
	if err != nil || complete {
		t.Fatalf("sampleCopyData: complete %v, err %v", complete, err)
	}
	wantSamples := mask.Samples{
		"public.t.note":          {"a\tb", `back\slash`},
		"public.t.E-Mail":        {"x@example.com", "café"},
		"Odd.Tab.a":              {"one", "two"},
		"public.we\nird.e\nmail": {"COPY is data here"},
	}
	if !reflect.DeepEqual(got, wantSamples) {
		t.Fatalf("samples:\n got %q\nwant %q", got, wantSamples)
	}
}

// failAfter fails any read past the first n bytes.
type failAfter struct {
	r io.Reader
	n int
}

func (f *failAfter) Read(p []byte) (int, error) {
	if f.n <= 0 {
		return 0, errors.New("read past the point where every table was sampled")
	}
	if len(p) > f.n {
		p = p[:f.n]
	}
	n, err := f.r.Read(p)
	f.n -= n
	return n, err
}

func TestMaskCheckCopyDataStopsEarly(t *testing.T) {
	head := "COPY public.big (id, email) FROM stdin;\n1\ta@b.test\n2\tc@d.test\n"
	// 64 KiB is bufio's read size: the rows after it must never be read
	r := &failAfter{r: strings.NewReader(head + strings.Repeat("3\tmore@rows.test\n", 100000)), n: 64 << 10}
	want := map[string]map[string]bool{"public.big": {"email": true}}
	got, complete, err := sampleCopyData(r, want, 2)
	if err != nil || !complete {
		t.Fatalf("sampleCopyData: complete %v, err %v", complete, err)
	}
	if vs := got["public.big.email"]; len(vs) != 2 {
		t.Fatalf("samples %q", got)
	}
	// a wanted table whose wanted columns are not in its COPY counts as done
	got, complete, err = sampleCopyData(strings.NewReader("COPY public.g (id) FROM stdin;\n1\n"), map[string]map[string]bool{"public.g": {"generated": true}}, 2)
	if err != nil || !complete || len(got) != 0 {
		t.Fatalf("generated column: %q, complete %v, err %v", got, complete, err)
	}
}

func TestMaskCheckReadCopyLine(t *testing.T) {
	long := strings.Repeat("x", 100)
	br := bufio.NewReaderSize(strings.NewReader("short\n"+long+"\nlast"), 16)
	var lines []string
	var buf []byte
	for {
		var err error
		buf, err = readCopyLine(br, buf, 40)
		if len(buf) > 0 || err == nil {
			lines = append(lines, string(buf))
		}
		if err != nil {
			if err != io.EOF {
				t.Fatal(err)
			}
			break
		}
	}
	if want := []string{"short", long[:40], "last"}; !reflect.DeepEqual(lines, want) {
		t.Fatalf("lines %q, want %q", lines, want)
	}
}
