package ditto

import (
	"errors"
	"io/fs"
	"time"

	"github.com/dittodb/ditto/internal/proc"
	"github.com/dittodb/ditto/internal/state"
	"github.com/dittodb/ditto/postgres"
)

// Who starts a reseed; recorded with its outcome.
const (
	TriggerCLI      = "cli"      // `ditto reseed` in direct mode
	TriggerSchedule = "schedule" // the daemon's schedule
	TriggerAPI      = "api"      // POST /v1/reseed
)

// ReseedRun is one reseed attempt.
type ReseedRun struct {
	StartedAt time.Time `json:"started_at"`
	Trigger   string    `json:"trigger"`
	// Duration and what it gave: the new golden generation, or the error
	// (its message, with the source's password removed). Empty while it runs.
	Seconds    float64 `json:"duration_seconds,omitempty"`
	Generation string  `json:"generation,omitempty"`
	Error      string  `json:"error,omitempty"`
	// Process runs the attempt while it runs.
	Process *proc.Ref `json:"process,omitempty"`
}

// Duration is how long the attempt took.
func (r ReseedRun) Duration() time.Duration { return time.Duration(r.Seconds * float64(time.Second)) }

// ReseedStatus is what the home remembers of reseeds, for `ditto status`,
// the daemon's schedule and its metrics.
type ReseedStatus struct {
	Running     *ReseedRun `json:"running,omitempty"` // the attempt under way
	LastSuccess *ReseedRun `json:"last_success,omitempty"`
	LastFailure *ReseedRun `json:"last_failure,omitempty"`
	// NextRun is when the daemon's schedule reseeds next; nil without a
	// schedule or a daemon.
	NextRun   *time.Time `json:"next_run,omitempty"`
	Successes int        `json:"successes"`
	Failures  int        `json:"failures"`
}

// LastAttempt is the start of the latest attempt, finished or not; zero
// before the first.
func (s ReseedStatus) LastAttempt() time.Time {
	var t time.Time
	for _, r := range []*ReseedRun{s.Running, s.LastSuccess, s.LastFailure} {
		if r != nil && r.StartedAt.After(t) {
			t = r.StartedAt
		}
	}
	return t
}

// LastFinished is when the latest finished attempt ended; zero before the
// first.
func (s ReseedStatus) LastFinished() time.Time {
	var t time.Time
	for _, r := range []*ReseedRun{s.LastSuccess, s.LastFailure} {
		if r != nil {
			if end := r.StartedAt.Add(r.Duration()); end.After(t) {
				t = end
			}
		}
	}
	return t
}

// ReseedStatus reads the reseed status from the home. An attempt recorded
// as running whose process is gone (killed) is dropped.
func (m *Manager) ReseedStatus() (ReseedStatus, error) {
	var s ReseedStatus
	err := state.ReadJSON(m.Home.ReseedStatus(), &s)
	if errors.Is(err, fs.ErrNotExist) {
		err = nil
	}
	if s.Running != nil && (s.Running.Process == nil || !s.Running.Process.Alive()) {
		s.Running = nil
	}
	return s, err
}

// updateReseedStatus changes the status under the state lock, so that the
// daemon's schedule and a reseed in another process do not lose each
// other's changes.
func (m *Manager) updateReseedStatus(fn func(s *ReseedStatus)) (ReseedStatus, error) {
	var s ReseedStatus
	err := m.Home.Update(func(*tx) error {
		var err error
		if s, err = m.ReseedStatus(); err != nil && !errors.Is(err, state.ErrDamaged) {
			return err
		}
		fn(&s)
		return state.WriteJSON(m.Home.ReseedStatus(), s, true)
	})
	return s, err
}

// SetNextReseed records when the daemon's schedule reseeds next (nil:
// never, as when the daemon stops).
func (m *Manager) SetNextReseed(t *time.Time) error {
	_, err := m.updateReseedStatus(func(s *ReseedStatus) { s.NextRun = t })
	return err
}

// reseedStarted records an attempt that holds the reseed lock.
func (m *Manager) reseedStarted(trigger string, start time.Time) ReseedRun {
	self := proc.Self()
	run := ReseedRun{StartedAt: start.UTC(), Trigger: trigger, Process: &self}
	if _, err := m.updateReseedStatus(func(s *ReseedStatus) { s.Running = &run }); err != nil {
		m.Log.Warn("could not record the reseed's start", "error", err)
	}
	return run
}

// reseedFinished records the outcome of the attempt begun at start.
func (m *Manager) reseedFinished(o ReseedOptions, start time.Time, g Golden, rerr error) {
	run := ReseedRun{StartedAt: start.UTC(), Trigger: o.Trigger, Seconds: time.Since(start).Seconds()}
	if rerr != nil {
		run.Error = o.Redact(rerr.Error())
	} else {
		run.Generation = g.Generation
	}
	_, err := m.updateReseedStatus(func(s *ReseedStatus) {
		s.Running = nil
		if rerr != nil {
			s.LastFailure = &run
			s.Failures++
		} else {
			s.LastSuccess = &run
			s.Successes++
		}
	})
	if err != nil {
		m.Log.Warn("could not record the reseed's outcome", "error", err)
	}
}

// Redact removes the source URL's password from msg, for what is recorded
// or handed to others (status, on_failure commands).
func (o ReseedOptions) Redact(msg string) string {
	if o.SourceURL == "" {
		return msg
	}
	return postgres.Scrub(msg, o.SourceURL)
}

// goldenAge is how long ago g was made.
func goldenAge(g *Golden) float64 {
	if g == nil {
		return 0
	}
	return time.Since(g.CreatedAt).Seconds()
}
