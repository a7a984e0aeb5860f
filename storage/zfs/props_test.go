package zfs

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"testing"

	gozfs "github.com/mistifyio/go-zfs/v3"

	"github.com/dittodb/ditto/storage"
)

// Unit tests for the pure logic; they run everywhere. The tests that need
// a real pool are in zfs_test.go.

func TestParseGetAndVolumes(t *testing.T) {
	out := "" +
		"tank/d\tditto:role\t-\t-\n" +
		"tank/d\tmountpoint\tnone\tlocal\n" +
		"tank/d/golden\tditto:role\t-\t-\n" +
		"tank/d/golden\tmountpoint\tnone\tlocal\n" +
		"tank/d/golden/g2\tditto:role\tgolden\tlocal\n" +
		"tank/d/golden/g2\tditto:name\tg2\tlocal\n" +
		"tank/d/golden/g2\tditto:origin\t-\t-\n" +
		"tank/d/golden/g2\tmountpoint\t/h/zfs/golden/g2\tlocal\n" +
		"tank/d/golden/g1\tditto:role\tgolden\tlocal\n" +
		"tank/d/golden/g1\tditto:name\tg1\tlocal\n" +
		"tank/d/golden/g1\tmountpoint\t/h/zfs/golden/g1\tlocal\n" +
		// A half-frozen golden: renamed, still labelled building.
		"tank/d/golden/g3\tditto:role\tbuilding\tlocal\n" +
		"tank/d/golden/g3\tditto:name\tg3\tlocal\n" +
		"tank/d/golden/g3\tmountpoint\t/h/zfs/golden/g3\tlocal\n" +
		"tank/d/copies/c1\tditto:role\tcopy\tlocal\n" +
		"tank/d/copies/c1\tditto:name\tc1\tlocal\n" +
		"tank/d/copies/c1\tditto:origin\tg1\tlocal\n" +
		"tank/d/copies/c1\tmountpoint\t/h/zfs/copies/c1\tlocal\n" +
		// Inherited from c1: not a volume of its own.
		"tank/d/copies/c1/sub\tditto:role\tcopy\tinherited from tank/d/copies/c1\n" +
		"tank/d/copies/c1/sub\tmountpoint\t/h/zfs/copies/c1/sub\tinherited from tank/d/copies/c1\n" +
		// Roles that only contain a valid role are not ditto's.
		"tank/d/copies/x\tditto:role\tcopy2\tlocal\n" +
		"tank/d/copies/y\tditto:role\tCopy\tlocal\n" +
		"tank/d/copies/z\tditto:role\t copy\tlocal\n" +
		// Legacy mountpoint: no path.
		"tank/d/copies/c0\tditto:role\tcopy\tlocal\n" +
		"tank/d/copies/c0\tmountpoint\tlegacy\tlocal\n"
	order, all, err := parseGet([]byte(out))
	if err != nil {
		t.Fatal(err)
	}
	if len(order) != 11 {
		t.Fatalf("got %d datasets, want 11: %v", len(order), order)
	}
	got := volumesOf(order, all)
	want := []storage.Volume{
		{Kind: storage.KindGolden, Name: "g1", Path: "/h/zfs/golden/g1"},
		{Kind: storage.KindGolden, Name: "g2", Path: "/h/zfs/golden/g2"},
		{Kind: storage.KindBuilding, Name: "g3", Path: "/h/zfs/golden/g3"},
		{Kind: storage.KindCopy, Name: "c0"},
		{Kind: storage.KindCopy, Name: "c1", Path: "/h/zfs/copies/c1", Origin: "g1"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("volumes:\n got %+v\nwant %+v", got, want)
	}
}

func TestParseGetRejectsGarbage(t *testing.T) {
	if _, _, err := parseGet([]byte("tank/d ditto:role copy local\n")); err == nil {
		t.Fatal("want an error for a line without tabs")
	}
	order, _, err := parseGet(nil)
	if err != nil || len(order) != 0 {
		t.Fatalf("empty output: %v %v", order, err)
	}
}

func TestNames(t *testing.T) {
	for _, ok := range []string{"g1", "20260101-120000-ab12", "copy_1.a:b-c", "A"} {
		if err := checkName("copy", ok); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
	for _, bad := range []string{"", "-x", ".x", "a/b", "a@b", "a b", "a%b", "a\tb", string(make([]byte, 129))} {
		if err := checkName("copy", bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	for _, ok := range []string{"tank", "tank/ditto", "tank/a/b-c"} {
		if err := checkParent(ok); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
	for _, bad := range []string{"", "/tank", "tank/", "tank//x", "tank@s", "tank/a b"} {
		if err := checkParent(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestDatasetLayout(t *testing.T) {
	s := &Store{parent: "tank/ditto", mountBase: "/var/lib/ditto/zfs"}
	cases := []struct {
		k        storage.Kind
		ds, path string
	}{
		{storage.KindBuilding, "tank/ditto/building/g1", "/var/lib/ditto/zfs/building/g1"},
		{storage.KindGolden, "tank/ditto/golden/g1", "/var/lib/ditto/zfs/golden/g1"},
		{storage.KindCopy, "tank/ditto/copies/g1", "/var/lib/ditto/zfs/copies/g1"},
	}
	for _, c := range cases {
		if got := s.dataset(c.k, "g1"); got != c.ds {
			t.Errorf("dataset(%s) = %s, want %s", c.k, got, c.ds)
		}
		if got := s.mountpoint(c.k, "g1"); got != c.path {
			t.Errorf("mountpoint(%s) = %s, want %s", c.k, got, c.path)
		}
	}
}

func TestFailClassifies(t *testing.T) {
	gz := func(stderr string) error {
		return &gozfs.Error{Err: errors.New("exit status 1"), Debug: "zfs x", Stderr: stderr}
	}
	cases := []struct {
		err  error
		want error
	}{
		{gz("cannot open 'tank/x': dataset does not exist\n"), storage.ErrNotFound},
		{gz("cannot destroy 'tank/g': filesystem has dependent clones\nuse '-R' to destroy the following datasets:"), storage.ErrHasClones},
		{gz("cannot create 'tank/x': out of space\n"), storage.ErrNoSpace},
		{gz("cannot open 'nopool': no such pool\n"), ErrPoolMissing},
		{gz("The ZFS modules are not loaded.\nTry running '/sbin/modprobe zfs' as root to load them.\n"), ErrModuleNotLoaded},
		{gz("cannot unmount '/x': pool or dataset is busy\n"), ErrBusy},
		{&cmdError{args: []string{"zfs"}, err: fmt.Errorf("exec: %w", exec.ErrNotFound)}, ErrToolsMissing},
		{&cmdError{args: []string{"zfs", "get"}, stderr: "cannot open 'a/b': dataset does not exist", err: errors.New("exit status 1")}, storage.ErrNotFound},
	}
	for _, c := range cases {
		got := fail("doing", "thing", c.err)
		if !errors.Is(got, c.want) {
			t.Errorf("fail(%v) = %v, want it to wrap %v", c.err, got, c.want)
		}
	}
	if !isNotExist(gz("cannot open 'x': dataset does not exist")) || isNotExist(gz("out of space")) {
		t.Error("isNotExist")
	}
	if !isExist(gz("cannot create 'x': dataset already exists")) || isExist(gz("dataset does not exist")) {
		t.Error("isExist")
	}
	if fail("x", "y", nil) != nil {
		t.Error("fail(nil) != nil")
	}
}

func TestCheckToolsMissing(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	err := Check("tank")
	if !errors.Is(err, ErrToolsMissing) {
		t.Fatalf("Check with no zfs in PATH = %v, want ErrToolsMissing", err)
	}
	if _, err := Open("tank/ditto", t.TempDir(), 0); !errors.Is(err, ErrToolsMissing) {
		t.Fatalf("Open with no zfs in PATH = %v, want ErrToolsMissing", err)
	}
}

func TestCheckModuleNotLoaded(t *testing.T) {
	// Fake zfs and zpool commands so that only the module check can fail.
	bin := t.TempDir()
	for _, tool := range []string{"zfs", "zpool"} {
		if err := os.WriteFile(filepath.Join(bin, tool), []byte("#!/bin/sh\nexit 1\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("PATH", bin)
	old := devZFS
	devZFS = filepath.Join(t.TempDir(), "zfs")
	t.Cleanup(func() { devZFS = old })
	if err := Check("tank"); !errors.Is(err, ErrModuleNotLoaded) {
		t.Fatalf("Check without /dev/zfs = %v, want ErrModuleNotLoaded", err)
	}
}

func TestOpenValidates(t *testing.T) {
	if _, err := Open("", "/x", 0); err == nil {
		t.Error("empty dataset accepted")
	}
	if _, err := Open("tank/ditto", "relative", 0); err == nil {
		t.Error("relative mount base accepted")
	}
}

func TestEnsureDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", "zfs")
	gid := os.Getegid()
	if err := ensureDir(dir, gid, false); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o710 {
		t.Fatalf("mode %v, want 0710", st.Mode().Perm())
	}
	// An existing folder keeps its mode unless forced.
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := ensureDir(dir, gid, false); err != nil {
		t.Fatal(err)
	}
	if st, _ := os.Stat(dir); st.Mode().Perm() != 0o755 {
		t.Fatalf("existing folder changed to %v", st.Mode().Perm())
	}
	if err := ensureDir(dir, gid, true); err != nil {
		t.Fatal(err)
	}
	if st, _ := os.Stat(dir); st.Mode().Perm() != 0o710 {
		t.Fatalf("forced: mode %v, want 0710", st.Mode().Perm())
	}
	if err := ensureDir(filepath.Join(dir, "f", "g"), gid, false); err != nil && !errors.Is(err, fs.ErrPermission) {
		t.Fatal(err)
	}
}
