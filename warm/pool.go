// Package warm keeps the daemon's warm copies: copies of the current
// golden started ahead of any request, so that a create is served in the
// time of a claim instead of a server's start. The rules of a claim (which
// copy, which golden, its fresh password) are the domain's
// (Manager.ClaimWarm); this package decides when to claim, refill and
// drain.
package warm

import (
	"context"
	"errors"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/dittodb/ditto"
)

// DefaultSize is the number of warm copies `ditto serve` keeps unless told
// otherwise: each costs a running server's memory and a port all the time,
// and two serve a sequence of creates warm (one is claimed while the other's
// refill runs).
const DefaultSize = 2

// Domain is what the pool needs of the Manager.
type Domain interface {
	ColdReason(o ditto.CreateOptions) string
	ClaimWarm(ctx context.Context, o ditto.CreateOptions) (*ditto.Copy, error)
	CreateCopy(ctx context.Context, o ditto.CreateOptions) (*ditto.Copy, error)
	CreateWarm(ctx context.Context) (*ditto.Copy, error)
	DestroyWarm(ctx context.Context, id string) error
	// WarmCopies destroys the warm copies that may no longer be handed
	// out and returns the others.
	WarmCopies(ctx context.Context) ([]*ditto.Copy, error)
	// RefillWaits says why no warm copy should be made now, or "".
	RefillWaits(ctx context.Context) string
}

// Stats are the pool's counters, for status and metrics.
type Stats struct {
	Target int // warm copies to keep
	Ready  int // warm copies seen ready at the last check
	// ServedWarm and ServedCold count the creates served by a claim and by
	// a server started for them; ClaimFailed, the claims that failed and
	// fell back to a cold create.
	ServedWarm, ServedCold, ClaimFailed uint64
}

// Pool keeps Size warm copies and serves creates from them.
type Pool struct {
	d    Domain
	size int
	log  hclog.Logger
	// Every is how often the pool checks itself without being woken (a
	// reseed made another golden current, a warm server died).
	Every time.Duration

	wake     chan struct{}
	inflight atomic.Int64 // creates being served
	ready    atomic.Int64

	servedWarm, servedCold, claimFailed atomic.Uint64
}

// New returns a pool of size warm copies; Run keeps it.
func New(d Domain, size int, log hclog.Logger) *Pool {
	return &Pool{d: d, size: size, log: log, Every: time.Second, wake: make(chan struct{}, 1)}
}

// CreateCopy serves a create: a warm copy when o allows one and one is
// ready, else a copy made for it. A full port range or pool gives up a warm
// copy for the create: creates never fail because of the pool.
func (p *Pool) CreateCopy(ctx context.Context, o ditto.CreateOptions) (*ditto.Copy, error) {
	p.inflight.Add(1)
	defer func() {
		p.inflight.Add(-1)
		p.poke() // refill right after a claim, or once the creates are done
	}()
	if p.size > 0 && p.d.ColdReason(o) == "" {
		c, err := p.d.ClaimWarm(ctx, o)
		if c != nil {
			p.servedWarm.Add(1)
			return c, nil
		}
		if code := codeOf(err); code != "" && code != ditto.CodeInternal {
			return nil, err // the cold path would refuse it the same way
		}
		if err != nil {
			p.claimFailed.Add(1)
			p.log.Warn("claiming a warm copy failed; starting a copy instead", "error", err)
		}
	}
	c, err := p.d.CreateCopy(ctx, o)
	if code := codeOf(err); (code == ditto.CodePortsExhausted || code == ditto.CodeNoSpace) && p.giveUpOne(ctx) {
		c, err = p.d.CreateCopy(ctx, o)
	}
	if err != nil {
		return nil, err
	}
	p.servedCold.Add(1)
	return c, nil
}

// codeOf is err's code, "" for no error.
func codeOf(err error) ditto.Code {
	if err == nil {
		return ""
	}
	code, _, _ := ditto.Describe(err)
	return code
}

// giveUpOne destroys a warm copy to make room for a create.
func (p *Pool) giveUpOne(ctx context.Context) bool {
	warm, err := p.d.WarmCopies(ctx)
	if err != nil || len(warm) == 0 {
		return false
	}
	p.log.Info("giving up a warm copy for a create", "id", warm[0].ID)
	return p.d.DestroyWarm(ctx, warm[0].ID) == nil
}

func (p *Pool) poke() {
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// Stats returns the pool's counters.
func (p *Pool) Stats() Stats {
	return Stats{Target: p.size, Ready: int(p.ready.Load()), ServedWarm: p.servedWarm.Load(),
		ServedCold: p.servedCold.Load(), ClaimFailed: p.claimFailed.Load()}
}

// Count adds the pool's target and served creates to a status.
func (p *Pool) Count(s *ditto.WarmStatus) {
	st := p.Stats()
	s.Target, s.ServedWarm, s.ServedCold = st.Target, st.ServedWarm, st.ServedCold
}

// Run keeps the pool until ctx ends: it drains warm copies that may no
// longer be handed out and those beyond its size, and refills one copy at a
// time, so that refills take one core at most and never run beside a
// create.
func (p *Pool) Run(ctx context.Context) {
	t := time.NewTicker(p.Every)
	defer t.Stop()
	var waits string
	var retryAt time.Time
	failures := 0
	for {
		if time.Now().After(retryAt) {
			err := p.fill(ctx, &waits)
			switch {
			case err == nil || ctx.Err() != nil:
				failures = 0
			case errors.Is(err, ditto.ErrNoGolden):
			default:
				failures++
				backoff := min(time.Duration(1<<min(failures, 6))*p.Every, time.Minute)
				retryAt = time.Now().Add(backoff)
				p.log.Warn("could not make a warm copy; retrying", "in", backoff, "error", err)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-p.wake:
		case <-t.C:
		}
	}
}

// fill brings the pool to its size, one copy at a time, while nothing
// makes it wait; waits is the last reason it waited, logged when it changes.
func (p *Pool) fill(ctx context.Context, waits *string) error {
	for ctx.Err() == nil {
		warm, err := p.d.WarmCopies(ctx)
		if err != nil {
			return err
		}
		p.ready.Store(int64(len(warm)))
		if extra := len(warm) - p.size; extra > 0 {
			for _, c := range warm[:extra] {
				if err := p.d.DestroyWarm(ctx, c.ID); err != nil {
					return err
				}
				p.log.Info("removed a warm copy beyond the pool's size", "id", c.ID, "size", p.size)
			}
			continue
		}
		if len(warm) == p.size || p.inflight.Load() > 0 {
			return nil
		}
		why := p.d.RefillWaits(ctx)
		if why != *waits {
			if why != "" {
				p.log.Info("warm copies are not refilled for now", "because", why)
			}
			*waits = why
		}
		if why != "" {
			return nil
		}
		t0 := time.Now()
		c, err := p.d.CreateWarm(ctx)
		if err != nil {
			return err
		}
		p.log.Debug("warm copy ready", "id", c.ID, "golden", c.Generation, "took", time.Since(t0))
	}
	return nil
}
