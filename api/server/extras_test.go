package server

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dittodb/ditto"
	"github.com/dittodb/ditto/api"
)

func (f *fake) Extend(ctx context.Context, id string, r api.ExtendRequest) (api.Copy, error) {
	v, err := f.Get(ctx, id)
	if err != nil {
		return v, err
	}
	ttl, err := ditto.ParseTTL(r.TTL)
	if err != nil {
		return v, err
	}
	t := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC).Add(ttl)
	v.ExpiresAt = &t
	return v, nil
}

func (f *fake) Events(ctx context.Context, id string) ([]ditto.Event, error) {
	if _, err := f.Get(ctx, id); err != nil {
		return nil, err
	}
	return []ditto.Event{{Type: ditto.EventCreated, Actor: "alice"}, {Type: ditto.EventReady, Actor: "alice"}}, nil
}

func (f *fake) Logs(ctx context.Context, id string, follow bool) (io.ReadCloser, error) {
	if _, err := f.Get(ctx, id); err != nil {
		return nil, err
	}
	if !follow {
		return io.NopCloser(strings.NewReader("line 1\nline 2\n")), nil
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	r, w := io.Pipe()
	f.logWriter = w
	go func() { // as the domain's followed log: it ends with ctx
		<-ctx.Done()
		w.Close()
	}()
	return r, nil
}

func (f *fake) Goldens(context.Context) ([]ditto.GoldenInfo, error) {
	return []ditto.GoldenInfo{{Golden: ditto.Golden{Generation: "g2", SourceKind: ditto.SourceURL}, Current: true, Copies: 1}}, nil
}

func TestExtendEventsGoldens(t *testing.T) {
	_, c := serve(t, newServer(newFake(), Options{}))
	ctx := context.Background()
	v, err := c.Create(ctx, api.CreateRequest{})
	if err != nil {
		t.Fatal(err)
	}
	got, err := c.Extend(ctx, v.ID, api.ExtendRequest{TTL: "30m"})
	if err != nil || got.ExpiresAt == nil || !got.ExpiresAt.Equal(time.Date(2030, 1, 1, 0, 30, 0, 0, time.UTC)) {
		t.Fatalf("extend: %+v, %v", got, err)
	}
	if _, err := c.Extend(ctx, v.ID, api.ExtendRequest{TTL: "soon"}); codeOf(err) != ditto.CodeInvalid {
		t.Fatalf("extend with a bad TTL: %v, want invalid", err)
	}
	if _, err := c.Extend(ctx, "nope", api.ExtendRequest{TTL: "1h"}); codeOf(err) != ditto.CodeNotFound {
		t.Fatalf("extend of a missing copy: %v, want not_found", err)
	}
	es, err := c.Events(ctx, v.ID)
	if err != nil || len(es) != 2 || es[0].Type != ditto.EventCreated || es[1].Actor != "alice" {
		t.Fatalf("events: %+v, %v", es, err)
	}
	if _, err := c.Events(ctx, "nope"); codeOf(err) != ditto.CodeNotFound {
		t.Fatalf("events of a missing copy: %v, want not_found", err)
	}
	gs, err := c.Goldens(ctx)
	if err != nil || len(gs) != 1 || gs[0].Generation != "g2" || !gs[0].Current || gs[0].SourceKind != "url" {
		t.Fatalf("goldens: %+v, %v", gs, err)
	}
}

// A log streams as it is written, and a followed one ends when the client
// hangs up.
func TestLogs(t *testing.T) {
	f := newFake()
	sock, c := serve(t, newServer(f, Options{}))
	ctx := context.Background()
	v, err := c.Create(ctx, api.CreateRequest{})
	if err != nil {
		t.Fatal(err)
	}
	rc, err := c.Logs(ctx, v.ID, false)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(rc)
	rc.Close()
	if err != nil || string(b) != "line 1\nline 2\n" {
		t.Fatalf("logs: %q, %v", b, err)
	}
	if _, err := c.Logs(ctx, "nope", false); codeOf(err) != ditto.CodeNotFound {
		t.Fatalf("logs of a missing copy: %v, want not_found", err)
	}
	if a := raw(t, sock, "GET /v1/copies/"+v.ID+"/logs?follow=maybe HTTP/1.1\r\nHost: d\r\n\r\n"); !strings.HasPrefix(a.Status, "400") {
		t.Fatalf("follow=maybe: %+v, want 400", a)
	}

	fctx, cancel := context.WithCancel(ctx)
	rc, err = c.Logs(fctx, v.ID, true)
	if err != nil {
		t.Fatal(err)
	}
	f.mu.Lock()
	w := f.logWriter
	f.mu.Unlock()
	lines := bufio.NewReader(rc)
	for _, want := range []string{"first\n", "second\n"} {
		go w.Write([]byte(want))
		if got, err := lines.ReadString('\n'); err != nil || got != want {
			t.Fatalf("followed log: %q, %v; want %q as soon as it is written", got, err, want)
		}
	}
	cancel()
	if _, err := io.ReadAll(rc); err == nil {
		t.Log("the followed log ended cleanly")
	}
	rc.Close()
	// the server's side ends too: its writer is closed
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if _, err := w.Write([]byte("x\n")); err != nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the server still reads a followed log after its client hung up")
		}
	}
}

// /metrics is served without identity when given, and each API request is
// counted with its route and status.
func TestMetricsAndRequests(t *testing.T) {
	var mu sync.Mutex
	counted := map[string]int{}
	s := newServer(newFake(), Options{
		Metrics: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ditto_up 1\n") }),
		Requests: func(route string, status int) {
			mu.Lock()
			defer mu.Unlock()
			counted[route+" "+http.StatusText(status)]++
		},
	})
	sock, c := serve(t, s)
	ctx := context.Background()
	v, err := c.Create(ctx, api.CreateRequest{})
	if err != nil {
		t.Fatal(err)
	}
	c.Get(ctx, v.ID)
	c.Get(ctx, "nope")
	rc, err := c.Logs(ctx, v.ID, false)
	if err != nil {
		t.Fatal(err)
	}
	io.ReadAll(rc)
	rc.Close()
	if a := raw(t, sock, "GET /metrics HTTP/1.1\r\nHost: d\r\n\r\n"); !strings.HasPrefix(a.Status, "200") || a.Body != "ditto_up 1\n" {
		t.Fatalf("/metrics: %+v", a)
	}
	if a := raw(t, sock, "POST /metrics HTTP/1.1\r\nHost: d\r\nContent-Length: 0\r\n\r\n"); !strings.HasPrefix(a.Status, "405") {
		t.Fatalf("POST /metrics: %+v, want 405", a)
	}
	mu.Lock()
	defer mu.Unlock()
	for _, want := range []string{"POST /v1/copies Created", "GET /v1/copies/{id} OK", "GET /v1/copies/{id} Not Found", "GET /v1/copies/{id}/logs OK"} {
		if counted[want] != 1 {
			t.Errorf("requests counted: %v; want one %q", counted, want)
		}
	}
}

func codeOf(err error) ditto.Code {
	if err == nil {
		return ""
	}
	code, _, _ := ditto.Describe(err)
	return code
}
