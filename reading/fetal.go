package reading

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"countycare/care"
)

// Fetal heart monitoring (胎心监护, cardiotocography): a trace exported by
// the clinic's monitor as CSV, the time in seconds, the fetal heart rate
// (FHR) in bpm and optionally uterine contractions (UC). The automatic
// flags follow the FIGO 2015 consensus (Ayres-de-Campos D et al., FIGO
// consensus guidelines on intrapartum fetal monitoring: cardiotocography,
// Int J Gynaecol Obstet 2015;131:13–24), whose limits NICE CG190 shares
// where both are given.

// Limits of a trace file.
const (
	MaxFetalBytes   = 8 << 20
	MaxFetalSeconds = 24 * 3600
	minFetalSeconds = 60
)

// ErrFetalFormat is the cause of every fault ParseFetalCSV reports.
var ErrFetalFormat = errors.New("fetal trace")

// FetalTrace is a parsed trace resampled to one value per second; NaN is
// a second without signal (FHR 0 in the export means signal loss).
type FetalTrace struct {
	FHR    []float64 // bpm, one per second from the first sample
	UC     []float64 // contractions (mmHg or TOCO units), nil if not recorded
	Start  float64   // time of the first sample in the file (s)
	Signal float64   // share of seconds with an FHR signal, 0–1
}

// Seconds is the trace's length.
func (t *FetalTrace) Seconds() float64 { return float64(len(t.FHR)) }

// fetalColumns maps header names to columns.
var fetalColumns = map[string]string{
	"time": "time", "t": "time", "seconds": "time", "时间": "time", "时间(s)": "time",
	"fhr": "fhr", "fhr_bpm": "fhr", "胎心率": "fhr", "胎心": "fhr",
	"uc": "uc", "toco": "uc", "宫缩": "uc", "宫缩压力": "uc",
}

// ParseFetalCSV reads a trace: a header naming time and fhr (and
// optionally uc), then rows with the time in seconds, strictly
// increasing. FHR must be 0 (signal loss) or 50–240 bpm; UC 0–127.
// Samples are averaged per second; seconds with no sample are signal
// loss. Errors wrap ErrFetalFormat and name the line.
func ParseFetalCSV(r io.Reader) (*FetalTrace, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxFetalBytes+1))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrFetalFormat, err)
	}
	if len(data) > MaxFetalBytes {
		return nil, fmt.Errorf("%w: larger than %d MiB", ErrFetalFormat, MaxFetalBytes>>20)
	}
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	if !utf8.Valid(data) {
		return nil, fmt.Errorf("%w: not UTF-8 text", ErrFetalFormat)
	}
	cr := csv.NewReader(care.LineLimiter(bytes.NewReader(data), care.MaxLineBytes))
	cr.ReuseRecord = true
	head, err := cr.Read()
	var long *care.LineTooLongError
	if errors.As(err, &long) {
		return nil, fmt.Errorf("%w: %v", ErrFetalFormat, long)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: no header row", ErrFetalFormat)
	}
	col := map[string]int{}
	for i, h := range head {
		c, ok := fetalColumns[strings.ToLower(strings.TrimSpace(h))]
		if !ok {
			return nil, fmt.Errorf("%w: unknown column %q (want time, fhr and optionally uc)", ErrFetalFormat, clipText(h, 30))
		}
		if _, dup := col[c]; dup {
			return nil, fmt.Errorf("%w: column %s twice", ErrFetalFormat, c)
		}
		col[c] = i
	}
	if _, ok := col["time"]; !ok {
		return nil, fmt.Errorf("%w: no time column", ErrFetalFormat)
	}
	if _, ok := col["fhr"]; !ok {
		return nil, fmt.Errorf("%w: no fhr column", ErrFetalFormat)
	}
	_, hasUC := col["uc"]
	var sumF, sumU []float64
	var nF, nU []int
	t0, prev := math.NaN(), math.Inf(-1)
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if errors.As(err, &long) {
			return nil, fmt.Errorf("%w: %v", ErrFetalFormat, long)
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				return nil, fmt.Errorf("%w: line %d: %v", ErrFetalFormat, pe.Line, pe.Err)
			}
			return nil, fmt.Errorf("%w: %v", ErrFetalFormat, err)
		}
		line, _ := cr.FieldPos(0)
		num := func(c string) (float64, error) {
			v, err := strconv.ParseFloat(strings.TrimSpace(rec[col[c]]), 64)
			if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
				return 0, fmt.Errorf("%w: line %d: %s is not a number", ErrFetalFormat, line, c)
			}
			return v, nil
		}
		t, err := num("time")
		if err != nil {
			return nil, err
		}
		if t <= prev {
			return nil, fmt.Errorf("%w: line %d: time does not increase", ErrFetalFormat, line)
		}
		prev = t
		if math.IsNaN(t0) {
			t0 = t
		}
		if t-t0 >= MaxFetalSeconds {
			return nil, fmt.Errorf("%w: longer than %d hours", ErrFetalFormat, MaxFetalSeconds/3600)
		}
		f, err := num("fhr")
		if err != nil {
			return nil, err
		}
		if f != 0 && (f < 50 || f > 240) {
			return nil, fmt.Errorf("%w: line %d: FHR %g bpm is impossible (0 for signal loss, else 50–240)", ErrFetalFormat, line, f)
		}
		sec := int(t - t0)
		for len(sumF) <= sec {
			sumF, nF = append(sumF, 0), append(nF, 0)
			sumU, nU = append(sumU, 0), append(nU, 0)
		}
		if f != 0 {
			sumF[sec] += f
			nF[sec]++
		}
		if hasUC {
			u, err := num("uc")
			if err != nil {
				return nil, err
			}
			if u < 0 || u > 127 {
				return nil, fmt.Errorf("%w: line %d: UC %g out of 0–127", ErrFetalFormat, line, u)
			}
			sumU[sec] += u
			nU[sec]++
		}
	}
	if len(sumF) < minFetalSeconds {
		return nil, fmt.Errorf("%w: shorter than %d seconds", ErrFetalFormat, minFetalSeconds)
	}
	tr := &FetalTrace{FHR: make([]float64, len(sumF)), Start: t0}
	if hasUC {
		tr.UC = make([]float64, len(sumF))
	}
	good := 0
	for i := range sumF {
		tr.FHR[i] = math.NaN()
		if nF[i] > 0 {
			tr.FHR[i] = sumF[i] / float64(nF[i])
			good++
		}
		if hasUC {
			tr.UC[i] = math.NaN()
			if nU[i] > 0 {
				tr.UC[i] = sumU[i] / float64(nU[i])
			}
		}
	}
	tr.Signal = float64(good) / float64(len(sumF))
	if good < minFetalSeconds {
		return nil, fmt.Errorf("%w: less than %d seconds of FHR signal", ErrFetalFormat, minFetalSeconds)
	}
	return tr, nil
}

func clipText(s string, n int) string {
	if utf8.RuneCountInString(s) > n {
		return string([]rune(s)[:n]) + "…"
	}
	return s
}

// FetalFlag is one automatic finding on a trace.
type FetalFlag string

// Flags, with the criteria of FIGO 2015 (and NICE CG190 where it agrees).
const (
	// FlagTachycardia: baseline above 160 bpm lasting over 10 minutes.
	FlagTachycardia FetalFlag = "tachycardia"
	// FlagBradycardia: baseline below 110 bpm lasting over 10 minutes.
	FlagBradycardia FetalFlag = "bradycardia"
	// FlagBaselineBelow100: baseline < 100 bpm, a pathological feature.
	FlagBaselineBelow100 FetalFlag = "baseline_below_100"
	// FlagReducedVariability: bandwidth < 5 bpm for over 50 minutes of
	// baseline (NICE CG190: < 5 bpm for > 50 min is abnormal).
	FlagReducedVariability FetalFlag = "reduced_variability"
	// FlagIncreasedVariability: bandwidth > 25 bpm for over 30 minutes
	// (saltatory pattern).
	FlagIncreasedVariability FetalFlag = "increased_variability"
	// FlagProlongedDeceleration: a deceleration (a fall > 15 bpm below
	// the baseline for > 15 s) lasting over 3 minutes.
	FlagProlongedDeceleration FetalFlag = "prolonged_deceleration"
	// FlagDecelerationOver5Min: a deceleration lasting over 5 minutes, a
	// pathological feature.
	FlagDecelerationOver5Min FetalFlag = "deceleration_over_5min"
	// FlagSignalLoss: over 20 % of the trace without FHR signal (the
	// reading is less reliable; FIGO asks for a good-quality signal).
	FlagSignalLoss FetalFlag = "signal_loss"
)

// FetalAnalysis is the automatic reading of a trace.
type FetalAnalysis struct {
	Baseline      float64 // bpm, rounded to 1
	Variability   float64 // median bandwidth of baseline minutes, bpm
	Accelerations int
	Decelerations int
	LongestDecel  float64 // seconds
	Flags         []FetalFlag
	// Class is the FIGO 2015 classification: normal, suspicious (lacking
	// a normal feature, no pathological one) or pathological.
	Class string
	// Priority orders a worklist: 2 pathological, 1 suspicious, 0 normal.
	Priority int
}

// FIGO 2015 classes.
const (
	ClassNormal       = "normal"
	ClassSuspicious   = "suspicious"
	ClassPathological = "pathological"
)

// Episode is a deceleration or acceleration: start second and length.
type Episode struct {
	Start   int  `json:"start"`   // second of the trace
	Seconds int  `json:"seconds"` // length
	Decel   bool `json:"deceleration"`
}

// AnalyseFetal reads a trace by FIGO 2015:
//   - baseline: the mean FHR of the seconds within 15 bpm of the trace's
//     median, i.e. leaving out accelerations and decelerations;
//   - episodes: runs of over 15 s more than 15 bpm below (deceleration) or
//     above (acceleration) the baseline, short gaps in the signal bridged;
//   - variability: the bandwidth (max − min) of each whole minute outside
//     episodes; runs of minutes below 5 or above 25 bpm are timed.
func AnalyseFetal(t *FetalTrace) (FetalAnalysis, []Episode) {
	var a FetalAnalysis
	var valid []float64
	for _, v := range t.FHR {
		if !math.IsNaN(v) {
			valid = append(valid, v)
		}
	}
	sorted := append([]float64(nil), valid...)
	sort.Float64s(sorted)
	med := sorted[len(sorted)/2]
	sum, n := 0.0, 0
	for _, v := range valid {
		if math.Abs(v-med) <= 15 {
			sum += v
			n++
		}
	}
	a.Baseline = math.Round(sum / float64(n))

	// Episodes: > 15 bpm from the baseline for > 15 s; gaps of up to 5 s
	// without signal do not end an episode.
	var eps []Episode
	inEpisode := make([]bool, len(t.FHR))
	scan := func(decel bool) {
		start, last := -1, -1
		flush := func() {
			if start >= 0 && last-start+1 > 15 {
				eps = append(eps, Episode{Start: start, Seconds: last - start + 1, Decel: decel})
				for i := start; i <= last; i++ {
					inEpisode[i] = true
				}
			}
			start, last = -1, -1
		}
		for i, v := range t.FHR {
			if math.IsNaN(v) {
				if start >= 0 && i-last > 5 {
					flush()
				}
				continue
			}
			off := (decel && v < a.Baseline-15) || (!decel && v > a.Baseline+15)
			if off {
				if start < 0 {
					start = i
				}
				last = i
			} else if start >= 0 {
				flush()
			}
		}
		flush()
	}
	scan(true)
	scan(false)
	sort.Slice(eps, func(i, j int) bool { return eps[i].Start < eps[j].Start })
	for _, e := range eps {
		if e.Decel {
			a.Decelerations++
			a.LongestDecel = math.Max(a.LongestDecel, float64(e.Seconds))
		} else {
			a.Accelerations++
		}
	}

	// Variability per whole minute of baseline.
	var bands []float64
	lowRun, highRun, lowMax, highMax := 0, 0, 0, 0
	for m := 0; (m+1)*60 <= len(t.FHR); m++ {
		lo, hi, k, skip := math.Inf(1), math.Inf(-1), 0, false
		for i := m * 60; i < (m+1)*60; i++ {
			if inEpisode[i] {
				skip = true
				break
			}
			if v := t.FHR[i]; !math.IsNaN(v) {
				lo, hi, k = math.Min(lo, v), math.Max(hi, v), k+1
			}
		}
		if skip || k < 30 {
			continue // a deceleration, or too little signal: not a baseline minute
		}
		b := hi - lo
		bands = append(bands, b)
		if b < 5 {
			lowRun++
		} else {
			lowRun = 0
		}
		if b > 25 {
			highRun++
		} else {
			highRun = 0
		}
		lowMax, highMax = max(lowMax, lowRun), max(highMax, highRun)
	}
	if len(bands) > 0 {
		sort.Float64s(bands)
		a.Variability = bands[len(bands)/2]
	}

	long := t.Seconds() > 600
	add := func(f FetalFlag) { a.Flags = append(a.Flags, f) }
	pathological, suspicious := false, false
	switch {
	case a.Baseline < 100:
		add(FlagBaselineBelow100)
		pathological = true
		if long {
			add(FlagBradycardia)
		}
	case a.Baseline < 110 && long:
		add(FlagBradycardia)
		suspicious = true
	case a.Baseline > 160 && long:
		add(FlagTachycardia)
		suspicious = true
	}
	if lowMax > 50 {
		add(FlagReducedVariability)
		pathological = true
	}
	if highMax > 30 {
		add(FlagIncreasedVariability)
		suspicious = true
	}
	if a.LongestDecel > 300 {
		add(FlagProlongedDeceleration)
		add(FlagDecelerationOver5Min)
		pathological = true
	} else if a.LongestDecel > 180 {
		add(FlagProlongedDeceleration)
		suspicious = true
	}
	if t.Signal < 0.8 {
		add(FlagSignalLoss)
	}
	switch {
	case pathological:
		a.Class, a.Priority = ClassPathological, 2
	case suspicious:
		a.Class, a.Priority = ClassSuspicious, 1
	default:
		a.Class = ClassNormal
	}
	return a, eps
}
