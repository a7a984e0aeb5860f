package ditto

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"time"

	"github.com/dittodb/ditto/internal/state"
)

// goldenMetaFile sits at the root of every golden volume, beside pgdata, so
// that the frozen snapshot explains itself and every copy carries it.
const goldenMetaFile = "ditto-golden.json"

// pgDataDir is the data directory inside a volume. The volume root stays
// owned by ditto; only pgdata belongs to the Postgres OS user.
const pgDataDir = "pgdata"

// Golden describes one golden generation.
type Golden struct {
	Generation string    `json:"generation"`
	CreatedAt  time.Time `json:"created_at"`
	Source     string    `json:"source"`                // dump path or redacted source URL
	SourceKind string    `json:"source_kind,omitempty"` // SourceDump or SourceURL
	Format     string    `json:"format"`
	Database   string    `json:"database"`
	Role       string    `json:"role"`
	PGMajor    int       `json:"pg_major"`
	PGVersion  string    `json:"pg_version"`
	PGBinDir   string    `json:"pg_bin_dir"`
	Bytes      uint64    `json:"bytes"` // size of the data directory
	Masked     bool      `json:"masked"`
	Rules      string    `json:"rules,omitempty"` // the masking rules file used
}

func newGeneration(now time.Time) string {
	b := make([]byte, 2)
	_, _ = rand.Read(b)
	return now.UTC().Format("20060102-150405") + "-" + hex.EncodeToString(b)
}

func readGoldenMeta(volume string) (Golden, error) {
	var g Golden
	return g, state.ReadJSON(filepath.Join(volume, goldenMetaFile), &g)
}

// CurrentGeneration returns the current golden generation, or an error
// matching ErrNoGolden.
func (h Home) CurrentGeneration() (string, error) { return currentGolden(h.Current()) }

// currentGolden turns the state's answer into the domain's: ErrNoGolden
// when no reseed has made a golden current.
func currentGolden(gen string, err error) (string, error) {
	if errors.Is(err, state.ErrNoCurrent) {
		return "", errNoGolden
	}
	return gen, err
}

// dirSize adds up the sizes of the regular files below dir.
func dirSize(dir string) uint64 {
	var n uint64
	_ = filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if info, err := d.Info(); err == nil {
				n += uint64(info.Size())
			}
		}
		return nil
	})
	return n
}

func (g Golden) String() string {
	return fmt.Sprintf("%s (database %s, PostgreSQL %s, %s)", g.Generation, g.Database, g.PGVersion, HumanBytes(g.Bytes))
}
