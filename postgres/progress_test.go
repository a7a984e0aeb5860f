package postgres

import (
	"bytes"
	"strings"
	"sync"
	"testing"

	"github.com/hashicorp/go-hclog"
)

type fakeMeter struct {
	mu     sync.Mutex
	shows  []string
	closed bool
}

func (m *fakeMeter) Show(step string, done, total int64, unit string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.shows = append(m.shows, step)
}

func (m *fakeMeter) Close() { m.mu.Lock(); m.closed = true; m.mu.Unlock() }

// TestProgressMeter: with a Meter, steps go to it instead of the log, which
// keeps only the final line; the Meter is closed before that line.
func TestProgressMeter(t *testing.T) {
	var log bytes.Buffer
	m := &fakeMeter{}
	p := newProgress(hclog.New(&hclog.LoggerOptions{Output: &log}), m, "items", 3)
	p.at("table a", true)
	p.n.Add(3)
	p.finish()
	if !m.closed || len(m.shows) < 2 || m.shows[0] != "table a" || m.shows[len(m.shows)-1] != "done" {
		t.Fatalf("the meter saw %v (closed %v); want table a first, done last, then closed", m.shows, m.closed)
	}
	if out := log.String(); strings.Count(out, "\n") != 1 || !strings.Contains(out, "restore done") {
		t.Fatalf("with a meter the log holds only the last line: %q", out)
	}
	log.Reset()
	p = newProgress(hclog.New(&hclog.LoggerOptions{Output: &log}), nil, "items", 3)
	p.at("table a", true)
	p.finish()
	if out := log.String(); !strings.Contains(out, "table a") || !strings.Contains(out, "restore done") {
		t.Fatalf("without a meter the log has each step: %q", out)
	}
}
