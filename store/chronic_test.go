package store_test

import (
	"context"
	"errors"
	"strings"

	"countycare/audit"
	"testing"
	"time"

	"countycare/care"
	"countycare/chronic"
	"countycare/demo"
	"countycare/internal/testdb"
	"countycare/notify"
	"countycare/org"
	"countycare/points"
	"countycare/resident"
	"countycare/store"
)

func chronicService(f *fixture) *chronic.Service {
	return &chronic.Service{Repo: f.st, Residents: f.res, Orgs: f.orgs, Audit: syncRecorder{f.st, nil}, Config: chronic.DefaultConfig(), Now: f.clk.Now}
}

// TestChronicFollowUpsAndTiers walks a hypertension patient through the
// spec's classifications and the tiers they imply (green → yellow → red),
// with hand-offs to the township center and the county hospital.
func TestChronicFollowUpsAndTiers(t *testing.T) {
	testdb.Each(t, func(t *testing.T, d store.Dialect) {
		f := newFixture(t, d)
		svc := chronicService(f)
		svc.Audit = syncRecorder{f.st, t}
		ctx := context.Background()
		vd := f.actors[care.RoleVillageDoctor]
		people, _, _ := f.res.Search(ctx, vd, "", resident.Filter{BornOnOrBefore: care.Date{Year: 1980, Month: 1, Day: 1}, Limit: 3})
		if len(people) < 2 {
			t.Fatal("no adults in the demo village")
		}
		p := people[0]
		today := care.Today(f.clk.Now())
		reg, err := svc.Enroll(ctx, vd, p.ID, chronic.Hypertension, chronic.SourceScreening, today.AddDays(-200), "三次非同日血压升高")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := svc.Enroll(ctx, vd, p.ID, chronic.Hypertension, chronic.SourceDiagnosis, today, ""); care.ErrorCode(err) != care.EINVALID {
			t.Errorf("second registration: %v", err)
		}
		if reg.Tier != chronic.Green {
			t.Errorf("new patient tier %s", reg.Tier)
		}
		visit := func(daysAgo, sbp, dbp int) *chronic.StoredVisit {
			t.Helper()
			v, err := svc.RecordVisit(ctx, vd, reg.ID, chronic.Visit{Date: today.AddDays(-daysAgo), FaceToFace: true, SBP: sbp, DBP: dbp}, "", false)
			if err != nil {
				t.Fatalf("visit %d days ago: %v", daysAgo, err)
			}
			return v
		}
		if v := visit(180, 132, 84); v.Outcome.Class != chronic.Controlled {
			t.Errorf("first visit %s", v.Outcome.Class)
		}
		// A second visit the same day is refused, not counted twice.
		if _, err := svc.RecordVisit(ctx, vd, reg.ID, chronic.Visit{Date: today.AddDays(-180), FaceToFace: true, SBP: 130, DBP: 80}, "", false); care.ErrorCode(err) != care.ECONFLICT {
			t.Errorf("duplicate visit: %v", err)
		}
		// Impossible values are refused; extreme ones need confirmation.
		if _, err := svc.RecordVisit(ctx, vd, reg.ID, chronic.Visit{Date: today.AddDays(-100), FaceToFace: true, SBP: 400, DBP: 20}, "", false); care.ErrorCode(err) != care.EINVALID {
			t.Errorf("BP 400/20: %v", err)
		}
		if _, err := svc.RecordVisit(ctx, vd, reg.ID, chronic.Visit{Date: today.AddDays(-100), FaceToFace: true, SBP: 260, DBP: 120}, "", false); err == nil || err.(*care.Error).Key != chronic.KeyConfirm {
			t.Errorf("BP 260/120 without confirmation: %v", err)
		}
		v := visit(90, 150, 95) // uncontrolled → yellow, hand-off to the township
		if v.Outcome.NextVisit != today.AddDays(-90+14) {
			t.Errorf("recheck in 2 weeks: %s", v.Outcome.NextVisit)
		}
		r, _ := f.st.Registration(ctx, reg.ID)
		if r.Tier != chronic.Yellow {
			t.Fatalf("after an uncontrolled visit tier %s", r.Tier)
		}
		td := f.actors[care.RoleTownshipDoctor]
		hs, _ := svc.Handoffs(ctx, td, true)
		if len(hs) != 1 || hs[0].To != chronic.Yellow {
			t.Fatalf("township hand-offs %+v", hs)
		}
		if err := svc.Acknowledge(ctx, td, hs[0].ID); err != nil {
			t.Fatal(err)
		}
		if err := svc.Acknowledge(ctx, td, hs[0].ID); care.ErrorCode(err) != care.ECONFLICT {
			t.Errorf("second acknowledgement: %v", err)
		}
		// The county specialist cannot see the patient yet.
		cs := f.actors[care.RoleCountySpecialist]
		if _, err := f.res.Get(ctx, cs, p.ID); care.ErrorCode(err) != care.ENOTFOUND {
			t.Fatalf("county specialist saw a yellow patient: %v", err)
		}
		v = visit(76, 155, 96) // second uncontrolled in a row → refer → red, county hospital
		if !v.Outcome.Refer {
			t.Error("two consecutive uncontrolled visits did not propose a referral")
		}
		r, _ = f.st.Registration(ctx, reg.ID)
		if r.Tier != chronic.Red {
			t.Fatalf("tier %s, want red", r.Tier)
		}
		if _, err := f.res.Get(ctx, cs, p.ID); err != nil {
			t.Errorf("county specialist cannot see the red-tier patient: %v", err)
		}
		if hs, _ := svc.Handoffs(ctx, cs, true); len(hs) != 1 || hs[0].To != chronic.Red {
			t.Errorf("county hand-offs %+v", hs)
		}
		visit(30, 128, 82) // controlled → green, back to the village
		_, visits, changes, err := svc.Detail(ctx, vd, reg.ID)
		if err != nil || len(visits) != 4 || len(changes) != 3 || changes[2].To != chronic.Green {
			t.Errorf("history: %d visits, %d changes %v", len(visits), len(changes), err)
		}
		// Overdue: the next visit (about 3 months after 30 days ago) is not due; a
		// second patient enrolled long ago and never seen is overdue.
		q := people[1]
		reg2, err := svc.Enroll(ctx, vd, q.ID, chronic.Diabetes, chronic.SourceDiagnosis, today.AddDays(-40), "")
		if err != nil {
			t.Fatal(err)
		}
		list, err := svc.Overdue(ctx, vd)
		if err != nil || len(list) != 1 || list[0].ID != reg2.ID || list[0].DaysOverdue != 40 {
			t.Fatalf("overdue %+v %v", list, err)
		}
		if _, err := svc.RecordCall(ctx, vd, reg2.ID, chronic.CallRemindLater); err != nil {
			t.Fatal(err)
		}
		if list, _ := svc.Overdue(ctx, vd); len(list) != 0 {
			t.Errorf("a called patient is still listed: %+v", list)
		}
		f.clk.Add(4 * 24 * time.Hour)
		if list, _ := svc.Overdue(ctx, vd); len(list) != 1 {
			t.Errorf("after the call's 3 days the patient is back: %d", len(list))
		}
		board, err := svc.Board(ctx, td)
		if err != nil || board[vd.InstitutionID][chronic.Green] != 2 {
			t.Errorf("board %+v %v", board, err)
		}
		// Another village's doctor cannot record a visit for this patient.
		other := vd
		other.InstitutionID = td.InstitutionID
		if _, err := svc.RecordVisit(ctx, other, reg.ID, chronic.Visit{Date: today, FaceToFace: true, SBP: 120, DBP: 80}, "", false); care.ErrorCode(err) != care.ENOTFOUND {
			t.Errorf("out-of-scope visit: %v", err)
		}
	})
}

// TestChronicIndicatorsByUnit computes the management indicators of
// policy-rules.md §1 from stored follow-ups over a 360-day period (4
// face-to-face visits due) and checks them by hand at village, township and
// county level, with each role seeing only the units inside its area.
func TestChronicIndicatorsByUnit(t *testing.T) {
	testdb.Each(t, func(t *testing.T, d store.Dialect) {
		f := newFixture(t, d)
		svc := chronicService(f)
		ctx := context.Background()
		vd, td, an := f.actors[care.RoleVillageDoctor], f.actors[care.RoleTownshipDoctor], f.actors[care.RoleAnalyst]
		people, _, _ := f.res.Search(ctx, vd, "", resident.Filter{BornOnOrBefore: care.Date{Year: 1970, Month: 1, Day: 1}, Limit: 3})
		if len(people) < 3 {
			t.Fatal("not enough adults in the demo village")
		}
		today := care.Today(f.clk.Now())
		enrol := func(p resident.Resident, dis chronic.Disease) int64 {
			t.Helper()
			r, err := svc.Enroll(ctx, vd, p.ID, dis, chronic.SourceDiagnosis, today.AddDays(-355), "")
			if err != nil {
				t.Fatal(err)
			}
			return r.ID
		}
		visit := func(reg int64, daysAgo int, v chronic.Visit) {
			t.Helper()
			v.Date, v.FaceToFace = today.AddDays(-daysAgo), true
			if _, err := svc.RecordVisit(ctx, vd, reg, v, "", true); err != nil {
				t.Fatalf("visit: %v", err)
			}
		}
		p1, p2, p3 := enrol(people[0], chronic.Hypertension), enrol(people[1], chronic.Hypertension), enrol(people[2], chronic.Diabetes)
		for _, ago := range []int{350, 260, 170, 80} { // per spec, at target
			visit(p1, ago, chronic.Visit{SBP: 130, DBP: 80})
		}
		visit(p2, 300, chronic.Visit{SBP: 150, DBP: 95}) // 2 visits: not per spec; last at target
		visit(p2, 200, chronic.Visit{SBP: 130, DBP: 80})
		visit(p3, 100, chronic.Visit{FPG: 80}) // 1 visit, FPG 8.0: neither
		from := today.AddDays(-359)

		rep, err := svc.Indicators(ctx, td, from, today)
		if err != nil {
			t.Fatal(err)
		}
		village := rep.Unit(vd.InstitutionID)
		if village == nil {
			t.Fatalf("township report lacks the village: %+v", rep.Units)
		}
		wantHT := chronic.Indicators{Managed: 2, Standardised: chronic.Rate{Num: 1, Den: 2}, Controlled: chronic.Rate{Num: 2, Den: 2}}
		wantDM := chronic.Indicators{Managed: 1, Standardised: chronic.Rate{Num: 0, Den: 1}, Controlled: chronic.Rate{Num: 0, Den: 1}}
		// 健康管理率 = managed / (adults ≥ 18 × adult prevalence): 27.9 % and 11.2 % by default
		// (chronic.Config.PrevalenceMinAge).
		adults, _ := f.st.AdultCounts(ctx, vd.CountyCode, nil, 18, today)
		// The denominator is max(estimate, managed) (issue 18); here the estimate is the larger.
		wantHT.Estimated, wantHT.PrevalenceBP = chronic.EstimatedPatients(adults[vd.InstitutionID], 2790), 2790
		wantDM.Estimated, wantDM.PrevalenceBP = chronic.EstimatedPatients(adults[vd.InstitutionID], 1120), 1120
		wantHT.HealthManaged = chronic.Rate{Num: 2, Den: max(wantHT.Estimated, 2)}
		wantDM.HealthManaged = chronic.Rate{Num: 1, Den: max(wantDM.Estimated, 1)}
		if adults[vd.InstitutionID] == 0 || village.Adults != adults[vd.InstitutionID] || village.AdultsFrom != 18 {
			t.Errorf("adults %d, report %d", adults[vd.InstitutionID], village.Adults)
		}
		if got := village.Cells[chronic.Hypertension]; got != wantHT {
			t.Errorf("village hypertension %+v, want %+v", got, wantHT)
		}
		if got := village.Cells[chronic.Diabetes]; got != wantDM {
			t.Errorf("village diabetes %+v, want %+v", got, wantDM)
		}
		town := rep.Unit(td.InstitutionID)
		if town == nil || town.Cells[chronic.Hypertension].Standardised != wantHT.Standardised || town.Cells[chronic.Hypertension].HealthManaged.Den == 0 {
			t.Errorf("township unit %+v", town)
		}
		for _, u := range rep.Units {
			if u.Depth < 2 {
				t.Errorf("township doctor sees %s (%s)", u.Unit.Name, u.Unit.Kind)
			}
		}
		vrep, err := svc.Indicators(ctx, vd, from, today)
		if err != nil || len(vrep.Units) != 1 || vrep.Units[0].Unit.ID != vd.InstitutionID {
			t.Errorf("village doctor's report: %+v %v", vrep, err)
		}
		arep, err := svc.Indicators(ctx, an, from, today)
		if err != nil || len(arep.Units) == 0 || arep.Units[0].Depth != 0 || arep.Units[0].Cells[chronic.Hypertension] != (chronic.Indicators{Managed: 2,
			Standardised: wantHT.Standardised, Controlled: wantHT.Controlled, HealthManaged: arep.Units[0].Cells[chronic.Hypertension].HealthManaged,
			Estimated: arep.Units[0].Cells[chronic.Hypertension].Estimated, PrevalenceBP: 2790}) {
			t.Errorf("analyst's county row: %+v %v", arep.Units, err)
		}
		// A period before any registration counts nobody.
		early, err := svc.Indicators(ctx, an, today.AddDays(-800), today.AddDays(-400))
		if err != nil || early.Unit(vd.InstitutionID) != nil && early.Unit(vd.InstitutionID).Cells[chronic.Hypertension].Managed != 0 {
			t.Errorf("early period: %+v %v", early, err)
		}
		// A visit entered late (dated before p2's last one) does not replace the
		// last reading; the year's summaries (read for Jan 1 – today) agree
		// with a tally of every visit (the recompute's).
		visit(p2, 250, chronic.Visit{SBP: 170, DBP: 100})
		ytd, err := svc.Indicators(ctx, an, care.Date{Year: today.Year, Month: 1, Day: 1}, today)
		if err != nil {
			t.Fatal(err)
		}
		sum, err := svc.Recompute(ctx, f.st, f.actors[care.RoleAdmin], false)
		if err != nil {
			t.Fatal(err)
		}
		for _, dis := range chronic.Diseases {
			if got, want := ytd.Units[0].Cells[dis], sum.Indicators.Units[0].Cells[dis]; got != want {
				t.Errorf("%s year to date: summaries %+v, visits %+v", dis, got, want)
			}
		}
		if c := ytd.Units[0].Cells[chronic.Hypertension]; c.Controlled.Num != 2 {
			t.Errorf("year to date hypertension %+v: the late visit replaced a later reading", c)
		}
		if _, err := svc.Indicators(ctx, an, today, today.AddDays(-1)); care.ErrorCode(err) != care.EINVALID {
			t.Errorf("reversed period: %v", err)
		}
		if _, err := svc.Indicators(ctx, f.actors[care.RoleResident], from, today); care.ErrorCode(err) != care.EFORBIDDEN {
			t.Errorf("resident: %v", err)
		}
	})
}

// TestChronicRecompute: after the county relaxes the blood-pressure target,
// a recompute re-assesses every visit and moves the patient whom the new
// rule calls controlled back to the village clinic, with a hand-off; a dry
// run changes nothing, and a registration updated meanwhile is left alone.
func TestChronicRecompute(t *testing.T) {
	testdb.Each(t, func(t *testing.T, d store.Dialect) {
		f := newFixture(t, d)
		svc := chronicService(f)
		ctx := context.Background()
		vd := f.actors[care.RoleVillageDoctor]
		people, _, _ := f.res.Search(ctx, vd, "", resident.Filter{BornOnOrBefore: care.Date{Year: 1970, Month: 1, Day: 1}, Limit: 2})
		today := care.Today(f.clk.Now())
		reg, err := svc.Enroll(ctx, vd, people[0].ID, chronic.Hypertension, chronic.SourceDiagnosis, today.AddDays(-100), "")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := svc.RecordVisit(ctx, vd, reg.ID, chronic.Visit{Date: today.AddDays(-10), FaceToFace: true, SBP: 155, DBP: 85}, "", false); err != nil {
			t.Fatal(err)
		}
		if r, _ := f.st.Registration(ctx, reg.ID); r.Tier != chronic.Yellow {
			t.Fatalf("tier %s", r.Tier)
		}
		admin := f.actors[care.RoleAdmin]
		sum, err := svc.Recompute(ctx, f.st, admin, true)
		if err != nil || sum.Registrations != 1 || sum.Visits != 1 || sum.Changed != 0 {
			t.Fatalf("recompute with unchanged rules: %+v %v", sum, err)
		}
		svc.Config.BPTargetSBP, svc.Config.ElderlyTargetSBP = 160, 160 // [U] a county's own targets
		if sum, err = svc.Recompute(ctx, f.st, admin, false); err != nil || sum.Changed != 1 || sum.Applied != 0 || sum.Moves["yellow→green"] != 1 {
			t.Fatalf("dry run: %+v %v", sum, err)
		}
		if r, _ := f.st.Registration(ctx, reg.ID); r.Tier != chronic.Yellow {
			t.Fatalf("a dry run moved the patient: %s", r.Tier)
		}
		if sum.Indicators == nil || len(sum.Indicators.Units) == 0 || sum.Indicators.Units[0].Cells[chronic.Hypertension].Managed != 1 {
			t.Errorf("county indicators: %+v", sum.Indicators)
		}
		// A stale version (a follow-up recorded since the read) is skipped.
		r, _ := f.st.Registration(ctx, reg.ID)
		if n, err := f.st.ApplyTierUpdates(ctx, []chronic.TierUpdate{{RegistrationID: reg.ID, Version: r.Version - 1, Tier: chronic.Green, Since: today}}, audit.Event{Action: chronic.ActRecompute}); err != nil || n != 0 {
			t.Errorf("stale update applied: %d %v", n, err)
		}
		if sum, err = svc.Recompute(ctx, f.st, admin, true); err != nil || sum.Applied != 1 {
			t.Fatalf("apply: %+v %v", sum, err)
		}
		r, _ = f.st.Registration(ctx, reg.ID)
		changes, _ := f.st.TierChanges(ctx, reg.ID)
		if r.Tier != chronic.Green || len(changes) != 2 || changes[1].To != chronic.Green || changes[1].ToInstitution != vd.InstitutionID {
			t.Errorf("after apply: tier %s, changes %+v", r.Tier, changes)
		}
		if evs, _ := f.st.SearchAudit(ctx, audit.Filter{Action: chronic.ActRecompute}); len(evs) != 2 || evs[0].AccountID != admin.AccountID || evs[0].Outcome != audit.OutcomeOK { // the stale batch above and the apply
			t.Errorf("recompute audit rows: %+v", evs)
		}
	})
}

// TestDemoFollowUps: the demo's registries and follow-ups load on both
// databases (COPY on PostgreSQL), the follow-up count is exact, and the
// stored tiers are what the rules give (a recompute moves nobody).
func TestDemoFollowUps(t *testing.T) {
	testdb.Each(t, func(t *testing.T, d store.Dialect) {
		clk := &clock{t: time.Date(2026, 11, 22, 2, 0, 0, 0, time.UTC)}
		st := testdb.Open(t, d, clk.Now)
		ctx := context.Background()
		res, err := demo.Generate(ctx, st, demo.Config{Residents: 4000, Villages: 10, VillageDoctors: 20, FollowUps: 3000, Now: clk.Now()}, quiet)
		if err != nil {
			t.Fatal(err)
		}
		if res.FollowUps != 3000 || res.ChronicPatients < 600 || res.ChronicPatients > 1400 {
			t.Errorf("demo: %d follow-ups, %d chronic patients", res.FollowUps, res.ChronicPatients)
		}
		orgs := &org.Service{Repo: st, Now: clk.Now}
		svc := &chronic.Service{Repo: st, Residents: &resident.Service{Repo: st, Orgs: orgs, Audit: syncRecorder{st, t}, Now: clk.Now}, Orgs: orgs,
			Audit: syncRecorder{st, t}, Config: chronic.DefaultConfig(), Now: clk.Now}
		sum, err := svc.Recompute(ctx, st, care.Actor{Role: care.RoleAdmin, CountyCode: "411723"}, false)
		if err != nil {
			t.Fatal(err)
		}
		if sum.Changed != 0 || sum.Visits != 3000-closedVisits(t, st) || sum.Tiers[chronic.Yellow]+sum.Tiers[chronic.Red] == 0 {
			t.Errorf("recompute over the demo: %+v", sum)
		}
		// The year-to-date indicators read from the year summaries equal those
		// the recompute tallied from every visit.
		today := care.Today(clk.Now())
		rep, err := svc.Indicators(ctx, care.Actor{Role: care.RoleAnalyst, CountyCode: "411723"}, care.Date{Year: today.Year, Month: 1, Day: 1}, today)
		if err != nil {
			t.Fatal(err)
		}
		if len(rep.Units) != len(sum.Indicators.Units) {
			t.Fatalf("units %d vs %d", len(rep.Units), len(sum.Indicators.Units))
		}
		for i, u := range rep.Units {
			for _, dis := range chronic.Diseases {
				if got, want := u.Cells[dis], sum.Indicators.Units[i].Cells[dis]; got != want {
					t.Errorf("%s %s: summaries %+v, visits %+v", u.Unit.Name, dis, got, want)
				}
			}
		}
		if c := rep.Units[0].Cells[chronic.Hypertension]; c.Standardised.Num == 0 || c.Controlled.Num == 0 {
			t.Errorf("county hypertension %+v", c)
		}
		// A new visit moves the summary at once.
		before := rep.Units[0].Cells[chronic.Hypertension]
		var reg int64
		st.ChronicPeriod(ctx, "411723", nil, care.Date{Year: today.Year, Month: 1, Day: 1}, today, func(p *chronic.PatientPeriod) error {
			if reg == 0 && p.Disease == chronic.Hypertension && p.Visits == 0 {
				reg = p.RegistrationID
			}
			return nil
		})
		r, _ := st.Registration(ctx, reg)
		sv := &chronic.StoredVisit{Visit: chronic.Visit{Disease: chronic.Hypertension, Date: today, FaceToFace: true, SBP: 120, DBP: 70},
			County: "411723", RegistrationID: reg, ResidentID: r.ResidentID, Outcome: chronic.Outcome{Class: chronic.Controlled, NextVisit: today.AddDays(90)}}
		if err := st.SaveVisit(ctx, sv, r, nil, nil, nil, audit.Event{Action: chronic.ActVisit}); err != nil {
			t.Fatal(err)
		}
		rep, _ = svc.Indicators(ctx, care.Actor{Role: care.RoleAnalyst, CountyCode: "411723"}, care.Date{Year: today.Year, Month: 1, Day: 1}, today)
		if after := rep.Units[0].Cells[chronic.Hypertension]; after.Controlled.Num != before.Controlled.Num+1 || after.Managed != before.Managed {
			t.Errorf("after a controlled visit: %+v, before %+v", after, before)
		}
	})
}

// closedVisits counts the demo's visits of closed (completed TB) registrations,
// which a recompute of active patients does not read.
func closedVisits(t *testing.T, st *store.Store) int {
	n := 0
	err := st.ChronicPeriod(context.Background(), "411723", nil, care.Date{Year: 2000, Month: 1, Day: 1}, care.Date{Year: 2030, Month: 1, Day: 1}, func(p *chronic.PatientPeriod) error {
		if p.Ended {
			n += p.Visits
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

type flakySender struct {
	fail  bool
	got   []notify.Message
	calls int
}

func (f *flakySender) Send(_ context.Context, m *notify.Message) error {
	f.calls++
	if f.fail {
		return errors.New("gateway down")
	}
	f.got = append(f.got, *m)
	return nil
}

// TestChronicReminders: overdue patients with a phone get one Chinese text
// reminder a week (the configured limit holds across repeated sends), and
// the dispatcher retries a failing gateway, then gives up after MaxAttempts.
func TestChronicReminders(t *testing.T) {
	testdb.Each(t, func(t *testing.T, d store.Dialect) {
		f := newFixture(t, d)
		svc := chronicService(f)
		ctx := context.Background()
		vd := f.actors[care.RoleVillageDoctor]
		people, _, _ := f.res.Search(ctx, vd, "", resident.Filter{BornOnOrBefore: care.Date{Year: 1975, Month: 1, Day: 1}, Limit: 40})
		today := care.Today(f.clk.Now())
		withPhone := 0
		for _, p := range people {
			if _, err := svc.Enroll(ctx, vd, p.ID, chronic.Hypertension, chronic.SourceDiagnosis, today.AddDays(-30), ""); err != nil {
				t.Fatal(err)
			}
			if p.Phone != "" {
				withPhone++
			}
		}
		if withPhone == 0 || withPhone == len(people) {
			t.Fatalf("fixture: %d of %d with a phone", withPhone, len(people))
		}
		r, err := svc.SendReminders(ctx, vd)
		if err != nil || r.Overdue != len(people) || r.Queued != withPhone || r.NoPhone != len(people)-withPhone {
			t.Fatalf("first send: %+v %v", r, err)
		}
		if r, err = svc.SendReminders(ctx, vd); err != nil || r.Queued != 0 || r.Limited != withPhone {
			t.Fatalf("second send the same week: %+v %v", r, err)
		}
		ms, _ := f.st.MessagesTo(ctx, vd.CountyCode, people[0].ID, chronic.PurposeReminder, 5)
		for _, p := range people {
			if p.Phone != "" {
				ms, _ = f.st.MessagesTo(ctx, vd.CountyCode, p.ID, chronic.PurposeReminder, 5)
				break
			}
		}
		if len(ms) != 1 || !strings.Contains(ms[0].Body, "高血压随访已到期30天") || ms[0].Status != notify.StatusQueued {
			t.Fatalf("message %+v", ms)
		}
		// The gateway is down: messages stay queued, then fail after MaxAttempts.
		fl := &flakySender{fail: true}
		dp := &notify.Dispatcher{Repo: f.st, Sender: fl, Log: quiet, Now: f.clk.Now}
		for i := 0; i < notify.MaxAttempts-1; i++ {
			if n, err := dp.RunOnce(ctx); err != nil || n != 0 {
				t.Fatalf("attempt %d: %d %v", i, n, err)
			}
			if n, _ := dp.RunOnce(ctx); n != 0 || fl.calls != (i+1)*withPhone {
				t.Fatalf("attempt %d: retried before its backoff (%d calls)", i, fl.calls)
			}
			f.clk.Add(time.Hour) // past the backoff
		}
		if pend, _ := f.st.PendingMessages(ctx, 1000); len(pend) != withPhone || pend[0].Attempts != notify.MaxAttempts-1 || pend[0].LastError != "gateway down" {
			t.Fatalf("pending after failures: %d", len(pend))
		}
		fl.fail = false
		if n, err := dp.RunOnce(ctx); err != nil || n != withPhone || len(fl.got) != withPhone {
			t.Fatalf("delivery: %d %v", n, err)
		}
		if pend, _ := f.st.PendingMessages(ctx, 1000); len(pend) != 0 {
			t.Errorf("still pending: %d", len(pend))
		}
		// A week later the limit allows the next reminder.
		f.clk.Add(8 * 24 * time.Hour)
		if r, err = svc.SendReminders(ctx, vd); err != nil || r.Queued != withPhone {
			t.Errorf("a week later: %+v %v", r, err)
		}
		fl.fail = true
		for i := 0; i < notify.MaxAttempts; i++ {
			dp.RunOnce(ctx)
			f.clk.Add(time.Hour)
		}
		if pend, _ := f.st.PendingMessages(ctx, 1000); len(pend) != 0 {
			t.Errorf("after %d failures messages are still queued: %d", notify.MaxAttempts, len(pend))
		}
		if evs, _ := f.st.SearchAudit(ctx, audit.Filter{Action: chronic.ActRemind}); len(evs) != 3 {
			t.Errorf("reminder audit rows: %d", len(evs))
		}
	})
}

// TestChronicVisitAwardsPoints: an attended (face-to-face) follow-up earns
// the resident's health points in the visit's transaction, once; a phone
// follow-up earns none, and a refused duplicate visit awards nothing.
func TestChronicVisitAwardsPoints(t *testing.T) {
	testdb.Each(t, func(t *testing.T, d store.Dialect) {
		f := newFixture(t, d)
		svc := chronicService(f)
		svc.Points = &points.Service{Repo: f.st, Residents: f.res, Rules: points.DefaultRules(), Audit: syncRecorder{f.st, t}, Now: f.clk.Now}
		ctx := context.Background()
		vd := f.actors[care.RoleVillageDoctor]
		people, _, _ := f.res.Search(ctx, vd, "", resident.Filter{BornOnOrBefore: care.Date{Year: 1970, Month: 1, Day: 1}, Limit: 1})
		today := care.Today(f.clk.Now())
		reg, err := svc.Enroll(ctx, vd, people[0].ID, chronic.Diabetes, chronic.SourceDiagnosis, today.AddDays(-60), "")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := svc.RecordVisit(ctx, vd, reg.ID, chronic.Visit{Date: today.AddDays(-30), FaceToFace: true, SBP: 120, DBP: 75, FPG: 62}, "", false); err != nil {
			t.Fatal(err)
		}
		if _, err := svc.RecordVisit(ctx, vd, reg.ID, chronic.Visit{Date: today.AddDays(-30), FaceToFace: true, SBP: 122, DBP: 75, FPG: 60}, "", false); care.ErrorCode(err) != care.ECONFLICT {
			t.Fatalf("duplicate: %v", err)
		}
		if _, err := svc.RecordVisit(ctx, vd, reg.ID, chronic.Visit{Date: today.AddDays(-2)}, "", true); err != nil {
			t.Fatal(err)
		}
		es, err := f.st.PointsLedger(ctx, vd.CountyCode, people[0].ID, 10)
		if err != nil || len(es) != 1 || es[0].Rule != points.FollowUp || es[0].Points != points.DefaultRules().For(points.FollowUp) {
			t.Errorf("ledger %+v %v", es, err)
		}
	})
}
