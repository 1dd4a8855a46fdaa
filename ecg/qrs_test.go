package ecg

import (
	"math/rand/v2"
	"testing"
)

func constRR(n int, rr float64) []float64 {
	s := make([]float64, n)
	for i := range s {
		s[i] = rr
	}
	return s
}

func TestDetectSynthetic(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	irregular := make([]float64, 80)
	for i := range irregular {
		irregular[i] = 0.4 + 0.8*rng.Float64()
	}
	dropTimes := rrTimes(0.5, constRR(99, 0.8))
	dropAmps := make([]float64, len(dropTimes))
	for i := range dropAmps {
		dropAmps[i] = 1.5
		if dropTimes[i] > 30 {
			dropAmps[i] = 0.12 // amplitude falls twelvefold: the reset must recover
		}
	}
	for _, tc := range []struct {
		name  string
		fs    float64
		times []float64
		amps  []float64
	}{
		{"regular 360 Hz", 360, rrTimes(0.5, constRR(70, 0.8)), nil},
		{"regular 128 Hz", 128, rrTimes(0.5, constRR(70, 0.8)), nil},
		{"regular 1000 Hz", 1000, rrTimes(0.5, constRR(70, 0.8)), nil},
		{"tachycardia 500 Hz", 500, rrTimes(0.5, constRR(150, 0.35)), nil},
		{"irregular 250 Hz", 250, rrTimes(0.5, irregular), nil},
		{"pause 360 Hz", 360, append(rrTimes(0.5, constRR(20, 0.8)), rrTimes(20.5, constRR(20, 0.8))...), nil},
		{"amplitude drop 360 Hz", 360, dropTimes, dropAmps},
	} {
		t.Run(tc.name, func(t *testing.T) {
			amps := tc.amps
			if amps == nil {
				amps = make([]float64, len(tc.times))
				for i := range amps {
					amps[i] = 1
				}
			}
			dur := tc.times[len(tc.times)-1] + 1
			x, ref := synthECG(tc.fs, tc.times, amps, dur, 1)
			det := DetectQRS(x, tc.fs)
			s := Compare(ref, det, tc.fs, MatchWindow, 0, 0)
			// The amplitude drop costs at most the 8 s before the reset
			// is re-scanned, which recovers them: nothing is lost.
			if s.FN > 0 || s.FP > 0 {
				t.Errorf("beats %d: FN %d, FP %d", s.Beats, s.FN, s.FP)
			}
		})
	}
}

func TestDetectDegenerate(t *testing.T) {
	for _, tc := range []struct {
		name string
		x    []float64
		fs   float64
	}{
		{"empty", nil, 360},
		{"short", make([]float64, 100), 360},
		{"flat", make([]float64, 3600), 360},
		{"zero fs", make([]float64, 3600), 0},
		{"negative fs", make([]float64, 3600), -1},
	} {
		if got := DetectQRS(tc.x, tc.fs); len(got) != 0 {
			t.Errorf("%s: %d beats, want none", tc.name, len(got))
		}
	}
}
