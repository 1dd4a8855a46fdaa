package ecg

import (
	"math"
	"math/rand/v2"
	"testing"
)

// frontal lead angles (hexaxial reference system, degrees) and the
// precordial leads' angles in the horizontal plane.
var limbAngles = []struct {
	name  string
	angle float64
}{{"I", 0}, {"II", 60}, {"III", 120}, {"aVR", -150}, {"aVL", -30}, {"aVF", 90}}

var precordialAngles = []struct {
	name  string
	angle float64
}{{"V1", 120}, {"V2", 90}, {"V3", 75}, {"V4", 60}, {"V5", 30}, {"V6", 0}}

// twelveLead is the truth of a synthetic 12-lead ECG.
type twelveLead struct {
	fs, hr               float64
	pr, p, qrs, qt, tDur float64 // seconds
	axis, pAxis, tAxis   float64 // degrees, frontal plane
	qrsAmp, pAmp, tAmp   float64 // mV
	noise                float64 // mV (Gaussian, each lead)
	seconds              float64
	jitter               float64 // RR jitter (fraction of RR, uniform ±)
	noP                  bool
}

// synth12 makes a 12-lead record of Gaussian waves with exact intervals.
// A Gaussian has no edge, so a wave of duration d is a Gaussian of
// σ = d/4: its edges are at ±2σ, where the tangent at its steepest slope
// (at ±σ) meets zero. P onset = QRS onset − PR; QRS centred on the beat
// time with onset 2σ before; T ends QT after the QRS onset. Each wave is a
// vector in the frontal plane (its axis): limb lead L sees
// amp·cos(θ_L − axis); the precordial leads see the QRS and T vector
// projected on their horizontal angles (the P only on V1–V2, small).
func synth12(c twelveLead, seed uint64) *Record {
	rng := rand.New(rand.NewPCG(seed, 7))
	n := int(c.seconds * c.fs)
	rec := &Record{Name: "synth", Fs: c.fs}
	type wave struct {
		center, sigma float64
		amp           func(lead int) float64
	}
	limb := func(amp, axis float64) func(int) float64 {
		return func(l int) float64 {
			if l < 6 {
				return amp * math.Cos((limbAngles[l].angle-axis)*math.Pi/180)
			}
			return amp * math.Cos((precordialAngles[l-6].angle-axis)*math.Pi/180)
		}
	}
	var waves []wave
	rr := 60 / c.hr
	for t := 0.6; t < c.seconds-0.8; t += rr * (1 + c.jitter*(2*rng.Float64()-1)) {
		qOn := t - c.qrs/2
		waves = append(waves, wave{t, c.qrs / 4, limb(c.qrsAmp, c.axis)})
		if !c.noP {
			waves = append(waves, wave{qOn - c.pr + c.p/2, c.p / 4, limb(c.pAmp, c.pAxis)})
		}
		waves = append(waves, wave{qOn + c.qt - c.tDur/2, c.tDur / 4, limb(c.tAmp, c.tAxis)})
	}
	x := make([][]float64, 12)
	for l := range x {
		x[l] = make([]float64, n)
		for k := range x[l] {
			x[l][k] = c.noise * rng.NormFloat64()
		}
	}
	for _, w := range waves {
		for l := range 12 {
			a := w.amp(l)
			for k := max(0, int((w.center-5*w.sigma)*c.fs)); k < min(n, int((w.center+5*w.sigma)*c.fs)); k++ {
				d := (float64(k)/c.fs - w.center) / w.sigma
				x[l][k] += a * math.Exp(-d*d/2)
			}
		}
	}
	for l := range 12 {
		name := ""
		if l < 6 {
			name = limbAngles[l].name
		} else {
			name = precordialAngles[l-6].name
		}
		lead := Lead{Name: name, Units: "mV", Gain: 1000, SamplesPerFrame: 1, Samples: make([]int16, n)}
		for k, v := range x[l] {
			lead.Samples[k] = int16(math.Round(v * 1000))
		}
		rec.Leads = append(rec.Leads, lead)
	}
	return rec
}

// TestMeasureSyntheticIntervals checks each measurement on synthetic
// 12-lead ECGs with known intervals and axis, over rates, sampling
// frequencies and axes, with 10 µV of noise: intervals within ±10 ms,
// QTc within ±12 ms (the QT error scaled by RR), the axis within ±15°.
func TestMeasureSyntheticIntervals(t *testing.T) {
	base := twelveLead{fs: 500, hr: 75, pr: 0.160, p: 0.100, qrs: 0.090, qt: 0.380, tDur: 0.180,
		axis: 60, pAxis: 55, tAxis: 45, qrsAmp: 1.5, pAmp: 0.15, tAmp: 0.35, noise: 0.01, seconds: 10}
	cases := []struct {
		name   string
		change func(*twelveLead)
		want   Statement
	}{
		{"normal 500 Hz", func(*twelveLead) {}, StatementSinus},
		{"250 Hz", func(c *twelveLead) { c.fs = 250 }, StatementSinus},
		{"1000 Hz", func(c *twelveLead) { c.fs = 1000 }, StatementSinus},
		{"left axis, wide QRS", func(c *twelveLead) { c.axis, c.qrs = -45, 0.140 }, StatementSinus},
		{"right axis", func(c *twelveLead) { c.axis = 120 }, StatementSinus},
		{"axis 0", func(c *twelveLead) { c.axis = 0 }, StatementSinus},
		{"extreme axis", func(c *twelveLead) { c.axis = -150 }, StatementSinus},
		{"first-degree block", func(c *twelveLead) { c.pr = 0.240 }, StatementSinus},
		{"short PR", func(c *twelveLead) { c.pr = 0.120; c.p = 0.080 }, StatementSinus},
		{"bradycardia, long QT", func(c *twelveLead) { c.hr, c.qt = 48, 0.480 }, StatementSinusBrady},
		{"tachycardia", func(c *twelveLead) { c.hr, c.qt, c.tDur = 120, 0.300, 0.140 }, StatementSinusTachy},
		{"no P wave", func(c *twelveLead) { c.noP = true }, ""},
		{"inverted P in II", func(c *twelveLead) { c.pAxis = -120 }, ""},
		{"irregular without P", func(c *twelveLead) { c.noP, c.jitter, c.seconds = true, 0.35, 30 }, StatementIrregularAF},
		{"irregular with P", func(c *twelveLead) { c.jitter, c.seconds = 0.35, 30 }, StatementIrregular},
	}
	cfg := DefaultPreReadConfig()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := base
			tc.change(&c)
			rec := synth12(c, 1)
			pr := cfg.PreReadRecord(rec)
			m := pr.Intervals
			if m == nil {
				t.Fatalf("no measurements (beats %d)", len(pr.Beats))
			}
			near := func(what string, got, want, tol float64) {
				t.Helper()
				if math.Abs(got-want) > tol {
					t.Errorf("%s = %.1f, want %.1f ± %.0f", what, got, want, tol)
				}
			}
			rr := m.RR // the median RR (the nominal one when regular)
			if c.jitter == 0 {
				near("heart rate", m.HeartRate, c.hr, 1)
			}
			near("QRS (ms)", m.QRS, 1000*c.qrs, 10)
			near("QT (ms)", m.QT, 1000*c.qt, 10)
			near("QTc Bazett (ms)", m.QTcB, 1000*c.qt/math.Sqrt(rr), 12)
			near("QTc Fridericia (ms)", m.QTcF, 1000*c.qt/math.Cbrt(rr), 12)
			if !m.HasAxis {
				t.Errorf("no axis")
			}
			d := math.Mod(m.Axis-c.axis+540, 360) - 180
			near("axis error (°)", d, 0, 15)
			if c.noP {
				if m.PWave {
					t.Errorf("P wave found (PR %.0f ms) in a record without one", m.PR)
				}
			} else {
				near("PR (ms)", m.PR, 1000*c.pr, 10)
				near("P (ms)", m.P, 1000*c.p, 10)
			}
			if m.Statement != tc.want {
				t.Errorf("statement %q, want %q", m.Statement, tc.want)
			}
		})
	}
}
