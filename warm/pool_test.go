package warm

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/dittodb/ditto"
)

// fakeDomain keeps warm copies as IDs; creates and claims succeed unless
// told otherwise.
type fakeDomain struct {
	mu       sync.Mutex
	warm     []string
	next     int
	waits    string      // RefillWaits' answer
	coldErr  []error     // the next cold creates' errors, in turn
	claimErr error       // every claim's error
	created  chan string // each warm copy made
}

func (f *fakeDomain) id() string { f.next++; return fmt.Sprintf("c%d", f.next) }

func (f *fakeDomain) ColdReason(o ditto.CreateOptions) string {
	if o.Durable {
		return "durable"
	}
	return ""
}

func (f *fakeDomain) ClaimWarm(_ context.Context, o ditto.CreateOptions) (*ditto.Copy, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.claimErr != nil || len(f.warm) == 0 {
		return nil, f.claimErr
	}
	id := f.warm[0]
	f.warm = f.warm[1:]
	return &ditto.Copy{ID: id, State: ditto.StateReady}, nil
}

func (f *fakeDomain) CreateCopy(context.Context, ditto.CreateOptions) (*ditto.Copy, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.coldErr) > 0 {
		err := f.coldErr[0]
		f.coldErr = f.coldErr[1:]
		if err != nil {
			return nil, err
		}
	}
	return &ditto.Copy{ID: f.id(), State: ditto.StateReady}, nil
}

func (f *fakeDomain) CreateWarm(context.Context) (*ditto.Copy, error) {
	f.mu.Lock()
	id := f.id()
	f.warm = append(f.warm, id)
	f.mu.Unlock()
	if f.created != nil {
		f.created <- id
	}
	return &ditto.Copy{ID: id, State: ditto.StateWarm}, nil
}

func (f *fakeDomain) DestroyWarm(_ context.Context, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i, w := range f.warm {
		if w == id {
			f.warm = append(f.warm[:i], f.warm[i+1:]...)
		}
	}
	return nil
}

func (f *fakeDomain) WarmCopies(context.Context) ([]*ditto.Copy, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []*ditto.Copy
	for _, id := range f.warm {
		out = append(out, &ditto.Copy{ID: id, State: ditto.StateWarm})
	}
	return out, nil
}

func (f *fakeDomain) RefillWaits(context.Context) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.waits
}

func (f *fakeDomain) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.warm)
}

var bg = context.Background()

func fill(t *testing.T, p *Pool) {
	t.Helper()
	var waits string
	if err := p.fill(bg, &waits); err != nil {
		t.Fatal(err)
	}
}

func TestFillAndDrain(t *testing.T) {
	d := &fakeDomain{}
	p := New(d, 3, hclog.NewNullLogger())
	fill(t, p)
	if d.count() != 3 || p.Stats().Ready != 3 {
		t.Fatalf("after a fill: %d warm copies (stats %+v), want 3", d.count(), p.Stats())
	}
	p.size = 1
	fill(t, p)
	if d.count() != 1 {
		t.Fatalf("after lowering the size to 1: %d warm copies", d.count())
	}
	p.size = 3
	d.waits = "a reseed is running"
	fill(t, p)
	if d.count() != 1 {
		t.Fatalf("a fill while refilling must wait made copies: %d", d.count())
	}
	// a create in flight holds the refill back too
	d.waits = ""
	p.inflight.Add(1)
	fill(t, p)
	if d.count() != 1 {
		t.Fatalf("a fill beside a create made copies: %d", d.count())
	}
	p.inflight.Add(-1)
	fill(t, p)
	if d.count() != 3 {
		t.Fatalf("after the create: %d warm copies, want 3", d.count())
	}
}

func TestCreateClaimsOrFallsBack(t *testing.T) {
	d := &fakeDomain{}
	p := New(d, 1, hclog.NewNullLogger())
	fill(t, p)
	c, err := p.CreateCopy(bg, ditto.CreateOptions{})
	if err != nil || c.ID != "c1" {
		t.Fatalf("create with a warm copy: %v, %v; want the warm c1", c, err)
	}
	if c, err := p.CreateCopy(bg, ditto.CreateOptions{}); err != nil || c.ID == "c1" {
		t.Fatalf("create with none warm: %v, %v", c, err)
	}
	fill(t, p)
	if c, err := p.CreateCopy(bg, ditto.CreateOptions{Durable: true}); err != nil || d.count() != 1 {
		t.Fatalf("a durable create: %v, %v; want a cold copy, the warm one kept", c, err)
	}
	d.claimErr = fmt.Errorf("handover failed")
	if c, err := p.CreateCopy(bg, ditto.CreateOptions{}); err != nil || c == nil {
		t.Fatalf("a failed claim: %v, %v; want a cold copy instead", c, err)
	}
	d.claimErr = &ditto.Error{Code: ditto.CodeInvalid, Message: "bad label"}
	if _, err := p.CreateCopy(bg, ditto.CreateOptions{}); err == nil {
		t.Fatal("a claim refused as invalid fell back to a cold create")
	}
	d.claimErr = nil
	s := p.Stats()
	if s.ServedWarm != 1 || s.ServedCold != 3 || s.ClaimFailed != 1 {
		t.Fatalf("stats: %+v; want 1 warm, 3 cold, 1 failed claim", s)
	}
}

func TestCreateGivesUpAWarmCopy(t *testing.T) {
	d := &fakeDomain{}
	p := New(d, 2, hclog.NewNullLogger())
	fill(t, p)
	d.coldErr = []error{&ditto.Error{Code: ditto.CodePortsExhausted, Message: "no port"}}
	if c, err := p.CreateCopy(bg, ditto.CreateOptions{Durable: true}); err != nil || c == nil {
		t.Fatalf("a cold create short of ports with warm copies: %v, %v; want one given up for it", c, err)
	}
	if d.count() != 1 {
		t.Fatalf("%d warm copies left; want 1", d.count())
	}
}

func TestRunRefillsAfterAClaim(t *testing.T) {
	d := &fakeDomain{created: make(chan string, 10)}
	p := New(d, 1, hclog.NewNullLogger())
	p.Every = time.Hour // only the claim wakes it
	ctx, cancel := context.WithCancel(bg)
	done := make(chan struct{})
	go func() { defer close(done); p.Run(ctx) }()
	defer func() { cancel(); <-done }()
	first := <-d.created
	if c, err := p.CreateCopy(bg, ditto.CreateOptions{}); err != nil || c.ID != first {
		t.Fatalf("claim: %v, %v", c, err)
	}
	select {
	case <-d.created:
	case <-time.After(10 * time.Second):
		t.Fatal("no refill after a claim")
	}
}
