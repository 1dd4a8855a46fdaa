package rx

// Tests of the prescription service's rules with in-memory fakes of its
// Repository, the resident registry and the organisation tree (issue 18 §6:
// gremlins runs only this package's tests, and the service was tested only
// in store and web). Each pins a rule of docs/rx.md ("Review workflow") or
// of the method's own comment: who signs (village, township and county
// doctors) and for whom (a resident they may see); what the server sets
// (date of issue, institution level, the patient's age); a blocked
// prescription is not stored, a flagged or online one waits for a
// pharmacist (互联网诊疗管理办法（试行）2018: 经药师审核后方可配送); who reads a
// prescription; the county pharmacist's queue and decisions (approve,
// reject or return with a reason, optimistic version); the indicators'
// period and roles; the audit row of each write and read.

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"countycare/access"
	"countycare/audit"
	"countycare/care"
	"countycare/org"
	"countycare/resident"
)

// fakePrescriptions is the prescriptions table of store/prescriptions.go in
// memory: IDs from 1, version 1 on insert, ENOTFOUND (error.not_found) for a
// missing id, the pending list by county oldest first (signed_at, id), an
// update only from the given status at the given version (ECONFLICT
// rx.not_pending otherwise) that increments the version, review rows by
// county and signed_at in [from, to). Each write keeps its audit row.
type fakePrescriptions struct {
	rows      []Signed
	events    []audit.Event
	limits    []int
	err       error // returned by every method when set
	updateErr error // returned by UpdatePrescription when set
}

func (r *fakePrescriptions) SavePrescription(_ context.Context, s *Signed, ev audit.Event) error {
	if r.err != nil {
		return r.err
	}
	s.ID, s.Version = int64(len(r.rows)+1), 1
	c := *s
	c.Findings = slices.Clone(s.Findings)
	r.rows = append(r.rows, c)
	r.events = append(r.events, ev)
	return nil
}

func (r *fakePrescriptions) Prescription(_ context.Context, id int64) (*Signed, error) {
	if r.err != nil {
		return nil, r.err
	}
	for _, x := range r.rows {
		if x.ID == id {
			return &x, nil
		}
	}
	return nil, care.Errorf(care.ENOTFOUND, "error.not_found")
}

func (r *fakePrescriptions) PendingPrescriptions(_ context.Context, county string, limit int) ([]Signed, error) {
	r.limits = append(r.limits, limit)
	if r.err != nil {
		return nil, r.err
	}
	var out []Signed
	for _, x := range r.rows {
		if x.CountyCode == county && x.Status == StatusPending {
			out = append(out, x)
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if !out[i].SignedAt.Equal(out[j].SignedAt) {
			return out[i].SignedAt.Before(out[j].SignedAt)
		}
		return out[i].ID < out[j].ID
	})
	if len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

func (r *fakePrescriptions) UpdatePrescription(_ context.Context, s *Signed, from Status, ev audit.Event) error {
	if r.err != nil {
		return r.err
	}
	if r.updateErr != nil {
		return r.updateErr
	}
	for i := range r.rows {
		x := &r.rows[i]
		if x.CountyCode == s.CountyCode && x.ID == s.ID && x.Status == from && x.Version == s.Version {
			x.Status, x.ReviewerID, x.ReviewedAt, x.ReviewReason, x.DispensedBy, x.DispensedAt = s.Status, s.ReviewerID, s.ReviewedAt, s.ReviewReason, s.DispensedBy, s.DispensedAt
			x.Version++
			s.Version++
			r.events = append(r.events, ev)
			return nil
		}
	}
	return care.Errorf(care.ECONFLICT, "rx.not_pending")
}

func (r *fakePrescriptions) ReviewRows(_ context.Context, county string, from, to time.Time) ([]ReviewRow, error) {
	if r.err != nil {
		return nil, r.err
	}
	var out []ReviewRow
	for _, x := range r.rows {
		if x.CountyCode == county && !x.SignedAt.Before(from) && x.SignedAt.Before(to) {
			out = append(out, ReviewRow{Status: x.Status, Outcome: x.Outcome, SignedAt: x.SignedAt, ReviewedAt: x.ReviewedAt})
		}
	}
	return out, nil
}

// The county 411723: township center 10 (township level) above village
// clinic 11 (village level); county hospital 3 (county level). County 411724
// has village clinic 91. Clinic 77 is not in the tree (closed).
type fakeOrgRepo struct {
	org.Repository
	err error
}

func (f fakeOrgRepo) OrgVersion(context.Context) (int64, error) { return 1, f.err }

func (f fakeOrgRepo) Institutions(context.Context) ([]org.Institution, error) {
	return []org.Institution{
		{ID: 1, Kind: org.KindCounty, CountyCode: "411723"},
		{ID: 3, ParentID: 1, Kind: org.KindCountyHospital, Level: org.LevelCounty, CountyCode: "411723"},
		{ID: 10, ParentID: 1, Kind: org.KindTownshipHC, Level: org.LevelTownship, CountyCode: "411723"},
		{ID: 11, ParentID: 10, Kind: org.KindVillageClinic, Level: org.LevelVillage, CountyCode: "411723"},
		{ID: 90, Kind: org.KindCounty, CountyCode: "411724"},
		{ID: 91, ParentID: 90, Kind: org.KindVillageClinic, Level: org.LevelVillage, CountyCode: "411724"},
	}, nil
}

// rxResidents: 100 (born 1960-05-15) and 101 (born 2022-03-11, a child)
// managed by clinic 11, 100 with a live care link to county hospital 3;
// 102 managed by clinic 77; 300 of county 411724, managed by clinic 91.
// Like store.ResidentScoped, the scope decision includes the care links.
type rxResidents struct{ resident.Repository }

func (rxResidents) ResidentScoped(_ context.Context, id int64, sc access.Scope, _ time.Time) (*resident.Resident, bool, error) {
	r, ok := map[int64]resident.Resident{
		100: {ID: 100, CountyCode: "411723", VillageID: 11, BirthDate: care.Date{Year: 1960, Month: 5, Day: 15}},
		101: {ID: 101, CountyCode: "411723", VillageID: 11, BirthDate: care.Date{Year: 2022, Month: 3, Day: 11}},
		102: {ID: 102, CountyCode: "411723", VillageID: 77, BirthDate: care.Date{Year: 1970, Month: 1, Day: 1}},
		300: {ID: 300, CountyCode: "411724", VillageID: 91, BirthDate: care.Date{Year: 1970, Month: 1, Day: 1}},
	}[id]
	if !ok {
		return nil, false, care.Errorf(care.ENOTFOUND, "error.not_found")
	}
	sub := access.Subject{ResidentID: id, CountyCode: r.CountyCode, ManagedBy: r.VillageID}
	if id == 100 {
		sub.LinkedTo = []int64{3}
	}
	return &r, sc.Allows(sub), nil
}

type rxAudit struct{ events []audit.Event }

func (a *rxAudit) Record(_ context.Context, e audit.Event) { a.events = append(a.events, e) }

func (a *rxAudit) actions() []string {
	var out []string
	for _, e := range a.events {
		out = append(out, e.Action+":"+e.Outcome)
	}
	return out
}

// rxNow is 2026-03-10 20:30 UTC, already 2026-03-11 04:30 in China.
var rxNow = time.Date(2026, 3, 10, 20, 30, 0, 0, time.UTC)

var (
	rxVillageDr  = care.Actor{AccountID: 7, PractitionerID: 57, Role: care.RoleVillageDoctor, InstitutionID: 11, CountyCode: "411723"}
	rxTownshipDr = care.Actor{AccountID: 8, PractitionerID: 58, Role: care.RoleTownshipDoctor, InstitutionID: 10, CountyCode: "411723"}
	rxSpecialist = care.Actor{AccountID: 9, PractitionerID: 59, Role: care.RoleCountySpecialist, InstitutionID: 3, CountyCode: "411723"}
	rxPharmacist = care.Actor{AccountID: 20, Role: care.RolePharmacist, InstitutionID: 3, CountyCode: "411723"}
	rxOtherPharm = care.Actor{AccountID: 21, Role: care.RolePharmacist, InstitutionID: 90, CountyCode: "411724"}
	rxAnalyst    = care.Actor{AccountID: 22, Role: care.RoleAnalyst, CountyCode: "411723"}
	rxPatient    = care.Actor{AccountID: 30, Role: care.RoleResident, ResidentID: 100, CountyCode: "411723"}
)

// rxNonPrescribers are the roles that do not sign prescriptions.
var rxNonPrescribers = []care.Role{care.RoleReader, care.RolePharmacist, care.RoleInsuranceOfficer, care.RoleAnalyst, care.RoleAdmin, care.RoleAuditor, care.RoleResident}

func newRxService() (*Service, *fakePrescriptions, *rxAudit) {
	repo := &fakePrescriptions{}
	log := &rxAudit{}
	now := func() time.Time { return rxNow }
	orgs := &org.Service{Repo: fakeOrgRepo{}, Now: now}
	rs := &resident.Service{Repo: rxResidents{}, Orgs: orgs, Audit: log, Now: now}
	return &Service{Repo: repo, Engine: testEngine, Residents: rs, Orgs: orgs, Audit: log, Now: now}, repo, log
}

// rxClean is a clean one-line prescription for an adult with hypertension;
// the client's date, level and age are wrong on purpose (the server sets them).
func rxClean() *Prescription {
	return &Prescription{
		Issued: day("2020-01-01"), Kind: KindNormal, InstitutionLevel: "county", Diagnoses: []string{"I10"},
		Patient: Patient{AgeMonths: 5, WeightKg: 60},
		Lines:   []Line{{DrugCode: "amlodipine-5t", Dose: 5, DoseUnit: "mg", Frequency: "qd", Route: "po", Days: 7, Quantity: 7}},
	}
}

// rxFlagged has a route that does not match the form (RuleRoute: a warning).
func rxFlagged() *Prescription {
	p := rxClean()
	p.Lines[0].Route = "iv"
	return p
}

// rxBlocked has a single dose above the label's maximum (RuleDoseHigh: a block).
func rxBlocked() *Prescription {
	p := rxClean()
	p.Lines[0].Dose = 50
	return p
}

func codeOf(err error) string { return care.ErrorCode(err) }

func keyOf(err error) string {
	var ce *care.Error
	if errors.As(err, &ce) {
		return ce.Key
	}
	return ""
}

func fieldsOf(err error) []string {
	var ce *care.Error
	if !errors.As(err, &ce) {
		return nil
	}
	var out []string
	for _, f := range ce.Fields {
		out = append(out, f.Field+":"+f.Key+fmt.Sprint(f.Args...))
	}
	return out
}

// TestSignWhoMayPrescribe pins prescriber(): village, township and county
// doctors sign (docs/rx.md, Review workflow: "Sign (village, township and
// county doctors)"); every other role is EFORBIDDEN before the record is
// read, and nothing is stored or audited.
func TestSignWhoMayPrescribe(t *testing.T) {
	for _, a := range []care.Actor{rxVillageDr, rxTownshipDr, rxSpecialist} {
		s, repo, _ := newRxService()
		sg, _, err := s.Sign(context.Background(), a, 100, rxClean())
		if err != nil || sg == nil || len(repo.rows) != 1 {
			t.Errorf("%s: %v %v, %d stored", a.Role, sg, err, len(repo.rows))
		}
	}
	for _, role := range rxNonPrescribers {
		a := care.Actor{AccountID: 40, Role: role, InstitutionID: 3, CountyCode: "411723", ResidentID: 100}
		s, repo, log := newRxService()
		sg, fs, err := s.Sign(context.Background(), a, 100, rxClean())
		if codeOf(err) != care.EFORBIDDEN || sg != nil || fs != nil || len(repo.rows) != 0 || len(log.events) != 0 {
			t.Errorf("%s signed: %v %v %v, %d stored, audit %v", role, sg, fs, err, len(repo.rows), log.actions())
		}
		if _, err := s.Preview(context.Background(), a, 100, rxClean()); codeOf(err) != care.EFORBIDDEN {
			t.Errorf("%s previewed: %v", role, err)
		}
	}
}

// TestSignOnlyForResidentsInScope pins Sign's "a resident the prescriber
// may see" (docs/architecture.md, Access: out of scope is not_found, like a
// missing record, and the attempt is audited as denied).
func TestSignOnlyForResidentsInScope(t *testing.T) {
	for _, c := range []struct {
		name    string
		a       care.Actor
		id      int64
		outcome string
	}{
		{"other county", rxVillageDr, 300, audit.OutcomeDenied},
		{"no such resident", rxVillageDr, 999, audit.OutcomeNotFound},
		{"county specialist without a care link", rxSpecialist, 101, audit.OutcomeDenied},
	} {
		s, repo, log := newRxService()
		sg, _, err := s.Sign(context.Background(), c.a, c.id, rxClean())
		if codeOf(err) != care.ENOTFOUND || sg != nil || len(repo.rows) != 0 {
			t.Errorf("%s: %v %v, %d stored", c.name, sg, err, len(repo.rows))
		}
		if got := log.actions(); !slices.Equal(got, []string{audit.ActResidentRead + ":" + c.outcome}) {
			t.Errorf("%s: audit %v", c.name, got)
		}
	}
}

// TestSignInstitutionOutsideTheTree pins prepare: the institution level
// comes from the organisation tree; a prescriber whose institution is not in
// it (closed) is EFORBIDDEN, and an unreadable tree fails the signature.
func TestSignInstitutionOutsideTheTree(t *testing.T) {
	s, repo, _ := newRxService()
	closed := rxVillageDr
	closed.InstitutionID = 77
	if sg, _, err := s.Sign(context.Background(), closed, 102, rxClean()); codeOf(err) != care.EFORBIDDEN || sg != nil || len(repo.rows) != 0 {
		t.Errorf("institution outside the tree: %v %v", sg, err)
	}
	broken := errors.New("organisation unreadable")
	s, repo, _ = newRxService()
	s.Orgs = &org.Service{Repo: fakeOrgRepo{err: broken}, Now: s.Now}
	if sg, _, err := s.Sign(context.Background(), rxVillageDr, 100, rxClean()); !errors.Is(err, broken) || sg != nil || len(repo.rows) != 0 {
		t.Errorf("tree error: %v %v", sg, err)
	}
}

// TestSignSetsWhatTheServerDecides pins prepare and Sign (docs/rx.md: Sign
// "takes the date, the patient's age and the institution level from the
// server"): the date of issue is today in China, the level the actor's
// institution's, the age the record's in whole months; the stored
// prescription names the county, resident, institution, prescriber and
// account, and its audit row (rx.sign) goes with it.
func TestSignSetsWhatTheServerDecides(t *testing.T) {
	for _, c := range []struct {
		a     care.Actor
		level string
	}{{rxVillageDr, "village"}, {rxTownshipDr, "township"}, {rxSpecialist, "county"}} {
		s, repo, _ := newRxService()
		sg, fs, err := s.Sign(context.Background(), c.a, 100, rxClean())
		if err != nil {
			t.Fatalf("%s: %v", c.a.Role, err)
		}
		want := Signed{ID: 1, CountyCode: "411723", ResidentID: 100, InstitutionID: c.a.InstitutionID, PrescriberID: c.a.PractitionerID,
			AccountID: c.a.AccountID, Status: StatusPassed, SignedAt: rxNow, Version: 1}
		got := *sg
		got.Prescription, got.Findings = Prescription{}, nil
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: signed %+v, want %+v", c.a.Role, got, want)
		}
		if sg.SignedAt.Location() != time.UTC {
			t.Errorf("signed_at not in UTC: %v", sg.SignedAt)
		}
		pr := sg.Prescription
		// 1960-05-15 to 2026-03-11: 65 years and 9 completed months.
		if pr.Issued != day("2026-03-11") || pr.InstitutionLevel != c.level || pr.Patient.AgeMonths != 65*12+9 {
			t.Errorf("%s: issued %v level %q age %d months", c.a.Role, pr.Issued, pr.InstitutionLevel, pr.Patient.AgeMonths)
		}
		if len(fs) != 0 || sg.Outcome != 0 {
			t.Errorf("clean prescription: %+v outcome %v", fs, sg.Outcome)
		}
		if len(repo.rows) != 1 || repo.rows[0].Status != StatusPassed || len(repo.events) != 1 {
			t.Fatalf("stored %+v, events %v", repo.rows, repo.events)
		}
		ev := repo.events[0]
		if ev.Action != ActSign || ev.ResidentID != 100 || ev.CountyCode != "411723" || ev.AccountID != c.a.AccountID ||
			ev.Outcome != audit.OutcomeOK || ev.Detail != "lines=1 status=passed findings=0" {
			t.Errorf("%s: audit %+v", c.a.Role, ev)
		}
	}
}

// TestSignLevelFromTheInstitution pins AllowedAtLevel through Sign: the level
// is the prescriber's institution's, whatever the draft says. Benazepril is
// not on the village formulary (rx/kb/formulary.psv levels TC); a village
// doctor's prescription is blocked even when the draft claims "county".
func TestSignLevelFromTheInstitution(t *testing.T) {
	draft := func() *Prescription {
		p := rxClean()
		p.Lines[0] = Line{DrugCode: "benazepril-10t", Dose: 10, DoseUnit: "mg", Frequency: "qd", Route: "po", Days: 7, Quantity: 7}
		return p
	}
	s, repo, _ := newRxService()
	sg, fs, err := s.Sign(context.Background(), rxVillageDr, 100, draft())
	if codeOf(err) != care.EINVALID || keyOf(err) != "rx.blocked" || sg != nil || !has(fs, RuleLevel, Block, 1) || len(repo.rows) != 0 {
		t.Errorf("village: %v %v %+v", sg, err, fs)
	}
	if sg, fs, err := s.Sign(context.Background(), rxTownshipDr, 100, draft()); err != nil || sg.Status != StatusPassed || len(fs) != 0 {
		t.Errorf("township: %v %v %+v", sg, err, fs)
	}
}

// TestSignOutcomes pins Sign's states (docs/rx.md: "a blocked prescription
// is refused with its findings, a clean one is passed, a flagged one
// pending") and the online rule (互联网诊疗管理办法（试行）2018: an online
// prescription takes effect after a pharmacist's review, so it is pending
// even when clean). A blocked one is neither stored nor audited.
func TestSignOutcomes(t *testing.T) {
	ctx := context.Background()
	s, repo, log := newRxService()

	sg, fs, err := s.Sign(ctx, rxVillageDr, 100, rxBlocked())
	if codeOf(err) != care.EINVALID || keyOf(err) != "rx.blocked" || sg != nil || !has(fs, RuleDoseHigh, Block, 1) {
		t.Errorf("blocked: %v %v %+v", sg, err, fs)
	}
	if len(repo.rows) != 0 || len(repo.events) != 0 || slices.Contains(log.actions(), ActSign+":ok") {
		t.Errorf("a blocked prescription was stored: %+v %v", repo.rows, repo.events)
	}

	sg, fs, err = s.Sign(ctx, rxVillageDr, 100, rxFlagged())
	if err != nil || sg.Status != StatusPending || sg.Outcome != Warn || !has(fs, RuleRoute, Warn, 1) || !slices.Equal(sg.Findings, fs) {
		t.Errorf("flagged: %+v %v %+v", sg, err, fs)
	}
	if d := repo.events[len(repo.events)-1].Detail; d != "lines=1 status=pending findings=1" {
		t.Errorf("flagged audit detail %q", d)
	}

	online := rxClean()
	online.Online = true
	sg, fs, err = s.Sign(ctx, rxVillageDr, 100, online)
	if err != nil || sg.Status != StatusPending || sg.Outcome != 0 || len(fs) != 0 {
		t.Errorf("online clean: %+v %v %+v", sg, err, fs)
	}

	sg, _, err = s.Sign(ctx, rxVillageDr, 100, rxClean())
	if err != nil || sg.Status != StatusPassed || sg.ID != 3 {
		t.Errorf("clean: %+v %v", sg, err)
	}
}

// TestSignStoreError pins Sign: a failed store write is the signature's
// error, with no prescription returned (the findings still are).
func TestSignStoreError(t *testing.T) {
	s, repo, _ := newRxService()
	repo.err = errors.New("disk full")
	sg, fs, err := s.Sign(context.Background(), rxVillageDr, 100, rxFlagged())
	if !errors.Is(err, repo.err) || sg != nil || !has(fs, RuleRoute, Warn, 1) {
		t.Errorf("store error: %v %v %+v", sg, err, fs)
	}
}

// TestSignValidatesTheDraft pins prepare: KB.Validate runs before any review
// (docs/rx.md, CDS Hooks: one field error per fault), and the reason of a
// chronic prescription is trimmed and at most 200 characters
// (field.too_long, counted in characters, not bytes).
func TestSignValidatesTheDraft(t *testing.T) {
	ctx := context.Background()
	s, repo, _ := newRxService()
	empty := rxClean()
	empty.Lines = nil
	if _, _, err := s.Sign(ctx, rxVillageDr, 100, empty); codeOf(err) != care.EINVALID || !slices.Equal(fieldsOf(err), []string{"lines:rx.no_lines"}) {
		t.Errorf("no lines: %v %v", err, fieldsOf(err))
	}
	long := rxClean()
	long.Reason = "  " + strings.Repeat("高", 201) + " "
	if _, _, err := s.Sign(ctx, rxVillageDr, 100, long); codeOf(err) != care.EINVALID || !slices.Equal(fieldsOf(err), []string{"reason:field.too_long200"}) {
		t.Errorf("201 characters: %v %v", err, fieldsOf(err))
	}
	if len(repo.rows) != 0 {
		t.Fatalf("an invalid draft was stored")
	}
	ok := rxClean()
	ok.Reason = "  " + strings.Repeat("高", 200) + "\n"
	sg, _, err := s.Sign(ctx, rxVillageDr, 100, ok)
	if err != nil || sg.Prescription.Reason != strings.Repeat("高", 200) {
		t.Errorf("200 characters: %v %+v", err, sg)
	}
}

// TestAgeMonths pins ageMonths: the age in completed months on the day
// (the day of the month reached counts; the day before it does not), 0 for
// an unknown birth date or one after the day. The child rules (under 14
// years, under 6 online) depend on it (rx.Config).
func TestAgeMonths(t *testing.T) {
	on := day("2026-03-11")
	for _, c := range []struct {
		birth string
		want  int
	}{
		{"2022-03-11", 48}, // the 4th birthday
		{"2022-03-12", 47}, // the day before it
		{"2022-02-28", 48},
		{"2022-04-10", 47},
		{"2025-12-31", 2},
		{"2026-03-11", 0},
		{"2026-03-12", 0}, // after the day: not negative
		{"1960-05-15", 65*12 + 9},
	} {
		if got := ageMonths(day(c.birth), on); got != c.want {
			t.Errorf("born %s: %d months, want %d", c.birth, got, c.want)
		}
	}
	if got := ageMonths(care.Date{}, on); got != 0 {
		t.Errorf("unknown birth date: %d", got)
	}
	// Through Sign: resident 101 turns 4 on 2026-03-11 (China date of rxNow).
	s, _, _ := newRxService()
	sg, _, err := s.Sign(context.Background(), rxVillageDr, 101, &Prescription{Kind: KindNormal, Diagnoses: []string{"J02"},
		Patient: Patient{WeightKg: 16},
		Lines:   []Line{{DrugCode: "amoxicillin-250c", Dose: 250, DoseUnit: "mg", Frequency: "tid", Route: "po", Days: 3, Quantity: 9}}})
	if err != nil {
		t.Fatalf("child: %v", err)
	}
	if sg.Prescription.Patient.AgeMonths != 48 {
		t.Errorf("child: %d months, want 48", sg.Prescription.Patient.AgeMonths)
	}
}

// TestPreviewStoresNothing pins Preview (docs/rx.md: "reviews a draft
// exactly as Sign would without storing it"): the same findings, the same
// refusals, no prescription stored, no rx.sign row; the resident read is
// audited.
func TestPreviewStoresNothing(t *testing.T) {
	ctx := context.Background()
	s, repo, log := newRxService()
	fs, err := s.Preview(ctx, rxVillageDr, 100, rxFlagged())
	if err != nil || len(fs) != 1 || !has(fs, RuleRoute, Warn, 1) {
		t.Errorf("flagged: %v %+v", err, fs)
	}
	fs, err = s.Preview(ctx, rxVillageDr, 100, rxBlocked())
	if err != nil || !has(fs, RuleDoseHigh, Block, 1) {
		t.Errorf("blocked: %v %+v", err, fs)
	}
	if len(repo.rows) != 0 || len(repo.events) != 0 {
		t.Errorf("preview stored %+v", repo.rows)
	}
	if got := log.actions(); !slices.Equal(got, []string{audit.ActResidentRead + ":ok", audit.ActResidentRead + ":ok"}) {
		t.Errorf("audit %v", got)
	}
	if fs, err := s.Preview(ctx, rxVillageDr, 300, rxFlagged()); codeOf(err) != care.ENOTFOUND || fs != nil {
		t.Errorf("out of scope: %v %+v", err, fs)
	}
	bad := rxFlagged()
	bad.Lines[0].Days = 0
	if fs, err := s.Preview(ctx, rxVillageDr, 100, bad); codeOf(err) != care.EINVALID || fs != nil {
		t.Errorf("invalid draft: %v %+v", err, fs)
	}
}

// signOne stores a prescription signed by the village doctor for resident
// 100: flagged (pending) or clean (passed).
func signOne(t *testing.T, s *Service, flagged bool) *Signed {
	t.Helper()
	p := rxClean()
	if flagged {
		p = rxFlagged()
	}
	sg, _, err := s.Sign(context.Background(), rxVillageDr, 100, p)
	if err != nil {
		t.Fatal(err)
	}
	return sg
}

// TestGetWhoMayRead pins Get and mayRead ("a pharmacist of its county, a
// prescriber who may see the resident, or the resident"; ENOTFOUND
// otherwise, like a missing prescription), and the audit of the read
// (rx.read, with the resident and the prescription's number).
func TestGetWhoMayRead(t *testing.T) {
	ctx := context.Background()
	s, _, log := newRxService()
	sg := signOne(t, s, true)
	otherPatient := care.Actor{AccountID: 31, Role: care.RoleResident, ResidentID: 101, CountyCode: "411723"}
	noRecord := care.Actor{AccountID: 32, Role: care.RoleResident, CountyCode: "411723"}
	outsider := care.Actor{AccountID: 33, Role: care.RoleVillageDoctor, InstitutionID: 91, CountyCode: "411724"}
	for _, c := range []struct {
		name string
		a    care.Actor
		ok   bool
	}{
		{"pharmacist of the county", rxPharmacist, true},
		{"pharmacist of another county", rxOtherPharm, false},
		{"the patient", rxPatient, true},
		{"another patient", otherPatient, false},
		{"a resident account without a record", noRecord, false},
		{"the prescriber", rxVillageDr, true},
		{"township doctor above the clinic", rxTownshipDr, true},
		{"county specialist with a care link", rxSpecialist, true},
		{"doctor out of scope", outsider, false},
		{"analyst", rxAnalyst, false},
		{"administrator", care.Actor{AccountID: 34, Role: care.RoleAdmin, CountyCode: "411723"}, false},
		{"reader with the care link's institution", care.Actor{AccountID: 35, Role: care.RoleReader, InstitutionID: 3, CountyCode: "411723"}, false},
	} {
		log.events = nil
		got, err := s.Get(ctx, c.a, sg.ID)
		if c.ok {
			if err != nil || got == nil || got.ID != sg.ID || got.Status != StatusPending {
				t.Errorf("%s: %v %v", c.name, got, err)
				continue
			}
			ev := log.events[len(log.events)-1]
			if ev.Action != ActRead || ev.ResidentID != 100 || ev.CountyCode != "411723" || ev.AccountID != c.a.AccountID ||
				ev.Detail != fmt.Sprintf("prescription %d", sg.ID) || ev.Outcome != audit.OutcomeOK {
				t.Errorf("%s: audit %+v", c.name, ev)
			}
			continue
		}
		if codeOf(err) != care.ENOTFOUND || keyOf(err) != "error.not_found" || got != nil {
			t.Errorf("%s read it: %v %v", c.name, got, err)
		}
		if slices.Contains(log.actions(), ActRead+":ok") {
			t.Errorf("%s: a refused read audited as a read: %v", c.name, log.actions())
		}
	}
	if got, err := s.Get(ctx, rxPharmacist, 999); codeOf(err) != care.ENOTFOUND || got != nil {
		t.Errorf("missing prescription: %v %v", got, err)
	}
}

// TestQueue pins Queue (docs/rx.md: "County pharmacists see pending ones
// oldest first"): pharmacists only, their county only, at most 200, the read
// audited (rx.queue, no resident, the count).
func TestQueue(t *testing.T) {
	ctx := context.Background()
	s, repo, log := newRxService()
	signOne(t, s, true)
	signOne(t, s, false)
	signOne(t, s, true)
	repo.rows[2].SignedAt = rxNow.Add(-time.Hour) // the third was signed first
	for _, role := range care.Roles {
		if role == care.RolePharmacist {
			continue
		}
		if list, err := s.Queue(ctx, care.Actor{AccountID: 40, Role: role, InstitutionID: 3, CountyCode: "411723"}); codeOf(err) != care.EFORBIDDEN || list != nil {
			t.Errorf("%s saw the queue: %v %v", role, list, err)
		}
	}
	log.events = nil
	list, err := s.Queue(ctx, rxPharmacist)
	if err != nil || len(list) != 2 || list[0].ID != 3 || list[1].ID != 1 {
		t.Fatalf("queue: %+v %v", list, err)
	}
	if !slices.Equal(repo.limits, []int{200}) {
		t.Errorf("limit %v", repo.limits)
	}
	if len(log.events) != 1 || log.events[0].Action != ActQueue || log.events[0].ResidentID != 0 || log.events[0].Detail != "pending n=2" ||
		log.events[0].CountyCode != "411723" || log.events[0].AccountID != rxPharmacist.AccountID {
		t.Errorf("audit %+v", log.events)
	}
	if list, err := s.Queue(ctx, rxOtherPharm); err != nil || len(list) != 0 {
		t.Errorf("another county's queue: %+v %v", list, err)
	}
	log.events = nil
	repo.err = errors.New("database gone")
	if list, err := s.Queue(ctx, rxPharmacist); !errors.Is(err, repo.err) || list != nil || len(log.events) != 0 {
		t.Errorf("store error: %v %v, audit %v", list, err, log.events)
	}
}

// TestDecideValidation pins Decide's checks (docs/rx.md: a pharmacist
// approves, rejects or returns "with a reason"): pharmacists only; a
// decision is approved, rejected or returned (rx.decision); a rejection or a
// return needs a reason (rx.reason_required; blank counts as none); a
// reason is at most 200 characters. Validation comes before the lookup.
func TestDecideValidation(t *testing.T) {
	ctx := context.Background()
	s, repo, _ := newRxService()
	sg := signOne(t, s, true)
	for _, role := range care.Roles {
		if role == care.RolePharmacist {
			continue
		}
		a := care.Actor{AccountID: 40, Role: role, InstitutionID: 3, CountyCode: "411723"}
		if got, err := s.Decide(ctx, a, sg.ID, StatusApproved, "", 1); codeOf(err) != care.EFORBIDDEN || got != nil {
			t.Errorf("%s decided: %v %v", role, got, err)
		}
	}
	long := strings.Repeat("药", 201)
	for _, c := range []struct {
		decision Status
		reason   string
		fields   []string
	}{
		{StatusRejected, "", []string{"reason:rx.reason_required"}},
		{StatusReturned, " \t ", []string{"reason:rx.reason_required"}},
		{StatusPassed, "ok", []string{"decision:rx.decision"}},
		{StatusPending, "", []string{"decision:rx.decision"}},
		{StatusDispensed, "", []string{"decision:rx.decision"}},
		{"", "", []string{"decision:rx.decision"}},
		{StatusApproved, long, []string{"reason:field.too_long200"}},
		{StatusRejected, long, []string{"reason:field.too_long200"}},
		{"maybe", long, []string{"decision:rx.decision", "reason:field.too_long200"}},
	} {
		got, err := s.Decide(ctx, rxPharmacist, 999, c.decision, c.reason, 1)
		if codeOf(err) != care.EINVALID || !slices.Equal(fieldsOf(err), c.fields) || got != nil {
			t.Errorf("%q %q: %v %v", c.decision, c.reason, err, fieldsOf(err))
		}
	}
	if repo.rows[0].Status != StatusPending || repo.rows[0].Version != 1 {
		t.Errorf("a refused decision changed the prescription: %+v", repo.rows[0])
	}
	// 200 characters, once trimmed, are accepted.
	got, err := s.Decide(ctx, rxPharmacist, sg.ID, StatusReturned, " "+strings.Repeat("药", 200)+" ", 1)
	if err != nil || got.ReviewReason != strings.Repeat("药", 200) {
		t.Errorf("200 characters: %v %v", got, err)
	}
}

// TestDecideTransitions pins Decide's state machine (docs/rx.md: pending →
// approved, rejected or returned, "optimistic version"): ECONFLICT
// (rx.not_pending) unless pending at the version given; a pharmacist of
// another county gets ENOTFOUND; the decision records the reviewer, the
// trimmed reason and the time (review time = reviewed − signed), and writes
// its audit row (rx.decide) with the update.
func TestDecideTransitions(t *testing.T) {
	ctx := context.Background()
	for _, decision := range []Status{StatusApproved, StatusRejected, StatusReturned} {
		s, repo, _ := newRxService()
		sg := signOne(t, s, true)
		passed := signOne(t, s, false)
		if got, err := s.Decide(ctx, rxOtherPharm, sg.ID, decision, "reason", 1); codeOf(err) != care.ENOTFOUND || got != nil {
			t.Errorf("%s by another county: %v %v", decision, got, err)
		}
		if got, err := s.Decide(ctx, rxPharmacist, sg.ID, decision, "reason", 2); codeOf(err) != care.ECONFLICT || keyOf(err) != "rx.not_pending" || got != nil {
			t.Errorf("%s at a stale version: %v %v", decision, got, err)
		}
		if got, err := s.Decide(ctx, rxPharmacist, passed.ID, decision, "reason", 1); codeOf(err) != care.ECONFLICT || got != nil {
			t.Errorf("%s of a passed prescription: %v %v", decision, got, err)
		}
		if got, err := s.Decide(ctx, rxPharmacist, 999, decision, "reason", 1); codeOf(err) != care.ENOTFOUND || got != nil {
			t.Errorf("%s of a missing prescription: %v %v", decision, got, err)
		}
		if len(repo.events) != 2 {
			t.Fatalf("refused decisions audited as writes: %+v", repo.events)
		}
		later := rxNow.Add(90 * time.Minute)
		s.Now = func() time.Time { return later.In(care.Shanghai) }
		got, err := s.Decide(ctx, rxPharmacist, sg.ID, decision, "  see the label  ", 1)
		if err != nil {
			t.Fatalf("%s: %v", decision, err)
		}
		if got.Status != decision || got.ReviewReason != "see the label" || got.ReviewerID != rxPharmacist.AccountID ||
			!got.ReviewedAt.Equal(later) || got.ReviewedAt.Location() != time.UTC || got.Version != 2 || got.ReviewTime() != 90*time.Minute {
			t.Errorf("%s: %+v", decision, got)
		}
		row := repo.rows[0]
		if row.Status != decision || row.ReviewerID != rxPharmacist.AccountID || row.Version != 2 || row.ReviewReason != "see the label" {
			t.Errorf("%s stored %+v", decision, row)
		}
		ev := repo.events[len(repo.events)-1]
		if len(repo.events) != 3 || ev.Action != ActDecide || ev.ResidentID != 100 || ev.CountyCode != "411723" ||
			ev.Detail != fmt.Sprintf("prescription %d %s after 1h30m0s", sg.ID, decision) {
			t.Errorf("%s: audit %+v", decision, repo.events)
		}
		// Decided once: a second decision conflicts.
		if again, err := s.Decide(ctx, rxPharmacist, sg.ID, StatusApproved, "", 2); codeOf(err) != care.ECONFLICT || again != nil {
			t.Errorf("%s then approved: %v %v", decision, again, err)
		}
	}
}

// TestDecideStoreErrors pins Decide: an error reading or updating the
// prescription is the decision's error, and nothing is returned.
func TestDecideStoreErrors(t *testing.T) {
	ctx := context.Background()
	s, repo, _ := newRxService()
	sg := signOne(t, s, true)
	repo.updateErr = errors.New("lost the connection")
	if got, err := s.Decide(ctx, rxPharmacist, sg.ID, StatusApproved, "", 1); !errors.Is(err, repo.updateErr) || got != nil {
		t.Errorf("update error: %v %v", got, err)
	}
	repo.err = errors.New("database gone")
	if got, err := s.Decide(ctx, rxPharmacist, sg.ID, StatusApproved, "", 1); !errors.Is(err, repo.err) || got != nil {
		t.Errorf("read error: %v %v", got, err)
	}
	if got, err := s.Get(ctx, rxPharmacist, sg.ID); !errors.Is(err, repo.err) || got != nil {
		t.Errorf("Get, read error: %v %v", got, err)
	}
}

// TestServiceIndicators pins Service.Indicators (docs/rx.md: "pharmacists,
// analysts; aggregates only"): other roles EFORBIDDEN; the period is
// from..to inclusive in China time, to not before from and at most 366 days
// after it (rx.period on "from"); the actor's county only; the read audited
// (rx.indicators, no resident, the period and the count).
func TestServiceIndicators(t *testing.T) {
	ctx := context.Background()
	s, repo, log := newRxService()
	from, to := day("2026-03-01"), day("2026-03-31")
	at := func(y int, m time.Month, d, h, min, sec int) time.Time {
		return time.Date(y, m, d, h, min, sec, 0, care.Shanghai).UTC()
	}
	for _, c := range []struct {
		county string
		signed time.Time
		status Status
	}{
		{"411723", at(2026, 2, 28, 23, 59, 59), StatusPassed}, // the day before: out
		{"411723", at(2026, 3, 1, 0, 0, 0), StatusPassed},     // first second: in
		{"411723", at(2026, 3, 31, 23, 59, 59), StatusPending},
		{"411723", at(2026, 4, 1, 0, 0, 0), StatusPassed}, // the day after: out
		{"411724", at(2026, 3, 15, 12, 0, 0), StatusPassed},
	} {
		repo.rows = append(repo.rows, Signed{ID: int64(len(repo.rows) + 1), CountyCode: c.county, ResidentID: 100, Status: c.status, SignedAt: c.signed})
	}
	for _, role := range care.Roles {
		if role == care.RolePharmacist || role == care.RoleAnalyst {
			continue
		}
		if in, err := s.Indicators(ctx, care.Actor{AccountID: 40, Role: role, InstitutionID: 3, CountyCode: "411723"}, from, to); codeOf(err) != care.EFORBIDDEN || in != nil {
			t.Errorf("%s read the indicators: %v %v", role, in, err)
		}
	}
	for _, a := range []care.Actor{rxPharmacist, rxAnalyst} {
		log.events = nil
		in, err := s.Indicators(ctx, a, from, to)
		if err != nil || in.Signed != 2 || in.AutoPassed != 1 || in.Flagged != 1 || in.From != from || in.To != to {
			t.Errorf("%s: %+v %v", a.Role, in, err)
		}
		if len(log.events) != 1 || log.events[0].Action != ActIndicators || log.events[0].ResidentID != 0 ||
			log.events[0].Detail != "2026-03-01..2026-03-31 n=2" || log.events[0].AccountID != a.AccountID {
			t.Errorf("%s: audit %+v", a.Role, log.events)
		}
	}
	if in, err := s.Indicators(ctx, rxOtherPharm, from, to); err != nil || in.Signed != 1 {
		t.Errorf("the other county: %+v %v", in, err)
	}
	if in, err := s.Indicators(ctx, rxPharmacist, to, to); err != nil || in.Signed != 1 {
		t.Errorf("one day: %+v %v", in, err)
	}
	if in, err := s.Indicators(ctx, rxPharmacist, from, from.AddDays(366)); err != nil || in.Signed != 3 {
		t.Errorf("366 days: %+v %v", in, err)
	}
	for _, p := range [][2]care.Date{{{}, to}, {from, {}}, {to, from}, {from, from.AddDays(367)}, {to, to.AddDays(-1)}} {
		log.events = nil
		in, err := s.Indicators(ctx, rxPharmacist, p[0], p[1])
		if codeOf(err) != care.EINVALID || !slices.Equal(fieldsOf(err), []string{"from:rx.period"}) || in != nil || len(log.events) != 0 {
			t.Errorf("period %v..%v: %v %v", p[0], p[1], in, err)
		}
	}
	repo.err = errors.New("database gone")
	log.events = nil
	if in, err := s.Indicators(ctx, rxPharmacist, from, to); !errors.Is(err, repo.err) || in != nil || len(log.events) != 0 {
		t.Errorf("store error: %v %v", in, err)
	}
}

// TestReviewedAndReviewTime pins Status.Reviewed (docs/rx.md: dispensing
// accepts only passed or approved; 互联网诊疗监管细则 2022: no drugs before a
// reviewed prescription) and Signed.ReviewTime (审方时长: zero for an
// automatic pass or while pending, reviewed − signed otherwise).
func TestReviewedAndReviewTime(t *testing.T) {
	for st, want := range map[Status]bool{StatusPassed: true, StatusApproved: true, StatusPending: false, StatusRejected: false,
		StatusReturned: false, StatusDispensed: false, "": false} {
		if got := st.Reviewed(); got != want {
			t.Errorf("%q reviewed: %v", st, got)
		}
	}
	t0 := rxNow
	for _, c := range []struct {
		s    Signed
		want time.Duration
	}{
		{Signed{Status: StatusPending, SignedAt: t0}, 0},
		{Signed{Status: StatusPassed, SignedAt: t0, ReviewedAt: t0.Add(time.Minute)}, 0},
		{Signed{Status: StatusApproved, SignedAt: t0, ReviewedAt: t0.Add(time.Minute)}, time.Minute},
		{Signed{Status: StatusDispensed, SignedAt: t0, ReviewedAt: t0.Add(2 * time.Hour)}, 2 * time.Hour},
		{Signed{Status: StatusDispensed, SignedAt: t0}, 0}, // passed automatically, then dispensed
	} {
		if got := c.s.ReviewTime(); got != c.want {
			t.Errorf("%+v: %v, want %v", c.s, got, c.want)
		}
	}
}
