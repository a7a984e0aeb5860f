package ditto

import "testing"

// Tokens share one UID: their copies are told apart by name, while OS
// users' are by UID alone.
func TestOwnerRule(t *testing.T) {
	alice := Caller{UID: 1000, Name: "alice"}
	a, b := TokenCaller("a", false), TokenCaller("b", false)
	admin := TokenCaller("ops", true)
	byA := &Copy{OwnerUID: a.UID, OwnerName: a.Name}
	byAlice := &Copy{OwnerUID: 1000, OwnerName: "alice-renamed"}
	cases := []struct {
		c          *Copy
		k          Caller
		see, owner bool
	}{
		{byA, a, true, true},
		{byA, b, false, false},
		{byA, alice, false, false},
		{byA, admin, true, false},
		{byAlice, alice, true, true},
		{byAlice, a, false, false},
	}
	for i, tc := range cases {
		if got := tc.c.VisibleTo(tc.k); got != tc.see {
			t.Errorf("case %d: VisibleTo(%s) = %v", i, tc.k.Name, got)
		}
		if got := tc.c.SecretFor(tc.k); got != tc.owner {
			t.Errorf("case %d: SecretFor(%s) = %v", i, tc.k.Name, got)
		}
	}
}
