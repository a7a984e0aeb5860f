package pgscript

import (
	"errors"
	"strings"
	"testing"
)

// scanAll scans script whole, then byte by byte, and returns the error of
// each: the Scanner must not care where a Scan ends.
func scanAll(script string) (whole, bytewise error) {
	s := NewScanner()
	if whole = s.Scan([]byte(script)); whole == nil {
		whole = s.Finish()
	}
	s = NewScanner()
	for i := 0; i < len(script) && bytewise == nil; i++ {
		bytewise = s.Scan([]byte{script[i]})
	}
	if bytewise == nil {
		bytewise = s.Finish()
	}
	return whole, bytewise
}

// What pg_dump writes passes, backslashes in quotes, comments and COPY
// rows included.
func TestScannerAcceptsWhatPgDumpWrites(t *testing.T) {
	scripts := map[string]string{
		"header": "--\n-- PostgreSQL database dump\n--\n\n\\restrict abcDEF123\n\nSET statement_timeout = 0;\n" +
			"SELECT pg_catalog.set_config('search_path', '', false);\nSET standard_conforming_strings = on;\n",
		"create database": "CREATE DATABASE shop WITH TEMPLATE = template0 ENCODING = 'UTF8';\n\\unrestrict abc\n" +
			"\\connect shop\n\\restrict abc\n\\connect -reuse-previous=on \"dbname='my db'\"\n\\connect \"Shop\"\n\\c shop\n" +
			"\\connect -reuse-previous=on \"dbname='it\\'s \"\"x\"\"'\"\n",
		"function bodies": "CREATE FUNCTION public.f(s text) RETURNS text\n    LANGUAGE plpgsql\n    AS $_$\nBEGIN\n" +
			"\\! id > /tmp/not-a-command\n  RETURN regexp_replace(s, '\\\\', '/', 'g') || $$\\$$ || 'it''s';\nEND;\n$_$;\n" +
			"CREATE FUNCTION public.g() RETURNS integer LANGUAGE sql\nBEGIN ATOMIC\n SELECT 1;\n SELECT CASE WHEN true THEN 2 END;\nEND;\n" +
			"COPY public.t (a) FROM stdin;\n1\n\\.\n",
		"strings": "SELECT E'a\\\\b\\'c', E'line\\\nnext', 'C:\\dir\\file', '\\d+''x', \"a\\b\", U&'\\0041', B'01', X'1F', N'x';\n" +
			"COMMENT ON TABLE t IS 'first\n\\second line';\n",
		"comments":  "-- \\! id\n/* \\! id /* nested \\copy */ still */ SELECT 1; /***/ -- end\n",
		"operators": "SELECT a::int, b[1:2], f(x := 1), 1.5e+10, 2e3, .5, $1, -1, 1-2, a->'k', x::text[];\nSELECT :foo, :'bar', :\"baz\";\n",
		"copy data": "COPY public.\"Odd\" (id, \"e-mail\", note) FROM stdin;\n1\t\\N\t\\\\server\\share\n\\.x\n\\\\.\n" +
			"2\tb\tline\\nbreak\n\\! not run\n\\.\nCOPY t FROM stdin;\r\nx\r\n\\.\r\nSELECT 1;\r\n",
		"dollar tags": "SELECT $a$ $b$ $$ \\ $a$, $$x$$, a$b$c, $1;\n",
	}
	for name, script := range scripts {
		whole, bytewise := scanAll(script)
		if whole != nil || bytewise != nil {
			t.Errorf("%s: refused (%v; byte by byte: %v):\n%s", name, whole, bytewise, script)
		}
	}
}

// Meta-commands pg_dump never writes, and text psql could read otherwise
// than the Scanner, are refused with their line.
func TestScannerRefuses(t *testing.T) {
	cases := []struct {
		script string
		line   int
		want   string
	}{
		{"SELECT 1;\n\\! id > /tmp/x\n", 2, `meta-command \!`},
		{"\\copy s from /etc/shadow\n", 1, `meta-command \copy`},
		{"SELECT 1; \\! id\n", 1, `meta-command \!`},
		{"SELECT 'a' \\gexec\n", 1, `meta-command \gexec`},
		{"SELECT 1 \\; SELECT 2;\n", 1, `meta-command \;`},
		{"SELECT 1\n\\connect shop\n", 2, `meta-command \connect`},
		{"\\connect shop other\n", 1, `\connect with arguments`},
		{"\\connect -reuse-previous=on \"dbname='x' host=evil\"\n", 1, `\connect with arguments`},
		{"\\connect `id`\n", 1, `\connect with arguments`},
		{"\\restrict\n", 1, `\restrict with arguments`},
		{"\\unrestrict a-b\n", 1, `\unrestrict with arguments`},
		{"\\set ON_ERROR_STOP 0\n", 1, `meta-command \set`},
		{"COPY t (a) FROM stdin;\n\\! data\n\\.\n\\! id\n", 4, `meta-command \!`},
		{"COPY t (a) FROM stdin; \\! id\n", 1, "more text on the line of a COPY"},
		{"COPY t FROM stdin;\n\\.\r\r\n\\! id\n", 0, ""}, // still COPY data: not refused
		{"SELECT :DBNAME;\n", 1, "psql variable :DBNAME"},
		{"SELECT 1; -- note\r\\! id\n", 1, "carriage return"},
		{"SELECT 'a\\';\n", 1, "backslash before the quote"},
		{"SELECT 1begin;\n", 1, "number run into a word"},
		{"SELECT $1begin;\n", 1, "parameter run into a word"},
		{"SELECT 1;\nSELECT 'x\x00';\n", 2, "NUL byte"},
		{"SELECT 1;\n\\connect a b", 2, `\connect with arguments`}, // psql runs a last line without newline too
		{"SELECT :USER", 1, "psql variable :USER"},
		{"CREATE FUNCTION begin() RETURNS int LANGUAGE sql AS 'select 1';\nCOPY t FROM stdin;\n\\! id\nend;\n", 2, "along with the statements before it"},
		{"CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; COPY t FROM stdin; END;\n", 1, "along with the statements before it"},
	}
	for _, c := range cases {
		whole, bytewise := scanAll(c.script)
		for _, err := range []error{whole, bytewise} {
			var r *Refused
			switch {
			case c.want == "" && err != nil:
				t.Errorf("%q: refused: %v", c.script, err)
			case c.want == "":
			case !errors.As(err, &r) || r.Line != c.line || !strings.Contains(r.Reason, c.want):
				t.Errorf("%q: got %v; want line %d: ...%s...", c.script, err, c.line, c.want)
			}
		}
	}
}

// The Scanner says where COPY data is, as psql reads it, for the restore's
// own rewriting of COPY statements.
func TestScannerFollowsCopyData(t *testing.T) {
	s := NewScanner()
	steps := []struct {
		text            string
		inCopy, atStart bool
		line            int
	}{
		{"SET a = 1;\n", false, true, 2},
		{"COPY public.t (a) FROM stdin;\n", true, false, 3},
		{"\\.x\n", true, false, 4},
		{"\\.\n", false, true, 5},
		{"SELECT 'a\n", false, false, 6},
		{"COPY t FROM stdin;\n", false, false, 7}, // inside the string
		{"';\n", false, true, 8},
	}
	for _, step := range steps {
		if err := s.Scan([]byte(step.text)); err != nil {
			t.Fatal(err)
		}
		if s.InCopyData() != step.inCopy || s.AtStatementStart() != step.atStart || s.Line() != step.line {
			t.Errorf("after %q: in COPY data %v, at a statement's start %v, line %d; want %v, %v, %d",
				step.text, s.InCopyData(), s.AtStatementStart(), s.Line(), step.inCopy, step.atStart, step.line)
		}
	}
}
