// Package postgres runs PostgreSQL for ditto: it finds the binaries, makes a
// cluster with initdb, starts and stops bare postgres processes, waits for
// them with a real connection, sets SCRAM passwords, and dumps and restores
// databases with pg_dump, pg_restore and psql. Every program is executed with
// an argument list, never through a shell.
package postgres

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Bin is one directory of PostgreSQL binaries of a known version.
type Bin struct {
	Dir     string
	Major   int
	Version string // like "15.18"
}

// Path returns the full path of tool (e.g. "pg_restore") in b.
func (b Bin) Path(tool string) string { return filepath.Join(b.Dir, tool) }

func (b Bin) String() string { return fmt.Sprintf("PostgreSQL %s (%s)", b.Version, b.Dir) }

const binHint = "install PostgreSQL (apt-get install postgresql-15) or pass --pg-bin DIR"

// FindBins lists the PostgreSQL installations, newest major first. With dir
// set (the --pg-bin flag) only dir is considered; otherwise every
// /usr/lib/postgresql/*/bin, then the directories of postgres and
// pg_config --bindir found on PATH.
func FindBins(dir string) ([]Bin, error) {
	if dir != "" {
		b, err := readBin(dir)
		if err != nil {
			return nil, fmt.Errorf("--pg-bin %s: %w; pass the bin directory of a PostgreSQL installation (the one holding postgres and pg_restore)", dir, err)
		}
		return []Bin{b}, nil
	}
	dirs, looked := candidateDirs()
	var bins []Bin
	seen := map[string]bool{}
	for _, d := range dirs {
		real, err := filepath.EvalSymlinks(d)
		if err != nil || seen[real] {
			continue
		}
		seen[real] = true
		if b, err := readBin(real); err == nil {
			bins = append(bins, b)
		}
	}
	if len(bins) == 0 {
		return nil, fmt.Errorf("no PostgreSQL binaries found (looked in %s); %s", strings.Join(looked, ", "), binHint)
	}
	slices.SortStableFunc(bins, func(a, b Bin) int { return compareVersions(b.Version, a.Version) })
	return bins, nil
}

// candidateDirs returns the directories to probe and a description of every
// place looked, for the error message.
func candidateDirs() (dirs, looked []string) {
	glob, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	dirs = append(dirs, glob...)
	looked = append(looked, "/usr/lib/postgresql/*/bin")
	if p, err := exec.LookPath("postgres"); err == nil {
		if real, err := filepath.EvalSymlinks(p); err == nil {
			dirs = append(dirs, filepath.Dir(real))
		}
	}
	looked = append(looked, "postgres on PATH")
	if p, err := exec.LookPath("pg_config"); err == nil {
		if out, err := output(p, "--bindir"); err == nil {
			dirs = append(dirs, strings.TrimSpace(out))
		}
	}
	looked = append(looked, "pg_config --bindir on PATH")
	return dirs, looked
}

// readBin reads the version of the installation in dir from
// `postgres --version`, or from `pg_config --version` when that fails.
func readBin(dir string) (Bin, error) {
	out, err := output(filepath.Join(dir, "postgres"), "--version")
	if err != nil {
		var err2 error
		if out, err2 = output(filepath.Join(dir, "pg_config"), "--version"); err2 != nil {
			return Bin{}, fmt.Errorf("no working postgres there: %w", err)
		}
	}
	v, major, err := parseVersionOutput(out)
	if err != nil {
		return Bin{}, err
	}
	return Bin{Dir: dir, Major: major, Version: v}, nil
}

func output(path string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, path, args...).Output()
	return string(out), err
}

// parseVersionOutput reads "postgres (PostgreSQL) 15.18 (Debian ...)" or
// "PostgreSQL 15.18".
func parseVersionOutput(out string) (string, int, error) {
	f := strings.Fields(out)
	for i, w := range f {
		if strings.HasSuffix(w, "PostgreSQL") || strings.HasSuffix(w, "PostgreSQL)") {
			if i+1 < len(f) {
				if major, ok := majorOf(f[i+1]); ok {
					return f[i+1], major, nil
				}
			}
		}
	}
	return "", 0, fmt.Errorf("cannot read a version from %q", strings.TrimSpace(out))
}

// majorOf returns the leading number of a version such as "15.18",
// "17beta1" or "9.6.24" (9 for all 9.x).
func majorOf(v string) (int, bool) {
	i := 0
	for i < len(v) && v[i] >= '0' && v[i] <= '9' {
		i++
	}
	n, err := strconv.Atoi(v[:i])
	return n, err == nil && n > 0
}

// compareVersions orders "15.18" before "15.2" correctly.
func compareVersions(a, b string) int {
	pa, pb := versionParts(a), versionParts(b)
	return slices.Compare(pa, pb)
}

func versionParts(v string) []int {
	var parts []int
	for _, s := range strings.Split(v, ".") {
		n, _ := majorOf(s)
		parts = append(parts, n)
	}
	return parts
}

// PickBin returns the newest of bins whose major is min or newer.
func PickBin(bins []Bin, min int) (Bin, error) {
	var best *Bin
	for i := range bins {
		b := &bins[i]
		if b.Major >= min && (best == nil || compareVersions(b.Version, best.Version) > 0) {
			best = b
		}
	}
	if best != nil {
		return *best, nil
	}
	var found []string
	for _, b := range bins {
		found = append(found, fmt.Sprintf("%d (%s)", b.Major, b.Dir))
	}
	if len(found) == 0 {
		found = []string{"none"}
	}
	return Bin{}, fmt.Errorf("need PostgreSQL %d or newer, found %s; install it (apt-get install postgresql-%d) or pass --pg-bin DIR with a newer installation",
		min, strings.Join(found, ", "), min)
}
