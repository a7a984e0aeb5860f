package zfs

import (
	"errors"
	"fmt"
	"os/exec"
	"strings"

	gozfs "github.com/mistifyio/go-zfs/v3"

	"github.com/dittodb/ditto/storage"
)

// Errors that callers can test with errors.Is, besides storage.ErrNotFound,
// storage.ErrNoSpace and storage.ErrHasClones. Each returned error wraps one
// of them and says what to do next.
var (
	// ErrToolsMissing: the zfs and zpool commands are not installed.
	ErrToolsMissing = errors.New("the zfs tools are not installed")
	// ErrModuleNotLoaded: /dev/zfs is missing, so the kernel module is not loaded.
	ErrModuleNotLoaded = errors.New("the zfs kernel module is not loaded")
	// ErrPoolMissing: the pool named by the dataset is not imported.
	ErrPoolMissing = errors.New("zfs pool not found")
	// ErrPoolUnhealthy: the pool is DEGRADED, FAULTED, SUSPENDED, ...
	ErrPoolUnhealthy = errors.New("zfs pool is not healthy")
	// ErrNotDitto: a dataset exists where ditto wants to put one, but it does
	// not carry ditto's properties, so ditto leaves it alone.
	ErrNotDitto = errors.New("dataset exists but is not ditto's")
	// ErrBusy: a dataset cannot be unmounted because files in it are open
	// (typically a postgres still running in a copy).
	ErrBusy = errors.New("dataset is busy")
)

const installHint = "on Debian enable the contrib component and run `apt-get install zfsutils-linux zfs-dkms`"

// cmdError is the error of a zfs/zpool command run by this package itself.
type cmdError struct {
	args   []string
	stderr string
	err    error
}

func (e *cmdError) Error() string {
	return fmt.Sprintf("%s: %v: %s", strings.Join(e.args, " "), e.err, strings.TrimSpace(e.stderr))
}

func (e *cmdError) Unwrap() error { return e.err }

// stderrOf returns the standard error of a failed zfs or zpool command, from
// go-zfs or from this package's own runner.
func stderrOf(err error) string {
	var ge *gozfs.Error
	if errors.As(err, &ge) {
		return ge.Stderr
	}
	var ce *cmdError
	if errors.As(err, &ce) {
		return ce.stderr
	}
	return ""
}

// fail turns err from a zfs command about what (e.g. `copy "c1"`) into an
// error that wraps the matching sentinel and tells the user what to do.
func fail(op, what string, err error) error {
	if err == nil {
		return nil
	}
	msg := stderrOf(err)
	lower := strings.ToLower(msg)
	has := func(subs ...string) bool {
		for _, s := range subs {
			if strings.Contains(lower, s) {
				return true
			}
		}
		return false
	}
	switch {
	case errors.Is(err, exec.ErrNotFound):
		return fmt.Errorf("%s %s: %w: %s: %w", op, what, ErrToolsMissing, installHint, err)
	case has("/dev/zfs", "failed to initialize the libzfs library", "modules are not loaded"):
		return fmt.Errorf("%s %s: %w: run `modprobe zfs` (%s): %w", op, what, ErrModuleNotLoaded, installHint, err)
	case has("no such pool"):
		return fmt.Errorf("%s %s: %w: `zpool list` shows the imported pools, `zpool import` the others: %w", op, what, ErrPoolMissing, err)
	case has("dependent clones"):
		return fmt.Errorf("%s %s: %w: destroy its copies first (`ditto copy list`); `ditto gc` removes it once they are gone: %w",
			op, what, storage.ErrHasClones, err)
	case has("out of space", "no space left", "quota exceeded"):
		return fmt.Errorf("%s %s: %w: destroy copies (`ditto copy list`, `ditto copy destroy ID`), run `ditto gc`, or add space to the pool: %w",
			op, what, storage.ErrNoSpace, err)
	case has("dataset does not exist", "could not find any snapshots"):
		return fmt.Errorf("%s %s: %w: check the name with `ditto copy list`, or run `ditto reseed` for a new golden: %w",
			op, what, storage.ErrNotFound, err)
	case has("is busy"):
		return fmt.Errorf("%s %s: %w: a process still has files open in it (is its postgres still running? see `fuser -vm MOUNTPOINT`): %w",
			op, what, ErrBusy, err)
	case has("permission denied", "must be root", "insufficient privileges"):
		return fmt.Errorf("%s %s: run ditto as root (sudo): %w", op, what, err)
	}
	return fmt.Errorf("%s %s: %w", op, what, err)
}

// isNotExist reports whether err says that a dataset does not exist.
func isNotExist(err error) bool {
	return strings.Contains(strings.ToLower(stderrOf(err)), "dataset does not exist")
}

// isExist reports whether err says that a dataset already exists.
func isExist(err error) bool {
	return strings.Contains(strings.ToLower(stderrOf(err)), "already exists")
}
