package mask

import (
	"net/netip"
	"strings"
	"testing"
)

func TestDigitsKeepsFormat(t *testing.T) {
	tr := testTransformer(t, "digits", testKey)
	for _, v := range []string{"+1 (415) 555-0100", "DE89 3704 0044", "ab-12/cd", "東京 123"} {
		got := mask1(t, tr, v)
		if len(got) != len(v) {
			t.Errorf("%q -> %q: length changed", v, got)
		}
		for i := range v {
			isDigit := v[i] >= '0' && v[i] <= '9'
			if isDigit != (got[i] >= '0' && got[i] <= '9') || !isDigit && got[i] != v[i] {
				t.Errorf("%q -> %q: byte %d", v, got, i)
			}
		}
	}
}

func TestHashLength(t *testing.T) {
	for spec, n := range map[string]int{"hash": 32, "{transform: hash, length: 16}": 16, "{transform: hash, length: 64}": 64, "{transform: hash, length: 33}": 33} {
		if got := mask1(t, testTransformer(t, spec, testKey), "x"); len(got) != n || !isLowerHex(got) {
			t.Errorf("%s -> %q", spec, got)
		}
	}
}

func TestIP(t *testing.T) {
	tr := testTransformer(t, "ip", testKey)
	v4 := mask1(t, tr, "203.0.113.9")
	if a, err := netip.ParseAddr(v4); err != nil || !a.Is4() || !netip.MustParsePrefix("10.0.0.0/8").Contains(a) {
		t.Errorf("IPv4 -> %q", v4)
	}
	v6 := mask1(t, tr, "2001:db8::7")
	if a, err := netip.ParseAddr(v6); err != nil || !a.Is6() || !netip.MustParsePrefix("fd00::/8").Contains(a) {
		t.Errorf("IPv6 -> %q", v6)
	}
	if got := mask1(t, tr, "203.0.113.9/24"); got != v4+"/24" {
		t.Errorf("inet with a prefix -> %q, want %q (the address alone decides)", got, v4+"/24")
	}
}

func TestConstClasses(t *testing.T) {
	cases := map[string]class{
		`"x"`:                                    classText | classOther,
		`"42"`:                                   classInt | classNumeric | classJSON,
		`"4.5"`:                                  classNumeric | classJSON,
		`"2020-01-01"`:                           classDate,
		`"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"`: classUUID,
		`"10.0.0.1"`:                             classInet,
		`"10.0.0.0/8"`:                           classInet,
		`"{}"`:                                   classJSON,
		`"true"`:                                 classBool | classJSON,
		`"f"`:                                    classBool,
	}
	for v, want := range cases {
		got := columnRule(t, "{transform: const, value: "+v+"}").k.out().classes
		if got&want != want {
			t.Errorf("const %s: classes %v, want at least %v", v, got, want)
		}
	}
	if columnRule(t, `{transform: const, value: "x"}`).k.out().classes&classInt != 0 {
		t.Error(`const "x" is not an integer`)
	}
}

func TestRegexReplace(t *testing.T) {
	tr := testTransformer(t, `{transform: regex_replace, pattern: "(\\w+)@(\\w+)", replacement: "${2}_at_$1"}`, testKey)
	if got := mask1(t, tr, "mail bob@corp now"); got != "mail corp_at_bob now" {
		t.Errorf("got %q", got)
	}
	bounds := map[string]int{
		`{transform: regex_replace, pattern: "[0-9]", replacement: "#"}`:      asInput,
		`{transform: regex_replace, pattern: "[0-9]{3}", replacement: "###"}`: asInput,
		`{transform: regex_replace, pattern: "a|bc", replacement: "x"}`:       asInput,
		`{transform: regex_replace, pattern: "(ab)+", replacement: "xy"}`:     asInput,
		`{transform: regex_replace, pattern: "[0-9]", replacement: "##"}`:     unbounded,
		`{transform: regex_replace, pattern: "x*", replacement: "#"}`:         unbounded,
		`{transform: regex_replace, pattern: "a?", replacement: ""}`:          unbounded,
		`{transform: regex_replace, pattern: "(.)", replacement: "$1"}`:       unbounded,
	}
	for spec, want := range bounds {
		if got := columnRule(t, spec).k.out().maxLen; got != want {
			t.Errorf("%s: maxLen %d, want %d", spec, got, want)
		}
	}
}

func TestUUIDDeterministicPerText(t *testing.T) {
	tr := testTransformer(t, "uuid", testKey)
	a := mask1(t, tr, "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11")
	if !isUUIDv4(a) || strings.ToLower(a) != a {
		t.Errorf("uuid -> %q", a)
	}
}
