package ditto

import (
	"fmt"
	"net"
	"strconv"
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
	return 0, fmt.Errorf("no free port in %d-%d (%d held by copies): destroy copies (`ditto copy list`, `ditto gc`) or widen the range with `ditto init --port-range`", min, max, len(taken))
}

// portFree checks that the port can be bound on the copy's listen address
// and on loopback.
func portFree(listen string, port int) bool {
	hosts := []string{"127.0.0.1"}
	if listen != "" && listen != "127.0.0.1" && listen != "localhost" {
		hosts = append(hosts, listen)
	}
	for _, h := range hosts {
		if h == "*" {
			h = ""
		}
		l, err := net.Listen("tcp", net.JoinHostPort(h, strconv.Itoa(port)))
		if err != nil {
			return false
		}
		l.Close()
	}
	return true
}
