package kpi

import (
	"context"
	"sort"

	"countycare/care"
	"countycare/org"
)

// Reading-center turnaround (issue 14 §1: 诊断中心 volume, turnaround
// median and p90): the time from a study's upload to its signed report
// (reading.Study.Turnaround), and for the lab from a specimen's collection
// to its result, kept per center (the institution that read it; the lab
// result's institution), kind and month as a histogram of whole minutes in
// fixed buckets (TurnaroundBucket; store: reading_turnaround, migration
// 0055), so a period's median and p90 at any unit are read from the summed
// histograms, never from the studies. The quantiles are bucket-exact: the
// value shown is the highest whole minute of the bucket that holds the
// quantile (exact below an hour; at most 4, 29 or 239 minutes over above
// an hour, four hours and a day), a week or more is shown as a week.

// Turnaround kinds: the reading workflow's kinds and the lab.
const (
	TATECG     = "ecg"     // reading.KindECG
	TATImaging = "imaging" // reading.KindImaging
	TATLab     = "lab"     // lab_results: collected → resulted
)

// TurnaroundKinds are the kinds the dashboard reports, in page order.
var TurnaroundKinds = []string{TATECG, TATImaging, TATLab}

// The buckets' edges in minutes: 1-minute buckets below an hour, 5 below
// four hours, 30 below a day, 240 below a week, one bucket for a week and
// more (TurnaroundBuckets in all).
const (
	tatHour     = 60
	tatFourHour = 240
	tatDay      = 1440
	tatWeek     = 10080
	tatB5       = tatHour                         // first 5-minute bucket
	tatB30      = tatB5 + (tatFourHour-tatHour)/5 // first 30-minute bucket
	tatB240     = tatB30 + (tatDay-tatFourHour)/30
	tatBWeek    = tatB240 + (tatWeek-tatDay)/240
	// TurnaroundBuckets is the number of buckets (the last: a week or more).
	TurnaroundBuckets = tatBWeek + 1
)

// TurnaroundBucket is the bucket of a turnaround of minutes whole minutes
// (a negative one, a clock's fault, counts as 0). The store's migration
// 0055 computes the same buckets in SQL for the studies reported before it
// (TestTurnaroundBucketSQL).
func TurnaroundBucket(minutes int) int {
	m := max(minutes, 0)
	if m < tatHour {
		return m
	}
	if m < tatFourHour {
		return tatB5 + (m-tatHour)/5
	}
	if m < tatDay {
		return tatB30 + (m-tatFourHour)/30
	}
	if m < tatWeek {
		return tatB240 + (m-tatDay)/240
	}
	return tatBWeek
}

// BucketMax is the highest whole minute of bucket b (the last bucket:
// a week). A quantile in b is shown as BucketMax(b).
func BucketMax(b int) int {
	if b < tatB5 {
		return b
	}
	if b < tatB30 {
		return tatHour + (b-tatB5)*5 + 4
	}
	if b < tatB240 {
		return tatFourHour + (b-tatB30)*30 + 29
	}
	if b < tatBWeek {
		return tatDay + (b-tatB240)*240 + 239
	}
	return tatWeek
}

// Histogram counts turnarounds per bucket (index: TurnaroundBucket).
type Histogram []int

// Add adds h2's counts to h.
func (h *Histogram) Add(h2 Histogram) {
	if len(*h) < len(h2) {
		*h = append(*h, make(Histogram, len(h2)-len(*h))...)
	}
	for i, n := range h2 {
		(*h)[i] += n
	}
}

// At is the count of bucket b (0 outside the histogram).
func (h Histogram) At(b int) int {
	if b < 0 || b >= len(h) {
		return 0
	}
	return h[b]
}

// Count is the number of turnarounds counted.
func (h Histogram) Count() int {
	n := 0
	for _, c := range h {
		n += c
	}
	return n
}

// Quantile is the q-th percentile (0 < q ≤ 100) by nearest rank — the
// turnaround of rank ceil(q × n / 100), as reading.Percentile takes it
// from the sorted studies — read from the histogram as BucketMax of the
// bucket that holds that rank; ok is false for an empty histogram.
func (h Histogram) Quantile(q int) (int, bool) {
	n := h.Count()
	if n == 0 {
		return 0, false
	}
	rank := (q*n + 99) / 100
	seen := 0
	b := 0
	for b < len(h)-1 && seen+h[b] < rank {
		seen += h[b]
		b++
	}
	return BucketMax(b), true
}

// TurnaroundCounts is a center's histogram per kind over a period.
type TurnaroundCounts map[string]Histogram

// TurnaroundSums is what the board needs of the kept turnaround
// histograms (store.Store): per institution, the histograms of the
// reports signed (lab results resulted) in the months [from, to] (China
// time), each month whole.
type TurnaroundSums interface {
	TurnaroundSums(ctx context.Context, county string, from, to care.Date) (map[int64]TurnaroundCounts, error)
}

// TurnaroundIndicators are the turnaround indicators of a kind: its
// median and its 90th percentile.
func TurnaroundIndicators(kind string) (median, p90 string) {
	return "tat_" + kind + "_median", "tat_" + kind + "_p90"
}

// addTurnaround sets the turnaround indicators of every unit of the
// viewer's scope from the kept histograms of the period's months: each
// institution's histograms summed up the tree (as the critical values
// are), the county's own figure counting every center of the county once.
// A quantile is kept as Rate{minutes, reports} (Minutes: Of reads it).
// The histograms count whole months: a period in progress counts its
// month to date.
func (s *Service) addTurnaround(ctx context.Context, a care.Actor, sn *snapshot, t *org.Tree, rootID int64) error {
	if s.Turnaround == nil {
		return nil
	}
	sums, err := s.Turnaround.TurnaroundSums(ctx, a.CountyCode, sn.from, sn.to)
	if err != nil {
		return err
	}
	county := t.Get(rootID) != nil && t.Get(rootID).Kind == org.KindCounty
	hs := map[int64]TurnaroundCounts{}
	add := func(u int64, c TurnaroundCounts) {
		m := hs[u]
		if m == nil {
			m = TurnaroundCounts{}
			hs[u] = m
		}
		for k, h := range c {
			x := m[k]
			x.Add(h)
			m[k] = x
		}
	}
	insts := make([]int64, 0, len(sums))
	for inst := range sums {
		insts = append(insts, inst)
	}
	sort.Slice(insts, func(i, j int) bool { return insts[i] < insts[j] })
	for _, inst := range insts {
		if !t.IsWithin(inst, rootID) {
			continue
		}
		c := sums[inst]
		s.upTree(t, rootID, inst, func(u int64) { add(u, c) })
		if county && inst != rootID {
			add(rootID, c)
		}
	}
	for u, m := range hs {
		for _, k := range TurnaroundKinds {
			med, p90 := TurnaroundIndicators(k)
			h := m[k]
			if q, ok := h.Quantile(50); ok {
				sn.set(u, med, Rate{q, h.Count()})
			}
			if q, ok := h.Quantile(90); ok {
				sn.set(u, p90, Rate{q, h.Count()})
			}
		}
	}
	return nil
}

// set sets unit's figure of id (a figure that is not a sum: a quantile).
func (sn *snapshot) set(unit int64, id string, r Rate) {
	m := sn.values[unit]
	if m == nil {
		m = map[string]Rate{}
		sn.values[unit] = m
	}
	m[id] = r
}
