package demo

import (
	"fmt"
	"math/rand/v2"
	"time"

	"countycare/access"
	"countycare/care"
	"countycare/chronic"
	"countycare/elderly"
	"countycare/org"
)

// SeedFollowUps is the seeds' yearly count of chronic follow-ups in a
// county of SeedPopulation people (seed 004); the demo scales it to its size.
const (
	SeedFollowUps  = 48963
	SeedPopulation = 1020000
)

// ScaledFollowUps is the seeds' follow-up volume for a county of n residents.
func ScaledFollowUps(n int) int { return int(int64(SeedFollowUps) * int64(n) / SeedPopulation) }

// Prevalences of the demo registries (per 10,000): hypertension and
// diabetes among residents aged 35+, the others among adults. About a
// quarter of a rural county's residents end up registered.
var demoPrevalence = []struct {
	d      chronic.Disease
	minAge int
	per10k int
}{
	{chronic.Hypertension, 35, 3000},
	{chronic.Diabetes, 35, 1200},
	{chronic.Mental, 18, 60},
	{chronic.Hepatitis, 18, 150},
	{chronic.Tuberculosis, 18, 8},
}

type demoReg struct {
	r    chronic.Registration
	p    person
	good int // percent of visits at target
}

// chronicCare enrols residents in the registries and records n follow-up
// visits over the past year, each classified by the spec's rules
// (chronic.Assess) in date order, with the tiers, hand-offs and red-tier
// care links they imply — the same outcome RecordVisit would give.
func (g *gen) chronicCare(n int) error {
	if n <= 0 || len(g.people) == 0 {
		return nil
	}
	rng := rand.New(rand.NewPCG(g.cfg.Seed+13, 31))
	cfg := chronic.DefaultConfig()
	insts := make([]org.Institution, len(g.insts))
	for i, in := range g.insts {
		insts[i] = *in
	}
	tree := org.NewTree(insts)
	var regs []*demoReg
	for _, p := range g.people {
		age := p.birth.AgeOn(g.today)
		for _, x := range demoPrevalence {
			if age < x.minAge || rng.IntN(10000) >= x.per10k {
				continue
			}
			on := g.today.AddDays(-30 - rng.IntN(3000))
			if adult := care.DateOf(p.birth.Time().AddDate(x.minAge, 0, 0)); on.Before(adult) {
				on = adult
			}
			dr := &demoReg{p: p, good: []int{90, 90, 90, 60, 30}[rng.IntN(5)]}
			dr.r = chronic.Registration{ID: g.id("chronic_reg"), County: g.cfg.CountyCode, ResidentID: p.id, Disease: x.d, Status: chronic.StatusActive,
				Source: chronic.SourceDiagnosis, EnrolledOn: on, ClinicID: p.village, Tier: cfg.UnassessedTier, TierSince: on, NextVisit: on.AddDays(cfg.RoutineDays),
				CreatedAt: g.at(on, 9), Version: 1}
			if x.d == chronic.Tuberculosis {
				dr.r.TBPhase, dr.r.TBSupervisor = chronic.TBIntensive, chronic.SupervisorStaff
				if g.today.Time().Sub(on.Time()) > 200*24*time.Hour {
					dr.r.Status, dr.r.ClosedOn = chronic.StatusClosed, on.AddDays(180) // treatment completed
				}
			}
			if rng.IntN(100) < 8 {
				dr.r.Source = chronic.SourceScreening
			}
			regs = append(regs, dr)
			if dr.r.Status == chronic.StatusActive {
				if g.enrolled == nil {
					g.enrolled = map[int64][]chronic.Disease{}
				}
				g.enrolled[p.id] = append(g.enrolled[p.id], x.d)
			}
		}
	}
	// The elderly check-ups' suspected cases skip the registered.
	if g.registered == nil {
		g.registered = map[int64]elderly.Registered{}
	}
	for _, dr := range regs {
		if dr.r.Status == chronic.StatusActive {
			if g.registered[dr.p.id] == nil {
				g.registered[dr.p.id] = elderly.Registered{}
			}
			g.registered[dr.p.id][string(dr.r.Disease)] = true
		}
	}
	// Spread the visits: most patients are followed about every three months,
	// some are not seen at all; the total is exactly n.
	per := make([]int, len(regs))
	left := n
	for left > 0 {
		i := rng.IntN(len(regs))
		k := min(left, 1+rng.IntN(4))
		per[i] += k
		left -= k
	}
	year := g.today.AddDays(-364)
	carry, written := 0, 0
	for i, dr := range regs {
		// A late enrolment without room for its share passes the rest on.
		k, err := g.followUps(rng, tree, cfg, dr, per[i]+carry, year)
		if err != nil {
			return err
		}
		carry, written = per[i]+carry-k, written+k
	}
	g.res.ChronicPatients, g.res.FollowUps = len(regs), written
	return nil
}

// followUps writes up to k visits of one registration between from and
// today (fewer when it was enrolled too recently) and returns how many.
func (g *gen) followUps(rng *rand.Rand, tree *org.Tree, cfg chronic.Config, dr *demoReg, k int, from care.Date) (int, error) {
	r := &dr.r
	start := from
	if r.EnrolledOn.After(start) {
		start = r.EnrolledOn
	}
	end := g.today
	if !r.ClosedOn.IsZero() && r.ClosedOn.Before(end) {
		end = r.ClosedOn
	}
	span := int(end.Time().Sub(start.Time()).Hours() / 24)
	if span < 0 {
		span = 0
	}
	var outcomes []chronic.Outcome
	var visits []*chronic.StoredVisit
	var changes []*chronic.TierChange
	var links []*access.CareLink
	lastDay := -1
	for i := 0; i < k; i++ {
		d := span * (2*i + 1) / (2 * k)
		d += rng.IntN(15) - 7
		d = max(d, lastDay+1)
		if d > span {
			break // no room for more visits (a late enrolment)
		}
		lastDay = d
		v := chronic.Visit{Disease: r.Disease, Date: start.AddDays(d), FaceToFace: rng.IntN(10) != 0}
		good := rng.IntN(100) < dr.good
		if v.FaceToFace {
			switch r.Disease {
			case chronic.Hypertension, chronic.Diabetes:
				v.SBP, v.DBP, v.HeartRate = 112+rng.IntN(27), 66+rng.IntN(22), 62+rng.IntN(30)
				if !good && (r.Disease == chronic.Hypertension || rng.IntN(3) == 0) {
					v.SBP, v.DBP = 142+rng.IntN(34), 84+rng.IntN(20)
					if rng.IntN(60) == 0 {
						v.SBP, v.DBP = 182+rng.IntN(20), 100+rng.IntN(15) // an urgent reading
					}
				}
				if r.Disease == chronic.Diabetes {
					v.FPG = 52 + rng.IntN(17)
					if !good {
						v.FPG = 72 + rng.IntN(70)
					}
				}
				v.Adherence = chronic.AdherenceRegular
				if !good && rng.IntN(2) == 0 {
					v.Adherence = chronic.AdherenceIntermittent
				}
			case chronic.Mental:
				v.Insight = good
				if !good {
					v.RiskLevel = 1 + rng.IntN(2)
					if rng.IntN(8) == 0 {
						v.RiskLevel = 3
					}
				}
			case chronic.Tuberculosis:
				v.DosesDue = 30
				if !good {
					v.DosesMissed = 1 + rng.IntN(8)
				}
			}
		}
		o := chronic.Assess(&v, r, dr.p.birth.AgeOn(v.Date), cfg)
		outcomes = append(outcomes, o)
		if len(outcomes) > 6 {
			outcomes = outcomes[1:]
		}
		sv := &chronic.StoredVisit{Visit: v, ID: g.id("chronic_visit"), County: r.County, RegistrationID: r.ID, ResidentID: r.ResidentID, Outcome: o,
			InstitutionID: r.ClinicID, CreatedAt: g.at(v.Date, 10)}
		visits = append(visits, sv)
		r.LastClass, r.LastVisit, r.NextVisit, r.Risk = o.Class, v.Date, o.NextVisit, chronic.OverdueRisk(&v, o.Class, cfg)
		r.Version++
		tier, reason := chronic.TierFor(outcomes, cfg)
		if tier == r.Tier {
			continue
		}
		to := chronic.Responsible(tree, r.ClinicID, tier)
		c := &chronic.TierChange{ID: g.id("tier_change"), County: r.County, RegistrationID: r.ID, ResidentID: r.ResidentID, From: r.Tier, To: tier,
			Reason: reason, ToInstitution: to, CreatedAt: sv.CreatedAt}
		if g.today.Time().Sub(v.Date.Time()) > 14*24*time.Hour {
			c.AcknowledgedAt = sv.CreatedAt.Add(26 * time.Hour) // handled; recent hand-offs stay open
		}
		changes = append(changes, c)
		if tier == chronic.Red {
			links = append(links, &access.CareLink{ID: g.id("link"), CountyCode: r.County, ResidentID: r.ResidentID, InstitutionID: to,
				Kind: chronic.LinkKindChronic, Reason: string(r.Disease) + " red tier", CreatedAt: sv.CreatedAt})
		}
		r.Tier, r.TierSince = tier, v.Date
	}
	// The registration first: its visits and hand-offs refer to it, and a
	// bulk flush may fall between them.
	if err := g.b.ChronicRegistration(r); err != nil {
		return 0, fmt.Errorf("demo: registration %d: %w", r.ID, err)
	}
	for _, v := range visits {
		if err := g.b.ChronicVisit(v); err != nil {
			return 0, err
		}
	}
	for _, c := range changes {
		if err := g.b.ChronicTierChange(c); err != nil {
			return 0, err
		}
	}
	for _, l := range links {
		if err := g.b.CareLink(l); err != nil {
			return 0, err
		}
	}
	return len(visits), nil
}
