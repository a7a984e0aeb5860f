package postgres

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
)

// psql and pg_restore read the dump, data from outside: they must run as
// the server's OS user, never as root, and need no access of their own to
// a custom or tar dump, which may be root's in a private folder.
func TestRestoreToolsRunAsTheServerUser(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: ditto switches tools to the server's user only when it is root")
	}
	u := OSUser{Name: "someone", UID: 4321, GID: 4322}
	o := RestoreOptions{Bin: Bin{Dir: "/nowhere"}, User: u, SocketDir: "/run/x", Port: 5432, Superuser: "su"}
	ctx := context.Background()
	psql, err := psqlCommand(ctx, o, "db")
	if err != nil {
		t.Fatal(err)
	}
	dump := filepath.Join(t.TempDir(), "root-only.dump") // a folder only root may enter
	if err := os.WriteFile(dump, []byte("PGDMP"), 0o600); err != nil {
		t.Fatal(err)
	}
	custom, closeCustom, err := ArchiveCommand(ctx, o.Bin, u, DumpInfo{Path: dump, Format: FormatCustom}, "-l")
	if err != nil {
		t.Fatal(err)
	}
	defer closeCustom()
	dir, closeDir, err := ArchiveCommand(ctx, o.Bin, u, DumpInfo{Path: "/dumps/d", Format: FormatDirectory}, "-l")
	if err != nil {
		t.Fatal(err)
	}
	defer closeDir()
	for name, cmd := range map[string]*exec.Cmd{"psql": psql, "pg_restore of a custom dump": custom, "pg_restore of a directory dump": dir} {
		if a := cmd.SysProcAttr; a == nil || a.Credential == nil || a.Credential.Uid != 4321 || a.Credential.Gid != 4322 {
			t.Errorf("%s does not run as uid 4321, gid 4322: %+v", name, a)
		}
	}
	if f, ok := custom.Stdin.(*os.File); !ok || f.Name() != dump || slices.Contains(custom.Args, dump) {
		t.Errorf("pg_restore of a custom dump must read it on stdin from a file ditto opened: args %q, stdin %v", custom.Args, custom.Stdin)
	}
	if !slices.Contains(dir.Args, "/dumps/d") || dir.Stdin != nil {
		t.Errorf("pg_restore of a directory dump reads it by its path: args %q", dir.Args)
	}
	o.User = OSUser{Name: "root"}
	if _, err := psqlCommand(ctx, o, "db"); err == nil {
		t.Error("psqlCommand accepted root as the user to run psql as")
	}
}
