package daemon

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/dittodb/ditto"
	"github.com/dittodb/ditto/postgres"
)

// ReseedConfig is the reseed: section of the daemon's config: where the
// golden's data comes from, when the daemon reseeds, and what it runs when
// a reseed fails.
type ReseedConfig struct {
	// SourceURL is env:NAME (the daemon's environment variable NAME) or
	// file:PATH (the file's first line), read when the daemon starts; a
	// literal URL only without a password.
	SourceURL     string `yaml:"source_url"`
	Dump          string `yaml:"dump"`
	Rules         string `yaml:"rules"`
	Database      string `yaml:"database"`
	PGBin         string `yaml:"pg_bin"`
	Jobs          int    `yaml:"jobs"`
	AllowUnmasked bool   `yaml:"allow_unmasked"`
	KeepDump      string `yaml:"keep_dump"`
	AfterRestore  string `yaml:"after_restore"`
	// Every is an interval (24h); Daily a local time of day (03:00).
	// Neither: reseeds only when an admin asks (POST /v1/reseed).
	Every string `yaml:"every"`
	Daily string `yaml:"daily"`
	// OnFailure is a command and its arguments, run without a shell when
	// a reseed fails.
	OnFailure []string `yaml:"on_failure"`
}

// Reseeding is a validated reseed section, its secret read.
type Reseeding struct {
	Options   ditto.ReseedOptions
	Schedule  Schedule
	OnFailure []string
	// Source says where the data comes from, without secrets (for logs).
	Source string
}

// minEvery keeps a typo (every: 1ms) from reseeding in a loop.
const minEvery = time.Second

// Reseeding validates the section and reads the source URL's secret; the
// errors name the key at fault.
func (c ReseedConfig) Reseeding() (*Reseeding, error) {
	bad := func(key, format string, args ...any) error {
		return fmt.Errorf("reseed.%s: %s", key, fmt.Sprintf(format, args...))
	}
	r := &Reseeding{OnFailure: c.OnFailure, Options: ditto.ReseedOptions{
		DumpPath: c.Dump, Rules: c.Rules, Database: c.Database, PGBin: c.PGBin, Jobs: c.Jobs,
		AllowUnmasked: c.AllowUnmasked, KeepDump: c.KeepDump, AfterRestore: c.AfterRestore,
	}}
	switch {
	case c.SourceURL == "" && c.Dump == "":
		return nil, bad("source_url", "give source_url (env:NAME or file:PATH) or dump (a file's absolute path)")
	case c.SourceURL != "" && c.Dump != "":
		return nil, bad("dump", "give either source_url or dump, not both")
	case c.SourceURL != "":
		url, err := readSecret(c.SourceURL)
		if err != nil {
			return nil, bad("source_url", "%v", err)
		}
		r.Options.SourceURL, r.Source = url, postgres.RedactURL(url)
	default:
		r.Source = c.Dump
	}
	if c.KeepDump != "" && c.SourceURL == "" {
		return nil, bad("keep_dump", "only with source_url: it is where the dump of the source is kept")
	}
	for key, p := range map[string]string{"dump": c.Dump, "rules": c.Rules, "pg_bin": c.PGBin, "keep_dump": c.KeepDump, "after_restore": c.AfterRestore} {
		if p != "" && !filepath.IsAbs(p) {
			return nil, bad(key, "%q is not an absolute path", p)
		}
	}
	if c.Jobs < 0 {
		return nil, bad("jobs", "%d is negative; 0 means one per CPU", c.Jobs)
	}
	var err error
	if r.Schedule, err = parseSchedule(c.Every, c.Daily); err != nil {
		return nil, err
	}
	for key, p := range map[string]string{"rules": c.Rules, "after_restore": c.AfterRestore} {
		if _, err := os.Stat(p); p != "" && err != nil {
			return nil, bad(key, "%v", err)
		}
	}
	if len(c.OnFailure) > 0 {
		cmd := c.OnFailure[0]
		if !filepath.IsAbs(cmd) {
			return nil, bad("on_failure", "the command %q is not an absolute path (it runs without a shell and without a PATH search)", cmd)
		}
		if fi, err := os.Stat(cmd); err != nil || fi.IsDir() || fi.Mode()&0o111 == 0 {
			return nil, bad("on_failure", "%s is not an executable file", cmd)
		}
	}
	return r, nil
}

// readSecret resolves source_url: env:NAME, file:PATH, or a literal URL
// that carries no password (config files get copied, pasted and committed).
func readSecret(v string) (string, error) {
	var url string
	switch {
	case strings.HasPrefix(v, "env:"):
		name := strings.TrimPrefix(v, "env:")
		url = os.Getenv(name)
		if url == "" {
			return "", fmt.Errorf("the environment variable %s is empty or unset in the daemon's environment (systemd: Environment= or EnvironmentFile= in a drop-in)", name)
		}
	case strings.HasPrefix(v, "file:"):
		path := strings.TrimPrefix(v, "file:")
		if !filepath.IsAbs(path) {
			return "", fmt.Errorf("%q is not an absolute path", path)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return "", err
		}
		if fi, err := os.Stat(path); err == nil && fi.Mode().Perm()&0o004 != 0 {
			return "", fmt.Errorf("%s is readable by every user: chmod o-r it (it holds the source's password)", path)
		}
		url, _, _ = strings.Cut(string(b), "\n")
		if url = strings.TrimSpace(url); url == "" {
			return "", fmt.Errorf("%s is empty: its first line must be the source's URL", path)
		}
	default:
		if postgres.HasPassword(v) {
			return "", fmt.Errorf("%s carries a password inline: put the URL in a root-only file and write file:PATH, or in the daemon's environment and write env:NAME", postgres.RedactURL(v))
		}
		url = v
	}
	return url, nil
}

// Schedule is when the daemon reseeds: every Every, or daily at a local
// time of day; neither when zero.
type Schedule struct {
	Every time.Duration
	Daily *TimeOfDay
}

// TimeOfDay is a local wall-clock time, HH:MM.
type TimeOfDay struct{ Hour, Minute int }

// on is the time of day on the day of t, in t's location.
func (d TimeOfDay) on(t time.Time) time.Time {
	return time.Date(t.Year(), t.Month(), t.Day(), d.Hour, d.Minute, 0, 0, t.Location())
}

func parseSchedule(every, daily string) (Schedule, error) {
	var s Schedule
	switch {
	case every != "" && daily != "":
		return s, fmt.Errorf("reseed.daily: give either every or daily, not both")
	case every != "":
		d, err := time.ParseDuration(every)
		if err != nil {
			return s, fmt.Errorf("reseed.every: %q is not a duration such as 24h or 30m", every)
		}
		if d < minEvery {
			return s, fmt.Errorf("reseed.every: %s is shorter than %s", d, minEvery)
		}
		s.Every = d
	case daily != "":
		t, err := time.Parse("15:04", daily)
		if err != nil {
			return s, fmt.Errorf("reseed.daily: %q is not a time of day HH:MM such as \"03:00\"", daily)
		}
		s.Daily = &TimeOfDay{Hour: t.Hour(), Minute: t.Minute()}
	}
	return s, nil
}

// Scheduled reports whether the daemon reseeds on its own.
func (s Schedule) Scheduled() bool { return s.Every > 0 || s.Daily != nil }

// Next is when to reseed next, given when the data last changed hands
// (the end of the last finished attempt, or the current golden's creation;
// zero when neither exists) and now. The schedule counts from last, so a
// restarted daemon neither reseeds at once nor skips a run it missed while
// down: that run happens now. A failure counts like a success, so a
// failing source is retried at the next interval, not in a loop.
func (s Schedule) Next(last, now time.Time) time.Time {
	if last.IsZero() {
		return now
	}
	var next time.Time
	if s.Every > 0 {
		next = last.Add(s.Every)
	} else {
		day := last.In(now.Location())
		for next = s.Daily.on(day); !next.After(last); next = s.Daily.on(day) {
			day = time.Date(day.Year(), day.Month(), day.Day()+1, 0, 0, 0, 0, day.Location())
		}
	}
	if next.Before(now) {
		return now
	}
	return next
}
