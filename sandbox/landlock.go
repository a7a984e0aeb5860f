package sandbox

import (
	"fmt"
	"path/filepath"
	"runtime"
	"syscall"

	"github.com/landlock-lsm/go-landlock/landlock"
	ll "github.com/landlock-lsm/go-landlock/landlock/syscall"
	"golang.org/x/sys/unix"
)

// Landlock is the second wall of a sandbox, under the mount namespace: even
// a folder the namespace leaves visible (the rest of the host: /var, /srv,
// the postgres user's home, a dump passed by its path) cannot be read or
// written by the program unless listed here, and the program cannot signal
// or reach the abstract Unix sockets of processes outside its domain (each
// sandbox is a domain of its own, so other copies are outside too).

// scopesABI is the first Landlock ABI that scopes signals and abstract
// Unix sockets (Linux 6.12); a kernel below it gets a Partial sandbox.
const scopesABI = 6

// landlockConfig restricts the filesystem and the IPC scopes of ABI 6, as
// far as the kernel knows them. Not the network: copies serve on TCP and
// may use dblink or postgres_fdw.
func landlockConfig() landlock.Config {
	c := landlock.V6
	c.HandledAccessNet = 0
	return c.BestEffort()
}

// systemDirs are read and executed by postgres, its libraries and the
// programs a superuser may run (psql, sh, ps); /proc is the sandbox's own;
// Debian's psql wrapper lists /etc/postgresql-common.
var systemDirs = []string{"/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/proc", "/etc/postgresql-common"}

// etc's files may be read (as their modes allow), not listed or run. Not
// a list of the files needed (passwd, ld.so.cache, localtime, resolv.conf,
// the certificates): a Landlock rule holds an inode, and useradd,
// ldconfig or resolvconf replace such a file by a new one, which a rule
// on the old would not cover (postgres then no longer finds its own user
// name for peer logins).
const etc = "/etc"

// landlockRules are what program (the postgres binary) may use: the
// system folders and its own installation (the folder above its bin)
// read-only, /etc's files readable, keep (its data and socket folders), the private /tmp and
// /dev/shm and the device nodes read-write.
func landlockRules(program string, keep []string) []landlock.Rule {
	install := filepath.Dir(filepath.Dir(program))
	if install == "/" { // a program in /bin: never the whole tree
		install = filepath.Dir(program)
	}
	return []landlock.Rule{
		landlock.RODirs(systemDirs...).IgnoreIfMissing(),
		landlock.RODirs(install),
		landlock.PathAccess(ll.AccessFSReadFile, etc),
		// refer: a rename from one of its folders to another, as mv does
		landlock.RWDirs(append([]string{"/tmp", "/dev/shm"}, keep...)...).WithRefer(),
		landlock.RWFiles(devices...).WithIoctlDev().IgnoreIfMissing(),
	}
}

// forkExecConfined starts argv as ForkExec does, from a thread of its own
// that first restricts itself with Landlock: the child inherits the
// domain, and the thread, never unlocked, runs nothing else, so the rest
// of the init stays unrestricted. On a kernel without Landlock it starts
// argv as it is; Reached says so.
func forkExecConfined(argv []string, attr *syscall.ProcAttr, keep []string) (int, error) {
	fd, flags, err := landlockConfig().NewRulesetFD(landlockRules(argv[0], keep)...)
	if err != nil {
		return 0, fmt.Errorf("sandbox: landlock rules: %w", err)
	}
	if fd < 0 {
		return syscall.ForkExec(argv[0], argv[1:], attr)
	}
	defer unix.Close(fd)
	type result struct {
		pid int
		err error
	}
	done := make(chan result, 1)
	go func() {
		runtime.LockOSThread()
		// no setuid program inside may gain privileges back
		if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
			done <- result{0, fmt.Errorf("sandbox: no_new_privs: %w", err)}
			return
		}
		if err := ll.LandlockRestrictSelf(fd, flags); err != nil {
			done <- result{0, fmt.Errorf("sandbox: landlock_restrict_self: %w", err)}
			return
		}
		pid, err := syscall.ForkExec(argv[0], argv[1:], attr)
		done <- result{pid, err}
		// the thread stays, idle: an exiting thread hands its children to
		// another, and Start, reading the threads' children one by one,
		// could miss the program meanwhile
		select {}
	}()
	r := <-done
	return r.pid, r.err
}

// LandlockABI is the Landlock ABI version of the running kernel, 0 when it
// has none or Landlock is not enabled at boot.
func LandlockABI() int {
	v, err := ll.LandlockGetABIVersion()
	if err != nil {
		return 0
	}
	return v
}

// Reached is the Level of a sandbox started on this machine: Full with
// Landlock and its IPC scopes, Partial (the namespaces only, or Landlock
// without scopes) below.
func Reached() Level { return levelFor(LandlockABI()) }

func levelFor(abi int) Level {
	if abi >= scopesABI {
		return Full
	}
	return Partial
}

// Missing says what a sandbox lacks on this machine and how to get it, or
// "" when it lacks nothing.
func Missing() string {
	switch abi := LandlockABI(); {
	case abi == 0:
		return "no Landlock (Linux 5.13+ built with CONFIG_SECURITY_LANDLOCK=y and landlock in the lsm= boot parameter): a copy's superuser can read and write whatever the postgres user may outside the hidden folders, and signal processes of the postgres user outside its sandbox"
	case abi < scopesABI:
		return fmt.Sprintf("Landlock ABI %d without IPC scopes (Linux 6.12+ has ABI %d): a copy's superuser can signal processes of the postgres user outside its sandbox and connect to abstract Unix sockets", abi, scopesABI)
	}
	return ""
}
