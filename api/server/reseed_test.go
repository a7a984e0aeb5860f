package server

import (
	"context"
	"strconv"
	"strings"
	"testing"

	"github.com/dittodb/ditto"
)

// The fake answers a reseed as api.Local answers a user who is not an
// admin (the e2e tests start real ones).
func (f *fake) Reseed(context.Context) (ditto.ReseedStatus, error) {
	return ditto.ReseedStatus{}, &ditto.Error{Code: ditto.CodeForbidden, Message: "only an admin may reseed"}
}

func (f *fake) ReseedStatus(context.Context) (ditto.ReseedStatus, error) {
	return ditto.ReseedStatus{Successes: 1}, nil
}

// POST /v1/reseed takes no source from the caller: a body naming one is
// refused before anything runs; forbidden is 403; GET gives the status.
func TestReseedRoutes(t *testing.T) {
	sock, c := serve(t, newServer(newFake(), Options{}))
	body := `{"source_url":"postgres://x@evil/db"}`
	a := raw(t, sock, "POST /v1/reseed HTTP/1.1\r\nHost: d\r\nContent-Type: application/json\r\nContent-Length: "+
		strconv.Itoa(len(body))+"\r\nConnection: close\r\n\r\n"+body)
	if !strings.HasPrefix(a.Status, "400") || !strings.Contains(a.Body, `"invalid"`) || !strings.Contains(a.Body, "source_url") {
		t.Fatalf("a reseed naming its source: %s %s; want 400 invalid", a.Status, a.Body)
	}
	a = raw(t, sock, "POST /v1/reseed HTTP/1.1\r\nHost: d\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
	if !strings.HasPrefix(a.Status, "403") || !strings.Contains(a.Body, `"forbidden"`) {
		t.Fatalf("a reseed by a user who is not an admin: %s %s; want 403 forbidden", a.Status, a.Body)
	}
	if _, err := c.Reseed(context.Background()); err == nil {
		t.Fatal("the client took a 403 for a started reseed")
	}
	st, err := c.ReseedStatus(context.Background())
	if err != nil || st.Successes != 1 {
		t.Fatalf("GET /v1/reseed: %+v, %v", st, err)
	}
}
