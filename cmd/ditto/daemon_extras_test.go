package main

import (
	"bufio"
	"encoding/json"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/dittodb/ditto/internal/rawhttp"
)

// scrape reads the daemon's /metrics, as Prometheus parses them.
func (d *daemonProc) scrape(t *testing.T) map[string]*dto.MetricFamily {
	t.Helper()
	a, err := rawhttp.Send(d.socket, "GET /metrics HTTP/1.1\r\nHost: d\r\n\r\n", 10*time.Second)
	if err != nil || !strings.HasPrefix(a.Status, "200") {
		t.Fatalf("GET /metrics: %+v, %v", a, err)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	mf, err := p.TextToMetricFamilies(strings.NewReader(a.Body))
	if err != nil {
		t.Fatalf("/metrics does not parse: %v\n%s", err, a.Body)
	}
	return mf
}

// copiesRunning is the copies gauge's running series; creates, the create
// histogram's count.
func copiesRunning(mf map[string]*dto.MetricFamily) float64 {
	for _, m := range mf["ditto_copies"].GetMetric() {
		for _, l := range m.GetLabel() {
			if l.GetName() == "state" && l.GetValue() == "running" {
				return m.GetGauge().GetValue()
			}
		}
	}
	return -1
}

func creates(mf map[string]*dto.MetricFamily) uint64 {
	if h := mf["ditto_copy_create_seconds"]; h != nil && len(h.GetMetric()) == 1 {
		return h.GetMetric()[0].GetHistogram().GetSampleCount()
	}
	return 0
}

type eventInfo struct {
	Event    string `json:"event"`
	Actor    string `json:"actor"`
	ActorUID *int   `json:"actor_uid"`
}

// TestDaemonCopyInfo: through a real daemon, a copy's owner extends its
// TTL, reads its events (also once it is gone) and its server log (also
// followed until it is destroyed), another user can do none of it; CI run
// labels from the client's environment show in copy list; /metrics counts
// the copies and creates.
func TestDaemonCopyInfo(t *testing.T) {
	f := goldenFixture(t)
	allowTraverse(t, dittoBin)
	group, gid := newGroup(t)
	member := map[string]uint32{group: gid}
	suffix := strconv.Itoa(os.Getpid() % 100000)
	alice, bob := newUser(t, "dia"+suffix, member), newUser(t, "dib"+suffix, member)
	d := f.startDaemon(t, group)

	before := d.scrape(t)
	cmd := d.command(&alice, "copy", "create", "--format", "json", "--ttl", "10m")
	cmd.Env = append(cmd.Env, "GITHUB_RUN_ID=4242", "GITHUB_REPOSITORY=acme/shop")
	r := runDitto(t, cmd)
	var a copyInfo
	if r.code != 0 || json.Unmarshal([]byte(r.stdout), &a) != nil {
		t.Fatalf("copy create with GITHUB_RUN_ID set: %s", r)
	}
	password := passwordOf(t, a.DatabaseURL)

	t.Run("CI labels", func(t *testing.T) {
		cs := d.listAs(t, &alice)
		if len(cs) != 1 || cs[0].Labels["ci.run_id"] != "4242" || cs[0].Labels["ci.provider"] != "github" || cs[0].Labels["ci.repository"] != "acme/shop" {
			t.Fatalf("copy list --format json: %+v, want the GitHub run's labels", cs)
		}
		if out := d.mustAs(t, &alice, "copy", "list"); !strings.Contains(out, "ci.run_id=4242") {
			t.Fatalf("copy list shows no CI label:\n%s", out)
		}
	})

	t.Run("metrics", func(t *testing.T) {
		after := d.scrape(t)
		if got, was := copiesRunning(after), copiesRunning(before); got != was+1 {
			t.Fatalf("ditto_copies{state=running}: %v after a create, was %v", got, was)
		}
		if got, was := creates(after), creates(before); got != was+1 {
			t.Fatalf("ditto_copy_create_seconds count: %d after a create, was %d", got, was)
		}
		for _, name := range []string{"ditto_pool_free_bytes", "ditto_pool_size_bytes", "ditto_golden_age_seconds", "ditto_api_requests_total"} {
			if after[name] == nil {
				t.Errorf("/metrics lacks %s", name)
			}
		}
	})

	t.Run("extend", func(t *testing.T) {
		out := d.mustAs(t, &alice, "copy", "extend", a.ID, "--ttl", "2h")
		exp, err := time.Parse(time.RFC3339, out)
		if err != nil || exp.Before(time.Now().Add(110*time.Minute)) || exp.After(time.Now().Add(121*time.Minute)) {
			t.Fatalf("copy extend --ttl 2h printed %q, want about 2 hours from now", out)
		}
		if cs := d.listAs(t, &alice); len(cs) != 1 || cs[0].ExpiresAt == nil || !cs[0].ExpiresAt.Truncate(time.Second).Equal(exp) {
			t.Fatalf("after extend, copy list: %+v, want it to expire %v", cs, exp)
		}
		if r := d.as(t, &bob, "copy", "extend", a.ID, "--ttl", "0"); r.code == 0 || !strings.Contains(r.stderr, "no such copy") {
			t.Fatalf("bob extends alice's copy: want no such copy: %s", r)
		}
		req := `{"ttl":"0"}`
		a404, err := rawhttp.Send(d.socket, "POST /v1/copies/"+a.ID+"/extend HTTP/1.1\r\nHost: d\r\nContent-Length: "+strconv.Itoa(len(req))+"\r\n\r\n"+req, 10*time.Second)
		if err != nil || !strings.HasPrefix(a404.Status, "200") {
			t.Fatalf("root extends through the API: %+v, %v", a404, err)
		}
	})

	t.Run("logs", func(t *testing.T) {
		if out := d.mustAs(t, &alice, "copy", "logs", a.ID); !strings.Contains(out, "ready to accept connections") {
			t.Fatalf("copy logs: %q, want the server's log", out)
		}
		if r := d.as(t, &bob, "copy", "logs", a.ID); r.code == 0 || !strings.Contains(r.stderr, "no such copy") || r.stdout != "" {
			t.Fatalf("bob reads alice's copy's log: want no such copy: %s", r)
		}
	})

	t.Run("reset and destroy, events", func(t *testing.T) {
		follow := d.command(&alice, "copy", "logs", "--follow", a.ID)
		out, err := follow.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := follow.Start(); err != nil {
			t.Fatal(err)
		}
		defer follow.Process.Kill()
		lines := bufio.NewScanner(out)
		d.mustAs(t, nil, "copy", "reset", a.ID)
		d.mustAs(t, &alice, "copy", "destroy", a.ID)
		sawRestart := false
		for lines.Scan() { // ends when the daemon ends the stream
			sawRestart = sawRestart || strings.Contains(lines.Text(), "shutdown")
		}
		if err := follow.Wait(); err != nil {
			t.Fatalf("copy logs --follow did not end cleanly when its copy was destroyed: %v", err)
		}
		if !sawRestart {
			t.Error("the followed log did not show the reset's shutdown")
		}

		js := d.mustAs(t, &alice, "copy", "events", a.ID, "--format", "json")
		if strings.Contains(js, password) {
			t.Fatal("the events hold the copy's password")
		}
		var es []eventInfo
		if err := json.Unmarshal([]byte(js), &es); err != nil {
			t.Fatalf("copy events --format json: %q: %v", js, err)
		}
		var got []string
		for _, e := range es {
			got = append(got, e.Event+" by "+e.Actor)
		}
		want := []string{"created by " + alice.name, "ready by " + alice.name, "extended by " + alice.name, "extended by root", "reset by root", "destroyed by " + alice.name}
		if strings.Join(got, ", ") != strings.Join(want, ", ") {
			t.Fatalf("events of a destroyed copy:\n  %s\nwant\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
		}
		if es[0].ActorUID == nil || *es[0].ActorUID != int(alice.uid) {
			t.Fatalf("the create's actor uid: %v, want %d", es[0].ActorUID, alice.uid)
		}
		if r := d.as(t, &bob, "copy", "events", a.ID); r.code == 0 || !strings.Contains(r.stderr, "no such copy") {
			t.Fatalf("bob reads the events of alice's copy: want no such copy: %s", r)
		}
		if out := d.mustAs(t, nil, "copy", "events", a.ID); !strings.Contains(out, "destroyed") {
			t.Fatalf("root's copy events: %q", out)
		}
		after := d.scrape(t)
		if got, was := copiesRunning(after), copiesRunning(before); got != was {
			t.Fatalf("ditto_copies{state=running}: %v after the destroy, want %v as before the create", got, was)
		}
		if after["ditto_copy_destroy_seconds"].GetMetric()[0].GetHistogram().GetSampleCount() < 1 {
			t.Fatal("no destroy counted")
		}
	})

	t.Run("direct mode", func(t *testing.T) {
		f := f.with(t)
		c := f.create("--ttl", "5m")
		defer f.run("copy", "destroy", c.ID)
		if out := f.must("copy", "extend", c.ID, "--ttl", "0"); out != "never" {
			t.Fatalf("copy extend --ttl 0 in direct mode: %q, want never", out)
		}
		if out := f.must("copy", "logs", c.ID); !strings.Contains(out, "ready to accept connections") {
			t.Fatalf("copy logs in direct mode: %q", out)
		}
		if out := f.must("copy", "events", c.ID); !strings.Contains(out, "extended") || !strings.Contains(out, "root") {
			t.Fatalf("copy events in direct mode: %q, want the extend by root", out)
		}
		if out := f.must("golden", "list"); !strings.Contains(out, "dump") {
			t.Fatalf("golden list in direct mode: %q", out)
		}
	})

	t.Run("goldens", func(t *testing.T) {
		var gs []struct {
			Generation string `json:"generation"`
			Current    bool   `json:"current"`
			SourceKind string `json:"source_kind"`
			Copies     int    `json:"copies"`
		}
		out := d.mustAs(t, &bob, "golden", "list", "--format", "json")
		if err := json.Unmarshal([]byte(out), &gs); err != nil || len(gs) != 1 || !gs[0].Current || gs[0].SourceKind != "dump" || gs[0].Copies != 0 {
			t.Fatalf("golden list: %q, %v", out, err)
		}
		if out := d.mustAs(t, &bob, "golden", "list"); !strings.Contains(out, gs[0].Generation) {
			t.Fatalf("golden list: %q", out)
		}
	})
}
