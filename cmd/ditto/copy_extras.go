package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/dittodb/ditto"
	"github.com/dittodb/ditto/api"
)

func copyExtendCommand() *cli.Command {
	return &cli.Command{
		Name:      "extend",
		Usage:     "set a copy to expire a new TTL from now",
		ArgsUsage: "ID --ttl DURATION",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "ttl", Usage: "the copy expires this `DURATION` from now (e.g. 30m, 2h; 0 = never)"},
			formatFlag("text", "text", "json"),
		},
		Description: `Sets the copy's expiry to now + --ttl, whether that is later or sooner than
before. Prints the new expiry (or "never"). Through the daemon, a user may
extend their own copies, an admin any copy.

Examples:
   ditto copy extend 3f9a01bc --ttl 30m
   ditto copy extend 3f9a01bc --ttl 0 --format json`,
		Action: func(c *cli.Context) error {
			svc, id, err := serviceForOne(c)
			if err != nil {
				return err
			}
			v, err := svc.Extend(c.Context, id, api.ExtendRequest{TTL: c.String("ttl")})
			if err != nil {
				return err
			}
			return printAs(c, v, func() {
				if v.ExpiresAt == nil {
					fmt.Println("never")
				} else {
					fmt.Println(v.ExpiresAt.Format(time.RFC3339))
				}
			})
		},
	}
}

func copyEventsCommand() *cli.Command {
	return &cli.Command{
		Name:      "events",
		Usage:     "show what happened to a copy, and who did it",
		ArgsUsage: "ID",
		Flags:     []cli.Flag{formatFlag("table", "table", "json")},
		Description: `Lists a copy's events, oldest first: created, ready, reset, started,
extended, expired, destroyed, each with when and who (a user, or "ttl" when
its TTL passed, or "gc" when its process died). They stay readable for 7
days after the copy is destroyed, to its owner and admins.

Examples:
   ditto copy events 3f9a01bc
   ditto copy events 3f9a01bc --format json`,
		Action: func(c *cli.Context) error {
			svc, id, err := serviceForOne(c)
			if err != nil {
				return err
			}
			es, err := svc.Events(c.Context, id)
			if err != nil {
				return err
			}
			return printAs(c, es, func() { printEvents(es) })
		},
	}
}

// printAs prints v as JSON with --format json, else as text does.
func printAs(c *cli.Context, v any, text func()) error {
	if c.String("format") == "json" {
		return printJSON(v)
	}
	text()
	return nil
}

func printEvents(es []ditto.Event) {
	w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "TIME\tEVENT\tBY\tDETAIL")
	for _, e := range es {
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", e.Time.Local().Format(time.RFC3339), e.Type, e.Actor, e.Detail)
	}
	w.Flush()
}

func copyLogsCommand() *cli.Command {
	return &cli.Command{
		Name:      "logs",
		Usage:     "print a copy's server log",
		ArgsUsage: "ID",
		Flags:     []cli.Flag{&cli.BoolFlag{Name: "follow", Aliases: []string{"f"}, Usage: "keep printing what the server writes until the copy is destroyed or ditto is interrupted"}},
		Description: `Prints the PostgreSQL server log of a copy (its owner's or, for an admin,
any copy's).

Examples:
   ditto copy logs 3f9a01bc
   ditto copy logs 3f9a01bc --follow`,
		Action: func(c *cli.Context) error {
			svc, id, err := serviceForOne(c)
			if err != nil {
				return err
			}
			rc, err := svc.Logs(c.Context, id, c.Bool("follow"))
			if err != nil {
				return err
			}
			defer rc.Close()
			_, err = io.Copy(os.Stdout, rc)
			if c.Context.Err() != nil {
				return nil // interrupted: the end of a --follow
			}
			return err
		},
	}
}

// flagsAfterArg applies the flags given after a command's first argument
// (ditto copy extend ID --ttl 30m): the command line parser stops at the
// first argument. It leaves only the argument.
func flagsAfterArg(c *cli.Context) error {
	rest := c.Args().Tail()
	if len(rest) == 0 {
		return nil
	}
	set := flag.NewFlagSet(c.Command.Name, flag.ContinueOnError)
	set.SetOutput(io.Discard)
	for _, f := range c.Command.Flags {
		if err := f.Apply(set); err != nil {
			return err
		}
	}
	if err := set.Parse(rest); err != nil {
		return fmt.Errorf("%v (see `ditto %s --help`)", err, c.Command.HelpName)
	}
	if set.NArg() > 0 {
		return errors.New("give exactly one copy ID (see `ditto copy list`)")
	}
	var err error
	set.Visit(func(f *flag.Flag) {
		if err == nil {
			err = c.Set(f.Name, f.Value.String())
		}
		for _, cf := range c.Command.Flags {
			if sf, ok := cf.(*cli.StringFlag); ok && sf.Name == f.Name && sf.Action != nil && err == nil {
				err = sf.Action(c, f.Value.String())
			}
		}
	})
	return err
}
