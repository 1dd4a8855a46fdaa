package childhealth

import (
	"math"
	"testing"

	"countycare/care"
)

func date(s string) care.Date {
	d, err := care.ParseDate(s)
	if err != nil {
		panic(err)
	}
	return d
}

// TestZAgainstWHOTables checks the LMS z-scores against values printed in
// the WHO Child Growth Standards' simplified z-score tables (rounded to
// 0.1 kg or cm, hence the tolerance): e.g. weight-for-age boys at 12
// months −2 SD 7.7 kg, median 9.6, +2 SD 12.0; height-for-age boys at 60
// months −2 SD 100.7 cm, median 110.0, +2 SD 119.2.
func TestZAgainstWHOTables(t *testing.T) {
	for _, c := range []struct {
		ind  Indicator
		sex  Sex
		x, y float64
		want float64
	}{
		{WeightForAge, Boy, 365, 7.7, -2},
		{WeightForAge, Boy, 365, 9.6, 0},
		{WeightForAge, Boy, 365, 12.0, 2},
		{WeightForAge, Boy, 365, 13.3, 3},
		{WeightForAge, Girl, 0, 3.2, 0},
		{WeightForAge, Girl, 0, 2.4, -2},
		{WeightForAge, Girl, 0, 4.2, 2},
		{HeightForAge, Boy, 1826, 110.0, 0},
		{HeightForAge, Boy, 1826, 100.7, -2},
		{HeightForAge, Boy, 1826, 119.2, 2},
		{HeightForAge, Girl, 730, 86.4, 0},
	} {
		z, ok := Z(c.ind, c.sex, c.x, c.y)
		if !ok || math.Abs(z-c.want) > 0.08 {
			t.Errorf("Z(%s, %d, %v, %v) = %.3f, %v; want %v", c.ind, c.sex, c.x, c.y, z, ok, c.want)
		}
	}
	if _, ok := Z(WeightForLen, Boy, 111, 10); ok {
		t.Error("weight-for-length at 111 cm: want outside the table")
	}
}

// TestRestrictedZ: beyond +3 SD the WHO's weight indicators count in
// units of the 2–3 SD interval (WHO 2006, "Computation of centiles and
// z-scores"), so the value at SD3 + (SD3 − SD2) scores exactly 4.
func TestRestrictedZ(t *testing.T) {
	p, _ := params(WeightForAge, Boy, 365)
	sd2, sd3 := p.valueAt(2), p.valueAt(3)
	if z := ZScoreLMS(p.l, p.m, p.s, sd3+(sd3-sd2), true); math.Abs(z-4) > 1e-9 {
		t.Errorf("restricted z = %v, want 4", z)
	}
	sd2n, sd3n := p.valueAt(-2), p.valueAt(-3)
	if z := ZScoreLMS(p.l, p.m, p.s, sd3n-(sd2n-sd3n), true); math.Abs(z+4) > 1e-9 {
		t.Errorf("restricted z = %v, want −4", z)
	}
}

// TestClassify cites the cut-offs: < −2 moderate, < −3 severe; WHZ > 2
// overweight, > 3 obesity.
func TestClassify(t *testing.T) {
	f := func(v float64) *float64 { return &v }
	got := Classify(Scores{WAZ: f(-2.5), HAZ: f(-3.2), WHZ: f(2.4)})
	want := []Finding{Underweight, StuntingSevere, Overweight}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("got %v, want %v", got, want)
		}
	}
	if got := Classify(Scores{WAZ: f(-1.9), WHZ: f(-3.1)}); len(got) != 1 || got[0] != WastingSevere {
		t.Errorf("got %v, want [wasting_severe]", got)
	}
	if got := Classify(Scores{WHZ: f(3.5)}); len(got) != 1 || got[0] != Obesity {
		t.Errorf("got %v, want [obesity]", got)
	}
}

// TestPlausible: a 12-month-old boy of 30 kg (WAZ far past +5) is a
// typing error (WHO Anthro flags).
func TestPlausible(t *testing.T) {
	if fs := Plausible(Score(Boy, 365, 30000, 750)); len(fs) == 0 {
		t.Error("30 kg at 12 months: want implausible")
	}
	if fs := Plausible(Score(Boy, 365, 9600, 757)); len(fs) != 0 {
		t.Errorf("median boy: got %v", fs)
	}
}

// TestSchedule cites 规范 §3: newborn visit within 7 days of discharge,
// the first-month check at 28–30 days, later checks at their ages.
func TestSchedule(t *testing.T) {
	c := DefaultConfig()
	birth := date("2026-01-10")
	if w := c.Schedule(KindNewborn, birth, date("2026-01-13")); w.From != date("2026-01-13") || w.To != date("2026-01-20") {
		t.Errorf("newborn window %v–%v", w.From, w.To)
	}
	if w := c.Schedule(KindM1, birth, care.Date{}); w.From != date("2026-02-07") || w.To != date("2026-02-09") {
		t.Errorf("first-month window %v–%v", w.From, w.To)
	}
	if w := c.Schedule(KindM8, birth, care.Date{}); w.From != date("2026-09-10") || w.To != date("2026-10-09") {
		t.Errorf("8-month window %v–%v", w.From, w.To)
	}
	if w := c.Schedule(KindY6, birth, care.Date{}); w.From != date("2032-01-10") {
		t.Errorf("6-year window from %v", w.From)
	}
	ch := &Child{BirthDate: birth}
	// After the 3-month check, at 5 months the 6-month check is next; a
	// missed 6-month check is the next one until the 8-month window opens.
	if w, _ := c.Next(ch, KindM3, date("2026-06-10")); w.Kind != KindM6 {
		t.Errorf("next = %s, want m6", w.Kind)
	}
	if w, _ := c.Next(ch, KindM3, date("2026-09-12")); w.Kind != KindM8 {
		t.Errorf("next = %s, want m8", w.Kind)
	}
	if _, ok := c.Next(ch, KindY6, date("2032-02-01")); ok {
		t.Error("after the 6-year check: want nothing due")
	}
}
