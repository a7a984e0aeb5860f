package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dittodb/ditto/internal/testbtrfs"
)

var systemdUnits = []string{"ditto.service", "ditto-gc.service", "ditto-gc.timer", "ditto-pool.service"}

// TestSystemdUnits installs the units with scripts/install-systemd.sh into a
// temporary folder, with the test's ditto binary and state directory (so
// that systemd-analyze verify finds the ExecStart binary), checks them with
// systemd-analyze verify, and runs their commands: the pool unit's must
// re-mount an unmounted embedded pool, the gc unit's must succeed.
func TestSystemdUnits(t *testing.T) {
	testbtrfs.Require(t)
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Fatal("systemd-analyze not found: apt-get install systemd (scripts/install.sh should install it)")
	}
	script, err := filepath.Abs("../../scripts/install-systemd.sh")
	if err != nil {
		t.Fatal(err)
	}
	f := embeddedFixture(t)

	dir := t.TempDir()
	if out, err := exec.Command("bash", script, "--unit-dir", dir, "--bin", dittoBin, "--home", f.home).CombinedOutput(); err != nil {
		t.Fatalf("install-systemd.sh: %v\n%s", err, out)
	}
	var paths []string
	for _, u := range systemdUnits {
		p := filepath.Join(dir, u)
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatalf("install-systemd.sh did not install %s: %v", u, err)
		}
		if s := string(b); strings.Contains(s, "/usr/local/bin/ditto") || strings.Contains(s, "/var/lib/ditto") {
			t.Errorf("%s still names the default paths after install with --bin and --home:\n%s", u, s)
		}
		paths = append(paths, p)
	}

	out, err := exec.Command(analyze, append([]string{"verify", "--man=no"}, paths...)...).CombinedOutput()
	if err != nil || len(strings.TrimSpace(string(out))) > 0 {
		t.Fatalf("systemd-analyze verify: %v\n%s", err, out)
	}

	gc := execStart(t, filepath.Join(dir, "ditto-gc.service"))
	if want := []string{dittoBin, "--home", f.home, "gc"}; strings.Join(gc, " ") != strings.Join(want, " ") {
		t.Errorf("ditto-gc.service runs %q, want %q", gc, want)
	}
	if out, err := exec.Command(gc[0], gc[1:]...).CombinedOutput(); err != nil {
		t.Errorf("the command of ditto-gc.service failed: %v\n%s", err, out)
	}

	serve := execStart(t, filepath.Join(dir, "ditto.service"))
	if want := []string{dittoBin, "--home", f.home, "serve", "--socket", "/run/ditto/ditto.sock"}; strings.Join(serve, " ") != strings.Join(want, " ") {
		t.Errorf("ditto.service runs %q, want %q", serve, want)
	}
	if v := unitValues(t, filepath.Join(dir, "ditto.service"), "KillMode"); len(v) != 1 || v[0] != "process" {
		t.Errorf("ditto.service: KillMode=%v, want process: stopping the daemon must not stop the copies' servers", v)
	}

	f.unmountPool()
	pool := execStart(t, filepath.Join(dir, "ditto-pool.service"))
	if out, err := exec.Command(pool[0], pool[1:]...).CombinedOutput(); err != nil {
		t.Fatalf("the command of ditto-pool.service failed: %v\n%s", err, out)
	}
	if !isMountpoint(f.pool) {
		t.Fatalf("the command of ditto-pool.service did not mount the embedded pool at %s", f.pool)
	}
	for _, cond := range []string{"ditto.service", "ditto-gc.service", "ditto-pool.service"} {
		for _, p := range unitValues(t, filepath.Join(dir, cond), "ConditionPathExists") {
			if _, err := os.Stat(p); err != nil {
				t.Errorf("%s: ConditionPathExists=%s does not hold on an initialised embedded pool", cond, p)
			}
		}
	}
}

// TestInstallSystemdWithoutSystemd checks that the install step is a
// harmless no-op where systemd does not run (containers, chroots).
func TestInstallSystemdWithoutSystemd(t *testing.T) {
	requireRoot(t)
	if _, err := os.Stat("/run/systemd/system"); err == nil {
		t.Skip("systemd runs here: the test would install the units for real")
	}
	out, err := exec.Command("bash", "../../scripts/install-systemd.sh", "--bin", dittoBin).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "systemd is not running") {
		t.Fatalf("install-systemd.sh without systemd: %v\n%s", err, out)
	}
	for _, u := range systemdUnits {
		if _, err := os.Stat(filepath.Join("/etc/systemd/system", u)); err == nil {
			t.Errorf("install-systemd.sh installed %s although systemd does not run", u)
		}
	}
}

// execStart returns the argument list of a unit's ExecStart line.
func execStart(t *testing.T, unit string) []string {
	v := unitValues(t, unit, "ExecStart")
	if len(v) != 1 {
		t.Fatalf("%s: %d ExecStart lines, want 1", unit, len(v))
	}
	return strings.Fields(v[0])
}

func unitValues(t *testing.T, unit, key string) []string {
	b, err := os.ReadFile(unit)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(line, "="); ok && strings.TrimSpace(k) == key {
			out = append(out, strings.TrimSpace(v))
		}
	}
	return out
}
