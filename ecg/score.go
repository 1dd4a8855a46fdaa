package ecg

import "math"

// MatchWindow is the ANSI/AAMI EC57 matching window: a detection within
// 150 ms of a reference beat matches it.
const MatchWindow = 0.150

// Score is the beat-by-beat comparison of detections with reference beats.
type Score struct {
	Beats, TP, FN, FP int
}

// Se is the sensitivity TP/(TP+FN), in [0,1]; 1 when there are no beats.
func (s Score) Se() float64 { return ratio(s.TP, s.TP+s.FN) }

// PPV is the positive predictivity TP/(TP+FP), in [0,1].
func (s Score) PPV() float64 { return ratio(s.TP, s.TP+s.FP) }

// Add returns the sum of two scores (gross statistics over records).
func (s Score) Add(o Score) Score {
	return Score{s.Beats + o.Beats, s.TP + o.TP, s.FN + o.FN, s.FP + o.FP}
}

func ratio(a, b int) float64 {
	if b == 0 {
		return 1
	}
	return float64(a) / float64(b)
}

// Compare matches detections to reference beats like WFDB's bxb: both
// sorted, each reference beat is paired with the nearest unpaired detection
// within window seconds (MatchWindow) unless that detection is nearer to the
// next reference beat; unpaired reference beats are false negatives and
// unpaired detections false positives. Only beats and detections in
// [from, to) samples are counted (to ≤ 0 means the end), so a scorer can
// leave out a record's edges.
func Compare(ref []int64, det []int, fs, window float64, from, to int64) Score {
	w := int64(math.Round(window * fs))
	in := func(t int64) bool { return t >= from && (to <= 0 || t < to) }
	var s Score
	j := 0
	for i, r := range ref {
		// Detections well before this beat's window are unmatched.
		for j < len(det) && int64(det[j]) < r-w {
			if in(int64(det[j])) {
				s.FP++
			}
			j++
		}
		matched := false
		if j < len(det) && int64(det[j]) <= r+w {
			d := int64(det[j])
			// Pick the nearer of det[j] and det[j+1] when both fall in the window.
			if j+1 < len(det) && int64(det[j+1]) <= r+w && abs64(int64(det[j+1])-r) < abs64(d-r) {
				if in(d) {
					s.FP++
				}
				j++
				d = int64(det[j])
			}
			// Leave it to the next beat if it is nearer to that one.
			if !(i+1 < len(ref) && abs64(ref[i+1]-d) < abs64(d-r)) {
				matched = true
				j++
			}
		}
		if !in(r) {
			continue
		}
		s.Beats++
		if matched {
			s.TP++
		} else {
			s.FN++
		}
	}
	for ; j < len(det); j++ {
		if in(int64(det[j])) {
			s.FP++
		}
	}
	return s
}

func abs64(v int64) int64 {
	if v < 0 {
		return -v
	}
	return v
}

// Span is a half-open interval [From, To) of samples.
type Span struct{ From, To int64 }

// VFEpisodes returns the episodes of ventricular flutter or fibrillation of
// an annotation file: from each VFOn ('[') to the next VFOff (']'), or to
// the end (To = -1) when the file ends inside one. ANSI/AAMI EC57 §4.2
// and WFDB's bxb leave these episodes out of QRS detection statistics:
// there are no beats to detect in them (flutter waves, '!', are not beats),
// so a detection there is neither a true nor a false positive.
func VFEpisodes(anns []Annotation) []Span {
	var out []Span
	open := int64(-1)
	for _, a := range anns {
		switch {
		case a.Code == VFOn && open < 0:
			open = a.Sample
		case a.Code == VFOff && open >= 0:
			out = append(out, Span{open, a.Sample})
			open = -1
		}
	}
	if open >= 0 {
		out = append(out, Span{open, -1})
	}
	return out
}

// OutsideSpans returns the detections that are in none of the spans
// (sorted, as VFEpisodes returns them), scaled by scale samples per
// annotation frame.
func OutsideSpans(det []int, spans []Span, scale int64) []int {
	if len(spans) == 0 {
		return det
	}
	out := make([]int, 0, len(det))
	k := 0
	for _, d := range det {
		t := int64(d)
		for k < len(spans) && spans[k].To >= 0 && t >= spans[k].To*scale {
			k++
		}
		if k < len(spans) && t >= spans[k].From*scale {
			continue
		}
		out = append(out, d)
	}
	return out
}
