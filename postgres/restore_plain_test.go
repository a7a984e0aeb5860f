package postgres

import (
	"bufio"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/dittodb/ditto/internal/pgscript"
)

// The second session of a plain restore starts where the first left off:
// the last value of each setting since the last \connect, and the
// \restrict in force.
func TestSessionStateReplay(t *testing.T) {
	var s sessionState
	for _, line := range strings.SplitAfter(strings.Join([]string{
		`\restrict K1`,
		`SET statement_timeout = 0;`,
		`SELECT pg_catalog.set_config('search_path', '', false);`,
		`CREATE DATABASE shop;`,
		`\unrestrict K1`,
		`\connect shop`,
		`\restrict K2`,
		`SET statement_timeout = 0;`,
		`SET default_tablespace = '';`,
		`SET default_table_access_method = heap;`,
		`SET default_tablespace = 'fast';`,
		`SET SESSION AUTHORIZATION 'alice';`,
		`SELECT pg_catalog.set_config('search_path', 'public', false);`,
		`CREATE TABLE t (a int);`,
	}, "\n")+"\n", "\n") {
		s.see([]byte(line), 1)
	}
	want := strings.Join([]string{
		`\restrict K2`,
		`SET statement_timeout = 0;`,
		`SET default_tablespace = 'fast';`,
		`SET default_table_access_method = heap;`,
		`SET SESSION AUTHORIZATION 'alice';`,
		`SELECT pg_catalog.set_config('search_path', 'public', false);`,
	}, "\n") + "\n"
	if got := string(s.replay()); got != want || s.err != nil {
		t.Errorf("replay:\n%s\nwant:\n%s(err %v)", got, want, s.err)
	}
}

// The schema session stops before the first COPY, which the next reads.
func TestFeedStopsBeforeFirstCopy(t *testing.T) {
	const dump = "SET a = 1;\nCREATE TABLE t (a int);\nCOPY public.t (a) FROM stdin;\n1\n\\.\n"
	br := bufio.NewReaderSize(strings.NewReader(dump), feedBuffer)
	var schema, rest strings.Builder
	sc := pgscript.NewScanner()
	if err := (scriptFeed{stopAt: []byte("COPY ")}).feed(context.Background(), br, &schema, sc); err != nil {
		t.Fatal(err)
	}
	if err := (scriptFeed{}).feed(context.Background(), br, &rest, sc); err != nil {
		t.Fatal(err)
	}
	if i := strings.Index(dump, "COPY"); schema.String() != dump[:i] || rest.String() != dump[i:] {
		t.Errorf("split into %q and %q", schema.String(), rest.String())
	}
}

// A read error met while looking for the first COPY stops the schema
// session: the rows guard fails once, on the line it refuses.
func TestFeedStopsOnInsertRows(t *testing.T) {
	var rows rowGuard
	r := &lineWatcher{r: strings.NewReader("CREATE TABLE t (a int);\nINSERT INTO t VALUES (1);\nSELECT 1;\n"), see: rows.see}
	var schema strings.Builder
	err := (scriptFeed{stopAt: []byte("COPY ")}).feed(context.Background(), bufio.NewReaderSize(r, feedBuffer), &schema, pgscript.NewScanner())
	if !errors.Is(err, errInserts) || strings.Contains(schema.String(), "INSERT") {
		t.Errorf("feed = %v, fed %q; want errInserts, and no INSERT fed", err, schema.String())
	}
}

// What the Scanner refuses never reaches psql: the feed stops before the
// piece that holds it.
func TestFeedRefusesBeforeWriting(t *testing.T) {
	var fed strings.Builder
	err := (scriptFeed{}).feed(context.Background(), strings.NewReader("SELECT 1;\n\\! id\nSELECT 2;\n"), &fed, pgscript.NewScanner())
	var refused *pgscript.Refused
	if !errors.As(err, &refused) || refused.Line != 2 || strings.Contains(fed.String(), `\!`) {
		t.Errorf("feed = %v, fed %q; want line 2 refused and nothing of it fed", err, fed.String())
	}
}
