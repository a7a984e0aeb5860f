package daemon

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"
	"golang.org/x/sys/unix"

	"github.com/dittodb/ditto"
	"github.com/dittodb/ditto/api"
	"github.com/dittodb/ditto/api/server"
	"github.com/dittodb/ditto/internal/state"
	"github.com/dittodb/ditto/internal/tlsca"
	"github.com/dittodb/ditto/internal/token"
)

// remote is the TCP listener for callers on other machines: TLS only,
// each request with a bearer token.
type remote struct {
	ln     net.Listener
	ca     *tlsca.CA
	tokens token.Store
	// listen is where their copies listen; hosts, the names the API's
	// certificate is for, the first (if any) also the host of their URLs.
	listen string
	hosts  []string
}

// listenRemote makes ditto's CA (once), the API's certificate (unless
// given) and the TLS listener on o.APIListen.
func listenRemote(m *ditto.Manager, log hclog.Logger, o Options) (*remote, error) {
	host, _, err := net.SplitHostPort(o.APIListen)
	if err != nil {
		return nil, fmt.Errorf("invalid --api-listen %q: give HOST:PORT, e.g. 10.0.0.5:8443 or :8443 for every address: %v", o.APIListen, err)
	}
	ca, created, err := tlsca.Ensure(m.Home.TLS())
	if err != nil {
		return nil, fmt.Errorf("ditto's CA in %s: %w", m.Home.TLS(), err)
	}
	if created {
		log.Info("made ditto's CA: clients on other machines trust it", "ca", filepath.Join(m.Home.TLS(), tlsca.CertFile))
	}
	r := &remote{ca: ca, tokens: token.Store{Path: m.Home.Tokens(), LockPath: m.Home.TokensLock()},
		listen: copyListen(m.Config.Listen, host), hosts: o.APIHosts}
	cert, err := r.certificate(m, o, host)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", o.APIListen)
	if err != nil {
		return nil, fmt.Errorf("listening on %s: %w", o.APIListen, err)
	}
	r.ln = tls.NewListener(cutListener{ln}, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})
	log.Info("serving on TCP, TLS only, to bearers of tokens", "address", r.ln.Addr().String(),
		"ca_sha256", ca.Fingerprint(), "copies_listen", r.listen)
	return r, nil
}

// certificate is the API's: the files given, or one of ditto's CA for
// --api-host names and the listen address (every address of the machine
// when that is a wildcard), kept in the home.
func (r *remote) certificate(m *ditto.Manager, o Options, host string) (tls.Certificate, error) {
	if o.TLSCert != "" || o.TLSKey != "" {
		cert, err := tls.LoadX509KeyPair(o.TLSCert, o.TLSKey)
		if err != nil {
			return cert, fmt.Errorf("the API's certificate (--tls-cert %s, --tls-key %s): %w", o.TLSCert, o.TLSKey, err)
		}
		return cert, nil
	}
	hosts := append([]string(nil), o.APIHosts...)
	if ip := net.ParseIP(host); host != "" && (ip == nil || !ip.IsUnspecified()) {
		hosts = append(hosts, host)
	} else {
		addrs, err := net.InterfaceAddrs()
		if err != nil {
			return tls.Certificate{}, err
		}
		for _, a := range addrs {
			if n, ok := a.(*net.IPNet); ok {
				hosts = append(hosts, n.IP.String())
			}
		}
	}
	certPEM, keyPEM, err := r.ca.Issue(tlsca.KindAPI, hosts)
	if err != nil {
		return tls.Certificate{}, err
	}
	dir := m.Home.TLS()
	if err := state.WriteFileAtomic(filepath.Join(dir, "server.key"), keyPEM, 0o600); err != nil {
		return tls.Certificate{}, err
	}
	if err := state.WriteFileAtomic(filepath.Join(dir, "server.pem"), certPEM, 0o644); err != nil {
		return tls.Certificate{}, err
	}
	return tls.X509KeyPair(certPEM, keyPEM)
}

// userTimeout bounds how long what the daemon sends a remote caller may go
// unacknowledged: when the network to a `copy run` client is cut, its hold
// stream fails within it, and its copy goes, instead of after the kernel's
// retransmissions (about 15 minutes).
const userTimeout = 30 * time.Second

// cutListener sets userTimeout on each connection it accepts.
type cutListener struct{ net.Listener }

func (l cutListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if tc, ok := c.(*net.TCPConn); ok {
		if raw, rerr := tc.SyscallConn(); rerr == nil {
			_ = raw.Control(func(fd uintptr) {
				_ = unix.SetsockoptInt(int(fd), unix.IPPROTO_TCP, unix.TCP_USER_TIMEOUT, int(userTimeout.Milliseconds()))
			})
		}
	}
	return c, err
}

// copyListen is where copies for other machines listen: the configured
// address unless it is loopback only (the default), else the API's own
// address (all addresses when that is a wildcard).
func copyListen(configured, apiHost string) string {
	switch strings.TrimSpace(configured) {
	case "", "127.0.0.1", "localhost", "::1":
	default:
		return configured
	}
	if ip := net.ParseIP(apiHost); apiHost == "" || (ip != nil && ip.IsUnspecified()) {
		return "*"
	}
	return apiHost
}

// connContext gives each connection the authenticator of its requests: a
// token makes the caller, and its copies are made for the address the
// caller reached (or the first --api-host).
func (r *remote) connContext(ctx context.Context, c net.Conn) context.Context {
	host := ""
	if len(r.hosts) > 0 {
		host = r.hosts[0]
	} else if a, ok := c.LocalAddr().(*net.TCPAddr); ok {
		host = a.IP.String()
	}
	rm := &api.Remote{Listen: r.listen, Host: host}
	return server.WithAuthenticator(ctx, func(req *http.Request) (server.Peer, bool) {
		secret, ok := strings.CutPrefix(req.Header.Get("Authorization"), "Bearer ")
		if !ok {
			return server.Peer{}, false
		}
		t, ok := r.tokens.Check(strings.TrimSpace(secret), time.Now())
		if !ok {
			return server.Peer{}, false
		}
		return server.Peer{Caller: ditto.TokenCaller(t.Name, t.Admin), Remote: rm}, true
	})
}
