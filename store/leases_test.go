package store_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"countycare/account"
	"countycare/audit"
	"countycare/care"
	"countycare/internal/testdb"
	"countycare/notify"
	"countycare/store"
)

// One lease, many replicas: only one holds it at a time, the holder
// renews it, it passes to another only once it expired by the database's
// clock (or was released), and under a race of many takers exactly one wins.
func TestLeaseOneHolderAtATime(t *testing.T) {
	testdb.Each(t, func(t *testing.T, d store.Dialect) {
		ctx := context.Background()
		st := testdb.Open(t, d, nil)
		const ttl = 700 * time.Millisecond
		take := func(holder string) bool {
			t.Helper()
			ok, err := st.AcquireLease(ctx, "scheduler", holder, ttl)
			if err != nil {
				t.Fatal(err)
			}
			return ok
		}
		if !take("a") {
			t.Fatal("a: the first taker did not get a free lease")
		}
		if take("b") {
			t.Fatal("b took a lease a holds")
		}
		time.Sleep(ttl / 2)
		if !take("a") {
			t.Fatal("a could not renew its own lease")
		}
		time.Sleep(ttl / 2)
		if take("b") {
			t.Fatal("b took a's lease before the renewed expiry")
		}
		time.Sleep(ttl) // a stops renewing: it died
		if !take("b") {
			t.Fatal("b did not take the lease a let expire")
		}
		if take("a") {
			t.Fatal("a took back b's live lease")
		}
		ls, err := st.Leases(ctx)
		if err != nil || len(ls) != 1 || ls[0].Holder != "b" || !ls[0].ExpiresAt.After(ls[0].AcquiredAt) {
			t.Fatalf("leases: %+v %v", ls, err)
		}
		if err := st.ReleaseLease(ctx, "scheduler", "a"); err != nil {
			t.Fatal(err)
		}
		if take("c") {
			t.Fatal("a released b's lease")
		}
		if err := st.ReleaseLease(ctx, "scheduler", "b"); err != nil {
			t.Fatal(err)
		}
		if !take("c") {
			t.Fatal("c did not get the lease b released")
		}

		// Ten replicas race for an expired lease: one wins.
		time.Sleep(ttl + 100*time.Millisecond)
		var mu sync.Mutex
		won := 0
		var wg sync.WaitGroup
		for i := range 10 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ok, err := st.AcquireLease(ctx, "scheduler", string(rune('k'+i)), ttl)
				if err != nil {
					t.Error(err)
				}
				if ok {
					mu.Lock()
					won++
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		if won != 1 {
			t.Fatalf("%d of 10 racing replicas hold the lease, want 1", won)
		}
	})
}

// A periodic duty's last run is kept in the database.
func TestDutyRuns(t *testing.T) {
	testdb.Each(t, func(t *testing.T, d store.Dialect) {
		ctx := context.Background()
		st := testdb.Open(t, d, nil)
		if last, err := st.DutyLastRun(ctx, "low-stock scan"); err != nil || !last.IsZero() {
			t.Fatalf("never ran: %v %v", last, err)
		}
		at := time.Date(2026, 12, 7, 1, 2, 3, 456000, time.UTC)
		for _, tm := range []time.Time{at.Add(-time.Hour), at} {
			if err := st.SetDutyRun(ctx, "low-stock scan", tm); err != nil {
				t.Fatal(err)
			}
		}
		if last, err := st.DutyLastRun(ctx, "low-stock scan"); err != nil || !last.Equal(at) {
			t.Fatalf("last run %v %v, want %v", last, err, at)
		}
	})
}

// The store's Now is the database's clock even when this process's clock
// is an hour off (clock skew between replicas): SyncClock measures the
// offset. On SQLite the database's clock is this machine's.
func TestNowIsTheDatabasesClock(t *testing.T) {
	testdb.Each(t, func(t *testing.T, d store.Dialect) {
		ctx := context.Background()
		skewed := func() time.Time { return time.Now().Add(time.Hour) }
		st := testdb.Open(t, d, skewed)
		off, err := st.SyncClock(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if d == store.SQLite {
			if off != 0 {
				t.Fatalf("SQLite offset %v, want 0", off)
			}
			return
		}
		if got := st.Now().Sub(time.Now()); got > time.Second || got < -time.Second {
			t.Fatalf("Now is %v from the database's clock (local clock an hour fast; offset measured %v)", got, off)
		}
	})
}

// Two dispatchers (two replicas' outboxes) never send one message twice:
// each claims its messages (ClaimMessages holds them for a lease) before
// sending.
func TestOutboxClaims(t *testing.T) {
	testdb.Each(t, func(t *testing.T, d store.Dialect) {
		ctx := context.Background()
		st := testdb.Open(t, d, nil)
		var msgs []notify.Message
		for range 40 {
			msgs = append(msgs, notify.Message{County: "130100", Channel: notify.ChannelSMS, Recipient: "13800000000", Purpose: "test", Body: "测试"})
		}
		if n, err := st.QueueMessages(ctx, msgs, 0, time.Time{}, audit.Event{Action: "test.queue", Outcome: audit.OutcomeOK}); err != nil || n != 40 {
			t.Fatalf("queue: %d %v", n, err)
		}
		snd := &countingSender{seen: map[int64]int{}}
		var wg sync.WaitGroup
		for range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				dp := &notify.Dispatcher{Repo: st, Sender: snd, Log: quiet, Now: time.Now}
				for {
					n, err := dp.RunOnce(ctx)
					if err != nil {
						t.Error(err)
					}
					if n == 0 || err != nil {
						return
					}
				}
			}()
		}
		wg.Wait()
		if len(snd.seen) != 40 {
			t.Fatalf("%d messages sent, want 40", len(snd.seen))
		}
		for id, n := range snd.seen {
			if n != 1 {
				t.Fatalf("message %d sent %d times", id, n)
			}
		}
		ms, _ := st.MessagesTo(ctx, "130100", 0, "test", 100)
		for _, m := range ms {
			if m.Status != notify.StatusSent {
				t.Errorf("message %d: %s", m.ID, m.Status)
			}
		}
	})
}

type countingSender struct {
	mu   sync.Mutex
	seen map[int64]int
}

func (s *countingSender) Send(_ context.Context, m *notify.Message) error {
	s.mu.Lock()
	s.seen[m.ID]++
	s.mu.Unlock()
	time.Sleep(time.Millisecond) // a gateway's round trip: the two dispatchers overlap
	return nil
}

func TestSignInFailuresSharedByReplicas(t *testing.T) {
	testdb.Each(t, func(t *testing.T, d store.Dialect) {
		ctx := context.Background()
		st := testdb.Open(t, d, nil)
		one := &account.Service{Repo: st, Config: account.DefaultConfig(), Now: time.Now}
		two := &account.Service{Repo: st, Config: account.DefaultConfig(), Now: time.Now}
		for i := range 50 {
			s := []*account.Service{one, two}[i%2]
			_, _, err := s.Login(ctx, account.Credentials{Username: fmt.Sprintf("nobody%d", i), Password: "wrong-password-123", IP: "203.0.113.66"})
			if !care.IsCode(err, care.EUNAUTHORIZED) {
				t.Fatalf("junk sign-in %d: %v, want unauthorized", i, err)
			}
		}
		for _, s := range []*account.Service{one, two} {
			if _, _, err := s.Login(ctx, account.Credentials{Username: "nobody", Password: "wrong-password-123", IP: "203.0.113.66"}); !care.IsCode(err, care.ETOOMANY) {
				t.Fatalf("51st junk sign-in from the address: %v, want too many", err)
			}
		}
		if _, _, err := two.Login(ctx, account.Credentials{Username: "nobody", Password: "wrong-password-123", IP: "203.0.113.67"}); !care.IsCode(err, care.EUNAUTHORIZED) {
			t.Fatalf("another address: %v", err)
		}
		if n, err := st.PurgeAuthFailures(ctx, time.Now().Add(time.Minute)); err != nil || n != 51 {
			t.Fatalf("purged %d %v, want 51", n, err)
		}
		if _, _, err := one.Login(ctx, account.Credentials{Username: "nobody", Password: "wrong-password-123", IP: "203.0.113.66"}); !care.IsCode(err, care.EUNAUTHORIZED) {
			t.Fatalf("after the purge: %v", err)
		}
	})
}
