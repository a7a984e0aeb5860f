package main

import (
	"fmt"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/dittodb/ditto"
	"github.com/dittodb/ditto/daemon"
	"github.com/dittodb/ditto/warm"
)

func serveCommand() *cli.Command {
	return &cli.Command{
		Name:  "serve",
		Usage: "run the daemon: copies for users and jobs without root, over a Unix socket",
		Description: `Runs as root and serves ditto's API (docs/api.yaml) on a Unix socket of mode
0660 owned by --group: its members run ` + "`ditto copy run`" + `, copy create, list, get,
reset, start, destroy, env export/destroy and status without sudo (the CLI
uses the daemon when DITTO_SERVER or --server names it, or when it listens
on the default socket and no --home is given). The kernel tells the daemon
each caller's user (SO_PEERCRED): a copy belongs to the user who created it,
users see only their own copies, root and --admin-group see all, and only a
copy's owner (and root) gets its password. Expired and abandoned copies are
removed every few seconds, so the gc timer is not needed while it runs.
SIGTERM or SIGINT stops it once the requests in flight are done; copies
keep running. reseed, gc, init and doctor stay root commands.

Warm copies: the daemon keeps --warm copies of the current golden started
and unclaimed (default 2: each costs an idle server's memory, about 25 MiB,
and a port all the time; two serve a sequence of creates warm, one being
claimed while the other refills). A create that can use one gets it in the
time of a claim, with a fresh password, its statistics reset and an empty
log; ` + "`ditto copy create --help`" + ` says which creates start a server of their
own. The pool refills one copy at a time after a claim, never beside a
create, and waits while a reseed runs, the pool is below its free-space
floor or the port range is full; once a reseed makes another golden
current, warm copies of the old one are destroyed and replaced. ` + "`ditto status`" + `
shows them and what they cost; ` + "`ditto copy list --all`" + ` lists them to
admins. A restarted daemon adopts the warm copies left running; gc removes
them while no daemon runs.

Examples:
   sudo ditto serve
   sudo ditto serve --socket /run/ditto/ditto.sock --group ditto --admin-group wheel
   sudo scripts/install-systemd.sh     # installs and starts ditto.service`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "config", DefaultText: daemon.DefaultConfigFile + " when it exists", Usage: "the daemon's config `FILE` (YAML; keys: socket, group, admin_group, warm); flags override it"},
			&cli.StringFlag{Name: "socket", DefaultText: daemon.DefaultSocket, Usage: "the Unix socket `PATH` to listen on"},
			&cli.StringFlag{Name: "group", DefaultText: "as set by `ditto init --group`, else " + ditto.DefaultGroup, Usage: "the `GROUP` whose members may use the socket (it must exist: `ditto init --group NAME` creates it)"},
			&cli.StringFlag{Name: "admin-group", Usage: "members of `GROUP` see and act on every copy (default: root only)"},
			&cli.IntFlag{Name: "warm", Value: warm.DefaultSize, Usage: "keep `N` warm copies started ahead of any request (0: none)"},
		},
		Action: func(c *cli.Context) error {
			m, err := openManager(c)
			if err != nil {
				return err
			}
			fc, err := serveConfig(c)
			if err != nil {
				return err
			}
			o := daemon.Options{Socket: fc.Socket, Group: fc.Group, AdminGroup: fc.AdminGroup,
				SweepEvery: 5 * time.Second, GCEvery: 5 * time.Minute, Warm: warm.DefaultSize}
			if fc.Warm != nil {
				o.Warm = *fc.Warm
			}
			if c.IsSet("warm") {
				if o.Warm = c.Int("warm"); o.Warm < 0 {
					return fmt.Errorf("--warm %d: give a number of warm copies, 0 or more", o.Warm)
				}
			}
			if o.Socket == "" {
				o.Socket = daemon.DefaultSocket
			}
			if o.Group == "" {
				o.Group = m.Config.ServeGroup()
			}
			return daemon.Serve(c.Context, m, logger(c), o)
		},
	}
}

// serveConfig reads the daemon's config file and applies the flags given
// on the command line over it.
func serveConfig(c *cli.Context) (daemon.FileConfig, error) {
	path, optional := c.String("config"), false
	if path == "" {
		path, optional = daemon.DefaultConfigFile, true
	}
	fc, err := daemon.LoadConfig(path, optional)
	if err != nil {
		return fc, err
	}
	for flag, field := range map[string]*string{"socket": &fc.Socket, "group": &fc.Group, "admin-group": &fc.AdminGroup} {
		if c.IsSet(flag) {
			*field = c.String(flag)
		}
	}
	return fc, nil
}
