package mask

import (
	"bytes"
	"strings"
	"testing"
)

func TestScript(t *testing.T) {
	email := mask1(t, testTransformer(t, "email", testKey), "a@b.c")
	in := strings.Join([]string{
		"--",
		"-- Data for Name: customer; Type: TABLE DATA",
		"--",
		"",
		"COPY public.customer (id, email, bio, notes, active) FROM stdin;",
		"1\ta@b.c\tsecret\tn\tt",
		"2\t\\N\t\\N\t\\N\tf",
		"\\.",
		"",
		"COPY public.audit_log (id, who) FROM stdin;",
		"1\talice",
		"\\.",
		"COPY public.other (x) FROM stdin;",
		"secret",
		"\\.",
		"SELECT pg_catalog.setval('public.customer_id_seq', 2, true);",
		"",
	}, "\n")
	want := strings.NewReplacer(
		"1\ta@b.c\tsecret\tn\tt", "1\t"+email+"\t******\t\\N\tt",
		"1\talice\n", "",
	).Replace(in)
	var out bytes.Buffer
	if err := testRules(t, filterRules).Script(&out, strings.NewReader(in), []byte(testKey)); err != nil {
		t.Fatal(err)
	}
	if out.String() != want {
		t.Errorf("got\n%s\nwant\n%s", out.String(), want)
	}
}

func TestScriptErrors(t *testing.T) {
	r := testRules(t, filterRules)
	cases := map[string]string{
		"COPY public.customer (id) FROM stdin;\n1\n\\.\n":                               `has no column "email"`,
		"COPY public.customer (id, email, bio, notes, active) FROM stdin;\n1\tx\n\\.\n": "public.customer row 1: 2 fields",
		"COPY public.other (x) FROM stdin;\n1\n":                                        `public.other: the data ends without the end-of-data line \.`,
		"COPY broken\n":                                                                 "COPY header",
	}
	for in, want := range cases {
		err := r.Script(&bytes.Buffer{}, strings.NewReader(in), []byte(testKey))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want %q", in, err, want)
		}
	}
	if err := r.Script(failWriter{}, strings.NewReader(strings.Repeat("x", 1<<20)+"\n"), nil); err != boom {
		t.Errorf("write error: %v", err)
	}
}
