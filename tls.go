package ditto

import (
	"errors"
	"fmt"
	"io/fs"
	"net"

	"github.com/dittodb/ditto/internal/tlsca"
	"github.com/dittodb/ditto/postgres"
)

// serverCertificate issues the certificate of a TLS copy's server, signed
// by ditto's CA, for the host of its URL and the addresses it listens on.
// Each start issues a new one, so nothing of it outlives the copy.
func (m *Manager) serverCertificate(c *Copy) (*postgres.ServerTLS, error) {
	ca, err := tlsca.Load(m.Home.TLS())
	if errors.Is(err, fs.ErrNotExist) {
		return nil, errorf(CodeInternal, "start `ditto serve --api-listen ADDR` once: it makes the CA",
			"copy %s needs a certificate of ditto's CA, and %s holds none", c.ID, m.Home.TLS())
	}
	if err != nil {
		return nil, err
	}
	hosts := []string{c.Host}
	for _, h := range listenHosts(c.Listen) {
		if ip := net.ParseIP(h); h != c.Host && h != "*" && (ip == nil || !ip.IsUnspecified()) {
			hosts = append(hosts, h)
		}
	}
	cert, key, err := ca.Issue(tlsca.KindCopy, hosts)
	if err != nil {
		return nil, fmt.Errorf("issuing the certificate of copy %s: %w", c.ID, err)
	}
	return &postgres.ServerTLS{Cert: cert, Key: key, Role: c.Role}, nil
}
