package main

import (
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/dittodb/ditto"
	"github.com/dittodb/ditto/api"
)

func copyCommand() *cli.Command {
	return &cli.Command{
		Name:  "copy",
		Usage: "create, run with, list, start, reset and destroy copies",
		Description: `A copy is a writable snapshot of the current golden with its own postgres
server, port and password, listening on 127.0.0.1.

Examples:
   ditto copy run -- go test ./...
   url=$(ditto copy create --ttl 30m) && psql "$url"
   ditto copy list
   ditto copy start 3f9a01bc
   ditto copy destroy 3f9a01bc`,
		Subcommands: []*cli.Command{
			{
				Name:  "create",
				Usage: "make a copy of the current golden and print how to reach it",
				Description: `Clones the current golden and starts its own postgres on a free port, with
its own password, listening on 127.0.0.1. Prints the URL once the server
accepts connections. The copy lives until its --ttl passes (then ` + "`ditto gc`" + `
removes it) or until ` + "`ditto copy destroy ID`" + `.

In CI (GitHub Actions, GitLab CI, Buildkite, CircleCI, Jenkins), labels
ci.provider, ci.job, ci.run_id, ... say which run made the copy (a --label
of the same KEY wins); ` + "`ditto copy list`" + ` shows them.

Through a daemon that keeps warm copies (` + "`ditto serve --warm N`" + `), the copy
is one of them when there is one: started before you asked, it is handed over
with a new password, its statistics reset and its log emptied, its TTL
counted from now. --durable, --set and a --listen other than the default
need settings at the server's start, so such a create always starts a
server of its own (as does every create in direct mode).

Examples:
   url=$(ditto copy create --ttl 30m)
   ditto copy create --format json --label job=$CI_JOB_ID
   eval "$(ditto copy create --format env)"`,
				Flags: append(createFlags(), formatFlag("dsn", "dsn", "json", "env")),
				Action: func(c *cli.Context) error {
					svc, req, err := openForCreate(c)
					if err != nil {
						return err
					}
					v, err := svc.Create(c.Context, req)
					if err != nil {
						return err
					}
					return printCopy(c, v)
				},
			},
			{
				Name:      "run",
				Usage:     "run a command against its own copy, then destroy the copy",
				ArgsUsage: "-- CMD [ARGS...]",
				Description: `Creates a copy, runs CMD with DATABASE_URL, DITTO_COPY_ID and PGHOST, PGPORT,
PGUSER, PGPASSWORD, PGDATABASE set (and DISABLE_DATABASE_ENVIRONMENT_CHECK=1:
Rails' tasks refuse a database restored from production otherwise; a copy is
disposable), forwards SIGINT and SIGTERM to it,
destroys the copy when it ends and exits with CMD's exit code (128+N if signal
N killed it; 125 if ditto itself failed or the copy was destroyed while CMD
ran, 127 if CMD was not found).

Under sudo, CMD runs as the user who called sudo (SUDO_UID, SUDO_GID), not
as root. CMD inherits the environment without ditto's own DITTO_ variables
(the source URL, masking key, ...) except DITTO_HOME and the log settings.
The copy lives as long as CMD runs, whatever --ttl says; the TTL bounds only
a copy kept by --keep-on-failure.

Examples:
   ditto copy run -- go test ./...
   go test -p 4 -exec "ditto copy run --env-name PGX_TEST_DATABASE --" ./...
   ditto copy run --keep-on-failure -- ./migrate up`,
				Flags: append(createFlags(),
					&cli.StringSliceFlag{Name: "env-name", Usage: "also export the URL under this `NAME` (repeatable)"},
					&cli.BoolFlag{Name: "keep-on-failure", Usage: "keep the copy when CMD fails, and print how to reach and destroy it"},
				),
				Action: func(c *cli.Context) error {
					svc, req, err := openForCreate(c)
					if err != nil {
						return exitError{exitRunFailed, err}
					}
					code, err := runWithCopy(c.Context, svc, logger(c), runOptions{
						create: req, command: c.Args().Slice(),
						envNames: c.StringSlice("env-name"), keepOnFailure: c.Bool("keep-on-failure"),
					})
					if err != nil || code != 0 {
						return exitError{code, err}
					}
					return nil
				},
			},
			{
				Name:  "list",
				Usage: "list copies",
				Flags: []cli.Flag{formatFlag("table", "table", "json"),
					&cli.BoolFlag{Name: "all", Usage: "for admins: add the daemon's warm copies (state warm, owner -1), started ahead of any request"}},
				Description: `Shows each copy's state (running, down when its server died, or a
transitional state), port, golden, age and expiry. ` + "`ditto copy start ID`" + `
brings a down copy back with its data.

Through the daemon, a user sees their own copies, an admin every copy. The
list never carries passwords: ` + "`ditto copy get ID`" + ` gives a copy's URL to
its owner.

Examples:
   ditto copy list
   ditto copy list --format json | jq -r '.[].id'`,
				Action: func(c *cli.Context) error {
					svc, err := service(c)
					if err != nil {
						return err
					}
					copies, err := svc.List(c.Context, c.Bool("all"))
					if err != nil {
						return err
					}
					if c.String("format") == "json" {
						return printJSON(copies)
					}
					printTable(copies)
					return nil
				},
			},
			{
				Name:      "get",
				Usage:     "print how to reach a copy",
				ArgsUsage: "ID",
				Flags:     []cli.Flag{formatFlag("dsn", "dsn", "json", "env")},
				Description: `Prints the copy's URL (or its JSON view, or export lines). Only the copy's
owner gets its password.

Examples:
   psql "$(ditto copy get 3f9a01bc)"
   ditto copy get 3f9a01bc --format json`,
				Action: func(c *cli.Context) error {
					svc, id, err := serviceForOne(c)
					if err != nil {
						return err
					}
					v, err := svc.Get(c.Context, id)
					if err != nil {
						return err
					}
					return printCopy(c, v)
				},
			},
			{
				Name:      "destroy",
				Usage:     "stop copies and remove them",
				ArgsUsage: "ID...",
				Description: `Example:
   ditto copy destroy 3f9a01bc`,
				Action: func(c *cli.Context) error {
					if c.NArg() == 0 {
						return fmt.Errorf("which copy? give one or more IDs (see `ditto copy list`)")
					}
					svc, err := service(c)
					if err != nil {
						return err
					}
					var failed []string
					for _, id := range c.Args().Slice() {
						if err := svc.Destroy(c.Context, id); err != nil {
							fmt.Fprintln(os.Stderr, "ditto:", err)
							failed = append(failed, id)
						}
					}
					if len(failed) > 0 {
						return exitError{1, nil}
					}
					return nil
				},
			},
			{
				Name:      "start",
				Usage:     "start the server of a down copy again, on the copy's own data",
				ArgsUsage: "ID",
				Flags:     []cli.Flag{formatFlag("dsn", "dsn", "json", "env")},
				Description: `Starts the server of a copy whose server died (killed, or stopped because
the pool ran out of space) again on the copy's own data, with the same port,
password and settings, and prints the URL once it accepts connections.
PostgreSQL replays its write-ahead log first, so what the copy had committed
is kept. A copy whose server runs is left as it is. ` + "`ditto gc`" + ` (and every
` + "`ditto copy create`" + `) does this by itself once the pool is above its
free-space floor, but not again for a copy whose server failed to start.

Examples:
   ditto copy start 3f9a01bc
   psql "$(ditto copy start 3f9a01bc)"`,
				Action: func(c *cli.Context) error {
					svc, id, err := serviceForOne(c)
					if err != nil {
						return err
					}
					r, err := svc.Start(c.Context, id)
					if err != nil {
						return err
					}
					if !r.Started {
						logger(c).Info("the copy's server is running already", "id", r.ID)
					}
					return printCopy(c, r.Copy)
				},
			},
			{
				Name:      "reset",
				Usage:     "put a copy back to the current golden (same port and password)",
				ArgsUsage: "ID",
				Flags:     []cli.Flag{formatFlag("dsn", "dsn", "json", "env")},
				Description: `Throws away everything written to the copy and restarts it on a fresh clone
of the current golden, keeping its ID, port and password: clients only need
to reconnect.

Example:
   ditto copy reset 3f9a01bc`,
				Action: func(c *cli.Context) error {
					svc, id, err := serviceForOne(c)
					if err != nil {
						return err
					}
					v, err := svc.Reset(c.Context, id)
					if err != nil {
						return err
					}
					return printCopy(c, v)
				},
			},
			copyExtendCommand(),
			copyEventsCommand(),
			copyLogsCommand(),
		},
	}
}

func createFlags() []cli.Flag {
	return append([]cli.Flag{
		&cli.StringFlag{Name: "ttl", Value: "24h", Usage: "remove the copy after this `DURATION` (e.g. 30m, 2h; 0 = never)"},
		&cli.StringSliceFlag{Name: "label", Usage: "attach `KEY=VALUE` (repeatable, up to 32; KEY: up to 63 of A-Z a-z 0-9 _ . - /; VALUE: up to 256 printable characters)"},
		&cli.StringFlag{Name: "listen", Usage: "addresses the copy listens on: `ADDR`s of this machine, comma-separated, or * for all (default: as set by init, 127.0.0.1)"},
		&cli.BoolFlag{Name: "durable", Usage: "keep fsync, synchronous_commit and full_page_writes on"},
		&cli.StringSliceFlag{Name: "set", Usage: "server setting `NAME=VALUE` for this copy, e.g. shared_buffers=1GB or log_statement=all (repeatable; wins over ditto's defaults)"},
	}, limitFlags("the copy", " (default: as set by init, none unless set)")...)
}

// openForCreate checks the create flags, before anything is opened, and
// returns the service to create on and the request.
func openForCreate(c *cli.Context) (api.Service, api.CreateRequest, error) {
	req := api.CreateRequest{TTL: c.String("ttl"), Listen: c.String("listen"), Durable: c.Bool("durable"), Settings: c.StringSlice("set")}
	if _, err := ditto.ParseTTL(req.TTL); err != nil {
		return nil, req, err
	}
	var err error
	if req.Labels, err = parseLabels(c.StringSlice("label")); err != nil {
		return nil, req, err
	}
	req.Labels = api.WithCILabels(req.Labels, os.Getenv)
	if _, err := ditto.ParseSettings(req.Settings); err != nil {
		return nil, req, err
	}
	if req.Limits, err = parseLimits(c); err != nil {
		return nil, req, err
	}
	svc, err := service(c)
	return svc, req, err
}

// serviceForOne is service for a command that takes exactly one copy ID.
func serviceForOne(c *cli.Context) (api.Service, string, error) {
	if c.NArg() == 0 {
		return nil, "", fmt.Errorf("give exactly one copy ID (see `ditto copy list`)")
	}
	if err := flagsAfterArg(c); err != nil {
		return nil, "", err
	}
	svc, err := service(c)
	return svc, c.Args().First(), err
}

func parseLabels(kvs []string) (map[string]string, error) {
	if len(kvs) == 0 {
		return nil, nil
	}
	labels := map[string]string{}
	for _, kv := range kvs {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("invalid --label %q: want KEY=VALUE", kv)
		}
		if _, dup := labels[k]; dup {
			return nil, fmt.Errorf("--label %s is given twice: give each KEY once", k)
		}
		labels[k] = v
	}
	return labels, nil
}

// printCopy prints a copy in the command's --format. A view without its
// URL (an admin's answer about another user's copy) has no dsn or env.
func printCopy(c *cli.Context, v api.Copy) error {
	format := c.String("format")
	if format != "json" && v.DatabaseURL == "" {
		logger(c).Info("only the copy's owner gets its URL; --format json shows the rest", "id", v.ID, "owner", v.Owner)
		return nil
	}
	switch format {
	case "json":
		return printJSON(v)
	case "env":
		printExports(v.Env())
	default:
		fmt.Println(v.DatabaseURL)
	}
	return nil
}

// printExports prints `export NAME='value'` lines for eval in a shell.
func printExports(env []string) {
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		fmt.Printf("export %s=%s\n", k, shellQuote(v))
	}
}

func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

func printJSON(v any) error {
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func printTable(copies []api.Copy) {
	w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "ID\tSTATE\tOWNER\tPORT\tGOLDEN\tAGE\tEXPIRES IN\tLABELS")
	now := time.Now()
	for _, cp := range copies {
		expires := "never"
		if cp.ExpiresAt != nil {
			expires = cp.ExpiresAt.Sub(now).Round(time.Second).String()
		}
		var labels []string
		for k, v := range cp.Labels {
			labels = append(labels, k+"="+v)
		}
		owner := cp.Owner
		if owner == "" {
			owner = strconv.Itoa(cp.OwnerUID)
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%d\t%s\t%s\t%s\t%s\n", cp.ID, cp.State, owner, cp.Port, cp.Golden,
			now.Sub(cp.CreatedAt).Round(time.Second), expires, strings.Join(labels, ","))
	}
	w.Flush()
}
