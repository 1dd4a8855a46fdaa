package rx

import (
	"math"
	"math/rand/v2"

	"countycare/care"
)

// Synthetic returns n well-formed prescriptions of lines drugs each, drawn
// deterministically (per seed) from the formulary, for benchmarks and demo
// data: adults of 18–90, some with allergies, reduced eGFR or pregnancy,
// usual doses at the drug's most frequent schedule, 7 days' supply, each
// drug's first indication as the diagnosis. About one in ten repeats a
// drug class, so duplicate-therapy and interaction findings occur.
func Synthetic(kb *KB, n, lines int, seed uint64, issued care.Date) []Prescription {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	freq := map[int]string{1: "qd", 2: "bid", 3: "tid", 4: "qid", 5: "q4h", 6: "q4h"}
	allergies := [][]string{nil, nil, nil, nil, {"penicillin"}, {"sulfonamide"}, {"aspirin"}, {"C09AA"}}
	out := make([]Prescription, n)
	for i := range out {
		p := &out[i]
		p.Issued, p.Kind, p.InstitutionLevel = issued, KindNormal, "county"
		p.Patient = Patient{AgeMonths: (18 + r.IntN(72)) * 12, WeightKg: float64(45 + r.IntN(40)), Allergies: allergies[r.IntN(len(allergies))]}
		if r.IntN(8) == 0 {
			p.Patient.EGFR = 20 + r.IntN(70)
		}
		p.Lines = make([]Line, lines)
		for j := range p.Lines {
			d := &kb.Drugs[r.IntN(len(kb.Drugs))]
			times := d.Dose.MaxPerDay
			if times > 4 {
				times = 4
			}
			dose := d.Dose.MinSingle
			if dose*float64(times) > d.Dose.MaxDaily {
				times = 1
			}
			days := 7
			if d.Flags&Narcotic != 0 {
				days = 3
			}
			dx := d.Indications[0]
			if dx == "*" {
				dx = "R52"
			}
			if len(dx) == 1 {
				dx += "80"
			}
			if len(dx) == 2 {
				dx += "0"
			}
			p.Lines[j] = Line{DrugCode: d.Code, Dose: dose, DoseUnit: d.Unit, Frequency: freq[times], Route: d.Route, Days: days,
				Quantity: math.Ceil(dose * float64(times) * float64(days) / d.Strength), Diagnosis: dx}
		}
	}
	return out
}
