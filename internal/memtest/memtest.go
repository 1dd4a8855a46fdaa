// Package memtest helps tests bound the memory a parser of outside input
// uses (issue 18: every parser works in bounded memory).
package memtest

import (
	"runtime"
	"strings"
)

// AllocatedBy returns the bytes f allocates (runtime TotalAlloc).
func AllocatedBy(f func()) uint64 {
	var a, b runtime.MemStats
	runtime.ReadMemStats(&a)
	f()
	runtime.ReadMemStats(&b)
	return b.TotalAlloc - a.TotalAlloc
}

// CommaLine is a line of n commas: without a bound on the line, a CSV
// reader makes it n+1 fields (about 40 bytes each) before any check.
func CommaLine(n int) string { return strings.Repeat(",", n) + "\n" }
