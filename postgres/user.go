package postgres

import (
	"errors"
	"fmt"
	"os"
	"os/user"
	"strconv"
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

// childEnv is the environment for postgres tools: ditto's own, minus PG*
// variables that would silently change what they connect to or where.
func childEnv(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if len(kv) < 2 || kv[:2] != "PG" {
			env = append(env, kv)
		}
	}
	return append(env, extra...)
}
