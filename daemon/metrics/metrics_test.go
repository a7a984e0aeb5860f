package metrics

import (
	"context"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/dittodb/ditto"
	"github.com/dittodb/ditto/storage"
)

type fakeSource struct {
	copies []*ditto.Copy
	golden *ditto.Golden
}

func (f *fakeSource) Copies() ([]*ditto.Copy, error) { return f.copies, nil }
func (f *fakeSource) Usage(context.Context) (storage.Usage, error) {
	return storage.Usage{Size: 100, Used: 40, Free: 60}, nil
}
func (f *fakeSource) CurrentGolden(context.Context) (ditto.Golden, error) {
	if f.golden == nil {
		return ditto.Golden{}, ditto.ErrNoGolden
	}
	return *f.golden, nil
}

func TestMetrics(t *testing.T) {
	src := &fakeSource{copies: []*ditto.Copy{{ID: "a"}, {ID: "b"}}} // no live server: down
	m := New(src)
	m.Observe(ditto.Observation{Op: ditto.OpCreate, Took: 300 * time.Millisecond})
	m.Observe(ditto.Observation{Op: ditto.OpCreate, Err: &ditto.Error{Code: ditto.CodeNoSpace}})
	m.Observe(ditto.Observation{Op: ditto.OpDestroy, Took: time.Second})
	m.Observe(ditto.Observation{Op: ditto.OpDestroy, Err: ditto.ErrNoCopy})
	m.Observe(ditto.Observation{Op: ditto.OpReseed, Took: time.Minute, Err: errors.New("source down")})
	m.Request("POST /v1/copies", 201)
	m.Request("POST /v1/copies", 201)
	m.Request("GET /v1/copies/{id}", 404)

	want := `
# HELP ditto_copies Copies by state (running, down, warm, or being created, reset or destroyed).
# TYPE ditto_copies gauge
ditto_copies{state="creating"} 0
ditto_copies{state="destroying"} 0
ditto_copies{state="down"} 2
ditto_copies{state="resetting"} 0
ditto_copies{state="running"} 0
ditto_copies{state="warm"} 0
# HELP ditto_pool_free_bytes Free space in the pool.
# TYPE ditto_pool_free_bytes gauge
ditto_pool_free_bytes 60
# HELP ditto_pool_size_bytes Size of the pool.
# TYPE ditto_pool_size_bytes gauge
ditto_pool_size_bytes 100
# HELP ditto_copy_create_errors_total Creates that failed, by error code.
# TYPE ditto_copy_create_errors_total counter
ditto_copy_create_errors_total{code="no_space"} 1
# HELP ditto_reseed_failures_total Reseeds run by the daemon that failed (the previous golden stays current).
# TYPE ditto_reseed_failures_total counter
ditto_reseed_failures_total 1
# HELP ditto_api_requests_total API requests, by route and HTTP status code.
# TYPE ditto_api_requests_total counter
ditto_api_requests_total{code="201",route="POST /v1/copies"} 2
ditto_api_requests_total{code="404",route="GET /v1/copies/{id}"} 1
`
	names := []string{"ditto_copies", "ditto_pool_free_bytes", "ditto_pool_size_bytes", "ditto_copy_create_errors_total",
		"ditto_reseed_failures_total", "ditto_api_requests_total", "ditto_golden_age_seconds", "ditto_copy_destroy_errors_total"}
	if err := testutil.GatherAndCompare(m.reg, strings.NewReader(want), names...); err != nil {
		t.Fatal(err)
	}
	if n := testutil.CollectAndCount(m.createSeconds); n != 1 {
		t.Fatalf("create histogram: %d series", n)
	}
	if err := testutil.GatherAndCompare(m.reg, strings.NewReader(`
# HELP ditto_copy_create_seconds Time to create a copy, until its server accepts connections (successful creates).
# TYPE ditto_copy_create_seconds histogram
ditto_copy_create_seconds_bucket{le="0.05"} 0
ditto_copy_create_seconds_bucket{le="0.1"} 0
ditto_copy_create_seconds_bucket{le="0.25"} 0
ditto_copy_create_seconds_bucket{le="0.5"} 1
ditto_copy_create_seconds_bucket{le="1"} 1
ditto_copy_create_seconds_bucket{le="2.5"} 1
ditto_copy_create_seconds_bucket{le="5"} 1
ditto_copy_create_seconds_bucket{le="10"} 1
ditto_copy_create_seconds_bucket{le="30"} 1
ditto_copy_create_seconds_bucket{le="60"} 1
ditto_copy_create_seconds_bucket{le="+Inf"} 1
ditto_copy_create_seconds_sum 0.3
ditto_copy_create_seconds_count 1
`), "ditto_copy_create_seconds"); err != nil {
		t.Fatal(err)
	}

	// with a golden, its age; the handler serves it all as text
	src.golden = &ditto.Golden{CreatedAt: time.Now().Add(-time.Hour)}
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body := rec.Body.String()
	for _, s := range []string{"ditto_golden_age_seconds 36", "ditto_reseed_seconds_count{result=\"failed\"} 1", "ditto_copy_destroy_seconds_count 1", "process_resident_memory_bytes"} {
		if !strings.Contains(body, s) {
			t.Errorf("/metrics lacks %q", s)
		}
	}
}
