package tlsca

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"testing"
)

func TestEnsureIssueVerify(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "tls")
	ca, created, err := Ensure(dir)
	if err != nil || !created {
		t.Fatalf("Ensure: %v, created %v", err, created)
	}
	for path, want := range map[string]os.FileMode{dir: 0o700, filepath.Join(dir, keyFile): 0o600} {
		if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != want {
			t.Fatalf("%s: %v, want mode %v", path, err, want)
		}
	}
	again, created, err := Ensure(dir)
	if err != nil || created || again.Fingerprint() != ca.Fingerprint() {
		t.Fatalf("a second Ensure made another CA: %v, created %v", err, created)
	}
	if fp := ca.Fingerprint(); len(fp) != 32*3-1 {
		t.Fatalf("fingerprint %q", fp)
	}
	if !ca.cert.IsCA {
		t.Fatal("the CA certificate is no CA")
	}
	if k, ok := ca.cert.PublicKey.(*ecdsa.PublicKey); !ok || k.Curve != elliptic.P256() {
		t.Fatalf("CA key %T, want ECDSA P-256", ca.cert.PublicKey)
	}

	certPEM, keyPEM, err := ca.Issue(KindCopy, []string{"db.example.com", "10.0.0.5"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tls.X509KeyPair(certPEM, keyPEM); err != nil {
		t.Fatalf("certificate and key do not pair: %v", err)
	}
	block, _ := pem.Decode(certPEM)
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	if !IsKind(cert, KindCopy) || IsKind(cert, KindAPI) {
		t.Fatalf("a copy's certificate has the units %v", cert.Subject.OrganizationalUnit)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(ca.PEM())
	for _, name := range []string{"db.example.com", "10.0.0.5"} {
		if _, err := cert.Verify(x509.VerifyOptions{Roots: roots, DNSName: name}); err != nil {
			t.Fatalf("the certificate does not verify for %s: %v", name, err)
		}
	}
	if _, err := cert.Verify(x509.VerifyOptions{Roots: roots, DNSName: "other.example.com"}); err == nil {
		t.Fatal("the certificate verifies for a name it was not issued for")
	}
	other, _, err := Ensure(filepath.Join(t.TempDir(), "tls"))
	if err != nil {
		t.Fatal(err)
	}
	otherRoots := x509.NewCertPool()
	otherRoots.AppendCertsFromPEM(other.PEM())
	if _, err := cert.Verify(x509.VerifyOptions{Roots: otherRoots, DNSName: "db.example.com"}); err == nil {
		t.Fatal("the certificate verifies with another CA")
	}
	if _, _, err := ca.Issue(KindAPI, nil); err == nil {
		t.Fatal("a certificate for no host was issued")
	}
}

func TestLoadMissingAndDamaged(t *testing.T) {
	dir := t.TempDir()
	if _, err := Load(dir); !os.IsNotExist(err) {
		t.Fatalf("Load of an empty folder: %v, want not-exist", err)
	}
	os.WriteFile(filepath.Join(dir, CertFile), []byte("junk"), 0o644)
	os.WriteFile(filepath.Join(dir, keyFile), []byte("junk"), 0o600)
	if _, err := Load(dir); err == nil {
		t.Fatal("a damaged CA loaded")
	}
}

// BenchmarkIssue is what a TLS copy's start adds: a key and a certificate.
func BenchmarkIssue(b *testing.B) {
	ca, _, err := Ensure(filepath.Join(b.TempDir(), "tls"))
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, _, err := ca.Issue(KindCopy, []string{"db.example.com", "10.0.0.5"}); err != nil {
			b.Fatal(err)
		}
	}
}
