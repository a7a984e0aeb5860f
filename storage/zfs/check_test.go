package zfs

import (
	"context"
	"testing"

	"github.com/dittodb/ditto/storage"
)

// checkPool runs the backend's check on dataset ds and returns the status
// of each finding by name.
func checkPool(t *testing.T, ds string) (map[string]storage.Status, string) {
	t.Helper()
	h, err := storage.Check(context.Background(), storage.Config{Backend: "zfs", Dataset: ds})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]storage.Status{}
	for _, f := range h.Findings {
		if f.Detail == "" || (f.Status != storage.StatusOK && f.Fix == "") {
			t.Errorf("finding %+v lacks a detail or a fix", f)
		}
		got[f.Name] = f.Status
	}
	return got, h.Unready
}

func TestCheckWithoutTools(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	got, unready := checkPool(t, "tank/ditto")
	if len(got) != 1 || got["pool.health"] != storage.StatusFail || unready == "" {
		t.Errorf("Check without zfs tools = %v, unready %q; want pool.health fail, unready", got, unready)
	}
}

// The check looks at the pool and the dataset and creates nothing.
func TestCheckPool(t *testing.T) {
	s, _ := newStore(t)
	got, unready := checkPool(t, s.Parent())
	if len(got) != 2 || got["pool.health"] != storage.StatusOK || got["pool.mounted"] != storage.StatusOK || unready != "" {
		t.Errorf("Check of a ready pool = %v, unready %q", got, unready)
	}
	missing := s.Parent() + "/missing"
	got, unready = checkPool(t, missing)
	if len(got) != 2 || got["pool.health"] != storage.StatusOK || got["pool.mounted"] != storage.StatusFail || unready == "" {
		t.Errorf("Check of a missing dataset = %v, unready %q", got, unready)
	}
	if _, err := run(context.Background(), "zfs", "list", missing); !isNotExist(err) {
		t.Errorf("Check created %s: %v", missing, err)
	}
	got, unready = checkPool(t, "nosuchpool-"+randomID(t)+"/ditto")
	if len(got) != 1 || got["pool.health"] != storage.StatusFail || unready == "" {
		t.Errorf("Check of a missing pool = %v, unready %q", got, unready)
	}
}
