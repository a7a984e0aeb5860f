package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/dittodb/ditto/internal/rawhttp"
)

// daemonProc is a `ditto serve` process on a fixture's home, listening on
// a socket of its own.
type daemonProc struct {
	f      *fixture
	owner  *testing.T // the test whose end stops it
	socket string
	group  string
	args   []string // more flags of ditto serve
	log    string   // its stderr
	cmd    *exec.Cmd
}

// startDaemon starts `ditto serve` for the fixture, with the socket's
// group and more flags of ditto serve (default: --warm 0, no warm
// copies); it is stopped when the test ends.
func (f *fixture) startDaemon(t *testing.T, group string, args ...string) *daemonProc {
	t.Helper()
	dir := filepath.Dir(f.home)
	if !slices.Contains(args, "--warm") {
		args = append([]string{"--warm", "0"}, args...)
	}
	d := &daemonProc{f: f, owner: t, socket: filepath.Join(dir, "ditto.sock"), group: group, log: filepath.Join(dir, "serve.log"), args: args}
	d.start(t)
	return d
}

func (d *daemonProc) start(t *testing.T) {
	t.Helper()
	logf, err := os.OpenFile(d.log, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	d.cmd = exec.Command(dittoBin, "--home", d.f.home, "--log-level", "debug", "serve", "--socket", d.socket, "--group", d.group)
	d.cmd.Args = append(d.cmd.Args, d.args...)
	d.cmd.Stdout, d.cmd.Stderr = logf, logf
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	cmd := d.cmd
	d.owner.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if a, err := rawhttp.Send(d.socket, "GET /healthz HTTP/1.1\r\nHost: d\r\n\r\n", time.Second); err == nil && strings.HasPrefix(a.Status, "200") {
			return
		}
		if time.Now().After(deadline) {
			b, _ := os.ReadFile(d.log)
			t.Fatalf("ditto serve did not answer on %s within 30s:\n%s", d.socket, b)
		}
	}
}

// stop sends sig and waits for the daemon to exit.
func (d *daemonProc) stop(t *testing.T, sig syscall.Signal) error {
	t.Helper()
	d.cmd.Process.Signal(sig)
	done := make(chan error, 1)
	go func() { done <- d.cmd.Wait() }()
	select {
	case err := <-done:
		return err
	case <-time.After(40 * time.Second):
		t.Fatalf("ditto serve did not exit within 40s of %v", sig)
		return nil
	}
}

// osUser is an OS user made by the test.
type osUser struct {
	name     string
	uid, gid uint32
	groups   []uint32
}

// newGroup creates a group, removed when the test ends.
func newGroup(t *testing.T) (name string, gid uint32) {
	t.Helper()
	name = fmt.Sprintf("dtg%d", os.Getpid()%100000)
	if out, err := exec.Command("groupadd", name).CombinedOutput(); err != nil {
		t.Fatalf("groupadd %s: %v %s", name, err, out)
	}
	t.Cleanup(func() { exec.Command("groupdel", name).Run() })
	g, err := user.LookupGroup(name)
	if err != nil {
		t.Fatal(err)
	}
	n, _ := strconv.Atoi(g.Gid)
	return name, uint32(n)
}

// newUser creates an OS user without a home, member of the given groups,
// removed when the test ends.
func newUser(t *testing.T, name string, groups map[string]uint32) osUser {
	t.Helper()
	args := []string{"--no-create-home", "--shell", "/usr/sbin/nologin"}
	var gids []uint32
	for g, gid := range groups {
		args = append(args, "-G", g)
		gids = append(gids, gid)
	}
	exec.Command("userdel", "-f", name).Run() // a leftover of a killed run
	if out, err := exec.Command("useradd", append(args, name)...).CombinedOutput(); err != nil {
		t.Fatalf("useradd %s: %v %s", name, err, out)
	}
	t.Cleanup(func() { exec.Command("userdel", "-f", name).Run() })
	u, err := user.Lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return osUser{name: name, uid: uint32(uid), gid: uint32(gid), groups: gids}
}

// command returns ditto run as u (nil: root) through the daemon.
func (d *daemonProc) command(u *osUser, args ...string) *exec.Cmd {
	return d.program(u, dittoBin, args...)
}

// program returns the program name run as u (nil: root), with the
// daemon's address in DITTO_SERVER.
func (d *daemonProc) program(u *osUser, name string, args ...string) *exec.Cmd {
	cmd := exec.Command(name, args...)
	cmd.Env = append(commandEnv(os.Environ()), "DITTO_SERVER=unix://"+d.socket, "HOME=/tmp")
	cmd.Dir = "/"
	if u != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: u.uid, Gid: u.gid, Groups: u.groups}}
	}
	return cmd
}

// as runs ditto as u (nil: root) through the daemon.
func (d *daemonProc) as(t *testing.T, u *osUser, args ...string) result {
	t.Helper()
	return runDitto(t, d.command(u, args...))
}

func (d *daemonProc) mustAs(t *testing.T, u *osUser, args ...string) string {
	t.Helper()
	r := d.as(t, u, args...)
	if r.code != 0 {
		t.Fatalf("ditto %s: %s", strings.Join(args, " "), r)
	}
	return strings.TrimSpace(r.stdout)
}

func (d *daemonProc) listAs(t *testing.T, u *osUser) []copyInfo {
	t.Helper()
	var cs []copyInfo
	out := d.mustAs(t, u, "copy", "list", "--format", "json")
	if err := json.Unmarshal([]byte(out), &cs); err != nil {
		t.Fatalf("copy list --format json printed %q: %v", out, err)
	}
	return cs
}

func (d *daemonProc) createAs(t *testing.T, u *osUser, args ...string) copyInfo {
	t.Helper()
	var c copyInfo
	out := d.mustAs(t, u, append([]string{"copy", "create", "--format", "json"}, args...)...)
	if err := json.Unmarshal([]byte(out), &c); err != nil {
		t.Fatalf("copy create --format json printed %q: %v", out, err)
	}
	return c
}

func ids(cs []copyInfo) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.ID)
	}
	return out
}

// TestDaemon: users of the socket's group get copies without sudo, each
// sees only its own, a killed client's copy goes, bad requests get clean
// answers, and a daemon killed and started again loses no copy.
func TestDaemon(t *testing.T) {
	f := goldenFixture(t)
	allowTraverse(t, filepath.Dir(dittoBin)) // the users run the test's ditto
	group, gid := newGroup(t)
	member := map[string]uint32{group: gid}
	suffix := strconv.Itoa(os.Getpid() % 100000)
	alice, bob, eve := newUser(t, "dta"+suffix, member), newUser(t, "dtb"+suffix, member), newUser(t, "dte"+suffix, nil)
	d := f.startDaemon(t, group)
	var passwords []string

	t.Run("copy run without sudo", func(t *testing.T) {
		record(t, "security", "a member of the socket's group runs copy run without sudo: the command runs as that user with a working DATABASE_URL; exit code kept; --keep-on-failure keeps the copy", 2)
		r := d.as(t, &alice, "copy", "run", "--", "sh", "-c", `id -u; psql -X -At -c 'select count(*) from customer'; exit 7`)
		lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
		if r.code != 7 || len(lines) != 2 || lines[0] != strconv.Itoa(int(alice.uid)) || lines[1] != "10000" {
			t.Fatalf("copy run as %s: want exit 7, its uid and 10000 rows: %s", alice.name, r)
		}
		if cs := d.listAs(t, &alice); len(cs) != 0 {
			t.Fatalf("copy run left copies behind: %v", ids(cs))
		}
		if r := d.as(t, &alice, "copy", "run", "--keep-on-failure", "--", "sh", "-c", "exit 3"); r.code != 3 {
			t.Fatalf("copy run --keep-on-failure of a failing command: want exit 3: %s", r)
		}
		time.Sleep(200 * time.Millisecond) // the end of its hold must not take it
		cs := d.listAs(t, &alice)
		if len(cs) != 1 || cs[0].State != "running" {
			t.Fatalf("copy run --keep-on-failure: want its copy kept and running: %+v", cs)
		}
		d.mustAs(t, &alice, "copy", "destroy", cs[0].ID)
	})

	t.Run("outside the group", func(t *testing.T) {
		record(t, "security", "a user outside the socket's group is refused by the socket's permissions, with the fix", 1)
		r := d.as(t, &eve, "copy", "list")
		if r.code == 0 || !strings.Contains(r.stderr, "no permission to use the ditto daemon's socket") || !strings.Contains(r.stderr, "usermod -aG "+group) {
			t.Fatalf("copy list by a user outside group %s: want a refusal naming the fix: %s", group, r)
		}
	})

	t.Run("owners", func(t *testing.T) {
		record(t, "security", "another user cannot list, get, reset, start or destroy a user's copy (404) nor count it in status; root can", 7)
		a := d.createAs(t, &alice, "--ttl", "30m")
		passwords = append(passwords, passwordOf(t, a.DatabaseURL))
		mustPsql(t, a.DatabaseURL, "select 1")
		if cs := d.listAs(t, &alice); len(cs) != 1 || cs[0].ID != a.ID || cs[0].DatabaseURL != "" {
			t.Fatalf("alice's list: %+v, want her copy without its URL", cs)
		}
		if got := d.mustAs(t, &alice, "copy", "get", a.ID); got != a.DatabaseURL {
			t.Fatalf("alice's get: %q, want her URL", got)
		}
		if cs := d.listAs(t, &bob); len(cs) != 0 {
			t.Fatalf("bob lists alice's copies: %v", ids(cs))
		}
		for who, want := range map[*osUser]string{&alice: `"copies": 1`, &bob: `"copies": 0`} {
			if out := d.mustAs(t, who, "status", "--format", "json"); !strings.Contains(out, want) {
				t.Fatalf("%s's status: want %s: %s", who.name, want, out)
			}
		}
		for _, cmd := range [][]string{{"copy", "get", a.ID}, {"copy", "reset", a.ID}, {"copy", "start", a.ID}, {"copy", "destroy", a.ID}} {
			if r := d.as(t, &bob, cmd...); r.code == 0 || !strings.Contains(r.stderr, "no such copy") {
				t.Fatalf("bob: ditto %s: want no such copy: %s", strings.Join(cmd, " "), r)
			}
		}
		mustPsql(t, a.DatabaseURL, "select 1")
		if cs := d.listAs(t, nil); len(cs) != 1 || cs[0].ID != a.ID {
			t.Fatalf("root's list: %v, want alice's copy", ids(cs))
		}
		if got := d.mustAs(t, nil, "copy", "get", a.ID); got != a.DatabaseURL {
			t.Fatalf("root's get: %q, want the URL", got)
		}
		d.mustAs(t, nil, "copy", "destroy", a.ID)
		if cs := d.listAs(t, &alice); len(cs) != 0 {
			t.Fatalf("after root destroyed alice's copy: %v", ids(cs))
		}
	})

	t.Run("kill -9 of copy run", func(t *testing.T) {
		record(t, "faults", "kill -9 of a copy run client through the daemon: its copy is gone within seconds", 1)
		cmd := d.command(&alice, "copy", "run", "--", "sh", "-c", `echo "$DITTO_COPY_ID"; exec sleep 600`)
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		id, err := bufio.NewReader(out).ReadString('\n')
		if err != nil {
			t.Fatalf("copy run printed no copy ID: %v", err)
		}
		id = strings.TrimSpace(id)
		cmd.Process.Kill()
		cmd.Wait()
		t0 := time.Now()
		for cs := d.listAs(t, nil); len(cs) > 0; cs = d.listAs(t, nil) {
			if time.Since(t0) > 10*time.Second {
				t.Fatalf("copy %s of a killed copy run still there after 10s: %v", id, ids(cs))
			}
			time.Sleep(50 * time.Millisecond)
		}
		t.Logf("the copy of the killed client was gone after %v", time.Since(t0).Round(time.Millisecond))
	})

	t.Run("bad requests", func(t *testing.T) {
		record(t, "bad input", "malformed JSON, unknown fields, a 10 MB body, IDs with ../ and of 1000 characters, headers sent a byte a second: clean 4xx or a cut, the daemon serves on", 6)
		body := func(b string) string {
			return fmt.Sprintf("POST /v1/copies HTTP/1.1\r\nHost: d\r\nContent-Length: %d\r\n\r\n%s", len(b), b)
		}
		slow := make(chan error, 1)
		go func() {
			slow <- slowClient(d.socket, "", "GET /v1/copies HTTP/1.1\r\nHost: d\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n", 10*time.Second)
		}()
		for _, c := range []struct{ name, request, status string }{
			{"malformed JSON", body(`{"ttl":`), "400"},
			{"unknown field", body(`{"ttl":"1h","owner_uid":0}`), "400"},
			{"10 MB body", body(strings.Repeat("x", 10<<20)), "413"},
			{"id with ../", "GET /v1/copies/" + url.PathEscape("../../etc/passwd") + " HTTP/1.1\r\nHost: d\r\n\r\n", "404"},
			{"1000-character id", "DELETE /v1/copies/" + strings.Repeat("a", 1000) + " HTTP/1.1\r\nHost: d\r\n\r\n", "404"},
		} {
			a, err := rawhttp.Send(d.socket, c.request, 10*time.Second)
			if err != nil || !strings.HasPrefix(a.Status, c.status) || !strings.Contains(a.Body, `"code"`) {
				t.Errorf("%s: %+v, %v; want %s with an error code", c.name, a, err, c.status)
			}
		}
		d.mustAs(t, &alice, "copy", "list") // while the slow client holds its connection
		if err := <-slow; err != nil {
			t.Error(err)
		}
	})

	t.Run("kill -9 of the daemon", func(t *testing.T) {
		record(t, "faults", "kill -9 of the daemon, then a restart: the copies are listed and work", 1)
		a := d.createAs(t, &alice, "--ttl", "30m")
		passwords = append(passwords, passwordOf(t, a.DatabaseURL))
		d.cmd.Process.Kill()
		d.cmd.Wait()
		d.start(t) // over the stale socket
		cs := d.listAs(t, &alice)
		if len(cs) != 1 || cs[0].ID != a.ID || cs[0].State != "running" {
			t.Fatalf("after a restart alice lists %+v, want her copy running", cs)
		}
		mustPsql(t, a.DatabaseURL, "select 1")
		d.mustAs(t, &alice, "copy", "destroy", a.ID)
	})

	t.Run("SIGTERM", func(t *testing.T) {
		a := d.createAs(t, &alice, "--ttl", "30m")
		passwords = append(passwords, passwordOf(t, a.DatabaseURL))
		if err := d.stop(t, syscall.SIGTERM); err != nil {
			t.Fatalf("ditto serve after SIGTERM: %v", err)
		}
		if _, err := os.Lstat(d.socket); err == nil {
			t.Fatal("the socket is still there after the daemon stopped")
		}
		mustPsql(t, a.DatabaseURL, "select 1") // copies outlive the daemon
		f.must("copy", "destroy", a.ID)
	})

	d.assertNoSecrets(t, passwords)
}

// slowClient sends fast at once, then slow a byte a second, and expects
// the daemon to be done with it (answer and hang up) within the given
// time: a client this slow must not hold a connection.
func slowClient(sock, fast, slow string, within time.Duration) error {
	conn, err := net.Dial("unix", sock)
	if err != nil {
		return err
	}
	defer conn.Close()
	if _, err := conn.Write([]byte(fast)); err != nil {
		return err
	}
	t0 := time.Now()
	for _, b := range []byte(slow) {
		if _, err := conn.Write([]byte{b}); err != nil {
			break
		}
		time.Sleep(time.Second)
		conn.SetReadDeadline(time.Now().Add(time.Millisecond))
		if _, err := io.ReadAll(conn); !os.IsTimeout(err) {
			break // hung up on
		}
		if time.Since(t0) > 2*within {
			return fmt.Errorf("a client sending %q a byte a second held a connection for %v", slow, time.Since(t0))
		}
	}
	if took := time.Since(t0); took > within {
		return fmt.Errorf("the daemon hung up on a client sending %q a byte a second only after %v", slow, took)
	}
	return nil
}
