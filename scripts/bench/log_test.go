package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
)

// The benchmark reads durations from what ditto's logger writes with
// --log-json, and stops at a timing ditto no longer logs.
func TestDittoLogTimings(t *testing.T) {
	var out bytes.Buffer
	log := hclog.New(&hclog.LoggerOptions{Name: "ditto", Level: hclog.Debug, JSONFormat: true, Output: &out})
	log.Info("restore done", "step", "done", "elapsed", time.Second) // the restore's own progress
	log.Info("restore done", "took", 1500*time.Millisecond)
	log.Debug("copy server ready", "id", "x", "ready", 2500*time.Microsecond, "password", time.Millisecond)
	var restore, ready, x float64
	if err := readTimings(out.Bytes(), timingField{"restore done", "took", &restore}, timingField{"copy server ready", "ready", &ready}); err != nil {
		t.Fatal(err)
	}
	if restore != 1500 || ready != 2.5 {
		t.Errorf("restore %v ms, ready %v ms; want 1500 and 2.5", restore, ready)
	}
	if err := readTimings(out.Bytes(), timingField{"restore finished", "took", &x}); err == nil || !strings.Contains(err.Error(), `"restore finished"`) {
		t.Errorf("a message ditto did not log: %v; want an error naming it", err)
	}
	if err := readTimings(out.Bytes(), timingField{"copy server ready", "id", &x}); err == nil {
		t.Error("a field that is no duration: no error")
	}
	if _, err := parseLog([]byte("2024-01-01T00:00:00Z [INFO]  ditto: restore done: took=1.5s\n")); err == nil {
		t.Error("a human log line: no error")
	}
}
