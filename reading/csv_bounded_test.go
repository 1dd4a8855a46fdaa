package reading_test

import (
	"errors"
	"runtime"
	"strings"
	"testing"

	"countycare/reading"
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

// TestFetalCSVLongLine: a 3 MiB line of commas is refused naming its
// line, after allocating less than 24 MiB (480 MiB as fields).
func TestFetalCSVLongLine(t *testing.T) {
	var err error
	data := "time,fhr\n0,140\n" + commaLine(3<<20)
	n := allocatedBy(func() { _, err = reading.ParseFetalCSV(strings.NewReader(data)) })
	if !errors.Is(err, reading.ErrFetalFormat) || !strings.Contains(err.Error(), "line 3 is longer than") {
		t.Errorf("a long line: %v", err)
	}
	if n > 24<<20 {
		t.Errorf("a long line: allocated %d bytes; bound 24 MiB", n)
	}
}
