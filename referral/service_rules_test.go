package referral

// Tests of the referral service's rules with in-memory fakes of its own
// Repository, the resident registry's repository, the organisation tree
// and the staff list (issue 18 §6: gremlins runs only this package's
// tests, and the service's tests lived in store/ and web/). The fake copies
// what store/referral.go does: ENOTFOUND for a missing row; the
// idempotency key unique per county (the same key returns the stored
// referral, or ECONFLICT referral.idempotency_mismatch when the body hash
// or the direction differs); a transition saved only at the version read
// (ECONFLICT referral.stale), with its event, the care link's expiry
// (never moved later) and the outbox messages; the listing's filter and
// order. Each test names the rule it pins in docs/referral.md ("Who does
// what", "Reason codes", "States", "Access", "Creation is idempotent",
// "From a consultation", "Down-referral", "Indicators") or
// policy-rules.md §3.

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
	"countycare/notify"
	"countycare/org"
	"countycare/resident"
)

const county = "411723"

// Organisation: county 1 with county hospital 2 (departments 201, 202),
// diagnosis center 3, an inactive hospital 4, township 10 (villages 11,
// 12), central center 20 (village 21), sub-center 30; partner hospital 90
// outside the county; another county 500 with its township 510.
type fakeOrgs struct{}

func (fakeOrgs) Tree(context.Context) (*org.Tree, error) {
	return org.NewTree([]org.Institution{
		{ID: 1, Kind: org.KindCounty, CountyCode: county, Name: "县", Active: true},
		{ID: 2, ParentID: 1, Kind: org.KindCountyHospital, Level: org.LevelCounty, CountyCode: county, Name: "县医院", Active: true},
		{ID: 3, ParentID: 1, Kind: org.KindDiagnosis, Level: org.LevelCounty, CountyCode: county, Name: "诊断中心", Active: true},
		{ID: 4, ParentID: 1, Kind: org.KindCountyHospital, Level: org.LevelCounty, CountyCode: county, Name: "旧医院", Active: false},
		{ID: 10, ParentID: 1, Kind: org.KindTownshipHC, Level: org.LevelTownship, CountyCode: county, Name: "甲镇卫生院", Active: true},
		{ID: 11, ParentID: 10, Kind: org.KindVillageClinic, Level: org.LevelVillage, CountyCode: county, Name: "一村", Active: true},
		{ID: 12, ParentID: 10, Kind: org.KindVillageClinic, Level: org.LevelVillage, CountyCode: county, Name: "二村", Active: true},
		{ID: 20, ParentID: 1, Kind: org.KindCentralHC, Level: org.LevelTownship, CountyCode: county, Name: "乙镇中心卫生院", Active: true},
		{ID: 21, ParentID: 20, Kind: org.KindVillageClinic, Level: org.LevelVillage, CountyCode: county, Name: "三村", Active: true},
		{ID: 30, ParentID: 1, Kind: org.KindSubCenter, Level: org.LevelTownship, CountyCode: county, Name: "次中心", Active: true},
		{ID: 90, Kind: org.KindPartner, Level: org.LevelProvince, CountyCode: "410100", Name: "省医院", Active: true},
		{ID: 500, Kind: org.KindCounty, CountyCode: "411724", Name: "邻县", Active: true},
		{ID: 510, ParentID: 500, Kind: org.KindTownshipHC, Level: org.LevelTownship, CountyCode: "411724", Name: "邻镇", Active: true},
	}), nil
}

type fakeStaff struct {
	depts  map[int64][]org.Department
	practs map[int64]*org.Practitioner
}

func (f *fakeStaff) Departments(_ context.Context, inst int64) ([]org.Department, error) {
	return f.depts[inst], nil
}

func (f *fakeStaff) Practitioner(_ context.Context, id int64) (*org.Practitioner, error) {
	if p, ok := f.practs[id]; ok {
		return p, nil
	}
	return nil, care.Errorf(care.ENOTFOUND, "error.not_found")
}

// fakeResidents answers the registry's scoped read; a county
// specialist's scope is the live care links the fake repository holds.
type fakeResidents struct {
	resident.Repository
	byID map[int64]*resident.Resident
	repo *fakeRepo
}

func (f *fakeResidents) ResidentScoped(_ context.Context, id int64, sc access.Scope, now time.Time) (*resident.Resident, bool, error) {
	r, ok := f.byID[id]
	if !ok {
		return nil, false, care.Errorf(care.ENOTFOUND, "resident.not_found")
	}
	sub := access.Subject{ResidentID: r.ID, CountyCode: r.CountyCode, ManagedBy: r.VillageID}
	for _, l := range f.repo.links {
		if l.ResidentID == id && (l.ExpiresAt.IsZero() || l.ExpiresAt.After(now)) {
			sub.LinkedTo = append(sub.LinkedTo, l.InstitutionID)
		}
	}
	c := *r
	return &c, sc.Allows(sub), nil
}

type fakeRepo struct {
	rs     map[int64]*Referral
	events []Event
	tasks  []Task
	links  []access.CareLink
	msgs   []notify.Message
	rows   []audit.Event // audit rows written with the data
	facts  []Fact
	visits []VisitCount
	calls  []string
	next   int64
}

func (f *fakeRepo) id() int64 { f.next++; return f.next }

// transition is store.transition: the columns a transition changes, at the version read.
func (f *fakeRepo) transition(t *Transition) error {
	r := t.Referral
	cur, ok := f.rs[r.ID]
	if !ok || cur.Version != r.Version {
		return &care.Error{Code: care.ECONFLICT, Key: "referral.stale"}
	}
	for i := range t.Messages {
		if err := t.Messages[i].Valid(); err != nil {
			return care.Internal("fake.transition", err)
		}
	}
	cur.Status, cur.Note, cur.Appointment, cur.Bed, cur.AcceptedAt, cur.ArrivedAt, cur.ClosedAt, cur.UpdatedAt =
		r.Status, r.Note, r.Appointment, r.Bed, r.AcceptedAt, r.ArrivedAt, r.ClosedAt, r.UpdatedAt
	cur.Version++
	r.Version++
	e := t.Event
	e.ID = f.id()
	f.events = append(f.events, e)
	if !t.ExpireLink.IsZero() && r.CareLinkID != 0 {
		for i := range f.links {
			if l := &f.links[i]; l.ID == r.CareLinkID && (l.ExpiresAt.IsZero() || l.ExpiresAt.After(t.ExpireLink)) {
				l.ExpiresAt = t.ExpireLink
			}
		}
	}
	for _, m := range t.Messages {
		m.Status, m.CreatedAt = "queued", e.At
		f.msgs = append(f.msgs, m)
	}
	return nil
}

func (f *fakeRepo) CreateReferral(_ context.Context, r *Referral, link *access.CareLink, tasks []Task, parent *Transition, ev audit.Event) (*Referral, bool, error) {
	for _, x := range f.rs {
		if x.County == r.County && x.IdempotencyKey == r.IdempotencyKey {
			if x.BodyHash != r.BodyHash || x.Direction != r.Direction {
				return nil, false, &care.Error{Code: care.ECONFLICT, Key: "referral.idempotency_mismatch"}
			}
			c := *x
			return &c, false, nil
		}
	}
	if parent != nil {
		if err := f.transition(parent); err != nil {
			return nil, false, err
		}
	}
	if link != nil {
		link.CreatedAt, link.ID = r.SentAt, f.id()
		f.links = append(f.links, *link)
		r.CareLinkID = link.ID
	}
	r.ID, r.Version = f.id(), 1
	f.events = append(f.events, Event{ID: f.id(), County: r.County, ReferralID: r.ID, Action: "create", To: r.Status, Note: r.Note, By: r.SentBy, ByInst: r.FromInst, At: r.SentAt})
	for i := range tasks {
		tasks[i].ReferralID, tasks[i].ID = r.ID, f.id()
		f.tasks = append(f.tasks, tasks[i])
	}
	ev.Detail += fmt.Sprintf(" referral %d", r.ID)
	f.rows = append(f.rows, ev)
	c := *r
	c.Reasons = slices.Clone(r.Reasons)
	f.rs[r.ID] = &c
	return r, true, nil
}

func (f *fakeRepo) Referral(_ context.Context, id int64) (*Referral, error) {
	r, ok := f.rs[id]
	if !ok {
		return nil, care.Errorf(care.ENOTFOUND, "error.not_found")
	}
	c := *r
	return &c, nil
}

func (f *fakeRepo) SaveTransition(_ context.Context, t *Transition, ev audit.Event) error {
	if err := f.transition(t); err != nil {
		return err
	}
	f.rows = append(f.rows, ev)
	return nil
}

// Referrals filters and orders as store.Referrals: open first, emergencies
// first, newest first.
func (f *fakeRepo) Referrals(_ context.Context, fl Filter) ([]Referral, error) {
	f.calls = append(f.calls, fmt.Sprintf("Referrals %s dir=%s from=%v to=%v dept=%d st=%v res=%d limit=%d", fl.County, fl.Direction, fl.FromInsts, fl.ToInsts, fl.ToDept, fl.Statuses, fl.ResidentID, fl.Limit))
	var out []Referral
	for _, r := range f.rs {
		if r.County != fl.County || fl.Direction != "" && r.Direction != fl.Direction ||
			fl.FromInsts != nil && !slices.Contains(fl.FromInsts, r.FromInst) || fl.ToInsts != nil && !slices.Contains(fl.ToInsts, r.ToInst) ||
			fl.ToDept != 0 && r.ToDept != fl.ToDept || len(fl.Statuses) > 0 && !slices.Contains(fl.Statuses, r.Status) ||
			fl.ResidentID != 0 && r.ResidentID != fl.ResidentID {
			continue
		}
		out = append(out, *r)
	}
	rank := func(r Referral) int {
		n := 0
		if r.Status.Closed() {
			n += 2
		}
		if r.Urgency != Emergency {
			n++
		}
		return n
	}
	slices.SortFunc(out, func(a, b Referral) int {
		if rank(a) != rank(b) {
			return rank(a) - rank(b)
		}
		if !a.SentAt.Equal(b.SentAt) {
			return b.SentAt.Compare(a.SentAt)
		}
		return int(b.ID - a.ID)
	})
	if len(out) > fl.Limit {
		out = out[:fl.Limit]
	}
	return out, nil
}

func (f *fakeRepo) ReferralEvents(_ context.Context, id int64) ([]Event, error) {
	var out []Event
	for _, e := range f.events {
		if e.ReferralID == id {
			out = append(out, e)
		}
	}
	return out, nil
}

func (f *fakeRepo) ReferralTasks(_ context.Context, ids []int64) ([]Task, error) {
	f.calls = append(f.calls, fmt.Sprintf("ReferralTasks %v", ids))
	var out []Task
	for _, t := range f.tasks {
		if slices.Contains(ids, t.ReferralID) {
			out = append(out, t)
		}
	}
	slices.SortStableFunc(out, func(a, b Task) int {
		if a.Due != b.Due {
			if a.Due.Before(b.Due) {
				return -1
			}
			return 1
		}
		return int(a.ID - b.ID)
	})
	return out, nil
}

func (f *fakeRepo) ReferralFacts(_ context.Context, c string, from, to care.Date, fn func(Fact) error) error {
	f.calls = append(f.calls, fmt.Sprintf("ReferralFacts %s %s..%s", c, from, to))
	for _, x := range f.facts {
		if err := fn(x); err != nil {
			return err
		}
	}
	return nil
}

func (f *fakeRepo) VisitCounts(_ context.Context, c string, from, to care.Date) ([]VisitCount, error) {
	f.calls = append(f.calls, fmt.Sprintf("VisitCounts %s %s..%s", c, from, to))
	return f.visits, nil
}

type auditLog struct{ events []audit.Event }

func (a *auditLog) Record(_ context.Context, e audit.Event) { a.events = append(a.events, e) }

func (a *auditLog) actions() string {
	var out []string
	for _, e := range a.events {
		out = append(out, e.Action+":"+e.Outcome)
	}
	return strings.Join(out, " ")
}

var (
	refNow = time.Date(2026, 11, 29, 2, 0, 0, 0, time.UTC) // 10:00 in Beijing

	villageDr  = care.Actor{AccountID: 7, Role: care.RoleVillageDoctor, InstitutionID: 11, CountyCode: county, PractitionerID: 70}
	village2Dr = care.Actor{AccountID: 6, Role: care.RoleVillageDoctor, InstitutionID: 12, CountyCode: county, PractitionerID: 60}
	townshipDr = care.Actor{AccountID: 8, Role: care.RoleTownshipDoctor, InstitutionID: 10, CountyCode: county, PractitionerID: 80}
	otherTwpDr = care.Actor{AccountID: 9, Role: care.RoleTownshipDoctor, InstitutionID: 20, CountyCode: county, PractitionerID: 0}
	specialist = care.Actor{AccountID: 3, Role: care.RoleCountySpecialist, InstitutionID: 2, CountyCode: county, PractitionerID: 30}
	diagDr     = care.Actor{AccountID: 4, Role: care.RoleCountySpecialist, InstitutionID: 3, CountyCode: county, PractitionerID: 40}
	analyst    = care.Actor{AccountID: 2, Role: care.RoleAnalyst, InstitutionID: 1, CountyCode: county}
	pharmacist = care.Actor{AccountID: 5, Role: care.RolePharmacist, InstitutionID: 2, CountyCode: county}
)

type refHarness struct {
	s     *Service
	r     *fakeRepo
	log   *auditLog
	staff *fakeStaff
}

// newReferral serves residents 100 (village 11), 101 (village 11, in
// extreme poverty), 102 (village 11, moved away), 103 (village 12) and
// 200 (village 21). Practitioner 70 (village 11) has a phone, 80 none.
func newReferral() *refHarness {
	r := &fakeRepo{rs: map[int64]*Referral{}, next: 1000}
	fr := &fakeResidents{repo: r, byID: map[int64]*resident.Resident{
		100: {ID: 100, CountyCode: county, VillageID: 11, Status: resident.StatusActive},
		101: {ID: 101, CountyCode: county, VillageID: 11, Status: resident.StatusActive, Poverty: resident.PovertyExtreme},
		102: {ID: 102, CountyCode: county, VillageID: 11, Status: resident.StatusMoved},
		103: {ID: 103, CountyCode: county, VillageID: 12, Status: resident.StatusActive},
		200: {ID: 200, CountyCode: county, VillageID: 21, Status: resident.StatusActive},
	}}
	staff := &fakeStaff{
		depts: map[int64][]org.Department{2: {{ID: 201, InstitutionID: 2, Name: "心内科"}, {ID: 202, InstitutionID: 2, Name: "神经内科"}}, 90: {{ID: 901, InstitutionID: 90}}},
		practs: map[int64]*org.Practitioner{
			70: {ID: 70, InstitutionID: 11, Phone: "13800000070", Active: true},
			80: {ID: 80, InstitutionID: 10, Active: true},
			30: {ID: 30, InstitutionID: 2, DepartmentID: 201, Phone: "13800000030", Active: true},
		},
	}
	log := &auditLog{}
	now := func() time.Time { return refNow.Add(300 * time.Nanosecond) } // the store keeps microseconds
	rsvc := &resident.Service{Repo: fr, Orgs: fakeOrgs{}, Audit: log, Now: now}
	s := &Service{Repo: r, Residents: rsvc, Orgs: fakeOrgs{}, Staff: staff, Audit: log, Config: DefaultConfig(), Now: now}
	return &refHarness{s: s, r: r, log: log, staff: staff}
}

func errCode(err error) string {
	if ce, ok := err.(*care.Error); ok {
		return ce.Code
	}
	if err != nil {
		return "other:" + err.Error()
	}
	return ""
}

func errKey(err error) string {
	if ce, ok := err.(*care.Error); ok {
		return ce.Key
	}
	return ""
}

// fields lists an error's field errors as "field:key".
func fields(err error) string {
	if err == nil {
		return ""
	}
	ce, ok := err.(*care.Error)
	if !ok {
		return err.Error()
	}
	var out []string
	for _, f := range ce.Fields {
		out = append(out, f.Field+":"+f.Key)
	}
	return strings.Join(out, ",")
}

func draft(res, to, dept int64, key string, reasons ...Reason) Draft {
	if reasons == nil {
		reasons = []Reason{HTNNotAtTarget}
	}
	return Draft{ResidentID: res, Reasons: reasons, Summary: " 血压控制不佳 ", Urgency: Routine, ToInst: to, ToDept: dept, IdempotencyKey: key}
}

// up creates an up-referral from villageDr and returns it.
func (h *refHarness) up(t *testing.T, res int64, d Draft) *Referral {
	t.Helper()
	d.ResidentID = res
	r, err := h.s.Create(context.Background(), villageDr, d)
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	return r
}

// TestDefaultLinkGrace pins docs/referral.md "Access": the receiving
// institution keeps access for 72 hours after the referral closes.
func TestDefaultLinkGrace(t *testing.T) {
	if DefaultConfig().LinkGrace != 72*time.Hour {
		t.Errorf("LinkGrace %v, want 72h", DefaultConfig().LinkGrace)
	}
}

// TestCreateUpReferral pins Create (docs/referral.md "Who does what",
// "Reason codes", "Access"): sent from the actor's institution; an
// emergency criterion makes it an emergency; a resident in a poverty
// category gets the green channel; a receiver outside the county makes it
// out of county; the receiving institution gains a care link; the write is
// audited with the data.
func TestCreateUpReferral(t *testing.T) {
	ctx := context.Background()
	h := newReferral()
	d := draft(100, 2, 201, " k1 ")
	d.RequestedAt, d.BedRequested = refNow.Add(24*time.Hour), true
	r, err := h.s.Create(ctx, villageDr, d)
	if err != nil {
		t.Fatal(err)
	}
	now := refNow // truncated to the microsecond, UTC
	if r.County != county || r.Direction != Up || r.Status != StatusSent || r.ResidentID != 100 || r.FromInst != 11 || r.ToInst != 2 || r.ToDept != 201 ||
		r.Urgency != Routine || r.OutOfCounty || r.Poverty || r.GreenChannel || r.Summary != "血压控制不佳" || r.IdempotencyKey != "a7:k1" ||
		r.SentBy != 7 || r.SentByPract != 70 || !r.FirstSentAt.Equal(now) || r.FirstSentAt.Location() != time.UTC || !r.SentAt.Equal(now) ||
		!r.UpdatedAt.Equal(now) || r.Version != 1 || r.BodyHash == "" || !r.BedRequested || !r.RequestedAt.Equal(d.RequestedAt) || r.ConsultationID != 0 {
		t.Errorf("referral %+v", r)
	}
	if len(h.r.links) != 1 || h.r.links[0] != (access.CareLink{ID: r.CareLinkID, CountyCode: county, ResidentID: 100, InstitutionID: 2, Kind: access.LinkReferral,
		Reason: "referral", CreatedBy: 7, CreatedAt: now}) {
		t.Errorf("care link %+v (referral's %d)", h.r.links, r.CareLinkID)
	}
	if len(h.r.rows) != 1 || h.r.rows[0].Action != AuditCreate || h.r.rows[0].ResidentID != 100 || h.r.rows[0].CountyCode != county ||
		h.r.rows[0].Detail != fmt.Sprintf("up-referral routine to institution 2 dept 201 referral %d", r.ID) {
		t.Errorf("audit %+v", h.r.rows)
	}
	// The specialist now sees the resident through the link.
	if _, err := h.s.Residents.Get(ctx, specialist, 100); err != nil {
		t.Errorf("the receiving hospital after the referral: %v", err)
	}

	em, err := h.s.Create(ctx, villageDr, draft(101, 90, 0, "k2", HTNNotAtTarget, EmSuspectedACS))
	if err != nil || em.Urgency != Emergency || !em.Poverty || !em.GreenChannel || !em.OutOfCounty || em.ToDept != 0 {
		t.Errorf("emergency, poor, out of county: %+v %v", em, err)
	}
	if d := h.r.rows[1].Detail; d != fmt.Sprintf("up-referral emergency to institution 90 dept 0 referral %d", em.ID) {
		t.Errorf("audit detail %q", d)
	}
	// The diagnosis center in the county is not out of county.
	if r, err := h.s.Create(ctx, townshipDr, draft(103, 3, 0, "k3")); err != nil || r.OutOfCounty || r.FromInst != 10 {
		t.Errorf("to the diagnosis center: %+v %v", r, err)
	}
	for _, a := range []care.Actor{analyst, pharmacist} {
		if _, err := h.s.Create(ctx, a, draft(100, 2, 0, "k9")); errCode(err) != care.EFORBIDDEN {
			t.Errorf("%s sending: %v", a.Role, err)
		}
	}
	if _, err := h.s.Create(ctx, villageDr, draft(200, 2, 0, "k9")); errCode(err) != care.ENOTFOUND {
		t.Errorf("another village's resident: %v", err)
	}
}

// TestCreateIsIdempotent pins docs/referral.md "Creation is idempotent": a
// retry with the same key and body returns the first referral and writes
// nothing; the same key with another body is ECONFLICT; a key is scoped to
// the account that chose it.
func TestCreateIsIdempotent(t *testing.T) {
	ctx := context.Background()
	h := newReferral()
	d := draft(100, 2, 201, "k1")
	first := h.up(t, 100, d)
	again, err := h.s.Create(ctx, villageDr, d)
	if err != nil || again.ID != first.ID || len(h.r.rs) != 1 || len(h.r.rows) != 1 || len(h.r.links) != 1 {
		t.Errorf("retry: %+v %v (%d referrals, %d audit rows)", again, err, len(h.r.rs), len(h.r.rows))
	}
	// The reasons' order does not change the body.
	d2 := draft(100, 2, 201, "k5", HTNNotAtTarget, HTNOrganDamage)
	x := h.up(t, 100, d2)
	d2.Reasons = []Reason{HTNOrganDamage, HTNNotAtTarget}
	if y, err := h.s.Create(ctx, villageDr, d2); err != nil || y.ID != x.ID {
		t.Errorf("reasons reordered: %v", err)
	}
	for name, mod := range map[string]func(*Draft){
		"summary":      func(d *Draft) { d.Summary = "另一摘要" },
		"reasons":      func(d *Draft) { d.Reasons = []Reason{HTNOrganDamage} },
		"urgency":      func(d *Draft) { d.Urgency = Emergency },
		"receiver":     func(d *Draft) { d.ToInst = 3; d.ToDept = 0 },
		"department":   func(d *Draft) { d.ToDept = 202 },
		"appointment":  func(d *Draft) { d.RequestedAt = refNow.Add(time.Hour) },
		"bed":          func(d *Draft) { d.BedRequested = true },
		"the resident": func(d *Draft) { d.ResidentID = 101 },
	} {
		other := d
		mod(&other)
		if _, err := h.s.Create(ctx, villageDr, other); errCode(err) != care.ECONFLICT || errKey(err) != "referral.idempotency_mismatch" {
			t.Errorf("the same key with another %s: %v", name, err)
		}
	}
	// Another account's key of the same text is another key.
	if r, err := h.s.Create(ctx, townshipDr, d); err != nil || r.ID == first.ID || r.IdempotencyKey != "a8:k1" {
		t.Errorf("another account, same key: %+v %v", r, err)
	}
}

// TestCreateValidation pins Create's checks (docs/referral.md "Reason
// codes": 1–MaxReasons distinct known codes; a summary of 1–MaxSummary
// characters; routine or emergency; an appointment asked for from an hour
// ago to 90 days ahead; an idempotency key of at most MaxKey characters as
// stored; the receiver per CheckTarget; an active resident).
func TestCreateValidation(t *testing.T) {
	ctx := context.Background()
	distinct := func(n int) []Reason { return slices.Clone(Reasons[5 : 5+n]) }
	for _, tt := range []struct {
		name string
		a    care.Actor
		mod  func(*Draft)
		want string
	}{
		{"as written", villageDr, func(*Draft) {}, ""},
		{"no reason", villageDr, func(d *Draft) { d.Reasons = []Reason{} }, "reasons:referral.reasons.required"},
		{"an unknown reason", villageDr, func(d *Draft) { d.Reasons = []Reason{"tired"} }, "reasons:referral.reasons.invalid"},
		{"a reason twice", villageDr, func(d *Draft) { d.Reasons = []Reason{HTNOrganDamage, HTNOrganDamage} }, "reasons:referral.reasons.invalid"},
		{"8 reasons", villageDr, func(d *Draft) { d.Reasons = distinct(8) }, ""},
		{"9 reasons", villageDr, func(d *Draft) { d.Reasons = distinct(9) }, "reasons:referral.reasons.too_many"},
		{"no summary", villageDr, func(d *Draft) { d.Summary = "  " }, "summary:field.required"},
		{"a 2000-character summary", villageDr, func(d *Draft) { d.Summary = strings.Repeat("症", MaxSummary) }, ""},
		{"a 2001-character summary", villageDr, func(d *Draft) { d.Summary = strings.Repeat("症", MaxSummary+1) }, "summary:field.too_long"},
		{"no urgency", villageDr, func(d *Draft) { d.Urgency = "" }, "urgency:referral.urgency.invalid"},
		{"emergency chosen", villageDr, func(d *Draft) { d.Urgency = Emergency }, ""},
		{"asked for an hour ago", villageDr, func(d *Draft) { d.RequestedAt = refNow.Add(-time.Hour) }, ""},
		{"asked for an hour and a microsecond ago", villageDr, func(d *Draft) { d.RequestedAt = refNow.Add(-time.Hour - time.Microsecond) }, "requested_at:referral.requested_at.range"},
		{"asked for in 90 days", villageDr, func(d *Draft) { d.RequestedAt = refNow.AddDate(0, 0, 90) }, ""},
		{"asked for in 90 days and a microsecond", villageDr, func(d *Draft) { d.RequestedAt = refNow.AddDate(0, 0, 90).Add(time.Microsecond) }, "requested_at:referral.requested_at.range"},
		{"no key", villageDr, func(d *Draft) { d.IdempotencyKey = " " }, "idempotency_key:field.required"},
		{"a key of 100 characters stored (a7: + 97)", villageDr, func(d *Draft) { d.IdempotencyKey = strings.Repeat("k", MaxKey-3) }, ""},
		{"a key of 101 characters stored", villageDr, func(d *Draft) { d.IdempotencyKey = strings.Repeat("k", MaxKey-2) }, "idempotency_key:field.too_long"},
		{"a resident who moved away", villageDr, func(d *Draft) { d.ResidentID = 102 }, "resident_id:referral.resident_not_active"},
		{"to a village clinic", villageDr, func(d *Draft) { d.ToInst, d.ToDept = 12, 0 }, "to_institution:referral.to.level"},
		{"to a township center", villageDr, func(d *Draft) { d.ToInst, d.ToDept = 10, 0 }, "to_institution:referral.to.level"},
		{"to no institution", villageDr, func(d *Draft) { d.ToInst, d.ToDept = 999, 0 }, "to_institution:referral.to.invalid"},
		{"to no institution, with a department", villageDr, func(d *Draft) { d.ToInst, d.ToDept = 999, 201 }, "to_institution:referral.to.invalid"},
		{"to an inactive hospital", villageDr, func(d *Draft) { d.ToInst, d.ToDept = 4, 0 }, "to_institution:referral.to.invalid"},
		{"to another hospital's department", villageDr, func(d *Draft) { d.ToDept = 901 }, "to_department:referral.to.department"},
		{"to the partner hospital's department", villageDr, func(d *Draft) { d.ToInst, d.ToDept = 90, 901 }, ""},
		{"a county specialist, out of the county", specialist, func(d *Draft) { d.ToInst, d.ToDept = 90, 0 }, ""},
		{"a county specialist, to their own hospital", specialist, func(d *Draft) {}, "to_institution:referral.to.level"},
		{"a county specialist, to the diagnosis center", specialist, func(d *Draft) { d.ToInst, d.ToDept = 3, 0 }, "to_institution:referral.to.level"},
		{"everything wrong", villageDr, func(d *Draft) {
			d.Reasons, d.Summary, d.Urgency, d.IdempotencyKey, d.ToInst, d.ToDept = nil, "", "soon", "", 12, 0
		}, "reasons:referral.reasons.required,summary:field.required,urgency:referral.urgency.invalid,idempotency_key:field.required,to_institution:referral.to.level"},
	} {
		h := newReferral()
		if tt.a.Role == care.RoleCountySpecialist { // the specialist sees resident 100 through an admission's link
			h.r.links = append(h.r.links, access.CareLink{ID: 1, CountyCode: county, ResidentID: 100, InstitutionID: 2, Kind: "admission"})
		}
		d := draft(100, 2, 201, "k1")
		tt.mod(&d)
		_, err := h.s.Create(ctx, tt.a, d)
		if fields(err) != tt.want || (err == nil) != (tt.want == "") {
			t.Errorf("%s: %v %q, want %q", tt.name, err, fields(err), tt.want)
		}
		if saved := len(h.r.rs) == 1; saved != (tt.want == "") {
			t.Errorf("%s: saved=%v", tt.name, saved)
		}
	}
}

// TestFromConsultation pins docs/referral.md "From a consultation": exactly
// Create with the consultation stored; an empty key becomes
// consultation:<id>, so one consultation yields one referral per body.
func TestFromConsultation(t *testing.T) {
	ctx := context.Background()
	h := newReferral()
	for _, id := range []int64{0, -1} {
		if _, err := h.s.FromConsultation(ctx, villageDr, id, draft(100, 2, 201, "")); fields(err) != "consultation_id:referral.consultation.invalid" {
			t.Errorf("consultation %d: %v", id, err)
		}
	}
	r, err := h.s.FromConsultation(ctx, villageDr, 5, draft(100, 2, 201, " "))
	if err != nil || r.IdempotencyKey != "consultation:5" || r.ConsultationID != 5 {
		t.Fatalf("from consultation 5: %+v %v", r, err)
	}
	if d := h.r.rows[0].Detail; d != fmt.Sprintf("up-referral routine to institution 2 dept 201 from consultation 5 referral %d", r.ID) {
		t.Errorf("audit detail %q", d)
	}
	if again, err := h.s.FromConsultation(ctx, villageDr, 5, draft(100, 2, 201, "")); err != nil || again.ID != r.ID || len(h.r.rs) != 1 {
		t.Errorf("the same consultation again: %v", err)
	}
	// The consultation is part of the body: the same client key from
	// another consultation is another body.
	if _, err := h.s.FromConsultation(ctx, villageDr, 6, draft(100, 2, 201, "mine")); err != nil {
		t.Fatal(err)
	}
	if _, err := h.s.FromConsultation(ctx, villageDr, 7, draft(100, 2, 201, "mine")); errKey(err) != "referral.idempotency_mismatch" {
		t.Errorf("another consultation under the same key: %v", err)
	}
	if r, err := h.s.Create(ctx, villageDr, draft(100, 2, 201, "consultation:5")); err != nil || r.ID == 0 || r.IdempotencyKey != "a7:consultation:5" {
		t.Errorf("a client cannot take the system's key: %+v %v", r, err)
	}
}

// TestPartiesAndReads pins docs/referral.md "Who does what" and "Access":
// the sending side is the sending institution and those above it, the
// receiving side the receiving institution and those above it, both
// doctors only; anyone else gets ENOTFOUND like a missing referral, and
// the attempt is audited; every read is audited; the detail shows the
// actions the actor's side may take and the related referrals.
func TestPartiesAndReads(t *testing.T) {
	ctx := context.Background()
	h := newReferral()
	r := h.up(t, 100, draft(100, 2, 201, "k1"))
	for _, tt := range []struct {
		a        care.Actor
		snd, rcv bool
		actions  string
	}{
		{villageDr, true, false, "[cancel]"},
		{townshipDr, true, false, "[cancel]"},
		{specialist, false, true, "[accept redirect]"},
	} {
		h.log.events = nil
		dt, err := h.s.Get(ctx, tt.a, r.ID)
		if err != nil || dt.Sender != tt.snd || dt.Receiver != tt.rcv || fmt.Sprint(dt.Actions) != tt.actions {
			t.Errorf("%s at %d: %+v %v", tt.a.Role, tt.a.InstitutionID, dt, err)
			continue
		}
		if len(dt.Events) != 1 || dt.Events[0].Action != "create" || dt.Referral.ID != r.ID {
			t.Errorf("%s: events %+v", tt.a.Role, dt.Events)
		}
		if e := h.log.events; len(e) != 1 || e[0].Action != AuditRead || e[0].Outcome != audit.OutcomeOK || e[0].ResidentID != 100 || e[0].CountyCode != county || e[0].Detail != fmt.Sprintf("referral %d", r.ID) {
			t.Errorf("%s: audit %+v", tt.a.Role, e)
		}
	}
	outsider := villageDr
	outsider.CountyCode = "411724" // the same institution id in another county's session
	for _, a := range []care.Actor{village2Dr, otherTwpDr, diagDr, analyst, pharmacist, outsider} {
		h.log.events = nil
		if _, err := h.s.Get(ctx, a, r.ID); errCode(err) != care.ENOTFOUND || errKey(err) != "referral.not_found" {
			t.Errorf("%s at %d: %v", a.Role, a.InstitutionID, err)
		}
		if e := h.log.events; len(e) != 1 || e[0].Action != AuditRead || e[0].Outcome != audit.OutcomeDenied || e[0].ResidentID != 100 || e[0].Detail != fmt.Sprintf("referral %d: not a party", r.ID) {
			t.Errorf("%s: audit %+v", a.Role, e)
		}
	}
	h.log.events = nil
	if _, err := h.s.Get(ctx, villageDr, 404); errKey(err) != "referral.not_found" || h.log.actions() != "referral.read:not_found" || h.log.events[0].Detail != "referral 404" {
		t.Errorf("a missing referral: %v %s", err, h.log.actions())
	}
	// An emergency may be confirmed as arrived from sent.
	em := h.up(t, 101, draft(101, 2, 0, "k2", EmSevereBP))
	if dt, _ := h.s.Get(ctx, specialist, em.ID); fmt.Sprint(dt.Actions) != "[accept redirect arrive]" {
		t.Errorf("emergency actions %v", dt.Actions)
	}
	// Related: a redirect's parent and child, a down-referral and its up-referral.
	child, err := h.s.Act(ctx, specialist, r.ID, ActRedirect, Step{Note: "转神经内科", ToInst: 2, ToDept: 202})
	if err != nil {
		t.Fatal(err)
	}
	h.r.rs[child.ID].Status = StatusArrived
	down, err := h.s.CreateDown(ctx, specialist, downDraft(100, child.ID, "d1"))
	if err != nil {
		t.Fatal(err)
	}
	related := func(id int64) string {
		dt, err := h.s.Get(ctx, specialist, id)
		if err != nil {
			return err.Error()
		}
		var ids []int64
		for _, x := range dt.Related {
			ids = append(ids, x.ID)
		}
		slices.Sort(ids)
		return fmt.Sprint(ids)
	}
	if got, want := related(r.ID), fmt.Sprint([]int64{child.ID}); got != want {
		t.Errorf("related of the redirected referral: %s, want %s", got, want)
	}
	if got, want := related(child.ID), fmt.Sprint([]int64{r.ID, down.ID}); got != want {
		t.Errorf("related of the continuation: %s, want %s", got, want)
	}
	if got, want := related(down.ID), fmt.Sprint([]int64{child.ID}); got != want {
		t.Errorf("related of the down-referral: %s, want %s", got, want)
	}
	if dt, _ := h.s.Get(ctx, specialist, down.ID); len(dt.Tasks) != 1 || dt.Sender != true || dt.Receiver {
		t.Errorf("down-referral detail %+v", dt)
	}
}

func downDraft(res, up int64, key string) DownDraft {
	today := care.Today(refNow)
	return DownDraft{ResidentID: res, UpReferralID: up, Summary: " 出院 ", Diagnosis: " i10 ", DiagnosisText: "高血压", Plan: " 继续服药 ",
		Tasks: []TaskInput{{Kind: TaskBP, Due: today.AddDays(7), Note: " 每周 "}}, IdempotencyKey: key}
}

// TestActStates pins Act (docs/referral.md "States"): the receiving side
// accepts (a routine referral needs an appointment or a bed), confirms
// arrival and completes; the sending side cancels with a reason; each
// transition stores its event, closes the care link after the grace
// period when it ends the referral, queues an SMS to the sending clinician
// (none on cancel or without a phone) and is audited; any other step is
// ECONFLICT referral.transition.
func TestActStates(t *testing.T) {
	ctx := context.Background()
	h := newReferral()
	r := h.up(t, 100, draft(100, 2, 201, "k1"))
	appt := time.Date(2026, 12, 1, 1, 30, 0, 0, time.UTC) // 12-01 09:30 in Beijing
	if _, err := h.s.Act(ctx, villageDr, r.ID, ActAccept, Step{Appointment: appt}); errCode(err) != care.EFORBIDDEN || errKey(err) != "referral.wrong_side" {
		t.Errorf("the sender accepting: %v", err)
	}
	if _, err := h.s.Act(ctx, specialist, r.ID, ActCancel, Step{Note: "x"}); errKey(err) != "referral.wrong_side" {
		t.Errorf("the receiver cancelling: %v", err)
	}
	if _, err := h.s.Act(ctx, specialist, r.ID, ActArrive, Step{}); errCode(err) != care.ECONFLICT || errKey(err) != "referral.transition" {
		t.Errorf("a routine referral arriving before acceptance: %v", err)
	}
	if _, err := h.s.Act(ctx, specialist, r.ID, ActAccept, Step{}); fields(err) != "appointment:referral.accept.slot" {
		t.Errorf("accepting without appointment or bed: %v", err)
	}
	got, err := h.s.Act(ctx, specialist, r.ID, ActAccept, Step{Appointment: appt, Bed: " 3床 ", Note: " 请空腹 "})
	if err != nil {
		t.Fatal(err)
	}
	now := refNow
	st := h.r.rs[r.ID]
	if got.Status != StatusAccepted || st.Status != StatusAccepted || !st.AcceptedAt.Equal(now) || !st.Appointment.Equal(appt) || st.Bed != "3床" || st.Note != "请空腹" ||
		!st.UpdatedAt.Equal(now) || !st.ClosedAt.IsZero() || st.Version != 2 {
		t.Errorf("accepted %+v", st)
	}
	if e := h.r.events[len(h.r.events)-1]; e != (Event{ID: e.ID, County: county, ReferralID: r.ID, Action: "accept", From: StatusSent, To: StatusAccepted, Note: "请空腹", By: 3, ByInst: 2, At: now}) {
		t.Errorf("event %+v", e)
	}
	wantSMS := fmt.Sprintf("【县域医共体】您的转诊单 %d 已被县医院接收，预约 12-01 09:30，床位 3床", r.ID)
	if len(h.r.msgs) != 1 || h.r.msgs[0].Body != wantSMS || h.r.msgs[0].Recipient != "13800000070" || h.r.msgs[0].Purpose != "referral.accept" || h.r.msgs[0].Channel != notify.ChannelSMS || h.r.msgs[0].County != county {
		t.Errorf("messages %+v", h.r.msgs)
	}
	if row := h.r.rows[len(h.r.rows)-1]; row.Action != AuditTransition || row.ResidentID != 100 || row.Detail != fmt.Sprintf("referral %d accept: sent → accepted", r.ID) {
		t.Errorf("audit %+v", row)
	}
	if !h.r.links[0].ExpiresAt.IsZero() {
		t.Errorf("the link expires while the referral is open: %v", h.r.links[0].ExpiresAt)
	}
	if _, err := h.s.Act(ctx, specialist, r.ID, ActArrive, Step{}); err != nil || !h.r.rs[r.ID].ArrivedAt.Equal(now) {
		t.Errorf("arrive: %v", err)
	}
	if m := h.r.msgs[len(h.r.msgs)-1]; m.Body != fmt.Sprintf("【县域医共体】转诊单 %d 的患者已到达县医院", r.ID) || m.Purpose != "referral.arrive" {
		t.Errorf("arrival SMS %+v", m)
	}
	if _, err := h.s.Act(ctx, specialist, r.ID, ActComplete, Step{}); err != nil {
		t.Fatal(err)
	}
	st = h.r.rs[r.ID]
	if st.Status != StatusCompleted || !st.ClosedAt.Equal(now) || !h.r.links[0].ExpiresAt.Equal(now.Add(72*time.Hour)) {
		t.Errorf("completed %+v, link %+v", st, h.r.links[0])
	}
	if m := h.r.msgs[len(h.r.msgs)-1]; m.Body != fmt.Sprintf("【县域医共体】转诊单 %d 的患者已在县医院完成诊治", r.ID) || m.Purpose != "referral.complete" {
		t.Errorf("completion SMS %+v", m)
	}
	if _, err := h.s.Act(ctx, specialist, r.ID, ActComplete, Step{}); errKey(err) != "referral.transition" {
		t.Errorf("completing twice: %v", err)
	}

	// Cancel: a reason, no SMS, the link closes after the grace period.
	c := h.up(t, 101, draft(101, 2, 0, "k2"))
	n := len(h.r.msgs)
	if _, err := h.s.Act(ctx, villageDr, c.ID, ActCancel, Step{Note: " "}); fields(err) != "note:referral.reason_required" {
		t.Errorf("cancelling without a reason: %v", err)
	}
	if _, err := h.s.Act(ctx, townshipDr, c.ID, ActCancel, Step{Note: "患者拒绝"}); err != nil {
		t.Fatal(err)
	}
	if h.r.rs[c.ID].Status != StatusCancelled || len(h.r.msgs) != n || !h.r.links[1].ExpiresAt.Equal(now.Add(72*time.Hour)) {
		t.Errorf("cancelled %+v, %d new messages, link %+v", h.r.rs[c.ID], len(h.r.msgs)-n, h.r.links[1])
	}

	// An emergency: accepted without a slot, or arriving straight from sent.
	h.s.Config.LinkGrace = time.Hour
	em := h.up(t, 101, draft(101, 2, 0, "k3", EmConsciousness))
	if _, err := h.s.Act(ctx, specialist, em.ID, ActArrive, Step{}); err != nil || h.r.rs[em.ID].Status != StatusArrived {
		t.Errorf("an emergency arriving from sent: %v", err)
	}
	em2 := h.up(t, 101, draft(101, 2, 0, "k4", EmConsciousness))
	if _, err := h.s.Act(ctx, specialist, em2.ID, ActAccept, Step{}); err != nil {
		t.Errorf("accepting an emergency without a slot: %v", err)
	}
	// Cancelling it closes its link after the configured grace.
	if _, err := h.s.Act(ctx, villageDr, em2.ID, ActCancel, Step{Note: "x"}); err != nil {
		t.Fatal(err)
	}
	if !h.r.links[3].ExpiresAt.Equal(now.Add(time.Hour)) {
		t.Errorf("the configured grace: %v", h.r.links[3].ExpiresAt)
	}
}

// TestActLimits pins the limits of a step (docs/referral.md "States"): an
// appointment from 24 hours ago to 90 days ahead, a note of at most
// MaxNote (500) characters, a bed of at most 50.
func TestActLimits(t *testing.T) {
	ctx := context.Background()
	for _, tt := range []struct {
		name string
		st   Step
		want string
	}{
		{"an appointment 24 hours ago", Step{Appointment: refNow.Add(-24 * time.Hour)}, ""},
		{"an appointment 24 hours and a microsecond ago", Step{Appointment: refNow.Add(-24*time.Hour - time.Microsecond)}, "appointment:referral.requested_at.range"},
		{"an appointment in 90 days", Step{Appointment: refNow.AddDate(0, 0, 90)}, ""},
		{"an appointment in 90 days and a microsecond", Step{Appointment: refNow.AddDate(0, 0, 90).Add(time.Microsecond)}, "appointment:referral.requested_at.range"},
		{"a bed of 50 characters", Step{Bed: strings.Repeat("床", 50)}, ""},
		{"a bed of 51 characters", Step{Bed: strings.Repeat("床", 51)}, "bed:field.too_long"},
		{"a note of 500 characters", Step{Bed: "1", Note: strings.Repeat("注", MaxNote)}, ""},
		{"a note of 501 characters", Step{Bed: "1", Note: strings.Repeat("注", MaxNote+1)}, "note:field.too_long"},
	} {
		h := newReferral()
		r := h.up(t, 100, draft(100, 2, 201, "k1"))
		_, err := h.s.Act(ctx, specialist, r.ID, ActAccept, tt.st)
		if fields(err) != tt.want || (err == nil) != (tt.want == "") {
			t.Errorf("%s: %v %q", tt.name, err, fields(err))
		}
		if accepted := h.r.rs[r.ID].Status == StatusAccepted; accepted != (tt.want == "") {
			t.Errorf("%s: accepted=%v", tt.name, accepted)
		}
	}
	// A stale version is ECONFLICT, and nothing is written.
	h := newReferral()
	r := h.up(t, 100, draft(100, 2, 201, "k1"))
	h.s.Repo = &fakeStale{fakeRepo: h.r}
	if _, err := h.s.Act(ctx, specialist, r.ID, ActAccept, Step{Bed: "1"}); errKey(err) != "referral.stale" || h.r.rs[r.ID].Status != StatusSent {
		t.Errorf("a change meanwhile: %v", err)
	}
}

// fakeStale hands out the referral one version behind the stored one: a
// change happened between the read and the write.
type fakeStale struct{ *fakeRepo }

func (f *fakeStale) Referral(ctx context.Context, id int64) (*Referral, error) {
	r, err := f.fakeRepo.Referral(ctx, id)
	if err == nil {
		f.fakeRepo.rs[id].Version++
	}
	return r, err
}

// TestRedirect pins docs/referral.md "States": a redirect needs a reason
// and another receiver valid for the original sender; it closes the
// referral (redirected, the link closing after the grace period) and
// continues it with a new referral to the new receiver, keeping the
// chain's first sending and its own care link; the sender is told.
func TestRedirect(t *testing.T) {
	ctx := context.Background()
	h := newReferral()
	d := draft(100, 2, 201, "k1")
	d.RequestedAt = refNow.Add(48 * time.Hour)
	r := h.up(t, 100, d)
	if _, err := h.s.Act(ctx, specialist, r.ID, ActAccept, Step{Appointment: refNow.Add(time.Hour), Bed: "3床"}); err != nil {
		t.Fatal(err)
	}
	h.s.Now = func() time.Time { return refNow.Add(time.Hour) }
	for _, tt := range []struct {
		name string
		st   Step
		want string
	}{
		{"no reason", Step{ToInst: 2, ToDept: 202}, "note:referral.reason_required"},
		{"the same department", Step{Note: "x", ToInst: 2, ToDept: 201}, "to_department:referral.redirect.same"},
		{"a village clinic", Step{Note: "x", ToInst: 12}, "to_institution:referral.to.level"},
		{"a department of another hospital", Step{Note: "x", ToInst: 2, ToDept: 901}, "to_department:referral.to.department"},
		{"no institution", Step{Note: "x", ToInst: 999, ToDept: 5}, "to_institution:referral.to.invalid"},
	} {
		if _, err := h.s.Act(ctx, specialist, r.ID, ActRedirect, tt.st); fields(err) != tt.want {
			t.Errorf("%s: %v", tt.name, err)
		}
	}
	if len(h.r.rs) != 1 {
		t.Fatalf("refused redirects stored %d referrals", len(h.r.rs))
	}
	later := refNow.Add(time.Hour)
	child, err := h.s.Act(ctx, specialist, r.ID, ActRedirect, Step{Note: " 转省医院 ", ToInst: 90, ToDept: 901})
	if err != nil {
		t.Fatal(err)
	}
	old := h.r.rs[r.ID]
	if old.Status != StatusRedirected || !old.ClosedAt.Equal(later) || old.Note != "转省医院" || !h.r.links[0].ExpiresAt.Equal(later.Add(72*time.Hour)) {
		t.Errorf("redirected %+v, link %+v", old, h.r.links[0])
	}
	if child.ID == r.ID || child.Status != StatusSent || child.ToInst != 90 || child.ToDept != 901 || child.RedirectedFrom != r.ID || !child.OutOfCounty ||
		child.IdempotencyKey != fmt.Sprintf("redirect:%d", r.ID) || child.BodyHash != "" || child.Note != "转省医院" || !child.SentAt.Equal(later) ||
		!child.UpdatedAt.Equal(later) || !child.FirstSentAt.Equal(refNow) || !child.AcceptedAt.IsZero() || !child.Appointment.IsZero() || child.Bed != "" ||
		child.Version != 1 || child.CareLinkID == r.CareLinkID || child.CareLinkID == 0 || child.FromInst != 11 || child.SentBy != 7 || !child.RequestedAt.Equal(d.RequestedAt) {
		t.Errorf("continuation %+v", child)
	}
	if l := h.r.links[1]; l.InstitutionID != 90 || l.ResidentID != 100 || l.Kind != access.LinkReferral || l.CreatedBy != 3 || !l.ExpiresAt.IsZero() {
		t.Errorf("the new receiver's link %+v", l)
	}
	if m := h.r.msgs[len(h.r.msgs)-1]; m.Body != fmt.Sprintf("【县域医共体】您的转诊单 %d 已由县医院改转，原因：转省医院", r.ID) || m.Purpose != "referral.redirect" {
		t.Errorf("redirect SMS %+v", m)
	}
	if row := h.r.rows[len(h.r.rows)-1]; row.Action != AuditTransition || row.Detail != fmt.Sprintf("referral %d redirect: accepted → redirected referral %d", r.ID, child.ID) {
		t.Errorf("audit %+v", row)
	}
	// Back into the county: not out of county.
	h2 := newReferral()
	r2 := h2.up(t, 100, draft(100, 90, 0, "k1"))
	partner := care.Actor{AccountID: 50, Role: care.RoleCountySpecialist, InstitutionID: 90, CountyCode: "410100"}
	c2, err := h2.s.Act(ctx, partner, r2.ID, ActRedirect, Step{Note: "回县治疗", ToInst: 2})
	if err != nil || c2.OutOfCounty {
		t.Errorf("redirected back into the county: %+v %v", c2, err)
	}
	// A long reason is cut to the SMS limit.
	h3 := newReferral()
	r3 := h3.up(t, 100, draft(100, 2, 201, "k1"))
	if _, err := h3.s.Act(ctx, specialist, r3.ID, ActRedirect, Step{Note: strings.Repeat("因", MaxNote), ToInst: 2, ToDept: 202}); err != nil {
		t.Fatal(err)
	}
	if m := h3.r.msgs[0]; len([]rune(m.Body)) != notify.MaxBody || !strings.HasPrefix(m.Body, "【县域医共体】您的转诊单") {
		t.Errorf("long SMS: %d characters", len([]rune(m.Body)))
	}
}

// TestMessagesNeedAPhone pins docs/referral.md "States": the SMS goes to
// the sending clinician's phone; none when they have no phone on file or
// the referral names no practitioner.
func TestMessagesNeedAPhone(t *testing.T) {
	ctx := context.Background()
	h := newReferral()
	r, err := h.s.Create(ctx, townshipDr, draft(100, 2, 0, "k1")) // practitioner 80 has no phone
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.s.Act(ctx, specialist, r.ID, ActAccept, Step{Bed: "1"}); err != nil || len(h.r.msgs) != 0 {
		t.Errorf("no phone: %v %+v", err, h.r.msgs)
	}
	r, err = h.s.Create(ctx, otherTwpDr, draft(200, 2, 0, "k2")) // an account with no practitioner
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.s.Act(ctx, specialist, r.ID, ActAccept, Step{Bed: "1"}); err != nil || len(h.r.msgs) != 0 {
		t.Errorf("no practitioner: %v %+v", err, h.r.msgs)
	}
	h.staff.practs[80] = &org.Practitioner{ID: 80, Phone: "13900000080"}
	r, _ = h.s.Create(ctx, townshipDr, draft(100, 2, 0, "k3"))
	if _, err := h.s.Act(ctx, specialist, r.ID, ActAccept, Step{Bed: "1"}); err != nil || len(h.r.msgs) != 1 || h.r.msgs[0].Recipient != "13900000080" ||
		h.r.msgs[0].Body != fmt.Sprintf("【县域医共体】您的转诊单 %d 已被县医院接收，床位 1", r.ID) {
		t.Errorf("phone added: %v %+v", err, h.r.msgs)
	}
	delete(h.staff.practs, 80)
	r, _ = h.s.Create(ctx, townshipDr, draft(100, 2, 0, "k4"))
	if _, err := h.s.Act(ctx, specialist, r.ID, ActAccept, Step{Appointment: refNow}); err != nil || len(h.r.msgs) != 1 {
		t.Errorf("practitioner gone: %v %d", err, len(h.r.msgs))
	}
}

// TestCreateDown pins CreateDown (docs/referral.md "Down-referral"):
// written by a county specialist (or a township doctor) of the receiving
// side; summary, an ICD-10 diagnosis, a plan and 1–10 tasks; handed to the
// resident's village clinic or its township center; an arrived
// up-referral it answers is completed in the same transaction, its care
// link closing after the grace period; idempotent by key.
func TestCreateDown(t *testing.T) {
	ctx := context.Background()
	h := newReferral()
	up := h.up(t, 100, draft(100, 2, 201, "k1"))
	if _, err := h.s.Act(ctx, specialist, up.ID, ActAccept, Step{Bed: "1"}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.s.CreateDown(ctx, specialist, downDraft(100, up.ID, "d1")); errCode(err) != care.ECONFLICT || errKey(err) != "referral.down.up_not_arrived" {
		t.Errorf("answering an accepted up-referral: %v", err)
	}
	if _, err := h.s.Act(ctx, specialist, up.ID, ActArrive, Step{}); err != nil {
		t.Fatal(err)
	}
	n := len(h.r.msgs)
	dd := downDraft(100, up.ID, " d1 ")
	dn, err := h.s.CreateDown(ctx, specialist, dd)
	if err != nil {
		t.Fatal(err)
	}
	now := refNow
	if dn.Direction != Down || dn.Status != StatusSent || dn.Urgency != Routine || dn.FromInst != 2 || dn.FromDept != 201 || dn.ToInst != 11 || dn.UpReferralID != up.ID ||
		dn.Diagnosis != "I10" || dn.DiagnosisText != "高血压" || dn.Summary != "出院" || dn.Plan != "继续服药" || dn.IdempotencyKey != "d1" || dn.SentBy != 3 ||
		dn.SentByPract != 30 || !dn.SentAt.Equal(now) || !dn.FirstSentAt.Equal(now) || dn.Version != 1 || dn.CareLinkID != 0 || dn.BodyHash == "" || dn.Poverty {
		t.Errorf("down-referral %+v", dn)
	}
	if len(h.r.tasks) != 1 || h.r.tasks[0] != (Task{ID: h.r.tasks[0].ID, County: county, ReferralID: dn.ID, ResidentID: 100, ClinicID: 11, Kind: TaskBP, Due: care.Today(now).AddDays(7), Note: "每周"}) {
		t.Errorf("tasks %+v", h.r.tasks)
	}
	u := h.r.rs[up.ID]
	if u.Status != StatusCompleted || !u.ClosedAt.Equal(now) || u.Note != "down-referral" || !h.r.links[0].ExpiresAt.Equal(now.Add(72*time.Hour)) {
		t.Errorf("the up-referral %+v, link %+v", u, h.r.links[0])
	}
	var completion *Event
	for i := range h.r.events {
		if e := &h.r.events[i]; e.ReferralID == up.ID && e.Action == string(ActComplete) {
			completion = e
		}
	}
	if completion == nil || completion.From != StatusArrived || completion.To != StatusCompleted || completion.By != 3 || completion.ByInst != 2 || completion.Note != "down-referral" {
		t.Errorf("completion event %+v", completion)
	}
	if len(h.r.msgs) != n+1 || h.r.msgs[n].Purpose != "referral.complete" || h.r.msgs[n].Recipient != "13800000070" {
		t.Errorf("completion SMS %+v", h.r.msgs[n:])
	}
	if row := h.r.rows[len(h.r.rows)-1]; row.Action != AuditCreate || row.ResidentID != 100 || row.Detail != fmt.Sprintf("down-referral to institution 11, 1 tasks, up-referral %d referral %d", up.ID, dn.ID) {
		t.Errorf("audit %+v", row)
	}
	// A retry (the up-referral now completed) returns the same down-referral.
	if again, err := h.s.CreateDown(ctx, specialist, dd); err != nil || again.ID != dn.ID {
		t.Errorf("retry: %+v %v", again, err)
	}
	other := dd
	other.Plan = "另一方案"
	if _, err := h.s.CreateDown(ctx, specialist, other); errKey(err) != "referral.idempotency_mismatch" {
		t.Errorf("same key, another body: %v", err)
	}
	// To the township center, without an up-referral, by a township doctor.
	td := downDraft(103, 0, "d2")
	td.ToTownship = true
	if r, err := h.s.CreateDown(ctx, townshipDr, td); err != nil || r.ToInst != 10 || r.FromInst != 10 || r.FromDept != 0 || r.UpReferralID != 0 {
		t.Errorf("to the township center: %+v %v", r, err)
	}
	for _, a := range []care.Actor{villageDr, analyst, pharmacist} {
		if _, err := h.s.CreateDown(ctx, a, downDraft(100, 0, "d3")); errCode(err) != care.EFORBIDDEN {
			t.Errorf("%s writing a down-referral: %v", a.Role, err)
		}
	}
	// The up-referral must be the resident's, an up-referral, and the actor on its receiving side.
	up2 := h.up(t, 101, draft(101, 2, 0, "k2", EmConsciousness))
	if _, err := h.s.Act(ctx, specialist, up2.ID, ActArrive, Step{}); err != nil {
		t.Fatal(err)
	}
	h.r.links = append(h.r.links, access.CareLink{ID: 1, CountyCode: county, ResidentID: 100, InstitutionID: 2}) // still in care at the hospital
	if _, err := h.s.CreateDown(ctx, specialist, downDraft(100, up2.ID, "d4")); fields(err) != "up_referral_id:referral.down.up_mismatch" {
		t.Errorf("another resident's up-referral: %v", err)
	}
	if _, err := h.s.CreateDown(ctx, specialist, downDraft(100, dn.ID, "d5")); fields(err) != "up_referral_id:referral.down.up_mismatch" {
		t.Errorf("answering a down-referral: %v", err)
	}
	if _, err := h.s.CreateDown(ctx, specialist, downDraft(100, 404, "d6")); errCode(err) != care.ENOTFOUND {
		t.Errorf("a missing up-referral: %v", err)
	}
	if _, err := h.s.CreateDown(ctx, townshipDr, downDraft(101, up2.ID, "d7")); errCode(err) != care.EFORBIDDEN || errKey(err) != "referral.wrong_side" {
		t.Errorf("the sending side writing the down-referral: %v", err)
	}
	if len(h.r.rs) != 4 {
		t.Errorf("refused down-referrals stored: %d referrals", len(h.r.rs))
	}
	// The emergency from the poor resident: the green channel follows down.
	h.r.links = append(h.r.links, access.CareLink{ID: 2, CountyCode: county, ResidentID: 101, InstitutionID: 2})
	if r, err := h.s.CreateDown(ctx, specialist, downDraft(101, up2.ID, "d8")); err != nil || !r.Poverty || !r.GreenChannel || r.FromDept != 0 {
		t.Errorf("a poor resident's down-referral: %+v %v", r, err)
	}
}

// TestCreateDownValidation pins CreateDown's checks (docs/referral.md
// "Down-referral"): a summary and a plan of 1–MaxSummary characters, an
// ICD-10 code in a chapter, a diagnosis text of at most 200 characters,
// the tasks (CheckTasks), a key of 1–MaxKey characters, an active resident.
func TestCreateDownValidation(t *testing.T) {
	ctx := context.Background()
	for _, tt := range []struct {
		name string
		mod  func(*DownDraft)
		want string
	}{
		{"as written", func(*DownDraft) {}, ""},
		{"no summary", func(d *DownDraft) { d.Summary = " " }, "summary:field.required"},
		{"a summary of 2000", func(d *DownDraft) { d.Summary = strings.Repeat("结", MaxSummary) }, ""},
		{"a summary of 2001", func(d *DownDraft) { d.Summary = strings.Repeat("结", MaxSummary+1) }, "summary:field.too_long"},
		{"a code in no chapter", func(d *DownDraft) { d.Diagnosis = "D49" }, "diagnosis:referral.icd10.invalid"},
		{"not a code", func(d *DownDraft) { d.Diagnosis = "I10x" }, "diagnosis:referral.icd10.invalid"},
		{"no diagnosis", func(d *DownDraft) { d.Diagnosis = "" }, "diagnosis:referral.icd10.invalid"},
		{"a diagnosis text of 200", func(d *DownDraft) { d.DiagnosisText = strings.Repeat("诊", 200) }, ""},
		{"a diagnosis text of 201", func(d *DownDraft) { d.DiagnosisText = strings.Repeat("诊", 201) }, "diagnosis_text:field.too_long"},
		{"no plan", func(d *DownDraft) { d.Plan = "" }, "plan:field.required"},
		{"a plan of 2000", func(d *DownDraft) { d.Plan = strings.Repeat("方", MaxSummary) }, ""},
		{"a plan of 2001", func(d *DownDraft) { d.Plan = strings.Repeat("方", MaxSummary+1) }, "plan:field.too_long"},
		{"no task", func(d *DownDraft) { d.Tasks = nil }, "tasks:referral.tasks.required"},
		{"a task due yesterday", func(d *DownDraft) { d.Tasks[0].Due = care.Today(refNow).AddDays(-1) }, "tasks.0:referral.task.due"},
		{"no key", func(d *DownDraft) { d.IdempotencyKey = "" }, "idempotency_key:field.required"},
		{"a key of 100", func(d *DownDraft) { d.IdempotencyKey = strings.Repeat("k", MaxKey) }, ""},
		{"a key of 101", func(d *DownDraft) { d.IdempotencyKey = strings.Repeat("k", MaxKey+1) }, "idempotency_key:field.too_long"},
		{"a resident who moved away", func(d *DownDraft) { d.ResidentID = 102 }, "resident_id:referral.resident_not_active"},
	} {
		h := newReferral()
		h.r.links = append(h.r.links, access.CareLink{ID: 1, CountyCode: county, ResidentID: 100, InstitutionID: 2}, access.CareLink{ID: 2, CountyCode: county, ResidentID: 102, InstitutionID: 2})
		d := downDraft(100, 0, "d1")
		tt.mod(&d)
		_, err := h.s.CreateDown(ctx, specialist, d)
		if fields(err) != tt.want || (err == nil) != (tt.want == "") {
			t.Errorf("%s: %v %q, want %q", tt.name, err, fields(err), tt.want)
		}
		if saved := len(h.r.rs) == 1; saved != (tt.want == "") {
			t.Errorf("%s: saved=%v", tt.name, saved)
		}
	}
}

// TestPrimaryCenter pins PrimaryCenter (docs/referral.md "Down-referral":
// the village clinic or its township center): the nearest township-level
// center above a clinic, the clinic itself otherwise.
func TestPrimaryCenter(t *testing.T) {
	tr, _ := fakeOrgs{}.Tree(context.Background())
	for in, want := range map[int64]int64{11: 10, 21: 20, 10: 10, 30: 30, 2: 2, 999: 999} {
		if got := PrimaryCenter(tr, in); got != want {
			t.Errorf("PrimaryCenter(%d) = %d, want %d", in, got, want)
		}
	}
}

// TestListBoxes pins List (docs/referral.md "Who does what"): what the
// actor's institution or area sent; the up-referrals it receives (one
// department, open ones); the down-referrals with tasks its clinics must
// acknowledge; doctors only; every listing audited with its count.
func TestListBoxes(t *testing.T) {
	ctx := context.Background()
	h := newReferral()
	a := h.up(t, 100, draft(100, 2, 201, "k1"))
	b := h.up(t, 101, draft(101, 2, 202, "k2", EmConsciousness))
	h.r.rs[b.ID].SentAt = refNow.Add(-time.Hour)
	c, _ := h.s.Create(ctx, townshipDr, draft(103, 3, 0, "k3"))
	h.r.links = append(h.r.links, access.CareLink{ID: 1, CountyCode: county, ResidentID: 103, InstitutionID: 2})
	dn, err := h.s.CreateDown(ctx, specialist, DownDraft{ResidentID: 103, Summary: "s", Diagnosis: "I10", Plan: "p", IdempotencyKey: "d1",
		Tasks: []TaskInput{{Kind: TaskBP, Due: care.Today(refNow).AddDays(3)}, {Kind: TaskGlucose, Due: care.Today(refNow).AddDays(1)}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.s.Act(ctx, villageDr, a.ID, ActCancel, Step{Note: "x"}); err != nil {
		t.Fatal(err)
	}
	ids := func(items []Item) string {
		var out []string
		for _, it := range items {
			out = append(out, fmt.Sprintf("%d/%d", it.ID, len(it.Tasks)))
		}
		return strings.Join(out, " ")
	}
	for _, tt := range []struct {
		name string
		a    care.Actor
		box  Box
		open bool
		dept int64
		want string
		call string
	}{
		{"village 11 sent", villageDr, BoxSent, false, 0, fmt.Sprintf("%d/0 %d/0", b.ID, a.ID), "dir= from=[11] to=[] dept=0 st=[]"},
		{"village 11 sent, open", villageDr, BoxSent, true, 0, fmt.Sprintf("%d/0", b.ID), "dir= from=[11] to=[] dept=0 st=[sent accepted arrived]"},
		{"township 10 sent", townshipDr, BoxSent, false, 0, fmt.Sprintf("%d/0 %d/0 %d/0", b.ID, c.ID, a.ID), "dir= from=[10 11 12] to=[] dept=0 st=[]"},
		{"hospital incoming", specialist, BoxIncoming, false, 0, fmt.Sprintf("%d/0 %d/0", b.ID, a.ID), "dir=up from=[] to=[2] dept=0 st=[]"},
		{"hospital incoming, department 202", specialist, BoxIncoming, true, 202, fmt.Sprintf("%d/0", b.ID), "dir=up from=[] to=[2] dept=202 st=[sent accepted arrived]"},
		{"village 12 tasks", village2Dr, BoxTasks, true, 0, fmt.Sprintf("%d/2", dn.ID), fmt.Sprintf("dir=down from=[] to=[12] dept=0 st=[sent] res=0 limit=300 ReferralTasks [%d]", dn.ID)},
		{"township 10 tasks", townshipDr, BoxTasks, false, 0, fmt.Sprintf("%d/2", dn.ID), fmt.Sprintf("dir=down from=[] to=[10 11 12] dept=0 st=[] res=0 limit=300 ReferralTasks [%d]", dn.ID)},
		{"village 11 tasks", villageDr, BoxTasks, true, 0, "", "dir=down from=[] to=[11] dept=0 st=[sent]"},
	} {
		h.log.events, h.r.calls = nil, nil
		items, err := h.s.List(ctx, tt.a, tt.box, tt.open, tt.dept)
		if err != nil || ids(items) != tt.want {
			t.Errorf("%s: %q %v, want %q", tt.name, ids(items), err, tt.want)
		}
		// The tasks are read only when the listing holds a down-referral.
		call := tt.call
		if !strings.Contains(call, "ReferralTasks") {
			call += " res=0 limit=300"
		}
		if want := fmt.Sprintf("[Referrals %s %s]", county, call); fmt.Sprint(h.r.calls) != want {
			t.Errorf("%s: filter %v, want %s", tt.name, h.r.calls, want)
		}
		if e := h.log.events; len(e) != 1 || e[0].Action != AuditList || e[0].Detail != fmt.Sprintf("referrals %s open=%t n=%d", tt.box, tt.open, len(items)) {
			t.Errorf("%s: audit %+v", tt.name, e)
		}
	}
	items, _ := h.s.List(ctx, village2Dr, BoxTasks, true, 0)
	if ts := items[0].Tasks; ts[0].Kind != TaskGlucose || ts[1].Kind != TaskBP {
		t.Errorf("tasks by due date: %+v", ts)
	}
	if _, err := h.s.List(ctx, villageDr, "all", false, 0); fields(err) != "box:referral.box.invalid" {
		t.Errorf("an unknown box: %v", err)
	}
	for _, a := range []care.Actor{analyst, pharmacist} {
		if _, err := h.s.List(ctx, a, BoxSent, false, 0); errCode(err) != care.EFORBIDDEN {
			t.Errorf("%s listing: %v", a.Role, err)
		}
	}
}

// TestForResidentAndDepartment pins ForResident (the resident page lists
// the referrals the actor is a party to; audited when it shows any) and
// MyDepartment (the incoming board defaults to the doctor's department,
// docs/referral.md "Who does what").
func TestForResidentAndDepartment(t *testing.T) {
	ctx := context.Background()
	h := newReferral()
	a := h.up(t, 100, draft(100, 2, 201, "k1"))
	h.up(t, 100, draft(100, 90, 0, "k2"))
	res := &resident.Resident{ID: 100, CountyCode: county, VillageID: 11}
	for _, tt := range []struct {
		who  care.Actor
		want int
	}{{villageDr, 2}, {townshipDr, 2}, {specialist, 1}, {diagDr, 0}, {village2Dr, 0}} {
		h.log.events = nil
		rs, err := h.s.ForResident(ctx, tt.who, res)
		if err != nil || len(rs) != tt.want {
			t.Errorf("%s at %d: %d referrals %v, want %d", tt.who.Role, tt.who.InstitutionID, len(rs), err, tt.want)
		}
		if tt.want == 0 && len(h.log.events) != 0 {
			t.Errorf("%s: an empty list audited", tt.who.Role)
		}
		if tt.want > 0 && (len(h.log.events) != 1 || h.log.events[0].Action != AuditList || h.log.events[0].ResidentID != 100 || h.log.events[0].Detail != fmt.Sprintf("resident's referrals n=%d", tt.want)) {
			t.Errorf("%s: audit %+v", tt.who.Role, h.log.events)
		}
	}
	if rs, _ := h.s.ForResident(ctx, specialist, res); rs[0].ID != a.ID {
		t.Errorf("the specialist's referral: %+v", rs)
	}
	h.log.events = nil
	if rs, err := h.s.ForResident(ctx, analyst, res); rs != nil || err != nil || len(h.log.events) != 0 {
		t.Errorf("an analyst: %v %v", rs, err)
	}
	for a, want := range map[care.Actor]int64{specialist: 201, villageDr: 0, analyst: 0, diagDr: 0} {
		if got := h.s.MyDepartment(ctx, a); got != want {
			t.Errorf("MyDepartment(%s %d) = %d, want %d", a.Role, a.PractitionerID, got, want)
		}
	}
}

// TestIndicatorsUnits pins Service.Indicators (docs/referral.md
// "Indicators"): analysts and county specialists see the county and every
// township-level unit (by id), a township doctor their own township,
// nobody else; a unit without referrals shows empty figures; the period is
// chronic.CheckPeriod's; the read is audited.
func TestIndicatorsUnits(t *testing.T) {
	ctx := context.Background()
	h := newReferral()
	t0 := refNow.Add(-24 * time.Hour)
	h.r.facts = []Fact{
		{ID: 1, Direction: Up, Status: StatusArrived, FromInst: 11, FirstSentAt: t0, ArrivedAt: t0.Add(3 * time.Hour)},
		{ID: 2, Direction: Up, Status: StatusSent, FromInst: 21, OutOfCounty: true, FirstSentAt: t0},
	}
	h.r.visits = []VisitCount{{Village: 11, Level: "village", VisitType: "outpatient", N: 9}, {Village: 11, Level: "county", VisitType: "inpatient", N: 1}}
	from, to := d("2026-11-01"), d("2026-11-28")
	units := func(r *Report) string {
		var out []string
		for _, u := range r.Units {
			out = append(out, fmt.Sprintf("%d:%d:%d", u.Unit.ID, u.Depth, u.Ind.SentUp()))
		}
		return strings.Join(out, " ")
	}
	for _, tt := range []struct {
		a    care.Actor
		want string
	}{
		{analyst, "1:0:2 10:1:1 20:1:1 30:1:0"},
		{specialist, "1:0:2 10:1:1 20:1:1 30:1:0"},
		{townshipDr, "10:1:1"},
		{otherTwpDr, "20:1:1"},
	} {
		h.log.events, h.r.calls = nil, nil
		r, err := h.s.Indicators(ctx, tt.a, from, to)
		if err != nil || units(r) != tt.want || r.From != from || r.To != to {
			t.Errorf("%s at %d: %q %v, want %q", tt.a.Role, tt.a.InstitutionID, units(r), err, tt.want)
			continue
		}
		if want := fmt.Sprintf("[ReferralFacts %[1]s %[2]s..%[3]s VisitCounts %[1]s %[2]s..%[3]s]", county, from, to); fmt.Sprint(h.r.calls) != want {
			t.Errorf("%s: calls %v", tt.a.Role, h.r.calls)
		}
		if e := h.log.events; len(e) != 1 || e[0].Action != AuditReport || e[0].Detail != fmt.Sprintf("referral indicators %s..%s units=%d", from, to, len(r.Units)) {
			t.Errorf("%s: audit %+v", tt.a.Role, e)
		}
	}
	r, _ := h.s.Indicators(ctx, analyst, from, to)
	if c := r.Units[0].Ind; c.Arrived != 1 || c.MedianArrival != 3*time.Hour || c.InCounty != (Rate{10, 10}) || c.Primary != (Rate{9, 10}) || c.OutOfCounty != (Rate{1, 2}) {
		t.Errorf("county figures %+v", c)
	}
	if e := r.Units[3].Ind; e.Sent == nil || e.Counts[Up] == nil || e.Arrived != 0 || e.Completion != (Rate{}) {
		t.Errorf("an empty unit %+v", e)
	}
	for _, a := range []care.Actor{villageDr, pharmacist} {
		if _, err := h.s.Indicators(ctx, a, from, to); errCode(err) != care.EFORBIDDEN {
			t.Errorf("%s: %v", a.Role, err)
		}
	}
	if _, err := h.s.Indicators(ctx, analyst, to, from); errCode(err) != care.EINVALID {
		t.Errorf("a reversed period: %v", err)
	}
	other := analyst
	other.CountyCode = "411724"
	if r, err := h.s.Indicators(ctx, other, from, to); err != nil || units(r) != "500:0:0 510:1:0" {
		t.Errorf("the other county's analyst: %q %v", units(r), err)
	}
}

func d(s string) care.Date {
	x, err := care.ParseDate(s)
	if err != nil {
		panic(err)
	}
	return x
}

// TestAcknowledgeDown pins docs/referral.md "States" (down: sent
// --acknowledge--> acknowledged) and "Who does what": the resident's
// clinic (or its township center) acknowledges the down-referral and its
// tasks; the sending specialist is told; a down-referral has no care link
// to close; the sender may cancel it instead, not acknowledge it.
func TestAcknowledgeDown(t *testing.T) {
	ctx := context.Background()
	h := newReferral()
	h.r.links = append(h.r.links, access.CareLink{ID: 1, CountyCode: county, ResidentID: 100, InstitutionID: 2, Kind: "admission"})
	dn, err := h.s.CreateDown(ctx, specialist, downDraft(100, 0, "d1"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.s.Act(ctx, specialist, dn.ID, ActAcknowledge, Step{}); errKey(err) != "referral.wrong_side" {
		t.Errorf("the hospital acknowledging its own down-referral: %v", err)
	}
	if _, err := h.s.Act(ctx, villageDr, dn.ID, ActAccept, Step{Bed: "1"}); errKey(err) != "referral.transition" {
		t.Errorf("accepting a down-referral: %v", err)
	}
	got, err := h.s.Act(ctx, villageDr, dn.ID, ActAcknowledge, Step{Note: "已安排随访"})
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != StatusAcknowledged || !h.r.rs[dn.ID].ClosedAt.Equal(refNow) || h.r.rs[dn.ID].Note != "已安排随访" {
		t.Errorf("acknowledged %+v", h.r.rs[dn.ID])
	}
	if len(h.r.msgs) != 1 || h.r.msgs[0].Recipient != "13800000030" || h.r.msgs[0].Purpose != "referral.acknowledge" ||
		h.r.msgs[0].Body != fmt.Sprintf("【县域医共体】下转单 %d 已由一村确认接收", dn.ID) {
		t.Errorf("acknowledgement SMS %+v", h.r.msgs)
	}
	if !h.r.links[0].ExpiresAt.IsZero() {
		t.Errorf("the admission's link was closed by the down-referral: %+v", h.r.links[0])
	}
	if _, err := h.s.Act(ctx, villageDr, dn.ID, ActAcknowledge, Step{}); errKey(err) != "referral.transition" {
		t.Errorf("acknowledging twice: %v", err)
	}
	d2, _ := h.s.CreateDown(ctx, specialist, downDraft(100, 0, "d2"))
	if _, err := h.s.Act(ctx, specialist, d2.ID, ActCancel, Step{Note: "患者转院"}); err != nil || h.r.rs[d2.ID].Status != StatusCancelled || len(h.r.msgs) != 1 {
		t.Errorf("the hospital cancelling its down-referral: %v", err)
	}
}
