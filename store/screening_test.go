package store_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"countycare/care"
	"countycare/chronic"
	"countycare/internal/testdb"
	"countycare/org"
	"countycare/resident"
	"countycare/screening"
	"countycare/store"
)

func screeningService(f *fixture, t *testing.T) *screening.Service {
	ch := chronicService(f)
	ch.Audit = syncRecorder{f.st, t}
	return &screening.Service{Repo: f.st, Residents: f.res, Orgs: f.orgs, Chronic: ch, Atomic: f.st.Atomic, Audit: syncRecorder{f.st, t},
		Config: screening.DefaultConfig().FromChronic(chronic.DefaultConfig()), Now: f.clk.Now}
}

// TestScreeningJourney plans a township's campaign, records a village's
// measurements (国家基本公共卫生服务规范 第三版: 高血压 非同日 3 次血压升高
// → 疑似; 2 型糖尿病 随机血糖 ≥ 11.1 → 疑似), routes the suspected cases to
// the township with their due dates, confirms one into the registry in the
// same transaction and rules one out with a reason; impossible values and
// out-of-scope requests are refused whole and audited. Both databases.
func TestScreeningJourney(t *testing.T) {
	testdb.Each(t, func(t *testing.T, d store.Dialect) {
		f := newFixture(t, d)
		ctx := context.Background()
		svc := screeningService(f, t)
		vd, td := f.actors[care.RoleVillageDoctor], f.actors[care.RoleTownshipDoctor]
		tree, err := f.orgs.Tree(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if !tree.IsWithin(vd.InstitutionID, td.InstitutionID) {
			t.Fatal("the demo's village doctor is not under the demo's township")
		}
		today := care.Today(f.clk.Now())
		plan := screening.PlanInput{Name: "2026 两慢病入户筛查", Diseases: []chronic.Disease{chronic.Diabetes, chronic.Hypertension},
			Villages: []int64{vd.InstitutionID}, StartsOn: today.AddDays(-10), EndsOn: today.AddDays(60)}
		// Bad plans: a disease without a screening rule, a village of no
		// township's, a period backwards; a village doctor may not plan.
		bad := plan
		bad.Diseases = []chronic.Disease{chronic.Mental}
		if _, err := svc.Plan(ctx, td, bad); fieldKey(err) != "screening.disease_no_rule" {
			t.Fatalf("mental disorder campaign: %v", err)
		}
		bad = plan
		bad.Villages = []int64{td.InstitutionID}
		if _, err := svc.Plan(ctx, td, bad); fieldKey(err) != "screening.village_not_ours" {
			t.Fatalf("township as a village: %v", err)
		}
		bad = plan
		bad.EndsOn = plan.StartsOn.AddDays(-1)
		if _, err := svc.Plan(ctx, td, bad); fieldKey(err) != "screening.period_order" {
			t.Fatalf("backwards period: %v", err)
		}
		if _, err := svc.Plan(ctx, vd, plan); care.ErrorCode(err) != care.EFORBIDDEN {
			t.Fatalf("village doctor plans: %v", err)
		}
		c, err := svc.Plan(ctx, td, plan)
		if err != nil {
			t.Fatalf("plan: %v", err)
		}
		if !slices.Equal(c.Diseases, []chronic.Disease{chronic.Hypertension, chronic.Diabetes}) || c.MinAge != 35 {
			t.Fatalf("campaign %+v", c)
		}
		if cs, err := svc.Campaigns(ctx, vd); err != nil || len(cs) != 1 {
			t.Fatalf("village doctor's campaigns %v %v", cs, err)
		}

		unregistered := func(r *resident.Resident) bool {
			ds, _ := f.st.ActiveDiseases(ctx, r.CountyCode, r.ID)
			return len(ds) == 0 && r.Status == resident.StatusActive
		}
		p := findResident(t, f, vd, resident.Filter{}, func(r *resident.Resident) bool { return r.Age(today) >= 45 && unregistered(r) })
		young := findResident(t, f, vd, resident.Filter{}, func(r *resident.Resident) bool { return r.Age(today) >= 18 && r.Age(today) < 35 })
		// Impossible values and a resident under 35: refused, nothing stored.
		if _, _, err := svc.Record(ctx, vd, c.ID, p.ID, screening.RecordInput{SBP1: 400, DBP1: 80, SBP2: 130, DBP2: 80}); fieldKey(err) != "screening.sbp_range" {
			t.Fatalf("SBP 400: %v", err)
		}
		if _, _, err := svc.Record(ctx, vd, c.ID, young.ID, screening.RecordInput{SBP1: 130, DBP1: 80, SBP2: 130, DBP2: 80}); fieldKey(err) != "screening.resident_young" {
			t.Fatalf("young resident: %v", err)
		}
		if _, _, err := svc.Record(ctx, vd, c.ID, p.ID, screening.RecordInput{CoughDays: 20}); fieldKey(err) != "screening.not_screened" {
			t.Fatalf("TB symptoms in a 2-disease campaign: %v", err)
		}
		if _, _, err := svc.Record(ctx, td, c.ID, p.ID, screening.RecordInput{SBP1: 130, DBP1: 80, SBP2: 130, DBP2: 80}); care.ErrorCode(err) != care.EFORBIDDEN {
			t.Fatalf("township records: %v", err)
		}
		if _, rows, _, _ := svc.Coverage(ctx, vd, c.ID); len(rows) != 1 || rows[0].Screened != 0 || rows[0].Target == 0 {
			t.Fatalf("after refusals: %+v", rows)
		}
		raised := screening.RecordInput{SBP1: 152, DBP1: 96, SBP2: 148, DBP2: 92}
		for i, want := range []screening.Result{screening.Recheck, screening.Recheck} {
			in := raised
			in.Date = today.AddDays(i - 2)
			m, cases, err := svc.Record(ctx, vd, c.ID, p.ID, in)
			if err != nil || m.Results[chronic.Hypertension] != want || len(cases) != 0 {
				t.Fatalf("day %d: %+v %v %v", i, m, cases, err)
			}
		}
		if _, _, err := svc.Record(ctx, vd, c.ID, p.ID, screening.RecordInput{Date: today.AddDays(-1), SBP1: 150, DBP1: 95, SBP2: 150, DBP2: 95}); care.ErrorCode(err) != care.ECONFLICT {
			t.Fatalf("second measurement the same day: %v", err)
		}
		// The third different day raised, and a random glucose of 12.0.
		in := raised
		in.Glucose, in.MealHours = 120, 2
		m, cases, err := svc.Record(ctx, vd, c.ID, p.ID, in)
		if err != nil || m.Results[chronic.Hypertension] != screening.Suspected || m.Results[chronic.Diabetes] != screening.Suspected || len(cases) != 2 {
			t.Fatalf("third day: %+v %v %v", m, cases, err)
		}
		if cases[0].TownshipID != td.InstitutionID || cases[0].DueOn != today.AddDays(14) || cases[0].Rule != screening.RuleHypertension {
			t.Fatalf("case %+v", cases[0])
		}
		// Another source (the elderly check-up) for a second resident; a
		// second suspicion keeps the pending case.
		q := findResident(t, f, vd, resident.Filter{}, func(r *resident.Resident) bool { return r.ID != p.ID && r.Age(today) >= 65 && unregistered(r) })
		sus := screening.SuspectInput{ResidentID: q.ID, Disease: chronic.Hypertension, Source: screening.SourceCheckup, Rule: screening.RuleHypertension, Detail: "162/98 mmHg"}
		qc, err := svc.Suspect(ctx, vd, sus)
		if err != nil {
			t.Fatalf("suspect: %v", err)
		}
		if again, err := svc.Suspect(ctx, vd, sus); err != nil || again.ID != qc.ID {
			t.Fatalf("second suspicion %+v %v", again, err)
		}
		sus.Source = "rumour"
		if _, err := svc.Suspect(ctx, vd, sus); fieldKey(err) != "screening.source_unknown" {
			t.Fatalf("unknown source: %v", err)
		}

		// The township's follow-up list; overdue after the due date.
		list, err := svc.FollowUps(ctx, td)
		if err != nil || len(list) != 3 || list[0].Name == "" {
			t.Fatalf("follow-ups %+v %v", list, err)
		}
		if _, err := svc.FollowUps(ctx, vd); care.ErrorCode(err) != care.EFORBIDDEN {
			t.Fatalf("village doctor's follow-ups: %v", err)
		}
		f.clk.Add(20 * 24 * time.Hour)
		if !list[0].Overdue(care.Today(f.clk.Now())) {
			t.Fatalf("not overdue after 20 days: %+v", list[0])
		}

		// Another township's doctor: not found, audited as denied.
		other := td
		for _, in := range tree.OfKind(0, org.KindTownshipHC) {
			if in.ID != td.InstitutionID {
				other.InstitutionID = in.ID
				break
			}
		}
		if _, err := svc.Confirm(ctx, other, cases[0].ID, care.Date{}, ""); care.ErrorCode(err) != care.ENOTFOUND {
			t.Fatalf("other township confirms: %v", err)
		}
		var denied int
		f.st.QueryForTest(ctx, `SELECT COUNT(*) FROM audit_events WHERE action = 'screening.confirm' AND outcome = 'denied'`, &denied)
		if denied != 1 {
			t.Fatalf("denied confirmations audited %d, want 1", denied)
		}

		// Confirm: enrolled through the registry in the same transaction.
		hc, err := svc.Confirm(ctx, td, cases[0].ID, care.Date{}, "复测确诊")
		if err != nil || hc.Status != screening.CaseConfirmed || hc.RegistrationID == 0 {
			t.Fatalf("confirm %+v %v", hc, err)
		}
		regs, _ := f.st.Registrations(ctx, p.CountyCode, p.ID)
		if len(regs) != 1 || regs[0].Disease != chronic.Hypertension || regs[0].Source != chronic.SourceScreening || regs[0].ID != hc.RegistrationID {
			t.Fatalf("registrations %+v", regs)
		}
		if _, err := svc.Confirm(ctx, td, cases[0].ID, care.Date{}, ""); care.ErrorCode(err) != care.ECONFLICT {
			t.Fatalf("confirm twice: %v", err)
		}
		// A failing enrolment (already registered meanwhile) leaves the
		// case pending: nothing half-written.
		if _, err := chronicService(f).Enroll(ctx, td, q.ID, chronic.Hypertension, chronic.SourceDiagnosis, care.Today(f.clk.Now()), ""); err != nil {
			t.Fatal(err)
		}
		if _, err := svc.Confirm(ctx, td, qc.ID, care.Date{}, ""); fieldKey(err) != "chronic.already_registered" {
			t.Fatalf("confirm a registered resident: %v", err)
		}
		if still, _ := f.st.Case(ctx, q.CountyCode, qc.ID); still.Status != screening.CasePending {
			t.Fatalf("case after a failed confirmation: %+v", still)
		}
		// Rule out: a reason is required.
		if _, err := svc.RuleOut(ctx, td, cases[1].ID, care.Date{}, " "); fieldKey(err) != "screening.reason_required" {
			t.Fatalf("rule out without reason: %v", err)
		}
		if rc, err := svc.RuleOut(ctx, td, cases[1].ID, care.Date{}, "OGTT 正常"); err != nil || rc.Status != screening.CaseRuledOut {
			t.Fatalf("rule out %+v %v", rc, err)
		}

		// Coverage and yield: 1 screened, 1 suspected, 1 confirmed.
		_, rows, total, err := svc.Coverage(ctx, td, c.ID)
		if err != nil || len(rows) != 1 || total.Screened != 1 || total.Suspected != 1 || total.Confirmed != 1 || total.Target < 1 {
			t.Fatalf("coverage %+v %+v %v", rows, total, err)
		}
		if p, ok := total.Yield().Percent(); !ok || p != 100 {
			t.Fatalf("yield %v %v", p, ok)
		}
		var measured int
		f.st.QueryForTest(ctx, `SELECT COUNT(*) FROM audit_events WHERE action = 'screening.measure' AND outcome = 'ok'`, &measured)
		if measured != 3 {
			t.Fatalf("measurements audited %d, want 3", measured)
		}
	})
}
