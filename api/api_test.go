package api

import (
	"strings"
	"testing"

	"github.com/dittodb/ditto"
)

func TestViewAndEnv(t *testing.T) {
	c := &ditto.Copy{ID: "3f9a01bc", Role: "ditto", Password: "p/w:@x", Host: "127.0.0.1", Port: 5433, Database: "app db"}
	if v := ViewOf(c, false); v.DatabaseURL != "" || strings.Contains(strings.Join(v.Env(), " "), "p/w") {
		t.Fatalf("a view without the secret carries the password: %+v", v)
	}
	got := strings.Join(ViewOf(c, true).Env("MY_DB"), "\n")
	want := strings.Join([]string{
		"DATABASE_URL=" + c.URL(), "DITTO_COPY_ID=3f9a01bc", "PGHOST=127.0.0.1", "PGPORT=5433",
		"PGUSER=ditto", "PGPASSWORD=p/w:@x", "PGDATABASE=app db", "DISABLE_DATABASE_ENVIRONMENT_CHECK=1", "MY_DB=" + c.URL(),
	}, "\n")
	if got != want {
		t.Fatalf("Env =\n%s\nwant\n%s", got, want)
	}
	if names := strings.Join(EnvNames(), " "); names != "DATABASE_URL DITTO_COPY_ID PGHOST PGPORT PGUSER PGPASSWORD PGDATABASE DISABLE_DATABASE_ENVIRONMENT_CHECK PGSSLMODE PGSSLROOTCERT" {
		t.Fatalf("EnvNames = %s", names)
	}
	// a copy served over TLS: the client adds where it keeps the CA
	c.TLS = true
	v := ViewOf(c, true)
	if !strings.HasSuffix(v.DatabaseURL, "?sslmode=verify-full") {
		t.Fatalf("a TLS copy's URL: %s", v.DatabaseURL)
	}
	v.DatabaseURL += "&sslrootcert=/home/u/.cache/ditto/h_8443-ca.pem"
	env := strings.Join(v.Env(), "\n")
	if !strings.Contains(env, "\nPGSSLMODE=verify-full\nPGSSLROOTCERT=/home/u/.cache/ditto/h_8443-ca.pem") {
		t.Fatalf("a TLS copy's Env:\n%s", env)
	}
}
