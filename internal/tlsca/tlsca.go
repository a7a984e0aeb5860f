// Package tlsca is ditto's own certificate authority: an ECDSA P-256 CA kept
// in the state directory, that signs the daemon's API certificate and the
// certificates of copies served to other machines, so that their clients
// can verify both with one CA file.
package tlsca

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/dittodb/ditto/internal/state"
)

// File names in the CA's folder.
const (
	CertFile = "ca.pem"
	keyFile  = "ca.key"
)

// Validity of what the CA signs: the CA itself, and the certificates it
// issues (reissued at every start of a daemon or a copy's server).
const (
	caValidity   = 10 * 365 * 24 * time.Hour
	certValidity = 365 * 24 * time.Hour
)

// CA is a loaded certificate authority.
type CA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pem  []byte
}

// Ensure loads the CA kept in dir, creating dir (0700) and the CA (key
// 0600) on first use. created says whether it was made now.
func Ensure(dir string) (ca *CA, created bool, err error) {
	ca, err = Load(dir)
	if !errors.Is(err, fs.ErrNotExist) {
		return ca, false, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, false, err
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return nil, false, err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, false, err
	}
	tmpl, err := template("ditto CA", caValidity)
	if err != nil {
		return nil, false, err
	}
	tmpl.IsCA, tmpl.BasicConstraintsValid, tmpl.MaxPathLenZero = true, true, true
	tmpl.KeyUsage = x509.KeyUsageCertSign | x509.KeyUsageCRLSign
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, false, err
	}
	keyPEM, err := encodeKey(key)
	if err != nil {
		return nil, false, err
	}
	// the key first: a certificate without its key would be taken for a CA
	if err := state.WriteFileAtomic(filepath.Join(dir, keyFile), keyPEM, 0o600); err != nil {
		return nil, false, err
	}
	if err := state.WriteFileAtomic(filepath.Join(dir, CertFile), encodeCert(der), 0o644); err != nil {
		return nil, false, err
	}
	ca, err = Load(dir)
	return ca, err == nil, err
}

// Load reads the CA kept in dir; an error wrapping fs.ErrNotExist means
// there is none yet.
func Load(dir string) (*CA, error) {
	certPEM, err := os.ReadFile(filepath.Join(dir, CertFile))
	if err != nil {
		return nil, err
	}
	keyPEM, err := os.ReadFile(filepath.Join(dir, keyFile))
	if err != nil {
		return nil, err
	}
	cb, _ := pem.Decode(certPEM)
	kb, _ := pem.Decode(keyPEM)
	if cb == nil || kb == nil {
		return nil, fmt.Errorf("ditto's CA in %s is damaged: remove the folder to make a new one (clients then need the new %s)", dir, CertFile)
	}
	cert, err := x509.ParseCertificate(cb.Bytes)
	if err != nil {
		return nil, fmt.Errorf("ditto's CA certificate %s: %w", filepath.Join(dir, CertFile), err)
	}
	key, err := x509.ParseECPrivateKey(kb.Bytes)
	if err != nil {
		return nil, fmt.Errorf("ditto's CA key %s: %w", filepath.Join(dir, keyFile), err)
	}
	return &CA{cert: cert, key: key, pem: certPEM}, nil
}

// PEM is the CA's certificate, for clients to trust.
func (ca *CA) PEM() []byte { return ca.pem }

// Fingerprint is the SHA-256 of the CA's certificate, in hex.
func (ca *CA) Fingerprint() string { return Fingerprint(ca.cert.Raw) }

// Fingerprint is the SHA-256 of a DER certificate as people compare it:
// upper-case hex bytes separated by colons (as openssl x509 -fingerprint).
func Fingerprint(der []byte) string {
	sum := sha256.Sum256(der)
	h := strings.ToUpper(hex.EncodeToString(sum[:]))
	parts := make([]string, 0, len(sum))
	for i := 0; i < len(h); i += 2 {
		parts = append(parts, h[i:i+2])
	}
	return strings.Join(parts, ":")
}

// Kind says what a certificate is for, in its subject's organizational
// unit.
type Kind string

// A copy's key is readable by its server, so by the copy's superuser, and
// its certificate names the daemon's host: a client of the API refuses a
// certificate of KindCopy, so that a copy's owner cannot pose as the API.
const (
	KindAPI  Kind = "ditto api"
	KindCopy Kind = "ditto copy"
)

// IsKind reports whether cert was issued as kind.
func IsKind(cert *x509.Certificate, kind Kind) bool {
	return slices.Contains(cert.Subject.OrganizationalUnit, string(kind))
}

// Issue returns a new server certificate of kind for hosts (names or IP
// addresses) and its key, both PEM, signed by the CA.
func (ca *CA) Issue(kind Kind, hosts []string) (certPEM, keyPEM []byte, err error) {
	if len(hosts) == 0 {
		return nil, nil, errors.New("a server certificate needs at least one host name or address")
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	tmpl, err := template(hosts[0], certValidity)
	if err != nil {
		return nil, nil, err
	}
	tmpl.Subject.OrganizationalUnit = []string{string(kind)}
	tmpl.KeyUsage = x509.KeyUsageDigitalSignature
	tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		return nil, nil, err
	}
	keyPEM, err = encodeKey(key)
	if err != nil {
		return nil, nil, err
	}
	return encodeCert(der), keyPEM, nil
}

func template(cn string, validity time.Duration) (*x509.Certificate, error) {
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, err
	}
	now := time.Now()
	return &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: cn, Organization: []string{"ditto"}},
		NotBefore:    now.Add(-time.Hour), // clocks of clients differ a little
		NotAfter:     now.Add(validity),
	}, nil
}

func encodeCert(der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

func encodeKey(key *ecdsa.PrivateKey) ([]byte, error) {
	der, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der}), nil
}
