package ditto

import (
	"fmt"
	"strings"
	"testing"
)

func TestValidateLabels(t *testing.T) {
	ok := map[string]string{"job": "1234", "team/ci.run-id_2": "a b, c=d", "empty": "", "name": "Grüße"}
	if err := ValidateLabels(ok); err != nil {
		t.Fatalf("valid labels refused: %v", err)
	}
	bad := map[string]map[string]string{
		"newline in value": {"note": "a\nb"},
		"tab in value":     {"note": "a\tb"},
		"NUL in value":     {"note": "a\x00b"},
		"not UTF-8":        {"note": "\xff"},
		"100 KB value":     {"note": strings.Repeat("x", 100<<10)},
		"space in key":     {"a b": "1"},
		"newline in key":   {"a\nb": "1"},
		"empty key":        {"": "1"},
		"64-character key": {strings.Repeat("k", 64): "1"},
		"non-ASCII key":    {"schlüssel": "1"},
		"colon in key":     {"a:b": "1"},
		"too many labels":  manyLabels(MaxLabels + 1),
		"257-byte value":   {"v": strings.Repeat("v", 257)},
	}
	for name, labels := range bad {
		err := ValidateLabels(labels)
		if err == nil {
			t.Errorf("%s: accepted", name)
			continue
		}
		if !strings.Contains(err.Error(), "--label") || len(err.Error()) > 200 || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: want one short line naming --label, got %q", name, err)
		}
	}
	if err := ValidateLabels(manyLabels(MaxLabels)); err != nil {
		t.Errorf("%d labels refused: %v", MaxLabels, err)
	}
}

func manyLabels(n int) map[string]string {
	m := map[string]string{}
	for i := 0; i < n; i++ {
		m[fmt.Sprintf("k%d", i)] = "v"
	}
	return m
}
