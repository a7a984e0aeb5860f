package daemon

import (
	"errors"
	"fmt"
	"net"
	"os/exec"
	"os/user"
	"slices"
	"strconv"

	"golang.org/x/sys/unix"

	"github.com/dittodb/ditto"
	"github.com/dittodb/ditto/api/server"
	"github.com/dittodb/ditto/internal/proc"
)

// peerOf asks the kernel who is at the other end of a Unix socket
// connection: its uid is the caller, its process the one a held copy ends
// with. Root and members of the admin group are admins.
func peerOf(c net.Conn, adminGID string) (server.Peer, error) {
	uc, ok := c.(*net.UnixConn)
	if !ok {
		return server.Peer{}, fmt.Errorf("not a Unix socket connection: %T", c)
	}
	raw, err := uc.SyscallConn()
	if err != nil {
		return server.Peer{}, err
	}
	var cred *unix.Ucred
	cerr := raw.Control(func(fd uintptr) {
		cred, err = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED)
	})
	if err = errors.Join(cerr, err); err != nil {
		return server.Peer{}, fmt.Errorf("SO_PEERCRED: %w", err)
	}
	k := ditto.Caller{UID: int(cred.Uid), Name: strconv.Itoa(int(cred.Uid)), Admin: cred.Uid == 0, ReadsRecords: cred.Uid == 0}
	if u, err := user.LookupId(k.Name); err == nil {
		k.Name = u.Username
		if groups, err := u.GroupIds(); err == nil && adminGID != "" && slices.Contains(groups, adminGID) {
			k.Admin = true
		}
	}
	p := server.Peer{Caller: k}
	// 0 when the peer's process is in a PID namespace the daemon cannot see
	if cred.Pid > 0 {
		if ref, err := proc.Lookup(int(cred.Pid)); err == nil {
			p.Process = &ref
		}
	}
	return p, nil
}

// groupID looks the socket's group up; a missing group is refused with
// the command that creates it.
func groupID(name string) (int, error) {
	g, err := user.LookupGroup(name)
	if err != nil {
		return 0, fmt.Errorf("the socket's group %q does not exist (%v): create it with `sudo ditto init --group %s`, then add the users who may use ditto with `sudo usermod -aG %s USER`", name, err, name, name)
	}
	return strconv.Atoi(g.Gid)
}

// adminGroup returns the admin group's ID, "" for none.
func adminGroup(name string) (string, error) {
	if name == "" {
		return "", nil
	}
	g, err := user.LookupGroup(name)
	if err != nil {
		return "", fmt.Errorf("the admin group %q does not exist (%v): create it (`sudo groupadd %s`), or leave out --admin-group to make root the only admin", name, err, name)
	}
	return g.Gid, nil
}

// EnsureGroup creates the system group name unless it exists.
func EnsureGroup(name string) (created bool, err error) {
	if _, err := user.LookupGroup(name); err == nil {
		return false, nil
	}
	if out, err := exec.Command("groupadd", "--system", name).CombinedOutput(); err != nil {
		return false, fmt.Errorf("creating the group %s: %v: %s (run as root; the name must be a valid group name)", name, err, out)
	}
	return true, nil
}
