package mask

import (
	"bytes"
	"testing"
	"unicode/utf8"
)

func TestEncodeEveryEscape(t *testing.T) {
	cases := []struct{ value, field string }{
		{"", ""},
		{"plain", "plain"},
		{"a\tb", `a\tb`},
		{"a\nb", `a\nb`},
		{"a\rb", `a\rb`},
		{"a\bb", `a\bb`},
		{"a\fb", `a\fb`},
		{"a\vb", `a\vb`},
		{`a\b`, `a\\b`},
		{`\N`, `\\N`}, // the text \N, not NULL
		{`\.`, `\\.`},
		{"\x01\x1f", "\x01\x1f"}, // other control bytes are written as they are
		{"grüße 東京 🙂", "grüße 東京 🙂"},
		{"tab\there\\and\nline", `tab\there\\and\nline`},
	}
	for _, c := range cases {
		if got := string(EncodeField(nil, []byte(c.value))); got != c.field {
			t.Errorf("EncodeField(%q) = %q, want %q", c.value, got, c.field)
		}
		if got := string(DecodeField(nil, []byte(c.field))); got != c.value {
			t.Errorf("DecodeField(%q) = %q, want %q", c.field, got, c.value)
		}
	}
}

func TestDecodeForms(t *testing.T) {
	cases := []struct{ field, value string }{
		{`\101`, "A"},         // three octal digits
		{`\7`, "\a"},          // one
		{`\12x`, "\nx"},       // two, then a letter
		{`\1018`, "A8"},       // at most three
		{`\x41`, "A"},         // two hex digits
		{`\x4g`, "\x04g"},     // one
		{`\xg`, "xg"},         // none: the x is literal
		{`\X41`, "X41"},       // only lowercase x is hex
		{`\q\.\\`, `q.\`},     // any other byte stands for itself
		{`a\Nb`, "aNb"},       // \N is NULL only as the whole field
		{`end\`, `end\`},      // a lone trailing backslash is kept
		{`\303\274`, "ü"},     // UTF-8 bytes in octal
		{`\xe6\x9d\xb1`, "東"}, // and in hex
	}
	for _, c := range cases {
		if got := string(DecodeField(nil, []byte(c.field))); got != c.value {
			t.Errorf("DecodeField(%q) = %q, want %q", c.field, got, c.value)
		}
	}
}

func TestNullIsNotEmpty(t *testing.T) {
	if !IsNull([]byte(`\N`)) {
		t.Error(`\N is NULL`)
	}
	for _, f := range []string{"", "N", `\\N`, `\N\N`, `\n`} {
		if IsNull([]byte(f)) {
			t.Errorf("%q is not NULL", f)
		}
	}
	if got := EncodeField(nil, nil); len(got) != 0 {
		t.Errorf("the empty string encodes as %q, want an empty field", got)
	}
}

func TestEncodeAppends(t *testing.T) {
	got := EncodeField([]byte("x\t"), []byte("a\\b"))
	if string(got) != `x	a\\b` {
		t.Errorf("got %q", got)
	}
}

func FuzzCodecRoundTrip(f *testing.F) {
	for _, s := range []string{"", "a\tb\nc\\d", `\N`, "\x00\x7f\xff", "東京\r\v\f\b"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, v []byte) {
		field := EncodeField(nil, v)
		if bytes.ContainsAny(field, "\t\n\r") {
			t.Fatalf("encoded field %q holds a delimiter", field)
		}
		if IsNull(field) {
			t.Fatalf("value %q encodes as NULL", v)
		}
		if got := DecodeField(nil, field); !bytes.Equal(got, v) {
			t.Fatalf("round trip of %q gave %q via %q", v, got, field)
		}
		if utf8.Valid(v) != utf8.Valid(field) {
			t.Fatalf("encoding changed UTF-8 validity of %q", v)
		}
	})
}

func FuzzDecodeNeverPanics(f *testing.F) {
	f.Add([]byte(`\x4\1\777\`))
	f.Fuzz(func(t *testing.T, field []byte) {
		v := DecodeField(nil, field)
		// Re-encoding a decoded field and decoding again is stable.
		if again := DecodeField(nil, EncodeField(nil, v)); !bytes.Equal(again, v) {
			t.Fatalf("%q decoded to %q, then to %q", field, v, again)
		}
	})
}
