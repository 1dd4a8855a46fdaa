package store_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"countycare/audit"
	"countycare/internal/testdb"
	"countycare/store"
)

var jlog = slog.New(slog.NewTextHandler(io.Discard, nil))

// downStore refuses to insert journaled events (the database is down).
type downStore struct{ *store.Store }

func (downStore) AppendAuditJournaled(context.Context, []audit.Event, audit.Watermark) error {
	return errors.New("database down")
}

// The journal's watermark moves in the transaction that inserts the
// journaled events, and a replay through the store inserts each once.
func TestAuditJournalWatermarkAndReplay(t *testing.T) {
	testdb.Each(t, func(t *testing.T, d store.Dialect) {
		st := testdb.Open(t, d, time.Now)
		ctx := context.Background()
		if _, ok, err := st.AuditWatermark(ctx); err != nil || ok {
			t.Fatalf("fresh database: watermark ok=%v, %v; want none", ok, err)
		}
		seq0, _, _ := st.AuditHead(ctx)
		e := audit.Event{Action: audit.ActResidentRead, Outcome: audit.OutcomeOK, RequestID: "wm-1", AccountID: 1}
		if err := st.AppendAuditJournaled(ctx, []audit.Event{e}, audit.Watermark{JournalID: "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", Offset: 100}); err != nil {
			t.Fatal(err)
		}
		if err := st.AppendAuditJournaled(ctx, []audit.Event{e}, audit.Watermark{JournalID: "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", Offset: 44}); err != nil {
			t.Fatal(err)
		}
		m, ok, err := st.AuditWatermark(ctx)
		if err != nil || !ok || m != (audit.Watermark{JournalID: "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", Offset: 44}) {
			t.Fatalf("watermark %+v %v %v, want bb at 44", m, ok, err)
		}

		// A writer journals reads while the database refuses them; the
		// next start replays them, and a second start inserts nothing more.
		path := filepath.Join(t.TempDir(), "audit-journal")
		w := audit.NewWriter(downStore{st}, jlog, time.Now, 16)
		if err := w.OpenJournal(ctx, path, audit.SyncBatch); err != nil {
			t.Fatal(err)
		}
		w.Start()
		for i := 0; i < 3; i++ {
			w.Record(ctx, audit.Event{Action: audit.ActResidentRead, Outcome: audit.OutcomeOK, RequestID: "journaled", AccountID: 1})
		}
		w.Close(ctx)
		for round := 0; round < 2; round++ {
			w := audit.NewWriter(st, jlog, time.Now, 16)
			if err := w.OpenJournal(ctx, path, audit.SyncBatch); err != nil {
				t.Fatal(err)
			}
			w.Start()
			w.Close(ctx)
		}
		rows, err := st.SearchAudit(ctx, audit.Filter{RequestID: "journaled"})
		if err != nil || len(rows) != 3 {
			t.Fatalf("%d journaled rows, %v; want 3", len(rows), err)
		}
		seq1, _, _ := st.AuditHead(ctx)
		if seq1-seq0 != 5 {
			t.Fatalf("chain grew by %d rows, want 5", seq1-seq0)
		}
		v, err := st.VerifyAudit(ctx, testdb.AuditKey)
		if err != nil || !v.OK() {
			t.Fatalf("chain: %v %v", v.Problems, err)
		}
	})
}

// A batch larger than one INSERT statement (appendAudit's chunks: full
// ones through the statement prepared at Open, the rest as text) is
// chained in order, every row once, and the chain verifies.
func TestAuditBatchAcrossChunks(t *testing.T) {
	testdb.Each(t, func(t *testing.T, d store.Dialect) {
		st := testdb.Open(t, d, time.Now)
		ctx := context.Background()
		seq0, _, _ := st.AuditHead(ctx)
		evs := make([]audit.Event, 250)
		for i := range evs {
			evs[i] = audit.Event{Action: audit.ActResidentRead, Outcome: audit.OutcomeOK, RequestID: fmt.Sprintf("chunk-%03d", i), AccountID: 1, ResidentID: int64(i + 1)}
		}
		for round := 0; round < 2; round++ {
			if err := st.AppendAuditJournaled(ctx, evs, audit.Watermark{JournalID: "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", Offset: int64(1000 * (round + 1))}); err != nil {
				t.Fatal(err)
			}
		}
		seq, _, err := st.AuditHead(ctx)
		if err != nil || seq != seq0+500 {
			t.Fatalf("head at %d (%v), want %d", seq, err, seq0+500)
		}
		rows, err := st.SearchAudit(ctx, audit.Filter{Action: audit.ActResidentRead, Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) != 500 {
			t.Fatalf("%d rows, want 500", len(rows))
		}
		for i, r := range rows { // newest first
			want := fmt.Sprintf("chunk-%03d", 249-i%250)
			if r.RequestID != want || r.Seq != seq0+500-int64(i) {
				t.Fatalf("row %d: seq %d %s, want seq %d %s", i, r.Seq, r.RequestID, seq0+500-int64(i), want)
			}
		}
		v, err := st.VerifyAudit(ctx, testdb.AuditKey)
		if err != nil || !v.OK() {
			t.Fatalf("verify: %v %v", err, v.Problems)
		}
	})
}
