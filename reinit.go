package ditto

import (
	"context"
	"fmt"
	"strings"

	"github.com/hashicorp/go-hclog"

	"github.com/dittodb/ditto/postgres"
)

// changeable are the settings of `ditto init` that a later `ditto init` on
// the same home may change: neither the pool nor the golden is built on
// them, so they only apply to what comes next.
var changeable = []struct {
	flag, appliesTo string
	set             func(dst *Config, src Config)
	show            func(Config) string
}{
	{"port-range", "new copies", func(d *Config, s Config) { d.PortMin, d.PortMax = s.PortMin, s.PortMax },
		func(c Config) string { return fmt.Sprintf("%d-%d", c.PortMin, c.PortMax) }},
	{"min-free", "new copies", func(d *Config, s Config) { d.MinFree = s.MinFree },
		func(c Config) string { return HumanBytes(uint64(c.MinFree)) }},
	{"listen", "new copies", func(d *Config, s Config) { d.Listen = s.Listen },
		func(c Config) string { return c.Listen }},
	{"group", "ditto serve's socket", func(d *Config, s Config) { d.Group = s.Group },
		Config.ServeGroup},
	{"sandbox", "copy servers started from now on", func(d *Config, s Config) { d.Sandbox = s.Sandbox },
		func(c Config) string { return firstNonEmpty(c.Sandbox, SandboxOn) }},
	{"memory", "new copies", func(d *Config, s Config) { d.Limits.Memory = s.Limits.Memory },
		func(c Config) string { return c.Limits.String() }},
	{"cpus", "new copies", func(d *Config, s Config) { d.Limits.CPUs = s.Limits.CPUs },
		func(c Config) string { return c.Limits.String() }},
	{"max-processes", "new copies", func(d *Config, s Config) { d.Limits.MaxProcesses = s.Limits.MaxProcesses },
		func(c Config) string { return c.Limits.String() }},
	{"max-size", "new copies", func(d *Config, s Config) { d.Limits.MaxSize = s.Limits.MaxSize },
		func(c Config) string { return c.Limits.String() }},
	{"pg-bin", "the next reseed", func(d *Config, s Config) { d.PGBin = s.PGBin },
		func(c Config) string { return firstNonEmpty(c.PGBin, "the newest found") }},
}

// fixed are the settings that the pool or the golden is built on; why says
// what holds on to the value in use.
var fixed = []struct {
	flag string
	same func(old, req Config) bool
	why  func(old Config) string
}{
	{"role", func(o, r Config) bool { return o.Role == r.Role },
		func(o Config) string {
			return fmt.Sprintf("the golden's superuser, which copies hand out, is role %s", o.Role)
		}},
	{"pg-user", func(o, r Config) bool { return o.PGUser == r.PGUser },
		func(o Config) string {
			return fmt.Sprintf("the golden's files belong to OS user %s, which runs every copy's server", o.PGUser)
		}},
	{"size", func(o, r Config) bool { return o.Image != "" && o.ImageSize == r.ImageSize },
		func(o Config) string {
			if o.Image == "" {
				return fmt.Sprintf("only the embedded pool has one; %s is sized by its filesystem", o.PoolPath+o.Dataset)
			}
			return fmt.Sprintf("the embedded image is already %s and cannot grow or shrink here", HumanBytes(uint64(o.ImageSize)))
		}},
}

// reinit is `ditto init` on a home made before. It re-opens the pool, saves
// the changeable settings given and says what changed; it refuses another
// pool or backend, and fixed settings that differ, saying why. Settings not
// given keep their values, so a plain `ditto init` changes nothing.
func reinit(ctx context.Context, h Home, old, req Config, given map[string]bool, log hclog.Logger) (*Manager, error) {
	if !given["backend"] {
		req.Backend = old.Backend
	}
	if err := sameChoice(old, req, h); err != nil {
		return nil, err
	}
	var refused []string
	for _, s := range fixed {
		if given[s.flag] && !s.same(old, req) {
			refused = append(refused, "--"+s.flag+": "+s.why(old))
		}
	}
	if len(refused) > 0 {
		return nil, fmt.Errorf("%s is already initialised and these cannot change (%s): leave them out, or make a new pool with another --home", h.Dir, strings.Join(refused, "; "))
	}
	cfg := old
	for _, s := range changeable {
		if given[s.flag] {
			s.set(&cfg, req)
		}
	}
	if err := checkChoices(cfg, given); err != nil {
		return nil, err
	}
	m, err := open(ctx, h, cfg, log)
	if err != nil {
		return nil, err
	}
	if given["min-free"] {
		if err := m.fitMinFreeToPool(ctx, true); err != nil {
			return nil, err
		}
	}
	if cfg == old {
		log.Info("pool already initialised; nothing to change", "home", h.Dir, "backend", old.Backend)
		return m, nil
	}
	if err := h.saveConfig(cfg); err != nil {
		return nil, err
	}
	for _, s := range changeable {
		probe := old
		if s.set(&probe, cfg); probe != old {
			log.Info("changed --"+s.flag, "from", s.show(old), "to", s.show(cfg), "applies_to", s.appliesTo)
		}
	}
	return m, nil
}

// checkChoices checks the settings beyond what the config alone tells:
// a --listen given must be of this machine, a --pg-bin given must hold
// PostgreSQL.
func checkChoices(cfg Config, given map[string]bool) error {
	if err := cfg.validate(); err != nil {
		return err
	}
	if given["listen"] {
		if err := ValidateListen(cfg.Listen); err != nil {
			return err
		}
	}
	if given["pg-bin"] && cfg.PGBin != "" {
		if _, err := postgres.FindBins(cfg.PGBin); err != nil {
			return err
		}
	}
	return nil
}

// fitMinFree fits the free-space floor to a pool of poolSize bytes. A floor
// not given is 1 GiB, or a tenth of a smaller pool: 1 GiB on a 1 GiB pool
// would refuse every copy, and a tenth still leaves the copies room to
// write. A floor given at or above the pool's size is refused.
func fitMinFree(c *Config, poolSize int64, given bool) error {
	if !given {
		c.MinFree = min(c.MinFree, poolSize/10)
		return nil
	}
	if c.MinFree >= poolSize {
		return fmt.Errorf("--min-free %s is not below the pool's size of %s, so no copy could ever be made: give a smaller floor, e.g. --min-free %dM",
			HumanBytes(uint64(c.MinFree)), HumanBytes(uint64(poolSize)), poolSize/10>>20)
	}
	return nil
}

// fitMinFreeToPool is fitMinFree for the pool m has open.
func (m *Manager) fitMinFreeToPool(ctx context.Context, given bool) error {
	u, err := m.store.Usage(ctx)
	if err != nil {
		return err
	}
	return fitMinFree(&m.Config, int64(u.Size), given)
}
