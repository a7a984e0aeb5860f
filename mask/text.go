package mask

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"net/netip"
	"regexp"
	"regexp/syntax"
	"strconv"
	"strings"
	"unicode/utf8"
)

func init() {
	register("keep", definition{build: func(*options) kernel { return keep{} }})
	register("null", definition{build: func(*options) kernel { return null{} }})
	register("const", definition{options: []string{"value"}, build: func(o *options) kernel {
		return constant{o.required("value", `{transform: const, value: "x"}`)}
	}})
	register("hash", definition{options: []string{"length"}, build: func(o *options) kernel {
		// 16 hex digits = 64 bits, the least that keeps a million distinct
		// inputs distinct in practice.
		return hashHex{o.intRange("length", 32, 16, 2*32)}
	}})
	register("digits", definition{build: func(*options) kernel { return digits{} }})
	register("uuid", definition{build: func(*options) kernel { return uuidV4{} }})
	register("ip", definition{build: func(*options) kernel { return ip{} }})
	register("regex_replace", definition{options: []string{"pattern", "replacement"}, build: buildRegex})
}

// keep passes the value through; the filter does not even decode it.
type keep struct{}

func (keep) mask(dst, v []byte, _ *hmacer) ([]byte, bool, error) {
	return append(dst, v...), false, nil
}
func (keep) out() output { return output{classes: classAny, maxLen: asInput, unique: true} }

// null makes every value NULL. Distinct NULLs never clash in a unique index.
type null struct{}

func (null) mask(dst, _ []byte, _ *hmacer) ([]byte, bool, error) { return dst, true, nil }
func (null) out() output {
	return output{classes: classAny, maxLen: 0, unique: true, fillsEmpty: true}
}

type constant struct{ value string }

func (k constant) mask(dst, _ []byte, _ *hmacer) ([]byte, bool, error) {
	return append(dst, k.value...), false, nil
}

// out works out which column types the constant is valid input for.
func (k constant) out() output {
	c, v := classText|classOther, k.value
	if _, err := strconv.ParseInt(v, 10, 64); err == nil {
		c |= classInt
	}
	if _, err := strconv.ParseFloat(v, 64); err == nil {
		c |= classNumeric
	}
	if _, err := parseDate([]byte(v)); err == nil {
		c |= classDate
	}
	if isUUID(v) {
		c |= classUUID
	}
	if _, err := netip.ParsePrefix(v); err == nil {
		c |= classInet
	} else if _, err := netip.ParseAddr(v); err == nil {
		c |= classInet
	}
	if json.Valid([]byte(v)) {
		c |= classJSON
	}
	switch strings.ToLower(v) {
	case "t", "f", "true", "false", "yes", "no", "on", "off", "1", "0":
		c |= classBool
	}
	return output{classes: c, maxLen: runes(v), fillsEmpty: true}
}

// hashHex is the keyed hash in lowercase hex.
type hashHex struct{ length int }

func (k hashHex) mask(dst, v []byte, h *hmacer) ([]byte, bool, error) {
	r := h.rnd(v)
	var buf [64]byte
	hex.Encode(buf[:], r.b[:])
	return append(dst, buf[:k.length]...), false, nil
}

func (k hashHex) out() output { return output{classes: classText, maxLen: k.length, unique: true} }

// digits replaces every ASCII digit and keeps everything else, so formats
// ("+1 (415) 555-0100", "DE89 3704") survive.
type digits struct{}

func (digits) mask(dst, v []byte, h *hmacer) ([]byte, bool, error) {
	r := h.rnd(v)
	for _, c := range v {
		if c >= '0' && c <= '9' {
			c = r.digit()
		}
		dst = append(dst, c)
	}
	return dst, false, nil
}

func (digits) out() output { return output{classes: classText, maxLen: asInput} }

// uuidV4 formats 122 bits of the keyed hash as a version 4 UUID.
type uuidV4 struct{}

func (uuidV4) mask(dst, v []byte, h *hmacer) ([]byte, bool, error) {
	r := h.rnd(v)
	b := r.b[:16]
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	var buf [36]byte
	hex.Encode(buf[0:8], b[0:4])
	buf[8] = '-'
	hex.Encode(buf[9:13], b[4:6])
	buf[13] = '-'
	hex.Encode(buf[14:18], b[6:8])
	buf[18] = '-'
	hex.Encode(buf[19:23], b[8:10])
	buf[23] = '-'
	hex.Encode(buf[24:], b[10:16])
	return append(dst, buf[:]...), false, nil
}

func (uuidV4) out() output { return output{classes: classText | classUUID, maxLen: 36, unique: true} }

func isUUID(s string) bool {
	s = strings.ReplaceAll(s, "-", "")
	_, err := hex.DecodeString(s)
	return len(s) == 32 && err == nil
}

// ip maps an IPv4 address into 10.0.0.0/8 and an IPv6 one into fd00::/8
// (private ranges, so no masked value points at a real host). A /n suffix
// (inet) is kept; anything else after a slash (a text column holding more
// than an address) is part of what is hashed, never kept.
type ip struct{}

func (ip) mask(dst, v []byte, h *hmacer) ([]byte, bool, error) {
	addr, suffix := v, []byte(nil)
	if i := bytes.IndexByte(v, '/'); i >= 0 && isPrefixLen(v[i+1:]) {
		addr, suffix = v[:i], v[i:]
	}
	r := h.rnd(addr)
	var a netip.Addr
	if bytes.IndexByte(addr, ':') >= 0 {
		b := r.b
		b[0] = 0xfd
		a = netip.AddrFrom16([16]byte(b[:16]))
	} else {
		a = netip.AddrFrom4([4]byte{10, r.b[0], r.b[1], r.b[2]})
	}
	dst = a.AppendTo(dst)
	return append(dst, suffix...), false, nil
}

// isPrefixLen reports whether s is a prefix length: one to three digits.
func isPrefixLen(s []byte) bool {
	if len(s) == 0 || len(s) > 3 {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

func (ip) out() output { return output{classes: classText | classInet, maxLen: 39 + 4} }

// regex replaces every match of a pattern; it is not keyed.
type regex struct {
	re   *regexp.Regexp
	repl []byte
	max  int
}

func buildRegex(o *options) kernel {
	pat := o.required("pattern", `{transform: regex_replace, pattern: "[0-9]", replacement: "#"}`)
	repl := o.str("replacement", "")
	re, err := regexp.Compile(pat)
	if err != nil {
		o.fail("pattern", "%v; the syntax is Go's RE2 (https://pkg.go.dev/regexp/syntax)", err)
		return keep{}
	}
	// The output is no longer than the input when every match is replaced
	// by no more characters than it has; otherwise no limit is known.
	maxLen := unbounded
	if syn, err := syntax.Parse(pat, syntax.Perl); err == nil && !strings.Contains(repl, "$") {
		if n := minMatch(syn.Simplify()); n > 0 && n >= utf8.RuneCountInString(repl) {
			maxLen = asInput
		}
	}
	return regex{re: re, repl: []byte(repl), max: maxLen}
}

func (k regex) mask(dst, v []byte, _ *hmacer) ([]byte, bool, error) {
	return append(dst, k.re.ReplaceAll(v, k.repl)...), false, nil
}

func (k regex) out() output { return output{classes: classText, maxLen: k.max} }

// minMatch is the fewest characters a regular expression can match.
func minMatch(re *syntax.Regexp) int {
	switch re.Op {
	case syntax.OpLiteral:
		return len(re.Rune)
	case syntax.OpCharClass, syntax.OpAnyChar, syntax.OpAnyCharNotNL:
		return 1
	case syntax.OpCapture, syntax.OpPlus:
		return minMatch(re.Sub[0])
	case syntax.OpRepeat:
		return re.Min * minMatch(re.Sub[0])
	case syntax.OpConcat:
		n := 0
		for _, s := range re.Sub {
			n += minMatch(s)
		}
		return n
	case syntax.OpAlternate:
		n := -1
		for _, s := range re.Sub {
			if m := minMatch(s); n < 0 || m < n {
				n = m
			}
		}
		return max(n, 0)
	}
	return 0 // star, quest, empty matches, anchors
}
