package mask

import (
	"bytes"
	"io"
	"runtime"
	"runtime/metrics"
	"strings"
	"testing"
	"time"
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

// TestScriptNameWithNewline: pg_dump writes a name holding a newline as it
// is, inside its quotes, so the COPY statement takes two lines.
func TestScriptNameWithNewline(t *testing.T) {
	r := testRules(t, "version: 1\nkey: env:K\ntables:\n  \"public.we\\nird\": {\"e\\nmail\": email}\n")
	email := mask1(t, testTransformer(t, "email", testKey), "a@b.c")
	in := "COPY public.\"we\nird\" (id, \"e\nmail\") FROM stdin;\n1\ta@b.c\n\\.\n" +
		"COPY public.\"other\nname\" (x) FROM stdin;\n\"\n\\.\nSELECT 1;\n"
	var out bytes.Buffer
	if err := r.Script(&out, strings.NewReader(in), []byte(testKey)); err != nil {
		t.Fatal(err)
	}
	if want := strings.Replace(in, "a@b.c", email, 1); out.String() != want {
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
		"COPY public.\"" + strings.Repeat("x\n", 1<<20):                                 "more than 1024 KiB",
	}
	for in, want := range cases {
		err := r.Script(&bytes.Buffer{}, strings.NewReader(in), []byte(testKey))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%.80q: %v, want %q", in, err, want)
		}
	}
	if err := r.Script(failWriter{}, strings.NewReader(strings.Repeat("x", 1<<20)+"\n"), nil); err != boom {
		t.Errorf("write error: %v", err)
	}
}

// run is a literal, or n copies of fill: a part of an input too big to
// hold in memory.
type run struct {
	lit  string
	fill byte
	n    int
}

func (r run) size() int { return len(r.lit) + r.n }

// runReader reads runs one after another without holding them.
type runReader struct {
	runs  []run
	off   int
	block []byte // fill bytes to copy from
}

func (r *runReader) Read(p []byte) (int, error) {
	for len(r.runs) > 0 && r.off == r.runs[0].size() {
		r.runs, r.off = r.runs[1:], 0
	}
	if len(r.runs) == 0 {
		return 0, io.EOF
	}
	cur := r.runs[0]
	if cur.lit != "" {
		n := copy(p, cur.lit[r.off:])
		r.off += n
		return n, nil
	}
	if len(r.block) == 0 || r.block[0] != cur.fill {
		r.block = bytes.Repeat([]byte{cur.fill}, 64<<10)
	}
	n := copy(p[:min(len(p), cur.n-r.off)], r.block)
	r.off += n
	return n, nil
}

// sameAs fails any write that differs from what want reads next.
type sameAs struct {
	t    *testing.T
	want io.Reader
	at   int64
	buf  []byte
}

func (w *sameAs) Write(p []byte) (int, error) {
	if cap(w.buf) < len(p) {
		w.buf = make([]byte, len(p))
	}
	w.buf = w.buf[:len(p)]
	n, _ := io.ReadFull(w.want, w.buf)
	if !bytes.Equal(p, w.buf[:n]) {
		i := 0
		for i < n && p[i] == w.buf[i] {
			i++
		}
		w.t.Fatalf("output differs from the expected at byte %d: got %.40q, want %.40q", w.at+int64(i), p[i:], w.buf[i:n])
	}
	w.at += int64(n)
	return len(p), nil
}

// heapGrowth runs fn and returns the peak of the heap's objects above where
// they were before, sampled every millisecond.
func heapGrowth(fn func()) uint64 {
	runtime.GC()
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(s)
	base, peak := s[0].Value.Uint64(), s[0].Value.Uint64()
	stop, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for {
			metrics.Read(s)
			peak = max(peak, s[0].Value.Uint64())
			select {
			case <-stop:
				return
			case <-tick.C:
			}
		}
	}()
	fn()
	close(stop)
	<-done
	return peak - base
}

// TestScriptLongLinesStream: lines far longer than any buffer, outside COPY
// data and in fields that need no masking, stream through without being held
// whole, and come out byte for byte.
func TestScriptLongLinesStream(t *testing.T) {
	const big = 200 << 20
	email := mask1(t, testTransformer(t, "email", testKey), "a@b.c")
	input := func(masked bool) io.Reader {
		addr, bio, notes := "a@b.c", "secret", run{fill: 'n', n: big}
		if masked {
			addr, bio, notes = email, "******", run{lit: `\N`}
		}
		return &runReader{runs: []run{
			{lit: "-- "}, {fill: 'c', n: big}, {lit: "\n"},
			{lit: "COPY public.customer (id, email, bio, notes, active, extra) FROM stdin;\n"},
			{fill: '1', n: big}, {lit: "\t" + addr + "\t" + bio + "\t"}, notes, {lit: "\tt\t"}, {fill: 'e', n: big}, {lit: "\n"},
			{lit: "2\t\\N\t\\N\t\\N\tf\t\\N\n\\.\n"},
			{lit: "COPY public.other (x) FROM stdin;\n"}, {fill: 'o', n: big}, {lit: "\n\\.\n"},
			{lit: "SELECT 1;\n"},
		}}
	}
	r := testRules(t, filterRules)
	out := &sameAs{t: t, want: input(true)}
	var err error
	grew := heapGrowth(func() { err = r.Script(out, input(false), []byte(testKey)) })
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := io.Copy(io.Discard, out.want); n != 0 {
		t.Fatalf("the output ends %d bytes short", n)
	}
	t.Logf("the heap grew by %d KiB; %d bytes out", grew>>10, out.at)
	if grew > 64<<20 {
		t.Errorf("the heap grew by %d MiB streaming lines of %d MiB; it should not hold a line whole", grew>>20, big>>20)
	}
}
