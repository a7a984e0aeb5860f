package main

import (
	"fmt"
	"os"

	"github.com/urfave/cli/v2"

	"github.com/dittodb/ditto"
)

func dumpCommand() *cli.Command {
	return &cli.Command{
		Name:      "dump",
		Usage:     "write the current golden as a pg_dump file, for `ditto reseed --dump` elsewhere",
		ArgsUsage: "[FILE]",
		Description: `Writes the current golden as a custom-format dump (pg_dump -Fc) to FILE, or
to DITTO_DUMP_PATH: the artifact to hand to a laptop or another machine,
which restores it with ` + "`ditto reseed --dump FILE`" + `. A golden made with masking
rules gives a masked dump. ditto reads a throw-away copy of the golden (one
copy create, then pg_dump), so the golden and its copies are left alone.
The file is written as FILE.partial and renamed once complete (mode 0600;
a missing folder is made private).

` + ditto.DumpPathMeaning + `

Examples:
   sudo ditto dump /srv/app-masked.dump
   scp /srv/app-masked.dump laptop: && ssh laptop sudo ditto reseed --dump app-masked.dump`,
		Action: func(c *cli.Context) error {
			out, env := c.Args().First(), os.Getenv("DITTO_DUMP_PATH")
			switch {
			case c.NArg() > 1:
				return fmt.Errorf("ditto dump takes one FILE, got %d arguments", c.NArg())
			case out == "" && env == "":
				return fmt.Errorf("no dump file given: name it (ditto dump FILE) or set DITTO_DUMP_PATH")
			case out != "" && env != "" && !ditto.SamePath(out, env):
				return fmt.Errorf("FILE %s and DITTO_DUMP_PATH=%s name different files: unset DITTO_DUMP_PATH, or drop FILE", out, env)
			case out == "":
				out = env
			}
			m, err := openManager(c)
			if err != nil {
				return err
			}
			cp, err := m.Dump(c.Context, out)
			if err != nil {
				return err
			}
			logger(c).Info("golden dumped", "golden", cp.Generation, "file", out)
			fmt.Println(out)
			return nil
		},
	}
}
