package main

import (
	"testing"
	"time"
)

// TestDrillReport: the figures of the failover drill from its requests.
func TestDrillReport(t *testing.T) {
	t0 := time.Date(2026, 12, 7, 8, 0, 0, 0, time.UTC)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	ok := func(from, to int) attempt { return attempt{start: at(from), end: at(to), status: 201, ok: true, id: 1} }
	fail := func(from, to, status int) attempt { return attempt{start: at(from), end: at(to), status: status} }
	fault := at(1000)
	as := []attempt{
		ok(0, 100), ok(100, 400), ok(400, 900), // before the fault
		fail(900, 1200, 503), fail(1300, 1400, 0), // caught by the failover
		ok(1000, 4200), // waited for the new primary
		ok(4200, 4300), ok(1500, 4250),
		fail(500, 800, 503), // a failure before the fault does not count
	}
	f := drillReport(as, fault)
	if f.acked != 6 || f.failed != 3 {
		t.Errorf("acked %d failed %d, want 6 and 3", f.acked, f.failed)
	}
	if f.statuses != "1 without answer, 2 × 503" {
		t.Errorf("statuses %q", f.statuses)
	}
	if !f.firstFail.Equal(at(1200)) || !f.firstOK.Equal(at(4200)) {
		t.Errorf("first failure %v, first success after %v; want 1.2 s and 4.2 s", f.firstFail.Sub(t0), f.firstOK.Sub(t0))
	}
	if f.stall != 3300*time.Millisecond || !f.stallFrom.Equal(at(900)) || !f.stallTo.Equal(at(4200)) {
		t.Errorf("stall %v from %v to %v, want 3.3 s from 0.9 s to 4.2 s", f.stall, f.stallFrom.Sub(t0), f.stallTo.Sub(t0))
	}
	if f.slowest != 3200*time.Millisecond {
		t.Errorf("slowest %v, want 3.2 s", f.slowest)
	}
	if got := secondsAfter(at(997), fault); got != 0 {
		t.Errorf("secondsAfter 3 ms before = %v, want 0", got)
	}
}
