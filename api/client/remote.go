package client

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/dittodb/ditto/api"
	"github.com/dittodb/ditto/internal/state"
	"github.com/dittodb/ditto/internal/tlsca"
)

// newRemote returns a client of a daemon's TCP listener at u, verifying
// its certificate with o.CAFile or the system's CAs.
func newRemote(u *url.URL, o Options) (*Client, error) {
	if o.Token == "" {
		return nil, fmt.Errorf("a ditto server on %s needs a token: set DITTO_TOKEN (an admin makes one with `sudo ditto token create NAME` on that machine)", u.Host)
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	switch {
	case o.CAFile != "" && o.CAFingerprint != "":
		return nil, fmt.Errorf("give --ca-file or --ca-fingerprint, not both")
	case o.CAFingerprint != "":
		pool, err := pinnedCA(u.Host, o.CAFingerprint)
		if err != nil {
			return nil, err
		}
		cfg.RootCAs = pool
	case o.CAFile != "":
		b, err := os.ReadFile(o.CAFile)
		if err != nil {
			return nil, fmt.Errorf("reading --ca-file: %w", err)
		}
		cfg.RootCAs = x509.NewCertPool()
		if !cfg.RootCAs.AppendCertsFromPEM(b) {
			return nil, fmt.Errorf("--ca-file %s holds no PEM certificate", o.CAFile)
		}
	}
	cfg.VerifyConnection = notACopy
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.TLSClientConfig = cfg
	return &Client{base: "https://" + u.Host, token: o.Token, hc: &http.Client{Transport: t}}, nil
}

// notACopy refuses a certificate that ditto's CA issued to a copy: its key
// is within reach of the copy's owner, and it names the daemon's host.
func notACopy(cs tls.ConnectionState) error {
	if len(cs.PeerCertificates) > 0 && tlsca.IsKind(cs.PeerCertificates[0], tlsca.KindCopy) {
		return fmt.Errorf("the server presents the certificate of a ditto copy, not of the ditto API: another server poses as the daemon")
	}
	return nil
}

// pinnedCA fetches ditto's CA from the daemon at host and returns it if
// its SHA-256 is fingerprint. The connection is not verified (the CA is
// what would verify it), so nothing but that public certificate crosses
// it: no token.
func pinnedCA(host, fingerprint string) (*x509.CertPool, error) {
	want := strings.ToUpper(strings.ReplaceAll(strings.TrimSpace(fingerprint), ":", ""))
	hc := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: true},
	}}
	resp, err := hc.Get("https://" + host + "/v1/ca.pem")
	if err != nil {
		return nil, fmt.Errorf("fetching ditto's CA from %s: %w", host, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil || resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("fetching ditto's CA from %s: %s %v", host, resp.Status, err)
	}
	block, _ := pem.Decode(b)
	if block == nil {
		return nil, fmt.Errorf("%s/v1/ca.pem is no PEM certificate", host)
	}
	if got := strings.ReplaceAll(tlsca.Fingerprint(block.Bytes), ":", ""); got != want {
		return nil, fmt.Errorf("the CA of %s has the SHA-256 %s, not the --ca-fingerprint given: someone may be in between, or the daemon made a new CA", host, tlsca.Fingerprint(block.Bytes))
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("ditto's CA from %s: %w", host, err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return pool, nil
}

// addRootCert completes the URL of a copy served over TLS (one that says
// sslmode=verify-full) with sslrootcert: ditto's CA, fetched from the
// daemon once and kept in the user's cache folder. Only the client knows
// where that is.
func (c *Client) addRootCert(ctx context.Context, v *api.Copy) error {
	if c.socket != "" || v.DatabaseURL == "" {
		return nil
	}
	u, err := url.Parse(v.DatabaseURL)
	if err != nil {
		return fmt.Errorf("the ditto daemon sent an invalid URL for copy %s", v.ID)
	}
	q := u.Query()
	if q.Get("sslmode") != "verify-full" || q.Has("sslrootcert") {
		return nil
	}
	path, err := c.caFile(ctx)
	if err != nil {
		return err
	}
	q.Set("sslrootcert", path)
	// a slash may stand unescaped in a query: the path stays readable
	u.RawQuery = strings.ReplaceAll(q.Encode(), "%2F", "/")
	v.DatabaseURL = u.String()
	return nil
}

// caFile returns the path of ditto's CA as this client keeps it,
// fetching it from the daemon if it has not yet.
func (c *Client) caFile(ctx context.Context) (string, error) {
	dir, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("where to keep ditto's CA: %w (set XDG_CACHE_HOME or HOME)", err)
	}
	host := strings.NewReplacer(":", "_", "/", "_", "[", "", "]", "").Replace(strings.TrimPrefix(c.base, "https://"))
	path := filepath.Join(dir, "ditto", host+"-ca.pem")
	if _, err := os.Stat(path); err == nil {
		return path, nil
	}
	resp, err := c.send(ctx, "GET", "/v1/ca.pem", nil, http.StatusOK)
	if err != nil {
		return "", fmt.Errorf("fetching ditto's CA from %s: %w", c.base, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return "", fmt.Errorf("fetching ditto's CA from %s: %w", c.base, err)
	}
	if !x509.NewCertPool().AppendCertsFromPEM(b) {
		return "", fmt.Errorf("%s/v1/ca.pem is no PEM certificate", c.base)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return "", err
	}
	return path, state.WriteFileAtomic(path, b, 0o644)
}
