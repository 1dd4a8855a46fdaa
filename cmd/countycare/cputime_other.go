//go:build !unix

package main

import "time"

// processCPU is unknown here: the bench leaves out its CPU line.
func processCPU() time.Duration { return 0 }
