package api

import (
	"net/url"
	"strconv"
)

// Env returns the variables a command gets to reach the copy: its URL
// (also under each extra name) and libpq's PG* variables. The view must
// carry its URL (ViewOf with the secret).
func (v Copy) Env(extraNames ...string) []string {
	password := ""
	if u, err := url.Parse(v.DatabaseURL); err == nil {
		password, _ = u.User.Password()
	}
	env := []string{
		"DATABASE_URL=" + v.DatabaseURL,
		"DITTO_COPY_ID=" + v.ID,
		"PGHOST=" + v.Host,
		"PGPORT=" + strconv.Itoa(v.Port),
		"PGUSER=" + v.User,
		"PGPASSWORD=" + password,
		"PGDATABASE=" + v.Database,
	}
	for _, n := range extraNames {
		env = append(env, n+"="+v.DatabaseURL)
	}
	return env
}
