package btrfs

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"testing"

	"github.com/containerd/btrfs/v2"

	"github.com/dittodb/ditto/internal/testbtrfs"
	"github.com/dittodb/ditto/storage"
)

func TestUnescape(t *testing.T) {
	for in, want := range map[string]string{
		`/mnt/a\040b`:    "/mnt/a b",
		`/x\011\012\134`: "/x\t\n\\",
		`/plain`:         "/plain",
		`/bad\04`:        `/bad\04`,
		`/bad\9xx`:       `/bad\9xx`,
	} {
		if got := unescape(in); got != want {
			t.Errorf("unescape(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestWithin(t *testing.T) {
	for _, c := range []struct {
		path, dir string
		want      bool
	}{
		{"/mnt/a", "/mnt/a", true}, {"/mnt/a/b", "/mnt/a", true}, {"/mnt/ab", "/mnt/a", false},
		{"/mnt", "/mnt/a", false}, {"/x", "/", true}, {"/..x", "/", true},
	} {
		if got := within(c.path, c.dir); got != c.want {
			t.Errorf("within(%q, %q) = %v", c.path, c.dir, got)
		}
	}
}

func TestValidateName(t *testing.T) {
	for _, ok := range []string{"g1", "20260101-1200", "a..b", "-x"} {
		if err := ValidateName(ok); err != nil {
			t.Errorf("ValidateName(%q) = %v", ok, err)
		}
	}
	for _, bad := range []string{"", ".", "..", "a/b", "../x", "/", "a\x00"} {
		if err := ValidateName(bad); err == nil {
			t.Errorf("ValidateName(%q) = nil", bad)
		}
	}
}

func TestFail(t *testing.T) {
	for _, c := range []struct {
		err  error
		want error
	}{
		{syscall.ENOSPC, storage.ErrNoSpace},
		{&os.PathError{Op: "open", Path: "/p", Err: syscall.ENOENT}, storage.ErrNotFound},
		{syscall.EEXIST, fs.ErrExist},
		{syscall.EPERM, syscall.EPERM},
	} {
		err := fail("clone", `copy "c1"`, c.err)
		if !errors.Is(err, c.want) || !errors.Is(err, c.err) {
			t.Errorf("fail(%v) = %v, want it to wrap %v", c.err, err, c.want)
		}
	}
}

func TestIsBtrfsImage(t *testing.T) {
	dir := t.TempDir()
	if ok, err := isBtrfsImage(filepath.Join(dir, "missing")); ok || err != nil {
		t.Errorf("missing image: %v, %v", ok, err)
	}
	small := filepath.Join(dir, "small")
	if err := os.WriteFile(small, []byte("tiny"), 0o600); err != nil {
		t.Fatal(err)
	}
	if ok, err := isBtrfsImage(small); ok || err != nil {
		t.Errorf("small file: %v, %v", ok, err)
	}
}

func TestClearReadOnly(t *testing.T) {
	mnt := testbtrfs.New(t)
	src, snap := filepath.Join(mnt, "src"), filepath.Join(mnt, "snap")
	if err := btrfs.SubvolCreate(src); err != nil {
		t.Fatal(err)
	}
	if err := btrfs.SubvolSnapshot(snap, src, true); err != nil {
		t.Fatal(err)
	}
	if v, err := subvolInfo(snap); err != nil || !v.ReadOnly {
		t.Fatalf("snapshot: %+v, %v; want read-only", v, err)
	}
	if err := clearReadOnly(snap); err != nil {
		t.Fatal(err)
	}
	if v, err := subvolInfo(snap); err != nil || v.ReadOnly {
		t.Errorf("after clearReadOnly: %+v, %v", v, err)
	}
	if err := os.WriteFile(filepath.Join(snap, "f"), nil, 0o600); err != nil {
		t.Errorf("write after clearReadOnly: %v", err)
	}
	if err := destroy(snap); err != nil {
		t.Error(err)
	}
}

func TestDeviceErrors(t *testing.T) {
	out := "[/dev/loop0].write_io_errs    0\n[/dev/loop0].read_io_errs     3\n" +
		"[/dev/loop0].flush_io_errs    0\n[/dev/loop1].corruption_errs  1\n[/dev/loop0].generation_errs  0\n" +
		"ERROR: errors on device\n"
	want := []string{"[/dev/loop0].read_io_errs 3", "[/dev/loop1].corruption_errs 1"}
	if got := deviceErrors(out); !slices.Equal(got, want) {
		t.Errorf("deviceErrors = %q, want %q", got, want)
	}
	if got := deviceErrors("[/dev/loop0].write_io_errs 0\n"); len(got) != 0 {
		t.Errorf("deviceErrors without errors = %q", got)
	}
}
