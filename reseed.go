package ditto

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/dittodb/ditto/postgres"
	"github.com/dittodb/ditto/storage"
	"github.com/jackc/pgx/v5"
)

// reseedName names the reseed server's socket folder and log.
const reseedName = "reseed"

// ReseedOptions say where the golden's data comes from.
type ReseedOptions struct {
	DumpPath  string // an existing dump (custom, directory, tar or plain SQL)
	SourceURL string // or a live database to pg_dump
	// KeepDump, with SourceURL, is where the dump is kept for later reuse;
	// empty means it only lives in a 0700 temporary folder.
	KeepDump string
	Database string // overrides the name taken from the dump
	PGBin    string // overrides the binaries folder
	Jobs     int    // pg_restore --jobs; 0 = number of CPUs
	// Rules is the masking rules file; empty means <home>/ditto-mask.yaml
	// if it exists, else no masking.
	Rules string
	// AllowUnmasked loads data even when the rules' check finds problems.
	AllowUnmasked bool
}

// plan is what one reseed builds: the golden's description, the binaries,
// the dump, and the masking to apply on the way in.
type plan struct {
	g     Golden
	bin   postgres.Bin
	dump  postgres.DumpInfo
	jobs  int
	masks *masking // nil: no masking
	// sanitizedOut, with masking, is where the masked dump of the golden
	// is written for reuse (DITTO_DUMP_PATH).
	sanitizedOut string
}

// Reseed builds a new golden generation and makes it current. A failure or
// interruption at any point leaves the previous golden current and
// untouched; what the failed attempt built is removed now or by gc.
func (m *Manager) Reseed(ctx context.Context, o ReseedOptions) (Golden, error) {
	l, err := m.lockReseed()
	if err != nil {
		return Golden{}, err
	}
	g, err := m.reseed(ctx, o)
	l.Unlock()
	if err != nil {
		return Golden{}, err
	}
	m.GC(ctx) // old generations no copy uses
	return g, nil
}

func (m *Manager) lockReseed() (*lockFile, error) {
	l, err := lock(m.Home.reseedLock(), false)
	if errors.Is(err, errLocked) {
		holder, _ := os.ReadFile(m.Home.reseedLock())
		return nil, fmt.Errorf("another reseed is running (ditto process %s): wait for it to finish, or stop it; its half-built golden is never used", strings.TrimSpace(string(holder)))
	}
	if err != nil {
		return nil, err
	}
	_ = l.f.Truncate(0)
	_, _ = l.f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	crashPoint("reseed:locked")
	return l, nil
}

func (m *Manager) reseed(ctx context.Context, o ReseedOptions) (Golden, error) {
	start := time.Now()
	bins, err := postgres.FindBins(firstNonEmpty(o.PGBin, m.Config.PGBin))
	if err != nil {
		return Golden{}, err
	}
	masks, err := m.loadMasking(o)
	if err != nil {
		return Golden{}, err
	}
	var sanitizedOut string
	if masks != nil {
		// the raw dump must not persist: keep the masked one instead
		sanitizedOut, o.KeepDump = o.KeepDump, ""
	}
	tmp, err := os.MkdirTemp(m.Home.tmpDir(), "reseed-")
	if err != nil {
		return Golden{}, err
	}
	defer os.RemoveAll(tmp) // the raw dump never outlives the reseed

	dumpPath, source := o.DumpPath, o.DumpPath
	if o.SourceURL != "" {
		source = postgres.RedactURL(o.SourceURL)
		if dumpPath, err = m.dumpSource(ctx, bins, o, tmp); err != nil {
			return Golden{}, err
		}
	}
	if dumpPath == "" {
		return Golden{}, errors.New("nothing to reseed from: give --dump FILE (or DITTO_DUMP_PATH) or --source-url URL (or DITTO_SOURCE_URL)")
	}
	info, err := postgres.InspectDump(dumpPath)
	if err != nil {
		return Golden{}, err
	}
	bin, err := goldenBinFor(bins, info)
	if err != nil {
		return Golden{}, fmt.Errorf("%s: %w", dumpPath, err)
	}
	p := &plan{
		g: Golden{
			Generation: newGeneration(start),
			Source:     source,
			Format:     string(info.Format),
			Database:   firstNonEmpty(o.Database, info.Database, dumpBaseName(dumpPath)),
			Role:       m.Config.Role,
			PGMajor:    bin.Major,
			PGVersion:  bin.Version,
			PGBinDir:   bin.Dir,
			Masked:     masks != nil,
		},
		bin: bin, dump: info, jobs: o.Jobs, masks: masks, sanitizedOut: sanitizedOut,
	}
	if p.jobs <= 0 {
		p.jobs = runtime.NumCPU()
	}
	if masks != nil {
		p.g.Rules = masks.rules.File
	}
	g := &p.g
	m.Log.Info("reseeding", "generation", g.Generation, "dump", dumpPath, "format", info.Format,
		"database", g.Database, "postgres", bin.Version, "masking", masks != nil)
	if err := m.build(ctx, p); err != nil {
		return Golden{}, err
	}
	if err := m.switchCurrent(g.Generation); err != nil {
		return Golden{}, err
	}
	crashPoint("reseed:switched")
	m.Log.Info("golden ready", "generation", g.Generation, "database", g.Database,
		"size", HumanBytes(g.Bytes), "took", time.Since(start).Round(time.Millisecond))
	return *g, nil
}

// dumpSource pg_dumps the source URL with binaries at least as new as the
// source server, into KeepDump when asked or else into the private tmp dir.
func (m *Manager) dumpSource(ctx context.Context, bins []postgres.Bin, o ReseedOptions, tmp string) (string, error) {
	major, version, err := postgres.SourceVersion(ctx, o.SourceURL)
	if err != nil {
		return "", err
	}
	bin, err := postgres.PickBin(bins, major)
	if err != nil {
		return "", fmt.Errorf("pg_dump of a PostgreSQL %s source: %w", version, err)
	}
	out := filepath.Join(tmp, "source.dump")
	m.Log.Info("dumping the source", "source", postgres.RedactURL(o.SourceURL), "server", version, "pg_dump", bin.Version)
	t := time.Now()
	if err := postgres.DumpSource(ctx, bin, o.SourceURL, out, m.Log); err != nil {
		return "", err
	}
	m.Log.Info("source dumped", "took", time.Since(t).Round(time.Millisecond))
	crashPoint("reseed:dumped")
	if o.KeepDump == "" {
		return out, nil
	}
	if err := moveFile(out, o.KeepDump); err != nil {
		return "", fmt.Errorf("keeping the dump at %s (DITTO_DUMP_PATH): %w", o.KeepDump, err)
	}
	m.Log.Info("dump kept for `ditto reseed --dump`", "path", o.KeepDump)
	return o.KeepDump, nil
}

// goldenBinFor picks the oldest installed major that can restore the dump,
// so the golden matches the source's major whenever that is installed.
func goldenBinFor(bins []postgres.Bin, info postgres.DumpInfo) (postgres.Bin, error) {
	need := max(info.DumperMajor, info.ServerMajor)
	bin, err := postgres.PickBin(bins, need)
	if err != nil {
		return bin, err
	}
	for _, b := range bins {
		if b.Major >= need && b.Major < bin.Major {
			bin = b
		}
	}
	return bin, nil
}

// build restores the dump into a new building volume, stops it cleanly and
// freezes it. On any failure the building volume is removed.
func (m *Manager) build(ctx context.Context, p *plan) (err error) {
	g, bin := &p.g, p.bin
	vol, err := m.store.CreateBuilding(ctx, g.Generation)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			if derr := m.store.Destroy(context.Background(), storage.KindBuilding, g.Generation); derr != nil {
				m.Log.Warn("could not remove the half-built golden; `ditto gc` will", "error", derr)
			}
		}
	}()
	crashPoint("reseed:building")
	pgdata := filepath.Join(vol, pgDataDir)
	t := time.Now()
	made, err := postgres.InitDBFromTemplate(ctx, bin, m.pgUser, pgdata, g.Role, m.Home.initdbDir())
	if err != nil {
		return err
	}
	if err := m.writeHBA(pgdata); err != nil {
		return err
	}
	from := "the initdb template"
	if made {
		from = "initdb, kept as a template for the next reseeds"
	}
	m.Log.Info("initdb done", "from", from, "took", time.Since(t).Round(time.Millisecond))
	crashPoint("reseed:initdb")
	if err := m.restoreInto(ctx, p, pgdata); err != nil {
		return err
	}
	crashPoint("reseed:stopped")
	if err := checkCleanShutdown(ctx, bin, pgdata); err != nil {
		return err
	}
	g.CreatedAt = time.Now().UTC()
	g.Bytes = dirSize(pgdata)
	if err := writeJSONAtomic(filepath.Join(vol, goldenMetaFile), g); err != nil {
		return err
	}
	if err := os.Chmod(filepath.Join(vol, goldenMetaFile), 0o644); err != nil {
		return err
	}
	if _, err = m.store.Freeze(ctx, g.Generation); err != nil {
		return err
	}
	crashPoint("reseed:frozen")
	return nil
}

// restoreInto runs a private server on the building data directory (Unix
// socket only), restores, analyzes, checkpoints and stops it with a fast
// shutdown, never an immediate one, so no copy ever runs crash recovery.
func (m *Manager) restoreInto(ctx context.Context, p *plan, pgdata string) (err error) {
	g, bin := &p.g, p.bin
	// one reseed at a time (the lock), so fixed names; a killed reseed may
	// have left a stale socket lock file behind
	sock := filepath.Join(m.Home.runDir(), reseedName)
	logFile := filepath.Join(m.Home.logsDir(), reseedName+".log")
	if err := os.RemoveAll(sock); err != nil {
		return err
	}
	os.Remove(logFile)
	defer os.RemoveAll(sock)
	defer os.Remove(logFile)
	srv, err := postgres.Start(ctx, postgres.ServerOptions{
		Bin: bin, User: m.pgUser, DataDir: pgdata, Port: 5432, SocketDir: sock, LogFile: logFile,
		// wal_level=minimal: the restore truncates each table in the
		// transaction of its COPY (FREEZE), and index builds make new
		// files, so neither is written to the WAL as well (a 1 GB reseed:
		// 16 s -> 12.5 s).
		Settings: []string{"fsync=off", "full_page_writes=off", "synchronous_commit=off",
			"maintenance_work_mem=256MB", "max_wal_size=4GB", "checkpoint_timeout=1h", "wal_level=minimal", "max_wal_senders=0"},
	})
	if err != nil {
		return err
	}
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		defer cancel()
		if serr := postgres.Stop(sctx, srv.Proc); serr != nil && err == nil {
			err = fmt.Errorf("stopping the reseed server: %w", serr)
		}
	}()
	conn, err := srv.WaitReady(ctx, g.Role, "postgres")
	if err != nil {
		return err
	}
	conn.Close(ctx)
	t := time.Now()
	ro := postgres.RestoreOptions{
		Bin: bin, User: m.pgUser, Dump: p.dump, SocketDir: sock, Port: 5432, Superuser: g.Role,
		Database: g.Database, Jobs: p.jobs, Log: m.Log,
	}
	if p.masks != nil {
		ro.Data = p.masks.filter(srv, g, m.Log)
	}
	if err := postgres.Restore(ctx, ro); err != nil {
		return err
	}
	m.Log.Info("restore done", "took", time.Since(t).Round(time.Millisecond))
	crashPoint("reseed:restored")
	conn, err = srv.WaitReady(ctx, g.Role, g.Database)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	t = time.Now()
	if err := waitSessionsGone(ctx, conn); err != nil {
		return err
	}
	// fsync is off while restoring (a crash discards the building volume
	// anyway); the clean shutdown writes every page out and Freeze syncs
	// the filesystem before the snapshot. VACUUM FREEZE once here, or every
	// copy would vacuum: restored rows count as new inserts, and rows not
	// loaded frozen carry no hint bits, so a copy's autovacuum rewrote its
	// whole tables within a minute (an idle copy of a 1 GB golden: 878 MiB
	// of its own in 2.5 min). Rows loaded with COPY FREEZE make it skip
	// their pages: it then costs little more than the ANALYZE.
	for _, q := range []string{"VACUUM (FREEZE, ANALYZE)", "CHECKPOINT"} {
		if _, err := conn.Exec(ctx, q); err != nil {
			return fmt.Errorf("%s in the golden: %w", q, err)
		}
	}
	m.Log.Info("vacuum, analyze and checkpoint done", "took", time.Since(t).Round(time.Millisecond))
	if p.sanitizedOut != "" {
		return m.writeSanitizedDump(ctx, p, sock)
	}
	return nil
}

// waitSessionsGone waits until the restore's sessions have ended: a session
// reports its row counts as it exits, and counts arriving after the VACUUM
// would make every copy's autovacuum vacuum that table again.
func waitSessionsGone(ctx context.Context, conn *pgx.Conn) error {
	deadline := time.Now().Add(30 * time.Second)
	for {
		var n int
		err := conn.QueryRow(ctx, "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()").Scan(&n)
		if err != nil {
			return fmt.Errorf("waiting for the restore's sessions to end: %w", err)
		}
		if n == 0 || time.Now().After(deadline) {
			return nil // after the deadline, a copy may vacuum a table again: slower, not wrong
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// goldenHBA trusts only the Unix socket, which lives in each copy's private
// folder; every TCP login, from any address the copy is told to listen on,
// needs the copy's own password.
const goldenHBA = `# written by ditto reseed
local all all                trust
host  all all 0.0.0.0/0      scram-sha-256
host  all all ::/0           scram-sha-256
`

func (m *Manager) writeHBA(pgdata string) error {
	p := filepath.Join(pgdata, "pg_hba.conf")
	if err := os.WriteFile(p, []byte(goldenHBA), 0o600); err != nil {
		return err
	}
	return os.Chown(p, m.pgUser.UID, m.pgUser.GID)
}

// checkCleanShutdown reads pg_control: a golden must say "shut down", or its
// copies would start with crash recovery.
func checkCleanShutdown(ctx context.Context, bin postgres.Bin, pgdata string) error {
	out, err := exec.CommandContext(ctx, bin.Path("pg_controldata"), "-D", pgdata).CombinedOutput()
	if err != nil {
		return fmt.Errorf("pg_controldata: %v: %s", err, out)
	}
	for _, line := range strings.Split(string(out), "\n") {
		if state, ok := strings.CutPrefix(line, "Database cluster state:"); ok {
			if s := strings.TrimSpace(state); s != "shut down" {
				return fmt.Errorf("the golden's server stopped in state %q, not cleanly: refusing to freeze it", s)
			}
			return nil
		}
	}
	return errors.New("pg_controldata printed no cluster state")
}

func (m *Manager) switchCurrent(gen string) error {
	l, err := lock(m.Home.stateLock(), true)
	if err != nil {
		return err
	}
	defer l.Unlock()
	return m.Home.setCurrent(gen)
}

// dumpBaseName turns /x/pagila.sql.gz into "pagila", for plain dumps that do
// not name their database.
func dumpBaseName(p string) string {
	b := filepath.Base(filepath.Clean(p))
	for _, ext := range []string{".gz", ".sql", ".dump", ".tar", ".custom", ".backup"} {
		b = strings.TrimSuffix(b, ext)
	}
	return b
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

// moveFile renames src to dst, copying when they are on different
// filesystems.
func moveFile(src, dst string) error {
	if err := os.Rename(src, dst); err == nil {
		return nil
	}
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	tmp := dst + ".partial"
	out, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if _, err := out.ReadFrom(in); err != nil {
		out.Close()
		os.Remove(tmp)
		return err
	}
	if err := out.Sync(); err != nil {
		out.Close()
		os.Remove(tmp)
		return err
	}
	if err := out.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, dst)
}
