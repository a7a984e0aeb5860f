package doctor

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/user"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/dittodb/ditto"
	"github.com/dittodb/ditto/api/client"
	"github.com/dittodb/ditto/daemon"
)

const startDaemon = "sudo systemctl restart ditto (journalctl -u ditto says why it stopped), or sudo ditto serve"

// daemonCheck checks the daemon the CLI would use: whether one answers on the
// socket that server names (--server, DITTO_SERVER) or on the default
// one, whether it runs this build of ditto, and whether this user may use
// its socket. Without a daemon named or found, the copy commands run in
// direct mode, as root.
func (d *doctor) daemonCheck(server string) {
	given := server != ""
	if !given {
		server = "unix://" + daemon.DefaultSocket
	}
	c, err := client.New(server, client.Options{Token: os.Getenv("DITTO_TOKEN"),
		CAFile: os.Getenv("DITTO_CA_FILE"), CAFingerprint: os.Getenv("DITTO_CA_FINGERPRINT")})
	if err != nil {
		d.add("daemon", CheckFail, err.Error(), "set DITTO_SERVER (or --server) to unix:///PATH of the daemon's socket, or unset it for direct mode")
		return
	}
	if sock, ok := strings.CutPrefix(server, "unix://"); ok && !d.socketUsable(sock, given) {
		return
	}
	ctx, cancel := context.WithTimeout(d.ctx, 10*time.Second)
	defer cancel()
	h, err := c.Health(ctx)
	if err != nil {
		status := CheckWarn // the CLI falls back to direct mode
		if given {
			status = CheckFail
		}
		d.add("daemon", status, fmt.Sprintf("no daemon answers on %s (a socket left by a daemon that died?): %v", server, err), startDaemon)
		return
	}
	if h.Version != ditto.Version() {
		d.add("daemon", CheckWarn, fmt.Sprintf("the daemon on %s runs ditto %s, this ditto is %s", server, h.Version, ditto.Version()),
			"restart the daemon after an upgrade (sudo systemctl restart ditto), or use the ditto it was built with")
		return
	}
	d.daemonServes = true
	d.add("daemon", CheckOK, fmt.Sprintf("ditto %s answers on %s, the same version as this ditto; it removes expired copies itself", h.Version, server), "")
}

// socketUsable reports whether the daemon's socket exists and this user
// may connect to it; if not, it adds the check that says why.
func (d *doctor) socketUsable(sock string, given bool) bool {
	fi, err := os.Stat(sock)
	switch {
	case errors.Is(err, fs.ErrNotExist) && !given:
		d.add("daemon", CheckSkip, "no daemon on "+sock+": the copy commands run in direct mode, as root",
			"to use ditto without sudo: sudo scripts/install-systemd.sh (starts ditto serve), then sudo usermod -aG ditto $USER")
		return false
	case err != nil:
		d.add("daemon", CheckFail, fmt.Sprintf("DITTO_SERVER names %s: %v", sock, err), startDaemon+"; or unset DITTO_SERVER for direct mode")
		return false
	case fi.Mode()&os.ModeSocket == 0:
		d.add("daemon", CheckFail, sock+" is not a socket", "remove it and start the daemon: "+startDaemon)
		return false
	case !d.socketAccess(sock, fi):
		d.add("daemon", CheckSkip, "whether a daemon answers on "+sock+" is unknown: this user may not use its socket", "")
		return false
	}
	return true
}

// socketAccess checks the socket's mode and group and whether this
// process may connect to it, and says how to get there if not.
func (d *doctor) socketAccess(sock string, fi os.FileInfo) bool {
	st, _ := fi.Sys().(*syscall.Stat_t)
	if st == nil {
		return true
	}
	group := strconv.Itoa(int(st.Gid))
	if g, err := user.LookupGroupId(group); err == nil {
		group = g.Name
	}
	mode := fi.Mode().Perm()
	detail := fmt.Sprintf("socket %s: mode %04o, owner uid %d, group %s", sock, mode, st.Uid, group)
	if mode&0o006 != 0 {
		d.add("daemon.access", CheckWarn, detail+": every user of this machine may use the daemon, not only the group's members",
			fmt.Sprintf("chmod 0660 %s (ditto serve makes it so when it starts)", sock))
		return unix.Access(sock, unix.R_OK|unix.W_OK) == nil
	}
	if unix.Access(sock, unix.R_OK|unix.W_OK) == nil {
		who := "root"
		if os.Geteuid() != 0 {
			who = "a member of group " + group
		}
		d.add("daemon.access", CheckOK, detail+"; this user may use it ("+who+")", "")
		return true
	}
	if mode&0o060 != 0o060 {
		d.add("daemon.access", CheckFail, detail+": not even the group's members may use it",
			fmt.Sprintf("chmod 0660 %s, or restart the daemon (sudo systemctl restart ditto), which sets it", sock))
		return false
	}
	name := strconv.Itoa(os.Getuid())
	if u, err := user.Current(); err == nil {
		name = u.Username
		if gids, err := u.GroupIds(); err == nil && slices.Contains(gids, strconv.Itoa(int(st.Gid))) {
			d.add("daemon.access", CheckFail, detail+"; "+name+" is in group "+group+", but this session started before joining it",
				"log out and in again (or run newgrp "+group+")")
			return false
		}
	}
	d.add("daemon.access", CheckFail, detail+"; "+name+" is not in group "+group+", so may not use it",
		"sudo usermod -aG "+group+" "+name+", then log out and in again")
	return false
}
