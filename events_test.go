package ditto

import (
	"bufio"
	"context"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/dittodb/ditto/internal/proc"
)

func eventTypes(es []Event) string {
	var out []string
	for _, e := range es {
		out = append(out, string(e.Type)+" by "+e.Actor)
	}
	return strings.Join(out, ", ")
}

// A copy's events name who did what, answer its owner and admins only,
// also after it is gone, and never hold its password.
func TestEvents(t *testing.T) {
	m, _, pg := testManager(t)
	alice, bob, admin := Caller{UID: 1000, Name: "alice"}, Caller{UID: 1001, Name: "bob"}, Caller{UID: 0, Name: "root", Admin: true}
	ctx := WithActor(bg, alice)
	c, err := m.CreateCopy(ctx, CreateOptions{TTL: time.Hour, OwnerUID: alice.UID, OwnerName: alice.Name})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.ResetCopy(WithActor(bg, admin), c.ID); err != nil {
		t.Fatal(err)
	}
	r, _ := m.GetCopy(c.ID)
	pg.Kill(bg, r.Postmaster)
	if _, started, err := m.StartCopy(ctx, c.ID); err != nil || !started {
		t.Fatalf("start: %v, %v", started, err)
	}
	if err := m.DestroyCopy(ctx, c.ID); err != nil {
		t.Fatal(err)
	}
	want := "created by alice, ready by alice, reset by root, started by alice, destroyed by alice"
	for _, k := range []Caller{alice, admin} {
		es, err := m.EventsFor(k, c.ID)
		if err != nil || eventTypes(es) != want {
			t.Fatalf("events for %s after the copy is gone: %s, %v; want %s", k.Name, eventTypes(es), err, want)
		}
	}
	if es, err := m.EventsFor(bob, c.ID); codeOf(err) != CodeNotFound {
		t.Fatalf("another user reads the events: %v, %v", es, err)
	}
	if _, err := m.EventsFor(alice, "../../etc"); codeOf(err) != CodeNotFound {
		t.Fatalf("events of a path: %v", err)
	}
	b, _ := os.ReadFile(m.Home.EventsFile(c.ID))
	if strings.Contains(string(b), c.Password) {
		t.Fatal("the events hold the copy's password")
	}
}

// An expired copy's events say that its TTL ended it.
func TestEventsOfExpiry(t *testing.T) {
	m, _, _ := testManager(t)
	c, err := m.CreateCopy(bg, CreateOptions{TTL: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(5 * time.Millisecond)
	if r := m.Sweep(bg); len(r.Copies) != 1 {
		t.Fatalf("sweep: %+v", r)
	}
	es, err := m.EventsFor(Caller{Admin: true}, c.ID)
	if err != nil || !strings.HasSuffix(eventTypes(es), "expired by ttl, destroyed by ttl") {
		t.Fatalf("events of an expired copy: %s, %v", eventTypes(es), err)
	}
}

// gc removes the events of copies gone for longer than EventsRetention.
func TestEventsRetention(t *testing.T) {
	m, _, _ := testManager(t)
	var ids []string
	for range 2 {
		c, err := m.CreateCopy(bg, CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if err := m.DestroyCopy(bg, c.ID); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, c.ID)
	}
	live, err := m.CreateCopy(bg, CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-EventsRetention - time.Hour)
	for _, id := range []string{ids[0], live.ID} {
		os.Chtimes(m.Home.EventsFile(id), old, old)
	}
	m.GC(bg)
	for id, kept := range map[string]bool{ids[0]: false, ids[1]: true, live.ID: true} {
		if _, err := os.Stat(m.Home.EventsFile(id)); (err == nil) != kept {
			t.Errorf("events of %s: kept %v, want %v", id, err == nil, kept)
		}
	}
}

func TestExtend(t *testing.T) {
	m, _, _ := testManager(t)
	c, err := m.CreateCopy(bg, CreateOptions{TTL: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	before := time.Now()
	r, err := m.ExtendCopy(bg, c.ID, 2*time.Hour)
	if err != nil || r.ExpiresAt.Before(before.Add(2*time.Hour)) || r.ExpiresAt.After(time.Now().Add(2*time.Hour)) {
		t.Fatalf("extend by 2h: %v, %v", r.ExpiresAt, err)
	}
	if got, _ := m.GetCopy(c.ID); !got.ExpiresAt.Equal(r.ExpiresAt) {
		t.Fatalf("the record expires %v, want %v", got.ExpiresAt, r.ExpiresAt)
	}
	if r, err = m.ExtendCopy(bg, c.ID, 0); err != nil || !r.ExpiresAt.IsZero() {
		t.Fatalf("extend with 0: %v, %v; want no expiry", r.ExpiresAt, err)
	}
	if _, err := m.ExtendCopy(bg, "nope", time.Hour); codeOf(err) != CodeNotFound {
		t.Fatalf("extend of a missing copy: %v", err)
	}
	// a copy being destroyed is busy
	self := proc.Self()
	m.Home.Update(func(tx *tx) error {
		r, _ := m.Home.loadCopy(c.ID)
		r.State, r.Busy = StateDestroying, &self
		return tx.Save(r)
	})
	if _, err := m.ExtendCopy(bg, c.ID, time.Hour); codeOf(err) != CodeBusy {
		t.Fatalf("extend of a copy being destroyed: %v, want busy", err)
	}
}

func TestGoldens(t *testing.T) {
	m, _, _ := testManager(t)
	alice := Caller{UID: 1000}
	if _, err := m.CreateCopy(bg, CreateOptions{OwnerUID: alice.UID}); err != nil {
		t.Fatal(err)
	}
	for k, want := range map[*Caller]int{&alice: 1, {UID: 1001}: 0, {Admin: true}: 1} {
		gs, err := m.Goldens(bg, *k)
		if err != nil || len(gs) != 1 || gs[0].Generation != "g1" || !gs[0].Current || gs[0].Copies != want || gs[0].SourceKind != SourceDump {
			t.Fatalf("goldens for %+v: %+v, %v; want g1, current, %d copies", k, gs, err, want)
		}
	}
}

// A followed log gives what the server writes as it comes, and ends when
// the copy is destroyed.
func TestFollowLog(t *testing.T) {
	m, _, _ := testManager(t)
	c, err := m.CreateCopy(bg, CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(c.LogFile, []byte("first\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	rc, err := m.OpenLog(bg, c.ID, true)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	lines := bufio.NewReader(rc)
	if l, err := lines.ReadString('\n'); l != "first\n" || err != nil {
		t.Fatalf("first line: %q, %v", l, err)
	}
	f, _ := os.OpenFile(c.LogFile, os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString("second\n")
	f.Close()
	if l, err := lines.ReadString('\n'); l != "second\n" || err != nil {
		t.Fatalf("a line written later: %q, %v", l, err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := io.ReadAll(lines)
		done <- err
	}()
	if err := m.DestroyCopy(bg, c.ID); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the followed log of a destroyed copy did not end")
	}
	ctx, cancel := context.WithCancel(bg)
	c, _ = m.CreateCopy(bg, CreateOptions{})
	os.WriteFile(c.LogFile, nil, 0o600)
	rc, err = m.OpenLog(ctx, c.ID, true)
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	if b, err := io.ReadAll(rc); err != nil || len(b) != 0 {
		t.Fatalf("a followed log after its reader left: %q, %v", b, err)
	}
	if _, err := m.OpenLog(bg, "nope", false); codeOf(err) != CodeNotFound {
		t.Fatalf("the log of a missing copy: %v", err)
	}
}

func TestObservers(t *testing.T) {
	m, store, _ := testManager(t)
	var seen []string
	m.AddObserver(ObserverFunc(func(o Observation) {
		s := string(o.Op)
		if o.Err != nil {
			s += " failed"
		}
		seen = append(seen, s)
	}))
	c, err := m.CreateCopy(bg, CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	m.DestroyCopy(bg, c.ID)
	store.free = 1
	m.CreateCopy(bg, CreateOptions{})
	if got := strings.Join(seen, ", "); got != "create, destroy, create failed" {
		t.Fatalf("observed %s", got)
	}
}

// A new copy that gets the ID of a destroyed one whose events are kept
// starts a journal of its own: neither owner sees the other's events.
func TestEventsOfAReusedID(t *testing.T) {
	m, _, _ := testManager(t)
	alice, bob := Caller{UID: 1000, Name: "alice"}, Caller{UID: 1001, Name: "bob"}
	old := &Copy{ID: "0000abcd", OwnerUID: alice.UID}
	m.event(WithActor(bg, alice), old, EventCreated, "")
	m.event(WithActor(bg, alice), old, EventDestroyed, "")
	m.event(WithActor(bg, bob), &Copy{ID: old.ID, OwnerUID: bob.UID}, EventCreated, "")
	if es, err := m.EventsFor(alice, old.ID); codeOf(err) != CodeNotFound {
		t.Fatalf("alice reads the events of bob's copy with her old copy's ID: %s, %v", eventTypes(es), err)
	}
	if es, err := m.EventsFor(bob, old.ID); err != nil || eventTypes(es) != "created by bob" {
		t.Fatalf("bob's events: %s, %v", eventTypes(es), err)
	}
}
