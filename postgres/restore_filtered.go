package postgres

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
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

// restoreFiltered restores in three steps: the schema, then every table's
// data streamed through o.Data.Filter (archives: Jobs streams in parallel),
// then indexes and constraints.
func restoreFiltered(ctx context.Context, o RestoreOptions, createsItself bool) error {
	if !o.Dump.Format.IsArchive() {
		return restorePlainFiltered(ctx, o, createsItself)
	}
	if err := restoreArchive(ctx, o, "--section=pre-data"); err != nil {
		return err
	}
	if err := o.Data.Check(ctx); err != nil {
		return err
	}
	parts, cleanup, err := dataLists(ctx, o)
	if err != nil {
		return err
	}
	defer cleanup()
	o.Log.Info("restoring data through the filter", "streams", len(parts))
	errs := make([]error, len(parts))
	var wg sync.WaitGroup
	for i, list := range parts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = filterArchiveData(ctx, o, list)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	return restoreArchive(ctx, o, "--section=post-data")
}

// dataLists splits the archive's table-data entries into o.Jobs list files
// for pg_restore -L; the first list also takes the other data entries
// (sequence values, large objects).
func dataLists(ctx context.Context, o RestoreOptions) ([]string, func(), error) {
	out, err := exec.CommandContext(ctx, o.Bin.Path("pg_restore"), "-l", o.Dump.Path).Output()
	if err != nil {
		return nil, nil, toolError("pg_restore -l", o.Dump.Path, err, "", "")
	}
	n := max(1, o.Jobs)
	if o.Dump.Format == FormatTar {
		n = 1 // a tar archive is read front to back
	}
	lists := make([][]string, n)
	table := 0
	for _, line := range strings.Split(string(out), "\n") {
		if line == "" || line[0] == ';' {
			continue
		}
		if strings.Contains(line, " TABLE DATA ") {
			lists[table%n] = append(lists[table%n], line)
			table++
		} else {
			lists[0] = append(lists[0], line)
		}
	}
	var files []string
	cleanup := func() {
		for _, f := range files {
			os.Remove(f)
		}
	}
	for _, l := range lists {
		if len(l) == 0 {
			continue
		}
		f, err := os.CreateTemp("", "ditto-toc-*")
		if err == nil {
			_, err = f.WriteString(strings.Join(l, "\n") + "\n")
			f.Close()
		}
		if err != nil {
			cleanup()
			return nil, nil, err
		}
		files = append(files, f.Name())
	}
	return files, cleanup, nil
}

// filterArchiveData pipes `pg_restore --section=data -L list -f -` through
// the filter into psql.
func filterArchiveData(ctx context.Context, o RestoreOptions, list string) error {
	cmd := exec.CommandContext(ctx, o.Bin.Path("pg_restore"), "--section=data", "-L", list, "-f", "-", o.Dump.Path)
	cmd.Env = childEnv()
	script, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	var psqlErr error
	var rows rowGuard
	tail, err := runTool(cmd, nil, func() {
		psqlErr = filterIntoPsql(ctx, o, o.Database, &lineWatcher{r: script, see: rows.see})
		_, _ = io.Copy(io.Discard, script)
	})
	if err != nil {
		return toolError("pg_restore --section=data", o.Dump.Path, err, tail, "")
	}
	return psqlErr
}

// filterIntoPsql runs src through o.Data.Filter into a psql session on db.
func filterIntoPsql(ctx context.Context, o RestoreOptions, db string, src io.Reader) error {
	cmd := psqlCommand(ctx, o, db)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return err
	}
	var filterErr error
	tail, err := runTool(cmd, nil, func() {
		filterErr = o.Data.Filter(stdin, src)
		stdin.Close()
	})
	if filterErr != nil {
		return fmt.Errorf("filtering the data of %s: %w", o.Dump.Path, filterErr)
	}
	if err != nil {
		return toolError("psql", o.Dump.Path, err, tail, "")
	}
	return nil
}

func psqlCommand(ctx context.Context, o RestoreOptions, db string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, o.Bin.Path("psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1", "--no-password",
		"-h", o.SocketDir, "-p", strconv.Itoa(o.Port), "-U", o.Superuser, "-d", db)
	cmd.Env = childEnv()
	return cmd
}

// restorePlainFiltered splits a plain dump at its first COPY: what comes
// before is the schema, run in one psql session; the rest (data, then
// indexes and constraints) goes through the filter into a second session,
// after the session settings of the first are replayed.
func restorePlainFiltered(ctx context.Context, o RestoreOptions, createsItself bool) error {
	r, closeFn, err := openPlain(o.Dump, nil)
	if err != nil {
		return err
	}
	defer closeFn()
	var end dumpEnd
	var rows rowGuard
	br := bufio.NewReaderSize(&lineWatcher{r: r, see: func(line []byte) error {
		end.see(line)
		return rows.see(line)
	}}, 256<<10)
	schema, settings, first, err := splitAtFirstCopy(br)
	if errors.Is(err, errInserts) {
		return fmt.Errorf("dump %s: %w", o.Dump.Path, err)
	}
	if err != nil {
		return fmt.Errorf("reading dump %s: %w; the dump looks truncated or corrupt; make it again with pg_dump", o.Dump.Path, err)
	}
	db := o.Database
	if createsItself {
		db = "postgres" // the schema part creates o.Database and connects to it
	}
	cmd := psqlCommand(ctx, o, db)
	cmd.Stdin = bytes.NewReader(schema)
	if tail, err := runTool(cmd, nil, nil); err != nil {
		return toolError("psql", o.Dump.Path, err, tail, "")
	}
	if err := o.Data.Check(ctx); err != nil {
		return err
	}
	rest := io.MultiReader(bytes.NewReader(settings), bytes.NewReader(first), br)
	if err := filterIntoPsql(ctx, o, o.Database, rest); err != nil {
		return err
	}
	if o.Dump.DumperVersion != "" && !end.complete() {
		return fmt.Errorf("restoring %s: the dump is truncated or corrupt (it does not end as pg_dump ends it); make it again with pg_dump", o.Dump.Path)
	}
	return nil
}

// splitAtFirstCopy reads a plain dump up to its first COPY line. It returns
// the schema before it, the session settings in force there (to replay in
// another session: SET lines and the \restrict of the current section), and
// the COPY line itself.
func splitAtFirstCopy(br *bufio.Reader) (schema, settings, first []byte, err error) {
	var s, set bytes.Buffer
	for {
		line, err := br.ReadBytes('\n')
		switch {
		case bytes.HasPrefix(line, []byte("COPY ")):
			return s.Bytes(), set.Bytes(), line, nil
		case bytes.HasPrefix(line, []byte(`\restrict `)):
			set.Reset()
			set.Write(line)
		case bytes.HasPrefix(line, []byte("SET ")), bytes.HasPrefix(line, []byte("SELECT pg_catalog.set_config(")):
			set.Write(line)
		}
		s.Write(line)
		if err == io.EOF {
			return s.Bytes(), nil, nil, nil
		}
		if err != nil {
			return nil, nil, nil, err
		}
	}
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
