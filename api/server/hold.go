package server

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"sync"
	"time"

	"github.com/dittodb/ditto"
	"github.com/dittodb/ditto/api"
)

// hold is the state of one hold stream: kept once its copy is handed over
// to its TTL.
type hold struct {
	kept chan struct{}
	once sync.Once
}

func (h *hold) isKept() bool {
	select {
	case <-h.kept:
		return true
	default:
		return false
	}
}

// holdSet is the hold streams being served, by copy ID.
type holdSet struct {
	mu       sync.Mutex
	m        map[string]*hold
	stop     chan struct{} // closed when the HTTP server shuts down
	stopOnce sync.Once
}

func (hs *holdSet) add(id string) *hold {
	hs.mu.Lock()
	defer hs.mu.Unlock()
	h := &hold{kept: make(chan struct{})}
	hs.m[id] = h
	return h
}

func (hs *holdSet) remove(id string) {
	hs.mu.Lock()
	defer hs.mu.Unlock()
	delete(hs.m, id)
}

func (hs *holdSet) keep(id string) {
	hs.mu.Lock()
	defer hs.mu.Unlock()
	if h := hs.m[id]; h != nil {
		h.once.Do(func() { close(h.kept) })
	}
}

// stopAll ends every hold stream without destroying its copy: the daemon
// is stopping, not its callers. A held copy still ends with its caller's
// process (gc), and the caller destroys it when done.
func (hs *holdSet) stopAll() { hs.stopOnce.Do(func() { close(hs.stop) }) }

// hold streams the view of a copy just created, then a heartbeat every
// Heartbeat, until the client hangs up or a write fails: then it destroys
// the copy, unless it was kept meanwhile. The caller's process also owns
// the copy (api.Local), so gc still ends it if the daemon was down when
// the process died.
func (s *Server) hold(w http.ResponseWriter, r *http.Request, d Domain, v api.Copy) {
	h := s.holds.add(v.ID)
	defer s.holds.remove(v.ID)

	rc := http.NewResponseController(w)
	enc := json.NewEncoder(w)
	send := func(x any) error {
		_ = rc.SetWriteDeadline(time.Now().Add(writeTimeout))
		if err := enc.Encode(x); err != nil {
			return err
		}
		return rc.Flush()
	}
	w.Header().Set("Content-Type", "application/x-ndjson")
	w.WriteHeader(http.StatusCreated)
	err := send(v)
	tick := time.NewTicker(s.o.Heartbeat)
	defer tick.Stop()
	why := ""
	for why == "" {
		if err != nil {
			why = "a write to the client failed: " + err.Error()
			break
		}
		select {
		case <-h.kept:
			return
		case <-s.holds.stop:
			return
		case <-r.Context().Done():
			why = "the client hung up"
		case <-tick.C:
			err = send(api.Heartbeat{Held: v.ID})
		}
	}
	if h.isKept() {
		return
	}
	// after a normal end the client has destroyed the copy already
	switch err := d.Destroy(context.WithoutCancel(r.Context()), v.ID); {
	case err == nil:
		s.o.Log.Info("hold ended: destroyed its copy", "id", v.ID, "why", why)
	case !errors.Is(err, ditto.ErrNoCopy):
		s.o.Log.Warn("hold ended but its copy could not be destroyed; gc will once its caller is gone", "id", v.ID, "why", why, "error", err)
	}
}
