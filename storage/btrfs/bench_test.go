package btrfs_test

import (
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"testing"
	"time"

	"github.com/dittodb/ditto/internal/testbtrfs"
	"github.com/dittodb/ditto/storage"
	"github.com/dittodb/ditto/storage/btrfs"
)

// BenchmarkClone makes and destroys a copy of a golden holding 200 MB, once
// in few big files and once in many small ones: a clone should cost the
// same for both. It reports clone and destroy time separately.
func BenchmarkClone(b *testing.B) {
	for _, c := range []struct{ files, size int }{{200, 1 << 20}, {20000, 10 << 10}} {
		b.Run(fmt.Sprintf("%dx%dKiB", c.files, c.size>>10), func(b *testing.B) {
			s, err := btrfs.Open(filepath.Join(testbtrfs.NewSize(b, 1<<30), "pool"), -1)
			if err != nil {
				b.Fatal(err)
			}
			dir, err := s.CreateBuilding(ctx, "g1")
			if err != nil {
				b.Fatal(err)
			}
			data := make([]byte, c.size)
			for i := range data {
				data[i] = byte(rand.Uint32())
			}
			for i := 0; i < c.files; i++ {
				write(b, filepath.Join(dir, "base", fmt.Sprint(i%100), fmt.Sprint(i)), string(data))
			}
			if _, err := s.Freeze(ctx, "g1"); err != nil {
				b.Fatal(err)
			}
			var clone, destroy time.Duration
			for i := 0; b.Loop(); i++ {
				id := fmt.Sprint("c", i)
				t0 := time.Now()
				if _, err := s.Clone(ctx, "g1", id); err != nil {
					b.Fatal(err)
				}
				t1 := time.Now()
				if err := s.Destroy(ctx, storage.KindCopy, id); err != nil {
					b.Fatal(err)
				}
				clone, destroy = clone+t1.Sub(t0), destroy+time.Since(t1)
			}
			b.ReportMetric(float64(clone.Nanoseconds())/float64(b.N), "clone-ns/op")
			b.ReportMetric(float64(destroy.Nanoseconds())/float64(b.N), "destroy-ns/op")
		})
	}
}
