// Package sandbox confines a copy's server: it runs in new mount, PID and
// IPC namespaces under a small reaping init (the ditto binary re-executed),
// and sees only its own data and socket folders of ditto's files. A copy's
// superuser can run programs as the server's OS user (COPY ... FROM
// PROGRAM), so without it every copy could list, signal, read and connect to
// every other one.
//
// A program that uses Start must call Main first thing in main: Start
// re-executes the running binary (/proc/self/exe) as the init.
package sandbox

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
)

// Level says how confined a copy's server is.
type Level string

const (
	// Full: own mount, PID and IPC namespaces with the view of Spec, and
	// Landlock with its IPC scopes (see landlock.go).
	Full Level = "full"
	// Partial: the namespaces, but this kernel lacks Landlock or its IPC
	// scopes (see Missing).
	Partial Level = "partial"
	// None: an ordinary process of the server's OS user, as every copy
	// before sandboxing.
	None Level = "none"
)

// ErrUnavailable wraps the reason a sandbox cannot be made on this machine
// (ditto not root, no namespaces): the caller may run the program
// unconfined, and must say so.
var ErrUnavailable = errors.New("sandbox unavailable")

// ErrExited says that the program under the init exited before Start could
// read its PID.
var ErrExited = errors.New("the program in the sandbox exited at once")

// Spec is the mount view of one sandbox.
type Spec struct {
	// Hide are folders covered by an empty tmpfs: ditto's state directory,
	// the pool. /tmp and /dev/shm are always private.
	Hide []string
	// Keep are folders below Hide that stay visible, read-write: the copy's
	// data and socket folders.
	Keep []string
	// Cgroups are the folders of the cgroup the program runs in (see
	// package sandbox/cgroup): the init joins them before it forks the
	// program, so that nothing the program forks starts outside.
	Cgroups []string
}

// initArg is argv[1] of the re-executed binary when it is to act as the
// init; Main looks for it before any flag parsing.
const initArg = "sandbox-init"

// Start runs cmd as the only child of a reaping init in new mount, PID and
// IPC namespaces. cmd must carry its OS user as SysProcAttr.Credential; its
// Path, Args, Env, Dir, Stdout and Stderr are kept. It returns the init's
// command, to be waited for, and the host PID of cmd's process, once the
// mount view is in place and the process forked. Errors wrapping
// ErrUnavailable mean that this machine cannot make the sandbox.
func Start(cmd *exec.Cmd, s Spec) (init *exec.Cmd, pid int, err error) {
	if os.Geteuid() != 0 {
		return nil, 0, fmt.Errorf("%w: ditto does not run as root", ErrUnavailable)
	}
	if !canInit {
		return nil, 0, fmt.Errorf("%w: %s does not call sandbox.Main, so it cannot act as the init", ErrUnavailable, os.Args[0])
	}
	attr := cmd.SysProcAttr
	if attr == nil || attr.Credential == nil {
		return nil, 0, errors.New("sandbox: the program needs an OS user to run as")
	}
	args := []string{"ditto", initArg, strconv.Itoa(int(attr.Credential.Uid)), strconv.Itoa(int(attr.Credential.Gid))}
	for _, h := range s.Hide {
		args = append(args, "-hide", h)
	}
	for _, k := range s.Keep {
		args = append(args, "-keep", k)
	}
	for _, c := range s.Cgroups {
		args = append(args, "-cgroup", c)
	}
	args = append(append(args, "--", cmd.Path), cmd.Args...)
	r, w, err := os.Pipe()
	if err != nil {
		return nil, 0, fmt.Errorf("sandbox: %w", err)
	}
	defer r.Close()
	init = &exec.Cmd{
		Path: "/proc/self/exe", Args: args, Env: cmd.Env, Dir: cmd.Dir,
		Stdout: cmd.Stdout, Stderr: cmd.Stderr, ExtraFiles: []*os.File{w},
		SysProcAttr: &syscall.SysProcAttr{
			Setsid:     true, // outlives ditto; a Ctrl-C in its terminal does not reach it
			Cloneflags: syscall.CLONE_NEWNS | syscall.CLONE_NEWPID | syscall.CLONE_NEWIPC,
		},
	}
	err = init.Start()
	w.Close()
	if err != nil {
		return nil, 0, fmt.Errorf("%w: new namespaces: %v", ErrUnavailable, err)
	}
	// the init writes why it failed, or closes the pipe once it has forked
	msg, _ := io.ReadAll(r)
	if len(msg) == 0 {
		if pid, err = onlyChild(init.Process.Pid); err == nil {
			return init, pid, nil
		}
	} else {
		err = fmt.Errorf("%w: %s", ErrUnavailable, msg)
	}
	// killing PID 1 kills whatever else runs in its namespace
	init.Process.Kill()
	init.Wait()
	return nil, 0, err
}

// onlyChild returns the host PID of the init's child; none means the child
// has exited already. A child belongs to the thread that forked it, which
// need not be the init's main thread.
func onlyChild(initPID int) (int, error) {
	tasks, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", initPID))
	if err != nil {
		return 0, fmt.Errorf("sandbox: the init (pid %d) is gone: %w", initPID, err)
	}
	for _, task := range tasks {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/children", initPID, task.Name()))
		if f := strings.Fields(string(b)); err == nil && len(f) > 0 {
			return strconv.Atoi(f[0])
		}
	}
	return 0, ErrExited
}

// Probe makes a sandbox with nothing in it, to tell whether this machine
// can: nil, or an error wrapping ErrUnavailable that says what is missing.
func Probe() error {
	cmd := exec.Command("/bin/true")
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	init, _, err := Start(cmd, Spec{})
	if err != nil {
		// /bin/true may be done before its PID is read: the sandbox was made
		if errors.Is(err, ErrExited) {
			return nil
		}
		return err
	}
	return init.Wait()
}
