package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// pgTools are the PostgreSQL binaries and the OS user that runs servers.
type pgTools struct {
	dir      string
	version  string // e.g. 15.18
	uid, gid int
}

func findPG(dir, osUser string) (pgTools, error) {
	if dir == "" {
		dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
		sort.Slice(dirs, func(i, j int) bool { return majorOf(dirs[i]) > majorOf(dirs[j]) })
		if len(dirs) == 0 {
			return pgTools{}, errors.New("no PostgreSQL in /usr/lib/postgresql/*/bin: install postgresql-15 or pass --pg-bin DIR")
		}
		dir = dirs[0]
	}
	p := pgTools{dir: dir}
	for _, t := range []string{"postgres", "initdb", "pg_ctl", "pg_dump", "pg_restore", "pgbench", "psql"} {
		if _, err := os.Stat(p.path(t)); err != nil {
			return p, fmt.Errorf("%s missing in %s: install the full PostgreSQL server package (pgbench included) or pass --pg-bin", t, dir)
		}
	}
	out, err := exec.Command(p.path("postgres"), "--version").Output()
	if err != nil {
		return p, fmt.Errorf("postgres --version: %w", err)
	}
	f := strings.Fields(string(out))
	p.version = f[len(f)-1]
	if i := strings.Index(string(out), ") "); i > 0 {
		p.version = strings.Fields(string(out)[i+2:])[0]
	}
	u, err := user.Lookup(osUser)
	if err != nil {
		return p, fmt.Errorf("OS user %s, which runs postgres: %w", osUser, err)
	}
	p.uid, _ = strconv.Atoi(u.Uid)
	p.gid, _ = strconv.Atoi(u.Gid)
	return p, nil
}

func majorOf(binDir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return n
}

func (p pgTools) path(tool string) string { return filepath.Join(p.dir, tool) }

// asPostgres runs tool as the postgres OS user, in its own session so a
// Ctrl-C in the terminal reaches the benchmark (which cleans up) only.
func (p pgTools) asPostgres(tool string, args ...string) *exec.Cmd {
	cmd := exec.Command(p.path(tool), args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true,
		Credential: &syscall.Credential{Uid: uint32(p.uid), Gid: uint32(p.gid)}}
	cmd.Dir = "/"
	cmd.Env = []string{"PATH=/usr/bin:/bin", "LANG=C.UTF-8"}
	return cmd
}

// mkdirPG makes a folder owned by the postgres OS user.
func (p pgTools) mkdirPG(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	return setOwner(dir, p.uid, p.gid, 0o700)
}

// initdb makes a cluster the way ditto's reseed does (same flags), with
// superuser role.
func (p pgTools) initdb(ctx context.Context, dataDir, role string) error {
	if err := p.mkdirPG(dataDir); err != nil {
		return err
	}
	cmd := p.asPostgres("initdb", "-D", dataDir, "-U", role, "--auth-local=trust",
		"--auth-host=scram-sha-256", "-E", "UTF8", "--locale=C.UTF-8", "--no-instructions", "--no-sync")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("initdb -D %s: %w: %s", dataDir, err, out)
	}
	return ctx.Err()
}

// restoreSettings are the settings ditto's reseed restores with; the plain
// restore uses them too, so that only ditto's own steps differ.
var restoreSettings = []string{"fsync=off", "full_page_writes=off", "synchronous_commit=off",
	"maintenance_work_mem=256MB", "max_wal_size=4GB", "checkpoint_timeout=1h", "wal_level=minimal", "max_wal_senders=0"}

// server is one postgres started by the benchmark.
type server struct {
	cmd      *exec.Cmd
	sock     string
	port     int
	log      string
	exited   chan struct{}
	exitErr  error
	started  time.Time
	attempts int // connection attempts until ready
}

// start execs postgres directly (no pg_ctl) on dataDir, listening on the
// socket folder sock (created) and on 127.0.0.1:port, like a ditto copy.
func (p pgTools) start(dataDir, sock string, port int, settings []string, log string) (*server, error) {
	if err := p.mkdirPG(sock); err != nil {
		return nil, err
	}
	lf, err := os.OpenFile(log, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	defer lf.Close()
	args := []string{"-D", dataDir, "-p", strconv.Itoa(port), "-k", sock, "-c", "listen_addresses=127.0.0.1"}
	for _, s := range settings {
		args = append(args, "-c", s)
	}
	cmd := p.asPostgres("postgres", args...)
	cmd.Stdout, cmd.Stderr = lf, lf
	s := &server{cmd: cmd, sock: sock, port: port, log: log, exited: make(chan struct{})}
	s.started = time.Now()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start postgres on %s: %w", dataDir, err)
	}
	go func() { s.exitErr = cmd.Wait(); close(s.exited) }()
	return s, nil
}

func (s *server) dsn(role, db string) string {
	return fmt.Sprintf("host=%s port=%d user=%s dbname=%s sslmode=disable", s.sock, s.port, role, db)
}

// waitReady connects over the Unix socket every poll until the server
// accepts the connection, and returns it.
func (s *server) waitReady(ctx context.Context, role, db string, poll time.Duration) (*pgx.Conn, error) {
	cfg, err := pgx.ParseConfig(s.dsn(role, db))
	if err != nil {
		return nil, err
	}
	deadline := time.Now().Add(2 * time.Minute)
	for {
		s.attempts++
		conn, err := pgx.ConnectConfig(ctx, cfg)
		if err == nil {
			return conn, nil
		}
		var pe *pgconn.PgError
		if errors.As(err, &pe) && pe.Code != "57P03" {
			return nil, fmt.Errorf("postgres on port %d refused %s: %w", s.port, role, err)
		}
		select {
		case <-s.exited:
			b, _ := os.ReadFile(s.log)
			return nil, fmt.Errorf("postgres on port %d exited while starting (%v): %s", s.port, s.exitErr, tail(string(b), 10))
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(poll):
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("postgres on port %d not ready after 2 minutes: %w", s.port, err)
		}
	}
}

// waitPidFile reads dataDir/postmaster.pid every poll until its status
// line says "ready" (what pg_ctl -w does), without connecting: a connection
// attempt while postgres starts makes it fork a backend to refuse it.
func (s *server) waitPidFile(ctx context.Context, dataDir string, poll time.Duration) error {
	for {
		if b, err := os.ReadFile(filepath.Join(dataDir, "postmaster.pid")); err == nil {
			if lines := strings.Split(string(b), "\n"); len(lines) > 7 && strings.TrimSpace(lines[7]) == "ready" {
				return nil
			}
		}
		select {
		case <-s.exited:
			return fmt.Errorf("postgres on port %d exited while starting (%v)", s.port, s.exitErr)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(poll):
		}
	}
}

// stop asks for a fast shutdown and waits; after a minute it kills.
func (s *server) stop() error {
	if s == nil {
		return nil
	}
	_ = s.cmd.Process.Signal(syscall.SIGINT)
	select {
	case <-s.exited:
		return nil
	case <-time.After(time.Minute):
		_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
		<-s.exited
		return fmt.Errorf("postgres (pid %d) ignored a fast shutdown for a minute; killed it", s.cmd.Process.Pid)
	}
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

// postmasterPID reads the first line of dataDir/postmaster.pid.
func postmasterPID(dataDir string) (int, error) {
	b, err := os.ReadFile(filepath.Join(dataDir, "postmaster.pid"))
	if err != nil {
		return 0, err
	}
	line, _, _ := strings.Cut(string(b), "\n")
	return strconv.Atoi(strings.TrimSpace(line))
}
