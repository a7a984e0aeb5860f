package btrfs_test

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	cbtrfs "github.com/containerd/btrfs/v2"
	"golang.org/x/sys/unix"

	"github.com/dittodb/ditto/internal/testbtrfs"
	"github.com/dittodb/ditto/storage"
	"github.com/dittodb/ditto/storage/btrfs"
	"github.com/dittodb/ditto/storage/storagetest"
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

func TestConformance(t *testing.T) {
	storagetest.Run(t, func(t *testing.T, gid int) storage.Storage {
		s, err := storage.Open(ctx, storage.Config{Backend: "btrfs", Path: filepath.Join(testbtrfs.New(t), "pool"), GID: gid})
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
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
}

// A plain folder where a volume would be is not ditto's: Destroy refuses
// it and List leaves it out.
func TestDestroyRefusesPlainFolder(t *testing.T) {
	s := frozen(t)
	c, err := s.Clone(ctx, "g1", "c1")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(filepath.Dir(c), "plain"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := s.Destroy(ctx, storage.KindCopy, "plain"); err == nil || !strings.Contains(err.Error(), "not a Btrfs subvolume") {
		t.Errorf("Destroy of a plain folder = %v, want a refusal", err)
	}
	if vols, _ := s.List(ctx); len(vols) != 2 {
		t.Errorf("List = %v, want golden g1 and copy c1 only", vols)
	}
}

// The numbers come from statfs in the right units: a fresh pool's size is
// at most its image's, and most of it is free.
func TestUsageOfFreshPool(t *testing.T) {
	u, err := open(t).Usage(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if u.Size > testbtrfs.DefaultSize || u.Used+u.Free > u.Size || u.Free < u.Size/2 {
		t.Fatalf("Usage of a fresh %d-byte pool = %+v", testbtrfs.DefaultSize, u)
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
