package api

import (
	"context"
	"io"

	"github.com/dittodb/ditto"
)

// Service is what the CLI asks of ditto about copies, for one caller:
// served in this process by Local (direct mode, as root) or by the daemon
// through api/client. Both give the same views and errors.
type Service interface {
	Create(ctx context.Context, r CreateRequest) (Copy, error)
	// Hold creates a copy that lives only as long as the Lease and the
	// caller's process: the end of either destroys it.
	Hold(ctx context.Context, r CreateRequest) (Copy, Lease, error)
	// List gives the caller's copies (an admin's: every user's); all adds
	// the daemon's warm copies for an admin.
	List(ctx context.Context, all bool) ([]Copy, error)
	Get(ctx context.Context, id string) (Copy, error)
	Destroy(ctx context.Context, id string) error
	Reset(ctx context.Context, id string) (Copy, error)
	Start(ctx context.Context, id string) (StartResult, error)
	Status(ctx context.Context) (ditto.Status, error)
	// Extend sets the copy to expire r.TTL from now.
	Extend(ctx context.Context, id string, r ExtendRequest) (Copy, error)
	// Events returns what happened to the copy, oldest first; they answer
	// for a while after the copy is destroyed (ditto.EventsRetention).
	Events(ctx context.Context, id string) ([]ditto.Event, error)
	// Logs streams the copy's server log; with follow, until the copy is
	// destroyed or ctx ends.
	Logs(ctx context.Context, id string, follow bool) (io.ReadCloser, error)
	// Goldens lists the golden generations kept, newest first.
	Goldens(ctx context.Context) ([]ditto.GoldenInfo, error)
	// Reseed starts a reseed from the daemon's configured source (admins
	// only) and returns the status with it running.
	Reseed(ctx context.Context) (ditto.ReseedStatus, error)
	ReseedStatus(ctx context.Context) (ditto.ReseedStatus, error)
}

// ExtendRequest is the body of POST /v1/copies/{id}/extend.
type ExtendRequest struct {
	// TTL is the copy's new time to live from now: a duration such as
	// 30m, or 0 for no expiry.
	TTL string `json:"ttl"`
}

// Lease is the hold on a copy made by Service.Hold.
type Lease interface {
	// Keep hands the copy over to its TTL: the end of the lease no longer
	// destroys it.
	Keep(ctx context.Context) error
	// Close ends the lease, destroying the copy unless it was kept.
	Close() error
}

// CreateRequest is the body of POST /v1/copies: the options of
// `ditto copy create`.
type CreateRequest struct {
	// TTL is a duration such as 30m, or 0 for no expiry; empty: 24h.
	TTL      string            `json:"ttl,omitempty"`
	Labels   map[string]string `json:"labels,omitempty"`
	Settings []string          `json:"settings,omitempty"` // NAME=VALUE server settings
	Durable  bool              `json:"durable,omitempty"`
	Listen   string            `json:"listen,omitempty"`
	// Limits cap what the copy may use (memory and max_size in bytes);
	// those left out, or 0, are the configured defaults.
	Limits ditto.Limits `json:"limits,omitzero"`
	// Hold makes the response a stream that holds the copy (see
	// Service.Hold): the copy's view on the first line, then a heartbeat
	// line every few seconds; when the connection ends, the daemon
	// destroys the copy unless it was kept.
	Hold bool `json:"hold,omitempty"`
}

// StartResult is the answer to a start: the copy, and whether its server
// had to be started (false: it was running).
type StartResult struct {
	Copy
	Started bool `json:"started"`
}

// Heartbeat is a line of a hold stream after the first.
type Heartbeat struct {
	Held string `json:"held"` // the copy's ID
}
