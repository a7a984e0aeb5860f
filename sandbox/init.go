package sandbox

import (
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/dittodb/ditto/sandbox/cgroup"
)

// Main runs the init when the binary was re-executed by Start, and never
// returns then; otherwise it returns at once. Call it first thing in main,
// before any flag parsing, so the init starts in a few milliseconds.
func Main() {
	if len(os.Args) > 1 && os.Args[1] == initArg {
		os.Exit(runInit(os.Args[2:]))
	}
	canInit = true
}

// canInit says that this program calls Main, so that Start may re-execute
// it as the init; any other (a test binary of another package) would run
// itself from the start instead.
var canInit bool

// runInit is PID 1 of the sandbox, running as root in its new namespaces:
// it builds the mount view, starts the program as its OS user, reaps every
// orphan, forwards SIGTERM, SIGINT and SIGQUIT to the program, and exits
// with its status (the kernel then kills whatever is left in the
// namespace). A postmaster must not be PID 1 itself: it would reap orphans
// too, and take one that exits with status 2 for a crashed backend.
func runInit(args []string) int {
	report := os.NewFile(3, "report")
	syscall.CloseOnExec(3)
	sigs := make(chan os.Signal, 16)
	signal.Notify(sigs, syscall.SIGCHLD, syscall.SIGTERM, syscall.SIGINT, syscall.SIGQUIT)
	child, err := startChild(args)
	if err != nil {
		fmt.Fprint(report, err)
		return 127
	}
	report.Close()
	return reap(child, sigs)
}

func startChild(args []string) (int, error) {
	uid, gid, spec, argv, err := parseInitArgs(args)
	if err != nil {
		return 0, err
	}
	leave, err := cgroup.Enter(spec.Cgroups)
	if err != nil {
		return 0, err
	}
	if err := mountView(spec); err != nil {
		return 0, err
	}
	pid, err := forkExecConfined(argv, &syscall.ProcAttr{
		Env:   os.Environ(),
		Files: []uintptr{0, 1, 2},
		Sys: &syscall.SysProcAttr{
			Setsid:     true, // a group of its own, as unsandboxed: ditto kills it by group
			Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)},
		},
	}, spec.Keep)
	if err != nil {
		return 0, fmt.Errorf("sandbox: starting %s: %w", argv[0], err)
	}
	// only the program counts against its limits, not the init
	if err := leave(); err != nil {
		return 0, err
	}
	return pid, nil
}

// parseInitArgs reads what Start passes: UID GID [-hide DIR]... [-keep
// DIR]... [-cgroup DIR]... -- PATH ARGV0 ARGS...
func parseInitArgs(args []string) (uid, gid int, s Spec, argv []string, err error) {
	if len(args) < 2 {
		return 0, 0, s, nil, errors.New("sandbox-init: missing UID and GID")
	}
	uid, err1 := strconv.Atoi(args[0])
	gid, err2 := strconv.Atoi(args[1])
	if err1 != nil || err2 != nil {
		return 0, 0, s, nil, fmt.Errorf("sandbox-init: bad UID %q or GID %q", args[0], args[1])
	}
	rest := args[2:]
	for len(rest) >= 2 && rest[0] != "--" {
		switch rest[0] {
		case "-hide":
			s.Hide = append(s.Hide, rest[1])
		case "-keep":
			s.Keep = append(s.Keep, rest[1])
		case "-cgroup":
			s.Cgroups = append(s.Cgroups, rest[1])
		default:
			return 0, 0, s, nil, fmt.Errorf("sandbox-init: unknown argument %q", rest[0])
		}
		rest = rest[2:]
	}
	if len(rest) < 3 || rest[0] != "--" {
		return 0, 0, s, nil, errors.New("sandbox-init: missing -- PATH ARGV0")
	}
	return uid, gid, s, rest[1:], nil
}

// reap waits for every child (orphans are re-parented to PID 1) until the
// program exits, and returns its exit status.
func reap(child int, sigs <-chan os.Signal) int {
	for sig := range sigs {
		if sig != syscall.SIGCHLD {
			syscall.Kill(child, sig.(syscall.Signal))
			continue
		}
		for {
			var ws syscall.WaitStatus
			pid, err := syscall.Wait4(-1, &ws, syscall.WNOHANG, nil)
			if errors.Is(err, syscall.EINTR) {
				continue
			}
			if err != nil || pid <= 0 {
				break
			}
			if pid == child {
				if ws.Signaled() {
					return 128 + int(ws.Signal())
				}
				return ws.ExitStatus()
			}
		}
	}
	return 1
}

// devices are the nodes of the minimal /dev.
var devices = []string{"/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom", "/dev/tty"}

// mountView makes the sandbox's mount namespace private, detaches every
// mount at or below /tmp and s.Hide (so that no other copy's dataset stays
// mounted in here, which would keep it busy), covers those and /dev
// with empty tmpfs, puts back clones of s.Keep and the devices taken
// before, and mounts a /proc of the new PID namespace. The host's mounts
// are not changed.
func mountView(s Spec) error {
	if err := unix.Mount("", "/", "", unix.MS_PRIVATE|unix.MS_REC, ""); err != nil {
		return fmt.Errorf("making the mounts private: %w", err)
	}
	keep := append(append([]string{}, s.Keep...), devices...)
	trees := make([]int, len(keep))
	for i, p := range keep {
		fd, err := unix.OpenTree(unix.AT_FDCWD, p, unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC)
		if err != nil {
			return fmt.Errorf("taking %s: %w", p, err)
		}
		defer unix.Close(fd)
		trees[i] = fd
	}
	cs := covers(s.Hide)
	// /dev's own mounts (pts, shm) pin nothing of ditto's: covered only
	if err := detachBelow(slices.DeleteFunc(slices.Clone(cs), func(c string) bool { return c == "/dev" })); err != nil {
		return err
	}
	for _, c := range cs {
		opts, flags := "mode=0755,size=1m", uintptr(unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC)
		if c == "/tmp" {
			opts, flags = "mode=1777,size="+TmpSize, unix.MS_NOSUID|unix.MS_NODEV
		}
		if err := unix.Mount("tmpfs", c, "tmpfs", flags, opts); err != nil {
			return fmt.Errorf("covering %s: %w", c, err)
		}
	}
	for i, p := range keep {
		if err := attach(trees[i], p); err != nil {
			return err
		}
	}
	if err := minimalDev(); err != nil {
		return err
	}
	if err := unix.Mount("proc", "/proc", "proc", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, ""); err != nil {
		return fmt.Errorf("mounting /proc: %w", err)
	}
	return nil
}

// detachBelow lazily unmounts, in this namespace, every mount at or below
// one of dirs. Each unmount waits for an RCU grace period (about a
// millisecond), so only the outermost ones are unmounted: MNT_DETACH takes
// the mounts below along.
func detachBelow(dirs []string) error {
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return err
	}
	var points []string
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 5 {
			continue
		}
		mp := unescapeMountPoint(f[4])
		for _, d := range dirs {
			if mp == d || strings.HasPrefix(mp, d+"/") {
				points = append(points, mp)
				break
			}
		}
	}
	for _, mp := range outermost(points) {
		// until EINVAL: no mount left there, also of several stacked on it
		for {
			err := unix.Unmount(mp, unix.MNT_DETACH)
			if errors.Is(err, unix.EINVAL) || errors.Is(err, unix.ENOENT) {
				break
			}
			if err != nil {
				return fmt.Errorf("detaching %s: %w", mp, err)
			}
		}
	}
	return nil
}

// unescapeMountPoint undoes mountinfo's octal escapes (\040 for a space).
func unescapeMountPoint(s string) string {
	if !strings.Contains(s, "\\") {
		return s
	}
	var out []byte
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if v, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				out = append(out, byte(v))
				i += 3
				continue
			}
		}
		out = append(out, s[i])
	}
	return string(out)
}

// covers returns /tmp, /dev and hide, without any folder that lies below
// another one: covering the outer one hides it already.
func covers(hide []string) []string {
	return outermost(append([]string{"/tmp", "/dev"}, hide...))
}

// outermost returns paths, cleaned, sorted, once each, without those below
// another one.
func outermost(paths []string) []string {
	all := make([]string, len(paths))
	for i, p := range paths {
		all[i] = filepath.Clean(p)
	}
	sort.Strings(all)
	var out []string
	for _, c := range all {
		if len(out) > 0 {
			last := out[len(out)-1]
			if c == last || strings.HasPrefix(c, last+"/") {
				continue
			}
		}
		out = append(out, c)
	}
	return out
}

// attach mounts the detached tree fd (from open_tree) at path, creating
// path in the tmpfs that covers it.
func attach(fd int, path string) error {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return fmt.Errorf("stat %s: %w", path, err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	if st.Mode&unix.S_IFMT == unix.S_IFDIR {
		if err := os.Mkdir(path, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
			return err
		}
	} else if f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY, 0o644); err != nil {
		return err
	} else {
		f.Close()
	}
	if err := unix.MoveMount(fd, "", unix.AT_FDCWD, path, unix.MOVE_MOUNT_F_EMPTY_PATH); err != nil {
		return fmt.Errorf("keeping %s visible: %w", path, err)
	}
	return nil
}

// minimalDev adds to the new /dev what programs expect besides the device
// nodes: a private /dev/shm (POSIX shared memory) and the fd links.
func minimalDev() error {
	if err := os.Mkdir("/dev/shm", 0o755); err != nil {
		return err
	}
	if err := unix.Mount("tmpfs", "/dev/shm", "tmpfs", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, "mode=1777,size="+ShmSize); err != nil {
		return fmt.Errorf("mounting /dev/shm: %w", err)
	}
	for name, target := range map[string]string{"fd": "/proc/self/fd", "stdin": "/proc/self/fd/0", "stdout": "/proc/self/fd/1", "stderr": "/proc/self/fd/2"} {
		if err := os.Symlink(target, "/dev/"+name); err != nil {
			return err
		}
	}
	return nil
}
