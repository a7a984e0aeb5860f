package mask

import (
	"errors"
	"math"
	"strconv"
	"time"
)

func init() {
	register("int_noise", definition{options: []string{"ratio"}, build: func(o *options) kernel {
		return intNoise{o.floatRange("ratio", 0.1, 0, 1)}
	}})
	register("numeric_noise", definition{options: []string{"ratio"}, build: func(o *options) kernel {
		return numericNoise{o.floatRange("ratio", 0.1, 0, 1)}
	}})
	register("date_shift", definition{options: []string{"max_days"}, build: func(o *options) kernel {
		return dateShift{o.intRange("max_days", 30, 1, 36500)}
	}})
}

// intNoise multiplies an integer by a keyed factor within 1 ± ratio. The
// result is clamped to the smallest of int2/int4/int8 that holds the input,
// so noise never pushes a value out of its column's range.
type intNoise struct{ ratio float64 }

var errNotInteger = errors.New("int_noise: value is not an integer")

func (k intNoise) mask(dst, v []byte, h *hmacer) ([]byte, bool, error) {
	x, err := strconv.ParseInt(string(v), 10, 64)
	if err != nil {
		return dst, false, errNotInteger
	}
	r := h.rnd(v)
	y := float64(x) * (1 + r.unit()*k.ratio)
	lo, hi := intRange(x)
	switch {
	case y >= float64(hi):
		x = hi
	case y <= float64(lo):
		x = lo
	default:
		x = int64(math.Round(y))
	}
	return strconv.AppendInt(dst, x, 10), false, nil
}

func (intNoise) out() output { return output{classes: classInt | classNumeric, maxLen: unbounded} }

func intRange(x int64) (lo, hi int64) {
	switch {
	case x >= math.MinInt16 && x <= math.MaxInt16:
		return math.MinInt16, math.MaxInt16
	case x >= math.MinInt32 && x <= math.MaxInt32:
		return math.MinInt32, math.MaxInt32
	}
	return math.MinInt64, math.MaxInt64
}

// numericNoise multiplies a decimal by a keyed factor within 1 ± ratio,
// keeping its number of decimals and never adding an integer digit, so the
// value still fits the numeric(p,s) it came from.
type numericNoise struct{ ratio float64 }

var errNotNumber = errors.New("numeric_noise: value is not a number")

func (k numericNoise) mask(dst, v []byte, h *hmacer) ([]byte, bool, error) {
	s := string(v)
	x, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return dst, false, errNotNumber
	}
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return append(dst, v...), false, nil
	}
	r := h.rnd(v)
	y := x * (1 + r.unit()*k.ratio)
	intDigits, scale, plain := decimalShape(s)
	if !plain { // a float written with an exponent: keep full precision
		return strconv.AppendFloat(dst, y, 'g', -1, 64), false, nil
	}
	if limit := math.Pow10(intDigits) - math.Pow10(-scale); math.Abs(y) > limit {
		y = math.Copysign(limit, y)
	}
	return strconv.AppendFloat(dst, y, 'f', scale, 64), false, nil
}

func (numericNoise) out() output { return output{classes: classNumeric, maxLen: unbounded} }

// decimalShape counts the digits before and after the point of a plain
// decimal; plain is false for a float written with an exponent.
func decimalShape(s string) (intDigits, scale int, plain bool) {
	seenPoint := false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '.':
			seenPoint = true
		case c == 'e' || c == 'E':
			return 0, 0, false
		case c >= '0' && c <= '9' && seenPoint:
			scale++
		case c >= '0' && c <= '9':
			intDigits++
		}
	}
	return max(intDigits, 1), scale, true
}

// dateShift moves a date, or the date part of a timestamp, by a keyed
// number of days in [-max, -1] or [1, max]; the time of day and the zone
// offset are kept as written.
type dateShift struct{ maxDays int }

var errNotDate = errors.New("date_shift: value is not a date or timestamp in ISO format (YYYY-MM-DD...)")

func (k dateShift) mask(dst, v []byte, h *hmacer) ([]byte, bool, error) {
	d, err := parseDate(v)
	if err != nil {
		if s := string(v); s == "infinity" || s == "-infinity" {
			return append(dst, v...), false, nil
		}
		return dst, false, err
	}
	r := h.rnd(v)
	days := 1 + r.intn(k.maxDays)
	if r.next()&1 == 0 {
		days = -days
	}
	t := time.Date(d.year, time.Month(d.month), d.day, 0, 0, 0, 0, time.UTC).AddDate(0, 0, days)
	year, bc := t.Year(), ""
	if year <= 0 {
		year, bc = 1-year, " BC" // ISO year 0 is 1 BC
	}
	if year < 1000 {
		dst = append(dst, "000"[:4-len(strconv.Itoa(year))]...)
	}
	dst = strconv.AppendInt(dst, int64(year), 10)
	dst = append(dst, '-', byte('0'+t.Month()/10), byte('0'+t.Month()%10), '-', byte('0'+t.Day()/10), byte('0'+t.Day()%10))
	return append(append(dst, d.rest...), bc...), false, nil
}

func (dateShift) out() output { return output{classes: classDate | classText, maxLen: asInput} }

type isoDate struct {
	year, month, day int
	rest             []byte // time and zone, after the date
	bc               bool
}

// parseDate reads PostgreSQL's ISO output: "2024-01-31", "2024-01-31
// 12:00:00+01", with an optional " BC" at the end.
func parseDate(v []byte) (isoDate, error) {
	var d isoDate
	if n := len(v); n > 3 && string(v[n-3:]) == " BC" {
		d.bc, v = true, v[:n-3]
	}
	i := 0
	num := func(min, max int) int {
		start, n := i, 0
		for i < len(v) && v[i] >= '0' && v[i] <= '9' && i-start < max {
			n = n*10 + int(v[i]-'0')
			i++
		}
		if i-start < min {
			return -1
		}
		return n
	}
	d.year = num(4, 7)
	if d.year < 0 || i >= len(v) || v[i] != '-' {
		return d, errNotDate
	}
	i++
	d.month = num(2, 2)
	if d.month < 1 || d.month > 12 || i >= len(v) || v[i] != '-' {
		return d, errNotDate
	}
	i++
	d.day = num(2, 2)
	if d.day < 1 || d.day > 31 || i < len(v) && v[i] != ' ' && v[i] != 'T' {
		return d, errNotDate
	}
	d.rest = v[i:]
	if d.bc {
		d.year = 1 - d.year
	}
	return d, nil
}
