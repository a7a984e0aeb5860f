package ditto

import (
	"context"
	"errors"

	"github.com/dittodb/ditto/storage"
)

// Status is what `ditto status` reports.
type Status struct {
	Home        string        `json:"home"`
	Backend     string        `json:"backend"`
	Pool        string        `json:"pool"`
	Usage       storage.Usage `json:"usage"`
	MinFree     int64         `json:"min_free"`  // the free-space floor for new copies
	LowSpace    bool          `json:"low_space"` // less than twice the floor free
	Golden      *Golden       `json:"golden"`    // nil before the first reseed
	Generations int           `json:"generations"`
	Copies      int           `json:"copies"` // those of the caller (an admin: all)
	Running     int           `json:"running"`

	GoldenAge float64      `json:"golden_age_seconds"` // of the current golden; 0 without one
	Reseed    ReseedStatus `json:"reseed"`
	Warm      WarmStatus   `json:"warm"`
	// DefaultLimits are the caps of a new copy that gives none.
	DefaultLimits Limits `json:"default_limits"`
	// Limits are the caps of each of those copies that has any, by ID.
	Limits map[string]Limits `json:"limits"`
}

// Status gathers the pool, golden and copy counts; the copies counted are
// those k may see.
func (m *Manager) Status(ctx context.Context, k Caller) (Status, error) {
	s := Status{Home: m.Home.Dir, Backend: m.Config.Backend, Pool: m.Config.PoolPath + m.Config.Dataset,
		DefaultLimits: m.Config.Limits, Limits: map[string]Limits{}}
	var err error
	if s.Usage, err = m.store.Usage(ctx); err != nil {
		return s, err
	}
	s.MinFree, s.LowSpace = m.Config.MinFree, LowOnSpace(s.Usage.Free, m.Config.MinFree)
	g, err := m.CurrentGolden(ctx)
	if err != nil && !errors.Is(err, ErrNoGolden) {
		return s, err
	}
	if err == nil {
		s.Golden = &g
	}
	s.GoldenAge = goldenAge(s.Golden)
	if s.Reseed, err = m.ReseedStatus(); err != nil {
		// the next reseed rewrites it; the rest of the status still holds
		m.Log.Warn("the reseed status is unreadable", "error", err)
	}
	vols, err := m.store.List(ctx)
	if err != nil {
		return s, err
	}
	for _, v := range vols {
		if v.Kind == storage.KindGolden {
			s.Generations++
		}
	}
	all, err := m.Copies()
	if err != nil {
		return s, err
	}
	s.Warm = warmStatus(all)
	copies, err := m.CopiesFor(k, false)
	if err != nil {
		return s, err
	}
	s.Copies = len(copies)
	for _, c := range copies {
		if c.Running() {
			s.Running++
		}
		if !c.Limits.IsZero() {
			s.Limits[c.ID] = c.Limits
		}
	}
	return s, nil
}

// Usage reports the pool's size and free space.
func (m *Manager) Usage(ctx context.Context) (storage.Usage, error) { return m.store.Usage(ctx) }

// CurrentGolden describes the current golden generation.
func (m *Manager) CurrentGolden(ctx context.Context) (Golden, error) {
	gen, err := m.Home.CurrentGeneration()
	if err != nil {
		return Golden{}, err
	}
	vols, err := m.store.List(ctx)
	if err != nil {
		return Golden{}, err
	}
	for _, v := range vols {
		if v.Kind == storage.KindGolden && v.Name == gen {
			return readGoldenMeta(v.Path)
		}
	}
	return Golden{}, errors.New("the current golden " + gen + " is missing from the pool: run `ditto reseed` again")
}
