package api

import (
	"context"
	"io"

	"github.com/dittodb/ditto"
)

// Extend sets the caller's copy (an admin: any copy) to expire r.TTL from
// now.
func (l Local) Extend(ctx context.Context, id string, r ExtendRequest) (Copy, error) {
	if r.TTL == "" {
		return Copy{}, &ditto.Error{Code: ditto.CodeInvalid, Message: "no TTL given", Hint: "give --ttl DURATION, e.g. --ttl 30m (0: no expiry)"}
	}
	ttl, err := ditto.ParseTTL(r.TTL)
	if err != nil {
		return Copy{}, err
	}
	if _, err := l.M.CopyFor(l.Caller, id); err != nil {
		return Copy{}, err
	}
	c, err := l.M.ExtendCopy(l.acting(ctx), id, ttl)
	if err != nil {
		return Copy{}, err
	}
	return l.view(c), nil
}

// Events returns the copy's events for its owner and admins, also for a
// while after it is gone.
func (l Local) Events(_ context.Context, id string) ([]ditto.Event, error) {
	return l.M.EventsFor(l.Caller, id)
}

// Logs opens the server log of the caller's copy (an admin: any copy).
func (l Local) Logs(ctx context.Context, id string, follow bool) (io.ReadCloser, error) {
	if _, err := l.M.CopyFor(l.Caller, id); err != nil {
		return nil, err
	}
	return l.M.OpenLog(ctx, id, follow)
}

// Goldens lists the goldens kept, counting the copies the caller may see.
func (l Local) Goldens(ctx context.Context) ([]ditto.GoldenInfo, error) {
	return l.M.Goldens(ctx, l.Caller)
}
