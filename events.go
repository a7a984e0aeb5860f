package ditto

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/dittodb/ditto/internal/state"
)

// EventType is what happened to a copy.
type EventType string

const (
	EventCreated   EventType = "created"   // its record exists, its server is starting
	EventReady     EventType = "ready"     // its server accepts connections
	EventReset     EventType = "reset"     // put back to the current golden
	EventStarted   EventType = "started"   // its server started again on its own data
	EventExtended  EventType = "extended"  // its TTL was changed
	EventExpired   EventType = "expired"   // its TTL passed; it is destroyed next
	EventDestroyed EventType = "destroyed" // it is gone
	// EventClaimed is for warm copies: a prepared copy handed to its user.
	EventClaimed EventType = "claimed"
)

// Event is one line of a copy's journal. It never holds a password.
type Event struct {
	Time time.Time `json:"time"`
	Type EventType `json:"event"`
	// Actor is who caused it: a user's name (or UID when it has none), or
	// "ttl" (expiry) or "gc" (its process died, or a crash left it).
	Actor    string `json:"actor"`
	ActorUID *int   `json:"actor_uid,omitempty"`
	// OwnerUID is the copy's owner, so that its events still answer to it
	// (and only to it, and admins) after the copy is gone.
	OwnerUID int    `json:"owner_uid"`
	Detail   string `json:"detail,omitempty"`
}

// Actors other than users.
const (
	ActorTTL = "ttl"
	ActorGC  = "gc"
)

// EventsRetention is how long a copy's events are kept after it is
// destroyed: gc removes older journals.
const EventsRetention = 7 * 24 * time.Hour

// maxEventBytes bounds a journal (see state.AppendJSONLine): a copy reset
// thousands of times keeps its first and newest events.
const maxEventBytes = 64 << 10

type actorKey struct{}

// WithActor says who the operations run with ctx act for: their events
// name it.
func WithActor(ctx context.Context, k Caller) context.Context {
	return context.WithValue(ctx, actorKey{}, actor{name: k.Name, uid: &k.UID})
}

func withSystemActor(ctx context.Context, name string) context.Context {
	return context.WithValue(ctx, actorKey{}, actor{name: name})
}

type actor struct {
	name string
	uid  *int
}

// actorOf is who ctx acts for; without one, ditto itself in this process.
func actorOf(ctx context.Context) actor {
	if a, ok := ctx.Value(actorKey{}).(actor); ok {
		return a
	}
	uid := os.Geteuid()
	return actor{name: currentUserName(), uid: &uid}
}

// event appends an event to c's journal. A journal that cannot be written
// is logged, never a failure of what happened.
func (m *Manager) event(ctx context.Context, c *Copy, t EventType, detail string) {
	a := actorOf(ctx)
	if a.name == "" && a.uid != nil {
		a.name = "uid " + strconv.Itoa(*a.uid)
	}
	e := Event{Time: time.Now().UTC(), Type: t, Actor: a.name, ActorUID: a.uid, OwnerUID: c.OwnerUID, Detail: detail}
	path := m.Home.EventsFile(c.ID)
	if t == EventCreated {
		// the kept journal of a destroyed copy that had the same ID is
		// not this copy's history, nor its owner this copy's
		_ = os.Remove(path)
	}
	if err := state.AppendJSONLine(path, e, maxEventBytes); err != nil {
		m.Log.Warn("could not record a copy's event", "id", c.ID, "event", t, "error", err)
	}
}

// EventsFor returns copy id's events, oldest first, if k may see the copy:
// while it exists, as for CopyFor; once destroyed, for EventsRetention,
// to its owner and admins.
func (m *Manager) EventsFor(k Caller, id string) ([]Event, error) {
	c, err := m.CopyFor(k, id)
	switch {
	case err == nil:
	case !errors.Is(err, ErrNoCopy) || !validID(id):
		return nil, err
	}
	events, rerr := state.ReadJSONLines[Event](m.Home.EventsFile(id))
	if errors.Is(rerr, fs.ErrNotExist) {
		if c != nil {
			return []Event{}, nil // made before events were kept
		}
		return nil, err
	}
	if rerr != nil {
		return nil, rerr
	}
	if c == nil && (len(events) == 0 || !k.Admin && events[0].OwnerUID != k.UID) {
		return nil, err
	}
	return events, nil
}

// removeOldEvents deletes the journals of copies gone for longer than
// EventsRetention.
func (m *Manager) removeOldEvents(known map[string]bool, r *GCReport) {
	entries, _ := os.ReadDir(m.Home.Events())
	for _, e := range entries {
		if !strayFile(e, ".jsonl", known) {
			continue
		}
		if info, err := e.Info(); err != nil || time.Since(info.ModTime()) < EventsRetention {
			continue
		}
		p := filepath.Join(m.Home.Events(), e.Name())
		if err := os.Remove(p); err == nil {
			r.Files = append(r.Files, p)
		}
	}
}
