package postgres

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strconv"

	"github.com/dittodb/ditto/internal/pgscript"
)

// DataFilter lets the caller look at the restored schema before any row is
// loaded, and rewrite every row on its way in (masking), so that raw rows
// never reach the server's disk.
type DataFilter struct {
	// Check runs once the schema (pre-data) is restored, before any data.
	// An error stops the restore.
	Check func(ctx context.Context) error
	// Filter copies a SQL script holding `COPY ... FROM stdin;` blocks from
	// src to dst, rewriting their rows. It may run on several goroutines at
	// once, one script each.
	Filter func(dst io.Writer, src io.Reader) error
}

// feedData feeds a data script to w: through the masking filter first,
// when there is one, then feed with sc.
func feedData(ctx context.Context, o RestoreOptions, feed scriptFeed, src io.Reader, w io.Writer, sc *pgscript.Scanner) error {
	if o.Data == nil {
		return feed.feed(ctx, src, w, sc)
	}
	pr, pw := io.Pipe()
	filtered := make(chan error, 1)
	go func() {
		err := o.Data.Filter(pw, src)
		pw.CloseWithError(err)
		filtered <- err
	}()
	err := feed.feed(ctx, pr, w, sc)
	pr.Close() // a filter still writing stops
	if ferr := <-filtered; ferr != nil && !errors.Is(ferr, io.ErrClosedPipe) {
		return fmt.Errorf("filtering the data of %s: %w", o.Dump.Path, ferr)
	}
	return err
}

// psqlCommand returns psql, run as o.User, connected to db, which stops at
// the first error; the caller feeds it the script on stdin.
func psqlCommand(ctx context.Context, o RestoreOptions, db string) (*exec.Cmd, error) {
	return toolCommand(ctx, o.Bin, o.User, "psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "--no-password",
		"-h", o.SocketDir, "-p", strconv.Itoa(o.Port), "-U", o.Superuser, "-d", db)
}

// refusedError explains a dump the pgscript.Scanner refused; where says
// which script, when it is not the dump itself.
func refusedError(o RestoreOptions, where string, r *pgscript.Refused) error {
	return fmt.Errorf("dump %s is refused, %s%w. psql runs a dump's meta-commands on this machine, so ditto passes it only what pg_dump writes (of meta-commands: \\connect, \\restrict, \\unrestrict) and refuses what psql could read in another way; make the dump with pg_dump, in custom format (-Fc) if this one came from pg_dump: ditto restores an archive's schema with pg_restore, not psql",
		o.Dump.Path, where, r)
}

// runPsql runs psql on db and hands its stdin to write. When write fails,
// psql is killed before its stdin closes: it must not run the partial line
// it may have been given, which it would at end of input.
func runPsql(ctx context.Context, o RestoreOptions, db string, write func(w io.Writer) error) (tail string, err, writeErr error) {
	cmd, err := psqlCommand(ctx, o, db)
	if err != nil {
		return "", err, nil
	}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return "", err, nil
	}
	tail, err = runTool(cmd, nil, func() {
		if writeErr = write(stdin); writeErr != nil {
			_ = cmd.Process.Kill()
		}
		stdin.Close()
	})
	return tail, err, writeErr
}

// lineWatcher shows every complete line read through it to see (only its
// first 512 bytes: enough for the lines looked for). When see fails, the
// read fails and the chunk holding the line is never handed on.
type lineWatcher struct {
	r    io.Reader
	see  func([]byte) error
	line []byte
}

func (w *lineWatcher) Read(p []byte) (int, error) {
	n, err := w.r.Read(p)
	for _, c := range p[:n] {
		if c == '\n' {
			if serr := w.see(w.line); serr != nil {
				return 0, serr
			}
			w.line = w.line[:0]
		} else if len(w.line) < 512 {
			w.line = append(w.line, c)
		}
	}
	return n, err
}

// rowGuard refuses rows outside COPY blocks (a dump made with pg_dump
// --inserts): the filter only sees COPY data, so such rows would reach the
// server unmasked.
type rowGuard struct{ inCopy bool }

var errInserts = errors.New("the dump holds its rows as INSERT statements (pg_dump --inserts or --column-inserts), which masking cannot filter; make the dump without those options")

func (g *rowGuard) see(line []byte) error {
	switch {
	case g.inCopy:
		g.inCopy = !bytes.Equal(line, []byte(`\.`))
	case bytes.HasPrefix(line, []byte("COPY ")):
		g.inCopy = true
	case bytes.HasPrefix(line, []byte("INSERT INTO ")):
		return errInserts
	}
	return nil
}
