package mask

import (
	"strconv"

	"github.com/brianvoe/gofakeit/v7/data"
)

// Fake values are picked from gofakeit's word lists with the keyed hash as
// the index. Seeding a gofakeit.Faker per value gives the same kind of
// output at several times the cost (see BenchmarkNames), and reseed runs
// this for every row.
var (
	firstNames  = data.Person["first"]
	lastNames   = data.Person["last"]
	streetNames = data.Address["street_name"]
	cities      = data.Address["city"]
	// Lowercased for emails and usernames; the lists are ASCII letters only.
	firstLower = lowerASCII(firstNames)
	lastLower  = lowerASCII(lastNames)
)

func init() {
	register("first_name", definition{build: func(*options) kernel { return pick{firstNames} }})
	register("last_name", definition{build: func(*options) kernel { return pick{lastNames} }})
	register("city", definition{build: func(*options) kernel { return pick{cities} }})
	register("full_name", definition{build: func(*options) kernel { return fullName{} }})
	register("street_address", definition{build: func(*options) kernel { return street{} }})
	register("username", definition{build: func(*options) kernel { return username{} }})
	register("email", definition{options: []string{"domain"}, build: func(o *options) kernel {
		return email{domain: o.str("domain", "example.com")}
	}})
	register("phone", definition{options: []string{"format"}, build: func(o *options) kernel {
		return pattern{o.str("format", "555-###-####")}
	}})
	register("postal_code", definition{options: []string{"format"}, build: func(o *options) kernel {
		return pattern{o.str("format", "#####")}
	}})
}

// pick replaces a value with one entry of a list.
type pick struct{ list []string }

func (k pick) mask(dst, v []byte, h *hmacer) ([]byte, bool, error) {
	r := h.rnd(v)
	return append(dst, k.list[r.intn(len(k.list))]...), false, nil
}

func (k pick) out() output { return output{classes: classText, maxLen: maxRunes(k.list)} }

type fullName struct{}

func (fullName) mask(dst, v []byte, h *hmacer) ([]byte, bool, error) {
	r := h.rnd(v)
	dst = append(dst, firstNames[r.intn(len(firstNames))]...)
	dst = append(dst, ' ')
	return append(dst, lastNames[r.intn(len(lastNames))]...), false, nil
}

func (fullName) out() output {
	return output{classes: classText, maxLen: maxRunes(firstNames) + 1 + maxRunes(lastNames)}
}

// street is "<number> <last name> <street word>", e.g. "4821 Parker Avenue".
type street struct{}

func (street) mask(dst, v []byte, h *hmacer) ([]byte, bool, error) {
	r := h.rnd(v)
	dst = strconv.AppendInt(dst, int64(1+r.intn(9999)), 10)
	dst = append(dst, ' ')
	dst = append(dst, lastNames[r.intn(len(lastNames))]...)
	dst = append(dst, ' ')
	return append(dst, streetNames[r.intn(len(streetNames))]...), false, nil
}

func (street) out() output {
	return output{classes: classText, maxLen: 4 + 1 + maxRunes(lastNames) + 1 + maxRunes(streetNames)}
}

// email is "first.last.<tag>@domain"; the 64-bit tag keeps distinct inputs
// distinct, and is lowercase so that lower(email) stays unique too.
type email struct{ domain string }

func (k email) mask(dst, v []byte, h *hmacer) ([]byte, bool, error) {
	r := h.rnd(v)
	tag := r
	r.i = 8 // the names use the bytes after the tag's
	dst = append(dst, firstLower[r.intn(len(firstLower))]...)
	dst = append(dst, '.')
	dst = append(dst, lastLower[r.intn(len(lastLower))]...)
	dst = append(dst, '.')
	dst = appendTag(dst, &tag)
	dst = append(dst, '@')
	return append(dst, k.domain...), false, nil
}

func (k email) out() output {
	n := maxRunes(firstNames) + 1 + maxRunes(lastNames) + 1 + tagLen + 1 + runes(k.domain)
	return output{classes: classText, maxLen: n, unique: true}
}

// username is "first_<tag>".
type username struct{}

func (username) mask(dst, v []byte, h *hmacer) ([]byte, bool, error) {
	r := h.rnd(v)
	tag := r
	r.i = 8
	dst = append(dst, firstLower[r.intn(len(firstLower))]...)
	dst = append(dst, '_')
	return appendTag(dst, &tag), false, nil
}

func (username) out() output {
	return output{classes: classText, maxLen: maxRunes(firstNames) + 1 + tagLen, unique: true}
}

// pattern fills a format: each # becomes a digit, the rest is kept.
type pattern struct{ format string }

func (k pattern) mask(dst, v []byte, h *hmacer) ([]byte, bool, error) {
	r := h.rnd(v)
	for i := 0; i < len(k.format); i++ {
		c := k.format[i]
		if c == '#' {
			c = r.digit()
		}
		dst = append(dst, c)
	}
	return dst, false, nil
}

func (k pattern) out() output { return output{classes: classText, maxLen: runes(k.format)} }
