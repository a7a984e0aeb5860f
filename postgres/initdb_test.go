package postgres_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/dittodb/ditto/internal/testpg"
	"github.com/dittodb/ditto/postgres"
)

// The first cluster made from a template runs initdb and keeps the result;
// later ones are copies that start and work on their own (a table made in
// one is not in the next); the template of another minor version of the
// same binaries goes once a new one is made.
func TestInitDBFromTemplate(t *testing.T) {
	c := &testpg.Cluster{Bin: testpg.Bin(t), User: testpg.User(t), Dir: testpg.Dir(t)}
	templates := filepath.Join(c.Dir, "templates")
	if err := os.Mkdir(templates, 0o755); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var stale string
	for i, wantMade := range []bool{true, false, true} {
		if i == 2 {
			entries, err := os.ReadDir(templates)
			if err != nil || len(entries) != 1 {
				t.Fatalf("templates: %v, %v; want one", entries, err)
			}
			name := entries[0].Name()
			stale = filepath.Join(templates, "0.1"+strings.TrimPrefix(name, c.Bin.Version))
			if err := os.Rename(filepath.Join(templates, name), stale); err != nil {
				t.Fatal(err)
			}
		}
		c.DataDir = filepath.Join(c.Dir, "data"+string(rune('a'+i)))
		made, err := postgres.InitDBFromTemplate(ctx, c.Bin, c.User, c.DataDir, testpg.Superuser, templates)
		if err != nil {
			t.Fatal(err)
		}
		if made != wantMade {
			t.Errorf("cluster %d: made the template = %v, want %v", i, made, wantMade)
		}
		fi, err := os.Stat(filepath.Join(c.DataDir, "global", "pg_control"))
		if err != nil {
			t.Fatal(err)
		}
		if uid := int(fi.Sys().(*syscall.Stat_t).Uid); uid != c.User.UID {
			t.Errorf("cluster %d: pg_control owned by uid %d, want %d", i, uid, c.User.UID)
		}
		srv := testpg.StartServer(t, c.Options(testpg.FreePort(t)))
		if _, err := testpg.Ready(t, srv, "postgres").Exec(ctx, "CREATE TABLE t AS SELECT 1 AS x"); err != nil {
			t.Fatalf("cluster %d: %v", i, err)
		}
		testpg.StopServer(t, srv)
	}
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Errorf("the template of another version, %s, is still there (%v)", stale, err)
	}
}
