package mask

import (
	"regexp"
	"strings"
	"testing"
)

func TestEmailShape(t *testing.T) {
	got := mask1(t, testTransformer(t, "{transform: email, domain: test.invalid}", testKey), "Alice@Corp.com")
	if !regexp.MustCompile(`^[a-z]+\.[a-z]+\.[0-9a-z]{13}@test\.invalid$`).MatchString(got) {
		t.Errorf("email = %q", got)
	}
	if out := columnRule(t, "email").k.out(); out.maxLen != 11+1+12+1+13+1+len("example.com") {
		t.Errorf("email maxLen %d", out.maxLen)
	}
}

func TestUsernameShape(t *testing.T) {
	got := mask1(t, testTransformer(t, "username", testKey), "alice")
	if !regexp.MustCompile(`^[a-z]+_[0-9a-z]{13}$`).MatchString(got) {
		t.Errorf("username = %q", got)
	}
}

func TestNamesComeFromLists(t *testing.T) {
	first := testTransformer(t, "first_name", testKey)
	last := testTransformer(t, "last_name", testKey)
	full := testTransformer(t, "full_name", testKey)
	for _, v := range textInputs {
		f, l := mask1(t, first, v), mask1(t, last, v)
		if !inList(firstNames, f) || !inList(lastNames, l) {
			t.Errorf("%q -> %q %q: not from the lists", v, f, l)
		}
		parts := strings.Split(mask1(t, full, v), " ")
		if len(parts) != 2 || !inList(firstNames, parts[0]) || !inList(lastNames, parts[1]) {
			t.Errorf("full_name(%q) = %q", v, parts)
		}
	}
}

func TestStreetAndCity(t *testing.T) {
	got := mask1(t, testTransformer(t, "street_address", testKey), "1 Main St")
	if !regexp.MustCompile(`^[0-9]{1,4} [A-Za-z]+ [A-Za-z]+$`).MatchString(got) {
		t.Errorf("street_address = %q", got)
	}
	if c := mask1(t, testTransformer(t, "city", testKey), "Berlin"); !inList(cities, c) {
		t.Errorf("city = %q", c)
	}
}

func TestPatterns(t *testing.T) {
	got := mask1(t, testTransformer(t, `{transform: phone, format: "+49 (###) ##-#"}`, testKey), "030 1234")
	if !regexp.MustCompile(`^\+49 \([0-9]{3}\) [0-9]{2}-[0-9]$`).MatchString(got) {
		t.Errorf("phone = %q", got)
	}
	if out := columnRule(t, `{transform: postal_code, format: "## ###"}`).k.out(); out.maxLen != 6 {
		t.Errorf("postal_code maxLen %d", out.maxLen)
	}
}

// TestDigitSpread: every digit shows up about as often as the others.
func TestDigitSpread(t *testing.T) {
	tr := testTransformer(t, "digits", testKey)
	var counts [10]int
	for i := 0; i < 2000; i++ {
		for _, c := range mask1(t, tr, strings.Repeat("7", 50)+string(rune('a'+i%26))+strings.Repeat("x", i%7)) {
			if c >= '0' && c <= '9' {
				counts[c-'0']++
			}
		}
	}
	for d, n := range counts {
		if n < 8000 || n > 12000 { // 100,000 digits
			t.Errorf("digit %d: %d times", d, n)
		}
	}
}

func inList(list []string, s string) bool {
	for _, e := range list {
		if e == s {
			return true
		}
	}
	return false
}
