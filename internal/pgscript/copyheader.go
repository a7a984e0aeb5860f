// Package pgscript reads the parts of pg_dump's SQL output (a plain dump,
// or what pg_restore -f - writes) that ditto acts on: the COPY statement
// before a table's rows and the line that ends them.
package pgscript

import (
	"bytes"
	"fmt"
	"strings"
)

// CopyHeader is what a `COPY schema.table (col, ...) FROM stdin;` line says,
// with identifiers unquoted.
type CopyHeader struct {
	Schema  string
	Table   string
	Columns []string
}

// Name is "schema.table", the form rules use.
func (h CopyHeader) Name() string { return h.Schema + "." + h.Table }

// ParseCopyHeader parses the COPY statement pg_dump and pg_restore write
// before a table's data, for example
// `COPY public."Order" (id, "e-mail") FROM stdin;`. A table name without a
// schema gets "public".
func ParseCopyHeader(line string) (CopyHeader, error) {
	var h CopyHeader
	bad := func(why string) (CopyHeader, error) {
		return CopyHeader{}, fmt.Errorf("COPY header %q: %s; expected COPY schema.table (col, ...) FROM stdin;", clip(line), why)
	}
	s := strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(line), ";"))
	if len(s) < 5 || !strings.EqualFold(s[:5], "COPY ") {
		return bad("does not start with COPY")
	}
	s = strings.TrimSpace(s[5:])
	name, s, err := identifier(s)
	if err != nil {
		return bad(err.Error())
	}
	h.Schema, h.Table = "public", name
	if strings.HasPrefix(s, ".") {
		h.Schema = name
		if h.Table, s, err = identifier(s[1:]); err != nil {
			return bad(err.Error())
		}
	}
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, "(") {
		s = s[1:]
		for {
			var col string
			if col, s, err = identifier(strings.TrimSpace(s)); err != nil {
				return bad(err.Error())
			}
			h.Columns = append(h.Columns, col)
			s = strings.TrimSpace(s)
			if strings.HasPrefix(s, ")") {
				s = strings.TrimSpace(s[1:])
				break
			}
			if !strings.HasPrefix(s, ",") {
				return bad("column list is not closed")
			}
			s = s[1:]
		}
	}
	if !strings.EqualFold(s, "FROM stdin") {
		return bad("does not end with FROM stdin")
	}
	return h, nil
}

// OpenQuote reports whether s ends inside a quoted identifier. pg_dump
// writes a name holding a newline as it is, between its quotes, so a COPY
// statement with such a name goes on on the next line; ParseCopyHeader
// takes the lines joined. An escaped quote ("") counts twice, so an odd
// count means a quote is open, and a statement read in parts is open when
// an odd number of its parts are.
func OpenQuote(s []byte) bool {
	return bytes.Count(s, []byte(`"`))%2 == 1
}

// identifier reads one SQL identifier from the start of s: a quoted one
// ("" stands for ") or a plain one up to a delimiter.
func identifier(s string) (id, rest string, err error) {
	if strings.HasPrefix(s, `"`) {
		var b strings.Builder
		for i := 1; i < len(s); i++ {
			if s[i] != '"' {
				b.WriteByte(s[i])
				continue
			}
			if i+1 < len(s) && s[i+1] == '"' {
				b.WriteByte('"')
				i++
				continue
			}
			return b.String(), s[i+1:], nil
		}
		return "", "", fmt.Errorf("unterminated quoted identifier")
	}
	end := strings.IndexAny(s, " .,()\t")
	if end < 0 {
		end = len(s)
	}
	if end == 0 {
		return "", "", fmt.Errorf("missing identifier")
	}
	return s[:end], s[end:], nil
}

// clip shortens s for an error message.
func clip(s string) string {
	if len(s) > 80 {
		return s[:77] + "..."
	}
	return s
}

// IsEndOfData reports the line `\.` that ends a COPY's rows.
func IsEndOfData(line []byte) bool {
	line = bytes.TrimRight(line, "\r\n")
	return len(line) == 2 && line[0] == '\\' && line[1] == '.'
}
