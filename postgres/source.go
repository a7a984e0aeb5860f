package postgres

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// sourceTimeout bounds connecting to the source database.
const sourceTimeout = 10 * time.Second

// SourceVersion connects to the source database and returns its server
// major and version (like 15, "15.18").
func SourceVersion(ctx context.Context, sourceURL string) (int, string, error) {
	cfg, err := pgx.ParseConfig(sourceURL)
	if err != nil {
		_, pw := splitPassword(sourceURL)
		return 0, "", fmt.Errorf("--source-url %s: %s", RedactURL(sourceURL), scrub(err.Error(), pw))
	}
	cfg.ConnectTimeout = sourceTimeout
	ctx, cancel := context.WithTimeout(ctx, sourceTimeout)
	defer cancel()
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return 0, "", sourceError(cfg, err)
	}
	defer conn.Close(context.Background())
	v, major := shortVersion(conn.PgConn().ParameterStatus("server_version"))
	if major == 0 {
		return 0, "", fmt.Errorf("source %s reported no usable server_version", RedactURL(sourceURL))
	}
	return major, v, nil
}

// sourceError explains a failed connection without the password.
func sourceError(cfg *pgx.ConnConfig, err error) error {
	addr := net.JoinHostPort(cfg.Host, strconv.Itoa(int(cfg.Port)))
	msg := scrub(err.Error(), cfg.Password)
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && (pgErr.Code == "28P01" || pgErr.Code == "28000") {
		return fmt.Errorf("authentication failed for user %s@%s: %s; check the user and password in --source-url", cfg.User, addr, pgErr.Message)
	}
	if errors.As(err, &pgErr) {
		return fmt.Errorf("source %s@%s refused the connection: %s", cfg.User, addr, scrub(pgErr.Message, cfg.Password))
	}
	return fmt.Errorf("could not reach %s within %s: %s; check the host and port in --source-url and that the server accepts connections from this machine", addr, sourceTimeout, msg)
}

var kvPassword = regexp.MustCompile(`password\s*=\s*('(?:[^'\\]|\\.)*'|\S+)`)

// RedactURL hides the password of a postgres:// URL or keyword/value
// connection string, for messages and logs.
func RedactURL(s string) string {
	if u, err := url.Parse(s); err == nil && u.Scheme != "" {
		q := u.Query()
		if q.Has("password") {
			q.Set("password", "xxxxx")
			u.RawQuery = q.Encode()
		}
		return u.Redacted()
	}
	return kvPassword.ReplaceAllString(s, "password=xxxxx")
}

// splitPassword returns the connection string without its password, and the
// password, so tools get it through PGPASSWORD instead of their argv.
func splitPassword(s string) (string, string) {
	if u, err := url.Parse(s); err == nil && u.Scheme != "" {
		var pw string
		if u.User != nil {
			pw, _ = u.User.Password()
			u.User = url.User(u.User.Username())
		}
		q := u.Query()
		if q.Has("password") {
			pw = q.Get("password")
			q.Del("password")
			u.RawQuery = q.Encode()
		}
		return u.String(), pw
	}
	m := kvPassword.FindStringSubmatch(s)
	if m == nil {
		return s, ""
	}
	pw := m[1]
	if strings.HasPrefix(pw, "'") {
		pw = strings.NewReplacer(`\'`, `'`, `\\`, `\`).Replace(pw[1 : len(pw)-1])
	}
	return strings.TrimSpace(kvPassword.ReplaceAllString(s, "")), pw
}

// HasPassword reports whether the connection string carries a password
// (in its user info, a password= parameter or a password= keyword).
func HasPassword(s string) bool {
	_, pw := splitPassword(s)
	return pw != ""
}

// Scrub removes the password of the connection string conn from msg.
func Scrub(msg, conn string) string {
	_, pw := splitPassword(conn)
	return scrub(msg, pw)
}

// scrub removes any occurrence of the password from a message.
func scrub(msg, password string) string {
	if len(password) >= 3 {
		msg = strings.ReplaceAll(msg, password, "xxxxx")
	}
	return msg
}
