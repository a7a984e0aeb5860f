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
	"github.com/dittodb/ditto/internal/state"
	"github.com/dittodb/ditto/storage"
)

// GCReport says what a gc removed, and which copies' servers it started again.
type GCReport struct {
	Copies    []string `json:"copies"`    // copies past their TTL or abandoned
	Restarted []string `json:"restarted"` // copies whose dead server it started again
	Goldens   []string `json:"goldens"`   // old generations no copy uses
	Building  []string `json:"building"`  // half-built generations of dead reseeds
	Volumes   []string `json:"volumes"`   // copy volumes no record explains
	Processes []int    `json:"processes"` // postmasters no record explains
	Files     []string `json:"files"`     // stray sockets, logs, temporary files
	Errors    []string `json:"errors"`    // what could not be removed (retried next time)
}

// Sweep destroys the copies whose TTL passed or whose owner died, and starts
// again the servers of the other copies that died. Unless one of those needs
// doing, it only reads the records, so copy create can afford it every time.
func (m *Manager) Sweep(ctx context.Context) *GCReport {
	r := &GCReport{}
	copies, _, err := m.Home.ListCopies()
	if err != nil {
		r.Errors = append(r.Errors, err.Error())
		return r
	}
	now := time.Now()
	for _, c := range copies {
		why := c.StaleReason(now)
		if why == "" {
			continue
		}
		dctx := withSystemActor(ctx, ActorGC)
		if c.Expired(now) {
			dctx = withSystemActor(ctx, ActorTTL)
			m.event(dctx, c, EventExpired, why)
		}
		if err := m.DestroyCopy(dctx, c.ID); err != nil {
			if !errors.Is(err, ErrNoCopy) {
				r.Errors = append(r.Errors, err.Error())
			}
			continue
		}
		m.Log.Info("removed copy", "id", c.ID, "why", why)
		r.Copies = append(r.Copies, c.ID)
	}
	m.sweepWarm(ctx, copies, r)
	m.restartDown(ctx, copies, now, r)
	return r
}

// restartDown starts the servers of kept copies that died again on their own
// data, once the pool is above its free-space floor: a full pool stops the
// servers of copies that could not write their WAL, and nothing else brings
// them back. There is no way to stop a copy on purpose, so a copy that is
// down crashed. A copy whose last start failed stays down for `ditto copy
// start`, which says why.
func (m *Manager) restartDown(ctx context.Context, copies []*Copy, now time.Time, r *GCReport) {
	var down []*Copy
	for _, c := range copies {
		if c.State == StateReady && !c.Running() && c.StartFailed.IsZero() && c.StaleReason(now) == "" {
			down = append(down, c)
		}
	}
	if len(down) == 0 {
		return
	}
	if u, err := m.store.Usage(ctx); err != nil || int64(u.Free) < m.Config.MinFree {
		m.Log.Info("copies are down; their servers start again once the pool is above its free-space floor", "copies", len(down))
		return
	}
	ctx = withSystemActor(ctx, ActorGC)
	for _, c := range down {
		_, started, err := m.StartCopy(ctx, c.ID)
		switch {
		case errors.Is(err, ErrNoCopy):
		case err != nil:
			m.Log.Warn("the server of a down copy did not start again; it stays down", "id", c.ID, "error", err)
			r.Errors = append(r.Errors, fmt.Sprintf("copy %s stays down: %v", c.ID, err))
		case started:
			m.Log.Info("started the server of a copy that was down", "id", c.ID)
			r.Restarted = append(r.Restarted, c.ID)
		}
	}
}

// GC removes everything nothing explains any more: expired and abandoned
// copies, then volumes, processes and files left by a crash, then golden
// generations that are neither current nor used by a copy.
func (m *Manager) GC(ctx context.Context) *GCReport {
	r := m.Sweep(ctx)
	crashPoint("gc:swept")
	fail := func(err error) { r.Errors = append(r.Errors, err.Error()) }

	// Half-built generations and raw temporary dumps belong to a reseed;
	// they are orphans only when no reseed holds the lock.
	if rl, err := state.TryLock(m.Home.ReseedLock()); err == nil {
		defer rl.Unlock()
		m.removeBuilding(ctx, r)
		m.removeTemp(r)
	}

	if err := m.Home.Update(func(tx *tx) error { return m.removeUnexplained(ctx, tx, r) }); err != nil {
		fail(err)
	}
	return r
}

// removeUnexplained removes, under the state lock, what no record explains:
// copy volumes, their servers and files, and goldens neither current nor
// used by a copy.
func (m *Manager) removeUnexplained(ctx context.Context, tx *tx, r *GCReport) error {
	copies, _, err := tx.List() // damaged records go with the stray files
	if err != nil {
		return err
	}
	current, _ := tx.Current()
	known, used, dataDirs := map[string]bool{}, map[string]bool{current: true}, map[string]proc.Ref{}
	for _, c := range copies {
		known[c.ID], used[c.Generation] = true, true
		dataDirs[filepath.Clean(c.DataDir)] = c.Postmaster
	}
	vols, err := m.store.List(ctx)
	if err != nil {
		return err
	}
	m.killStrays(ctx, vols, dataDirs, r)
	for _, v := range vols {
		switch {
		case v.Kind == storage.KindCopy && !known[v.Name]:
			m.destroyVolume(ctx, v, &r.Volumes, r)
		case v.Kind == storage.KindGolden && !used[v.Name]:
			m.destroyVolume(ctx, v, &r.Goldens, r)
		}
	}
	m.removeStrayFiles(known, r)
	m.removeOldEvents(known, r)
	m.removeStrayCgroups(known, r)
	return nil
}

func (m *Manager) destroyVolume(ctx context.Context, v storage.Volume, into *[]string, r *GCReport) {
	if err := m.store.Destroy(ctx, v.Kind, v.Name); err != nil {
		if !errors.Is(err, storage.ErrHasClones) {
			r.Errors = append(r.Errors, err.Error())
		}
		return
	}
	m.Log.Info("removed unused volume", "kind", v.Kind, "name", v.Name)
	crashPoint("gc:volume-removed")
	*into = append(*into, v.Name)
}

// killStrays stops postmasters running on a copy volume of the pool that no
// record explains (a crash between starting a server and recording it).
// Only data directories of ditto's own copy volumes are looked at: the
// reseed's server runs on a building volume, which only dies with the
// reseed, and nothing else in the pool's folder is ditto's to stop.
func (m *Manager) killStrays(ctx context.Context, vols []storage.Volume, known map[string]proc.Ref, r *GCReport) {
	running := m.pg.Running(m.store.Root())
	for _, v := range vols {
		if v.Kind != storage.KindCopy {
			continue
		}
		dir := filepath.Join(filepath.Clean(v.Path), pgDataDir)
		ref, ok := running[dir]
		if !ok {
			continue
		}
		if k, ok := known[dir]; ok && (k == ref || k.PID == 0) {
			continue
		}
		m.Log.Info("stopping a postgres server no record explains", "pid", ref.PID, "data_dir", dir)
		if err := m.pg.Kill(ctx, ref); err != nil {
			r.Errors = append(r.Errors, err.Error())
			continue
		}
		r.Processes = append(r.Processes, ref.PID)
	}
}

func (m *Manager) removeBuilding(ctx context.Context, r *GCReport) {
	vols, err := m.store.List(ctx)
	if err != nil {
		r.Errors = append(r.Errors, err.Error())
		return
	}
	for _, v := range vols {
		if v.Kind != storage.KindBuilding {
			continue
		}
		if ref, ok := m.pg.Running(v.Path)[filepath.Join(v.Path, pgDataDir)]; ok {
			_ = m.pg.Kill(ctx, ref)
		}
		m.destroyVolume(ctx, v, &r.Building, r)
	}
}

// removeTemp deletes what dead reseeds left behind: temporary folders (raw
// dumps among them), the reseed server's socket folder and its log, and a
// half-made initdb template.
func (m *Manager) removeTemp(r *GCReport) {
	var paths []string
	for _, pattern := range []string{
		filepath.Join(m.Home.Tmp(), reseedName+"-*"),
		filepath.Join(m.Home.Run(), reseedName+"*"),
		filepath.Join(m.Home.Logs(), reseedName+"*"),
		filepath.Join(m.Home.InitDB(), "*.partial"),
	} {
		found, _ := filepath.Glob(pattern)
		paths = append(paths, found...)
	}
	for _, p := range paths {
		if err := os.RemoveAll(p); err != nil {
			r.Errors = append(r.Errors, err.Error())
			continue
		}
		r.Files = append(r.Files, p)
	}
}

// removeStrayFiles deletes socket folders, logs and records of copies that
// have no (readable) record, and temporary files of atomic writes that a
// crash left behind. It only deletes names ditto gives (copy IDs), never a
// file merely because nothing explains it.
func (m *Manager) removeStrayFiles(known map[string]bool, r *GCReport) {
	for _, d := range []struct{ dir, suffix string }{
		{m.Home.Run(), ""}, {m.Home.Logs(), ".log"}, {m.Home.Records(), ".json"},
	} {
		entries, _ := os.ReadDir(d.dir)
		for _, e := range entries {
			if !strayFile(e, d.suffix, known) {
				continue
			}
			p := filepath.Join(d.dir, e.Name())
			if err := os.RemoveAll(p); err == nil {
				r.Files = append(r.Files, p)
			}
		}
	}
}

func strayFile(e os.DirEntry, suffix string, known map[string]bool) bool {
	name := e.Name()
	if tmpOf, ok := strings.CutPrefix(name, "."); ok {
		base, _, _ := strings.Cut(tmpOf, state.TempInfix)
		id, named := strings.CutSuffix(base, suffix)
		return named && state.IsCopyID(id) && state.StaleTemp(e)
	}
	id, ok := strings.CutSuffix(name, suffix)
	return ok && state.IsCopyID(id) && !known[id]
}
