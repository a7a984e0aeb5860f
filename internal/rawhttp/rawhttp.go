// Package rawhttp sends an HTTP request exactly as written over a Unix
// socket, for tests of what a server does with malformed ones.
package rawhttp

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"time"
)

// Answer is a server's response, read whole.
type Answer struct {
	Status string // e.g. "404 Not Found"
	Header http.Header
	Body   string
}

// Send writes request to the Unix socket at sock and reads the answer,
// within timeout. The request is written while the answer is read: a
// server may answer before it has read a large body.
func Send(sock, request string, timeout time.Duration) (Answer, error) {
	conn, err := net.Dial("unix", sock)
	if err != nil {
		return Answer{}, err
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(timeout))
	go io.WriteString(conn, request)
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		return Answer{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return Answer{Status: resp.Status, Header: resp.Header, Body: string(b)}, err
}
