// Package storagetest is the conformance suite of storage.Storage: every
// backend runs it from its own tests, on a real filesystem, so that the
// domain can rely on one contract whatever the backend.
package storagetest

import (
	"context"
	"crypto/rand"
	"errors"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/dittodb/ditto/storage"
)

// Names in the forms ditto gives: generations and copy IDs.
const (
	gen1, gen2, gen3 = "20260101-120000-ab12", "20260102-120000-cd34", "20260103-120000-ef56"
	copy1, copy2     = "1a2b3c4d", "5e6f7a8b"
)

// gid is the group the suite opens stores with, standing for the PostgreSQL
// user's group; the tests run as root, which may chown to any group.
const gid = 4242

// Open returns a fresh, empty store whose folders get group gid. It is
// called once per subtest, from parallel subtests at once, and must clean
// up after the test, also when the test fails.
type Open func(t *testing.T, gid int) storage.Storage

// Run tests the storage.Storage contract on stores made by open. The
// subtests run in parallel, each on its own store, but for Usage, which
// runs first and alone: other writes and frees in the same pool would move
// its numbers.
func Run(t *testing.T, open Open) {
	for _, c := range []struct {
		name string
		test func(*testing.T, storage.Storage)
	}{
		{"Usage", testUsage},
		{"Freeze", testFreeze},
		{"CloneIsolation", testCloneIsolation},
		{"List", testList},
		{"Destroy", testDestroy},
		{"NotFound", testNotFound},
		{"Exists", testExists},
		{"BadNames", testBadNames},
		{"Canceled", testCanceled},
		{"Reclaim", testReclaim},
		{"Parallel", testParallel},
		{"Quota", testQuota},
	} {
		t.Run(c.name, func(t *testing.T) {
			if c.name != "Usage" {
				t.Parallel()
			}
			s := open(t, gid)
			if s.Backend() == "" || !filepath.IsAbs(s.Root()) {
				t.Fatalf("Backend() = %q, Root() = %q; want a name and an absolute path", s.Backend(), s.Root())
			}
			c.test(t, s)
		})
	}
}

// testFreeze: a building volume is writable and private (mode 0710, group
// gid); Freeze makes it a read-only golden with the same files, removes the
// building volume, and may be repeated.
func testFreeze(t *testing.T, s storage.Storage) {
	ctx := t.Context()
	b := mustCreate(t, s, gen1)
	within(t, s, b)
	checkMode(t, b)
	write(t, filepath.Join(b, "pgdata", "PG_VERSION"), "17")
	write(t, filepath.Join(b, "pgdata", "base", "1", "1259"), "catalog")
	wantList(t, s, storage.Volume{Kind: storage.KindBuilding, Name: gen1, Path: b})

	g, err := s.Freeze(ctx, gen1)
	if err != nil {
		t.Fatalf("Freeze: %v", err)
	}
	within(t, s, g)
	if _, err := os.Stat(b); b != g && !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("building volume %s still there after Freeze: %v", b, err)
	}
	checkMode(t, g)
	checkFiles(t, map[string]string{
		filepath.Join(g, "pgdata", "PG_VERSION"):        "17",
		filepath.Join(g, "pgdata", "base", "1", "1259"): "catalog",
	})
	if err := os.WriteFile(filepath.Join(g, "pgdata", "PG_VERSION"), []byte("x"), 0o600); !errors.Is(err, syscall.EROFS) {
		t.Errorf("overwriting a file of the golden: %v, want EROFS", err)
	}
	if err := os.WriteFile(filepath.Join(g, "new"), nil, 0o600); !errors.Is(err, syscall.EROFS) {
		t.Errorf("creating a file in the golden: %v, want EROFS", err)
	}
	if again, err := s.Freeze(ctx, gen1); err != nil || again != g {
		t.Errorf("repeated Freeze = %q, %v; want %q, nil", again, err, g)
	}
	wantList(t, s, storage.Volume{Kind: storage.KindGolden, Name: gen1, Path: g})
}

// testCloneIsolation: copies start as the golden and then change apart from
// it and from each other.
func testCloneIsolation(t *testing.T, s storage.Storage) {
	g := golden(t, s, gen1)
	c1, c2 := mustClone(t, s, gen1, copy1), mustClone(t, s, gen1, copy2)
	for _, c := range []string{c1, c2} {
		within(t, s, c)
		checkMode(t, c)
	}
	if c1 == c2 || c1 == g {
		t.Fatalf("paths not distinct: golden %s, copies %s and %s", g, c1, c2)
	}
	write(t, filepath.Join(c1, "pgdata", "PG_VERSION"), "c1")
	write(t, filepath.Join(c1, "pgdata", "only-c1"), "c1")
	if err := os.Remove(filepath.Join(c2, "pgdata", "base", "1", "1259")); err != nil {
		t.Fatal(err)
	}
	checkFiles(t, map[string]string{
		filepath.Join(g, "pgdata", "PG_VERSION"):         "17",
		filepath.Join(g, "pgdata", "only-c1"):            missing,
		filepath.Join(g, "pgdata", "base", "1", "1259"):  "catalog",
		filepath.Join(c1, "pgdata", "PG_VERSION"):        "c1",
		filepath.Join(c1, "pgdata", "base", "1", "1259"): "catalog",
		filepath.Join(c2, "pgdata", "PG_VERSION"):        "17",
		filepath.Join(c2, "pgdata", "only-c1"):           missing,
		filepath.Join(c2, "pgdata", "base", "1", "1259"): missing,
	})
	c3 := mustClone(t, s, gen1, "9c0d1e2f")
	checkFiles(t, map[string]string{
		filepath.Join(c3, "pgdata", "PG_VERSION"):        "17",
		filepath.Join(c3, "pgdata", "only-c1"):           missing,
		filepath.Join(c3, "pgdata", "base", "1", "1259"): "catalog",
	})
}

// testList: every volume with its kind, name, the path its method returned,
// and for a copy the golden it was cloned from.
func testList(t *testing.T, s storage.Storage) {
	g1, g2 := golden(t, s, gen1), golden(t, s, gen2)
	b3 := mustCreate(t, s, gen3)
	c1, c2 := mustClone(t, s, gen1, copy1), mustClone(t, s, gen2, copy2)
	wantList(t, s,
		storage.Volume{Kind: storage.KindBuilding, Name: gen3, Path: b3},
		storage.Volume{Kind: storage.KindGolden, Name: gen1, Path: g1},
		storage.Volume{Kind: storage.KindGolden, Name: gen2, Path: g2},
		storage.Volume{Kind: storage.KindCopy, Name: copy1, Path: c1, Origin: gen1},
		storage.Volume{Kind: storage.KindCopy, Name: copy2, Path: c2, Origin: gen2},
	)
}

// testDestroy: Destroy removes a volume and its files, is idempotent, and
// treats a missing volume as done. A golden that still has copies is either
// destroyed while its copies live on, or kept with ErrHasClones (gc retries
// it later); in both cases the copies keep their files.
func testDestroy(t *testing.T, s storage.Storage) {
	ctx := t.Context()
	g := golden(t, s, gen1)
	c1, c2 := mustClone(t, s, gen1, copy1), mustClone(t, s, gen1, copy2)
	b := mustCreate(t, s, gen2)

	err := s.Destroy(ctx, storage.KindGolden, gen1)
	switch {
	case err == nil:
		// The copies live on; whether they still name their origin is up
		// to the backend.
		gone(t, g)
		if p := listed(t, s, storage.KindGolden, gen1); p != "" {
			t.Errorf("List shows the destroyed golden at %s", p)
		}
		if listed(t, s, storage.KindCopy, copy1) != c1 || listed(t, s, storage.KindCopy, copy2) != c2 {
			t.Errorf("List lost the copies of the destroyed golden")
		}
	case errors.Is(err, storage.ErrHasClones):
		t.Logf("a golden with copies is kept: %v", err)
		checkFiles(t, map[string]string{filepath.Join(g, "pgdata", "PG_VERSION"): "17"})
	default:
		t.Fatalf("Destroy of a golden with copies = %v, want nil or ErrHasClones", err)
	}
	for _, c := range []string{c1, c2} {
		checkFiles(t, map[string]string{filepath.Join(c, "pgdata", "PG_VERSION"): "17"})
	}

	for _, v := range []struct {
		kind storage.Kind
		name string
		path string
	}{
		{storage.KindCopy, copy1, c1}, {storage.KindCopy, copy2, c2},
		{storage.KindGolden, gen1, g}, {storage.KindBuilding, gen2, b},
	} {
		if err := s.Destroy(ctx, v.kind, v.name); err != nil {
			t.Fatalf("Destroy(%s %s): %v", v.kind, v.name, err)
		}
		gone(t, v.path)
		if err := s.Destroy(ctx, v.kind, v.name); err != nil {
			t.Errorf("repeated Destroy(%s %s): %v", v.kind, v.name, err)
		}
	}
	wantList(t, s)
	for _, k := range []storage.Kind{storage.KindBuilding, storage.KindGolden, storage.KindCopy} {
		if err := s.Destroy(ctx, k, "0f0f0f0f"); err != nil {
			t.Errorf("Destroy of a missing %s = %v, want nil", k, err)
		}
	}
	if err := s.Destroy(ctx, "snapshot", copy1); err == nil {
		t.Error("Destroy of an unknown kind succeeded")
	}
}

// testNotFound: what does not exist, or is not a golden yet, is
// storage.ErrNotFound.
func testNotFound(t *testing.T, s storage.Storage) {
	ctx := t.Context()
	if _, err := s.Clone(ctx, gen1, copy1); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("Clone of a missing golden = %v, want ErrNotFound", err)
	}
	if _, err := s.Freeze(ctx, gen1); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("Freeze of a missing building volume = %v, want ErrNotFound", err)
	}
	b := mustCreate(t, s, gen1)
	if _, err := s.Clone(ctx, gen1, copy1); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("Clone of a building volume = %v, want ErrNotFound", err)
	}
	wantList(t, s, storage.Volume{Kind: storage.KindBuilding, Name: gen1, Path: b})
}

// testExists: a name in use is fs.ErrExist, and the volume holding it is
// left as it was.
func testExists(t *testing.T, s storage.Storage) {
	ctx := t.Context()
	g := golden(t, s, gen1)
	c := mustClone(t, s, gen1, copy1)
	write(t, filepath.Join(c, "pgdata", "PG_VERSION"), "mine")
	if _, err := s.Clone(ctx, gen1, copy1); !errors.Is(err, fs.ErrExist) {
		t.Errorf("second Clone of the same copy = %v, want fs.ErrExist", err)
	}
	b := mustCreate(t, s, gen2)
	write(t, filepath.Join(b, "restoring"), "mine")
	if _, err := s.CreateBuilding(ctx, gen2); !errors.Is(err, fs.ErrExist) {
		t.Errorf("second CreateBuilding of the same generation = %v, want fs.ErrExist", err)
	}
	// A new building volume of a frozen generation cannot replace its golden.
	mustCreate(t, s, gen1)
	if _, err := s.Freeze(ctx, gen1); !errors.Is(err, fs.ErrExist) {
		t.Errorf("Freeze over an existing golden = %v, want fs.ErrExist", err)
	}
	checkFiles(t, map[string]string{
		filepath.Join(c, "pgdata", "PG_VERSION"): "mine",
		filepath.Join(b, "restoring"):            "mine",
		filepath.Join(g, "pgdata", "PG_VERSION"): "17",
	})
}

// testBadNames: names that could point outside the store, or that no
// filesystem takes, are refused by every method, and nothing is made.
func testBadNames(t *testing.T, s storage.Storage) {
	ctx := t.Context()
	g := golden(t, s, gen1)
	bad := []string{"", ".", "..", "../golden/" + gen1, "a/b", "/abs", "nul\x00", strings.Repeat("x", 256)}
	for _, name := range bad {
		if _, err := s.CreateBuilding(ctx, name); err == nil {
			t.Errorf("CreateBuilding(%q) succeeded", name)
		}
		if _, err := s.Freeze(ctx, name); err == nil {
			t.Errorf("Freeze(%q) succeeded", name)
		}
		if _, err := s.Clone(ctx, gen1, name); err == nil {
			t.Errorf("Clone(%s, %q) succeeded", gen1, name)
		}
		if _, err := s.Clone(ctx, name, copy1); err == nil {
			t.Errorf("Clone(%q, %s) succeeded", name, copy1)
		}
		for _, k := range []storage.Kind{storage.KindBuilding, storage.KindGolden, storage.KindCopy} {
			if err := s.Destroy(ctx, k, name); err == nil {
				t.Errorf("Destroy(%s, %q) succeeded", k, name)
			}
		}
	}
	wantList(t, s, storage.Volume{Kind: storage.KindGolden, Name: gen1, Path: g})
}

// testCanceled: a canceled context stops a call before it makes anything.
func testCanceled(t *testing.T, s storage.Storage) {
	g := golden(t, s, gen1)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := s.CreateBuilding(ctx, gen2); !errors.Is(err, context.Canceled) {
		t.Errorf("CreateBuilding with a canceled context = %v, want context.Canceled", err)
	}
	if _, err := s.Clone(ctx, gen1, copy1); !errors.Is(err, context.Canceled) {
		t.Errorf("Clone with a canceled context = %v, want context.Canceled", err)
	}
	if err := s.Reclaim(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Reclaim with a canceled context = %v, want context.Canceled", err)
	}
	wantList(t, s, storage.Volume{Kind: storage.KindGolden, Name: gen1, Path: g})
}

// testUsage: the numbers are consistent, and data written shows in them.
func testUsage(t *testing.T, s storage.Storage) {
	ctx := t.Context()
	before := usage(t, s)
	b := mustCreate(t, s, gen1)
	const size = 16 << 20
	writeRandom(t, filepath.Join(b, "random"), size)
	if _, err := s.Freeze(ctx, gen1); err != nil { // flushes to disk
		t.Fatal(err)
	}
	after := usage(t, s)
	t.Logf("usage before %+v, after writing %d MiB %+v", before, size>>20, after)
	// Some slack: metadata, and space the filesystem frees meanwhile.
	if after.Used < before.Used+size*3/4 || after.Free+size*3/4 > before.Free {
		t.Errorf("usage after writing %d MiB = %+v, before %+v", size>>20, after, before)
	}
}

func usage(t *testing.T, s storage.Storage) storage.Usage {
	t.Helper()
	u, err := s.Usage(t.Context())
	if err != nil {
		t.Fatalf("Usage: %v", err)
	}
	if u.Size == 0 || u.Free == 0 || u.Used > u.Size || u.Free > u.Size {
		t.Fatalf("Usage = %+v, want 0 < Free <= Size, Used <= Size", u)
	}
	return u
}

// testReclaim: Reclaim returns once destroyed volumes are released.
func testReclaim(t *testing.T, s storage.Storage) {
	golden(t, s, gen1)
	c := mustClone(t, s, gen1, copy1)
	writeRandom(t, filepath.Join(c, "random"), 4<<20)
	for _, v := range []struct {
		kind storage.Kind
		name string
	}{{storage.KindCopy, copy1}, {storage.KindGolden, gen1}} {
		if err := s.Destroy(t.Context(), v.kind, v.name); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	if err := s.Reclaim(ctx); err != nil {
		t.Errorf("Reclaim: %v", err)
	}
}

// testParallel: several clones of one golden made, written and destroyed at
// once, as by several ditto processes, each getting its own files.
func testParallel(t *testing.T, s storage.Storage) {
	g := golden(t, s, gen1)
	ids := []string{"00000001", "00000002", "00000003", "00000004", "00000005", "00000006"}
	paths := make([]string, len(ids))
	each(t, ids, func(i int, id string) error {
		p, err := s.Clone(t.Context(), gen1, id)
		if err == nil {
			paths[i] = p
			err = os.WriteFile(filepath.Join(p, "id"), []byte(id), 0o600)
		}
		return err
	})
	if t.Failed() {
		t.FailNow()
	}
	vols, err := s.List(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(vols) != len(ids)+1 {
		t.Errorf("List = %+v, want the golden and %d copies", vols, len(ids))
	}
	for i, id := range ids {
		checkFiles(t, map[string]string{filepath.Join(paths[i], "id"): id})
	}
	each(t, ids, func(_ int, id string) error { return s.Destroy(t.Context(), storage.KindCopy, id) })
	wantList(t, s, storage.Volume{Kind: storage.KindGolden, Name: gen1, Path: g})
}

// testQuota: the error contract of the optional storage.Quota. How a
// quota stops writes is each backend's own test, as filling a copy takes
// long in an emulated VM.
func testQuota(t *testing.T, s storage.Storage) {
	q, ok := s.(storage.Quota)
	if !ok {
		t.Skipf("the %s backend has no copy quota", s.Backend())
	}
	ctx := t.Context()
	golden(t, s, gen1)
	mustClone(t, s, gen1, copy1)
	if err := q.SetCopyQuota(ctx, copy2, 64<<20); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("SetCopyQuota of a missing copy = %v, want ErrNotFound", err)
	}
	for _, name := range []string{"", "..", "a/b"} {
		if err := q.SetCopyQuota(ctx, name, 64<<20); err == nil {
			t.Errorf("SetCopyQuota(%q) succeeded", name)
		}
	}
	if err := q.SetCopyQuota(ctx, copy1, -1); err == nil {
		t.Error("SetCopyQuota of -1 bytes succeeded")
	}
	for _, bytes := range []int64{64 << 20, 128 << 20, 0} {
		if err := q.SetCopyQuota(ctx, copy1, bytes); err != nil {
			t.Errorf("SetCopyQuota(%d): %v", bytes, err)
		}
	}
}

// each runs f for every id at once and reports the errors.
func each(t *testing.T, ids []string, f func(int, string) error) {
	var wg sync.WaitGroup
	errs := make([]error, len(ids))
	for i, id := range ids {
		wg.Go(func() { errs[i] = f(i, id) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("%s: %v", ids[i], err)
		}
	}
}

func mustCreate(t *testing.T, s storage.Storage, gen string) string {
	t.Helper()
	p, err := s.CreateBuilding(t.Context(), gen)
	if err != nil {
		t.Fatalf("CreateBuilding(%s): %v", gen, err)
	}
	return p
}

func mustClone(t *testing.T, s storage.Storage, gen, id string) string {
	t.Helper()
	p, err := s.Clone(t.Context(), gen, id)
	if err != nil {
		t.Fatalf("Clone(%s, %s): %v", gen, id, err)
	}
	return p
}

// golden makes golden gen holding pgdata/PG_VERSION "17" and
// pgdata/base/1/1259 "catalog", and returns its path.
func golden(t *testing.T, s storage.Storage, gen string) string {
	t.Helper()
	b := mustCreate(t, s, gen)
	write(t, filepath.Join(b, "pgdata", "PG_VERSION"), "17")
	write(t, filepath.Join(b, "pgdata", "base", "1", "1259"), "catalog")
	g, err := s.Freeze(t.Context(), gen)
	if err != nil {
		t.Fatalf("Freeze(%s): %v", gen, err)
	}
	return g
}

// wantList checks that List returns exactly want, in any order.
func wantList(t *testing.T, s storage.Storage, want ...storage.Volume) {
	t.Helper()
	got, err := s.List(t.Context())
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	key := func(a, b storage.Volume) int { return strings.Compare(a.Name, b.Name) }
	slices.SortFunc(got, key)
	slices.SortFunc(want, key)
	if !slices.Equal(got, want) {
		t.Errorf("List =\n%+v\nwant\n%+v", got, want)
	}
}

// listed returns the path List gives for volume kind/name, or "".
func listed(t *testing.T, s storage.Storage, kind storage.Kind, name string) string {
	t.Helper()
	vols, err := s.List(t.Context())
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	for _, v := range vols {
		if v.Kind == kind && v.Name == name {
			return v.Path
		}
	}
	return ""
}

// within checks that a volume's path lies under the store's Root.
func within(t *testing.T, s storage.Storage, path string) {
	t.Helper()
	if rel, err := filepath.Rel(s.Root(), path); err != nil || rel == "." || !filepath.IsLocal(rel) {
		t.Errorf("volume path %s is not below Root() %s", path, s.Root())
	}
}

// checkMode checks that a volume's root folder has mode 0710 and group gid,
// so that PostgreSQL can reach its data directory and nobody else can list
// the volume.
func checkMode(t *testing.T, path string) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	st := fi.Sys().(*syscall.Stat_t)
	if fi.Mode()&fs.ModePerm != 0o710 || st.Gid != gid {
		t.Errorf("%s: mode %v group %d, want 0710 group %d", path, fi.Mode()&fs.ModePerm, st.Gid, gid)
	}
}

func gone(t *testing.T, path string) {
	t.Helper()
	if _, err := os.Stat(path); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("%s still there after Destroy: %v", path, err)
	}
}

func write(t *testing.T, path, data string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
}

// WriteRandom writes size bytes (rounded up to whole MiB) that no
// compression shrinks to path and syncs them: one random MiB repeated, since
// making random bytes is slow in an emulated VM and no backend deduplicates.
func WriteRandom(path string, size int) error {
	block := make([]byte, 1<<20)
	rand.Read(block)
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	for n := 0; n < size; n += len(block) {
		if _, err := f.Write(block); err != nil {
			return err
		}
	}
	if err := f.Sync(); err != nil {
		return err
	}
	return f.Close()
}

func writeRandom(t *testing.T, path string, size int) {
	t.Helper()
	if err := WriteRandom(path, size); err != nil {
		t.Fatal(err)
	}
}

const missing = "<missing>"

// checkFiles checks the content of each file; missing means no such file.
func checkFiles(t *testing.T, want map[string]string) {
	t.Helper()
	for _, path := range slices.Sorted(maps.Keys(want)) {
		got := missing
		b, err := os.ReadFile(path)
		switch {
		case err == nil:
			got = string(b)
		case !errors.Is(err, fs.ErrNotExist):
			t.Errorf("read %s: %v", path, err)
			continue
		}
		if got != want[path] {
			t.Errorf("%s = %q, want %q", path, got, want[path])
		}
	}
}
