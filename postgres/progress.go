package postgres

import (
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
)

// progressEvery is how often a long restore reports in the log, besides
// each table; meterEvery, how often a Meter is shown the progress.
const (
	progressEvery = 5 * time.Second
	meterEvery    = 200 * time.Millisecond
)

// Meter shows a person how far a long step is (a bar on a terminal). With a
// Meter, the periodic log lines give way to it; the first and last stay.
type Meter interface {
	// Show says that step is at done of total units (total 0: unknown).
	// It may be called from several goroutines.
	Show(step string, done, total int64, unit string)
	// Close ends the display before other output follows.
	Close()
}

// progress reports how far a restore is: items of the archive's table of
// contents, or bytes of a plain dump.
type progress struct {
	log   hclog.Logger
	meter Meter // nil: periodic log lines
	unit  string
	total int64
	start time.Time
	n     atomic.Int64
	mu    sync.Mutex
	step  string
	quit  chan struct{}
	done  chan struct{} // closed when the reporting goroutine has ended
	once  sync.Once
}

func newProgress(log hclog.Logger, meter Meter, unit string, total int64) *progress {
	p := &progress{log: log, meter: meter, unit: unit, total: total, start: time.Now(), quit: make(chan struct{}), done: make(chan struct{})}
	every := progressEvery
	if meter != nil {
		every = meterEvery
	}
	go func() {
		defer close(p.done)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-p.quit:
				return
			case <-t.C:
				p.report("restoring")
			}
		}
	}()
	return p
}

// at records the current step; a table start is also reported at once.
func (p *progress) at(step string, announce bool) {
	p.mu.Lock()
	p.step = step
	p.mu.Unlock()
	if announce {
		p.report("restoring")
	}
}

func (p *progress) report(msg string) {
	if p.meter != nil {
		p.mu.Lock()
		step := p.step
		p.mu.Unlock()
		p.meter.Show(step, p.n.Load(), p.total, p.unit)
		return
	}
	p.logLine(msg)
}

func (p *progress) logLine(msg string) {
	p.mu.Lock()
	step := p.step
	p.mu.Unlock()
	n := p.n.Load()
	args := []any{"step", step, p.unit, n, "elapsed", time.Since(p.start).Round(time.Second)}
	if p.total > 0 {
		args = append(args, "of", p.total, "percent", min(100, n*100/p.total))
	}
	p.log.Info(msg, args...)
}

// stop ends the reports (and the Meter's display) once the reporting
// goroutine is done.
func (p *progress) stop() {
	p.once.Do(func() {
		close(p.quit)
		<-p.done
		if p.meter != nil {
			p.meter.Close()
		}
	})
}

func (p *progress) finish() {
	if p.meter != nil {
		p.meter.Show("done", max(p.total, p.n.Load()), p.total, p.unit)
	}
	p.stop()
	p.at("done", false)
	p.logLine("restore done")
}

// counted adds the bytes read through it to p.
type counted struct {
	r io.Reader
	p *progress
}

func (c counted) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	c.p.n.Add(int64(n))
	return n, err
}
