package mask

import (
	"bytes"
	"hash/maphash"
)

// memo remembers recent outputs of one Transformer. Columns such as names
// and cities repeat the same values over and over, and a lookup costs a
// tenth of the keyed hash. A column whose values rarely repeat (emails,
// ids) turns the memo off after a trial, so it pays almost nothing there.
type memo struct {
	seed        maphash.Seed
	slots       [memoSlots]memoSlot
	tries, hits int
}

const (
	memoSlots  = 2048
	memoMaxLen = 64   // longer values are not remembered (free text rarely repeats)
	memoTrial  = 8192 // lookups before deciding whether the memo pays
)

type memoSlot struct {
	in, out []byte
	used    bool
	null    bool
}

// lookup returns the slot for v and whether it holds v's output.
func (m *memo) lookup(v []byte) (*memoSlot, bool) {
	s := &m.slots[maphash.Bytes(m.seed, v)%memoSlots]
	m.tries++
	if s.used && bytes.Equal(s.in, v) {
		m.hits++
		return s, true
	}
	return s, false
}

// pays reports, after the trial, whether at least one lookup in eight hit.
func (m *memo) pays() bool { return m.tries < memoTrial || m.hits*8 >= m.tries }

func (s *memoSlot) store(v, out []byte, null bool) {
	s.in = append(s.in[:0], v...)
	s.out = append(s.out[:0], out...)
	s.used, s.null = true, null
}
