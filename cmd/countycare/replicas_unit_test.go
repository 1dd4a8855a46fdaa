package main

import (
	"context"
	"io"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"countycare/internal/testdb"
	"countycare/store"
)

// Two schedulers on one database (SQLite here; PostgreSQL in the replica
// tests): the duties run on one of them at a time, never both, and when
// that one stops (SIGTERM: it releases the lease) the other takes them
// over at its next try.
func TestSchedulerRunsDutiesOnOneReplica(t *testing.T) {
	st := testdb.Open(t, store.SQLite, nil)
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	var running, overlaps atomic.Int32
	var ran [2]atomic.Int32
	mk := func(i int, holder string) *scheduler {
		return &scheduler{st: st, holder: holder, ttl: time.Second, log: quiet, duties: []func(context.Context){
			func(ctx context.Context) {
				if running.Add(1) > 1 {
					overlaps.Add(1)
				}
				ran[i].Add(1)
				<-ctx.Done()
				running.Add(-1)
			},
		}}
	}
	ctxs := [2]context.Context{}
	cancels := [2]context.CancelFunc{}
	done := [2]chan struct{}{make(chan struct{}), make(chan struct{})}
	for i, h := range []string{"a", "b"} {
		ctxs[i], cancels[i] = context.WithCancel(context.Background())
		s := mk(i, h)
		go func() { s.run(ctxs[i]); close(done[i]) }()
	}
	defer func() {
		for i := range cancels {
			cancels[i]()
			<-done[i]
		}
	}()
	waitFor := func(what string, ok func() bool) time.Duration {
		t.Helper()
		start := time.Now()
		for !ok() {
			if time.Since(start) > 5*time.Second {
				t.Fatalf("%s: not within 5 s", what)
			}
			time.Sleep(10 * time.Millisecond)
		}
		return time.Since(start)
	}
	waitFor("a holder starts the duties", func() bool { return running.Load() == 1 })
	time.Sleep(1500 * time.Millisecond) // renewals pass; the other never starts them
	first := 0
	if ran[1].Load() == 1 {
		first = 1
	}
	if ran[0].Load()+ran[1].Load() != 1 {
		t.Fatalf("duties started %d and %d times, want once on one replica", ran[0].Load(), ran[1].Load())
	}
	cancels[first]()
	<-done[first]
	took := waitFor("the other takes over", func() bool { return ran[1-first].Load() == 1 && running.Load() == 1 })
	if took > 600*time.Millisecond {
		t.Errorf("handover after a release took %v, want within a quarter of the lease", took)
	}
	if overlaps.Load() > 0 {
		t.Fatalf("the duties ran on both replicas at once %d times", overlaps.Load())
	}
	ls, err := st.Leases(context.Background())
	if err != nil || len(ls) != 1 || ls[0].Holder != []string{"a", "b"}[1-first] {
		t.Fatalf("leases %+v %v", ls, err)
	}
}

// cutOff is the lease store of a replica that can lose the database.
type cutOff struct {
	leaseStore
	lost atomic.Bool
}

func (c *cutOff) AcquireLease(ctx context.Context, name, holder string, ttl time.Duration) (bool, error) {
	if c.lost.Load() {
		return false, context.DeadlineExceeded
	}
	return c.leaseStore.AcquireLease(ctx, name, holder, ttl)
}

// A holder that can no longer reach the database stops its duties before
// its lease can expire, so the replica that takes the lease over never
// runs them at the same time.
func TestSchedulerStopsBeforeItsLeaseExpires(t *testing.T) {
	st := testdb.Open(t, store.SQLite, nil)
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	var running, overlaps atomic.Int32
	var stoppedAt, startedB atomic.Int64
	duty := func(mark *atomic.Int64, onStop *atomic.Int64) func(context.Context) {
		return func(ctx context.Context) {
			if running.Add(1) > 1 {
				overlaps.Add(1)
			}
			if mark != nil {
				mark.Store(time.Now().UnixNano())
			}
			<-ctx.Done()
			if onStop != nil {
				onStop.Store(time.Now().UnixNano())
			}
			running.Add(-1)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cut := &cutOff{leaseStore: st}
	a := &scheduler{st: cut, holder: "a", ttl: time.Second, log: quiet, duties: []func(context.Context){duty(nil, &stoppedAt)}}
	b := &scheduler{st: st, holder: "b", ttl: time.Second, log: quiet, duties: []func(context.Context){duty(&startedB, nil)}}
	doneA, doneB := make(chan struct{}), make(chan struct{})
	go func() { a.run(ctx); close(doneA) }()
	for running.Load() == 0 {
		time.Sleep(10 * time.Millisecond)
	}
	go func() { b.run(ctx); close(doneB) }()
	time.Sleep(600 * time.Millisecond)
	cut.lost.Store(true)
	deadline := time.Now().Add(5 * time.Second)
	for startedB.Load() == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	<-doneA
	<-doneB
	if startedB.Load() == 0 {
		t.Fatal("the other replica never took the duties over")
	}
	if overlaps.Load() > 0 || stoppedAt.Load() == 0 || stoppedAt.Load() > startedB.Load() {
		t.Fatalf("the cut-off holder stopped at %d, the other started at %d; overlaps %d", stoppedAt.Load(), startedB.Load(), overlaps.Load())
	}
}
