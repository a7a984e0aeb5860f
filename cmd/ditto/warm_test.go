package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// warmRecord is what the test reads of a copy's record in the home.
type warmRecord struct {
	ID       string `json:"id"`
	State    string `json:"state"`
	Golden   string `json:"golden"`
	Password string `json:"password"`
	Port     int    `json:"port"`
}

// warmRecords reads the records of the home's warm copies.
func (f *fixture) warmRecords(t *testing.T) map[string]warmRecord {
	t.Helper()
	out := map[string]warmRecord{}
	paths, _ := filepath.Glob(filepath.Join(f.home, "copies", "*.json"))
	for _, p := range paths {
		var r warmRecord
		b, err := os.ReadFile(p)
		if err != nil || json.Unmarshal(b, &r) != nil {
			continue // removed or replaced meanwhile
		}
		if r.State == "warm" {
			out[r.ID] = r
		}
	}
	return out
}

// waitWarm waits until the home holds n warm copies, all of golden gen
// ("" for any), and returns them.
func (f *fixture) waitWarm(t *testing.T, d *daemonProc, n int, gen string) map[string]warmRecord {
	t.Helper()
	var ws map[string]warmRecord
	for deadline := time.Now().Add(90 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		ws = f.warmRecords(t)
		ok := len(ws) == n
		for _, w := range ws {
			ok = ok && (gen == "" || w.Golden == gen)
		}
		if ok {
			return ws
		}
		if time.Now().After(deadline) {
			b, _ := os.ReadFile(d.log)
			t.Fatalf("want %d warm copies of golden %q, have %+v; daemon log:\n%s", n, gen, ws, b)
		}
	}
}

type warmStatus struct {
	Copies int `json:"copies"`
	Warm   struct {
		Target     int    `json:"target"`
		Copies     int    `json:"copies"`
		Ports      []int  `json:"ports"`
		Memory     uint64 `json:"memory_bytes"`
		ServedWarm uint64 `json:"served_warm"`
		ServedCold uint64 `json:"served_cold"`
	} `json:"warm"`
}

func (d *daemonProc) status(t *testing.T) warmStatus {
	t.Helper()
	var s warmStatus
	if err := json.Unmarshal([]byte(d.mustAs(t, nil, "status", "--format", "json")), &s); err != nil {
		t.Fatal(err)
	}
	return s
}

// postmastersMatchRecords checks that every postgres on the pool is a
// recorded copy's, and every recorded copy has one: nothing leaked. A copy
// being destroyed meanwhile (its server stopped, its record not yet gone)
// is waited for.
func (f *fixture) postmastersMatchRecords(t *testing.T) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		paths, _ := filepath.Glob(filepath.Join(f.home, "copies", "*.json"))
		got := postgresUnder(f.pool)
		if len(got) == len(paths) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d postgres servers run on the pool for %d copy records", len(got), len(paths))
		}
	}
}

// TestWarm: a daemon with warm copies hands them out with fresh passwords,
// never the same one twice and never one of an old golden; a daemon killed
// and started again adopts them; a smaller pool destroys the extras; many
// concurrent creates all succeed, served warm and cold.
func TestWarm(t *testing.T) {
	f := goldenFixture(t)
	group, _ := newGroup(t)
	d := f.startDaemon(t, group, "--warm", "2")
	warm := f.waitWarm(t, d, 2, "")

	t.Run("hidden but from admins", func(t *testing.T) {
		record(t, "warm", "warm copies are in no list but an admin's copy list --all, and status counts them with their ports and memory", 1)
		if cs := d.listAs(t, nil); len(cs) != 0 {
			t.Fatalf("copy list shows %v; want no warm copy", ids(cs))
		}
		var all []copyInfo
		if err := json.Unmarshal([]byte(d.mustAs(t, nil, "copy", "list", "--all", "--format", "json")), &all); err != nil {
			t.Fatal(err)
		}
		if len(all) != 2 || all[0].State != "warm" {
			t.Fatalf("copy list --all: %+v; want the 2 warm copies", all)
		}
		s := d.status(t)
		if s.Copies != 0 || s.Warm.Copies != 2 || s.Warm.Target != 2 || len(s.Warm.Ports) != 2 || s.Warm.Memory == 0 {
			t.Fatalf("status: %+v; want 2 warm copies with their ports and memory", s)
		}
	})

	t.Run("claim", func(t *testing.T) {
		record(t, "warm", "a create claims a warm copy: it works, with a fresh password (the warm one is refused), an empty log and reset statistics", 1)
		c := d.createAs(t, nil, "--ttl", "10m", "--label", "job=7")
		w, ok := warm[c.ID]
		if !ok {
			t.Fatalf("create made %s; want one of the warm copies %v", c.ID, warm)
		}
		if got := mustPsql(t, c.DatabaseURL, "select count(*) from customer"); got != "10000" {
			t.Fatalf("the claimed copy answers %q", got)
		}
		if passwordOf(t, c.DatabaseURL) == w.Password {
			t.Fatal("the claimed copy kept the password it had while warm")
		}
		old := strings.Replace(c.DatabaseURL, passwordOf(t, c.DatabaseURL), w.Password, 1)
		if out, err := psql(t, old, "select 1"); err == nil || !strings.Contains(out, "password authentication failed") {
			t.Fatalf("the warm copy's password still logs in: %v %s", err, out)
		}
		if got := mustPsql(t, c.DatabaseURL, "select stats_reset is not null from pg_stat_database where datname = current_database()"); got != "t" {
			t.Fatalf("the claimed copy's statistics were not reset: %s", got)
		}
		if b, err := os.ReadFile(filepath.Join(f.home, "logs", c.ID+".log")); err != nil || strings.Contains(string(b), "ready to accept connections") {
			t.Fatalf("the claimed copy's log shows its start before the claim: %v\n%s", err, b)
		}
		if s := d.status(t); s.Warm.ServedWarm != 1 || s.Warm.ServedCold != 0 {
			t.Fatalf("status after one claim: %+v", s.Warm)
		}
		d.mustAs(t, nil, "copy", "destroy", c.ID)
		// a create that needs settings at the start is cold
		f.waitWarm(t, d, 2, "")
		cold := d.createAs(t, nil, "--set", "work_mem=8MB")
		if _, ok := f.warmRecords(t)[cold.ID]; ok || warm[cold.ID].ID != "" {
			t.Fatalf("a create with --set got warm copy %s", cold.ID)
		}
		if s := d.status(t); s.Warm.ServedCold != 1 {
			t.Fatalf("status after a cold create: %+v", s.Warm)
		}
		d.mustAs(t, nil, "copy", "destroy", cold.ID)
	})

	t.Run("concurrent claims", func(t *testing.T) {
		record(t, "warm", "two concurrent creates never get the same warm copy", 1)
		f.waitWarm(t, d, 2, "")
		got := concurrentCreates(t, d, 2)
		if len(got) != 2 || got[0] == got[1] {
			t.Fatalf("two concurrent creates got %v", got)
		}
		for _, id := range got {
			d.mustAs(t, nil, "copy", "destroy", id)
		}
	})

	t.Run("reseed", func(t *testing.T) {
		record(t, "warm", "once a reseed made a new golden current, no copy of the old one is handed out; the warm copies are replaced", 1)
		f.waitWarm(t, d, 2, "")
		f.must("reseed", "--dump", sampleSQL(t))
		cur, err := os.ReadFile(filepath.Join(f.home, "current"))
		if err != nil {
			t.Fatal(err)
		}
		gen := strings.TrimSpace(string(cur))
		c := d.createAs(t, nil)
		if c.Golden != gen {
			t.Fatalf("a create after the reseed got a copy of golden %s; want %s", c.Golden, gen)
		}
		d.mustAs(t, nil, "copy", "destroy", c.ID)
		f.waitWarm(t, d, 2, gen)
	})

	t.Run("kill -9 and restart", func(t *testing.T) {
		record(t, "warm", "a daemon killed with warm copies and started again adopts them: gc finds nothing, the pool is full again", 1)
		before := f.waitWarm(t, d, 2, "")
		d.stop(t, syscall.SIGKILL)
		d.start(t)
		var r struct {
			Copies, Volumes, Files []string
			Processes              []int
		}
		if err := json.Unmarshal([]byte(f.must("gc", "--format", "json")), &r); err != nil {
			t.Fatal(err)
		}
		if len(r.Copies)+len(r.Volumes)+len(r.Files)+len(r.Processes) != 0 {
			t.Fatalf("gc after the restart removed %+v; want nothing", r)
		}
		after := f.waitWarm(t, d, 2, "")
		for id := range before {
			if _, ok := after[id]; !ok {
				t.Fatalf("warm copies before the kill %v, after the restart %v: want them adopted", before, after)
			}
		}
		f.postmastersMatchRecords(t)
	})

	t.Run("smaller pool", func(t *testing.T) {
		record(t, "warm", "a daemon started again with fewer warm copies destroys the extras", 1)
		d.stop(t, syscall.SIGTERM)
		d.args = []string{"--warm", "1"}
		d.start(t)
		f.waitWarm(t, d, 1, "")
		f.postmastersMatchRecords(t)
	})

	t.Run("16 concurrent creates", func(t *testing.T) {
		record(t, "warm", "16 concurrent creates with warm 4: all succeed, 4 served warm and 12 cold", 1)
		d.stop(t, syscall.SIGTERM)
		d.args = []string{"--warm", "4"}
		d.start(t)
		f.waitWarm(t, d, 4, "")
		got := concurrentCreates(t, d, 16)
		if uniq := slices.Compact(slices.Sorted(slices.Values(got))); len(uniq) != 16 {
			t.Fatalf("16 creates made %d copies: %v", len(uniq), got)
		}
		s := d.status(t)
		if s.Warm.ServedWarm+s.Warm.ServedCold != 16 || s.Warm.ServedWarm < 4 {
			t.Fatalf("status after 16 creates: %+v; want 16 served, 4 or more warm", s.Warm)
		}
		t.Logf("16 concurrent creates with warm 4: %d served warm, %d cold", s.Warm.ServedWarm, s.Warm.ServedCold)
		for _, id := range got {
			d.mustAs(t, nil, "copy", "destroy", id)
		}
	})
}

// concurrentCreates runs n creates at once through the daemon and returns
// the IDs of the copies, failing the test on any error.
func concurrentCreates(t *testing.T, d *daemonProc, n int) []string {
	t.Helper()
	var mu sync.Mutex
	var got []string
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			r := runDitto(t, d.command(nil, "copy", "create", "--format", "json"))
			var c copyInfo
			if r.code != 0 || json.Unmarshal([]byte(r.stdout), &c) != nil {
				t.Errorf("a concurrent create failed: %s", r)
				return
			}
			mu.Lock()
			got = append(got, c.ID)
			mu.Unlock()
		})
	}
	wg.Wait()
	if t.Failed() {
		b, _ := os.ReadFile(d.log)
		t.Fatalf("daemon log:\n%s", b[max(0, len(b)-6000):])
	}
	return got
}
