package mask

import (
	"cmp"
	"encoding/json"
	"fmt"
	"hash/maphash"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

// testTransformer builds the transformer a one-column rules file gives.
func testTransformer(t testing.TB, spec, key string) *Transformer {
	t.Helper()
	return columnRule(t, spec).Transformer([]byte(key))
}

func columnRule(t testing.TB, spec string) *ColumnRule {
	t.Helper()
	r, err := Parse("t.yaml", []byte("version: 1\nkey: env:K\ntables:\n  public.t:\n    c: "+spec+"\n"))
	if err != nil {
		t.Fatal(err)
	}
	return r.Tables["public.t"].Columns["c"]
}

func mask1(t testing.TB, tr *Transformer, v string) string {
	t.Helper()
	out, null, err := tr.Mask(nil, []byte(v))
	if err != nil {
		t.Fatalf("%s(%q): %v", tr.Name(), v, err)
	}
	if null {
		return `\N`
	}
	return string(out)
}

const otherKey = "fedcba9876543210fedcba9876543210"

var (
	textInputs = []string{"alice@corp.com", "Bob Smith", "+1 (415) 555-0100", "Grüße aus Köln", "x", "a\tb\nc\\d"}
	intInputs  = []string{"0", "1", "-17", "32767", "40000", "-2147483648", "9223372036854775807", "123456789012"}
	numInputs  = []string{"0.00", "12.5", "-999.99", "1e10", "123456789.123456", "7"}
	dateInputs = []string{"2024-01-31", "1999-12-31 23:59:59.123", "2024-02-29 10:00:00+05:30", "0044-03-15 BC", "10000-01-01"}
	jsonInputs = []string{`{"email":"a@b.c","n":1}`, `[{"email":"q"}]`, `{"email":null,"x":{"email":"y"}}`, `"s"`}
)

// everyTransformer is a spec and fitting inputs for each registered name.
var everyTransformer = map[string]struct {
	spec   string
	inputs []string
	keyed  bool
	valid  func(string) bool // the output is a valid value of the type
}{
	"keep":           {"keep", textInputs, false, nil},
	"null":           {"null", textInputs, false, nil},
	"const":          {`{transform: const, value: "x"}`, textInputs, false, nil},
	"hash":           {"hash", textInputs, true, isLowerHex},
	"email":          {"email", textInputs, true, func(s string) bool { return strings.Count(s, "@") == 1 && strings.HasSuffix(s, "@example.com") }},
	"first_name":     {"first_name", textInputs, true, nil},
	"last_name":      {"last_name", textInputs, true, nil},
	"full_name":      {"full_name", textInputs, true, func(s string) bool { return strings.Count(s, " ") == 1 }},
	"username":       {"username", textInputs, true, nil},
	"phone":          {"phone", textInputs, true, func(s string) bool { return len(s) == 12 && s[:4] == "555-" }},
	"street_address": {"street_address", textInputs, true, nil},
	"city":           {"city", textInputs, true, nil},
	"postal_code":    {"postal_code", textInputs, true, func(s string) bool { _, err := strconv.Atoi(s); return len(s) == 5 && err == nil }},
	"digits":         {"digits", []string{"+1 (415) 555-0100", "DE89 3704 0044 0532 0130 00", "12345"}, true, nil},
	"ip":             {"ip", []string{"192.168.1.7", "8.8.8.8/32", "2001:db8::1", "::1/128"}, true, isIP},
	"uuid":           {"uuid", []string{"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", "x"}, true, isUUIDv4},
	"int_noise":      {"int_noise", intInputs, true, func(s string) bool { _, err := strconv.ParseInt(s, 10, 64); return err == nil }},
	"numeric_noise":  {"numeric_noise", numInputs, true, func(s string) bool { _, err := strconv.ParseFloat(s, 64); return err == nil }},
	"date_shift":     {"date_shift", dateInputs, true, func(s string) bool { _, err := parseDate([]byte(s)); return err == nil }},
	"regex_replace":  {`{transform: regex_replace, pattern: "[a-z]", replacement: "#"}`, textInputs, false, nil},
	"json":           {"{transform: json, mask: {email: email, '*.email': email}}", jsonInputs, true, func(s string) bool { return json.Valid([]byte(s)) }},
}

// mayEqual: transformers whose output may equal their input (noise that
// rounds away, JSON without the masked path).
var mayEqual = map[string]bool{"keep": true, "const": true, "regex_replace": true, "int_noise": true, "numeric_noise": true, "json": true}

func TestEveryTransformer(t *testing.T) {
	for _, name := range Names() {
		c, ok := everyTransformer[name]
		if !ok {
			t.Errorf("%s has no test case", name)
			continue
		}
		t.Run(name, func(t *testing.T) {
			rule := columnRule(t, c.spec)
			a, b := rule.Transformer([]byte(testKey)), rule.Transformer([]byte(testKey))
			other := rule.Transformer([]byte(otherKey))
			out := rule.k.out()
			changed := 0
			for _, v := range c.inputs {
				got := mask1(t, a, v)
				if again, fresh := mask1(t, a, v), mask1(t, b, v); again != got || fresh != got {
					t.Errorf("%q: not deterministic: %q, %q, %q", v, got, again, fresh)
				}
				if mask1(t, other, v) != got {
					changed++
				}
				n := utf8.RuneCountInString(got)
				switch {
				case got == `\N`:
				case out.maxLen == asInput && n > utf8.RuneCountInString(v):
					t.Errorf("%q: output %q is longer than its input", v, got)
				case out.maxLen >= 0 && n > out.maxLen:
					t.Errorf("%q: output %q is longer than the declared %d", v, got, out.maxLen)
				}
				if c.valid != nil && got != `\N` && !c.valid(got) {
					t.Errorf("%q: output %q is not a valid value", v, got)
				}
				if !mayEqual[name] && got == v {
					t.Errorf("%q: passed through unchanged", v)
				}
			}
			if c.keyed && changed*2 < len(c.inputs) {
				t.Errorf("another key changed only %d of %d outputs", changed, len(c.inputs))
			}
			if !c.keyed && changed > 0 {
				t.Errorf("an unkeyed transformer depends on the key")
			}
		})
	}
}

func TestTransformerNamesDiffer(t *testing.T) {
	// The same input under two transformers gives unrelated outputs.
	h := mask1(t, testTransformer(t, "hash", testKey), "alice")
	u := mask1(t, testTransformer(t, "uuid", testKey), "alice")
	if strings.HasPrefix(strings.ReplaceAll(u, "-", ""), h[:8]) {
		t.Errorf("hash %s and uuid %s share their bits", h, u)
	}
}

func TestEmptyStaysEmpty(t *testing.T) {
	for _, spec := range []string{"email", "hash", "digits", "date_shift", "json", "int_noise"} {
		if spec == "json" {
			spec = "{transform: json, delete: [a]}"
		}
		if got := mask1(t, testTransformer(t, spec, testKey), ""); got != "" {
			t.Errorf("%s(\"\") = %q, want \"\"", spec, got)
		}
	}
	if got := mask1(t, testTransformer(t, `{transform: const, value: "x"}`, testKey), ""); got != "x" {
		t.Errorf("const replaces the empty string too, got %q", got)
	}
	if got := mask1(t, testTransformer(t, "null", testKey), ""); got != `\N` {
		t.Errorf("null replaces the empty string too, got %q", got)
	}
}

func TestErrorsDoNotQuoteValues(t *testing.T) {
	const secret = "4111-SECRET-VALUE"
	for _, spec := range []string{"int_noise", "numeric_noise", "date_shift", "{transform: json, delete: [a]}"} {
		_, _, err := testTransformer(t, spec, testKey).Mask(nil, []byte(secret))
		if err == nil || strings.Contains(err.Error(), "SECRET") {
			t.Errorf("%s: error %v", spec, err)
		}
	}
}

// TestUnique masks a million distinct inputs with each transformer that
// promises distinct outputs.
func TestUnique(t *testing.T) {
	n := 1_000_000
	if testing.Short() {
		n = 50_000
	}
	for _, spec := range []string{"email", "username", "{transform: hash, length: 16}", "uuid"} {
		t.Run(spec, func(t *testing.T) {
			t.Parallel()
			if !columnRule(t, spec).k.out().unique {
				t.Fatal("not declared unique")
			}
			tr := testTransformer(t, spec, testKey)
			// 128-bit fingerprints, sorted, instead of a map of a million
			// strings: distinct fingerprints prove distinct outputs.
			s1, s2 := maphash.MakeSeed(), maphash.MakeSeed()
			prints := make([][2]uint64, n)
			var in, out []byte
			for i := range prints {
				in = fmt.Appendf(in[:0], "user%d@corp.example", i)
				out, _, _ = tr.Mask(out[:0], in)
				prints[i] = [2]uint64{maphash.Bytes(s1, out), maphash.Bytes(s2, out)}
			}
			slices.SortFunc(prints, func(a, b [2]uint64) int {
				if c := cmp.Compare(a[0], b[0]); c != 0 {
					return c
				}
				return cmp.Compare(a[1], b[1])
			})
			for i := 1; i < n; i++ {
				if prints[i] == prints[i-1] {
					t.Fatalf("a collision among %d inputs", n)
				}
			}
		})
	}
}

func isLowerHex(s string) bool {
	return strings.Trim(s, "0123456789abcdef") == ""
}

func isIP(s string) bool {
	if _, err := netip.ParsePrefix(s); err == nil {
		return true
	}
	_, err := netip.ParseAddr(s)
	return err == nil
}

func isUUIDv4(s string) bool {
	return len(s) == 36 && isUUID(s) && s[14] == '4' && strings.ContainsRune("89ab", rune(s[19]))
}

// TestUnparsedNeverRaw: a value a transformer cannot read as it expects
// fails or is masked whole; no part of it comes out as it went in.
func TestUnparsedNeverRaw(t *testing.T) {
	cases := []struct{ spec, value string }{
		{"ip", "host/secret@realmail.example"},
		{"ip", "192.0.2.1/secret"},
		{"{transform: date_shift, max_days: 30}", "secret 1980"},
		{"{transform: date_shift, max_days: 30}", "1980-01-01secret"},
		{"int_noise", "12secret"},
		{"numeric_noise", "secret"},
		{"{transform: json, mask: {a.b: email}}", `{"a":"secret"}`},
		{"{transform: json, mask: {a.b: email}}", `{"a":"secret"`},
		{"{transform: json, mask: {a.b: email}}", `"secret"`},
	}
	for _, c := range cases {
		out, _, err := testTransformer(t, c.spec, testKey).Mask(nil, []byte(c.value))
		if err == nil && strings.Contains(string(out), "secret") {
			t.Errorf("%s(%q) = %q: the raw value came through", c.spec, c.value, out)
		}
	}
}
