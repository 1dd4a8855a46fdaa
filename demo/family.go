package demo

import (
	"context"
	"fmt"

	"countycare/audit"
	"countycare/care"
	"countycare/family"
	"countycare/org"
	"countycare/points"
	"countycare/store"
)

// familyPackages are the two example service packages (policy-rules.md §2:
// basic and personalised): the basic package follows the national basic
// public health services and is free; the personalised one, for chronic
// patients, costs 120 yuan a year (a county sets its own fee).
func familyPackages(county string) []*family.Package {
	return []*family.Package{
		{CountyCode: county, Code: "basic", Name: "基础服务包", Kind: family.PackageBasic, Active: true,
			Services: family.Dues{{Kind: family.FollowUp, PerYear: 4}, {Kind: family.Checkup, PerYear: 1}, {Kind: family.HomeVisit, PerYear: 2}, {Kind: family.Education, PerYear: 2}}},
		{CountyCode: county, Code: "chronic-plus", Name: "慢病个性化服务包", Kind: family.PackagePersonalised, FeeFen: 12000, Active: true,
			Services: family.Dues{{Kind: family.FollowUp, PerYear: 4}, {Kind: family.Checkup, PerYear: 1}, {Kind: family.HomeVisit, PerYear: 4}, {Kind: family.Education, PerYear: 4}, {Kind: family.Rehab, PerYear: 2}}},
	}
}

// family writes the example packages, one team per township center (its
// staff, the village doctors of its first clinics and a county-hospital
// specialist) and, when cfg.Contracts > 0, contracts with about that many
// residents (key populations first) with some services delivered.
func (g *gen) family(ctx context.Context, st *store.Store) error {
	ev := func(detail string, residentID int64) audit.Event {
		return audit.Event{Action: "demo.family", Outcome: audit.OutcomeOK, Purpose: care.PurposeAdmin, CountyCode: g.cfg.CountyCode, ResidentID: residentID, Detail: detail}
	}
	pkgs := familyPackages(g.cfg.CountyCode)
	for _, p := range pkgs {
		if err := st.SavePackage(ctx, p, ev("package "+p.Code, 0)); err != nil {
			return err
		}
	}
	hospStaff, err := st.Practitioners(ctx, org.PractitionerFilter{Institutions: []int64{g.hosp.ID}, Limit: 20})
	if err != nil {
		return err
	}
	byTownship := map[int64][]*org.Institution{}
	var townships []int64
	for _, c := range g.clinics {
		if byTownship[c.ParentID] == nil {
			townships = append(townships, c.ParentID)
		}
		byTownship[c.ParentID] = append(byTownship[c.ParentID], c)
	}
	teamOf := map[int64]int64{} // township → team
	for i, tid := range townships {
		staff, err := st.Practitioners(ctx, org.PractitionerFilter{Institutions: []int64{tid}, Limit: 3})
		if err != nil || len(staff) == 0 {
			return err
		}
		t := &family.Team{CountyCode: g.cfg.CountyCode, Name: fmt.Sprintf("家庭医生团队 %d", i+1), InstitutionID: tid, LeaderID: staff[0].ID, Active: true}
		t.Members = append(t.Members, family.Member{PractitionerID: staff[0].ID, Role: family.MemberDoctor})
		if len(staff) > 1 {
			t.Members = append(t.Members, family.Member{PractitionerID: staff[1].ID, Role: family.MemberNurse})
		}
		if len(staff) > 2 {
			t.Members = append(t.Members, family.Member{PractitionerID: staff[2].ID, Role: family.MemberPublicHealth})
		}
		for _, c := range byTownship[tid][:min(3, len(byTownship[tid]))] {
			vs, err := st.Practitioners(ctx, org.PractitionerFilter{Institutions: []int64{c.ID}, Limit: 1})
			if err != nil {
				return err
			}
			for _, v := range vs {
				t.Members = append(t.Members, family.Member{PractitionerID: v.ID, Role: family.MemberVillageDoctor})
			}
		}
		if len(hospStaff) > 0 {
			t.Members = append(t.Members, family.Member{PractitionerID: hospStaff[i%len(hospStaff)].ID, Role: family.MemberSpecialist})
		}
		if err := st.SaveTeam(ctx, t, ev("team "+t.Name, 0)); err != nil {
			return err
		}
		teamOf[tid] = t.ID
		g.keepTeam(tid, t)
	}
	// Contracts with key populations first (65+), then others, per clinic,
	// and the services delivered under them: one bulk load (the teams and
	// packages above exist by now).
	byClinic := map[int64][]person{}
	for _, p := range g.people {
		byClinic[p.village] = append(byClinic[p.village], p)
	}
	elderBorn := care.Date{Year: g.today.Year - 65, Month: 1, Day: 1}
	pts := &points.Service{Rules: points.DefaultRules()}
	return st.BulkLoad(ctx, func(b *store.Bulk) error {
		left := g.cfg.Contracts
		for _, c := range g.clinics {
			if left <= 0 {
				break
			}
			var elderly, others []person
			for _, p := range byClinic[c.ID] {
				if len(elderly) < 60 && !p.birth.After(elderBorn) {
					elderly = append(elderly, p)
				}
				if len(others) < 60 {
					others = append(others, p)
				}
				if len(elderly) == 60 && len(others) == 60 {
					break
				}
			}
			seen := map[int64]bool{}
			var cs []*family.Contract
			for _, r := range append(elderly, others...) {
				if seen[r.id] || left <= 0 || g.rng.IntN(10) < 4 {
					continue
				}
				seen[r.id] = true
				left--
				start := g.today.AddDays(-g.rng.IntN(360))
				pkg := pkgs[0]
				if g.rng.IntN(8) == 0 {
					pkg = pkgs[1]
				}
				k := &family.Contract{ID: g.id("contract"), CountyCode: g.cfg.CountyCode, ResidentID: r.id, TeamID: teamOf[c.ParentID], PackageID: pkg.ID,
					Services: pkg.Services, FeeFen: pkg.FeeFen, Start: start, End: family.MinEnd(start), Status: family.StatusActive,
					Consent: family.Consent{By: family.ConsentSelf, Method: family.ConsentPaper, At: g.at(start, 10)}}
				if err := b.FamilyContract(k, g.now); err != nil {
					return err
				}
				cs = append(cs, k)
			}
			if len(cs) == 0 {
				continue
			}
			// The seeds' yearly volumes (home visits, check-ups; education as often
			// as home visits), scaled to the county and spread over its clinics;
			// follow-ups come from the chronic registries.
			used := map[int64]map[family.Done]bool{}
			quota := func(seedYear int) int {
				n := float64(seedYear) * float64(g.cfg.Residents) / SeedPopulation / float64(len(g.clinics))
				k := int(n)
				if g.rng.Float64() < n-float64(k) {
					k++
				}
				return k
			}
			for _, q := range []struct {
				kind family.Kind
				n    int
			}{{family.HomeVisit, quota(SeedHomeVisits)}, {family.Checkup, quota(SeedCheckups)}, {family.Education, quota(SeedHomeVisits)}} {
				kind := q.kind
				for n := q.n; n > 0; n-- {
					k := cs[g.rng.IntN(len(cs))]
					days := int(g.today.Time().Sub(k.Start.Time()).Hours() / 24)
					d := family.Done{Kind: kind, Date: k.Start.AddDays(g.rng.IntN(days + 1))}
					if used[k.ResidentID] == nil {
						used[k.ResidentID] = map[family.Done]bool{}
					}
					if used[k.ResidentID][d] {
						continue
					}
					used[k.ResidentID][d] = true
					if err := b.FamilyService(&family.Delivery{CountyCode: k.CountyCode, ResidentID: k.ResidentID, ContractID: k.ID, Kind: d.Kind, Date: d.Date,
						InstitutionID: c.ID}, g.now); err != nil {
						return err
					}
					// The points the service earns, as family.Service.Record awards them (docs/points.md).
					if e := pts.Entry(k.CountyCode, k.ResidentID, points.Rule(kind), fmt.Sprintf("family_service:%s:%s", kind, d.Date), d.Date, 0); e != nil {
						if err := b.Points(e, g.now); err != nil {
							return err
						}
					}
					switch kind {
					case family.HomeVisit:
						g.res.HomeVisits++
					case family.Checkup:
						g.res.Checkups++
					}
				}
			}
			g.res.Contracts += len(cs)
		}
		return nil
	})
}

// The seeds' yearly family-doctor volumes in a county of SeedPopulation
// (seed 004): home visits and check-ups.
const (
	SeedHomeVisits = 28932
	SeedCheckups   = 80000
)
