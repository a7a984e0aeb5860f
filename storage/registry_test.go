package storage_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/dittodb/ditto/storage"
)

// fake is a Storage that only knows its root.
type fake struct {
	storage.Storage
	root string
}

func (f fake) Root() string { return f.root }

// registered counts the fake backends this test binary registered, so that
// each test registers names of its own and runs again under -count.
var registered atomic.Int32

// fresh returns name made unique for this registration.
func fresh(name string) string { return fmt.Sprintf("%s-%d", name, registered.Add(1)) }

func TestOpenUnknownBackend(t *testing.T) {
	known := fresh("test-known")
	storage.Register(known, storage.Backend{Open: func(context.Context, storage.Config) (storage.Storage, error) {
		return nil, errors.New("unused")
	}})
	for _, name := range []string{"", "nope", "BTRFS"} {
		_, err := storage.Open(context.Background(), storage.Config{Backend: name})
		if !errors.Is(err, storage.ErrUnknownBackend) {
			t.Fatalf("Open(%q) = %v, want ErrUnknownBackend", name, err)
		}
		if !strings.Contains(err.Error(), `"`+name+`"`) || !strings.Contains(err.Error(), "known backends: ") ||
			!strings.Contains(err.Error(), known) {
			t.Errorf("Open(%q) = %q, want the name and the known backends", name, err)
		}
	}
}

func TestOpenPassesConfig(t *testing.T) {
	name := fresh("test-open")
	storage.Register(name, storage.Backend{Open: func(_ context.Context, cfg storage.Config) (storage.Storage, error) {
		return fake{root: cfg.Path + "|" + cfg.Dataset}, nil
	}})
	s, err := storage.Open(context.Background(), storage.Config{Backend: name, Path: "/p", Dataset: "tank/d"})
	if err != nil || s.Root() != "/p|tank/d" {
		t.Fatalf("Open = %v, %v; want the fake with the config's path and dataset", s, err)
	}
	found := false
	for _, n := range storage.Backends() {
		found = found || n == name
	}
	if !found {
		t.Errorf("Backends() = %v, want %s among them", storage.Backends(), name)
	}
}

func TestRegisterRefusesMistakes(t *testing.T) {
	open := func(context.Context, storage.Config) (storage.Storage, error) { return fake{}, nil }
	twice := fresh("test-twice")
	storage.Register(twice, storage.Backend{Open: open})
	for name, b := range map[string]storage.Backend{twice: {Open: open}, fresh("test-no-open"): {}} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("Register(%s) did not panic", name)
				}
			}()
			storage.Register(name, b)
		}()
	}
}

func TestCheck(t *testing.T) {
	open := func(context.Context, storage.Config) (storage.Storage, error) { return fake{}, nil }
	unchecked, checked := fresh("test-unchecked"), fresh("test-checked")
	storage.Register(unchecked, storage.Backend{Open: open})
	storage.Register(checked, storage.Backend{Open: open, Check: func(_ context.Context, cfg storage.Config) storage.Health {
		var h storage.Health
		h.Add("pool.mounted", storage.StatusFail, cfg.Path+" is not mounted", "mount it")
		h.Unready = "the pool is not mounted"
		return h
	}})
	ctx := context.Background()
	if h, err := storage.Check(ctx, storage.Config{Backend: unchecked}); err != nil || len(h.Findings) != 0 || h.Unready != "" {
		t.Errorf("Check of a backend without a check = %+v, %v; want nothing, ready", h, err)
	}
	h, err := storage.Check(ctx, storage.Config{Backend: checked, Path: "/p"})
	want := storage.Finding{Name: "pool.mounted", Status: storage.StatusFail, Detail: "/p is not mounted", Fix: "mount it"}
	if err != nil || len(h.Findings) != 1 || h.Findings[0] != want || h.Unready == "" {
		t.Errorf("Check = %+v, %v; want the backend's finding, unready", h, err)
	}
	if _, err := storage.Check(ctx, storage.Config{Backend: "nope"}); !errors.Is(err, storage.ErrUnknownBackend) {
		t.Errorf("Check of an unknown backend = %v, want ErrUnknownBackend", err)
	}
}
