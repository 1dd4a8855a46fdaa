package ecg

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

func TestPreReadMITDB(t *testing.T) {
	dir := mitdbDir(t)
	cfg := DefaultPreReadConfig()
	for _, tc := range []struct {
		name             string
		hrLo, hrHi       float64
		premLo, premHi   int
		wantIrregular    bool
		wantFindingOrder []Finding
	}{
		// 100: sinus rhythm about 75 bpm with 33 atrial premature beats and
		// 1 PVC (reference annotations).
		{"100", 70, 80, 20, 45, false, []Finding{FindingPremature}},
		// 119: sinus rhythm with 444 PVCs in bigeminy and trigeminy: regular
		// patterns, not AF.
		{"119", 55, 75, 300, 600, false, []Finding{FindingPremature}},
	} {
		rec, ref := loadRecord(t, dir, tc.name)
		r := cfg.PreReadRecord(rec)
		t.Logf("%s: HR %.1f (%.0f–%.0f), premature %d, AF windows %d/%d (nRMSSD %.3f ShE %.2f TPR %.2f), pauses %d, %s",
			tc.name, r.HeartRate, r.MinHR, r.MaxHR, r.Premature, r.AFPositive, r.AFWindows, r.NRMSSD, r.Entropy, r.TPR, len(r.Pauses), r.Summary())
		if r.HeartRate < tc.hrLo || r.HeartRate > tc.hrHi {
			t.Errorf("%s: heart rate %.1f, want %v–%v", tc.name, r.HeartRate, tc.hrLo, tc.hrHi)
		}
		if r.Premature < tc.premLo || r.Premature > tc.premHi {
			t.Errorf("%s: %d premature beats, want %d–%d (reference: %d beats)", tc.name, r.Premature, tc.premLo, tc.premHi, len(ref))
		}
		if r.Irregular != tc.wantIrregular {
			t.Errorf("%s: irregular %v", tc.name, r.Irregular)
		}
		if !slices.Equal(r.Findings, tc.wantFindingOrder) {
			t.Errorf("%s: findings %v, want %v", tc.name, r.Findings, tc.wantFindingOrder)
		}
	}
}

func TestPreReadSynthetic(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 9))
	const fs = 500.0
	// AF: RR intervals independent and uniformly spread (irregularly
	// irregular), mean 0.8 s.
	af := make([]float64, 300)
	for i := range af {
		af[i] = 0.45 + 0.7*rng.Float64()
	}
	// Sinus arrhythmia: RR modulated ±5 % with breathing; regular for the rule.
	sinus := make([]float64, 300)
	for i := range sinus {
		sinus[i] = 0.8 * (1 + 0.05*math.Sin(2*math.Pi*float64(i)/4.5))
	}
	// A 3.2 s pause among regular beats.
	pause := append(constRR(20, 0.75), 3.2)
	pause = append(pause, constRR(20, 0.75)...)
	// A PVC every 10th beat: short coupling then a compensatory pause.
	var pvc []float64
	for i := 0; i < 100; i++ {
		switch i % 10 {
		case 5:
			pvc = append(pvc, 0.5)
		case 6:
			pvc = append(pvc, 1.1)
		default:
			pvc = append(pvc, 0.8)
		}
	}
	for _, tc := range []struct {
		name string
		rr   []float64
		want []Finding
		prio int
	}{
		{"atrial fibrillation", af, []Finding{FindingPossibleAF, FindingPremature}, 2},
		{"sinus arrhythmia", sinus, nil, 0},
		{"pause", pause, []Finding{FindingPause}, 3},
		{"tachycardia", constRR(200, 0.5), []Finding{FindingTachycardia}, 2},
		{"bradycardia", constRR(50, 1.5), []Finding{FindingBradycardia}, 2},
		{"PVCs", pvc, []Finding{FindingPremature}, 1},
		{"10-second normal ECG", constRR(12, 0.85), nil, 0},
	} {
		times := rrTimes(0.6, tc.rr)
		amps := make([]float64, len(times))
		for i := range amps {
			amps[i] = 1
		}
		x, _ := synthECG(fs, times, amps, times[len(times)-1]+1, 5)
		r := DefaultPreReadConfig().PreReadRecord(&Record{Fs: fs, Leads: []Lead{{Name: "II", Gain: 1, SamplesPerFrame: 1, Samples: toInt(x, 1000)}}})
		if len(r.Beats) != len(times) {
			t.Errorf("%s: %d beats detected, want %d", tc.name, len(r.Beats), len(times))
		}
		if !slices.Equal(r.Findings, tc.want) || r.Priority != tc.prio || r.Abnormal != (len(tc.want) > 0) {
			t.Errorf("%s: findings %v priority %d (%s), want %v priority %d", tc.name, r.Findings, r.Priority, r.Summary(), tc.want, tc.prio)
		}
	}
	if r := DefaultPreReadConfig().PreRead(nil, 360); r.Summary() != "no_qrs" || r.Priority != 3 {
		t.Errorf("no beats: %s %d", r.Summary(), r.Priority)
	}
}

func toInt(x []float64, scale float64) []int16 {
	out := make([]int16, len(x))
	for i, v := range x {
		out[i] = int16(math.Round(v * scale))
	}
	return out
}
