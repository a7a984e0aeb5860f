package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestCrashPoints kills ditto with SIGKILL at every named step of copy
// create, destroy, reset, reseed and gc (DITTO_CRASH_AT, honoured by the
// test build only). After each: the current golden still serves copies, one
// `ditto gc` leaves no process, volume, port reservation, record or
// temporary file behind, and the next command works without repair.
func TestCrashPoints(t *testing.T) {
	f := goldenFixture(t)
	withCopy := func(args ...string) func() []string {
		return func() []string { return append(args, f.create().ID) }
	}
	reseed := func() []string { return []string{"reseed", "--dump", sampleSQL(t)} }
	cases := []struct {
		point string
		args  func() []string
	}{
		{"create:reserved", func() []string { return []string{"copy", "create"} }},
		{"start:cloned", func() []string { return []string{"copy", "create"} }},
		{"start:spawned", func() []string { return []string{"copy", "create"} }},
		{"create:ready", func() []string { return []string{"copy", "run", "--", "true"} }},
		{"destroy:claimed", withCopy("copy", "destroy")},
		{"destroy:stopped", withCopy("copy", "destroy")},
		{"destroy:volume-gone", withCopy("copy", "destroy")},
		{"reset:claimed", withCopy("copy", "reset")},
		{"reset:volume-gone", withCopy("copy", "reset")},
		{"start:spawned", withCopy("copy", "reset")},
		{"reseed:locked", reseed},
		{"reseed:dumped", func() []string { return []string{"reseed", "--source-url", f.create().DatabaseURL} }},
		{"reseed:building", reseed},
		{"reseed:initdb", reseed},
		{"reseed:restored", reseed},
		{"reseed:stopped", reseed},
		{"reseed:frozen", reseed},
		{"reseed:switched", reseed},
		{"gc:volume-removed", reseed}, // reseed's own gc of the old golden
		{"gc:swept", func() []string {
			f.create("--ttl", "1ms")
			time.Sleep(10 * time.Millisecond)
			return []string{"gc"}
		}},
	}
	record(t, "faults", "kill -9 at a named step of copy create, destroy, reset, reseed or gc; then gc leaves nothing and a new copy works", len(cases))
	var report []string
	for _, tc := range cases {
		args := tc.args()
		t.Run(tc.point+" "+strings.Join(args[:min(2, len(args))], " "), func(t *testing.T) {
			f := f.with(t)
			r := f.run(append([]string{"DITTO_CRASH_AT=" + tc.point}, args...)...)
			if r.code != -1 {
				t.Fatalf("ditto %v with DITTO_CRASH_AT=%s was not killed there: %s", args, tc.point, r)
			}
			f.must("gc")
			for _, c := range f.list() { // copies made as sources stay
				f.must("copy", "destroy", c.ID)
			}
			f.assertClean(t)
			assertTmpEmpty(t, f)
			f.assertOneGolden(t)
			c := f.create()
			if got := mustPsql(t, c.DatabaseURL, "SELECT count(*) FROM orders"); got != "50000" {
				t.Fatalf("after the crash a new copy has %s orders", got)
			}
			f.must("copy", "destroy", c.ID)
			report = append(report, tc.point)
		})
	}
	t.Logf("crash points survived: %d of %d: %v", len(report), len(cases), report)
}

// assertOneGolden checks that the current golden is the only generation
// left and that no half-built one remains.
func (f *fixture) assertOneGolden(t *testing.T) {
	t.Helper()
	var s struct {
		Generations int
		Golden      *struct{ Generation string }
	}
	json.Unmarshal([]byte(f.must("status", "--format", "json")), &s)
	if s.Golden == nil || s.Generations != 1 {
		t.Fatalf("status after gc: golden %v, %d generations; want the current one only", s.Golden, s.Generations)
	}
	if os.Getenv("DITTO_TEST_ZFS_POOL") == "" {
		if entries, _ := os.ReadDir(filepath.Join(f.pool, "building")); len(entries) != 0 {
			t.Fatalf("half-built golden left: %v", entries)
		}
	}
}
