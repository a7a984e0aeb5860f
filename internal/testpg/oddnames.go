package testpg

import (
	"context"
	"testing"
)

// OddDB holds tables and columns whose names hold a newline, which pg_dump
// writes as they are inside their quotes: a COPY statement over two lines.
// Its column info holds emails under a name that gives nothing away.
const OddDB = "odd"

const oddSQL = `
CREATE TABLE "we
ird" (id int PRIMARY KEY, "e
mail" text, info text);
INSERT INTO "we
ird" SELECT i, 'real.person' || i || '@corp-secret.test', 'reach me at person' || i || '@corp-secret.test'
FROM generate_series(1, 20) AS i;
CREATE TABLE "log
book" (id int, entry text);
INSERT INTO "log
book" VALUES (1, 'opened');
`

// OddRules are masking rules that cover OddDB.
const OddRules = `version: 1
key: env:DITTO_MASK_KEY
tables:
  "public.we\nird": {"e\nmail": email, info: hash}
keep: ["public.we\nird.id", "public.log\nbook.id", "public.log\nbook.entry"]
`

// LoadOdd creates OddDB in s.
func (s *Source) LoadOdd(t testing.TB) {
	t.Helper()
	ctx := context.Background()
	if _, err := s.Conn(t, "postgres").Exec(ctx, "CREATE DATABASE "+OddDB); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Conn(t, OddDB).Exec(ctx, oddSQL); err != nil {
		t.Fatal(err)
	}
}
