package main

import (
	"strings"
	"testing"
	"time"
)

// The audit workload reports one line per workload (issue 18 §2: "one line
// per workload: with, without, overhead median and quartiles"); the
// overhead is the median of the rounds' ratios of mean latency.
func TestAuditLine(t *testing.T) {
	ms := func(ds ...int) loadResult {
		var l loadResult
		for _, d := range ds {
			l.lat = append(l.lat, time.Duration(d)*time.Microsecond)
		}
		return l
	}
	// Rounds' ratios out of order: sorted 0.90 1.00 1.05 1.08 1.30 → median
	// +5.0 %, quartiles (index 1 and 3 of 5) +0.0 % and +8.0 %.
	line := auditLine("resident read", ms(100, 200, 300), ms(90, 180, 270), []float64{1.30, 1.05, 0.90, 1.08, 1.00})
	if strings.Contains(line, "\n") {
		t.Fatalf("more than one line: %q", line)
	}
	for _, want := range []string{"resident read:", "WITH p50 200µs p99 200µs mean 200µs", "WITHOUT p50 180µs p99 180µs mean 180µs",
		"overhead median +5.0% (quartiles +0.0% … +8.0%)"} {
		if !strings.Contains(line, want) {
			t.Errorf("%q lacks %q", line, want)
		}
	}
}
