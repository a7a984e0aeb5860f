package main

import (
	"crypto/tls"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/dittodb/ditto/internal/tlsca"
)

// remoteClient runs commands in a test host (a network namespace) as a
// runner on another machine would: it reaches the daemon only through its
// TLS listener.
type remoteClient struct {
	host   testHost
	server string // https://HOST:PORT
	caFile string // the daemon's CA, as an admin would hand it out
	cache  string // the client's XDG_CACHE_HOME
}

func (rc remoteClient) command(token string, args ...string) *exec.Cmd {
	cmd := exec.Command("ip", append([]string{"netns", "exec", rc.host.ns}, args...)...)
	cmd.Env = append(commandEnv(os.Environ()), "XDG_CACHE_HOME="+rc.cache, "PGCONNECT_TIMEOUT=5")
	if token != "" {
		cmd.Env = append(cmd.Env, "DITTO_TOKEN="+token)
	}
	return cmd
}

// ditto runs the ditto client in the test host with token.
func (rc remoteClient) ditto(t *testing.T, token string, args ...string) result {
	t.Helper()
	return runDitto(t, rc.command(token, append([]string{dittoBin, "--server", rc.server, "--ca-file", rc.caFile}, args...)...))
}

// curl asks the daemon's listener from the test host and returns the
// HTTP status and body; an error when no HTTP answer came.
func (rc remoteClient) curl(t *testing.T, url string, header ...string) (int, string, error) {
	t.Helper()
	args := []string{"curl", "-sS", "--max-time", "10", "--cacert", rc.caFile, "-o", "-", "-w", "\n%{http_code}"}
	for _, h := range header {
		args = append(args, "-H", h)
	}
	out, err := rc.command("", append(args, url)...).CombinedOutput()
	s := strings.TrimSpace(string(out))
	i := strings.LastIndexByte(s, '\n')
	var code int
	fmt.Sscan(s[i+1:], &code)
	if err != nil {
		return code, s, fmt.Errorf("curl %s: %v: %s", url, err, s)
	}
	return code, s[:max(i, 0)], nil
}

// freePort returns a TCP port free on ip.
func freePort(t *testing.T, ip string) int {
	t.Helper()
	l, err := net.Listen("tcp", ip+":0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// TestRemote: a runner on another machine, with a token, gets copies over
// TLS and reaches them with sslmode=verify-full; requests without a valid
// token get one and the same 401, plain HTTP gets no API answer, a copy
// refuses logins without TLS from other hosts, and tokens see only their
// own copies.
func TestRemote(t *testing.T) {
	f := goldenFixture(t)
	host := newTestHost(t)
	group, _ := newGroup(t)
	port := freePort(t, host.hostIP)
	addr := fmt.Sprintf("%s:%d", host.hostIP, port)
	d := f.startDaemon(t, group, "--api-listen", addr)

	tmp := t.TempDir()
	rc := remoteClient{host: host, server: "https://" + addr, caFile: filepath.Join(tmp, "ca.pem"), cache: filepath.Join(tmp, "cache")}
	ca, err := os.ReadFile(filepath.Join(f.home, "tls", "ca.pem"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(rc.caFile, ca, 0o644); err != nil {
		t.Fatal(err)
	}
	if log, _ := os.ReadFile(d.log); !strings.Contains(string(log), "ca_sha256=") {
		t.Fatalf("the daemon did not log its CA's fingerprint:\n%s", log)
	}

	token := func(args ...string) string {
		return f.must(append([]string{"token", "create"}, args...)...)
	}
	alice, bob, admin := token("alice"), token("bob"), token("--admin", "ops")
	revoked := token("gone")
	f.must("token", "revoke", "gone")
	expired := token("--ttl", "1s", "brief")
	secrets := []string{alice, bob, admin, revoked, expired}
	time.Sleep(1100 * time.Millisecond) // past the brief token's expiry

	t.Run("token list shows no secret", func(t *testing.T) {
		record(t, "remote", "token list (table, json) and the token file hold no secret", 3)
		list := f.must("token", "list") + f.must("token", "list", "--format", "json")
		stored, _ := os.ReadFile(filepath.Join(f.home, "tokens.json"))
		for _, s := range secrets {
			body := strings.TrimPrefix(s, "ditto_")
			if strings.Contains(list, body) || strings.Contains(string(stored), body) {
				t.Fatalf("a token's secret is shown or stored: %s", list)
			}
		}
		for _, name := range []string{"alice", "bob", "ops", "brief"} {
			if !strings.Contains(list, name) {
				t.Fatalf("token list lacks %s:\n%s", name, list)
			}
		}
		if strings.Contains(list, "gone") {
			t.Fatalf("token list shows a revoked token:\n%s", list)
		}
	})

	t.Run("no valid token, one 401", func(t *testing.T) {
		record(t, "remote", "requests without a token, with a wrong, a revoked and an expired one", 4)
		first := ""
		for what, h := range map[string][]string{
			"none":    nil,
			"wrong":   {"Authorization: Bearer ditto_notatoken"},
			"revoked": {"Authorization: Bearer " + revoked},
			"expired": {"Authorization: Bearer " + expired},
			"basic":   {"Authorization: Basic " + alice},
		} {
			code, body, err := rc.curl(t, rc.server+"/v1/copies", h...)
			if err != nil || code != 401 || !strings.Contains(body, `"code":"unauthorized"`) {
				t.Fatalf("%s token: %d %s %v; want 401 unauthorized", what, code, body, err)
			}
			if first == "" {
				first = body
			} else if body != first {
				t.Fatalf("the answers differ, which tells one token from another:\n%s\n%s", first, body)
			}
		}
		if r := rc.ditto(t, revoked, "copy", "list"); r.code == 0 || !strings.Contains(r.stderr, "no valid token") {
			t.Fatalf("the CLI with a revoked token: %s", r)
		}
	})

	t.Run("CA without a token", func(t *testing.T) {
		code, body, err := rc.curl(t, rc.server+"/v1/ca.pem")
		if err != nil || code != 200 || strings.TrimSpace(body) != strings.TrimSpace(string(ca)) {
			t.Fatalf("GET /v1/ca.pem: %d %v\n%s", code, err, body)
		}
	})

	t.Run("CA pinned by its fingerprint", func(t *testing.T) {
		record(t, "remote", "the client pins ditto's CA by its SHA-256: the right one, a wrong one", 2)
		block, _ := pem.Decode(ca)
		fp := tlsca.Fingerprint(block.Bytes)
		if log, _ := os.ReadFile(d.log); !strings.Contains(string(log), fp) {
			t.Fatalf("the daemon's log lacks the CA's fingerprint %s", fp)
		}
		pinned := func(fp string) result {
			return runDitto(t, rc.command(alice, dittoBin, "--server", rc.server, "--ca-fingerprint", fp, "copy", "list", "--format", "json"))
		}
		if r := pinned(strings.ToLower(strings.ReplaceAll(fp, ":", ""))); r.code != 0 || strings.TrimSpace(r.stdout) != "[]" {
			t.Fatalf("copy list with the CA's fingerprint: %s", r)
		}
		wrong := "00" + fp[2:]
		if r := pinned(wrong); r.code == 0 || !strings.Contains(r.stderr, "not the --ca-fingerprint") {
			t.Fatalf("copy list with a wrong fingerprint: %s", r)
		}
	})

	t.Run("plain HTTP gets no API answer", func(t *testing.T) {
		record(t, "remote", "plain HTTP to the TLS port", 1)
		code, body, _ := rc.curl(t, "http://"+addr+"/v1/copies", "Authorization: Bearer "+alice)
		if code == 200 || code == 401 || strings.Contains(body, `"code"`) || strings.Contains(body, "[") {
			t.Fatalf("plain HTTP was served: %d %s", code, body)
		}
	})

	t.Run("a copy over TLS, verify-full", func(t *testing.T) {
		record(t, "remote", "copy run from another host: TLS connection with sslmode=verify-full, copy gone after", 1)
		r := rc.ditto(t, alice, "copy", "run", "--", "sh", "-c",
			`psql -X -w -At -c "select ssl from pg_stat_ssl where pid = pg_backend_pid()" && echo "URL=$DATABASE_URL" && echo "MODE=$PGSSLMODE" && echo "TOKEN=${DITTO_TOKEN:-none}"`)
		if r.code != 0 || !strings.HasPrefix(r.stdout, "t\n") || !strings.Contains(r.stdout, "sslmode=verify-full") ||
			!strings.Contains(r.stdout, "sslrootcert="+rc.cache) || !strings.Contains(r.stdout, "MODE=verify-full") ||
			!strings.Contains(r.stdout, "TOKEN=none") {
			t.Fatalf("copy run over TLS: %s", r)
		}
		for deadline := time.Now().Add(10 * time.Second); len(d.listAs(t, nil)) != 0; time.Sleep(50 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("copies left 10s after copy run: %v", ids(d.listAs(t, nil)))
			}
		}
	})

	t.Run("owners and plain Postgres", func(t *testing.T) {
		record(t, "remote", "token B reads token A's copy; non-TLS login from another host", 2)
		r := rc.ditto(t, alice, "copy", "create", "--format", "json")
		if r.code != 0 {
			t.Fatal(r)
		}
		var c copyInfo
		if err := json.Unmarshal([]byte(r.stdout), &c); err != nil {
			t.Fatal(err)
		}
		defer f.must("copy", "destroy", c.ID)
		if c.Sandbox != "full" {
			t.Fatalf("the TLS copy's server runs with sandbox %q, want full", c.Sandbox)
		}
		// verify-full against the copy's own certificate, with psql
		out, err := rc.command("", "psql", "-X", "-w", "-At", c.DatabaseURL, "-c", "select 1").CombinedOutput()
		if err != nil || strings.TrimSpace(string(out)) != "1" {
			t.Fatalf("psql with the copy's URL: %v %s", err, out)
		}
		pw := passwordOf(t, c.DatabaseURL)
		plain := rc.command("", "psql", "-X", "-w", "-At", "-h", host.hostIP, "-p", fmt.Sprint(c.Port), "-U", "ditto", "-d", "sample", "-c", "select 1")
		plain.Env = append(plain.Env, "PGPASSWORD="+pw, "PGSSLMODE=disable")
		if out, err := plain.CombinedOutput(); err == nil || !strings.Contains(string(out), "no encryption") {
			t.Fatalf("a login without TLS from another host: %v %s", err, out)
		}

		copyURL := rc.server + "/v1/copies/" + c.ID
		if code, body, err := rc.curl(t, copyURL, "Authorization: Bearer "+bob); err != nil || code != 404 {
			t.Fatalf("token bob got alice's copy: %d %s %v", code, body, err)
		}
		if code, body, err := rc.curl(t, rc.server+"/v1/copies", "Authorization: Bearer "+bob); err != nil || code != 200 || strings.TrimSpace(body) != "[]" {
			t.Fatalf("token bob's list: %d %s %v", code, body, err)
		}
		if r := rc.ditto(t, bob, "copy", "destroy", c.ID); r.code == 0 {
			t.Fatalf("token bob destroyed alice's copy: %s", r)
		}
		code, body, err := rc.curl(t, copyURL, "Authorization: Bearer "+admin)
		if err != nil || code != 200 || strings.Contains(body, "database_url") || !strings.Contains(body, `"owner":"token:alice"`) {
			t.Fatalf("the admin token on alice's copy: %d %s %v; want it, without its URL", code, body, err)
		}
		// a local user of the socket is not the token's owner either
		if cs := d.listAs(t, nil); len(cs) != 1 {
			t.Fatalf("root sees %v", ids(cs))
		}

		// the copy's owner can read its key (its server does); with it, a
		// server of theirs on the daemon's address is refused by the client
		run := filepath.Join(f.home, "run", c.ID)
		pair, err := tls.LoadX509KeyPair(filepath.Join(run, "server.crt"), filepath.Join(run, "server.key"))
		if err != nil {
			t.Fatal(err)
		}
		ln, err := tls.Listen("tcp", host.hostIP+":0", &tls.Config{Certificates: []tls.Certificate{pair}})
		if err != nil {
			t.Fatal(err)
		}
		fake := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("[]")) })}
		go fake.Serve(ln)
		defer fake.Close()
		r = runDitto(t, rc.command(alice, dittoBin, "--server", "https://"+ln.Addr().String(), "--ca-file", rc.caFile, "copy", "list"))
		if r.code == 0 || !strings.Contains(r.stderr, "poses as the daemon") {
			t.Fatalf("the client trusted a copy's certificate as the API's: %s", r)
		}
	})

	t.Run("a killed or cut-off client loses its copy", func(t *testing.T) {
		record(t, "remote", "kill -9 of a remote copy run client; the network to one cut", 2)
		copies := func(n int, within time.Duration) bool {
			for deadline := time.Now().Add(within); len(d.listAs(t, nil)) != n; time.Sleep(100 * time.Millisecond) {
				if time.Now().After(deadline) {
					return false
				}
			}
			return true
		}
		run := func() *exec.Cmd {
			cmd := rc.command(alice, dittoBin, "--server", rc.server, "--ca-file", rc.caFile, "copy", "run", "--", "sleep", "300")
			cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() {
				syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
				cmd.Wait()
			})
			if !copies(1, 30*time.Second) {
				t.Fatal("no copy 30s after copy run started")
			}
			return cmd
		}
		cmd := run()
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		if !copies(0, 10*time.Second) {
			t.Fatalf("the copy of a killed client still exists after 10s: %v", ids(d.listAs(t, nil)))
		}
		run()
		veth := "v" + host.ns
		if out, err := exec.Command("ip", "link", "set", veth, "down").CombinedOutput(); err != nil {
			t.Fatalf("ip link set %s down: %v %s", veth, err, out)
		}
		defer exec.Command("ip", "link", "set", veth, "up").Run()
		cut := time.Now()
		if !copies(0, 90*time.Second) {
			t.Fatalf("the copy of a cut-off client still exists after 90s: %v", ids(d.listAs(t, nil)))
		}
		t.Logf("the copy of the cut-off client went %s after the cut", time.Since(cut).Round(time.Second))
	})

	if log, _ := os.ReadFile(d.log); len(log) > 0 {
		for _, s := range secrets {
			if strings.Contains(string(log), strings.TrimPrefix(s, "ditto_")) {
				t.Fatal("the daemon logged a token")
			}
		}
	}
}
