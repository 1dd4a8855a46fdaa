package maternal

import (
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

// TestEDDNaegele: LMP + 1 year − 3 months + 7 days (规范: 推算预产期).
func TestEDDNaegele(t *testing.T) {
	for lmp, want := range map[string]string{
		"2026-01-01": "2026-10-08",
		"2026-05-25": "2027-03-04", // 2027-02-25 + 7: February is short
		"2025-12-28": "2026-10-05",
	} {
		if got := EDD(date(lmp)); got != date(want) {
			t.Errorf("EDD(%s) = %s, want %s", lmp, got, want)
		}
	}
}

// TestGradeHighestWins: the 2017 规范 grades by the highest colour found;
// purple (infectious) is kept beside it.
func TestGradeHighestWins(t *testing.T) {
	c := DefaultConfig()
	for _, tc := range []struct {
		factors []string
		want    Colour
		purple  bool
	}{
		{nil, Green, false},
		{[]string{"twins"}, Yellow, false},
		{[]string{"twins", FactorAgeVeryOld}, Orange, false},
		{[]string{"twins", "placental_abruption", FactorAgeVeryOld}, Red, false},
		{[]string{"syphilis"}, Green, true},
		{[]string{"hiv", "triplets"}, Orange, true},
	} {
		got, purple := Grade(tc.factors, c.Factors)
		if got != tc.want || purple != tc.purple {
			t.Errorf("Grade(%v) = %s %v, want %s %v", tc.factors, got, purple, tc.want, tc.purple)
		}
	}
	if !NeedsReferral(Orange) || !NeedsReferral(Red) || NeedsReferral(Yellow) {
		t.Error("NeedsReferral: orange and red go to the county (2017 规范 第十三条)")
	}
}

// TestDerive cites the table's lines: age ≥ 35 yellow, ≥ 40 orange; BMI
// > 25 yellow, ≥ 28 orange; Hb 60–110 yellow, 40–60 orange, ≤ 40 red;
// pressure ≥ 140/90.
func TestDerive(t *testing.T) {
	c := DefaultConfig()
	for _, tc := range []struct {
		m    Measures
		want []string
	}{
		{Measures{Age: 36}, []string{FactorAgeOld}},
		{Measures{Age: 41}, []string{FactorAgeVeryOld}},
		{Measures{Age: 18}, []string{FactorAgeYoung}},
		{Measures{Age: 28, HeightMM: 1600, WeightG: 66000}, []string{FactorBMIHigh}},     // 25.8
		{Measures{Age: 28, HeightMM: 1600, WeightG: 72000}, []string{FactorBMIVeryHigh}}, // 28.1
		{Measures{HbGL: 105}, []string{FactorAnaemia}},
		{Measures{HbGL: 55}, []string{FactorAnaemiaMod}},
		{Measures{HbGL: 40}, []string{FactorAnaemiaSev}},
		{Measures{SBP: 142, DBP: 85}, []string{FactorHypertension}},
		{Measures{SBP: 150, DBP: 112}, []string{FactorHTNSevere}},
		{Measures{Age: 28, HeightMM: 1600, WeightG: 55000, SBP: 118, DBP: 76, HbGL: 125}, nil},
	} {
		got := c.Derive(tc.m)
		if len(got) != len(tc.want) || len(got) > 0 && got[0] != tc.want[0] {
			t.Errorf("Derive(%+v) = %v, want %v", tc.m, got, tc.want)
		}
	}
}

// TestSchedule cites the spec's antenatal windows (孕13周前, 16–20, 21–24,
// 28–36, 37–41 weeks) and the postpartum visit 3–7 days after discharge
// and the 42-day check.
func TestSchedule(t *testing.T) {
	c := DefaultConfig()
	p := &Pregnancy{LMP: date("2026-01-01")}
	w, _ := c.Schedule(p, Antenatal1)
	if w.From != date("2026-01-01") || w.To != date("2026-04-01") { // day 90: 12 weeks 6 days
		t.Errorf("first visit %s–%s", w.From, w.To)
	}
	if w, _ := c.Schedule(p, Antenatal2); w.From != date("2026-04-23") || w.To != date("2026-05-27") {
		t.Errorf("second visit %s–%s", w.From, w.To)
	}
	if _, ok := c.Schedule(p, Postpartum); ok {
		t.Error("postpartum visit before delivery: want not due")
	}
	// At 22 weeks with only the first visit done, the second is missed and
	// the third is due.
	if w, _ := c.Next(p, Antenatal1, date("2026-06-04")); w.Kind != Antenatal3 {
		t.Errorf("next = %s, want antenatal3", w.Kind)
	}
	// After the fifth visit nothing is due until the delivery.
	if _, ok := c.Next(p, Antenatal5, date("2026-09-25")); ok {
		t.Error("after the fifth visit: want nothing due")
	}
	p.DeliveredOn, p.DischargedOn = date("2026-10-06"), date("2026-10-09")
	if w, _ := c.Next(p, Antenatal4, date("2026-10-10")); w.Kind != Postpartum || w.From != date("2026-10-12") || w.To != date("2026-10-16") {
		t.Errorf("after delivery: next %s %s–%s", w.Kind, w.From, w.To)
	}
	if w, _ := c.Next(p, Postpartum, date("2026-10-20")); w.Kind != Postpartum6 || w.From != date("2026-11-17") {
		t.Errorf("after the home visit: next %s from %s", w.Kind, w.From)
	}
}

func TestDefaultConfigChecks(t *testing.T) {
	if err := DefaultConfig().Check(); err != nil {
		t.Fatal(err)
	}
}

// TestLateRegistration: registration is due before 13 weeks (规范: 孕13周前
// 建册); at 13 weeks + 0 days it is late.
func TestLateRegistration(t *testing.T) {
	s := &Service{Config: DefaultConfig()}
	lmp := date("2026-01-01")
	if s.LateRegistration(&Pregnancy{LMP: lmp, RegisteredOn: lmp.AddDays(13*7 - 1)}) {
		t.Error("12 weeks 6 days: want on time")
	}
	if !s.LateRegistration(&Pregnancy{LMP: lmp, RegisteredOn: lmp.AddDays(13 * 7)}) {
		t.Error("13 weeks: want late")
	}
}
