package mask

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

const filterRules = `version: 1
key: env:K
tables:
  public.customer:
    email: email
    notes: null
    bio: {transform: regex_replace, pattern: "secret", replacement: "******"}
    active: keep
  public.audit_log: {rows: none}
`

func testRules(t testing.TB, yaml string) *Rules {
	t.Helper()
	r, err := Parse("r.yaml", []byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func testFilter(t testing.TB, table string, columns ...string) *Filter {
	t.Helper()
	f, err := testRules(t, filterRules).Filter(table, columns, []byte(testKey))
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestFilterLine(t *testing.T) {
	f := testFilter(t, "public.customer", "id", "email", "bio", "notes", "active", "extra")
	email := mask1(t, testTransformer(t, "email", testKey), "a\tb@c.d")
	cases := []struct{ in, want string }{
		// untouched fields pass byte for byte, escapes and all
		{"1\ta\\tb@c.d\tmy secret\\\\x\tnote\tt\t\\x41\\101\n",
			"1\t" + email + "\tmy ******\\\\x\t\\N\tt\t\\x41\\101\n"},
		// NULL stays NULL, the empty string stays empty
		{"2\t\\N\t\t\\N\tf\t\n", "2\t\\N\t\t\\N\tf\t\n"},
		// the last line of a stream may lack its newline
		{"3\t\\N\t\\N\tx\tt\tz", "3\t\\N\t\\N\t\\N\tt\tz"},
		// masked output is escaped again
		{"4\t\\N\tsecret\\nline\\ttab\tx\tt\t", "4\t\\N\t******\\nline\\ttab\t\\N\tt\t"},
		// multibyte text
		{"5\t\\N\tgeheimnis secret 東京\tx\tt\t\n", "5\t\\N\tgeheimnis ****** 東京\t\\N\tt\t\n"},
	}
	for _, c := range cases {
		got, err := f.Line([]byte("prefix|"), []byte(c.in))
		if err != nil || string(got) != "prefix|"+c.want {
			t.Errorf("Line(%q)\n got %q, %v\nwant %q", c.in, got, err, "prefix|"+c.want)
		}
	}
}

func TestFilterPassThroughAndDrop(t *testing.T) {
	pass := testFilter(t, "public.other", "a", "b")
	if pass.Masks() {
		t.Error("a table without rules masks nothing")
	}
	line := []byte("x\\ty\t\\N\n")
	if got, _ := pass.Line(nil, line); !bytes.Equal(got, line) {
		t.Errorf("pass-through changed %q to %q", line, got)
	}
	keepOnly, err := testRules(t, "version: 1\nkey: env:K\ntables:\n  t: {a: keep}\n").Filter("public.t", []string{"a"}, nil)
	if err != nil || keepOnly.Masks() {
		t.Errorf("keep needs no key and masks nothing: %v", err)
	}
	drop := testFilter(t, "public.audit_log", "id")
	if got, _ := drop.Line([]byte("p"), line); string(got) != "p" || !drop.Masks() {
		t.Errorf("rows: none kept %q", got)
	}
	var nilRules *Rules
	if f, err := nilRules.Filter("public.customer", []string{"email"}, nil); err != nil || f.Masks() {
		t.Errorf("nil rules: %v", err)
	}
}

func TestFilterErrors(t *testing.T) {
	r := testRules(t, filterRules)
	if _, err := r.Filter("public.customer", []string{"id", "email"}, []byte(testKey)); err == nil ||
		!strings.Contains(err.Error(), `r.yaml:6: public.customer.notes: the COPY data of public.customer has no column "notes"`) {
		t.Errorf("missing column: %v", err)
	}
	cols := []string{"id", "email", "bio", "notes", "active"}
	if _, err := r.Filter("public.customer", cols, []byte("short")); err == nil || !strings.Contains(err.Error(), "no masking key") {
		t.Errorf("short key: %v", err)
	}
	f, _ := r.Filter("public.customer", cols, []byte(testKey))
	_, err := f.Line(nil, []byte("1\tsecret@x.y\n"))
	if err == nil || err.Error() != "public.customer row 1: 2 fields, but COPY lists 5 columns" || strings.Contains(err.Error(), "secret") {
		t.Errorf("short row: %v", err)
	}
	dt, _ := testRules(t, "version: 1\nkey: env:K\ntables:\n  t: {d: date_shift}\n").Filter("public.t", []string{"d"}, []byte(testKey))
	got, err := dt.Line([]byte("kept"), []byte("2024-01-01\n"))
	if err != nil {
		t.Fatal(err)
	}
	got, err = dt.Line(got, []byte("born 1980\n"))
	if err == nil || err.Error() != "public.t row 2 column d: "+errNotDate.Error() || string(got[:4]) != "kept" || len(got) != 4+11 {
		t.Errorf("bad date: %q, %v", got, err)
	}
}

func TestFilterReader(t *testing.T) {
	f := testFilter(t, "public.customer", "id", "email", "bio", "notes", "active")
	var in strings.Builder
	for i := 0; i < 5000; i++ {
		in.WriteString("1\t\\N\tno secret here\tnote\tt\n")
	}
	want := strings.Repeat("1\t\\N\tno ****** here\t\\N\tt\n", 5000)
	in.WriteString("\\.\nSET after the data;\n")
	got, err := io.ReadAll(iotest.OneByteReader(f.Reader(strings.NewReader(in.String()))))
	if err != nil || string(got) != want {
		t.Fatalf("Reader: %d bytes, %v", len(got), err)
	}
	var out bytes.Buffer
	rows, err := f.Copy(&out, strings.NewReader(in.String()))
	if err != nil || rows != 5000 || out.String() != want {
		t.Errorf("Copy: %d rows, %v", rows, err)
	}
	// Without an end-of-data line the data ends with the input.
	out.Reset()
	if rows, err := f.Copy(&out, strings.NewReader("1\t\\N\tsecret\tn\tt")); err != nil || rows != 1 || out.String() != "1\t\\N\t******\t\\N\tt" {
		t.Errorf("Copy without \\.: %d, %v, %q", rows, err, out.String())
	}
}

func TestFilterReaderStopsAtEndOfData(t *testing.T) {
	f := testFilter(t, "public.customer", "id", "email", "bio", "notes", "active")
	src := bufio.NewReader(strings.NewReader("1\t\\N\tsecret\tn\tt\n\\.\nSELECT 1;\n"))
	got, err := io.ReadAll(f.Reader(src))
	rest, _ := io.ReadAll(src)
	if err != nil || string(got) != "1\t\\N\t******\t\\N\tt\n" || string(rest) != "SELECT 1;\n" {
		t.Errorf("got %q, %v; the script goes on with %q", got, err, rest)
	}
}

func TestFilterLongLine(t *testing.T) {
	f := testFilter(t, "public.customer", "bio", "email", "notes", "active")
	long := strings.Repeat("secret", 200_000) // 1.2 MB, longer than the read buffer
	got, err := io.ReadAll(f.Reader(strings.NewReader(long + "\t\\N\tn\tt\n")))
	if err != nil || string(got) != strings.Repeat("******", 200_000)+"\t\\N\t\\N\tt\n" {
		t.Errorf("long line: %d bytes, %v", len(got), err)
	}
}

func TestFilterReaderErrors(t *testing.T) {
	f := testFilter(t, "public.customer", "id", "email", "bio", "notes", "active")
	_, err := io.ReadAll(f.Reader(strings.NewReader("1\t\\N\tx\tn\tt\n2\n")))
	if err == nil || !strings.Contains(err.Error(), "row 2: 1 fields") {
		t.Errorf("bad row: %v", err)
	}
	_, err = io.Copy(io.Discard, f.Reader(iotest.ErrReader(boom)))
	if !errors.Is(err, boom) {
		t.Errorf("read error: %v", err)
	}
	_, err = f.Copy(failWriter{}, strings.NewReader("1\t\\N\tx\tn\tt\n"))
	if !errors.Is(err, boom) {
		t.Errorf("write error: %v", err)
	}
}

var boom = errors.New("boom")

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, boom }

// FuzzFilterLine: whatever a line holds, the filter does not panic, fields
// without a rule come out byte for byte, and the masked one is re-escaped.
func FuzzFilterLine(f *testing.F) {
	f.Add([]byte("1\ta@b.c\tx"))
	f.Add([]byte("\\N\t\\N\t\\N"))
	f.Add([]byte("a\\tb\tc\\\\d\\101\t\\x41"))
	f.Add([]byte("0123456789abcdef")) // as long as the smallest read buffer
	r, err := Parse("r.yaml", []byte("version: 1\nkey: env:K\ntables:\n  t: {b: email}\n"))
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		line = bytes.ReplaceAll(line, []byte("\n"), nil)
		filter, _ := r.Filter("public.t", []string{"a", "b", "c"}, []byte(testKey))
		out, err := filter.Line(nil, line)
		pieces, _ := r.Filter("public.t", []string{"a", "b", "c"}, []byte(testKey))
		inPieces, perr := io.ReadAll(pieces.Reader(bufio.NewReaderSize(bytes.NewReader(line), 16)))
		if len(line) > 0 && ((perr == nil) != (err == nil) || err == nil && !bytes.Equal(inPieces, out)) {
			t.Fatalf("%q read in pieces: %q, %v; whole: %q, %v", line, inPieces, perr, out, err)
		}
		in := bytes.Split(line, []byte("\t"))
		if len(in) < 2 {
			if err == nil {
				t.Fatalf("%q: a line without column b passed", line)
			}
			return
		}
		got := bytes.Split(out, []byte("\t"))
		if err != nil || len(got) != len(in) {
			t.Fatalf("%q -> %q, %v", line, out, err)
		}
		for i := range in {
			if i != 1 && !bytes.Equal(in[i], got[i]) {
				t.Fatalf("field %d changed: %q -> %q", i, in[i], got[i])
			}
		}
		switch {
		case IsNull(in[1]):
			if !IsNull(got[1]) {
				t.Fatalf("NULL became %q", got[1])
			}
		case len(in[1]) > 0 && len(DecodeField(nil, in[1])) > 0:
			if !bytes.HasSuffix(got[1], []byte("@example.com")) {
				t.Fatalf("%q masked as %q", in[1], got[1])
			}
		}
	})
}

// TestFilterPieces: a line longer than the read buffer is masked in pieces,
// wherever they split it, exactly as it is masked whole.
func TestFilterPieces(t *testing.T) {
	rows := []string{
		"1\ta\\tb@c.d\tmy secret\\\\x\tnote\tt\t\\x41\\101\n",
		"2\t\\N\t\t\\N\tf\t\n",
		"3\t\\N\tsecret\\nline\\ttab and a longer secret, secret\t" + strings.Repeat("n", 40) + "\tt\t" + strings.Repeat("z", 50) + "\n",
		strings.Repeat("4", 30) + "\tsomeone.with.a.long.name@example.org\t\\N\t\\N\tt\tz\n",
		"5\t\\N\tgeheimnis secret 東京\t\t\t\\N", // the last line of a stream may lack its newline
	}
	data := strings.Join(rows, "")
	for _, table := range []string{"public.customer", "public.other", "public.audit_log"} {
		whole := testFilter(t, table, "id", "email", "bio", "notes", "active", "extra")
		var want []byte
		for _, row := range rows {
			var err error
			if want, err = whole.Line(want, []byte(row)); err != nil {
				t.Fatal(err)
			}
		}
		for size := 16; size <= 64; size++ {
			f := testFilter(t, table, "id", "email", "bio", "notes", "active", "extra")
			got, err := io.ReadAll(f.Reader(bufio.NewReaderSize(strings.NewReader(data), size)))
			if err != nil || !bytes.Equal(got, want) || f.rows != int64(len(rows)) {
				t.Fatalf("%s, read in pieces of %d: %d rows, %v\n got %q\nwant %q", table, size, f.rows, err, got, want)
			}
		}
	}
	f := testFilter(t, "public.customer", "id", "email", "bio", "notes", "active", "extra")
	_, err := io.ReadAll(f.Reader(bufio.NewReaderSize(strings.NewReader("1\t\\N\tx\tn\n2\t"+strings.Repeat("x", 40)+"\n"), 16)))
	if err == nil || err.Error() != "public.customer row 2: 2 fields, but COPY lists 6 columns" {
		t.Errorf("short row in pieces: %v", err)
	}
}

// TestFilterValueCap: a masked value too long to hold fails, naming where;
// null and const take any length, since they never read the value.
func TestFilterValueCap(t *testing.T) {
	f := testFilter(t, "public.customer", "id", "email", "bio", "notes", "active")
	long := func(field int) io.Reader {
		runs := []run{{lit: "1\t\\N\t\\N\t\\N\tt\n"}}
		for i := 0; i < 5; i++ {
			if i == field {
				runs = append(runs, run{fill: 'x', n: maxValue + 1})
			} else {
				runs = append(runs, run{lit: "y"})
			}
			runs = append(runs, run{lit: "\t"})
		}
		runs[len(runs)-1] = run{lit: "\n"}
		return &runReader{runs: runs}
	}
	_, err := f.Copy(io.Discard, long(1))
	if err == nil || err.Error() != "public.customer row 2 column email: a value of more than 64 MiB, too long to mask in memory; mask the column with null or const, which never read its values" {
		t.Errorf("long email: %v", err)
	}
	var out bytes.Buffer
	if _, err := f.Copy(&out, long(3)); err != nil || !strings.HasSuffix(out.String(), "\ty\t\\N\ty\n") {
		t.Errorf("long notes (null): %v, %q", err, out.String())
	}
}
