package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// doctorAs runs `ditto doctor --format json` as u (nil: root) with the
// daemon as its server, or with the ditto binary bin when given.
func (d *daemonProc) doctorAs(t *testing.T, u *osUser, bin string) doctorReport {
	t.Helper()
	cmd := d.command(u, "--home", d.f.home, "doctor", "--format", "json")
	if bin != "" {
		cmd.Path, cmd.Args[0] = bin, bin
	}
	r := runDitto(t, cmd)
	var rep doctorReport
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatalf("doctor --format json printed no JSON: %v\n%s", err, r)
	}
	return rep
}

// TestDoctorDaemon: doctor says whether the daemon answers and runs the
// same version, how its socket is set, and whether the caller may use it,
// with the fix when not.
func TestDoctorDaemon(t *testing.T) {
	f := newFixture(t)
	group, alice := daemonUser(t, "dtd")
	eve := newUser(t, "dtx"+strings.TrimPrefix(alice.name, "dtd"), nil)
	d := f.startDaemon(t, group)
	version := strings.TrimPrefix(f.must("--version"), "ditto version ")
	record(t, "daemon", "doctor on the daemon: answers with the CLI's version, socket mode and group, a member, a user outside the group, an older CLI, a dead daemon", 5)

	rep := d.doctorAs(t, nil, "")
	rep.expect(t, "daemon", "ok", "ditto "+version+" answers on unix://"+d.socket, "same version")
	rep.expect(t, "daemon.access", "ok", "mode 0660", "group "+group, "(root)")
	rep.expect(t, "gc-timer", "skip", "the daemon removes expired")

	d.doctorAs(t, &alice, "").expect(t, "daemon.access", "ok", "member of group "+group)

	rep = d.doctorAs(t, &eve, "")
	rep.expect(t, "daemon.access", "fail", eve.name+" is not in group "+group, "sudo usermod -aG "+group+" "+eve.name, "log out and in again")
	rep.expect(t, "daemon", "skip", "may not use its socket")

	if os.Getenv("DITTO_TEST_BIN") == "" { // a go toolchain is at hand
		other := filepath.Join(t.TempDir(), "ditto")
		build := exec.Command("go", "build", "-tags", "dittotest", "-ldflags", "-X github.com/dittodb/ditto.version=v0.0.1-older", "-o", other, ".")
		if out, err := build.CombinedOutput(); err != nil {
			t.Fatalf("building a ditto of another version: %v\n%s", err, out)
		}
		d.doctorAs(t, nil, other).expect(t, "daemon", "warn", "runs ditto "+version+", this ditto is v0.0.1-older", "sudo systemctl restart ditto")
	}

	d.cmd.Process.Kill()
	d.cmd.Wait()
	rep = d.doctorAs(t, nil, "")
	rep.expect(t, "daemon", "fail", "no daemon answers on unix://"+d.socket, "systemctl restart ditto")
	if rep.OK {
		t.Error("doctor is ok with DITTO_SERVER naming a dead daemon")
	}
}
