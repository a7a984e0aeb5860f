package mask

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"hash"
)

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
