// Package maskcheck is `ditto mask check`: masking rules checked against
// the schema of a live database or of a dump, without loading any data.
package maskcheck

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/jackc/pgx/v5"

	"github.com/dittodb/ditto"
	"github.com/dittodb/ditto/mask"
	"github.com/dittodb/ditto/postgres"
)

// Options say what `ditto mask check` compares: the masking rules
// against the schema of a live database or of a dump. It reads schemas and,
// with Sample, a few values; it never writes to the source and never loads
// a dump's data anywhere.
type Options struct {
	// Rules is the rules file; empty means <home>/ditto-mask.yaml if it
	// exists (as reseed does), else no rules: then every sensitive-looking
	// column is reported, which is how a rules file for a new schema starts.
	Rules     string
	SourceURL string // a live database, read in a read-only session
	DumpPath  string // or a dump, whose schema goes into a throw-away server
	// Sample is how many non-NULL values per text-like column to look at
	// for emails, phone numbers and card numbers (0: names only). Values
	// are kept in memory for the check and never printed or logged.
	Sample int
	PGBin  string // binaries for a dump's throw-away server; "" = as configured, or the newest
	// Home is the state directory. It need not exist: mask check needs no
	// pool. If initialised, its PostgreSQL user and binaries are used.
	Home string
	Log  hclog.Logger
}

// Report is what a mask check found.
type Report struct {
	OK       bool           `json:"ok"`
	Source   string         `json:"source"` // the dump path, or the URL without its password
	Rules    string         `json:"rules"`  // the rules file; "" when checked without rules
	Tables   int            `json:"tables"`
	Columns  int            `json:"columns"`
	Sample   int            `json:"sample"`          // values asked for per column
	Sampled  int            `json:"sampled_columns"` // columns with at least one value sampled
	Problems []mask.Problem `json:"problems"`
}

const (
	// sourceConnectTimeout bounds connecting to the source database.
	sourceConnectTimeout = 10 * time.Second
	// sampleTimeout bounds each sampling query on the source; a column
	// that takes longer (a huge table that is mostly NULL) is skipped.
	sampleTimeout = 30 * time.Second
	// maxSampleLen caps one sampled value, in bytes, to bound memory.
	maxSampleLen = 4096
)

// Run reads the schema of the source or dump and reports every
// problem mask.Check finds with the rules: rules naming missing tables or
// columns, type and constraint errors, and sensitive-looking columns with
// neither a rule nor a keep entry. It is what reseed checks before loading
// data, without building anything.
func Run(ctx context.Context, o Options) (*Report, error) {
	if o.Log == nil {
		o.Log = hclog.NewNullLogger()
	}
	switch {
	case o.SourceURL != "" && o.DumpPath != "":
		return nil, errors.New("give either --dump or --source-url, not both")
	case o.SourceURL == "" && o.DumpPath == "":
		return nil, errors.New("what should be checked? give --source-url URL (a live database) or --dump FILE (any pg_dump format)")
	case o.Sample < 0:
		return nil, fmt.Errorf("invalid --sample %d: give how many values per column to look at, or 0 for none", o.Sample)
	}
	h := ditto.NewHome(o.Home)
	cfg, err := maskCheckConfig(h)
	if err != nil {
		return nil, err
	}
	rep := &Report{Rules: o.Rules, Sample: o.Sample, Source: o.DumpPath}
	if rep.Rules == "" && o.Home != "" {
		// a home this user may not look into has no rules for it either:
		// mask check needs no pool
		rep.Rules, _ = h.MaskRules()
	}
	var rules *mask.Rules
	if rep.Rules != "" {
		if rules, err = mask.Load(rep.Rules); err != nil {
			return nil, err
		}
		o.Log.Info("checking masking rules", "rules", rep.Rules, "tables", len(rules.Tables))
	} else {
		o.Log.Info("no masking rules (--rules FILE or DITTO_RULES): every sensitive-looking column is reported")
	}

	var schema *mask.Schema
	var samples mask.Samples
	if o.SourceURL != "" {
		rep.Source = postgres.RedactURL(o.SourceURL)
		schema, samples, err = sourceSchema(ctx, o)
	} else {
		schema, samples, err = dumpSchema(ctx, o, cfg)
	}
	if err != nil {
		return nil, err
	}
	rep.Tables = len(schema.Tables)
	for _, t := range schema.Tables {
		rep.Columns += len(t.Columns)
	}
	for _, vs := range samples {
		if len(vs) > 0 {
			rep.Sampled++
		}
	}
	rep.Problems = mask.Check(rules, schema, samples)
	if rep.Problems == nil {
		rep.Problems = []mask.Problem{}
	}
	rep.OK = len(rep.Problems) == 0
	return rep, nil
}

// maskCheckConfig returns the state directory's settings, or the defaults
// when there is none: mask check works on a machine without a pool.
func maskCheckConfig(h ditto.Home) (ditto.Config, error) {
	if _, err := os.Stat(h.Config()); h.Dir == "" || err != nil {
		return ditto.DefaultConfig(), nil
	}
	return h.LoadConfig()
}

// sourceSchema reads a live database's schema and, with o.Sample, samples
// its text-like columns, in a read-only session.
func sourceSchema(ctx context.Context, o Options) (*mask.Schema, mask.Samples, error) {
	// SourceVersion's errors say what to fix and never hold the password.
	_, version, err := postgres.SourceVersion(ctx, o.SourceURL)
	if err != nil {
		return nil, nil, err
	}
	redacted := postgres.RedactURL(o.SourceURL)
	cfg, err := pgx.ParseConfig(o.SourceURL)
	if err != nil {
		return nil, nil, fmt.Errorf("--source-url %s: %w", redacted, err)
	}
	cfg.ConnectTimeout = sourceConnectTimeout
	cfg.RuntimeParams["application_name"] = "ditto mask check"
	cctx, cancel := context.WithTimeout(ctx, sourceConnectTimeout)
	conn, err := pgx.ConnectConfig(cctx, cfg)
	cancel()
	if err != nil {
		return nil, nil, fmt.Errorf("connecting to %s: %w", redacted, err)
	}
	defer conn.Close(context.Background())
	// set here rather than as startup parameters, which poolers such as
	// pgbouncer refuse
	if _, err := conn.Exec(ctx, "SET default_transaction_read_only = on"); err != nil {
		return nil, nil, fmt.Errorf("%s: %w", redacted, err)
	}
	o.Log.Info("reading the schema", "source", redacted, "server", version)
	schema, err := postgres.ReadSchema(ctx, conn)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", redacted, err)
	}
	if o.Sample == 0 {
		return schema, nil, nil
	}
	samples, err := sampleSource(ctx, conn, schema, o.Sample, o.Log)
	return schema, samples, err
}

// sampleSource reads up to n non-NULL values of every text-like column. A
// column that cannot be read (no privilege, too slow) is only checked by
// its name, with a warning.
func sampleSource(ctx context.Context, conn *pgx.Conn, schema *mask.Schema, n int, log hclog.Logger) (mask.Samples, error) {
	if _, err := conn.Exec(ctx, fmt.Sprintf("SET statement_timeout = %d", sampleTimeout.Milliseconds())); err != nil {
		return nil, fmt.Errorf("sampling: %w", err)
	}
	samples := mask.Samples{}
	var asked, skipped int
	for _, t := range schema.Tables {
		for _, c := range t.Columns {
			if !samplable(c.Type) {
				continue
			}
			asked++
			ref := t.FullName() + "." + c.Name
			rows, _ := conn.Query(ctx, sampleQuery(t, c, n))
			values, err := pgx.CollectRows(rows, pgx.RowTo[string])
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			if err != nil {
				// the server's message names the table or timeout, never a value
				log.Warn("could not sample a column; it is checked by its name only", "column", ref, "error", err)
				skipped++
				continue
			}
			samples[ref] = values
		}
	}
	log.Info("sampled the source", "columns", asked, "skipped", skipped, "values per column", n)
	return samples, nil
}

// sampleQuery selects up to n non-NULL values of one column as text, each
// cut to maxSampleLen characters.
func sampleQuery(t mask.Table, c mask.Column, n int) string {
	col := pgx.Identifier{c.Name}.Sanitize()
	return fmt.Sprintf("SELECT left(%s::text, %d) FROM %s WHERE %s IS NOT NULL LIMIT %d",
		col, maxSampleLen, pgx.Identifier{t.Schema, t.Name}.Sanitize(), col, n)
}

// samplable reports whether values of a column type, as format_type writes
// it, are text that may hold emails, phone numbers or card numbers:
// character types, citext, json, jsonb and xml, and arrays of them.
func samplable(pgType string) bool {
	t := strings.ToLower(strings.TrimSpace(pgType))
	t = strings.TrimSuffix(t, "[]")
	if open := strings.IndexByte(t, '('); open >= 0 {
		t = strings.TrimSpace(t[:open])
	}
	if i := strings.LastIndexByte(t, '.'); i >= 0 { // schema-qualified, like ext.citext
		t = t[i+1:]
	}
	switch t {
	case "text", "character varying", "varchar", "character", "char", "bpchar", "citext", "json", "jsonb", "xml":
		return true
	}
	return false
}
