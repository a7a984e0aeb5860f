package ditto

import (
	"net"
	"strings"
	"testing"
)

// 203.0.113.77 is of TEST-NET-3, kept for documentation: no machine has it.
func TestValidateListen(t *testing.T) {
	good := []string{"127.0.0.1", "localhost", "*", "0.0.0.0", "127.0.0.1,localhost", " 127.0.0.1 , * "}
	if l, err := net.Listen("tcp", "[::1]:0"); err == nil { // IPv6 loopback, where the machine has it
		l.Close()
		good = append(good, "::1", "127.0.0.1,::1")
	}
	for _, listen := range good {
		if err := ValidateListen(listen); err != nil {
			t.Errorf("ValidateListen(%q): %v", listen, err)
		}
	}
	for listen, want := range map[string]string{
		"203.0.113.77":           "cannot listen on 203.0.113.77: not an address of this machine",
		"127.0.0.1,203.0.113.77": "cannot listen on 203.0.113.77: not an address of this machine",
		"":                       "invalid --listen",
		"127.0.0.1,,*":           "empty",
		"127.0.0.1,":             "empty",
		"not an address!":        "cannot listen on not an address!",
	} {
		if err := ValidateListen(listen); err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "--listen") {
			t.Errorf("ValidateListen(%q) = %v, want an error with %q naming --listen", listen, err, want)
		}
	}
}

// A list of addresses is bound address by address, not taken for one
// address that nothing can bind (which made every port look taken).
func TestAllocatePortOnAListOfAddresses(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	if got, err := allocatePort(port, port, nil, "127.0.0.1, localhost"); err != nil || got != port {
		t.Fatalf("allocatePort on a list = %d, %v; want %d", got, err, port)
	}
}
