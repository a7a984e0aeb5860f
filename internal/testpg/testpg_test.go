package testpg

import (
	"os"
	"testing"

	"github.com/dittodb/ditto/postgres"
)

// Everything a test starts or writes must be gone when it ends.
func TestCleanup(t *testing.T) {
	RequireRoot(t)
	var src *Source
	var dump string
	t.Run("uses a server", func(t *testing.T) {
		src = Start(t)
		dump = MakeDump(t, src, postgres.FormatDirectory)
		if !src.Server.Proc.Alive() {
			t.Fatal("server not running during the test")
		}
	})
	if src == nil {
		t.Fatal("Start did not return")
	}
	if src.Server.Proc.Alive() {
		t.Errorf("server pid %d still running after its test ended", src.Server.Proc.PID)
	}
	for _, p := range []string{src.Dir, dump} {
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Errorf("%s left behind (%v)", p, err)
		}
	}
}
