package ditto

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/dittodb/ditto/internal/proc"
	"github.com/dittodb/ditto/internal/state"
	"github.com/dittodb/ditto/postgres"
	"github.com/dittodb/ditto/storage"
)

// fakeStore is a storage backend made of plain folders: a clone is a copy
// of the golden's few files. It holds to the storage.Storage contract that
// the Manager relies on (storagetest checks the real backends).
type fakeStore struct {
	root     string
	free     uint64
	cloneErr error
}

func (s *fakeStore) dir(k storage.Kind, name string) string {
	return filepath.Join(s.root, string(k), name)
}

func (s *fakeStore) Backend() string { return "fake" }
func (s *fakeStore) Root() string    { return s.root }

func (s *fakeStore) CreateBuilding(_ context.Context, gen string) (string, error) {
	d := s.dir(storage.KindBuilding, gen)
	if err := os.Mkdir(d, 0o700); err != nil {
		return "", err
	}
	return d, nil
}

func (s *fakeStore) Freeze(_ context.Context, gen string) (string, error) {
	g := s.dir(storage.KindGolden, gen)
	return g, os.Rename(s.dir(storage.KindBuilding, gen), g)
}

func (s *fakeStore) Clone(_ context.Context, gen, id string) (string, error) {
	if s.cloneErr != nil {
		return "", s.cloneErr
	}
	src, dst := s.dir(storage.KindGolden, gen), s.dir(storage.KindCopy, id)
	if _, err := os.Stat(src); err != nil {
		return "", fmt.Errorf("golden %s: %w", gen, storage.ErrNotFound)
	}
	if err := os.Mkdir(dst, 0o700); err != nil {
		return "", err
	}
	return dst, os.CopyFS(dst, os.DirFS(src))
}

func (s *fakeStore) Destroy(_ context.Context, k storage.Kind, name string) error {
	return os.RemoveAll(s.dir(k, name))
}

func (s *fakeStore) List(context.Context) ([]storage.Volume, error) {
	var vols []storage.Volume
	for _, k := range []storage.Kind{storage.KindBuilding, storage.KindGolden, storage.KindCopy} {
		entries, err := os.ReadDir(filepath.Join(s.root, string(k)))
		if err != nil {
			return nil, err
		}
		for _, e := range entries {
			vols = append(vols, storage.Volume{Kind: k, Name: e.Name(), Path: s.dir(k, e.Name())})
		}
	}
	return vols, nil
}

func (s *fakeStore) Usage(context.Context) (storage.Usage, error) {
	return storage.Usage{Size: 100 << 30, Used: 100<<30 - s.free, Free: s.free}, nil
}

func (s *fakeStore) Reclaim(context.Context) error { return nil }

// fakeServers stands a sleeping process in for each server: a real process
// that lives, can be found and dies like a postmaster, without PostgreSQL.
type fakeServers struct {
	mu       sync.Mutex
	byDir    map[string]proc.Ref
	readyErr error
	// handovers counts Handover calls; handoverErr makes them fail
	handovers   int
	handoverErr error
}

func (f *fakeServers) Start(_ context.Context, o postgres.ServerOptions) (*postgres.Server, error) {
	cmd := exec.Command("sleep", "300")
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	go cmd.Wait() // reaped as soon as it dies, so it is gone when killed
	ref, err := proc.Lookup(cmd.Process.Pid)
	if err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.byDir[filepath.Clean(o.DataDir)] = ref
	return &postgres.Server{Proc: ref, Port: o.Port, SocketDir: o.SocketDir, DataDir: o.DataDir}, nil
}

func (f *fakeServers) Ready(context.Context, *postgres.Server, string, string, string) (time.Duration, error) {
	return time.Millisecond, f.readyErr
}

func (f *fakeServers) Handover(context.Context, *Copy, string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.handovers++
	return f.handoverErr
}

func (f *fakeServers) Quit(ctx context.Context, ref proc.Ref) error { return f.Kill(ctx, ref) }

func (f *fakeServers) Kill(_ context.Context, ref proc.Ref) error {
	if p, err := os.FindProcess(ref.PID); err == nil && ref.Alive() {
		p.Kill()
	}
	for deadline := time.Now().Add(5 * time.Second); ref.Alive(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			return errors.New("fake server did not die")
		}
	}
	return nil
}

func (f *fakeServers) Running(root string) map[string]proc.Ref {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[string]proc.Ref{}
	for dir, ref := range f.byDir {
		if ref.Alive() && strings.HasPrefix(dir+"/", filepath.Clean(root)+"/") {
			out[dir] = ref
		}
	}
	return out
}

// killAll ends every fake server at the end of a test.
func (f *fakeServers) killAll() {
	f.mu.Lock()
	refs := make([]proc.Ref, 0, len(f.byDir))
	for _, r := range f.byDir {
		refs = append(refs, r)
	}
	f.mu.Unlock()
	for _, r := range refs {
		f.Kill(context.Background(), r)
	}
}

// testManager is a Manager on a fresh home with a fake pool and fake
// servers, holding one current golden, "g1".
func testManager(t *testing.T) (*Manager, *fakeStore, *fakeServers) {
	t.Helper()
	dir := t.TempDir()
	store := &fakeStore{root: filepath.Join(dir, "pool"), free: 50 << 30}
	for _, k := range []storage.Kind{storage.KindBuilding, storage.KindGolden, storage.KindCopy} {
		if err := os.MkdirAll(filepath.Join(store.root, string(k)), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	pg := &fakeServers{byDir: map[string]proc.Ref{}}
	t.Cleanup(pg.killAll)
	cfg := DefaultConfig()
	cfg.PortMin, cfg.PortMax = 40100, 40120
	me := postgres.OSUser{Name: "me", UID: os.Getuid(), GID: os.Getgid()}
	m := newManager(NewHome(filepath.Join(dir, "home")), cfg, hclog.NewNullLogger(), me)
	m.store, m.pg = store, pg
	if err := m.prepareHome(); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "bin")
	os.Mkdir(bin, 0o700)
	os.WriteFile(filepath.Join(bin, "postgres"), nil, 0o700) // Golden.Bin looks for it
	b, _ := store.CreateBuilding(context.Background(), "g1")
	os.Mkdir(filepath.Join(b, pgDataDir), 0o700)
	g := Golden{Generation: "g1", Database: "app", PGBinDir: bin, PGMajor: 15}
	if err := state.WriteJSON(filepath.Join(b, goldenMetaFile), g, false); err != nil {
		t.Fatal(err)
	}
	if _, err := store.Freeze(context.Background(), "g1"); err != nil {
		t.Fatal(err)
	}
	if err := m.switchCurrent("g1"); err != nil {
		t.Fatal(err)
	}
	return m, store, pg
}

// volumeExists reports whether the fake pool holds copy id's volume.
func (s *fakeStore) volumeExists(id string) bool {
	_, err := os.Stat(s.dir(storage.KindCopy, id))
	return !errors.Is(err, fs.ErrNotExist)
}
