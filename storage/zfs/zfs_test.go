package zfs

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/dittodb/ditto/storage"
	"github.com/dittodb/ditto/storage/storagetest"
)

// Integration tests on real OpenZFS. They run only when
// DITTO_TEST_ZFS_POOL names an imported pool they may create datasets in
// (each test uses its own POOL/ditto-test-XXXX and destroys it); otherwise
// they skip. scripts/test-zfs.sh runs them in a VM with OpenZFS.

const poolEnv = "DITTO_TEST_ZFS_POOL"

func testPool(t *testing.T) string {
	t.Helper()
	pool := os.Getenv(poolEnv)
	if pool == "" {
		t.Skipf("%s not set: run scripts/test-zfs.sh for the ZFS integration tests", poolEnv)
	}
	return pool
}

// zfsCmd runs a zfs or zpool command in a test and returns its stdout.
func zfsCmd(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := run(context.Background(), name, args...)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(out))
}

func randomID(t *testing.T) string {
	b := make([]byte, 4)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%x", b)
}

// newStore opens a Store on a fresh parent dataset, destroyed after the test.
func newStore(t *testing.T) (*Store, string) { return newStoreGID(t, os.Getgid()) }

func newStoreGID(t *testing.T, gid int) (*Store, string) {
	t.Helper()
	pool := testPool(t)
	parent := pool + "/ditto-test-" + randomID(t)
	base := filepath.Join(t.TempDir(), "zfs")
	t.Cleanup(func() { // also after an Open that failed half-way
		if _, err := run(context.Background(), "zfs", "destroy", "-r", "-R", "-f", parent); err != nil && !isNotExist(err) {
			t.Errorf("cleanup: %v", err)
		}
	})
	s, err := storage.Open(context.Background(), storage.Config{Backend: "zfs", Dataset: parent, MountBase: base, GID: gid})
	if err != nil {
		t.Fatalf("Open(%s): %v", parent, err)
	}
	return s.(*Store), base
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// golden makes a frozen golden gen holding pgdata/file.
func golden(t *testing.T, s *Store, gen string) string {
	t.Helper()
	ctx := context.Background()
	b, err := s.CreateBuilding(ctx, gen)
	if err != nil {
		t.Fatalf("CreateBuilding: %v", err)
	}
	if err := os.Mkdir(filepath.Join(b, "pgdata"), 0o700); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(b, "pgdata", "file"), "golden "+gen)
	g, err := s.Freeze(ctx, gen)
	if err != nil {
		t.Fatalf("Freeze: %v", err)
	}
	return g
}

func TestZFSVersion(t *testing.T) {
	testPool(t)
	t.Logf("running on %s", strings.ReplaceAll(zfsCmd(t, "zfs", "version"), "\n", ", "))
	t.Logf("pool: %s", zfsCmd(t, "zpool", "list", "-H", "-o", "name,size,health", os.Getenv(poolEnv)))
}

func TestOpenSetsUpParent(t *testing.T) {
	s, base := newStore(t)
	if s.Backend() != "zfs" {
		t.Fatalf("Backend() = %q", s.Backend())
	}
	got := zfsCmd(t, "zfs", "get", "-H", "-o", "value", "compression,atime,mountpoint", s.Parent())
	if got != "lz4\noff\nnone" {
		t.Errorf("parent properties = %q, want lz4, off, none", got)
	}
	for _, d := range []string{"", "building", "golden", "copies"} {
		st, err := os.Stat(filepath.Join(base, d))
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != 0o710 || int(st.Sys().(*syscall.Stat_t).Gid) != os.Getgid() {
			t.Errorf("%s: mode %v gid %d, want 0710 gid %d", d, st.Mode().Perm(), st.Sys().(*syscall.Stat_t).Gid, os.Getgid())
		}
	}
	// Opening again is fine (several ditto processes do).
	if _, err := Open(s.Parent(), base, os.Getgid()); err != nil {
		t.Fatalf("second Open: %v", err)
	}
}

func TestConformance(t *testing.T) {
	testPool(t)
	storagetest.Run(t, func(t *testing.T, gid int) storage.Storage {
		s, _ := newStoreGID(t, gid)
		return s
	})
}

// Every volume is a dataset with ditto's properties, mounted under the
// mount base; a golden is read-only with a snapshot @golden that copies
// clone.
func TestVolumeProperties(t *testing.T) {
	s, base := newStore(t)
	ctx := context.Background()
	b, err := s.CreateBuilding(ctx, "g1")
	if err != nil {
		t.Fatal(err)
	}
	if b != filepath.Join(base, "building", "g1") {
		t.Errorf("building path %s", b)
	}
	props := zfsCmd(t, "zfs", "get", "-H", "-o", "value", "recordsize,compression,atime,ditto:role,ditto:name", s.Parent()+"/building/g1")
	if props != "8192\nlz4\noff\nbuilding\ng1" && props != "8K\nlz4\noff\nbuilding\ng1" {
		t.Errorf("building properties = %q", props)
	}
	g, err := s.Freeze(ctx, "g1")
	if err != nil {
		t.Fatal(err)
	}
	if g != filepath.Join(base, "golden", "g1") {
		t.Errorf("golden path %s", g)
	}
	if got := zfsCmd(t, "zfs", "get", "-H", "-o", "value", "readonly,ditto:role", s.Parent()+"/golden/g1"); got != "on\ngolden" {
		t.Errorf("golden properties = %q", got)
	}
	if got := zfsCmd(t, "zfs", "list", "-H", "-o", "name", "-t", "snapshot", s.Parent()+"/golden/g1@golden"); got != s.Parent()+"/golden/g1@golden" {
		t.Errorf("snapshot: %q", got)
	}
	start := time.Now()
	c, err := s.Clone(ctx, "g1", "c1")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("Clone took %v", time.Since(start).Round(time.Millisecond))
	if c != filepath.Join(base, "copies", "c1") {
		t.Errorf("copy path %s", c)
	}
	if got := zfsCmd(t, "zfs", "get", "-H", "-o", "value", "origin,readonly,recordsize,ditto:role,ditto:name,ditto:origin", s.Parent()+"/copies/c1"); got != s.Parent()+"/golden/g1@golden\noff\n8K\ncopy\nc1\ng1" {
		t.Errorf("clone properties = %q", got)
	}
}

// A golden with copies is kept (ErrHasClones) until they are gone; a copy
// in use is busy; destroying everything leaves no dataset and no mount
// folder behind.
func TestDestroyCleansUp(t *testing.T) {
	s, base := newStore(t)
	ctx := context.Background()
	golden(t, s, "g1")
	c1, err := s.Clone(ctx, "g1", "c1")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Destroy(ctx, storage.KindGolden, "g1"); !errors.Is(err, storage.ErrHasClones) {
		t.Fatalf("Destroy of a golden with clones = %v, want ErrHasClones", err)
	}
	f, err := os.Open(filepath.Join(c1, "pgdata", "file"))
	if err != nil {
		t.Fatal(err)
	}
	err = s.Destroy(ctx, storage.KindCopy, "c1")
	f.Close()
	if err == nil {
		t.Log("destroy of a copy with an open file succeeded (lazy unmount)")
	} else if !errors.Is(err, ErrBusy) {
		t.Errorf("Destroy of a busy copy = %v, want ErrBusy", err)
	}
	if _, err := s.CreateBuilding(ctx, "b1"); err != nil {
		t.Fatal(err)
	}
	for _, v := range []struct {
		kind storage.Kind
		name string
	}{{storage.KindCopy, "c1"}, {storage.KindGolden, "g1"}, {storage.KindBuilding, "b1"}} {
		if err := s.Destroy(ctx, v.kind, v.name); err != nil {
			t.Fatalf("Destroy %s %s: %v", v.kind, v.name, err)
		}
	}
	left := zfsCmd(t, "zfs", "list", "-H", "-r", "-t", "all", "-o", "name", s.Parent())
	if want := strings.Join([]string{s.Parent(), s.Parent() + "/building", s.Parent() + "/copies", s.Parent() + "/golden"}, "\n"); left != want {
		t.Errorf("datasets left:\n%s", left)
	}
	for _, d := range []string{"building", "golden", "copies"} {
		entries, _ := os.ReadDir(filepath.Join(base, d))
		if len(entries) != 0 {
			t.Errorf("%s/ not empty: %v", d, entries)
		}
	}
}

func TestNotDitto(t *testing.T) {
	s, base := newStore(t)
	ctx := context.Background()
	golden(t, s, "g1")
	// Someone else's datasets where ditto would put its own.
	zfsCmd(t, "zfs", "create", "-o", "mountpoint="+filepath.Join(base, "foreign-c"), s.Parent()+"/copies/foreign")
	zfsCmd(t, "zfs", "create", "-o", "mountpoint="+filepath.Join(base, "foreign-b"), s.Parent()+"/building/foreign")
	writeFile(t, filepath.Join(base, "foreign-c", "keep"), "mine")

	if _, err := s.Clone(ctx, "g1", "foreign"); !errors.Is(err, ErrNotDitto) {
		t.Errorf("Clone onto a foreign dataset = %v, want ErrNotDitto", err)
	}
	if _, err := s.CreateBuilding(ctx, "foreign"); !errors.Is(err, ErrNotDitto) {
		t.Errorf("CreateBuilding onto a foreign dataset = %v, want ErrNotDitto", err)
	}
	if err := s.Destroy(ctx, storage.KindCopy, "foreign"); !errors.Is(err, ErrNotDitto) {
		t.Errorf("Destroy of a foreign dataset = %v, want ErrNotDitto", err)
	}
	if got := readFile(t, filepath.Join(base, "foreign-c", "keep")); got != "mine" {
		t.Errorf("foreign data changed: %q", got)
	}
	vols, err := s.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range vols {
		if v.Name == "foreign" {
			t.Errorf("List shows a foreign dataset: %+v", v)
		}
	}
	// A zvol given as the parent is refused.
	zvol := s.Parent() + "/vol"
	zfsCmd(t, "zfs", "create", "-V", "16M", zvol)
	if _, err := Open(zvol, base, os.Getgid()); !errors.Is(err, ErrNotDitto) {
		t.Errorf("Open on a volume = %v, want ErrNotDitto", err)
	}
}

func TestListProperties(t *testing.T) {
	s, base := newStore(t)
	ctx := context.Background()
	golden(t, s, "g1")
	golden(t, s, "g2")
	if _, err := s.CreateBuilding(ctx, "g3"); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ gen, id string }{{"g1", "c1"}, {"g2", "c2"}, {"g1", "c3"}} {
		if _, err := s.Clone(ctx, c.gen, c.id); err != nil {
			t.Fatal(err)
		}
	}
	// Not ditto's: a child of a copy inherits ditto:role=copy; a role that
	// merely contains "copy"; a dataset without a role.
	zfsCmd(t, "zfs", "create", s.Parent()+"/copies/c1/child")
	zfsCmd(t, "zfs", "create", "-o", "ditto:role=copy2", "-o", "mountpoint=none", s.Parent()+"/copies/x")
	zfsCmd(t, "zfs", "create", "-o", "mountpoint=none", s.Parent()+"/copies/y")

	vols, err := s.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []storage.Volume{
		{Kind: storage.KindGolden, Name: "g1", Path: filepath.Join(base, "golden", "g1")},
		{Kind: storage.KindGolden, Name: "g2", Path: filepath.Join(base, "golden", "g2")},
		{Kind: storage.KindBuilding, Name: "g3", Path: filepath.Join(base, "building", "g3")},
		{Kind: storage.KindCopy, Name: "c1", Path: filepath.Join(base, "copies", "c1"), Origin: "g1"},
		{Kind: storage.KindCopy, Name: "c2", Path: filepath.Join(base, "copies", "c2"), Origin: "g2"},
		{Kind: storage.KindCopy, Name: "c3", Path: filepath.Join(base, "copies", "c3"), Origin: "g1"},
	}
	if fmt.Sprint(vols) != fmt.Sprint(want) {
		t.Fatalf("List:\n got %+v\nwant %+v", vols, want)
	}
	// The metadata is in zfs itself.
	got := zfsCmd(t, "zfs", "get", "-H", "-o", "value", "ditto:role,ditto:name,ditto:origin", s.Parent()+"/copies/c2")
	if got != "copy\nc2\ng2" {
		t.Errorf("copy properties = %q", got)
	}
}

// A crash in the middle of Freeze (after the rename, before the role
// change) leaves a building that List reports, Freeze completes and Destroy
// removes.
func TestInterruptedFreeze(t *testing.T) {
	s, base := newStore(t)
	ctx := context.Background()
	for _, gen := range []string{"g1", "g2"} {
		if _, err := s.CreateBuilding(ctx, gen); err != nil {
			t.Fatal(err)
		}
		zfsCmd(t, "zfs", "rename", s.Parent()+"/building/"+gen, s.Parent()+"/golden/"+gen)
	}
	vols, err := s.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(vols) != 2 || vols[0].Kind != storage.KindBuilding || vols[1].Kind != storage.KindBuilding {
		t.Fatalf("List = %+v, want two buildings", vols)
	}
	if _, err := s.Clone(ctx, "g1", "c1"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("Clone of a half-frozen golden = %v, want ErrNotFound", err)
	}
	g, err := s.Freeze(ctx, "g1")
	if err != nil {
		t.Fatal(err)
	}
	if g != filepath.Join(base, "golden", "g1") {
		t.Errorf("golden path %s", g)
	}
	if _, err := s.Clone(ctx, "g1", "c1"); err != nil {
		t.Fatal(err)
	}
	if err := s.Destroy(ctx, storage.KindBuilding, "g2"); err != nil {
		t.Fatal(err)
	}
	vols, err = s.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(vols) != 2 || vols[0].Name != "g1" || vols[1].Name != "c1" {
		t.Fatalf("List = %+v", vols)
	}
}

func TestCopyQuota(t *testing.T) {
	s, _ := newStore(t)
	ctx := context.Background()
	golden(t, s, "g1")
	refquota := func(id string) string {
		return zfsCmd(t, "zfs", "get", "-H", "-p", "-o", "value", "refquota", s.Parent()+"/copies/"+id)
	}
	var paths []string
	for _, id := range []string{"small", "other"} {
		p, err := s.Clone(ctx, "g1", id)
		if err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
	}
	// Small: under TCG emulation, writes near a quota are slow.
	if err := s.SetCopyQuota(ctx, "small", 4<<20); err != nil {
		t.Fatal(err)
	}
	if got, other := refquota("small"), refquota("other"); got != "4194304" || other != "0" {
		t.Errorf("refquota = %q, of the other copy %q; want 4194304, 0", got, other)
	}
	// Near a quota ZFS makes each transaction wait for the pool to sync; with
	// 8k records that is 128 transactions per MiB, minutes under TCG. The
	// quota is what is tested here, so use large records for this write.
	zfsCmd(t, "zfs", "set", "recordsize=1M", s.Parent()+"/copies/small")
	start := time.Now()
	werr := storagetest.WriteRandom(filepath.Join(paths[0], "big"), 16<<20)
	t.Logf("writing into the copy until the quota stopped it took %v", time.Since(start).Round(time.Millisecond))
	if !errors.Is(werr, syscall.EDQUOT) && !errors.Is(werr, syscall.ENOSPC) {
		t.Errorf("writing 16 MiB into a 4 MiB copy: %v, want EDQUOT", werr)
	}
	if err := s.SetCopyQuota(ctx, "small", 0); err != nil {
		t.Fatal(err)
	}
	if got := refquota("small"); got != "0" {
		t.Errorf("refquota after removing the quota = %q", got)
	}
	if err := storagetest.WriteRandom(filepath.Join(paths[0], "big"), 8<<20); err != nil {
		t.Errorf("writing 8 MiB after removing the quota: %v", err)
	}
}

func TestPoolErrors(t *testing.T) {
	testPool(t)
	base := t.TempDir()
	if _, err := Open("nosuchpool-"+randomID(t)+"/ditto", base, 0); !errors.Is(err, ErrPoolMissing) {
		t.Errorf("Open on a missing pool = %v, want ErrPoolMissing", err)
	}

	// A degraded pool: a mirror of two files, one taken offline.
	dir := t.TempDir()
	name := "dittodeg" + randomID(t)
	a, b := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	for _, f := range []string{a, b} {
		if err := os.WriteFile(f, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Truncate(f, 128<<20); err != nil {
			t.Fatal(err)
		}
	}
	zfsCmd(t, "zpool", "create", "-O", "mountpoint=none", name, "mirror", a, b)
	t.Cleanup(func() {
		if _, err := run(context.Background(), "zpool", "destroy", "-f", name); err != nil {
			t.Errorf("cleanup: %v", err)
		}
	})
	if _, err := Open(name+"/ditto", base, os.Getgid()); err != nil {
		t.Fatalf("Open on a healthy pool: %v", err)
	}
	zfsCmd(t, "zpool", "offline", name, b)
	_, err := Open(name+"/ditto", base, os.Getgid())
	if !errors.Is(err, ErrPoolUnhealthy) {
		t.Fatalf("Open on a degraded pool = %v, want ErrPoolUnhealthy", err)
	}
	t.Logf("degraded pool: %v", err)
}

// Opening with an image through the registry imports (here: creates) the
// file pool first.
func TestOpenEmbeddedFilePool(t *testing.T) {
	testPool(t)
	ctx := context.Background()
	name := "dittofile" + randomID(t)
	dir := t.TempDir()
	t.Cleanup(func() {
		if _, err := run(context.Background(), "zpool", "destroy", "-f", name); err != nil && !strings.Contains(stderrOf(err), "no such pool") {
			t.Errorf("cleanup: %v", err)
		}
	})
	cfg := storage.Config{Backend: "zfs", Dataset: name + "/ditto", MountBase: filepath.Join(dir, "zfs"),
		Image: filepath.Join(dir, "pool.img"), ImageSize: 256 << 20, GID: os.Getgid()}
	for i := 0; i < 2; i++ {
		s, err := storage.Open(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		if s.Backend() != "zfs" || s.Root() != cfg.MountBase {
			t.Errorf("Open = %s store at %s, want zfs at %s", s.Backend(), s.Root(), cfg.MountBase)
		}
	}
	if got := zfsCmd(t, "zpool", "list", "-H", "-o", "health", name); got != "ONLINE" {
		t.Errorf("health %q", got)
	}
}

func TestCreateFilePool(t *testing.T) {
	testPool(t)
	ctx := context.Background()
	name := "dittofile" + randomID(t)
	file := filepath.Join(t.TempDir(), "pool", name+".img")
	if err := CreateFilePool(ctx, name, file, 256<<20); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = run(context.Background(), "zpool", "destroy", "-f", name) })
	if err := CreateFilePool(ctx, name, file, 256<<20); err != nil {
		t.Fatalf("second CreateFilePool: %v", err)
	}
	zfsCmd(t, "zpool", "export", name)
	if err := CreateFilePool(ctx, name, file, 256<<20); err != nil {
		t.Fatalf("CreateFilePool on an exported pool: %v", err)
	}
	if got := zfsCmd(t, "zpool", "list", "-H", "-o", "health", name); got != "ONLINE" {
		t.Errorf("health %q", got)
	}
	if got := zfsCmd(t, "zfs", "get", "-H", "-o", "value", "compression", name); got != "lz4" {
		t.Errorf("compression %q", got)
	}
	var out bytes.Buffer
	cmd := exec.Command("zpool", "status", name)
	cmd.Stdout = &out
	_ = cmd.Run()
	if !strings.Contains(out.String(), file) {
		t.Errorf("pool not on %s:\n%s", file, out.String())
	}
}
