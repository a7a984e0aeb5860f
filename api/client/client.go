// Package client is the one client of ditto's API: the CLI uses it for
// api.Service when a daemon serves. It speaks HTTP/JSON over the daemon's
// Unix socket.
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

	"github.com/dittodb/ditto"
	"github.com/dittodb/ditto/api"
)

// Client talks to one daemon; it implements api.Service.
type Client struct {
	socket string
	hc     *http.Client
}

var _ api.Service = (*Client)(nil)

// New returns a client of the daemon at server, a unix:///PATH address.
func New(server string) (*Client, error) {
	u, err := url.Parse(server)
	if err != nil || u.Scheme != "unix" || u.Path == "" || u.Host != "" {
		return nil, fmt.Errorf("invalid ditto server %q: give unix:///PATH of the daemon's socket, e.g. unix:///run/ditto/ditto.sock", server)
	}
	c := &Client{socket: u.Path}
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
// any other status is read as an api.Error.
func (c *Client) send(ctx context.Context, method, path string, in any, want int) (*http.Response, error) {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return nil, err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, "http://ditto"+path, body)
	if err != nil {
		return nil, err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		var e *api.Error
		if errors.As(err, &e) {
			return nil, e
		}
		return nil, err
	}
	if resp.StatusCode == want {
		return resp, nil
	}
	defer resp.Body.Close()
	var e api.Error
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&e); err != nil || e.Code == "" {
		return nil, fmt.Errorf("the ditto daemon answered %s %s with %s", method, path, resp.Status)
	}
	return nil, &e
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
	return v, c.call(ctx, "POST", "/v1/copies", r, &v, http.StatusCreated)
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

func (c *Client) List(ctx context.Context, all bool) (cs []api.Copy, err error) {
	path := "/v1/copies"
	if all {
		path += "?all=true"
	}
	return cs, c.call(ctx, "GET", path, nil, &cs, http.StatusOK)
}

func (c *Client) Get(ctx context.Context, id string) (v api.Copy, err error) {
	return v, c.call(ctx, "GET", copyPath(id), nil, &v, http.StatusOK)
}

func (c *Client) Destroy(ctx context.Context, id string) error {
	return c.call(ctx, "DELETE", copyPath(id), nil, nil, http.StatusNoContent)
}

func (c *Client) Reset(ctx context.Context, id string) (v api.Copy, err error) {
	return v, c.call(ctx, "POST", copyPath(id, "reset"), nil, &v, http.StatusOK)
}

func (c *Client) Start(ctx context.Context, id string) (v api.StartResult, err error) {
	return v, c.call(ctx, "POST", copyPath(id, "start"), nil, &v, http.StatusOK)
}

func (c *Client) Status(ctx context.Context) (s ditto.Status, err error) {
	return s, c.call(ctx, "GET", "/v1/status", nil, &s, http.StatusOK)
}
