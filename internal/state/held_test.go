package state

import (
	"path/filepath"
	"testing"
)

func TestHeld(t *testing.T) {
	p := filepath.Join(t.TempDir(), "x.lock")
	if h, err := Held(p); h || err != nil {
		t.Fatalf("a missing lock file: held %v, %v", h, err)
	}
	l, err := TryLock(p)
	if err != nil {
		t.Fatal(err)
	}
	if h, err := Held(p); !h || err != nil {
		t.Fatalf("a taken lock: held %v, %v; want true", h, err)
	}
	// looking did not take it: another TryLock still fails, and the holder
	// keeps it
	if _, err := TryLock(p); err != ErrLocked {
		t.Fatalf("TryLock of a held lock: %v", err)
	}
	l.Unlock()
	if h, err := Held(p); h || err != nil {
		t.Fatalf("a released lock: held %v, %v; want false", h, err)
	}
}
