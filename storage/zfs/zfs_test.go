package zfs

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/dittodb/ditto/storage"
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
func newStore(t *testing.T) (*Store, string) {
	t.Helper()
	pool := testPool(t)
	parent := pool + "/ditto-test-" + randomID(t)
	base := filepath.Join(t.TempDir(), "zfs")
	s, err := Open(parent, base, os.Getgid())
	if err != nil {
		t.Fatalf("Open(%s): %v", parent, err)
	}
	t.Cleanup(func() {
		if _, err := run(context.Background(), "zfs", "destroy", "-r", "-R", "-f", parent); err != nil {
			t.Errorf("cleanup: %v", err)
		}
	})
	return s, base
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

// writeRandomErr writes mib MiB of incompressible data to path, then syncs
// it. (Syncing every MiB makes writes near a quota wait for a transaction
// group each: 85 s instead of ~15 s under TCG emulation.) Under TCG emulation generating random bytes is slow, so one
// random MiB is written repeatedly (ZFS does not dedup by default).
func writeRandomErr(path string, mib int) error {
	block := make([]byte, 1<<20)
	if _, err := rand.Read(block); err != nil {
		return err
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	for i := 1; i <= mib; i++ {
		if _, err := f.Write(block); err != nil {
			return err
		}
	}
	if err := f.Sync(); err != nil {
		return err
	}
	return f.Close()
}

func writeRandom(t *testing.T, path string, mib int) {
	t.Helper()
	if err := writeRandomErr(path, mib); err != nil {
		t.Fatal(err)
	}
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

func TestCreateFreezeCloneIsolation(t *testing.T) {
	s, base := newStore(t)
	ctx := context.Background()

	b, err := s.CreateBuilding(ctx, "g1")
	if err != nil {
		t.Fatal(err)
	}
	if b != filepath.Join(base, "building", "g1") {
		t.Errorf("building path %s", b)
	}
	st, err := os.Stat(b)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o710 {
		t.Errorf("building root mode %v, want 0710", st.Mode().Perm())
	}
	props := zfsCmd(t, "zfs", "get", "-H", "-o", "value", "recordsize,compression,atime,ditto:role,ditto:name", s.Parent()+"/building/g1")
	if props != "8192\nlz4\noff\nbuilding\ng1" && props != "8K\nlz4\noff\nbuilding\ng1" {
		t.Errorf("building properties = %q", props)
	}
	writeFile(t, filepath.Join(b, "file"), "golden")

	g, err := s.Freeze(ctx, "g1")
	if err != nil {
		t.Fatal(err)
	}
	if g != filepath.Join(base, "golden", "g1") {
		t.Errorf("golden path %s", g)
	}
	if _, err := os.Stat(b); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("building mount folder still there: %v", err)
	}
	if got := readFile(t, filepath.Join(g, "file")); got != "golden" {
		t.Fatalf("golden file = %q", got)
	}
	if err := os.WriteFile(filepath.Join(g, "new"), nil, 0o644); !errors.Is(err, syscall.EROFS) {
		t.Errorf("writing into the golden: %v, want EROFS", err)
	}
	if got := zfsCmd(t, "zfs", "list", "-H", "-o", "name", "-t", "snapshot", s.Parent()+"/golden/g1@golden"); got != s.Parent()+"/golden/g1@golden" {
		t.Errorf("snapshot: %q", got)
	}
	// Freeze again returns the same golden.
	if g2, err := s.Freeze(ctx, "g1"); err != nil || g2 != g {
		t.Errorf("second Freeze = %q, %v", g2, err)
	}

	start := time.Now()
	c1, err := s.Clone(ctx, "g1", "c1")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("Clone took %v", time.Since(start).Round(time.Millisecond))
	c2, err := s.Clone(ctx, "g1", "c2")
	if err != nil {
		t.Fatal(err)
	}
	if c1 != filepath.Join(base, "copies", "c1") {
		t.Errorf("copy path %s", c1)
	}
	if got := zfsCmd(t, "zfs", "get", "-H", "-o", "value", "origin,readonly,recordsize", s.Parent()+"/copies/c1"); got != s.Parent()+"/golden/g1@golden\noff\n8K" {
		t.Errorf("clone properties = %q", got)
	}
	for _, c := range []string{c1, c2} {
		if got := readFile(t, filepath.Join(c, "file")); got != "golden" {
			t.Fatalf("%s/file = %q", c, got)
		}
	}
	writeFile(t, filepath.Join(c1, "file"), "changed in c1")
	writeFile(t, filepath.Join(c1, "only-c1"), "x")
	if err := os.Remove(filepath.Join(c2, "file")); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, filepath.Join(g, "file")); got != "golden" {
		t.Errorf("golden changed: %q", got)
	}
	if got := readFile(t, filepath.Join(c1, "file")); got != "changed in c1" {
		t.Errorf("c1 = %q", got)
	}
	if _, err := os.Stat(filepath.Join(c2, "only-c1")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("c1's file visible in c2: %v", err)
	}
	if _, err := os.Stat(filepath.Join(g, "only-c1")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("c1's file visible in golden: %v", err)
	}
	if _, err := os.Stat(filepath.Join(c2, "file")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("file removed in c2 still there: %v", err)
	}
	c3, err := s.Clone(ctx, "g1", "c3")
	if err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, filepath.Join(c3, "file")); got != "golden" {
		t.Errorf("new clone sees %q", got)
	}
}

func TestCloneErrors(t *testing.T) {
	s, _ := newStore(t)
	ctx := context.Background()
	if _, err := s.Clone(ctx, "nope", "c1"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("Clone of a missing golden = %v, want ErrNotFound", err)
	}
	if _, err := s.CreateBuilding(ctx, "b1"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Clone(ctx, "b1", "c1"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("Clone of a building = %v, want ErrNotFound", err)
	}
	golden(t, s, "g1")
	if _, err := s.Clone(ctx, "g1", "c1"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Clone(ctx, "g1", "c1"); !errors.Is(err, fs.ErrExist) {
		t.Errorf("second Clone c1 = %v, want fs.ErrExist", err)
	}
	if _, err := s.CreateBuilding(ctx, "b1"); !errors.Is(err, fs.ErrExist) {
		t.Errorf("second CreateBuilding b1 = %v, want fs.ErrExist", err)
	}
	if _, err := s.Clone(ctx, "g1", "bad/name"); err == nil {
		t.Error("bad copy name accepted")
	}
	if _, err := s.Freeze(ctx, "missing"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("Freeze of a missing building = %v, want ErrNotFound", err)
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

func TestDestroy(t *testing.T) {
	s, base := newStore(t)
	ctx := context.Background()
	golden(t, s, "g1")
	c1, err := s.Clone(ctx, "g1", "c1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Clone(ctx, "g1", "c2"); err != nil {
		t.Fatal(err)
	}

	// A golden with clones is kept, and so are its clones.
	err = s.Destroy(ctx, storage.KindGolden, "g1")
	if !errors.Is(err, storage.ErrHasClones) {
		t.Fatalf("Destroy of a golden with clones = %v, want ErrHasClones", err)
	}
	t.Logf("golden with clones: %v", err)
	if got := readFile(t, filepath.Join(c1, "pgdata", "file")); got != "golden g1" {
		t.Fatalf("clone damaged: %q", got)
	}

	// A copy in use (open file, cwd) is busy, not destroyed.
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

	for _, id := range []string{"c1", "c2"} {
		if err := s.Destroy(ctx, storage.KindCopy, id); err != nil {
			t.Fatalf("Destroy copy %s: %v", id, err)
		}
	}
	if _, err := os.Stat(c1); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("copy mount folder left: %v", err)
	}
	// Missing is not an error, for every kind.
	for _, k := range []storage.Kind{storage.KindCopy, storage.KindGolden, storage.KindBuilding} {
		if err := s.Destroy(ctx, k, "missing"); err != nil {
			t.Errorf("Destroy of a missing %s: %v", k, err)
		}
	}
	if err := s.Destroy(ctx, storage.KindCopy, "c1"); err != nil {
		t.Errorf("second Destroy: %v", err)
	}
	if err := s.Destroy(ctx, storage.KindGolden, "g1"); err != nil {
		t.Fatalf("Destroy golden after its clones: %v", err)
	}
	if _, err := s.CreateBuilding(ctx, "b1"); err != nil {
		t.Fatal(err)
	}
	if err := s.Destroy(ctx, storage.KindBuilding, "b1"); err != nil {
		t.Fatal(err)
	}
	vols, err := s.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(vols) != 0 {
		t.Errorf("left after destroying everything: %+v", vols)
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

func TestUsage(t *testing.T) {
	s, _ := newStore(t)
	ctx := context.Background()
	u0, err := s.Usage(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if u0.Size == 0 || u0.Free == 0 || u0.Used == 0 || u0.Free > u0.Size {
		t.Fatalf("Usage = %+v", u0)
	}
	b, err := s.CreateBuilding(ctx, "b1")
	if err != nil {
		t.Fatal(err)
	}
	writeRandom(t, filepath.Join(b, "random"), 32)
	zfsCmd(t, "zpool", "sync", strings.SplitN(s.Parent(), "/", 2)[0])
	u1, err := s.Usage(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("usage before %+v after 32 MiB %+v", u0, u1)
	if u1.Used < u0.Used+30<<20 || u1.Free > u0.Free-30<<20 {
		t.Errorf("usage did not grow by 32 MiB: before %+v after %+v", u0, u1)
	}
}

func TestCopyQuota(t *testing.T) {
	t0 := time.Now()
	s, _ := newStore(t)
	ctx := context.Background()
	golden(t, s, "g1")
	t.Logf("store and golden took %v", time.Since(t0).Round(time.Millisecond))
	// Small: under TCG emulation, writes near a quota are slow.
	s.SetCopyQuota(4 << 20)
	c, err := s.Clone(ctx, "g1", "small")
	if err != nil {
		t.Fatal(err)
	}
	if got := zfsCmd(t, "zfs", "get", "-H", "-p", "-o", "value", "refquota", s.Parent()+"/copies/small"); got != "4194304" {
		t.Errorf("refquota = %q", got)
	}
	// Near a quota ZFS makes each transaction wait for the pool to sync; with
	// 8k records that is 128 transactions per MiB, minutes under TCG. The
	// quota is what is tested here, so use large records for this write.
	zfsCmd(t, "zfs", "set", "recordsize=1M", s.Parent()+"/copies/small")
	start := time.Now()
	werr := writeRandomErr(filepath.Join(c, "big"), 16)
	t.Logf("writing into the copy until the quota stopped it took %v", time.Since(start).Round(time.Millisecond))
	if !errors.Is(werr, syscall.EDQUOT) && !errors.Is(werr, syscall.ENOSPC) {
		t.Errorf("writing 16 MiB into a 4 MiB copy: %v, want EDQUOT", werr)
	}
	s.SetCopyQuota(0)
	if _, err := s.Clone(ctx, "g1", "unbounded"); err != nil {
		t.Fatal(err)
	}
	if got := zfsCmd(t, "zfs", "get", "-H", "-p", "-o", "value", "refquota", s.Parent()+"/copies/unbounded"); got != "0" {
		t.Errorf("refquota without a quota = %q", got)
	}
}

func TestParallelClones(t *testing.T) {
	s, _ := newStore(t)
	ctx := context.Background()
	golden(t, s, "g1")
	const n = 6
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			id := fmt.Sprintf("p%d", i)
			p, err := s.Clone(ctx, "g1", id)
			if err == nil {
				err = os.WriteFile(filepath.Join(p, "id"), []byte(id), 0o644)
			}
			errs <- err
		}(i)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	vols, err := s.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(vols) != n+1 {
		t.Fatalf("List has %d volumes, want %d", len(vols), n+1)
	}
	for _, v := range vols[1:] {
		if got := readFile(t, filepath.Join(v.Path, "id")); got != v.Name {
			t.Errorf("%s sees %q", v.Name, got)
		}
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
