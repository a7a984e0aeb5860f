package ditto

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/dittodb/ditto/internal/proc"
	"github.com/dittodb/ditto/internal/state"
	"github.com/dittodb/ditto/postgres"
	"github.com/dittodb/ditto/storage"
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
	// AfterRestore is a file of SQL run on the golden after the restore
	// and masking, before it is frozen (e.g. to mark it as not production).
	AfterRestore string
	// Meter, when set, shows the restore's progress to a person.
	Meter postgres.Meter
	// Trigger says who started it (TriggerCLI when empty), for the status.
	Trigger string
}

// DumpPathMeaning is what DITTO_DUMP_PATH means, for every command's help.
const DumpPathMeaning = `DITTO_DUMP_PATH names this project's dump file, one thing everywhere:
` + "`ditto reseed`" + ` with no source restores it; ` + "`ditto reseed --source-url`" + ` writes
the dump there (the masked one when masking rules apply, never the raw one);
` + "`ditto dump`" + ` writes the golden there. A --dump or FILE argument that names
another file is an error, never silently one of them.`

// UseDumpPath applies DITTO_DUMP_PATH (p, "" when unset; see
// DumpPathMeaning): the dump to restore without a source, where the dump
// of a source URL is kept. A --dump naming another file is refused.
func (o *ReseedOptions) UseDumpPath(p string) error {
	switch {
	case o.DumpPath != "" && o.SourceURL != "":
		return invalidf("give either --dump or --source-url, not both")
	case p != "" && o.DumpPath != "" && !SamePath(p, o.DumpPath):
		return errorf(CodeInvalid, "unset DITTO_DUMP_PATH, or drop --dump to restore the file it names",
			"--dump %s and DITTO_DUMP_PATH=%s name different files", o.DumpPath, p)
	case o.SourceURL != "":
		o.KeepDump = p
	case o.DumpPath == "":
		o.DumpPath = p
	}
	return nil
}

// SamePath reports whether a and b name the same file, as written or once
// made absolute and clean.
func SamePath(a, b string) bool {
	if a == b {
		return true
	}
	aa, err1 := filepath.Abs(a)
	bb, err2 := filepath.Abs(b)
	return err1 == nil && err2 == nil && aa == bb
}

// plan is what one reseed builds: the golden's description, the binaries,
// the dump, and the masking to apply on the way in.
type plan struct {
	golden  Golden
	bin     postgres.Bin
	dump    postgres.DumpInfo
	jobs    int
	masking *masking // nil: no masking
	// maskedDumpOut, with masking, is where the masked dump of the golden
	// is written for reuse (DITTO_DUMP_PATH).
	maskedDumpOut string
	// afterRestore is SQL run on the golden before it is frozen, and
	// afterRestoreFile where it came from.
	afterRestore, afterRestoreFile string
	meter                          postgres.Meter
}

// Reseed builds a new golden generation and makes it current. A failure or
// interruption at any point leaves the previous golden current and
// untouched; what the failed attempt built is removed now or by gc.
func (m *Manager) Reseed(ctx context.Context, o ReseedOptions) (Golden, error) {
	_, run, err := m.StartReseed(o)
	if err != nil {
		return Golden{}, err
	}
	return run(ctx)
}

// StartReseed takes the reseed lock, or refuses (CodeBusy) while another
// reseed runs, records the attempt and returns it with the reseed to run,
// which records its outcome: the daemon answers the caller before it runs.
func (m *Manager) StartReseed(o ReseedOptions) (ReseedRun, func(context.Context) (Golden, error), error) {
	l, err := m.lockReseed()
	if err != nil {
		return ReseedRun{}, nil, err
	}
	if o.Trigger == "" {
		o.Trigger = TriggerCLI
	}
	start := time.Now()
	attempt := m.reseedStarted(o.Trigger, start)
	return attempt, func(ctx context.Context) (Golden, error) {
		g, err := m.reseed(ctx, o)
		m.reseedFinished(o, start, g, err)
		l.Unlock()
		if err != nil {
			m.observe(OpReseed, start, err, nil)
			return Golden{}, err
		}
		m.observe(OpReseed, start, nil, &g)
		m.GC(ctx) // old generations no copy uses
		return g, nil
	}, nil
}

func (m *Manager) lockReseed() (*state.Lock, error) {
	l, err := state.TryLock(m.Home.ReseedLock())
	if errors.Is(err, state.ErrLocked) {
		who := ""
		if pid := reseedHolder(m.Home.ReseedLock()); pid != 0 {
			who = fmt.Sprintf(" (ditto process %d)", pid)
		}
		return nil, errorf(CodeBusy, "wait for it to finish, or stop it; its half-built golden is never used", "another reseed is running%s", who)
	}
	if err != nil {
		return nil, err
	}
	// the PID goes in before the previous one is cut off, so the file is
	// never empty for a reseed refused meanwhile
	pid := []byte(strconv.Itoa(os.Getpid()) + "\n")
	_, _ = l.File().WriteAt(pid, 0)
	_ = l.File().Truncate(int64(len(pid)))
	crashPoint("reseed:locked")
	return l, nil
}

// reseedHolder returns the PID of the reseed holding the lock file, or 0.
// The holder writes it just after taking the lock, so a file still empty, or
// naming the previous (dead) reseed, is read again for a moment.
func reseedHolder(path string) int {
	for deadline := time.Now().Add(500 * time.Millisecond); ; time.Sleep(10 * time.Millisecond) {
		b, _ := os.ReadFile(path)
		line, _, _ := strings.Cut(string(b), "\n")
		if pid, err := strconv.Atoi(line); err == nil {
			if _, err := proc.Lookup(pid); err == nil {
				return pid
			}
		}
		if time.Now().After(deadline) {
			return 0
		}
	}
}

func (m *Manager) reseed(ctx context.Context, o ReseedOptions) (Golden, error) {
	start := time.Now()
	bins, err := postgres.FindBins(firstNonEmpty(o.PGBin, m.Config.PGBin))
	if err != nil {
		return Golden{}, err
	}
	masker, err := m.loadMasking(o)
	if err != nil {
		return Golden{}, err
	}
	var afterRestore []byte
	if o.AfterRestore != "" {
		// read now: a missing file must not cost a whole restore
		if afterRestore, err = os.ReadFile(o.AfterRestore); err != nil {
			return Golden{}, invalidf("--after-restore: %v", err)
		}
	}
	var maskedDumpOut string
	if masker != nil {
		// the raw dump must not persist: keep the masked one instead
		maskedDumpOut, o.KeepDump = o.KeepDump, ""
	}
	tmp, err := os.MkdirTemp(m.Home.Tmp(), "reseed-")
	if err != nil {
		return Golden{}, err
	}
	defer os.RemoveAll(tmp) // the raw dump never outlives the reseed

	dumpPath, source, kind := o.DumpPath, o.DumpPath, SourceDump
	if o.SourceURL != "" {
		source, kind = postgres.RedactURL(o.SourceURL), SourceURL
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
		golden: Golden{
			Generation: newGeneration(start),
			Source:     source,
			SourceKind: kind,
			Format:     string(info.Format),
			Database:   firstNonEmpty(o.Database, info.Database, dumpBaseName(dumpPath)),
			Role:       m.Config.Role,
			PGMajor:    bin.Major,
			PGVersion:  bin.Version,
			PGBinDir:   bin.Dir,
			Masked:     masker != nil,
		},
		bin: bin, dump: info, jobs: o.Jobs, masking: masker, maskedDumpOut: maskedDumpOut,
		afterRestore: string(afterRestore), afterRestoreFile: o.AfterRestore, meter: o.Meter,
	}
	if p.jobs <= 0 {
		p.jobs = runtime.NumCPU()
	}
	if masker != nil {
		p.golden.Rules = masker.rules.File
	}
	g := &p.golden
	m.Log.Info("reseeding", "generation", g.Generation, "dump", dumpPath, "format", info.Format,
		"database", g.Database, "postgres", bin.Version, "masking", masker != nil)
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
	g, bin := &p.golden, p.bin
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
	made, err := postgres.InitDBFromTemplate(ctx, bin, m.pgUser, pgdata, g.Role, m.Home.InitDB())
	if err != nil {
		return err
	}
	// while restoring, the tools (run as the servers' OS user) log in
	// without a password too; the golden lets in ditto's own user only
	me := postgres.CurrentOSUser().Name
	if err := postgres.WriteHBA(pgdata, m.pgUser, g.Role, me, m.pgUser.Name); err != nil {
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
	if err := postgres.WriteHBA(pgdata, m.pgUser, g.Role, me); err != nil {
		return err
	}
	if err := checkCleanShutdown(ctx, bin, pgdata); err != nil {
		return err
	}
	g.CreatedAt = time.Now().UTC()
	g.Bytes = dirSize(pgdata)
	if err := state.WriteJSON(filepath.Join(vol, goldenMetaFile), g, true); err != nil {
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
	g, bin := &p.golden, p.bin
	// one reseed at a time (the lock), so fixed names; a killed reseed may
	// have left a stale socket lock file behind
	sock := filepath.Join(m.Home.Run(), reseedName)
	logFile := filepath.Join(m.Home.Logs(), reseedName+".log")
	if err := os.RemoveAll(sock); err != nil {
		return err
	}
	os.Remove(logFile)
	defer os.RemoveAll(sock)
	defer os.Remove(logFile)
	o := postgres.ServerOptions{
		Bin: bin, User: m.pgUser, DataDir: pgdata, Port: postgres.PrivatePort, SocketDir: sock, LogFile: logFile,
		Settings: postgres.RestoreSettings(),
	}
	srv, err := m.startConfined(ctx, postgres.Start, o, "the reseed's restore server", nil)
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
		Bin: bin, User: m.pgUser, Dump: p.dump, SocketDir: sock, Port: postgres.PrivatePort, Superuser: g.Role,
		Database: g.Database, Jobs: p.jobs, Log: m.Log, Meter: p.meter,
	}
	if p.masking != nil {
		ro.Data = p.masking.filter(srv, g, m.Log)
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
	if err := postgres.WaitSessionsGone(ctx, conn); err != nil {
		return err
	}
	if p.afterRestore != "" {
		// one simple-protocol message: every statement, in one transaction
		// unless the file says otherwise
		if _, err := conn.Exec(ctx, p.afterRestore); err != nil {
			return invalidf("--after-restore %s failed on the golden (the current golden is unchanged): %v", p.afterRestoreFile, err)
		}
		m.Log.Info("after-restore SQL done", "file", p.afterRestoreFile)
	}
	// fsync is off while restoring (a crash discards the building volume
	// anyway); the clean shutdown writes every page out and Freeze syncs
	// the filesystem before the snapshot. VACUUM FREEZE once here, or every
	// copy would vacuum: restored rows count as new inserts, and rows not
	// loaded frozen carry no hint bits, so a copy's autovacuum rewrote its
	// whole tables within a minute, each page it touched becoming its own
	// (see the README). Rows loaded with COPY FREEZE make it skip
	// their pages: it then costs little more than the ANALYZE.
	for _, q := range []string{"VACUUM (FREEZE, ANALYZE)", "CHECKPOINT"} {
		if _, err := conn.Exec(ctx, q); err != nil {
			return fmt.Errorf("%s in the golden: %w", q, err)
		}
	}
	m.Log.Info("vacuum, analyze and checkpoint done", "took", time.Since(t).Round(time.Millisecond))
	if p.maskedDumpOut != "" {
		return m.writeMaskedDump(ctx, p, sock)
	}
	return nil
}

// checkCleanShutdown reads pg_control: a golden must say "shut down", or its
// copies would start with crash recovery.
func checkCleanShutdown(ctx context.Context, bin postgres.Bin, pgdata string) error {
	s, err := postgres.ClusterState(ctx, bin, pgdata)
	if err != nil {
		return err
	}
	if s != postgres.StateShutDown {
		return fmt.Errorf("the golden's server stopped in state %q, not cleanly: refusing to freeze it", s)
	}
	return nil
}

func (m *Manager) switchCurrent(gen string) error {
	return m.Home.Update(func(tx *tx) error { return tx.SetCurrent(gen) })
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
// filesystems. A missing folder of dst is made, private: it is where a
// user asked a dump to be kept (DITTO_DUMP_PATH="$PWD/.ditto/latest.dump").
func moveFile(src, dst string) error {
	if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
		return err
	}
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
