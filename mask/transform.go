package mask

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"hash"
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
	memo       *memo // nil when off
}

func newTransformer(name string, k kernel, key []byte) *Transformer {
	t := &Transformer{name: name, k: k, h: newHMACer(key, name), fillsEmpty: k.out().fillsEmpty}
	switch k.(type) {
	case keep, null, constant: // nothing to save
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

// hmacer derives the pseudo-random bytes for one transformer: HMAC-SHA256
// under a subkey HMAC(key, "ditto mask v1 " + name), so that the same value
// maps to the same output everywhere the same transformer masks it, and to
// unrelated outputs under another key or another transformer.
type hmacer struct {
	key  []byte
	mac  hash.Hash
	sum  [sha256.Size]byte
	subs map[string]*hmacer
}

func newHMACer(key []byte, name string) *hmacer {
	m := hmac.New(sha256.New, key)
	m.Write([]byte("ditto mask v1 " + name))
	return &hmacer{key: key, mac: hmac.New(sha256.New, m.Sum(nil))}
}

// rnd returns the random stream for value v.
func (h *hmacer) rnd(v []byte) rnd {
	h.mac.Reset()
	h.mac.Write(v)
	h.mac.Sum(h.sum[:0])
	return rnd{b: h.sum}
}

// sub returns the hmacer of another transformer under the same key, for
// transformers nested in json.
func (h *hmacer) sub(name string) *hmacer {
	if s, ok := h.subs[name]; ok {
		return s
	}
	if h.subs == nil {
		h.subs = map[string]*hmacer{}
	}
	s := newHMACer(h.key, name)
	h.subs[name] = s
	return s
}

// rnd is a deterministic byte stream seeded by an HMAC; past 32 bytes it
// continues with SHA-256 of the previous block.
type rnd struct {
	b [sha256.Size]byte
	i int
}

func (r *rnd) next() byte {
	if r.i == len(r.b) {
		r.b = sha256.Sum256(r.b[:])
		r.i = 0
	}
	c := r.b[r.i]
	r.i++
	return c
}

func (r *rnd) u64() uint64 {
	if r.i+8 > len(r.b) {
		var b [8]byte
		for i := range b {
			b[i] = r.next()
		}
		return binary.LittleEndian.Uint64(b[:])
	}
	v := binary.LittleEndian.Uint64(r.b[r.i:])
	r.i += 8
	return v
}

// intn returns a number in [0, n); the modulo bias is below 2^-40 for the
// small n used here.
func (r *rnd) intn(n int) int { return int(r.u64() % uint64(n)) }

// unit returns a number in [-1, 1).
func (r *rnd) unit() float64 { return float64(r.u64()>>11)/(1<<52) - 1 }

// digit returns an unbiased decimal digit.
func (r *rnd) digit() byte {
	for {
		if c := r.next(); c < 250 {
			return '0' + c%10
		}
	}
}

// appendTag appends 64 bits of r as 13 lowercase base-32 characters: the
// part of an email or username that keeps distinct inputs distinct.
func appendTag(dst []byte, r *rnd) []byte {
	const alphabet = "0123456789abcdefghjkmnpqrstvwxyz"
	v := r.u64()
	for i := 0; i < 13; i++ {
		dst = append(dst, alphabet[v>>59])
		v <<= 5
	}
	return dst
}

const tagLen = 13

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
