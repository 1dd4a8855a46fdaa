package demo

import (
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
	"time"

	"countycare/care"
	"countycare/org"
	"countycare/settle"
)

// person is what visit generation needs of a generated resident.
type person struct {
	id      int64
	poverty string
	birth   care.Date
	village int64
}

// policy files the "985" example policy for the demo county for last year
// and the current year, and the current year's policy is returned.
func (g *gen) policy() (*settle.StoredPolicy, error) {
	var sp *settle.StoredPolicy
	for _, year := range []int{g.today.Year - 1, g.today.Year} {
		p, err := g.policyOf(year)
		if err != nil {
			return nil, err
		}
		sp = p
	}
	return sp, nil
}

// policyOf writes the county's insurance policy of one year, from the
// same configuration (the embedded example's money parameters) with the
// year replaced, and funds the communities' budgets of that year. A real
// county has a policy per year: the demo carries last year's too, so a
// settlement dated in the past twelve months (a replayed county-year,
// issue 15 §3) finds the policy of its date.
func (g *gen) policyOf(year int) (*settle.StoredPolicy, error) {
	body, err := settle.ExampleFile("985-2026.json")
	if err != nil {
		return nil, err
	}
	text := strings.ReplaceAll(string(body), "2026", fmt.Sprint(year))
	text = strings.ReplaceAll(text, `"county": "411723"`, `"county": "`+g.cfg.CountyCode+`"`)
	p, err := settle.ParsePolicy([]byte(text))
	if err != nil {
		return nil, err
	}
	from, _ := care.MakeDate(year, 1, 1)
	to, _ := care.MakeDate(year, 12, 31)
	sp := &settle.StoredPolicy{ID: g.id("settle_policies"), County: g.cfg.CountyCode, Year: year, Version: 1, Name: p.Name, From: from, To: to, Body: []byte(text), Policy: p, CreatedAt: g.now}
	if err := g.b.SettlePolicy(sp); err != nil {
		return nil, err
	}
	for _, in := range g.insts {
		if in.Kind == org.KindCommunity {
			// About 400 yuan per resident a year, split between the two communities.
			if err := g.b.FundBudget(g.cfg.CountyCode, in.ID, year, settle.Fen(max(g.cfg.Residents, 1000))*400*settle.Yuan/2, g.now); err != nil {
				return nil, err
			}
		}
	}
	return sp, nil
}

// visitMix is the share of visit types in a county year (illustrative:
// most visits are outpatient; chronic special outpatient and admissions follow).
var visitMix = []struct {
	t string
	w int
}{{settle.Outpatient, 60}, {settle.Chronic, 25}, {settle.Inpatient, 15}}

// visits settles n generated visits of the current year with the engine,
// resident by resident in date order so each resident's accumulators are
// exact, and writes settlements and accumulators in bulk.
func (g *gen) visits(sp *settle.StoredPolicy, n int) error {
	if n <= 0 || len(g.people) == 0 {
		return nil
	}
	rng := rand.New(rand.NewPCG(g.cfg.Seed+7, 99))
	day0 := time.Date(sp.Year, 1, 1, 0, 0, 0, 0, time.UTC)
	days := int(g.today.Time().Sub(day0).Hours()/24) + 1
	if days < 1 {
		days = 1
	}
	byKind := func(k org.Kind) []*org.Institution {
		var out []*org.Institution
		for _, in := range g.insts {
			if in.Kind == k {
				out = append(out, in)
			}
		}
		return out
	}
	hosps, towns, partners := byKind(org.KindCountyHospital), append(byKind(org.KindTownshipHC), byKind(org.KindCentralHC)...), byKind(org.KindPartner)
	drgs := make([]string, 0, 16)
	for k := range settle.ExampleWeights().Weights {
		drgs = append(drgs, k)
	}
	sort.Strings(drgs)
	chronic := []string{"HT", "HT", "HT", "DM", "DM", "TB", "PSY", "HBV"}
	id := int64(0)
	// Spread n visits over residents: each resident gets Poisson-ish counts by a
	// geometric draw around the mean, and the last ones take what is left.
	mean := float64(n) / float64(len(g.people))
	for pi, p := range g.people {
		if int(id) >= n {
			break
		}
		k := 0
		for rng.Float64() < mean/(mean+1) && k < 40 {
			k++
		}
		if pi == len(g.people)-1 {
			k = n - int(id)
		}
		k = min(k, n-int(id))
		if k == 0 {
			continue
		}
		dates := make([]int, k)
		for i := range dates {
			dates[i] = rng.IntN(days)
		}
		sort.Ints(dates)
		var acc settle.Accumulators
		for _, d := range dates {
			id++
			w := rng.IntN(100)
			vt := settle.Inpatient
			for _, m := range visitMix {
				if w < m.w {
					vt = m.t
					break
				}
				w -= m.w
			}
			c := &settle.Claim{VisitID: fmt.Sprintf("D%09d", id), Date: day0.AddDate(0, 0, d).Format("2006-01-02"), VisitType: vt, Poverty: p.poverty, Insured: true}
			var inst *org.Institution
			lines, lo, hi := 1+rng.IntN(4), 5, 150
			switch vt {
			case settle.Inpatient:
				lines, lo, hi = 6+rng.IntN(7), 100, 2000
				switch x := rng.IntN(100); {
				case x < 70:
					inst = hosps[0]
				case x < 95:
					inst = towns[rng.IntN(len(towns))]
				default:
					inst = partners[rng.IntN(len(partners))]
					c.Referred = rng.IntN(10) < 6
				}
			case settle.Chronic:
				lines, lo, hi = 1+rng.IntN(3), 50, 400
				c.ChronicCategory = chronic[rng.IntN(len(chronic))]
				inst = hosps[0]
				if rng.IntN(2) == 0 {
					inst = towns[rng.IntN(len(towns))]
				}
			default:
				inst = g.clinics[rng.IntN(len(g.clinics))]
				if x := rng.IntN(100); x < 30 {
					inst = towns[rng.IntN(len(towns))]
				} else if x < 45 {
					inst = hosps[0]
				}
			}
			c.Level = string(inst.Level)
			if inst.Kind == org.KindPartner {
				c.Level = settle.OutOfCounty
			}
			for j := 0; j < lines; j++ {
				cat := "A"
				if x := rng.IntN(10); x == 9 {
					cat = "C"
				} else if x >= 7 {
					cat = "B"
				}
				class := [...]string{"drug", "drug", "drug", "material", "exam", "exam", "treatment"}[rng.IntN(7)]
				c.Lines = append(c.Lines, settle.Line{Code: fmt.Sprintf("%s%03d", strings.ToUpper(class[:1]), rng.IntN(1000)), Class: class, Category: cat,
					Amount: settle.Fen(lo+rng.IntN(hi-lo+1))*settle.Yuan + settle.Fen(rng.IntN(100))})
			}
			st := &settle.Settlement{ID: id, County: g.cfg.CountyCode, ResidentID: p.id, InstitutionID: inst.ID, VisitID: c.VisitID, Key: "demo-" + c.VisitID,
				PolicyID: sp.ID, Year: sp.Year, Status: settle.StatusSettled, AccBefore: acc, CreatedAt: g.now}
			if vt == settle.Inpatient {
				st.DRG = drgs[rng.IntN(len(drgs))]
			}
			r, err := settle.Settle(sp.Policy, c, &acc)
			if err != nil {
				return fmt.Errorf("demo: visit %s: %w", c.VisitID, err)
			}
			st.Claim, st.Result, st.ClaimHash = *c, *r, settle.ClaimHash(c)
			if err := g.b.Settlement(st); err != nil {
				return err
			}
			acc = acc.Add(r.Delta, 1)
		}
		if err := g.b.SettleAccumulators(g.cfg.CountyCode, p.id, sp.Year, acc, g.now); err != nil {
			return err
		}
	}
	g.res.Visits = int(id)
	return nil
}
