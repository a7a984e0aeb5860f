// Package client is the one client of ditto's API: the CLI uses it for
// api.Service when a daemon serves. It speaks HTTP/JSON over the daemon's
// Unix socket, or over TLS with a bearer token to a daemon on another
// machine.
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/user"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/dittodb/ditto"
	"github.com/dittodb/ditto/api"
)

// Client talks to one daemon; it implements api.Service.
type Client struct {
	socket string // the Unix socket; "" for a daemon on TCP
	base   string // the URL the API's paths follow
	token  string
	hc     *http.Client
	// OnBusy is told each time the daemon answered busy with Retry-After
	// and the client waits that long before it asks again (the CLI says so
	// on stderr). Nil: it waits silently.
	OnBusy func(e *api.Error, wait time.Duration)
}

// maxBusyWait bounds how long a request waits, in all, for a busy daemon
// that asks its clients to retry; then the busy answer is the result.
const maxBusyWait = 2 * time.Minute

var _ api.Service = (*Client)(nil)

// Options are what a client of a daemon on another machine needs.
type Options struct {
	// Token is the bearer token (ditto token create).
	Token string
	// CAFile is the PEM file of the CA that signed the daemon's
	// certificate; "" trusts the system's CAs.
	CAFile string
	// CAFingerprint, instead, is the SHA-256 of ditto's CA (hex, colons
	// optional): the client fetches the CA from the daemon and trusts it
	// only if it matches.
	CAFingerprint string
}

// New returns a client of the daemon at server: unix:///PATH of its
// socket, or https://HOST:PORT of its TCP listener.
func New(server string, o Options) (*Client, error) {
	u, err := url.Parse(server)
	if err == nil && u.Scheme == "https" && u.Host != "" && strings.Trim(u.Path, "/") == "" {
		return newRemote(u, o)
	}
	if err != nil || u.Scheme != "unix" || u.Path == "" || u.Host != "" {
		return nil, fmt.Errorf("invalid ditto server %q: give unix:///PATH of the daemon's socket, e.g. unix:///run/ditto/ditto.sock, or https://HOST:PORT of its TCP listener", server)
	}
	c := &Client{socket: u.Path, base: "http://ditto"}
	var d net.Dialer
	c.hc = &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			conn, err := d.DialContext(ctx, "unix", c.socket)
			if err != nil {
				return nil, c.dialError(err)
			}
			return conn, nil
		},
	}}
	return c, nil
}

// dialError says why the socket cannot be reached and what to do.
func (c *Client) dialError(err error) error {
	switch {
	case errors.Is(err, syscall.EACCES):
		group := "its group"
		if fi, serr := os.Stat(c.socket); serr == nil {
			if st, ok := fi.Sys().(*syscall.Stat_t); ok {
				group = "group " + strconv.Itoa(int(st.Gid))
				if g, gerr := user.LookupGroupId(strconv.Itoa(int(st.Gid))); gerr == nil {
					group = "group " + g.Name
				}
			}
		}
		return &api.Error{Code: api.CodeUnauthorized, Message: fmt.Sprintf("no permission to use the ditto daemon's socket %s", c.socket),
			Hint: fmt.Sprintf("only members of %s may: ask an admin to run `sudo usermod -aG %s $USER`, then log in again", group, strings.TrimPrefix(group, "group "))}
	case errors.Is(err, syscall.ENOENT), errors.Is(err, syscall.ECONNREFUSED):
		return &api.Error{Code: ditto.CodeInternal, Message: fmt.Sprintf("no ditto daemon listens on %s", c.socket),
			Hint: "start it (`sudo systemctl start ditto`, or `sudo ditto serve`), or unset DITTO_SERVER and run ditto as root"}
	}
	return fmt.Errorf("connecting to the ditto daemon at %s: %w", c.socket, err)
}

// send makes a request and returns the response if its status is want;
// any other status is read as an api.Error. A busy answer with
// Retry-After is asked again after that wait, for up to maxBusyWait in all.
func (c *Client) send(ctx context.Context, method, path string, in any, want int) (*http.Response, error) {
	var body []byte
	if in != nil {
		var err error
		if body, err = json.Marshal(in); err != nil {
			return nil, err
		}
	}
	for waited := time.Duration(0); ; {
		resp, wait, err := c.try(ctx, method, path, body, want)
		var e *api.Error
		if wait <= 0 || waited+wait > maxBusyWait || !errors.As(err, &e) {
			return resp, err
		}
		if c.OnBusy != nil {
			c.OnBusy(e, wait)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(wait):
		}
		waited += wait
	}
}

// try makes a request once. retry is the wait the daemon asked for with a
// busy answer, 0 for other answers.
func (c *Client) try(ctx context.Context, method, path string, body []byte, want int) (_ *http.Response, retry time.Duration, _ error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return nil, 0, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		var e *api.Error
		if errors.As(err, &e) {
			return nil, 0, e
		}
		return nil, 0, err
	}
	if resp.StatusCode == want {
		return resp, 0, nil
	}
	defer resp.Body.Close()
	var e api.Error
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&e); err != nil || e.Code == "" {
		return nil, 0, fmt.Errorf("the ditto daemon answered %s %s with %s", method, path, resp.Status)
	}
	if e.Code == ditto.CodeBusy {
		if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && s > 0 {
			retry = time.Duration(s) * time.Second
		}
	}
	return nil, retry, &e
}

// call makes a request and decodes the answer into out (unless nil).
func (c *Client) call(ctx context.Context, method, path string, in, out any, want int) error {
	resp, err := c.send(ctx, method, path, in, want)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if out == nil {
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("reading the ditto daemon's answer to %s %s: %w", method, path, err)
	}
	return nil
}

func copyPath(id string, action ...string) string {
	return strings.Join(append([]string{"/v1/copies", url.PathEscape(id)}, action...), "/")
}

func (c *Client) Create(ctx context.Context, r api.CreateRequest) (v api.Copy, err error) {
	r.Hold = false
	if err := c.call(ctx, "POST", "/v1/copies", r, &v, http.StatusCreated); err != nil {
		return v, err
	}
	return v, c.addRootCert(ctx, &v)
}

// Hold creates a copy held by the open response stream: the daemon
// destroys the copy when the stream ends, unless it was kept. Cancelling
// ctx aborts the create; once the copy exists, only Close ends the hold,
// so that a signal forwarded to a command does not take its copy away.
func (c *Client) Hold(ctx context.Context, r api.CreateRequest) (api.Copy, api.Lease, error) {
	r.Hold = true
	hctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	stop := context.AfterFunc(ctx, cancel)
	fail := func(err error) (api.Copy, api.Lease, error) {
		stop()
		cancel() // closing the stream destroys a copy made meanwhile
		return api.Copy{}, nil, err
	}
	resp, err := c.send(hctx, "POST", "/v1/copies", r, http.StatusCreated)
	if err != nil {
		return fail(err)
	}
	var v api.Copy
	dec := json.NewDecoder(resp.Body)
	if err := dec.Decode(&v); err != nil {
		resp.Body.Close()
		return fail(fmt.Errorf("reading the copy from the ditto daemon: %w", err))
	}
	if !stop() {
		resp.Body.Close()
		return fail(ctx.Err())
	}
	if err := c.addRootCert(ctx, &v); err != nil {
		resp.Body.Close()
		return fail(err)
	}
	l := &lease{c: c, id: v.ID, body: resp.Body, cancel: cancel}
	go l.drain(dec)
	return v, l, nil
}

type lease struct {
	c      *Client
	id     string
	body   io.ReadCloser
	cancel context.CancelFunc
	once   sync.Once
}

// drain reads the heartbeats until the stream ends.
func (l *lease) drain(dec *json.Decoder) {
	for {
		var hb api.Heartbeat
		if err := dec.Decode(&hb); err != nil {
			return
		}
	}
}

func (l *lease) Keep(ctx context.Context) error {
	return l.c.call(ctx, "POST", copyPath(l.id, "keep"), nil, nil, http.StatusNoContent)
}

func (l *lease) Close() error {
	l.once.Do(func() {
		l.cancel()
		l.body.Close()
	})
	return nil
}

// Health asks the daemon whether it serves, and which build of ditto it
// runs; it needs no permission beyond the socket's.
func (c *Client) Health(ctx context.Context) (h api.Health, err error) {
	return h, c.call(ctx, "GET", "/healthz", nil, &h, http.StatusOK)
}

func (c *Client) List(ctx context.Context, all bool) (cs []api.Copy, err error) {
	path := "/v1/copies"
	if all {
		path += "?all=true"
	}
	return cs, c.call(ctx, "GET", path, nil, &cs, http.StatusOK)
}

func (c *Client) Get(ctx context.Context, id string) (v api.Copy, err error) {
	if err := c.call(ctx, "GET", copyPath(id), nil, &v, http.StatusOK); err != nil {
		return v, err
	}
	return v, c.addRootCert(ctx, &v)
}

func (c *Client) Destroy(ctx context.Context, id string) error {
	return c.call(ctx, "DELETE", copyPath(id), nil, nil, http.StatusNoContent)
}

func (c *Client) Reset(ctx context.Context, id string) (v api.Copy, err error) {
	if err := c.call(ctx, "POST", copyPath(id, "reset"), nil, &v, http.StatusOK); err != nil {
		return v, err
	}
	return v, c.addRootCert(ctx, &v)
}

func (c *Client) Start(ctx context.Context, id string) (v api.StartResult, err error) {
	if err := c.call(ctx, "POST", copyPath(id, "start"), nil, &v, http.StatusOK); err != nil {
		return v, err
	}
	return v, c.addRootCert(ctx, &v.Copy)
}

func (c *Client) Status(ctx context.Context) (s ditto.Status, err error) {
	return s, c.call(ctx, "GET", "/v1/status", nil, &s, http.StatusOK)
}

func (c *Client) Extend(ctx context.Context, id string, r api.ExtendRequest) (v api.Copy, err error) {
	return v, c.call(ctx, "POST", copyPath(id, "extend"), r, &v, http.StatusOK)
}

func (c *Client) Events(ctx context.Context, id string) (es []ditto.Event, err error) {
	return es, c.call(ctx, "GET", copyPath(id, "events"), nil, &es, http.StatusOK)
}

// Logs streams the copy's server log; closing it ends the stream.
func (c *Client) Logs(ctx context.Context, id string, follow bool) (io.ReadCloser, error) {
	path := copyPath(id, "logs")
	if follow {
		path += "?follow=true"
	}
	resp, err := c.send(ctx, "GET", path, nil, http.StatusOK)
	if err != nil {
		return nil, err
	}
	return resp.Body, nil
}

func (c *Client) Goldens(ctx context.Context) (gs []ditto.GoldenInfo, err error) {
	return gs, c.call(ctx, "GET", "/v1/goldens", nil, &gs, http.StatusOK)
}
