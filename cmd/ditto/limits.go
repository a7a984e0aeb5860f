package main

import (
	"fmt"
	"strconv"

	"github.com/urfave/cli/v2"

	"github.com/dittodb/ditto"
)

// limitFlags are the caps of one copy: on copy create and run for that
// copy, on init as the defaults of every new copy (note says so).
func limitFlags(of, note string) []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "memory", Usage: "cap the memory of " + of + "'s server and what it runs at `SIZE` (e.g. 512M; swap not allowed on top)" + note},
		&cli.StringFlag{Name: "cpus", Usage: "cap the CPU time of " + of + "'s server at `N` CPUs (fractions allowed, e.g. 0.5)" + note},
		&cli.StringFlag{Name: "max-processes", Usage: "cap the processes (and threads) of " + of + "'s server at `N` (at least 16)" + note},
		&cli.StringFlag{Name: "max-size", Usage: "cap what " + of + " may write at `SIZE`, the golden's data it shares not counted (ZFS only)" + note},
	}
}

// parseLimits reads the limit flags; those not given stay 0.
func parseLimits(c *cli.Context) (ditto.Limits, error) {
	var l ditto.Limits
	var err error
	if s := c.String("max-processes"); s != "" {
		if l.MaxProcesses, err = strconv.Atoi(s); err != nil {
			return l, fmt.Errorf("invalid --max-processes %q: give a number of processes, at least 16, e.g. --max-processes 100", s)
		}
	}
	if s := c.String("memory"); s != "" {
		if l.Memory, err = ditto.ParseSize(s); err != nil {
			return l, fmt.Errorf("--memory: %w", err)
		}
	}
	if s := c.String("cpus"); s != "" {
		if l.CPUs, err = ditto.ParseCPUs(s); err != nil {
			return l, err
		}
	}
	if s := c.String("max-size"); s != "" {
		if l.MaxSize, err = ditto.ParseSize(s); err != nil {
			return l, fmt.Errorf("--max-size: %w", err)
		}
	}
	return l, l.Validate()
}
