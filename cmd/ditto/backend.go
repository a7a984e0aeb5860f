package main

import (
	"errors"
	"net"
	"os"
	"os/user"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/dittodb/ditto"
	"github.com/dittodb/ditto/api"
	"github.com/dittodb/ditto/api/client"
	"github.com/dittodb/ditto/daemon"
	"github.com/dittodb/ditto/internal/proc"
)

// service returns what the copy commands run on: the daemon when --server
// (DITTO_SERVER) names one, or when one listens on the default socket and
// no --home was given; otherwise the state directory itself, as root
// (direct mode).
func service(c *cli.Context) (api.Service, error) {
	server := c.String("server")
	if server == "" && !c.IsSet("home") && daemonAt(daemon.DefaultSocket) {
		server = "unix://" + daemon.DefaultSocket
	}
	if server != "" {
		// the token only from the environment: a flag would show it in ps
		cl, err := client.New(server, client.Options{Token: os.Getenv("DITTO_TOKEN"),
			CAFile: c.String("ca-file"), CAFingerprint: c.String("ca-fingerprint")})
		if err != nil {
			return nil, err
		}
		log := logger(c)
		cl.OnBusy = func(e *api.Error, wait time.Duration) {
			log.Warn("the daemon is busy; asking again", "in", wait, "why", e.Message)
		}
		return cl, nil
	}
	m, err := openManager(c)
	if err != nil {
		return nil, err
	}
	k, err := localCaller()
	if err != nil {
		return nil, err
	}
	self := proc.Self()
	return api.Local{M: m, Caller: k, Process: &self}, nil
}

// daemonAt reports whether a daemon answers on the socket at path, or
// might but refuses this user (then the client says why). A socket left
// by a daemon that died is not one.
func daemonAt(path string) bool {
	if fi, err := os.Stat(path); err != nil || fi.Mode()&os.ModeSocket == 0 {
		return false
	}
	conn, err := net.Dial("unix", path)
	if err != nil {
		return errors.Is(err, syscall.EACCES)
	}
	conn.Close()
	return true
}

// localCaller is who runs ditto in direct mode: the user behind sudo, or
// ditto's own user. It owns the copies it creates and, reading the state
// directory itself, sees all of them.
func localCaller() (ditto.Caller, error) {
	as, err := invokingUser()
	if err != nil {
		return ditto.Caller{}, err
	}
	k := ditto.Caller{UID: os.Geteuid(), Admin: true, ReadsRecords: true}
	if as.cred != nil {
		k.UID, k.Name = int(as.cred.Uid), as.name
	} else if u, err := user.Current(); err == nil {
		k.Name = u.Username
	}
	return k, nil
}
