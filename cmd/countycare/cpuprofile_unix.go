//go:build unix

package main

import (
	"os"
	"os/signal"
	"runtime/pprof"
	"syscall"
)

// restartProfileSignal is what `bench replay --cpuprofile` sends a
// started server when its replay begins, so that the server's profile
// holds the replayed requests only, not its start, the startup duties
// or the clinicians' sign-in (argon2).
var restartProfileSignal os.Signal = syscall.SIGUSR1

// restartCPUProfileOnSignal restarts the CPU profile written to path,
// from empty, each time the process receives restartProfileSignal, and
// keeps *f the file being written; stop ends the watching (after it *f is
// the caller's again). The profile must be running.
func restartCPUProfileOnSignal(path string, f **os.File) (stop func()) {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, restartProfileSignal)
	done, exited := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(exited)
		for {
			select {
			case <-done:
				return
			case <-ch:
				pprof.StopCPUProfile()
				(*f).Close()
				nf, err := os.Create(path)
				if err != nil {
					continue
				}
				*f = nf
				pprof.StartCPUProfile(nf)
			}
		}
	}()
	return func() { signal.Stop(ch); close(done); <-exited }
}
