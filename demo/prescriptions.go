package demo

import (
	"math/rand/v2"
	"time"

	"countycare/care"
	"countycare/healthedu"
	"countycare/rx"
)

// SeedPrescriptionReviews is the seeds' regional review volume: 498,600
// prescriptions a year in one county of about SeedPopulation (seed 001).
const SeedPrescriptionReviews = 498600

// ScaledPrescriptions scales the seeds' yearly review volume to n residents.
func ScaledPrescriptions(n int) int {
	return int(int64(SeedPrescriptionReviews) * int64(n) / SeedPopulation)
}

// prescriptions writes n reviewed prescriptions signed over the past year,
// each reviewed by the engine as it would have been: three in five at the
// patient's village clinic, the rest at the county hospital. Blocked drafts
// are not stored (the prescriber would have changed them); flagged ones
// older than a day were decided by a pharmacist (approved 85 %, returned
// 10 %, rejected 5 %) after 5–90 minutes, newer ones still wait; most
// reviewed ones were dispensed.
func (g *gen) prescriptions(n int) error {
	if n <= 0 || len(g.people) == 0 {
		return nil
	}
	eng, err := rx.NewEngine()
	if err != nil {
		return err
	}
	rng := rand.New(rand.NewPCG(g.cfg.Seed+17, 41))
	lib := healthedu.DefaultLibrary()
	buf := make([]rx.Finding, 0, 32)
	written := 0
	for batch := uint64(0); written < n && batch < uint64(n)/64+64; batch++ {
		drafts := rx.Synthetic(eng.KB, 256, 1+rng.IntN(4), g.cfg.Seed*1000+batch, g.today)
		for i := range drafts {
			if written == n {
				break
			}
			p := &drafts[i]
			who := g.people[rng.IntN(len(g.people))]
			if who.birth.AgeOn(g.today) < 18 {
				continue
			}
			signed := g.now.Add(-time.Duration(rng.Int64N(int64(365 * 24 * time.Hour))))
			day := care.Today(signed)
			inst := who.village
			p.InstitutionLevel = "village"
			if rng.IntN(5) >= 3 && g.hosp != nil {
				inst, p.InstitutionLevel = g.hosp.ID, "county"
			}
			p.Issued = day
			p.Patient.AgeMonths = ageMonthsOn(who.birth, day)
			buf = eng.Review(p, day, buf[:0])
			outcome := rx.Outcome(buf)
			if outcome == rx.Block {
				continue
			}
			sg := &rx.Signed{ID: g.id("prescriptions"), CountyCode: g.cfg.CountyCode, ResidentID: who.id, InstitutionID: inst,
				Prescription: *p, Findings: append([]rx.Finding(nil), buf...), Outcome: outcome, Status: rx.StatusPassed, Classes: eng.KB.Classify(p), SignedAt: signed, Version: 1,
				Education: lib.Advise(p.AllDiagnoses())} // the double prescription (双处方)
			if outcome == rx.Warn {
				sg.Status = rx.StatusPending
				if g.now.Sub(signed) > 24*time.Hour {
					sg.ReviewedAt = signed.Add(time.Duration(5+rng.IntN(86)) * time.Minute)
					switch x := rng.IntN(100); {
					case x < 85:
						sg.Status = rx.StatusApproved
					case x < 95:
						sg.Status, sg.ReviewReason = rx.StatusReturned, "请调整用药后重新签署"
					default:
						sg.Status, sg.ReviewReason = rx.StatusRejected, "联合用药风险大于获益"
					}
					sg.Version = 2
				}
			}
			if sg.Status.Reviewed() && g.now.Sub(signed) > 24*time.Hour && rng.IntN(10) < 9 {
				sg.DispensedAt = signed.Add(time.Duration(10+rng.IntN(240)) * time.Minute)
				sg.Status = rx.StatusDispensed
				sg.Version++
			}
			if err := g.b.Prescription(sg); err != nil {
				return err
			}
			written++
		}
	}
	g.res.Prescriptions = written
	return nil
}

func ageMonthsOn(birth, day care.Date) int {
	m := (day.Year-birth.Year)*12 + int(day.Month) - int(birth.Month)
	if day.Day < birth.Day {
		m--
	}
	return max(m, 0)
}
