package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/dittodb/ditto/internal/testpg"
	"github.com/dittodb/ditto/postgres"
)

// The verifier ditto computes must be one the real server accepts over TCP
// (scram-sha-256 in pg_hba.conf), and a wrong password must still fail.
func TestSetPasswordScram(t *testing.T) {
	src := testpg.Start(t)
	ctx := context.Background()
	conn := src.Conn(t, "postgres")
	if _, err := conn.Exec(ctx, `CREATE ROLE "copy user" LOGIN`); err != nil {
		t.Fatal(err)
	}
	pw, err := postgres.RandomPassword()
	if err != nil {
		t.Fatal(err)
	}
	if err := postgres.SetPassword(ctx, conn, "copy user", pw); err != nil {
		t.Fatal(err)
	}
	var stored string
	if err := conn.QueryRow(ctx, `SELECT rolpassword FROM pg_authid WHERE rolname = 'copy user'`).Scan(&stored); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(stored, "SCRAM-SHA-256$1:") || strings.Contains(stored, pw) {
		t.Errorf("stored password %q is not our verifier", stored)
	}
	dsn := func(pw string) string {
		return fmt.Sprintf("host=127.0.0.1 port=%d user='copy user' password=%s dbname=postgres sslmode=disable", src.Server.Port, pw)
	}
	good, err := pgx.Connect(ctx, dsn(pw))
	if err != nil {
		t.Fatalf("the real server rejected the verifier's password: %v", err)
	}
	good.Close(ctx)
	_, err = pgx.Connect(ctx, dsn(pw+"x"))
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "28P01" {
		t.Errorf("wrong password: err = %v; want 28P01 invalid_password", err)
	}
}

func TestSourceVersion(t *testing.T) {
	src := testpg.Start(t)
	ctx := context.Background()
	major, v, err := postgres.SourceVersion(ctx, src.URL)
	if err != nil || major != src.Bin.Major || v != src.Bin.Version {
		t.Fatalf("SourceVersion = %d, %q, %v; want %d, %q", major, v, err, src.Bin.Major, src.Bin.Version)
	}
	wrong := strings.Replace(src.URL, src.Password, "not-the-password", 1)
	_, _, err = postgres.SourceVersion(ctx, wrong)
	t.Log(err)
	if err == nil || !strings.Contains(err.Error(), "authentication failed for user app@127.0.0.1:") ||
		!strings.Contains(err.Error(), "--source-url") || strings.Contains(err.Error(), "not-the-password") {
		t.Errorf("wrong password: %v", err)
	}
	port := testpg.FreePort(t)
	closed := fmt.Sprintf("postgres://app:%s@127.0.0.1:%d/postgres?sslmode=disable", src.Password, port)
	start := time.Now()
	_, _, err = postgres.SourceVersion(ctx, closed)
	if took := time.Since(start); took > 11*time.Second {
		t.Errorf("unreachable source took %v", took)
	}
	t.Log(err)
	if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("could not reach 127.0.0.1:%d within 10s", port)) || strings.Contains(err.Error(), src.Password) {
		t.Errorf("unreachable: %v", err)
	}
}

// A host that takes the TCP connection but never answers must not hang.
func TestSourceVersionSilentHost(t *testing.T) {
	testpg.RequireRoot(t)
	l, err := net.Listen("tcp", "127.0.0.1:0") // never accepted: the kernel completes the handshake only
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	start := time.Now()
	_, _, err = postgres.SourceVersion(context.Background(), "postgres://app:pw@"+l.Addr().String()+"/db?sslmode=disable")
	if took := time.Since(start); took > 12*time.Second {
		t.Errorf("silent host took %v", took)
	}
	if err == nil || !strings.Contains(err.Error(), "could not reach "+l.Addr().String()+" within 10s") {
		t.Errorf("silent host: %v", err)
	}
}

func TestDumpSource(t *testing.T) {
	src := testpg.Start(t)
	src.LoadSample(t)
	url := strings.Replace(src.URL, "/postgres?", "/"+testpg.SampleDB+"?", 1)
	out := filepath.Join(t.TempDir(), "source.dump")
	var logs strings.Builder
	log := hclog.New(&hclog.LoggerOptions{Output: &logs, Level: hclog.Debug})
	if err := postgres.DumpSource(context.Background(), src.Bin, url, out, log); err != nil {
		t.Fatal(err)
	}
	info, err := postgres.InspectDump(out)
	if err != nil || info.Format != postgres.FormatCustom || info.Database != testpg.SampleDB {
		t.Errorf("InspectDump of DumpSource output = %+v, %v", info, err)
	}
	if !strings.Contains(logs.String(), "dumping contents of table") || strings.Contains(logs.String(), src.Password) {
		t.Errorf("pg_dump log lines missing or leaking the password:\n%s", logs.String())
	}
	wrong := strings.Replace(url, src.Password, "nope-nope", 1)
	err = postgres.DumpSource(context.Background(), src.Bin, wrong, out, log)
	if err == nil || !strings.Contains(err.Error(), "check the user and password in --source-url") || strings.Contains(err.Error(), "nope-nope") {
		t.Errorf("DumpSource with a wrong password: %v", err)
	}
}
