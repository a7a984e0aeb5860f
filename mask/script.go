package mask

import (
	"bufio"
	"bytes"
	"fmt"
	"io"

	"github.com/dittodb/ditto/internal/pgscript"
)

// Script copies a plain SQL stream from src to dst, masking the data of
// every `COPY ... FROM stdin;` block with the table's rules; everything else
// passes unchanged. src is what `pg_restore --section=data -f -` (or a plain
// pg_dump's data section) writes. A function body holding a line that
// starts with "COPY " would be mistaken for data, which is why the data
// section, which has none, is the input to give.
func (r *Rules) Script(dst io.Writer, src io.Reader, key []byte) error {
	in := newLines(src)
	out := bufio.NewWriterSize(dst, flushSize)
	var buf []byte
	for {
		line, err := in.next()
		if len(line) > 0 {
			if _, werr := out.Write(line); werr != nil {
				return werr
			}
			if bytes.HasPrefix(line, []byte("COPY ")) {
				if cerr := r.copyBlock(out, in, line, key, &buf); cerr != nil {
					return cerr
				}
			}
		}
		if err == io.EOF {
			return out.Flush()
		}
		if err != nil {
			return err
		}
	}
}

// copyBlock masks the data lines after a COPY header, up to and including
// the end-of-data line.
func (r *Rules) copyBlock(out *bufio.Writer, in *lines, header []byte, key []byte, buf *[]byte) error {
	h, err := pgscript.ParseCopyHeader(string(header))
	if err != nil {
		return err
	}
	f, err := r.Filter(h.Name(), h.Columns, key)
	if err != nil {
		return err
	}
	for {
		line, err := in.next()
		if pgscript.IsEndOfData(line) {
			_, werr := out.Write(line)
			return werr
		}
		if len(line) > 0 {
			var ferr error
			if *buf, ferr = f.Line((*buf)[:0], line); ferr != nil {
				return ferr
			}
			if _, werr := out.Write(*buf); werr != nil {
				return werr
			}
		}
		if err == io.EOF {
			return fmt.Errorf("%s: the data ends without the end-of-data line \\.", h.Name())
		}
		if err != nil {
			return err
		}
	}
}
