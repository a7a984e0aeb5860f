package postgres

import (
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
)

// progressEvery is how often a long restore reports, besides each table.
const progressEvery = 5 * time.Second

// progress reports how far a restore is: items of the archive's table of
// contents, or bytes of a plain dump.
type progress struct {
	log   hclog.Logger
	unit  string
	total int64
	start time.Time
	n     atomic.Int64
	mu    sync.Mutex
	step  string
	quit  chan struct{}
	once  sync.Once
}

func newProgress(log hclog.Logger, unit string, total int64) *progress {
	p := &progress{log: log, unit: unit, total: total, start: time.Now(), quit: make(chan struct{})}
	go func() {
		t := time.NewTicker(progressEvery)
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

// at records the current step; a table start is also logged at once.
func (p *progress) at(step string, announce bool) {
	p.mu.Lock()
	p.step = step
	p.mu.Unlock()
	if announce {
		p.report("restoring")
	}
}

func (p *progress) report(msg string) {
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

func (p *progress) stop() { p.once.Do(func() { close(p.quit) }) }

func (p *progress) finish() {
	p.stop()
	p.at("done", false)
	p.report("restore done")
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
