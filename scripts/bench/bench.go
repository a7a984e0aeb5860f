package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/dittodb/ditto/postgres"
	"github.com/dittodb/ditto/storage/btrfs"
)

// bench holds one run's set-up: the PostgreSQL tools, a private work
// folder (sockets, logs, dumps, source clusters) and one ditto state
// directory per golden size, all on one pool, so that copies of every size
// can be measured side by side (interleaved) under the same machine load.
type bench struct {
	o      options
	bin    postgres.Bin
	pgUser postgres.OSUser
	work   string
	dumps  string
	homes  []*home
	rules  string // the masking rules file of ditto reseed --rules
	key    string // its masking key, in DITTO_MASK_KEY of that reseed only

	mu      sync.Mutex
	servers map[*postgres.Server]bool // servers to stop on clean-up
}

// home is one ditto state directory and its pool folder or dataset.
type home struct {
	dir  string
	own  bool // the benchmark ran `ditto init` on it, so it removes it
	cfg  dittoConfig
	pool *pool
}

// dittoConfig is the part of <home>/config.json the benchmark reads.
type dittoConfig struct {
	Backend  string `json:"backend"`
	PoolPath string `json:"pool_path"`
	Image    string `json:"image"`
	Dataset  string `json:"dataset"`
	PGUser   string `json:"pg_user"`
	Role     string `json:"role"`
	Sandbox  string `json:"sandbox"` // "off" turns the sandbox off
}

func newBench(o options) (*bench, error) {
	if _, err := os.Stat(o.ditto); err != nil {
		return nil, fmt.Errorf("ditto binary: %w", err)
	}
	work, err := os.MkdirTemp("", "ditto-bench-")
	if err != nil {
		return nil, err
	}
	// postgres (another user) reaches its sockets and data folders below
	if err := os.Chmod(work, 0o711); err != nil {
		return nil, err
	}
	b := &bench{o: o, work: work, servers: map[*postgres.Server]bool{}, rules: filepath.Join(work, "mask.yaml"), key: rand.Text()}
	b.dumps = o.dumps
	if b.dumps == "" {
		b.dumps = filepath.Join(work, "dumps")
	}
	if err := os.WriteFile(b.rules, []byte(maskRules), 0o600); err != nil {
		return nil, err
	}
	return b, os.MkdirAll(b.dumps, 0o700)
}

// maskRules mask one of the four text columns of pgbench's tables: the
// filler of pgbench_accounts, the biggest table, so that every one of its
// rows goes through the COPY filter (the other three tables are small).
// The keyed hash is 32 hex digits, which fits filler's char(84).
const maskRules = `version: 1
key: env:DITTO_MASK_KEY
tables:
  public.pgbench_accounts:
    filler: hash
`

// setup makes (or, with --current, opens) the first state directory and
// its pool: the embedded image, the --path folder or the --dataset.
func (b *bench) setup(ctx context.Context) error {
	h := &home{dir: b.o.home}
	if h.dir == "" {
		d, err := os.MkdirTemp("/var/lib", "ditto-benchrun-")
		if err != nil {
			return err
		}
		h.dir = d
	}
	b.homes = append(b.homes, h)
	if _, err := os.Stat(filepath.Join(h.dir, "config.json")); err != nil {
		if b.o.current {
			return fmt.Errorf("--current: %s is not a ditto state directory", h.dir)
		}
		args := []string{"--backend", b.o.backend}
		switch {
		case b.o.backend == "zfs":
			if _, err := output(ctx, "zfs", "list", "-H", "-o", "name", b.o.dataset); err == nil {
				return fmt.Errorf("--dataset %s exists: give a new dataset (the benchmark destroys it afterwards)", b.o.dataset)
			}
			args = append(args, "--dataset", b.o.dataset)
		case b.o.path != "":
			if err := emptyDir(b.o.path); err != nil {
				return err
			}
			args = append(args, "--path", b.o.path)
		default:
			args = append(args, "--size", b.o.size)
		}
		if err := b.initHome(ctx, h, args...); err != nil {
			return err
		}
	}
	return b.openHome(ctx, h)
}

// addHome makes the state directory for the n-th golden size (n > 0),
// with its pool folder or dataset inside the first one's pool.
func (b *bench) addHome(ctx context.Context, n int) (*home, error) {
	first := b.homes[0]
	h := &home{dir: fmt.Sprintf("%s-%d", first.dir, n)}
	if err := os.Mkdir(h.dir, 0o700); err != nil {
		return nil, err
	}
	b.homes = append(b.homes, h)
	args := []string{"--backend", first.cfg.Backend}
	if first.cfg.Backend == "zfs" {
		args = append(args, "--dataset", fmt.Sprintf("%s/size%d", first.cfg.Dataset, n))
	} else {
		args = append(args, "--path", filepath.Join(first.cfg.PoolPath, fmt.Sprintf("size%d", n)))
	}
	if err := b.initHome(ctx, h, args...); err != nil {
		return nil, err
	}
	return h, b.openHome(ctx, h)
}

func (b *bench) initHome(ctx context.Context, h *home, args ...string) error {
	h.own = true
	logf("ditto init in %s (%s)", h.dir, strings.Join(args, " "))
	_, _, err := b.ditto(ctx, h, false, append([]string{"init"}, args...)...)
	return err
}

// openHome reads the home's configuration and makes its pool object.
func (b *bench) openHome(ctx context.Context, h *home) error {
	raw, err := os.ReadFile(filepath.Join(h.dir, "config.json"))
	if err != nil {
		return err
	}
	if err := json.Unmarshal(raw, &h.cfg); err != nil {
		return fmt.Errorf("%s/config.json: %w", h.dir, err)
	}
	if b.bin.Dir == "" {
		if b.bin, b.pgUser, err = findPG(b.o.pgBin, h.cfg.PGUser); err != nil {
			return err
		}
	}
	h.pool, err = openPool(ctx, h.dir, h.cfg, b.pgUser.GID)
	return err
}

// emptyDir accepts a folder that does not exist yet or is empty: the
// benchmark removes everything in it afterwards.
func emptyDir(dir string) error {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) || (err == nil && len(entries) == 0) {
		return nil
	}
	if err != nil {
		return err
	}
	return fmt.Errorf("--path %s is not empty: give a new folder on the Btrfs filesystem (the benchmark removes what it makes there)", dir)
}

// cleanup destroys every copy, the benchmark's own servers and volumes,
// and, unless --keep, the state directories and the pool it made: the
// later homes first, since their pools live inside the first one's.
func (b *bench) cleanup() error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	var errs []error
	b.mu.Lock()
	for s := range b.servers {
		errs = append(errs, stop(s))
	}
	b.mu.Unlock()
	for i := len(b.homes) - 1; i >= 0; i-- {
		h := b.homes[i]
		if h.pool != nil {
			errs = append(errs, b.destroyAllCopies(ctx, h), h.pool.cleanup(ctx))
		}
		if h.own && !b.o.keep {
			errs = append(errs, b.removeHome(ctx, h))
		} else {
			logf("kept the state directory %s", h.dir)
		}
	}
	errs = append(errs, os.RemoveAll(b.work))
	return errors.Join(errs...)
}

func (b *bench) destroyAllCopies(ctx context.Context, h *home) error {
	out, _, err := b.ditto(ctx, h, false, "copy", "list", "--format", "json")
	if err != nil {
		return err
	}
	var copies []struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(out, &copies); err != nil {
		return err
	}
	if len(copies) == 0 {
		return nil
	}
	args := []string{"copy", "destroy"}
	for _, c := range copies {
		args = append(args, c.ID)
	}
	_, _, err = b.ditto(ctx, h, false, args...)
	return err
}

// removeHome removes what `ditto init` made: the pool (the image's mount,
// the --path folder's volumes, the ZFS dataset) and the state directory.
func (b *bench) removeHome(ctx context.Context, h *home) error {
	var err error
	switch {
	case h.cfg.Backend == "zfs":
		if h.cfg.Dataset != "" {
			_, err = output(ctx, "zfs", "destroy", "-r", h.cfg.Dataset)
		}
	case h.cfg.Image != "":
		err = btrfs.Unmount(ctx, h.cfg.PoolPath)
	case h.pool != nil:
		if err = h.pool.removeVolumes(ctx); err == nil {
			err = os.RemoveAll(h.cfg.PoolPath)
		}
	}
	if err != nil {
		return fmt.Errorf("%w; the state directory %s is kept", err, h.dir)
	}
	logf("removed the state directory %s and its pool", h.dir)
	return os.RemoveAll(h.dir)
}

// ditto runs the ditto binary on home h; timed has it log its phase
// timings (at debug level) as JSON lines, for parseLog.
func (b *bench) ditto(ctx context.Context, h *home, timed bool, args ...string) (stdout, stderr []byte, err error) {
	return b.dittoBin(ctx, b.o.ditto, h, timed, args...)
}

// dittoBin is ditto with another ditto binary (--compare).
func (b *bench) dittoBin(ctx context.Context, bin string, h *home, timed bool, args ...string) (stdout, stderr []byte, err error) {
	return runDitto(b.dittoCmd(ctx, bin, h, timed, args...))
}

// runDitto runs a command made by dittoCmd; a failure carries the end of
// ditto's log.
func runDitto(cmd *exec.Cmd) (stdout, stderr []byte, err error) {
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err = cmd.Run()
	if err != nil {
		err = fmt.Errorf("ditto %s: %w: %s", strings.Join(cmd.Args[1:], " "), err, strings.TrimSpace(tail(e.String(), 8)))
	}
	return o.Bytes(), e.Bytes(), err
}

func (b *bench) dittoCmd(ctx context.Context, bin string, h *home, timed bool, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, bin, args...)
	env := []string{"DITTO_HOME=" + h.dir}
	if timed {
		env = append(env, "DITTO_LOG_LEVEL=debug", "DITTO_LOG_JSON=1")
	}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "DITTO_") {
			env = append(env, kv)
		}
	}
	cmd.Env = env
	return cmd
}

// dittoLog is what ditto logged with --log-json: one hclog JSON object per
// line, its message under "@message", its fields under their keys.
type dittoLog []map[string]any

func parseLog(stderr []byte) (dittoLog, error) {
	var l dittoLog
	for _, line := range bytes.Split(stderr, []byte("\n")) {
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		var event map[string]any
		if err := json.Unmarshal(line, &event); err != nil {
			return nil, fmt.Errorf("ditto --log-json printed a line that is no JSON object: %q: %w", line, err)
		}
		l = append(l, event)
	}
	return l, nil
}

// ms returns the duration field key of the last event msg that has it, in
// milliseconds (hclog writes durations as nanoseconds): a message may be
// logged by several steps (the restore's progress and reseed both log
// "restore done"). A missing event or field is an error: a renamed log line
// must stop the benchmark, not leave a hole in its results.
func (l dittoLog) ms(msg, key string) (float64, error) {
	var found, timed bool
	var ns float64
	for _, event := range l {
		if event["@message"] != msg {
			continue
		}
		found = true
		if v, ok := event[key].(float64); ok {
			ns, timed = v, true
		}
	}
	switch {
	case !found:
		return 0, fmt.Errorf("ditto logged no %q event (renamed?): update scripts/bench to read its timings", msg)
	case !timed:
		return 0, fmt.Errorf("ditto logged %q without a duration %q: update scripts/bench to read its timings", msg, key)
	}
	return ns / 1e6, nil
}

// readTimings reads the durations that ditto, run with --log-json, wrote
// to stderr into their destinations, stopping at the first that is missing.
func readTimings(stderr []byte, want ...timingField) error {
	l, err := parseLog(stderr)
	if err != nil {
		return err
	}
	for _, w := range want {
		if *w.dst, err = l.ms(w.msg, w.key); err != nil {
			return err
		}
	}
	return nil
}

// timingField is where a duration ditto logs (field key of message msg)
// goes.
type timingField struct {
	msg, key string
	dst      *float64
}
