package ditto

import (
	"context"
	"time"

	"github.com/dittodb/ditto/internal/proc"
	"github.com/dittodb/ditto/postgres"
)

// servers starts, finds and stops the copies' PostgreSQL servers. The
// Manager's in-process tests put a fake in its place.
type servers interface {
	Start(ctx context.Context, o postgres.ServerOptions) (*postgres.Server, error)
	// Ready waits until srv accepts a connection, then sets role's
	// password; it returns how long the wait took.
	Ready(ctx context.Context, srv *postgres.Server, role, db, password string) (time.Duration, error)
	// Quit asks for an immediate shutdown and waits for it.
	// Handover gives the running server of c a new password and resets
	// its statistics, for a warm copy's claim.
	Handover(ctx context.Context, c *Copy, password string) error
	Quit(ctx context.Context, ref proc.Ref) error
	Kill(ctx context.Context, ref proc.Ref) error
	// Running finds the postmasters whose data directory is below root.
	Running(root string) map[string]proc.Ref
}

// pgServers runs real postgres servers.
type pgServers struct{}

func (pgServers) Start(ctx context.Context, o postgres.ServerOptions) (*postgres.Server, error) {
	return postgres.Start(ctx, o)
}

func (pgServers) Ready(ctx context.Context, srv *postgres.Server, role, db, password string) (time.Duration, error) {
	t0 := time.Now()
	conn, err := srv.WaitReady(ctx, role, db)
	if err != nil {
		return 0, err
	}
	defer conn.Close(context.Background())
	waited := time.Since(t0)
	return waited, postgres.SetPassword(ctx, conn, role, password)
}

func (pgServers) Handover(ctx context.Context, c *Copy, password string) error {
	return postgres.Handover(ctx, c.SocketDir, c.Port, c.Role, c.Database, password)
}

func (pgServers) Quit(ctx context.Context, ref proc.Ref) error { return postgres.Quit(ctx, ref) }
func (pgServers) Kill(ctx context.Context, ref proc.Ref) error { return postgres.Kill(ctx, ref) }
func (pgServers) Running(root string) map[string]proc.Ref      { return postgres.Postmasters(root) }
