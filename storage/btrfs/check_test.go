package btrfs_test

import (
	"os/exec"
	"testing"

	"github.com/dittodb/ditto/internal/testbtrfs"
	"github.com/dittodb/ditto/storage"
	"github.com/dittodb/ditto/storage/btrfs"
)

// checkPool runs the backend's check and returns its findings by name.
func checkPool(t *testing.T, cfg storage.Config) (map[string]storage.Finding, string) {
	t.Helper()
	cfg.Backend = "btrfs"
	h, err := storage.Check(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	found := map[string]storage.Finding{}
	for _, f := range h.Findings {
		found[f.Name] = f
	}
	return found, h.Unready
}

func wantStatus(t *testing.T, found map[string]storage.Finding, want map[string]storage.Status) {
	t.Helper()
	if len(found) != len(want) {
		t.Errorf("findings %+v, want %v", found, want)
	}
	for name, s := range want {
		if f := found[name]; f.Status != s || f.Detail == "" || (s != storage.StatusOK && f.Fix == "") {
			t.Errorf("%s = %+v, want status %s with a detail and, unless ok, a fix", name, f, s)
		}
	}
}

func TestCheckPool(t *testing.T) {
	mnt := testbtrfs.New(t)
	found, unready := checkPool(t, storage.Config{Path: mnt})
	wantStatus(t, found, map[string]storage.Status{"pool.mounted": storage.StatusOK, "pool.health": storage.StatusOK})
	if unready != "" {
		t.Errorf("a mounted pool is unready: %s", unready)
	}

	// Btrfs turns read-only after an error.
	if out, err := exec.Command("mount", "-o", "remount,ro", mnt).CombinedOutput(); err != nil {
		t.Fatalf("remount read-only: %v: %s", err, out)
	}
	t.Cleanup(func() { exec.Command("mount", "-o", "remount,rw", mnt).Run() })
	found, unready = checkPool(t, storage.Config{Path: mnt})
	wantStatus(t, found, map[string]storage.Status{"pool.mounted": storage.StatusOK, "pool.health": storage.StatusFail})
	if unready != "" {
		t.Errorf("a read-only pool is unready: %s", unready)
	}

	found, unready = checkPool(t, storage.Config{Path: t.TempDir()})
	wantStatus(t, found, map[string]storage.Status{"pool.mounted": storage.StatusFail})
	if unready == "" {
		t.Error("a folder off Btrfs is ready")
	}
}

// The check looks at the embedded image without mounting it.
func TestCheckImage(t *testing.T) {
	img, mnt := imagePaths(t)
	cfg := storage.Config{Path: mnt, Image: img}
	found, unready := checkPool(t, cfg)
	wantStatus(t, found, map[string]storage.Status{"pool.mounted": storage.StatusFail})
	if unready == "" {
		t.Error("a missing image is ready")
	}

	if err := btrfs.CreateImage(ctx, img, 256<<20); err != nil {
		t.Fatal(err)
	}
	found, unready = checkPool(t, cfg)
	wantStatus(t, found, map[string]storage.Status{"pool.mounted": storage.StatusWarn})
	if unready == "" {
		t.Error("an image that is not mounted is ready")
	}
	checkMounted(t, mnt, false)

	if err := btrfs.MountImage(ctx, img, mnt); err != nil {
		t.Fatal(err)
	}
	found, unready = checkPool(t, cfg)
	wantStatus(t, found, map[string]storage.Status{
		"pool.mounted": storage.StatusOK, "pool.health": storage.StatusOK, "pool.image": storage.StatusOK,
	})
	if unready != "" {
		t.Errorf("a mounted image is unready: %s", unready)
	}
}
