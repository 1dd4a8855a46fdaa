package kpi

import (
	"context"
	"math/rand/v2"
	"sort"
	"testing"
	"time"

	"countycare/care"
	"countycare/reading"
)

// TestTurnaroundBucket: the buckets' edges (1 minute below an hour, 5
// below four hours, 30 below a day, 240 below a week, one for a week and
// more), a negative turnaround counted as 0, and BucketMax the highest
// minute of each bucket: every minute lies in the bucket whose range holds
// it, and the buckets tile the minutes without a gap.
func TestTurnaroundBucket(t *testing.T) {
	for _, c := range []struct{ m, b int }{
		{-5, 0}, {0, 0}, {1, 1}, {59, 59}, {60, 60}, {64, 60}, {65, 61}, {239, 95}, {240, 96}, {269, 96}, {270, 97},
		{1439, 135}, {1440, 136}, {1679, 136}, {1680, 137}, {10079, 171}, {10080, 172}, {1 << 30, 172},
	} {
		if got := TurnaroundBucket(c.m); got != c.b {
			t.Errorf("TurnaroundBucket(%d) = %d, want %d", c.m, got, c.b)
		}
	}
	if TurnaroundBuckets != 173 {
		t.Errorf("TurnaroundBuckets = %d, want 173", TurnaroundBuckets)
	}
	for _, c := range []struct{ b, max int }{{0, 0}, {59, 59}, {60, 64}, {95, 239}, {96, 269}, {135, 1439}, {136, 1679}, {171, 10079}, {172, 10080}} {
		if got := BucketMax(c.b); got != c.max {
			t.Errorf("BucketMax(%d) = %d, want %d", c.b, got, c.max)
		}
	}
	prev := -1
	for m := 0; m <= tatWeek+10; m++ {
		b := TurnaroundBucket(m)
		if b != prev && b != prev+1 {
			t.Fatalf("minute %d: bucket %d after %d (a gap)", m, b, prev)
		}
		if b < tatBWeek && (m > BucketMax(b) || (b > 0 && m <= BucketMax(b-1))) {
			t.Fatalf("minute %d in bucket %d, whose range ends at %d", m, b, BucketMax(b))
		}
		prev = b
	}
}

// TestHistogramQuantile: the median and p90 read from a histogram are the
// nearest-rank percentiles of the studies themselves (reading.Percentile,
// the reading center's statistics page) to the bucket: BucketMax of the
// bucket that holds the exact value — bucket-exact, never below it. On
// random samples of every size from 1 to 300, spread over minutes to days.
func TestHistogramQuantile(t *testing.T) {
	if _, ok := Histogram(nil).Quantile(50); ok {
		t.Error("an empty histogram has a median")
	}
	rng := rand.New(rand.NewPCG(14, 5))
	for n := 1; n <= 300; n++ {
		xs := make([]float64, n)
		h := make(Histogram, TurnaroundBuckets)
		for i := range xs {
			m := rng.IntN(90)
			switch rng.IntN(4) {
			case 1:
				m = rng.IntN(600)
			case 2:
				m = rng.IntN(3 * tatDay)
			case 3:
				m = rng.IntN(2 * tatWeek)
			}
			xs[i] = float64(m)
			h[TurnaroundBucket(m)]++
		}
		sort.Float64s(xs)
		for _, q := range []int{50, 90} {
			exact := int(reading.Percentile(xs, float64(q)))
			got, ok := h.Quantile(q)
			if want := BucketMax(TurnaroundBucket(exact)); !ok || got != want {
				t.Fatalf("n=%d p%d: %d from the histogram, want %d (the exact value %d to its bucket)", n, q, got, want, exact)
			}
		}
	}
	// Exact below an hour: 1..9 minutes, median 5, p90 9.
	h := make(Histogram, TurnaroundBuckets)
	for m := 1; m <= 9; m++ {
		h[m]++
	}
	if med, _ := h.Quantile(50); med != 5 {
		t.Errorf("median of 1..9 minutes: %d", med)
	}
	if p90, _ := h.Quantile(90); p90 != 9 {
		t.Errorf("p90 of 1..9 minutes: %d", p90)
	}
	var sum Histogram
	sum.Add(h)
	sum.Add(Histogram{0, 3})
	if sum.Count() != 12 || sum.At(1) != 4 || sum.At(-1) != 0 || sum.At(TurnaroundBuckets) != 0 {
		t.Errorf("sum %v", sum)
	}
}

// TestOfMinutes: a duration is {minutes, reports}: no reports is no data
// (never 0 minutes), a negative count a data error, and the value is not a
// share (no 100 % bound).
func TestOfMinutes(t *testing.T) {
	in, _ := Lookup("tat_ecg_p90")
	for _, c := range []struct {
		r     Rate
		state State
		bp    int
	}{{Rate{0, 0}, NoData, 0}, {Rate{-1, 3}, DataError, 0}, {Rate{3, -1}, DataError, 0}, {Rate{12, 3}, OK, 1200}, {Rate{1679, 2}, OK, 167900}} {
		v := Of(in, c.r)
		if v.State != c.state || v.BP != c.bp || !v.Minutes || v.Money {
			t.Errorf("Of(%v) = %+v", c.r, v)
		}
	}
	// Lower is better: 16 minutes against 15 is amber (within 5), 21 red, 15 green.
	for m, want := range map[int]Light{15: LightGreen, 16: LightAmber, 20: LightAmber, 21: LightRed} {
		if got := Judge(in, Of(in, Rate{m, 10}), 1500, 500); got != want {
			t.Errorf("%d minutes against 15: %s, want %s", m, got, want)
		}
	}
}

type fakeTurnaround struct{ from, to *care.Date }

func (f fakeTurnaround) TurnaroundSums(ctx context.Context, county string, from, to care.Date) (map[int64]TurnaroundCounts, error) {
	*f.from, *f.to = from, to
	ecg := func(ms ...int) Histogram {
		h := make(Histogram, TurnaroundBuckets)
		for _, m := range ms {
			h[TurnaroundBucket(m)]++
		}
		return h
	}
	return map[int64]TurnaroundCounts{
		3: {TATECG: ecg(4, 6, 8, 10, 50)},                               // a township's reading room: median 8, p90 50
		7: {TATECG: ecg(5, 7, 9, 11, 13), TATImaging: ecg(40, 70, 130)}, // the county hospital's center
		5: {TATLab: ecg(30, 90)},                                        // a village's lab results
	}, nil
}

// TestBoardTurnaround: the turnaround quantiles of a unit come from the
// summed histograms of the institutions below it, never from a sum of
// their medians — the county's ECG median over both centers' ten reports
// is 8 minutes (4 5 6 7 8 | 9 10 11 13 50), its p90 13; the township of
// one center has that center's; a unit without reports has no data; the
// values are minutes with the reports behind them; the ECG p90 of 50
// minutes is red against the shipped 15; the store is asked for the
// period's months; a kept dashboard (computed before the turnaround was
// kept) gets them too.
func TestBoardTurnaround(t *testing.T) {
	now := time.Date(2026, 8, 15, 4, 0, 0, 0, time.UTC)
	s, _, _ := newTestService(&now)
	var from, to care.Date
	s.Turnaround = fakeTurnaround{&from, &to}
	ctx := context.Background()
	analyst := care.Actor{AccountID: 1, Role: care.RoleAnalyst, CountyCode: "411723"}
	p := Period{Kind: Quarter, Year: 2026, N: 2}
	for unit, want := range map[int64][6]Rate{
		0: {{8, 10}, {13, 10}, {74, 3}, {134, 3}, {30, 2}, {94, 2}}, // imaging: 70 is in the 5-minute bucket 70–74, 130 in 130–134; lab 90 in 90–94
		2: {{8, 10}, {13, 10}, {74, 3}, {134, 3}, {30, 2}, {94, 2}},
		3: {{8, 5}, {50, 5}, {}, {}, {30, 2}, {94, 2}},
		5: {{}, {}, {}, {}, {30, 2}, {94, 2}},
		4: {},
	} {
		b, err := s.Board(ctx, analyst, unit, p)
		if err != nil {
			t.Fatal(err)
		}
		var got [6]Rate
		for i, k := range TurnaroundKinds {
			med, p90 := TurnaroundIndicators(k)
			got[2*i], got[2*i+1] = rate(b, med), rate(b, p90)
		}
		if got != want {
			t.Errorf("unit %d: turnaround %v, want %v", unit, got, want)
		}
		for _, r := range b.Rows {
			if r.Indicator.InMinutes() && r.Indicator.Group != "reading" || r.Indicator.InMinutes() && r.Indicator.HigherIsBetter {
				t.Errorf("%+v", r.Indicator)
			}
			if r.Indicator.ID == "tat_ecg_p90" && unit == 3 && (r.Light != LightRed || r.TargetMinutes() != 15) {
				t.Errorf("township ECG p90 50 min: light %s target %d, want red against 15", r.Light, r.TargetMinutes())
			}
			if r.Indicator.InMinutes() && unit == 4 && r.Value.State != NoData {
				t.Errorf("a township without reports: %s %+v", r.Indicator.ID, r.Value)
			}
		}
	}
	if from != (care.Date{Year: 2026, Month: 4, Day: 1}) || to != (care.Date{Year: 2026, Month: 6, Day: 30}) {
		t.Errorf("the store was asked for %s – %s", from, to)
	}
	// A dashboard kept without the turnaround (as before migration 0055)
	// is served with it.
	s2, _, _ := newTestService(&now)
	s2.Turnaround = fakeTurnaround{&from, &to}
	s2.Kept = &memKept{rows: map[string]*Kept{"411723|" + p.String(): {Period: p.String(), From: p.From(), To: p.To(care.Today(now)), Values: map[int64]map[string]Rate{1: {"consult_sla": {1, 2}}}}}}
	kb, err := s2.Board(ctx, analyst, 0, p)
	if err != nil || rate(kb, "consult_sla") != (Rate{1, 2}) || rate(kb, "tat_ecg_median") != (Rate{8, 10}) {
		t.Errorf("from a kept dashboard: %v %v %v", rate(kb, "consult_sla"), rate(kb, "tat_ecg_median"), err)
	}
	// A township doctor: the township's figures only.
	td := care.Actor{AccountID: 2, Role: care.RoleTownshipDoctor, CountyCode: "411723", InstitutionID: 3}
	b, err := s.Board(ctx, td, 0, p)
	if err != nil || rate(b, "tat_ecg_median") != (Rate{8, 5}) {
		t.Errorf("township's own board: %v %v", rate(b, "tat_ecg_median"), err)
	}
}
