package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/dittodb/ditto/api"

	"github.com/urfave/cli/v2"
)

func envCommand() *cli.Command {
	return &cli.Command{
		Name:  "env",
		Usage: "give this shell its own copy",
		Description: `Examples:
   eval "$(ditto env export)"
   eval "$(ditto env destroy)"`,
		Subcommands: []*cli.Command{
			{
				Name:  "export",
				Usage: "create a copy and print export lines for eval",
				Description: `Prints export lines for DATABASE_URL, DITTO_COPY_ID and the libpq variables
(PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE), so psql and your app
both use the copy, and DISABLE_DATABASE_ENVIRONMENT_CHECK=1, so Rails does
not refuse a copy of a production database as if it were production.

Example:
   eval "$(ditto env export --ttl 8h)"
   psql -c 'select 1'
   eval "$(ditto env destroy)"`,
				Flags: createFlags(),
				Action: func(c *cli.Context) error {
					svc, req, err := openForCreate(c)
					if err != nil {
						return err
					}
					v, err := svc.Create(c.Context, req)
					if err != nil {
						return err
					}
					printExports(v.Env())
					return nil
				},
			},
			{
				Name:      "destroy",
				Usage:     "destroy the copy named by DITTO_COPY_ID (or ID) and print unset lines",
				ArgsUsage: "[ID]",
				Description: `sudo drops DITTO_COPY_ID from the environment: pass the ID instead.

Examples:
   eval "$(ditto env destroy)"
   eval "$(sudo ditto env destroy "$DITTO_COPY_ID")"`,
				Action: func(c *cli.Context) error {
					id := c.Args().First()
					if id == "" {
						id = os.Getenv("DITTO_COPY_ID")
					}
					if id == "" {
						return fmt.Errorf("DITTO_COPY_ID is not set: this shell has no copy (create one with eval \"$(ditto env export)\"), or give the copy's ID")
					}
					svc, err := service(c)
					if err != nil {
						return err
					}
					if err := svc.Destroy(c.Context, id); err != nil {
						return err
					}
					fmt.Println("unset " + strings.Join(api.EnvNames(), " "))
					return nil
				},
			},
		},
	}
}
