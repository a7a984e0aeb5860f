package postgres

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// pollEvery is the pause between readiness checks. A check reads
// postmaster.pid (a few microseconds), so polling tightly is cheap and saves
// the milliseconds a coarser interval would waste.
var pollEvery = time.Millisecond

// WaitReady waits until the server says it accepts connections, connects
// over the Unix socket as user to db and returns that connection. It fails
// at once, with the end of the server log, when the postmaster dies
// meanwhile.
func (s *Server) WaitReady(ctx context.Context, user, db string) (*pgx.Conn, error) {
	cfg, err := pgx.ParseConfig(socketDSN(s.SocketDir, s.Port, user, db))
	if err != nil {
		return nil, err
	}
	started := time.Now()
	var last error
	// While it starts, the postmaster forks a child for every connection
	// attempt only to answer "starting up": on a busy machine that slows
	// the start it waits for. Its status line in postmaster.pid says
	// "ready" without any of that; connect once it does.
	readPIDFile := true
	for {
		if !s.Proc.Alive() {
			return nil, s.exited()
		}
		if readPIDFile {
			ready, known := s.pidFileReady()
			readPIDFile = known
			if !ready && known {
				last = errors.New("postmaster.pid does not say ready yet")
				if err := pause(ctx); err != nil {
					return nil, s.notReady(started, err, last)
				}
				continue
			}
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
		if err := pause(ctx); err != nil {
			return nil, s.notReady(started, err, last)
		}
	}
}

// ErrPortInUse is matched (errors.Is) by the error of a server that exited
// because another program holds its port.
var ErrPortInUse = errors.New("port in use")

// exitedError is a server's exit while it started.
type exitedError struct {
	msg       string
	portInUse bool
}

func (e *exitedError) Error() string        { return e.msg }
func (e *exitedError) Is(target error) bool { return target == ErrPortInUse && e.portInUse }

func (s *Server) exited() error {
	log := endOfLog(s.LogFile)
	return &exitedError{
		msg:       fmt.Sprintf("postgres (pid %d, port %d) exited while starting; %s\nfix the cause above and start it again", s.Proc.PID, s.Port, log),
		portInUse: strings.Contains(log, "Address already in use"),
	}
}

func (s *Server) notReady(started time.Time, err, last error) error {
	return fmt.Errorf("postgres (pid %d, port %d) not ready after %s: %w (last attempt: %v); %s",
		s.Proc.PID, s.Port, time.Since(started).Round(time.Millisecond), err, last, endOfLog(s.LogFile))
}

func pause(ctx context.Context) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(pollEvery):
		return nil
	}
}

// pidFileReady reads the status line (the 8th) of the data directory's
// postmaster.pid. known is false when this process may not read the file
// (ditto not running as root or as the server's user): then only
// connecting tells.
func (s *Server) pidFileReady() (ready, known bool) {
	b, err := os.ReadFile(filepath.Join(s.DataDir, "postmaster.pid"))
	if errors.Is(err, fs.ErrPermission) {
		return false, false
	}
	if err != nil {
		return false, true // not written yet
	}
	lines := strings.Split(string(b), "\n")
	if len(lines) < 8 || lines[0] != strconv.Itoa(s.OwnPID) { // partly written, or a crashed server's
		return false, true
	}
	status := strings.TrimSpace(lines[7])
	return status == "ready" || status == "standby", true
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

// endOfLog quotes the end of a server's log for an error. It quotes rather
// than names the file: callers remove the log with what failed (a copy's
// rollback, a reseed's or mask check's temporary server).
func endOfLog(path string) string {
	return "end of its log:\n" + tailFile(path, 20)
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
