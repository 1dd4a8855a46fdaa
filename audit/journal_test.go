package audit

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// memChain is a JournaledAppender in memory: it seals events onto a chain
// and records the watermark with them, atomically, like the store.
type memChain struct {
	mu      sync.Mutex
	rows    []Event
	mark    Watermark
	hasMark bool
	batches int
	gate    chan struct{}
	fail    error
}

func (m *memChain) AppendAudit(ctx context.Context, es []Event) error {
	return m.AppendAuditJournaled(ctx, es, Watermark{})
}

func (m *memChain) AppendAuditJournaled(ctx context.Context, es []Event, mark Watermark) error {
	if m.gate != nil {
		<-m.gate
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail != nil {
		return m.fail
	}
	seq, prev := int64(0), ""
	if n := len(m.rows); n > 0 {
		seq, prev = m.rows[n-1].Seq, m.rows[n-1].Hash
	}
	for _, e := range es {
		Seal(key, seq, prev, &e)
		seq, prev = e.Seq, e.Hash
		m.rows = append(m.rows, e)
	}
	if mark.JournalID != "" {
		m.mark, m.hasMark = mark, true
	}
	m.batches++
	return nil
}

func (m *memChain) AuditWatermark(ctx context.Context) (Watermark, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.mark, m.hasMark, nil
}

func (m *memChain) requestIDs() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var ids []string
	for _, e := range m.rows {
		ids = append(ids, e.RequestID)
	}
	return ids
}

func journaled(t *testing.T, m *memChain, path string, mode SyncMode, log *slog.Logger) *Writer {
	t.Helper()
	w := NewWriter(m, log, time.Now, 256)
	if err := w.OpenJournal(context.Background(), path, mode); err != nil {
		t.Fatal(err)
	}
	w.Start()
	return w
}

func ev(id string) Event {
	return Event{Time: time.Date(2026, 12, 7, 3, 0, 0, 0, time.UTC), AccountID: 7, Action: ActResidentRead, ResidentID: 1, Outcome: OutcomeOK, RequestID: id}
}

// With a journal a request is released once its event is written to the
// journal, before the database commits it; the event then reaches the
// chain in the background, and Flush waits for that.
func TestJournalReleasesBeforeCommit(t *testing.T) {
	for _, mode := range []SyncMode{SyncBatch, SyncAlways} {
		t.Run(mode.String(), func(t *testing.T) {
			m := &memChain{gate: make(chan struct{})}
			w := journaled(t, m, filepath.Join(t.TempDir(), "j"), mode, quietLog())
			ctx, b := WithBarrier(context.Background())
			w.Record(ctx, ev("r1"))
			done := make(chan error, 1)
			go func() { done <- b.Wait() }()
			select {
			case err := <-done:
				if err != nil {
					t.Fatal(err)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("the request waited for the database commit")
			}
			close(m.gate)
			if err := w.Flush(context.Background()); err != nil {
				t.Fatal(err)
			}
			if ids := m.requestIDs(); len(ids) != 1 || ids[0] != "r1" {
				t.Fatalf("rows %v after Flush, want [r1]", ids)
			}
			w.Close(context.Background())
		})
	}
}

// Concurrent requests' events share one write(2) to the journal.
func TestJournalGroupsWrites(t *testing.T) {
	m := &memChain{}
	w := NewWriter(m, quietLog(), time.Now, 256)
	if err := w.OpenJournal(context.Background(), filepath.Join(t.TempDir(), "j"), SyncBatch); err != nil {
		t.Fatal(err)
	}
	// 100 requests queue their events; the first to wait writes them all.
	var bs []*Barrier
	for i := 0; i < 100; i++ {
		ctx, b := WithBarrier(context.Background())
		w.Record(ctx, ev("g"))
		bs = append(bs, b)
	}
	w.Start()
	var wg sync.WaitGroup
	for _, b := range bs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := b.Wait(); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	w.Flush(context.Background())
	if n := len(m.requestIDs()); n != 100 {
		t.Fatalf("%d rows, want 100", n)
	}
	if w.j.writes != 1 {
		t.Fatalf("100 pending events took %d journal writes; want one group", w.j.writes)
	}
	w.Close(context.Background())
}

// writeJournal makes a journal at path holding events with the given
// request IDs, as a killed server leaves it, and returns the offset after
// each record.
func writeJournal(t *testing.T, path, prev string, ids ...string) (*journal, []int64) {
	t.Helper()
	j, err := createJournal(path, prev)
	if err != nil {
		t.Fatal(err)
	}
	var ends []int64
	for _, id := range ids {
		e := ev(id)
		if _, end, err := j.write(appendRecord(nil, &e), false); err != nil {
			t.Fatal(err)
		} else {
			ends = append(ends, end)
		}
	}
	j.f.Close()
	return j, ends
}

// Replay inserts the events after the watermark, each once; replaying the
// same journal again (a crash after the replay's commit, before the
// journal was replaced) inserts nothing more; the chain verifies.
func TestJournalReplayExactlyOnce(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "j")
	j, ends := writeJournal(t, path, "", "a", "b", "c", "d", "e")
	saved, _ := os.ReadFile(path)
	m := &memChain{}
	// "a" and "b" were committed before the crash (with their watermark).
	m.AppendAuditJournaled(context.Background(), []Event{ev("a"), ev("b")}, Watermark{JournalID: j.id, Offset: ends[1]})

	w := journaled(t, m, path, SyncBatch, quietLog())
	w.Close(context.Background())
	if got := strings.Join(m.requestIDs(), ","); got != "a,b,c,d,e" {
		t.Fatalf("rows %s after replay, want a,b,c,d,e", got)
	}
	if m.mark.JournalID != j.id || m.mark.Offset != ends[4] {
		t.Fatalf("watermark %+v, want %s at %d", m.mark, j.id, ends[4])
	}
	// The replayed journal was replaced by an empty successor.
	nj, recs, err := openJournal(path, quietLog())
	if err != nil || len(recs) != 0 || nj.prev != j.id {
		t.Fatalf("after replay: journal prev %q, %d records, %v; want an empty successor of %s", nj.prev, len(recs), err, j.id)
	}
	nj.f.Close()

	// Twice: a crash before the old journal was replaced.
	if err := os.WriteFile(path, saved, 0o600); err != nil {
		t.Fatal(err)
	}
	w = journaled(t, m, path, SyncBatch, quietLog())
	w.Close(context.Background())
	if got := strings.Join(m.requestIDs(), ","); got != "a,b,c,d,e" {
		t.Fatalf("rows %s after a second replay, want no duplicates", got)
	}
	if v := verify(m.rows); !v.OK() {
		t.Fatalf("chain after replay: %v", v.Problems)
	}

	// A new journal (after rotation) is accepted with the old watermark.
	w = journaled(t, m, path, SyncBatch, quietLog())
	w.Record(context.Background(), ev("f"))
	w.Close(context.Background())
	if got := strings.Join(m.requestIDs(), ","); got != "a,b,c,d,e,f" {
		t.Fatalf("rows %s, want a,b,c,d,e,f", got)
	}
}

// A record cut short by the crash is ignored, with a log line, and cut
// off the file; the whole records before it are replayed.
func TestJournalTornLastRecord(t *testing.T) {
	path := filepath.Join(t.TempDir(), "j")
	_, ends := writeJournal(t, path, "", "a", "b", "c")
	if err := os.Truncate(path, ends[2]-5); err != nil { // "c" half written
		t.Fatal(err)
	}
	var logs bytes.Buffer
	m := &memChain{}
	w := journaled(t, m, path, SyncBatch, slog.New(slog.NewTextHandler(&logs, nil)))
	w.Record(context.Background(), ev("d"))
	w.Close(context.Background())
	if got := strings.Join(m.requestIDs(), ","); got != "a,b,d" {
		t.Fatalf("rows %s, want a,b,d (the torn c ignored)", got)
	}
	if !strings.Contains(logs.String(), "torn last record ignored") {
		t.Fatalf("no log line for the torn record:\n%s", logs.String())
	}
	if v := verify(m.rows); !v.OK() {
		t.Fatal(v.Problems)
	}
}

// A journal the database's watermark does not name belongs to another
// database (another replica's file copied in): it is refused, untouched.
func TestJournalOfAnotherDatabaseRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "j")
	writeJournal(t, path, "", "a")
	before, _ := os.ReadFile(path)
	m := &memChain{mark: Watermark{JournalID: "00112233445566778899aabbccddeeff", Offset: 100}, hasMark: true}
	w := NewWriter(m, quietLog(), time.Now, 16)
	err := w.OpenJournal(context.Background(), path, SyncBatch)
	if err == nil || !strings.Contains(err.Error(), "does not belong to this database") {
		t.Fatalf("OpenJournal = %v, want a refusal", err)
	}
	if len(m.requestIDs()) != 0 {
		t.Fatal("events of another database's journal were inserted")
	}
	if after, _ := os.ReadFile(path); !bytes.Equal(before, after) {
		t.Fatal("the refused journal was modified")
	}
}

// A journal write that fails fails the request (ErrNotRecorded: the
// wrapper answers 503 without the record).
func TestJournalWriteFailureFailsRequest(t *testing.T) {
	m := &memChain{}
	w := journaled(t, m, filepath.Join(t.TempDir(), "j"), SyncBatch, quietLog())
	defer w.Close(context.Background())
	w.j.mu.Lock()
	w.j.f.Close() // every write now fails
	w.j.mu.Unlock()
	ctx, b := WithBarrier(context.Background())
	w.Record(ctx, ev("x"))
	if err := b.Wait(); !errors.Is(err, ErrNotRecorded) {
		t.Fatalf("Wait = %v, want ErrNotRecorded", err)
	}
}

// A database that refuses a batch does not lose journaled events: they are
// retried, and what is still not in at close is replayed at the next start.
func TestJournalKeepsEventsTheDatabaseRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "j")
	m := &memChain{fail: errors.New("database down")}
	w := journaled(t, m, path, SyncBatch, quietLog())
	ctx, b := WithBarrier(context.Background())
	w.Record(ctx, ev("a"))
	if err := b.Wait(); err != nil {
		t.Fatalf("Wait = %v: the journal holds the event, the request succeeds", err)
	}
	cctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	w.Close(cctx)
	cancel()
	m.mu.Lock()
	m.fail = nil
	m.mu.Unlock()
	w = journaled(t, m, path, SyncBatch, quietLog())
	w.Close(context.Background())
	if got := strings.Join(m.requestIDs(), ","); got != "a" {
		t.Fatalf("rows %q after restart, want a", got)
	}
}

// Many concurrent requests: every acknowledged event reaches the chain
// once, in groups, and a record after Close is refused.
func TestJournalConcurrentRequests(t *testing.T) {
	m := &memChain{}
	path := filepath.Join(t.TempDir(), "j")
	w := journaled(t, m, path, SyncAlways, quietLog())
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 50; i++ {
				ctx, b := WithBarrier(context.Background())
				w.Record(ctx, ev("c"))
				if err := b.Wait(); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	w.Close(context.Background())
	if n := len(m.requestIDs()); n != 400 {
		t.Fatalf("%d rows, want 400", n)
	}
	if v := verify(m.rows); !v.OK() {
		t.Fatal(v.Problems)
	}
	ctx, b := WithBarrier(context.Background())
	w.Record(ctx, ev("late"))
	if err := b.Wait(); !errors.Is(err, ErrNotRecorded) {
		t.Fatalf("Record after Close: %v, want ErrNotRecorded", err)
	}
	// Nothing left to replay.
	w = journaled(t, m, path, SyncBatch, quietLog())
	w.Close(context.Background())
	if n := len(m.requestIDs()); n != 400 {
		t.Fatalf("%d rows after a restart, want 400", n)
	}
}

// A second process (or writer) on the same journal is refused while the
// first has it open, and accepted once it is closed.
func TestJournalInUseRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "j")
	m := &memChain{}
	w := journaled(t, m, path, SyncBatch, quietLog())
	w2 := NewWriter(m, quietLog(), time.Now, 16)
	if err := w2.OpenJournal(context.Background(), path, SyncBatch); err == nil || !strings.Contains(err.Error(), "in use") {
		t.Fatalf("second OpenJournal = %v, want in use", err)
	}
	w.Close(context.Background())
	w3 := journaled(t, m, path, SyncBatch, quietLog())
	w3.Close(context.Background())
}

// SyncBatch's periodic flush (docs/architecture.md, "Audit trail":
// --audit-sync batch loses at most the last ~100 ms in a power cut) skips
// the fdatasync while the database has committed every journaled record
// (they are durable there), and fdatasyncs when the database lags, e.g.
// while it refuses batches.
func TestJournalSyncSkippedWhileDatabaseKeepsUp(t *testing.T) {
	m := &memChain{}
	w := NewWriter(m, quietLog(), time.Now, 256)
	w.SyncEvery = time.Hour // the test calls syncBehind itself
	if err := w.OpenJournal(context.Background(), filepath.Join(t.TempDir(), "j"), SyncBatch); err != nil {
		t.Fatal(err)
	}
	w.Start()
	defer w.Close(context.Background())
	read := func(id string) {
		ctx, b := WithBarrier(context.Background())
		w.Record(ctx, ev(id))
		if err := b.Wait(); err != nil {
			t.Fatal(err)
		}
	}
	syncs := func() int {
		w.j.mu.Lock()
		defer w.j.mu.Unlock()
		return w.j.syncs
	}
	tick := func() {
		if err := w.j.syncBehind(); err != nil {
			t.Fatal(err)
		}
	}
	read("a")
	tick() // a: written since the last tick, not yet due
	if err := w.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	tick() // a is committed: no fdatasync needed
	if n := syncs(); n != 0 {
		t.Fatalf("%d fdatasyncs while the database had committed every record, want 0", n)
	}

	m.mu.Lock()
	m.fail = errors.New("database down")
	m.mu.Unlock()
	read("b")
	tick() // b not due yet
	if n := syncs(); n != 0 {
		t.Fatalf("%d fdatasyncs for a record written since the last tick, want 0", n)
	}
	tick() // b is due and not in the database: fdatasync
	if n := syncs(); n != 1 {
		t.Fatalf("%d fdatasyncs with an uncommitted record due, want 1", n)
	}
	w.j.mu.Lock()
	synced, size := w.j.synced, w.j.size
	w.j.mu.Unlock()
	if synced != size {
		t.Fatalf("synced to %d of %d", synced, size)
	}
	tick()
	if n := syncs(); n != 1 {
		t.Fatalf("%d fdatasyncs with nothing new, want 1", n)
	}
	m.mu.Lock()
	m.fail = nil
	m.mu.Unlock()
}

// An fdatasync in progress does not hold up appends: the request path
// waits for its own write(2) only (SyncBatch).
func TestJournalAppendDuringSync(t *testing.T) {
	m := &memChain{}
	w := journaled(t, m, filepath.Join(t.TempDir(), "j"), SyncBatch, quietLog())
	defer w.Close(context.Background())
	w.j.fmu.RLock() // as sync holds it during its fdatasync
	done := make(chan error, 1)
	go func() {
		ctx, b := WithBarrier(context.Background())
		w.Record(ctx, ev("during-sync"))
		done <- b.Wait()
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("an append waited for the fdatasync in progress")
	}
	w.j.fmu.RUnlock()
}
