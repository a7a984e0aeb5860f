package ditto

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"sync"
	"syscall"

	"github.com/hashicorp/go-hclog"

	"github.com/dittodb/ditto/postgres"
	"github.com/dittodb/ditto/storage"
	"github.com/dittodb/ditto/storage/btrfs"
)

// Manager runs ditto's operations on one state directory and its pool.
type Manager struct {
	Home   Home
	Config Config
	Log    hclog.Logger
	store  storage.Storage
	pgUser postgres.OSUser
	pg     servers
	work   workSet

	// ReseedObserver, when set, learns of every finished reseed attempt.
	ReseedObserver ReseedObserver
}

// workSet holds the copies that a goroutine of this process is creating,
// resetting or destroying. A record's Busy names a process, and in the
// daemon every request runs in the same one.
type workSet struct {
	mu  sync.Mutex
	ids map[string]bool
}

// take marks id as worked on; false if it is already.
func (w *workSet) take(id string) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.ids[id] {
		return false
	}
	if w.ids == nil {
		w.ids = map[string]bool{}
	}
	w.ids[id] = true
	return true
}

func (w *workSet) drop(id string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	delete(w.ids, id)
}

// ErrNoGolden is returned (as an *Error of CodeNoGolden) when a copy is
// asked for before any reseed.
var ErrNoGolden = errors.New("no golden")

var errNoGolden = &Error{Code: CodeNoGolden, kind: ErrNoGolden, Message: "no golden database yet",
	Hint: "run `ditto reseed --dump FILE` or `ditto reseed --source-url URL` first"}

// Open loads the state directory made by Init and makes its pool usable
// (re-mounting the embedded image after a reboot).
func Open(ctx context.Context, homeDir string, log hclog.Logger) (*Manager, error) {
	h := NewHome(homeDir)
	cfg, err := h.LoadConfig()
	if err != nil {
		return nil, err
	}
	return open(ctx, h, cfg, log)
}

func open(ctx context.Context, h Home, cfg Config, log hclog.Logger) (*Manager, error) {
	u, err := postgres.LookupOSUser(cfg.PGUser)
	if err != nil {
		return nil, err
	}
	m := newManager(h, cfg, log, u)
	if err := m.prepareHome(); err != nil {
		return nil, err
	}
	if m.store, err = m.openStorage(ctx); err != nil {
		return nil, err
	}
	return m, nil
}

// Inspect returns a Manager of h with settings cfg for looking only, as
// doctor does: unlike Open it creates no folder, and its pool stays closed
// until OpenPool. It fails when cfg's PostgreSQL OS user is missing.
func Inspect(h Home, cfg Config, log hclog.Logger) (*Manager, error) {
	u, err := postgres.LookupOSUser(cfg.PGUser)
	if err != nil {
		return nil, err
	}
	return newManager(h, cfg, log, u), nil
}

// CheckPool runs the backend's own check of the pool (mounted or imported,
// healthy, room for the embedded image), which changes nothing.
func (m *Manager) CheckPool(ctx context.Context) (storage.Health, error) {
	return storage.Check(ctx, m.storageConfig())
}

// OpenPool opens the pool of a Manager from Inspect. Opening mounts or
// imports an embedded pool that is not, so it changes nothing only once
// CheckPool found the pool ready.
func (m *Manager) OpenPool(ctx context.Context) (err error) {
	m.store, err = m.openStorage(ctx)
	return err
}

func newManager(h Home, cfg Config, log hclog.Logger, pgUser postgres.OSUser) *Manager {
	return &Manager{Home: h, Config: cfg, Log: log, pgUser: pgUser, pg: pgServers{}}
}

// prepareHome creates the state directory and its folders. The home itself
// is 0710 with the Postgres user's group, so that postgres can reach the data
// directories in the pool below it while nobody else can list anything;
// records, logs and temporary dumps stay 0700.
func (m *Manager) prepareHome() error {
	h := m.Home
	// Unix socket paths are limited to 107 bytes; a copy's socket is
	// <home>/run/<id>/.s.PGSQL.<port>.
	if sock := filepath.Join(h.Run(), reseedName, ".s.PGSQL.65535"); len(sock) > 107 {
		return fmt.Errorf("the state directory path %s is too long for PostgreSQL's Unix sockets (%s would be %d bytes, max 107): use a shorter --home", h.Dir, sock, len(sock))
	}
	if err := reachable(filepath.Dir(h.Dir), m.pgUser); err != nil {
		return err
	}
	dirs := []struct {
		path  string
		mode  os.FileMode
		group bool
	}{
		{h.Dir, 0o710, true},
		{h.Records(), 0o700, false},
		{h.Run(), 0o710, true},
		{h.Logs(), 0o700, false},
		{h.Tmp(), 0o700, false},
		{h.InitDB(), 0o710, true},
	}
	for _, d := range dirs {
		if err := os.MkdirAll(d.path, d.mode); err != nil {
			if errors.Is(err, fs.ErrPermission) {
				return permissionError(d.path, err)
			}
			return fmt.Errorf("creating %s: %w", d.path, err)
		}
		gid := -1
		if d.group {
			gid = m.pgUser.GID
		}
		if err := os.Chown(d.path, os.Geteuid(), gid); err != nil {
			return permissionError(d.path, err)
		}
		if err := os.Chmod(d.path, d.mode); err != nil {
			return permissionError(d.path, err)
		}
	}
	return nil
}

func (m *Manager) openStorage(ctx context.Context) (storage.Storage, error) {
	return storage.Open(ctx, m.storageConfig())
}

// storageConfig is what the backend needs of ditto's config: the embedded
// image is mounted (Btrfs) or imported (ZFS) on demand.
func (m *Manager) storageConfig() storage.Config {
	c := m.Config
	return storage.Config{
		Backend: c.Backend, Path: c.PoolPath, Dataset: c.Dataset, MountBase: m.Home.ZFSMountBase(),
		Image: c.Image, ImageSize: c.ImageSize, GID: m.pgUser.GID,
	}
}

// Init creates the state directory and pool. On a home made before, it
// re-opens the pool, applies the changeable settings given and refuses
// fixed ones that differ (see reinit). given names the settings the user
// chose explicitly, by their flag of `ditto init` (port-range, min-free,
// ...); the others take their defaults. An empty PoolPath (btrfs) or
// Dataset (zfs) means the embedded default.
func Init(ctx context.Context, homeDir string, cfg Config, given map[string]bool, log hclog.Logger) (*Manager, error) {
	abs, err := filepath.Abs(homeDir)
	if err != nil {
		return nil, err
	}
	h := NewHome(abs)
	if err := h.claimForInit(); err != nil {
		return nil, err
	}
	switch old, err := h.readConfig(); {
	case err == nil:
		return reinit(ctx, h, old, cfg, given, log)
	case !errors.Is(err, errNoPool):
		return nil, err // never make a new pool over one whose config fails
	}
	if err := checkChoices(cfg, given); err != nil {
		return nil, err
	}
	embedded := cfg.PoolPath == "" && cfg.Dataset == ""
	switch {
	case embedded && cfg.Backend == "btrfs":
		cfg.Image, cfg.PoolPath = h.PoolImage(), h.PoolMount()
	case embedded && cfg.Backend == "zfs":
		cfg.Image, cfg.Dataset = h.ZFSPoolImage(), h.zfsPoolName()+"/ditto"
	}
	if embedded && cfg.ImageSize == 0 {
		cfg.ImageSize = 20 << 30
	}
	if embedded { // checked before the image exists, so a refusal leaves none
		if err := fitMinFree(&cfg, cfg.ImageSize, given["min-free"]); err != nil {
			return nil, err
		}
	}
	if cfg.Image != "" && cfg.Backend == "btrfs" {
		log.Info("creating the embedded pool image", "image", cfg.Image, "size", HumanBytes(uint64(cfg.ImageSize)))
		if err := btrfs.CreateImage(ctx, cfg.Image, cfg.ImageSize); err != nil {
			return nil, err
		}
		if err := os.MkdirAll(cfg.PoolPath, 0o710); err != nil {
			return nil, err
		}
	}
	m, err := open(ctx, h, cfg, log)
	if err != nil {
		return nil, err
	}
	if !embedded {
		if err := m.fitMinFreeToPool(ctx, given["min-free"]); err != nil {
			return nil, err
		}
	}
	if err := h.saveConfig(m.Config); err != nil {
		return nil, err
	}
	log.Info("pool ready", "home", h.Dir, "backend", cfg.Backend, "pool", cfg.PoolPath+cfg.Dataset, "min_free", HumanBytes(uint64(m.Config.MinFree)))
	return m, nil
}

// systemDirs are folders init never makes a state directory of: it changes
// the home's owner and mode, and gc deletes files below it.
var systemDirs = map[string]bool{
	"/": true, "/bin": true, "/boot": true, "/dev": true, "/etc": true, "/home": true,
	"/lib": true, "/lib32": true, "/lib64": true, "/media": true, "/mnt": true, "/opt": true,
	"/proc": true, "/root": true, "/run": true, "/sbin": true, "/srv": true, "/sys": true,
	"/tmp": true, "/usr": true, "/usr/bin": true, "/usr/lib": true, "/usr/local": true,
	"/usr/local/bin": true, "/usr/sbin": true, "/usr/share": true, "/var": true,
	"/var/cache": true, "/var/lib": true, "/var/log": true, "/var/run": true, "/var/tmp": true,
}

// claimForInit makes h.Dir a ditto home: created if missing, refused if it
// is a system folder, a file, or a non-empty folder that is not a ditto home
// already (init would change its mode and owners, and gc delete its files).
func (h Home) claimForInit() error {
	real := h.Dir
	if r, err := filepath.EvalSymlinks(h.Dir); err == nil {
		real = r
	}
	if systemDirs[filepath.Clean(h.Dir)] || systemDirs[real] {
		return fmt.Errorf("refusing to use %s as ditto's state directory: it is a system folder; give --home a folder of its own, e.g. %s", h.Dir, DefaultHome)
	}
	info, err := os.Stat(h.Dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if err := os.MkdirAll(h.Dir, 0o710); err != nil {
			return permissionError(h.Dir, err)
		}
	case err != nil:
		return permissionError(h.Dir, err)
	case !info.IsDir():
		return fmt.Errorf("refusing to use %s as ditto's state directory: it is a file, not a folder; give --home a new or empty folder", h.Dir)
	default:
		entries, err := os.ReadDir(h.Dir)
		if err != nil {
			return permissionError(h.Dir, err)
		}
		if len(entries) > 0 && !fileExists(h.Marker()) && !fileExists(h.Config()) {
			return fmt.Errorf("refusing to use %s as ditto's state directory: it holds other files (%s, ...) and is not a ditto home; give --home a new or empty folder", h.Dir, entries[0].Name())
		}
	}
	return os.WriteFile(h.Marker(), []byte("ditto state directory: see `ditto --help`\n"), 0o644)
}

// reachable checks that the Postgres OS user can enter dir and each folder
// above it: its servers' data directories and sockets lie below the home.
func reachable(dir string, u postgres.OSUser) error {
	for d := filepath.Clean(dir); ; d = filepath.Dir(d) {
		var st syscall.Stat_t
		if err := syscall.Stat(d, &st); err != nil {
			return permissionError(d, err)
		}
		mode := st.Mode
		ok := mode&0o001 != 0 ||
			int(st.Uid) == u.UID && mode&0o100 != 0 ||
			int(st.Gid) == u.GID && mode&0o010 != 0
		if !ok {
			return invalidf("the Postgres OS user %s cannot enter %s (mode %04o), so its servers could not reach the state directory below it: choose a --home it can reach, e.g. %s, or `chmod o+x %s`",
				u.Name, d, mode&0o7777, DefaultHome, d)
		}
		if d == "/" {
			return nil
		}
	}
}

func fileExists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}

// sameChoice refuses an init that asks for another pool than the one in use.
func sameChoice(old, req Config, h Home) error {
	if req.PoolPath == "" && req.Dataset == "" && req.Backend == old.Backend {
		return nil
	}
	if req.Backend == old.Backend && req.PoolPath == old.PoolPath && req.Dataset == old.Dataset {
		return nil
	}
	return fmt.Errorf("%s is already initialised (backend %s, pool %s): to change pools, destroy the copies and remove %s first, or use another --home",
		h.Dir, old.Backend, old.PoolPath+old.Dataset, h.Config())
}

// zfsPoolName names the embedded ZFS pool: pool names are machine-wide, so
// a home other than the default one gets its own.
func (h Home) zfsPoolName() string {
	if filepath.Clean(h.Dir) == DefaultHome {
		return "ditto"
	}
	sum := sha256.Sum256([]byte(filepath.Clean(h.Dir)))
	return "ditto-" + hex.EncodeToString(sum[:4])
}

func currentUserName() string {
	if u, err := user.Current(); err == nil {
		return u.Username
	}
	return os.Getenv("USER")
}

// HumanBytes formats a byte count as 1.5 GiB.
func HumanBytes(b uint64) string { return storage.HumanBytes(b) }
