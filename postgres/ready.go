package postgres

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// pollEvery is the pause between readiness attempts. A failed attempt costs
// a refused connect (or one "starting up" reply), so polling tightly is cheap
// and saves the tens of milliseconds a coarser interval would waste.
var pollEvery = 2 * time.Millisecond

// WaitReady connects over the Unix socket as user to db until the server
// answers, and returns that connection. It fails at once, with the end of
// the server log, when the postmaster dies meanwhile.
func (s *Server) WaitReady(ctx context.Context, user, db string) (*pgx.Conn, error) {
	cfg, err := pgx.ParseConfig(socketDSN(s.SocketDir, s.Port, user, db))
	if err != nil {
		return nil, err
	}
	started := time.Now()
	var last error
	for {
		if !s.Proc.Alive() {
			return nil, fmt.Errorf("postgres (pid %d, port %d) exited while starting; end of %s:\n%s\nfix the cause above and start it again",
				s.Proc.PID, s.Port, s.LogFile, tailFile(s.LogFile, 20))
		}
		actx, cancel := context.WithTimeout(ctx, 5*time.Second)
		conn, err := pgx.ConnectConfig(actx, cfg)
		cancel()
		if err == nil {
			return conn, nil
		}
		if answered(err) {
			return nil, fmt.Errorf("postgres (pid %d, port %d) is up but refused the connection as %s to %s: %w", s.Proc.PID, s.Port, user, db, err)
		}
		last = err
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("postgres (pid %d, port %d) not ready after %s: %w (last attempt: %v); see %s",
				s.Proc.PID, s.Port, time.Since(started).Round(time.Millisecond), ctx.Err(), last, s.LogFile)
		case <-time.After(pollEvery):
		}
	}
}

// answered reports an error from a server that is up and said no (no such
// database or role, ...), which retrying will not change. "The database
// system is starting up" (57P03) and "too many clients" (53300) are not.
func answered(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code != "57P03" && pgErr.Code != "53300"
}

// socketDSN is a keyword/value connection string for a Unix socket, with
// every value quoted.
func socketDSN(dir string, port int, user, db string) string {
	return fmt.Sprintf("host=%s port=%d user=%s dbname=%s sslmode=disable", dsnQuote(dir), port, dsnQuote(user), dsnQuote(db))
}

func dsnQuote(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}

// tailFile returns the last n lines of path, or a note why it cannot.
func tailFile(path string, n int) string {
	if path == "" {
		return "(no log file)"
	}
	f, err := os.Open(path)
	if err != nil {
		return fmt.Sprintf("(cannot read log: %v)", err)
	}
	defer f.Close()
	const max = 64 << 10
	if fi, err := f.Stat(); err == nil && fi.Size() > max {
		_, _ = f.Seek(-max, io.SeekEnd)
	}
	b, _ := io.ReadAll(f)
	return lastLines(b, n)
}

func lastLines(b []byte, n int) string {
	lines := bytes.Split(bytes.TrimRight(b, "\n"), []byte("\n"))
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return string(bytes.Join(lines, []byte("\n")))
}
