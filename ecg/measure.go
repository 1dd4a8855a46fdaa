package ecg

import (
	"math"
	"slices"
	"strings"
)

// Statement is a rhythm statement of the 12-lead pre-read (节律描述). It is
// a machine suggestion for the reader; the pre-read never signs a report.
type Statement string

// Rhythm statements, conservative on purpose: anything else is left to the
// reader (no statement).
const (
	StatementSinus       Statement = "sinus_rhythm"          // P before each QRS, upright in II, regular, rate within SinusLow–SinusHigh
	StatementSinusTachy  Statement = "sinus_tachycardia"     // the same above SinusHigh
	StatementSinusBrady  Statement = "sinus_bradycardia"     // the same below SinusLow
	StatementIrregularAF Statement = "irregular_possible_af" // irregularly irregular RR (Dash et al.) and no P wave
	StatementIrregular   Statement = "irregular_rhythm"      // irregular RR with P waves
)

// Statements lists the rhythm statements (for catalogues of their texts).
var Statements = []Statement{StatementSinus, StatementSinusTachy, StatementSinusBrady, StatementIrregularAF, StatementIrregular}

// MeasureConfig holds the 12-lead measurement's settings (docs/ecg.md
// "12-lead measurements"). Defaults: DefaultMeasureConfig.
type MeasureConfig struct {
	// Before and After bound the median beat around each QRS (seconds),
	// clipped to 0.5 and 0.8 of the median RR so a beat's window does not
	// reach the next QRS.
	Before, After float64
	// Seconds: only the beats of the first Seconds of the record are
	// averaged (a Holter is measured on its first minute).
	Seconds float64
	// PWindow is how far before the QRS onset a P wave is sought (s);
	// MinP the smallest P wave (mV, spatial magnitude) taken as one.
	PWindow, MinP float64
	// SinusLow and SinusHigh bound sinus rhythm (bpm): below is sinus
	// bradycardia, above sinus tachycardia — AHA/ACCF/HRS recommendations
	// for the standardization and interpretation of the ECG, part II
	// (Mason JW et al., Circulation 2007;115:1325–1332), 60 and 100 bpm.
	SinusLow, SinusHigh float64
}

// DefaultMeasureConfig returns the defaults of MeasureConfig.
func DefaultMeasureConfig() MeasureConfig {
	return MeasureConfig{Before: 0.45, After: 0.65, Seconds: 60, PWindow: 0.30, MinP: 0.04, SinusLow: 60, SinusHigh: 100}
}

// Intervals are the 12-lead measurements of a record, made on its median
// beat. Durations are in ms; a zero duration was not measured.
type Intervals struct {
	Beats     int     // beats averaged into the median beat
	RR        float64 // median RR, s
	HeartRate float64 // 60 / RR
	PWave     bool    // a P wave was found before the QRS
	PUpright  bool    // … and is positive in lead II
	P, PR     float64 // P duration, PR interval (P onset to QRS onset)
	QRS       float64 // QRS onset to offset
	QT        float64 // QRS onset to T end
	// QTcB and QTcF are QT corrected for rate by Bazett (QT/√RR) and
	// Fridericia (QT/∛RR), RR in seconds.
	QTcB, QTcF float64
	// Axis is the frontal QRS axis in degrees (−180, 180], from the net
	// QRS areas of leads I and aVF; HasAxis is false without those leads
	// (or leads they can be derived from).
	Axis      float64
	HasAxis   bool
	Statement Statement // "" when the rhythm is left to the reader
}

// Measure makes the 12-lead measurements of rec given the QRS positions
// on its rhythm lead (beats, at fs Hz) and the pre-read's irregular-rhythm
// flag. ok is false with fewer than 3 beats that have a whole window, or
// no lead at the rhythm lead's rate.
//
// Method (docs/ecg.md): each lead's median beat over the beats' windows;
// the spatial magnitude M(t) = √Σ(lead − its median level)² over the
// leads; each wave's edges by the tangent method on M (the tangent at the
// steepest slope between the wave's peak and where M falls below 10 % of
// the peak, crossed with zero); the axis from the net QRS areas of I and
// aVF; the rhythm statement from the rate, the RR regularity and the P
// wave.
func (c MeasureConfig) Measure(rec *Record, beats []int, fs float64, irregular bool) (Intervals, bool) {
	var out Intervals
	rhythm, _, ok := rec.RhythmLead()
	if !ok || len(beats) < 3 || !(fs > 0) {
		return out, false
	}
	spf := max(1, rhythm.SamplesPerFrame)
	rr := make([]float64, len(beats)-1)
	for i := 1; i < len(beats); i++ {
		rr[i-1] = float64(beats[i]-beats[i-1]) / fs
	}
	out.RR = median(rr)
	out.HeartRate = 60 / out.RR
	before := int(math.Min(c.Before, 0.5*out.RR) * fs)
	after := int(math.Min(c.After, 0.8*out.RR) * fs)
	n := len(rhythm.Samples)
	var use []int
	for _, b := range beats {
		if float64(b) > c.Seconds*fs {
			break
		}
		if b-before >= 0 && b+after < n {
			use = append(use, b)
		}
	}
	if len(use) < 3 || before < 2 || after < 2 {
		return out, false
	}
	out.Beats = len(use)
	// Median beats of the leads sampled like the rhythm lead.
	w := before + after + 1
	var names []string
	var med [][]float64
	col := make([]float64, len(use))
	for _, l := range rec.Leads {
		if max(1, l.SamplesPerFrame) != spf || len(l.Samples) != n {
			continue
		}
		g := l.Gain
		if g == 0 {
			g = 200
		}
		m := make([]float64, w)
		for k := range w {
			for i, b := range use {
				col[i] = float64(int(l.Samples[b-before+k])-l.Baseline) / g
			}
			slices.Sort(col) // col is refilled for each k: sorted in place
			m[k] = col[len(col)/2]
			if len(col)%2 == 0 {
				m[k] = (m[k] + col[len(col)/2-1]) / 2
			}
		}
		level := median(m)
		for k := range m {
			m[k] -= level
		}
		names, med = append(names, l.Name), append(med, m)
	}
	ms := func(samples float64) float64 { return 1000 * samples / fs }
	// QRS: the peak of M within 60 ms of the fiducial. The leads' levels
	// are first their medians over the window, then their values at the
	// flattest point (least spatial velocity) of the 80 ms before the QRS
	// onset — the PR segment, the isoelectric reference — and the QRS is
	// measured again.
	h := max(1, int(0.06*fs))
	mag := magnitude(med)
	qpk := argmax(mag, before-h, before+h)
	qOn, qOff, okQ := waveEdges(mag, qpk, 0, w-1, fs)
	if !okQ {
		return out, false
	}
	if iso := flattest(med, int(qOn-0.08*fs), int(qOn-0.002*fs)); iso >= 0 {
		for _, m := range med {
			level := m[iso]
			for k := range m {
				m[k] -= level
			}
		}
		mag = magnitude(med)
		qpk = argmax(mag, before-h, before+h)
		if qOn, qOff, okQ = waveEdges(mag, qpk, 0, w-1, fs); !okQ {
			return out, false
		}
	}
	qOn, qOff = leadEdges(med, qOn, qOff, fs)
	out.QRS = ms(qOff - qOn)
	// T: the peak of M from 40 ms after the QRS to the window's end.
	if t0 := int(qOff + 0.04*fs); t0 < w-2 {
		tpk := argmax(mag, t0, w-1)
		if _, tEnd, ok := waveEdges(mag, tpk, t0, w-1, fs); ok && mag[tpk] > 0 {
			out.QT = ms(tEnd - qOn)
			out.QTcB = out.QT / math.Sqrt(out.RR)
			out.QTcF = out.QT / math.Cbrt(out.RR)
		}
	}
	// P: the peak of M within PWindow before the QRS onset, ending 20 ms
	// before it, at least MinP and not at the window's edge (the tail of
	// the previous T wave or of the QRS).
	p0, p1 := max(0, int(qOn-c.PWindow*fs)), int(qOn-0.02*fs)
	if p1 > p0+2 {
		ppk := argmax(mag, p0, p1)
		if mag[ppk] >= c.MinP && ppk > p0 && ppk < p1 {
			if pOn, pOff, ok := waveEdges(mag, ppk, p0, p1, fs); ok {
				out.PWave = true
				out.P, out.PR = ms(pOff-pOn), ms(qOn-pOn)
				if ii := leadIndex(names, "II"); ii >= 0 {
					out.PUpright = area(med[ii], pOn, pOff) > 0
				}
			}
		}
	}
	// Axis from the net QRS areas of I and aVF (derived from the limb
	// leads present when one is missing: Einthoven, aVF = II − I/2,
	// I = II − III).
	areas := map[string]float64{}
	for i, name := range names {
		areas[strings.ToUpper(name)] = area(med[i], qOn, qOff)
	}
	aI, okI := areas["I"]
	aF, okF := areas["AVF"]
	aII, okII := areas["II"]
	aIII, okIII := areas["III"]
	if !okI && okII && okIII {
		aI, okI = aII-aIII, true
	}
	if !okF && okI && okII {
		aF, okF = aII-aI/2, true
	}
	if okI && okF && (aI != 0 || aF != 0) {
		out.Axis, out.HasAxis = math.Atan2(aF, aI)*180/math.Pi, true
		if out.Axis == -180 {
			out.Axis = 180
		}
	}
	out.Statement = c.rhythm(out, irregular)
	return out, true
}

// rhythm picks the conservative rhythm statement.
func (c MeasureConfig) rhythm(m Intervals, irregular bool) Statement {
	switch {
	case irregular && !m.PWave:
		return StatementIrregularAF
	case irregular:
		return StatementIrregular
	case !m.PWave || !m.PUpright:
		return ""
	case m.HeartRate > c.SinusHigh:
		return StatementSinusTachy
	case m.HeartRate < c.SinusLow:
		return StatementSinusBrady
	}
	return StatementSinus
}

// waveEdges finds the onset and offset (fractional sample indices) of the
// wave whose peak is at pk in mag, searching within [lo, hi]: the wave's
// extent is where mag stays at or above 10 % of the peak; each edge is
// where the tangent at the steepest slope between the extent's end and
// the peak crosses zero (the tangent method). ok is false for a flat peak.
func waveEdges(mag []float64, pk, lo, hi int, fs float64) (on, off float64, ok bool) {
	top := mag[pk]
	if !(top > 0) {
		return 0, 0, false
	}
	l, r := pk, pk
	for l > lo && mag[l-1] >= 0.1*top {
		l--
	}
	for r < hi && mag[r+1] >= 0.1*top {
		r++
	}
	d := max(1, int(0.008*fs)) // slope over ±8 ms
	slope := func(k int) float64 {
		k = min(max(k, 0), len(mag)-1) // extreme looks ±10 ms past the ends
		a, b := max(0, k-d), min(len(mag)-1, k+d)
		if a == b {
			return 0
		}
		return (mag[b] - mag[a]) / float64(b-a)
	}
	// The steepest slopes, then the outermost local extremum of the slope
	// reaching half of it: a QRS of several deflections is measured from
	// its first to its last, not from its tallest.
	su, sd := 0.0, 0.0
	for k := l; k <= r; k++ {
		if k <= pk {
			su = math.Max(su, slope(k))
		}
		if k >= pk {
			sd = math.Min(sd, slope(k))
		}
	}
	if !(su > 0) || !(sd < 0) {
		return 0, 0, false
	}
	// A local extremum over ±10 ms, so noise on a flank is not one.
	nb := max(1, int(0.010*fs))
	extreme := func(k int, sign float64) bool {
		s := sign * slope(k)
		for j := k - nb; j <= k+nb; j++ {
			if j != k && sign*slope(j) > s {
				return false
			}
		}
		return true
	}
	up, down := -1, -1
	for k := l; k <= pk && up < 0; k++ {
		if s := slope(k); s >= su/2 && extreme(k, 1) {
			up, su = k, s
		}
	}
	for k := r; k >= pk && down < 0; k-- {
		if s := slope(k); s <= sd/2 && extreme(k, -1) {
			down, sd = k, s
		}
	}
	if up < 0 || down < 0 {
		return 0, 0, false
	}
	on = float64(up) - mag[up]/su
	off = float64(down) - mag[down]/sd

	return on, off, true
}

// leadEdges widens the QRS found on the spatial magnitude to the earliest
// onset and latest offset of the leads (the AHA/ACCF/HRS definition of
// QRS duration, Kligfield P et al., Circulation 2007;115:1306–1324, part
// I): each lead whose QRS is at least a third of the largest is measured
// alone by the tangent method on its absolute value, within 40 ms of the
// spatial edges. A low lead is left out: its tangent is noise.
func leadEdges(med [][]float64, on, off, fs float64) (float64, float64) {
	lo, hi := int(on-0.04*fs), int(off+0.04*fs)
	if lo < 0 || hi >= len(med[0]) {
		return on, off
	}
	amp := make([]float64, len(med))
	var top float64
	for i, m := range med {
		for k := int(on); k <= int(off); k++ {
			amp[i] = math.Max(amp[i], math.Abs(m[k]))
		}
		top = math.Max(top, amp[i])
	}
	abs := make([]float64, hi-lo+1)
	outOn, outOff := on, off
	for i, m := range med {
		if amp[i] < top/3 {
			continue
		}
		for k := range abs {
			abs[k] = math.Abs(m[lo+k])
		}
		pk := argmax(abs, int(on)-lo, int(off)-lo)
		if a, b, ok := waveEdges(abs, pk, 0, len(abs)-1, fs); ok {
			outOn, outOff = math.Min(outOn, math.Max(float64(lo)+a, on-0.04*fs)), math.Max(outOff, math.Min(float64(lo)+b, off+0.04*fs))
		}
	}
	return outOn, outOff
}

// magnitude is the spatial magnitude √Σ m_l² of the median beats.
func magnitude(med [][]float64) []float64 {
	if len(med) == 0 {
		return nil
	}
	mag := make([]float64, len(med[0]))
	for k := range mag {
		var s float64
		for _, m := range med {
			s += m[k] * m[k]
		}
		mag[k] = math.Sqrt(s)
	}
	return mag
}

// flattest is the index in [lo, hi] where the spatial velocity
// Σ_l |m_l[k+1] − m_l[k−1]| is least, or −1 for an empty range.
func flattest(med [][]float64, lo, hi int) int {
	if len(med) == 0 {
		return -1
	}
	lo, hi = max(lo, 1), min(hi, len(med[0])-2)
	best, bv := -1, math.Inf(1)
	for k := lo; k <= hi; k++ {
		var v float64
		for _, m := range med {
			v += math.Abs(m[k+1] - m[k-1])
		}
		if v < bv {
			best, bv = k, v
		}
	}
	return best
}

// argmax is the index of the largest value of x[lo..hi] (clipped).
func argmax(x []float64, lo, hi int) int {
	lo, hi = max(lo, 0), min(hi, len(x)-1)
	best := lo
	for k := lo; k <= hi; k++ {
		if x[k] > x[best] {
			best = k
		}
	}
	return best
}

// area is the sum of x over [a, b] (fractional bounds rounded), in mV ×
// samples.
func area(x []float64, a, b float64) float64 {
	var s float64
	for k := max(0, int(math.Round(a))); k <= min(len(x)-1, int(math.Round(b))); k++ {
		s += x[k]
	}
	return s
}

func leadIndex(names []string, want string) int {
	for i, n := range names {
		if strings.EqualFold(n, want) || (want == "II" && strings.EqualFold(n, "MLII")) {
			return i
		}
	}
	return -1
}
