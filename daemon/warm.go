package daemon

import (
	"context"

	"github.com/hashicorp/go-hclog"

	"github.com/dittodb/ditto"
	"github.com/dittodb/ditto/warm"
)

// startWarm runs the warm pool of size copies until stop is called; with
// size 0 it only drains the warm copies a previous daemon left.
func startWarm(ctx context.Context, m *ditto.Manager, log hclog.Logger, size int) (p *warm.Pool, stop func()) {
	p = warm.New(m, size, log.Named("warm"))
	ctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{})
	go func() {
		defer close(done)
		p.Run(ctx)
	}()
	return p, func() {
		cancel()
		<-done
	}
}
