package state

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

type line struct {
	N int    `json:"n"`
	S string `json:"s"`
}

// A journal stays within its bound, keeping its first line and the newest.
func TestJournalBound(t *testing.T) {
	path := filepath.Join(t.TempDir(), "j.jsonl")
	const max = 4 << 10
	for i := range 2000 {
		if err := AppendJSONLine(path, line{N: i, S: "some text"}, max); err != nil {
			t.Fatal(err)
		}
		if fi, err := os.Stat(path); err != nil || fi.Size() > max {
			t.Fatalf("after %d lines the journal has %d bytes, over %d", i+1, fi.Size(), max)
		}
	}
	got, err := ReadJSONLines[line](path)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) < 10 || got[0].N != 0 || got[len(got)-1].N != 1999 {
		t.Fatalf("kept %d lines, first %+v, last %+v; want the first and the newest", len(got), got[0], got[len(got)-1])
	}
	for i := 2; i < len(got); i++ {
		if got[i].N != got[i-1].N+1 {
			t.Fatalf("lines out of order or missing in the tail: %d after %d", got[i].N, got[i-1].N)
		}
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Fatalf("journal mode %v, want 0600", fi.Mode().Perm())
	}
	// a line cut by a crash is skipped
	f, _ := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	fmt.Fprint(f, `{"n": 5`)
	f.Close()
	if err := AppendJSONLine(path, line{N: 2000}, max); err != nil {
		t.Fatal(err)
	}
	if again, err := ReadJSONLines[line](path); err != nil || again[len(again)-1].N != 2000 {
		t.Fatalf("after a torn line: %v; want the line appended after it kept", err)
	}
}

// BenchmarkAppendJSONLine is what each event of a copy costs its operation.
func BenchmarkAppendJSONLine(b *testing.B) {
	path := filepath.Join(b.TempDir(), "j.jsonl")
	for i := 0; b.Loop(); i++ {
		if err := AppendJSONLine(path, line{N: i, S: "created by alice"}, 64<<10); err != nil {
			b.Fatal(err)
		}
	}
}
