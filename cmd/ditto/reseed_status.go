package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/dittodb/ditto"
)

// printReseedStatus prints the reseed lines of `ditto status`.
func printReseedStatus(s ditto.ReseedStatus, now time.Time) {
	var lines []string
	if r := s.Running; r != nil {
		lines = append(lines, fmt.Sprintf("running since %s (%s ago, %s)", when(r.StartedAt), ago(now, r.StartedAt), r.Trigger))
	}
	// finished runs by their end: "3m ago" is when the golden changed
	if r := s.LastSuccess; r != nil {
		end := r.StartedAt.Add(r.Duration())
		lines = append(lines, fmt.Sprintf("last success %s (%s ago, %s, took %s): %s", when(end), ago(now, end),
			r.Trigger, r.Duration().Round(time.Millisecond), r.Generation))
	}
	if r := s.LastFailure; r != nil {
		end := r.StartedAt.Add(r.Duration())
		lines = append(lines, fmt.Sprintf("last failure %s (%s ago, %s, after %s): %s", when(end), ago(now, end),
			r.Trigger, r.Duration().Round(time.Millisecond), oneLine(r.Error)))
	}
	if s.NextRun != nil {
		lines = append(lines, fmt.Sprintf("next run %s (in %s)", when(*s.NextRun), max(s.NextRun.Sub(now), 0).Round(time.Second)))
	}
	if len(lines) == 0 {
		return
	}
	lines = append(lines, fmt.Sprintf("%d succeeded, %d failed", s.Successes, s.Failures))
	fmt.Printf("reseed:   %s\n", strings.Join(lines, "\n          "))
}

func when(t time.Time) string { return t.Local().Format("2006-01-02 15:04:05") }

func ago(now, t time.Time) time.Duration { return now.Sub(t).Round(time.Second) }

// oneLine keeps an error's lines (pg_dump's output) on one of the status.
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }
