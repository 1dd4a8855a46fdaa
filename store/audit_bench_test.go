package store_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"countycare/audit"
	"countycare/internal/testdb"
	"countycare/store"
)

// BenchmarkAuditJournaledBatch is the audit writer's database loop on
// SQLite: one transaction inserting a batch of journaled read events into
// the chain with its watermark (store.AppendAuditJournaled). The cost per
// event falls with the batch: the commit (WAL frames and an fsync) and the
// head and watermark rows are paid once per transaction. How many events
// a batch carries is set by audit.Writer.CommitEvery (issue 18 §2,
// docs/benchmarks.md "Issue 18"); cpu-µs/event is the process's user+system
// CPU time, which the machine's other load barely moves.
//
//	go test ./store -run '^$' -bench AuditJournaledBatch
func BenchmarkAuditJournaledBatch(b *testing.B) {
	for _, n := range []int{10, 25, 50, 100, 250} {
		b.Run(fmt.Sprintf("events=%d", n), func(b *testing.B) {
			ctx := context.Background()
			st := testdb.Open(b, store.SQLite, time.Now)
			evs := make([]audit.Event, n)
			off := int64(44)
			cpu0 := cpuTime()
			for b.Loop() {
				for i := range evs {
					evs[i] = audit.Event{Time: time.Now(), AccountID: 7, Username: "insurance.officer", Role: "insurance_officer", InstitutionID: 3,
						Action: audit.ActResidentSearch, ResidentID: int64(1000 + i), CountyCode: "130123", Purpose: "payment", Outcome: audit.OutcomeOK,
						RequestID: "0123456789abcdef", Detail: `q="13012319800101****" filter=- n=1 ids=1000`}
				}
				off += int64(n) * 400
				if err := st.AppendAuditJournaled(ctx, evs, audit.Watermark{JournalID: "00112233445566778899aabbccddeeff", Offset: off}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(cpuTime()-cpu0)/float64(time.Microsecond)/float64(b.N*n), "cpu-µs/event")
			b.ReportMetric(float64(b.Elapsed())/float64(time.Microsecond)/float64(b.N*n), "µs/event")
		})
	}
}
