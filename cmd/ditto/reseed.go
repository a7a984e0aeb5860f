package main

import (
	"fmt"
	"os"

	"github.com/urfave/cli/v2"

	"github.com/dittodb/ditto"
)

func reseedCommand() *cli.Command {
	return &cli.Command{
		Name:  "reseed",
		Usage: "build a new golden from a dump or a live database",
		Description: `Restores the dump (pg_dump custom, directory, tar or plain .sql/.sql.gz,
detected by content) into a new golden generation: a fresh cluster (a copy of
an initdb template the first reseed makes), the schema, every table's rows
loaded frozen over --jobs sessions, indexes and constraints, VACUUM (FREEZE,
ANALYZE), CHECKPOINT, clean shutdown, read-only snapshot. Only then does
it become current; a failed or interrupted reseed leaves the previous golden
untouched. Copies made from the old golden keep running until destroyed.

With --rules (or <home>/ditto-mask.yaml), sensitive columns are masked as the
rows stream into the golden: the schema is restored first and checked against
the rules (as ` + "`ditto mask check`" + ` does), then every table's COPY data goes through
the transformers, then indexes and constraints. Raw rows never reach the disk.

With --source-url, ditto runs pg_dump itself. The raw dump lives in a private
temporary folder removed afterwards, unless DITTO_DUMP_PATH says where to keep
it for a later ` + "`ditto reseed --dump`" + ` on a machine without access to the source.

` + ditto.DumpPathMeaning + `

Without --dump, --source-url or DITTO_DUMP_PATH, the daemon reseeds from
the source of its config's reseed: section (see ` + "`ditto serve --help`" + `), when
one serves: root and members of its admin group only. ditto waits for the
end and prints the new generation; Ctrl-C stops the waiting, not the reseed
(` + "`ditto status`" + ` shows how it went). With a source, ditto reseeds itself, as
root, as always.

Examples:
   sudo ditto reseed --dump ./prod.dump
   ditto reseed                  # the daemon's configured source
   sudo ditto reseed --source-url postgres://reader:pw@db.internal/app
   sudo DITTO_DUMP_PATH=/srv/app.dump ditto reseed --source-url "$PROD_URL"
   sudo DITTO_MASK_KEY=... ditto reseed --dump prod.dump --rules ditto-mask.yaml`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "dump", Usage: "dump `FILE` or directory to restore (env DITTO_DUMP_PATH)"},
			&cli.StringFlag{Name: "source-url", EnvVars: []string{"DITTO_SOURCE_URL"}, Usage: "pg_dump this database `URL`"},
			&cli.StringFlag{Name: "database", Usage: "database name in the golden (default: the dump's)"},
			&cli.StringFlag{Name: "pg-bin", Usage: "PostgreSQL binaries `DIR` (default: the oldest installed major that can restore the dump)"},
			&cli.IntFlag{Name: "jobs", Usage: "parallel restore sessions (default: number of CPUs)"},
			&cli.StringFlag{Name: "after-restore", Usage: "run the SQL in `FILE` on the golden after the restore and masking, before it is frozen (as its superuser; one transaction unless the file has its own BEGIN/COMMIT); a failure keeps the current golden"},
			&cli.StringFlag{Name: "rules", EnvVars: []string{"DITTO_RULES"}, Usage: "masking rules `FILE` (default: <home>/ditto-mask.yaml if present)"},
			&cli.BoolFlag{Name: "allow-unmasked", Usage: "load data even when the rules leave sensitive-looking columns unmasked (loudly)"},
		},
		Action: func(c *cli.Context) error {
			o := ditto.ReseedOptions{
				DumpPath: c.String("dump"), SourceURL: c.String("source-url"),
				Database: c.String("database"), PGBin: c.String("pg-bin"), Jobs: c.Int("jobs"),
				Rules: c.String("rules"), AllowUnmasked: c.Bool("allow-unmasked"), AfterRestore: c.String("after-restore"),
				Meter: newMeter(),
			}
			if err := o.UseDumpPath(os.Getenv("DITTO_DUMP_PATH")); err != nil {
				return err
			}
			if o.DumpPath == "" && o.SourceURL == "" {
				return reseedConfigured(c)
			}
			m, err := openManager(c)
			if err != nil {
				return err
			}
			g, err := m.Reseed(c.Context, o)
			if err != nil {
				return err
			}
			fmt.Println(g.Generation)
			return nil
		},
	}
}
