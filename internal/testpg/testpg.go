// Package testpg gives integration tests real, throw-away PostgreSQL
// servers: initdb in a temporary directory, started as the OS user postgres
// on a free port of 127.0.0.1, stopped and removed by t.Cleanup even when
// the test fails. Tests using it are skipped with -short and need root.
package testpg

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/dittodb/ditto/postgres"
)

// Superuser is the bootstrap role of every test cluster, trusted on its
// Unix socket.
const Superuser = "postgres"

// RequireRoot skips under -short and fails unless the test runs as root.
func RequireRoot(t testing.TB) {
	t.Helper()
	if testing.Short() {
		t.Skip("integration test: needs a real PostgreSQL server (skipped with -short)")
	}
	if os.Geteuid() != 0 {
		t.Fatal("integration tests need root (they start postgres as the OS user postgres); run them as root, or pass -short to skip them")
	}
}

// Bin returns the newest PostgreSQL installation on this machine.
func Bin(t testing.TB) postgres.Bin {
	t.Helper()
	RequireRoot(t)
	bins, err := postgres.FindBins("")
	if err != nil {
		t.Fatal(err)
	}
	return bins[0]
}

// User returns the OS account the test servers run as.
func User(t testing.TB) postgres.OSUser {
	t.Helper()
	u, err := postgres.LookupOSUser("postgres")
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// Dir returns a new empty directory that the postgres user owns (mode
// 0700), removed when the test ends. t.TempDir will not do: its parent is
// closed to everyone but root.
func Dir(t testing.TB) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "ditto-testpg-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	u := User(t)
	if err := os.Chown(dir, u.UID, u.GID); err != nil {
		t.Fatal(err)
	}
	return dir
}

// FreePort returns a TCP port of 127.0.0.1 that nothing listens on now.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// Cluster is an initdb'ed data directory, not started, inside Dir.
type Cluster struct {
	Bin     postgres.Bin
	User    postgres.OSUser
	Dir     string // owned by the postgres user; removed at cleanup
	DataDir string
}

// InitDB makes a new cluster with Superuser as its bootstrap role.
func InitDB(t testing.TB) *Cluster {
	t.Helper()
	c := &Cluster{Bin: Bin(t), User: User(t), Dir: Dir(t)}
	c.DataDir = filepath.Join(c.Dir, "data")
	if err := postgres.InitDB(context.Background(), c.Bin, c.User, c.DataDir, Superuser); err != nil {
		t.Fatal(err)
	}
	return c
}

// Options returns ServerOptions for c on port, listening on 127.0.0.1,
// with socket and log beside the data directory.
func (c *Cluster) Options(port int) postgres.ServerOptions {
	return postgres.ServerOptions{
		Bin: c.Bin, User: c.User, DataDir: c.DataDir, Port: port,
		SocketDir: filepath.Join(c.Dir, "sock"), Listen: "127.0.0.1",
		LogFile: filepath.Join(c.Dir, "postgres.log"),
	}
}

// StartServer starts c and arranges for it to be stopped at cleanup (fast
// shutdown, then SIGKILL if that hangs).
func StartServer(t testing.TB, o postgres.ServerOptions) *postgres.Server {
	t.Helper()
	s, err := postgres.Start(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { StopServer(t, s) })
	return s
}

// StopServer stops s if it still runs.
func StopServer(t testing.TB, s *postgres.Server) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := postgres.Stop(ctx, s.Proc); err != nil {
		t.Errorf("stopping test server: %v", err)
		_ = postgres.Kill(context.Background(), s.Proc)
	}
}

// Ready waits for s and returns a superuser connection to db, closed at
// cleanup.
func Ready(t testing.TB, s *postgres.Server, db string) *pgx.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := s.WaitReady(ctx, Superuser, db)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}
