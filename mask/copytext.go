package mask

// The PostgreSQL COPY text format: fields are separated by tabs, rows by
// newlines, NULL is the whole field `\N`, and backslash escapes the rest.
// Decoding and encoding work on bytes: every server encoding PostgreSQL
// allows is ASCII-safe (no multibyte character contains a byte below 0x80),
// so UTF-8 text passes through untouched.

// nullField is how COPY text writes SQL NULL.
var nullField = []byte(`\N`)

// IsNull reports whether a raw (still escaped) field is SQL NULL.
func IsNull(field []byte) bool {
	return len(field) == 2 && field[0] == '\\' && field[1] == 'N'
}

// DecodeField appends the value of one raw COPY text field to dst. It does
// not handle NULL: check IsNull first. Escapes follow PostgreSQL's
// CopyReadAttributesText: \b \f \n \r \t \v, one to three octal digits, \x
// with one or two hex digits, and a backslash before any other byte stands
// for that byte.
func DecodeField(dst, field []byte) []byte {
	for i := 0; i < len(field); i++ {
		c := field[i]
		if c != '\\' {
			dst = append(dst, c)
			continue
		}
		i++
		if i == len(field) { // a lone trailing backslash: keep it as it is
			return append(dst, '\\')
		}
		c = field[i]
		switch {
		case c >= '0' && c <= '7':
			v := c - '0'
			for n := 1; n < 3 && i+1 < len(field) && field[i+1] >= '0' && field[i+1] <= '7'; n++ {
				i++
				v = v<<3 | (field[i] - '0')
			}
			dst = append(dst, v)
		case c == 'x' && i+1 < len(field) && isHex(field[i+1]):
			i++
			v := unhex(field[i])
			if i+1 < len(field) && isHex(field[i+1]) {
				i++
				v = v<<4 | unhex(field[i])
			}
			dst = append(dst, v)
		default:
			dst = append(dst, unescape[c])
		}
	}
	return dst
}

// EncodeField appends v escaped as one COPY text field, the way PostgreSQL's
// COPY TO writes it.
func EncodeField(dst, v []byte) []byte {
	start := 0
	for i, c := range v {
		if escape[c] == 0 {
			continue
		}
		dst = append(dst, v[start:i]...)
		dst = append(dst, '\\', escape[c])
		start = i + 1
	}
	return append(dst, v[start:]...)
}

// unescape maps the byte after a backslash to the byte it stands for;
// escape maps a byte that must be escaped to the letter after the backslash.
var unescape, escape [256]byte

func init() {
	for i := range unescape {
		unescape[i] = byte(i)
	}
	for _, p := range []struct{ raw, letter byte }{
		{'\b', 'b'}, {'\f', 'f'}, {'\n', 'n'}, {'\r', 'r'}, {'\t', 't'}, {'\v', 'v'}, {'\\', '\\'},
	} {
		unescape[p.letter] = p.raw
		escape[p.raw] = p.letter
	}
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c >= 'a':
		return c - 'a' + 10
	}
	return c - 'A' + 10
}
