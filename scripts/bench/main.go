// Command bench measures ditto side by side with the physical floor and with
// what a user would do instead: goldens of three sizes built from
// pgbench data on one pool, copy create until the first query answers, the
// floor (a bare snapshot plus a bare postgres start), copy destroy, copy
// create through the daemon against direct mode, 16 concurrent creates,
// the cost of an idle copy, CREATE DATABASE ... TEMPLATE,
// pg_restore into a fresh database, and reseed against reseed with masking
// rules and against a plain pg_restore.
//
// scripts/bench.sh builds ditto and this program and runs it as root. It
// writes a markdown table and JSON (PREFIX.md, PREFIX.json) and prints the
// table. Everything it creates (state directory, pool image, floor clones,
// source clusters, dumps) is removed at the end, also after Ctrl-C.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// options are the command-line choices.
type options struct {
	ditto      string
	home       string
	keep       bool
	backend    string
	path       string
	dataset    string
	size       string
	quick      bool
	scales     []int
	runs       int
	reseedRuns int
	concurrent int
	jobs       int
	out        string
	dumps      string
	pgBin      string
	settle     time.Duration
	idleWait   time.Duration
	skip       map[string]bool
	floorSet   []string
	compare    string
	compLabel  string
	current    bool
	command    string
}

// phases that --skip accepts.
var phases = []string{"plain", "rules", "floor", "create", "unconfined", "daemon", "idle", "concurrent", "alternatives"}

func parseFlags(args []string) (options, error) {
	var o options
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), `usage: sudo scripts/bench.sh [flags]

Builds goldens of three sizes from pgbench data on one pool and measures, in
one run: copy create until the first query answers, the floor (bare snapshot
+ bare postgres start), CREATE DATABASE ... TEMPLATE (FILE_COPY, WAL_LOG),
pg_restore into a fresh database, copy destroy, copy create through the
daemon (ditto serve) against direct mode, concurrent creates, the cost
of an idle copy, and reseed against reseed with masking rules (one of the
four text columns hashed) and against a plain pg_restore --jobs.

Examples:
   sudo scripts/bench.sh --quick                     # CI smoke run, small sizes
   sudo scripts/bench.sh                             # 50 MB, 1 GB, 5 GB on an embedded Btrfs pool
   sudo scripts/bench.sh --path /mnt/btrfs/ditto-bench
   sudo scripts/bench.sh --backend zfs --dataset tank/ditto-bench

Flags:
`)
		fs.PrintDefaults()
	}
	var scales, skip string
	var floorSet multiFlag
	fs.StringVar(&o.ditto, "ditto", "", "the ditto `BINARY` to measure (scripts/bench.sh builds one)")
	fs.StringVar(&o.home, "home", "", "state `DIR` for ditto (default: a new /var/lib/ditto-benchrun-*, removed afterwards)")
	fs.BoolVar(&o.keep, "keep", false, "keep the state directory, pool and goldens afterwards")
	fs.StringVar(&o.backend, "backend", "btrfs", "btrfs or zfs")
	fs.StringVar(&o.path, "path", "", "btrfs: an empty `DIR` on a Btrfs filesystem (default: an embedded image pool)")
	fs.StringVar(&o.dataset, "dataset", "", "zfs: parent dataset `POOL/PATH` for ditto (required with --backend zfs)")
	fs.StringVar(&o.size, "size", "", "btrfs: size of the embedded pool image (default 48G, 8G with --quick)")
	fs.BoolVar(&o.quick, "quick", false, "CI smoke run: small goldens, fewer runs (a few minutes)")
	fs.StringVar(&scales, "scales", "", "pgbench scale factors of the goldens, comma separated (default 3,68,341: about 50 MB, 1 GB, 5 GB; --quick: 1,2,4)")
	fs.IntVar(&o.runs, "runs", 0, "copy creates (and floor runs) per size (default 30, --quick 10)")
	fs.IntVar(&o.reseedRuns, "reseed-runs", 0, "rounds of reseed, reseed --rules and the plain restore per size, interleaved; the fastest of each counts (default 2, 1 for databases of 2 GiB and more)")
	fs.IntVar(&o.concurrent, "concurrent", 16, "copies created at once")
	fs.IntVar(&o.jobs, "jobs", runtime.NumCPU(), "pg_restore --jobs, for reseed and the plain restores")
	fs.StringVar(&o.out, "out", "", "write PREFIX.md and PREFIX.json (default scripts/bench/results, --quick: $TMPDIR/ditto-bench-quick)")
	fs.StringVar(&o.dumps, "dumps", "", "keep the pgbench dumps in `DIR` and reuse them next time (default: temporary)")
	fs.StringVar(&o.pgBin, "pg-bin", "", "PostgreSQL binaries `DIR` (default: newest /usr/lib/postgresql/*/bin)")
	fs.DurationVar(&o.settle, "settle", 200*time.Millisecond, "pause between measured runs, so one run's clean-up does not land in the next")
	fs.DurationVar(&o.idleWait, "idle-wait", 2*time.Second, "how long a copy idles before its disk and memory are measured")
	fs.StringVar(&skip, "skip", "", "comma-separated phases to leave out: "+strings.Join(phases, ","))
	fs.Var(&floorSet, "floor-set", "floor: extra `KEY=VALUE` for the bare postgres (repeatable; to try settings)")
	fs.StringVar(&o.compare, "compare", "", "also time copy create and destroy with this other ditto `BINARY`, interleaved with the measured one (to measure a change)")
	fs.StringVar(&o.compLabel, "compare-label", "", "what the --compare binary is, for the results")
	fs.BoolVar(&o.current, "current", false, "measure the current golden of --home as it is (no pgbench data, no reseed)")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected argument %q (see --help)", fs.Arg(0))
	}
	o.floorSet = floorSet
	// bench.sh passes the command line as the user typed it
	o.command = os.Getenv("DITTO_BENCH_COMMAND")
	if o.command == "" {
		o.command = "bench " + strings.Join(args, " ")
	}
	if o.ditto == "" {
		return o, errors.New("--ditto BINARY is required (scripts/bench.sh passes the one it builds)")
	}
	switch o.backend {
	case "btrfs":
		if o.dataset != "" {
			return o, errors.New("--dataset is for --backend zfs")
		}
	case "zfs":
		if o.dataset == "" || o.path != "" || o.size != "" {
			return o, errors.New("--backend zfs needs --dataset POOL/PATH (and no --path or --size)")
		}
	default:
		return o, fmt.Errorf("unknown --backend %q: use btrfs or zfs", o.backend)
	}
	if o.current && o.home == "" {
		return o, errors.New("--current measures an existing golden: give its --home")
	}
	if o.size == "" {
		o.size = map[bool]string{false: "48G", true: "8G"}[o.quick]
	}
	if o.runs == 0 {
		o.runs = map[bool]int{false: 30, true: 10}[o.quick]
	}
	if scales == "" {
		scales = map[bool]string{false: "3,68,341", true: "1,2,4"}[o.quick]
	}
	for _, s := range strings.Split(scales, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 1 {
			return o, fmt.Errorf("invalid --scales %q: give pgbench scale factors such as 3,68,341", scales)
		}
		o.scales = append(o.scales, n)
	}
	if o.out == "" {
		o.out = "scripts/bench/results"
		if o.quick {
			o.out = filepath.Join(os.TempDir(), "ditto-bench-quick")
		}
	}
	o.skip = map[string]bool{}
	for _, s := range strings.Split(skip, ",") {
		if s = strings.TrimSpace(s); s == "" {
			continue
		}
		if !contains(phases, s) {
			return o, fmt.Errorf("unknown phase %q in --skip: use %s", s, strings.Join(phases, ","))
		}
		o.skip[s] = true
	}
	if o.runs < 1 || o.concurrent < 1 || o.jobs < 1 {
		return o, errors.New("--runs, --concurrent and --jobs must be at least 1")
	}
	if o.reseedRuns < 0 {
		return o, errors.New("--reseed-runs must be at least 1 (or 0, the default)")
	}
	return o, nil
}

type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func main() {
	o, err := parseFlags(os.Args[1:])
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(0)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, o); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, o options) (err error) {
	if os.Geteuid() != 0 {
		return errors.New("run as root (sudo scripts/bench.sh): the benchmark mounts a pool and runs postgres as the postgres user")
	}
	b, err := newBench(o)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := b.cleanup(); cerr != nil {
			logf("clean-up: %v", cerr)
			if err == nil {
				err = cerr
			}
		}
	}()
	if err := b.setup(ctx); err != nil {
		return err
	}
	r := b.newResults()
	if err := b.measureAll(ctx, r); err != nil {
		// keep what was measured so far: it is written below
		r.Error = err.Error()
	}
	r.finish()
	if werr := r.write(o.out); werr != nil {
		return werr
	}
	fmt.Print(r.markdown())
	logf("results written to %s.md and %s.json", o.out, o.out)
	if r.Error != "" {
		return errors.New(r.Error)
	}
	return nil
}

// logf prints progress on stderr; stdout carries only the table.
func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "%s bench: %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
}
