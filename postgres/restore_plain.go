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

// restorePlain streams the SQL into psql, noting each COPY as a table step.
func restorePlain(ctx context.Context, o RestoreOptions, createsItself bool) error {
	db := o.Database
	if createsItself {
		db = "postgres" // the dump creates o.Database and connects to it
	}
	var size int64
	if fi, err := os.Stat(o.Dump.Path); err == nil {
		size = fi.Size()
	}
	p := newProgress(o.Log, "bytes", size)
	defer p.stop()
	r, closeFn, err := openPlain(o.Dump, p)
	if err != nil {
		return err
	}
	defer closeFn()
	cmd := psqlCommand(ctx, o, db)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return err
	}
	var end dumpEnd
	var feedErr error
	tail, err := runTool(cmd, nil, func() {
		feedErr = feedLines(ctx, r, stdin, func(line []byte) {
			if bytes.HasPrefix(line, []byte("COPY ")) {
				p.at(string(bytes.TrimSpace(line)), true)
			}
			end.see(line)
		})
		stdin.Close()
	})
	var hint string
	if feedErr != nil || (o.Dump.DumperVersion != "" && !end.complete()) {
		hint = "the dump is truncated or corrupt (it does not end as pg_dump ends it); make it again with pg_dump"
	}
	switch {
	case err != nil:
		return toolError("psql", o.Dump.Path, err, tail, hint)
	case ctx.Err() != nil:
		return ctx.Err()
	case feedErr != nil:
		return fmt.Errorf("restoring %s: %v; %s", o.Dump.Path, feedErr, hint)
	case hint != "":
		return fmt.Errorf("restoring %s: %s", o.Dump.Path, hint)
	}
	p.finish()
	return nil
}

// feedLines copies r to w, showing each line's start to onLine. Once w fails
// (psql is gone) it reads on without writing, so that a truncated dump is
// still noticed, until r ends or ctx does.
func feedLines(ctx context.Context, r io.Reader, w io.Writer, onLine func([]byte)) error {
	br := bufio.NewReaderSize(r, 256<<10)
	atStart, writing := true, true
	for {
		chunk, err := br.ReadSlice('\n')
		if atStart && len(chunk) > 0 {
			onLine(chunk)
		}
		atStart = err == nil
		if writing {
			_, werr := w.Write(chunk)
			writing = werr == nil
		} else if ctx.Err() != nil {
			return nil
		}
		switch {
		case err == io.EOF:
			return nil
		case err != nil && !errors.Is(err, bufio.ErrBufferFull):
			return err
		}
	}
}
