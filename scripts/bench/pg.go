package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/dittodb/ditto/postgres"
)

// findPG returns the newest PostgreSQL binaries (or those of --pg-bin) and
// the OS user that runs servers.
func findPG(dir, osUser string) (postgres.Bin, postgres.OSUser, error) {
	bins, err := postgres.FindBins(dir)
	if err != nil {
		return postgres.Bin{}, postgres.OSUser{}, err
	}
	bin := bins[0]
	for _, t := range []string{"pgbench", "pg_dump", "pg_restore"} {
		if _, err := os.Stat(bin.Path(t)); err != nil {
			return bin, postgres.OSUser{}, fmt.Errorf("%s missing in %s: install the full PostgreSQL server package (pgbench included) or pass --pg-bin", t, bin.Dir)
		}
	}
	u, err := postgres.LookupOSUser(osUser)
	return bin, u, err
}

// startServer starts postgres on dataDir, listening on the socket folder
// sock (created) and on 127.0.0.1:port like a copy, with settings, and
// tracks it for clean-up.
func (b *bench) startServer(ctx context.Context, dataDir, sock string, port int, settings []string, log string) (*postgres.Server, error) {
	srv, err := postgres.Start(ctx, postgres.ServerOptions{
		Bin: b.bin, User: b.pgUser, DataDir: dataDir, Port: port, SocketDir: sock,
		Listen: "127.0.0.1", Settings: settings, LogFile: log,
	})
	if err != nil {
		return nil, err
	}
	b.mu.Lock()
	b.servers[srv] = true
	b.mu.Unlock()
	return srv, nil
}

// stopServer stops a server of startServer: a fast shutdown, SIGKILL after
// a minute.
func (b *bench) stopServer(srv *postgres.Server) {
	if err := stop(srv); err != nil {
		logf("%v", err)
	}
	b.mu.Lock()
	delete(b.servers, srv)
	b.mu.Unlock()
}

func stop(srv *postgres.Server) error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	err := postgres.Stop(ctx, srv.Proc)
	if err != nil {
		kctx, kcancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer kcancel()
		err = errors.Join(err, postgres.Kill(kctx, srv.Proc))
	}
	return err
}

// ready waits up to two minutes until srv accepts a connection as role to
// db, and returns it.
func ready(ctx context.Context, srv *postgres.Server, role, db string) (*pgx.Conn, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	return srv.WaitReady(ctx, role, db)
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// freePort returns a TCP port nothing listens on, above ditto's default
// range so that it never takes a port a copy is about to get.
func freePort(from int) (int, error) {
	for p := from; p < 65000; p++ {
		l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p)))
		if err != nil {
			continue
		}
		l.Close()
		return p, nil
	}
	return 0, errors.New("no free TCP port")
}

// queryOne runs SELECT 1 on conn: the first query.
func queryOne(ctx context.Context, conn *pgx.Conn) error {
	var one int
	return conn.QueryRow(ctx, "SELECT 1").Scan(&one)
}

// firstQuery connects to url and runs SELECT 1, as a test would.
func firstQuery(ctx context.Context, url string) error {
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	return queryOne(ctx, conn)
}

// memory of a process tree, from /proc/PID/smaps_rollup (kB in the file).
type memory struct {
	Processes int   `json:"processes"`
	PSS       int64 `json:"pss_bytes"`
	RSS       int64 `json:"rss_bytes"`
	Private   int64 `json:"private_bytes"`
}

// treeMemory adds up the memory of pid and its children.
func treeMemory(pid int) (memory, error) {
	pids := append([]int{pid}, children(pid)...)
	var m memory
	for _, p := range pids {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/smaps_rollup", p))
		if err != nil {
			continue // exited meanwhile
		}
		m.Processes++
		for _, line := range strings.Split(string(b), "\n") {
			f := strings.Fields(line)
			if len(f) < 2 {
				continue
			}
			kb, err := strconv.ParseInt(f[1], 10, 64)
			if err != nil {
				continue
			}
			switch f[0] {
			case "Pss:":
				m.PSS += kb << 10
			case "Rss:":
				m.RSS += kb << 10
			case "Private_Clean:", "Private_Dirty:":
				m.Private += kb << 10
			}
		}
	}
	if m.Processes == 0 {
		return m, fmt.Errorf("process %d is gone", pid)
	}
	return m, nil
}

// children lists the direct children of pid (a postmaster's are all its
// processes).
func children(pid int) []int {
	var out []int
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		n, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		s := string(b)
		i := strings.LastIndexByte(s, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(s[i+1:])
		if len(f) > 1 && f[1] == strconv.Itoa(pid) {
			out = append(out, n)
		}
	}
	return out
}
