package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"os/user"
	"runtime"
	"strconv"
	"strings"
	"syscall"

	"github.com/hashicorp/go-hclog"
	"golang.org/x/sys/unix"

	"github.com/dittodb/ditto"
	"github.com/dittodb/ditto/api"
)

// Exit codes of `copy run` for its own failures, as env(1) uses them, so
// they do not mix with the command's codes.
const (
	exitRunFailed   = 125
	exitCannotExec  = 126
	exitNotFound    = 127
	exitSignalsBase = 128
)

// runOptions are the choices of `ditto copy run`.
type runOptions struct {
	create        api.CreateRequest
	command       []string
	envNames      []string // extra variables that also get the URL
	keepOnFailure bool
}

// runWithCopy creates a copy held by this process, runs the command with
// the copy's variables, forwards SIGINT, SIGTERM, SIGQUIT and SIGHUP to it,
// destroys the copy and returns the command's exit code (128+N when a
// signal N killed it). If this process is killed, the hold ends: the
// daemon destroys the copy at once, gc in direct mode.
func runWithCopy(ctx context.Context, svc api.Service, log hclog.Logger, o runOptions) (int, error) {
	if len(o.command) == 0 {
		return exitRunFailed, errors.New("no command to run: give it after --, e.g. `ditto copy run -- go test ./...`")
	}
	v, lease, err := svc.Hold(ctx, o.create)
	if err != nil {
		return exitRunFailed, err
	}
	defer func() {
		if err := lease.Close(); err != nil {
			log.Warn("could not destroy the copy; `ditto gc` will", "id", v.ID, "error", err)
		}
	}()
	as, err := invokingUser()
	if err != nil {
		return exitRunFailed, err
	}
	env := append(as.env(commandEnv(os.Environ())), v.Env(o.envNames...)...)
	code, runErr := runCommand(o.command, env, as.cred)
	if code != 0 && o.keepOnFailure {
		if err := lease.Keep(context.Background()); err != nil {
			log.Warn("could not keep the copy", "id", v.ID, "error", err)
		}
		fmt.Fprintf(os.Stderr, "ditto: the command failed (exit %d); copy %s is kept for inspection:\n  psql '%s'\n  ditto copy destroy %s\n", code, v.ID, v.DatabaseURL, v.ID)
		return code, runErr
	}
	if err := svc.Destroy(context.Background(), v.ID); errors.Is(err, ditto.ErrNoCopy) {
		// whatever the command reported, it ran against a copy that vanished
		vanished := fmt.Errorf("copy %s was destroyed while the command ran (by `ditto copy destroy` or `ditto gc`): its result does not count", v.ID)
		if code == 0 {
			return exitRunFailed, vanished
		}
		log.Error(vanished.Error())
	} else if err != nil {
		log.Warn("could not destroy the copy; `ditto gc` will", "id", v.ID, "error", err)
	}
	return code, runErr
}

// secretFree lists the DITTO_ variables a command may inherit: settings, no
// secrets (a source URL with its password, a masking key, a token).
var secretFree = map[string]bool{"DITTO_HOME": true, "DITTO_LOG_LEVEL": true, "DITTO_LOG_JSON": true, "DITTO_SERVER": true, "DITTO_CA_FILE": true, "DITTO_CA_FINGERPRINT": true}

// commandEnv is the environment a command run with a copy inherits: the
// caller's, without ditto's own variables (the copy's are added after).
func commandEnv(environ []string) []string {
	var out []string
	for _, kv := range environ {
		name, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(name, "DITTO_") && !secretFree[name] {
			continue
		}
		out = append(out, kv)
	}
	return out
}

// runAs is who a command runs as: nil cred keeps ditto's own identity.
type runAs struct {
	cred *syscall.Credential
	home string
	name string
}

// env sets HOME, USER and LOGNAME to the user the command runs as.
func (a runAs) env(environ []string) []string {
	if a.cred == nil {
		return environ
	}
	return append(environ, "HOME="+a.home, "USER="+a.name, "LOGNAME="+a.name)
}

// invokingUser is the user who ran ditto through sudo (SUDO_UID/SUDO_GID):
// the command runs as them, not as root, so it can neither read ditto's
// state (every copy's password) nor leave root-owned files behind.
func invokingUser() (runAs, error) {
	uidStr := os.Getenv("SUDO_UID")
	if os.Geteuid() != 0 || uidStr == "" || uidStr == "0" {
		return runAs{}, nil
	}
	uid, err1 := strconv.ParseUint(uidStr, 10, 32)
	gid, err2 := strconv.ParseUint(os.Getenv("SUDO_GID"), 10, 32)
	if err1 != nil || err2 != nil {
		return runAs{}, fmt.Errorf("SUDO_UID=%q, SUDO_GID=%q are not numeric IDs: run ditto through sudo, or unset them to run the command as root", uidStr, os.Getenv("SUDO_GID"))
	}
	a := runAs{cred: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, name: os.Getenv("SUDO_USER"), home: "/"}
	if u, err := user.LookupId(uidStr); err == nil {
		a.name, a.home = u.Username, u.HomeDir
		groups, _ := u.GroupIds()
		for _, g := range groups {
			if n, err := strconv.ParseUint(g, 10, 32); err == nil {
				a.cred.Groups = append(a.cred.Groups, uint32(n))
			}
		}
	}
	return a, nil
}

func runCommand(args []string, env []string, cred *syscall.Credential) (int, error) {
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Env, cmd.Stdin, cmd.Stdout, cmd.Stderr = env, os.Stdin, os.Stdout, os.Stderr
	// If ditto is killed outright, its copy goes with the next gc: take the
	// command down too rather than leave it running against nothing. The
	// death signal follows the thread that started the command, so this
	// goroutine stays on it until the command ends.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Credential: cred}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	sigs := make(chan os.Signal, 4)
	// go test -exec sends SIGQUIT to the wrapper when a test times out.
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGQUIT, syscall.SIGHUP)
	defer signal.Stop(sigs)
	if err := cmd.Start(); err != nil {
		if errors.Is(err, exec.ErrNotFound) || errors.Is(err, os.ErrNotExist) {
			return exitNotFound, fmt.Errorf("cannot run %s: %w", args[0], err)
		}
		return exitCannotExec, fmt.Errorf("cannot run %s: %w", args[0], err)
	}
	done := make(chan struct{})
	go func() {
		for {
			select {
			case s := <-sigs:
				if !terminalSentIt(s) {
					_ = cmd.Process.Signal(s)
				}
			case <-done:
				return
			}
		}
	}()
	err := cmd.Wait()
	close(done)
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		if ws, ok := exit.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return exitSignalsBase + int(ws.Signal()), nil
		}
		return exit.ExitCode(), nil
	}
	if err != nil {
		return exitRunFailed, err
	}
	return 0, nil
}

// terminalSentIt reports whether a SIGINT or SIGQUIT came from the
// terminal (Ctrl-C, Ctrl-\), which the kernel already delivered to the whole
// foreground process group, the command included: forwarding it again would
// deliver it twice.
func terminalSentIt(s os.Signal) bool {
	if s != syscall.SIGINT && s != syscall.SIGQUIT {
		return false
	}
	fg, err := unix.IoctlGetInt(int(os.Stdin.Fd()), unix.TIOCGPGRP)
	return err == nil && fg == syscall.Getpgrp()
}
