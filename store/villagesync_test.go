package store_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"countycare/internal/testdb"
	"countycare/store"
	"countycare/villagesync"
)

// Sync receipts: one claim per (account, client ID) even under a race; a
// finished receipt answers every later claim; a pending one is taken over
// only once it is stale; a dropped one can be claimed again.
func TestSyncReceipts(t *testing.T) {
	testdb.Each(t, func(t *testing.T, d store.Dialect) {
		ctx := context.Background()
		st := testdb.Open(t, d, nil)
		now := time.Now().UTC().Truncate(time.Millisecond)
		rc := func(id string, at time.Time) *villagesync.Receipt {
			return &villagesync.Receipt{AccountID: 9, ClientID: id, Kind: villagesync.KindFollowUp, Hash: "h1", CreatedAt: at, UpdatedAt: at}
		}
		var wg sync.WaitGroup
		wins := make(chan bool, 8)
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, ok, err := st.ClaimReceipt(ctx, rc("a", now), now.Add(-time.Minute))
				if err != nil {
					t.Error(err)
				}
				wins <- ok
			}()
		}
		wg.Wait()
		close(wins)
		n := 0
		for ok := range wins {
			if ok {
				n++
			}
		}
		if n != 1 {
			t.Fatalf("%d claims of one client ID won, want 1", n)
		}
		// Pending and fresh: not taken over.
		if prev, ok, err := st.ClaimReceipt(ctx, rc("a", now.Add(time.Second)), now.Add(-time.Minute)); err != nil || ok || prev == nil || prev.Status != "pending" {
			t.Fatalf("fresh pending receipt: %+v %v %v", prev, ok, err)
		}
		// Pending and stale (its request died): taken over.
		if _, ok, err := st.ClaimReceipt(ctx, rc("a", now.Add(3*time.Minute)), now.Add(2*time.Minute)); err != nil || !ok {
			t.Fatalf("stale pending receipt not taken over: %v %v", ok, err)
		}
		done := rc("a", now)
		done.Status, done.Result = villagesync.Accepted, []byte(`{"id":"a","s":"accepted","sid":5}`)
		if err := st.FinishReceipt(ctx, done); err != nil {
			t.Fatal(err)
		}
		prev, ok, err := st.ClaimReceipt(ctx, rc("a", now.Add(time.Hour)), now.Add(time.Hour))
		if err != nil || ok || prev.Status != villagesync.Accepted || string(prev.Result) != string(done.Result) || prev.Hash != "h1" {
			t.Fatalf("finished receipt: %+v %v %v", prev, ok, err)
		}
		// Another account's same client ID is its own.
		other := rc("a", now)
		other.AccountID = 10
		if _, ok, err := st.ClaimReceipt(ctx, other, now); err != nil || !ok {
			t.Fatalf("another account's client ID: %v %v", ok, err)
		}
		// Dropped after a failure: claimed again; a finished one is never dropped.
		if err := st.DropReceipt(ctx, 10, "a"); err != nil {
			t.Fatal(err)
		}
		if _, ok, err := st.ClaimReceipt(ctx, other, now); err != nil || !ok {
			t.Fatalf("dropped receipt not claimable: %v %v", ok, err)
		}
		if err := st.DropReceipt(ctx, 9, "a"); err != nil {
			t.Fatal(err)
		}
		if prev, ok, _ := st.ClaimReceipt(ctx, rc("a", now), now); ok || prev == nil {
			t.Fatal("a finished receipt was dropped")
		}
	})
}
