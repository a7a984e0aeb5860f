package main

import (
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/urfave/cli/v2"

	"github.com/dittodb/ditto/maskcheck"
)

func maskCommand() *cli.Command {
	return &cli.Command{
		Name:  "mask",
		Usage: "check masking rules against a database's schema",
		Description: `Masking rules (YAML, see ` + "`ditto reseed --rules`" + `) say how reseed scrubs each
sensitive column on its way into the golden.

Example:
   ditto mask check --rules ditto-mask.yaml --dump prod.dump`,
		Subcommands: []*cli.Command{maskCheckCommand()},
	}
}

func maskCheckCommand() *cli.Command {
	return &cli.Command{
		Name:  "check",
		Usage: "report rules that do not fit the schema and sensitive-looking columns without a rule",
		Description: `Reads the schema of a live database (--source-url, in a read-only session) or
of a dump (--dump, any pg_dump format: its schema alone goes into a throw-away
server in a private temporary folder, removed afterwards; no data is loaded)
and reports, one line each:
   missing      a rule or keep entry names a table or column that does not exist
   unmasked     a column looks sensitive (by its name, or by sampled values)
                and has neither a rule nor a keep entry
   type, not-null, length, unique, foreign-key
                a transformer that cannot fit the column
This is the check ` + "`ditto reseed --rules`" + ` runs before loading any data.

Without --rules (nor DITTO_RULES, nor <home>/ditto-mask.yaml), every
sensitive-looking column is reported: a start for the rules file of a schema
never seen before. The masking key is not needed.

--sample N also looks at up to N non-NULL values of every text-like column for
email addresses, phone numbers and card numbers (Luhn-valid), which catches
columns whose names say nothing (notes, misc). Values are only held in memory:
never printed, logged or written. From a dump they are read from its COPY
data as it streams past, without loading it.

Exits 0 with a "no problems" line, or 1 when there is any problem (or the
check could not run).

Examples:
   ditto mask check --source-url postgres://reader@db.internal/app
   ditto mask check --rules ditto-mask.yaml --dump prod.dump --sample 100
   ditto mask check --rules ditto-mask.yaml --dump prod.dump --format json | jq -r '.problems[] | "\(.table).\(.column)"'`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "rules", EnvVars: []string{"DITTO_RULES"}, Usage: "masking rules `FILE` (default: <home>/ditto-mask.yaml if present, else none)"},
			&cli.StringFlag{Name: "source-url", EnvVars: []string{"DITTO_SOURCE_URL"}, Usage: "check this live database `URL` (read only)"},
			&cli.StringFlag{Name: "dump", Usage: "check this dump `FILE` or directory (env DITTO_DUMP_PATH)"},
			&cli.IntFlag{Name: "sample", Usage: "look at up to `N` values per text-like column (0 = names only)"},
			&cli.StringFlag{Name: "pg-bin", Usage: "PostgreSQL binaries `DIR` for a dump (default: the newest installed that can read it)"},
			formatFlag("table", "table", "json"),
		},
		Action: func(c *cli.Context) error {
			o := maskcheck.Options{
				Rules: c.String("rules"), SourceURL: c.String("source-url"), DumpPath: c.String("dump"),
				Sample: c.Int("sample"), PGBin: c.String("pg-bin"), Home: c.String("home"), Log: logger(c),
			}
			if o.DumpPath == "" && o.SourceURL == "" {
				o.DumpPath = os.Getenv("DITTO_DUMP_PATH")
			}
			rep, err := maskcheck.Run(c.Context, o)
			if err != nil {
				return err
			}
			if c.String("format") == "json" {
				if err := printJSON(rep); err != nil {
					return err
				}
			} else {
				printMaskReport(os.Stdout, rep)
			}
			if !rep.OK {
				return exitError{1, nil}
			}
			return nil
		},
	}
}

// printMaskReport writes the problems as a table and a summary line, or a
// single "no problems" line.
func printMaskReport(out io.Writer, rep *maskcheck.Report) {
	checked := "checked " + plural(rep.Tables, "table") + ", " + plural(rep.Columns, "column")
	if rep.Sample > 0 {
		checked += fmt.Sprintf(" (%d sampled)", rep.Sampled)
	}
	if rep.Rules != "" {
		checked += " against " + rep.Rules
	} else {
		checked += " without rules"
	}
	if len(rep.Problems) == 0 {
		fmt.Fprintf(out, "no problems; %s\n", checked)
		return
	}
	w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "KIND\tTABLE\tCOLUMN\tLINE\tPROBLEM")
	kinds := map[string]int{}
	for _, p := range rep.Problems {
		kinds[p.Kind]++
		line := ""
		if p.Line > 0 {
			line = fmt.Sprint(p.Line)
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", p.Kind, p.Table, p.Column, line, strings.ReplaceAll(p.Message, "\n", " "))
	}
	w.Flush()
	names := make([]string, 0, len(kinds))
	for k := range kinds {
		names = append(names, k)
	}
	sort.Strings(names)
	counts := make([]string, len(names))
	for i, k := range names {
		counts[i] = fmt.Sprintf("%d %s", kinds[k], k)
	}
	fmt.Fprintf(out, "%s (%s); %s\n", plural(len(rep.Problems), "problem"), strings.Join(counts, ", "), checked)
}

// plural writes "1 table", "2 tables".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
