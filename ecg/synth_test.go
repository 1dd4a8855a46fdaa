package ecg

import (
	"math"
	"math/rand/v2"
)

// synthECG makes a lead at fs Hz with a beat at each of the given times
// (seconds): a QRS of amp mV (a narrow Gaussian), a T wave 250 ms later,
// baseline wander and a little noise. It returns the samples and the beat
// sample indices.
func synthECG(fs float64, times, amps []float64, dur float64, seed uint64) ([]float64, []int64) {
	rng := rand.New(rand.NewPCG(seed, 1))
	n := int(dur * fs)
	x := make([]float64, n)
	var ref []int64
	for i, t := range times {
		c := int(t * fs)
		ref = append(ref, int64(c))
		for j := max(0, c-int(0.5*fs)); j < min(n, c+int(0.6*fs)); j++ {
			dt := float64(j)/fs - t
			x[j] += amps[i] * math.Exp(-dt*dt/(2*0.012*0.012))
			x[j] -= 0.15 * amps[i] * math.Exp(-(dt+0.03)*(dt+0.03)/(2*0.01*0.01))
			x[j] += 0.25 * amps[i] * math.Exp(-(dt-0.25)*(dt-0.25)/(2*0.04*0.04))
		}
	}
	for j := range x {
		tt := float64(j) / fs
		x[j] += 0.2*math.Sin(2*math.Pi*0.3*tt) + 0.01*rng.NormFloat64()
	}
	return x, ref
}

// rrTimes turns RR intervals into beat times starting at t0.
func rrTimes(t0 float64, rr []float64) []float64 {
	out := []float64{t0}
	for _, r := range rr {
		out = append(out, out[len(out)-1]+r)
	}
	return out
}
