package ditto

import (
	"context"
	"errors"
	"sort"
	"strings"

	"github.com/dittodb/ditto/storage"
)

// Kinds of a golden's source.
const (
	SourceDump = "dump" // reseed --dump
	SourceURL  = "url"  // reseed --source-url, dumped by ditto
)

// GoldenInfo is a golden generation kept in the pool, as `ditto golden
// list` shows it.
type GoldenInfo struct {
	Golden
	Current bool `json:"current"`
	// Copies counts the copies cloned from it that the caller may see.
	Copies int `json:"copies"`
}

// sourceKind says where the golden's data came from; goldens built before
// SourceKind was recorded tell by their source, a redacted URL or
// connection string, or a dump's path.
func (g Golden) sourceKind() string {
	switch {
	case g.SourceKind != "":
		return g.SourceKind
	case strings.Contains(g.Source, "://"), strings.Contains(g.Source, "="):
		return SourceURL
	}
	return SourceDump
}

// Goldens lists the golden generations in the pool, newest first: the
// current one and those kept because copies still use them.
func (m *Manager) Goldens(ctx context.Context, k Caller) ([]GoldenInfo, error) {
	current, err := m.Home.CurrentGeneration()
	if err != nil && !errors.Is(err, ErrNoGolden) {
		return nil, err
	}
	vols, err := m.store.List(ctx)
	if err != nil {
		return nil, err
	}
	copies, err := m.CopiesFor(k, false)
	if err != nil {
		return nil, err
	}
	using := map[string]int{}
	for _, c := range copies {
		using[c.Generation]++
	}
	out := []GoldenInfo{}
	for _, v := range vols {
		if v.Kind != storage.KindGolden {
			continue
		}
		g, err := readGoldenMeta(v.Path)
		if err != nil {
			m.Log.Warn("a golden without its description; gc removes it once no copy uses it", "golden", v.Name, "error", err)
			g = Golden{Generation: v.Name}
		}
		g.SourceKind = g.sourceKind()
		out = append(out, GoldenInfo{Golden: g, Current: v.Name == current, Copies: using[v.Name]})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Generation > out[j].Generation })
	return out, nil
}
