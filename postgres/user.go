package postgres

import (
	"errors"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// OSUser is the operating-system account that runs postgres and initdb
// (PostgreSQL refuses to run as root).
type OSUser struct {
	Name     string
	UID, GID int
}

// LookupOSUser returns the account called name.
func LookupOSUser(name string) (OSUser, error) {
	u, err := user.Lookup(name)
	if err != nil {
		return OSUser{}, fmt.Errorf("OS user %q for running postgres: %w; create it (useradd --system %s) or pass --pg-user", name, err, name)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return OSUser{Name: u.Username, UID: uid, GID: gid}, nil
}

// CurrentOSUser returns the account ditto runs as.
func CurrentOSUser() OSUser {
	u := OSUser{UID: os.Getuid(), GID: os.Getgid()}
	if cur, err := user.Current(); err == nil {
		u.Name = cur.Username
	}
	return u
}

// procAttr returns the attributes that run a child as u: switched to u when
// ditto is root, unchanged when ditto already is u.
func procAttr(u OSUser, setsid bool) (*syscall.SysProcAttr, error) {
	a := &syscall.SysProcAttr{Setsid: setsid}
	me := os.Geteuid()
	switch {
	case u.UID == 0:
		return nil, errors.New("postgres cannot run as root; pass --pg-user with an unprivileged account (e.g. postgres)")
	case me == 0:
		a.Credential = &syscall.Credential{Uid: uint32(u.UID), Gid: uint32(u.GID)}
	case me != u.UID:
		return nil, fmt.Errorf("cannot run postgres as %s (uid %d): ditto runs as uid %d and is not root; run ditto as root or as %s", u.Name, u.UID, me, u.Name)
	}
	return a, nil
}

// canRead tells by mode bits alone (ACLs are not read) whether u, with its
// primary group only, as ditto starts tools, may read path: every folder
// above it searchable, and path readable (and searchable, if a folder).
func canRead(u OSUser, path string) bool {
	real, err := filepath.Abs(path)
	if err == nil {
		real, err = filepath.EvalSymlinks(real)
	}
	if err != nil {
		return false
	}
	for dir := filepath.Dir(real); ; dir = filepath.Dir(dir) {
		if !allows(u, dir, 1) {
			return false
		}
		if dir == "/" {
			break
		}
	}
	fi, err := os.Stat(real)
	return err == nil && allows(u, real, 4) && (!fi.IsDir() || allows(u, real, 1))
}

// allows reports whether the mode bits of path give u the permission bit
// (4 read, 1 search).
func allows(u OSUser, path string, bit os.FileMode) bool {
	fi, err := os.Stat(path)
	if err != nil {
		return false
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	perm := fi.Mode().Perm()
	switch {
	case u.UID == 0:
		return true
	case !ok:
		return false
	case int(st.Uid) == u.UID:
		return perm>>6&bit != 0
	case int(st.Gid) == u.GID:
		return perm>>3&bit != 0
	}
	return perm&bit != 0
}

// mkdirOwned creates dir with mode for u, or leaves an existing directory
// as it is.
func mkdirOwned(dir string, u OSUser, mode os.FileMode) error {
	err := os.Mkdir(dir, mode)
	if errors.Is(err, os.ErrExist) {
		if fi, serr := os.Stat(dir); serr == nil && fi.IsDir() {
			return nil
		}
	}
	if err != nil {
		return err
	}
	return chownMode(dir, u, mode)
}

// chownMode gives path to u (when ditto may) with exactly mode.
func chownMode(path string, u OSUser, mode os.FileMode) error {
	if os.Geteuid() == 0 {
		if err := os.Chown(path, u.UID, u.GID); err != nil {
			return err
		}
	}
	return os.Chmod(path, mode)
}

// childEnv is the environment for postgres servers and tools: only the
// search path, language and time zone of ditto's own. A copy's superuser
// can read its server's environment (COPY ... FROM PROGRAM 'env'), and
// ditto's may hold the source's URL, a masking key or a CI job's secrets;
// PG* variables would silently change what the tools connect to.
func childEnv(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if name == "PATH" || name == "LANG" || name == "LANGUAGE" || name == "TZ" || strings.HasPrefix(name, "LC_") {
			env = append(env, kv)
		}
	}
	return append(env, extra...)
}
