package api

import (
	"context"
	"errors"
	"sync/atomic"

	"github.com/dittodb/ditto"
	"github.com/dittodb/ditto/internal/proc"
)

// Local is the Service of one caller over a Manager in this process: the
// CLI's direct mode, and what the daemon's handlers call for each request.
// It applies who may see what: a caller sees its own copies (an admin,
// every copy), and only the owner (and root) gets a copy's password.
type Local struct {
	M      *ditto.Manager
	Caller ditto.Caller
	// Process is the caller's process: a held copy ends with it. Nil when
	// unknown.
	Process *proc.Ref
	// Reseeder starts reseeds from the daemon's configured source; nil in
	// direct mode and without a reseed: section.
	Reseeder Reseeder
	// Remote, when set, says the caller is on another machine: its copies
	// are made for it (see Remote).
	Remote *Remote
	// Warm, when set, serves creates: the daemon's warm pool. Nil: each
	// copy's server is started for it.
	Warm WarmPool
}

// Remote is how copies are made for a caller on another machine: they
// listen on Listen (unless the request names an address), require TLS
// from other hosts, and their URLs name Host, for which ditto's CA signs
// their certificates.
type Remote struct {
	Listen, Host string
}

// WarmPool is what Local needs of the daemon's warm pool (package warm).
type WarmPool interface {
	// CreateCopy hands out a warm copy when o allows it and one is ready,
	// else makes one as Manager.CreateCopy does.
	CreateCopy(ctx context.Context, o ditto.CreateOptions) (*ditto.Copy, error)
	// Count adds the pool's target and served creates to s.
	Count(s *ditto.WarmStatus)
}

func (l Local) view(c *ditto.Copy) Copy { return ViewOf(c, c.SecretFor(l.Caller)) }

// acting is ctx of an operation done for the caller: its events name it.
func (l Local) acting(ctx context.Context) context.Context { return ditto.WithActor(ctx, l.Caller) }

// Create makes a copy owned by the caller (and by its process, when held).
func (l Local) Create(ctx context.Context, r CreateRequest) (Copy, error) {
	o := ditto.CreateOptions{TTL: ditto.DefaultTTL, Labels: r.Labels, Durable: r.Durable, Listen: r.Listen,
		OwnerUID: l.Caller.UID, OwnerName: l.Caller.Name, Limits: r.Limits}
	var err error
	if r.TTL != "" {
		if o.TTL, err = ditto.ParseTTL(r.TTL); err != nil {
			return Copy{}, err
		}
	}
	if o.Settings, err = ditto.ParseSettings(r.Settings); err != nil {
		return Copy{}, err
	}
	if r.Hold {
		o.Owner = l.Process
	}
	if l.Remote != nil {
		o.TLS, o.Host = true, l.Remote.Host
		if o.Listen == "" {
			o.Listen = l.Remote.Listen
		}
	}
	create := l.M.CreateCopy
	if l.Warm != nil {
		create = l.Warm.CreateCopy
	}
	c, err := create(l.acting(ctx), o)
	if err != nil {
		return Copy{}, err
	}
	return l.view(c), nil
}

// Hold creates a copy owned by the caller's process (gc destroys it once
// that process is gone) and destroyed when the lease closes.
func (l Local) Hold(ctx context.Context, r CreateRequest) (Copy, Lease, error) {
	r.Hold = true
	v, err := l.Create(ctx, r)
	if err != nil {
		return Copy{}, nil, err
	}
	return v, &localLease{l: l, id: v.ID}, nil
}

type localLease struct {
	l    Local
	id   string
	kept atomic.Bool
}

func (k *localLease) Keep(ctx context.Context) error {
	if err := k.l.Keep(ctx, k.id); err != nil {
		return err
	}
	k.kept.Store(true)
	return nil
}

func (k *localLease) Close() error {
	if k.kept.Load() {
		return nil
	}
	if err := k.l.Destroy(context.Background(), k.id); err != nil && !errors.Is(err, ditto.ErrNoCopy) {
		return err
	}
	return nil
}

// List returns the views of the copies the caller may see, without
// passwords.
func (l Local) List(_ context.Context, all bool) ([]Copy, error) {
	cs, err := l.M.CopiesFor(l.Caller, all)
	if err != nil {
		return nil, err
	}
	out := make([]Copy, 0, len(cs))
	for _, c := range cs {
		out = append(out, ViewOf(c, false))
	}
	return out, nil
}

func (l Local) Get(_ context.Context, id string) (Copy, error) {
	c, err := l.M.CopyFor(l.Caller, id)
	if err != nil {
		return Copy{}, err
	}
	return l.view(c), nil
}

func (l Local) Destroy(ctx context.Context, id string) error {
	if _, err := l.M.CopyFor(l.Caller, id); err != nil {
		return err
	}
	return l.M.DestroyCopy(l.acting(ctx), id)
}

func (l Local) Reset(ctx context.Context, id string) (Copy, error) {
	if _, err := l.M.CopyFor(l.Caller, id); err != nil {
		return Copy{}, err
	}
	c, err := l.M.ResetCopy(l.acting(ctx), id)
	if err != nil {
		return Copy{}, err
	}
	return l.view(c), nil
}

func (l Local) Start(ctx context.Context, id string) (StartResult, error) {
	if _, err := l.M.CopyFor(l.Caller, id); err != nil {
		return StartResult{}, err
	}
	c, started, err := l.M.StartCopy(l.acting(ctx), id)
	if err != nil {
		return StartResult{}, err
	}
	return StartResult{Copy: l.view(c), Started: started}, nil
}

// Keep hands a held copy over to its TTL.
func (l Local) Keep(_ context.Context, id string) error {
	if _, err := l.M.CopyFor(l.Caller, id); err != nil {
		return err
	}
	return l.M.Keep(id)
}

func (l Local) Status(ctx context.Context) (ditto.Status, error) {
	s, err := l.M.Status(ctx, l.Caller)
	if err == nil && l.Warm != nil {
		l.Warm.Count(&s.Warm)
	}
	return s, err
}
