package postgres_test

import (
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
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
