package demo

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"time"

	"countycare/care"
	"countycare/chronic"
	"countycare/org"
	"countycare/screening"
)

// ScreeningShare is the share of a campaign's target the demo screens (per
// cent): the articles' household screening reaches about 60 % of the
// residents aged 35 and over in a campaign.
const ScreeningShare = 60

// screening writes a year of household screening: every township one
// campaign over all its villages for hypertension and diabetes, begun six
// months ago and ending next month; share % of each village's target (aged
// ≥ 35, not registered for both) measured once, a raised pressure
// re-checked on other days (规范: 非同日 3 次), the spec's rules applied to
// each measurement (screening.ScreenHypertension, ScreenDiabetes); each
// suspected case routed to the township, most of those past their due date
// confirmed (and enrolled in the registry) or ruled out, some still
// pending — the overdue confirmations.
func (g *gen) screening(share int) error {
	if share <= 0 || len(g.people) == 0 {
		return nil
	}
	rng := rand.New(rand.NewPCG(g.cfg.Seed+53, 23))
	cfg, ccfg := screening.DefaultConfig(), chronic.DefaultConfig()
	insts := make([]org.Institution, len(g.insts))
	for i, in := range g.insts {
		insts[i] = *in
	}
	tree := org.NewTree(insts)
	start, end := g.today.AddDays(-180), g.today.AddDays(30)
	byTownship := map[int64][]int64{} // each village under the township center above it
	for _, v := range tree.OfKind(0, org.KindVillageClinic) {
		if tw := chronic.Responsible(tree, v.ID, chronic.Yellow); tw != v.ID {
			byTownship[tw] = append(byTownship[tw], v.ID)
		}
	}
	campaignOf := map[int64]*screening.Campaign{} // village → its township's campaign
	for _, in := range g.insts {
		vs := byTownship[in.ID]
		if len(vs) == 0 {
			continue
		}
		slices.Sort(vs)
		c := &screening.Campaign{ID: g.id("screening_campaign"), CountyCode: g.cfg.CountyCode, TownshipID: in.ID,
			Name: fmt.Sprintf("%d年两慢病入户筛查", start.Year), Diseases: []chronic.Disease{chronic.Hypertension, chronic.Diabetes}, Villages: vs,
			MinAge: cfg.MinAge, StartsOn: start, EndsOn: end, CreatedAt: g.notAfterNow(start.Time().Add(-72 * time.Hour))}
		if err := g.b.ScreeningCampaign(c); err != nil {
			return err
		}
		for _, v := range vs {
			campaignOf[v] = c
		}
	}
	born := care.DateOf(start.Time().AddDate(-cfg.MinAge, 0, 0))
	days := int(g.today.Time().Sub(start.Time()).Hours() / 24)
	for _, p := range g.people {
		c := campaignOf[p.village]
		if c == nil || p.birth.After(born) || len(g.enrolled[p.id]) >= 2 || rng.IntN(100) >= share {
			continue
		}
		// The resident's own pressure level and glucose, kept on re-checks.
		sbp, dbp := 104+rng.IntN(40), 64+rng.IntN(24)
		if rng.IntN(100) < 22 {
			sbp, dbp = 138+rng.IntN(40), 86+rng.IntN(20)
		}
		fasting := rng.IntN(100) < 60
		glucose, meal := 42+rng.IntN(22), 8+rng.IntN(6)
		if !fasting {
			glucose, meal = 55+rng.IntN(40), 1+rng.IntN(4)
		}
		if rng.IntN(100) < 7 {
			glucose += 25 + rng.IntN(40)
		}
		day := start.AddDays(rng.IntN(days + 1))
		var raisedDays int
		var suspected []chronic.Disease
		for visit := 0; visit < cfg.RaisedDays && !day.After(g.today); visit++ {
			m := &screening.Measurement{ID: g.id("screening_measurement"), CountyCode: c.CountyCode, CampaignID: c.ID, ResidentID: p.id,
				VillageID: p.village, Date: day, SBP1: sbp + rng.IntN(7) - 3, DBP1: dbp + rng.IntN(5) - 2, SBP2: sbp + rng.IntN(7) - 3, DBP2: dbp + rng.IntN(5) - 2,
				Results: map[chronic.Disease]screening.Result{}, CreatedAt: g.notAfterNow(day.Time().Add(time.Duration(2+rng.IntN(8)) * time.Hour))}
			if visit == 0 && c.Screens(chronic.Diabetes) && !slices.Contains(g.enrolled[p.id], chronic.Diabetes) {
				m.Glucose, m.MealHours = glucose, meal
				if screening.ScreenDiabetes(m, cfg) == screening.Suspected {
					suspected = append(suspected, chronic.Diabetes)
				}
				m.Results[chronic.Diabetes] = screening.ScreenDiabetes(m, cfg)
			}
			m.BPRaised = screening.BPRaised(m, cfg)
			if slices.Contains(g.enrolled[p.id], chronic.Hypertension) {
				m.Results[chronic.Hypertension] = screening.Registered
			} else {
				r := screening.ScreenHypertension(m, raisedDays, cfg)
				m.Results[chronic.Hypertension] = r
				if r == screening.Suspected {
					suspected = append(suspected, chronic.Hypertension)
				}
			}
			if m.BPRaised {
				raisedDays++
			}
			if err := g.b.ScreeningMeasurement(m); err != nil {
				return err
			}
			for _, d := range suspected {
				if err := g.screeningCase(rng, ccfg, cfg, c, p, d, m); err != nil {
					return err
				}
			}
			suspected = suspected[:0]
			if !m.BPRaised || rng.IntN(100) < 20 { // normal, or the re-check not kept
				break
			}
			day = day.AddDays(3 + rng.IntN(10))
		}
		g.res.Screened++
	}
	return nil
}

// screeningCase writes a suspected case found by m, closed by the township
// for most of those past their due date (confirmed ones enrolled in the
// registry) and pending for the others.
func (g *gen) screeningCase(rng *rand.Rand, ccfg chronic.Config, cfg screening.Config, c *screening.Campaign, p person, d chronic.Disease, m *screening.Measurement) error {
	sc := &screening.Case{ID: g.id("screening_case"), CountyCode: c.CountyCode, ResidentID: p.id, VillageID: p.village, TownshipID: c.TownshipID,
		Disease: d, Source: screening.SourceCampaign, CampaignID: c.ID, SuspectedOn: m.Date, DueOn: m.Date.AddDays(cfg.ConfirmDays[d]),
		Status: screening.CasePending, Version: 1, CreatedAt: m.CreatedAt}
	if d == chronic.Hypertension {
		s, b := m.MeanBP()
		sc.Rule, sc.Detail = screening.RuleHypertension, fmt.Sprintf("%d/%d mmHg", s, b)
	} else {
		sc.Rule, sc.Detail = screening.RuleDiabetes, fmt.Sprintf("%.1f mmol/L, %d h", float64(m.Glucose)/10, m.MealHours)
	}
	closed := m.Date.AddDays(3 + rng.IntN(20))
	if !closed.After(g.today) && rng.IntN(100) < 85 {
		sc.ClosedOn, sc.Version = closed, 2
		if rng.IntN(100) < 55 {
			r := &chronic.Registration{ID: g.id("chronic_reg"), County: c.CountyCode, ResidentID: p.id, Disease: d, Status: chronic.StatusActive,
				Source: chronic.SourceScreening, EnrolledOn: closed, ClinicID: p.village, Tier: ccfg.UnassessedTier, TierSince: closed, NextVisit: closed,
				Note: "筛查确诊", CreatedAt: g.at(closed, 18), Version: 1}
			if err := g.b.ChronicRegistration(r); err != nil {
				return err
			}
			sc.Status, sc.RegistrationID = screening.CaseConfirmed, r.ID
		} else {
			sc.Status, sc.Reason = screening.CaseRuledOut, []string{"复测血压正常", "OGTT 正常", "上级医院排除"}[rng.IntN(3)]
		}
	}
	g.res.SuspectedCases++
	return g.b.ScreeningCase(sc)
}
