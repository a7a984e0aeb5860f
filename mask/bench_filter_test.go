package mask

import (
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
)

// benchColumns has 8 text columns; the rules mask 2 of them (email,
// last_name): a quarter, as in the performance target.
var benchColumns = []string{"id", "email", "first_name", "last_name", "phone", "street", "city",
	"notes", "company", "created_at", "amount", "active"}

const benchRules = `version: 1
key: env:K
tables:
  public.customer: {email: email, last_name: last_name}
`

// benchData is about 100 MB of customer rows. Last names follow a Zipf
// distribution over 50,000 distinct names, as real surnames do (a few are
// very common), so the memo sees a realistic hit rate; emails are unique.
var benchData = sync.OnceValue(func() []byte {
	const size = 100 << 20
	var b bytes.Buffer
	b.Grow(size + 1024)
	zipf := rand.NewZipf(rand.New(rand.NewPCG(1, 2)), 1.1, 1, 50_000-1)
	for i := 0; b.Len() < size; i++ {
		k := int(zipf.Uint64())
		last := lastNames[k%len(lastNames)]
		if k >= len(lastNames) {
			last += "-" + lastNames[k/len(lastNames)]
		}
		notes := "regular customer, prefers e-mail"
		switch i % 10 {
		case 0:
			notes = `line one\nline two\twith tab and \\ backslash`
		case 1:
			notes = `\N`
		}
		fmt.Fprintf(&b, "%d\tuser%d@corp.example.com\t%s\t%s\t+1 (415) 555-%04d\t%d Market Street\tSan Francisco\t%s\tAcme Widgets Ltd\t2024-03-%02d 12:34:56.789+00\t%d.%02d\t%c\n",
			i, i, firstNames[i%len(firstNames)], last, i%10000, i%9999+1, notes, i%28+1, i%100000, i%100, "tf"[i%2])
	}
	return b.Bytes()
})

// BenchmarkFilter measures the masking throughput of one table stream:
//
//	go test ./mask -run '^$' -bench Filter -benchtime 5x
func BenchmarkFilter(b *testing.B) {
	data := benchData()
	r := testRules(b, benchRules)
	for _, table := range []string{"public.customer", "public.unmasked"} {
		b.Run(table, func(b *testing.B) {
			f, err := r.Filter(table, benchColumns, []byte(testKey))
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				if _, err := f.Copy(io.Discard, bytes.NewReader(data)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkLine is the per-row cost without I/O.
func BenchmarkLine(b *testing.B) {
	data := benchData()
	line := data[:bytes.IndexByte(data, '\n')+1]
	f, err := testRules(b, benchRules).Filter("public.customer", benchColumns, []byte(testKey))
	if err != nil {
		b.Fatal(err)
	}
	var out []byte
	b.SetBytes(int64(len(line)))
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		out, _ = f.Line(out[:0], line)
	}
}

// BenchmarkScript is BenchmarkFilter through Script, the path reseed
// takes: the same rows inside a COPY block of a SQL script.
func BenchmarkScript(b *testing.B) {
	data := benchData()
	r := testRules(b, benchRules)
	for _, table := range []string{"public.customer", "public.unmasked"} {
		b.Run(table, func(b *testing.B) {
			header := fmt.Sprintf("SET x = 1;\nCOPY %s (%s) FROM stdin;\n", table, strings.Join(benchColumns, ", "))
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				src := io.MultiReader(strings.NewReader(header), bytes.NewReader(data), strings.NewReader("\\.\n\n"))
				if err := r.Script(io.Discard, src, []byte(testKey)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
