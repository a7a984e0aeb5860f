package postgres

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"time"

	"github.com/dittodb/ditto/internal/proc"
	"github.com/dittodb/ditto/sandbox"
)

// ServerOptions says how to start one postgres process. Everything that
// differs between copies of one golden goes on the command line, so the data
// directory stays as the golden left it.
type ServerOptions struct {
	Bin       Bin
	User      OSUser
	DataDir   string
	Port      int
	SocketDir string   // created (owned by User, 0700) if missing; -k
	Listen    string   // listen_addresses; "" means no TCP at all
	Settings  []string // extra "key=value", each passed as -c key=value
	LogFile   string   // server stdout+stderr appended here (owned by User, 0600); "" discards
	// Sandbox, when set, confines the server (see package sandbox); the
	// program must call sandbox.Main. Errors wrapping sandbox.ErrUnavailable
	// mean this machine cannot.
	Sandbox *sandbox.Spec
	// TLS, when set, makes the server require TLS from every host but this
	// machine's loopback; its files go into SocketDir.
	TLS *ServerTLS
}

// ServerTLS is a server's certificate and key, PEM.
type ServerTLS struct {
	Cert, Key []byte
	// Role logs in on the Unix socket by peer, as the golden's pg_hba.conf
	// says (WriteHBA).
	Role string
}

// Server is a started postmaster.
type Server struct {
	Proc proc.Ref
	// OwnPID is the PID the postmaster knows itself by, as it writes it into
	// postmaster.pid: in a sandbox, that of its PID namespace.
	OwnPID    int
	Port      int
	SocketDir string
	DataDir   string
	LogFile   string
	// Sandbox is how confined it runs (sandbox.None without a Spec).
	Sandbox sandbox.Level
}

// Start execs postgres directly (no pg_ctl, no shell) in its own session, so
// it outlives ditto and a Ctrl-C in ditto's terminal does not reach it. It
// returns once the process exists; use WaitReady to know it serves.
func Start(ctx context.Context, o ServerOptions) (*Server, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if o.Port <= 0 || o.Port > 65535 {
		return nil, fmt.Errorf("start postgres: invalid port %d", o.Port)
	}
	attr, err := procAttr(o.User, true)
	if err != nil {
		return nil, err
	}
	if err := mkdirOwned(o.SocketDir, o.User, 0o700); err != nil {
		return nil, fmt.Errorf("start postgres: socket directory: %w", err)
	}
	logName := o.LogFile
	if logName == "" {
		logName = os.DevNull
	}
	logf, err := os.OpenFile(logName, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("start postgres: log file: %w", err)
	}
	defer logf.Close()
	if o.LogFile != "" {
		if err := chownMode(o.LogFile, o.User, 0o600); err != nil {
			return nil, fmt.Errorf("start postgres: log file: %w", err)
		}
	}
	args := []string{"-D", o.DataDir, "-p", strconv.Itoa(o.Port), "-k", o.SocketDir,
		"-c", "listen_addresses=" + o.Listen}
	for _, s := range o.Settings {
		args = append(args, "-c", s)
	}
	if o.TLS != nil {
		// after the caller's settings: these win
		tls, err := writeTLS(o.SocketDir, o.User, *o.TLS)
		if err != nil {
			return nil, fmt.Errorf("start postgres: %w", err)
		}
		for _, s := range tls {
			args = append(args, "-c", s)
		}
	}
	// Not CommandContext: ctx ending must not kill a server meant to outlive us.
	cmd := exec.Command(o.Bin.Path("postgres"), args...)
	cmd.SysProcAttr = attr
	cmd.Dir = "/"
	cmd.Env = childEnv()
	cmd.Stdout, cmd.Stderr = logf, logf
	pid, err := startProcess(cmd, o.Sandbox)
	if errors.Is(err, sandbox.ErrExited) {
		return nil, fmt.Errorf("postgres exited at once in its sandbox; %s\nfix the cause above and start it again", endOfLog(o.LogFile))
	}
	if err != nil {
		return nil, fmt.Errorf("start postgres: %w", err)
	}
	ref, err := proc.Lookup(pid)
	var own int
	if err == nil {
		own, err = proc.InnerPID(pid)
	}
	if err != nil {
		return nil, fmt.Errorf("postgres (pid %d) exited at once; %s\nfix the cause above and start it again", pid, endOfLog(o.LogFile))
	}
	level := sandbox.None
	if o.Sandbox != nil {
		level = sandbox.Reached()
	}
	return &Server{Proc: ref, OwnPID: own, Port: o.Port, SocketDir: o.SocketDir, DataDir: o.DataDir, LogFile: o.LogFile, Sandbox: level}, nil
}

// startProcess starts cmd, in a sandbox when spec is set, and returns the
// host PID of postgres. The postmaster is what ditto records, finds by its
// -D and signals, sandboxed or not; a sandbox's init exits with it.
func startProcess(cmd *exec.Cmd, spec *sandbox.Spec) (int, error) {
	if spec == nil {
		if err := cmd.Start(); err != nil {
			return 0, err
		}
		go cmd.Wait() // reap it, so it never lingers as a zombie while ditto lives
		return cmd.Process.Pid, nil
	}
	init, pid, err := sandbox.Start(cmd, *spec)
	if err != nil {
		return 0, err
	}
	go init.Wait()
	return pid, nil
}

// Stop asks the postmaster for a fast shutdown (SIGINT: abort sessions,
// checkpoint, exit) and waits until it is gone or ctx ends. It never
// escalates by itself.
func Stop(ctx context.Context, ref proc.Ref) error {
	if err := ref.Signal(syscall.SIGINT); errors.Is(err, os.ErrProcessDone) {
		return nil
	} else if err != nil {
		return fmt.Errorf("stop postgres (pid %d): %w", ref.PID, err)
	}
	if err := waitGone(ctx, ref); err != nil {
		return fmt.Errorf("postgres (pid %d) still running after fast shutdown request: %w; it may still be writing its checkpoint: wait, or kill -QUIT %d (the next start then runs crash recovery)", ref.PID, err, ref.PID)
	}
	return nil
}

// Quit asks for an immediate shutdown (SIGQUIT: no checkpoint, the next
// start would run crash recovery) and waits until the postmaster is gone.
// Faster than Stop, for servers whose data is thrown away next.
func Quit(ctx context.Context, ref proc.Ref) error {
	if err := ref.Signal(syscall.SIGQUIT); errors.Is(err, os.ErrProcessDone) {
		return nil
	} else if err != nil {
		return fmt.Errorf("quit postgres (pid %d): %w", ref.PID, err)
	}
	if err := waitGone(ctx, ref); err != nil {
		return fmt.Errorf("postgres (pid %d) still running after an immediate shutdown request: %w", ref.PID, err)
	}
	return nil
}

// Kill SIGKILLs the postmaster's whole process group and waits until the
// postmaster is gone. The data directory is left crashed: for disposable
// copies only.
func Kill(ctx context.Context, ref proc.Ref) error {
	if !ref.Alive() {
		return nil
	}
	shm := sharedMemoryID(ref)
	// The postmaster leads its own session and group (Start uses Setsid);
	// one that does not (started by another tool) is killed alone.
	err := syscall.Kill(-ref.PID, syscall.SIGKILL)
	if errors.Is(err, syscall.ESRCH) {
		err = syscall.Kill(ref.PID, syscall.SIGKILL)
	}
	if err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("kill postgres (pid %d): %w", ref.PID, err)
	}
	ctx, cancel := context.WithTimeout(ctx, killWait)
	defer cancel()
	if err := waitGone(ctx, ref); err != nil {
		return fmt.Errorf("postgres (pid %d) still alive after SIGKILL: %w", ref.PID, err)
	}
	removeSharedMemory(shm)
	return nil
}

// killWait bounds the wait for a killed server: the kernel ends a SIGKILLed
// process at once unless it is stuck in the kernel (a hung disk).
const killWait = 10 * time.Second

func waitGone(ctx context.Context, ref proc.Ref) error {
	t := time.NewTicker(5 * time.Millisecond)
	defer t.Stop()
	for ref.Alive() {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
	return nil
}
