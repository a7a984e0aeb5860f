package main

import (
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

// The reliability report: tests that try faults, load, bad input or access
// attempts record what they tried; with DITTO_RELIABILITY_REPORT=FILE the
// run writes the table there (the README's reliability section is a copy).
var reliability struct {
	sync.Mutex
	rows []string
}

// record notes what the test t tries, with how many attempts; the result is
// taken when t ends.
func record(t *testing.T, area, what string, count int) {
	t.Cleanup(func() {
		result := "pass"
		if t.Failed() {
			result = "FAIL"
		}
		reliability.Lock()
		defer reliability.Unlock()
		reliability.rows = append(reliability.rows, fmt.Sprintf("| %s | %s | %d | %s | %s |", area, what, count, result, t.Name()))
	})
}

func writeReliabilityReport() error {
	path := os.Getenv("DITTO_RELIABILITY_REPORT")
	if path == "" || len(reliability.rows) == 0 {
		return nil
	}
	backend := "btrfs"
	if os.Getenv("DITTO_TEST_ZFS_POOL") != "" {
		backend = "zfs"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Backend %s, %s, produced by `go test ./cmd/ditto` with DITTO_RELIABILITY_REPORT.\n\n", backend, time.Now().UTC().Format("2006-01-02"))
	b.WriteString("| area | what was tried | count | result | test |\n|---|---|---|---|---|\n")
	b.WriteString(strings.Join(reliability.rows, "\n") + "\n")
	return os.WriteFile(path, []byte(b.String()), 0o644)
}
