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
// after the last masked column are not even split. A line longer than the
// read buffer is taken in pieces, holding at most one masked value of it
// (up to maxValue). A Filter holds buffers and hashing state: use one per
// table stream (goroutine).
type Filter struct {
	table string
	names []string
	cols  []*Transformer // by COPY column position; nil passes through
	last  int            // position of the last masked column, -1 if none
	drop  bool           // {rows: none}
	rows  int64
	raw   []byte // decoded input field
	val   []byte // transformed value
	// In a line read in pieces (longer than the read buffer): the position
	// of the field being read, and the masked field gathered so far. at is
	// -1 between lines.
	at    int
	value []byte
}

// Filter prepares the filter for one table's COPY data. table is
// "schema.table" and columns the COPY statement's column list in order (see
// pgscript.ParseCopyHeader). A table without rules, or nil Rules, gives a filter
// that passes data through. key is the secret from ResolveKey.
func (r *Rules) Filter(table string, columns []string, key []byte) (*Filter, error) {
	f := &Filter{table: table, names: columns, cols: make([]*Transformer, len(columns)), last: -1, at: -1}
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
	return &filterReader{f: f, src: bufferedReader(src)}
}

// Copy writes the masked data of src to dst, like Reader, and returns the
// number of rows read.
func (f *Filter) Copy(dst io.Writer, src io.Reader) (int64, error) {
	before := f.rows
	_, err := io.Copy(dst, f.Reader(src))
	return f.rows - before, err
}

// bufSize is the size of the read and write buffers, and how much masked
// output is gathered before it is handed on. A line longer than that is
// read in pieces of this size.
const bufSize = 256 << 10

// maxValue caps one value of a masked column read in pieces: a transformer
// needs the whole value (and the decoded copy, and its output) in memory.
// Personal data (names, emails, notes, JSON profiles) is far smaller; the
// cap keeps a stray huge value from taking gigabytes, once per table loaded
// in parallel. null and const never read the value, so they have no cap.
const maxValue = 64 << 20

func bufferedReader(src io.Reader) *bufio.Reader {
	if br, ok := src.(*bufio.Reader); ok {
		return br
	}
	return bufio.NewReaderSize(src, bufSize)
}

type filterReader struct {
	f   *Filter
	src *bufio.Reader
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
	for len(r.buf) < bufSize && r.err == nil {
		var eod []byte
		if r.buf, eod, r.err = r.f.next(r.buf, r.src); eod != nil {
			r.err = io.EOF
		}
	}
}

// next reads the next line of COPY data from br, or the next piece of a
// line longer than br's buffer, and appends its masked form to dst. At the
// end-of-data line it appends nothing and returns the line as eod (valid
// until br is read again). At the end of br it returns io.EOF.
func (f *Filter) next(dst []byte, br *bufio.Reader) (out, eod []byte, err error) {
	c, err := br.ReadSlice('\n')
	ends := true // c ends its line
	if err == bufio.ErrBufferFull {
		ends, err = false, nil
	}
	var ferr error
	switch {
	case f.at >= 0: // in a line read in pieces, even if c is empty: it may end the line
		dst, ferr = f.piece(dst, c, ends)
	case len(c) == 0:
	case ends && pgscript.IsEndOfData(c):
		return dst, c, err
	case ends:
		dst, ferr = f.Line(dst, c)
	default:
		dst, ferr = f.piece(dst, c, ends)
	}
	if ferr != nil {
		return dst, nil, ferr
	}
	return dst, nil, err
}

// piece appends the masked form of a piece of a line too long to read
// whole; ends says it is the line's last. Fields without a rule pass
// through as they come; a masked field is gathered, up to maxValue.
func (f *Filter) piece(dst, c []byte, ends bool) ([]byte, error) {
	if f.at < 0 {
		f.rows++
		f.at, f.value = 0, f.value[:0]
	}
	var nl []byte
	if ends {
		defer func() { f.at = -1 }()
		if n := len(c); n > 0 && c[n-1] == '\n' {
			c, nl = c[:n-1], c[n-1:]
		}
	}
	switch {
	case f.drop:
		return dst, nil
	case f.last < 0:
		return append(append(dst, c...), nl...), nil
	}
	for f.at <= f.last {
		end := bytes.IndexByte(c, '\t')
		last := end < 0 // the piece ends inside this field
		if last {
			end = len(c)
		}
		t := f.cols[f.at]
		if t == nil {
			dst = append(dst, c[:end]...)
		} else if err := f.gather(t, c[:end]); err != nil {
			return dst, err
		}
		if last && !ends {
			return dst, nil
		}
		if t != nil {
			var err error
			if dst, err = f.field(dst, t, f.value); err != nil {
				return dst, fmt.Errorf("%s row %d column %s: %w", f.table, f.rows, f.names[f.at], err)
			}
			f.value = f.value[:0]
		}
		if last {
			if f.at < f.last {
				return dst, fmt.Errorf("%s row %d: %d fields, but COPY lists %d columns", f.table, f.rows, f.at+1, len(f.cols))
			}
			return append(dst, nl...), nil
		}
		dst = append(dst, '\t')
		c = c[end+1:]
		f.at++
	}
	return append(append(dst, c...), nl...), nil
}

// gather adds part of a masked field to f.value. A transformer that never
// reads the value needs only to know whether it is NULL or empty, which
// its first three bytes tell.
func (f *Filter) gather(t *Transformer, part []byte) error {
	limit := maxValue
	if t.blind {
		limit = 3
		part = part[:min(len(part), limit-len(f.value))]
	}
	if len(f.value)+len(part) > limit {
		return fmt.Errorf("%s row %d column %s: a value of more than %d MiB, too long to mask in memory; mask the column with null or const, which never read its values",
			f.table, f.rows, f.names[f.at], maxValue>>20)
	}
	f.value = append(f.value, part...)
	return nil
}
