package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/dittodb/ditto/postgres"
)

type doctorCheck struct {
	Name, Status, Detail, Fix string
}

type doctorReport struct {
	Home    string
	Backend string
	OK      bool
	Checks  []doctorCheck
	code    int
}

// doctor runs `ditto doctor --format json` and decodes its report.
func (f *fixture) doctor(env ...string) doctorReport {
	f.t.Helper()
	r := f.run(append(env, "doctor", "--format", "json")...)
	var rep doctorReport
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		f.t.Fatalf("doctor --format json printed no JSON: %v\n%s", err, r)
	}
	rep.code = r.code
	if (r.code == 0) != rep.OK {
		f.t.Fatalf("doctor exit %d with ok=%v: exit 1 exactly when a check fails\n%s", r.code, rep.OK, r)
	}
	return rep
}

// expect checks that the named check has the status and that its detail
// and fix, together, contain every given text.
func (rep doctorReport) expect(t *testing.T, name, status string, texts ...string) {
	t.Helper()
	for _, c := range rep.Checks {
		if c.Name != name {
			continue
		}
		if c.Status != status {
			t.Errorf("doctor check %s: %s (%s; fix: %s), want %s", name, c.Status, c.Detail, c.Fix, status)
		}
		for _, want := range texts {
			if !strings.Contains(c.Detail+" fix: "+c.Fix, want) {
				t.Errorf("doctor check %s (%s; fix: %s) lacks %q", name, c.Detail, c.Fix, want)
			}
		}
		if status == "fail" && c.Fix == "" {
			t.Errorf("doctor check %s fails without saying how to fix it", name)
		}
		return
	}
	t.Errorf("doctor has no check %s", name)
}

// expectMachine checks the lines about this machine, which do not depend on
// the pool.
func (rep doctorReport) expectMachine(t *testing.T) {
	t.Helper()
	rep.expect(t, "kernel.btrfs", "ok")
	zfsLoaded := exists("/dev/zfs") || exists("/sys/module/zfs")
	switch {
	case zfsLoaded:
		rep.expect(t, "kernel.zfs", "ok")
	case rep.Backend == "zfs":
		rep.expect(t, "kernel.zfs", "fail")
	default:
		// missing ZFS is no failure for the btrfs backend
		rep.expect(t, "kernel.zfs", "skip", "only --backend zfs needs it")
	}
	rep.expect(t, "tools.btrfs-progs", "ok", "btrfs-progs v")
	if _, err := exec.LookPath("psql"); err == nil {
		rep.expect(t, "tools.postgresql", "ok", "PostgreSQL ", "/usr/lib/postgresql/")
	}
	rep.expect(t, "permissions", "ok", "running as root")
	rep.expect(t, "permissions.pg-user", "ok", "postgres")
}

func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// TestDoctorWithoutPool runs doctor on a fresh machine's view: no state
// directory at all, then a user who is not root.
func TestDoctorWithoutPool(t *testing.T) {
	requireRoot(t)
	f := &fixture{t: t, home: shortTempDir(t)}

	r := f.run("doctor")
	if r.code != 1 {
		t.Fatalf("doctor without a pool: exit %d, want 1\n%s", r.code, r)
	}
	line := regexp.MustCompile(`(?m)^FAIL\s+pool\.config\s+no ditto pool in ` + regexp.QuoteMeta(f.home) + ` -> fix: sudo ditto init`)
	if !line.MatchString(r.stdout) {
		t.Errorf("doctor's text output lacks the failed pool line with its fix:\n%s", r.stdout)
	}
	if !regexp.MustCompile(`(?m)^\d+ ok, \d+ warnings, 1 failed, \d+ skipped`).MatchString(r.stdout) {
		t.Errorf("doctor's text output lacks its summary:\n%s", r.stdout)
	}

	rep := f.doctor()
	rep.expectMachine(t)
	rep.expect(t, "pool.config", "fail", "no ditto pool in "+f.home, "ditto init")
	rep.expect(t, "golden", "skip")
	rep.expect(t, "copies", "skip")
	if rep.OK || rep.Backend != "btrfs" {
		t.Errorf("doctor without a pool: ok=%v backend=%q, want false and the default btrfs", rep.OK, rep.Backend)
	}
	if exists(f.home) {
		t.Error("doctor created the state directory: it must change nothing")
	}

	t.Run("not root", func(t *testing.T) {
		g := newFixture(t)
		allowTraverse(t, filepath.Dir(dittoBin))
		cmd := exec.Command(dittoBin, "--home", g.home, "doctor", "--format", "json")
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
		out, err := cmd.Output()
		var rep doctorReport
		if jerr := json.Unmarshal(out, &rep); jerr != nil {
			t.Fatalf("doctor as nobody: %v, %v: %s", err, jerr, out)
		}
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
			t.Fatalf("doctor as nobody on root's pool: %v, want exit 1", err)
		}
		rep.expect(t, "permissions", "fail", "not root", "--home")
		rep.expect(t, "pool.config", "fail", "no permission", "sudo")
		rep.expect(t, "sandbox", "warn", "sandbox: none", "does not run as root", "run ditto as root")
	})
}

// TestDoctorWithPool runs doctor on a pool before and after a reseed, with
// stale copies, and below its free-space floor.
func TestDoctorWithPool(t *testing.T) {
	f := newFixture(t, "--min-free", "100M")

	rep := f.doctor()
	rep.expectMachine(t)
	rep.expect(t, "pool.config", "ok", "ports", "floor 100.0 MiB")
	rep.expect(t, "pool.mounted", "ok")
	rep.expect(t, "pool.health", "ok")
	rep.expect(t, "pool.space", "ok", "free of", "floor 100.0 MiB")
	rep.expect(t, "golden", "fail", "no golden yet", "ditto reseed --dump")
	rep.expect(t, "copies", "ok", "0 copies")
	if rep.code != 1 {
		t.Fatalf("doctor without a golden: exit %d, want 1", rep.code)
	}

	f.must("reseed", "--dump", sampleSQL(t))
	rep = f.doctor()
	rep.expectMachine(t)
	rep.expect(t, "golden", "ok", "database sample", "PostgreSQL 15", "old, from "+sampleSQL(t)+" (plain)")
	if rep.code != 0 {
		t.Fatalf("doctor on a healthy pool with a golden: exit %d, want 0: %+v", rep.code, rep.Checks)
	}
	if r := f.run("doctor"); r.code != 0 || !strings.Contains(r.stdout, " 0 failed") {
		t.Fatalf("doctor (text) on a healthy pool: %s", r)
	}

	t.Run("stale copies", func(t *testing.T) {
		dead := f.create()
		live := f.create()
		// last: every copy create removes the copies whose TTL passed
		expiring := f.create("--ttl", "1s")
		killPostmaster(t, f, dead.ID)
		time.Sleep(1200 * time.Millisecond)
		rep := f.doctor()
		rep.expect(t, "copies", "warn", "3 copies, 2 running", expiring.ID+" (TTL passed", dead.ID+" (server down)",
			"ditto gc", "ditto copy reset ID")
		if strings.Contains(rep.checkDetail("copies"), live.ID) {
			t.Errorf("doctor calls the live copy %s stale", live.ID)
		}
		if rep.code != 0 {
			t.Errorf("stale copies are a warning, not a failure: exit %d", rep.code)
		}
		f.must("gc")
		f.must("copy", "destroy", dead.ID, live.ID)
		f.doctor().expect(t, "copies", "ok", "0 copies")
	})

	t.Run("below the floor", func(t *testing.T) {
		cfgFile := filepath.Join(f.home, "config.json")
		orig, err := os.ReadFile(cfgFile)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.WriteFile(cfgFile, orig, 0o600) })
		var cfg map[string]any
		json.Unmarshal(orig, &cfg)
		cfg["min_free"] = int64(1) << 40
		b, _ := json.Marshal(cfg)
		if err := os.WriteFile(cfgFile, b, 0o600); err != nil {
			t.Fatal(err)
		}
		rep := f.doctor()
		rep.expect(t, "pool.space", "fail", "floor 1.0 TiB", "new copies are refused", "--min-free")
		if rep.code != 1 {
			t.Errorf("doctor below the floor: exit %d, want 1", rep.code)
		}
	})
}

func (rep doctorReport) checkDetail(name string) string {
	for _, c := range rep.Checks {
		if c.Name == name {
			return c.Detail
		}
	}
	return ""
}

// killPostmaster SIGKILLs the server of copy id, as the OOM killer would.
func killPostmaster(t *testing.T, f *fixture, id string) {
	t.Helper()
	for _, root := range []string{f.home, f.pool} {
		for dir, r := range postgres.Postmasters(root) {
			if filepath.Base(filepath.Dir(dir)) != id { // .../copies/ID/pgdata
				continue
			}
			syscall.Kill(r.PID, syscall.SIGKILL)
			waitExited(r.PID)
			return
		}
	}
	t.Fatalf("no postmaster found for copy %s", id)
}

// TestDoctorEmbeddedPoolUnmounted checks that doctor reports an embedded
// pool that is not mounted (as after a reboot) without mounting it.
func TestDoctorEmbeddedPoolUnmounted(t *testing.T) {
	if os.Getenv("DITTO_TEST_ZFS_POOL") != "" {
		t.Skip("the embedded pool is Btrfs")
	}
	f := embeddedFixture(t)
	mnt := f.pool
	f.must("reseed", "--dump", sampleSQL(t))
	rep := f.doctor()
	rep.expect(t, "pool.mounted", "ok")
	rep.expect(t, "pool.image", "ok", "image uses")
	rep.expect(t, "golden", "ok")

	f.unmountPool()
	rep = f.doctor()
	rep.expect(t, "pool.mounted", "warn", "not mounted", "ditto status", "ditto-pool.service")
	rep.expect(t, "golden", "skip", "the pool is not mounted")
	if rep.code != 0 {
		t.Errorf("an unmounted embedded pool is mounted on demand, so not a failure: exit %d", rep.code)
	}
	if isMountpoint(mnt) {
		t.Fatal("doctor mounted the pool: it must change nothing")
	}
	f.must("status") // mounts on demand
	f.doctor().expect(t, "pool.mounted", "ok")
}
