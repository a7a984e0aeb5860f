package postgres

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/dittodb/ditto/internal/proc"
)

// shmSeg names the small System V segment a postmaster keeps as an interlock.
type shmSeg struct{ key, id, creator int }

// sharedMemoryID reads the segment of the running postmaster ref from
// postmaster.pid in its working directory (its data directory).
func sharedMemoryID(ref proc.Ref) *shmSeg {
	dir, err := os.Readlink(fmt.Sprintf("/proc/%d/cwd", ref.PID))
	if err != nil {
		return nil
	}
	b, err := os.ReadFile(filepath.Join(dir, "postmaster.pid"))
	if err != nil {
		return nil
	}
	lines := strings.Split(string(b), "\n")
	if len(lines) < 7 {
		return nil
	}
	f := strings.Fields(lines[6])
	if len(f) != 2 {
		return nil
	}
	key, err1 := strconv.Atoi(f[0])
	id, err2 := strconv.Atoi(f[1])
	if err1 != nil || err2 != nil {
		return nil
	}
	return &shmSeg{key: key, id: id, creator: ref.PID}
}

// removeSharedMemory drops the segment of a killed postmaster, which a clean
// shutdown would have removed; otherwise every killed copy leaks one. It only
// touches a segment whose key and creator still match.
func removeSharedMemory(s *shmSeg) {
	if s == nil {
		return
	}
	var d unix.SysvShmDesc
	if _, err := unix.SysvShmCtl(s.id, unix.IPC_STAT, &d); err != nil {
		return
	}
	if int(d.Perm.Key) == s.key && int(d.Cpid) == s.creator {
		_, _ = unix.SysvShmCtl(s.id, unix.IPC_RMID, nil)
	}
}
