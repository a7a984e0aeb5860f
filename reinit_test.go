package ditto

import (
	"context"
	"strings"
	"testing"

	"github.com/hashicorp/go-hclog"
)

func TestFitMinFree(t *testing.T) {
	for size, want := range map[int64]int64{1 << 30: 1 << 30 / 10, 100 << 30: 1 << 30} {
		c := DefaultConfig()
		if err := fitMinFree(&c, size, false); err != nil || c.MinFree != want {
			t.Errorf("default floor on a %d-byte pool = %d, %v; want %d", size, c.MinFree, err, want)
		}
	}
	c := DefaultConfig() // 1 GiB, given
	if err := fitMinFree(&c, 1<<30, true); err == nil || !strings.Contains(err.Error(), "--min-free 102M") {
		t.Errorf("a floor as big as the pool: %v, want a refusal suggesting --min-free 102M", err)
	}
	if err := fitMinFree(&c, 2<<30, true); err != nil || c.MinFree != 1<<30 {
		t.Errorf("a floor given below the pool's size: %d, %v", c.MinFree, err)
	}
}

// init on an existing home refuses the settings that the pool and golden are
// built on, naming each and why, before it touches anything.
func TestInitAgainRefusesFixedSettings(t *testing.T) {
	h := NewHome(t.TempDir())
	old := DefaultConfig()
	old.PoolPath = "/mnt/btrfs/ditto"
	if err := h.saveConfig(old); err != nil {
		t.Fatal(err)
	}
	req := old
	req.Role, req.PGUser, req.ImageSize = "other", "nobody", 5<<30
	_, err := Init(context.Background(), h.Dir, req, map[string]bool{"role": true, "pg-user": true, "size": true}, hclog.NewNullLogger())
	for _, want := range []string{"cannot change", "--role: the golden's superuser, which copies hand out, is role ditto",
		"--pg-user: the golden's files belong to OS user " + old.PGUser, "--size: only the embedded pool has one", "another --home"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("init with other --role, --pg-user, --size: %v, want %q", err, want)
		}
	}
	req.PortMin = 80 // refused too, before anything opens
	if _, err := Init(context.Background(), h.Dir, req, map[string]bool{"port-range": true}, hclog.NewNullLogger()); err == nil || !strings.Contains(err.Error(), "privileged") {
		t.Errorf("init with --port-range 80-6432: %v", err)
	}
	if got, _ := h.readConfig(); got != old {
		t.Fatalf("refused inits changed the config: %+v", got)
	}
}
