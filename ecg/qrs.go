package ecg

import (
	"math"
	"slices"
)

// QRSConfig holds the detector's parameters. The defaults (DefaultQRSConfig)
// are the published values cited on each field; they are not fitted to any
// test record.
type QRSConfig struct {
	// LowCut and HighCut bound the band-pass filter in Hz. 5–15 Hz holds most
	// QRS energy and rejects P/T waves, baseline wander and muscle noise
	// (Pan & Tompkins 1985, §II.A; Hamilton & Tompkins 1986).
	LowCut, HighCut float64
	// Window is the moving-window integrator's width in seconds: about the
	// widest QRS, 150 ms (Pan & Tompkins 1985, §II.E).
	Window float64
	// Refractory is the blanking time after a beat, 200 ms: no second QRS
	// can follow physiologically (Pan & Tompkins 1985, §II.F).
	Refractory float64
	// TWaveWindow is the time after a beat within which a candidate is
	// checked for being a T wave, 360 ms (Pan & Tompkins 1985, §II.F).
	TWaveWindow float64
	// TWaveSlope: a candidate within TWaveWindow whose maximal slope is below
	// this fraction of the previous QRS's is a T wave (0.5, Pan & Tompkins).
	TWaveSlope float64
	// ThresholdCoeff places the detection threshold between the noise and
	// QRS peak levels: NPK + c·(SPK − NPK), as studied by Hamilton &
	// Tompkins 1986; 0.3125 is the value of Hamilton's OSEA detector.
	ThresholdCoeff float64
	// SearchBack: when no beat has been found for SearchBack × the mean of
	// the last 8 RR intervals, the largest peak above half the threshold
	// since the last beat (leaving out the first TWaveWindow, where a T wave
	// may mask a small QRS, as OSEA does) is taken as a beat (1.5, Hamilton &
	// Tompkins 1986; Pan & Tompkins use 1.66).
	SearchBack float64
	// Reset is the time without a beat after which the QRS and noise levels
	// are learnt again (8 s, Hamilton's OSEA detector).
	Reset float64
	// NoiseLevel and RhythmWeight: the beats next to an interval whose
	// mean |derivative| (outside the QRS windows) is at least NoiseLevel ×
	// the QRS peak level are decided again by rhythm (Detect, step 8); 0
	// turns the rule off. RhythmWeight is the cost of an RR interval's
	// departure from the median RR, per unit of |ln(RR/median)|, against a
	// peak's height relative to the QRS level.
	// Neither has a published value: both are chosen by leave-one-record-out
	// cross-validation (QRSGrid, docs/ecg.md).
	NoiseLevel, RhythmWeight float64
	// Learning is the initial period, in seconds, whose per-second maxima
	// initialise the QRS peak level (8 s, Hamilton & Tompkins 1986).
	Learning float64
}

// PublishedQRSConfig returns the published parameters (see QRSConfig),
// without the rhythm rule in noise (NoiseLevel 0), which has none.
func PublishedQRSConfig() QRSConfig {
	return QRSConfig{
		LowCut: 5, HighCut: 15, Window: 0.150, Refractory: 0.200,
		TWaveWindow: 0.360, TWaveSlope: 0.5, ThresholdCoeff: 0.3125,
		SearchBack: 1.5, Learning: 8, Reset: 8,
	}
}

// DefaultQRSConfig returns the detector DetectQRS runs: the published
// parameters and the rhythm rule in noise with NoiseLevel 0.25 and
// RhythmWeight 1, the configuration of QRSGrid that ChooseQRSConfig picks
// on all eight MIT-BIH records (docs/ecg.md, cross-validation; its
// held-out estimate is LeaveOneOut's, not these records' own scores).
func DefaultQRSConfig() QRSConfig {
	c := PublishedQRSConfig()
	c.NoiseLevel, c.RhythmWeight = 0.25, 1
	return c
}

// MinFs is the lowest sampling rate the detector accepts: the 15 Hz
// band edge needs at least 50 Hz.
const MinFs = 50

// DetectQRS returns the sample indices of the QRS complexes in x (one lead,
// any units, sampled at fs Hz) with the default configuration.
func DetectQRS(x []float64, fs float64) []int {
	return DefaultQRSConfig().Detect(x, fs)
}

// DetectLead is DetectQRS on a lead's ADC samples, in physical units
// ((v − baseline) / gain, as Lead.Physical) without making that copy.
func DetectLead(l Lead, fs float64) []int {
	g := l.Gain
	if g == 0 {
		g = 200
	}
	return DefaultQRSConfig().detect(len(l.Samples), fs, func(bp []float64) {
		for i, v := range l.Samples {
			bp[i] = float64(int(v)-l.Baseline) / g
		}
	})
}

// Detect finds the QRS complexes in x sampled at fs Hz and returns their
// sample indices (the extremum of the band-passed signal in each complex),
// in increasing order. It returns nil for a signal shorter than a second or
// a sampling rate below MinFs or not finite.
//
// The design is Pan & Tompkins' (IEEE Trans Biomed Eng 32(3):230–236,
// 1985) with the decision rules Hamilton & Tompkins found best on the
// MIT-BIH database (IEEE Trans Biomed Eng 33(12):1157–1165, 1986), made
// independent of the sampling rate, and run offline (the whole record is
// available, so filters are applied forward and backward without delay):
//
//  1. band-pass 5–15 Hz (2nd-order Butterworth high- and low-pass, zero phase);
//  2. five-point derivative, absolute value (Hamilton & Tompkins; squaring,
//     as Pan & Tompkins do, makes the envelope follow amplitude squared,
//     and the threshold then loses beats after a drop in amplitude);
//  3. moving-window integration over 150 ms (centred);
//  4. peaks of the integrated signal at least one refractory period apart;
//  5. a peak is a QRS if it exceeds NPK + 0.3125 (SPK − NPK), SPK and NPK
//     being the medians of the last 8 QRS and noise peaks; within 360 ms of
//     the previous beat it must also have at least half that beat's maximal
//     slope, otherwise it is a T wave;
//  6. search-back: when no beat came for 1.5 × the mean RR, the largest
//     peak above half the threshold, 360 ms or more after the last beat, is
//     taken;
//  7. reset: after 8 s without a beat the levels are learnt again from the
//     last 8 s (OSEA) and, offline, those 8 s are decided again;
//  8. rhythm in noise: where the signal between two beats is noisy (its
//     mean |derivative| at least NoiseLevel × the QRS peak level), the
//     beats there are chosen again among the integrator's peaks as the
//     sequence that best continues the rhythm (rhythmInNoise), so an
//     artefact as large as a QRS between two beats is not taken for one;
//  9. each beat is placed at the band-passed extremum near the peak.
//
// docs/ecg.md gives the references and how the design was arrived at.
func (c QRSConfig) Detect(x []float64, fs float64) []int {
	return c.detect(len(x), fs, func(bp []float64) { copy(bp, x) })
}

// detect is Detect on n samples that fill writes into the band-pass
// buffer. It holds one float64 per sample (the band-passed signal): the
// derivative, its absolute value and the integrated signal are computed
// as they are needed, the integrated signal kept only at the candidate
// peaks and over the learning period (issue 18: a 24-h Holter's rhythm
// lead costs 8 bytes a sample, not 40). Each value is computed by the
// same arithmetic as when they were arrays, so detections are unchanged.
func (c QRSConfig) detect(n int, fs float64, fill func(bp []float64)) []int {
	if !(fs >= MinFs) || math.IsInf(fs, 0) || n < int(fs) {
		return nil
	}
	// 1. Band-pass, zero phase.
	bp := make([]float64, n)
	fill(bp)
	hi := math.Min(c.HighCut, 0.45*fs)
	lp := butter2(hi, fs, false)
	hp := butter2(math.Min(c.LowCut, hi/2), fs, true)
	filtfilt(hp, bp)
	filtfilt(lp, bp)
	// 2. Derivative (Pan & Tompkins' five-point derivative, step scaled to
	// 200 Hz) and its absolute value.
	h := max(1, int(math.Round(fs/200)))
	d := func(i int) float64 {
		if i < 2*h || i >= n-2*h {
			return 0
		}
		return (2*bp[i+2*h] + bp[i+h] - bp[i-h] - 2*bp[i-2*h]) / 8
	}
	// 3. Centred moving-window integration, m[k], produced in order.
	w := max(1, int(math.Round(c.Window*fs)))
	half := w / 2
	learn := int(c.Learning * fs)
	head := make([]float64, min(n, max(learn, int(fs))+int(fs))) // m over the learning period
	// 4. Candidate peaks: local maxima of m that are the largest within
	// one refractory period on either side (see peaks).
	ref := max(1, int(math.Round(c.Refractory*fs)))
	pk := newPeakFinder(ref)
	var sum float64
	for i := 0; i < n+half; i++ {
		if i < n {
			sum += math.Abs(d(i))
		}
		if j := i - w; j >= 0 {
			sum -= math.Abs(d(j))
		}
		if k := i - half; k >= 0 && k < n {
			v := sum / float64(w)
			if k < len(head) {
				head[k] = v
			}
			pk.push(v)
		}
	}
	pk.finish()
	cands, mc := pk.cands, pk.vals
	if len(cands) == 0 {
		return nil
	}
	// Maximal absolute slope around each candidate, for the T-wave rule.
	slopeAt := func(p int) float64 {
		var s float64
		for i := max(0, p-w); i < min(n, p+w); i++ {
			s = math.Max(s, math.Abs(d(i)))
		}
		return s
	}

	// 5–6. Decision rules, on candidate k (position cands[k], height mc[k]).
	const buf = 8
	var qrsPk, noisePk, rrs []float64
	for s := 0; s+int(fs) <= min(n, learn) || (s == 0 && n < learn); s += int(fs) {
		var mx float64
		for i := s; i < min(n, s+int(fs)); i++ {
			mx = math.Max(mx, head[i])
		}
		qrsPk = append(qrsPk, mx)
	}
	noisePk = []float64{0}
	push := func(b []float64, v float64) []float64 {
		b = append(b, v)
		if len(b) > buf {
			b = b[1:]
		}
		return b
	}
	threshold := func() float64 {
		s, nz := median(qrsPk), median(noisePk)
		return nz + c.ThresholdCoeff*(s-nz)
	}
	tw := int(c.TWaveWindow * fs)
	var beats []int
	var marks []beatMark // per beat: its candidate and the levels it was accepted at
	last, lastSlope := -n, 0.0
	accept := func(k int) {
		p := cands[k]
		if last >= 0 && len(beats) > 0 {
			rrs = push(rrs, float64(p-last))
		}
		marks = append(marks, beatMark{k: int32(k), qrs: float32(median(qrsPk)), th: float32(threshold()), rr: float32(median(rrs))})
		qrsPk = push(qrsPk, mc[k])
		beats = append(beats, p)
		last, lastSlope = p, slopeAt(p)
	}
	isTWave := func(p int) bool {
		return len(beats) > 0 && p-last < tw && slopeAt(p) < c.TWaveSlope*lastSlope
	}
	firstNoise := 0 // first candidate after the last beat
	reset := int(c.Reset * fs)
	since := 0 // start of the current learning period
	for k := 0; k < len(cands); k++ {
		p := cands[k]
		// Search-back before deciding on p, while the gap is too long.
		for len(rrs) >= 1 && float64(p-last) > c.SearchBack*mean(rrs) {
			th := 0.5 * threshold()
			best := -1
			for j := firstNoise; j < k; j++ {
				q := cands[j]
				// Peaks within 360 ms of the beat may be T waves, which can
				// mask a small QRS: they are left out (Hamilton, OSEA).
				if q-last < tw || mc[j] < th {
					continue
				}
				if best < 0 || mc[j] > mc[best] {
					best = j
				}
			}
			if best < 0 {
				break
			}
			accept(best)
			firstNoise = best + 1
		}
		// Reset: after Reset seconds without a beat the levels are learnt
		// again from the per-second maxima of the last Reset seconds, with
		// the noise level at zero (Hamilton, OSEA qrsdet2.c). Offline, the
		// candidates since the last beat are then decided again.
		if reset > 0 && p-max(last, since) > reset {
			qrsPk = qrsPk[:0]
			for s := p - reset; s+int(fs) <= p; s += int(fs) {
				var mx float64
				for j, q := range cands[firstNoise:k] {
					if q >= s && q < s+int(fs) {
						mx = math.Max(mx, mc[firstNoise+j])
					}
				}
				qrsPk = append(qrsPk, mx)
			}
			noisePk = append(noisePk[:0], 0)
			rrs = rrs[:0]
			last, since = -n, p
			k = firstNoise - 1
			continue
		}
		if p-last < ref {
			continue
		}
		if mc[k] >= threshold() && !isTWave(p) {
			accept(k)
			firstNoise = k + 1
			continue
		}
		noisePk = push(noisePk, mc[k])
	}
	// 8. Rhythm in noise.
	if c.NoiseLevel > 0 && len(beats) > 2 {
		beats = c.rhythmInNoise(beats, marks, mc, n, ref, w, d)
	}
	// 9. The beat's position: the extremum of the band-passed signal within
	// half a window of the integrator's peak.
	out := make([]int, len(beats))
	for i, p := range beats {
		best, bv := p, -1.0
		for j := max(0, p-half); j < min(n, p+half+1); j++ {
			if a := math.Abs(bp[j]); a > bv {
				best, bv = j, a
			}
		}
		out[i] = best
	}
	return out
}

// beatMark is what the decision rules knew when a beat was accepted: its
// candidate's index, the QRS peak level (median of the last 8), the
// threshold and the median of the last 8 RR intervals (0 when none);
// float32 and int32 keep it at 16 bytes a beat (issue 18's memory bound).
type beatMark struct {
	k           int32
	qrs, th, rr float32
}

// rhythmInNoise decides again, by rhythm, the beats next to a noisy
// interval (Detect, step 8): an interval between two beats is noisy when
// the mean |derivative| over it, outside the two QRS windows, is at least
// NoiseLevel times the QRS peak level (the integrator averages the same
// |derivative|, so a clean interval holding a T wave scores about 0.1, and
// an interval of muscle or motion artefact 0.3–0.9 on record 105). Each run
// of beats next to noisy intervals, between the beat before it and the
// beat after it (anchors, kept), is replaced by the sequence of the
// integrator's peaks between the anchors that maximises the sum of their
// heights (relative to the lower QRS level of the two anchors, so that a
// drop in amplitude does not hide the beats after it; capped at 2)
// less RhythmWeight × |ln(RR/R)| for each interval, R being the median of
// the last 8 RR intervals at the first anchor: among peaks of similar
// height, those that continue the rhythm win, and an early beat is kept
// when it is tall enough to pay for its short and long intervals (a PVC).
// Peaks below half the threshold (the search-back level), intervals
// shorter than the refractory period or longer than 3R are not
// considered; a run with no such path, or at either end of the record, is
// left as it was.
func (c QRSConfig) rhythmInNoise(beats []int, marks []beatMark, mc []float64, n, ref, w int, d func(int) float64) []int {
	half := w / 2
	// level[i]: the mean |derivative| between beats i−1 and i, outside
	// the QRS windows, over the QRS peak level when beat i was accepted.
	level := make([]float64, len(beats)+1)
	for i := 1; i < len(beats); i++ {
		a, b := beats[i-1]+half, beats[i]-half
		var s float64
		for j := a; j < b; j++ {
			s += math.Abs(d(j))
		}
		if b > a && marks[i].qrs > 0 {
			level[i] = s / float64(b-a) / float64(marks[i].qrs)
		}
	}
	noisy := func(i int) bool { return level[i] >= c.NoiseLevel || level[i+1] >= c.NoiseLevel }
	out := make([]int, 0, len(beats))
	for i := 0; i < len(beats); {
		if !noisy(i) || i == 0 {
			out = append(out, beats[i])
			i++
			continue
		}
		j := i
		for j < len(beats) && noisy(j) {
			j++
		}
		l := i - 1 // anchors: beats[l] (already in out) and beats[j]
		if j == len(beats) || marks[l].rr <= 0 || marks[l].qrs <= 0 {
			out = append(out, beats[i:j]...)
			i = j
			continue
		}
		// Nodes: the anchors and the integrator's peaks between them,
		// each the largest within half a window (finer than the
		// candidates, whose refractory spacing can hide a QRS next to a
		// larger artefact).
		a, b := beats[l], beats[j]
		pos, ht := []int{a}, []float64{mc[marks[l].k]}
		pf := newPeakFinder(max(1, w/2))
		var sum float64
		for i := a - w; i <= b+w; i++ {
			if i >= 0 && i < n {
				sum += math.Abs(d(i))
			}
			if k := i - w; k >= 0 && k < n {
				sum -= math.Abs(d(k))
			}
			if k := i - w/2; k >= a-w/2 {
				pf.push(sum / float64(w))
			}
		}
		pf.finish()
		for x, ci := range pf.cands {
			if p := ci + a - w/2; p > a && p < b {
				pos, ht = append(pos, p), append(ht, pf.vals[x])
			}
		}
		pos, ht = append(pos, b), append(ht, mc[marks[j].k])
		// The levels: the lower of the two anchors', so that beats after
		// a drop in amplitude are not below them.
		at := marks[l]
		at.qrs, at.th = min(at.qrs, marks[j].qrs), min(at.th, marks[j].th)
		path := c.bestRhythm(at, pos, ht, ref)
		if path == nil {
			out = append(out, beats[i:j]...)
		} else {
			out = append(out, path...)
		}
		i = j
	}
	return out
}

// bestRhythm is the dynamic programme of rhythmInNoise over the peaks at
// pos with heights ht, pos[0] and pos[len−1] being the anchors: the
// positions of the best path between them (anchors excluded), or nil if
// none links them.
func (c QRSConfig) bestRhythm(at beatMark, pos []int, ht []float64, ref int) []int {
	R, floor, qrs := float64(at.rr), 0.5*float64(at.th), float64(at.qrs)
	nodes := []int{0}
	for k := 1; k < len(pos)-1; k++ {
		if ht[k] >= floor {
			nodes = append(nodes, k)
		}
	}
	nodes = append(nodes, len(pos)-1)
	score := make([]float64, len(nodes))
	prev := make([]int, len(nodes))
	for v := 1; v < len(nodes); v++ {
		score[v], prev[v] = math.Inf(-1), -1
		h := 0.0
		if v < len(nodes)-1 {
			h = math.Min(ht[nodes[v]]/qrs, 2)
		}
		for u := v - 1; u >= 0; u-- {
			d := float64(pos[nodes[v]] - pos[nodes[u]])
			if d > 3*R {
				break
			}
			if d < float64(ref) || math.IsInf(score[u], -1) {
				continue
			}
			if s := score[u] + h - c.RhythmWeight*math.Abs(math.Log(d/R)); s > score[v] {
				score[v], prev[v] = s, u
			}
		}
	}
	last := len(nodes) - 1
	if prev[last] < 0 {
		return nil
	}
	var path []int
	for v := prev[last]; v > 0; v = prev[v] {
		path = append(path, pos[nodes[v]])
	}
	slices.Reverse(path)
	return path
}

// peakFinder finds, as the values of m arrive in order, the indices i
// where m[i] is the maximum of m over [i−r, i+r] and positive (ties: the
// first), keeping the last 2r+2 values only: a monotone deque for the
// sliding-window maximum.
type peakFinder struct {
	r     int
	ring  []float64 // m[i] at ring[i%len(ring)]
	dq    []int     // indices, m decreasing (non-increasing) from the front
	front int
	n     int // values pushed
	i     int // next index to decide
	cands []int
	vals  []float64 // m at each candidate
}

func newPeakFinder(r int) *peakFinder {
	return &peakFinder{r: r, ring: make([]float64, 2*r+2), dq: make([]int, 0, 2*r+2)}
}

func (f *peakFinder) m(i int) float64 { return f.ring[i%len(f.ring)] }

func (f *peakFinder) push(v float64) {
	next := f.n
	f.ring[next%len(f.ring)] = v
	f.n++
	for len(f.dq) > f.front && f.m(f.dq[len(f.dq)-1]) < v {
		f.dq = f.dq[:len(f.dq)-1]
	}
	if f.front > 0 && len(f.dq) == cap(f.dq) {
		f.dq = f.dq[:copy(f.dq, f.dq[f.front:])]
		f.front = 0
	}
	f.dq = append(f.dq, next)
	// Index i is decided once m up to i+r is known.
	if i := next - f.r; i >= 0 {
		f.decide(i)
	}
}

func (f *peakFinder) decide(i int) {
	for f.dq[f.front] < i-f.r {
		f.front++
	}
	if f.dq[f.front] == i && f.m(i) > 0 {
		f.cands = append(f.cands, i)
		f.vals = append(f.vals, f.m(i))
	}
	f.i = i + 1
}

// finish decides the last r indices (their windows end at the signal's end).
func (f *peakFinder) finish() {
	for i := f.i; i < f.n; i++ {
		f.decide(i)
	}
}

// peaks returns the indices i where m[i] is the maximum of m over
// [i−r, i+r] and positive (ties: the first).
func peaks(m []float64, r int) []int {
	var out []int
	n := len(m)
	// Monotone deque for the sliding-window maximum over [i−r, i+r].
	dq := make([]int, 0, 2*r+2)
	next := 0
	for i := 0; i < n; i++ {
		for ; next < n && next <= i+r; next++ {
			for len(dq) > 0 && m[dq[len(dq)-1]] < m[next] {
				dq = dq[:len(dq)-1]
			}
			dq = append(dq, next)
		}
		for dq[0] < i-r {
			dq = dq[1:]
		}
		if dq[0] == i && m[i] > 0 {
			out = append(out, i)
		}
	}
	return out
}

func median(b []float64) float64 {
	if len(b) == 0 {
		return 0
	}
	// The detector takes the median of its last 8 levels and intervals at
	// every beat: sorted in a copy on the stack, so that a beat allocates
	// nothing (issue 18's memory bound on a Holter, TestECGUploadBoundedHeap).
	var buf [8]float64
	s := buf[:0]
	if len(b) > len(buf) {
		s = make([]float64, 0, len(b))
	}
	s = append(s, b...)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func mean(b []float64) float64 {
	var s float64
	for _, v := range b {
		s += v
	}
	return s / float64(len(b))
}

// biquad is a second-order IIR section (direct form I).
type biquad struct{ b0, b1, b2, a1, a2 float64 }

// butter2 designs a 2nd-order Butterworth low- or high-pass filter with
// cutoff fc at sampling rate fs by the bilinear transform (RBJ cookbook).
func butter2(fc, fs float64, high bool) biquad {
	w := 2 * math.Pi * fc / fs
	cw, sw := math.Cos(w), math.Sin(w)
	alpha := sw / math.Sqrt2 // sin(w)/(2Q) with Q = 1/√2
	a0 := 1 + alpha
	var q biquad
	if high {
		q = biquad{(1 + cw) / 2, -(1 + cw), (1 + cw) / 2, -2 * cw, 1 - alpha}
	} else {
		q = biquad{(1 - cw) / 2, 1 - cw, (1 - cw) / 2, -2 * cw, 1 - alpha}
	}
	q.b0, q.b1, q.b2, q.a1, q.a2 = q.b0/a0, q.b1/a0, q.b2/a0, q.a1/a0, q.a2/a0
	return q
}

// filtfilt applies q forward then backward in place (zero phase). The
// state starts at the first sample's steady state to avoid a start-up step.
func filtfilt(q biquad, x []float64) {
	run := func(get func(int) *float64, n int) {
		x0 := *get(0)
		dc := (q.b0 + q.b1 + q.b2) / (1 + q.a1 + q.a2)
		x1, x2 := x0, x0
		y1, y2 := dc*x0, dc*x0
		for i := 0; i < n; i++ {
			p := get(i)
			xi := *p
			y := q.b0*xi + q.b1*x1 + q.b2*x2 - q.a1*y1 - q.a2*y2
			x2, x1 = x1, xi
			y2, y1 = y1, y
			*p = y
		}
	}
	n := len(x)
	run(func(i int) *float64 { return &x[i] }, n)
	run(func(i int) *float64 { return &x[n-1-i] }, n)
}
