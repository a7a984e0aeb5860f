package postgres

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/jackc/pgx/v5"

	"github.com/dittodb/ditto/internal/pgscript"
)

// tableSet holds tables by schema and name, unquoted.
type tableSet map[[2]string]bool

// freezableTables lists the tables whose rows a restore may load frozen:
// the ordinary tables the dump's schema has just created, so empty until
// their COPY. Partitioned and foreign tables refuse COPY FREEZE, and an
// extension's tables may hold rows of its own that a TRUNCATE would lose.
func freezableTables(ctx context.Context, o RestoreOptions) (tableSet, error) {
	conn, err := pgx.Connect(ctx, socketDSN(o.SocketDir, o.Port, o.Superuser, o.Database))
	if err != nil {
		return nil, fmt.Errorf("restore: connecting to database %q: %w", o.Database, err)
	}
	defer conn.Close(context.Background())
	rows, err := conn.Query(ctx, `SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema')
		AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')`)
	if err != nil {
		return nil, fmt.Errorf("restore: listing the restored tables: %w", err)
	}
	set := tableSet{}
	var schema, table string
	_, err = pgx.ForEachRow(rows, []any{&schema, &table}, func() error {
		set[[2]string{schema, table}] = true
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("restore: listing the restored tables: %w", err)
	}
	return set, nil
}

// scriptFeed copies a SQL script (a plain dump, or pg_restore -f -) into
// psql, through a pgscript.Scanner that refuses what psql would run on the
// client and follows COPY data as psql does. Each COPY into a table of
// freeze is rewritten as
//
//	BEGIN; TRUNCATE ONLY t; COPY t (...) FROM stdin WITH (FREEZE); rows \. COMMIT;
//
// The TRUNCATE empties nothing; it lets COPY FREEZE write the rows frozen
// and visible to all (and, with wal_level=minimal, skip the WAL), so that
// the golden's VACUUM (FREEZE) finds nothing left to do instead of
// rewriting every page once more.
type scriptFeed struct {
	freeze tableSet
	stopAt []byte              // stop at the first statement starting so, unread; optional
	onLine func(line []byte)   // sees each line's start, before the Scanner; optional
	onCopy func(header []byte) // sees each COPY header line; optional
}

// feedBuffer is the most of a line the feed holds: longer lines pass
// through in pieces.
const feedBuffer = 256 << 10

// errPsqlGone says psql stopped reading the script; its stderr says why.
var errPsqlGone = errors.New("psql stopped reading the script")

// feed copies r to w line by line, in pieces of at most feedBuffer, each
// checked by sc before w gets it. Once w fails (psql is gone) it reads on
// without writing, so that a truncated dump is still noticed, until r ends
// (then it returns errPsqlGone) or ctx does. With stopAt, it returns
// before the first statement that starts so, leaving it unread in r, which
// must then be a *bufio.Reader of feedBuffer bytes. An error from sc is a
// *pgscript.Refused.
func (f scriptFeed) feed(ctx context.Context, r io.Reader, w io.Writer, sc *pgscript.Scanner) error {
	br := bufio.NewReaderSize(r, feedBuffer)
	bw := bufio.NewWriterSize(w, feedBuffer)
	writing := true
	write := func(b []byte) {
		if writing {
			_, err := bw.Write(b)
			writing = err == nil
		}
	}
	atStart, frozen := true, false
	for {
		if atStart && f.stopAt != nil && sc.AtStatementStart() {
			next, err := br.Peek(len(f.stopAt))
			if bytes.Equal(next, f.stopAt) {
				break
			}
			if err != nil && err != io.EOF {
				return err // Peek returns a read error only once
			}
		}
		chunk, err := br.ReadSlice('\n')
		if atStart && f.onLine != nil && len(chunk) > 0 {
			f.onLine(chunk)
		}
		statement, inCopy := atStart && sc.AtStatementStart(), sc.InCopyData()
		if serr := sc.Scan(chunk); serr != nil {
			return serr
		}
		switch {
		case inCopy && !sc.InCopyData(): // the line \. ending the rows
			write(chunk)
			if frozen {
				write([]byte("COMMIT;\n"))
			}
			chunk = nil
		case statement && sc.InCopyData(): // a whole COPY ... FROM stdin; line
			frozen = false
			if f.onCopy != nil {
				f.onCopy(chunk)
			}
			if head, ok := frozenCopy(chunk, f.freeze); ok {
				write(head)
				frozen, chunk = true, nil
			}
		}
		atStart = err == nil
		write(chunk)
		if !writing && ctx.Err() != nil {
			return ctx.Err()
		}
		if err == io.EOF {
			if serr := sc.Finish(); serr != nil {
				return serr
			}
			break
		}
		if err != nil && !errors.Is(err, bufio.ErrBufferFull) {
			return err
		}
	}
	if writing && bw.Flush() == nil {
		return nil
	}
	return errPsqlGone
}

// frozenCopy turns a COPY header line into the statements that load the
// table frozen, when the table is one of freeze.
func frozenCopy(line []byte, freeze tableSet) ([]byte, bool) {
	const tail = " FROM stdin;\n"
	if !bytes.HasSuffix(line, []byte(tail)) {
		return nil, false
	}
	h, err := pgscript.ParseCopyHeader(string(line))
	if err != nil || !freeze[[2]string{h.Schema, h.Table}] {
		return nil, false
	}
	var b bytes.Buffer
	b.WriteString("BEGIN;\nTRUNCATE ONLY " + pgx.Identifier{h.Schema, h.Table}.Sanitize() + ";\n")
	b.Write(line[:len(line)-len(tail)])
	b.WriteString(" FROM stdin WITH (FREEZE);\n")
	return b.Bytes(), true
}
