package ditto

import (
	"fmt"
	"unicode"
	"unicode/utf8"
)

// Limits of a copy's labels. They are small and printable because they are
// shown on one line per copy in `ditto copy list` and kept in every record.
const (
	MaxLabels        = 32
	MaxLabelKeyLen   = 63
	MaxLabelValueLen = 256
)

// ValidateLabels checks a copy's labels: at most MaxLabels, each key 1-63
// characters of A-Z a-z 0-9 _ . - /, each value at most 256 bytes of
// printable UTF-8 (no newline, tab or other control character).
func ValidateLabels(labels map[string]string) error {
	if len(labels) > MaxLabels {
		return invalidf("too many labels (%d): a copy takes at most %d --label KEY=VALUE", len(labels), MaxLabels)
	}
	for k, v := range labels {
		if err := validateLabel(k, v); err != nil {
			return invalidf("invalid --label %q: %v", shorten(k+"="+v), err)
		}
	}
	return nil
}

func validateLabel(k, v string) error {
	if k == "" || len(k) > MaxLabelKeyLen {
		return fmt.Errorf("want KEY=VALUE with a KEY of 1-%d characters", MaxLabelKeyLen)
	}
	for _, r := range k {
		if !(r < utf8.RuneSelf && (unicode.IsLetter(r) || unicode.IsDigit(r) || r == '_' || r == '.' || r == '-' || r == '/')) {
			return fmt.Errorf("the KEY may hold only letters A-Z a-z, digits and _ . - /, not %q", r)
		}
	}
	if len(v) > MaxLabelValueLen {
		return fmt.Errorf("the VALUE is %d bytes, at most %d are kept", len(v), MaxLabelValueLen)
	}
	if !utf8.ValidString(v) {
		return fmt.Errorf("the VALUE is not UTF-8 text")
	}
	for _, r := range v {
		if !unicode.IsPrint(r) {
			return fmt.Errorf("the VALUE may hold only printable characters, not %q", r)
		}
	}
	return nil
}

// shorten cuts what an error quotes from user input to a readable length.
func shorten(s string) string {
	const max = 40
	if len(s) <= max {
		return s
	}
	for i := range s {
		if i > max {
			return s[:i] + "..."
		}
	}
	return s
}
