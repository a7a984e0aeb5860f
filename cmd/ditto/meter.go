package main

import (
	"os"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"github.com/dittodb/ditto/postgres"
)

// terminalMeter shows long work as a live bar on stderr: step, percent,
// amount, rate and time left.
type terminalMeter struct {
	mu    sync.Mutex
	bar   *progressbar.ProgressBar
	total int64
	unit  string
}

// newMeter returns a bar on stderr when it is a terminal; in a pipe or a
// CI log, nil: the log's periodic lines say how far the work is.
func newMeter() postgres.Meter {
	if !term.IsTerminal(int(os.Stderr.Fd())) {
		return nil
	}
	return &terminalMeter{}
}

func (m *terminalMeter) Show(step string, done, total int64, unit string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.bar == nil || total != m.total || unit != m.unit {
		if m.bar != nil {
			m.bar.Finish()
		}
		m.total, m.unit = total, unit
		if total <= 0 {
			total = -1 // a spinner
		}
		opts := []progressbar.Option{
			progressbar.OptionSetWriter(os.Stderr), progressbar.OptionSetWidth(30), progressbar.OptionShowCount(),
			progressbar.OptionSetPredictTime(true), progressbar.OptionShowElapsedTimeOnFinish(),
			progressbar.OptionThrottle(100 * time.Millisecond), progressbar.OptionOnCompletion(func() { os.Stderr.WriteString("\n") }),
			progressbar.OptionFullWidth(),
		}
		if unit == "bytes" {
			opts = append(opts, progressbar.OptionShowBytes(true))
		} else {
			opts = append(opts, progressbar.OptionSetItsString(unit), progressbar.OptionShowIts())
		}
		m.bar = progressbar.NewOptions64(total, opts...)
	}
	m.bar.Describe(step)
	_ = m.bar.Set64(done)
}

func (m *terminalMeter) Close() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.bar != nil {
		_ = m.bar.Finish()
		m.bar = nil
	}
}
