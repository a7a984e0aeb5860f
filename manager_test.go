package ditto

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/dittodb/ditto/internal/proc"
	"github.com/dittodb/ditto/postgres"
)

var bg = context.Background()

func TestCreateAndDestroy(t *testing.T) {
	m, store, pg := testManager(t)
	c, err := m.CreateCopy(bg, CreateOptions{TTL: time.Hour, Labels: map[string]string{"job": "1"}})
	if err != nil {
		t.Fatal(err)
	}
	if c.State != StateReady || c.Busy != nil || c.Status() != "running" || c.Generation != "g1" || c.Database != "app" {
		t.Fatalf("new copy: %+v", c)
	}
	if r, err := m.GetCopy(c.ID); err != nil || r.Port != c.Port || r.Password != c.Password {
		t.Fatalf("its record: %+v, %v", r, err)
	}
	if !store.volumeExists(c.ID) || len(pg.Running(store.root)) != 1 {
		t.Fatal("no volume or no server for the new copy")
	}
	if err := m.DestroyCopy(bg, c.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := m.GetCopy(c.ID); !errors.Is(err, ErrNoCopy) {
		t.Fatalf("record after destroy: %v", err)
	}
	if store.volumeExists(c.ID) || len(pg.Running(store.root)) != 0 {
		t.Fatal("volume or server left after destroy")
	}
	if err := m.DestroyCopy(bg, c.ID); codeOf(err) != CodeNotFound {
		t.Fatalf("second destroy: %v, want not_found", err)
	}
}

func TestFailedCreateRollsBack(t *testing.T) {
	m, store, pg := testManager(t)
	pg.readyErr = errors.New("the server exited")
	if _, err := m.CreateCopy(bg, CreateOptions{}); err == nil {
		t.Fatal("a copy whose server never became ready was created")
	}
	store.cloneErr = errors.New("clone failed")
	if _, err := m.CreateCopy(bg, CreateOptions{}); err == nil {
		t.Fatal("a copy whose clone failed was created")
	}
	copies, _ := m.Copies()
	vols, _ := store.List(bg)
	if len(copies) != 0 || len(vols) != 1 || len(pg.Running(store.root)) != 0 {
		t.Fatalf("after failed creates: %d records, volumes %v, %d servers; want none but the golden",
			len(copies), vols, len(pg.Running(store.root)))
	}
}

func TestCreateRefusals(t *testing.T) {
	m, store, _ := testManager(t)
	if _, err := m.CreateCopy(bg, CreateOptions{Settings: []string{"port=1"}}); codeOf(err) != CodeInvalid {
		t.Errorf("a managed setting: %v, want invalid", err)
	}
	store.free = 1
	if _, err := m.CreateCopy(bg, CreateOptions{}); codeOf(err) != CodeNoSpace {
		t.Errorf("below the free-space floor: %v, want no_space", err)
	}
	store.free = 50 << 30
	m.Config.PortMin, m.Config.PortMax = 40130, 40130
	if _, err := m.CreateCopy(bg, CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := m.CreateCopy(bg, CreateOptions{}); codeOf(err) != CodePortsExhausted {
		t.Errorf("a full port range: %v, want ports_exhausted", err)
	}
	m.Home.Update(func(tx *tx) error { return tx.SetCurrent("") })
	if _, err := m.CreateCopy(bg, CreateOptions{}); codeOf(err) != CodeNoGolden {
		t.Errorf("no current golden: %v, want no_golden", err)
	}
}

// A reset that fails leaves the copy down with its owner and TTL; the next
// reset brings it back, still with them.
func TestResetKeepsOwner(t *testing.T) {
	m, _, pg := testManager(t)
	owner := proc.Self()
	c, err := m.CreateCopy(bg, CreateOptions{TTL: time.Hour, Owner: &owner})
	if err != nil {
		t.Fatal(err)
	}
	pg.readyErr = errors.New("the server exited")
	if _, err := m.ResetCopy(bg, c.ID); err == nil {
		t.Fatal("reset succeeded with a server that never became ready")
	}
	r, err := m.GetCopy(c.ID)
	if err != nil || r.Owner == nil || *r.Owner != owner || r.Busy != nil || !r.ExpiresAt.Equal(c.ExpiresAt) || r.Status() != "down" {
		t.Fatalf("after a failed reset: %+v, %v; want the owner and TTL kept, down", r, err)
	}
	if gc := m.GC(bg); len(gc.Restarted) != 0 || len(gc.Errors) != 0 {
		t.Fatalf("gc after a failed reset: %+v; want the copy left down for a reset", gc)
	}
	pg.readyErr = nil
	if r, err = m.ResetCopy(bg, c.ID); err != nil {
		t.Fatal(err)
	}
	if *r.Owner != owner || r.Password != c.Password || r.Port != c.Port || r.Status() != "running" || !r.StartFailed.IsZero() {
		t.Fatalf("after a reset: %+v", r)
	}
}

func TestSweepDecisions(t *testing.T) {
	m, store, _ := testManager(t)
	self := proc.Self()
	dead := self
	dead.Start++
	mk := func(o CreateOptions) *Copy {
		c, err := m.CreateCopy(bg, o)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	expired := mk(CreateOptions{TTL: time.Millisecond})
	running := mk(CreateOptions{TTL: time.Millisecond, Owner: &self}) // a copy run still going
	orphan := mk(CreateOptions{Owner: &dead})
	kept := mk(CreateOptions{TTL: time.Hour})
	time.Sleep(5 * time.Millisecond)
	r := m.GC(bg)
	if len(r.Errors) != 0 {
		t.Fatalf("gc errors: %v", r.Errors)
	}
	for _, c := range []*Copy{expired, orphan} {
		if _, err := m.GetCopy(c.ID); !errors.Is(err, ErrNoCopy) || store.volumeExists(c.ID) {
			t.Errorf("copy %s (TTL passed or owner gone) survived gc", c.ID)
		}
	}
	for _, c := range []*Copy{running, kept} {
		if _, err := m.GetCopy(c.ID); err != nil {
			t.Errorf("copy %s removed by gc: %v", c.ID, err)
		}
	}
}

func TestGCRemovesWhatNoRecordExplains(t *testing.T) {
	m, store, pg := testManager(t)
	c, err := m.CreateCopy(bg, CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// a crash between cloning and recording: a volume with a server, no record
	stray, _ := store.Clone(bg, "g1", "0badcafe")
	if _, err := pg.Start(bg, postgres.ServerOptions{DataDir: filepath.Join(stray, pgDataDir)}); err != nil {
		t.Fatal(err)
	}
	// a newer golden: g1 stays while c uses it
	store.CreateBuilding(bg, "g2")
	store.Freeze(bg, "g2")
	m.switchCurrent("g2")
	r := m.GC(bg)
	if len(r.Volumes) != 1 || r.Volumes[0] != "0badcafe" || len(r.Processes) != 1 || len(r.Goldens) != 0 {
		t.Fatalf("gc: %+v; want the stray volume and its server removed, g1 kept", r)
	}
	if err := m.DestroyCopy(bg, c.ID); err != nil {
		t.Fatal(err)
	}
	if r := m.GC(bg); len(r.Goldens) != 1 || r.Goldens[0] != "g1" {
		t.Fatalf("gc after the last copy of g1: %+v; want g1 removed", r)
	}
	if len(pg.Running(store.root)) != 0 {
		t.Fatal("servers left")
	}
}
