package main

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// loadSettings: a short CI setting by default; DITTO_TEST_LOAD=full runs
// the full one of the reliability issue (16 parallel jobs for 10 s each,
// then 200 create/destroy cycles).
func loadSettings() (seconds, cycles int) {
	if os.Getenv("DITTO_TEST_LOAD") == "full" {
		return 10, 200
	}
	return 3, 40
}

// TestLoad runs 16 parallel `copy run` jobs, each writing its own marker
// rows with pgbench traffic and checking it sees only its own, then
// sequential create/destroy cycles, and checks nothing leaks.
func TestLoad(t *testing.T) {
	f := goldenFixture(t)
	seconds, cycles := loadSettings()
	fdsBefore := openFiles(t)

	t.Run("16 parallel copy runs", func(t *testing.T) {
		record(t, "load", fmt.Sprintf("parallel `copy run` jobs with %d s of pgbench writes each, checking they see only their own rows", seconds), 16)
		f := f.with(t)
		var wg sync.WaitGroup
		results := make([]result, 16)
		for i := range results {
			wg.Add(1)
			go func() {
				defer wg.Done()
				script := fmt.Sprintf(`set -e
					psql -X -q -v ON_ERROR_STOP=1 -c "CREATE TABLE marker (job int, n bigserial)"
					printf '\\set oid random(1, 50000)\nINSERT INTO marker (job) VALUES (%[1]d);\nUPDATE orders SET amount = amount + 1 WHERE id = :oid;\n' > "$TMPDIR/job.sql"
					/usr/lib/postgresql/15/bin/pgbench -n -c 2 -T %[2]d -f "$TMPDIR/job.sql" >/dev/null
					test "$(psql -X -At -c 'select count(distinct job), min(job) from marker')" = "1|%[1]d"
					psql -X -At -c 'select count(*) from marker'`, i, seconds)
				dir := t.TempDir()
				results[i] = f.run("TMPDIR="+dir, "copy", "run", "--label", "job="+strconv.Itoa(i), "--", "bash", "-c", script)
			}()
		}
		wg.Wait()
		for i, r := range results {
			if r.code != 0 {
				t.Fatalf("job %d: %s", i, r)
			}
			// any row will do: the check is that a job sees only its own
			// (in the emulated ZFS VM, 16 jobs write a few rows each)
			n, _ := strconv.Atoi(strings.TrimSpace(r.stdout))
			if n < 1 {
				t.Fatalf("job %d wrote no marker rows: %s", i, r)
			}
			t.Logf("job %d wrote %d marker rows", i, n)
		}
		f.assertClean(t)
	})

	t.Run("sequential create and destroy", func(t *testing.T) {
		f := f.with(t)
		var create, destroy []time.Duration
		for i := 0; i < cycles; i++ {
			start := time.Now()
			c := f.create()
			create = append(create, time.Since(start))
			start = time.Now()
			f.must("copy", "destroy", c.ID)
			destroy = append(destroy, time.Since(start))
		}
		f.assertClean(t)
		ms := func(ds []time.Duration) string { return median(ds).Round(time.Millisecond).String() }
		first, last := func(ds []time.Duration) []time.Duration { return ds[:cycles/10] }, func(ds []time.Duration) []time.Duration { return ds[cycles-cycles/10:] }
		record(t, "load", fmt.Sprintf("sequential copy create + destroy cycles, checking for leaks (median create %s in the first tenth, %s in the last; destroy %s, %s)",
			ms(first(create)), ms(last(create)), ms(first(destroy)), ms(last(destroy))), cycles)
	})

	if after := openFiles(t); after > fdsBefore+2 {
		t.Fatalf("the test process holds %d open files after the load, %d before", after, fdsBefore)
	}
	if entries, _ := os.ReadDir(filepath.Join(f.home, "copies")); len(entries) != 0 {
		t.Fatalf("records left: %d", len(entries))
	}
}

func openFiles(t *testing.T) int {
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(entries)
}

func median(ds []time.Duration) time.Duration {
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}
