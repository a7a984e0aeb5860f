package postgres_test

import (
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

func getpgid(pid string) (int, error) {
	n, err := strconv.Atoi(pid)
	if err != nil {
		return 0, err
	}
	return syscall.Getpgid(n)
}

// sharedMemoryOf counts the System V segments that process pid created.
func sharedMemoryOf(t *testing.T, pid int) int {
	b, err := os.ReadFile("/proc/sysvipc/shm")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, line := range strings.Split(string(b), "\n")[1:] {
		// key shmid perms size cpid lpid ...
		if f := strings.Fields(line); len(f) > 4 && f[4] == strconv.Itoa(pid) {
			n++
		}
	}
	return n
}

// eventually polls check until it reports nothing or timeout passes, and
// returns its last report. The kernel finishes a killed process (its exit,
// its reaping, the last detach of a shared memory segment) a moment after
// the signal, so what a test asserts about that must be waited for.
func eventually(timeout time.Duration, check func() string) string {
	deadline := time.Now().Add(timeout)
	for {
		msg := check()
		if msg == "" || time.Now().After(deadline) {
			return msg
		}
		time.Sleep(10 * time.Millisecond)
	}
}
