package btrfs

import (
	"context"

	"github.com/dittodb/ditto/storage"
)

func init() { storage.Register("btrfs", storage.Backend{Open: open, Check: check}) }

// open mounts the embedded image, if cfg has one, and opens the pool
// folder cfg.Path.
func open(ctx context.Context, cfg storage.Config) (storage.Storage, error) {
	if cfg.Image != "" {
		if err := MountImage(ctx, cfg.Image, cfg.Path); err != nil {
			return nil, err
		}
	}
	s, err := Open(cfg.Path, cfg.GID)
	if err != nil {
		return nil, err
	}
	return s, nil
}
