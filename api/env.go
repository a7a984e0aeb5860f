package api

import (
	"net/url"
	"strconv"
	"strings"
)

// Env returns the variables a command gets to reach the copy: its URL
// (also under each extra name), libpq's PG* variables (TLS ones for a
// copy served over TLS), and what tells
// frameworks that guard a production database that this one is disposable
// (a golden restored from production says so in its own tables, e.g.
// Rails' ar_internal_metadata, and the golden stays as restored). The view
// must carry its URL (ViewOf with the secret).
func (v Copy) Env(extraNames ...string) []string {
	var password string
	var query url.Values
	if u, err := url.Parse(v.DatabaseURL); err == nil {
		password, _ = u.User.Password()
		query = u.Query()
	}
	env := []string{
		"DATABASE_URL=" + v.DatabaseURL,
		"DITTO_COPY_ID=" + v.ID,
		"PGHOST=" + v.Host,
		"PGPORT=" + strconv.Itoa(v.Port),
		"PGUSER=" + v.User,
		"PGPASSWORD=" + password,
		"PGDATABASE=" + v.Database,
		"DISABLE_DATABASE_ENVIRONMENT_CHECK=1", // Rails' ProtectedEnvironmentError
	}
	if m := query.Get("sslmode"); m != "" && m != "disable" {
		env = append(env, "PGSSLMODE="+m)
	}
	if ca := query.Get("sslrootcert"); ca != "" {
		env = append(env, "PGSSLROOTCERT="+ca)
	}
	for _, n := range extraNames {
		env = append(env, n+"="+v.DatabaseURL)
	}
	return env
}

// EnvNames returns the names of the variables Env sets (without extra
// names), for the unset line of `ditto env destroy`.
func EnvNames() []string {
	var names []string
	// a copy served over TLS: its variables are a superset of the others'
	tls := Copy{DatabaseURL: "postgres://h/db?sslmode=verify-full&sslrootcert=ca.pem"}
	for _, kv := range tls.Env() {
		name, _, _ := strings.Cut(kv, "=")
		names = append(names, name)
	}
	return names
}
