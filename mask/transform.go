package mask

import (
	"hash/maphash"
	"sort"
	"strings"
)

// Lengths a transformer may declare besides a fixed maximum.
const (
	unbounded = -1 // no limit known
	asInput   = -2 // never longer than its input
)

// output is what a transformer promises about its values.
type output struct {
	classes class // type families the values are valid for
	maxLen  int   // in characters; unbounded or asInput
	unique  bool  // distinct inputs give distinct outputs
	// fillsEmpty: the transformer also replaces the empty string (const,
	// null). Every other one leaves "" alone: it holds no personal data.
	fillsEmpty bool
}

// kernel is one configured transformer. mask appends the masked form of v
// (never NULL) to dst; null reports that the result is SQL NULL. Errors must
// not quote v: they end up in logs, and v is the raw data.
type kernel interface {
	mask(dst, v []byte, h *hmacer) (out []byte, null bool, err error)
	out() output
}

// definition registers a transformer: the options it takes besides
// "transform", and how to build it from them.
type definition struct {
	options []string
	build   func(o *options) kernel
}

var transformers = map[string]definition{}

func register(name string, d definition) { transformers[name] = d }

// Names lists every transformer, sorted.
func Names() []string {
	names := make([]string, 0, len(transformers))
	for n := range transformers {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Transformer masks the values of one column. It holds hashing state, so
// it is not safe for concurrent use: make one per goroutine.
type Transformer struct {
	name       string
	k          kernel
	h          *hmacer
	fillsEmpty bool
	// blind: the output depends on no value, only on whether it is empty
	// (null, const), so a value too long to hold need not be read.
	blind bool
	memo  *memo // nil when off
}

func newTransformer(name string, k kernel, key []byte) *Transformer {
	t := &Transformer{name: name, k: k, h: newHMACer(key, name), fillsEmpty: k.out().fillsEmpty}
	switch k.(type) {
	case null, constant:
		t.blind = true // and the memo would save nothing
	case keep:
	default:
		t.memo = &memo{seed: maphash.MakeSeed()}
	}
	return t
}

// Mask appends the masked form of the non-NULL value v to dst. null reports
// that the result is SQL NULL (the null transformer). NULL inputs stay NULL
// and are the caller's business.
func (t *Transformer) Mask(dst, v []byte) (out []byte, null bool, err error) {
	if len(v) == 0 && !t.fillsEmpty {
		return dst, false, nil
	}
	if t.memo == nil || len(v) > memoMaxLen {
		return t.k.mask(dst, v, t.h)
	}
	slot, hit := t.memo.lookup(v)
	if hit {
		return append(dst, slot.out...), slot.null, nil
	}
	if !t.memo.pays() {
		t.memo = nil
		return t.k.mask(dst, v, t.h)
	}
	start := len(dst)
	if out, null, err = t.k.mask(dst, v, t.h); err == nil {
		slot.store(v, out[start:], null)
	}
	return out, null, err
}

// Name is the transformer's name, e.g. "email".
func (t *Transformer) Name() string { return t.name }

// runes counts the characters of s, which is how varchar(n) counts.
func runes(s string) int { return len([]rune(s)) }

func maxRunes(list []string) int {
	n := 0
	for _, s := range list {
		n = max(n, runes(s))
	}
	return n
}

func lowerASCII(list []string) []string {
	out := make([]string, len(list))
	for i, s := range list {
		out[i] = strings.ToLower(s)
	}
	return out
}
