package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/dittodb/ditto/internal/testpg"
	"github.com/dittodb/ditto/postgres"
)

// BenchmarkStartReady measures what a copy costs besides its clone: start
// postgres on an initdb'ed cluster and wait until it answers, then stop it.
// The sub-benchmarks compare readiness polling intervals.
func BenchmarkStartReady(b *testing.B) {
	c := testpg.InitDB(b)
	o := c.Options(testpg.FreePort(b))
	o.Listen = ""
	defer func(d time.Duration) { *postgres.PollEvery = d }(*postgres.PollEvery)
	for _, every := range []time.Duration{500 * time.Microsecond, time.Millisecond, 2 * time.Millisecond, 5 * time.Millisecond, 10 * time.Millisecond} {
		b.Run(every.String(), func(b *testing.B) {
			*postgres.PollEvery = every
			ctx := context.Background()
			var ready, stop time.Duration
			for b.Loop() {
				t0 := time.Now()
				s, err := postgres.Start(ctx, o)
				if err != nil {
					b.Fatal(err)
				}
				conn, err := s.WaitReady(ctx, testpg.Superuser, "postgres")
				if err != nil {
					b.Fatal(err)
				}
				t1 := time.Now()
				conn.Close(ctx)
				if err := postgres.Stop(ctx, s.Proc); err != nil {
					b.Fatal(err)
				}
				ready += t1.Sub(t0)
				stop += time.Since(t1)
			}
			b.ReportMetric(float64(ready.Milliseconds())/float64(b.N), "ms-to-ready")
			b.ReportMetric(float64(stop.Milliseconds())/float64(b.N), "ms-to-stop")
		})
	}
}
