package postgres_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/dittodb/ditto/internal/testpg"
	"github.com/dittodb/ditto/mask"
	"github.com/dittodb/ditto/postgres"
)

// A cluster with ditto's pg_hba.conf lets its role in on the Unix socket
// without a password from the OS user it names only, wants a password from
// every other local login and over TCP; pg_control says whether its server
// stopped cleanly.
func TestClusterStateAndHBA(t *testing.T) {
	c := testpg.InitDB(t)
	ctx := context.Background()
	if err := postgres.WriteHBA(c.DataDir, c.User, testpg.Superuser, postgres.CurrentOSUser().Name); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"pg_hba.conf", "pg_ident.conf"} {
		if fi, err := os.Stat(filepath.Join(c.DataDir, name)); err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: %v, %v; want mode 0600", name, fi.Mode(), err)
		}
	}
	if err := postgres.WriteHBA(c.DataDir, c.User, `a"b`); err == nil {
		t.Errorf("WriteHBA took a role with a double quote")
	}
	state := func() string {
		t.Helper()
		s, err := postgres.ClusterState(ctx, c.Bin, c.DataDir)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	if s := state(); s != postgres.StateShutDown {
		t.Errorf("state after initdb = %q, want %q", s, postgres.StateShutDown)
	}
	o := c.Options(testpg.FreePort(t))
	srv := testpg.StartServer(t, o)
	conn := testpg.Ready(t, srv, "postgres") // over the socket, without a password
	if _, err := conn.Exec(ctx, "CREATE ROLE other LOGIN PASSWORD 'pw'"); err != nil {
		t.Fatal(err)
	}
	sock := func(user, password string) error {
		conn, err := pgx.Connect(ctx, fmt.Sprintf("host=%s port=%d user=%s password=%s dbname=postgres sslmode=disable", o.SocketDir, o.Port, user, password))
		if err == nil {
			conn.Close(ctx)
		}
		return err
	}
	if err := sock("other", ""); err == nil {
		t.Errorf("another role logged in on the socket without a password")
	}
	if err := sock("other", "pw"); err != nil {
		t.Errorf("another role with its password on the socket: %v", err)
	}
	if postgres.CurrentOSUser().UID != c.User.UID {
		// the servers' own OS user is what a superuser's programs run as
		psql := exec.Command(c.Bin.Path("psql"), "-X", "-w", "-h", o.SocketDir, "-p", fmt.Sprint(o.Port), "-U", testpg.Superuser, "-d", "postgres", "-c", "select 1")
		psql.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(c.User.UID), Gid: uint32(c.User.GID)}}
		if out, err := psql.CombinedOutput(); err == nil || !strings.Contains(string(out), "Peer authentication failed") {
			t.Errorf("psql as OS user %s on the socket as %s: %v %s; want refused by peer authentication", c.User.Name, testpg.Superuser, err, out)
		}
	}
	_, err := pgx.Connect(ctx, fmt.Sprintf("postgres://%s@127.0.0.1:%d/postgres?sslmode=disable", testpg.Superuser, o.Port))
	if err == nil || !strings.Contains(err.Error(), "password") {
		t.Errorf("TCP login without a password: %v; want it refused for want of one", err)
	}
	if s := state(); s != "in production" {
		t.Errorf("state while running = %q, want in production", s)
	}
	testpg.StopServer(t, srv)
	if s := state(); s != postgres.StateShutDown {
		t.Errorf("state after a fast shutdown = %q, want %q", s, postgres.StateShutDown)
	}
}

func TestReadSchema(t *testing.T) {
	src := testpg.Start(t)
	conn := src.Conn(t, "postgres")
	ctx := context.Background()
	_, err := conn.Exec(ctx, `CREATE SCHEMA app;
		CREATE TABLE app.users (id int PRIMARY KEY, email varchar(80) NOT NULL UNIQUE, note text);
		CREATE TABLE public.orders (id int, user_id int REFERENCES app.users (id));
		ALTER TABLE app.users DROP COLUMN note`)
	if err != nil {
		t.Fatal(err)
	}
	s, err := postgres.ReadSchema(ctx, conn)
	if err != nil {
		t.Fatal(err)
	}
	want := []mask.Table{
		{Schema: "app", Name: "users", Columns: []mask.Column{
			{Name: "id", Type: "integer", NotNull: true, Unique: true},
			{Name: "email", Type: "character varying(80)", NotNull: true, Unique: true},
		}},
		{Schema: "public", Name: "orders", Columns: []mask.Column{
			{Name: "id", Type: "integer"},
			{Name: "user_id", Type: "integer", References: "app.users.id"},
		}},
	}
	if fmt.Sprint(s.Tables) != fmt.Sprint(want) {
		t.Errorf("ReadSchema =\n%+v\nwant\n%+v", s.Tables, want)
	}
}

func TestWaitSessionsGone(t *testing.T) {
	c := testpg.InitDB(t)
	srv := testpg.StartServer(t, c.Options(testpg.FreePort(t)))
	conn := testpg.Ready(t, srv, "postgres")
	ctx := context.Background()
	other, err := srv.WaitReady(ctx, testpg.Superuser, "postgres")
	if err != nil {
		t.Fatal(err)
	}
	time.AfterFunc(100*time.Millisecond, func() { other.Close(context.Background()) })
	t0 := time.Now()
	if err := postgres.WaitSessionsGone(ctx, conn); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(t0); d < 100*time.Millisecond {
		t.Errorf("WaitSessionsGone returned after %v, before the other session ended", d)
	}
	var n int
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend'").Scan(&n); err != nil || n != 1 {
		t.Errorf("client sessions after WaitSessionsGone: %d, %v; want only the caller's", n, err)
	}
}
