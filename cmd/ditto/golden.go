package main

import (
	"fmt"
	"os"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/dittodb/ditto"
)

func goldenCommand() *cli.Command {
	return &cli.Command{
		Name:  "golden",
		Usage: "show the golden generations kept",
		Description: `Examples:
   ditto golden list
   ditto golden list --format json`,
		Subcommands: []*cli.Command{
			{
				Name:  "list",
				Usage: "list the goldens: the current one, and older ones kept for the copies still using them",
				Flags: []cli.Flag{formatFlag("table", "table", "json")},
				Description: `Lists the golden generations in the pool, newest first: when each was made,
its size, where its data came from (a dump or a source URL), whether it was
masked, and how many copies use it (through the daemon, a user's own). gc
removes a generation once it is not current and no copy uses it.

Examples:
   ditto golden list
   ditto golden list --format json`,
				Action: func(c *cli.Context) error {
					svc, err := service(c)
					if err != nil {
						return err
					}
					gs, err := svc.Goldens(c.Context)
					if err != nil {
						return err
					}
					return printAs(c, gs, func() { printGoldens(gs) })
				},
			},
		},
	}
}

func printGoldens(gs []ditto.GoldenInfo) {
	w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "GENERATION\tCURRENT\tAGE\tSIZE\tSOURCE\tMASKED\tCOPIES")
	for _, g := range gs {
		current, age, size := "", "?", "?"
		if g.Current {
			current = "*"
		}
		if !g.CreatedAt.IsZero() {
			age = time.Since(g.CreatedAt).Round(time.Second).String()
		}
		if g.Bytes > 0 {
			size = ditto.HumanBytes(g.Bytes)
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%d\n", g.Generation, current, age, size, g.SourceKind, strconv.FormatBool(g.Masked), g.Copies)
	}
	w.Flush()
}
