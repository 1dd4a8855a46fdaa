package audit

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"
)

var key = []byte("test-key-0123456789abcdef0123456")

func chain(n int) []Event {
	var es []Event
	seq, prev := int64(0), ""
	for i := 0; i < n; i++ {
		e := Event{Time: time.Date(2026, 11, 22, 1, 2, 3, 456789123, time.UTC), AccountID: 7, Action: ActResidentRead, ResidentID: int64(i), Outcome: OutcomeOK}
		Seal(key, seq, prev, &e)
		seq, prev = e.Seq, e.Hash
		es = append(es, e)
	}
	return es
}

func verify(es []Event) *Verifier {
	v := NewVerifier(key)
	for i := range es {
		v.Add(&es[i])
	}
	if len(es) > 0 {
		last := es[len(es)-1]
		v.Finish(last.Seq, last.Hash)
	}
	return v
}

func TestChainVerifies(t *testing.T) {
	es := chain(5)
	if v := verify(es); !v.OK() {
		t.Fatalf("intact chain reported: %v", v.Problems)
	}
	if es[0].Time.Nanosecond()%1000 != 0 {
		t.Error("time not truncated to microseconds")
	}
}

func TestVerifyDetectsTampering(t *testing.T) {
	edited := chain(5)
	edited[2].ResidentID = 99
	if v := verify(edited); v.OK() {
		t.Error("edited row not detected")
	}
	deleted := append(chain(5)[:2], chain(5)[3:]...)
	if v := verify(deleted); v.OK() {
		t.Error("deleted row not detected")
	}
	// Re-sealing an edited row without the key is impossible; with a wrong key it shows.
	forged := chain(3)
	forged[1].Detail = "x"
	Seal([]byte("wrong"), forged[0].Seq, forged[0].Hash, &forged[1])
	if v := verify(forged); v.OK() {
		t.Error("row re-sealed with another key not detected")
	}
	truncated := chain(5)
	v := NewVerifier(key)
	for i := range truncated[:4] {
		v.Add(&truncated[i])
	}
	v.Finish(truncated[4].Seq, truncated[4].Hash)
	if v.OK() {
		t.Error("row deleted from the end not detected against the head")
	}
}

type memAppender struct {
	mu  sync.Mutex
	got []Event
}

func (m *memAppender) AppendAudit(ctx context.Context, es []Event) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.got = append(m.got, es...)
	return nil
}

func TestWriterDeliversEverything(t *testing.T) {
	m := &memAppender{}
	w := NewWriter(m, slog.New(slog.NewTextHandler(io.Discard, nil)), time.Now, 4)
	w.Start()
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 100; i++ {
				w.Record(context.Background(), Event{Action: ActResidentRead})
			}
		}()
	}
	wg.Wait()
	if err := w.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	m.mu.Lock()
	n := len(m.got)
	m.mu.Unlock()
	if n != 800 {
		t.Fatalf("after Flush %d events written, want 800", n)
	}
	w.Record(context.Background(), Event{Action: ActResidentRead})
	if err := w.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(m.got) != 801 {
		t.Fatalf("after Close %d events written, want 801", len(m.got))
	}
}

// gateAppender commits a batch only when released, and can fail.
type gateAppender struct {
	mu      sync.Mutex
	got     []Event
	batches int
	gate    chan struct{}
	fail    error
}

func (g *gateAppender) AppendAudit(ctx context.Context, es []Event) error {
	if g.gate != nil {
		<-g.gate
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.fail != nil {
		return g.fail
	}
	g.batches++
	g.got = append(g.got, es...)
	return nil
}

func (g *gateAppender) count() (events, batches int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.got), g.batches
}

func quietLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// Record returns only after the transaction holding its event committed:
// a read whose Record returned cannot lose its row to a kill -9.
func TestRecordWaitsForCommit(t *testing.T) {
	g := &gateAppender{gate: make(chan struct{})}
	w := NewWriter(g, quietLog(), time.Now, 16)
	w.Start()
	defer w.Close(context.Background())
	returned := make(chan struct{})
	go func() {
		w.Record(context.Background(), Event{Action: ActResidentRead})
		close(returned)
	}()
	select {
	case <-returned:
		t.Fatal("Record returned before its batch was committed")
	case <-time.After(100 * time.Millisecond):
	}
	close(g.gate)
	select {
	case <-returned:
	case <-time.After(5 * time.Second):
		t.Fatal("Record did not return after the commit")
	}
	if n, _ := g.count(); n != 1 {
		t.Fatalf("%d events committed, want 1", n)
	}
}

// Concurrent events pending while a batch commits go into the next
// transaction together (group commit), not one transaction each.
func TestWriterGroupCommits(t *testing.T) {
	g := &gateAppender{gate: make(chan struct{})}
	w := NewWriter(g, quietLog(), time.Now, 256)
	w.Start()
	defer w.Close(context.Background())
	var wg sync.WaitGroup
	for i := 0; i < 100; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w.Record(context.Background(), Event{Action: ActResidentRead})
		}()
	}
	time.Sleep(100 * time.Millisecond) // the first batch is held at the gate; the rest queue
	close(g.gate)
	wg.Wait()
	n, b := g.count()
	if n != 100 {
		t.Fatalf("%d events committed, want 100", n)
	}
	if b > 10 {
		t.Fatalf("100 concurrent events took %d transactions; want them grouped", b)
	}
}

// Under a Barrier Record only queues; Wait reports the batch's failure,
// and keeps reporting it, so the request can refuse to send its data.
func TestBarrierReportsFailedCommit(t *testing.T) {
	g := &gateAppender{fail: errors.New("disk full")}
	w := NewWriter(g, quietLog(), time.Now, 16)
	w.Start()
	defer w.Close(context.Background())
	ctx, b := WithBarrier(context.Background())
	w.Record(ctx, Event{Action: ActResidentRead})
	if err := b.Wait(); !errors.Is(err, ErrNotRecorded) {
		t.Fatalf("Wait = %v, want ErrNotRecorded", err)
	}
	if err := b.Wait(); !errors.Is(err, ErrNotRecorded) {
		t.Fatalf("second Wait = %v, want ErrNotRecorded still", err)
	}

	ok := &gateAppender{}
	w2 := NewWriter(ok, quietLog(), time.Now, 16)
	w2.Start()
	defer w2.Close(context.Background())
	ctx2, b2 := WithBarrier(context.Background())
	w2.Record(ctx2, Event{Action: ActResidentRead})
	w2.Record(ctx2, Event{Action: ActResidentSearch})
	if err := b2.Wait(); err != nil {
		t.Fatal(err)
	}
	if n, _ := ok.count(); n != 2 {
		t.Fatalf("after Wait %d events committed, want 2", n)
	}
}

// A writer that is closed refuses new events instead of hanging.
func TestRecordAfterCloseFails(t *testing.T) {
	w := NewWriter(&gateAppender{}, quietLog(), time.Now, 16)
	w.Start()
	w.Close(context.Background())
	ctx, b := WithBarrier(context.Background())
	w.Record(ctx, Event{Action: ActResidentRead})
	if err := b.Wait(); !errors.Is(err, ErrNotRecorded) {
		t.Fatalf("Wait after Close = %v, want ErrNotRecorded", err)
	}
}
