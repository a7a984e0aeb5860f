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
	in := bufferedReader(src)
	out := bufio.NewWriterSize(dst, bufSize)
	var buf []byte
	atStart := true // at the start of a line
	for {
		// A line longer than the buffer comes in pieces: only the start of a
		// line is looked at, and nothing is held but a COPY statement.
		c, err := in.ReadSlice('\n')
		copyLine := atStart && bytes.HasPrefix(c, []byte("COPY "))
		if copyLine {
			c, err = copyHeader(in, c, err)
		}
		if _, werr := out.Write(c); werr != nil {
			return werr
		}
		if copyLine && err == nil {
			if cerr := r.copyBlock(out, in, c, key, &buf); cerr != nil {
				return cerr
			}
		}
		atStart = err != bufio.ErrBufferFull
		switch err {
		case nil, bufio.ErrBufferFull:
		case io.EOF:
			return out.Flush()
		default:
			return err
		}
	}
}

// maxHeader caps a COPY statement. One lists at most 1600 columns, whose
// names have at most 63 bytes; quoted, that stays far below it.
const maxHeader = 1 << 20

// copyHeader reads the rest of a COPY statement whose first piece is c,
// which the reader returned with err: on to the end of its line, and past
// line ends inside a quoted name.
func copyHeader(in *bufio.Reader, c []byte, err error) ([]byte, error) {
	h, open := append([]byte(nil), c...), pgscript.OpenQuote(c)
	for err == bufio.ErrBufferFull || err == nil && open {
		if len(h) > maxHeader {
			return nil, fmt.Errorf("a statement starting with COPY runs on for more than %d KiB, too long for a COPY header (a quote never closed?); the dump looks corrupt: make it again with pg_dump", maxHeader>>10)
		}
		c, err = in.ReadSlice('\n')
		h, open = append(h, c...), open != pgscript.OpenQuote(c)
	}
	return h, err
}

// copyBlock masks the data lines after a COPY header, up to and including
// the end-of-data line.
func (r *Rules) copyBlock(out *bufio.Writer, in *bufio.Reader, header []byte, key []byte, buf *[]byte) error {
	h, err := pgscript.ParseCopyHeader(string(header))
	if err != nil {
		return err
	}
	f, err := r.Filter(h.Name(), h.Columns, key)
	if err != nil {
		return err
	}
	for {
		var eod []byte
		*buf, eod, err = f.next((*buf)[:0], in)
		if _, werr := out.Write(*buf); werr != nil {
			return werr
		}
		if eod != nil {
			_, werr := out.Write(eod)
			return werr
		}
		if err == io.EOF {
			return fmt.Errorf("%s: the data ends without the end-of-data line \\.", h.Name())
		}
		if err != nil {
			return err
		}
	}
}
