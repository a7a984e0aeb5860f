package ditto

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/dittodb/ditto/internal/proc"
	"github.com/dittodb/ditto/internal/state"
	"github.com/dittodb/ditto/postgres"
)

// StateWarm is a warm copy's: started ahead of any request by the daemon
// (package warm) and owned by nobody until a create claims it. Only the
// daemon keeps warm copies; gc removes them when no daemon runs.
const StateWarm CopyState = "warm"

// NobodyUID owns warm copies: no caller has it (tokens have TokenUID), so
// no user sees them.
const NobodyUID = -2

// ColdReason says why a create with o cannot be served by a warm copy (its
// server would need another start), or "" when it can. A warm copy runs
// with ditto's own settings on the default listen addresses, without
// --durable, with the default limits.
func (m *Manager) ColdReason(o CreateOptions) string {
	switch {
	case o.Durable:
		return "--durable needs fsync on from the start"
	case len(o.Settings) > 0:
		return "--set gives server settings at its start"
	case o.Listen != "" && o.Listen != m.Config.Listen:
		return "--listen other than the default needs its own start"
	case o.TLS:
		return "a copy for another machine starts with its own certificate"
	case o.Limits.Or(m.Config.Limits) != m.Config.Limits:
		return "limits other than the defaults of ditto init are applied at its start"
	}
	return ""
}

// CreateWarm makes a warm copy of the current golden: started, ready,
// with a password nobody is told, owned by nobody.
func (m *Manager) CreateWarm(ctx context.Context) (*Copy, error) {
	c, err := newRecord(m.Config.Listen, CreateOptions{OwnerUID: NobodyUID, Limits: m.Config.Limits})
	if err != nil {
		return nil, err
	}
	if err := m.makeCopy(ctx, c, StateWarm); err != nil {
		return nil, err
	}
	return c, nil
}

// ClaimWarm hands a warm copy of the current golden over to the create o:
// picked under the state lock, so two claims never get the same copy and
// none gets a copy of a golden no longer current; then a fresh password,
// statistics reset, its log emptied, and its record made the new owner's,
// its TTL counted from now. It returns no copy when none is warm (or o
// needs a cold start); a claim that fails destroys the copy it took.
func (m *Manager) ClaimWarm(ctx context.Context, o CreateOptions) (*Copy, error) {
	if m.ColdReason(o) != "" {
		return nil, nil
	}
	if err := ValidateLabels(o.Labels); err != nil {
		return nil, err
	}
	t0 := time.Now()
	password, err := postgres.RandomPassword()
	if err != nil {
		return nil, err
	}
	c, err := m.takeWarm(o)
	if c == nil || err != nil {
		return nil, err
	}
	defer m.work.drop(c.ID)
	if err := m.handover(ctx, c, password, o); err != nil {
		m.rollback(ctx, c, err)
		return nil, fmt.Errorf("claiming warm copy %s: %w", c.ID, err)
	}
	// its journal starts at the claim: the copy is its owner's from here
	m.event(ctx, c, EventCreated, "golden "+c.Generation)
	m.event(ctx, c, EventClaimed, "a warm copy, started before the create")
	m.Log.Debug("warm copy claimed", "id", c.ID, "took", time.Since(t0))
	return c, nil
}

// takeWarm marks a running warm copy of the current golden as being
// created for o's owner, under the state lock.
func (m *Manager) takeWarm(o CreateOptions) (c *Copy, err error) {
	err = m.Home.Update(func(tx *tx) error {
		current, err := currentGolden(tx.Current())
		if err != nil {
			return err
		}
		copies, _, err := tx.List()
		if err != nil {
			return err
		}
		self := proc.Self()
		for _, w := range copies {
			// one made before the default limits changed has the old ones
			if w.State != StateWarm || w.Generation != current || w.Limits != m.Config.Limits || !w.Running() || !m.work.take(w.ID) {
				continue
			}
			w.State, w.Busy = StateCreating, &self
			w.OwnerUID, w.OwnerName, w.Owner, w.Labels = o.OwnerUID, o.OwnerName, o.Owner, o.Labels
			if err := tx.Save(w); err != nil {
				m.work.drop(w.ID)
				return err
			}
			c = w
			return nil
		}
		return nil
	})
	return c, err
}

// handover gives the claimed copy its new password, clears what its server
// counted and logged while it waited, and records it ready.
func (m *Manager) handover(ctx context.Context, c *Copy, password string, o CreateOptions) error {
	if err := m.pg.Handover(ctx, c, password); err != nil {
		return err
	}
	// the server appends to its log (O_APPEND): its next line lands at the
	// start of the emptied file
	if err := os.Truncate(c.LogFile, 0); err != nil && !os.IsNotExist(err) {
		return err
	}
	now := time.Now().UTC()
	c.Password, c.CreatedAt, c.ExpiresAt = password, now, time.Time{}
	if o.TTL > 0 {
		c.ExpiresAt = now.Add(o.TTL)
	}
	c.State, c.Busy = StateReady, nil
	return m.Home.Save(c)
}

// DestroyWarm destroys copy id if it is still warm (not claimed meanwhile)
// and nobody else works on it; otherwise it does nothing.
func (m *Manager) DestroyWarm(ctx context.Context, id string) error {
	var c *Copy
	err := m.Home.Update(func(tx *tx) error {
		w, err := m.Home.loadCopy(id)
		if err != nil || w.State != StateWarm || !m.work.take(id) {
			return nil
		}
		self := proc.Self()
		w.State, w.Busy = StateDestroying, &self
		if err := tx.Save(w); err != nil {
			m.work.drop(id)
			return err
		}
		c = w
		return nil
	})
	if c == nil || err != nil {
		return err
	}
	defer m.work.drop(id)
	return m.teardown(ctx, c)
}

// WarmCopies destroys the warm copies that may no longer be handed out
// (of a golden no longer current, or whose server died) and returns the
// others, oldest first.
func (m *Manager) WarmCopies(ctx context.Context) ([]*Copy, error) {
	copies, err := m.Copies()
	if err != nil {
		return nil, err
	}
	current, err := m.Home.CurrentGeneration()
	if err != nil {
		return nil, err
	}
	var fresh []*Copy
	for _, c := range copies {
		if c.State != StateWarm {
			continue
		}
		if why := warmStale(c, current, true); why != "" {
			m.destroyStaleWarm(ctx, c, why)
			continue
		}
		fresh = append(fresh, c)
	}
	return fresh, nil
}

// sweepWarm, part of every sweep, destroys the warm copies that may no
// longer be handed out, and all of them when no daemon runs to keep them.
func (m *Manager) sweepWarm(ctx context.Context, copies []*Copy, r *GCReport) {
	var warm []*Copy
	for _, c := range copies {
		if c.State == StateWarm {
			warm = append(warm, c)
		}
	}
	if len(warm) == 0 {
		return
	}
	current, _ := m.Home.CurrentGeneration()
	daemon, err := state.Held(m.Home.ServeLock())
	if err != nil {
		daemon = true // unknown: leave them to the daemon
	}
	for _, c := range warm {
		if why := warmStale(c, current, daemon); why != "" && m.destroyStaleWarm(ctx, c, why) {
			r.Copies = append(r.Copies, c.ID)
		}
	}
}

func (m *Manager) destroyStaleWarm(ctx context.Context, c *Copy, why string) bool {
	if err := m.DestroyWarm(ctx, c.ID); err != nil {
		m.Log.Warn("could not destroy a warm copy; retried later", "id", c.ID, "error", err)
		return false
	}
	m.Log.Info("removed warm copy", "id", c.ID, "why", why)
	return true
}

// warmStale says why a warm copy must go, or "".
func warmStale(c *Copy, current string, daemon bool) string {
	switch {
	case !daemon:
		return "no daemon runs to keep warm copies"
	case c.Generation != current:
		return "its golden " + c.Generation + " is no longer current"
	case !c.Running():
		return "its server is down"
	}
	return ""
}

// RefillWaits says why no warm copy should be made now, or "": a reseed
// is running (its copies would be of the golden it replaces), the pool is
// below its free-space floor, or one port of the range is left (kept for
// a create that cannot use a warm copy).
func (m *Manager) RefillWaits(ctx context.Context) string {
	if held, err := state.Held(m.Home.ReseedLock()); held || err != nil {
		return "a reseed is running"
	}
	u, err := m.store.Usage(ctx)
	if err != nil {
		return err.Error()
	}
	if int64(u.Free) < m.Config.MinFree {
		return "the pool is below its free-space floor"
	}
	copies, err := m.Copies()
	if err != nil {
		return err.Error()
	}
	if m.Config.PortMax-m.Config.PortMin+1-len(copies) <= 1 {
		return "the port range is full"
	}
	return ""
}

// WarmStatus is what `ditto status` says of the warm copies.
type WarmStatus struct {
	// Target is the number the daemon keeps ready (its warm: N); 0 without
	// a daemon.
	Target int   `json:"target"`
	Copies int   `json:"copies"`
	Ports  []int `json:"ports"`
	// MemoryBytes is the proportional set size of their servers' processes.
	MemoryBytes uint64 `json:"memory_bytes"`
	// ServedWarm and ServedCold count the creates the daemon served since it
	// started, from a warm copy or with a server started for them.
	ServedWarm uint64 `json:"served_warm"`
	ServedCold uint64 `json:"served_cold"`
}

func warmStatus(copies []*Copy) WarmStatus {
	s := WarmStatus{Ports: []int{}}
	for _, c := range copies {
		if c.State != StateWarm {
			continue
		}
		s.Copies++
		s.Ports = append(s.Ports, c.Port)
		if c.Running() {
			s.MemoryBytes += proc.TreePSS(c.Postmaster.PID)
		}
	}
	return s
}
