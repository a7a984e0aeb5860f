package ditto

import (
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// A reseed refused because another one holds the lock names the holder's
// PID, even when it asks in the moment between the holder taking the lock
// and writing its PID, and never an empty one.
func TestSecondReseedNamesTheFirst(t *testing.T) {
	m := &Manager{Home: Home{Dir: t.TempDir()}}
	path := m.Home.reseedLock()
	holder, err := lock(path, false)
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
