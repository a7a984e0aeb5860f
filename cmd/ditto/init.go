package main

import (
	"github.com/urfave/cli/v2"

	"github.com/dittodb/ditto"
)

func initCommand() *cli.Command {
	return &cli.Command{
		Name:  "init",
		Usage: "create the pool and state directory (once per machine)",
		Description: `Without --path or --dataset, ditto creates the embedded default: a sparse
Btrfs image file (--size, default 20G) in the state directory, loop-mounted at
<home>/pool and re-mounted on demand after a reboot. With --backend zfs and no
--dataset, the embedded default is a ZFS pool on a sparse file in the state
directory (for machines with the ZFS module but no spare disk), imported again
on demand. Running init again is harmless. The choices are kept in
<home>/config.json for every other command.

Examples:
   sudo ditto init
   sudo ditto init --backend btrfs --path /mnt/btrfs/ditto
   sudo ditto init --backend zfs --dataset tank/ditto --port-range 7000-7999
   sudo ditto init --backend zfs --size 100G`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "backend", Value: "btrfs", Usage: "btrfs or zfs"},
			&cli.StringFlag{Name: "path", Usage: "a `DIR` on an existing Btrfs filesystem (default: the embedded image)"},
			&cli.StringFlag{Name: "dataset", Usage: "ZFS parent dataset `POOL/PATH` (created if missing)"},
			&cli.StringFlag{Name: "size", Value: "20G", Usage: "size of the embedded pool image (sparse)"},
			&cli.StringFlag{Name: "pg-user", Usage: "OS `USER` that runs postgres (default: postgres when root)"},
			&cli.StringFlag{Name: "pg-bin", Usage: "PostgreSQL binaries `DIR` (default: newest of /usr/lib/postgresql/*/bin)"},
			&cli.StringFlag{Name: "role", Value: "ditto", Usage: "login role that copies hand out (superuser inside each copy)"},
			&cli.StringFlag{Name: "listen", Value: "127.0.0.1", Usage: "address copies listen on"},
			&cli.StringFlag{Name: "port-range", Value: "5433-6432", Usage: "ports for copies, `MIN-MAX`"},
			&cli.StringFlag{Name: "min-free", Value: "1G", Usage: "refuse new copies when the pool has less free space than this"},
		},
		Action: func(c *cli.Context) error {
			cfg := ditto.DefaultConfig()
			cfg.Backend, cfg.PoolPath, cfg.Dataset = c.String("backend"), c.String("path"), c.String("dataset")
			cfg.PGBin, cfg.Role, cfg.Listen = c.String("pg-bin"), c.String("role"), c.String("listen")
			if u := c.String("pg-user"); u != "" {
				cfg.PGUser = u
			}
			var err error
			if cfg.PortMin, cfg.PortMax, err = ditto.ParsePortRange(c.String("port-range")); err != nil {
				return err
			}
			if cfg.ImageSize, err = ditto.ParseSize(c.String("size")); err != nil {
				return err
			}
			if cfg.MinFree, err = ditto.ParseSize(c.String("min-free")); err != nil {
				return err
			}
			_, err = ditto.Init(c.Context, c.String("home"), cfg, logger(c))
			return err
		},
	}
}
