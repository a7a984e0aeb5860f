package postgres

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/dittodb/ditto/internal/proc"
)

// Postmasters finds the running postgres postmasters whose data directory
// (-D) is below root, by reading /proc, keyed by that directory (cleaned).
// This is how ditto finds a server that no record explains (ditto killed
// between starting it and recording it), rather than trusting a
// postmaster.pid that may be stale.
func Postmasters(root string) map[string]proc.Ref {
	found := map[string]proc.Ref{}
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return found
	}
	root = filepath.Clean(root) + string(filepath.Separator)
	dirs := map[int]string{}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil || len(b) == 0 {
			continue
		}
		args := strings.Split(string(bytes.TrimRight(b, "\x00")), "\x00")
		if filepath.Base(args[0]) != "postgres" {
			continue // backends rename themselves; only the postmaster keeps argv
		}
		for i := 1; i+1 < len(args); i++ {
			if args[i] != "-D" {
				continue
			}
			dir := filepath.Clean(args[i+1])
			if strings.HasPrefix(dir+string(filepath.Separator), root) {
				dirs[pid] = dir
			}
		}
	}
	for pid, dir := range dirs {
		// a child the postmaster has just forked shows the same command line
		// until it renames itself; only the parent is the postmaster
		if ppid, err := proc.Parent(pid); err == nil && dirs[ppid] == dir {
			continue
		}
		if r, err := proc.Lookup(pid); err == nil && r.Alive() {
			found[dir] = r
		}
	}
	return found
}
