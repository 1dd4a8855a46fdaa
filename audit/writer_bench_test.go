package audit

import (
	"context"
	"path/filepath"
	"testing"
	"time"
)

// The per-event cost of the durable read-audit path, apart from HTTP
// (issue 18 §2: durable read audit within the ≤ 10 % overhead,
// docs/benchmarks.md "Issue 18"). Each iteration is one request as the
// web wrapper runs it: WithBarrier, Record, Barrier.Wait.
//
//	go test ./audit -run NONE -bench DurableRead -benchmem
//
// none:          the barrier alone, nothing recorded (the bench's comparison server)
// journal-batch: serve's default with SQLite (--audit-sync batch): encode, one write(2), release
// journal-always: --audit-sync always: the same plus fdatasync per group
// no-journal:    group commit to the Appender (PostgreSQL without --audit-journal); the
//
//	Appender here is in memory, so this measures the hand-off, not a database
//
// cpu-µs/op is the process's CPU time per request (the loaded machine
// moves it far less than ns/op). The "/2-clients" variants run two requests at a time (RunParallel with
// GOMAXPROCS 2 on the 2-core bench machine), so groups form.
// The journal variants' database loop seals the events into an in-memory
// chain (HMAC) in the background, as the store would before its INSERT.
func BenchmarkDurableRead(b *testing.B) {
	e := ev("bench-request-id-0123456789")
	e.Username, e.Detail, e.CountyCode, e.Purpose = "doctor.zhang", `q="11010519491231****" filter=- n=1 ids=1234`, "130123", "treatment"
	e.Time = time.Time{} // stamped by Record, as in serve
	setups := []struct {
		name string
		open func(b *testing.B) Recorder
	}{
		{"none", func(b *testing.B) Recorder { return nopRecorder{} }},
		{"journal-batch", func(b *testing.B) Recorder { return benchJournal(b, SyncBatch) }},
		{"journal-always", func(b *testing.B) Recorder { return benchJournal(b, SyncAlways) }},
		{"no-journal", func(b *testing.B) Recorder {
			w := NewWriter(&memChain{}, quietLog(), time.Now, 4096)
			w.Start()
			b.Cleanup(func() { w.Close(context.Background()) })
			return w
		}},
	}
	request := func(b *testing.B, r Recorder) {
		ctx, bar := WithBarrier(context.Background())
		r.Record(ctx, e)
		if err := bar.Wait(); err != nil {
			b.Fatal(err)
		}
	}
	for _, s := range setups {
		b.Run(s.name, func(b *testing.B) {
			r := s.open(b)
			b.ReportAllocs()
			c0 := processCPU()
			for b.Loop() {
				request(b, r)
			}
			reportCPU(b, r, c0)
		})
		b.Run(s.name+"/2-clients", func(b *testing.B) {
			r := s.open(b)
			b.ReportAllocs()
			c0 := processCPU()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					request(b, r)
				}
			})
			reportCPU(b, r, c0)
		})
	}
}

// reportCPU reports the process's CPU time per request since c0, the
// background loops' work on the events included (the writer is flushed).
func reportCPU(b *testing.B, r Recorder, c0 time.Duration) {
	if w, ok := r.(*Writer); ok {
		w.Flush(context.Background())
	}
	b.ReportMetric(float64(processCPU()-c0)/float64(time.Microsecond)/float64(b.N), "cpu-µs/op")
}

type nopRecorder struct{}

func (nopRecorder) Record(context.Context, Event) {}

func benchJournal(b *testing.B, mode SyncMode) *Writer {
	w := NewWriter(&memChain{}, quietLog(), time.Now, 4096)
	if err := w.OpenJournal(context.Background(), filepath.Join(b.TempDir(), "j"), mode); err != nil {
		b.Fatal(err)
	}
	w.Start()
	b.Cleanup(func() { w.Close(context.Background()) })
	return w
}

// The encoding of one journal record, on the request's path.
func BenchmarkJournalEncode(b *testing.B) {
	e := ev("bench-request-id-0123456789")
	e.Username, e.Detail = "doctor.zhang", `q="11010519491231****" filter=- n=1 ids=1234`
	e.Time = time.Now()
	var buf []byte
	b.ReportAllocs()
	for b.Loop() {
		buf = appendRecord(buf[:0], &e)
	}
}
