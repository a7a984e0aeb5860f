package zfs

import (
	"context"
	"strings"

	"github.com/dittodb/ditto/storage"
)

func init() { storage.Register("zfs", storage.Backend{Open: open, Check: check}) }

// open imports (or creates) the embedded file pool, if cfg has one, and
// opens the parent dataset cfg.Dataset.
func open(ctx context.Context, cfg storage.Config) (storage.Storage, error) {
	if cfg.Image != "" {
		pool, _, _ := strings.Cut(cfg.Dataset, "/")
		if err := CreateFilePool(ctx, pool, cfg.Image, cfg.ImageSize); err != nil {
			return nil, err
		}
	}
	s, err := Open(cfg.Dataset, cfg.MountBase, cfg.GID)
	if err != nil {
		return nil, err
	}
	return s, nil
}
