package mask

import (
	"bufio"
	"bytes"
	"fmt"
	"io"

	"github.com/dittodb/ditto/internal/pgscript"
)

// Filter masks the COPY text data of one table, line by line. Columns
// without a rule are copied byte for byte without being decoded; fields
// after the last masked column are not even split. A Filter holds buffers
// and hashing state: use one per table stream (goroutine).
type Filter struct {
	table string
	names []string
	cols  []*Transformer // by COPY column position; nil passes through
	last  int            // position of the last masked column, -1 if none
	drop  bool           // {rows: none}
	rows  int64
	raw   []byte // decoded input field
	val   []byte // transformed value
}

// Filter prepares the filter for one table's COPY data. table is
// "schema.table" and columns the COPY statement's column list in order (see
// pgscript.ParseCopyHeader). A table without rules, or nil Rules, gives a filter
// that passes data through. key is the secret from ResolveKey.
func (r *Rules) Filter(table string, columns []string, key []byte) (*Filter, error) {
	f := &Filter{table: table, names: columns, cols: make([]*Transformer, len(columns)), last: -1}
	t := r.Table(table)
	if t == nil {
		return f, nil
	}
	f.drop = t.DropRows
	pos := make(map[string]int, len(columns))
	for i, c := range columns {
		pos[c] = i
	}
	for _, c := range t.sorted() {
		i, ok := pos[c.Column]
		if !ok {
			return nil, fmt.Errorf("%s:%d: %s.%s: the COPY data of %s has no column %q (it has %v); fix the rule or run ditto mask check", r.File, c.Line, table, c.Column, table, c.Column, columns)
		}
		if c.Transform == "keep" {
			continue
		}
		if len(key) < MinKeyLen {
			return nil, fmt.Errorf("masking %s: no masking key; the rules' key must resolve to a secret of at least %d bytes", table, MinKeyLen)
		}
		f.cols[i] = c.Transformer(key)
		f.last = max(f.last, i)
	}
	return f, nil
}

// Masks reports whether the filter changes anything; when it does not, the
// caller may skip it.
func (f *Filter) Masks() bool { return f.drop || f.last >= 0 }

// Line appends the masked form of one data line to dst. line is one row of
// COPY text, with its trailing newline if it has one; the output keeps the
// same ending. A dropped row ({rows: none}) appends nothing. Errors name
// the table, row and column, never the value; dst comes back unchanged.
func (f *Filter) Line(dst, line []byte) ([]byte, error) {
	f.rows++
	if f.drop {
		return dst, nil
	}
	if f.last < 0 {
		return append(dst, line...), nil
	}
	orig, body := len(dst), line
	if n := len(body); n > 0 && body[n-1] == '\n' {
		body = body[:n-1]
	}
	start, done := 0, 0 // start of this field; body[:done] is already in dst
	for i := 0; i <= f.last; i++ {
		end := len(body)
		if j := bytes.IndexByte(body[start:], '\t'); j >= 0 {
			end = start + j
		} else if i < f.last {
			return dst[:orig], fmt.Errorf("%s row %d: %d fields, but COPY lists %d columns", f.table, f.rows, i+1, len(f.cols))
		}
		if t := f.cols[i]; t != nil {
			dst = append(dst, body[done:start]...)
			var err error
			if dst, err = f.field(dst, t, body[start:end]); err != nil {
				return dst[:orig], fmt.Errorf("%s row %d column %s: %w", f.table, f.rows, f.names[i], err)
			}
			done = end
		}
		start = end + 1
	}
	return append(dst, line[done:]...), nil
}

// field masks one raw field. NULL stays NULL; only escaped fields are
// decoded into a scratch buffer.
func (f *Filter) field(dst []byte, t *Transformer, raw []byte) ([]byte, error) {
	if IsNull(raw) {
		return append(dst, raw...), nil
	}
	v := raw
	if bytes.IndexByte(raw, '\\') >= 0 {
		f.raw = DecodeField(f.raw[:0], raw)
		v = f.raw
	}
	out, null, err := t.Mask(f.val[:0], v)
	f.val = out
	if err != nil {
		return dst, err
	}
	if null {
		return append(dst, nullField...), nil
	}
	return EncodeField(dst, out), nil
}

// Reader returns the masked data read from src, which holds one table's
// COPY data. It ends at the end-of-data line `\.` (not passed on, as
// pgconn's CopyFrom wants it) or at the end of src. When src is a
// *bufio.Reader it is read no further than the end-of-data line, so the
// caller can go on reading a script after the data.
func (f *Filter) Reader(src io.Reader) io.Reader {
	return &filterReader{f: f, src: newLines(src)}
}

// Copy writes the masked data of src to dst, like Reader, and returns the
// number of rows read.
func (f *Filter) Copy(dst io.Writer, src io.Reader) (int64, error) {
	before := f.rows
	_, err := io.Copy(dst, f.Reader(src))
	return f.rows - before, err
}

// flushSize is how much masked output is gathered before it is handed on.
const flushSize = 256 << 10

type filterReader struct {
	f   *Filter
	src *lines
	buf []byte
	off int
	err error // after buf is drained: io.EOF, or what went wrong
}

func (r *filterReader) Read(p []byte) (int, error) {
	for r.off == len(r.buf) {
		if r.err != nil {
			return 0, r.err
		}
		r.fill()
	}
	n := copy(p, r.buf[r.off:])
	r.off += n
	return n, nil
}

// WriteTo spares io.Copy one copy of every byte.
func (r *filterReader) WriteTo(w io.Writer) (int64, error) {
	var total int64
	for {
		if r.off < len(r.buf) {
			n, err := w.Write(r.buf[r.off:])
			total += int64(n)
			r.off += n
			if err != nil {
				return total, err
			}
		}
		if r.err != nil {
			if r.err == io.EOF {
				return total, nil
			}
			return total, r.err
		}
		r.fill()
	}
}

func (r *filterReader) fill() {
	r.buf, r.off = r.buf[:0], 0
	for len(r.buf) < flushSize && r.err == nil {
		line, err := r.src.next()
		if pgscript.IsEndOfData(line) {
			r.err = io.EOF
			return
		}
		if len(line) > 0 {
			if r.buf, r.err = r.f.Line(r.buf, line); r.err != nil {
				return
			}
		}
		r.err = err
	}
}

// lines reads newline-terminated lines of any length.
type lines struct {
	br   *bufio.Reader
	long []byte
}

func newLines(r io.Reader) *lines {
	if br, ok := r.(*bufio.Reader); ok {
		return &lines{br: br}
	}
	return &lines{br: bufio.NewReaderSize(r, 256<<10)}
}

// next returns the next line with its newline (none on the last line of an
// input without one); the slice is valid until the next call. At the end it
// returns io.EOF, possibly with a last line.
func (l *lines) next() ([]byte, error) {
	line, err := l.br.ReadSlice('\n')
	if err != bufio.ErrBufferFull {
		return line, err
	}
	l.long = append(l.long[:0], line...)
	for err == bufio.ErrBufferFull {
		line, err = l.br.ReadSlice('\n')
		l.long = append(l.long, line...)
	}
	return l.long, err
}
