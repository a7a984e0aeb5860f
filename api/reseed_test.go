package api

import (
	"context"
	"testing"

	"github.com/dittodb/ditto"
)

type startedReseeder struct{ called bool }

func (r *startedReseeder) StartReseed(context.Context) (ditto.ReseedStatus, error) {
	r.called = true
	return ditto.ReseedStatus{}, nil
}

// Only admins start reseeds; without a configured source there is none.
func TestLocalReseed(t *testing.T) {
	r := &startedReseeder{}
	code := func(err error) ditto.Code { c, _, _ := ditto.Describe(err); return c }
	if _, err := (Local{Caller: ditto.Caller{UID: 1000}, Reseeder: r}).Reseed(context.Background()); code(err) != ditto.CodeForbidden || r.called {
		t.Fatalf("a user who is not an admin: %v (started: %v); want forbidden", err, r.called)
	}
	if _, err := (Local{Caller: ditto.Caller{Admin: true}}).Reseed(context.Background()); code(err) != ditto.CodeInvalid {
		t.Fatalf("no configured source: %v; want invalid", err)
	}
	if _, err := (Local{Caller: ditto.Caller{Admin: true}, Reseeder: r}).Reseed(context.Background()); err != nil || !r.called {
		t.Fatalf("an admin: %v (started: %v)", err, r.called)
	}
}
