package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dittodb/ditto/api/client"
)

// daemonUser makes a group for the daemon's socket and a user in it, who
// may run the test's ditto.
func daemonUser(t *testing.T, prefix string) (group string, u osUser) {
	t.Helper()
	allowTraverse(t, filepath.Dir(dittoBin))
	group, gid := newGroup(t)
	return group, newUser(t, prefix+strconv.Itoa(os.Getpid()%100000), map[string]uint32{group: gid})
}

// createMany runs n `copy create` as u through the daemon at once.
func (d *daemonProc) createMany(t *testing.T, u *osUser, n int) []result {
	t.Helper()
	var wg sync.WaitGroup
	results := make([]result, n)
	for i := range results {
		wg.Go(func() {
			results[i] = d.as(t, u, "copy", "create", "--format", "json", "--ttl", "30m", "--label", "job="+strconv.Itoa(i))
		})
	}
	wg.Wait()
	return results
}

// vmRSS is a process's resident memory in KiB, from /proc/PID/status.
func vmRSS(t *testing.T, pid int) int {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kib, err := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
			if err != nil {
				t.Fatalf("VmRSS of %d: %q", pid, v)
			}
			return kib
		}
	}
	t.Fatalf("no VmRSS in /proc/%d/status", pid)
	return 0
}

// assertNoSecrets fails if the daemon's log holds any of the passwords.
func (d *daemonProc) assertNoSecrets(t *testing.T, passwords []string) {
	t.Helper()
	b, err := os.ReadFile(d.log)
	if err != nil {
		t.Fatal(err)
	}
	for _, pw := range passwords {
		if pw != "" && bytes.Contains(b, []byte(pw)) {
			t.Errorf("the daemon's log holds a copy's password")
			return
		}
	}
}

// gcFindsNothing runs `ditto gc` and fails if it removed or restarted
// anything: whatever a crash left must have been cleaned up already.
func (f *fixture) gcFindsNothing(t *testing.T) {
	t.Helper()
	var r struct {
		Copies, Restarted, Goldens, Building, Volumes, Files []string
		Processes                                            []int
	}
	out := f.with(t).must("gc", "--format", "json")
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("gc --format json printed %q: %v", out, err)
	}
	if n := len(r.Copies) + len(r.Restarted) + len(r.Goldens) + len(r.Building) + len(r.Volumes) + len(r.Files) + len(r.Processes); n > 0 {
		t.Fatalf("gc found leftovers: %s", out)
	}
}

// assertExplained checks that every postgres server, copy volume and
// record on the fixture's pool belongs to a copy that is listed.
func (f *fixture) assertExplained(t *testing.T, listed []copyInfo) {
	t.Helper()
	if pids := postgresUnder(f.home, f.pool); len(pids) != len(listed) {
		t.Errorf("%d postgres servers run on the pool for %d copies", len(pids), len(listed))
	}
	if vols := f.copyVolumes(); len(vols) != len(listed) {
		t.Errorf("%d copy volumes for %d copies: %v", len(vols), len(listed), vols)
	}
	// a record holds its copy's port reservation
	if recs, _ := filepath.Glob(filepath.Join(f.home, "copies", "*.json")); len(recs) != len(listed) {
		t.Errorf("%d records (port reservations) for %d copies", len(recs), len(listed))
	}
}

// TestDaemonLoad: 64 creates at once through a daemon whose queue is
// smaller than that all succeed (the busy ones are asked again by the
// client, which says so), then 2,000 lists leave the daemon's memory
// where it was.
func TestDaemonLoad(t *testing.T) {
	f := goldenFixture(t)
	group, alice := daemonUser(t, "dtl")
	d := f.startDaemon(t, group, "--max-starts", "2", "--max-queue", "8")

	results := d.createMany(t, &alice, 64)
	var passwords []string
	busy := 0
	for i, r := range results {
		if strings.Contains(r.stderr, "the daemon is busy") {
			busy++
		}
		if r.code != 0 {
			t.Errorf("create %d of 64: %s", i, r)
			continue
		}
		var c copyInfo
		if err := json.Unmarshal([]byte(r.stdout), &c); err != nil {
			t.Fatalf("create %d printed %q: %v", i, r.stdout, err)
		}
		passwords = append(passwords, passwordOf(t, c.DatabaseURL))
	}
	record(t, "load", "64 copy creates at once through a daemon that starts 2 at once and queues 8: all succeed, the ones told busy ask again after Retry-After", 64)
	t.Logf("%d of 64 creates were told the daemon is busy and asked again", busy)
	if t.Failed() {
		t.FailNow()
	}
	cs := d.listAs(t, &alice)
	if len(cs) != 64 {
		t.Fatalf("alice lists %d copies after 64 creates", len(cs))
	}
	for _, i := range []int{0, 63} {
		var c copyInfo
		json.Unmarshal([]byte(results[i].stdout), &c)
		mustPsql(t, c.DatabaseURL, "select 1")
	}

	t.Run("2000 lists", func(t *testing.T) {
		record(t, "load", "2,000 list requests in a row: the daemon's memory (VmRSS) grows by less than 20 MiB from the 500th to the 2,000th", 2000)
		cl, err := client.New("unix://"+d.socket, client.Options{})
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		var at500 int
		for i := 1; i <= 2000; i++ {
			cs, err := cl.List(ctx, false)
			if err != nil || len(cs) != 64 {
				t.Fatalf("list %d: %d copies, %v", i, len(cs), err)
			}
			if i == 500 {
				at500 = vmRSS(t, d.cmd.Process.Pid)
			}
		}
		at2000 := vmRSS(t, d.cmd.Process.Pid)
		t.Logf("the daemon's VmRSS: %d KiB after 500 lists, %d KiB after 2,000", at500, at2000)
		if at2000-at500 > 20<<10 {
			t.Fatalf("the daemon's memory grew by %d KiB from the 500th to the 2,000th list", at2000-at500)
		}
	})

	for _, c := range cs {
		d.mustAs(t, &alice, "copy", "destroy", c.ID)
	}
	f.with(t).assertClean(t)
	d.assertNoSecrets(t, passwords)
}

// TestDaemonKilledDuringCreates kills the daemon with SIGKILL while 8
// creates are in flight and starts it again: each create either finished
// (its copy is listed and works) or left nothing behind.
func TestDaemonKilledDuringCreates(t *testing.T) {
	f := goldenFixture(t)
	group, alice := daemonUser(t, "dtk")
	d := f.startDaemon(t, group)
	record(t, "faults", "kill -9 of the daemon during 8 parallel creates, then a restart: every copy listed works, the ones in flight are gone, gc finds nothing", 8)

	done := make(chan []result)
	go func() { done <- d.createMany(t, &alice, 8) }()
	// kill once a create is done and another half done (its record
	// exists, its server is not ready yet)
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(2 * time.Millisecond) {
		st := recordStates(f.home)
		if st["creating"] > 0 && (st["ready"] > 0 || time.Now().After(deadline)) {
			t.Logf("killing the daemon with records %v", st)
			break
		}
		if time.Now().After(deadline.Add(30 * time.Second)) {
			t.Fatal("no create was seen in flight within 90s")
		}
	}
	d.cmd.Process.Kill()
	d.cmd.Wait()
	results := <-done
	d.start(t)

	var made []copyInfo
	failed := 0
	for _, r := range results {
		if r.code != 0 {
			failed++
			continue
		}
		var c copyInfo
		if err := json.Unmarshal([]byte(r.stdout), &c); err != nil {
			t.Fatalf("copy create printed %q: %v", r.stdout, err)
		}
		made = append(made, c)
	}
	if failed == 0 {
		t.Fatal("the daemon was killed after every create had finished: nothing was in flight")
	}
	listed := d.listAs(t, &alice)
	t.Logf("of 8 creates, %d answered before the kill and %d failed with it; %d copies listed after the restart", len(made), failed, len(listed))
	urls := map[string]string{}
	for _, c := range made {
		urls[c.ID] = c.DatabaseURL
	}
	for _, c := range listed {
		if c.State != "running" {
			t.Errorf("copy %s is %s after the restart, want running", c.ID, c.State)
		}
		if urls[c.ID] == "" { // finished in the daemon, unseen by its client
			urls[c.ID] = d.mustAs(t, &alice, "copy", "get", c.ID)
		}
		mustPsql(t, urls[c.ID], "select 1")
	}
	for _, c := range made {
		if !containsID(listed, c.ID) {
			t.Errorf("copy %s, created before the kill, is not listed after the restart", c.ID)
		}
	}
	f.gcFindsNothing(t)
	f.assertExplained(t, listed)
	for _, c := range listed {
		d.mustAs(t, &alice, "copy", "destroy", c.ID)
	}
	f.with(t).assertClean(t)
}

// recordStates counts the copy records in home by state.
func recordStates(home string) map[string]int {
	n := map[string]int{}
	recs, _ := filepath.Glob(filepath.Join(home, "copies", "*.json"))
	for _, p := range recs {
		b, err := os.ReadFile(p)
		if err != nil {
			continue // removed meanwhile
		}
		var r struct{ State string }
		if json.Unmarshal(b, &r) == nil {
			n[r.State]++
		}
	}
	return n
}

func containsID(cs []copyInfo, id string) bool {
	for _, c := range cs {
		if c.ID == id {
			return true
		}
	}
	return false
}

// TestDaemonRootCaller: root's create through the daemon makes a copy of
// root's, also under sudo (the socket's peer is root, whoever called sudo).
func TestDaemonRootCaller(t *testing.T) {
	f := goldenFixture(t)
	group, alice := daemonUser(t, "dtr")
	d := f.startDaemon(t, group)
	record(t, "security", "sudo ditto copy create through the daemon: the copy is root's, not the invoking user's", 1)

	cmd := d.command(nil, "copy", "create", "--format", "json")
	cmd.Env = append(cmd.Env, "SUDO_UID="+strconv.Itoa(int(alice.uid)), "SUDO_GID="+strconv.Itoa(int(alice.gid)), "SUDO_USER="+alice.name)
	r := runDitto(t, cmd)
	var c struct {
		ID       string
		OwnerUID int    `json:"owner_uid"`
		Owner    string `json:"owner"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &c); r.code != 0 || err != nil {
		t.Fatalf("sudo ditto copy create through the daemon: %v: %s", err, r)
	}
	if c.OwnerUID != 0 || c.Owner != "root" {
		t.Fatalf("root's copy belongs to uid %d (%s), want root", c.OwnerUID, c.Owner)
	}
	if cs := d.listAs(t, &alice); len(cs) != 0 {
		t.Fatalf("the user behind sudo lists root's copy: %v", ids(cs))
	}
	d.mustAs(t, nil, "copy", "destroy", c.ID)
}

// TestDaemonSlowClients: a request body sent a byte a second, and 500
// connections opened and left idle, are cut off within the daemon's
// timeouts, while another user's list answers meanwhile.
func TestDaemonSlowClients(t *testing.T) {
	f := newFixture(t)
	group, alice := daemonUser(t, "dts")
	d := f.startDaemon(t, group)
	record(t, "bad input", "request bodies sent a byte a second (to a route, to no route); 500 connections left idle: cut off within the daemon's timeouts while another user lists", 3)

	// a create, and a request no route takes, whose bodies trickle in
	slow := make(chan error, 2)
	for _, head := range []string{"POST /v1/copies", "GET /nowhere"} {
		go func() {
			slow <- slowClient(d.socket, head+" HTTP/1.1\r\nHost: d\r\nContent-Length: 30\r\n\r\n", `{"ttl": "1h", "labels": {}}  `, 15*time.Second)
		}()
	}
	idle := make([]net.Conn, 500)
	for i := range idle {
		c, err := net.Dial("unix", d.socket)
		if err != nil {
			t.Fatalf("connection %d of 500: %v", i, err)
		}
		defer c.Close()
		idle[i] = c
	}
	d.mustAs(t, &alice, "copy", "list")
	held := 0
	for _, c := range idle {
		c.SetReadDeadline(time.Now().Add(15 * time.Second))
		if _, err := c.Read(make([]byte, 1)); err == nil || os.IsTimeout(err) {
			held++
		}
	}
	if held > 0 {
		t.Errorf("%d of 500 idle connections still open after 15s", held)
	}
	for range 2 {
		if err := <-slow; err != nil {
			t.Error(err)
		}
	}
	d.mustAs(t, &alice, "copy", "list")
}
