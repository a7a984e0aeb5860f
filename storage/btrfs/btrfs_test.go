package btrfs_test

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	cbtrfs "github.com/containerd/btrfs/v2"
	"golang.org/x/sys/unix"

	"github.com/dittodb/ditto/internal/testbtrfs"
	"github.com/dittodb/ditto/storage"
	"github.com/dittodb/ditto/storage/btrfs"
)

// testGID stands for the PostgreSQL user's group; root may chown to any gid.
const testGID = 4242

var ctx = context.Background()

func open(t *testing.T) *btrfs.Store { return openAt(t, testbtrfs.New(t)) }

func openAt(t *testing.T, mnt string) *btrfs.Store {
	t.Helper()
	s, err := btrfs.Open(filepath.Join(mnt, "pool"), testGID)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// frozen returns a store holding golden "g1".
func frozen(t *testing.T) *btrfs.Store { return withGolden(t, open(t)) }

func withGolden(t *testing.T, s *btrfs.Store) *btrfs.Store {
	t.Helper()
	if _, err := s.CreateBuilding(ctx, "g1"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Freeze(ctx, "g1"); err != nil {
		t.Fatal(err)
	}
	return s
}

func write(t testing.TB, path, data string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
}

// read returns the file's content, or "<missing>".
func read(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return "<missing>"
	}
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// checkMode asserts the 0710, group testGID rule for folders ditto makes.
func checkMode(t *testing.T, path string) {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		t.Fatal(err)
	}
	if st.Mode&0o7777 != 0o710 || st.Gid != testGID {
		t.Errorf("%s: mode %#o group %d, want 0710 group %d", path, st.Mode&0o7777, st.Gid, testGID)
	}
}

func TestOpenRejectsNonBtrfs(t *testing.T) {
	var st unix.Statfs_t
	dir := t.TempDir()
	if err := unix.Statfs(dir, &st); err != nil || st.Type == unix.BTRFS_SUPER_MAGIC {
		t.Skipf("%s is on Btrfs (or statfs failed: %v); this test needs another filesystem", dir, err)
	}
	for _, d := range []string{dir, filepath.Join(dir, "not", "yet")} {
		want := " not Btrfs: choose a folder on a Btrfs filesystem, or run \"ditto init\" without --path to use the embedded pool image"
		if st.Type == unix.EXT4_SUPER_MAGIC {
			want = d + " is on ext4," + want // /tmp on this machine
		}
		_, err := btrfs.Open(d, -1)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Open(%s) = %v, want an error containing %q", d, err, want)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "not")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Open created folders on a rejected filesystem: %v", err)
	}
}

func TestLifecycle(t *testing.T) {
	s := open(t)
	if s.Backend() != "btrfs" {
		t.Errorf("Backend() = %q", s.Backend())
	}
	b, err := s.CreateBuilding(ctx, "g1")
	if err != nil {
		t.Fatal(err)
	}
	checkMode(t, b)
	write(t, filepath.Join(b, "pgdata", "PG_VERSION"), "17")
	write(t, filepath.Join(b, "pgdata", "base", "1", "1259"), "catalog")

	g, err := s.Freeze(ctx, "g1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(b); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("building volume still there after Freeze: %v", err)
	}
	checkMode(t, g)
	if got := read(t, filepath.Join(g, "pgdata", "PG_VERSION")); got != "17" {
		t.Errorf("golden PG_VERSION = %q", got)
	}
	err = os.WriteFile(filepath.Join(g, "pgdata", "PG_VERSION"), []byte("x"), 0o600)
	if !errors.Is(err, syscall.EROFS) {
		t.Errorf("writing into the golden: %v, want EROFS", err)
	}
	if again, err := s.Freeze(ctx, "g1"); err != nil || again != g {
		t.Errorf("repeated Freeze = %q, %v; want %q, nil", again, err, g)
	}

	c1, err := s.Clone(ctx, "g1", "c1")
	if err != nil {
		t.Fatal(err)
	}
	c2, err := s.Clone(ctx, "g1", "c2")
	if err != nil {
		t.Fatal(err)
	}
	checkMode(t, c1)
	write(t, filepath.Join(c1, "pgdata", "PG_VERSION"), "c1")
	write(t, filepath.Join(c1, "pgdata", "new"), "c1")
	write(t, filepath.Join(c2, "pgdata", "base", "1", "1259"), "c2")
	for path, want := range map[string]string{
		filepath.Join(g, "pgdata", "PG_VERSION"):         "17",
		filepath.Join(g, "pgdata", "new"):                "<missing>",
		filepath.Join(g, "pgdata", "base", "1", "1259"):  "catalog",
		filepath.Join(c2, "pgdata", "PG_VERSION"):        "17",
		filepath.Join(c2, "pgdata", "new"):               "<missing>",
		filepath.Join(c1, "pgdata", "PG_VERSION"):        "c1",
		filepath.Join(c1, "pgdata", "base", "1", "1259"): "catalog",
	} {
		if got := read(t, path); got != want {
			t.Errorf("%s = %q, want %q", path, got, want)
		}
	}

	b2, err := s.CreateBuilding(ctx, "g2")
	if err != nil {
		t.Fatal(err)
	}
	vols, err := s.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []storage.Volume{
		{Kind: storage.KindBuilding, Name: "g2", Path: b2},
		{Kind: storage.KindGolden, Name: "g1", Path: g},
		{Kind: storage.KindCopy, Name: "c1", Path: c1, Origin: "g1"},
		{Kind: storage.KindCopy, Name: "c2", Path: c2, Origin: "g1"},
	}
	if !slices.Equal(vols, want) {
		t.Errorf("List =\n%v\nwant\n%v", vols, want)
	}

	// The golden goes first: copies outlive it and lose their Origin.
	for _, v := range []storage.Volume{want[1], want[2], want[0], want[3]} {
		if err := s.Destroy(ctx, v.Kind, v.Name); err != nil {
			t.Errorf("Destroy(%s %s): %v", v.Kind, v.Name, err)
		}
		if _, err := os.Stat(v.Path); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s still there after Destroy: %v", v.Path, err)
		}
		if v.Kind == storage.KindGolden {
			if vols, _ := s.List(ctx); len(vols) != 3 || vols[1].Origin != "" {
				t.Errorf("List after destroying the golden = %v, want 3 volumes, copies without Origin", vols)
			}
		}
	}
	if vols, err := s.List(ctx); err != nil || len(vols) != 0 {
		t.Errorf("List after destroying all = %v, %v", vols, err)
	}
	if err := s.Reclaim(ctx); err != nil {
		t.Errorf("Reclaim after destroying all: %v", err)
	}
}

func TestOpenLayout(t *testing.T) {
	mnt := testbtrfs.New(t)
	pool := filepath.Join(mnt, "pool")
	for i := 0; i < 2; i++ { // twice: Open is repeatable
		if _, err := btrfs.Open(pool, testGID); err != nil {
			t.Fatal(err)
		}
	}
	for _, d := range []string{"", "building", "golden", "copies"} {
		checkMode(t, filepath.Join(pool, d))
	}
	// An empty mount point is taken over; one holding other files is not.
	if _, err := btrfs.Open(mnt, testGID); err != nil {
		t.Fatal(err)
	}
	var st unix.Stat_t
	if err := unix.Stat(mnt, &st); err != nil || st.Mode&0o777 == 0o710 {
		t.Errorf("Open changed the mode of a folder holding other files: %#o, %v", st.Mode&0o777, err)
	}
}

func TestFreezeRecovers(t *testing.T) {
	s := open(t)
	b, err := s.CreateBuilding(ctx, "g1")
	if err != nil {
		t.Fatal(err)
	}
	g := filepath.Join(filepath.Dir(filepath.Dir(b)), "golden", "g1")
	// As if ditto was killed between snapshot and delete.
	if err := cbtrfs.SubvolSnapshot(g, b, true); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Freeze(ctx, "g1"); err != nil || got != g {
		t.Fatalf("Freeze after a crash = %q, %v", got, err)
	}
	if _, err := os.Stat(b); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("building volume still there: %v", err)
	}
	// A new building volume under the same name is not that golden's origin.
	if _, err := s.CreateBuilding(ctx, "g1"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Freeze(ctx, "g1"); !errors.Is(err, fs.ErrExist) {
		t.Errorf("Freeze over an unrelated golden = %v, want fs.ErrExist", err)
	}
}

func TestErrors(t *testing.T) {
	s := frozen(t)
	if _, err := s.Freeze(ctx, "nope"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("Freeze(missing) = %v, want ErrNotFound", err)
	}
	if _, err := s.Clone(ctx, "nope", "c1"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("Clone(missing) = %v, want ErrNotFound", err)
	}
	for _, k := range []storage.Kind{storage.KindBuilding, storage.KindGolden, storage.KindCopy} {
		if err := s.Destroy(ctx, k, "nope"); err != nil {
			t.Errorf("Destroy(missing %s) = %v, want nil", k, err)
		}
	}
	if _, err := s.CreateBuilding(ctx, "g2"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateBuilding(ctx, "g2"); !errors.Is(err, fs.ErrExist) {
		t.Errorf("CreateBuilding twice = %v, want fs.ErrExist", err)
	}
	if _, err := s.Clone(ctx, "g1", "c1"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Clone(ctx, "g1", "c1"); !errors.Is(err, fs.ErrExist) {
		t.Errorf("Clone twice = %v, want fs.ErrExist", err)
	}
	if err := s.Destroy(ctx, "snapshot", "c1"); err == nil {
		t.Error("Destroy of an unknown kind succeeded")
	}
	vols, _ := s.List(ctx)
	plain := filepath.Join(filepath.Dir(vols[2].Path), "plain")
	if err := os.Mkdir(plain, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := s.Destroy(ctx, storage.KindCopy, "plain"); err == nil || !strings.Contains(err.Error(), "not a Btrfs subvolume") {
		t.Errorf("Destroy of a plain folder = %v, want a refusal", err)
	}
	if vols, _ := s.List(ctx); len(vols) != 3 {
		t.Errorf("List shows a plain folder as a volume: %v", vols)
	}
}

func TestNamesStayInsideThePool(t *testing.T) {
	s := frozen(t)
	for _, name := range []string{"", ".", "..", "../golden/g1", "a/b", "/abs", "nul\x00", strings.Repeat("x", 256)} {
		if _, err := s.CreateBuilding(ctx, name); err == nil {
			t.Errorf("CreateBuilding(%q) succeeded", name)
		}
		if _, err := s.Clone(ctx, "g1", name); err == nil {
			t.Errorf("Clone(g1, %q) succeeded", name)
		}
		if _, err := s.Clone(ctx, name, "c1"); err == nil {
			t.Errorf("Clone(%q, c1) succeeded", name)
		}
		if _, err := s.Freeze(ctx, name); err == nil {
			t.Errorf("Freeze(%q) succeeded", name)
		}
		if err := s.Destroy(ctx, storage.KindCopy, name); err == nil {
			t.Errorf("Destroy(copy, %q) succeeded", name)
		}
	}
	if vols, err := s.List(ctx); err != nil || len(vols) != 1 {
		t.Errorf("List = %v, %v; want only golden g1", vols, err)
	}
}

func TestUsage(t *testing.T) {
	s := open(t)
	u, err := s.Usage(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if u.Size == 0 || u.Size > testbtrfs.DefaultSize || u.Used+u.Free > u.Size || u.Free < u.Size/2 {
		t.Fatalf("Usage of a fresh %d-byte pool = %+v", testbtrfs.DefaultSize, u)
	}
	b, err := s.CreateBuilding(ctx, "g1")
	if err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(b, "data"), strings.Repeat("x", 20<<20))
	if _, err := s.Freeze(ctx, "g1"); err != nil { // syncs
		t.Fatal(err)
	}
	after, err := s.Usage(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if after.Free > u.Free-15<<20 || after.Used < u.Used+15<<20 {
		t.Errorf("Usage after writing 20 MiB = %+v, before %+v", after, u)
	}
}

// A copy holding a nested subvolume (made by a user, never by ditto) takes
// the slower delete path that removes nested subvolumes first.
func TestDestroyNested(t *testing.T) {
	s := frozen(t)
	c, err := s.Clone(ctx, "g1", "c1")
	if err != nil {
		t.Fatal(err)
	}
	if err := cbtrfs.SubvolCreate(filepath.Join(c, "nested")); err != nil {
		t.Fatal(err)
	}
	if err := s.Destroy(ctx, storage.KindCopy, "c1"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(c); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("copy still there: %v", err)
	}
}

// On a full pool, making volumes fails with storage.ErrNoSpace. Data fills
// up first; snapshots then run out of metadata after a thousand or so.
func TestNoSpace(t *testing.T) {
	s := withGolden(t, openAt(t, testbtrfs.NewSize(t, 128<<20))) // small: fills sooner
	c, err := s.Clone(ctx, "g1", "fill")
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(filepath.Join(c, "big"))
	if err != nil {
		t.Fatal(err)
	}
	buf := []byte(strings.Repeat("ditto", 1<<18))
	for err == nil {
		_, err = f.Write(buf)
	}
	f.Close()
	if !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("filling the pool: %v", err)
	}
	err = nil
	for i := 0; err == nil && i < 10000; i++ {
		_, err = s.Clone(ctx, "g1", fmt.Sprint("c", i))
	}
	if !errors.Is(err, storage.ErrNoSpace) || !strings.Contains(err.Error(), "ditto gc") {
		t.Errorf("Clone on a full pool = %v, want ErrNoSpace with advice", err)
	}
	if _, err := s.CreateBuilding(ctx, "g2"); !errors.Is(err, storage.ErrNoSpace) {
		t.Errorf("CreateBuilding on a full pool = %v, want ErrNoSpace", err)
	}
}
