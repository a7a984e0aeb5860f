package pgscript

import (
	"reflect"
	"strings"
	"testing"
)

func TestParseCopyHeader(t *testing.T) {
	cases := []struct {
		line string
		want CopyHeader
	}{
		{"COPY public.customer (id, email, first_name) FROM stdin;\n",
			CopyHeader{"public", "customer", []string{"id", "email", "first_name"}}},
		{`COPY "Sales"."Order" ("Id", "e-mail", "say ""hi""", "a.b", "x,y") FROM stdin;`,
			CopyHeader{"Sales", "Order", []string{"Id", "e-mail", `say "hi"`, "a.b", "x,y"}}},
		{"COPY customer (id) FROM stdin;", CopyHeader{"public", "customer", []string{"id"}}},
		{"COPY public.empty  FROM stdin;", CopyHeader{"public", "empty", nil}},
		{"copy public.t (a,b) from STDIN;", CopyHeader{"public", "t", []string{"a", "b"}}},
		{"COPY public.\"we\nird\" (\"e\nmail\", x) FROM stdin;\n", CopyHeader{"public", "we\nird", []string{"e\nmail", "x"}}},
	}
	for _, c := range cases {
		got, err := ParseCopyHeader(c.line)
		if err != nil || !reflect.DeepEqual(got, c.want) {
			t.Errorf("ParseCopyHeader(%q) = %+v, %v; want %+v", c.line, got, err, c.want)
		}
	}
	if n := (CopyHeader{Schema: "s", Table: "t"}).Name(); n != "s.t" {
		t.Errorf("Name() = %q", n)
	}
}

func TestParseCopyHeaderErrors(t *testing.T) {
	cases := map[string]string{
		"SELECT 1;":                        "does not start with COPY",
		"COPY public.t (a, b FROM stdin;":  "column list is not closed",
		`COPY public."t (a) FROM stdin;`:   "unterminated quoted identifier",
		"COPY public.t (a) TO stdout;":     "does not end with FROM stdin",
		"COPY public. (a) FROM stdin;":     "missing identifier",
		"COPY public.t (a, ) FROM stdin;":  "missing identifier",
		"COPY " + strings.Repeat("x", 100): "...",
	}
	for line, want := range cases {
		_, err := ParseCopyHeader(line)
		if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "expected COPY schema.table") {
			t.Errorf("ParseCopyHeader(%q) error = %v, want it to say %q", line, err, want)
		}
	}
}

func TestOpenQuote(t *testing.T) {
	for s, want := range map[string]bool{
		"COPY public.t (a) FROM stdin;\n":         false,
		"COPY public.\"we\n":                      true,
		"COPY public.\"we\nird\" (a) FROM stdin;": false,
		`COPY public."say ""hi"" `:                true,
		`COPY public."say ""hi""" (a`:             false,
	} {
		if got := OpenQuote([]byte(s)); got != want {
			t.Errorf("OpenQuote(%q) = %v", s, got)
		}
	}
}
