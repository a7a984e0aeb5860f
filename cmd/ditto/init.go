package main

import (
	"github.com/urfave/cli/v2"

	"github.com/dittodb/ditto"
	"github.com/dittodb/ditto/daemon"
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
on demand. The choices are kept in <home>/config.json for every other command.

Running init again on the same home changes only what its flags say:
--port-range, --min-free, --listen, --group, --sandbox, --pg-bin and the default limits
(--memory, --cpus, --max-processes, --max-size) are saved and apply to new
copies (--pg-bin: to the next reseed); copies that exist keep their port and
address. --role, --pg-user, --size, --backend, --path and --dataset are what
the pool and golden are built on: a different value is refused, with the
reason. Without flags, init only checks the pool (and mounts it if needed).

Examples:
   sudo ditto init
   sudo ditto init --backend btrfs --path /mnt/btrfs/ditto
   sudo ditto init --backend zfs --dataset tank/ditto --port-range 7000-7999
   sudo ditto init --backend zfs --size 100G
   sudo ditto init --min-free 512M        # later: lower the free-space floor
   sudo ditto init --group devs           # who may use ditto serve's socket
   sudo ditto init --memory 1G --cpus 2   # caps of every new copy that gives none`,
		Flags: append([]cli.Flag{
			&cli.StringFlag{Name: "backend", Value: "btrfs", Usage: "btrfs or zfs"},
			&cli.StringFlag{Name: "path", Usage: "a `DIR` on an existing Btrfs filesystem (default: the embedded image)"},
			&cli.StringFlag{Name: "dataset", Usage: "ZFS parent dataset `POOL/PATH` (created if missing)"},
			&cli.StringFlag{Name: "size", Value: "20G", Usage: "size of the embedded pool image (sparse)"},
			&cli.StringFlag{Name: "pg-user", Usage: "OS `USER` that runs postgres (default: postgres when root)"},
			&cli.StringFlag{Name: "pg-bin", Usage: "PostgreSQL binaries `DIR` (default: newest of /usr/lib/postgresql/*/bin)"},
			&cli.StringFlag{Name: "role", Value: "ditto", Usage: "login role that copies hand out (superuser inside each copy)"},
			&cli.StringFlag{Name: "listen", Value: "127.0.0.1", Usage: "addresses copies listen on: `ADDR`s of this machine, comma-separated, or * for all"},
			&cli.StringFlag{Name: "port-range", Value: "5433-6432", Usage: "ports for copies, `MIN-MAX`"},
			&cli.StringFlag{Name: "group", Usage: "the `GROUP` whose members may use the socket of ditto serve (created if missing; default ditto)"},
			&cli.StringFlag{Name: "sandbox", Value: ditto.SandboxOn, Usage: "on: each copy's server runs confined (own mount, PID and IPC namespaces; needs root); off: as a plain process of the postgres user, which any copy's superuser can reach from another"},
			&cli.StringFlag{Name: "min-free", DefaultText: "1G, or a tenth of a smaller pool", Usage: "refuse new copies when the pool has less free space than this"},
		}, limitFlags("each new copy", "; a default, for copies that give none; 0: no default")...),
		Action: func(c *cli.Context) error {
			// on an existing home, only the flags given count
			given := map[string]bool{}
			for _, f := range c.Command.Flags {
				given[f.Names()[0]] = c.IsSet(f.Names()[0])
			}
			cfg := ditto.DefaultConfig()
			cfg.Backend, cfg.PoolPath, cfg.Dataset = c.String("backend"), c.String("path"), c.String("dataset")
			cfg.PGBin, cfg.Role, cfg.Listen = c.String("pg-bin"), c.String("role"), c.String("listen")
			cfg.Sandbox = c.String("sandbox")
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
			if given["min-free"] {
				if cfg.MinFree, err = ditto.ParseSize(c.String("min-free")); err != nil {
					return err
				}
			}
			if cfg.Limits, err = parseLimits(c); err != nil {
				return err
			}
			log := logger(c)
			if cfg.Group = c.String("group"); cfg.Group != "" {
				created, err := daemon.EnsureGroup(cfg.Group)
				if err != nil {
					return err
				}
				if created {
					log.Info("created the group; add the users who may use ditto serve's socket: sudo usermod -aG "+cfg.Group+" USER", "group", cfg.Group)
				}
			}
			_, err = ditto.Init(c.Context, c.String("home"), cfg, given, log)
			return err
		},
	}
}
