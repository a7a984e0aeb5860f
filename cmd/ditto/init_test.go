package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dittodb/ditto/internal/testbtrfs"
)

// TestEmbeddedPool checks the default `ditto init`: a sparse Btrfs image in
// the state directory, loop-mounted at <home>/pool, re-mounted on demand
// after a reboot (here: an umount), and init being idempotent.
func TestEmbeddedPool(t *testing.T) {
	testbtrfs.Require(t)
	f := &fixture{t: t, home: shortTempDir(t)}
	img, mnt := filepath.Join(f.home, "pool.img"), filepath.Join(f.home, "pool")
	t.Cleanup(func() {
		exec.Command("umount", mnt).Run()
		if out := testbtrfs.WaitDetached(t, img); out != "" {
			t.Errorf("loop device left: %s", out)
		}
	})
	t.Cleanup(f.teardown)
	f.must("init", "--size", "1G", "--min-free", "100M")
	f.pool = mnt
	info, err := os.Stat(img)
	if err != nil {
		t.Fatal(err)
	}
	if info.Size() != 1<<30 {
		t.Fatalf("image size %d, want 1 GiB", info.Size())
	}
	if home, _ := os.Stat(f.home); home.Mode().Perm()&0o007 != 0 {
		t.Fatalf("state directory mode %v: others must have no access", home.Mode().Perm())
	}
	cfg, err := os.ReadFile(filepath.Join(f.home, "config.json"))
	if err != nil || !strings.Contains(string(cfg), `"backend": "btrfs"`) {
		t.Fatalf("config.json not readable settings: %v %s", err, cfg)
	}
	f.must("init") // idempotent
	f.fails("already initialised", "init", "--path", "/somewhere/else")

	if out, err := exec.Command("umount", mnt).CombinedOutput(); err != nil {
		t.Fatalf("umount: %v %s", err, out)
	}
	f.must("reseed", "--dump", sampleSQL(t)) // re-mounts on demand
	c := f.create()
	if got := mustPsql(t, c.DatabaseURL, "SELECT count(*) FROM customer"); got != "10000" {
		t.Fatalf("customers in a copy: %s", got)
	}
	f.must("copy", "destroy", c.ID)
}

func TestInitRejectsNonBtrfsPath(t *testing.T) {
	requireRoot(t)
	f := &fixture{t: t, home: shortTempDir(t)}
	dir := t.TempDir() // on the root filesystem, which is not Btrfs here
	f.fails("not Btrfs", "init", "--path", dir)
	if _, err := os.Stat(filepath.Join(f.home, "config.json")); err == nil {
		t.Fatal("a failed init wrote a config")
	}
}
