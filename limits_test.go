package ditto

import "testing"

func TestLimitsValidate(t *testing.T) {
	for _, l := range []Limits{{}, {Memory: 32 << 20}, {CPUs: 0.01}, {CPUs: 2.5}, {MaxProcesses: 16}, {MaxSize: 16 << 20}} {
		if err := l.Validate(); err != nil {
			t.Errorf("%+v: %v", l, err)
		}
	}
	for _, l := range []Limits{{Memory: -1}, {Memory: 1 << 20}, {CPUs: -1}, {CPUs: 0.001}, {CPUs: 2000}, {MaxProcesses: -1}, {MaxProcesses: 15}, {MaxSize: -1}, {MaxSize: 1 << 20}} {
		err := l.Validate()
		if code, _, hint := Describe(err); code != CodeInvalid || hint == "" {
			t.Errorf("%+v: %v, want an invalid error with a hint", l, err)
		}
	}
}

func TestLimitsOr(t *testing.T) {
	d := Limits{Memory: 1 << 30, CPUs: 2, MaxProcesses: 100, MaxSize: 1 << 30}
	got := Limits{Memory: 64 << 20, MaxProcesses: 20}.Or(d)
	if want := (Limits{Memory: 64 << 20, CPUs: 2, MaxProcesses: 20, MaxSize: 1 << 30}); got != want {
		t.Errorf("Or = %+v, want %+v", got, want)
	}
	if s := (Limits{}).String(); s != "none" {
		t.Errorf("String of no limits = %q", s)
	}
}
