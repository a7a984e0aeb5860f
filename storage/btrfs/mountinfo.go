package btrfs

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// mount is one line of /proc/self/mountinfo, unescaped.
type mount struct {
	Point  string // where it is mounted
	FSType string // e.g. "btrfs", "ext4"
	Source string // e.g. "/dev/loop0"
}

// mounts parses /proc/self/mountinfo rather than /proc/self/mounts because
// its fields are unambiguous: the optional fields end at a lone "-".
func mounts() ([]mount, error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil, fmt.Errorf("read the mount table: %w", err)
	}
	defer f.Close()
	var out []mount
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		sep := -1
		for i := 6; i < len(fields); i++ {
			if fields[i] == "-" {
				sep = i
				break
			}
		}
		if len(fields) < 5 || sep < 0 || sep+2 >= len(fields) {
			continue
		}
		out = append(out, mount{Point: unescape(fields[4]), FSType: fields[sep+1], Source: unescape(fields[sep+2])})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read the mount table: %w", err)
	}
	return out, nil
}

// unescape undoes the kernel's octal escapes (\040 space, \011 tab,
// \012 newline, \134 backslash) so paths compare exactly.
func unescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// mountAt returns the topmost mount whose mount point is exactly path.
func mountAt(path string) (mount, bool, error) {
	m, ok, err := mountOf(path)
	return m, ok && m.Point == path, err
}

// mountOf returns the mount that holds path: of those mounted at path or at
// one of its parent folders the deepest, and of those the last listed, as
// later mounts stack on top of earlier ones.
func mountOf(path string) (mount, bool, error) {
	ms, err := mounts()
	if err != nil {
		return mount{}, false, err
	}
	var found mount
	ok := false
	for _, m := range ms {
		if within(path, m.Point) && (!ok || len(m.Point) >= len(found.Point)) {
			found, ok = m, true
		}
	}
	return found, ok, nil
}

// within reports whether path is dir or inside it, by whole path elements.
func within(path, dir string) bool {
	rel, err := filepath.Rel(dir, path)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, "../")
}

// resolve makes path absolute and resolves symlinks in the part that
// exists, because the mount table holds resolved paths.
func resolve(path string) (string, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", err
	}
	rest := ""
	for p := abs; ; p = filepath.Dir(p) {
		if r, err := filepath.EvalSymlinks(p); err == nil {
			return filepath.Join(r, rest), nil
		}
		if p == filepath.Dir(p) {
			return abs, nil
		}
		rest = filepath.Join(filepath.Base(p), rest)
	}
}
