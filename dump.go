package ditto

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/dittodb/ditto/postgres"
)

// Dump writes the current golden as a custom-format dump to out (0600,
// through out.partial, renamed once complete): what `ditto reseed --dump`
// takes on another machine. It reads a throw-away copy of the golden, so
// the golden stays as it is, and a golden made with masking rules gives a
// masked dump. It returns the copy it read (gone by then), whose
// Generation names the golden.
func (m *Manager) Dump(ctx context.Context, out string) (*Copy, error) {
	if err := os.MkdirAll(filepath.Dir(out), 0o700); err != nil {
		return nil, fmt.Errorf("the dump's folder: %w", err)
	}
	c, err := m.CreateCopy(ctx, CreateOptions{TTL: time.Hour, Labels: map[string]string{"ditto.purpose": "dump"}})
	if err != nil {
		return nil, err
	}
	defer m.DestroyCopy(context.WithoutCancel(ctx), c.ID)
	g, err := readGoldenMeta(filepath.Dir(c.DataDir)) // a clone carries its golden's description
	if err != nil {
		return nil, err
	}
	bin, err := g.Bin()
	if err != nil {
		return nil, err
	}
	tmp := out + ".partial"
	if err := postgres.DumpSource(ctx, bin, c.URL(), tmp, m.Log); err != nil {
		os.Remove(tmp)
		return nil, fmt.Errorf("dumping golden %s: %w", c.Generation, err)
	}
	if err := os.Rename(tmp, out); err != nil {
		os.Remove(tmp)
		return nil, err
	}
	return c, nil
}
