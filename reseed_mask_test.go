package ditto

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/hashicorp/go-hclog"

	"github.com/dittodb/ditto/internal/testpg"
	"github.com/dittodb/ditto/mask"
	"github.com/dittodb/ditto/postgres"
)

// oddNames has names holding a newline, which pg_dump writes as they are
// inside their quotes: a COPY statement over two lines.
const oddNames = `
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

const oddRules = `version: 1
key: env:DITTO_MASK_KEY
tables:
  "public.we\nird": {"e\nmail": email, info: hash}
keep: ["public.we\nird.id", "public.log\nbook.id", "public.log\nbook.entry"]
`

// TestMaskedRestoreNameWithNewline: tables and columns whose names hold a
// newline restore masked from plain and archive dumps, and mask check reads
// the same COPY statements: with --sample it finds the emails of a column
// whose name gives nothing away.
func TestMaskedRestoreNameWithNewline(t *testing.T) {
	testpg.RequireRoot(t)
	ctx := context.Background()
	src := testpg.Start(t)
	if _, err := src.Conn(t, "postgres").Exec(ctx, "CREATE DATABASE odd"); err != nil {
		t.Fatal(err)
	}
	if _, err := src.Conn(t, "odd").Exec(ctx, oddNames); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	rulesFile := filepath.Join(dir, "rules.yaml")
	if err := os.WriteFile(rulesFile, []byte(oddRules), 0o600); err != nil {
		t.Fatal(err)
	}
	rules, err := mask.Load(rulesFile)
	if err != nil {
		t.Fatal(err)
	}
	for _, format := range []string{"p", "c"} {
		dump := filepath.Join(dir, "odd."+format)
		cmd := exec.Command(src.Bin.Path("pg_dump"), "-F", format, "-f", dump,
			"-h", src.Server.SocketDir, "-p", strconv.Itoa(src.Server.Port), "-U", testpg.Superuser, "odd")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("pg_dump -F %s: %v\n%s", format, err, out)
		}
		t.Run(format, func(t *testing.T) {
			info, err := postgres.InspectDump(dump)
			if err != nil {
				t.Fatal(err)
			}
			dst := testpg.Start(t)
			var logs bytes.Buffer
			log := hclog.New(&hclog.LoggerOptions{Output: &logs})
			mk := &masking{rules: rules, key: []byte("a-test-key-of-32-bytes-0123456789")}
			err = postgres.Restore(ctx, postgres.RestoreOptions{
				Bin: dst.Bin, Dump: info, SocketDir: dst.Server.SocketDir, Port: dst.Server.Port,
				Superuser: testpg.Superuser, Database: "odd", Jobs: 2, Log: log,
				Data: mk.filter(dst.Server, &Golden{Role: testpg.Superuser, Database: "odd"}, log),
			})
			if err != nil {
				t.Fatalf("masked restore: %v\n%s", err, logs.String())
			}
			var rows int
			var text string
			q := "SELECT count(*), string_agg(w::text, ',') FROM \"we\nird\" w"
			if err := dst.Conn(t, "odd").QueryRow(ctx, q).Scan(&rows, &text); err != nil {
				t.Fatal(err)
			}
			if rows != 20 || strings.Contains(text, "corp-secret") || !strings.Contains(text, "@example.com") {
				t.Errorf("masked table: %d rows, %.200s", rows, text)
			}
			if n := testpg.Count(t, dst.Conn(t, "odd"), "log\nbook"); n != 1 {
				t.Errorf("the table without rules has %d rows, want 1", n)
			}

			rep, err := MaskCheck(ctx, MaskCheckOptions{Rules: rulesFile, DumpPath: dump, Sample: 5})
			if err != nil || !rep.OK {
				t.Fatalf("mask check with the rules the restore used: %+v, %v", rep, err)
			}
			noInfo := filepath.Join(dir, "no-info.yaml")
			if err := os.WriteFile(noInfo, []byte(strings.Replace(oddRules, ", info: hash", "", 1)), 0o600); err != nil {
				t.Fatal(err)
			}
			rep, err = MaskCheck(ctx, MaskCheckOptions{Rules: noInfo, DumpPath: dump, Sample: 5})
			if err != nil || len(rep.Problems) != 1 || rep.Problems[0].Column != "info" || !strings.Contains(rep.Problems[0].Message, "sampled values contain") {
				t.Errorf("mask check should find the emails sampled in info: %+v, %v", rep, err)
			}
		})
	}
}
