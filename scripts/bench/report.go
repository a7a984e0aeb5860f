package main

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"time"
)

// All durations are in milliseconds, all sizes in bytes.

type results struct {
	Date       string        `json:"date"`
	Command    string        `json:"command"`
	Machine    machine       `json:"machine"`
	Backend    string        `json:"backend"`
	Pool       string        `json:"pool"`
	PostgreSQL string        `json:"postgresql"`
	Ditto      string        `json:"ditto"`
	Compare    string        `json:"compare,omitempty"`
	Settings   settings      `json:"settings"`
	Seconds    float64       `json:"seconds"`
	Sizes      []*sizeResult `json:"sizes"`
	Targets    []target      `json:"targets"`
	Error      string        `json:"error,omitempty"`
	started    time.Time
}

type machine struct {
	Host     string `json:"host"`
	CPU      string `json:"cpu"`
	Cores    int    `json:"cores"`
	Memory   int64  `json:"memory_bytes"`
	Kernel   string `json:"kernel"`
	OS       string `json:"os"`
	LoadFrom string `json:"loadavg_start"`
	LoadTo   string `json:"loadavg_end"`
}

type settings struct {
	Quick      bool    `json:"quick"`
	Runs       int     `json:"runs"`
	Concurrent int     `json:"concurrent"`
	Jobs       int     `json:"jobs"`
	SettleMS   float64 `json:"settle_ms"`
	FloorSet   string  `json:"floor_settings,omitempty"`
	MaskRules  string  `json:"reseed_rules_file"` // what reseed --rules masks
}

type sizeResult struct {
	Label         string            `json:"label"`
	Scale         int               `json:"pgbench_scale,omitempty"`
	Generation    string            `json:"golden"`
	DatabaseBytes int64             `json:"database_bytes"`
	GoldenBytes   int64             `json:"golden_bytes"`
	DumpBytes     int64             `json:"dump_bytes,omitempty"`
	Reseed        *reseedResult     `json:"reseed,omitempty"`
	MaskedReseed  *reseedResult     `json:"reseed_rules,omitempty"`
	Plain         *plainResult      `json:"plain_restore,omitempty"`
	Create        *createStats      `json:"copy_create,omitempty"`
	Floor         *floorStats       `json:"floor,omitempty"`
	SnapshotCLI   *stats            `json:"btrfs_snapshot_cli,omitempty"`
	Destroy       *stats            `json:"copy_destroy,omitempty"`
	WarmupCreate  float64           `json:"warmup_create_ms,omitempty"`
	WarmupFloor   float64           `json:"warmup_floor_ms,omitempty"`
	Idle          *idleResult       `json:"idle_copy,omitempty"`
	Concurrent    *concurrentResult `json:"concurrent,omitempty"`
	Alternatives  *altResult        `json:"alternatives,omitempty"`
	Compare       *compareResult    `json:"compare,omitempty"`
	Daemon        *daemonResult     `json:"daemon,omitempty"`
	Sandbox       string            `json:"sandbox,omitempty"` // of the measured copies: full, partial, none
	Unconfined    *compareResult    `json:"unconfined,omitempty"`
	LoadBefore    string            `json:"loadavg_before_runs"`
	LoadAfter     string            `json:"loadavg_after_runs"`
	database      string
	role          string
	dump          string
	h             *home
}

// timing is a measurement repeated in rounds (--reseed-runs): the total of
// the fastest run, whose details the rest of its result holds, and the
// totals of all runs.
type timing struct {
	Total float64   `json:"total_ms"`
	Runs  []float64 `json:"runs_total_ms"`
}

func (t *timing) times() *timing { return t }

// fastest returns the faster of kept (the fastest run so far, nil before
// the first) and next, holding the totals of all runs.
func fastest[R any, P interface {
	*R
	times() *timing
}](kept, next P) P {
	n := next.times()
	if kept == nil {
		n.Runs = []float64{n.Total}
		return next
	}
	k := kept.times()
	runs := append(k.Runs, n.Total)
	if n.Total < k.Total {
		kept, k = next, n
	}
	k.Runs = runs
	return kept
}

// runsNote lists the runs' totals when there were several.
func (t *timing) runsNote() string {
	if len(t.Runs) < 2 {
		return ""
	}
	var v []string
	for _, x := range t.Runs {
		v = append(v, fmtMS(x))
	}
	return "runs: " + strings.Join(v, ", ")
}

type reseedResult struct {
	timing
	Inside            float64 `json:"inside_ditto_ms"`
	InitDB            float64 `json:"initdb_ms"`
	Restore           float64 `json:"restore_ms"`
	AnalyzeCheckpoint float64 `json:"analyze_checkpoint_ms"`
	Rest              float64 `json:"rest_ms"` // stop, pg_controldata, size, flush, snapshot, gc
}

type plainResult struct {
	timing
	InitStart float64 `json:"initdb_start_createdb_ms"`
	Restore   float64 `json:"pg_restore_ms"`
	Sync      float64 `json:"then_sync_ms"` // syncfs of the pool after it, not in Total
}

// total is the fastest run's total, 0 when not measured.
func (r *reseedResult) total() float64 {
	if r == nil {
		return 0
	}
	return r.Total
}

func (p *plainResult) total() float64 {
	if p == nil {
		return 0
	}
	return p.Total
}

// over is a / b, also as "1.23x"; ok is false when either is missing.
func over(a, b float64) (x float64, v string, ok bool) {
	if a <= 0 || b <= 0 {
		return 0, "", false
	}
	x = a / b
	return x, fmt.Sprintf("%.2fx", x), true
}

type createSample struct {
	Total      float64 // ditto copy create started .. SELECT 1 answered
	URLPrinted float64 // .. ditto exited having printed the URL
	Took       float64 // inside ditto's CreateCopy (its JSON log)
	Start      float64 // .. of which clone, exec, ready and password
	Ready      float64 // .. of which postgres start until it answers
	Password   float64 // .. of which ALTER ROLE
	ID, URL    string
	Sandbox    string // how confined its server runs
}

type createStats struct {
	Total *stats `json:"total"`
	// where the time goes
	Process   *stats `json:"process_start_open_exit"`
	Records   *stats `json:"records_locks_ports"`
	CloneExec *stats `json:"clone_exec"`
	Ready     *stats `json:"postgres_ready"`
	Password  *stats `json:"set_password"`
	Query     *stats `json:"first_query"`
}

type floorSample struct{ Total, Clone, Start float64 }

type floorStats struct {
	Total *stats `json:"total"`
	Clone *stats `json:"clone"`
	Start *stats `json:"start_to_connection"`
}

type idleResult struct {
	Exclusive int64  `json:"exclusive_bytes"`
	FreeDelta int64  `json:"pool_free_delta_bytes"`
	Memory    memory `json:"memory"`
}

type concurrentResult struct {
	N               int      `json:"n"`
	Wall            float64  `json:"wall_ms"`
	Failures        int      `json:"failures"`
	Each            *stats   `json:"each"`
	PSSPerCopy      int64    `json:"pss_per_copy_bytes"`
	DestroyWall     float64  `json:"destroy_wall_ms"`
	DestroyFailures int      `json:"destroy_failures"`
	Errors          []string `json:"errors,omitempty"`
}

// compareResult is copy create and destroy with the --compare binary, or
// with the sandbox off.
type compareResult struct {
	Create  *createStats `json:"copy_create"`
	Destroy *stats       `json:"copy_destroy"`
}

type altResult struct {
	Stock   *altTimes `json:"stock_settings"`
	NoFsync *altTimes `json:"fsync_off"`
}

type altTimes struct {
	FileCopy float64 `json:"create_database_file_copy_ms"`
	WALLog   float64 `json:"create_database_wal_log_ms"`
	Restore  float64 `json:"createdb_pg_restore_ms,omitempty"`
}

type target struct {
	Name     string `json:"name"`
	Measured string `json:"measured"`
	Met      bool   `json:"met"`
}

type stats struct {
	N       int       `json:"n"`
	P50     float64   `json:"p50"`
	P90     float64   `json:"p90"`
	P95     float64   `json:"p95"`
	Max     float64   `json:"max"`
	Min     float64   `json:"min"`
	Mean    float64   `json:"mean"`
	Samples []float64 `json:"samples"`
}

// summarize computes nearest-rank percentiles.
func summarize(v []float64) *stats {
	if len(v) == 0 {
		return nil
	}
	s := &stats{N: len(v), Samples: round2(v)}
	sorted := append([]float64(nil), v...)
	sort.Float64s(sorted)
	rank := func(p float64) float64 { return sorted[int(math.Ceil(p*float64(len(sorted))))-1] }
	s.P50, s.P90, s.P95, s.Min, s.Max = rank(0.50), rank(0.90), rank(0.95), sorted[0], sorted[len(sorted)-1]
	for _, x := range v {
		s.Mean += x / float64(len(v))
	}
	s.P50, s.P90, s.P95, s.Min, s.Max, s.Mean = r2(s.P50), r2(s.P90), r2(s.P95), r2(s.Min), r2(s.Max), r2(s.Mean)
	return s
}

func r2(x float64) float64 { return math.Round(x*100) / 100 }

func round2(xs []float64) []float64 {
	out := make([]float64, len(xs))
	for i, x := range xs {
		out[i] = r2(x)
	}
	return out
}

func summarizeCreate(cs []createSample) *createStats {
	if len(cs) == 0 {
		return nil
	}
	col := func(f func(c createSample) float64) *stats {
		var v []float64
		for _, c := range cs {
			v = append(v, f(c))
		}
		return summarize(v)
	}
	return &createStats{
		Total:     col(func(c createSample) float64 { return c.Total }),
		Process:   col(func(c createSample) float64 { return c.URLPrinted - c.Took }),
		Records:   col(func(c createSample) float64 { return c.Took - c.Start }),
		CloneExec: col(func(c createSample) float64 { return c.Start - c.Ready - c.Password }),
		Ready:     col(func(c createSample) float64 { return c.Ready }),
		Password:  col(func(c createSample) float64 { return c.Password }),
		Query:     col(func(c createSample) float64 { return c.Total - c.URLPrinted }),
	}
}

func summarizeFloor(fs []floorSample) *floorStats {
	if len(fs) == 0 {
		return nil
	}
	var total, clone, start []float64
	for _, f := range fs {
		total, clone, start = append(total, f.Total), append(clone, f.Clone), append(start, f.Start)
	}
	return &floorStats{Total: summarize(total), Clone: summarize(clone), Start: summarize(start)}
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func (b *bench) newResults() *results {
	r := &results{
		started:    time.Now(),
		Date:       time.Now().UTC().Format(time.RFC3339),
		Command:    b.o.command,
		Backend:    b.homes[0].cfg.Backend,
		Pool:       b.homes[0].pool.describe(),
		PostgreSQL: b.bin.Version,
		Ditto:      dittoVersion(b.o.ditto),
		Compare:    strings.TrimSpace(b.o.compLabel + " " + b.o.compare),
		Settings: settings{Quick: b.o.quick, Runs: b.o.runs, Concurrent: b.o.concurrent, Jobs: b.o.jobs,
			SettleMS: ms(b.o.settle), FloorSet: strings.Join(b.o.floorSet, " "),
			MaskRules: maskRules},
	}
	r.Machine = machine{Cores: runtime.NumCPU(), Kernel: firstLine("/proc/sys/kernel/osrelease"), LoadFrom: loadAvg()}
	r.Machine.Host, _ = os.Hostname()
	for _, l := range strings.Split(readText("/proc/cpuinfo"), "\n") {
		if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
			r.Machine.CPU = strings.TrimSpace(v)
			break
		}
	}
	for _, l := range strings.Split(readText("/proc/meminfo"), "\n") {
		var kb int64
		if _, err := fmt.Sscanf(l, "MemTotal: %d kB", &kb); err == nil {
			r.Machine.Memory = kb << 10
		}
	}
	for _, l := range strings.Split(readText("/etc/os-release"), "\n") {
		if v, ok := strings.CutPrefix(l, "PRETTY_NAME="); ok {
			r.Machine.OS = strings.Trim(v, `"`)
		}
	}
	return r
}

// dittoVersion names the source the measured binary was built from: the
// git commit of the folder it sits in (bench.sh builds into a temporary
// folder, so the current checkout), with "+changes" when product files
// differ from it.
func dittoVersion(bin string) string {
	dir := "."
	if d := os.Getenv("DITTO_BENCH_SRC"); d != "" {
		dir = d
	}
	out, err := exec.Command("git", "-C", dir, "rev-parse", "--short", "HEAD").Output()
	if err != nil {
		return bin
	}
	v := strings.TrimSpace(string(out))
	st, _ := exec.Command("git", "-C", dir, "status", "--porcelain", "--untracked-files=no", "--",
		".", ":(exclude)scripts/bench", ":(exclude)scripts/bench.sh").Output()
	if len(strings.TrimSpace(string(st))) > 0 {
		v += "+changes"
	}
	return v
}

func readText(p string) string {
	b, _ := os.ReadFile(p)
	return string(b)
}

func firstLine(p string) string { l, _, _ := strings.Cut(readText(p), "\n"); return l }

func (r *results) finish() {
	r.Seconds = math.Round(time.Since(r.started).Seconds())
	r.Machine.LoadTo = loadAvg()
	sort.SliceStable(r.Sizes, func(i, j int) bool { return r.Sizes[i].DatabaseBytes < r.Sizes[j].DatabaseBytes })
	r.Targets = r.targets()
}

func (r *results) write(prefix string) error {
	if err := os.MkdirAll(filepath.Dir(prefix), 0o755); err != nil {
		return err
	}
	j, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(prefix+".json", append(j, '\n'), 0o644); err != nil {
		return err
	}
	return os.WriteFile(prefix+".md", []byte(r.markdown()), 0o644)
}

// targets checks the measurements against what ditto aims at: copy create
// close to the floor and far ahead of the alternatives, whatever the size;
// concurrent creates; an idle copy's cost; reseed close to a plain restore,
// and with masking rules close to reseed without.
func (r *results) targets() []target {
	var t []target
	sizes := r.Sizes
	if len(sizes) == 0 {
		return nil
	}
	perSize := func(name string, ok func(s *sizeResult) (string, bool, bool)) {
		var vals []string
		met, any := true, false
		for _, s := range sizes {
			v, good, has := ok(s)
			if !has {
				continue
			}
			any = true
			vals = append(vals, v)
			met = met && good
		}
		if any {
			t = append(t, target{name, strings.Join(vals, " / "), met})
		}
	}
	perSize("copy create p50 within 1.5x of the floor", func(s *sizeResult) (string, bool, bool) {
		if s.Create == nil || s.Floor == nil {
			return "", false, false
		}
		x := s.Create.Total.P50 / s.Floor.Total.P50
		return fmt.Sprintf("%.2fx", x), x <= 1.5, true
	})
	perSize("the sandbox adds at most 5 ms to copy create p50", func(s *sizeResult) (string, bool, bool) {
		if s.Create == nil || s.Unconfined == nil {
			return "", false, false
		}
		d := s.Create.Total.P50 - s.Unconfined.Create.Total.P50
		return fmt.Sprintf("%+.1f ms (%s)", d, s.Sandbox), d <= 5, true
	})
	perSize("copy create p95 under 300 ms", func(s *sizeResult) (string, bool, bool) {
		if s.Create == nil {
			return "", false, false
		}
		return fmtMS(s.Create.Total.P95), s.Create.Total.P95 < 300, true
	})
	small, large := sizes[0], sizes[len(sizes)-1]
	if len(sizes) > 1 && small.Create != nil && large.Create != nil {
		x := large.Create.Total.P50 / small.Create.Total.P50
		t = append(t, target{"create p50, largest / smallest golden, at most 1.25",
			fmt.Sprintf("%.2f (%s / %s)", x, fmtMS(large.Create.Total.P50), fmtMS(small.Create.Total.P50)), x <= 1.25})
	}
	// "at 1 GB": the size nearest to 1 GiB
	at := sizes[0]
	for _, s := range sizes {
		if math.Abs(math.Log(float64(s.DatabaseBytes)/(1<<30))) < math.Abs(math.Log(float64(at.DatabaseBytes)/(1<<30))) {
			at = s
		}
	}
	speedup := func(name string, need float64, alt func(a *altTimes) float64) {
		var xs []float64
		var vals []string
		var atX float64
		for _, s := range sizes {
			if s.Alternatives == nil || s.Alternatives.Stock == nil || s.Create == nil || alt(s.Alternatives.Stock) <= 0 {
				continue
			}
			x := alt(s.Alternatives.Stock) / s.Create.Total.P50
			xs = append(xs, x)
			vals = append(vals, fmt.Sprintf("%.0fx", x))
			if s == at {
				atX = x
			}
		}
		if len(xs) == 0 {
			return
		}
		grows := true
		for i := 1; i < len(xs); i++ {
			grows = grows && xs[i] > xs[i-1]
		}
		t = append(t, target{fmt.Sprintf("%.0fx faster than %s (stock settings) at %s, and the gap grows with size", need, name, at.Label),
			fmt.Sprintf("%s (grows: %v)", strings.Join(vals, " / "), grows), atX >= need && grows})
	}
	speedup("CREATE DATABASE ... TEMPLATE (faster strategy)", 50, func(a *altTimes) float64 { return math.Min(a.FileCopy, a.WALLog) })
	speedup("pg_restore into a fresh database", 200, func(a *altTimes) float64 { return a.Restore })
	perSize(fmt.Sprintf("%d concurrent creates under 2 s, no failure", r.Settings.Concurrent), func(s *sizeResult) (string, bool, bool) {
		c := s.Concurrent
		if c == nil {
			return "", false, false
		}
		return fmt.Sprintf("%s, %d failed", fmtMS(c.Wall), c.Failures), c.Wall < 2000 && c.Failures == 0, true
	})
	perSize("idle copy under 20 MB exclusive disk and 40 MB memory (PSS)", func(s *sizeResult) (string, bool, bool) {
		if s.Idle == nil {
			return "", false, false
		}
		return fmt.Sprintf("%s, %s", humanBytes(s.Idle.Exclusive), humanBytes(s.Idle.Memory.PSS)),
			s.Idle.Exclusive < 20e6 && s.Idle.Memory.PSS < 40e6, true
	})
	perSize("reseed at most 1.1x a plain pg_restore --jobs", func(s *sizeResult) (string, bool, bool) {
		x, v, ok := over(s.Reseed.total(), s.Plain.total())
		return v, x <= 1.1, ok
	})
	perSize("reseed with rules at most 1.25x the reseed without", func(s *sizeResult) (string, bool, bool) {
		x, v, ok := over(s.MaskedReseed.total(), s.Reseed.total())
		return v, x <= 1.25, ok
	})
	return t
}

// markdown renders the results: a header, one column per golden, then the
// targets.
func (r *results) markdown() string {
	var w strings.Builder
	m := r.Machine
	fmt.Fprintf(&w, "## ditto benchmark: %s\n\n", r.Backend)
	fmt.Fprintf(&w, "- command: `%s` (%s, %.0f s)\n", r.Command, r.Date, r.Seconds)
	fmt.Fprintf(&w, "- machine: %s, %d cores, %s RAM, Linux %s, %s; load average %s at the start, %s at the end\n",
		m.CPU, m.Cores, humanBytes(m.Memory), m.Kernel, m.OS, m.LoadFrom, m.LoadTo)
	fmt.Fprintf(&w, "- backend: **%s** (each golden in its own ditto state directory, all on this pool)\n- PostgreSQL %s; ditto %s\n", r.Pool, r.PostgreSQL, r.Ditto)
	if r.Compare != "" {
		fmt.Fprintf(&w, "- --compare build (create and destroy only, interleaved with the runs above): %s\n", r.Compare)
	}
	floor := "postgres waited for as a copy's is (postmaster.pid until it says ready, then a connection)"
	if r.Settings.FloorSet != "" {
		floor += ", settings " + r.Settings.FloorSet
	}
	fmt.Fprintf(&w, "- %d runs per size after one warm-up (p50 / p95 / max), the sizes interleaved; floor: %s; %d pg_restore jobs\n\n",
		r.Settings.Runs, floor, r.Settings.Jobs)
	if r.Error != "" {
		fmt.Fprintf(&w, "**The run stopped early:** %s\n\n", r.Error)
	}
	w.WriteString("| |")
	for _, s := range r.Sizes {
		fmt.Fprintf(&w, " %s |", s.Label)
	}
	w.WriteString("\n|---|")
	for range r.Sizes {
		w.WriteString("---|")
	}
	w.WriteString("\n")
	row := func(name string, cell func(s *sizeResult) string) {
		var cells []string
		seen := false
		for _, s := range r.Sizes {
			c := cell(s)
			if c != "" {
				seen = true
			} else {
				c = "–"
			}
			cells = append(cells, c)
		}
		if seen {
			fmt.Fprintf(&w, "| %s | %s |\n", name, strings.Join(cells, " | "))
		}
	}
	row("golden on disk (data directory)", func(s *sizeResult) string { return humanBytes(s.GoldenBytes) })
	row("dump (pg_dump -Fc)", func(s *sizeResult) string { return bytesOr(s.DumpBytes) })
	row("**copy create** until SELECT 1 answers on its URL", func(s *sizeResult) string {
		if s.Create == nil {
			return ""
		}
		return "**" + triple(s.Create.Total) + "**"
	})
	row("**floor**: bare snapshot + bare postgres until a connection", func(s *sizeResult) string {
		if s.Floor == nil {
			return ""
		}
		return "**" + triple(s.Floor.Total) + "**"
	})
	row("create p50 / floor p50", func(s *sizeResult) string {
		if s.Create == nil || s.Floor == nil {
			return ""
		}
		return fmt.Sprintf("%.2fx", s.Create.Total.P50/s.Floor.Total.P50)
	})
	p50 := func(st *stats) string {
		if st == nil {
			return ""
		}
		return fmtMS(st.P50)
	}
	cs := func(f func(c *createStats) *stats) func(s *sizeResult) string {
		return func(s *sizeResult) string {
			if s.Create == nil {
				return ""
			}
			return p50(f(s.Create))
		}
	}
	row("create, p50 of: ditto process start, open, exit", cs(func(c *createStats) *stats { return c.Process }))
	row("… records, lock, port, free-space check", cs(func(c *createStats) *stats { return c.Records }))
	row("… snapshot, record, exec postgres", cs(func(c *createStats) *stats { return c.CloneExec }))
	row("… postgres start until it answers", cs(func(c *createStats) *stats { return c.Ready }))
	row("… ALTER ROLE password", cs(func(c *createStats) *stats { return c.Password }))
	row("… first query on the URL (TCP, SCRAM, SELECT 1)", cs(func(c *createStats) *stats { return c.Query }))
	fl := func(f func(c *floorStats) string) func(s *sizeResult) string {
		return func(s *sizeResult) string {
			if s.Floor == nil {
				return ""
			}
			return f(s.Floor)
		}
	}
	row("floor, p50 of: snapshot (ioctl; zfs clone)", fl(func(f *floorStats) string { return p50(f.Clone) }))
	row("… postgres exec until a connection", fl(func(f *floorStats) string { return p50(f.Start) }))
	row("`btrfs subvolume snapshot` command, p50 / max", func(s *sizeResult) string {
		if s.SnapshotCLI == nil {
			return ""
		}
		return fmtMS(s.SnapshotCLI.P50) + " / " + fmtMS(s.SnapshotCLI.Max)
	})
	row("warm-up run (not counted): create / floor", func(s *sizeResult) string {
		if s.WarmupCreate == 0 && s.WarmupFloor == 0 {
			return ""
		}
		return fmtMS(s.WarmupCreate) + " / " + fmtMS(s.WarmupFloor)
	})
	if r.Compare != "" {
		cmp := func(f func(c *compareResult) string) func(s *sizeResult) string {
			return func(s *sizeResult) string {
				if s.Compare == nil || s.Compare.Create == nil {
					return ""
				}
				return f(s.Compare)
			}
		}
		row("**copy create, --compare build**", cmp(func(c *compareResult) string { return "**" + triple(c.Create.Total) + "**" }))
		row("… / floor p50; p50 of start until it answers, password, records", func(s *sizeResult) string {
			c := s.Compare
			if c == nil || c.Create == nil || s.Floor == nil {
				return ""
			}
			return fmt.Sprintf("%.2fx; %s, %s, %s", c.Create.Total.P50/s.Floor.Total.P50, p50(c.Create.Ready), p50(c.Create.Password), p50(c.Create.Records))
		})
		row("copy destroy, --compare build", cmp(func(c *compareResult) string { return triple(c.Destroy) }))
	}
	row("**copy create through the daemon** vs direct mode, alternated: p50 / p90", func(s *sizeResult) string {
		d := s.Daemon
		if d == nil || d.Daemon == nil || d.Direct == nil {
			return ""
		}
		return fmt.Sprintf("**%s / %s** vs %s / %s (%.2fx at p50)", fmtMS(d.Daemon.P50), fmtMS(d.Daemon.P90),
			fmtMS(d.Direct.P50), fmtMS(d.Direct.P90), d.Daemon.P50/d.Direct.P50)
	})
	if r.Sizes[0].Unconfined != nil {
		row("**copy create, sandbox off** (`ditto init --sandbox off`, interleaved)", func(s *sizeResult) string {
			if s.Unconfined == nil {
				return ""
			}
			return "**" + triple(s.Unconfined.Create.Total) + "**"
		})
		row("… what the sandbox ("+r.Sizes[0].Sandbox+") adds to create p50", func(s *sizeResult) string {
			if s.Unconfined == nil || s.Create == nil {
				return ""
			}
			return fmt.Sprintf("%+.1f ms", s.Create.Total.P50-s.Unconfined.Create.Total.P50)
		})
	}
	row("**copy destroy**", func(s *sizeResult) string {
		if s.Destroy == nil {
			return ""
		}
		return triple(s.Destroy)
	})
	row(fmt.Sprintf("**%d concurrent creates**: wall, failures", r.Settings.Concurrent), func(s *sizeResult) string {
		if s.Concurrent == nil {
			return ""
		}
		return fmt.Sprintf("**%s**, %d failed", fmtMS(s.Concurrent.Wall), s.Concurrent.Failures)
	})
	row("… each create, p50 / max", func(s *sizeResult) string {
		if s.Concurrent == nil || s.Concurrent.Each == nil {
			return ""
		}
		return fmtMS(s.Concurrent.Each.P50) + " / " + fmtMS(s.Concurrent.Each.Max)
	})
	row("… PSS per copy while all run; destroying all at once", func(s *sizeResult) string {
		if s.Concurrent == nil {
			return ""
		}
		return humanBytes(s.Concurrent.PSSPerCopy) + "; " + fmtMS(s.Concurrent.DestroyWall)
	})
	row("**idle copy**: exclusive disk (pool free-space drop)", func(s *sizeResult) string {
		if s.Idle == nil {
			return ""
		}
		return fmt.Sprintf("**%s** (%s)", humanBytes(s.Idle.Exclusive), signedBytes(s.Idle.FreeDelta))
	})
	row("… memory: PSS of its processes (RSS, private)", func(s *sizeResult) string {
		if s.Idle == nil {
			return ""
		}
		mm := s.Idle.Memory
		return fmt.Sprintf("**%s** of %d processes (%s, %s)", humanBytes(mm.PSS), mm.Processes, humanBytes(mm.RSS), humanBytes(mm.Private))
	})
	alt := func(stock bool, f func(a *altTimes) float64) func(s *sizeResult) string {
		return func(s *sizeResult) string {
			if s.Alternatives == nil {
				return ""
			}
			a := s.Alternatives.NoFsync
			if stock {
				a = s.Alternatives.Stock
			}
			if a == nil || f(a) <= 0 {
				return ""
			}
			v := fmtMS(f(a))
			if s.Create != nil {
				v += fmt.Sprintf(" (%.0fx create)", f(a)/s.Create.Total.P50)
			}
			return v
		}
	}
	for _, stock := range []bool{true, false} {
		how := "stock settings"
		if !stock {
			how = "fsync off"
		}
		row("CREATE DATABASE … TEMPLATE, STRATEGY FILE_COPY, "+how, alt(stock, func(a *altTimes) float64 { return a.FileCopy }))
		row("CREATE DATABASE … TEMPLATE, STRATEGY WAL_LOG, "+how, alt(stock, func(a *altTimes) float64 { return a.WALLog }))
		row(fmt.Sprintf("createdb + pg_restore --jobs %d into it, %s", r.Settings.Jobs, how), alt(stock, func(a *altTimes) float64 { return a.Restore }))
	}
	reseed := func(name string, get func(s *sizeResult) *reseedResult) {
		row(name, func(s *sizeResult) string {
			x := get(s)
			if x == nil {
				return ""
			}
			v := "**" + fmtMS(x.Total) + "**"
			if n := x.runsNote(); n != "" {
				v += " (" + n + ")"
			}
			return v
		})
		row("… initdb / restore / VACUUM (FREEZE, ANALYZE)+CHECKPOINT / stop+flush+snapshot+gc", func(s *sizeResult) string {
			x := get(s)
			if x == nil {
				return ""
			}
			return strings.Join([]string{fmtMS(x.InitDB), fmtMS(x.Restore), fmtMS(x.AnalyzeCheckpoint), fmtMS(x.Rest)}, " / ")
		})
	}
	reseed("**ditto reseed**", func(s *sizeResult) *reseedResult { return s.Reseed })
	row(fmt.Sprintf("**plain**: initdb + start + pg_restore --jobs %d, fresh cluster", r.Settings.Jobs), func(s *sizeResult) string {
		if s.Plain == nil {
			return ""
		}
		detail := fmtMS(s.Plain.InitStart) + " + " + fmtMS(s.Plain.Restore)
		if n := s.Plain.runsNote(); n != "" {
			detail += "; " + n
		}
		return fmt.Sprintf("**%s** (%s)", fmtMS(s.Plain.Total), detail)
	})
	row("reseed / plain", func(s *sizeResult) string { _, v, _ := over(s.Reseed.total(), s.Plain.total()); return v })
	row("plain, then syncfs of the pool (its data on disk, as a golden's is)", func(s *sizeResult) string {
		if s.Plain == nil || s.Plain.Sync == 0 {
			return ""
		}
		_, v, _ := over(s.Reseed.total(), s.Plain.Total+s.Plain.Sync)
		return fmt.Sprintf("%s (+%s); reseed / that: %s", fmtMS(s.Plain.Total+s.Plain.Sync), fmtMS(s.Plain.Sync), v)
	})
	reseed("**ditto reseed --rules** (pgbench_accounts.filler masked: 1 of 4 text columns)", func(s *sizeResult) *reseedResult { return s.MaskedReseed })
	row("reseed --rules / reseed", func(s *sizeResult) string { _, v, _ := over(s.MaskedReseed.total(), s.Reseed.total()); return v })
	row("load average before → after the create runs", func(s *sizeResult) string { return s.LoadBefore + " → " + s.LoadAfter })
	if len(r.Targets) > 0 {
		w.WriteString("\n| target | measured | |\n|---|---|---|\n")
		for _, t := range r.Targets {
			fmt.Fprintf(&w, "| %s | %s | %s |\n", t.Name, t.Measured, map[bool]string{true: "met", false: "**missed**"}[t.Met])
		}
	}
	w.WriteString("\nThe alternatives run on the same pool inside a copy: a `--durable` one (stock PostgreSQL settings; " +
		"the targets use these) and an ordinary one (fsync, full_page_writes and synchronous_commit off, which favours them). " +
		"The plain restore runs on the same pool with the settings ditto's reseed restores with. " +
		"Reseed, reseed --rules (the keyed `hash` of pgbench_accounts.filler; the bench checks that no row of that golden keeps its filler) " +
		"and the plain restore run one after another in rounds (--reseed-runs); with several rounds the fastest run of each is shown, " +
		"with every run's time, and the ratios and targets use the fastest. " +
		"An idle copy's exclusive disk is what only its volume holds (`btrfs filesystem du`, or the clone's `used` on ZFS); " +
		"the pool's free-space drop also moves with the background freeing of volumes deleted earlier.\n")
	return w.String()
}

func triple(s *stats) string {
	if s == nil {
		return ""
	}
	return fmtMS(s.P50) + " / " + fmtMS(s.P95) + " / " + fmtMS(s.Max)
}

func fmtMS(x float64) string {
	switch {
	case x < 10:
		return fmt.Sprintf("%.1f ms", x)
	case x < 1000:
		return fmt.Sprintf("%.0f ms", x)
	case x < 60000:
		return fmt.Sprintf("%.2f s", x/1000)
	}
	return fmt.Sprintf("%.0f s", x/1000)
}

func humanBytes(n int64) string {
	switch {
	case n < 0:
		return "-" + humanBytes(-n)
	case n < 1<<10:
		return fmt.Sprintf("%d B", n)
	case n < 1<<20:
		return fmt.Sprintf("%.0f KiB", float64(n)/(1<<10))
	case n < 1<<30:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	}
	return fmt.Sprintf("%.2f GiB", float64(n)/(1<<30))
}

func bytesOr(n int64) string {
	if n == 0 {
		return ""
	}
	return humanBytes(n)
}

func signedBytes(n int64) string {
	if n > 0 {
		return "+" + humanBytes(n)
	}
	return humanBytes(n)
}
