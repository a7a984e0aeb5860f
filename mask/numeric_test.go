package mask

import (
	"math"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestIntNoise(t *testing.T) {
	tr := testTransformer(t, "{transform: int_noise, ratio: 0.2}", testKey)
	moved := 0
	for x := int64(1000); x < 2000; x++ {
		got, err := strconv.ParseInt(mask1(t, tr, strconv.FormatInt(x, 10)), 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(float64(got-x)) > 0.2*float64(x)+0.5 {
			t.Errorf("%d -> %d: beyond ±20%%", x, got)
		}
		if got != x {
			moved++
		}
	}
	if moved < 900 {
		t.Errorf("only %d of 1000 values moved", moved)
	}
}

func TestIntNoiseStaysInRange(t *testing.T) {
	tr := testTransformer(t, "{transform: int_noise, ratio: 1}", testKey)
	for i := 0; i < 200; i++ {
		for _, base := range []int64{math.MaxInt16, math.MinInt16, math.MaxInt32, math.MinInt32, math.MaxInt64, math.MinInt64} {
			x := base - int64(i)*sign(base)
			got, err := strconv.ParseInt(mask1(t, tr, strconv.FormatInt(x, 10)), 10, 64)
			if err != nil {
				t.Fatalf("%d: %v", x, err)
			}
			if lo, hi := intRange(x); got < lo || got > hi || (got < 0) != (x < 0) && got != 0 {
				t.Errorf("%d -> %d: out of [%d, %d] or sign changed", x, got, lo, hi)
			}
		}
	}
}

func sign(x int64) int64 {
	if x < 0 {
		return -1
	}
	return 1
}

func TestNumericNoise(t *testing.T) {
	tr := testTransformer(t, "{transform: numeric_noise, ratio: 0.5}", testKey)
	for _, v := range []string{"12.50", "-999.99", "0.001", "99999", "123456.7", "-0.5"} {
		got := mask1(t, tr, v)
		x, _ := strconv.ParseFloat(v, 64)
		y, err := strconv.ParseFloat(got, 64)
		if err != nil {
			t.Fatalf("%s -> %q", v, got)
		}
		wantDigits, wantScale, _ := decimalShape(v)
		if d, s, _ := decimalShape(got); d > wantDigits || s != wantScale {
			t.Errorf("%s -> %s: shape (%d, %d), want at most %d integer digits and scale %d", v, got, d, s, wantDigits, wantScale)
		}
		if math.Abs(y-x) > 0.5*math.Abs(x)+1e-9 {
			t.Errorf("%s -> %s: beyond ±50%%", v, got)
		}
	}
	if got := mask1(t, tr, "1.5e-07"); !strings.Contains(got, "e-07") && !strings.Contains(got, "e-08") {
		t.Errorf("a small float lost its precision: %s", got)
	}
	for _, v := range []string{"NaN", "Infinity", "-Infinity"} {
		if got := mask1(t, tr, v); got != v {
			t.Errorf("%s -> %s", v, got)
		}
	}
}

func TestDateShift(t *testing.T) {
	tr := testTransformer(t, "{transform: date_shift, max_days: 10}", testKey)
	seen := map[int]bool{}
	start := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := 0; i < 400; i++ {
		day := start.AddDate(0, 0, i)
		v := day.Format("2006-01-02") + " 13:45:00.5+05:30"
		got := mask1(t, tr, v)
		if !strings.HasSuffix(got, " 13:45:00.5+05:30") {
			t.Fatalf("%s -> %s: time of day or zone changed", v, got)
		}
		shifted, err := time.Parse("2006-01-02", got[:10])
		if err != nil {
			t.Fatal(err)
		}
		days := int(shifted.Sub(day).Hours() / 24)
		if days == 0 || days < -10 || days > 10 {
			t.Errorf("%s -> %s: shifted by %d days", v, got, days)
		}
		seen[days] = true
	}
	if len(seen) != 20 {
		t.Errorf("shifts used: %v, want all of ±1..10", seen)
	}
}

func TestDateShiftEdges(t *testing.T) {
	tr := testTransformer(t, "{transform: date_shift, max_days: 400}", testKey)
	for _, v := range []string{"infinity", "-infinity"} {
		if got := mask1(t, tr, v); got != v {
			t.Errorf("%s -> %s", v, got)
		}
	}
	for _, v := range []string{"0001-01-01", "0001-01-01 BC", "0044-03-15 BC", "0009-06-01", "10000-01-01"} {
		got := mask1(t, tr, v)
		d, err := parseDate([]byte(got))
		if err != nil {
			t.Errorf("%s -> %q: %v", v, got, err)
			continue
		}
		orig, _ := parseDate([]byte(v))
		if diff := math.Abs(float64(d.year - orig.year)); diff > 2 {
			t.Errorf("%s -> %s: year moved by %g", v, got, diff)
		}
		if strings.HasSuffix(got, " BC") != (d.year <= 0) || strings.Index(got, "-") < 4 {
			t.Errorf("%s -> %s: bad era or year padding", v, got)
		}
	}
	for _, v := range []string{"2020-13-01", "20-01-01", "2020/01/01", "2020-01-01x", "yesterday"} {
		if _, _, err := tr.Mask(nil, []byte(v)); err == nil {
			t.Errorf("%q is not a date", v)
		}
	}
}
