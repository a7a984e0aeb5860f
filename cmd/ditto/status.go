package main

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/dittodb/ditto"
)

func statusCommand() *cli.Command {
	return &cli.Command{
		Name:  "status",
		Usage: "show the pool, the current golden and the copies",
		Flags: []cli.Flag{formatFlag("text", "text", "json")},
		Description: `Examples:
   ditto status
   ditto status --format json`,
		Action: func(c *cli.Context) error {
			svc, err := service(c)
			if err != nil {
				return err
			}
			s, err := svc.Status(c.Context)
			if err != nil {
				return err
			}
			if c.String("format") == "json" {
				return printJSON(s)
			}
			fmt.Printf("backend:  %s\npool:     %s\nspace:    %s free of %s (%s used)\n", s.Backend, s.Pool,
				ditto.HumanBytes(s.Usage.Free), ditto.HumanBytes(s.Usage.Size), ditto.HumanBytes(s.Usage.Used))
			if s.LowSpace {
				fmt.Printf("warning:  close to the free-space floor of %s: new copies are refused below it, and a full pool\n"+
					"          stops the servers of running copies; destroy copies you no longer need\n", ditto.HumanBytes(uint64(s.MinFree)))
			}
			if g := s.Golden; g != nil {
				fmt.Printf("golden:   %s, created %s ago\n          from %s (%s)\n", g, time.Since(g.CreatedAt).Round(time.Second), g.Source, g.Format)
			} else {
				fmt.Println("golden:   none yet (run `ditto reseed`)")
			}
			fmt.Printf("goldens:  %d generation(s) kept\ncopies:   %d (%d running)\n", s.Generations, s.Copies, s.Running)
			printReseedStatus(s.Reseed, time.Now())
			if w := s.Warm; w.Target > 0 || w.Copies > 0 {
				ports := make([]string, len(w.Ports))
				for i, p := range w.Ports {
					ports[i] = strconv.Itoa(p)
				}
				fmt.Printf("warm:     %d ready of %d kept (ports %s; %s of memory); creates served warm %d, cold %d\n",
					w.Copies, w.Target, strings.Join(ports, ","), ditto.HumanBytes(w.MemoryBytes), w.ServedWarm, w.ServedCold)
			}
			fmt.Printf("limits:   %s (default of new copies)\n", s.DefaultLimits)
			ids := slices.Sorted(maps.Keys(s.Limits))
			for _, id := range ids {
				fmt.Printf("          copy %s: %s\n", id, s.Limits[id])
			}
			return nil
		},
	}
}

func gcCommand() *cli.Command {
	return &cli.Command{
		Name:  "gc",
		Usage: "remove expired and abandoned copies, unused goldens and crash leftovers; restart down copies",
		Flags: []cli.Flag{formatFlag("text", "text", "json")},
		Description: `Removes copies whose --ttl passed or whose ` + "`copy run`" + ` died, golden generations
that are neither current nor used by a copy, half-built generations of dead
reseeds, and any ditto volume, postgres process or file that no record
explains. Starts again, on their own data, the servers of other copies that
died (as a full pool makes them), once the pool is above its free-space floor;
a copy whose server then fails to start stays down for ` + "`ditto copy start ID`" + `.
Safe to run at any time, also from a timer.

Example:
   ditto gc`,
		Action: func(c *cli.Context) error {
			m, err := openManager(c)
			if err != nil {
				return err
			}
			r := m.GC(c.Context)
			if c.String("format") == "json" {
				if err := printJSON(r); err != nil {
					return err
				}
			} else {
				fmt.Printf("removed %d copies, %d goldens, %d half-built goldens, %d stray volumes, %d stray processes, %d stray files; restarted %d copies\n",
					len(r.Copies), len(r.Goldens), len(r.Building), len(r.Volumes), len(r.Processes), len(r.Files), len(r.Restarted))
			}
			if len(r.Errors) > 0 {
				return fmt.Errorf("gc could not do everything (removals are retried next time):\n  %s", strings.Join(r.Errors, "\n  "))
			}
			return nil
		},
	}
}
