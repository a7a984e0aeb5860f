package mask

import (
	"fmt"
	"strings"
	"testing"
)

func TestMemoGivesTheSameOutputs(t *testing.T) {
	tr := testTransformer(t, "last_name", testKey)
	for i := 0; i < 20_000; i++ {
		v := []byte(fmt.Sprintf("name %d", i%300))
		got, _, _ := tr.Mask(nil, v)
		want, _, _ := tr.k.mask(nil, v, tr.h)
		if string(got) != string(want) {
			t.Fatalf("%s: memo gave %q, the transformer %q", v, got, want)
		}
	}
	// 300 values in 2048 slots: a few share a slot and evict each other.
	if tr.memo == nil || tr.memo.hits < 15_000 {
		t.Errorf("memo off, or only few hits")
	}
}

func TestMemoTurnsOffForUniqueValues(t *testing.T) {
	tr := testTransformer(t, "email", testKey)
	for i := 0; i <= memoTrial; i++ {
		tr.Mask(nil, []byte(fmt.Sprintf("user%d@corp.example", i)))
	}
	if tr.memo != nil {
		t.Error("the memo stays on for a column of unique values")
	}
}

func TestMemoSkipsLongValuesAndConstants(t *testing.T) {
	tr := testTransformer(t, "hash", testKey)
	long := []byte(strings.Repeat("x", memoMaxLen+1))
	tr.Mask(nil, long)
	if tr.memo.tries != 0 {
		t.Error("a long value went through the memo")
	}
	if testTransformer(t, "null", testKey).memo != nil || testTransformer(t, `{transform: const, value: "x"}`, testKey).memo != nil {
		t.Error("null and const need no memo")
	}
}
