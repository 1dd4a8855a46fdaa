package store_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"countycare/audit"
	"countycare/care"
	"countycare/chronic"
	"countycare/family"
	"countycare/internal/testdb"
	"countycare/resident"
	"countycare/store"
)

func familyService(f *fixture, t *testing.T) *family.Service {
	return &family.Service{Repo: f.st, Residents: f.res, Orgs: f.orgs, Staff: f.st, Audit: syncRecorder{f.st, t}, Now: f.clk.Now}
}

func code(err error) string { return care.ErrorCode(err) }

// TestFamilyContracts walks contracts through signing, services, renewal,
// switching and ending on both databases, with the rules of
// policy-rules.md §2 (one team at a time, ≥ 1 year, consent) and the
// refusals that keep counts honest.
func TestFamilyContracts(t *testing.T) {
	testdb.Each(t, func(t *testing.T, d store.Dialect) {
		f := newFixture(t, d)
		svc := familyService(f, t)
		ctx := context.Background()
		vd, td, admin := f.actors[care.RoleVillageDoctor], f.actors[care.RoleTownshipDoctor], f.actors[care.RoleAdmin]
		cs := f.actors[care.RoleCountySpecialist]
		now := f.clk.Now()
		today := care.Today(now)

		basic := &family.Package{Code: "basic-test", Name: "基础包", Kind: family.PackageBasic, Active: true,
			Services: family.Dues{{Kind: family.FollowUp, PerYear: 4}, {Kind: family.Checkup, PerYear: 1}}}
		if err := svc.SavePackage(ctx, vd, basic); code(err) != care.EFORBIDDEN {
			t.Errorf("village doctor saves a package: %v", err)
		}
		if err := svc.SavePackage(ctx, admin, basic); err != nil {
			t.Fatal(err)
		}
		if err := svc.SavePackage(ctx, admin, &family.Package{Code: "x", Name: "x", Kind: family.PackageBasic, FeeFen: 100, Services: basic.Services}); code(err) != care.EINVALID {
			t.Errorf("a basic package with a fee: %v", err)
		}
		team := &family.Team{Name: "一队", InstitutionID: td.InstitutionID, LeaderID: td.PractitionerID, Active: true,
			Members: []family.Member{{PractitionerID: td.PractitionerID, Role: family.MemberDoctor}, {PractitionerID: vd.PractitionerID, Role: family.MemberVillageDoctor},
				{PractitionerID: cs.PractitionerID, Role: family.MemberSpecialist}}}
		if err := svc.SaveTeam(ctx, vd, team); code(err) != care.EFORBIDDEN {
			t.Errorf("village doctor creates a team: %v", err)
		}
		if err := svc.SaveTeam(ctx, td, team); err != nil {
			t.Fatal(err)
		}
		team2 := &family.Team{Name: "二队", InstitutionID: vd.InstitutionID, LeaderID: vd.PractitionerID, Active: true,
			Members: []family.Member{{PractitionerID: td.PractitionerID, Role: family.MemberNurse}, {PractitionerID: vd.PractitionerID, Role: family.MemberDoctor}}}
		if err := svc.SaveTeam(ctx, admin, team2); err != nil {
			t.Fatal(err)
		}

		people, _, _ := f.res.Search(ctx, vd, "", resident.Filter{BornOnOrBefore: care.Date{Year: 1955, Month: 1, Day: 1}, Limit: 4})
		if len(people) < 4 {
			t.Fatal("not enough elderly residents in the demo village")
		}
		p, q := people[0], people[1]
		consent := family.Consent{By: family.ConsentSelf, Method: family.ConsentPaper, At: now.Add(-time.Hour)}
		start := today.AddDays(-300)
		terms := family.Terms{TeamID: team.ID, PackageID: basic.ID, Start: start, End: family.MinEnd(start), Consent: consent}

		short := terms
		short.End = terms.End.AddDays(-1)
		if _, err := svc.Sign(ctx, vd, p.ID, short); code(err) != care.EINVALID {
			t.Errorf("contract shorter than a year: %v", err)
		}
		noConsent := terms
		noConsent.Consent = family.Consent{}
		if _, err := svc.Sign(ctx, vd, p.ID, noConsent); code(err) != care.EINVALID {
			t.Errorf("contract without consent: %v", err)
		}
		other := vd
		other.InstitutionID = td.InstitutionID // a doctor of another village
		if _, err := svc.Sign(ctx, other, p.ID, terms); code(err) != care.ENOTFOUND {
			t.Errorf("other village signs: %v", err)
		}
		c1, err := svc.Sign(ctx, vd, p.ID, terms)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := svc.Sign(ctx, td, p.ID, terms); code(err) != care.ECONFLICT {
			t.Errorf("second active contract: %v", err)
		}

		// Services: future-dated, outside the contract, duplicates refused.
		if _, err := svc.Record(ctx, vd, p.ID, family.Checkup, today.AddDays(1), ""); code(err) != care.EINVALID {
			t.Errorf("future-dated service: %v", err)
		}
		if _, err := svc.Record(ctx, vd, p.ID, family.Checkup, start.AddDays(-1), ""); code(err) != care.EINVALID {
			t.Errorf("service outside the contract: %v", err)
		}
		if _, err := svc.Record(ctx, vd, p.ID, family.FollowUp, today.AddDays(-20), "血压复查"); err != nil {
			t.Fatal(err)
		}
		if _, err := svc.Record(ctx, vd, p.ID, family.FollowUp, today.AddDays(-20), ""); code(err) != care.ECONFLICT {
			t.Errorf("duplicate service: %v", err)
		}
		if _, err := svc.Record(ctx, other, p.ID, family.Education, today, ""); code(err) != care.ENOTFOUND {
			t.Errorf("other village records: %v", err)
		}
		// A chronic follow-up in the contract period counts as a follow_up, and
		// a family follow-up the same day is refused rather than counted twice.
		chr := chronicService(f)
		chr.Audit = syncRecorder{f.st, t}
		reg, err := chr.Enroll(ctx, vd, p.ID, chronic.Hypertension, chronic.SourceDiagnosis, today.AddDays(-100), "")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := chr.RecordVisit(ctx, vd, reg.ID, chronic.Visit{Date: today.AddDays(-10), FaceToFace: true, SBP: 130, DBP: 80}, "", false); err != nil {
			t.Fatal(err)
		}
		if _, err := svc.Record(ctx, vd, p.ID, family.FollowUp, today.AddDays(-10), ""); code(err) != care.ECONFLICT {
			t.Errorf("family follow-up on a chronic visit day: %v", err)
		}
		panel, err := svc.Panel(ctx, vd, p.ID)
		if err != nil {
			t.Fatal(err)
		}
		if panel.Current == nil || panel.Current.ID != c1.ID || !panel.Key || panel.Services != 2 || panel.Lines[0].Kind != family.FollowUp || panel.Lines[0].Delivered != 2 {
			t.Errorf("panel: current %v key %v services %d lines %+v", panel.Current, panel.Key, panel.Services, panel.Lines)
		}
		if sf, err := svc.Shortfalls(ctx, vd); err != nil || len(sf) != 1 || sf[0].ResidentID != p.ID || sf[0].Services != 2 || sf[0].Name != p.Name {
			t.Errorf("shortfall %+v %v", sf, err)
		}

		// Renewal: a new contract from the day after the end; history kept.
		c2, err := svc.Renew(ctx, vd, c1.ID, family.Terms{Consent: consent, End: family.MinEnd(c1.End.AddDays(1))})
		if err != nil {
			t.Fatal(err)
		}
		if c2.Start != c1.End.AddDays(1) || c2.PreviousID != c1.ID {
			t.Errorf("renewal %s prev %d", c2.Start, c2.PreviousID)
		}
		if _, err := svc.Renew(ctx, vd, c1.ID, family.Terms{Consent: consent, End: family.MinEnd(c1.End.AddDays(1))}); code(err) != care.ECONFLICT {
			t.Errorf("second renewal of the same contract: %v", err)
		}
		hist, _ := f.st.Contracts(ctx, p.CountyCode, p.ID)
		if len(hist) != 2 || hist[0].ID != c2.ID || hist[1].Status != family.StatusRenewed || hist[1].End != c1.End {
			t.Errorf("history after renewal %+v", hist)
		}

		// Switch: q changes team; the old contract ends that day, the new starts.
		q1, err := svc.Sign(ctx, vd, q.ID, family.Terms{TeamID: team.ID, PackageID: basic.ID, Start: today.AddDays(-30), End: family.MinEnd(today.AddDays(-30)), Consent: consent})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := svc.Switch(ctx, vd, q1.ID, family.Terms{TeamID: team.ID, End: family.MinEnd(today), Consent: consent}, "搬家"); code(err) != care.EINVALID {
			t.Errorf("switch to the same team: %v", err)
		}
		if _, err := svc.Switch(ctx, vd, q1.ID, family.Terms{TeamID: team2.ID, End: family.MinEnd(today), Consent: consent}, ""); code(err) != care.EINVALID {
			t.Errorf("switch without a reason: %v", err)
		}
		q2, err := svc.Switch(ctx, vd, q1.ID, family.Terms{TeamID: team2.ID, End: family.MinEnd(today), Consent: consent}, "就近服务")
		if err != nil {
			t.Fatal(err)
		}
		old, _ := f.st.Contract(ctx, q1.ID)
		if old.Status != family.StatusSwitched || old.EndedOn != today || old.EndReason != "就近服务" || q2.TeamID != team2.ID || q2.PreviousID != q1.ID {
			t.Errorf("after switch: old %+v new %+v", old, q2)
		}
		if _, err := svc.End(ctx, vd, q2.ID, today, ""); code(err) != care.EINVALID {
			t.Errorf("end without a reason: %v", err)
		}
		if ended, err := svc.End(ctx, vd, q2.ID, today, "迁出"); err != nil || ended.Status != family.StatusEnded {
			t.Errorf("end: %v", err)
		}
		if _, err := svc.Record(ctx, vd, q.ID, family.Checkup, today, ""); code(err) != care.EINVALID {
			t.Errorf("service after the contract ended: %v", err)
		}

		// A household in one action: the members without a contract are signed.
		hh := people[2]
		made, skipped, err := svc.SignHousehold(ctx, vd, hh.HouseholdID, family.Terms{TeamID: team.ID, PackageID: basic.ID, Start: today, End: family.MinEnd(today),
			Consent: family.Consent{By: family.ConsentHouseholdHead, Name: "户主", Method: family.ConsentPhone, At: now}})
		if err != nil || len(made) == 0 {
			t.Errorf("household: %d made, %d skipped, %v", len(made), len(skipped), err)
		}

		// Indicators: aggregates for the township and the analyst, not for a village doctor.
		rep, err := svc.Indicators(ctx, td, care.Date{Year: today.Year, Month: 1, Day: 1}, today)
		if err != nil || rep.Total.Coverage.Num != 1+len(made) || rep.Total.Coverage.Den < 100 {
			t.Errorf("township indicators %+v %v", rep, err)
		}
		if _, err := svc.Indicators(ctx, f.actors[care.RoleAnalyst], today.AddDays(-30), today); err != nil {
			t.Errorf("analyst indicators: %v", err)
		}
		if _, err := svc.Indicators(ctx, vd, today.AddDays(-30), today); code(err) != care.EFORBIDDEN {
			t.Errorf("village doctor indicators: %v", err)
		}

		// The figures kept per day (issue 14 §1, migration 0037) are the
		// live ones, read back for a period ending that day; a later change
		// shows only once the day is snapshotted again.
		svc.Days = f.st
		an := f.actors[care.RoleAnalyst]
		for _, who := range []care.Actor{td, an} {
			live, err := svc.Indicators(ctx, who, today, today)
			if err != nil {
				t.Fatal(err)
			}
			computed, err := svc.PointIndicators(ctx, who, today) // nothing kept yet: computed
			if err != nil || computed.Total.Coverage != live.Total.Coverage || computed.Total.KeyCoverage != live.Total.KeyCoverage ||
				computed.Total.Fulfilment != live.Total.Fulfilment || len(computed.ByVillage) != len(live.ByVillage) {
				t.Errorf("%s: computed point figures %+v, live %+v (%v)", who.Role, computed.Total, live.Total, err)
			}
		}
		n, err := svc.SnapshotDay(ctx, vd.CountyCode, today)
		if err != nil || n == 0 {
			t.Fatalf("snapshot: %d villages, %v", n, err)
		}
		liveAn, _ := svc.Indicators(ctx, an, today, today)
		kept, err := svc.PointIndicators(ctx, an, today)
		if err != nil || kept.Total.Coverage != liveAn.Total.Coverage || kept.Total.KeyCoverage != liveAn.Total.KeyCoverage || kept.Total.Fulfilment != liveAn.Total.Fulfilment {
			t.Errorf("kept point figures %+v, live %+v (%v)", kept.Total, liveAn.Total, err)
		}
		for v, in := range liveAn.ByVillage {
			if k := kept.ByVillage[v]; k.Coverage != in.Coverage || k.KeyCoverage != in.KeyCoverage || k.Fulfilment != in.Fulfilment {
				t.Errorf("village %d: kept %+v, live %+v", v, k, in)
			}
		}
		tdKept, _ := svc.PointIndicators(ctx, td, today)
		if tdKept == nil || len(tdKept.ByVillage) == 0 || len(tdKept.ByVillage) >= len(kept.ByVillage) && len(kept.ByVillage) > 1 {
			t.Errorf("a township doctor's kept figures cover %v villages of the county's %d", tdKept, len(kept.ByVillage))
		}
		if evs, _ := f.st.SearchAudit(ctx, audit.Filter{Action: family.ActIndicators}); len(evs) == 0 || !strings.Contains(evs[0].Detail+evs[len(evs)-1].Detail, "kept") {
			t.Errorf("point figures read from the kept day are not audited as such: %d rows", len(evs))
		}
		extra := people[3]
		if _, err := svc.Sign(ctx, vd, extra.ID, family.Terms{TeamID: team.ID, PackageID: basic.ID, Start: today, End: family.MinEnd(today), Consent: consent}); err != nil {
			t.Fatal(err)
		}
		if again, _ := svc.PointIndicators(ctx, an, today); again.Total.Coverage != kept.Total.Coverage {
			t.Errorf("a view after a new contract recomputed instead of reading the kept day: %+v vs %+v", again.Total.Coverage, kept.Total.Coverage)
		}
		if _, err := svc.SnapshotDay(ctx, vd.CountyCode, today); err != nil {
			t.Fatal(err)
		}
		if again, _ := svc.PointIndicators(ctx, an, today); again.Total.Coverage.Num != kept.Total.Coverage.Num+1 {
			t.Errorf("after the day was kept again: %+v, before %+v", again.Total.Coverage, kept.Total.Coverage)
		}
		if days, err := f.st.SnapshotDays(ctx, vd.CountyCode, today.AddDays(-1), today); err != nil || len(days) != 1 || days[0] != today {
			t.Errorf("snapshot days %v %v", days, err)
		}
		if _, err := svc.PointIndicators(ctx, vd, today); code(err) != care.EFORBIDDEN {
			t.Errorf("village doctor point figures: %v", err)
		}
		if _, err := svc.PointIndicators(ctx, an, today.AddDays(1)); code(err) != care.EINVALID {
			t.Errorf("point figures of tomorrow: %v", err)
		}

		// Every write and read of the contracts is audited.
		for _, act := range []string{family.ActSign, family.ActService, family.ActRenew, family.ActRead} {
			evs, err := f.st.SearchAudit(ctx, audit.Filter{ResidentIDs: []int64{p.ID}, Action: act})
			if err != nil || len(evs) == 0 {
				t.Errorf("no %s audit row for the resident: %v", act, err)
			}
		}
		for _, act := range []string{family.ActSwitch, family.ActEnd} {
			if evs, _ := f.st.SearchAudit(ctx, audit.Filter{ResidentIDs: []int64{q.ID}, Action: act}); len(evs) != 1 {
				t.Errorf("%s audit rows: %d", act, len(evs))
			}
		}
	})
}
