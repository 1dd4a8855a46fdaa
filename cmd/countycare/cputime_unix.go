//go:build unix

package main

import (
	"syscall"
	"time"
)

// processCPU is the process's user and system CPU time so far: on a shared
// machine it moves with the work done far less than wall time does.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
