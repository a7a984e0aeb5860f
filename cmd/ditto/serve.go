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
keep running. reseed, gc, init, doctor and token stay root commands.

Runners on other machines: --api-listen HOST:PORT serves the API on TCP too,
TLS only (plain HTTP gets no API answer), to bearers of tokens made with
` + "`ditto token create NAME`" + ` (each token owns its copies as a user does; --admin
tokens see all). Without --tls-cert/--tls-key, ditto makes its own CA
(ECDSA P-256, in <home>/tls, logged with its SHA-256 fingerprint) and a
certificate for the --api-host names and the listen address (every address
of the machine when HOST is empty or 0.0.0.0). GET /v1/ca.pem serves the CA
without a token; clients verify the listener with --ca-file (a copy of
<home>/tls/ca.pem) or pin the CA with --ca-fingerprint (the logged
ca_sha256). Copies made over TCP listen on the configured --listen of ditto
init unless that is loopback only, else on HOST (all addresses when empty),
and accept only TLS from other hosts, with a certificate of ditto's CA for
the first --api-host (else the address the client connected to): their URLs
say sslmode=verify-full, and the ditto client adds sslrootcert.

The config file (--config, YAML, writable by root only) may have a reseed:
section; the daemon then reseeds on its schedule, and when an admin runs
` + "`ditto reseed`" + ` without a source (POST /v1/reseed), always from this source:
   reseed:
     source_url: env:PROD_URL     # or file:/etc/ditto/source-url (its first
                                  # line); a literal URL only without password
     # dump: /srv/dumps/app.dump  # instead of source_url
     rules: /etc/ditto/mask.yaml  # masking rules, as --rules
     every: 24h                   # or daily: "03:00" (local time); neither:
                                  # only when an admin asks
     on_failure: [/usr/local/bin/page-ops, ditto reseed failed]
     # also: database, pg_bin, jobs, allow_unmasked, after_restore,
     # keep_dump (as the flags of ditto reseed and DITTO_DUMP_PATH)
Secrets are read at start-up: restart the daemon after changing one. The
schedule counts from the end of the last reseed recorded in the home, so a
restart neither reseeds at once nor skips a run it missed (that one runs at
start). One reseed runs at a time; a failed one keeps the previous golden,
is logged, shows in ` + "`ditto status`" + `, and runs on_failure: an absolute path and its
arguments, no shell, with DITTO_RESEED_ERROR (the error, no password) and
DITTO_HOME as its only environment beside PATH and LANG.

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
   sudo ditto serve --api-listen 10.0.0.5:8443 --api-host db.ci.example.com
   sudo scripts/install-systemd.sh     # installs and starts ditto.service`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "config", DefaultText: daemon.DefaultConfigFile + " when it exists", Usage: "the daemon's config `FILE` (YAML; keys: socket, group, admin_group, max_starts, max_queue, warm, reseed, api_listen, tls_cert, tls_key, api_hosts (a list)); flags override it"},
			&cli.StringFlag{Name: "socket", DefaultText: daemon.DefaultSocket, Usage: "the Unix socket `PATH` to listen on"},
			&cli.StringFlag{Name: "group", DefaultText: "as set by `ditto init --group`, else " + ditto.DefaultGroup, Usage: "the `GROUP` whose members may use the socket (it must exist: `ditto init --group NAME` creates it)"},
			&cli.StringFlag{Name: "admin-group", Usage: "members of `GROUP` see and act on every copy (default: root only)"},
			&cli.IntFlag{Name: "max-starts", DefaultText: "2 per CPU", Usage: "copies that start at once (create, reset, start); more wait their turn"},
			&cli.IntFlag{Name: "max-queue", DefaultText: "64", Usage: "requests that wait their turn; beyond, callers are told to retry (busy, Retry-After), which the CLI does for up to 2 minutes"},
			&cli.StringFlag{Name: "api-listen", Usage: "also serve the API on TCP `HOST:PORT`, TLS only, to bearers of tokens (ditto token create)"},
			&cli.StringFlag{Name: "tls-cert", Usage: "the TCP listener's certificate `FILE` (PEM; default: one issued by ditto's CA)"},
			&cli.StringFlag{Name: "tls-key", Usage: "the key `FILE` of --tls-cert (PEM)"},
			&cli.StringSliceFlag{Name: "api-host", Usage: "a `NAME` or address clients reach this machine by: in the issued certificates, the first also in the URLs of copies made over TCP (repeatable)"},
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
			if (fc.TLSCert == "") != (fc.TLSKey == "") {
				return fmt.Errorf("give both --tls-cert and --tls-key, or neither (ditto's CA then issues the certificate)")
			}
			o := daemon.Options{Socket: fc.Socket, Group: fc.Group, AdminGroup: fc.AdminGroup,
				MaxStarts: fc.MaxStarts, MaxQueue: fc.MaxQueue,
				APIListen: fc.APIListen, TLSCert: fc.TLSCert, TLSKey: fc.TLSKey, APIHosts: fc.APIHosts,
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
			if fc.Reseed != nil {
				if o.Reseed, err = fc.Reseed.Reseeding(); err != nil {
					return fmt.Errorf("the daemon's config: %w", err)
				}
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
	for flag, field := range map[string]*string{"socket": &fc.Socket, "group": &fc.Group, "admin-group": &fc.AdminGroup,
		"api-listen": &fc.APIListen, "tls-cert": &fc.TLSCert, "tls-key": &fc.TLSKey} {
		if c.IsSet(flag) {
			*field = c.String(flag)
		}
	}
	for flag, field := range map[string]*int{"max-starts": &fc.MaxStarts, "max-queue": &fc.MaxQueue} {
		if c.IsSet(flag) {
			*field = c.Int(flag)
		}
	}
	if fc.MaxStarts < 0 || fc.MaxQueue < 0 {
		return fc, fmt.Errorf("invalid max_starts %d or max_queue %d: give a positive number, or leave it out for the default", fc.MaxStarts, fc.MaxQueue)
	}
	if c.IsSet("api-host") {
		fc.APIHosts = c.StringSlice("api-host")
	}
	return fc, nil
}
