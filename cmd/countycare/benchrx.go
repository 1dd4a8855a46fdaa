package main

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"slices"
	"time"

	"countycare/care"
	"countycare/rx"
)

// cmdBenchRx measures the prescription review engine in process on one
// core: validation and review of synthetic 5-line prescriptions against the
// full embedded knowledge base (issue #7: ≥ 100,000 a second, p99 ≤ 200 µs).
// It needs no database.
func cmdBenchRx(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("bench rx", "Review synthetic 5-line prescriptions against the embedded knowledge base, in process, on one core\n"+
		"(GOMAXPROCS=1, one goroutine). Each review is validated and checked; its latency is timed on its own.", stderr)
	n := fs.Int("prescriptions", 500000, "reviews to time (the seeds' county does 498,600 a year)")
	lines := fs.Int("lines", 5, "drugs per prescription")
	distinct := fs.Int("distinct", 8192, "distinct synthetic prescriptions, reviewed in rotation")
	seed := fs.Uint64("seed", 1, "seed of the synthetic prescriptions")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *n < 1 || *distinct < 1 || *lines < 1 {
		return fmt.Errorf("bench rx: -prescriptions, -distinct and -lines must be positive")
	}
	prev := runtime.GOMAXPROCS(1)
	defer runtime.GOMAXPROCS(prev)
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()

	start := time.Now()
	eng, err := rx.NewEngine()
	if err != nil {
		return err
	}
	load := time.Since(start)
	on := care.Today(time.Now())
	ps := rx.Synthetic(eng.KB, *distinct, *lines, *seed, on)
	fmt.Fprintf(stdout, "countycare bench rx: %d drugs, %d interaction rules (%d drug pairs), knowledge base compiled in %s\n",
		len(eng.KB.Drugs), len(eng.KB.Interactions), eng.KB.Pairs, load.Round(time.Microsecond))
	fmt.Fprintf(stdout, "%d reviews of %d-line prescriptions (%d distinct, seed %d), GOMAXPROCS=1, %s/%s\n",
		*n, *lines, *distinct, *seed, runtime.GOOS, runtime.GOARCH)

	buf := make([]rx.Finding, 0, 64)
	review := func(p *rx.Prescription) rx.Severity {
		if err := eng.KB.Validate(p); err != nil {
			panic(err) // synthetic prescriptions are valid by construction
		}
		buf = eng.Review(p, on, buf[:0])
		return rx.Outcome(buf)
	}
	for i := range min(*distinct, *n) { // warm up
		review(&ps[i])
	}
	runtime.GC()

	// Throughput: back to back, no timer in the loop.
	var outcome [4]int
	t0 := time.Now()
	for i := range *n {
		outcome[review(&ps[i%*distinct])]++
	}
	elapsed := time.Since(t0)

	// Latency: each review timed on its own (adds the clock's cost, ~tens of ns).
	lat := make([]time.Duration, *n)
	for i := range *n {
		s := time.Now()
		review(&ps[i%*distinct])
		lat[i] = time.Since(s)
	}
	slices.Sort(lat)
	q := func(p float64) time.Duration { return lat[min(len(lat)-1, int(p*float64(len(lat))))] }
	fmt.Fprintf(stdout, "throughput  %.0f prescriptions/s on one core (%s for %d)\n", float64(*n)/elapsed.Seconds(), elapsed.Round(time.Millisecond), *n)
	fmt.Fprintf(stdout, "latency     p50 %s  p99 %s  p99.9 %s  max %s\n", q(0.50), q(0.99), q(0.999), lat[len(lat)-1])
	fmt.Fprintf(stdout, "outcomes    pass %d  pharmacist %d  block %d\n", outcome[0]+outcome[rx.Info], outcome[rx.Warn], outcome[rx.Block])
	return nil
}
