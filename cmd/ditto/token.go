package main

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/dittodb/ditto"
	"github.com/dittodb/ditto/internal/token"
)

func tokenCommand() *cli.Command {
	return &cli.Command{
		Name:  "token",
		Usage: "bearer tokens for runners on other machines (ditto serve --api-listen)",
		Description: `A token lets a caller on another machine use the daemon's TCP listener:
it sends DITTO_TOKEN with DITTO_SERVER=https://HOST:PORT. Each token owns the
copies made with it, as a user owns theirs, and sees only those (an --admin
token sees all). The token is printed once; ditto keeps only its SHA-256.
A daemon that runs takes a new or revoked token into account at once.
Root commands, on the state directory itself.

Examples:
   sudo ditto token create --ttl 90d ci-runner-1
   DITTO_SERVER=https://db.ci.example.com:8443 DITTO_TOKEN=ditto_... ditto copy run -- make test`,
		Subcommands: []*cli.Command{
			{
				Name:      "create",
				Usage:     "make a token and print it, once",
				ArgsUsage: "NAME",
				Flags: []cli.Flag{
					&cli.BoolFlag{Name: "admin", Usage: "the token sees and acts on every copy"},
					&cli.StringFlag{Name: "ttl", Value: "0", Usage: "the token expires after `DURATION` (e.g. 90d, 12h; 0: never)"},
				},
				Description: `Examples:
   sudo ditto token create --ttl 90d ci-runner-1
   sudo ditto token create --admin ops`,
				Action: func(c *cli.Context) error {
					name, err := oneArg(c, "NAME")
					if err != nil {
						return err
					}
					ttl, err := parseTokenTTL(c.String("ttl"))
					if err != nil {
						return err
					}
					s, err := tokenStore(c)
					if err != nil {
						return err
					}
					secret, err := s.Create(name, c.Bool("admin"), ttl, time.Now())
					if err != nil {
						return tokenError(name, err)
					}
					fmt.Println(secret)
					return nil
				},
			},
			{
				Name:  "list",
				Usage: "list the tokens (never their secrets)",
				Flags: []cli.Flag{formatFlag("table", "table", "json")},
				Description: `Shows each token's name, whether it is an admin's, when it was made and
when it expires.

Examples:
   sudo ditto token list
   sudo ditto token list --format json | jq -r '.[].name'`,
				Action: func(c *cli.Context) error {
					s, err := tokenStore(c)
					if err != nil {
						return err
					}
					ts, err := s.List()
					if err != nil {
						return err
					}
					if c.String("format") == "json" {
						type view struct {
							Name      string     `json:"name"`
							Admin     bool       `json:"admin"`
							CreatedAt time.Time  `json:"created_at"`
							ExpiresAt *time.Time `json:"expires_at"`
						}
						out := []view{}
						for _, t := range ts {
							v := view{Name: t.Name, Admin: t.Admin, CreatedAt: t.CreatedAt}
							if !t.ExpiresAt.IsZero() {
								v.ExpiresAt = &t.ExpiresAt
							}
							out = append(out, v)
						}
						return printJSON(out)
					}
					w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
					fmt.Fprintln(w, "NAME\tADMIN\tCREATED\tEXPIRES")
					now := time.Now()
					for _, t := range ts {
						expires := "never"
						if !t.ExpiresAt.IsZero() {
							expires = t.ExpiresAt.Local().Format(time.DateTime)
							if t.Expired(now) {
								expires += " (expired)"
							}
						}
						fmt.Fprintf(w, "%s\t%v\t%s\t%s\n", t.Name, t.Admin, t.CreatedAt.Local().Format(time.DateTime), expires)
					}
					return w.Flush()
				},
			},
			{
				Name:      "revoke",
				Usage:     "remove a token: requests with it are refused at once",
				ArgsUsage: "NAME",
				Description: `The copies made with it stay until their TTL; an admin (root, or an
--admin token) can destroy them.

Examples:
   sudo ditto token revoke ci-runner-1`,
				Action: func(c *cli.Context) error {
					name, err := oneArg(c, "NAME")
					if err != nil {
						return err
					}
					s, err := tokenStore(c)
					if err != nil {
						return err
					}
					if err := s.Revoke(name); err != nil {
						return tokenError(name, err)
					}
					return nil
				},
			},
		},
	}
}

// tokenStore is the token file of the state directory, which must be
// ditto's (opening it checks that, and that ditto runs as root).
func tokenStore(c *cli.Context) (token.Store, error) {
	m, err := openManager(c)
	if err != nil {
		return token.Store{}, err
	}
	return token.Store{Path: m.Home.Tokens(), LockPath: m.Home.TokensLock()}, nil
}

func oneArg(c *cli.Context, what string) (string, error) {
	if c.NArg() != 1 {
		return "", &ditto.Error{Code: ditto.CodeInvalid, Message: fmt.Sprintf("give one %s", what),
			Hint: fmt.Sprintf("ditto token %s [flags] %s (flags before the name)", c.Command.Name, what)}
	}
	return c.Args().First(), nil
}

// parseTokenTTL reads a duration such as 90d or 12h; 0 is no expiry.
func parseTokenTTL(s string) (time.Duration, error) {
	if days, ok := strings.CutSuffix(s, "d"); ok {
		if n, err := strconv.Atoi(days); err == nil && n >= 0 {
			return time.Duration(n) * 24 * time.Hour, nil
		}
	} else if d, err := time.ParseDuration(s); err == nil && d >= 0 {
		return d, nil
	}
	return 0, &ditto.Error{Code: ditto.CodeInvalid, Message: fmt.Sprintf("invalid --ttl %q", s),
		Hint: "give a duration such as 90d or 12h, or 0 for a token that never expires"}
}

func tokenError(name string, err error) error {
	switch {
	case errors.Is(err, token.ErrExists):
		return &ditto.Error{Code: ditto.CodeInvalid, Message: fmt.Sprintf("a token named %s exists", name),
			Hint: "give another name, or `ditto token revoke " + name + "` first"}
	case errors.Is(err, token.ErrNotFound):
		return &ditto.Error{Code: ditto.CodeNotFound, Message: fmt.Sprintf("no token named %s", name),
			Hint: "`ditto token list` shows them"}
	case errors.Is(err, token.ErrInvalidName):
		return &ditto.Error{Code: ditto.CodeInvalid, Message: err.Error(), Hint: "e.g. ci-runner-1"}
	}
	return err
}
