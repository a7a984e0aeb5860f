package testpg

import (
	"context"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"syscall"
	"testing"

	"github.com/dittodb/ditto/postgres"
)

// SampleDB is the database MakeDump dumps; SampleTables its tables.
const SampleDB = "shop"

var SampleTables = []string{"customers", "orders"}

// SampleOwner owns the sample tables; SampleReader (a name that needs
// quoting) may read them. Neither exists in a fresh cluster, so a restore
// must create them.
const (
	SampleOwner  = "shop_owner"
	SampleReader = "Shop Reader"
)

var sampleSQL = []string{
	`CREATE ROLE shop_owner NOLOGIN`,
	`CREATE ROLE "Shop Reader" NOLOGIN`,
	`CREATE TABLE customers (id serial PRIMARY KEY, name text NOT NULL, email text UNIQUE)`,
	`CREATE TABLE orders (id bigserial PRIMARY KEY, customer_id int REFERENCES customers,
		total numeric(10,2), note text)`,
	`INSERT INTO customers (name, email)
		SELECT 'Customer ' || i, 'c' || i || '@example.com' FROM generate_series(1, 100) i`,
	`INSERT INTO orders (customer_id, total, note)
		SELECT 1 + i % 100, i * 1.5, CASE WHEN i % 7 = 0 THEN E'tab\there\nnewline' END FROM generate_series(1, 250) i`,
	`CREATE VIEW big_orders AS SELECT * FROM orders WHERE total > 100`,
	`ALTER TABLE customers OWNER TO shop_owner`,
	`ALTER TABLE orders OWNER TO shop_owner`,
	`ALTER VIEW big_orders OWNER TO shop_owner`,
	`GRANT SELECT ON customers, orders, big_orders TO "Shop Reader"`,
}

// LoadSample creates SampleDB in s with the sample schema and data, once.
func (s *Source) LoadSample(t testing.TB) {
	t.Helper()
	if s.sample {
		return
	}
	ctx := context.Background()
	if _, err := s.Conn(t, "postgres").Exec(ctx, "CREATE DATABASE "+SampleDB); err != nil {
		t.Fatal(err)
	}
	conn := s.Conn(t, SampleDB)
	for _, q := range sampleSQL {
		if _, err := conn.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	s.sample = true
}

// MakeDump dumps the sample database of s in format and returns the path
// (a directory for FormatDirectory). The plain dump creates its database
// itself (pg_dump --create); the others do not.
func MakeDump(t testing.TB, s *Source, format postgres.Format) string {
	t.Helper()
	s.LoadSample(t)
	var args []string
	switch format {
	case postgres.FormatCustom:
		args = append(args, "-Fc")
	case postgres.FormatDirectory:
		args = append(args, "-Fd")
	case postgres.FormatTar:
		args = append(args, "-Ft")
	case postgres.FormatPlain:
		args = append(args, "-Fp", "--create")
	case postgres.FormatPlainGzip:
		args = append(args, "-Fp", "-Z", "6")
	default:
		t.Fatalf("MakeDump: unknown format %q", format)
	}
	return s.Dump(t, SampleDB, "shop."+string(format), args...)
}

// Dump runs pg_dump of db in s with args and returns the path of its
// output, called name. A file is root's, in a folder only root may enter,
// as a dump ditto makes itself; a directory-format dump (-Fd) is made by
// the postgres OS user in a folder of its own, as pg_restore, which runs as
// that user, reads it by its path.
func (s *Source) Dump(t testing.TB, db, name string, args ...string) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), name)
	cmd := exec.Command(s.Bin.Path("pg_dump"))
	if slices.Contains(args, "-Fd") {
		out = filepath.Join(Dir(t), name)
		u := User(t)
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(u.UID), Gid: uint32(u.GID)}}
	}
	cmd.Args = append(append(cmd.Args, "-h", s.Server.SocketDir, "-p", strconv.Itoa(s.Server.Port), "-U", Superuser, "-f", out), args...)
	cmd.Args = append(cmd.Args, db)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("pg_dump %v: %v\n%s", cmd.Args[1:], err, b)
	}
	return out
}
