package ecg

import (
	"math"
	"slices"
	"strings"
)

// Finding is one result of the automatic pre-read (自动预判读).
type Finding string

// Findings of the pre-read, each defined by a rule of PreReadConfig.
const (
	FindingNoQRS       Finding = "no_qrs"          // fewer than 2 beats: no rhythm can be read
	FindingPause       Finding = "pause"           // an RR interval longer than PauseRR
	FindingPossibleAF  Finding = "possible_af"     // irregularly irregular RR (Dash et al.)
	FindingTachycardia Finding = "tachycardia"     // heart rate above TachyBPM
	FindingBradycardia Finding = "bradycardia"     // heart rate below BradyBPM
	FindingPremature   Finding = "premature_beats" // at least PrematureMin premature beats
)

// priority ranks findings for the worklist: higher is read first.
var priority = map[Finding]int{
	FindingNoQRS:       3, // the machine could not read it: a person must, soon
	FindingPause:       3,
	FindingPossibleAF:  2,
	FindingTachycardia: 2,
	FindingBradycardia: 2,
	FindingPremature:   1,
}

// PreReadConfig holds the pre-read's rules. Defaults: DefaultPreReadConfig.
type PreReadConfig struct {
	// PauseRR: an RR interval longer than this (seconds) is a pause. 2.0 s is
	// the usual Holter reporting threshold; the 2018 ACC/AHA/HRS bradycardia
	// guideline (Kusumoto et al., Circulation 2019;140:e382) treats pauses
	// over 3 s as significant.
	PauseRR float64
	// TachyBPM and BradyBPM bound the heart rate (60 / median RR): above 100
	// bpm is tachycardia (2015 ACC/AHA/HRS SVT guideline, Page et al.,
	// Circulation 2016;133:e506), below 50 bpm bradycardia (2018 ACC/AHA/HRS
	// bradycardia guideline, as above).
	TachyBPM, BradyBPM float64
	// Prematurity: a beat whose RR interval is shorter than this fraction of
	// the median of the up to 8 preceding intervals is premature (the
	// "20 % prematurity" timing criterion of Holter arrhythmia analysis; by
	// timing only, so supraventricular and ventricular ones are not told
	// apart).
	Prematurity float64
	// PrematureMin premature beats make the finding (1: any premature beat
	// is reported to the reader).
	PrematureMin int
	// AF thresholds, from Dash S, Chon KH, Lu S, Raeder EA, "Automatic real
	// time detection of atrial fibrillation", Ann Biomed Eng
	// 2009;37(9):1701–1709: in a window of AFWindow beats, with the
	// 1/16 longest and 1/16 shortest RR intervals removed, the normalised
	// RMSSD (RMSSD / mean RR) above AFRMSSD, the Shannon entropy of the RR
	// histogram (16 bins) above AFEntropy, and the turning-point ratio within
	// the range of a random series (AFTPRLow–AFTPRHigh).
	AFWindow            int
	AFRMSSD, AFEntropy  float64
	AFTPRLow, AFTPRHigh float64
	// AFMinBeats is the fewest RR intervals the AF rule is applied to; a
	// shorter recording gets no AF finding.
	AFMinBeats int
	// Measure configures the 12-lead measurements (intervals, axis,
	// rhythm statement) made on the median beat.
	Measure MeasureConfig
}

// DefaultPreReadConfig returns the cited defaults of PreReadConfig.
func DefaultPreReadConfig() PreReadConfig {
	return PreReadConfig{
		PauseRR: 2.0, TachyBPM: 100, BradyBPM: 50, Prematurity: 0.8, PrematureMin: 1,
		AFWindow: 128, AFRMSSD: 0.1, AFEntropy: 0.7, AFTPRLow: 0.54, AFTPRHigh: 0.77, AFMinBeats: 12,
		Measure: DefaultMeasureConfig(),
	}
}

// Pause is an RR interval longer than PreReadConfig.PauseRR.
type Pause struct {
	At     float64 // seconds from the start to the beat before the pause
	Length float64 // seconds
}

// PreReadResult is the automatic pre-read of one lead.
type PreReadResult struct {
	Beats []int     // QRS sample indices
	RR    []float64 // RR intervals in seconds
	// HeartRate is 60 / median RR in beats per minute (0 with fewer than 2
	// beats); MinHR and MaxHR come from the shortest and longest RR.
	HeartRate, MinHR, MaxHR float64
	// Irregular is the possible-AF flag; AFWindows and AFPositive count the
	// windows tested and those meeting all three criteria. NRMSSD, Entropy and
	// TPR are the first window's statistics, for the reader.
	Irregular             bool
	AFWindows, AFPositive int
	NRMSSD, Entropy, TPR  float64
	Pauses                []Pause
	Premature             int
	Findings              []Finding
	// Intervals are the median-beat measurements (PR, QRS, QT, QTc,
	// axis, rhythm statement) of PreReadRecord; nil when they could not
	// be made (fewer than 3 whole beats).
	Intervals *Intervals
	// Abnormal is true when there is any finding; Priority ranks results for
	// the worklist (0 normal … 3), abnormal first.
	Abnormal bool
	Priority int
}

// Summary is "normal" or the findings joined by commas.
func (r PreReadResult) Summary() string {
	if !r.Abnormal {
		return "normal"
	}
	s := make([]string, len(r.Findings))
	for i, f := range r.Findings {
		s[i] = string(f)
	}
	return strings.Join(s, ",")
}

// PreReadRecord pre-reads a record: it detects the QRS complexes on the
// rhythm lead (the first lead named II or MLII, else the first) and applies
// the rules. A record without leads or samples gets FindingNoQRS.
func (c PreReadConfig) PreReadRecord(rec *Record) PreReadResult {
	lead, fs, ok := rec.RhythmLead()
	if !ok {
		return c.PreRead(nil, rec.Fs)
	}
	r := c.PreRead(DetectLead(lead, fs), fs)
	if m, ok := c.Measure.Measure(rec, r.Beats, fs, r.Irregular); ok {
		r.Intervals = &m
	}
	return r
}

// RhythmLead returns the lead rhythm is read on, the first named II or MLII
// (modified lead II), else the first, with its sampling rate; ok is false
// when the record has no leads.
func (r *Record) RhythmLead() (lead Lead, fs float64, ok bool) {
	if len(r.Leads) == 0 {
		return Lead{}, 0, false
	}
	lead = r.Leads[0]
	for _, l := range r.Leads {
		if n := strings.ToUpper(l.Name); n == "II" || n == "MLII" {
			lead = l
			break
		}
	}
	return lead, r.Fs * float64(max(1, lead.SamplesPerFrame)), true
}

// PreRead applies the rules to QRS positions (sample indices at fs Hz).
func (c PreReadConfig) PreRead(beats []int, fs float64) PreReadResult {
	r := PreReadResult{Beats: beats}
	if len(beats) < 2 || !(fs > 0) {
		r.Findings = []Finding{FindingNoQRS}
		r.Abnormal, r.Priority = true, priority[FindingNoQRS]
		return r
	}
	r.RR = make([]float64, len(beats)-1)
	for i := 1; i < len(beats); i++ {
		r.RR[i-1] = float64(beats[i]-beats[i-1]) / fs
	}
	med := median(r.RR)
	r.HeartRate = 60 / med
	r.MinHR, r.MaxHR = 60/slices.Max(r.RR), 60/slices.Min(r.RR)
	for i, rr := range r.RR {
		if rr > c.PauseRR {
			r.Pauses = append(r.Pauses, Pause{At: float64(beats[i]) / fs, Length: rr})
		}
		if i >= 4 {
			if local := median(r.RR[max(0, i-8):i]); rr < c.Prematurity*local {
				r.Premature++
			}
		}
	}
	c.af(&r)
	add := func(f Finding, ok bool) {
		if ok {
			r.Findings = append(r.Findings, f)
			r.Priority = max(r.Priority, priority[f])
		}
	}
	add(FindingPause, len(r.Pauses) > 0)
	add(FindingPossibleAF, r.Irregular)
	add(FindingTachycardia, r.HeartRate > c.TachyBPM)
	add(FindingBradycardia, r.HeartRate < c.BradyBPM)
	add(FindingPremature, c.PrematureMin > 0 && r.Premature >= c.PrematureMin)
	r.Abnormal = len(r.Findings) > 0
	return r
}

// af applies Dash et al.'s three statistics to consecutive windows of
// AFWindow RR intervals (the last, shorter window is tested when it has at
// least AFMinBeats); the flag is set when at least half the windows meet all
// three.
func (c PreReadConfig) af(r *PreReadResult) {
	w := max(c.AFWindow, c.AFMinBeats, 1)
	for s := 0; s < len(r.RR); s += w {
		seg := r.RR[s:min(len(r.RR), s+w)]
		if len(seg) < c.AFMinBeats {
			break
		}
		nr, she, tpr := afStats(seg)
		if r.AFWindows == 0 {
			r.NRMSSD, r.Entropy, r.TPR = nr, she, tpr
		}
		r.AFWindows++
		if nr > c.AFRMSSD && she > c.AFEntropy && tpr >= c.AFTPRLow && tpr <= c.AFTPRHigh {
			r.AFPositive++
		}
	}
	r.Irregular = r.AFWindows > 0 && 2*r.AFPositive >= r.AFWindows
}

// afStats returns the normalised RMSSD and Shannon entropy of seg with the
// 1/16 longest and shortest intervals removed (8 of 128 each way in Dash et
// al.), and the turning-point ratio of the whole segment.
func afStats(seg []float64) (nrmssd, entropy, tpr float64) {
	// Turning points, on the series in time order.
	turns := 0
	for i := 1; i+1 < len(seg); i++ {
		if (seg[i] > seg[i-1] && seg[i] > seg[i+1]) || (seg[i] < seg[i-1] && seg[i] < seg[i+1]) {
			turns++
		}
	}
	if len(seg) > 2 {
		tpr = float64(turns) / float64(len(seg)-2)
	}
	// Outliers (ectopic beats) are removed by value; the successive
	// differences are taken over the kept intervals in time order.
	trim := len(seg) / 16
	sorted := slices.Sorted(slices.Values(seg))
	lo, hi := sorted[trim], sorted[len(sorted)-1-trim]
	var kept []float64
	nlo, nhi := 0, 0
	for _, v := range seg {
		// Drop exactly trim values at each end, ties included.
		if v < lo || (v == lo && nlo < countBelow(sorted, trim, lo)) {
			if v == lo {
				nlo++
			}
			continue
		}
		if v > hi || (v == hi && nhi < countAbove(sorted, trim, hi)) {
			if v == hi {
				nhi++
			}
			continue
		}
		kept = append(kept, v)
	}
	if len(kept) < 2 {
		return 0, 0, tpr
	}
	var ss float64
	for i := 1; i < len(kept); i++ {
		d := kept[i] - kept[i-1]
		ss += d * d
	}
	nrmssd = math.Sqrt(ss/float64(len(kept)-1)) / mean(kept)
	// Shannon entropy of a 16-bin histogram between the kept min and max,
	// normalised by log(1/16) as in Dash et al.
	const bins = 16
	kmin, kmax := slices.Min(kept), slices.Max(kept)
	if kmax > kmin {
		var h [bins]int
		for _, v := range kept {
			h[min(bins-1, int(float64(bins)*(v-kmin)/(kmax-kmin)))]++
		}
		for _, n := range h {
			if n > 0 {
				p := float64(n) / float64(len(kept))
				entropy -= p * math.Log(p) / math.Log(bins)
			}
		}
	}
	return nrmssd, entropy, tpr
}

// countBelow is how many copies of v (the trim-th smallest) are among the
// trim smallest values of sorted, so exactly trim are dropped.
func countBelow(sorted []float64, trim int, v float64) int {
	n := 0
	for _, x := range sorted[:trim] {
		if x == v {
			n++
		}
	}
	return n
}

func countAbove(sorted []float64, trim int, v float64) int {
	n := 0
	for _, x := range sorted[len(sorted)-trim:] {
		if x == v {
			n++
		}
	}
	return n
}
