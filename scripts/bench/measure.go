package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/dittodb/ditto/postgres"
	"github.com/dittodb/ditto/storage"
)

// measureAll builds the goldens (or takes --current's), then measures
// copy create, the floor and copy destroy interleaved across sizes, and
// then each size's idle cost, concurrent creates and alternatives.
func (b *bench) measureAll(ctx context.Context, r *results) error {
	if b.o.current {
		s, err := b.currentSize(ctx)
		if err != nil {
			return err
		}
		r.Sizes = append(r.Sizes, s)
	} else {
		for i, scale := range b.o.scales {
			s, err := b.buildSize(ctx, i, scale)
			if s != nil {
				r.Sizes = append(r.Sizes, s)
			}
			if err != nil {
				return err
			}
		}
	}
	for _, s := range r.Sizes {
		if err := b.goldenInfo(ctx, s); err != nil {
			return err
		}
		// writeback of the restores must not land in the timed runs
		if err := s.h.pool.sync(ctx); err != nil {
			return err
		}
	}
	if err := b.createRuns(ctx, r.Sizes); err != nil {
		return err
	}
	for _, s := range r.Sizes {
		if !b.o.skip["daemon"] {
			if err := b.daemonCreates(ctx, s); err != nil {
				return err
			}
		}
		if !b.o.skip["idle"] {
			if err := b.idleCost(ctx, s); err != nil {
				return err
			}
		}
		if !b.o.skip["concurrent"] {
			if err := b.concurrentCreates(ctx, s); err != nil {
				return err
			}
		}
		if !b.o.skip["alternatives"] {
			if err := b.alternatives(ctx, s); err != nil {
				return err
			}
		}
	}
	return nil
}

// buildSize makes the n-th golden from pgbench data of the given scale in
// its own state directory, timing reseed against reseed with masking rules
// and against a plain restore, in rounds (--reseed-runs).
func (b *bench) buildSize(ctx context.Context, n, scale int) (*sizeResult, error) {
	s := &sizeResult{Scale: scale}
	var err error
	if s.dump, err = b.pgbenchDump(ctx, scale, s); err != nil {
		return nil, err
	}
	s.h = b.homes[0]
	if n > 0 {
		if s.h, err = b.addHome(ctx, n); err != nil {
			return nil, err
		}
	}
	rounds := b.o.reseedRuns
	if rounds == 0 {
		rounds = 2
		if s.DatabaseBytes >= 2<<30 {
			rounds = 1
		}
	}
	for i := 0; i < rounds; i++ {
		if err := b.reseedRound(ctx, s, i); err != nil {
			if s.Generation == "" {
				return nil, err
			}
			return s, err
		}
	}
	return s, nil
}

// reseedRound is one round of a size's reseed measurements: ditto reseed
// --rules and the plain restore, in turns first, then ditto reseed, whose
// golden is the one the copies are then made of.
func (b *bench) reseedRound(ctx context.Context, s *sizeResult, round int) error {
	var steps []func() error
	if !b.o.skip["rules"] {
		steps = append(steps, func() error { return b.maskedReseed(ctx, s) })
	}
	if !b.o.skip["plain"] {
		steps = append(steps, func() error { return b.plainRestore(ctx, s) })
	}
	if round%2 == 1 {
		slices.Reverse(steps)
	}
	steps = append(steps, func() error { return b.reseed(ctx, s) })
	for _, step := range steps {
		if err := step(); err != nil {
			return err
		}
	}
	return nil
}

// currentSize is the golden already current in --home.
func (b *bench) currentSize(ctx context.Context) (*sizeResult, error) {
	h := b.homes[0]
	out, _, err := b.ditto(ctx, h, false, "status", "--format", "json")
	if err != nil {
		return nil, err
	}
	var st struct {
		Golden *struct {
			Generation string `json:"generation"`
		} `json:"golden"`
	}
	if err := json.Unmarshal(out, &st); err != nil || st.Golden == nil {
		return nil, fmt.Errorf("no current golden in %s (run ditto reseed): %v", h.dir, err)
	}
	return &sizeResult{Generation: st.Golden.Generation, h: h}, nil
}

// goldenInfo reads the golden's metadata (database, role, size).
func (b *bench) goldenInfo(ctx context.Context, s *sizeResult) error {
	dir, err := s.h.pool.volume(ctx, storage.KindGolden, s.Generation)
	if err != nil {
		return err
	}
	var meta struct {
		Database string `json:"database"`
		Role     string `json:"role"`
		Bytes    int64  `json:"bytes"`
	}
	raw, err := os.ReadFile(filepath.Join(dir, "ditto-golden.json"))
	if err != nil {
		return err
	}
	if err := json.Unmarshal(raw, &meta); err != nil {
		return err
	}
	s.database, s.role, s.GoldenBytes = meta.Database, meta.Role, meta.Bytes
	if s.DatabaseBytes == 0 {
		s.DatabaseBytes = b.databaseSize(ctx, s)
	}
	s.Label = humanBytes(s.DatabaseBytes)
	if s.Scale > 0 {
		s.Label += fmt.Sprintf(" (scale %d)", s.Scale)
	}
	return nil
}

// pgbenchDump makes (or reuses from --dumps) a pg_dump -Fc of a pgbench
// database of the given scale, generated in a throw-away cluster.
func (b *bench) pgbenchDump(ctx context.Context, scale int, s *sizeResult) (string, error) {
	dump := filepath.Join(b.dumps, fmt.Sprintf("pgbench-s%d.dump", scale))
	sizeFile := dump + ".dbsize"
	if raw, err := os.ReadFile(sizeFile); err == nil {
		if n, err := strconv.ParseInt(strings.TrimSpace(string(raw)), 10, 64); err == nil {
			if fi, err := os.Stat(dump); err == nil {
				logf("scale %d: reusing %s", scale, dump)
				s.DatabaseBytes, s.DumpBytes = n, fi.Size()
				return dump, nil
			}
		}
	}
	t0 := time.Now()
	src := filepath.Join(b.work, fmt.Sprintf("src-%d", scale))
	defer os.RemoveAll(src)
	srv, err := b.plainServer(ctx, src, "postgres")
	if err != nil {
		return "", err
	}
	defer b.stopServer(srv)
	logf("scale %d: generating pgbench data", scale)
	conn, err := ready(ctx, srv, "postgres", "postgres")
	if err != nil {
		return "", err
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, "CREATE DATABASE bench"); err != nil {
		return "", err
	}
	connArgs := []string{"-h", srv.SocketDir, "-p", strconv.Itoa(srv.Port), "-U", "postgres"}
	if _, err := output(ctx, b.bin.Path("pgbench"), append(append([]string{"-i", "-q", "-I", "dtGvp", "-s", strconv.Itoa(scale)}, connArgs...), "bench")...); err != nil {
		return "", err
	}
	if err := conn.QueryRow(ctx, "SELECT pg_database_size('bench')").Scan(&s.DatabaseBytes); err != nil {
		return "", err
	}
	logf("scale %d: %s of data; pg_dump -Fc", scale, humanBytes(s.DatabaseBytes))
	if _, err := output(ctx, b.bin.Path("pg_dump"), append(append([]string{"-Fc", "-f", dump + ".partial"}, connArgs...), "bench")...); err != nil {
		return "", err
	}
	if err := os.Rename(dump+".partial", dump); err != nil {
		return "", err
	}
	fi, err := os.Stat(dump)
	if err != nil {
		return "", err
	}
	s.DumpBytes = fi.Size()
	logf("scale %d: dump of %s made in %s", scale, humanBytes(s.DumpBytes), time.Since(t0).Round(time.Second))
	return dump, os.WriteFile(sizeFile, []byte(strconv.FormatInt(s.DatabaseBytes, 10)), 0o600)
}

// plainServer makes a fresh cluster in dir/pgdata (superuser role) and
// starts it with the settings ditto's reseed restores with.
func (b *bench) plainServer(ctx context.Context, dir, role string) (*postgres.Server, error) {
	pgdata := filepath.Join(dir, "pgdata")
	if err := os.MkdirAll(dir, 0o711); err != nil {
		return nil, err
	}
	if err := postgres.InitDB(ctx, b.bin, b.pgUser, pgdata, role); err != nil {
		return nil, err
	}
	port, err := freePort(7400)
	if err != nil {
		return nil, err
	}
	return b.startServer(ctx, pgdata, filepath.Join(b.work, "sock-plain"), port, postgres.RestoreSettings(), filepath.Join(b.work, "plain.log"))
}

// reseed times `ditto reseed --dump`; its golden becomes the size's.
func (b *bench) reseed(ctx context.Context, s *sizeResult) error {
	r, gen, err := b.reseedOnce(ctx, s, false)
	if err != nil {
		return err
	}
	s.Reseed, s.Generation = fastest(s.Reseed, r), gen
	return nil
}

// maskedReseed times `ditto reseed --dump --rules` with maskRules, then
// checks that its golden is masked.
func (b *bench) maskedReseed(ctx context.Context, s *sizeResult) error {
	r, _, err := b.reseedOnce(ctx, s, true)
	if err != nil {
		return err
	}
	var rows, raw int64
	if err := b.queryCopy(ctx, s.h, "SELECT count(*), count(*) FILTER (WHERE filler IS NULL OR filler = '') FROM pgbench_accounts", &rows, &raw); err != nil {
		return fmt.Errorf("checking the masked golden: %w", err)
	}
	if rows == 0 || raw > 0 {
		return fmt.Errorf("ditto reseed --rules left pgbench_accounts.filler unmasked: %d of its %d rows keep the original blank filler", raw, rows)
	}
	logf("%s: masked golden checked: none of the %d pgbench_accounts rows keeps its filler", humanBytes(s.DatabaseBytes), rows)
	s.MaskedReseed = fastest(s.MaskedReseed, r)
	return nil
}

// reseedOnce times `ditto reseed --dump`, with maskRules if rules, reads
// its phases from its JSON log and returns them with the new generation.
func (b *bench) reseedOnce(ctx context.Context, s *sizeResult, rules bool) (*reseedResult, string, error) {
	if err := s.h.pool.sync(ctx); err != nil {
		return nil, "", err
	}
	what := "reseed"
	cmd := b.dittoCmd(ctx, b.o.ditto, s.h, true, "reseed", "--dump", s.dump, "--jobs", strconv.Itoa(b.o.jobs))
	if rules {
		what = "reseed --rules"
		cmd.Args = append(cmd.Args, "--rules", b.rules)
		cmd.Env = append(cmd.Env, "DITTO_MASK_KEY="+b.key)
	}
	logf("%s: ditto %s --jobs %d", humanBytes(s.DatabaseBytes), what, b.o.jobs)
	t0 := time.Now()
	out, stderr, err := runDitto(cmd)
	if err != nil {
		return nil, "", err
	}
	r := &reseedResult{timing: timing{Total: ms(time.Since(t0))}}
	err = readTimings(stderr,
		timingField{"initdb done", "took", &r.InitDB},
		timingField{"restore done", "took", &r.Restore},
		timingField{"vacuum, analyze and checkpoint done", "took", &r.AnalyzeCheckpoint},
		timingField{"golden ready", "took", &r.Inside})
	if err != nil {
		return nil, "", fmt.Errorf("ditto %s: %w", what, err)
	}
	r.Rest = r.Inside - r.InitDB - r.Restore - r.AnalyzeCheckpoint
	lines := strings.Fields(string(out))
	if len(lines) == 0 {
		return nil, "", fmt.Errorf("ditto reseed printed no generation")
	}
	logf("%s: ditto %s took %s", humanBytes(s.DatabaseBytes), what, fmtMS(r.Total))
	return r, lines[len(lines)-1], nil
}

// plainRestore is what a user would do without ditto: initdb, start, and
// pg_restore --jobs into a fresh cluster on the same pool, with the same
// server settings ditto restores with.
func (b *bench) plainRestore(ctx context.Context, s *sizeResult) error {
	if err := s.h.pool.sync(ctx); err != nil {
		return err
	}
	dir, err := s.h.pool.CreateBuilding(ctx, scratchName)
	if err != nil {
		return err
	}
	defer s.h.pool.Destroy(context.Background(), storage.KindBuilding, scratchName)
	logf("%s: plain initdb + pg_restore --jobs %d", humanBytes(s.DatabaseBytes), b.o.jobs)
	p := &plainResult{}
	t0 := time.Now()
	srv, err := b.plainServer(ctx, dir, "postgres")
	if err != nil {
		return err
	}
	defer b.stopServer(srv)
	conn, err := ready(ctx, srv, "postgres", "postgres")
	if err != nil {
		return err
	}
	_, err = conn.Exec(ctx, "CREATE DATABASE bench TEMPLATE template0 ENCODING 'UTF8'")
	conn.Close(context.Background())
	if err != nil {
		return err
	}
	p.InitStart = ms(time.Since(t0))
	t1 := time.Now()
	if _, err := output(ctx, b.bin.Path("pg_restore"), "--jobs", strconv.Itoa(b.o.jobs), "-h", srv.SocketDir,
		"-p", strconv.Itoa(srv.Port), "-U", "postgres", "-d", "bench", s.dump); err != nil {
		return err
	}
	p.Restore = ms(time.Since(t1))
	p.Total = ms(time.Since(t0))
	// A golden is on disk when reseed ends; the plain restore's data is
	// still in the page cache. Timed apart, for a like-for-like ratio.
	t2 := time.Now()
	if err := s.h.pool.sync(ctx); err != nil {
		return err
	}
	p.Sync = ms(time.Since(t2))
	s.Plain = fastest(s.Plain, p)
	logf("%s: plain restore took %s", humanBytes(s.DatabaseBytes), fmtMS(p.Total))
	return nil
}

// databaseSize asks a copy for pg_database_size (for --current).
func (b *bench) databaseSize(ctx context.Context, s *sizeResult) int64 {
	var n int64
	_ = b.queryCopy(ctx, s.h, "SELECT pg_database_size(current_database())", &n)
	return n
}

// queryCopy runs one query on a new copy of h's current golden and scans
// its row into dest; the copy is destroyed afterwards.
func (b *bench) queryCopy(ctx context.Context, h *home, query string, dest ...any) error {
	c, err := b.createCopy(ctx, h)
	if err != nil {
		return err
	}
	defer b.destroyCopy(context.Background(), h, c.ID)
	conn, err := pgx.Connect(ctx, c.URL)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	return conn.QueryRow(ctx, query).Scan(dest...)
}

// createRuns interleaves floor runs and ditto copy create runs (each
// followed by a timed copy destroy) across all sizes, after one warm-up of
// each, so that every size sees the same machine load. Round i starts at
// size i mod n, so no size always comes first.
func (b *bench) createRuns(ctx context.Context, sizes []*sizeResult) error {
	if b.o.skip["floor"] && b.o.skip["create"] {
		return nil
	}
	n := len(sizes)
	logf("%d floor runs and %d copy create + destroy runs for each of %d sizes, interleaved", b.o.runs, b.o.runs, n)
	floors := make([][]floorSample, n)
	creates := make([][]createSample, n)
	destroys := make([][]float64, n)
	ccreates := make([][]createSample, n) // --compare
	cdestroys := make([][]float64, n)
	ucreates := make([][]createSample, n) // sandbox off
	udestroys := make([][]float64, n)
	for _, s := range sizes {
		s.LoadBefore = loadAvg()
	}
	for i := -1; i < b.o.runs; i++ { // i == -1: warm-up, not counted
		for j := 0; j < n; j++ {
			k := (max(i, 0) + j) % n
			s := sizes[k]
			if !b.o.skip["floor"] {
				f, err := b.floorOnce(ctx, s, i+1)
				if err != nil {
					return fmt.Errorf("floor: %w", err)
				}
				if i < 0 {
					s.WarmupFloor = f.Total
				} else {
					floors[k] = append(floors[k], f)
				}
				pause(ctx, b.o.settle)
			}
			if b.o.skip["create"] {
				continue
			}
			c, d, err := b.createDestroy(ctx, b.o.ditto, s)
			if err != nil {
				return err
			}
			if i < 0 {
				s.WarmupCreate = c.Total
			} else {
				creates[k], destroys[k] = append(creates[k], c), append(destroys[k], d)
			}
			s.Sandbox = c.Sandbox
			if !b.o.skip["unconfined"] && s.h.cfg.Sandbox != "off" {
				c, d, err := b.unconfinedCreateDestroy(ctx, s)
				if err != nil {
					return err
				}
				if i >= 0 {
					ucreates[k], udestroys[k] = append(ucreates[k], c), append(udestroys[k], d)
				}
			}
			if b.o.compare != "" {
				c, d, err := b.createDestroy(ctx, b.o.compare, s)
				if err != nil {
					return fmt.Errorf("--compare %s: %w", b.o.compare, err)
				}
				if i >= 0 {
					ccreates[k], cdestroys[k] = append(ccreates[k], c), append(cdestroys[k], d)
				}
			}
		}
	}
	for k, s := range sizes {
		s.LoadAfter = loadAvg()
		s.Floor = summarizeFloor(floors[k])
		s.Create = summarizeCreate(creates[k])
		s.Destroy = summarize(destroys[k])
		if b.o.compare != "" {
			s.Compare = &compareResult{Create: summarizeCreate(ccreates[k]), Destroy: summarize(cdestroys[k])}
		}
		if len(ucreates[k]) > 0 {
			s.Unconfined = &compareResult{Create: summarizeCreate(ucreates[k]), Destroy: summarize(udestroys[k])}
		}
		if !b.o.skip["floor"] && s.h.cfg.Backend == "btrfs" {
			if err := b.snapshotCLI(ctx, s); err != nil {
				return err
			}
		}
	}
	return nil
}

// createDestroy is one timed copy create (until its first query) and the
// timed destroy of that copy, with the ditto binary bin.
func (b *bench) createDestroy(ctx context.Context, bin string, s *sizeResult) (createSample, float64, error) {
	c, err := b.createCopyBin(ctx, bin, s.h)
	if err != nil {
		return c, 0, err
	}
	pause(ctx, b.o.settle)
	t0 := time.Now()
	if err := b.destroyCopyBin(ctx, bin, s.h, c.ID); err != nil {
		return c, 0, err
	}
	d := ms(time.Since(t0))
	pause(ctx, b.o.settle)
	return c, d, nil
}

// unconfinedCreateDestroy is createDestroy with the sandbox turned off
// for that one copy (`ditto init --sandbox off`, then on again, untimed):
// what the sandbox costs, under the same load as the runs around it.
func (b *bench) unconfinedCreateDestroy(ctx context.Context, s *sizeResult) (createSample, float64, error) {
	if _, _, err := b.ditto(ctx, s.h, false, "init", "--sandbox", "off"); err != nil {
		return createSample{}, 0, err
	}
	c, d, err := b.createDestroy(ctx, b.o.ditto, s)
	if _, _, ierr := b.ditto(ctx, s.h, false, "init", "--sandbox", "on"); err == nil {
		err = ierr
	}
	if err == nil && c.Sandbox != "none" {
		err = fmt.Errorf("copy %s created with --sandbox off runs sandboxed (%q)", c.ID, c.Sandbox)
	}
	return c, d, err
}

func pause(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}

// floorOnce is the floor: a bare clone of the golden, a bare postgres
// started on it and waited for as a copy's is (postmaster.pid, then a
// connection over its Unix socket), and SELECT 1. None of ditto's own
// steps (records, lock, port, password) runs.
func (b *bench) floorOnce(ctx context.Context, s *sizeResult, i int) (floorSample, error) {
	var f floorSample
	name := fmt.Sprintf("%sfloor-%d", benchPrefix, i)
	port, err := freePort(7433)
	if err != nil {
		return f, err
	}
	sock := filepath.Join(b.work, name)
	t0 := time.Now()
	dir, err := s.h.pool.Clone(ctx, s.Generation, name)
	if err != nil {
		return f, err
	}
	defer s.h.pool.Destroy(context.Background(), storage.KindCopy, name)
	defer os.RemoveAll(sock)
	t1 := time.Now()
	srv, err := b.startServer(ctx, filepath.Join(dir, "pgdata"), sock, port, b.o.floorSet, filepath.Join(b.work, "floor.log"))
	if err != nil {
		return f, err
	}
	defer b.stopServer(srv)
	conn, err := ready(ctx, srv, s.role, s.database)
	if err != nil {
		return f, err
	}
	defer conn.Close(context.Background())
	if err := queryOne(ctx, conn); err != nil {
		return f, err
	}
	t2 := time.Now()
	f.Total, f.Clone, f.Start = ms(t2.Sub(t0)), ms(t1.Sub(t0)), ms(t2.Sub(t1))
	return f, nil
}

// snapshotCLI times `btrfs subvolume snapshot` itself (a process per
// snapshot), next to the ioctl the floor uses. The snapshots go into the
// scratch volume, and with it.
func (b *bench) snapshotCLI(ctx context.Context, s *sizeResult) error {
	gdir, err := s.h.pool.volume(ctx, storage.KindGolden, s.Generation)
	if err != nil {
		return err
	}
	scratch, err := s.h.pool.CreateBuilding(ctx, scratchName)
	if err != nil {
		return err
	}
	defer s.h.pool.Destroy(context.Background(), storage.KindBuilding, scratchName)
	var t []float64
	for i := 0; i < 10; i++ {
		t0 := time.Now()
		if _, err := output(ctx, "btrfs", "subvolume", "snapshot", gdir, filepath.Join(scratch, fmt.Sprintf("cli-%d", i))); err != nil {
			return err
		}
		t = append(t, ms(time.Since(t0)))
	}
	s.SnapshotCLI = summarize(t)
	return nil
}

// createCopy times `ditto copy create` until SELECT 1 has answered on the
// URL it printed, and reads ditto's phase timings from its JSON log.
func (b *bench) createCopy(ctx context.Context, h *home, extra ...string) (createSample, error) {
	return b.createCopyBin(ctx, b.o.ditto, h, extra...)
}

func (b *bench) createCopyBin(ctx context.Context, bin string, h *home, extra ...string) (createSample, error) {
	var c createSample
	t0 := time.Now()
	out, stderr, err := b.dittoBin(ctx, bin, h, true, append([]string{"copy", "create", "--format", "json", "--ttl", "2h"}, extra...)...)
	if err != nil {
		return c, err
	}
	tURL := time.Since(t0)
	var j struct {
		ID      string `json:"id"`
		URL     string `json:"database_url"`
		Sandbox string `json:"sandbox"`
	}
	if err := json.Unmarshal(out, &j); err != nil {
		return c, fmt.Errorf("ditto copy create --format json: %w: %s", err, out)
	}
	c.ID, c.URL, c.Sandbox = j.ID, j.URL, j.Sandbox
	if err := firstQuery(ctx, j.URL); err != nil {
		return c, fmt.Errorf("first query on copy %s: %w", j.ID, err)
	}
	c.Total, c.URLPrinted = ms(time.Since(t0)), ms(tURL)
	err = readTimings(stderr,
		timingField{"copy ready", "took", &c.Took},                // all of CreateCopy
		timingField{"copy server up", "took", &c.Start},           // clone, record, exec, ready, password
		timingField{"copy server ready", "ready", &c.Ready},       // postgres start until it answers
		timingField{"copy server ready", "password", &c.Password}) // ALTER ROLE
	if err != nil {
		return c, fmt.Errorf("ditto copy create: %w", err)
	}
	return c, nil
}

func (b *bench) destroyCopy(ctx context.Context, h *home, id string) error {
	return b.destroyCopyBin(ctx, b.o.ditto, h, id)
}

func (b *bench) destroyCopyBin(ctx context.Context, bin string, h *home, id string) error {
	_, _, err := b.dittoBin(ctx, bin, h, false, "copy", "destroy", id)
	return err
}

// idleCost creates one copy, runs its first query, lets it idle, then
// reads the space only it holds and the memory of its processes.
func (b *bench) idleCost(ctx context.Context, s *sizeResult) error {
	logf("%s: cost of an idle copy", s.Label)
	if err := s.h.pool.sync(ctx); err != nil {
		return err
	}
	free0, err := s.h.pool.free(ctx)
	if err != nil {
		return err
	}
	c, err := b.createCopy(ctx, s.h)
	if err != nil {
		return err
	}
	defer b.destroyCopy(context.Background(), s.h, c.ID)
	pause(ctx, b.o.idleWait)
	if err := s.h.pool.sync(ctx); err != nil {
		return err
	}
	r := &idleResult{}
	if r.Exclusive, err = s.h.pool.exclusive(ctx, c.ID); err != nil {
		return err
	}
	free1, err := s.h.pool.free(ctx)
	if err != nil {
		return err
	}
	r.FreeDelta = free0 - free1
	if r.Memory, err = b.copyMemory(ctx, s.h, c.ID); err != nil {
		return err
	}
	s.Idle = r
	return nil
}

// copyMemory is the memory of a copy's postmaster and its children.
func (b *bench) copyMemory(ctx context.Context, h *home, id string) (memory, error) {
	dir, err := h.pool.volume(ctx, storage.KindCopy, id)
	if err != nil {
		return memory{}, err
	}
	pgdata := filepath.Join(dir, "pgdata")
	pm, ok := postgres.Postmasters(pgdata)[pgdata]
	if !ok {
		return memory{}, fmt.Errorf("no postmaster runs on %s", pgdata)
	}
	return treeMemory(pm.PID)
}

// concurrentCreates starts --concurrent copy creates at once; each counts
// as done when its first query has answered.
func (b *bench) concurrentCreates(ctx context.Context, s *sizeResult) error {
	n := b.o.concurrent
	logf("%s: %d concurrent copy creates", s.Label, n)
	r := &concurrentResult{N: n}
	var mu sync.Mutex
	var wg sync.WaitGroup
	var ids []string
	var each []float64
	t0 := time.Now()
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := b.createCopy(ctx, s.h)
			mu.Lock()
			defer mu.Unlock()
			if c.ID != "" {
				ids = append(ids, c.ID)
			}
			if err != nil {
				r.Failures++
				r.Errors = append(r.Errors, err.Error())
				return
			}
			each = append(each, c.Total)
		}()
	}
	wg.Wait()
	r.Wall = ms(time.Since(t0))
	r.Each = summarize(each)
	// memory per copy while all of them run (shared pages split n ways)
	var total int64
	for _, id := range ids {
		if m, err := b.copyMemory(ctx, s.h, id); err == nil {
			total += m.PSS
		}
	}
	if len(ids) > 0 {
		r.PSSPerCopy = total / int64(len(ids))
	}
	t1 := time.Now()
	for _, id := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := b.destroyCopy(ctx, s.h, id); err != nil {
				mu.Lock()
				r.DestroyFailures++
				r.Errors = append(r.Errors, err.Error())
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	r.DestroyWall = ms(time.Since(t1))
	s.Concurrent = r
	logf("%s: %d creates in %s, %d failed", s.Label, n, fmtMS(r.Wall), r.Failures)
	return nil
}

// alternatives times what a user does without ditto, on the same data:
// CREATE DATABASE ... TEMPLATE with both strategies, and createdb +
// pg_restore --jobs of the dump. They run inside a copy twice: a --durable
// one (stock PostgreSQL settings: fsync, full_page_writes and
// synchronous_commit on) and an ordinary one (fsync off, as CI set-ups
// often run), which favours them.
func (b *bench) alternatives(ctx context.Context, s *sizeResult) error {
	a := &altResult{}
	var err error
	if a.Stock, err = b.alternativesOn(ctx, s, true); err != nil {
		return err
	}
	if a.NoFsync, err = b.alternativesOn(ctx, s, false); err != nil {
		return err
	}
	s.Alternatives = a
	return nil
}

func (b *bench) alternativesOn(ctx context.Context, s *sizeResult, durable bool) (*altTimes, error) {
	var extra []string
	how := "fsync off"
	if durable {
		extra, how = []string{"--durable"}, "stock settings"
	}
	c, err := b.createCopy(ctx, s.h, extra...)
	if err != nil {
		return nil, err
	}
	defer b.destroyCopy(context.Background(), s.h, c.ID)
	u, err := url.Parse(c.URL)
	if err != nil {
		return nil, err
	}
	dbURL := func(db string) string { v := *u; v.Path = "/" + db; return v.String() }
	conn, err := pgx.Connect(ctx, dbURL("postgres"))
	if err != nil {
		return nil, err
	}
	defer conn.Close(context.Background())
	a := &altTimes{}
	timed := func(what string, f func() error) (float64, error) {
		if err := s.h.pool.sync(ctx); err != nil {
			return 0, err
		}
		logf("%s: %s (%s)", s.Label, what, how)
		t0 := time.Now()
		if err := f(); err != nil {
			return 0, fmt.Errorf("%s: %w", what, err)
		}
		d := ms(time.Since(t0))
		if _, err := conn.Exec(ctx, "DROP DATABASE alt"); err != nil {
			return 0, err
		}
		return d, nil
	}
	tmpl := pgx.Identifier{s.database}.Sanitize()
	for _, strategy := range []string{"FILE_COPY", "WAL_LOG"} {
		d, err := timed("CREATE DATABASE TEMPLATE STRATEGY "+strategy, func() error {
			_, err := conn.Exec(ctx, "CREATE DATABASE alt TEMPLATE "+tmpl+" STRATEGY "+strategy)
			return err
		})
		if err != nil {
			return nil, err
		}
		if strategy == "FILE_COPY" {
			a.FileCopy = d
		} else {
			a.WALLog = d
		}
	}
	if s.dump != "" {
		a.Restore, err = timed(fmt.Sprintf("createdb + pg_restore --jobs %d", b.o.jobs), func() error {
			if _, err := conn.Exec(ctx, "CREATE DATABASE alt TEMPLATE template0"); err != nil {
				return err
			}
			_, err := output(ctx, b.bin.Path("pg_restore"), "--jobs", strconv.Itoa(b.o.jobs), "-d", dbURL("alt"), s.dump)
			return err
		})
		if err != nil {
			return nil, err
		}
	}
	return a, nil
}

func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return ""
	}
	return strings.Join(f[:3], " ")
}
