package zfs

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/dittodb/ditto/storage"
)

// check implements storage.Backend's Check: the tools and module are
// there, the pool is imported and ONLINE (Check), and the parent dataset
// exists. It imports and creates nothing.
func check(ctx context.Context, cfg storage.Config) storage.Health {
	var h storage.Health
	pool, _, _ := strings.Cut(cfg.Dataset, "/")
	if err := Check(pool); err != nil {
		h.Add("pool.health", storage.StatusFail, err.Error(), "see the kernel and tools checks above; zpool import "+pool+" if it is not imported")
		h.Unready = "the ZFS pool is not usable"
		return h
	}
	h.Add("pool.health", storage.StatusOK, "zpool "+pool+" is imported and ONLINE", "")
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if _, err := run(ctx, "zfs", "list", "-H", "-o", "name", cfg.Dataset); err != nil {
		why := strings.TrimSpace(stderrOf(err))
		if why == "" {
			why = err.Error()
		}
		h.Add("pool.mounted", storage.StatusFail, fmt.Sprintf("dataset %s: %s", cfg.Dataset, why),
			"ditto init --backend zfs --dataset "+cfg.Dataset+" creates it again (then ditto reseed)")
		h.Unready = "the dataset is missing"
		return h
	}
	h.Add("pool.mounted", storage.StatusOK, "dataset "+cfg.Dataset+" exists", "")
	return h
}
