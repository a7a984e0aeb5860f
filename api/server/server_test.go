package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/dittodb/ditto"
	"github.com/dittodb/ditto/api"
	"github.com/dittodb/ditto/api/client"
	"github.com/dittodb/ditto/internal/rawhttp"
)

// fake is a domain of copies in memory, for one caller.
type fake struct {
	mu        sync.Mutex
	copies    map[string]api.Copy
	destroyed chan string
	gate      chan struct{} // when set, a create waits for it
	next      int
	logWriter *io.PipeWriter // of the log being followed
}

func newFake() *fake { return &fake{copies: map[string]api.Copy{}, destroyed: make(chan string, 16)} }

func (f *fake) Create(ctx context.Context, r api.CreateRequest) (api.Copy, error) {
	if r.TTL == "bad" {
		return api.Copy{}, &ditto.Error{Code: ditto.CodeInvalid, Message: `invalid --ttl "bad"`, Hint: "give a duration"}
	}
	if f.gate != nil {
		select {
		case <-f.gate:
		case <-ctx.Done():
			return api.Copy{}, ctx.Err()
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.next++
	v := api.Copy{ID: fmt.Sprintf("c%07d", f.next), DatabaseURL: "postgres://u:pw@h/db", Labels: r.Labels}
	f.copies[v.ID] = v
	return v, nil
}

func (f *fake) Hold(ctx context.Context, r api.CreateRequest) (api.Copy, api.Lease, error) {
	return api.Copy{}, nil, errors.New("the server never calls Hold")
}

func (f *fake) List(context.Context, bool) ([]api.Copy, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []api.Copy
	for _, v := range f.copies {
		out = append(out, v)
	}
	return out, nil
}

func (f *fake) Get(_ context.Context, id string) (api.Copy, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	v, ok := f.copies[id]
	if !ok {
		return v, &ditto.Error{Code: ditto.CodeNotFound, Message: fmt.Sprintf("no such copy %q", id), Hint: "see `ditto copy list`"}
	}
	return v, nil
}

func (f *fake) Destroy(ctx context.Context, id string) error {
	if _, err := f.Get(ctx, id); err != nil {
		return err
	}
	f.mu.Lock()
	delete(f.copies, id)
	f.mu.Unlock()
	f.destroyed <- id
	return nil
}

func (f *fake) Reset(ctx context.Context, id string) (api.Copy, error) { return f.Get(ctx, id) }

func (f *fake) Start(ctx context.Context, id string) (api.StartResult, error) {
	v, err := f.Get(ctx, id)
	return api.StartResult{Copy: v}, err
}

func (f *fake) Keep(ctx context.Context, id string) error {
	_, err := f.Get(ctx, id)
	return err
}

func (f *fake) Status(context.Context) (ditto.Status, error) {
	return ditto.Status{Backend: "fake"}, nil
}

// serve serves s on a Unix socket whose every caller is uid 1000, and
// returns the socket's path and a client of it.
func serve(t *testing.T, s *Server) (string, *client.Client) {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "s.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	hs := s.HTTPServer()
	hs.ConnContext = func(ctx context.Context, _ net.Conn) context.Context {
		return WithPeer(ctx, Peer{Caller: ditto.Caller{UID: 1000}})
	}
	go hs.Serve(ln)
	t.Cleanup(func() { hs.Close() })
	c, err := client.New("unix://"+sock, client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return sock, c
}

func newServer(f *fake, o Options) *Server {
	o.For = func(Peer) Domain { return f }
	return New(o)
}

// raw sends a request as written and returns the answer.
func raw(t *testing.T, sock, request string) rawhttp.Answer {
	t.Helper()
	a, err := rawhttp.Send(sock, request, 5*time.Second)
	if err != nil {
		t.Fatalf("reading the answer to %.60q: %v", request, err)
	}
	return a
}

func TestBadRequests(t *testing.T) {
	sock, _ := serve(t, newServer(newFake(), Options{}))
	post := func(body string) string {
		return fmt.Sprintf("POST /v1/copies HTTP/1.1\r\nHost: d\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
	}
	big := strings.Repeat(" ", 10<<20)
	for _, c := range []struct{ name, request, status, code string }{
		{"malformed JSON", post(`{"ttl":`), "400", `"invalid"`},
		{"unknown field", post(`{"ttl":"1h","root":true}`), "400", `"invalid"`},
		{"two objects", post(`{} {}`), "400", `"invalid"`},
		{"invalid option", post(`{"ttl":"bad"}`), "400", `invalid --ttl`},
		{"10 MB body", post(big), "413", `"too_large"`},
		{"10 MB body, chunked", "POST /v1/copies HTTP/1.1\r\nHost: d\r\nTransfer-Encoding: chunked\r\n\r\n" + fmt.Sprintf("%x\r\n%s\r\n0\r\n\r\n", len(big), big), "413", `"too_large"`},
		{"unknown route", "GET /v2/copies HTTP/1.1\r\nHost: d\r\n\r\n", "404", `"not_found"`},
		{"wrong method", "PUT /v1/copies/abc HTTP/1.1\r\nHost: d\r\n\r\n", "405", `"method_not_allowed"`},
		{"id with ../", "GET /v1/copies/..%2F..%2Fetc%2Fpasswd HTTP/1.1\r\nHost: d\r\n\r\n", "404", `"not_found"`},
		{"1000-character id", "DELETE /v1/copies/" + strings.Repeat("a", 1000) + " HTTP/1.1\r\nHost: d\r\n\r\n", "404", `"not_found"`},
	} {
		a := raw(t, sock, c.request)
		if !strings.HasPrefix(a.Status, c.status) || !strings.Contains(a.Body, c.code) {
			t.Errorf("%s: %s %s; want %s with %s", c.name, a.Status, a.Body, c.status, c.code)
		}
	}
}

func TestNoPeerIsRefused(t *testing.T) {
	f := newFake()
	s := newServer(f, Options{})
	sock := filepath.Join(t.TempDir(), "s.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	hs := s.HTTPServer()
	go hs.Serve(ln)
	defer hs.Close()
	if a := raw(t, sock, "GET /v1/copies HTTP/1.1\r\nHost: d\r\n\r\n"); !strings.HasPrefix(a.Status, "401") || !strings.Contains(a.Body, `"unauthorized"`) {
		t.Fatalf("a request without a known caller: %+v", a)
	}
	if a := raw(t, sock, "GET /healthz HTTP/1.1\r\nHost: d\r\n\r\n"); !strings.HasPrefix(a.Status, "200") || !strings.Contains(a.Body, `"version":"`+ditto.Version()+`"`) {
		t.Fatalf("/healthz without a known caller: %+v", a)
	}
}

// Errors cross the API with their code, message and hint, and match the
// domain's sentinels as in direct mode.
func TestClientErrors(t *testing.T) {
	_, c := serve(t, newServer(newFake(), Options{}))
	ctx := context.Background()
	err := c.Destroy(ctx, "nope")
	if !errors.Is(err, ditto.ErrNoCopy) {
		t.Fatalf("destroy of a missing copy: %v, want ErrNoCopy", err)
	}
	if code, msg, hint := ditto.Describe(err); code != ditto.CodeNotFound || msg != `no such copy "nope"` || hint == "" {
		t.Fatalf("Describe = %s, %q, %q", code, msg, hint)
	}
	v, err := c.Create(ctx, api.CreateRequest{Labels: map[string]string{"job": "1"}})
	if err != nil || v.Labels["job"] != "1" {
		t.Fatalf("create: %+v, %v", v, err)
	}
	if got, err := c.Get(ctx, v.ID); err != nil || got.ID != v.ID {
		t.Fatalf("get: %+v, %v", got, err)
	}
	if s, err := c.Status(ctx); err != nil || s.Backend != "fake" {
		t.Fatalf("status: %+v, %v", s, err)
	}
}

// Creates beyond the running and queued ones are answered busy at once,
// with Retry-After; the client waits as asked, says so, and asks again.
func TestBusyBeyondTheQueue(t *testing.T) {
	f := newFake()
	f.gate = make(chan struct{})
	s := newServer(f, Options{MaxStarts: 1, MaxQueue: 1})
	sock, c := serve(t, s)
	errs := make(chan error, 3)
	for range 2 { // one runs, one waits
		go func() {
			_, err := c.Create(context.Background(), api.CreateRequest{})
			errs <- err
		}()
	}
	for deadline := time.Now().Add(5 * time.Second); len(s.slots) < 1 || s.waiting.Load() < 1; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the two creates did not take the slot and the queue")
		}
	}
	a := raw(t, sock, "POST /v1/copies HTTP/1.1\r\nHost: d\r\nContent-Length: 2\r\n\r\n{}")
	if !strings.HasPrefix(a.Status, "503") || !strings.Contains(a.Body, `"busy"`) || a.Header.Get("Retry-After") == "" {
		t.Fatalf("a create beyond the queue: %+v, want 503 busy with Retry-After", a)
	}
	told := make(chan time.Duration, 10)
	c.OnBusy = func(e *api.Error, wait time.Duration) {
		if e.Code == ditto.CodeBusy {
			told <- wait
		}
	}
	go func() {
		_, err := c.Create(context.Background(), api.CreateRequest{})
		errs <- err
	}()
	if wait := <-told; wait != time.Second {
		t.Errorf("the client was told to wait %v, want the daemon's Retry-After of 1s", wait)
	}
	close(f.gate)
	for range 3 {
		if err := <-errs; err != nil {
			t.Fatalf("a queued create failed: %v", err)
		}
	}
}

// A held copy is destroyed when its client hangs up, and not when it was
// kept first or when the daemon stops.
func TestHold(t *testing.T) {
	f := newFake()
	s := newServer(f, Options{Heartbeat: 20 * time.Millisecond})
	_, c := serve(t, s)
	ctx := context.Background()
	destroyedWithin := func(id string, d time.Duration) bool {
		select {
		case got := <-f.destroyed:
			if got != id {
				t.Fatalf("destroyed %s, want %s", got, id)
			}
			return true
		case <-time.After(d):
			return false
		}
	}

	v, lease, err := c.Hold(ctx, api.CreateRequest{})
	if err != nil || v.DatabaseURL == "" {
		t.Fatalf("hold: %+v, %v", v, err)
	}
	time.Sleep(100 * time.Millisecond) // a few heartbeats
	if destroyedWithin(v.ID, 0) {
		t.Fatal("a held copy was destroyed while its client held it")
	}
	lease.Close()
	if !destroyedWithin(v.ID, 5*time.Second) {
		t.Fatal("the copy of a closed hold was not destroyed")
	}

	v, lease, err = c.Hold(ctx, api.CreateRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if err := lease.Keep(ctx); err != nil {
		t.Fatal(err)
	}
	lease.Close()
	if destroyedWithin(v.ID, 300*time.Millisecond) {
		t.Fatal("a kept copy was destroyed when its hold ended")
	}

	v, lease, err = c.Hold(ctx, api.CreateRequest{})
	if err != nil {
		t.Fatal(err)
	}
	s.holds.stopAll() // as when the HTTP server shuts down
	time.Sleep(100 * time.Millisecond)
	lease.Close()
	if destroyedWithin(v.ID, 300*time.Millisecond) {
		t.Fatal("a held copy was destroyed when the daemon stopped")
	}
}

// The routes the server registers and the ones docs/api.yaml documents
// are the same.
func TestRoutesMatchOpenAPI(t *testing.T) {
	b, err := os.ReadFile("../../docs/api.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Paths map[string]map[string]any `yaml:"paths"`
	}
	if err := yaml.Unmarshal(b, &doc); err != nil {
		t.Fatalf("docs/api.yaml: %v", err)
	}
	var documented []string
	for path, ops := range doc.Paths {
		for method := range ops {
			if method != "parameters" {
				documented = append(documented, strings.ToUpper(method)+" "+path)
			}
		}
	}
	served := append(slices.Clone(openRoutes), "GET /metrics")
	for _, r := range routes {
		served = append(served, r.method+" "+r.pattern)
	}
	slices.Sort(documented)
	slices.Sort(served)
	if !slices.Equal(documented, served) {
		t.Fatalf("docs/api.yaml documents\n  %s\nthe server serves\n  %s", strings.Join(documented, "\n  "), strings.Join(served, "\n  "))
	}
}

// On a listener whose requests name their caller by a token, every route
// but /healthz and /v1/ca.pem needs one the authenticator accepts, and
// every refusal is the same answer.
func TestAuthenticator(t *testing.T) {
	for _, ca := range [][]byte{[]byte("-----BEGIN CERTIFICATE-----\n...\n"), nil} {
		f := newFake()
		s := newServer(f, Options{CA: ca})
		sock := filepath.Join(t.TempDir(), "s.sock")
		ln, err := net.Listen("unix", sock)
		if err != nil {
			t.Fatal(err)
		}
		hs := s.HTTPServer()
		var seen []string
		var mu sync.Mutex
		hs.ConnContext = func(ctx context.Context, _ net.Conn) context.Context {
			return WithAuthenticator(ctx, func(r *http.Request) (Peer, bool) {
				mu.Lock()
				seen = append(seen, r.URL.Path)
				mu.Unlock()
				if r.Header.Get("Authorization") != "Bearer good" {
					return Peer{}, false
				}
				return Peer{Caller: ditto.TokenCaller("x", false)}, true
			})
		}
		go hs.Serve(ln)
		t.Cleanup(func() { hs.Close() })

		var first string
		for _, h := range []string{"", "Authorization: Bearer bad\r\n", "Authorization: Basic good\r\n"} {
			a := raw(t, sock, "GET /v1/copies HTTP/1.1\r\nHost: d\r\n"+h+"Connection: close\r\n\r\n")
			if !strings.HasPrefix(a.Status, "401") || a.Header.Get("WWW-Authenticate") != "Bearer" || !strings.Contains(a.Body, `"code":"unauthorized"`) {
				t.Fatalf("%q: %s %v %s", h, a.Status, a.Header, a.Body)
			}
			if first == "" {
				first = a.Body
			} else if a.Body != first {
				t.Fatalf("refusals differ:\n%s\n%s", first, a.Body)
			}
		}
		if a := raw(t, sock, "GET /v1/copies HTTP/1.1\r\nHost: d\r\nAuthorization: Bearer good\r\nConnection: close\r\n\r\n"); !strings.HasPrefix(a.Status, "200") {
			t.Fatalf("a good token: %s %s", a.Status, a.Body)
		}
		if a := raw(t, sock, "GET /healthz HTTP/1.1\r\nHost: d\r\nConnection: close\r\n\r\n"); !strings.HasPrefix(a.Status, "200") {
			t.Fatalf("/healthz without a token: %s", a.Status)
		}
		a := raw(t, sock, "GET /v1/ca.pem HTTP/1.1\r\nHost: d\r\nConnection: close\r\n\r\n")
		switch {
		case ca != nil && (!strings.HasPrefix(a.Status, "200") || a.Body != string(ca)):
			t.Fatalf("/v1/ca.pem without a token: %s %q", a.Status, a.Body)
		case ca == nil && !strings.HasPrefix(a.Status, "404"):
			t.Fatalf("/v1/ca.pem of a daemon without a CA: %s", a.Status)
		}
		mu.Lock()
		if slices.Contains(seen, "/healthz") || slices.Contains(seen, "/v1/ca.pem") {
			t.Fatalf("the open routes asked for a token: %v", seen)
		}
		mu.Unlock()
	}
}
