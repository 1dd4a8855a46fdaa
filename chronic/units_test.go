package chronic

import (
	"math/rand"
	"testing"

	"countycare/care"
)

// TestUnitYearMatchesTally: for random patients, counting them into per-unit
// counters (UnitYear.Count, with removals and re-additions as a follow-up
// moves a patient) and summing the counters (Tally.AddUnitYear) gives the
// indicators Tally.Add gives patient by patient, for the calendar year and
// for years to date of every length.
func TestUnitYearMatchesTally(t *testing.T) {
	rng := rand.New(rand.NewSource(7))
	units := func(c int64) []int64 { return []int64{c, 1} }
	var ps []PatientPeriod
	for i := 0; i < 500; i++ {
		p := PatientPeriod{RegistrationID: int64(i), Disease: Diseases[rng.Intn(len(Diseases))], ClinicID: int64(10 + rng.Intn(4)), FaceToFace: rng.Intn(11)}
		if rng.Intn(4) > 0 {
			p.LastSBP, p.LastDBP, p.LastFPG = 110+rng.Intn(60), 60+rng.Intn(40), 50+rng.Intn(50)
		}
		if p.Disease == Tuberculosis && rng.Intn(2) == 0 {
			p.Ended, p.DosesDue = true, 100
			p.DosesMissed = rng.Intn(20)
		}
		ps = append(ps, p)
	}
	counters := map[[2]any]*UnitYear{}
	for i := range ps {
		p := &ps[i]
		k := [2]any{p.ClinicID, p.Disease}
		if counters[k] == nil {
			counters[k] = &UnitYear{ClinicID: p.ClinicID, Disease: p.Disease, Year: 2026}
		}
		// Count a stale version first, then move the patient to the real one.
		stale := *p
		stale.FaceToFace, stale.LastSBP = max(p.FaceToFace-1, 0), 200
		counters[k].Count(&stale, cfg, 1)
		before := *counters[k]
		counters[k].Count(&stale, cfg, -1)
		counters[k].Count(p, cfg, 1)
		if d := counters[k].Sub(before); d.Managed != 0 {
			t.Fatalf("moving a patient changed the managed count by %d", d.Managed)
		}
	}
	from := care.Date{Year: 2026, Month: 1, Day: 1}
	for _, to := range []care.Date{{Year: 2026, Month: 12, Day: 31}, {Year: 2026, Month: 3, Day: 30}, {Year: 2026, Month: 3, Day: 31}, {Year: 2026, Month: 7, Day: 1}, {Year: 2026, Month: 1, Day: 1}} {
		byPatient := Tally{From: from, To: to, Config: cfg, UnitsOf: units}
		byUnit := Tally{From: from, To: to, Config: cfg, UnitsOf: units}
		for i := range ps {
			byPatient.Add(&ps[i])
		}
		for _, u := range counters {
			byUnit.AddUnitYear(u)
		}
		want, got := byPatient.Result(), byUnit.Result()
		if len(want) != len(got) {
			t.Fatalf("to %s: %d cells, want %d", to, len(got), len(want))
		}
		for k, w := range want {
			if got[k] != w {
				t.Errorf("to %s unit %d %s: counters %+v, patients %+v", to, k.Unit, k.Disease, got[k], w)
			}
		}
	}
	if !IsYearPeriod(from, care.Date{Year: 2026, Month: 12, Day: 31}, care.Date{Year: 2027, Month: 2, Day: 1}) ||
		IsYearPeriod(from, care.Date{Year: 2026, Month: 6, Day: 30}, care.Date{Year: 2026, Month: 7, Day: 1}) ||
		!IsYearPeriod(from, care.Date{Year: 2026, Month: 6, Day: 30}, care.Date{Year: 2026, Month: 6, Day: 30}) {
		t.Error("IsYearPeriod")
	}
}
