package postgres

import (
	"bufio"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/hashicorp/go-hclog"
	"github.com/jackc/pgx/v5"

	"github.com/dittodb/ditto/internal/pgscript"
)

// RestoreOptions says what to restore where.
type RestoreOptions struct {
	Bin       Bin
	User      OSUser // runs psql and pg_restore: the server's OS user, never root
	Dump      DumpInfo
	SocketDir string
	Port      int
	Superuser string // role to connect as (trusted on the Unix socket)
	Database  string // target database, created by Restore
	Jobs      int    // parallel sessions (pg_restore --jobs) for custom and directory dumps
	Log       hclog.Logger
	// Data, when set, checks the schema before any row is loaded and
	// filters every row on its way in.
	Data *DataFilter
	// Meter, when set, shows the restore's progress to a person.
	Meter Meter
}

// Restore loads the dump into a new database on a running server: it
// creates the roles the dump refers to (NOLOGIN), creates the database
// (unless a plain dump creates it itself), and restores the schema, the
// rows (loaded frozen where COPY FREEZE allows) and then indexes and
// constraints, with pg_restore and psql.
// On failure the database is left as it is: discard the cluster.
func Restore(ctx context.Context, o RestoreOptions) error {
	if o.Log == nil {
		o.Log = hclog.NewNullLogger()
	}
	d := o.Dump
	if d.Format.IsArchive() && d.DumperMajor > o.Bin.Major {
		return fmt.Errorf("dump %s was made by pg_dump %s; restoring it needs PostgreSQL %d or newer, but the binaries are %s; install postgresql-%d or pass --pg-bin DIR",
			d.Path, d.DumperVersion, d.DumperMajor, o.Bin, d.DumperMajor)
	}
	if !d.Format.IsArchive() && d.DumperMajor > o.Bin.Major {
		o.Log.Warn("plain dump from a newer pg_dump: statements it uses may fail on older PostgreSQL", "pg_dump", d.DumperVersion, "postgres", o.Bin.Version)
	}
	createsItself := !d.Format.IsArchive() && d.Database != ""
	if createsItself && d.Database != o.Database {
		return fmt.Errorf("plain dump %s creates its own database %q, so it cannot be restored into %q; use %q, or make the dump without --create", d.Path, d.Database, o.Database, d.Database)
	}
	roles, err := dumpRoles(ctx, o)
	if err != nil {
		return err
	}
	conn, err := pgx.Connect(ctx, socketDSN(o.SocketDir, o.Port, o.Superuser, "postgres"))
	if err != nil {
		return fmt.Errorf("restore: connecting to the target server: %w", err)
	}
	defer conn.Close(context.Background())
	if err := createRoles(ctx, conn, roles, o.Log); err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	// initdb already made "postgres", empty: a dump of it (pgbench's, a
	// small app's) restores into that one.
	if !createsItself && o.Database != "postgres" {
		sql := "CREATE DATABASE " + pgx.Identifier{o.Database}.Sanitize() + " TEMPLATE template0 ENCODING 'UTF8'"
		if _, err := conn.Exec(ctx, sql); err != nil {
			return fmt.Errorf("restore: creating database %q: %w", o.Database, err)
		}
	}
	if d.Format.IsArchive() {
		return restoreArchiveSections(ctx, o)
	}
	return restorePlain(ctx, o, createsItself)
}

// dumpRoles reads the roles from the dump's schema: the SQL itself for
// plain dumps, pg_restore's rendering of it for archives.
func dumpRoles(ctx context.Context, o RestoreOptions) ([]string, error) {
	if !o.Dump.Format.IsArchive() {
		r, closeFn, err := openPlain(o.Dump, nil)
		if err != nil {
			return nil, err
		}
		defer closeFn()
		// The restore checks the dump as it feeds psql; this first look
		// refuses a bad one before anything changes on the server.
		sc := pgscript.NewScanner()
		roles, err := scanRoles(io.TeeReader(r, sc))
		if err == nil {
			err = sc.Finish()
		}
		var refused *pgscript.Refused
		switch {
		case errors.As(err, &refused):
			return nil, refusedError(o, "", refused)
		case err != nil:
			return nil, fmt.Errorf("reading dump %s: %w; the dump looks truncated or corrupt; make it again with pg_dump", o.Dump.Path, err)
		}
		return roles, nil
	}
	cmd, closeFn, err := ArchiveCommand(ctx, o.Bin, o.User, o.Dump, "--schema-only", "-f", "-")
	if err != nil {
		return nil, err
	}
	defer closeFn()
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	var roles []string
	var scanErr error
	tail, err := runTool(cmd, nil, func() {
		roles, scanErr = scanRoles(out)
		_, _ = io.Copy(io.Discard, out)
	})
	if err == nil {
		err = scanErr
	}
	if err != nil {
		return nil, toolError("pg_restore --schema-only", o.Dump.Path, err, tail, o.readHint())
	}
	return roles, nil
}

// readHint says what to do when pg_restore failed on a directory dump that
// o.User, which runs it, cannot read (by its mode bits); "" otherwise.
func (o RestoreOptions) readHint() string {
	if o.Dump.Format != FormatDirectory || canRead(o.User, o.Dump.Path) {
		return ""
	}
	return fmt.Sprintf("pg_restore runs as OS user %s, which cannot read %s: make the dump readable by it (chgrp -R %s %s && chmod -R g+rX %s), or restore a custom-format dump (pg_dump -Fc), which ditto reads for pg_restore",
		o.User.Name, o.Dump.Path, o.User.Name, o.Dump.Path, o.Dump.Path)
}

// toolError explains a failed tool run with the end of its stderr and,
// unless hint says better, a guess at what to do.
func toolError(tool, path string, err error, stderr, hint string) error {
	if hint == "" {
		hint = corruptHint(stderr)
	}
	if hint == "" {
		hint = "fix the cause above and run the restore again"
	}
	return fmt.Errorf("%s of %s failed (%v):\n%s\n%s", tool, path, err, stderr, hint)
}

// openPlain opens a plain dump, decompressing plain-gzip. The compressed
// bytes read count towards p, if set.
func openPlain(d DumpInfo, p *progress) (io.Reader, func(), error) {
	f, err := os.Open(d.Path)
	if err != nil {
		return nil, nil, fmt.Errorf("dump %s: %w", d.Path, err)
	}
	var r io.Reader = bufio.NewReaderSize(f, 256<<10)
	if p != nil {
		r = counted{r: r, p: p}
	}
	if d.Format != FormatPlainGzip {
		return r, func() { f.Close() }, nil
	}
	z, err := gzip.NewReader(r)
	if err != nil {
		f.Close()
		return nil, nil, fmt.Errorf("dump %s: %w; the dump looks truncated or corrupt; make it again with pg_dump", d.Path, err)
	}
	return z, func() { z.Close(); f.Close() }, nil
}
