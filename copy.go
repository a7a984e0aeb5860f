package ditto

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/dittodb/ditto/internal/proc"
	"github.com/dittodb/ditto/postgres"
	"github.com/dittodb/ditto/sandbox"
	"github.com/dittodb/ditto/storage"
)

// CreateOptions are the per-copy choices of `ditto copy create`.
type CreateOptions struct {
	TTL     time.Duration // 0: no expiry
	Labels  map[string]string
	Durable bool   // keep fsync and friends on
	Listen  string // listen_addresses; "" = the configured default
	// Settings are extra "key=value" server settings, applied after ditto's
	// own so they win.
	Settings []string
	// Owner, when set, bounds the copy's life: gc destroys it once that
	// process is gone (used by `copy run` for itself).
	Owner *proc.Ref
	// OwnerUID and OwnerName are the user the copy belongs to.
	OwnerUID  int
	OwnerName string
	// TLS makes the copy for a caller on another machine: its server
	// requires TLS from every host but this one, with a certificate of
	// ditto's CA (see ditto serve --api-listen) for Host.
	TLS bool
	// Host is the name or address its URL gives; "" derives it from the
	// listen address.
	Host string
	// Limits cap what the copy may use; those left out are the config's.
	Limits Limits
}

// DefaultTTL is a copy's time to live when none is given.
const DefaultTTL = 24 * time.Hour

// readyTimeout bounds how long a copy's server may take to accept connections.
const readyTimeout = 60 * time.Second

// CreateCopy clones the current golden and starts a server on it. Nothing in
// it grows with the database size: one clone, one server start, one ALTER
// ROLE for the copy's own password.
func (m *Manager) CreateCopy(ctx context.Context, o CreateOptions) (*Copy, error) {
	t0 := time.Now()
	c, err := m.createCopy(ctx, o, t0)
	m.observe(OpCreate, t0, err, nil)
	return c, err
}

func (m *Manager) createCopy(ctx context.Context, o CreateOptions, t0 time.Time) (*Copy, error) {
	if err := ValidateLabels(o.Labels); err != nil {
		return nil, err
	}
	if _, err := ParseSettings(o.Settings); err != nil {
		return nil, err
	}
	o.Limits = o.Limits.Or(m.Config.Limits)
	if err := m.checkLimits(o.Limits); err != nil {
		return nil, err
	}
	listen := o.Listen
	if listen == "" {
		listen = m.Config.Listen
	}
	// the machine's addresses may have changed since init
	if err := ValidateListen(listen); err != nil {
		return nil, err
	}
	m.Sweep(ctx)
	if err := m.checkFreeSpace(ctx); err != nil {
		return nil, err
	}
	c, err := newRecord(listen, o)
	if err != nil {
		return nil, err
	}
	if err := m.makeCopy(ctx, c, StateReady); err != nil {
		return nil, err
	}
	m.event(ctx, c, EventCreated, "golden "+c.Generation)
	m.event(ctx, c, EventReady, "")
	m.Log.Debug("copy ready", "id", c.ID, "port", c.Port, "golden", c.Generation, "took", time.Since(t0))
	return c, nil
}

// newRecord is the record of a copy about to be made, with its password.
func newRecord(listen string, o CreateOptions) (*Copy, error) {
	host := o.Host
	if host == "" {
		host = connectHost(listen)
	}
	self := proc.Self()
	now := time.Now().UTC()
	c := &Copy{
		State:     StateCreating,
		Listen:    listen,
		Host:      host,
		TLS:       o.TLS,
		Durable:   o.Durable,
		Settings:  o.Settings,
		CreatedAt: now,
		Labels:    o.Labels,
		Owner:     o.Owner,
		OwnerUID:  o.OwnerUID,
		OwnerName: o.OwnerName,
		Limits:    o.Limits,
		Busy:      &self,
	}
	if o.TTL > 0 {
		c.ExpiresAt = now.Add(o.TTL)
	}
	var err error
	c.Password, err = postgres.RandomPassword()
	return c, err
}

// makeCopy reserves c, clones the current golden and starts its server,
// then records it in state done; a failure rolls it all back.
func (m *Manager) makeCopy(ctx context.Context, c *Copy, done CopyState) error {
	c.Role = m.Config.Role
	if err := m.reserve(c); err != nil {
		return err
	}
	defer m.work.drop(c.ID)
	crashPoint("create:reserved")
	if err := m.startOnGolden(ctx, c, true); err != nil {
		m.rollback(ctx, c, err)
		return err
	}
	crashPoint("create:ready")
	c.State, c.Busy = done, nil
	if err := m.Home.Save(c); err != nil {
		m.rollback(ctx, c, err)
		return err
	}
	return nil
}

// reserve picks the copy's ID, port and golden under the state lock and
// writes its record before the lock is released: the record is the port
// reservation and pins the golden against gc.
func (m *Manager) reserve(c *Copy) error {
	return m.Home.Update(func(tx *tx) error {
		var err error
		if c.Generation, err = currentGolden(tx.Current()); err != nil {
			return err
		}
		taken, _, err := tx.Reserved()
		if err != nil {
			return err
		}
		if c.ID, err = tx.NewID(); err != nil {
			return err
		}
		if c.Port, err = allocatePort(m.Config.PortMin, m.Config.PortMax, taken, c.Listen); err != nil {
			return err
		}
		c.SocketDir, c.LogFile = m.Home.SocketDir(c.ID), m.Home.LogFile(c.ID)
		if err := tx.Save(c); err != nil {
			return err
		}
		m.work.take(c.ID)
		return nil
	})
}

// startOnGolden clones c.Generation and starts the copy's server on it.
// With movablePort, a port that something outside ditto took since it was
// checked free is replaced by another one.
func (m *Manager) startOnGolden(ctx context.Context, c *Copy, movablePort bool) error {
	t0 := time.Now()
	vol, err := m.store.Clone(ctx, c.Generation, c.ID)
	if err != nil {
		return fmt.Errorf("cloning golden %s: %w", c.Generation, err)
	}
	crashPoint("start:cloned")
	g, err := readGoldenMeta(vol)
	if err != nil {
		return err
	}
	c.DataDir, c.Database = filepath.Join(vol, pgDataDir), g.Database
	if err := m.setQuota(ctx, c, g.Bytes); err != nil {
		return err
	}
	// recorded before the server starts, so that whoever cleans up after a
	// crash can find a server on this data directory
	if err := m.Home.Save(c); err != nil {
		return err
	}
	bin, err := g.Bin()
	if err != nil {
		return err
	}
	for attempt := 1; ; attempt++ {
		err = m.startServer(ctx, c, bin)
		if err == nil || !movablePort || attempt == 3 || !errors.Is(err, postgres.ErrPortInUse) {
			break
		}
		m.Log.Warn("port taken by another program meanwhile; trying another", "id", c.ID, "port", c.Port)
		if err := m.movePort(c); err != nil {
			return err
		}
	}
	m.Log.Debug("copy server up", "id", c.ID, "took", time.Since(t0))
	return err
}

// startServer starts the copy's postgres, waits until it accepts a
// connection and sets the copy's password.
func (m *Manager) startServer(ctx context.Context, c *Copy, bin postgres.Bin) error {
	srv, err := m.spawnServer(ctx, c, bin)
	if err != nil {
		return err
	}
	crashPoint("start:spawned")
	return m.serverReady(ctx, c, srv)
}

// spawnServer execs the copy's postgres and puts its process and how
// confined it is into c. Where this machine cannot make a sandbox, the
// server starts unconfined, with a warning, and the record says so.
func (m *Manager) spawnServer(ctx context.Context, c *Copy, bin postgres.Bin) (*postgres.Server, error) {
	o := postgres.ServerOptions{
		Bin: bin, User: m.pgUser, DataDir: c.DataDir, Port: c.Port,
		SocketDir: c.SocketDir, Listen: c.Listen, LogFile: c.LogFile,
		Settings: postgres.CopySettings(c.Durable, c.Settings),
	}
	var cgroups []string
	if m.Config.Sandbox != SandboxOff {
		var err error
		if cgroups, err = m.copyCgroup(c); err != nil {
			return nil, err
		}
	} else if err := m.checkLimits(c.Limits); err != nil {
		return nil, err
	}
	if c.TLS {
		var err error
		if o.TLS, err = m.serverCertificate(c); err != nil {
			return nil, err
		}
	}
	srv, err := m.startConfined(ctx, m.pg.Start, o, "copy "+c.ID, cgroups)
	if errors.Is(err, sandbox.ErrUnavailable) {
		return nil, errorf(CodeInvalid, limitsHint, "cannot enforce the limits of copy %s (%s): its server joins its cgroup in its sandbox, which this machine cannot make: %v", c.ID, c.Limits, err)
	}
	if err != nil {
		return nil, err
	}
	c.Postmaster, c.Sandbox = srv.Proc, srv.Sandbox
	return srv, nil
}

// startConfined starts the server of o in a sandbox of its own, in the
// cgroup folders given, unless the config turns sandboxes off; where this
// machine cannot make one, it starts unconfined, with a warning naming
// what, and the Server says so, unless it has a cgroup to join (limits
// are never dropped silently): then the error is sandbox.ErrUnavailable.
func (m *Manager) startConfined(ctx context.Context, start func(context.Context, postgres.ServerOptions) (*postgres.Server, error),
	o postgres.ServerOptions, what string, cgroups []string) (*postgres.Server, error) {
	if m.Config.Sandbox != SandboxOff {
		// the state directory holds every copy's record, log and socket
		// folder, and the reseed's raw dump; the pool every copy's and
		// golden's data
		o.Sandbox = &sandbox.Spec{Hide: []string{m.Home.Dir, m.store.Root()}, Keep: []string{o.DataDir, o.SocketDir}, Cgroups: cgroups}
	}
	srv, err := start(ctx, o)
	if errors.Is(err, sandbox.ErrUnavailable) && len(cgroups) == 0 {
		m.Log.Warn(what+" starts without its sandbox: its superuser can reach other copies and ditto's files; `ditto doctor` says what is missing",
			"reason", err)
		o.Sandbox = nil
		srv, err = start(ctx, o)
	}
	return srv, err
}

// serverReady waits until the copy's server accepts a connection and sets
// the copy's password.
func (m *Manager) serverReady(ctx context.Context, c *Copy, srv *postgres.Server) error {
	t0 := time.Now()
	ctx, cancel := context.WithTimeout(ctx, readyTimeout)
	defer cancel()
	waited, err := m.pg.Ready(ctx, srv, c.Role, c.Database, c.Password)
	if err != nil {
		return fmt.Errorf("copy %s did not start: %w", c.ID, err)
	}
	m.Log.Debug("copy server ready", "id", c.ID, "ready", waited, "password", time.Since(t0)-waited)
	return nil
}

// movePort gives c another free port of the range, under the state lock.
func (m *Manager) movePort(c *Copy) error {
	return m.Home.Update(func(tx *tx) error {
		taken, _, err := tx.Reserved()
		if err != nil {
			return err
		}
		taken[c.Port] = true // something outside ditto holds it
		if c.Port, err = allocatePort(m.Config.PortMin, m.Config.PortMax, taken, c.Listen); err != nil {
			return err
		}
		return tx.Save(c)
	})
}

// Bin returns the binaries the golden was built with: a data directory
// only runs on the same major version.
func (g Golden) Bin() (postgres.Bin, error) {
	if _, err := os.Stat(filepath.Join(g.PGBinDir, "postgres")); err == nil {
		return postgres.Bin{Dir: g.PGBinDir, Major: g.PGMajor, Version: g.PGVersion}, nil
	}
	bins, err := postgres.FindBins("")
	if err != nil {
		return postgres.Bin{}, err
	}
	for _, b := range bins {
		if b.Major == g.PGMajor {
			return b, nil
		}
	}
	return postgres.Bin{}, fmt.Errorf("the golden needs PostgreSQL %d, whose binaries are gone from %s: install postgresql-%d or run `ditto reseed` again", g.PGMajor, g.PGBinDir, g.PGMajor)
}

func connectHost(listen string) string {
	switch listen {
	case "", "*", "0.0.0.0", "localhost", "::":
		return "127.0.0.1"
	}
	if i := strings.IndexByte(listen, ','); i >= 0 {
		return connectHost(strings.TrimSpace(listen[:i]))
	}
	return listen
}

// rollback undoes a failed create; what it cannot undo is left for gc, which
// finds the record's owner gone.
func (m *Manager) rollback(ctx context.Context, c *Copy, cause error) {
	m.Log.Debug("rolling back failed copy", "id", c.ID, "error", cause)
	if err := m.teardown(context.WithoutCancel(ctx), c); err != nil {
		m.Log.Warn("could not clean up failed copy; `ditto gc` will retry", "id", c.ID, "error", err)
		return
	}
	m.event(ctx, c, EventDestroyed, "its create failed")
}

func (m *Manager) checkFreeSpace(ctx context.Context) error {
	u, err := m.store.Usage(ctx)
	if err != nil {
		return err
	}
	if int64(u.Free) < m.Config.MinFree {
		// the space of volumes deleted a moment ago may still be on its way
		m.Log.Info("pool below its free-space floor: waiting for the space of deleted volumes", "free", HumanBytes(u.Free))
		rctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		err := m.store.Reclaim(rctx)
		cancel()
		if err != nil {
			m.Log.Warn("could not wait for the space of deleted volumes", "error", err)
		}
		if u, err = m.store.Usage(ctx); err != nil {
			return err
		}
	}
	if int64(u.Free) < m.Config.MinFree {
		return errorf(CodeNoSpace, fmt.Sprintf("destroy copies (`ditto copy list`, `ditto copy destroy ID`), run `ditto gc`, or lower the floor, e.g. `ditto init --min-free %dM`", m.Config.MinFree/2>>20),
			"the pool has %s free, below the floor of %s", HumanBytes(u.Free), HumanBytes(uint64(m.Config.MinFree)))
	}
	if LowOnSpace(u.Free, m.Config.MinFree) {
		m.Log.Warn("the pool is close to its free-space floor: once it is full, the servers of running copies stop for want of WAL space; destroy copies you no longer need",
			"free", HumanBytes(u.Free), "floor", HumanBytes(uint64(m.Config.MinFree)))
	}
	return nil
}

// Keep hands a copy owned by a `copy run` over to its TTL alone (kept for
// inspection after its command failed).
func (m *Manager) Keep(id string) error {
	return m.Home.Update(func(tx *tx) error {
		c, err := m.Home.loadCopy(id)
		if err != nil {
			return err
		}
		c.Owner = nil
		return tx.Save(c)
	})
}

// LowOnSpace reports a pool with less than twice its free-space floor free:
// copies are still made, but the floor is what keeps room for the WAL of
// running copies, and it is close.
func LowOnSpace(free uint64, floor int64) bool { return free < 2*uint64(floor) }

// Copies lists every recorded copy.
func (m *Manager) Copies() ([]*Copy, error) {
	copies, damaged, err := m.Home.ListCopies()
	for _, p := range damaged {
		m.Log.Warn("damaged copy record (a crash of the machine?): `ditto gc` removes it with its copy", "record", p)
	}
	return copies, err
}

// GetCopy returns one copy's record.
func (m *Manager) GetCopy(id string) (*Copy, error) { return m.Home.loadCopy(id) }

// destroyWait bounds how long a destroy waits for another ditto process
// that is destroying the same copy.
const destroyWait = time.Minute

// DestroyCopy stops a copy's server and removes its volume and record. When
// another ditto process is destroying it already, it waits until that one
// has finished: the copy is gone either way.
func (m *Manager) DestroyCopy(ctx context.Context, id string) error {
	t0 := time.Now()
	err := m.destroyCopy(ctx, id)
	m.observe(OpDestroy, t0, err, nil)
	return err
}

func (m *Manager) destroyCopy(ctx context.Context, id string) error {
	deadline := time.Now().Add(destroyWait)
	var other *busyError // the destroy this one waits for
	for {
		c, err := m.claim(id, StateDestroying)
		if err == nil {
			defer m.work.drop(id)
			crashPoint("destroy:claimed")
			if err := m.teardown(ctx, c); err != nil {
				return err
			}
			m.event(ctx, c, EventDestroyed, "")
			return nil
		}
		if other != nil && errors.Is(err, ErrNoCopy) {
			m.Log.Info("copy destroyed by another ditto process", "id", id, "pid", other.owner.PID)
			return nil
		}
		if !errors.As(err, &other) || other.state != StateDestroying {
			return err
		}
		if time.Now().After(deadline) {
			return errorf(CodeBusy, fmt.Sprintf("stop that process, then run `ditto copy destroy %s` again", id),
				"copy %s is still being destroyed by ditto process %d after %s", id, other.owner.PID, destroyWait)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// busyError says that another live ditto process is working on a copy.
type busyError struct {
	id    string
	state CopyState
	owner proc.Ref
}

func (e *busyError) Error() string     { return e.ErrorMessage() + ": " + e.ErrorHint() }
func (e *busyError) ErrorCode() Code   { return CodeBusy }
func (e *busyError) ErrorHint() string { return "wait for it to finish" }
func (e *busyError) ErrorMessage() string {
	return fmt.Sprintf("copy %s is busy (%s by ditto process %d)", e.id, e.state, e.owner.PID)
}

// claim marks a copy as being worked on by this process, under the state
// lock, so two ditto processes, or two requests to the daemon, never
// destroy or reset the same copy at once. A claim left by a dead process is
// taken over. The copy's owner is kept. The caller drops its claim from
// m.work when done.
func (m *Manager) claim(id string, state CopyState) (c *Copy, err error) {
	err = m.Home.Update(func(tx *tx) error {
		if c, err = m.Home.loadCopy(id); err != nil {
			return err
		}
		self := proc.Self()
		if c.Busy != nil && c.Busy.Alive() && *c.Busy != self {
			return &busyError{id: id, state: c.State, owner: *c.Busy}
		}
		if !m.work.take(id) {
			return &busyError{id: id, state: c.State, owner: self}
		}
		c.State, c.Busy = state, &self
		if err := tx.Save(c); err != nil {
			m.work.drop(id)
			return err
		}
		return nil
	})
	return c, err
}

// teardown stops the copy's server (also one no record explains), destroys
// its volume and removes its socket folder, log and record, in that order,
// so that a crash at any step leaves a record for gc to finish the job.
func (m *Manager) teardown(ctx context.Context, c *Copy) error {
	if err := m.stopCopyServer(ctx, c); err != nil {
		return err
	}
	crashPoint("destroy:stopped")
	if err := m.removeCgroup(c); err != nil {
		return err
	}
	if err := m.store.Destroy(ctx, storage.KindCopy, c.ID); err != nil {
		return fmt.Errorf("destroying the volume of copy %s: %w", c.ID, err)
	}
	crashPoint("destroy:volume-gone")
	os.RemoveAll(c.SocketDir)
	os.Remove(c.LogFile)
	return m.Home.Remove(c.ID)
}

// stopCopyServer stops every postmaster running on the copy's data
// directory: an immediate shutdown first (the volume is thrown away next, so
// no checkpoint is worth writing), then SIGKILL.
func (m *Manager) stopCopyServer(ctx context.Context, c *Copy) error {
	refs := []proc.Ref{c.Postmaster}
	if c.DataDir != "" {
		if r, ok := m.pg.Running(c.DataDir)[filepath.Clean(c.DataDir)]; ok && r != c.Postmaster {
			refs = append(refs, r)
		}
	}
	for _, r := range refs {
		if !r.Alive() {
			continue
		}
		sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		err := m.pg.Quit(sctx, r)
		cancel()
		if err != nil {
			m.Log.Warn("copy server did not stop in time; killing it", "id", c.ID, "pid", r.PID)
			if err := m.pg.Kill(ctx, r); err != nil {
				return fmt.Errorf("stopping the server of copy %s (pid %d): %w", c.ID, r.PID, err)
			}
		}
	}
	return nil
}

// ResetCopy puts a copy back to the current golden, keeping its ID, port and
// password, so a client only has to reconnect.
func (m *Manager) ResetCopy(ctx context.Context, id string) (*Copy, error) {
	c, err := m.claim(id, StateResetting)
	if err != nil {
		return nil, err
	}
	defer m.work.drop(id)
	crashPoint("reset:claimed")
	if err := m.stopCopyServer(ctx, c); err != nil {
		return nil, err
	}
	if err := m.store.Destroy(ctx, storage.KindCopy, c.ID); err != nil {
		return nil, err
	}
	crashPoint("reset:volume-gone")
	// a killed server leaves its socket lock file behind
	if err := os.RemoveAll(c.SocketDir); err != nil {
		return nil, err
	}
	if c.Generation, err = m.currentUnderLock(); err != nil {
		return nil, err
	}
	if err := m.Home.Save(c); err != nil {
		return nil, err
	}
	if err := m.startOnGolden(ctx, c, false); err != nil {
		// down, with its owner and TTL as they were, until a reset succeeds;
		// a server that started but never became ready goes too
		if serr := m.stopCopyServer(ctx, c); serr != nil {
			m.Log.Warn("could not stop the server of the failed reset", "id", c.ID, "error", serr)
		}
		// its data may be gone with the old clone: gc does not start it
		c.State, c.Busy, c.StartFailed = StateReady, nil, time.Now().UTC()
		if serr := m.Home.Save(c); serr != nil {
			m.Log.Warn("could not record the failed reset", "id", c.ID, "error", serr)
		}
		return nil, fmt.Errorf("resetting copy %s: %w (the copy is down: retry `ditto copy reset %s` or remove it with `ditto copy destroy %s`)", id, err, id, id)
	}
	c.State, c.Busy, c.StartFailed = StateReady, nil, time.Time{}
	if err := m.Home.Save(c); err != nil {
		return nil, err
	}
	m.event(ctx, c, EventReset, "golden "+c.Generation)
	return c, nil
}

func (m *Manager) currentUnderLock() (gen string, err error) {
	err = m.Home.Update(func(tx *tx) error {
		gen, err = currentGolden(tx.Current())
		return err
	})
	return gen, err
}

// StartCopy starts the server of a copy whose server died (killed, or shut
// down by a full pool) on the copy's own data, with its port, password and
// settings, and waits until it accepts connections. PostgreSQL runs crash
// recovery first, so what the copy had committed is kept. A copy whose
// server runs is left alone (started is false). The copy's state and owner
// stay as they are.
func (m *Manager) StartCopy(ctx context.Context, id string) (c *Copy, started bool, err error) {
	c, srv, err := m.spawnOwnServer(ctx, id)
	if err != nil || srv == nil {
		return c, false, err
	}
	if err := m.serverReady(ctx, c, srv); err != nil {
		return nil, false, m.startFailed(ctx, c, err)
	}
	m.event(ctx, c, EventStarted, "")
	m.Log.Info("copy server started on the copy's own data", "id", c.ID, "port", c.Port)
	return c, true, nil
}

// spawnOwnServer execs the server of a ready copy whose server is gone and
// records it, all under the state lock: two starts of one copy never both
// exec a server, and gc never takes the new one for a stray. It returns no
// server when the copy's server runs already.
func (m *Manager) spawnOwnServer(ctx context.Context, id string) (c *Copy, srv *postgres.Server, err error) {
	err = m.Home.Update(func(tx *tx) error {
		c, srv, err = m.spawnLocked(ctx, tx, id)
		return err
	})
	return c, srv, err
}

func (m *Manager) spawnLocked(ctx context.Context, tx *tx, id string) (*Copy, *postgres.Server, error) {
	c, err := m.Home.loadCopy(id)
	if err != nil {
		return nil, nil, err
	}
	if c.Busy != nil && c.Busy.Alive() {
		return nil, nil, &busyError{id: id, state: c.State, owner: *c.Busy}
	}
	if c.State != StateReady {
		return nil, nil, errorf(CodeInvalid, fmt.Sprintf("`ditto copy reset %s` starts it afresh from the golden, `ditto copy destroy %s` removes it", id, id),
			"copy %s was left %s by a ditto process that died, so its data may be gone", id, c.State)
	}
	if c.Running() {
		return c, nil, nil
	}
	if r, ok := m.pg.Running(c.DataDir)[filepath.Clean(c.DataDir)]; ok {
		// started by a ditto process killed before it recorded the server
		c.Postmaster = r
		return c, nil, tx.Save(c)
	}
	g, err := readGoldenMeta(filepath.Dir(c.DataDir))
	if err != nil {
		return nil, nil, errorf(CodeInternal, fmt.Sprintf("`ditto copy reset %s` starts it afresh from the golden", id), "copy %s cannot be started: %v", id, err)
	}
	bin, err := g.Bin()
	if err != nil {
		return nil, nil, err
	}
	// a killed server leaves its socket lock file behind
	if err := os.RemoveAll(c.SocketDir); err != nil {
		return nil, nil, err
	}
	srv, err := m.spawnServer(ctx, c, bin)
	if err != nil {
		return nil, nil, err
	}
	c.StartFailed = time.Time{}
	return c, srv, tx.Save(c)
}

// startFailed marks the copy's record so that gc does not retry a server
// that cannot start, and says what to do next.
func (m *Manager) startFailed(ctx context.Context, c *Copy, cause error) error {
	err := m.Home.Update(func(tx *tx) error {
		// reloaded: another process may have changed the record meanwhile
		r, err := m.Home.loadCopy(c.ID)
		if err != nil || r.State != StateReady {
			return nil
		}
		r.StartFailed = time.Now().UTC()
		return tx.Save(r)
	})
	if err != nil {
		m.Log.Warn("could not record the failed start", "id", c.ID, "error", err)
	}
	if u, err := m.store.Usage(ctx); err == nil && int64(u.Free) < m.Config.MinFree {
		return errorf(CodeNoSpace, fmt.Sprintf("the pool has only %s free: destroy copies you no longer need (`ditto copy list`, `ditto copy destroy ID`), run `ditto gc`, then `ditto copy start %s`", HumanBytes(u.Free), c.ID),
			"%v", cause)
	}
	return errorf(CodeInternal, fmt.Sprintf("`ditto copy start %s` tries again; `ditto copy reset %s` starts it afresh from the golden, without its data", c.ID, c.ID), "%v", cause)
}
