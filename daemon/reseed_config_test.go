package daemon

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dittodb/ditto"
)

func TestReseedConfig(t *testing.T) {
	dir := t.TempDir()
	secret := filepath.Join(dir, "source-url")
	if err := os.WriteFile(secret, []byte("postgres://reader:s3cret@db.internal/app\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	public := filepath.Join(dir, "public-url")
	if err := os.WriteFile(public, []byte("postgres://reader:s3cret@db.internal/app\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("DITTO_TEST_SOURCE", "postgres://reader:envpw@db.internal/app")
	t.Setenv("DITTO_TEST_EMPTY", "")

	good := []struct {
		c          ReseedConfig
		url, shown string
	}{
		{ReseedConfig{SourceURL: "file:" + secret, Every: "24h"}, "postgres://reader:s3cret@db.internal/app", "postgres://reader:xxxxx@db.internal/app"},
		{ReseedConfig{SourceURL: "env:DITTO_TEST_SOURCE", Daily: "03:00"}, "postgres://reader:envpw@db.internal/app", "postgres://reader:xxxxx@db.internal/app"},
		{ReseedConfig{SourceURL: "postgres://reader@db.internal/app"}, "postgres://reader@db.internal/app", "postgres://reader@db.internal/app"},
		{ReseedConfig{Dump: "/srv/app.dump", Rules: secret, Jobs: 4, OnFailure: []string{"/bin/sh", "-c", "logger failed"}}, "", "/srv/app.dump"},
	}
	for _, g := range good {
		r, err := g.c.Reseeding()
		if err != nil {
			t.Errorf("%+v: %v", g.c, err)
			continue
		}
		if r.Options.SourceURL != g.url || r.Source != g.shown {
			t.Errorf("%+v: url %q shown as %q; want %q shown as %q", g.c, r.Options.SourceURL, r.Source, g.url, g.shown)
		}
	}

	bad := []struct {
		c    ReseedConfig
		want string // in the error: the key, and what is wrong
	}{
		{ReseedConfig{}, "reseed.source_url"},
		{ReseedConfig{SourceURL: "postgres://reader:inline@db/app"}, "reseed.source_url: postgres://reader:xxxxx@db/app carries a password inline"},
		{ReseedConfig{SourceURL: "postgres://reader@db/app?password=inline"}, "carries a password inline"},
		{ReseedConfig{SourceURL: "host=db user=reader password=inline"}, "carries a password inline"},
		{ReseedConfig{SourceURL: "env:DITTO_TEST_UNSET_VARIABLE"}, "reseed.source_url: the environment variable DITTO_TEST_UNSET_VARIABLE is empty"},
		{ReseedConfig{SourceURL: "env:DITTO_TEST_EMPTY"}, "DITTO_TEST_EMPTY is empty"},
		{ReseedConfig{SourceURL: "file:" + filepath.Join(dir, "missing")}, "reseed.source_url: open"},
		{ReseedConfig{SourceURL: "file:relative/path"}, "not an absolute path"},
		{ReseedConfig{SourceURL: "file:" + public}, "readable by every user"},
		{ReseedConfig{SourceURL: "env:DITTO_TEST_SOURCE", Dump: "/srv/a.dump"}, "reseed.dump: give either"},
		{ReseedConfig{Dump: "app.dump"}, "reseed.dump: \"app.dump\" is not an absolute path"},
		{ReseedConfig{Dump: "/a.dump", Rules: "mask.yaml"}, "reseed.rules"},
		{ReseedConfig{Dump: "/a.dump", KeepDump: "/kept.dump"}, "reseed.keep_dump"},
		{ReseedConfig{Dump: "/a.dump", Jobs: -1}, "reseed.jobs"},
		{ReseedConfig{Dump: "/a.dump", Every: "daily"}, "reseed.every: \"daily\" is not a duration"},
		{ReseedConfig{Dump: "/a.dump", Every: "10ms"}, "reseed.every: 10ms is shorter"},
		{ReseedConfig{Dump: "/a.dump", Daily: "25:00"}, "reseed.daily"},
		{ReseedConfig{Dump: "/a.dump", Daily: "3am"}, "reseed.daily"},
		{ReseedConfig{Dump: "/a.dump", Every: "1h", Daily: "03:00"}, "reseed.daily: give either"},
		{ReseedConfig{Dump: "/a.dump", OnFailure: []string{"notify-send", "x"}}, "reseed.on_failure"},
		{ReseedConfig{Dump: "/a.dump", OnFailure: []string{"/usr/bin/no-such-notifier"}}, "reseed.on_failure: /usr/bin/no-such-notifier is not an executable"},
		{ReseedConfig{Dump: "/a.dump", OnFailure: []string{secret}}, "is not an executable"},
		{ReseedConfig{Dump: "/a.dump", Rules: "/etc/ditto/no-such-mask.yaml"}, "reseed.rules: stat /etc/ditto/no-such-mask.yaml"},
		{ReseedConfig{Dump: "/a.dump", AfterRestore: "/etc/ditto/no-such.sql"}, "reseed.after_restore: stat /etc/ditto/no-such.sql"},
		{ReseedConfig{Dump: "/a.dump", AfterRestore: "mark.sql"}, "reseed.after_restore: \"mark.sql\" is not an absolute path"},
	}
	for _, b := range bad {
		_, err := b.c.Reseeding()
		if err == nil || !strings.Contains(err.Error(), b.want) {
			t.Errorf("%+v: %v; want an error with %q", b.c, err, b.want)
		}
		if err != nil && strings.Contains(err.Error(), "inline@") {
			t.Errorf("the error shows the password: %v", err)
		}
	}
}

func TestReseedSectionInFile(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "serve.yaml")
	text := "reseed:\n  dump: /srv/app.dump\n  every: 2s\n  on_failure: [/bin/sh, -c, 'echo failed']\n"
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := LoadConfig(p, false)
	if err != nil {
		t.Fatal(err)
	}
	r, err := c.Reseed.Reseeding()
	if err != nil || r.Schedule.Every != 2*time.Second || len(r.OnFailure) != 3 {
		t.Fatalf("got %+v, %v", r, err)
	}
	if err := os.WriteFile(p, []byte("reseed:\n  dump: /a\n  evry: 2s\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadConfig(p, false); err == nil || !strings.Contains(err.Error(), "evry") {
		t.Fatalf("a misspelt key in reseed: %v; want an error naming it", err)
	}
	// the config says what the daemon runs as root: nobody else may change it
	if err := os.Chmod(p, 0o666); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadConfig(p, false); err == nil || !strings.Contains(err.Error(), "writable by others") {
		t.Fatalf("a world-writable config: %v; want it refused", err)
	}
}

func TestScheduleNext(t *testing.T) {
	loc := time.FixedZone("X", 2*3600)
	at := func(s string) time.Time {
		tm, err := time.ParseInLocation("2006-01-02 15:04:05", s, loc)
		if err != nil {
			t.Fatal(err)
		}
		return tm
	}
	every := Schedule{Every: 24 * time.Hour}
	daily := Schedule{Daily: &TimeOfDay{Hour: 3}}
	cases := []struct {
		name      string
		s         Schedule
		last, now string // last "" means never
		want      string
	}{
		{"never reseeded: now", every, "", "2026-12-02 10:00:00", "2026-12-02 10:00:00"},
		{"restart soon after a reseed: not now, one interval after it", every, "2026-12-02 09:00:00", "2026-12-02 10:00:00", "2026-12-03 09:00:00"},
		{"down for longer than the interval: the missed run happens now", every, "2026-11-30 09:00:00", "2026-12-02 10:00:00", "2026-12-02 10:00:00"},
		{"daily, last at 03:00 today: tomorrow 03:00", daily, "2026-12-02 03:00:20", "2026-12-02 10:00:00", "2026-12-03 03:00:00"},
		{"daily, last yesterday 03:00, restart at 02:00: today 03:00", daily, "2026-12-01 03:00:20", "2026-12-02 02:00:00", "2026-12-02 03:00:00"},
		{"daily, today's 03:00 missed while down: now", daily, "2026-12-01 03:00:20", "2026-12-02 10:00:00", "2026-12-02 10:00:00"},
		{"daily, last before 03:00 the same day: 03:00 that day", daily, "2026-12-02 01:00:00", "2026-12-02 01:30:00", "2026-12-02 03:00:00"},
		{"daily at midnight", Schedule{Daily: &TimeOfDay{}}, "2026-12-02 00:00:00", "2026-12-02 01:00:00", "2026-12-03 00:00:00"},
	}
	for _, c := range cases {
		var last time.Time
		if c.last != "" {
			last = at(c.last)
		}
		if got := c.s.Next(last, at(c.now)); !got.Equal(at(c.want)) {
			t.Errorf("%s: %v, want %s", c.name, got, c.want)
		}
	}
}

// A restarted daemon counts from what the home recorded: the end of the
// latest finished attempt, success or failure, or the golden's creation.
func TestLastChange(t *testing.T) {
	t0 := time.Date(2026, 12, 2, 9, 0, 0, 0, time.UTC)
	run := func(start time.Time, seconds float64) *ditto.ReseedRun {
		return &ditto.ReseedRun{StartedAt: start, Seconds: seconds}
	}
	every := Schedule{Every: time.Hour}
	cases := []struct {
		name    string
		st      ditto.ReseedStatus
		created time.Time
		now     time.Time
		want    time.Time
	}{
		{"nothing recorded, no golden: now", ditto.ReseedStatus{}, time.Time{}, t0, t0},
		{"a golden of a ditto without a status: from its creation", ditto.ReseedStatus{}, t0, t0.Add(10 * time.Minute), t0.Add(time.Hour)},
		{"a success: an interval after its end", ditto.ReseedStatus{LastSuccess: run(t0, 60)}, t0, t0.Add(5 * time.Minute), t0.Add(61 * time.Minute)},
		{"a later failure: an interval after its end, not in a loop", ditto.ReseedStatus{LastSuccess: run(t0, 60), LastFailure: run(t0.Add(30*time.Minute), 1)},
			t0, t0.Add(31 * time.Minute), t0.Add(90*time.Minute + time.Second)},
		{"down past the next run: now", ditto.ReseedStatus{LastSuccess: run(t0, 60)}, t0, t0.Add(3 * time.Hour), t0.Add(3 * time.Hour)},
	}
	for _, c := range cases {
		if got := every.Next(lastChange(c.st, c.created), c.now); !got.Equal(c.want) {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
}
