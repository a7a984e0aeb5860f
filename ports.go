package ditto

import (
	"errors"
	"net"
	"strconv"
	"strings"
	"syscall"
)

// allocatePort picks the lowest port of the range that no record holds and
// that nothing on the machine is listening on. The caller holds the state
// lock and writes the record before releasing it, so that the record is the
// reservation and parallel ditto processes never pick the same port.
func allocatePort(min, max int, taken map[int]bool, listen string) (int, error) {
	for p := min; p <= max; p++ {
		if taken[p] || !portFree(listen, p) {
			continue
		}
		return p, nil
	}
	return 0, errorf(CodePortsExhausted, "destroy copies (`ditto copy list`, `ditto gc`) or widen the range with `ditto init --port-range`",
		"no free port in %d-%d (%d held by copies)", min, max, len(taken))
}

// portFree checks that the port can be bound on each of the copy's listen
// addresses and on loopback.
func portFree(listen string, port int) bool {
	for _, h := range append([]string{"127.0.0.1"}, listenHosts(listen)...) {
		if bind(h, port) != nil {
			return false
		}
	}
	return true
}

// bind checks that a TCP port (0: any) can be bound on host ("*": every
// address), and frees it again.
func bind(host string, port int) error {
	if host == "*" {
		host = ""
	}
	l, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(port)))
	if err != nil {
		return err
	}
	return l.Close()
}

// listenHosts splits listen_addresses into its entries.
func listenHosts(listen string) []string {
	if strings.TrimSpace(listen) == "" {
		return nil
	}
	hosts := strings.Split(listen, ",")
	for i := range hosts {
		hosts[i] = strings.TrimSpace(hosts[i])
	}
	return hosts
}

// ValidateListen checks a copy's listen addresses (PostgreSQL's
// listen_addresses): a comma-separated list of *, IP addresses or host
// names, each an address of this machine. Otherwise its server could bind
// none of them, and every port of the range would look taken.
func ValidateListen(listen string) error {
	hosts := listenHosts(listen)
	if len(hosts) == 0 {
		return invalidf("invalid --listen %q: give an address of this machine, e.g. 127.0.0.1, or * for all of them", listen)
	}
	for _, h := range hosts {
		if h == "" {
			return invalidf("invalid --listen %q: an entry of the list is empty; separate addresses by single commas, e.g. 127.0.0.1,10.0.0.5", listen)
		}
		err := bind(h, 0)
		var dnsErr *net.DNSError
		switch {
		case errors.Is(err, syscall.EADDRNOTAVAIL):
			return invalidf("cannot listen on %s: not an address of this machine (`ip -brief address` lists them): give --listen one of them, e.g. 127.0.0.1, or * for all", h)
		case errors.As(err, &dnsErr):
			return invalidf("cannot listen on %s: the name does not resolve (%v): give --listen an IP address of this machine, e.g. 127.0.0.1", h, dnsErr.Err)
		case err != nil:
			return invalidf("cannot listen on %s: %v: give --listen an address of this machine, e.g. 127.0.0.1", h, err)
		}
	}
	return nil
}
