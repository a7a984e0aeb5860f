package main

import (
	"fmt"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/urfave/cli/v2"

	"github.com/dittodb/ditto/doctor"
)

func doctorCommand() *cli.Command {
	return &cli.Command{
		Name:  "doctor",
		Usage: "check this machine and the pool, and say how to fix what is wrong",
		Flags: []cli.Flag{formatFlag("text", "text", "json")},
		Description: `Checks, one line each: kernel support (Btrfs, the ZFS module), tools
(btrfs-progs, zfsutils, the PostgreSQL majors installed), permissions, the pool
(settings, mounted, healthy, free space against --min-free), the golden
(present, age, source), stale copies (server down, TTL passed, owner gone),
the daemon (answers on --server or the default socket, same version as
this ditto, its socket's mode and group, whether you may use it) and the
gc timer. Each line says ok, warn, FAIL or skip (not needed here),
and what to do about it. Changes nothing: it does not even mount the
embedded pool. Exits 1 if any check fails.

Examples:
   sudo ditto doctor
   sudo ditto doctor --format json | jq -r '.checks[] | select(.status == "fail") | .fix'`,
		Action: func(c *cli.Context) error {
			r := doctor.Run(c.Context, c.String("home"), c.String("server"), logger(c))
			if c.String("format") == "json" {
				if err := printJSON(r); err != nil {
					return err
				}
			} else {
				printDoctor(r)
			}
			if !r.OK {
				return exitError{1, nil}
			}
			return nil
		},
	}
}

func printDoctor(r *doctor.Report) {
	w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	for _, ch := range r.Checks {
		status := string(ch.Status)
		if ch.Status == doctor.CheckFail {
			status = "FAIL"
		}
		line := ch.Detail
		if ch.Fix != "" {
			line += " -> fix: " + ch.Fix
		}
		fmt.Fprintf(w, "%s\t%s\t%s\n", status, ch.Name, strings.ReplaceAll(line, "\n", " "))
	}
	w.Flush()
	fmt.Printf("%d ok, %d warnings, %d failed, %d skipped (home %s)\n", r.Count(doctor.CheckOK), r.Count(doctor.CheckWarn),
		r.Count(doctor.CheckFail), r.Count(doctor.CheckSkip), r.Home)
}
