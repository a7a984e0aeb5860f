package postgres

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
)

// dumpEnd tells whether plain pg_dump output ends as pg_dump ends it: with
// its "dump complete" comment and, since 15.14 and its peers, \unrestrict
// with the key of the opening \restrict.
type dumpEnd struct {
	sawComplete bool
	key, last   string
}

func (e *dumpEnd) see(line []byte) {
	s := string(bytes.TrimSpace(line))
	switch {
	case s == "":
		return
	case s == "-- PostgreSQL database dump complete":
		e.sawComplete = true
	case e.key == "" && strings.HasPrefix(s, `\restrict `):
		e.key = strings.TrimPrefix(s, `\restrict `)
	}
	e.last = s
}

func (e *dumpEnd) complete() bool {
	return e.sawComplete && (e.key == "" || e.last == `\unrestrict `+e.key)
}

// hint says the dump is truncated when pg_dump made it (its header says
// so) and it does not end as pg_dump ends it.
func (e *dumpEnd) hint(d DumpInfo) string {
	if d.DumperVersion != "" && !e.complete() {
		return truncatedHint
	}
	return ""
}

// restorePlain runs a plain dump in two psql sessions: its schema, up to
// the first COPY; then, once the schema is checked (when masking) and the
// tables to load frozen are known, the rest (data, then indexes and
// constraints), after the session settings of the first are replayed.
func restorePlain(ctx context.Context, o RestoreOptions, createsItself bool) error {
	var size int64
	if fi, err := os.Stat(o.Dump.Path); err == nil {
		size = fi.Size()
	}
	p := newProgress(o.Log, "bytes", size)
	defer p.stop()
	r, closeFn, err := openPlain(o.Dump, p)
	if err != nil {
		return err
	}
	defer closeFn()
	if o.Data != nil {
		var rows rowGuard // over the schema part too: a --inserts dump's rows are there
		r = &lineWatcher{r: r, see: rows.see}
	}
	br := bufio.NewReaderSize(r, 256<<10)
	schema, settings, first, err := splitAtFirstCopy(br)
	if errors.Is(err, errInserts) {
		return fmt.Errorf("dump %s: %w", o.Dump.Path, err)
	}
	if err != nil {
		return fmt.Errorf("reading dump %s: %w; %s", o.Dump.Path, err, truncatedHint)
	}
	var end dumpEnd
	for _, line := range bytes.SplitAfter(schema, []byte("\n")) {
		end.see(line)
	}
	db := o.Database
	if createsItself {
		db = "postgres" // the schema part creates o.Database and connects to it
	}
	cmd, err := psqlCommand(ctx, o, db)
	if err != nil {
		return err
	}
	cmd.Stdin = bytes.NewReader(schema)
	if tail, err := runTool(cmd, nil, nil); err != nil {
		hint := ""
		if first == nil { // the schema part was the whole dump
			hint = end.hint(o.Dump)
		}
		return toolError("psql", o.Dump.Path, err, tail, hint)
	}
	if o.Data != nil {
		if err := o.Data.Check(ctx); err != nil {
			return err
		}
	}
	if first != nil {
		rest := io.MultiReader(bytes.NewReader(settings), bytes.NewReader(first), br)
		if err := restorePlainRest(ctx, o, p, rest, &end); err != nil {
			return err
		}
	}
	if hint := end.hint(o.Dump); hint != "" {
		return fmt.Errorf("restoring %s: %s", o.Dump.Path, hint)
	}
	p.finish()
	return nil
}

const truncatedHint = "the dump is truncated or corrupt (it does not end as pg_dump ends it); make it again with pg_dump"

// restorePlainRest runs the dump from its first COPY on through feedData
// into a psql session on the restored database.
func restorePlainRest(ctx context.Context, o RestoreOptions, p *progress, rest io.Reader, end *dumpEnd) error {
	freeze, err := freezableTables(ctx, o)
	if err != nil {
		return err
	}
	cmd, err := psqlCommand(ctx, o, o.Database)
	if err != nil {
		return err
	}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return err
	}
	feed := scriptFeed{freeze: freeze, onLine: end.see, onCopy: func(header []byte) {
		p.at(string(bytes.TrimSpace(header)), true)
	}}
	var feedErr error
	tail, err := runTool(cmd, nil, func() {
		feedErr = feedData(ctx, o, feed, rest, stdin)
		stdin.Close()
	})
	switch {
	case ctx.Err() != nil:
		return ctx.Err()
	case err != nil:
		return toolError("psql", o.Dump.Path, err, tail, end.hint(o.Dump))
	case feedErr != nil && o.Data != nil:
		return feedErr // the filter's own error
	case feedErr != nil:
		return fmt.Errorf("restoring %s: %w; %s", o.Dump.Path, feedErr, truncatedHint)
	}
	return nil
}
