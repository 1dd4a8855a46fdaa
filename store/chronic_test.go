package store_test

import (
	"context"
	"testing"
	"time"

	"countycare/care"
	"countycare/chronic"
	"countycare/internal/testdb"
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
