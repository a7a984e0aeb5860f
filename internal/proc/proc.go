// Package proc identifies processes by PID and start time, so that a PID
// recorded before a crash or reboot is never mistaken for a new process that
// happens to reuse it.
package proc

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// Ref names one process instance: its PID and its start time in clock ticks
// since boot (field 22 of /proc/PID/stat).
type Ref struct {
	PID   int    `json:"pid"`
	Start uint64 `json:"start"`
}

// Self returns the Ref of the calling process.
func Self() Ref {
	r, err := Lookup(os.Getpid())
	if err != nil {
		// /proc is always there on Linux; without it nothing else works either.
		panic(fmt.Sprintf("reading /proc/self: %v", err))
	}
	return r
}

// Lookup returns the Ref of the running process pid.
func Lookup(pid int) (Ref, error) {
	start, err := startTime(pid)
	if err != nil {
		return Ref{}, err
	}
	return Ref{PID: pid, Start: start}, nil
}

// Alive reports whether the very process r names is still running (a zombie
// counts as gone).
func (r Ref) Alive() bool {
	if r.PID <= 0 {
		return false
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", r.PID))
	if err != nil {
		return false
	}
	fields, err := statFields(b)
	if err != nil || fields[0] == "Z" || fields[0] == "X" {
		return false
	}
	start, err := strconv.ParseUint(fields[19], 10, 64)
	return err == nil && start == r.Start
}

// Signal sends sig to the process if, and only if, it is still the process r
// names. It returns os.ErrProcessDone when the process is gone.
func (r Ref) Signal(sig syscall.Signal) error {
	if !r.Alive() {
		return os.ErrProcessDone
	}
	err := syscall.Kill(r.PID, sig)
	if errors.Is(err, syscall.ESRCH) {
		return os.ErrProcessDone
	}
	return err
}

func (r Ref) String() string { return strconv.Itoa(r.PID) }

// Parent returns the PID of the parent of process pid.
func Parent(pid int) (int, error) {
	fields, err := stat(pid)
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(fields[1])
}

// InnerPID returns the PID that process pid has in its own PID namespace
// (the last of NSpid in /proc/PID/status): the one it knows itself by, and
// writes into files such as postmaster.pid. Outside any namespace of its
// own, that is pid.
func InnerPID(pid int) (int, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if ids, ok := strings.CutPrefix(line, "NSpid:"); ok {
			f := strings.Fields(ids)
			if len(f) > 0 {
				return strconv.Atoi(f[len(f)-1])
			}
		}
	}
	return pid, nil // kernels before 4.1 have no NSpid, nor such namespaces for ditto
}

func startTime(pid int) (uint64, error) {
	fields, err := stat(pid)
	if err != nil {
		return 0, err
	}
	return strconv.ParseUint(fields[19], 10, 64)
}

// stat reads the fields of /proc/PID/stat (see statFields).
func stat(pid int) ([]string, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return nil, err
	}
	fields, err := statFields(b)
	if err != nil {
		return nil, fmt.Errorf("/proc/%d/stat: %w", pid, err)
	}
	return fields, nil
}

// statFields returns the fields of /proc/PID/stat after the command name,
// starting with the state (field 3). The name is skipped by its closing
// parenthesis because it may itself contain spaces and parentheses.
func statFields(b []byte) ([]string, error) {
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return nil, errors.New("malformed stat line")
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 20 {
		return nil, errors.New("short stat line")
	}
	return f, nil
}
