package main

import (
	"bufio"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// testHost is a network namespace joined to this machine by a veth pair:
// a second host of the test's own, so that a non-loopback address of this
// machine can be tried without sending traffic anywhere else.
type testHost struct {
	ns, hostIP, peerIP string
}

func newTestHost(t *testing.T) testHost {
	h := testHost{ns: fmt.Sprintf("dt%d", os.Getpid()%100000), hostIP: "10.213.7.1", peerIP: "10.213.7.2"}
	veth := "v" + h.ns
	run := func(args ...string) {
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %v: %v: %s", args, err, out)
		}
	}
	t.Cleanup(func() {
		exec.Command("ip", "link", "del", veth).Run()
		exec.Command("ip", "netns", "del", h.ns).Run()
	})
	run("netns", "add", h.ns)
	run("link", "add", veth, "type", "veth", "peer", "name", "p"+h.ns)
	run("link", "set", "p"+h.ns, "netns", h.ns)
	run("addr", "add", h.hostIP+"/30", "dev", veth)
	run("link", "set", veth, "up")
	run("-n", h.ns, "addr", "add", h.peerIP+"/30", "dev", "p"+h.ns)
	run("-n", h.ns, "link", "set", "p"+h.ns, "up")
	run("-n", h.ns, "link", "set", "lo", "up")
	return h
}

// psql runs psql inside the test host against this machine's veth address.
func (h testHost) psql(port int, user, password, db string) (string, error) {
	cmd := exec.Command("ip", "netns", "exec", h.ns, "psql", "-X", "-w", "-At",
		"-h", h.hostIP, "-p", fmt.Sprint(port), "-U", user, "-d", db, "-c", "select 1")
	cmd.Env = append(os.Environ(), "PGCONNECT_TIMEOUT=5")
	if password != "" {
		cmd.Env = append(cmd.Env, "PGPASSWORD="+password)
	}
	out, err := cmd.CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

func TestAccess(t *testing.T) {
	f := goldenFixture(t)
	host := newTestHost(t)

	t.Run("loopback only by default", func(t *testing.T) {
		record(t, "access", "connect to a default copy from another host (non-loopback address)", 1)
		c := f.with(t).create()
		if out, err := host.psql(c.Port, "ditto", passwordOf(t, c.DatabaseURL), "sample"); err == nil {
			t.Fatalf("a copy listening on 127.0.0.1 answered on %s: %s", host.hostIP, out)
		}
		for _, addr := range listeners(t, c.Port) {
			if addr != "127.0.0.1" {
				t.Fatalf("copy listens on %s, want 127.0.0.1 only", addr)
			}
		}
		f.with(t).must("copy", "destroy", c.ID)
	})

	t.Run("password required over TCP", func(t *testing.T) {
		record(t, "access", "TCP logins without password, with a wrong one, with another copy's", 3)
		f := f.with(t)
		a := f.create("--listen", host.hostIP)
		b := f.create("--listen", host.hostIP)
		if out, err := host.psql(a.Port, "ditto", passwordOf(t, a.DatabaseURL), "sample"); err != nil || out != "1" {
			t.Fatalf("the right password was refused: %v %s", err, out)
		}
		for name, pw := range map[string]string{"none": "", "wrong": "not-the-password", "other copy's": passwordOf(t, b.DatabaseURL)} {
			if out, err := host.psql(a.Port, "ditto", pw, "sample"); err == nil {
				t.Fatalf("login with %s password accepted: %s", name, out)
			}
		}
		f.must("copy", "destroy", a.ID, b.ID)
	})

	t.Run("files are private", func(t *testing.T) {
		record(t, "access", "read state dir, records, sockets, data dirs, logs as another OS user", 5)
		f := f.with(t)
		c := f.create()
		id := c.ID
		paths := []string{
			f.home,
			filepath.Join(f.home, "copies", id+".json"),
			filepath.Join(f.home, "run", id),
			filepath.Join(f.home, "logs", id+".log"),
			filepath.Join(f.home, "config.json"),
		}
		if os.Getenv("DITTO_TEST_ZFS_POOL") == "" {
			paths = append(paths, filepath.Join(f.pool, "copies", id, "pgdata"), filepath.Join(f.pool, "golden"))
		}
		for _, p := range paths {
			out, err := exec.Command("setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", "ls", "-la", p).CombinedOutput()
			if err == nil || !strings.Contains(string(out), "Permission denied") {
				t.Fatalf("user nobody can list %s: %v %s", p, err, out)
			}
		}
		f.must("copy", "destroy", id)
	})

	t.Run("passwords never leak", func(t *testing.T) {
		record(t, "access", "search logs, ps output and world-readable files for copy passwords", 3)
		f := f.with(t)
		r := f.run("copy", "run", "--", "bash", "-c", `cat /proc/[0-9]*/cmdline 2>/dev/null | tr '\0' ' '; echo; printf 'PW=%s\n' "$PGPASSWORD"`)
		if r.code != 0 {
			t.Fatal(r)
		}
		pw := r.stdout[strings.LastIndex(r.stdout, "PW=")+3:]
		pw = strings.TrimSpace(pw)
		if len(pw) < 16 {
			t.Fatalf("implausible password %q", pw)
		}
		if strings.Contains(r.stdout[:strings.LastIndex(r.stdout, "PW=")], pw) {
			t.Fatal("the copy's password appears in a process's command line")
		}
		if strings.Contains(r.stderr, pw) {
			t.Fatal("the copy's password appears in ditto's log")
		}
		c := f.create()
		pw = passwordOf(t, c.DatabaseURL)
		filepath.WalkDir(f.home, func(p string, d fs.DirEntry, err error) error {
			if err != nil || !d.Type().IsRegular() {
				return nil
			}
			info, _ := d.Info()
			b, _ := os.ReadFile(p)
			if strings.Contains(string(b), pw) && (info.Mode().Perm()&0o077 != 0 || !strings.Contains(p, "/copies/")) {
				t.Fatalf("%s (mode %v) holds the copy's password", p, info.Mode().Perm())
			}
			return nil
		})
		f.must("copy", "destroy", c.ID)
	})
}

func passwordOf(t *testing.T, url string) string {
	rest := strings.TrimPrefix(url, "postgres://ditto:")
	i := strings.Index(rest, "@")
	if i < 0 {
		t.Fatalf("no password in %s", url)
	}
	return rest[:i]
}

// listeners returns the IPv4 addresses on which something listens on port,
// from /proc/net/tcp.
func listeners(t *testing.T, port int) []string {
	file, err := os.Open("/proc/net/tcp")
	if err != nil {
		t.Fatal(err)
	}
	defer file.Close()
	var addrs []string
	sc := bufio.NewScanner(file)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 4 || fields[3] != "0A" { // 0A: LISTEN
			continue
		}
		var ip uint32
		var p int
		if _, err := fmt.Sscanf(fields[1], "%X:%X", &ip, &p); err != nil || p != port {
			continue
		}
		addrs = append(addrs, fmt.Sprintf("%d.%d.%d.%d", ip&0xff, ip>>8&0xff, ip>>16&0xff, ip>>24))
	}
	if len(addrs) == 0 {
		t.Fatalf("nothing listens on port %d", port)
	}
	return addrs
}
