// Package cgroup caps what one copy's server may use (memory, CPU time,
// processes) with a control group of its own, on cgroup v2 where a
// controller is there and on its cgroup v1 hierarchy otherwise: a machine
// may have both, each controller on one of them.
package cgroup

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Limits are the caps of one group; a zero field is no cap.
type Limits struct {
	Memory    int64   // bytes of memory, swap not allowed on top
	CPUs      float64 // CPU time, in CPUs (0.5: half of one)
	Processes int     // tasks: processes and their threads
}

// IsZero reports a group with no cap at all.
func (l Limits) IsZero() bool { return l == Limits{} }

// Controller names the limits; each is enforced by the kernel's controller
// of that name.
const (
	Memory    = "memory"
	CPU       = "cpu"
	Processes = "pids"
)

// controllers returns the controllers l needs.
func (l Limits) controllers() []string {
	var cs []string
	if l.Memory > 0 {
		cs = append(cs, Memory)
	}
	if l.CPUs > 0 {
		cs = append(cs, CPU)
	}
	if l.Processes > 0 {
		cs = append(cs, Processes)
	}
	return cs
}

// ErrUnavailable wraps the reason a limit cannot be enforced here.
var ErrUnavailable = errors.New("limit unavailable")

// hierarchy is where one controller lives: a cgroup v2 mount, or the
// controller's own cgroup v1 mount.
type hierarchy struct {
	root string
	v2   bool
}

// find returns the hierarchy of each controller mounted on this machine:
// cgroup v2 when it offers the controller, else its cgroup v1 mount.
func find() (map[string]hierarchy, error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	found := map[string]hierarchy{}
	var v2roots []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTS [TAGS...] - FSTYPE SOURCE SUPEROPTS
		fields := strings.Fields(sc.Text())
		sep := slices.Index(fields, "-")
		if sep < 5 || len(fields) < sep+4 || fields[3] != "/" {
			continue
		}
		mp := fields[4]
		switch fields[sep+1] {
		case "cgroup2":
			v2roots = append(v2roots, mp)
		case "cgroup":
			for _, o := range strings.Split(fields[sep+3], ",") {
				if _, seen := found[o]; !seen && (o == Memory || o == CPU || o == Processes) {
					found[o] = hierarchy{root: mp}
				}
			}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	for _, root := range v2roots {
		b, err := os.ReadFile(filepath.Join(root, "cgroup.controllers"))
		if err != nil {
			continue
		}
		for _, c := range strings.Fields(string(b)) {
			if c == Memory || c == CPU || c == Processes {
				found[c] = hierarchy{root: root, v2: true}
			}
		}
	}
	return found, nil
}

// Support says whether one controller can cap a copy here, and where.
type Support struct {
	Controller string
	Where      string // the cgroup folder, and v1 or v2
	Err        error  // nil: available; else wraps ErrUnavailable
}

// Available says, for memory, cpu and pids, whether this machine can
// enforce the limit, for `ditto doctor`.
func Available() []Support {
	hs, err := find()
	var out []Support
	for _, c := range []string{Memory, CPU, Processes} {
		s := Support{Controller: c}
		h, ok := hs[c]
		switch {
		case err != nil:
			s.Err = fmt.Errorf("%w: reading the mounts: %v", ErrUnavailable, err)
		case !ok:
			s.Err = fmt.Errorf("%w: no cgroup v1 or v2 hierarchy here has the %s controller (mount one, or enable it in cgroup.subtree_control)", ErrUnavailable, c)
		case os.Geteuid() != 0:
			s.Err = fmt.Errorf("%w: making a cgroup needs root", ErrUnavailable)
		default:
			s.Where = h.root + " (cgroup v1)"
			if h.v2 {
				s.Where = h.root + " (cgroup v2)"
			}
		}
		out = append(out, s)
	}
	return out
}

// Group is one copy's cgroup: its folder in each hierarchy that holds one
// of its controllers. A process joins it by writing itself into each
// folder's cgroup.procs (Enter).
type Group struct {
	Dirs []string
}

// Create makes the group name (a relative path such as "ditto/HOME/ID")
// with limits l, or updates the limits of the one there. A limit whose
// controller this machine lacks fails the whole create, with an error
// wrapping ErrUnavailable that names it.
func Create(name string, l Limits) (Group, error) {
	if err := checkName(name); err != nil {
		return Group{}, err
	}
	hs, err := find()
	if err != nil {
		return Group{}, fmt.Errorf("finding the cgroup mounts: %w", err)
	}
	if os.Geteuid() != 0 {
		return Group{}, fmt.Errorf("%w: making a cgroup needs root", ErrUnavailable)
	}
	var g Group
	for _, c := range l.controllers() {
		h, ok := hs[c]
		if !ok {
			return Group{}, fmt.Errorf("%w: %s: no cgroup v1 or v2 hierarchy on this machine has the %s controller", ErrUnavailable, limitName(c), c)
		}
		dir := filepath.Join(h.root, name)
		if h.v2 {
			if err := enableDown(h.root, name, c); err != nil {
				return Group{}, fmt.Errorf("%w: %s: %v", ErrUnavailable, limitName(c), err)
			}
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return Group{}, fmt.Errorf("%w: %s: making %s: %v", ErrUnavailable, limitName(c), dir, err)
		}
		if err := set(dir, c, h.v2, l); err != nil {
			return Group{}, fmt.Errorf("%w: %s: %v", ErrUnavailable, limitName(c), err)
		}
		if !slices.Contains(g.Dirs, dir) {
			g.Dirs = append(g.Dirs, dir)
		}
	}
	return g, nil
}

func limitName(controller string) string {
	switch controller {
	case Memory:
		return "the memory limit"
	case CPU:
		return "the CPU limit"
	}
	return "the process limit"
}

// enableDown makes controller c available to the children of every folder
// from root down to name's parent (cgroup v2 hands a controller down only
// when each parent enables it).
func enableDown(root, name, c string) error {
	dir := root
	for _, part := range strings.Split(name, "/") {
		if err := writeFile(filepath.Join(dir, "cgroup.subtree_control"), "+"+c); err != nil {
			return err
		}
		dir = filepath.Join(dir, part)
		if err := os.Mkdir(dir, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
			return err
		}
	}
	return nil
}

// cfsPeriod is the CPU accounting period, in microseconds; the quota is the
// share of it the group may run.
const cfsPeriod = 100000

func set(dir, c string, v2 bool, l Limits) error {
	quota := strconv.FormatInt(int64(l.CPUs*cfsPeriod), 10)
	switch {
	case c == Memory && v2:
		if err := writeFile(filepath.Join(dir, "memory.max"), strconv.FormatInt(l.Memory, 10)); err != nil {
			return err
		}
		return writeIfThere(filepath.Join(dir, "memory.swap.max"), "0")
	case c == Memory:
		// memsw (memory + swap) must stay at or above the memory limit:
		// lifted first, set last
		memsw := filepath.Join(dir, "memory.memsw.limit_in_bytes")
		if err := writeIfThere(memsw, "-1"); err != nil {
			return err
		}
		if err := writeFile(filepath.Join(dir, "memory.limit_in_bytes"), strconv.FormatInt(l.Memory, 10)); err != nil {
			return err
		}
		return writeIfThere(memsw, strconv.FormatInt(l.Memory, 10))
	case c == CPU && v2:
		return writeFile(filepath.Join(dir, "cpu.max"), quota+" "+strconv.Itoa(cfsPeriod))
	case c == CPU:
		if err := writeFile(filepath.Join(dir, "cpu.cfs_period_us"), strconv.Itoa(cfsPeriod)); err != nil {
			return err
		}
		return writeFile(filepath.Join(dir, "cpu.cfs_quota_us"), quota)
	default:
		return writeFile(filepath.Join(dir, "pids.max"), strconv.Itoa(l.Processes))
	}
}

func writeFile(path, v string) error {
	if err := os.WriteFile(path, []byte(v), 0); err != nil {
		return fmt.Errorf("writing %q to %s: %w", v, path, err)
	}
	return nil
}

func writeIfThere(path, v string) error {
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		return nil
	}
	return writeFile(path, v)
}

// Enter moves the calling process, all its threads, into the group's
// folders, and returns a function that moves it back to where it was. The
// children it forks in between are born in the group.
func Enter(dirs []string) (leave func() error, err error) {
	var back []string
	leave = func() error {
		var errs []error
		for _, d := range back {
			errs = append(errs, writeFile(filepath.Join(d, "cgroup.procs"), "0"))
		}
		return errors.Join(errs...)
	}
	for _, d := range dirs {
		from, err := current(d)
		if err != nil {
			return nil, err
		}
		if err := writeFile(filepath.Join(d, "cgroup.procs"), "0"); err != nil {
			leave()
			return nil, err
		}
		back = append(back, from)
	}
	return leave, nil
}

// current returns the folder, in dir's hierarchy, of the cgroup the calling
// process is in.
func current(dir string) (string, error) {
	hs, err := find()
	if err != nil {
		return "", err
	}
	b, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return "", err
	}
	// the hierarchy dir lies in: the longest root above it
	var h hierarchy
	for _, c := range hs {
		if strings.HasPrefix(dir, c.root+"/") && len(c.root) > len(h.root) {
			h = c
		}
	}
	if h.root != "" {
		for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
			// ID:CONTROLLERS:PATH; cgroup v2 is 0::PATH
			f := strings.SplitN(line, ":", 3)
			if len(f) != 3 {
				continue
			}
			ctrls := strings.Split(f[1], ",")
			if h.v2 && f[1] == "" || !h.v2 && slices.ContainsFunc(ctrls, func(c string) bool { return hs[c] == h }) {
				return filepath.Join(h.root, f[2]), nil
			}
		}
	}
	return "", fmt.Errorf("cgroup: the current cgroup of this process in the hierarchy of %s is unknown", dir)
}

// removeWait bounds how long Remove waits for the last processes of a
// stopped server to leave its group.
const removeWait = 10 * time.Second

// Remove removes the group name from every hierarchy; one already gone is
// not an error. Its processes must have exited: it waits a little for the
// last ones, then fails.
func Remove(name string) error {
	if err := checkName(name); err != nil {
		return err
	}
	hs, err := find()
	if err != nil {
		return err
	}
	deadline := time.Now().Add(removeWait)
	for _, root := range roots(hs) {
		dir := filepath.Join(root, name)
		for {
			err := syscall.Rmdir(dir)
			if err == nil || errors.Is(err, syscall.ENOENT) {
				break
			}
			if !errors.Is(err, syscall.EBUSY) || time.Now().After(deadline) {
				return fmt.Errorf("removing cgroup %s: %w", dir, err)
			}
			time.Sleep(10 * time.Millisecond)
		}
		// the parent folder goes with its last group (still used: EBUSY)
		syscall.Rmdir(filepath.Dir(dir))
	}
	return nil
}

// List returns the names of the groups in folder parent (such as
// "ditto/HOME"), in any hierarchy.
func List(parent string) ([]string, error) {
	if err := checkName(parent); err != nil {
		return nil, err
	}
	hs, err := find()
	if err != nil {
		return nil, err
	}
	var names []string
	for _, root := range roots(hs) {
		ents, err := os.ReadDir(filepath.Join(root, parent))
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		for _, e := range ents {
			if n := parent + "/" + e.Name(); e.IsDir() && !slices.Contains(names, n) {
				names = append(names, n)
			}
		}
	}
	return names, nil
}

func roots(hs map[string]hierarchy) []string {
	var rs []string
	for _, h := range hs {
		if !slices.Contains(rs, h.root) {
			rs = append(rs, h.root)
		}
	}
	slices.Sort(rs)
	return rs
}

// checkName accepts a relative path of plain folder names.
func checkName(name string) error {
	if name == "" || filepath.IsAbs(name) || filepath.Clean(name) != name || strings.HasPrefix(name, "..") {
		return fmt.Errorf("cgroup: invalid group name %q", name)
	}
	return nil
}
