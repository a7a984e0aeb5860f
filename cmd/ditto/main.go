// Command ditto gives every test run, CI job and migration rehearsal its own
// real, throw-away PostgreSQL database, cloned in milliseconds from a golden
// copy on a copy-on-write filesystem.
//
// This package only wires flags, output formats and exit codes to the ditto
// package; all behaviour lives there.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/hashicorp/go-hclog"
	"github.com/urfave/cli/v2"

	"github.com/dittodb/ditto"
	"github.com/dittodb/ditto/daemon"
	"github.com/dittodb/ditto/sandbox"

	// the storage backends ditto can open, registered by their packages
	_ "github.com/dittodb/ditto/storage/btrfs"
	_ "github.com/dittodb/ditto/storage/zfs"
)

func main() {
	sandbox.Main() // ditto re-executed as a copy's sandbox init
	os.Exit(run(os.Args))
}

// exitError carries a specific exit code (copy run passes its command's).
type exitError struct {
	code int
	err  error
}

func (e exitError) Error() string { return e.err.Error() }

func run(args []string) int {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	err := newApp().RunContext(ctx, args)
	if err == nil {
		return 0
	}
	var ee exitError
	if errors.As(err, &ee) {
		if ee.err != nil {
			fmt.Fprintln(os.Stderr, "ditto:", ee.err)
		}
		return ee.code
	}
	fmt.Fprintln(os.Stderr, "ditto:", err)
	return 1
}

func newApp() *cli.App {
	return &cli.App{
		Name:  "ditto",
		Usage: "a real, throw-away PostgreSQL database for every test run, in milliseconds",
		Description: `ditto restores your database once into a golden copy on a copy-on-write
filesystem (Btrfs or ZFS); every copy is an instant writable clone of it with
its own postgres server, port and password.

   ditto init                      # once: an embedded Btrfs pool in /var/lib/ditto
   ditto reseed --dump prod.dump   # build the golden (or --source-url URL)
   ditto copy run -- go test ./... # a copy for one command, destroyed afterwards
   eval "$(ditto env export)"      # a copy for this shell

With a daemon (` + "`ditto serve`" + `, scripts/install-systemd.sh), members of its group
run the copy commands, env and status without sudo.

Results (URLs, JSON, export lines) go to stdout; logs and progress to stderr.`,
		EnableBashCompletion: true,
		Version:              version(),
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "home", Value: ditto.DefaultHome, EnvVars: []string{"DITTO_HOME"}, Usage: "state `DIR` holding the settings, records and embedded pool"},
			&cli.StringFlag{Name: "log-level", Value: "info", EnvVars: []string{"DITTO_LOG_LEVEL"}, Usage: "trace, debug, info, warn or error"},
			&cli.BoolFlag{Name: "log-json", EnvVars: []string{"DITTO_LOG_JSON"}, Usage: "log as JSON lines"},
			&cli.StringFlag{Name: "server", EnvVars: []string{"DITTO_SERVER"}, Usage: "the daemon to use, `unix:///PATH` of its socket (default: " + daemon.DefaultSocket + " when a daemon listens there and no --home is given; else direct mode)"},
		},
		Commands: []*cli.Command{
			initCommand(),
			reseedCommand(),
			dumpCommand(),
			maskCommand(),
			copyCommand(),
			envCommand(),
			statusCommand(),
			gcCommand(),
			serveCommand(),
			doctorCommand(),
			completionCommand(),
		},
		Before: func(c *cli.Context) error {
			if hclog.LevelFromString(c.String("log-level")) == hclog.NoLevel {
				return fmt.Errorf("invalid --log-level %q: use trace, debug, info, warn or error", c.String("log-level"))
			}
			return nil
		},
		// Errors are printed once, by run, with the right exit code.
		ExitErrHandler: func(*cli.Context, error) {},
	}
}

func logger(c *cli.Context) hclog.Logger {
	return hclog.New(&hclog.LoggerOptions{
		Name:       "ditto",
		Level:      hclog.LevelFromString(c.String("log-level")),
		JSONFormat: c.Bool("log-json"),
		Output:     os.Stderr,
	})
}

// openManager opens the state directory made by `ditto init`.
func openManager(c *cli.Context) (*ditto.Manager, error) {
	return ditto.Open(c.Context, c.String("home"), logger(c))
}

func formatFlag(def string, allowed ...string) *cli.StringFlag {
	return &cli.StringFlag{Name: "format", Value: def, Usage: fmt.Sprintf("output format: %v", allowed),
		Action: func(_ *cli.Context, v string) error {
			for _, a := range allowed {
				if v == a {
					return nil
				}
			}
			return fmt.Errorf("invalid --format %q: use one of %v", v, allowed)
		}}
}
