package postgres_test

import (
	"slices"
	"testing"

	"github.com/dittodb/ditto/postgres"
)

func TestCopySettings(t *testing.T) {
	s := postgres.CopySettings(false, []string{"fsync=on"})
	if !slices.Contains(s, "fsync=off") || s[len(s)-1] != "fsync=on" {
		t.Errorf("CopySettings(false, fsync=on) = %v; want fsync off, then the user's setting last (it wins)", s)
	}
	if s := postgres.CopySettings(true, nil); slices.Contains(s, "fsync=off") || !slices.Contains(s, "shared_buffers=32MB") {
		t.Errorf("CopySettings(durable) = %v; want fsync left on, small shared buffers", s)
	}
}
