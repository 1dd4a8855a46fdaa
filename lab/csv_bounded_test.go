package lab_test

import (
	"errors"
	"runtime"
	"strings"
	"testing"

	"countycare/lab"
)

// allocatedBy returns the bytes f allocates (runtime TotalAlloc).
func allocatedBy(f func()) uint64 {
	var a, b runtime.MemStats
	runtime.ReadMemStats(&a)
	f()
	runtime.ReadMemStats(&b)
	return b.TotalAlloc - a.TotalAlloc
}

// commaLine is a line of n commas: without a bound on the line, a CSV
// reader makes it n+1 fields (about 40 bytes each) before any check.
func commaLine(n int) string { return strings.Repeat(",", n) + "\n" }

// TestParseCSVLongLine: a 900 KiB line of commas is refused naming its
// line, after allocating less than 12 MiB (150 MiB as fields).
func TestParseCSVLongLine(t *testing.T) {
	var err error
	data := "code,value,unit,collected_at\n" + commaLine(900<<10)
	n := allocatedBy(func() { _, err = lab.ParseCSV(strings.NewReader(data)) })
	if !errors.Is(err, lab.ErrFormat) || !strings.Contains(err.Error(), "line 2 is longer than") {
		t.Errorf("a long line: %v", err)
	}
	if n > 12<<20 {
		t.Errorf("a long line: allocated %d bytes; bound 12 MiB", n)
	}
}
