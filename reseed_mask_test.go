package ditto

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/go-hclog"

	"github.com/dittodb/ditto/internal/testpg"
	"github.com/dittodb/ditto/mask"
	"github.com/dittodb/ditto/postgres"
)

// TestMaskedRestoreNameWithNewline: tables and columns whose names hold a
// newline restore masked from plain and archive dumps.
func TestMaskedRestoreNameWithNewline(t *testing.T) {
	testpg.RequireRoot(t)
	ctx := context.Background()
	src := testpg.Start(t)
	src.LoadOdd(t)
	rulesFile := filepath.Join(t.TempDir(), "rules.yaml")
	if err := os.WriteFile(rulesFile, []byte(testpg.OddRules), 0o600); err != nil {
		t.Fatal(err)
	}
	rules, err := mask.Load(rulesFile)
	if err != nil {
		t.Fatal(err)
	}
	for _, format := range []string{"p", "c"} {
		dump := src.Dump(t, testpg.OddDB, "odd."+format, "-F"+format)
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
				Bin: dst.Bin, User: testpg.User(t), Dump: info, SocketDir: dst.Server.SocketDir, Port: dst.Server.Port,
				Superuser: testpg.Superuser, Database: testpg.OddDB, Jobs: 2, Log: log,
				Data: mk.filter(dst.Server, &Golden{Role: testpg.Superuser, Database: testpg.OddDB}, log),
			})
			if err != nil {
				t.Fatalf("masked restore: %v\n%s", err, logs.String())
			}
			var rows int
			var text string
			q := "SELECT count(*), string_agg(w::text, ',') FROM \"we\nird\" w"
			if err := dst.Conn(t, testpg.OddDB).QueryRow(ctx, q).Scan(&rows, &text); err != nil {
				t.Fatal(err)
			}
			if rows != 20 || strings.Contains(text, "corp-secret") || !strings.Contains(text, "@example.com") {
				t.Errorf("masked table: %d rows, %.200s", rows, text)
			}
			if n := testpg.Count(t, dst.Conn(t, testpg.OddDB), "log\nbook"); n != 1 {
				t.Errorf("the table without rules has %d rows, want 1", n)
			}
		})
	}
}
