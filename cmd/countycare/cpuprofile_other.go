//go:build !unix

package main

import "os"

// restartProfileSignal is nil where there is no SIGUSR1: the profile
// covers the server from start to shutdown.
var restartProfileSignal os.Signal

func restartCPUProfileOnSignal(path string, f **os.File) (stop func()) { return func() {} }
