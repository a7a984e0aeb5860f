package state

import (
	"bufio"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// Held reports whether some process holds the flock of path, without
// taking it: a TryLock, even one released at once, would make a reseed or
// daemon starting at that moment fail with "already running". It reads
// /proc/locks, where the kernel lists every flock by device and inode.
func Held(path string) (bool, error) {
	var st syscall.Stat_t
	if err := syscall.Stat(path, &st); err != nil {
		if os.IsNotExist(err) {
			return false, nil
		}
		return false, err
	}
	// the inode alone: on Btrfs, stat's device is the subvolume's, not the
	// superblock's that /proc/locks names
	ino := ":" + strconv.FormatUint(st.Ino, 10)
	f, err := os.Open("/proc/locks")
	if err != nil {
		return false, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// "1: FLOCK  ADVISORY  WRITE 1234 08:01:5678 0 EOF"; blocked
		// waiters are listed as "1: -> FLOCK ..." and hold nothing
		fields := strings.Fields(sc.Text())
		if len(fields) >= 6 && fields[1] == "FLOCK" && strings.HasSuffix(fields[5], ino) {
			return true, nil
		}
	}
	return false, sc.Err()
}
