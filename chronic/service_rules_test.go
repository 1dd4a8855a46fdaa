package chronic

// Tests of chronic.Service with in-memory fakes of its Repository, the
// resident registry's storage and the organisation tree
// (service_fakes_test.go), added for mutation testing (issue 18 §6: the
// package's own tests never ran the service layer). Each test names the
// rule it pins: docs/chronic.md ("Follow-ups, tiers, hand-offs", "Overdue
// lists and reminders", "Indicators", "Recompute"), docs/architecture.md
// ("Access": a resident outside the scope is not found; reads audited),
// policy-rules.md §1 (tiers, indicators) or the rule named in the code.

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"countycare/access"
	"countycare/audit"
	"countycare/care"
	"countycare/points"
	"countycare/resident"
)

// svcNow is Monday 30 November 2026, 09:00 in Beijing.
var svcNow = time.Date(2026, 11, 30, 9, 0, 0, 0, care.Shanghai)

var (
	drGuo      = care.Actor{AccountID: 7, PractitionerID: 70, Username: "guo", Role: care.RoleVillageDoctor, InstitutionID: 11, CountyCode: county}
	drLi       = care.Actor{AccountID: 8, PractitionerID: 80, Username: "li", Role: care.RoleVillageDoctor, InstitutionID: 12, CountyCode: county}
	drTownship = care.Actor{AccountID: 9, PractitionerID: 90, Username: "zhou", Role: care.RoleTownshipDoctor, InstitutionID: 10, CountyCode: county}
	specialist = care.Actor{AccountID: 10, PractitionerID: 100, Username: "chen", Role: care.RoleCountySpecialist, InstitutionID: 3, CountyCode: county}
	analyst    = care.Actor{AccountID: 11, Username: "wang", Role: care.RoleAnalyst, InstitutionID: 1, CountyCode: county}
)

type svcFixture struct {
	s     *Service
	repo  *fakeRepo
	log   *auditLog
	clock *time.Time
}

// newSvc builds a service over the fakes: residents 100 and 101 (101 without
// a phone) of village 11, 102 of village 12, 103 of village 11 moved away,
// 104 of village 23.
func newSvc() *svcFixture {
	clock := svcNow
	now := func() time.Time { return clock }
	rs := &fakeResidents{people: map[int64]*resident.Resident{
		100: {ID: 100, CountyCode: county, Name: "郭福豪", BirthDate: day("1960-03-01"), Phone: "13800000001", VillageID: 11, Status: resident.StatusActive},
		101: {ID: 101, CountyCode: county, Name: "李秀英", BirthDate: day("1955-06-01"), VillageID: 11, Status: resident.StatusActive},
		102: {ID: 102, CountyCode: county, Name: "王建国", BirthDate: day("1950-01-01"), Phone: "13800000002", VillageID: 12, Status: resident.StatusActive},
		103: {ID: 103, CountyCode: county, Name: "赵敏", BirthDate: day("1958-01-01"), VillageID: 11, Status: resident.StatusMoved},
		104: {ID: 104, CountyCode: county, Name: "孙立", BirthDate: day("1962-01-01"), Phone: "13800000004", VillageID: 23, Status: resident.StatusActive},
	}, links: map[int64][]int64{}}
	log := &auditLog{}
	tr := testTree()
	repo := newFakeRepo(now, rs)
	s := &Service{
		Repo:      repo,
		Residents: &resident.Service{Repo: rs, Orgs: fakeOrgs{tr}, Audit: log, Now: now},
		Orgs:      fakeOrgs{tr},
		Audit:     log,
		Config:    DefaultConfig(),
		Now:       now,
		Points:    &points.Service{Rules: points.DefaultRules()},
	}
	return &svcFixture{s: s, repo: repo, log: log, clock: &clock}
}

func codeOf(err error) string {
	if ce, ok := err.(*care.Error); ok {
		return ce.Code
	}
	return ""
}

func keyOf(err error) string {
	if ce, ok := err.(*care.Error); ok {
		return ce.Key
	}
	return ""
}

// fieldKeys lists an EINVALID error's fields as "field:key".
func fieldKeys(err error) []string {
	ce, ok := err.(*care.Error)
	if !ok {
		return nil
	}
	var out []string
	for _, f := range ce.Fields {
		out = append(out, f.Field+":"+f.Key)
	}
	return out
}

var bg = context.Background()

// TestResponsibleInstitution pins Responsible (docs/chronic.md "Follow-ups,
// tiers, hand-offs"; TierRules: green is the village clinic, yellow its
// township-level center — township center, central center or sub-center —
// red the community's lead county hospital, else its first county
// hospital); without such a level the clinic keeps the patient.
func TestResponsibleInstitution(t *testing.T) {
	tr := testTree()
	for _, tt := range []struct {
		clinic int64
		tier   Tier
		want   int64
	}{
		{11, Green, 11}, {23, Green, 23},
		{11, Yellow, 10}, {12, Yellow, 10}, {23, Yellow, 22}, {32, Yellow, 31}, {40, Yellow, 40},
		{11, Red, 3}, {23, Red, 21}, {32, Red, 32}, {40, Red, 40},
		{11, Tier("purple"), 11},
	} {
		if got := Responsible(tr, tt.clinic, tt.tier); got != tt.want {
			t.Errorf("%s patient of clinic %d: managed by %d, want %d", tt.tier, tt.clinic, got, tt.want)
		}
	}
}

// TestEnrollRules pins Service.Enroll (docs/chronic.md; the doc comment):
// the registration is managed by the resident's village clinic, starts in
// Config.UnassessedTier and is due at once; TB starts in the intensive
// phase, staff-supervised, first visit within Config.TBFirstVisitHours
// (72 h, 肺结核患者健康管理服务规范); one active registration per disease;
// every field fault named; a resident out of scope is not found.
func TestEnrollRules(t *testing.T) {
	f := newSvc()
	today := care.Today(svcNow)
	r, err := f.s.Enroll(bg, drGuo, 100, Hypertension, SourceDiagnosis, today, "  确诊于县医院  ")
	if err != nil {
		t.Fatal(err)
	}
	want := Registration{ID: r.ID, County: county, ResidentID: 100, Disease: Hypertension, Status: StatusActive, Source: SourceDiagnosis,
		EnrolledOn: today, ClinicID: 11, DoctorID: 70, Tier: Green, TierSince: today, NextVisit: today, Note: "确诊于县医院",
		CreatedAt: svcNow, Version: 1}
	if *r != want {
		t.Errorf("registration\n got %+v\nwant %+v", *r, want)
	}
	if len(f.repo.events) != 1 || f.repo.events[0].Action != ActEnroll || f.repo.events[0].ResidentID != 100 ||
		f.repo.events[0].CountyCode != county || f.repo.events[0].Detail != "hypertension from diagnosis" || f.repo.events[0].AccountID != 7 {
		t.Errorf("enrolment audit row %+v", f.repo.events)
	}
	if !slices.Equal(f.log.actions(), []string{audit.ActResidentRead}) {
		t.Errorf("reads audited: %v, want the resident read", f.log.actions())
	}
	// Config.UnassessedTier is the tier before any visit.
	f.s.Config.UnassessedTier = Yellow
	if r, err := f.s.Enroll(bg, drGuo, 100, Diabetes, SourceScreening, today.AddDays(-30), ""); err != nil || r.Tier != Yellow || r.NextVisit != today.AddDays(-30) {
		t.Errorf("diabetes enrolment with unassessed tier yellow: %+v %v", r, err)
	}
	// One active registration per disease: the store's conflict is a field error.
	_, err = f.s.Enroll(bg, drGuo, 100, Hypertension, SourceReferral, today, "")
	if codeOf(err) != care.EINVALID || !slices.Equal(fieldKeys(err), []string{"disease:chronic.already_registered"}) {
		t.Errorf("second hypertension registration: %v %v", err, fieldKeys(err))
	}
	// TB: intensive phase, staff supervision, first visit 72 h after notification.
	tb, err := f.s.Enroll(bg, drGuo, 101, Tuberculosis, SourceReferral, today, "")
	if err != nil || tb.TBPhase != TBIntensive || tb.TBSupervisor != SupervisorStaff || tb.NextVisit != day("2026-12-03") {
		t.Errorf("TB registration %+v %v", tb, err)
	}
	if r, err := f.s.Enroll(bg, drGuo, 101, Hypertension, SourceReferral, today, ""); err != nil || r.TBPhase != "" || r.NextVisit != today {
		t.Errorf("hypertension registration has no TB phase: %+v %v", r, err)
	}
	// Birth day and today are the bounds of the enrolment date; 200 characters of note.
	if _, err := f.s.Enroll(bg, drGuo, 101, Mental, SourceDiagnosis, day("1955-06-01"), strings.Repeat("记", 200)); err != nil {
		t.Errorf("enrolled on the day of birth with a 200-character note: %v", err)
	}
	for _, tt := range []struct {
		name     string
		res      int64
		d        Disease
		source   string
		on       care.Date
		note     string
		wantKeys []string
	}{
		{"unknown disease", 102, "asthma", SourceDiagnosis, today, "", []string{"disease:chronic.disease.invalid"}},
		{"unknown source", 102, Hypertension, "rumour", today, "", []string{"source:chronic.source.invalid"}},
		{"no date", 102, Hypertension, SourceDiagnosis, care.Date{}, "", []string{"enrolled_on:chronic.date.invalid"}},
		{"tomorrow", 102, Hypertension, SourceDiagnosis, today.AddDays(1), "", []string{"enrolled_on:chronic.date.invalid"}},
		{"before birth", 102, Hypertension, SourceDiagnosis, day("1949-12-31"), "", []string{"enrolled_on:chronic.date.invalid"}},
		{"201 characters", 102, Hypertension, SourceDiagnosis, today, strings.Repeat("记", 201), []string{"note:field.too_long"}},
		{"moved away", 103, Hypertension, SourceDiagnosis, today, "", []string{"resident_id:chronic.resident_not_active"}},
		{"everything", 103, "asthma", "", today.AddDays(1), strings.Repeat("x", 201),
			[]string{"disease:chronic.disease.invalid", "source:chronic.source.invalid", "enrolled_on:chronic.date.invalid", "note:field.too_long", "resident_id:chronic.resident_not_active"}},
	} {
		actor := drGuo
		if tt.res == 102 {
			actor = drLi
		}
		_, err := f.s.Enroll(bg, actor, tt.res, tt.d, tt.source, tt.on, tt.note)
		if codeOf(err) != care.EINVALID || !slices.Equal(fieldKeys(err), tt.wantKeys) {
			t.Errorf("%s: %v %v, want %v", tt.name, err, fieldKeys(err), tt.wantKeys)
		}
	}
	if ce, _ := err.(*care.Error); ce != nil && len(ce.Fields) > 0 {
		// the note's limit is an argument of its message
		for _, fe := range ce.Fields {
			if fe.Field == "note" && (len(fe.Args) != 1 || fe.Args[0] != 200) {
				t.Errorf("note limit args %v", fe.Args)
			}
		}
	}
	// Each of the three sources is accepted.
	for i, src := range []string{SourceDiagnosis, SourceReferral, SourceScreening} {
		d := []Disease{Hypertension, Diabetes, Hepatitis}[i]
		if _, err := f.s.Enroll(bg, drLi, 102, d, src, today, ""); err != nil {
			t.Errorf("source %s: %v", src, err)
		}
	}
	// Out of scope: not found, like a missing resident, and the attempt audited as denied.
	before := len(f.repo.events)
	if _, err := f.s.Enroll(bg, drLi, 100, Diabetes, SourceDiagnosis, today, ""); codeOf(err) != care.ENOTFOUND {
		t.Errorf("village 12 enrolling a villager of 11: %v", err)
	}
	if _, err := f.s.Enroll(bg, drGuo, 999, Diabetes, SourceDiagnosis, today, ""); codeOf(err) != care.ENOTFOUND {
		t.Errorf("missing resident: %v", err)
	}
	if len(f.repo.events) != before {
		t.Error("a refused enrolment wrote a registration")
	}
	last := f.log.events[len(f.log.events)-2]
	if last.Outcome != audit.OutcomeDenied || last.ResidentID != 100 {
		t.Errorf("out-of-scope attempt audited as %+v", last)
	}
}

// enrolled registers resident 100 (or another) in a disease on 1 June 2026.
func enrolled(t *testing.T, f *svcFixture, a care.Actor, res int64, d Disease) *Registration {
	t.Helper()
	r, err := f.s.Enroll(bg, a, res, d, SourceDiagnosis, day("2026-06-01"), "")
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestRecordVisitRules pins Service.RecordVisit (docs/chronic.md "Follow-ups,
// tiers, hand-offs"): the visit is classified per the national spec
// (高血压患者健康管理服务规范 二(三)), dated, saved with the registration's new
// state; a tier change hands the patient to the level that now manages them
// (TierRules, Responsible), with a care link for the county hospital on red;
// health points for an attended visit only (seed 001 积分制, once per
// event); the audit row in the same transaction.
func TestRecordVisitRules(t *testing.T) {
	f := newSvc()
	r := enrolled(t, f, drGuo, 100, Hypertension)
	f.repo.events = nil
	today := care.Today(svcNow)

	// 1. Controlled, face to face: routine follow-up in 90 days, tier unchanged.
	sv, err := f.s.RecordVisit(bg, drGuo, r.ID, Visit{Date: day("2026-09-01"), FaceToFace: true, SBP: 130, DBP: 80}, "  低盐饮食  ", false)
	if err != nil {
		t.Fatal(err)
	}
	if sv.Outcome.Class != Controlled || sv.Outcome.NextVisit != day("2026-11-30") || sv.Disease != Hypertension || sv.County != county ||
		sv.RegistrationID != r.ID || sv.ResidentID != 100 || sv.RecordedBy != 7 || sv.InstitutionID != 11 || sv.Lifestyle != "低盐饮食" {
		t.Errorf("stored visit %+v", sv)
	}
	got := f.repo.regs[r.ID]
	if got.LastClass != Controlled || got.LastVisit != day("2026-09-01") || got.NextVisit != day("2026-11-30") || got.Tier != Green || got.Risk != 0 || got.Version != 2 {
		t.Errorf("registration after a controlled visit %+v", got)
	}
	if len(f.repo.changes) != 0 || len(f.repo.links) != 0 {
		t.Errorf("no tier move expected: %+v %+v", f.repo.changes, f.repo.links)
	}
	wantAward := points.Entry{CountyCode: county, ResidentID: 100, Rule: points.FollowUp, EventRef: fmt.Sprintf("chronic_visit:%d:2026-09-01", r.ID),
		Points: points.DefaultRules().For(points.FollowUp), On: day("2026-09-01"), CreatedBy: 7}
	if len(f.repo.awards) != 1 || f.repo.awards[0] != wantAward || wantAward.Points <= 0 {
		t.Errorf("award %+v, want %+v", f.repo.awards, wantAward)
	}
	ev := f.repo.events[0]
	if ev.Action != ActVisit || ev.ResidentID != 100 || ev.CountyCode != county || ev.Detail != "hypertension visit 2026-09-01: controlled next 2026-11-30 tier green" {
		t.Errorf("visit audit row %+v", ev)
	}

	// 2. Uncontrolled, by phone: recheck in 2 weeks, yellow → the township center; no points by phone.
	sv, err = f.s.RecordVisit(bg, drGuo, r.ID, Visit{Date: day("2026-10-01"), SBP: 150, DBP: 95}, "", false)
	if err != nil || sv.Outcome.Class != Uncontrolled || sv.Outcome.NextVisit != day("2026-10-15") {
		t.Fatalf("uncontrolled visit %+v %v", sv, err)
	}
	if len(f.repo.awards) != 1 {
		t.Errorf("a phone visit earned points: %+v", f.repo.awards)
	}
	got = f.repo.regs[r.ID]
	if got.Tier != Yellow || got.TierSince != day("2026-10-01") || got.Risk != 1 || got.LastClass != Uncontrolled {
		t.Errorf("registration after an uncontrolled visit %+v", got)
	}
	wantChange := TierChange{ID: f.repo.changes[0].ID, County: county, RegistrationID: r.ID, ResidentID: 100, From: Green, To: Yellow,
		Reason: "chronic.tier.reason.yellow", ToInstitution: 10, CreatedAt: svcNow}
	if len(f.repo.changes) != 1 || f.repo.changes[0] != wantChange || len(f.repo.links) != 0 {
		t.Errorf("hand-off %+v, want %+v (links %+v)", f.repo.changes, wantChange, f.repo.links)
	}

	// 3. A second uncontrolled visit in a row: referral, red → the lead county hospital, with a care link.
	sv, err = f.s.RecordVisit(bg, drGuo, r.ID, Visit{Date: day("2026-10-15"), FaceToFace: true, SBP: 152, DBP: 96}, "", false)
	if err != nil || !sv.Outcome.Refer || !slices.Contains(sv.Outcome.ReferReasons, ReferTwoUncontrolled) {
		t.Fatalf("second uncontrolled visit %+v %v", sv, err)
	}
	if c := f.repo.changes[1]; c.From != Yellow || c.To != Red || c.ToInstitution != 3 || c.Reason != "chronic.tier.reason.red" {
		t.Errorf("red hand-off %+v", c)
	}
	wantLink := access.CareLink{CountyCode: county, ResidentID: 100, InstitutionID: 3, Kind: LinkKindChronic, Reason: "hypertension red tier", CreatedBy: 7, CreatedAt: svcNow}
	if len(f.repo.links) != 1 || f.repo.links[0] != wantLink {
		t.Errorf("care link %+v, want %+v", f.repo.links, wantLink)
	}
	if len(f.repo.awards) != 2 || f.repo.awards[1].EventRef != fmt.Sprintf("chronic_visit:%d:2026-10-15", r.ID) {
		t.Errorf("second award %+v", f.repo.awards)
	}

	// 4. A late visit dated before the last one is stored but leaves the
	// registration's last visit, next visit and risk as they were.
	if _, err := f.s.RecordVisit(bg, drGuo, r.ID, Visit{Date: day("2026-09-15"), FaceToFace: true, SBP: 128, DBP: 78}, "", false); err != nil {
		t.Fatal(err)
	}
	got = f.repo.regs[r.ID]
	if got.LastVisit != day("2026-10-15") || got.NextVisit != day("2026-10-29") || got.LastClass != Uncontrolled || got.Risk != 1 {
		t.Errorf("a late visit moved the registration's last visit: %+v", got)
	}

	// 5. Two visits the same day: the store's conflict.
	if _, err := f.s.RecordVisit(bg, drGuo, r.ID, Visit{Date: day("2026-10-15"), SBP: 130, DBP: 80}, "", false); codeOf(err) != care.ECONFLICT || keyOf(err) != "chronic.visit_duplicate" {
		t.Errorf("second visit on 2026-10-15: %v", err)
	}

	// 6. Impossible values and a too-long lifestyle note are refused, naming each field.
	_, err = f.s.RecordVisit(bg, drGuo, r.ID, Visit{Date: today.AddDays(1), SBP: 130, DBP: 80}, strings.Repeat("盐", 201), false)
	if codeOf(err) != care.EINVALID || !slices.Equal(fieldKeys(err), []string{"date:chronic.date.future", "lifestyle:field.too_long"}) {
		t.Errorf("future visit with 201-character lifestyle: %v %v", err, fieldKeys(err))
	}
	if _, err := f.s.RecordVisit(bg, drGuo, r.ID, Visit{Date: day("2026-11-02"), SBP: 130, DBP: 80}, strings.Repeat("盐", 200), false); err != nil {
		t.Errorf("200-character lifestyle: %v", err)
	}

	// 7. Extreme values need the clinician's confirmation (CheckVisit warnings).
	extreme := Visit{Date: today, FaceToFace: true, SBP: 260, DBP: 100}
	_, err = f.s.RecordVisit(bg, drGuo, r.ID, extreme, "", false)
	if codeOf(err) != care.EINVALID || keyOf(err) != KeyConfirm || !slices.Equal(fieldKeys(err), []string{"sbp:chronic.warn.bp_extreme"}) {
		t.Errorf("unconfirmed SBP 260: %v %v", err, fieldKeys(err))
	}
	sv, err = f.s.RecordVisit(bg, drGuo, r.ID, extreme, "", true)
	if err != nil || len(sv.Outcome.Urgent) == 0 || f.repo.regs[r.ID].Risk != 3 {
		t.Errorf("confirmed SBP 260: %+v %v (risk %d)", sv, err, f.repo.regs[r.ID].Risk)
	}

	// 8. Unknown, out of scope, closed.
	if _, err := f.s.RecordVisit(bg, drGuo, 999, Visit{Date: today, SBP: 130, DBP: 80}, "", false); codeOf(err) != care.ENOTFOUND || keyOf(err) != "chronic.not_found" {
		t.Errorf("unknown registration: %v", err)
	}
	if _, err := f.s.RecordVisit(bg, drLi, r.ID, Visit{Date: today, SBP: 130, DBP: 80}, "", false); codeOf(err) != care.ENOTFOUND || keyOf(err) != "resident.not_found" {
		t.Errorf("village 12 recording for a villager of 11: %v", err)
	}
	if _, err := f.s.SetStatus(bg, drGuo, r.ID, StatusDied); err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.RecordVisit(bg, drGuo, r.ID, Visit{Date: day("2026-11-03"), SBP: 130, DBP: 80}, "", false); codeOf(err) != care.ECONFLICT || keyOf(err) != "chronic.not_active" {
		t.Errorf("visit to a closed registration: %v", err)
	}
}

// TestVisitUsesTheRegistration pins what RecordVisit takes from the
// registration (docs/chronic.md; OverdueRisk): the disease classifies the
// visit whatever the form says, and a prior stroke or MI on the registration
// raises an uncontrolled hypertensive's overdue risk to 2. Without a points
// service nothing is awarded.
func TestVisitUsesTheRegistration(t *testing.T) {
	f := newSvc()
	f.s.Points = nil
	r := enrolled(t, f, drGuo, 100, Hypertension)
	f.repo.regs[r.ID].PriorStrokeMI = true
	sv, err := f.s.RecordVisit(bg, drGuo, r.ID, Visit{Disease: Diabetes, Date: day("2026-11-01"), FaceToFace: true, SBP: 150, DBP: 95, FPG: 60}, "", false)
	if err != nil || sv.Disease != Hypertension || sv.Outcome.Class != Uncontrolled || !sv.PriorStrokeMI {
		t.Fatalf("visit %+v %v", sv, err)
	}
	if f.repo.regs[r.ID].Risk != 2 || len(f.repo.awards) != 0 {
		t.Errorf("risk %d, awards %+v", f.repo.regs[r.ID].Risk, f.repo.awards)
	}
}

// TestSetStatusRules pins Service.SetStatus (docs/chronic.md "The counters
// move…: a status change"; RegistrationStatuses): a known status only; a
// closure is dated today, a re-activation clears the date; one active
// registration per disease; audited with the registration and new status.
func TestSetStatusRules(t *testing.T) {
	f := newSvc()
	r := enrolled(t, f, drGuo, 100, Hypertension)
	f.repo.events = nil
	for _, st := range []string{StatusTransferred, StatusMoved, StatusDied, StatusClosed} {
		got, err := f.s.SetStatus(bg, drGuo, r.ID, st)
		if err != nil || got.Status != st || got.ClosedOn != care.Today(svcNow) || f.repo.regs[r.ID].ClosedOn != care.Today(svcNow) {
			t.Errorf("status %s: %+v %v", st, got, err)
		}
	}
	got, err := f.s.SetStatus(bg, drGuo, r.ID, StatusActive)
	if err != nil || !got.ClosedOn.IsZero() || f.repo.regs[r.ID].Status != StatusActive {
		t.Errorf("re-activated: %+v %v", got, err)
	}
	if n := len(f.repo.events); n != 5 || f.repo.events[4].Action != ActStatus || f.repo.events[4].ResidentID != 100 ||
		f.repo.events[4].Detail != fmt.Sprintf("hypertension registration %d → active", r.ID) {
		t.Errorf("status audit rows %+v", f.repo.events)
	}
	if _, err := f.s.SetStatus(bg, drGuo, r.ID, "lost"); codeOf(err) != care.EINVALID || !slices.Equal(fieldKeys(err), []string{"status:chronic.status.invalid"}) {
		t.Errorf("unknown status: %v", err)
	}
	// A closed registration cannot come back beside a new active one.
	if _, err := f.s.SetStatus(bg, drGuo, r.ID, StatusClosed); err != nil {
		t.Fatal(err)
	}
	enrolled(t, f, drGuo, 100, Hypertension)
	if _, err := f.s.SetStatus(bg, drGuo, r.ID, StatusActive); codeOf(err) != care.ECONFLICT {
		t.Errorf("second active hypertension registration: %v", err)
	}
	if _, err := f.s.SetStatus(bg, drLi, r.ID, StatusDied); codeOf(err) != care.ENOTFOUND {
		t.Errorf("out of scope: %v", err)
	}
}

// TestReadsAreScoped pins the reads (docs/architecture.md "Access": every
// call is scoped by the resident registry, a resident out of scope is not
// found; RegistrationsOf is for a resident already read in the request, so
// one page view is one audited read).
func TestReadsAreScoped(t *testing.T) {
	f := newSvc()
	ht := enrolled(t, f, drGuo, 100, Hypertension)
	dm := enrolled(t, f, drGuo, 100, Diabetes)
	if _, err := f.s.SetStatus(bg, drGuo, ht.ID, StatusClosed); err != nil {
		t.Fatal(err)
	}
	f.log.events = nil
	regs, err := f.s.ForResident(bg, drGuo, 100)
	if err != nil || len(regs) != 2 || regs[0].ID != dm.ID || regs[1].ID != ht.ID {
		t.Errorf("registrations of 100, active first: %+v %v", regs, err)
	}
	if !slices.Equal(f.log.actions(), []string{audit.ActResidentRead}) {
		t.Errorf("ForResident audit %v", f.log.actions())
	}
	if _, err := f.s.ForResident(bg, drLi, 100); codeOf(err) != care.ENOTFOUND {
		t.Errorf("out of scope: %v", err)
	}
	f.log.events = nil
	regs, err = f.s.RegistrationsOf(bg, f.repo.residents.people[100])
	if err != nil || len(regs) != 2 || len(f.log.events) != 0 {
		t.Errorf("RegistrationsOf: %+v %v, audit %v", regs, err, f.log.actions())
	}
	// Detail: visits newest first and the tier history.
	for _, v := range []Visit{{Date: day("2026-09-01"), FPG: 80}, {Date: day("2026-10-01"), FPG: 60}} {
		if _, err := f.s.RecordVisit(bg, drGuo, dm.ID, v, "", false); err != nil {
			t.Fatal(err)
		}
	}
	// RecordOf: every registration with its visits, for one audited read.
	f.log.events = nil
	regs, byReg, err := f.s.RecordOf(bg, drGuo, 100)
	if err != nil || len(regs) != 2 || len(byReg[dm.ID]) != 2 || byReg[dm.ID][0].Date != day("2026-10-01") || len(byReg[ht.ID]) != 0 ||
		!slices.Equal(f.log.actions(), []string{audit.ActResidentRead}) {
		t.Errorf("RecordOf: %+v %+v %v, audit %v", regs, byReg, err, f.log.actions())
	}
	if _, _, err := f.s.RecordOf(bg, drLi, 100); codeOf(err) != care.ENOTFOUND {
		t.Errorf("RecordOf out of scope: %v", err)
	}
	r, vs, ts, err := f.s.Detail(bg, drGuo, dm.ID)
	if err != nil || r.ID != dm.ID || len(vs) != 2 || vs[0].Date != day("2026-10-01") || len(ts) != len(f.repo.changes) {
		t.Errorf("detail %+v %+v %+v %v", r, vs, ts, err)
	}
	if _, _, _, err := f.s.Detail(bg, drLi, dm.ID); codeOf(err) != care.ENOTFOUND {
		t.Errorf("detail out of scope: %v", err)
	}
	if _, _, _, err := f.s.Detail(bg, drGuo, 999); codeOf(err) != care.ENOTFOUND {
		t.Errorf("detail of a missing registration: %v", err)
	}
	// A county specialist sees a patient with a live care link to their hospital.
	if _, _, _, err := f.s.Detail(bg, specialist, dm.ID); codeOf(err) != care.ENOTFOUND {
		t.Errorf("specialist without a link: %v", err)
	}
	f.repo.residents.links[100] = []int64{3}
	if _, _, _, err := f.s.Detail(bg, specialist, dm.ID); err != nil {
		t.Errorf("specialist with a care link: %v", err)
	}
}

// TestOverdueAndCalls pins the overdue list and call outcomes (docs/chronic.md
// "Overdue lists and reminders"): a clinic's (or township's) patients whose
// next visit has passed, high risk first; a call hides the patient for
// Config.CallHideDays[outcome]; the list read is audited; staff without a
// managed area are refused.
func TestOverdueAndCalls(t *testing.T) {
	f := newSvc()
	a := enrolled(t, f, drGuo, 100, Hypertension) // next visit 2026-06-01
	b := enrolled(t, f, drGuo, 101, Diabetes)
	c := enrolled(t, f, drLi, 102, Hypertension)
	f.repo.regs[b.ID].Risk = 2
	f.repo.regs[c.ID].NextVisit = care.Today(svcNow) // due today: not overdue
	f.log.events = nil
	list, err := f.s.Overdue(bg, drGuo)
	if err != nil || len(list) != 2 || list[0].ID != b.ID || list[1].ID != a.ID || list[1].DaysOverdue != 182 {
		t.Fatalf("overdue of village 11: %+v %v", list, err)
	}
	if len(f.log.events) != 1 || f.log.events[0].Action != ActOverdue || f.log.events[0].Detail != "overdue list n=2" || f.log.events[0].AccountID != 7 {
		t.Errorf("overdue audit %+v", f.log.events)
	}
	f.repo.regs[c.ID].NextVisit = day("2026-11-29")
	if list, err := f.s.Overdue(bg, drTownship); err != nil || len(list) != 3 {
		t.Errorf("township's overdue list: %d %v", len(list), err)
	}
	if _, err := f.s.Overdue(bg, specialist); codeOf(err) != care.EFORBIDDEN {
		t.Errorf("county specialist's overdue list: %v", err)
	}
	// Calls: each outcome hides the patient for its configured days.
	for _, o := range CallOutcomes {
		call, err := f.s.RecordCall(bg, drGuo, a.ID, o)
		if err != nil || call.HideUntil != care.Today(svcNow).AddDays(f.s.Config.CallHideDays[o]) || call.Outcome != o ||
			call.RegistrationID != a.ID || call.County != county || call.CalledBy != 7 {
			t.Errorf("call %s: %+v %v", o, call, err)
		}
	}
	if ev := f.repo.events[len(f.repo.events)-1]; ev.Action != ActCall || ev.Detail != "call: "+CallMoved || ev.ResidentID != 100 {
		t.Errorf("call audit row %+v", ev)
	}
	if list, _ := f.s.Overdue(bg, drGuo); len(list) != 1 || list[0].ID != b.ID {
		t.Errorf("after the calls: %+v", list)
	}
	if _, err := f.s.RecordCall(bg, drGuo, a.ID, "hung_up"); codeOf(err) != care.EINVALID || !slices.Equal(fieldKeys(err), []string{"outcome:chronic.call.invalid"}) {
		t.Errorf("unknown call outcome: %v", err)
	}
	if _, err := f.s.RecordCall(bg, drLi, a.ID, CallAgreed); codeOf(err) != care.ENOTFOUND {
		t.Errorf("call out of scope: %v", err)
	}
}

// TestHandoffsAndBoard pins hand-off acknowledgement (docs/chronic.md: "The
// receiving level acknowledges hand-offs at /chronic/handoffs"; only the
// receiving institution, once) and the tier board (active registrations by
// tier for each clinic of the actor's managed area).
func TestHandoffsAndBoard(t *testing.T) {
	f := newSvc()
	r := enrolled(t, f, drGuo, 100, Hypertension)
	enrolled(t, f, drGuo, 101, Hypertension)
	enrolled(t, f, drLi, 102, Diabetes)
	if _, err := f.s.RecordVisit(bg, drGuo, r.ID, Visit{Date: day("2026-11-01"), SBP: 150, DBP: 95}, "", false); err != nil {
		t.Fatal(err)
	}
	open, err := f.s.Handoffs(bg, drTownship, true)
	if err != nil || len(open) != 1 || open[0].RegistrationID != r.ID || open[0].To != Yellow {
		t.Fatalf("township's open hand-offs %+v %v", open, err)
	}
	id := open[0].ID
	if err := f.s.Acknowledge(bg, drGuo, id); codeOf(err) != care.ENOTFOUND {
		t.Errorf("village acknowledging the township's hand-off: %v", err)
	}
	f.repo.events = nil
	if err := f.s.Acknowledge(bg, drTownship, id); err != nil {
		t.Fatal(err)
	}
	if c := f.repo.changes[0]; c.AcknowledgedBy != 9 || !c.AcknowledgedAt.Equal(svcNow) {
		t.Errorf("acknowledged %+v", c)
	}
	if ev := f.repo.events[0]; ev.Action != ActHandoff || ev.Detail != fmt.Sprintf("hand-off %d", id) || ev.ResidentID != 100 || ev.AccountID != 9 {
		t.Errorf("acknowledgement audit %+v", ev)
	}
	if err := f.s.Acknowledge(bg, drTownship, id); codeOf(err) != care.ECONFLICT {
		t.Errorf("second acknowledgement: %v", err)
	}
	if open, _ := f.s.Handoffs(bg, drTownship, true); len(open) != 0 {
		t.Errorf("open after acknowledgement: %+v", open)
	}
	if all, _ := f.s.Handoffs(bg, drTownship, false); len(all) != 1 {
		t.Errorf("all hand-offs: %+v", all)
	}
	board, err := f.s.Board(bg, drGuo)
	if err != nil || len(board) != 1 || board[11][Yellow] != 1 || board[11][Green] != 1 {
		t.Errorf("village 11 board %v %v", board, err)
	}
	board, err = f.s.Board(bg, drTownship)
	if err != nil || len(board) != 2 || board[12][Green] != 1 {
		t.Errorf("township board %v %v", board, err)
	}
	if _, err := f.s.Board(bg, analyst); codeOf(err) != care.EFORBIDDEN {
		t.Errorf("analyst's board: %v", err)
	}
}

// TestSendReminders pins SendReminders (docs/chronic.md "Overdue lists and
// reminders"): one Chinese SMS per overdue resident with a phone (one even
// with two overdue registries), named with the county and clinic, at most
// Config.RemindersPerWeek per resident in the 7 days before now, one
// audit row; staff without a managed area are refused.
func TestSendReminders(t *testing.T) {
	f := newSvc()
	enrolled(t, f, drGuo, 100, Hypertension)
	enrolled(t, f, drGuo, 100, Diabetes)
	enrolled(t, f, drGuo, 101, Hypertension) // no phone
	enrolled(t, f, drLi, 102, Hypertension)
	f.repo.events = nil
	got, err := f.s.SendReminders(bg, drGuo)
	if err != nil || *got != (Reminders{Overdue: 3, NoPhone: 1, Queued: 1, Limited: 0}) {
		t.Fatalf("reminders %+v %v", got, err)
	}
	if !f.repo.queuedSince.Equal(svcNow.Add(-7*24*time.Hour)) || f.repo.queuedWeek != 1 || f.repo.overdueLimit != 5000 {
		t.Errorf("limit window from %v, %d a week, list of %d", f.repo.queuedSince, f.repo.queuedWeek, f.repo.overdueLimit)
	}
	m := f.repo.outbox[0]
	if m.Recipient != "13800000001" || m.ResidentID != 100 || m.County != county || m.Purpose != PurposeReminder || m.Channel != "sms" ||
		m.Body != ReminderText("示例县", "郭福豪", Hypertension, "郭庄村卫生室", 182) {
		t.Errorf("message %+v", m)
	}
	if ev := f.repo.events[0]; ev.Action != ActRemind || ev.Detail != "reminders: 3 overdue, 1 with a phone" || ev.AccountID != 7 {
		t.Errorf("reminder audit %+v", ev)
	}
	// Again the same day, and exactly 7 days later: already reminded this week.
	for _, at := range []time.Time{svcNow, svcNow.Add(7 * 24 * time.Hour)} {
		*f.clock = at
		if got, err := f.s.SendReminders(bg, drGuo); err != nil || got.Queued != 0 || got.Limited != 1 {
			t.Errorf("at %v: %+v %v", at, got, err)
		}
	}
	*f.clock = svcNow.Add(7*24*time.Hour + time.Second)
	if got, err := f.s.SendReminders(bg, drGuo); err != nil || got.Queued != 1 || got.Limited != 0 {
		t.Errorf("a week and a second later: %+v %v", got, err)
	}
	*f.clock = svcNow
	if got, err := f.s.SendReminders(bg, drTownship); err != nil || got.Overdue != 4 || got.Queued != 1 || got.Limited != 1 {
		t.Errorf("township: %+v %v", got, err)
	}
	if _, err := f.s.SendReminders(bg, analyst); codeOf(err) != care.EFORBIDDEN {
		t.Errorf("analyst: %v", err)
	}
}

// indicatorFixture: hypertension in villages 11 (controlled) and 12,
// diabetes in village 11, residents ≥ 35 counted in villages 11 and 23 only.
func indicatorFixture(t *testing.T) *svcFixture {
	f := newSvc()
	ht := enrolled(t, f, drGuo, 100, Hypertension)
	enrolled(t, f, drGuo, 100, Diabetes)
	enrolled(t, f, drLi, 102, Hypertension)
	if _, err := f.s.RecordVisit(bg, drGuo, ht.ID, Visit{Date: day("2026-11-01"), FaceToFace: true, SBP: 130, DBP: 80}, "", false); err != nil {
		t.Fatal(err)
	}
	f.repo.adults = map[int64]int{11: 100, 23: 40}
	f.log.events = nil
	return f
}

func unitIDs(rep *Report) []int64 {
	var out []int64
	for _, u := range rep.Units {
		out = append(out, u.Unit.ID)
	}
	return out
}

// TestIndicatorsScope pins Service.Indicators (docs/chronic.md
// "Indicators"): analysts and county staff see every unit of the county,
// township and village staff only the units inside their area (never a
// county total built from part of it), other roles nothing; a unit is
// listed when it has patients or counted residents, in tree order; the read
// is audited.
func TestIndicatorsScope(t *testing.T) {
	f := indicatorFixture(t)
	from, to := day("2026-06-01"), day("2026-11-30")
	rep, err := f.s.Indicators(bg, analyst, from, to)
	if err != nil {
		t.Fatal(err)
	}
	// Tree order: children by kind order, then name (org.NewTree).
	if want := []int64{1, 20, 22, 23, 2, 10, 12, 11}; !slices.Equal(unitIDs(rep), want) {
		t.Errorf("analyst's units %v, want %v", unitIDs(rep), want)
	}
	if rep.From != from || rep.To != to || f.repo.periodCalls != 1 || len(f.repo.unitYearCalls) != 0 {
		t.Errorf("period %s..%s read patient by patient: %d, counters %v", rep.From, rep.To, f.repo.periodCalls, f.repo.unitYearCalls)
	}
	county1 := rep.Unit(1)
	if county1 == nil || county1 != &rep.Units[0] || county1.Depth != 0 || county1.Adults != 140 || county1.Clinics != 2 {
		t.Fatalf("county unit %+v", county1)
	}
	if c := county1.Cells[Hypertension]; c.Managed != 2 || c.Controlled != (Rate{1, 2}) || c.Estimated != EstimatedPatients(140, 2790) {
		t.Errorf("county hypertension %+v", c)
	}
	if c := county1.Cells[Diabetes]; c.Managed != 1 || c.Estimated != EstimatedPatients(140, 1120) {
		t.Errorf("county diabetes %+v", c)
	}
	v12 := rep.Unit(12)
	if v12 == nil || v12.Depth != 3 || v12.Adults != 0 || v12.Cells[Hypertension].Managed != 1 {
		t.Errorf("village 12 (patients, no residents counted) %+v", v12)
	}
	if v23 := rep.Unit(23); v23 == nil || v23.Adults != 40 || v23.Cells[Hypertension].Managed != 0 {
		t.Errorf("village 23 (residents counted, no patients) %+v", v23)
	}
	if rep.Unit(3) != nil || rep.Unit(999) != nil {
		t.Error("a unit with neither patients nor residents is listed")
	}
	if len(f.log.events) != 1 || f.log.events[0].Action != ActReport || f.log.events[0].Detail != "indicators 2026-06-01..2026-11-30 units=8" {
		t.Errorf("indicator audit %+v", f.log.events)
	}
	if rep, err := f.s.Indicators(bg, specialist, from, to); err != nil || len(rep.Units) != 8 {
		t.Errorf("county specialist: %v %v", unitIDs(rep), err)
	}
	rep, err = f.s.Indicators(bg, drGuo, from, to)
	if err != nil || !slices.Equal(unitIDs(rep), []int64{11}) || rep.Units[0].Adults != 100 || rep.Units[0].Cells[Hypertension].Managed != 1 {
		t.Errorf("village doctor: %v %+v %v", unitIDs(rep), rep, err)
	}
	rep, err = f.s.Indicators(bg, drTownship, from, to)
	if err != nil || !slices.Equal(unitIDs(rep), []int64{10, 12, 11}) || rep.Units[0].Cells[Hypertension].Managed != 2 {
		t.Errorf("township doctor: %v %v", unitIDs(rep), err)
	}
	f.log.events = nil
	for _, a := range []care.Actor{
		{Role: care.RoleAdmin, CountyCode: county}, {Role: care.RoleInsuranceOfficer, CountyCode: county},
		{Role: care.RoleResident, ResidentID: 100, CountyCode: county}, {Role: care.RoleReader, InstitutionID: 3, CountyCode: county},
	} {
		if _, err := f.s.Indicators(bg, a, from, to); codeOf(err) != care.EFORBIDDEN {
			t.Errorf("%s: %v", a.Role, err)
		}
	}
	if _, err := f.s.Indicators(bg, analyst, to, from); codeOf(err) != care.EINVALID {
		t.Errorf("reversed period: %v", err)
	}
	if len(f.log.events) != 0 {
		t.Errorf("refused reads audited as reads: %v", f.log.actions())
	}
}

// TestIndicatorsYearPath pins the choice of counters (docs/chronic.md: a
// calendar year or a year to date is read from the per-unit counters
// chronic_unit_years; any other period from the visits).
func TestIndicatorsYearPath(t *testing.T) {
	f := indicatorFixture(t)
	f.repo.unitYears = []UnitYear{
		{ClinicID: 11, Disease: Hypertension, Year: 2026, Managed: 5, FaceToFace: [FaceToFaceBuckets]int{1, 1, 1, 1, 1}, Controlled: 3, Measured: 4},
		{ClinicID: 11, Disease: Hypertension, Year: 2025, Managed: 9},
	}
	rep, err := f.s.Indicators(bg, drGuo, day("2026-01-01"), care.Today(svcNow))
	if err != nil {
		t.Fatal(err)
	}
	c := rep.Unit(11).Cells[Hypertension]
	if !slices.Equal(f.repo.unitYearCalls, []int{2026}) || f.repo.periodCalls != 0 || c.Managed != 5 || c.Controlled != (Rate{3, 5}) || c.Standardised != (Rate{2, 5}) {
		t.Errorf("year to date from the counters: calls %v/%d, cell %+v", f.repo.unitYearCalls, f.repo.periodCalls, c)
	}
	if _, err := f.s.Indicators(bg, drGuo, day("2026-01-02"), care.Today(svcNow)); err != nil || f.repo.periodCalls != 1 {
		t.Errorf("a period from 2 January is read from the visits: %v %d", err, f.repo.periodCalls)
	}
	// A failed read gives no report (and no audit row of a read), on either path.
	f.repo.readErr = care.Errorf(care.EINTERNAL, "error.internal")
	f.log.events = nil
	for _, from := range []care.Date{day("2026-01-01"), day("2026-01-02")} {
		if rep, err := f.s.Indicators(bg, drGuo, from, care.Today(svcNow)); err != f.repo.readErr || rep != nil {
			t.Errorf("failed read from %s: %v %v", from, rep, err)
		}
	}
	if len(f.log.events) != 0 {
		t.Errorf("failed reads audited: %v", f.log.actions())
	}
}

// TestAdultCountsCache pins adultCounts (report.go, adultsTTL: the
// estimate's base is reused for one minute, a clock moved back recounts,
// another period or age recounts, and the cache holds at most 10,000 keys).
func TestAdultCountsCache(t *testing.T) {
	f := indicatorFixture(t)
	from, to := day("2026-06-01"), day("2026-11-30")
	read := func(at time.Time) {
		t.Helper()
		*f.clock = at
		if _, err := f.s.Indicators(bg, analyst, from, to); err != nil {
			t.Fatal(err)
		}
	}
	read(svcNow)
	if f.repo.adultCalls != 1 || !slices.Equal(f.repo.adultArgs, []any{18, to}) { // PrevalenceMinAge: adults
		t.Fatalf("first read: %d calls, args %v", f.repo.adultCalls, f.repo.adultArgs)
	}
	read(svcNow.Add(adultsTTL - time.Second))
	if f.repo.adultCalls != 1 {
		t.Errorf("59 s later: counted again (%d)", f.repo.adultCalls)
	}
	read(svcNow.Add(adultsTTL))
	if f.repo.adultCalls != 2 {
		t.Errorf("60 s later: not counted again (%d)", f.repo.adultCalls)
	}
	read(svcNow) // the clock moved back: the cached entry is from the future
	if f.repo.adultCalls != 3 {
		t.Errorf("clock moved back: not counted again (%d)", f.repo.adultCalls)
	}
	f.s.Config.PrevalenceMinAge = 40
	read(svcNow)
	if f.repo.adultCalls != 4 || f.repo.adultArgs[0] != 40 {
		t.Errorf("another minimum age: %d %v", f.repo.adultCalls, f.repo.adultArgs)
	}
	// Bounded: at 10,000 keys one more is added; above, the cache starts over.
	f.s.adults = map[string]adultsEntry{}
	for i := range 10000 {
		f.s.adults[fmt.Sprint(i)] = adultsEntry{}
	}
	read(svcNow.Add(time.Hour))
	if len(f.s.adults) != 10001 {
		t.Errorf("cache of 10,000 grew to %d", len(f.s.adults))
	}
	f.s.Config.PrevalenceMinAge = 45
	read(svcNow.Add(time.Hour))
	if len(f.s.adults) != 1 {
		t.Errorf("cache of 10,001 not reset: %d", len(f.s.adults))
	}
}

// TestRecomputeRules pins Service.Recompute (docs/chronic.md "Recompute"):
// every active patient's tier re-derived from their visits with the current
// Config; a dry run reports the moves and the year-to-date indicators and
// changes nothing; --apply rebuilds the year summaries and moves the
// patients with hand-offs (a care link on red), one audit row per batch,
// leaving alone a patient with a follow-up recorded meanwhile.
func TestRecomputeRules(t *testing.T) {
	f := newSvc()
	reg := func(id int64, res int64, clinic int64, d Disease, tier Tier, status string, closed string) Registration {
		r := Registration{ID: id, County: county, ResidentID: res, ClinicID: clinic, Disease: d, Status: status, Tier: tier,
			EnrolledOn: day("2025-03-01"), Version: 3}
		if closed != "" {
			r.ClosedOn = day(closed)
		}
		return r
	}
	f.repo.histories = []History{
		// two uncontrolled visits in a row: red, the lead county hospital
		{Reg: reg(1, 100, 11, Hypertension, Green, StatusActive, ""), Birth: day("1960-03-01"), Visits: []Visit{
			{Date: day("2026-03-01"), FaceToFace: true, SBP: 150, DBP: 95}, {Date: day("2026-04-01"), FaceToFace: true, SBP: 155, DBP: 96}}},
		// controlled now: back to green, the village clinic
		{Reg: reg(2, 102, 12, Hypertension, Yellow, StatusActive, ""), Birth: day("1950-01-01"), Visits: []Visit{
			{Date: day("2025-12-01"), SBP: 150, DBP: 95}, {Date: day("2026-05-01"), FaceToFace: true, SBP: 130, DBP: 80}}},
		// unchanged
		{Reg: reg(3, 101, 11, Diabetes, Green, StatusActive, ""), Birth: day("1955-06-01"), Visits: []Visit{
			{Date: day("2026-02-01"), FaceToFace: true, FPG: 60, SBP: 120, DBP: 70}}},
		// TB treatment ended this year: counted in the indicators, not re-tiered
		{Reg: reg(4, 104, 23, Tuberculosis, Yellow, StatusClosed, "2026-10-01"), Birth: day("1962-01-01"), Visits: []Visit{
			{Date: day("2026-08-01"), FaceToFace: true, DosesDue: 30, DosesMissed: 1}}},
		// closed last year: neither
		{Reg: reg(5, 100, 11, Diabetes, Green, StatusClosed, "2025-12-31"), Birth: day("1960-03-01")},
		// another county
		{Reg: Registration{ID: 6, County: "411700", ResidentID: 900, ClinicID: 11, Disease: Hypertension, Status: StatusActive, Tier: Red}},
	}
	f.repo.adults = map[int64]int{11: 100}
	a := care.Actor{AccountID: 1, Username: "system", Role: care.RoleAdmin, CountyCode: county}
	sum, err := f.s.Recompute(bg, f.repo, a, false)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Registrations != 3 || sum.Visits != 5 || sum.Changed != 2 || sum.Applied != 0 ||
		len(sum.Moves) != 2 || sum.Moves["green→red"] != 1 || sum.Moves["yellow→green"] != 1 ||
		len(sum.Tiers) != 2 || sum.Tiers[Red] != 1 || sum.Tiers[Green] != 2 {
		t.Errorf("dry run %+v", sum)
	}
	if f.repo.rebuilt != 0 || len(f.repo.applied) != 0 || len(f.repo.applyEv) != 0 {
		t.Errorf("a dry run changed something: rebuilt %d, applied %+v", f.repo.rebuilt, f.repo.applied)
	}
	ind := sum.Indicators
	if ind.From != day("2026-01-01") || ind.To != care.Today(svcNow) {
		t.Errorf("indicator period %s..%s, want the year to date", ind.From, ind.To)
	}
	cty := ind.Unit(1)
	if cty == nil || cty.Cells[Hypertension].Managed != 2 || cty.Cells[Hypertension].Controlled != (Rate{1, 2}) ||
		cty.Cells[Diabetes].Managed != 1 || cty.Cells[Tuberculosis].RegularDoses != (Rate{1, 1}) || cty.Adults != 100 {
		t.Errorf("county year to date %+v", cty)
	}
	if v11 := ind.Unit(11); v11 == nil || v11.Cells[Hypertension].Standardised != (Rate{0, 1}) {
		t.Errorf("village 11 standardised (2 face-to-face visits of 3 due) %+v", v11)
	}

	// Apply: the year summaries are rebuilt and both moves saved; the
	// registration changed since it was read (version 4) is left alone.
	for _, h := range f.repo.histories {
		r := h.Reg
		f.repo.regs[r.ID] = &r
	}
	f.repo.regs[2].Version = 4
	sum, err = f.s.Recompute(bg, f.repo, a, true)
	if err != nil || sum.Applied != 1 || f.repo.rebuilt != 1 {
		t.Fatalf("apply: %+v %v (rebuilt %d)", sum, err, f.repo.rebuilt)
	}
	if len(f.repo.applied) != 1 {
		t.Fatalf("applied %+v", f.repo.applied)
	}
	u := f.repo.applied[0]
	wantChange := TierChange{County: county, RegistrationID: 1, ResidentID: 100, From: Green, To: Red, Reason: "chronic.tier.reason.red", ToInstitution: 3}
	wantLink := access.CareLink{CountyCode: county, ResidentID: 100, InstitutionID: 3, Kind: LinkKindChronic, Reason: "hypertension red tier (recompute)", CreatedBy: 1}
	if u.RegistrationID != 1 || u.Version != 3 || u.Tier != Red || u.Since != care.Today(svcNow) || u.Change != wantChange || u.Link == nil || *u.Link != wantLink {
		t.Errorf("tier update %+v (link %+v)", u, u.Link)
	}
	if ev := f.repo.applyEv; len(ev) != 1 || ev[0].Action != ActRecompute || ev[0].CountyCode != county || ev[0].Detail != "tier recompute: 2 of 3 registrations move" {
		t.Errorf("recompute audit %+v", ev)
	}
	// A failed batch is reported, not swallowed.
	f.repo.applyErr = care.Errorf(care.ECONFLICT, "error.retry")
	if _, err := f.s.Recompute(bg, f.repo, a, true); err != f.repo.applyErr {
		t.Errorf("failed batch: %v", err)
	}
	f.repo.applyErr = nil
	// Green needs no care link; with nothing to move, nothing is saved.
	f.repo.histories = f.repo.histories[1:3]
	f.repo.applied, f.repo.applyEv = nil, nil
	f.repo.regs[2].Version = 3
	if sum, err := f.s.Recompute(bg, f.repo, a, true); err != nil || sum.Applied != 1 || f.repo.applied[0].Link != nil || f.repo.applied[0].Change.ToInstitution != 12 {
		t.Errorf("move to green: %+v %+v %v", sum, f.repo.applied, err)
	}
	f.repo.histories = f.repo.histories[1:]
	f.repo.applyEv = nil
	if sum, err := f.s.Recompute(bg, f.repo, a, true); err != nil || sum.Changed != 0 || len(f.repo.applyEv) != 0 || f.repo.rebuilt != 4 {
		t.Errorf("nothing to move: %+v %v, %d apply calls, rebuilt %d", sum, err, len(f.repo.applyEv), f.repo.rebuilt)
	}
}
