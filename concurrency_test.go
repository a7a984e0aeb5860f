package ditto

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/dittodb/ditto/internal/proc"
	"github.com/dittodb/ditto/internal/state"
)

// A reseed refused because another one holds the lock names the holder's
// PID, even when it asks in the moment between the holder taking the lock
// and writing its PID, and never an empty one.
func TestSecondReseedNamesTheFirst(t *testing.T) {
	m := &Manager{Home: NewHome(t.TempDir())}
	path := m.Home.ReseedLock()
	holder, err := state.TryLock(path)
	if err != nil {
		t.Fatal(err)
	}
	defer holder.Unlock()

	_, err = m.lockReseed() // the holder never writes its PID
	if err == nil || !strings.HasPrefix(err.Error(), "another reseed is running: wait") || strings.Contains(err.Error(), "process )") {
		t.Fatalf("holder unknown: %v", err)
	}

	os.WriteFile(path, []byte("999999999\n"), 0o600) // a previous, long gone reseed
	go func() {
		time.Sleep(50 * time.Millisecond)
		os.WriteFile(path, []byte(strconv.Itoa(os.Getpid())+"\n"), 0o600)
	}()
	_, err = m.lockReseed()
	if want := "(ditto process " + strconv.Itoa(os.Getpid()) + ")"; err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("holder writing its PID a moment later: %v, want %q", err, want)
	}
}

// A destroy of a copy that another live ditto process is destroying waits
// for it and succeeds, instead of failing as busy.
func TestSecondDestroyWaitsForTheFirst(t *testing.T) {
	m := &Manager{Home: NewHome(t.TempDir()), Log: hclog.NewNullLogger()}
	os.MkdirAll(m.Home.Records(), 0o700)
	other := exec.Command("sleep", "10") // the first destroyer
	if err := other.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { other.Process.Kill(); other.Wait() }()
	owner, err := proc.Lookup(other.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	c := &Copy{ID: "abcd1234", State: StateDestroying, Busy: &owner}
	if err := m.Home.Save(c); err != nil {
		t.Fatal(err)
	}
	go func() {
		time.Sleep(100 * time.Millisecond)
		m.Home.Remove(c.ID) // the first destroy finishes
	}()
	if err := m.DestroyCopy(context.Background(), c.ID); err != nil {
		t.Fatalf("second destroy: %v", err)
	}
	if err := m.DestroyCopy(context.Background(), c.ID); !errors.Is(err, ErrNoCopy) {
		t.Fatalf("destroying a copy that is gone: %v, want no such copy", err)
	}
}

// In the daemon every request runs in one process: a copy that one of its
// goroutines is resetting is busy for another, although the record's Busy
// names this very process.
func TestClaimsWithinOneProcess(t *testing.T) {
	m := &Manager{Home: NewHome(t.TempDir()), Log: hclog.NewNullLogger()}
	os.MkdirAll(m.Home.Records(), 0o700)
	if err := m.Home.Save(&Copy{ID: "abcd1234", State: StateReady}); err != nil {
		t.Fatal(err)
	}
	if _, err := m.claim("abcd1234", StateResetting); err != nil {
		t.Fatal(err)
	}
	_, err := m.claim("abcd1234", StateDestroying)
	if code, _, _ := Describe(err); code != CodeBusy {
		t.Fatalf("second claim in the same process: %v, want busy", err)
	}
	m.work.drop("abcd1234")
	if _, err := m.claim("abcd1234", StateDestroying); err != nil {
		t.Fatalf("claim after the first was done: %v", err)
	}
}
