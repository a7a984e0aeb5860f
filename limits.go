package ditto

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/dittodb/ditto/sandbox/cgroup"
)

// Limits cap what one copy may use, so that one runaway test cannot starve
// its neighbours. A zero field is no cap. Memory, CPUs and MaxProcesses are
// enforced by the copy's cgroup (package sandbox/cgroup), MaxSize by the
// storage backend (storage.Quota).
type Limits struct {
	Memory       int64   `json:"memory,omitempty"` // bytes, swap not allowed on top
	CPUs         float64 `json:"cpus,omitempty"`   // CPU time, in CPUs; may be fractional
	MaxProcesses int     `json:"max_processes,omitempty"`
	// MaxSize is what the copy may write, in bytes: the golden's data it
	// shares does not count.
	MaxSize int64 `json:"max_size,omitempty"`
}

// The smallest limits a copy's server runs with: its shared_buffers
// (32MB), and its postmaster with its background processes, a few backends
// and autovacuum workers.
const (
	minMemory       = 32 << 20
	minCPUs         = 0.01 // the kernel's smallest CPU quota: 1 ms in 100
	maxCPUs         = 1024
	minMaxProcesses = 16
	minMaxSize      = 16 << 20
)

// Validate checks l; the message names the flag, the hint says what fits.
func (l Limits) Validate() error {
	switch {
	case l.Memory < 0 || l.Memory > 0 && l.Memory < minMemory:
		return limitError("--memory", HumanBytes(uint64(max(l.Memory, 0))), "at least 32M (the server's shared_buffers alone take 32MB), e.g. --memory 512M; or leave it out for no limit")
	case l.CPUs < 0 || l.CPUs > 0 && l.CPUs < minCPUs || l.CPUs > maxCPUs:
		return limitError("--cpus", strconv.FormatFloat(l.CPUs, 'g', -1, 64), "a number of CPUs from 0.01 to 1024, fractions allowed, e.g. --cpus 0.5; or leave it out for no limit")
	case l.MaxProcesses < 0 || l.MaxProcesses > 0 && l.MaxProcesses < minMaxProcesses:
		return limitError("--max-processes", strconv.Itoa(l.MaxProcesses), "at least 16 (a server runs about a dozen processes before any connection), e.g. --max-processes 100; or leave it out for no limit")
	case l.MaxSize < 0 || l.MaxSize > 0 && l.MaxSize < minMaxSize:
		return limitError("--max-size", HumanBytes(uint64(max(l.MaxSize, 0))), "at least 16M (the server writes WAL as soon as it starts), e.g. --max-size 2G; or leave it out for no limit")
	}
	return nil
}

func limitError(flag, value, hint string) *Error {
	return errorf(CodeInvalid, "give "+hint, "invalid %s %s", flag, value)
}

// Or returns l with each cap it leaves out taken from d (the configured
// defaults).
func (l Limits) Or(d Limits) Limits {
	if l.Memory == 0 {
		l.Memory = d.Memory
	}
	if l.CPUs == 0 {
		l.CPUs = d.CPUs
	}
	if l.MaxProcesses == 0 {
		l.MaxProcesses = d.MaxProcesses
	}
	if l.MaxSize == 0 {
		l.MaxSize = d.MaxSize
	}
	return l
}

// IsZero reports no cap at all.
func (l Limits) IsZero() bool { return l == Limits{} }

func (l Limits) cgroup() cgroup.Limits {
	return cgroup.Limits{Memory: l.Memory, CPUs: l.CPUs, Processes: l.MaxProcesses}
}

// String lists the caps set, for a person: "memory 64.0 MiB, cpus 0.5";
// "none" without any.
func (l Limits) String() string {
	var parts []string
	if l.Memory > 0 {
		parts = append(parts, "memory "+HumanBytes(uint64(l.Memory)))
	}
	if l.CPUs > 0 {
		parts = append(parts, "cpus "+strconv.FormatFloat(l.CPUs, 'g', -1, 64))
	}
	if l.MaxProcesses > 0 {
		parts = append(parts, fmt.Sprintf("max-processes %d", l.MaxProcesses))
	}
	if l.MaxSize > 0 {
		parts = append(parts, "max-size "+HumanBytes(uint64(l.MaxSize)))
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}

// ParseCPUs parses --cpus: a number of CPUs, fractions allowed.
func ParseCPUs(s string) (float64, error) {
	v, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil {
		return 0, errorf(CodeInvalid, "give a number of CPUs from 0.01 to 1024, fractions allowed, e.g. --cpus 0.5", "invalid --cpus %q", s)
	}
	return v, nil
}
