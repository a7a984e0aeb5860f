// Package zfs is ditto's OpenZFS backend: a golden generation is a dataset,
// a frozen golden is its read-only snapshot @golden, and a copy is a
// `zfs clone` of that snapshot. ditto's metadata lives in ZFS user
// properties (ditto:role, ditto:name, ditto:origin) on the datasets, so
// `zfs get -r ditto:role POOL/PATH` explains everything after a crash.
//
// Layout under the parent dataset POOL/PATH, and where each is mounted:
//
//	POOL/PATH/building/GEN   MOUNTBASE/building/GEN   being restored by reseed
//	POOL/PATH/golden/GEN     MOUNTBASE/golden/GEN     read-only, with @golden
//	POOL/PATH/copies/ID      MOUNTBASE/copies/ID      clone of golden/GEN@golden
//
// Every volume gets recordsize=8k (PostgreSQL's page size, so a page update
// in a copy rewrites one 8 KiB record instead of a 128 KiB one),
// compression=lz4 and atime=off. The zfs commands are run through
// github.com/mistifyio/go-zfs/v3, and `zfs get` for user properties
// directly; never through a shell.
package zfs

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	gozfs "github.com/mistifyio/go-zfs/v3"

	"github.com/dittodb/ditto/storage"
)

// devZFS is the control device that exists once the zfs module is loaded.
var devZFS = "/dev/zfs"

// volumeProps are set on every building (and so golden) dataset and clone.
var volumeProps = map[string]string{
	"recordsize":  "8k",
	"compression": "lz4",
	"atime":       "off",
}

// Store is a ZFS pool (or a dataset in one) holding ditto's volumes.
type Store struct {
	parent    string // POOL/PATH
	pool      string
	mountBase string
	gid       int
}

var (
	_ storage.Storage = (*Store)(nil)
	_ storage.Quota   = (*Store)(nil)
)

// Open checks that ZFS is usable, creates the parent dataset POOL/PATH if
// missing (compression=lz4, atime=off, not mounted itself), and the folders
// under mountBase where the volumes are mounted (mode 0710, group gid, so
// the postgres OS user can traverse them but nobody else can list them).
func Open(parent, mountBase string, gid int) (*Store, error) {
	if err := checkParent(parent); err != nil {
		return nil, err
	}
	if !filepath.IsAbs(mountBase) {
		return nil, fmt.Errorf("zfs mount base %q must be an absolute path", mountBase)
	}
	s := &Store{
		parent:    parent,
		pool:      strings.SplitN(parent, "/", 2)[0],
		mountBase: filepath.Clean(mountBase),
		gid:       gid,
	}
	if err := Check(s.pool); err != nil {
		return nil, err
	}
	if err := s.ensureParent(); err != nil {
		return nil, err
	}
	if err := ensureDir(s.mountBase, gid, false); err != nil {
		return nil, err
	}
	for _, c := range containers {
		if err := s.ensureContainer(c); err != nil {
			return nil, err
		}
		if err := ensureDir(filepath.Join(s.mountBase, c), gid, true); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// Check reports whether ZFS can be used with pool: tools installed, module
// loaded, pool imported and ONLINE.
func Check(pool string) error {
	for _, tool := range []string{"zfs", "zpool"} {
		if _, err := exec.LookPath(tool); err != nil {
			return fmt.Errorf("%w: %s not found in PATH: %s", ErrToolsMissing, tool, installHint)
		}
	}
	if _, err := os.Stat(devZFS); err != nil {
		return fmt.Errorf("%w (%s missing): run `modprobe zfs`; if that fails, %s", ErrModuleNotLoaded, devZFS, installHint)
	}
	z, err := gozfs.GetZpool(pool)
	if err != nil {
		return fail("opening pool", strconv.Quote(pool), err)
	}
	if z.Health != gozfs.ZpoolOnline {
		return fmt.Errorf("%w: pool %q is %s: see `zpool status -x %s`, repair it (zpool replace/clear) and retry",
			ErrPoolUnhealthy, pool, z.Health, pool)
	}
	return nil
}

// Backend implements storage.Storage.
func (s *Store) Backend() string { return "zfs" }

// Root implements storage.Storage: the mount base.
func (s *Store) Root() string { return s.mountBase }

// Parent returns the parent dataset POOL/PATH.
func (s *Store) Parent() string { return s.parent }

// SetCopyQuota implements storage.Quota with the copy's refquota, which
// counts what the copy references, the golden's data it shares included.
func (s *Store) SetCopyQuota(ctx context.Context, copyID string, bytes int64) error {
	if err := checkName("copy", copyID); err != nil {
		return err
	}
	if bytes < 0 {
		return fmt.Errorf("setting the quota of copy %q: %d bytes is negative: give a size, or 0 for no limit", copyID, bytes)
	}
	what := fmt.Sprintf("copy %q", copyID)
	ds, _, err := s.find(ctx, storage.KindCopy, copyID)
	if err != nil {
		return fail("setting the quota of", what, err)
	}
	if ds == "" {
		return fmt.Errorf("setting the quota of %s: %w: check the name with `ditto copy list`", what, storage.ErrNotFound)
	}
	q := "none"
	if bytes > 0 {
		q = strconv.FormatInt(bytes, 10)
	}
	if _, err := run(ctx, "zfs", "set", "refquota="+q, ds); err != nil {
		return fail("setting the quota of", what, err)
	}
	return nil
}

func (s *Store) dataset(k storage.Kind, name string) string {
	return s.parent + "/" + containers[k] + "/" + name
}

func (s *Store) mountpoint(k storage.Kind, name string) string {
	return filepath.Join(s.mountBase, containers[k], name)
}

// CreateBuilding implements storage.Storage. The returned folder is the
// dataset's root, owned by root with group gid and mode 0710.
func (s *Store) CreateBuilding(ctx context.Context, gen string) (string, error) {
	if err := checkName("generation", gen); err != nil {
		return "", err
	}
	if err := ctx.Err(); err != nil {
		return "", err
	}
	ds, mp := s.dataset(storage.KindBuilding, gen), s.mountpoint(storage.KindBuilding, gen)
	props := map[string]string{
		"mountpoint": mp,
		propRole:     string(storage.KindBuilding),
		propName:     gen,
	}
	for k, v := range volumeProps {
		props[k] = v
	}
	what := fmt.Sprintf("building golden %q", gen)
	if _, err := gozfs.CreateFilesystem(ds, props); err != nil {
		if isExist(err) {
			return "", s.existsError(ctx, "creating", what, ds, storage.KindBuilding, gen)
		}
		return "", fail("creating", what, err)
	}
	if err := chownRoot(mp, s.gid); err != nil {
		_ = s.destroy(ds, mp)
		return "", fmt.Errorf("creating %s: %w", what, err)
	}
	return mp, nil
}

// Freeze implements storage.Storage: the building dataset is renamed to
// golden/GEN, mounted at MOUNTBASE/golden/GEN, snapshotted as @golden
// (a snapshot is consistent: it includes every write that completed) and
// made read-only. ditto:role becomes golden last, so a Freeze interrupted by
// a crash leaves a building that gc removes or Freeze completes on retry.
func (s *Store) Freeze(ctx context.Context, gen string) (string, error) {
	if err := checkName("generation", gen); err != nil {
		return "", err
	}
	what := fmt.Sprintf("golden %q", gen)
	target, mp := s.dataset(storage.KindGolden, gen), s.mountpoint(storage.KindGolden, gen)
	ds, props, err := s.find(ctx, storage.KindBuilding, gen)
	if err != nil {
		return "", fail("freezing", what, err)
	}
	if ds == "" {
		// Already frozen (a repeated call)?
		if d, p, err := s.find(ctx, storage.KindGolden, gen); err == nil && d != "" {
			return p["mountpoint"].value, nil
		}
		return "", fmt.Errorf("freezing %s: %w: no building volume %s (run `ditto reseed`)", what, storage.ErrNotFound, s.dataset(storage.KindBuilding, gen))
	}
	oldMP := props["mountpoint"].value
	d := &gozfs.Dataset{Name: ds, Type: gozfs.DatasetFilesystem}
	if ds != target {
		if _, err := d.Rename(target, false, false); err != nil {
			if isExist(err) {
				return "", s.existsError(ctx, "freezing", what, target, storage.KindGolden, gen)
			}
			return "", fail("freezing", what, err)
		}
		d.Name = target
	}
	steps := []func() error{
		func() error {
			if oldMP == mp {
				return nil
			}
			return d.SetProperty("mountpoint", mp)
		},
		func() error {
			_, err := d.Snapshot(snapshotName, false)
			if isExist(err) {
				return nil
			}
			return err
		},
		func() error { return d.SetProperty("readonly", "on") },
		func() error { return d.SetProperty(propRole, string(storage.KindGolden)) },
	}
	for _, step := range steps {
		if err := ctx.Err(); err != nil {
			return "", err
		}
		if err := step(); err != nil {
			return "", fail("freezing", what, err)
		}
	}
	if oldMP != mp {
		removeMountDir(oldMP)
	}
	return mp, nil
}

// Clone implements storage.Storage with one `zfs clone` of golden/GEN@golden
// that sets the mountpoint and ditto's properties at once.
func (s *Store) Clone(ctx context.Context, gen, copyID string) (string, error) {
	if err := checkName("generation", gen); err != nil {
		return "", err
	}
	if err := checkName("copy", copyID); err != nil {
		return "", err
	}
	if err := ctx.Err(); err != nil {
		return "", err
	}
	what := fmt.Sprintf("copy %q of golden %q", copyID, gen)
	golden := s.dataset(storage.KindGolden, gen)
	_, all, err := getProps(ctx, golden, false)
	if err != nil {
		if isNotExist(err) {
			return "", fmt.Errorf("cloning %s: %w: no golden dataset %s (run `ditto reseed`)", what, storage.ErrNotFound, golden)
		}
		return "", fail("cloning", what, err)
	}
	if k, _ := all[golden].kind(); k != storage.KindGolden {
		return "", fmt.Errorf("cloning %s: %w: %s is not a frozen golden (ditto:role=%q)", what, storage.ErrNotFound, golden, all[golden][propRole].value)
	}
	ds, mp := s.dataset(storage.KindCopy, copyID), s.mountpoint(storage.KindCopy, copyID)
	props := map[string]string{
		"mountpoint": mp,
		propRole:     string(storage.KindCopy),
		propName:     copyID,
		propOrigin:   gen,
	}
	for k, v := range volumeProps {
		props[k] = v
	}
	// Not go-zfs's Dataset.Clone: it always passes -p, with which `zfs
	// clone` silently succeeds when the target already exists.
	args := []string{"clone"}
	for _, k := range sortedKeys(props) {
		args = append(args, "-o", k+"="+props[k])
	}
	args = append(args, golden+"@"+snapshotName, ds)
	if _, err := run(ctx, "zfs", args...); err != nil {
		if isExist(err) {
			return "", s.existsError(ctx, "cloning", what, ds, storage.KindCopy, copyID)
		}
		return "", fail("cloning", what, err)
	}
	return mp, nil
}

// Destroy implements storage.Storage. A golden whose snapshot still has
// clones is kept and the error wraps storage.ErrHasClones; a dataset that
// is not ditto's is never destroyed (ErrNotDitto).
func (s *Store) Destroy(ctx context.Context, kind storage.Kind, name string) error {
	if _, ok := containers[kind]; !ok {
		return fmt.Errorf("destroying %q: unknown volume kind %q", name, kind)
	}
	if err := checkName(string(kind), name); err != nil {
		return err
	}
	what := fmt.Sprintf("%s %q", kind, name)
	ds, props, err := s.find(ctx, kind, name)
	if err != nil {
		return fail("destroying", what, err)
	}
	if ds == "" {
		return nil
	}
	if kind == storage.KindGolden {
		snap := &gozfs.Dataset{Name: ds + "@" + snapshotName, Type: gozfs.DatasetSnapshot}
		clones, err := snap.GetProperty("clones")
		if err != nil && !isNotExist(err) {
			return fail("destroying", what, err)
		}
		if clones = strings.TrimSpace(clones); clones != "" && clones != "-" {
			return fmt.Errorf("destroying %s: %w: %s is still cloned by %s; it is kept until they are destroyed, then `ditto gc` removes it",
				what, storage.ErrHasClones, snap.Name, clones)
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := s.destroy(ds, props["mountpoint"].value); err != nil {
		if isNotExist(err) {
			return nil
		}
		return fail("destroying", what, err)
	}
	return nil
}

// destroy destroys dataset ds with its snapshots (never dependent clones)
// and removes its empty mount folder.
func (s *Store) destroy(ds, mp string) error {
	d := &gozfs.Dataset{Name: ds, Type: gozfs.DatasetFilesystem}
	if err := d.Destroy(gozfs.DestroyRecursive); err != nil {
		return err
	}
	removeMountDir(mp)
	return nil
}

// find returns the dataset that holds volume kind/name, with its properties,
// or "" when there is none. It looks at the expected dataset first, then at
// every dataset under the parent, so that a volume a crash left half-way
// (renamed but not yet re-labelled by Freeze) is still found.
func (s *Store) find(ctx context.Context, kind storage.Kind, name string) (string, dsProps, error) {
	want := s.dataset(kind, name)
	_, all, err := getProps(ctx, want, false)
	switch {
	case err == nil:
		if v, ok := all[want].volume(want); ok && v.Kind == kind && v.Name == name {
			return want, all[want], nil
		}
		if _, ok := all[want].kind(); !ok {
			return "", nil, fmt.Errorf("%w: %s has no ditto:role property; ditto leaves it alone (rename or destroy it yourself)", ErrNotDitto, want)
		}
	case !isNotExist(err):
		return "", nil, err
	}
	order, all, err := getProps(ctx, s.parent, true)
	if err != nil {
		return "", nil, err
	}
	for _, ds := range order {
		if v, ok := all[ds].volume(ds); ok && v.Kind == kind && v.Name == name {
			return ds, all[ds], nil
		}
	}
	return "", nil, nil
}

// existsError explains why dataset ds could not be created: it is already
// this volume (fs.ErrExist) or it is not ditto's (ErrNotDitto).
func (s *Store) existsError(ctx context.Context, op, what, ds string, kind storage.Kind, name string) error {
	_, all, err := getProps(ctx, ds, false)
	if err == nil {
		if v, ok := all[ds].volume(ds); ok && v.Kind == kind && v.Name == name {
			return fmt.Errorf("%s %s: %w: %s already exists: destroy it first or choose another name", op, what, fs.ErrExist, ds)
		}
		if _, ok := all[ds].kind(); !ok {
			return fmt.Errorf("%s %s: %w: %s has no ditto:role property; ditto leaves it alone (rename or destroy it yourself)", op, what, ErrNotDitto, ds)
		}
	}
	return fmt.Errorf("%s %s: %w: %s already exists", op, what, fs.ErrExist, ds)
}

// List implements storage.Storage: every file system under the parent whose
// own ditto:role is exactly building, golden or copy.
func (s *Store) List(ctx context.Context) ([]storage.Volume, error) {
	order, all, err := getProps(ctx, s.parent, true)
	if err != nil {
		return nil, fail("listing", "volumes in "+s.parent, err)
	}
	return volumesOf(order, all), nil
}

// Usage implements storage.Storage: Used is what the pool holds, Free what
// can still be written under the parent (quotas and ZFS's reserve taken into
// account), Size the pool's usable size.
func (s *Store) Usage(ctx context.Context) (storage.Usage, error) {
	if err := ctx.Err(); err != nil {
		return storage.Usage{}, err
	}
	root, err := gozfs.GetDataset(s.pool)
	if err != nil {
		return storage.Usage{}, fail("reading usage of", "pool "+strconv.Quote(s.pool), err)
	}
	parent, err := gozfs.GetDataset(s.parent)
	if err != nil {
		return storage.Usage{}, fail("reading usage of", strconv.Quote(s.parent), err)
	}
	return storage.Usage{Size: root.Used + root.Avail, Used: root.Used, Free: parent.Avail}, nil
}

// Reclaim implements storage.Storage. It does not wait: a destroyed
// dataset's space shows in the pool's "freeing" property until ZFS has
// released it, which ditto does not wait for yet (zpool wait -t free would).
func (s *Store) Reclaim(ctx context.Context) error { return ctx.Err() }

// ensureParent creates the parent dataset (and any missing ancestors) if
// missing. An existing one must be a file system.
func (s *Store) ensureParent() error {
	parts := strings.Split(s.parent, "/")
	for i := 2; i <= len(parts); i++ {
		name := strings.Join(parts[:i], "/")
		d, err := gozfs.GetDataset(name)
		if err == nil {
			if d.Type != gozfs.DatasetFilesystem {
				return fmt.Errorf("%w: %s is a %s, not a file system: choose another --dataset", ErrNotDitto, name, d.Type)
			}
			continue
		}
		if !isNotExist(err) {
			return fail("opening", strconv.Quote(name), err)
		}
		props := map[string]string{"compression": "lz4", "atime": "off"}
		if i == len(parts) {
			props["mountpoint"] = "none"
		}
		if _, err := gozfs.CreateFilesystem(name, props); err != nil && !isExist(err) {
			return fail("creating", strconv.Quote(name), err)
		}
	}
	return nil
}

// ensureContainer creates POOL/PATH/c (never mounted itself) if missing.
func (s *Store) ensureContainer(c string) error {
	name := s.parent + "/" + c
	if _, err := gozfs.GetDataset(name); err == nil {
		return nil
	} else if !isNotExist(err) {
		return fail("opening", strconv.Quote(name), err)
	}
	props := map[string]string{"mountpoint": "none", "canmount": "off"}
	for k, v := range volumeProps {
		props[k] = v
	}
	if _, err := gozfs.CreateFilesystem(name, props); err != nil && !isExist(err) {
		return fail("creating", strconv.Quote(name), err)
	}
	return nil
}

// ensureDir creates dir with mode 0710, owner the caller and group gid. An
// existing folder keeps its mode unless force is set.
func ensureDir(dir string, gid int, force bool) error {
	err := os.Mkdir(dir, 0o710)
	switch {
	case err == nil:
		force = true
	case errors.Is(err, fs.ErrNotExist):
		if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
			return fmt.Errorf("creating %s: %w", dir, err)
		}
		return ensureDir(dir, gid, force)
	case !errors.Is(err, fs.ErrExist):
		return fmt.Errorf("creating %s: %w", dir, err)
	}
	if !force {
		return nil
	}
	return chownRoot(dir, gid)
}

// chownRoot gives dir to the calling user and group gid, mode 0710.
func chownRoot(dir string, gid int) error {
	if err := os.Chown(dir, os.Geteuid(), gid); err != nil {
		return fmt.Errorf("chown %s: %w (run ditto as root)", dir, err)
	}
	if err := os.Chmod(dir, 0o710); err != nil {
		return fmt.Errorf("chmod %s: %w", dir, err)
	}
	return nil
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// removeMountDir removes the empty folder ZFS left after unmounting.
func removeMountDir(mp string) {
	if path.IsAbs(mp) {
		_ = os.Remove(mp)
	}
}

// CreateFilePool creates pool name on a sparse file of size bytes (the
// default for machines with the zfs module but no spare disk), or imports
// it if the file already holds it. Nothing happens if the pool is imported.
func CreateFilePool(ctx context.Context, name, file string, size int64) error {
	if err := checkName("pool", name); err != nil {
		return err
	}
	if !filepath.IsAbs(file) {
		return fmt.Errorf("pool file %q must be an absolute path", file)
	}
	if _, err := run(ctx, "zpool", "list", "-H", "-o", "name", name); err == nil {
		return nil
	}
	if _, err := os.Stat(file); err == nil {
		if _, err := run(ctx, "zpool", "import", "-d", file, name); err != nil {
			return fail("importing", "pool "+strconv.Quote(name)+" from "+file, err)
		}
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(file), 0o700); err != nil {
		return err
	}
	f, err := os.OpenFile(file, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	if err := f.Truncate(size); err != nil {
		f.Close()
		os.Remove(file)
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if _, err := run(ctx, "zpool", "create", "-o", "ashift=12", "-O", "compression=lz4", "-O", "atime=off",
		"-O", "mountpoint=none", name, file); err != nil {
		os.Remove(file)
		return fail("creating", "pool "+strconv.Quote(name)+" on "+file, err)
	}
	return nil
}
