package state

import (
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

type rec struct {
	ID   string `json:"id"`
	Port int    `json:"port"`
}

func (r *rec) RecordID() string    { return r.ID }
func (r *rec) ReservedPort() int   { return r.Port }
func (r *rec) DurableRecord() bool { return false }

func newStore(t *testing.T) *Store[rec, *rec] {
	dir := t.TempDir()
	s := Open[rec](dir)
	if err := os.Mkdir(s.Records(), 0o700); err != nil {
		t.Fatal(err)
	}
	return s
}

func TestRecordsAndReservations(t *testing.T) {
	s := newStore(t)
	if _, err := s.Load("3f9a01bc"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Load of a missing record = %v, want ErrNotFound", err)
	}
	// parallel Updates never hand out the same port
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := s.Update(func(tx *Tx[rec, *rec]) error {
				ports, _, err := tx.Reserved()
				if err != nil {
					return err
				}
				id, err := tx.NewID()
				if err != nil {
					return err
				}
				p := 5433
				for ports[p] {
					p++
				}
				return tx.Save(&rec{ID: id, Port: p})
			})
			if err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	records, damaged, err := s.List()
	if err != nil || len(records) != 8 || len(damaged) != 0 {
		t.Fatalf("List = %d records, %v damaged, %v; want 8, none", len(records), damaged, err)
	}
	seen := map[int]bool{}
	for _, r := range records {
		if seen[r.Port] || !IsCopyID(r.ID) {
			t.Fatalf("records %+v: a port given twice or a bad ID", records)
		}
		seen[r.Port] = true
	}
	os.WriteFile(s.Record("0badcafe"), []byte("{"), 0o600)
	if _, damaged, _ := s.List(); len(damaged) != 1 {
		t.Fatalf("a damaged record was not reported: %v", damaged)
	}
	if err := s.Update(func(tx *Tx[rec, *rec]) error { return tx.Remove(records[0].ID) }); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Load(records[0].ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("removed record still loads: %v", err)
	}
}

func TestCurrent(t *testing.T) {
	s := newStore(t)
	if _, err := s.Current(); !errors.Is(err, ErrNoCurrent) {
		t.Fatalf("Current of a new home = %v", err)
	}
	s.Update(func(tx *Tx[rec, *rec]) error { return tx.SetCurrent("20261202-g1") })
	if g, err := s.Current(); err != nil || g != "20261202-g1" {
		t.Fatalf("Current = %q, %v", g, err)
	}
}

func TestStaleTempAndLocks(t *testing.T) {
	dir := t.TempDir()
	old := time.Now().Add(-time.Hour)
	for _, n := range []string{".3f9a01bc.json.tmp-1", ".bashrc", "3f9a01bc.json"} {
		os.WriteFile(filepath.Join(dir, n), nil, 0o600)
		os.Chtimes(filepath.Join(dir, n), old, old)
	}
	os.WriteFile(filepath.Join(dir, ".new.json.tmp-2"), nil, 0o600)
	entries, _ := os.ReadDir(dir)
	var stale []string
	for _, e := range entries {
		if StaleTemp(e) {
			stale = append(stale, e.Name())
		}
	}
	if len(stale) != 1 || stale[0] != ".3f9a01bc.json.tmp-1" {
		t.Fatalf("stale temporary files: %v", stale)
	}
	p := filepath.Join(dir, "l")
	l, err := TryLock(p)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := TryLock(p); err != ErrLocked {
		t.Fatalf("second TryLock: %v, want ErrLocked", err)
	}
	l.Unlock()
	if l2, err := TryLock(p); err != nil {
		t.Fatalf("TryLock after Unlock: %v", err)
	} else {
		l2.Unlock()
	}
}
