package doctor

import (
	"fmt"
	"strings"

	"github.com/dittodb/ditto"
	"github.com/dittodb/ditto/sandbox/cgroup"
)

// limits reports which per-copy limits this machine can enforce: a copy
// create that asks for one it cannot is refused, so it is a warning only
// when the defaults of new copies ask for one.
func (d *doctor) limits() {
	var have, lack []string
	needed := map[string]bool{
		cgroup.Memory:    d.cfg.Limits.Memory > 0,
		cgroup.CPU:       d.cfg.Limits.CPUs > 0,
		cgroup.Processes: d.cfg.Limits.MaxProcesses > 0,
	}
	flags := map[string]string{cgroup.Memory: "--memory", cgroup.CPU: "--cpus", cgroup.Processes: "--max-processes"}
	status := CheckOK
	for _, s := range cgroup.Available() {
		switch {
		case d.cfg.Sandbox == ditto.SandboxOff:
			lack = append(lack, flags[s.Controller]+" (the sandbox is off: the server joins its cgroup in it)")
		case s.Err != nil:
			lack = append(lack, fmt.Sprintf("%s (%v)", flags[s.Controller], s.Err))
		default:
			have = append(have, fmt.Sprintf("%s (%s controller, %s)", flags[s.Controller], s.Controller, s.Where))
			continue
		}
		if needed[s.Controller] {
			status = CheckWarn
		}
	}
	if d.cfg.Backend == "zfs" {
		have = append(have, "--max-size (ZFS refquota)")
	} else {
		lack = append(lack, "--max-size (ZFS only: Btrfs quota groups slow down every copy create)")
	}
	detail := "per-copy limits enforced: " + orNone(have)
	if len(lack) > 0 {
		detail += "; not available: " + strings.Join(lack, "; ")
	}
	fix := ""
	if status != CheckOK {
		fix = "run ditto as root with the sandbox on, on a machine with the cgroup controller mounted (v2, or v1 memory, cpu and pids), or lift the default: ditto init --memory 0 --cpus 0 --max-processes 0"
	}
	d.add("limits", status, detail, fix)
}

func orNone(s []string) string {
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, ", ")
}
