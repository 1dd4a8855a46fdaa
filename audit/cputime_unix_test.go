//go:build unix

package audit

import (
	"syscall"
	"time"
)

// processCPU is the process's user and system CPU time: on the shared
// machine wall times swing with the load, CPU time much less.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
