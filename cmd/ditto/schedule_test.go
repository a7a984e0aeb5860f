package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/dittodb/ditto"
)

// TestScheduledReseed: the daemon reseeds on its schedule; a failing
// source keeps the old golden, shows in status with its cause (without
// the source's password) and runs on_failure; a working one switches the
// golden; a restart counts from the last reseed; only admins may ask for
// one through the API.
func TestScheduledReseed(t *testing.T) {
	f := goldenFixture(t)
	allowTraverse(t, filepath.Dir(dittoBin))
	group, gid := newGroup(t)
	bob := newUser(t, "dtr"+strconv.Itoa(os.Getpid()%100000), map[string]uint32{group: gid})
	gen0 := directStatus(t, f).Golden.Generation

	dir := t.TempDir()
	marker := filepath.Join(dir, "on-failure")
	config := filepath.Join(dir, "serve.yaml")
	writeConfig := func(reseed string) {
		t.Helper()
		if err := os.WriteFile(config, []byte("reseed:\n"+reseed), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	// a source on a closed port, its password in the daemon's environment
	const password = "sekrit-pw-42"
	t.Setenv("DITTO_TEST_SOURCE", "postgres://reader:"+password+"@127.0.0.1:1/app")
	writeConfig("  source_url: env:DITTO_TEST_SOURCE\n  every: 2s\n" +
		"  on_failure: [/bin/sh, -c, 'env > " + marker + ".tmp && mv " + marker + ".tmp " + marker + "']\n")
	d := f.startDaemon(t, group, "--config", config)

	var st ditto.Status
	t.Run("failing source", func(t *testing.T) {
		record(t, "reseed", "a scheduled reseed from a failing source keeps the old golden, shows in status with its cause and no password, runs on_failure with the error and without the daemon's secrets", 4)
		st = waitStatus(t, d, "a recorded failure and on_failure's marker", func(s ditto.Status) bool {
			_, err := os.Stat(marker)
			return s.Reseed.LastFailure != nil && err == nil
		})
		fail := st.Reseed.LastFailure
		if st.Golden == nil || st.Golden.Generation != gen0 {
			t.Fatalf("after a failed reseed the golden is %+v; want %s still", st.Golden, gen0)
		}
		if fail.Trigger != ditto.TriggerSchedule || !strings.Contains(fail.Error, "127.0.0.1") || strings.Contains(fail.Error, password) {
			t.Fatalf("the recorded failure: %+v; want the scheduled one, saying which source, without its password", fail)
		}
		// the fixture's direct `ditto reseed` is recorded too
		if ok := st.Reseed.LastSuccess; st.Reseed.NextRun == nil || ok == nil || ok.Generation != gen0 || ok.Trigger != ditto.TriggerCLI || st.Reseed.Failures < 1 {
			t.Fatalf("reseed status: %+v, last success %+v; want failures, a next run and the fixture's reseed", st.Reseed, ok)
		}
		env, _ := os.ReadFile(marker)
		if !strings.Contains(string(env), "DITTO_RESEED_ERROR=") || strings.Contains(string(env), password) || strings.Contains(string(env), "DITTO_TEST_SOURCE") {
			t.Fatalf("on_failure's environment: want the error and no secret:\n%s", env)
		}
		text := d.mustAs(t, nil, "status")
		t.Logf("ditto status:\n%s", text)
		if !strings.Contains(text, "last failure") || !strings.Contains(text, "127.0.0.1") || !strings.Contains(text, "next run") {
			t.Fatalf("ditto status does not show the failure and the next run:\n%s", text)
		}
		if log, _ := os.ReadFile(d.log); strings.Contains(string(log), password) {
			t.Fatal("the daemon's log shows the source's password")
		}
	})

	t.Run("not an admin", func(t *testing.T) {
		record(t, "security", "POST /v1/reseed by a user who is not an admin: 403 forbidden, and ditto reseed says why", 2)
		cmd := exec.Command("curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "--unix-socket", d.socket, "-X", "POST", "http://d/v1/reseed")
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: bob.uid, Gid: bob.gid, Groups: bob.groups}}
		if out, err := cmd.Output(); err != nil || string(out) != "403" {
			t.Fatalf("POST /v1/reseed by %s: %q, %v; want 403", bob.name, out, err)
		}
		if r := d.as(t, &bob, "reseed"); r.code == 0 || !strings.Contains(r.stderr, "only an admin may reseed") {
			t.Fatalf("ditto reseed by %s: %s; want a refusal", bob.name, r)
		}
	})

	// a working source: the sample dump
	if err := d.stop(t, syscall.SIGTERM); err != nil {
		t.Fatalf("ditto serve exited with %v", err)
	}
	writeConfig("  dump: " + sampleSQL(t) + "\n  every: 2s\n")
	d.start(t)
	var gen1 string
	t.Run("working source", func(t *testing.T) {
		record(t, "reseed", "a scheduled reseed from a working source switches the golden and shows the success in status", 2)
		st = waitStatus(t, d, "a recorded success", func(s ditto.Status) bool {
			return s.Reseed.LastSuccess != nil && s.Reseed.LastSuccess.Generation != gen0
		})
		if err := d.stop(t, syscall.SIGTERM); err != nil { // before the next run
			t.Fatalf("ditto serve exited with %v", err)
		}
		ok := st.Reseed.LastSuccess
		gen1 = ok.Generation
		if st = directStatus(t, f); gen1 == gen0 || st.Golden.Generation != gen1 || ok.Trigger != ditto.TriggerSchedule {
			t.Fatalf("after a reseed on schedule: %+v, golden %s; want a new golden %s current", ok, st.Golden.Generation, gen1)
		}
		if st.Reseed.NextRun != nil {
			t.Fatalf("a stopped daemon left its next run in the status: %v", st.Reseed.NextRun)
		}
	})

	t.Run("restart", func(t *testing.T) {
		record(t, "reseed", "a restarted daemon counts its schedule from the last reseed, not from its start", 1)
		writeConfig("  dump: " + sampleSQL(t) + "\n  every: 1h\n")
		d.start(t)
		st = waitStatus(t, d, "a next run", func(s ditto.Status) bool { return s.Reseed.NextRun != nil })
		want := st.Reseed.LastFinished().Add(time.Hour)
		if got := *st.Reseed.NextRun; !got.Equal(want) || st.Reseed.Running != nil {
			t.Fatalf("after a restart the next run is %v (running: %+v); want an hour after the last reseed, %v", got, st.Reseed.Running, want)
		}
	})

	t.Run("asked by an admin", func(t *testing.T) {
		record(t, "reseed", "root's ditto reseed without a source goes through the daemon (POST /v1/reseed), waits and prints the new golden", 1)
		gen2 := d.mustAs(t, nil, "reseed")
		st = directStatus(t, f)
		if gen2 == gen1 || st.Golden.Generation != gen2 || st.Reseed.LastSuccess.Trigger != ditto.TriggerAPI || st.Reseed.Successes != 3 {
			t.Fatalf("ditto reseed through the daemon printed %q; status %+v", gen2, st.Reseed)
		}
	})
}

// waitStatus asks the daemon for its status until cond holds, for up to
// two minutes (a reseed under load).
func waitStatus(t *testing.T, d *daemonProc, what string, cond func(ditto.Status) bool) ditto.Status {
	t.Helper()
	for deadline := time.Now().Add(2 * time.Minute); ; time.Sleep(200 * time.Millisecond) {
		var s ditto.Status
		if err := json.Unmarshal([]byte(d.mustAs(t, nil, "status", "--format", "json")), &s); err != nil {
			t.Fatal(err)
		}
		if cond(s) {
			return s
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(d.log)
			t.Fatalf("no %s within 2 minutes; reseed status %+v; daemon log:\n%s", what, s.Reseed, log)
		}
	}
}

// directStatus is ditto status without a daemon, as root.
func directStatus(t *testing.T, f *fixture) ditto.Status {
	t.Helper()
	var s ditto.Status
	if err := json.Unmarshal([]byte(f.must("status", "--format", "json")), &s); err != nil {
		t.Fatal(err)
	}
	return s
}
