package api

import (
	"context"

	"github.com/dittodb/ditto"
)

// Reseeder starts a reseed from the daemon's configured source; a caller
// never names the source, so the daemon reads no file or URL a caller
// chose.
type Reseeder interface {
	StartReseed(ctx context.Context) (ditto.ReseedStatus, error)
}

var errNotAdmin = &ditto.Error{Code: ditto.CodeForbidden, Message: "only an admin may reseed",
	Hint: "ask root or a member of the daemon's admin group"}

var errNoReseedSource = &ditto.Error{Code: ditto.CodeInvalid, Message: "nothing to reseed from",
	Hint: "give --dump FILE or --source-url URL, or configure a reseed: source in the daemon's config (see `ditto serve --help`)"}

// Reseed starts a reseed from the configured source, for admins only.
func (l Local) Reseed(ctx context.Context) (ditto.ReseedStatus, error) {
	if !l.Caller.Admin {
		return ditto.ReseedStatus{}, errNotAdmin
	}
	if l.Reseeder == nil {
		return ditto.ReseedStatus{}, errNoReseedSource
	}
	return l.Reseeder.StartReseed(ctx)
}

// ReseedStatus is the reseed part of the status: for anyone, as status is.
func (l Local) ReseedStatus(context.Context) (ditto.ReseedStatus, error) { return l.M.ReseedStatus() }
