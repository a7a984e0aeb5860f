package testpg

import (
	"context"
	"fmt"
	"net/url"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/dittodb/ditto/postgres"
)

// Source is a running test server with a login role that has a password,
// reachable over TCP like a team's real database.
type Source struct {
	*Cluster
	Server   *postgres.Server // SocketDir and Port for Unix-socket clients
	Role     string           // LOGIN role with Password
	Password string
	URL      string // postgres://Role:Password@127.0.0.1:Port/postgres?sslmode=disable
	sample   bool
}

// Start initdb's and starts a server for the test.
func Start(t testing.TB) *Source {
	t.Helper()
	c := InitDB(t)
	s := &Source{Cluster: c, Role: "app", Password: "app-secret-pw"}
	s.Server = StartServer(t, c.Options(FreePort(t)))
	conn := Ready(t, s.Server, "postgres")
	// The test server hashes this itself; ditto's own passwords never do.
	sql := fmt.Sprintf("CREATE ROLE %s LOGIN SUPERUSER PASSWORD '%s'", s.Role, s.Password)
	if _, err := conn.Exec(context.Background(), sql); err != nil {
		t.Fatal(err)
	}
	u := url.URL{Scheme: "postgres", User: url.UserPassword(s.Role, s.Password),
		Host: fmt.Sprintf("127.0.0.1:%d", s.Server.Port), Path: "/postgres", RawQuery: "sslmode=disable"}
	s.URL = u.String()
	return s
}

// Conn returns a superuser connection to db over the Unix socket, closed at
// cleanup.
func (s *Source) Conn(t testing.TB, db string) *pgx.Conn {
	t.Helper()
	return Ready(t, s.Server, db)
}

// Count returns the number of rows of table.
func Count(t testing.TB, conn *pgx.Conn, table string) int64 {
	t.Helper()
	var n int64
	if err := conn.QueryRow(context.Background(), "SELECT count(*) FROM "+pgx.Identifier{table}.Sanitize()).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// Owner returns the owner of table.
func Owner(t testing.TB, conn *pgx.Conn, table string) string {
	t.Helper()
	var o string
	if err := conn.QueryRow(context.Background(), "SELECT tableowner FROM pg_tables WHERE tablename = $1", table).Scan(&o); err != nil {
		t.Fatal(err)
	}
	return o
}
