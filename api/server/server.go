// Package server serves ditto's HTTP API (v1) over any listener. Handlers
// decode, call the domain for the request's caller and encode; the rules
// (who sees what, validation) live in the domain and in api.Local.
package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/dittodb/ditto"
	"github.com/dittodb/ditto/api"
	"github.com/dittodb/ditto/internal/proc"
)

// Peer is who is at the other end of a connection, as the listener learned
// it (the Unix socket's peer credentials), or who sent a request, as its
// token says.
type Peer struct {
	Caller  ditto.Caller
	Process *proc.Ref // nil when unknown
	// Remote is set for callers on other machines (see api.Remote).
	Remote *api.Remote
}

type peerKey struct{}

// WithPeer attaches the connection's peer to ctx (http.Server.ConnContext).
func WithPeer(ctx context.Context, p Peer) context.Context {
	return context.WithValue(ctx, peerKey{}, p)
}

// Authenticator tells who sent a request from its credentials, on a
// listener whose connections do not say (TCP); false answers 401.
type Authenticator func(r *http.Request) (Peer, bool)

type authKey struct{}

// WithAuthenticator makes the requests of a connection name their caller
// (http.Server.ConnContext).
func WithAuthenticator(ctx context.Context, a Authenticator) context.Context {
	return context.WithValue(ctx, authKey{}, a)
}

// peerOf is who sent r, if known.
func peerOf(r *http.Request) (Peer, bool) {
	if p, ok := r.Context().Value(peerKey{}).(Peer); ok {
		return p, true
	}
	if auth, ok := r.Context().Value(authKey{}).(Authenticator); ok {
		return auth(r)
	}
	return Peer{}, false
}

// unauthorized is the answer to every request without a valid token: the
// same whether the token is missing, unknown, expired or revoked.
var unauthorized = &api.Error{Code: api.CodeUnauthorized, Message: "the request carries no valid token",
	Hint: "send the header Authorization: Bearer TOKEN, with a token of `ditto token create` (set DITTO_TOKEN for the CLI)"}

// Domain is what the handlers need for one caller: api.Local over the
// Manager, or a fake in tests.
type Domain interface {
	api.Service
	Keep(ctx context.Context, id string) error
}

// Options configure a Server.
type Options struct {
	// For returns the domain as one caller sees it.
	For func(Peer) Domain
	Log hclog.Logger
	// MaxStarts bounds the creates, resets and starts that run at once
	// (each starts a postgres server; default 2 per CPU); MaxQueue, those
	// waiting for their turn (default 64). Beyond that, requests are
	// answered busy with Retry-After.
	MaxStarts, MaxQueue int
	// Heartbeat is how often a hold stream writes a line (default 5s): a
	// write that fails ends the hold as surely as a closed connection.
	Heartbeat time.Duration
	// Metrics, when set, is served on GET /metrics, without identity (the
	// socket's permissions already keep strangers out).
	Metrics http.Handler
	// Requests, when set, is told of each API request: its route (method
	// and pattern) and the HTTP status it was answered with.
	Requests func(route string, status int)
	// CA is the PEM certificate of ditto's CA, served without identity on
	// GET /v1/ca.pem; nil: no CA (404).
	CA []byte
}

// Limits of a request: a client that sends its headers or body slowly,
// does not read its answer, or idles on a connection is cut off.
const (
	maxHeader     = 16 << 10
	headerTimeout = 5 * time.Second
	maxBody       = 64 << 10
	bodyTimeout   = 10 * time.Second
	// writeTimeout bounds each answer's write, counted from when it starts
	// (a create may wait its turn for longer).
	writeTimeout = 10 * time.Second
	idleTimeout  = time.Minute
)

// Server is the API's handlers and the state they share: the queue of
// server starts and the holds.
type Server struct {
	o       Options
	slots   chan struct{}
	waiting atomic.Int64
	holds   holdSet
	mux     http.Handler
}

// New returns a Server; see Handler.
func New(o Options) *Server {
	if o.MaxStarts <= 0 {
		o.MaxStarts = 2 * runtime.NumCPU()
	}
	if o.MaxQueue <= 0 {
		o.MaxQueue = 64
	}
	if o.Heartbeat <= 0 {
		o.Heartbeat = 5 * time.Second
	}
	if o.Log == nil {
		o.Log = hclog.NewNullLogger()
	}
	s := &Server{o: o, slots: make(chan struct{}, o.MaxStarts), holds: holdSet{m: map[string]*hold{}, stop: make(chan struct{})}}
	s.mux = s.routes()
	return s
}

// HTTPServer returns an http.Server of the API with its limits; the
// listener's owner adds how it learns its peers (ConnContext).
func (s *Server) HTTPServer() *http.Server {
	hs := &http.Server{
		Handler:           withBody(s.mux),
		ReadHeaderTimeout: headerTimeout,
		MaxHeaderBytes:    maxHeader,
		IdleTimeout:       idleTimeout,
		// no WriteTimeout: it would count from the request, and a create
		// may wait its turn longer; each answer sets its own deadline
	}
	hs.RegisterOnShutdown(s.holds.stopAll)
	return hs
}

// route is one route of the API; the OpenAPI document lists the same.
type route struct {
	method, pattern string
	handle          func(s *Server, w http.ResponseWriter, r *http.Request, d Domain) error
}

// openRoutes need no identity.
var openRoutes = []string{"GET /healthz", "GET /v1/ca.pem"}

var routes = []route{
	{"POST", "/v1/copies", (*Server).create},
	{"GET", "/v1/copies", (*Server).list},
	{"GET", "/v1/copies/{id}", (*Server).get},
	{"DELETE", "/v1/copies/{id}", (*Server).destroy},
	{"POST", "/v1/copies/{id}/reset", (*Server).reset},
	{"POST", "/v1/copies/{id}/start", (*Server).start},
	{"POST", "/v1/copies/{id}/keep", (*Server).keep},
	{"GET", "/v1/status", (*Server).status},
	{"POST", "/v1/copies/{id}/extend", (*Server).extend},
	{"GET", "/v1/copies/{id}/events", (*Server).events},
	{"GET", "/v1/copies/{id}/logs", (*Server).logs},
	{"GET", "/v1/goldens", (*Server).goldens},
	{"POST", "/v1/reseed", (*Server).startReseed},
	{"GET", "/v1/reseed", (*Server).reseedStatus},
}

func (s *Server) routes() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc(openRoutes[0], func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, api.Health{Status: "ok", Version: ditto.Version()})
	})
	mux.HandleFunc(openRoutes[1], s.caPEM)
	patterns := map[string]bool{"/healthz": true, "/v1/ca.pem": true}
	if s.o.Metrics != nil {
		mux.Handle("GET /metrics", s.o.Metrics)
		patterns["/metrics"] = true
	}
	for _, rt := range routes {
		mux.Handle(rt.method+" "+rt.pattern, s.handler(rt))
		patterns[rt.pattern] = true
	}
	// Every error is JSON, a wrong method and an unknown path included.
	for p := range patterns {
		mux.HandleFunc(p, func(w http.ResponseWriter, r *http.Request) {
			writeError(w, &api.Error{Code: api.CodeMethodNotAllowed, Message: r.Method + " is not allowed on " + p,
				Hint: "see docs/api.yaml for the methods of each route"})
		})
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, &api.Error{Code: ditto.CodeNotFound, Message: "no route " + r.URL.Path,
			Hint: "the API's routes start with /v1/; see docs/api.yaml"})
	})
	return mux
}

// handler runs a route for the request's caller and answers its error.
func (s *Server) handler(rt route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t0 := time.Now()
		if s.o.Requests != nil {
			sw := &statusWriter{ResponseWriter: w}
			defer func() { s.o.Requests(rt.method+" "+rt.pattern, sw.status()) }()
			w = sw
		}
		p, ok := peerOf(r)
		if _, tokens := r.Context().Value(authKey{}).(Authenticator); !ok && tokens {
			w.Header().Set("WWW-Authenticate", "Bearer")
			writeError(w, unauthorized)
			return
		} else if !ok {
			writeError(w, &api.Error{Code: api.CodeUnauthorized, Message: "the caller's identity is unknown",
				Hint: "connect to the daemon's Unix socket"})
			return
		}
		result := ditto.Code("ok")
		if err := rt.handle(s, w, r, s.o.For(p)); err != nil {
			writeError(w, err)
			result = api.ErrorOf(err).Code
		}
		id := r.PathValue("id")
		if len(id) > 64 { // not an ID, and the log stays short
			id = id[:64] + "..."
		}
		s.o.Log.Debug("request", "method", r.Method, "route", rt.pattern, "id", id, "uid", p.Caller.UID,
			"caller", p.Caller.Name, "result", result, "took", time.Since(t0))
	})
}

// caPEM serves ditto's CA, which clients need to verify the certificates
// of copies served over TLS.
func (s *Server) caPEM(w http.ResponseWriter, r *http.Request) {
	if s.o.CA == nil {
		writeError(w, &api.Error{Code: ditto.CodeNotFound, Message: "this daemon has no CA",
			Hint: "ditto makes one when it serves on TCP: ditto serve --api-listen ADDR"})
		return
	}
	w.Header().Set("Content-Type", "application/x-pem-file")
	writeRaw(w, s.o.CA)
}

func (s *Server) create(w http.ResponseWriter, r *http.Request, d Domain) error {
	var req api.CreateRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	var v api.Copy
	err := s.starting(r.Context(), func() (err error) {
		v, err = d.Create(r.Context(), req)
		return err
	})
	switch {
	case err != nil:
		return err
	case req.Hold:
		s.hold(w, r, d, v)
	default:
		writeJSON(w, http.StatusCreated, v)
	}
	return nil
}

func (s *Server) list(w http.ResponseWriter, r *http.Request, d Domain) error {
	cs, err := d.List(r.Context(), r.URL.Query().Get("all") == "true")
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, cs)
	return nil
}

func (s *Server) get(w http.ResponseWriter, r *http.Request, d Domain) error {
	v, err := d.Get(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}

// destroy, reset and keep go on when the client goes away meanwhile: half
// done, they would leave the copy down.
func (s *Server) destroy(w http.ResponseWriter, r *http.Request, d Domain) error {
	if err := d.Destroy(context.WithoutCancel(r.Context()), r.PathValue("id")); err != nil {
		return err
	}
	writeJSON(w, http.StatusNoContent, nil)
	return nil
}

func (s *Server) reset(w http.ResponseWriter, r *http.Request, d Domain) error {
	var v api.Copy
	err := s.starting(r.Context(), func() (err error) {
		v, err = d.Reset(context.WithoutCancel(r.Context()), r.PathValue("id"))
		return err
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}

func (s *Server) start(w http.ResponseWriter, r *http.Request, d Domain) error {
	var v api.StartResult
	err := s.starting(r.Context(), func() (err error) {
		v, err = d.Start(r.Context(), r.PathValue("id"))
		return err
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}

func (s *Server) keep(w http.ResponseWriter, r *http.Request, d Domain) error {
	id := r.PathValue("id")
	if err := d.Keep(context.WithoutCancel(r.Context()), id); err != nil {
		return err
	}
	s.holds.keep(id)
	writeJSON(w, http.StatusNoContent, nil)
	return nil
}

func (s *Server) status(w http.ResponseWriter, r *http.Request, d Domain) error {
	st, err := d.Status(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, st)
	return nil
}

// starting runs fn, which starts a postgres server, when one of the
// MaxStarts slots is free; with MaxQueue requests waiting already, it
// answers busy at once.
func (s *Server) starting(ctx context.Context, fn func() error) error {
	if s.waiting.Add(1) > int64(s.o.MaxQueue) {
		s.waiting.Add(-1)
		return retryLater{&api.Error{Code: ditto.CodeBusy, Message: fmt.Sprintf("the daemon is busy: %d copies are starting and %d more are waiting", s.o.MaxStarts, s.o.MaxQueue),
			Hint: "try again in a moment"}}
	}
	select {
	case s.slots <- struct{}{}:
		s.waiting.Add(-1)
	case <-ctx.Done():
		s.waiting.Add(-1)
		return ctx.Err()
	}
	defer func() { <-s.slots }()
	return fn()
}

// withBody reads each request's body before h runs, and answers a body
// too large or too slow itself.
func withBody(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, err := readBody(w, r)
		if err != nil {
			writeError(w, err)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(b))
		h.ServeHTTP(w, r)
	})
}

// readBody reads the request's body, of at most maxBody bytes, within
// bodyTimeout, whatever the route: a route that takes no body, or no
// route, must not leave a body trickling in after its answer either. Once the body is read, the
// connection has no read deadline: the server's wait for the client to
// hang up would take its expiry for a hang-up, and a hold stream must
// last. After a failed read the deadline stays, so the server closes the
// connection instead of reading on.
func readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	if r.ContentLength > maxBody {
		return nil, tooLarge()
	}
	rc := http.NewResponseController(w)
	_ = rc.SetReadDeadline(time.Now().Add(bodyTimeout))
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		return nil, tooLarge()
	case err != nil:
		w.Header().Set("Connection", "close")
		return nil, &api.Error{Code: ditto.CodeInvalid, Message: "reading the request body: " + err.Error(), Hint: "send the whole body within 10 seconds"}
	}
	_ = rc.SetReadDeadline(time.Time{})
	return b, nil
}

// decode reads the JSON request body that withBody read into r.Body,
// refusing unknown fields and trailing data. An empty body is an empty
// request.
func decode(r *http.Request, v any) error {
	b, err := io.ReadAll(r.Body)
	if err != nil || len(b) == 0 {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return &api.Error{Code: ditto.CodeInvalid, Message: "invalid request body: " + err.Error(), Hint: "send one JSON object with the fields of docs/api.yaml"}
	}
	if dec.More() {
		return &api.Error{Code: ditto.CodeInvalid, Message: "invalid request body: data after the JSON object", Hint: "send one JSON object"}
	}
	return nil
}

func tooLarge() error {
	return &api.Error{Code: api.CodeTooLarge, Message: fmt.Sprintf("request body over %d KiB", maxBody>>10), Hint: "send only the fields of docs/api.yaml"}
}

// writeJSON answers with status and v as JSON (nil: no body).
func writeJSON(w http.ResponseWriter, status int, v any) {
	_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(writeTimeout))
	if v == nil {
		w.WriteHeader(status)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// retryLater is an error that a retry soon may not meet: the queue of
// starts was full. It is answered with Retry-After, which the client
// honours; other busy answers (a copy another process works on) are not.
type retryLater struct{ error }

func (r retryLater) Unwrap() error { return r.error }

// writeRaw answers 200 with b as it is.
func writeRaw(w http.ResponseWriter, b []byte) {
	_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(writeTimeout))
	_, _ = w.Write(b)
}

func writeError(w http.ResponseWriter, err error) {
	e := api.ErrorOf(err)
	if errors.As(err, new(retryLater)) {
		w.Header().Set("Retry-After", "1")
	}
	writeJSON(w, api.HTTPStatus(e.Code), e)
}
