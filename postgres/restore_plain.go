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

	"github.com/dittodb/ditto/internal/pgscript"
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
// constraints), after the session settings of the first are replayed. The
// dump streams through: no line of it is held whole.
func restorePlain(ctx context.Context, o RestoreOptions, createsItself bool) error {
	var size int64
	if fi, err := os.Stat(o.Dump.Path); err == nil {
		size = fi.Size()
	}
	p := newProgress(o.Log, o.Meter, "bytes", size)
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
	br := bufio.NewReaderSize(r, feedBuffer)
	var (
		end     dumpEnd
		session sessionState
	)
	db := o.Database
	if createsItself {
		db = "postgres" // the schema part creates o.Database and connects to it
	}
	sc := pgscript.NewScanner() // both sessions: the second starts where the first stopped
	schema := scriptFeed{stopAt: []byte("COPY "), onLine: func(line []byte) {
		end.see(line)
		if sc.AtStatementStart() {
			session.see(line, sc.Line())
		}
	}}
	tail, err, feedErr := runPsql(ctx, o, db, func(w io.Writer) error { return schema.feed(ctx, br, w, sc) })
	_, peekErr := br.Peek(1)
	rest := peekErr == nil // the schema part stopped at a COPY
	if err := plainError(ctx, o, err, feedErr, tail, &end, !rest, false); err != nil {
		return err
	}
	if err := session.err; err != nil {
		return fmt.Errorf("dump %s: %w", o.Dump.Path, err)
	}
	if o.Data != nil {
		if err := o.Data.Check(ctx); err != nil {
			return err
		}
	}
	if rest {
		if err := restorePlainRest(ctx, o, p, session.replay(), br, sc, &end); err != nil {
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

// plainError explains how a psql session of a plain dump failed, if it
// did: in feeding it (reading, or when filtered, filtering the dump) or in
// psql. whole says the session had the rest of the dump, so a truncated
// dump shows there.
func plainError(ctx context.Context, o RestoreOptions, err, feedErr error, tail string, end *dumpEnd, whole, filtered bool) error {
	var refused *pgscript.Refused
	switch {
	case ctx.Err() != nil:
		return ctx.Err()
	case errors.As(feedErr, &refused):
		return refusedError(o, "", refused)
	case errors.Is(feedErr, errInserts):
		return fmt.Errorf("dump %s: %w", o.Dump.Path, errInserts)
	case feedErr != nil && !errors.Is(feedErr, errPsqlGone):
		if filtered {
			return feedErr // the filter's own error
		}
		return fmt.Errorf("restoring %s: %w; %s", o.Dump.Path, feedErr, truncatedHint)
	case err != nil:
		hint := ""
		if whole {
			hint = end.hint(o.Dump)
		}
		return toolError("psql", o.Dump.Path, err, tail, hint)
	case feedErr != nil:
		return fmt.Errorf("restoring %s: %w; %s", o.Dump.Path, feedErr, truncatedHint)
	}
	return nil
}

// restorePlainRest runs the dump from its first COPY on through feedData
// into a psql session on the restored database, after the settings of the
// schema's session.
func restorePlainRest(ctx context.Context, o RestoreOptions, p *progress, settings []byte, br *bufio.Reader, sc *pgscript.Scanner, end *dumpEnd) error {
	freeze, err := freezableTables(ctx, o)
	if err != nil {
		return err
	}
	feed := scriptFeed{freeze: freeze, onLine: end.see, onCopy: func(header []byte) {
		p.at(string(bytes.TrimSpace(header)), true)
	}}
	tail, err, feedErr := runPsql(ctx, o, o.Database, func(w io.Writer) error {
		if _, err := w.Write(settings); err != nil {
			return errPsqlGone
		}
		return feedData(ctx, o, feed, br, w, sc)
	})
	return plainError(ctx, o, err, feedErr, tail, end, true, o.Data != nil)
}

// sessionState follows what the schema part of a plain dump sets in its
// psql session, to replay in the next one: pg_dump's SET statements (the
// last of each setting since the last \connect, which starts a new
// session) and its \restrict.
type sessionState struct {
	restrict []byte
	order    []string
	set      map[string][]byte
	size     int
	err      error
}

// maxSettings caps the settings a session replays; pg_dump writes about a
// dozen, well under a kilobyte.
const maxSettings = 1 << 20

// see looks at the start of each line of the schema part that starts a
// statement, the line number n.
func (s *sessionState) see(line []byte, n int) {
	switch {
	case s.err != nil:
	case bytes.HasPrefix(line, []byte(`\connect `)), bytes.HasPrefix(line, []byte(`\c `)):
		s.order, s.set, s.size = nil, nil, 0
	case bytes.HasPrefix(line, []byte(`\restrict `)):
		s.restrict = bytes.Clone(line)
	case bytes.HasPrefix(line, []byte(`\unrestrict `)):
		s.restrict = nil
	case bytes.HasPrefix(line, []byte("SET ")), bytes.HasPrefix(line, []byte("SELECT pg_catalog.set_config(")):
		// replayed alone, it must leave psql where it found it
		sc := pgscript.NewScanner()
		if sc.Scan(line) != nil || !sc.AtStatementStart() || !bytes.HasSuffix(line, []byte("\n")) {
			s.err = fmt.Errorf("line %d: a SET statement that does not end on its line, which pg_dump never writes", n)
			return
		}
		key := settingName(line)
		if s.set == nil {
			s.set = map[string][]byte{}
		}
		if old, ok := s.set[key]; ok {
			s.size -= len(old)
		} else {
			s.order = append(s.order, key)
		}
		s.set[key] = bytes.Clone(line)
		if s.size += len(line); s.size > maxSettings {
			s.err = fmt.Errorf("line %d: the schema part sets more than %d KiB of session settings, which pg_dump never does", n, maxSettings>>10)
		}
	}
}

// settingName names what a SET line sets: "search_path" for
// `SELECT pg_catalog.set_config('search_path', 'public', false);`, "role" for
// `SET ROLE x;`, "authorization" for `SET SESSION AUTHORIZATION 'x';`.
func settingName(line []byte) string {
	s := string(line)
	if rest, ok := strings.CutPrefix(s, "SELECT pg_catalog.set_config('"); ok {
		name, _, _ := strings.Cut(rest, "'")
		return strings.ToLower(name)
	}
	f := strings.FieldsFunc(s[len("SET "):], func(r rune) bool { return r == ' ' || r == '=' || r == ';' || r == '\n' })
	if len(f) > 1 && (strings.EqualFold(f[0], "SESSION") || strings.EqualFold(f[0], "LOCAL")) {
		f = f[1:]
	}
	if len(f) == 0 {
		return ""
	}
	return strings.ToLower(f[0])
}

// replay returns the lines that put a new session where the schema's was.
func (s *sessionState) replay() []byte {
	b := bytes.Clone(s.restrict)
	for _, key := range s.order {
		b = append(b, s.set[key]...)
	}
	return b
}
