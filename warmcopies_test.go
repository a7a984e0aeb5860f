package ditto

import (
	"os"
	"sync"
	"testing"
	"time"

	"github.com/dittodb/ditto/internal/state"
	"github.com/dittodb/ditto/storage"
)

// asDaemon holds the home's serve lock, as a running `ditto serve` does,
// until the test ends.
func asDaemon(t *testing.T, m *Manager) {
	t.Helper()
	l, err := state.TryLock(m.Home.ServeLock())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(l.Unlock)
}

func warmCopies(t *testing.T, m *Manager, n int) []*Copy {
	t.Helper()
	var out []*Copy
	for range n {
		c, err := m.CreateWarm(bg)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, c)
	}
	return out
}

func TestClaimWarm(t *testing.T) {
	m, _, pg := testManager(t)
	asDaemon(t, m)
	w := warmCopies(t, m, 1)[0]
	if w.State != StateWarm || w.OwnerUID != NobodyUID || !w.ExpiresAt.IsZero() || w.Status() != "warm" {
		t.Fatalf("warm copy: %+v", w)
	}
	if cs, _ := m.CopiesFor(Caller{UID: 0, Admin: true}, false); len(cs) != 0 {
		t.Fatalf("an admin's list shows the warm copy without asking for it: %d copies", len(cs))
	}
	if cs, _ := m.CopiesFor(Caller{UID: 0, Admin: true}, true); len(cs) != 1 {
		t.Fatalf("an admin's list of all copies: %d copies, want the warm one", len(cs))
	}
	if _, err := m.CopyFor(Caller{UID: 0, Admin: true}, w.ID); codeOf(err) != CodeNotFound {
		t.Fatalf("an admin acting on a warm copy by its ID: %v; want not_found (only the pool acts on it)", err)
	}
	if c, err := m.ClaimWarm(bg, CreateOptions{Durable: true}); c != nil || err != nil {
		t.Fatalf("a --durable create claimed a warm copy: %v, %v", c, err)
	}
	time.Sleep(10 * time.Millisecond) // the TTL counts from the claim
	before := time.Now()
	c, err := m.ClaimWarm(bg, CreateOptions{TTL: time.Hour, OwnerUID: 1234, OwnerName: "alice", Labels: map[string]string{"job": "7"}})
	if err != nil || c == nil {
		t.Fatalf("claim: %v, %v", c, err)
	}
	if c.ID != w.ID || c.State != StateReady || c.Busy != nil || c.OwnerUID != 1234 || c.Labels["job"] != "7" || c.Status() != "running" {
		t.Fatalf("claimed copy: %+v", c)
	}
	if c.Password == w.Password || pg.handovers != 1 {
		t.Fatalf("claimed copy kept the warm password (%v) or was not handed over (%d)", c.Password == w.Password, pg.handovers)
	}
	if c.CreatedAt.Before(before) || c.ExpiresAt.Before(before.Add(time.Hour)) {
		t.Fatalf("claimed copy's times count from its warm start: created %v, expires %v, claimed after %v", c.CreatedAt, c.ExpiresAt, before)
	}
	if r, err := m.GetCopy(c.ID); err != nil || r.Password != c.Password || r.State != StateReady || r.OwnerUID != 1234 {
		t.Fatalf("claimed copy's record: %+v, %v", r, err)
	}
	if c, err := m.ClaimWarm(bg, CreateOptions{}); c != nil || err != nil {
		t.Fatalf("a second claim with no warm copy left: %v, %v", c, err)
	}
}

func TestFailedClaimDestroysTheCopy(t *testing.T) {
	m, store, pg := testManager(t)
	asDaemon(t, m)
	w := warmCopies(t, m, 1)[0]
	pg.handoverErr = os.ErrDeadlineExceeded
	if c, err := m.ClaimWarm(bg, CreateOptions{}); c != nil || err == nil {
		t.Fatalf("a claim whose handover failed: %v, %v", c, err)
	}
	if _, err := m.GetCopy(w.ID); codeOf(err) != CodeNotFound || store.volumeExists(w.ID) {
		t.Fatalf("the copy of the failed claim is left: %v", err)
	}
}

func TestConcurrentClaims(t *testing.T) {
	m, _, _ := testManager(t)
	asDaemon(t, m)
	warmCopies(t, m, 3)
	var mu sync.Mutex
	got := map[string]int{}
	var wg sync.WaitGroup
	for range 10 {
		wg.Go(func() {
			c, err := m.ClaimWarm(bg, CreateOptions{})
			if err != nil {
				t.Error(err)
			}
			if c != nil {
				mu.Lock()
				got[c.ID]++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(got) != 3 {
		t.Fatalf("10 claims of 3 warm copies got %v; want each copy once", got)
	}
	for id, n := range got {
		if n != 1 {
			t.Fatalf("warm copy %s handed out %d times", id, n)
		}
	}
}

func TestWarmCopiesOfAnOldGolden(t *testing.T) {
	m, store, _ := testManager(t)
	asDaemon(t, m)
	old := warmCopies(t, m, 2)
	if err := os.CopyFS(store.dir(storage.KindGolden, "g2"), os.DirFS(store.dir(storage.KindGolden, "g1"))); err != nil {
		t.Fatal(err)
	}
	if err := m.switchCurrent("g2"); err != nil {
		t.Fatal(err)
	}
	if c, err := m.ClaimWarm(bg, CreateOptions{}); c != nil || err != nil {
		t.Fatalf("a claim after the reseed got %v (golden %s), %v; want none of the old golden", c, c.Generation, err)
	}
	fresh, err := m.WarmCopies(bg)
	if err != nil || len(fresh) != 0 {
		t.Fatalf("warm copies after the reseed: %v, %v; want the old ones drained", fresh, err)
	}
	for _, c := range old {
		if store.volumeExists(c.ID) {
			t.Fatalf("warm copy %s of the old golden still has its volume", c.ID)
		}
	}
	n := warmCopies(t, m, 1)[0]
	if c, err := m.ClaimWarm(bg, CreateOptions{}); err != nil || c == nil || c.ID != n.ID || c.Generation != "g2" {
		t.Fatalf("claim of the new golden's warm copy: %+v, %v", c, err)
	}
}

func TestSweepRemovesWarmCopiesWithoutDaemon(t *testing.T) {
	m, store, pg := testManager(t)
	l, err := state.TryLock(m.Home.ServeLock())
	if err != nil {
		t.Fatal(err)
	}
	ws := warmCopies(t, m, 2)
	// a warm copy whose server died is of no use
	if err := pg.Kill(bg, ws[0].Postmaster); err != nil {
		t.Fatal(err)
	}
	if r := m.Sweep(bg); len(r.Copies) != 1 || r.Copies[0] != ws[0].ID {
		t.Fatalf("sweep with a daemon: removed %v; want only the warm copy whose server died", r.Copies)
	}
	l.Unlock()
	if r := m.Sweep(bg); len(r.Copies) != 1 || r.Copies[0] != ws[1].ID {
		t.Fatalf("sweep without a daemon: removed %v; want the warm copy", r.Copies)
	}
	if store.volumeExists(ws[1].ID) || len(pg.Running(store.root)) != 0 {
		t.Fatal("the swept warm copy left its volume or server")
	}
}

func TestDestroyWarmLeavesAClaimedCopy(t *testing.T) {
	m, _, _ := testManager(t)
	asDaemon(t, m)
	w := warmCopies(t, m, 1)[0]
	c, err := m.ClaimWarm(bg, CreateOptions{OwnerUID: 5})
	if err != nil || c == nil {
		t.Fatal(c, err)
	}
	if err := m.DestroyWarm(bg, w.ID); err != nil {
		t.Fatal(err)
	}
	if r, err := m.GetCopy(w.ID); err != nil || r.State != StateReady || !r.Running() {
		t.Fatalf("DestroyWarm of a claimed copy: %+v, %v; want it left alone", r, err)
	}
}
