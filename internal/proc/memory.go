package proc

import (
	"bufio"
	"os"
	"strconv"
	"strings"
)

// TreePSS adds up the proportional set size of the process pid and of its
// descendants: what they cost the machine's memory, shared pages split
// between their users. Processes gone meanwhile count nothing.
func TreePSS(pid int) uint64 {
	total := pss(pid)
	for _, c := range children(pid) {
		total += TreePSS(c)
	}
	return total
}

// pss reads the Pss line of /proc/PID/smaps_rollup, in bytes.
func pss(pid int) uint64 {
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/smaps_rollup")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "Pss:"); ok {
			kb, _ := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}

func children(pid int) []int {
	p := strconv.Itoa(pid)
	b, err := os.ReadFile("/proc/" + p + "/task/" + p + "/children")
	if err != nil {
		return nil
	}
	var out []int
	for _, f := range strings.Fields(string(b)) {
		if c, err := strconv.Atoi(f); err == nil {
			out = append(out, c)
		}
	}
	return out
}
