package daemon

import (
	"bytes"
	"context"
	"os/exec"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/dittodb/ditto"
)

// Limits of an on_failure command: it is killed after onFailureWait (or
// when the daemon stops), and only the end of its output is logged, as
// only the start of a long error is passed to it.
const (
	onFailureWait   = 5 * time.Minute
	onFailureOutput = 4 << 10
)

// retryBusy is how long the schedule waits when its reseed cannot start
// (another process's holds the lock) at its time.
const retryBusy = time.Minute

// reseeder runs the daemon's reseeds, on its schedule and when an admin
// asks (POST /v1/reseed), one at a time: the domain's reseed lock refuses
// the second.
type reseeder struct {
	m   *ditto.Manager
	log hclog.Logger
	r   *Reseeding
	ctx context.Context // the daemon's life: a reseed under way ends with it
	// finished wakes the schedule when a reseed of this daemon ends.
	finished chan struct{}
	running  sync.WaitGroup
}

func newReseeder(ctx context.Context, m *ditto.Manager, log hclog.Logger, r *Reseeding) *reseeder {
	return &reseeder{m: m, log: log.Named("reseed"), r: r, ctx: ctx, finished: make(chan struct{}, 1)}
}

// StartReseed starts a reseed from the configured source and returns the
// status with it running; busy while another reseed runs.
func (s *reseeder) StartReseed(context.Context) (ditto.ReseedStatus, error) {
	attempt, err := s.start(ditto.TriggerAPI)
	if err != nil {
		return ditto.ReseedStatus{}, err
	}
	st, err := s.m.ReseedStatus()
	// the attempt started, even if it is over already: the caller finds
	// its outcome by its start time
	st.Running = &attempt
	return st, err
}

// start takes the reseed lock and runs the reseed in the background.
func (s *reseeder) start(trigger string) (ditto.ReseedRun, error) {
	o := s.r.Options
	o.Trigger = trigger
	attempt, run, err := s.m.StartReseed(o)
	if err != nil {
		return attempt, err
	}
	s.log.Info("reseed started", "trigger", trigger, "source", s.r.Source)
	s.running.Add(1)
	go func() {
		defer s.running.Done()
		t := time.Now()
		g, err := run(s.ctx)
		took := time.Since(t).Round(time.Millisecond)
		if err != nil {
			msg := o.Redact(err.Error())
			s.log.Error("reseed failed; the previous golden stays current", "trigger", trigger, "took", took, "error", msg)
			s.onFailure(msg)
		} else {
			s.log.Info("reseed done", "trigger", trigger, "generation", g.Generation, "took", took)
		}
		select {
		case s.finished <- struct{}{}:
		default:
		}
	}()
	return attempt, nil
}

// onFailure runs the on_failure command, without a shell, with the error
// in DITTO_RESEED_ERROR and an environment of its own: the daemon's may
// hold the source's URL or the masking key.
func (s *reseeder) onFailure(msg string) {
	// a reseed the daemon's stop interrupted is no failure of the source;
	// and the stop does not wait for a slow command
	if len(s.r.OnFailure) == 0 || s.ctx.Err() != nil {
		return
	}
	if len(msg) > onFailureOutput { // an environment string has a size limit
		msg = msg[:onFailureOutput] + "..."
	}
	ctx, cancel := context.WithTimeout(s.ctx, onFailureWait)
	defer cancel()
	cmd := exec.CommandContext(ctx, s.r.OnFailure[0], s.r.OnFailure[1:]...)
	cmd.Env = []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C.UTF-8",
		"DITTO_HOME=" + s.m.Home.Dir, "DITTO_RESEED_ERROR=" + msg}
	cmd.Dir = "/"
	out := &tail{max: onFailureOutput}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Run(); err != nil {
		s.log.Warn("the on_failure command failed", "command", s.r.OnFailure[0], "error", err, "output", out.String())
		return
	}
	s.log.Info("the on_failure command ran", "command", s.r.OnFailure[0], "output", out.String())
}

// schedule reseeds at the schedule's times until the daemon stops, then
// waits for a reseed under way to end (interrupted, it keeps the old
// golden and cleans up after itself).
func (s *reseeder) schedule() {
	defer func() {
		s.running.Wait()
		if err := s.m.SetNextReseed(nil); err != nil {
			s.log.Warn("could not clear the next reseed's time", "error", err)
		}
	}()
	if !s.r.Schedule.Scheduled() {
		if err := s.m.SetNextReseed(nil); err != nil {
			s.log.Warn("could not clear the next reseed's time", "error", err)
		}
		<-s.ctx.Done()
		return
	}
	for {
		next := s.next()
		if err := s.m.SetNextReseed(&next); err != nil {
			s.log.Warn("could not record the next reseed's time", "error", err)
		}
		s.log.Info("next reseed", "at", next.Round(time.Second).Format(time.RFC3339), "in", time.Until(next).Round(time.Second))
		timer := time.NewTimer(time.Until(next))
		select {
		case <-s.ctx.Done():
			timer.Stop()
			return
		case <-s.finished: // one asked for through the API
			timer.Stop()
			continue
		case <-timer.C:
		}
		if _, err := s.start(ditto.TriggerSchedule); err != nil {
			s.log.Warn("the scheduled reseed did not start; trying again later", "error", err, "in", s.r.Schedule.retry())
			if code, _, _ := ditto.Describe(err); code != ditto.CodeBusy {
				s.onFailure(s.r.Options.Redact(err.Error()))
			}
			if !sleep(s.ctx, s.r.Schedule.retry()) {
				return
			}
			continue
		}
		select {
		case <-s.ctx.Done():
			return
		case <-s.finished:
		}
	}
}

// sleep waits for d or the end of ctx; false when ctx ended.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// next is when the schedule reseeds next, from what the home records.
func (s *reseeder) next() time.Time {
	now := time.Now()
	st, err := s.m.ReseedStatus()
	if err != nil {
		s.log.Warn("the reseed status is unreadable; counting from now", "error", err)
		return s.r.Schedule.Next(now, now)
	}
	if st.Running != nil { // another process's; ours wakes us when done
		return now.Add(s.r.Schedule.retry())
	}
	var created time.Time
	if g, err := s.m.CurrentGolden(s.ctx); err == nil {
		created = g.CreatedAt
	}
	return s.r.Schedule.Next(lastChange(st, created), now)
}

// lastChange is when the golden's data last changed hands: the end of the
// last finished reseed attempt, or the current golden's creation (made by
// a ditto without a reseed status); zero when neither exists.
func lastChange(st ditto.ReseedStatus, goldenCreated time.Time) time.Time {
	last := st.LastFinished()
	if goldenCreated.After(last) {
		return goldenCreated
	}
	return last
}

// retry is how long the schedule waits when its reseed cannot start.
func (s Schedule) retry() time.Duration {
	if s.Every > 0 {
		return min(retryBusy, s.Every)
	}
	return retryBusy
}

// tail keeps the last max bytes written to it.
type tail struct {
	max int
	b   bytes.Buffer
}

func (t *tail) Write(p []byte) (int, error) {
	t.b.Write(p)
	if over := t.b.Len() - t.max; over > 0 {
		t.b.Next(over)
	}
	return len(p), nil
}

func (t *tail) String() string { return t.b.String() }
