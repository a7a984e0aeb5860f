package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dittodb/ditto"
)

// TestEmbeddedPool checks the default `ditto init`: a sparse Btrfs image in
// the state directory, loop-mounted at <home>/pool, re-mounted on demand
// after a reboot (here: an umount), and init being idempotent.
func TestEmbeddedPool(t *testing.T) {
	f := embeddedFixture(t)
	img := filepath.Join(f.home, "pool.img")
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
	var settings struct {
		MinFree int64 `json:"min_free"`
	}
	if json.Unmarshal(cfg, &settings); settings.MinFree != 1<<30/10 {
		t.Fatalf("a 1 GiB pool without --min-free should get a floor of a tenth of it: %s", cfg)
	}
	f.must("init") // idempotent
	f.fails("already initialised", "init", "--path", "/somewhere/else")
	f.fails("--min-free 1.0 GiB is not below the pool's size", "init", "--min-free", "1G")
	f.fails("--size: the embedded image is already 1.0 GiB and cannot grow or shrink here", "init", "--size", "2G")

	f.unmountPool()
	f.must("reseed", "--dump", sampleSQL(t)) // re-mounts on demand
	c := f.create()
	if got := mustPsql(t, c.DatabaseURL, "SELECT count(*) FROM customer"); got != "10000" {
		t.Fatalf("customers in a copy: %s", got)
	}
	f.must("copy", "destroy", c.ID)
}

// TestInitAgain: init on a home made before applies the settings given that
// may change, says what changed, and refuses, changing nothing, the ones the
// pool and golden are built on and values that cannot work.
func TestInitAgain(t *testing.T) {
	f := goldenFixture(t)
	cfgFile := filepath.Join(f.home, "config.json")
	config := func() string {
		b, err := os.ReadFile(cfgFile)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	before := config()
	if r := f.run("init"); r.code != 0 || strings.Contains(r.stderr, "changed") || config() != before {
		t.Fatalf("init without flags must change nothing: %s", r)
	}
	for _, c := range []struct{ want, flag, value string }{
		{"--role: the golden's superuser", "--role", "other"},
		{"--pg-user: the golden's files belong to OS user postgres", "--pg-user", "nobody"},
		{"--size: only the embedded pool has one", "--size", "5G"},
		{"already initialised (backend btrfs", "--backend", "zfs"},
		{"cannot listen on 203.0.113.77: not an address of this machine", "--listen", "203.0.113.77"},
		{"not below the pool's size", "--min-free", "1T"},
		{"privileged", "--port-range", "80-90"},
		{"--pg-bin /nonexistent", "--pg-bin", "/nonexistent"},
	} {
		f.fails(c.want, "init", c.flag, c.value)
		if config() != before {
			t.Fatalf("a refused init %s %s changed the config", c.flag, c.value)
		}
	}

	ports := privatePortRange()
	r := f.run("init", "--port-range", ports, "--min-free", "100M", "--listen", "127.0.0.1,localhost", "--role", "ditto")
	for _, want := range []string{"changed --port-range: from=5433-6432 to=" + ports, "changed --min-free", "changed --listen"} {
		if r.code != 0 || !strings.Contains(r.stderr, want) {
			t.Fatalf("init with new settings: want %q: %s", want, r)
		}
	}
	c := f.create()
	if lo, hi, _ := ditto.ParsePortRange(ports); c.Port < lo || c.Port > hi {
		t.Fatalf("a copy after init --port-range %s got port %d", ports, c.Port)
	}
	mustPsql(t, c.DatabaseURL, "SELECT 1")
	f.must("copy", "destroy", c.ID)
	if r := f.run("init", "--port-range", ports); r.code != 0 || strings.Contains(r.stderr, "changed") {
		t.Fatalf("init with the settings in use must change nothing: %s", r)
	}
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

// TestEmbeddedZFSPool checks `ditto init --backend zfs` without a dataset:
// a pool on a sparse file in the state directory, imported again on demand
// (here: after a zpool export, as after a reboot). It needs ZFS, so it runs
// in the ZFS test VM (DITTO_TEST_ZFS_POOL is set there).
func TestEmbeddedZFSPool(t *testing.T) {
	if os.Getenv("DITTO_TEST_ZFS_POOL") == "" {
		t.Skip("needs OpenZFS: runs in the ZFS test VM (scripts/test-zfs.sh)")
	}
	requireRoot(t)
	f := &fixture{t: t, home: shortTempDir(t)}
	t.Cleanup(func() {
		f.teardown()
		for _, pool := range zpoolsOn(f.home) {
			exec.Command("zpool", "destroy", "-f", pool).Run()
		}
	})
	f.must("init", "--backend", "zfs", "--size", "2G", "--min-free", "100M")
	pools := zpoolsOn(f.home)
	if len(pools) != 1 {
		t.Fatalf("want one pool on a file in the home, found %v", pools)
	}
	f.pool = pools[0]
	f.must("init", "--backend", "zfs") // idempotent
	if out, err := exec.Command("zpool", "export", pools[0]).CombinedOutput(); err != nil {
		t.Fatalf("zpool export: %v %s", err, out)
	}
	f.must("reseed", "--dump", sampleSQL(t)) // imports it again
	c := f.create()
	if got := mustPsql(t, c.DatabaseURL, "SELECT count(*) FROM customer"); got != "10000" {
		t.Fatalf("customers in a copy: %s", got)
	}
	f.must("copy", "destroy", c.ID)
}

// zpoolsOn lists the imported pools whose vdev is a file below dir.
func zpoolsOn(dir string) []string {
	out, _ := exec.Command("zpool", "list", "-H", "-v", "-P", "-o", "name").Output()
	var pools []string
	var current string
	for _, line := range strings.Split(string(out), "\n") {
		fields := strings.Fields(line)
		switch {
		case len(fields) == 0:
		case !strings.HasPrefix(line, "\t") && !strings.HasPrefix(line, " "):
			current = fields[0]
		case strings.HasPrefix(fields[0], dir+"/"):
			pools = append(pools, current)
		}
	}
	return pools
}
