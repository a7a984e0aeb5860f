package mask

import (
	"fmt"
	"testing"

	"github.com/brianvoe/gofakeit/v7"
)

// BenchmarkTransformers is each transformer's own cost per value, without
// the memo that spares repeated values:
//
//	go test ./mask -run '^$' -bench 'Transformers|Names'
func BenchmarkTransformers(b *testing.B) {
	for _, name := range Names() {
		c := everyTransformer[name]
		b.Run(name, func(b *testing.B) {
			tr := testTransformer(b, c.spec, testKey)
			in := []byte(c.inputs[0])
			var out []byte
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				out, _, _ = tr.k.mask(out[:0], in, tr.h)
			}
		})
	}
}

// BenchmarkNames compares picking from gofakeit's lists by the keyed hash
// (what first_name does) with seeding a gofakeit.Faker per value.
func BenchmarkNames(b *testing.B) {
	in := []byte("alice@corp.example")
	b.Run("list", func(b *testing.B) {
		tr := testTransformer(b, "full_name", testKey)
		var out []byte
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			out, _, _ = tr.k.mask(out[:0], in, tr.h)
		}
	})
	b.Run("gofakeit", func(b *testing.B) {
		h := newHMACer([]byte(testKey), "full_name")
		var out []byte
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			r := h.rnd(in)
			f := gofakeit.New(r.u64())
			out = fmt.Append(out[:0], f.FirstName(), " ", f.LastName())
		}
	})
}
