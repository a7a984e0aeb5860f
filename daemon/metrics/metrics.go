// Package metrics is the daemon's Prometheus metrics, served on /metrics:
// copies by state, create and destroy latencies, the golden's age, the
// pool's size and free space, reseeds, and API requests. The domain knows
// nothing of Prometheus: it tells a ditto.Observer what it did, and the
// gauges are read from it when scraped.
package metrics

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/dittodb/ditto"
	"github.com/dittodb/ditto/storage"
)

// Source is what the gauges are read from when scraped: the Manager.
type Source interface {
	Copies() ([]*ditto.Copy, error)
	Usage(ctx context.Context) (storage.Usage, error)
	CurrentGolden(ctx context.Context) (ditto.Golden, error)
}

// CopyStates are the values of the copies gauge's state label, each
// reported (0 when no copy is in it) so that a graph never has holes.
var CopyStates = []string{"running", "down", "creating", "resetting", "destroying", "warm"}

// Metrics holds the daemon's metrics in a registry of their own.
type Metrics struct {
	reg            *prometheus.Registry
	createSeconds  prometheus.Histogram
	createErrors   *prometheus.CounterVec
	destroySeconds prometheus.Histogram
	destroyErrors  *prometheus.CounterVec
	reseedSeconds  *prometheus.HistogramVec
	reseedFailures prometheus.Counter
	requests       *prometheus.CounterVec
}

// New returns the metrics, with the gauges read from src.
func New(src Source) *Metrics {
	copySeconds := []float64{.05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60}
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		createSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "ditto_copy_create_seconds",
			Help: "Time to create a copy, until its server accepts connections (successful creates).", Buckets: copySeconds}),
		createErrors: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ditto_copy_create_errors_total",
			Help: "Creates that failed, by error code."}, []string{"code"}),
		destroySeconds: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "ditto_copy_destroy_seconds",
			Help: "Time to destroy a copy (successful destroys).", Buckets: copySeconds}),
		destroyErrors: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ditto_copy_destroy_errors_total",
			Help: "Destroys that failed, by error code (a copy that does not exist is not counted)."}, []string{"code"}),
		reseedSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "ditto_reseed_seconds",
			Help: "Time a reseed run by the daemon took, by result (ok, failed).", Buckets: prometheus.ExponentialBuckets(1, 4, 9)}, []string{"result"}),
		reseedFailures: prometheus.NewCounter(prometheus.CounterOpts{Name: "ditto_reseed_failures_total",
			Help: "Reseeds run by the daemon that failed (the previous golden stays current)."}),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ditto_api_requests_total",
			Help: "API requests, by route and HTTP status code."}, []string{"route", "code"}),
	}
	m.reg.MustRegister(m.createSeconds, m.createErrors, m.destroySeconds, m.destroyErrors,
		m.reseedSeconds, m.reseedFailures, m.requests, &gauges{src: src},
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Handler serves the metrics in Prometheus' text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// Observe counts what the Manager did (ditto.Observer).
func (m *Metrics) Observe(o ditto.Observation) {
	code := func() string { c, _, _ := ditto.Describe(o.Err); return string(c) }
	switch o.Op {
	case ditto.OpCreate:
		if o.Err == nil {
			m.createSeconds.Observe(o.Took.Seconds())
		} else {
			m.createErrors.WithLabelValues(code()).Inc()
		}
	case ditto.OpDestroy:
		switch {
		case o.Err == nil:
			m.destroySeconds.Observe(o.Took.Seconds())
		case !errors.Is(o.Err, ditto.ErrNoCopy):
			m.destroyErrors.WithLabelValues(code()).Inc()
		}
	case ditto.OpReseed:
		result := "ok"
		if o.Err != nil {
			result = "failed"
			m.reseedFailures.Inc()
		}
		m.reseedSeconds.WithLabelValues(result).Observe(o.Took.Seconds())
	}
}

// Request counts an API request (server.Options.Requests).
func (m *Metrics) Request(route string, status int) {
	m.requests.WithLabelValues(route, strconv.Itoa(status)).Inc()
}

// gauges reads the copies, the golden and the pool when scraped.
type gauges struct{ src Source }

var (
	copiesDesc = prometheus.NewDesc("ditto_copies", "Copies by state (running, down, warm, or being created, reset or destroyed).", []string{"state"}, nil)
	goldenAge  = prometheus.NewDesc("ditto_golden_age_seconds", "Age of the current golden; absent before the first reseed.", nil, nil)
	poolSize   = prometheus.NewDesc("ditto_pool_size_bytes", "Size of the pool.", nil, nil)
	poolFree   = prometheus.NewDesc("ditto_pool_free_bytes", "Free space in the pool.", nil, nil)
	scrapeErrs = prometheus.NewDesc("ditto_scrape_errors", "Gauges that could not be read in this scrape.", nil, nil)
)

// scrapeTimeout bounds the pool's usage query of one scrape.
const scrapeTimeout = 10 * time.Second

func (g *gauges) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{copiesDesc, goldenAge, poolSize, poolFree, scrapeErrs} {
		ch <- d
	}
}

func (g *gauges) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), scrapeTimeout)
	defer cancel()
	failed := 0
	if copies, err := g.src.Copies(); err == nil {
		by := map[string]int{}
		for _, s := range CopyStates {
			by[s] = 0
		}
		for _, c := range copies {
			by[c.Status()]++
		}
		for s, n := range by {
			ch <- prometheus.MustNewConstMetric(copiesDesc, prometheus.GaugeValue, float64(n), s)
		}
	} else {
		failed++
	}
	switch gd, err := g.src.CurrentGolden(ctx); {
	case err == nil:
		ch <- prometheus.MustNewConstMetric(goldenAge, prometheus.GaugeValue, time.Since(gd.CreatedAt).Seconds())
	case !errors.Is(err, ditto.ErrNoGolden):
		failed++
	}
	if u, err := g.src.Usage(ctx); err == nil {
		ch <- prometheus.MustNewConstMetric(poolSize, prometheus.GaugeValue, float64(u.Size))
		ch <- prometheus.MustNewConstMetric(poolFree, prometheus.GaugeValue, float64(u.Free))
	} else {
		failed++
	}
	ch <- prometheus.MustNewConstMetric(scrapeErrs, prometheus.GaugeValue, float64(failed))
}
