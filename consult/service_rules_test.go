package consult

// Tests of the consultation service's rules with the in-memory fakes of
// service_fakes_test.go (issue 18 §6). Each names the rule it pins: a step of
// docs/consult.md ("A case, step by step" 1–8, "Who sees a case", "Views and
// indicators", "Remote rehabilitation guidance", "Video calls"), policy-rules.md
// §4 (the 2018 telemedicine specification: consent, the invitation's content,
// accept or decline with a reason, ≥ 3 years of practice, a signed opinion,
// the inviting doctor decides), or the method's own documented rule.

import (
	"context"
	"errors"
	"fmt"
	"reflect"
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

type world struct {
	s    *Service
	repo *memRepo
	log  *readLog
	live *liveLog
	t    time.Time
}

func (w *world) at(d time.Duration) { w.t = now.Add(d) }

func since(years int) care.Date { return care.Today(now).AddDays(-365*years - 2) }

// newWorld: county hospital 3 (the hub) has cardiology (30, head 300),
// neurology (31, head 310, nobody on duty), rehabilitation (32, no head;
// 320 on duty), dermatology (33: no head, nobody on duty) and ICU (34, head
// 310 as well); partner hospital 4 has cardiology (40, head 400); diagnosis
// center 5 has department 50. On duty in cardiology now: 301 (position 1),
// 302 (2, no phone), 303 (3, only 2 years of practice) and 999 (4, no such
// practitioner).
func newWorld() *world {
	w := &world{t: now, log: &readLog{}, live: &liveLog{online: map[int64]bool{}}}
	clock := func() time.Time { return w.t }
	p := func(id, inst, dept int64, title org.Title, years int, phone string) *org.Practitioner {
		return &org.Practitioner{ID: id, InstitutionID: inst, DepartmentID: dept, Title: title, PracticeSince: since(years), Phone: phone, Active: true, Name: fmt.Sprintf("医生%d", id)}
	}
	practs := map[int64]*org.Practitioner{
		300: p(300, 3, 30, org.TitleChief, 20, "13900000300"),
		301: p(301, 3, 30, org.TitleAttending, 6, "13900000301"),
		302: p(302, 3, 30, org.TitleAssociateChief, 9, ""),
		303: p(303, 3, 30, org.TitlePhysician, 2, "13900000303"),
		304: p(304, 3, 30, org.TitleAttending, 6, "13900000304"),
		305: p(305, 3, 31, org.TitleAttending, 6, "13900000305"),
		310: p(310, 3, 31, org.TitleChief, 20, "13900000310"),
		320: p(320, 3, 32, org.TitleAttending, 6, "13900000320"),
		400: p(400, 4, 40, org.TitleChief, 20, "13900000400"),
		401: p(401, 4, 40, org.TitleAttending, 6, ""),
		110: p(110, 11, 0, org.TitleVillageDoctor, 10, "13900000110"),
		100: p(100, 10, 0, org.TitlePhysician, 10, "13900000100"),
	}
	practs[304].Active = false
	shift := func(id, dept, pr int64, pos int) Slot {
		return Slot{ID: id, InstitutionID: 3, DepartmentID: dept, PractitionerID: pr, Start: now.Add(-2 * time.Hour), End: now.Add(6 * time.Hour), Position: pos}
	}
	w.repo = &memRepo{clock: clock, practs: practs,
		depts: []org.Department{
			{ID: 30, InstitutionID: 3, Specialty: "cardiology", HeadID: 300},
			{ID: 31, InstitutionID: 3, Specialty: "neurology", HeadID: 310},
			{ID: 32, InstitutionID: 3, Specialty: "rehabilitation"},
			{ID: 33, InstitutionID: 3, Specialty: "dermatology"},
			{ID: 34, InstitutionID: 3, Specialty: "icu", HeadID: 310},
			{ID: 40, InstitutionID: 4, Specialty: "cardiology", HeadID: 400},
			{ID: 50, InstitutionID: 5, Specialty: "ecg", HeadID: 500},
		},
		slots: []Slot{shift(1, 30, 302, 2), shift(2, 30, 301, 1), shift(3, 30, 303, 3), shift(4, 30, 999, 4), shift(5, 32, 320, 1)},
		fail:  map[string]error{},
	}
	rs := &resident.Service{Repo: memResidents{}, Orgs: memOrgs{}, Audit: w.log, Now: clock}
	w.s = &Service{Repo: w.repo, Residents: rs, Orgs: memOrgs{}, Audit: w.log, Live: w.live, Config: DefaultConfig(), Now: clock}
	return w
}

var (
	vd       = care.Actor{AccountID: 7, Name: "王村医", Role: care.RoleVillageDoctor, InstitutionID: 11, CountyCode: cty, PractitionerID: 110}
	vd2      = care.Actor{AccountID: 17, Name: "赵村医", Role: care.RoleVillageDoctor, InstitutionID: 11, CountyCode: cty, PractitionerID: 111}
	td       = care.Actor{AccountID: 8, Name: "李医生", Role: care.RoleTownshipDoctor, InstitutionID: 10, CountyCode: cty, PractitionerID: 100}
	analyst  = care.Actor{AccountID: 5, Role: care.RoleAnalyst, CountyCode: cty}
	errStore = errors.New("database is down")
)

// dr is a practitioner of the world acting for their institution.
func dr(p int64) care.Actor {
	inst := int64(3)
	if p >= 400 && p < 500 {
		inst = 4
	}
	return care.Actor{AccountID: 1000 + p, Name: fmt.Sprintf("医生%d", p), Role: care.RoleCountySpecialist, InstitutionID: inst, CountyCode: cty, PractitionerID: p}
}

// reason20 has exactly 20 characters: the alert quotes it whole.
const reason20 = "胸痛两小时伴大汗，心电图示ST段抬高待查"

func draft() Draft {
	return Draft{ResidentID: 1000, Kind: OneToOne, Urgency: Routine, Reason: reason20, Purpose: "明确诊断", Summary: "男，62岁，高血压10年。",
		Specialty: "cardiology", ToInstitution: 3, Consent: Consent{By: ConsentPatient, Method: ConsentWritten, At: now.Add(-10 * time.Minute)}, Key: "k1"}
}

func code(err error) string { return care.ErrorCode(err) }

func key(err error) string {
	var ce *care.Error
	if errors.As(err, &ce) {
		return ce.Code + " " + ce.Key
	}
	return fmt.Sprint(err)
}

func fields(err error) string {
	var ce *care.Error
	if !errors.As(err, &ce) {
		return fmt.Sprint(err)
	}
	var ks []string
	for _, f := range ce.Fields {
		ks = append(ks, f.Field+":"+f.Key)
	}
	return strings.Join(ks, ",")
}

func (w *world) request(t *testing.T, a care.Actor, d Draft) *Consultation {
	t.Helper()
	c, err := w.s.Request(context.Background(), a, d)
	if err != nil {
		t.Fatalf("request: %v", err)
	}
	return c
}

func (w *world) stored(id int64) Consultation { return w.repo.rows[id].c }

func (w *world) eventKinds(id int64) []string {
	var out []string
	for _, e := range w.repo.events {
		if e.ConsultationID == id {
			out = append(out, e.Kind)
		}
	}
	return out
}

func (w *world) lastAudit() audit.Event { return w.repo.audits[len(w.repo.audits)-1] }

// TestRequestRoutesToTheDoctorOnDuty pins docs/consult.md steps 1–3: the case
// goes to the first eligible doctor on duty in the hub's department for the
// specialty (roster order; a physician with 2 years of practice and an unknown
// practitioner are left out, policy-rules.md §4), the deadline is 10 minutes
// away, the hub gets a consultation care link, the doctor is texted (not
// connected) and told live, and the request is audited with the case.
func TestRequestRoutesToTheDoctorOnDuty(t *testing.T) {
	w := newWorld()
	c := w.request(t, vd, draft())
	if c.ID != 1 || c.Status != StatusRequested || c.AssignedTo != 301 || c.Step != 0 || !c.Deadline.Equal(now.Add(10*time.Minute)) {
		t.Errorf("case %+v", c)
	}
	if !slices.Equal(c.Chain, []int64{301, 302}) || !slices.Equal(c.Departments, []int64{30}) || c.ToDepartment != 30 || c.ToInstitution != 3 {
		t.Errorf("routing: chain %v departments %v to %d/%d", c.Chain, c.Departments, c.ToInstitution, c.ToDepartment)
	}
	if c.County != cty || c.ResidentID != 1000 || c.FromInstitution != 11 || c.FromDoctor != 110 || c.FromAccount != 7 || c.IdempotencyKey != "k1" || c.Consent.By != ConsentPatient {
		t.Errorf("parties: %+v", c)
	}
	evs := w.repo.events
	if len(evs) != 2 || evs[0].Kind != EvCreated || evs[0].Account != 7 || evs[0].Detail != "one_to_one routine" || !evs[0].At.Equal(now) ||
		evs[1].Kind != EvAssigned || evs[1].Practitioner != 301 || evs[1].Detail != "head=false deadline 2026-11-29T10:10:00Z" {
		t.Errorf("timeline %+v", evs)
	}
	if len(w.repo.links) != 1 || w.repo.links[0] != (access.CareLink{ID: 1, CountyCode: cty, ResidentID: 1000, InstitutionID: 3, Kind: access.LinkConsultation,
		Reason: "consultation: " + reason20, CreatedBy: 7, CreatedAt: now}) || c.CareLinkID != 1 || len(c.ExtraLinks) != 0 {
		t.Errorf("care links %+v", w.repo.links)
	}
	want := notify.Message{County: cty, Channel: notify.ChannelSMS, Recipient: "13900000301", Purpose: PurposeAlert,
		Body: "【远程会诊】您有一例普通会诊请求（" + reason20 + "），请在10分钟内登录平台接收或退回。", Practitioner: 301,
		Params: map[string]string{"urgency": "普通", "reason": reason20, "minutes": "10", "stage": "新会诊请求"}}
	if len(w.repo.outbox) != 1 || !reflect.DeepEqual(w.repo.outbox[0], want) {
		t.Errorf("texts %+v", w.repo.outbox)
	}
	if got := w.live.kinds(); !slices.Equal(got, []string{"consult.new[301]"}) || w.live.got[0].id != 1 || w.live.got[0].text != reason20 {
		t.Errorf("live %v", w.live.got)
	}
	if ev := w.lastAudit(); ev.Action != ActRequest || ev.ResidentID != 1000 || ev.CountyCode != cty || ev.AccountID != 7 || ev.Detail != "one_to_one routine to department 30 #1" {
		t.Errorf("audit %+v", ev)
	}
	if got := w.log.actions(); !slices.Equal(got, []string{"resident.read/ok"}) {
		t.Errorf("reads audited %v", got)
	}
	if w.stored(1).Version != 1 || w.repo.rows[1].head != 300 {
		t.Errorf("stored %+v", w.repo.rows[1])
	}
}

// TestRequestAlertsByPresence pins docs/consult.md step 3: a connected doctor
// sees the case live and is not texted, except for an emergency (an open
// stream may be a laptop asleep); the emergency deadline is 5 minutes; the
// alert quotes the reason up to 20 characters.
func TestRequestAlertsByPresence(t *testing.T) {
	w := newWorld()
	w.live.online[301] = true
	w.request(t, vd, draft())
	if len(w.repo.outbox) != 0 {
		t.Errorf("a connected doctor was texted for a routine case: %+v", w.repo.outbox)
	}
	d := draft()
	d.Urgency, d.Key, d.Reason = Emergency, "k2", reason20+"急"
	c := w.request(t, vd, d)
	if !c.Deadline.Equal(now.Add(5 * time.Minute)) {
		t.Errorf("emergency deadline %v", c.Deadline)
	}
	if len(w.repo.outbox) != 1 || w.repo.outbox[0].Body != "【远程会诊】您有一例急诊会诊请求（"+reason20+"…），请在5分钟内登录平台接收或退回。" {
		t.Errorf("emergency text %+v", w.repo.outbox)
	}
	w.s.Live = nil // no live broker (the scheduler's own process): texted
	d.Urgency, d.Key = Urgent, "k3"
	w.request(t, vd, d)
	if len(w.repo.outbox) != 2 || !strings.Contains(w.repo.outbox[1].Body, "加急") {
		t.Errorf("without a broker: %+v", w.repo.outbox)
	}
}

// TestRequestRefusals pins docs/consult.md step 1 and architecture.md
// "Access": only village and township doctors ask; a resident outside the
// asker's scope is not found (the attempt audited as denied); the draft's
// field errors and a hub that is not a county or partner hospital are
// reported together; a specialty the hub lacks, or nobody to answer, is
// EINVALID on specialty. Nothing is stored.
func TestRequestRefusals(t *testing.T) {
	ctx := context.Background()
	w := newWorld()
	for _, a := range []care.Actor{dr(301), analyst} {
		if _, err := w.s.Request(ctx, a, draft()); key(err) != "forbidden error.forbidden" {
			t.Errorf("%s asks: %v", a.Role, err)
		}
	}
	d := draft()
	d.ResidentID = 1001 // clinic 12's
	if _, err := w.s.Request(ctx, vd, d); key(err) != "not_found resident.not_found" || !slices.Equal(w.log.actions(), []string{"resident.read/denied"}) {
		t.Errorf("out of scope: %v %v", err, w.log.actions())
	}
	for _, tt := range []struct {
		name string
		set  func(*Draft)
		want string
	}{
		{"no reason, a diagnosis center", func(d *Draft) { d.Reason, d.ToInstitution = "", 5 }, "reason:field.required,to_institution:consult.hub.invalid"},
		{"a village clinic", func(d *Draft) { d.ToInstitution = 11 }, "to_institution:consult.hub.invalid"},
		{"no such institution", func(d *Draft) { d.ToInstitution = 999 }, "to_institution:consult.hub.invalid"},
		{"no consent", func(d *Draft) { d.Consent = Consent{} }, "consent_by:consult.consent.required"},
		{"a specialty the hub lacks", func(d *Draft) { d.Specialty = "oncology" }, "specialty:consult.no_department"},
		{"nobody on duty and no head", func(d *Draft) { d.Specialty = "dermatology" }, "specialty:consult.nobody"},
	} {
		d := draft()
		tt.set(&d)
		if _, err := w.s.Request(ctx, vd, d); code(err) != care.EINVALID || fields(err) != tt.want {
			t.Errorf("%s: %v %s, want %s", tt.name, err, fields(err), tt.want)
		}
	}
	if len(w.repo.rows) != 0 || len(w.repo.outbox) != 0 || len(w.live.got) != 0 {
		t.Errorf("something was stored: %d cases", len(w.repo.rows))
	}
	for _, m := range []string{"Departments", "DutySlots", "CreateConsultation"} {
		w.repo.fail[m] = errStore
		if _, err := w.s.Request(ctx, vd, draft()); !errors.Is(err, errStore) {
			t.Errorf("%s fails: %v", m, err)
		}
		delete(w.repo.fail, m)
	}
	w.s.Orgs = memOrgs{err: errStore}
	if _, err := w.s.Request(ctx, vd, draft()); !errors.Is(err, errStore) {
		t.Errorf("tree fails: %v", err)
	}
}

// TestRequestToAPartnerAndToTheHead pins docs/consult.md step 2 and the
// EvNoRoster rule of Request: a partner hospital is a valid hub; with nobody
// on duty the department head is asked, and the timeline says so.
func TestRequestToAPartnerAndToTheHead(t *testing.T) {
	w := newWorld()
	d := draft()
	d.ToInstitution = 4
	if c := w.request(t, vd, d); c.AssignedTo != 400 || c.ToDepartment != 40 || len(c.Chain) != 0 {
		t.Errorf("partner: %+v", c)
	}
	d = draft()
	d.Specialty, d.Key = "neurology", "k2"
	c := w.request(t, vd, d)
	if c.AssignedTo != 310 || len(c.Chain) != 0 {
		t.Errorf("neurology: %+v", c)
	}
	var evs []Event
	for _, e := range w.repo.events {
		if e.ConsultationID == c.ID {
			evs = append(evs, e)
		}
	}
	if len(evs) != 3 || evs[1].Kind != EvNoRoster || evs[1].Practitioner != 310 || evs[1].Detail != "nobody on duty: the department head" ||
		evs[2].Kind != EvAssigned || !strings.HasPrefix(evs[2].Detail, "head=true ") {
		t.Errorf("timeline %+v", evs)
	}
}

// TestRequestIsIdempotent pins docs/consult.md step 1: a retry with the same
// key returns the first case (no second alert); the same key with a different
// body is ECONFLICT; the key is per account.
func TestRequestIsIdempotent(t *testing.T) {
	w := newWorld()
	first := w.request(t, vd, draft())
	again := w.request(t, vd, draft())
	if again.ID != first.ID || len(w.repo.rows) != 1 || len(w.live.got) != 1 {
		t.Errorf("retry made case %d (%d cases, %d live events)", again.ID, len(w.repo.rows), len(w.live.got))
	}
	d := draft()
	d.Summary = "另一个摘要"
	if _, err := w.s.Request(context.Background(), vd, d); key(err) != "conflict consult.key_reused" {
		t.Errorf("same key, other body: %v", err)
	}
	if c := w.request(t, td, draft()); c.ID != 2 || c.FromInstitution != 10 {
		t.Errorf("another account's key: %+v", c)
	}
}

// TestRequestMDT pins docs/consult.md step 1 (multidisciplinary): the other
// departments are the hub's own or an upward partner hospital's — each
// other institution gets a care link of its own — listed once after the
// leading one; each invited department's head is alerted once; a department
// of any other institution, or none besides the lead, is EINVALID.
func TestRequestMDT(t *testing.T) {
	w := newWorld()
	d := draft()
	d.Kind, d.Departments = MDT, []int64{31, 40, 31, 30, 34, 32}
	c := w.request(t, vd, d)
	if !slices.Equal(c.Departments, []int64{30, 31, 40, 34, 32}) || !slices.Equal(c.ExtraLinks, []int64{2}) {
		t.Errorf("departments %v extra links %v", c.Departments, c.ExtraLinks)
	}
	if len(w.repo.links) != 2 || w.repo.links[1].InstitutionID != 4 || w.repo.links[1].Reason != "consultation (MDT): "+reason20 || w.repo.links[1].Kind != access.LinkConsultation {
		t.Errorf("links %+v", w.repo.links)
	}
	var to []string
	for _, m := range w.repo.outbox {
		to = append(to, m.Recipient)
	}
	if !slices.Equal(to, []string{"13900000301", "13900000310", "13900000400"}) {
		t.Errorf("texted %v", to)
	}
	if got := w.live.kinds(); !slices.Equal(got, []string{"consult.new[301 310 400]"}) {
		t.Errorf("live %v", got)
	}
	for _, deps := range [][]int64{{50}, {30}, nil, {31, 50}} {
		d := draft()
		d.Kind, d.Departments, d.Key = MDT, deps, fmt.Sprint(deps)
		if _, err := w.s.Request(context.Background(), vd, d); fields(err) != "departments:consult.mdt.departments" {
			t.Errorf("departments %v: %v", deps, err)
		}
	}
	w.repo.fail["Departments"] = errStore
	if _, err := w.s.Request(context.Background(), vd, d); !errors.Is(err, errStore) {
		t.Errorf("departments fail: %v", err)
	}
}

// TestAccept pins docs/consult.md step 5 and "Who sees a case": only the
// assigned doctor accepts, once, while the case is requested; anyone not a
// party gets ENOTFOUND and the attempt is audited as denied; the inviting
// doctor is told.
func TestAccept(t *testing.T) {
	ctx := context.Background()
	w := newWorld()
	w.request(t, vd, draft())
	for _, p := range []int64{302, 300} { // a doctor of the department, the head
		if _, err := w.s.Accept(ctx, dr(p), 1); key(err) != "forbidden consult.not_yours" {
			t.Errorf("%d accepts: %v", p, err)
		}
	}
	if _, err := w.s.Accept(ctx, dr(401), 1); key(err) != "not_found consult.not_found" {
		t.Errorf("a stranger: %v", err)
	}
	if l := w.log.events[len(w.log.events)-1]; l.Action != ActAccept || l.Outcome != audit.OutcomeDenied || l.Detail != "consultation 1: not a party" || l.ResidentID != 1000 || l.CountyCode != cty {
		t.Errorf("denial %+v", l)
	}
	if _, err := w.s.Accept(ctx, dr(301), 99); key(err) != "not_found consult.not_found" {
		t.Errorf("no such case: %v", err)
	}
	w.at(3 * time.Minute)
	c, err := w.s.Accept(ctx, dr(301), 1)
	if err != nil || c.Status != StatusAccepted || !c.AcceptedAt.Equal(w.t) || w.stored(1).Status != StatusAccepted {
		t.Fatalf("accept: %+v %v", c, err)
	}
	if e := w.repo.events[len(w.repo.events)-1]; e.Kind != EvAccepted || e.Practitioner != 301 || e.Account != 1301 || !e.At.Equal(w.t) {
		t.Errorf("event %+v", e)
	}
	if ev := w.lastAudit(); ev.Action != ActAccept || ev.Detail != "consultation 1: accepted" || ev.ResidentID != 1000 {
		t.Errorf("audit %+v", ev)
	}
	if got := w.live.kinds(); got[len(got)-1] != "consult.accepted[110]" {
		t.Errorf("live %v", got)
	}
	if _, err := w.s.Accept(ctx, dr(301), 1); key(err) != "conflict consult.bad_transition" {
		t.Errorf("second accept: %v", err)
	}
	w.repo.fail["Consultation"] = errStore
	if _, err := w.s.Accept(ctx, dr(301), 1); !errors.Is(err, errStore) {
		t.Errorf("store down: %v", err)
	}
	delete(w.repo.fail, "Consultation")
	w.repo.fail["Practitioner"] = errStore // deciding whether 302 is of an invited department
	if _, err := w.s.Accept(ctx, dr(302), 1); !errors.Is(err, errStore) {
		t.Errorf("practitioner lookup fails: %v", err)
	}
}

// TestDeclinePassesAlongTheChain pins docs/consult.md step 5: a decline needs
// a reason (at most 200 characters) and passes the case to the next doctor
// on the chain with a new deadline, then to the department head, whose
// decline ends it; the hub's care link then ends 72 h later.
func TestDeclinePassesAlongTheChain(t *testing.T) {
	ctx := context.Background()
	w := newWorld()
	w.request(t, vd, draft())
	for _, r := range []string{"", "   ", strings.Repeat("忙", 201)} {
		if _, err := w.s.Decline(ctx, dr(301), 1, r); fields(err) != "reason:consult.decline.reason" {
			t.Errorf("reason %q: %v", r, err)
		}
	}
	if _, err := w.s.Decline(ctx, dr(302), 1, "忙"); key(err) != "forbidden consult.not_yours" {
		t.Errorf("not the assignee: %v", err)
	}
	w.at(2 * time.Minute)
	c, err := w.s.Decline(ctx, dr(301), 1, "  "+strings.Repeat("忙", 200)+" ")
	if err != nil || c.Status != StatusRequested || c.Step != 1 || c.AssignedTo != 302 || !c.Deadline.Equal(w.t.Add(10*time.Minute)) {
		t.Fatalf("first decline: %+v %v", c, err)
	}
	evs := w.repo.events[len(w.repo.events)-2:]
	if evs[0].Kind != EvPassed || evs[0].Practitioner != 301 || evs[0].Detail != strings.Repeat("忙", 200) || evs[1].Kind != EvAssigned || evs[1].Practitioner != 302 || evs[1].Detail != "after a decline" {
		t.Errorf("timeline %+v", evs)
	}
	if len(w.repo.outbox) != 1 || !slices.Equal(w.live.kinds()[1:], []string{"consult.new[302]", "consult.declined[110]"}) {
		t.Errorf("302 has no phone; told live: %v %v", w.repo.outbox, w.live.kinds())
	}
	if ev := w.lastAudit(); ev.Action != ActDecline || ev.Detail != "consultation 1: declined" {
		t.Errorf("audit %+v", ev)
	}
	if c, err = w.s.Decline(ctx, dr(302), 1, "手术中"); err != nil || c.AssignedTo != 300 || c.Step != 2 || c.Status != StatusRequested {
		t.Fatalf("second decline: %+v %v", c, err)
	}
	if m := w.repo.outbox[len(w.repo.outbox)-1]; m.Recipient != "13900000300" {
		t.Errorf("head texted: %+v", m)
	}
	w.at(5 * time.Minute)
	if c, err = w.s.Decline(ctx, dr(300), 1, "本科无法处理"); err != nil || c.Status != StatusDeclined || c.DeclineReason != "本科无法处理" || !c.ClosedAt.Equal(w.t) {
		t.Fatalf("head declines: %+v %v", c, err)
	}
	if k := w.eventKinds(1); k[len(k)-1] != EvDeclined {
		t.Errorf("timeline %v", k)
	}
	if !w.repo.links[0].ExpiresAt.Equal(w.t.Add(72 * time.Hour)) {
		t.Errorf("link expires %v", w.repo.links[0].ExpiresAt)
	}
	// Live: the case goes to 301, then 302 (the inviter told), then 300 (told again); the head's decline ends it (told, no new turn).
	if got := w.live.kinds(); !slices.Equal(got, []string{"consult.new[301]", "consult.new[302]", "consult.declined[110]", "consult.new[300]", "consult.declined[110]", "consult.declined[110]"}) {
		t.Errorf("live %v", got)
	}
	if _, err := w.s.Decline(ctx, dr(300), 1, "再次"); key(err) != "conflict consult.bad_transition" {
		t.Errorf("decline a declined case: %v", err)
	}
	w.repo.fail["UpdateConsultation"] = errStore
	w.request(t, vd, func() Draft { d := draft(); d.Key = "k2"; return d }())
	if _, err := w.s.Decline(ctx, dr(301), 2, "忙"); !errors.Is(err, errStore) {
		t.Errorf("save fails: %v", err)
	}
}

// TestDeclineWithoutAHead pins Decline's rule for a department with no head:
// the last doctor on the chain ends the case.
func TestDeclineWithoutAHead(t *testing.T) {
	w := newWorld()
	d := draft()
	d.Specialty = "rehabilitation"
	w.request(t, vd, d)
	c, err := w.s.Decline(context.Background(), dr(320), 1, "不适合远程康复")
	if err != nil || c.Status != StatusDeclined || c.AssignedTo != 320 {
		t.Errorf("%+v %v", c, err)
	}
}

// TestDeclineAnAcceptedCase pins the state machine (consult.go Transition):
// only a requested case is declined.
func TestDeclineAnAcceptedCase(t *testing.T) {
	ctx := context.Background()
	w := newWorld()
	w.request(t, vd, draft())
	if _, err := w.s.Accept(ctx, dr(301), 1); err != nil {
		t.Fatal(err)
	}
	if _, err := w.s.Decline(ctx, dr(301), 1, "忙"); key(err) != "conflict consult.bad_transition" {
		t.Errorf("%v", err)
	}
}

// dueCase puts a requested case due at deadline straight into the store.
func (w *world) dueCase(id int64, deadline time.Time) {
	if w.repo.rows == nil {
		w.repo.rows = map[int64]*caseRow{}
	}
	w.repo.rows[id] = &caseRow{c: Consultation{ID: id, County: cty, ResidentID: 1000, Kind: OneToOne, Urgency: Routine, Reason: reason20, FromInstitution: 11,
		FromDoctor: 110, ToInstitution: 3, ToDepartment: 30, Departments: []int64{30}, AssignedTo: 301, Status: StatusRequested, Deadline: deadline, Version: 1, CreatedAt: now},
		chain: []int64{301, 302}, head: 300}
}

// TestEscalationAtTheDeadline pins docs/consult.md step 4: a case nobody
// accepted by its deadline (not a moment before) goes to the next doctor on
// the chain with a new deadline, then to the department head, who keeps it
// and is alerted again at every missed deadline; each step is a timeline
// event and an audit row; the new assignee and the inviting doctor are told.
func TestEscalationAtTheDeadline(t *testing.T) {
	ctx := context.Background()
	w := newWorld()
	w.request(t, vd, draft())
	w.repo.outbox = nil
	w.at(10*time.Minute - time.Nanosecond)
	if n, err := w.s.EscalateDue(ctx); n != 0 || err != nil || w.stored(1).AssignedTo != 301 {
		t.Fatalf("before the deadline: %d %v", n, err)
	}
	w.at(10 * time.Minute)
	if n, err := w.s.EscalateDue(ctx); n != 1 || err != nil {
		t.Fatalf("at the deadline: %d %v", n, err)
	}
	c := w.stored(1)
	if c.AssignedTo != 302 || c.Step != 1 || c.Escalations != 1 || !c.Deadline.Equal(now.Add(20*time.Minute)) || c.Version != 2 {
		t.Errorf("after one escalation %+v", c)
	}
	if e := w.repo.events[len(w.repo.events)-1]; e.Kind != EvEscalated || e.Practitioner != 302 || e.Detail != "no answer from 301 in time; step 1 head=false" || !e.At.Equal(w.t) {
		t.Errorf("event %+v", e)
	}
	if ev := w.lastAudit(); ev != (audit.Event{Action: ActEscalate, Outcome: audit.OutcomeOK, Purpose: care.PurposeTreatment, CountyCode: cty, ResidentID: 1000,
		Detail: "consultation 1 escalated to 302 (step 1)"}) {
		t.Errorf("audit %+v", ev)
	}
	if len(w.repo.outbox) != 0 || !slices.Equal(w.live.kinds()[1:], []string{"consult.escalated[302]", "consult.escalated[110]"}) {
		t.Errorf("alerts %v %v", w.repo.outbox, w.live.kinds())
	}
	w.at(20 * time.Minute)
	w.s.EscalateDue(ctx)
	want := notify.Message{County: cty, Channel: notify.ChannelSMS, Recipient: "13900000300", Purpose: PurposeAlert,
		Body: "【远程会诊】一例普通会诊（" + reason20 + "）已超时升级给您，请在10分钟内登录平台接收或退回。", Ref: "consult:1", Practitioner: 300,
		Params: map[string]string{"urgency": "普通", "reason": reason20, "minutes": "10", "stage": "超时升级"}}
	if c := w.stored(1); c.AssignedTo != 300 || c.Step != 2 || len(w.repo.outbox) != 1 || !reflect.DeepEqual(w.repo.outbox[0], want) {
		t.Errorf("to the head: %+v %+v", c, w.repo.outbox)
	}
	w.at(30 * time.Minute)
	w.s.EscalateDue(ctx)
	if c := w.stored(1); c.AssignedTo != 300 || c.Step != 3 || c.Escalations != 3 || len(w.repo.outbox) != 2 {
		t.Errorf("the head keeps it: %+v, %d texts", c, len(w.repo.outbox))
	}
	if e := w.repo.events[len(w.repo.events)-1]; e.Detail != "no answer from 300 in time; step 3 head=true" {
		t.Errorf("event %+v", e)
	}
	w.live.online[300] = true
	w.at(40 * time.Minute)
	w.s.EscalateDue(ctx)
	if w.stored(1).Escalations != 4 || len(w.repo.outbox) != 2 {
		t.Errorf("a connected head is not texted: %d texts", len(w.repo.outbox))
	}
	w.s.Live = nil
	w.at(50 * time.Minute)
	w.s.EscalateDue(ctx)
	if len(w.repo.outbox) != 3 {
		t.Errorf("without a broker the head is texted: %d texts", len(w.repo.outbox))
	}
}

// TestEscalationLooksUpEachPhoneOnce pins EscalateDue's batch: the phone of
// a doctor two cases escalate to is read once.
func TestEscalationLooksUpEachPhoneOnce(t *testing.T) {
	w := newWorld()
	w.dueCase(1, now)
	w.dueCase(2, now)
	w.repo.rows[1].c.Step, w.repo.rows[2].c.Step = 1, 1 // both with 302: next is the head
	calls := w.repo.practCalls
	if n, err := w.s.EscalateDue(context.Background()); n != 2 || err != nil {
		t.Fatalf("%d %v", n, err)
	}
	if w.repo.practCalls-calls != 1 || len(w.repo.outbox) != 2 || w.repo.outbox[1].Recipient != "13900000300" {
		t.Errorf("%d lookups, texts %+v", w.repo.practCalls-calls, w.repo.outbox)
	}
	w.dueCase(3, now)
	w.repo.rows[3].chain = []int64{301, 999} // 999 is not a practitioner: no text, no error
	if n, err := w.s.EscalateDue(context.Background()); n != 1 || err != nil || len(w.repo.outbox) != 2 {
		t.Errorf("unknown next doctor: %d %v %d texts", n, err, len(w.repo.outbox))
	}
}

// TestEscalationSkipsAnAcceptedCase pins EscalateDue: a case a doctor
// accepted meanwhile is left alone (its version moved on) and nobody is told
// of an escalation.
func TestEscalationSkipsAnAcceptedCase(t *testing.T) {
	ctx := context.Background()
	w := newWorld()
	w.request(t, vd, draft())
	w.at(10 * time.Minute)
	w.repo.beforeEscalate = func() {
		w.repo.beforeEscalate = nil
		if _, err := w.s.Accept(ctx, dr(301), 1); err != nil {
			t.Fatal(err)
		}
	}
	live := len(w.live.got)
	if n, err := w.s.EscalateDue(ctx); n != 0 || err != nil {
		t.Errorf("%d %v", n, err)
	}
	if c := w.stored(1); c.Status != StatusAccepted || c.AssignedTo != 301 || c.Escalations != 0 {
		t.Errorf("%+v", c)
	}
	if got := w.live.kinds()[live:]; !slices.Equal(got, []string{"consult.accepted[110]"}) {
		t.Errorf("live %v", got)
	}
}

// TestEscalationBatches pins EscalateDue: batches of up to 500 cases, one
// transaction each, until fewer than 500 are due; a batch where nothing
// could be saved ends the run.
func TestEscalationBatches(t *testing.T) {
	ctx := context.Background()
	for _, tt := range []struct{ due, moved, reads int }{{500, 500, 2}, {501, 501, 2}, {499, 499, 1}} {
		w := newWorld()
		for i := 1; i <= tt.due; i++ {
			w.dueCase(int64(i), now.Add(-time.Duration(i)*time.Second))
		}
		if n, err := w.s.EscalateDue(ctx); n != tt.moved || err != nil || w.repo.dueCalls != tt.reads {
			t.Errorf("%d due: %d moved, %d reads, %v; want %d, %d", tt.due, n, w.repo.dueCalls, err, tt.moved, tt.reads)
		}
	}
	w := newWorld()
	for i := 1; i <= 500; i++ {
		w.dueCase(int64(i), now)
	}
	w.repo.moveNone = true
	w.repo.onDue = func() { // a run that went on reading the same batch would never end
		if w.repo.dueCalls > 3 {
			w.repo.fail["DueConsultations"] = errors.New("the same batch read again and again")
		}
	}
	if n, err := w.s.EscalateDue(ctx); n != 0 || err != nil || w.repo.dueCalls != 1 || len(w.live.got) != 0 {
		t.Errorf("nothing saved: %d %v, %d reads", n, err, w.repo.dueCalls)
	}
	for _, m := range []string{"DueConsultations", "EscalateMany"} {
		w := newWorld()
		w.dueCase(1, now)
		w.repo.fail[m] = errStore
		if n, err := w.s.EscalateDue(ctx); n != 0 || !errors.Is(err, errStore) {
			t.Errorf("%s fails: %d %v", m, n, err)
		}
	}
}

// TestSchedulerEscalatesOnItsFirstTick pins RunScheduler (docs/consult.md
// step 4): cases that fell due while the server was down escalate on the
// first tick; an error is reported while the scheduler runs, not after it
// was stopped, and without a reporter it carries on.
func TestSchedulerEscalatesOnItsFirstTick(t *testing.T) {
	w := newWorld()
	w.dueCase(1, now.Add(-time.Hour))
	ctx, cancel := context.WithCancel(context.Background())
	w.repo.beforeEscalate = cancel
	var errs []error
	w.s.RunScheduler(ctx, time.Hour, func(err error) { errs = append(errs, err) })
	if w.stored(1).Escalations != 1 || len(errs) != 0 {
		t.Errorf("first tick: %+v %v", w.stored(1), errs)
	}

	w.repo.fail["DueConsultations"] = errStore
	// The timeout only ends the run if the error is never reported (the test then fails).
	ctx, cancel = context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	w.s.RunScheduler(ctx, time.Hour, func(err error) { errs = append(errs, err); cancel() })
	if len(errs) != 1 || !errors.Is(errs[0], errStore) {
		t.Errorf("reported %v", errs)
	}

	delete(w.repo.fail, "DueConsultations")
	w.repo.fail["EscalateMany"] = errStore
	w.dueCase(2, now)
	ctx, cancel = context.WithCancel(context.Background())
	w.repo.beforeEscalate = cancel // stopped while the batch was being saved
	w.s.RunScheduler(ctx, time.Hour, func(err error) { errs = append(errs, err) })
	if len(errs) != 1 {
		t.Errorf("an error after the stop was reported: %v", errs)
	}

	w.repo.beforeEscalate = nil
	w.repo.fail["DueConsultations"] = errStore
	ctx, cancel = context.WithCancel(context.Background())
	calls := w.repo.dueCalls
	w.repo.onDue = func() {
		if w.repo.dueCalls-calls == 3 {
			cancel()
		}
	}
	w.s.RunScheduler(ctx, time.Millisecond, nil) // no reporter: it keeps ticking through errors
	if w.repo.dueCalls-calls != 3 {
		t.Errorf("the scheduler stopped after %d ticks", w.repo.dueCalls-calls)
	}
}

// TestSignSealsTheOpinion pins docs/consult.md step 6 and policy-rules.md
// §4: the assigned doctor signs an opinion on an accepted case — assessment
// and plan required, the diagnosis in ICD-10 shape — sealed with SHA-256 over
// the content, the signer and the signing time as stored (microseconds).
func TestSignSealsTheOpinion(t *testing.T) {
	ctx := context.Background()
	w := newWorld()
	w.request(t, vd, draft())
	for _, tt := range []struct {
		o    Opinion
		want string
	}{
		{Opinion{}, "assessment:field.required,plan:field.required"},
		{Opinion{Assessment: "a", Plan: "p", DiagnosisCode: "X1"}, "diagnosis_code:consult.icd10.invalid"},
		{Opinion{Assessment: strings.Repeat("a", 4001), Plan: strings.Repeat("p", 4001), DiagnosisText: strings.Repeat("d", 201)}, "assessment:field.too_long,plan:field.too_long,diagnosis_text:field.too_long"},
	} {
		if _, err := w.s.Sign(ctx, dr(301), 1, tt.o); fields(err) != tt.want {
			t.Errorf("%v, want %s", fields(err), tt.want)
		}
	}
	o := Opinion{Assessment: " 急性下壁心肌梗死可能 ", DiagnosisCode: " i21.1 ", DiagnosisText: "急性下壁心肌梗死", Plan: "立即转诊", Refer: true}
	if _, err := w.s.Sign(ctx, dr(301), 1, o); key(err) != "conflict consult.bad_transition" {
		t.Errorf("sign before accepting: %v", err)
	}
	w.s.Accept(ctx, dr(301), 1)
	if _, err := w.s.Sign(ctx, dr(302), 1, o); key(err) != "forbidden consult.not_yours" {
		t.Errorf("not the assignee: %v", err)
	}
	w.t = now.Add(5*time.Minute + 123456789*time.Nanosecond).In(care.Shanghai)
	c, err := w.s.Sign(ctx, dr(301), 1, o)
	if err != nil || c.Status != StatusAnswered {
		t.Fatalf("sign: %+v %v", c, err)
	}
	signed := now.Add(5*time.Minute + 123456*time.Microsecond)
	got := w.stored(1).Opinion
	if got == nil || got.SignedBy != 301 || !got.SignedAt.Equal(signed) || got.SignedAt.Location() != time.UTC || got.DiagnosisCode != "I21.1" || got.Assessment != "急性下壁心肌梗死可能" ||
		!c.AnsweredAt.Equal(signed) || got.Hash != OpinionHash(1, got) || len(got.Hash) != 64 {
		t.Errorf("opinion %+v", got)
	}
	if e := w.repo.events[len(w.repo.events)-1]; e.Kind != EvOpinion || e.Detail != "I21.1" || e.Practitioner != 301 || e.Account != 1301 {
		t.Errorf("event %+v", e)
	}
	if ev := w.lastAudit(); ev.Action != ActOpinion || ev.Detail != "consultation 1: opinion "+got.Hash[:12] {
		t.Errorf("audit %+v", ev)
	}
	if k := w.live.kinds(); k[len(k)-1] != "consult.answered[110]" {
		t.Errorf("live %v", k)
	}
}

// answered returns a world with case 1 accepted and answered by 301.
func answered(t *testing.T, d Draft) *world {
	w := newWorld()
	ctx := context.Background()
	c := w.request(t, vd, d)
	if _, err := w.s.Accept(ctx, dr(c.AssignedTo), c.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := w.s.Sign(ctx, dr(c.AssignedTo), c.ID, Opinion{Assessment: "a", Plan: "p"}); err != nil {
		t.Fatal(err)
	}
	return w
}

// TestDecideClosesTheCase pins docs/consult.md step 7: the inviting
// institution's doctor records advice, referral or local treatment (a note
// of at most 1000 characters) on an answered case; it closes, and the hub's
// care link ends Config.GraceHours (72 h) later; the assigned doctor is told.
func TestDecideClosesTheCase(t *testing.T) {
	ctx := context.Background()
	w := newWorld()
	w.request(t, vd, draft())
	w.s.Accept(ctx, dr(301), 1)
	if _, err := w.s.Decide(ctx, vd, 1, DecisionAdvice, ""); key(err) != "conflict consult.bad_transition" {
		t.Errorf("decide before the opinion: %v", err)
	}
	w = answered(t, draft())
	for _, tt := range []struct{ decision, note, want string }{
		{"maybe", "", "decision:consult.decision.invalid"},
		{"", "", "decision:consult.decision.invalid"},
		{DecisionLocal, strings.Repeat("注", 1001), "note:field.too_long"},
	} {
		if _, err := w.s.Decide(ctx, vd, 1, tt.decision, tt.note); fields(err) != tt.want {
			t.Errorf("%q: %v", tt.decision, err)
		}
	}
	if _, err := w.s.Decide(ctx, dr(301), 1, DecisionAdvice, ""); key(err) != "forbidden consult.not_yours" {
		t.Errorf("the hub decides: %v", err)
	}
	if _, err := w.s.Decide(ctx, td, 1, DecisionAdvice, ""); key(err) != "not_found consult.not_found" {
		t.Errorf("another institution: %v", err)
	}
	w.at(time.Hour)
	note := strings.Repeat("注", 1000)
	c, err := w.s.Decide(ctx, vd2, 1, DecisionReferral, " "+note+" ") // a colleague at the inviting clinic
	if err != nil || c.Status != StatusClosed || c.Decision != DecisionReferral || c.DecisionNote != note || !c.ClosedAt.Equal(w.t) {
		t.Fatalf("decide: %+v %v", c, err)
	}
	if !w.repo.links[0].ExpiresAt.Equal(w.t.Add(72 * time.Hour)) {
		t.Errorf("link expires %v", w.repo.links[0].ExpiresAt)
	}
	if e := w.repo.events[len(w.repo.events)-1]; e.Kind != EvDecision || e.Detail != DecisionReferral || e.Account != 17 {
		t.Errorf("event %+v", e)
	}
	if ev := w.lastAudit(); ev.Action != ActDecide || ev.Detail != "consultation 1: referral" {
		t.Errorf("audit %+v", ev)
	}
	if k := w.live.kinds(); k[len(k)-1] != "consult.closed[301]" {
		t.Errorf("live %v", k)
	}
	for _, d := range []string{DecisionAdvice, DecisionLocal} {
		w := answered(t, draft())
		if c, err := w.s.Decide(ctx, vd, 1, d, ""); err != nil || c.Decision != d {
			t.Errorf("%s: %v", d, err)
		}
	}
}

// TestCancelEndsAccessAtOnce pins docs/consult.md "Who sees a case" and
// Cancel: the inviting side withdraws a requested or accepted case with a
// reason (at most 200 characters); the hub's access ends at once; an answered
// case cannot be withdrawn.
func TestCancelEndsAccessAtOnce(t *testing.T) {
	ctx := context.Background()
	w := newWorld()
	w.request(t, vd, draft())
	for _, r := range []string{"", " ", strings.Repeat("撤", 201)} {
		if _, err := w.s.Cancel(ctx, vd, 1, r); fields(err) != "reason:consult.cancel.reason" {
			t.Errorf("reason %q: %v", r, err)
		}
	}
	if _, err := w.s.Cancel(ctx, dr(301), 1, "x"); key(err) != "forbidden consult.not_yours" {
		t.Errorf("the hub cancels: %v", err)
	}
	w.at(4 * time.Minute)
	c, err := w.s.Cancel(ctx, vd, 1, " "+strings.Repeat("撤", 200))
	if err != nil || c.Status != StatusCancelled || !c.ClosedAt.Equal(w.t) {
		t.Fatalf("cancel: %+v %v", c, err)
	}
	if !w.repo.links[0].ExpiresAt.Equal(w.t) {
		t.Errorf("link expires %v, want now", w.repo.links[0].ExpiresAt)
	}
	if e := w.repo.events[len(w.repo.events)-1]; e.Kind != EvCancelled || e.Detail != strings.Repeat("撤", 200) {
		t.Errorf("event %+v", e)
	}
	if ev := w.lastAudit(); ev.Action != ActCancel || ev.Detail != "consultation 1: cancelled" {
		t.Errorf("audit %+v", ev)
	}
	if k := w.live.kinds(); k[len(k)-1] != "consult.cancelled[301]" {
		t.Errorf("live %v", k)
	}
	if _, _, _, err := w.s.Detail(ctx, dr(301), 1); key(err) != "not_found consult.not_found" {
		t.Errorf("the hub still reads a withdrawn case: %v", err)
	}
	w = newWorld()
	w.request(t, vd, draft())
	w.s.Accept(ctx, dr(301), 1)
	if c, err := w.s.Cancel(ctx, vd, 1, "好转"); err != nil || c.Status != StatusCancelled {
		t.Errorf("cancel an accepted case: %v", err)
	}
	w = answered(t, draft())
	if _, err := w.s.Cancel(ctx, vd, 1, "好转"); key(err) != "conflict consult.bad_transition" {
		t.Errorf("cancel an answered case: %v", err)
	}
}

// TestPostMessages pins docs/consult.md step 8: a message has a body (at most
// 2000 characters) or files (at most Config.MaxAttachments, 5), on an open
// case; it is stored with a timeline event and an audit row, and pushed to
// the assigned doctor and the inviting doctor (not to its author).
func TestPostMessages(t *testing.T) {
	ctx := context.Background()
	w := newWorld()
	w.request(t, vd, draft())
	att := func(n int) []Attachment { return make([]Attachment, n) }
	for _, tt := range []struct {
		body string
		atts []Attachment
		want string
	}{
		{"", nil, "body:consult.message.body"},
		{"  ", nil, "body:consult.message.body"},
		{strings.Repeat("字", 2001), nil, "body:consult.message.body"},
		{"x", att(6), "files:consult.files.too_many"},
	} {
		if _, err := w.s.Post(ctx, vd, 1, tt.body, tt.atts); fields(err) != tt.want {
			t.Errorf("%d chars, %d files: %v", len([]rune(tt.body)), len(tt.atts), err)
		}
	}
	body := strings.Repeat("字", 2000)
	m, err := w.s.Post(ctx, dr(301), 1, " "+body+" ", att(5))
	if err != nil || m.Body != body || m.Author != "医生301" || m.Account != 1301 || m.ConsultationID != 1 || m.ID != 1 {
		t.Fatalf("post: %+v %v", m, err)
	}
	if e := w.repo.events[len(w.repo.events)-1]; e.Kind != EvMessage || e.Account != 1301 || !e.At.Equal(now) {
		t.Errorf("event %+v", e)
	}
	if ev := w.lastAudit(); ev.Action != ActMessage || ev.Detail != "consultation 1: message, 5 files" || ev.CountyCode != cty || ev.ResidentID != 1000 {
		t.Errorf("audit %+v", ev)
	}
	if p := w.live.got[len(w.live.got)-1]; p.kind != "consult.message" || fmtIDs(p.to) != "[301 110]" || p.text != strings.Repeat("字", 40)+"…" {
		t.Errorf("live %+v", p)
	}
	if _, err := w.s.Post(ctx, vd, 1, "", att(1)); err != nil {
		t.Errorf("files without a body: %v", err)
	}
	if p := w.live.got[len(w.live.got)-1]; fmtIDs(p.to) != "[301]" {
		t.Errorf("the inviting doctor's own message went to %v", p.to)
	}
	w.repo.fail["AddConsultationMessage"] = errStore
	if _, err := w.s.Post(ctx, vd, 1, "x", nil); !errors.Is(err, errStore) {
		t.Errorf("store fails: %v", err)
	}
	w.s.Cancel(ctx, vd, 1, "好转")
	if _, err := w.s.Post(ctx, vd, 1, "还在吗", nil); key(err) != "conflict consult.bad_transition" {
		t.Errorf("post to a withdrawn case: %v", err)
	}
}

// TestDetailIsAnAuditedRead pins docs/consult.md "Who sees a case" ("Every
// read is audited"): a party gets the case, its timeline and its messages,
// and the read is recorded.
func TestDetailIsAnAuditedRead(t *testing.T) {
	ctx := context.Background()
	w := newWorld()
	w.request(t, vd, draft())
	w.s.Post(ctx, vd, 1, "补充：血压90/60", nil)
	n := len(w.log.events)
	c, evs, ms, err := w.s.Detail(ctx, dr(302), 1)
	if err != nil || c.ID != 1 || len(evs) != 3 || len(ms) != 1 || ms[0].Body != "补充：血压90/60" {
		t.Fatalf("%+v %v %v %v", c, evs, ms, err)
	}
	if l := w.log.events[n:]; len(l) != 1 || l[0].Action != ActRead || l[0].Detail != "consultation 1" || l[0].ResidentID != 1000 || l[0].CountyCode != cty || l[0].Outcome != audit.OutcomeOK {
		t.Errorf("read audit %+v", l)
	}
	for _, m := range []string{"ConsultationEvents", "ConsultationMessages"} {
		w.repo.fail[m] = errStore
		if _, _, _, err := w.s.Detail(ctx, dr(302), 1); !errors.Is(err, errStore) {
			t.Errorf("%s fails: %v", m, err)
		}
		delete(w.repo.fail, m)
	}
}

// TestListsPerView pins docs/consult.md "Views and indicators": my requests
// (the inviting institution's), my queue (open cases assigned to me), the
// department board (the departments I head), each list audited.
func TestListsPerView(t *testing.T) {
	ctx := context.Background()
	w := newWorld()
	w.request(t, vd, draft())
	d := draft()
	d.Specialty, d.Key = "neurology", "k2"
	w.request(t, vd, d)
	mine, queue, board, err := w.s.Lists(ctx, vd)
	if err != nil || len(mine) != 2 || queue != nil || board != nil {
		t.Fatalf("village doctor: %d %d %d %v", len(mine), len(queue), len(board), err)
	}
	if f := w.repo.filters[0]; f.County != cty || f.FromInstitution != 11 || f.Limit != 200 || f.AssignedTo != 0 || f.Open {
		t.Errorf("filter %+v", f)
	}
	if l := w.log.events[len(w.log.events)-1]; l.Action != ActList || l.Detail != "consultation lists: 2 requested, 0 queue, 0 department" {
		t.Errorf("audit %+v", l)
	}
	mine, queue, board, err = w.s.Lists(ctx, dr(301))
	if err != nil || mine != nil || len(queue) != 1 || queue[0].ID != 1 || board != nil {
		t.Errorf("doctor on duty: %v %v %v %v", mine, queue, board, err)
	}
	if f := w.repo.filters[len(w.repo.filters)-1]; f.AssignedTo != 301 || !f.Open || f.Limit != 200 || f.County != cty {
		t.Errorf("queue filter %+v", f)
	}
	if _, queue, board, _ = w.s.Lists(ctx, dr(310)); len(queue) != 1 || len(board) != 1 || board[0].ID != 2 {
		t.Errorf("neurology head: %v %v", queue, board)
	}
	if f := w.repo.filters[len(w.repo.filters)-1]; !slices.Equal(f.Departments, []int64{31, 34}) || f.Limit != 300 {
		t.Errorf("board filter %+v", f)
	}
	if l := w.log.events[len(w.log.events)-1]; l.Detail != "consultation lists: 0 requested, 1 queue, 1 department" {
		t.Errorf("audit %+v", l)
	}
	nf := len(w.repo.filters)
	if mine, queue, board, err = w.s.Lists(ctx, analyst); mine != nil || queue != nil || board != nil || err != nil || len(w.repo.filters) != nf {
		t.Errorf("analyst: %v %v %v %v", mine, queue, board, err)
	}
	na := len(w.log.events)
	for _, tt := range []struct {
		a care.Actor
		m string
	}{{vd, "ListConsultations"}, {dr(301), "ListConsultations"}, {dr(301), "Departments"}} {
		w.repo.fail[tt.m] = errStore
		if _, _, _, err := w.s.Lists(ctx, tt.a); !errors.Is(err, errStore) {
			t.Errorf("%s fails: %v", tt.m, err)
		}
		delete(w.repo.fail, tt.m)
	}
	if len(w.log.events) != na {
		t.Errorf("a failed list was audited")
	}
}

// TestForResident pins docs/consult.md "Views and indicators" (the resident's
// page lists the consultations the doctor is party to) and "Who sees a
// case"; the doctor a case is assigned to keeps it on the list; the
// practitioner record is read once for the whole list.
func TestForResident(t *testing.T) {
	ctx := context.Background()
	w := newWorld()
	w.request(t, vd, draft())
	d := draft()
	d.Key = "k2"
	w.request(t, vd, d)
	w.s.Decline(ctx, dr(301), 2, "忙")
	w.s.Decline(ctx, dr(302), 2, "忙")
	w.s.Decline(ctx, dr(300), 2, "忙") // declined now
	w.at(100 * time.Hour)             // past the 72 h grace
	res := &resident.Resident{ID: 1000, CountyCode: cty}
	hubClerk := care.Actor{AccountID: 50, Role: care.RoleCountySpecialist, InstitutionID: 3, CountyCode: cty} // an account with no practitioner
	ids := func(cs []Consultation) string {
		var s []int64
		for _, c := range cs {
			s = append(s, c.ID)
		}
		return fmtIDs(s)
	}
	for _, tt := range []struct {
		a    care.Actor
		want string
	}{{vd, "[2 1]"}, {dr(301), "[1]"}, {dr(300), "[2 1]"}, {dr(302), "[1]"}, {dr(401), "[]"}, {analyst, "[]"}, {hubClerk, "[]"}} {
		calls := w.repo.practCalls
		cs, err := w.s.ForResident(ctx, tt.a, res)
		if err != nil || ids(cs) != tt.want {
			t.Errorf("%d: %s %v, want %s", tt.a.PractitionerID, ids(cs), err, tt.want)
		}
		if w.repo.practCalls-calls > 1 {
			t.Errorf("%d: %d practitioner lookups", tt.a.PractitionerID, w.repo.practCalls-calls)
		}
	}
	if f := w.repo.filters[len(w.repo.filters)-1]; f.County != cty || f.ResidentID != 1000 || f.Limit != 50 {
		t.Errorf("filter %+v", f)
	}
	w.repo.fail["Practitioner"] = errStore
	if _, err := w.s.ForResident(ctx, dr(302), res); !errors.Is(err, errStore) {
		t.Errorf("practitioner fails: %v", err)
	}
	w.repo.fail["ListConsultations"] = errStore
	if _, err := w.s.ForResident(ctx, vd, res); !errors.Is(err, errStore) {
		t.Errorf("list fails: %v", err)
	}
}

// TestRosterForTheHead pins docs/consult.md step 2 (duty_slots, edited by the
// department head at /consult/roster; roster.go): only a department head
// sees and edits the roster; it lists the department's active doctors and
// the shifts from the start of today (Beijing) for RosterDays days.
func TestRosterForTheHead(t *testing.T) {
	ctx := context.Background()
	w := newWorld()
	for _, a := range []care.Actor{dr(301), analyst, vd} {
		if _, err := w.s.Roster(ctx, a); key(err) != "forbidden consult.not_head" {
			t.Errorf("%d: %v", a.PractitionerID, err)
		}
	}
	// The shifts run from 08:00 to 16:00 UTC (00:00 Beijing on the 30th).
	for _, tt := range []struct {
		at     time.Time
		day    int
		shifts int
	}{
		{time.Date(2026, 11, 29, 15, 59, 59, 0, time.UTC), 29, 4}, // 23:59:59 on the 29th in Beijing
		{time.Date(2026, 11, 29, 16, 30, 0, 0, time.UTC), 30, 0},  // 00:30 on the 30th: today's shifts ended
	} {
		w.t = tt.at
		r, err := w.s.Roster(ctx, dr(300))
		if err != nil || r.Department.ID != 30 {
			t.Fatalf("%+v %v", r, err)
		}
		var docs []int64
		for _, p := range r.Doctors {
			docs = append(docs, p.ID)
		}
		if !slices.Equal(docs, []int64{300, 301, 302, 303}) || len(r.Slots) != tt.shifts {
			t.Errorf("%v: doctors %v, %d shifts", tt.at, docs, len(r.Slots))
		}
		from := time.Date(2026, 11, tt.day, 0, 0, 0, 0, care.Shanghai)
		if win := w.repo.slotWindows[len(w.repo.slotWindows)-1]; !win[0].Equal(from) || !win[1].Equal(from.AddDate(0, 0, RosterDays)) || RosterDays != 7 {
			t.Errorf("window %v", win)
		}
	}
	for _, m := range []string{"Departments", "Practitioners"} {
		w.repo.fail[m] = errStore
		if _, err := w.s.Roster(ctx, dr(300)); !errors.Is(err, errStore) {
			t.Errorf("%s fails: %v", m, err)
		}
		delete(w.repo.fail, m)
	}
}

// TestAddAndRemoveShifts pins roster.go's AddSlot and RemoveSlot: a valid
// shift (CheckSlot) of one of the head's own doctors that has not already
// ended; a shift of another department cannot be removed; both audited.
func TestAddAndRemoveShifts(t *testing.T) {
	ctx := context.Background()
	w := newWorld()
	sl := func(p int64, start, end time.Duration) Slot {
		return Slot{PractitionerID: p, Start: now.Add(start), End: now.Add(end), Position: 2}
	}
	for _, tt := range []struct {
		s    Slot
		want string
	}{
		{sl(310, 0, time.Hour), "practitioner_id:consult.slot.not_in_department"},
		{sl(999, 0, time.Hour), "practitioner_id:consult.slot.not_in_department"},
		{sl(0, 0, time.Hour), "practitioner_id:field.required"},
		{sl(301, -2*time.Hour, -time.Nanosecond), "end:consult.slot.past"},
		{Slot{PractitionerID: 301, Position: 2}, "end:consult.slot.times"},
	} {
		if _, err := w.s.AddSlot(ctx, dr(300), tt.s); fields(err) != tt.want {
			t.Errorf("%+v: %v, want %s", tt.s, fields(err), tt.want)
		}
	}
	if _, err := w.s.AddSlot(ctx, dr(301), sl(301, 0, time.Hour)); key(err) != "forbidden consult.not_head" {
		t.Errorf("not the head: %v", err)
	}
	got, err := w.s.AddSlot(ctx, dr(300), sl(302, -time.Hour, 0)) // ends now: not past yet
	if err != nil || got.ID == 0 || got.InstitutionID != 3 || got.DepartmentID != 30 || got.CreatedBy != 1300 {
		t.Fatalf("add: %+v %v", got, err)
	}
	if ev := w.lastAudit(); ev.Action != ActRoster || ev.Detail != "department 30: practitioner 302 on duty 2026-11-29T09:00:00Z–2026-11-29T10:00:00Z position 2" {
		t.Errorf("audit %+v", ev)
	}
	if err := w.s.RemoveSlot(ctx, dr(300), 5); key(err) != "not_found error.not_found" {
		t.Errorf("another department's shift: %v", err)
	}
	if err := w.s.RemoveSlot(ctx, dr(301), 2); key(err) != "forbidden consult.not_head" {
		t.Errorf("not the head: %v", err)
	}
	if err := w.s.RemoveSlot(ctx, dr(300), 2); err != nil || slices.ContainsFunc(w.repo.slots, func(s Slot) bool { return s.ID == 2 }) {
		t.Errorf("remove: %v", err)
	}
	if ev := w.lastAudit(); ev.Action != ActRoster || ev.Detail != "department 30: shift 2 removed" {
		t.Errorf("audit %+v", ev)
	}
}

var png = []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")

// TestAttachAndServeFiles pins docs/consult.md step 8: a file is type-checked
// by content, at most Config.MaxAttachment bytes, stored once by SHA-256, on
// an open case; it is served only to the case's parties when a message of
// the case carries it, checked against its hash, each serving audited.
func TestAttachAndServeFiles(t *testing.T) {
	ctx := context.Background()
	w := newWorld()
	w.request(t, vd, draft())
	w.s.Config.MaxAttachment = int64(len(png))
	if _, err := w.s.Attach(ctx, vd, 1, "a.png", append(png, 0)); key(err) != "too_large consult.file.too_large" {
		t.Errorf("one byte over: %v", err)
	}
	for _, data := range [][]byte{nil, []byte("MZ\x90\x00")} {
		if _, err := w.s.Attach(ctx, vd, 1, "a.png", data); fields(err) != "files:consult.file.type" {
			t.Errorf("%q: %v", data, err)
		}
	}
	at, err := w.s.Attach(ctx, vd, 1, "../../片.png", png)
	if err != nil || at.Name != "片.png" || at.Type != "image/png" || at.Size != int64(len(png)) || len(at.SHA256) != 64 {
		t.Fatalf("attach: %+v %v", at, err)
	}
	if _, err := w.s.Attach(ctx, dr(401), 1, "a.png", png); code(err) != care.ENOTFOUND {
		t.Errorf("a stranger attaches: %v", err)
	}
	if _, _, err := w.s.File(ctx, dr(301), 1, at.SHA256); key(err) != "not_found error.not_found" {
		t.Errorf("a file no message carries: %v", err)
	}
	w.s.Post(ctx, vd, 1, "", []Attachment{at})
	n := len(w.log.events)
	got, data, err := w.s.File(ctx, dr(301), 1, at.SHA256)
	if err != nil || string(data) != string(png) || got.Type != "image/png" || got.Name != "片.png" {
		t.Fatalf("file: %+v %v", got, err)
	}
	if l := w.log.events[n:]; len(l) != 1 || l[0].Action != ActFile || l[0].Detail != "consultation 1: file "+at.SHA256[:12] || l[0].ResidentID != 1000 {
		t.Errorf("audit %+v", l)
	}
	if _, _, err := w.s.File(ctx, dr(401), 1, at.SHA256); code(err) != care.ENOTFOUND {
		t.Errorf("a stranger reads: %v", err)
	}
	w.repo.blobs[cty+"|"+at.SHA256] = [2]string{"image/png", "changed"}
	if _, _, err := w.s.File(ctx, dr(301), 1, at.SHA256); code(err) != care.EINTERNAL {
		t.Errorf("a blob that does not match its hash: %v", err)
	}
	for _, m := range []string{"Blob", "ConsultationMessages"} {
		w.repo.fail[m] = errStore
		if _, _, err := w.s.File(ctx, dr(301), 1, at.SHA256); !errors.Is(err, errStore) {
			t.Errorf("%s fails: %v", m, err)
		}
		delete(w.repo.fail, m)
	}
	w.repo.fail["PutBlob"] = errStore
	if _, err := w.s.Attach(ctx, vd, 1, "a.png", png); !errors.Is(err, errStore) {
		t.Errorf("put fails: %v", err)
	}
	w.s.Cancel(ctx, vd, 1, "好转")
	if _, err := w.s.Attach(ctx, vd, 1, "a.png", png); key(err) != "conflict consult.bad_transition" {
		t.Errorf("attach to a withdrawn case: %v", err)
	}
}

// TestRehabSessions pins docs/consult.md "Remote rehabilitation guidance":
// once the guidance is signed, either party marks each planned session done,
// once; a note has at most 200 characters; closing the case does not stop it.
func TestRehabSessions(t *testing.T) {
	ctx := context.Background()
	d := draft()
	d.Kind, d.Specialty, d.RehabSessions = Rehab, "rehabilitation", 3
	w := newWorld()
	w.request(t, vd, d)
	w.s.Accept(ctx, dr(320), 1)
	if err := w.s.SessionDone(ctx, vd, 1, 1, ""); key(err) != "conflict consult.bad_transition" {
		t.Errorf("before the guidance: %v", err)
	}
	w = answered(t, d)
	if err := w.s.SessionDone(ctx, vd, 1, 1, strings.Repeat("记", 201)); fields(err) != "note:field.too_long" {
		t.Errorf("long note: %v", err)
	}
	for _, n := range []int{0, 4} {
		if err := w.s.SessionDone(ctx, vd, 1, n, ""); fields(err) != "n:consult.session.invalid" {
			t.Errorf("session %d: %v", n, err)
		}
	}
	if err := w.s.SessionDone(ctx, dr(320), 1, 3, " "+strings.Repeat("记", 200)); err != nil {
		t.Fatalf("session 3: %v", err)
	}
	if e := w.repo.events[len(w.repo.events)-1]; e.Kind != EvSession || e.Detail != "3 "+strings.Repeat("记", 200) || e.Practitioner != 320 || e.Account != 1320 {
		t.Errorf("event %+v", e)
	}
	if ev := w.lastAudit(); ev.Action != ActMessage || ev.Detail != "consultation 1: rehabilitation session 3" {
		t.Errorf("audit %+v", ev)
	}
	if err := w.s.SessionDone(ctx, vd, 1, 3, ""); key(err) != "conflict consult.session.done_already" {
		t.Errorf("session 3 again: %v", err)
	}
	w.s.Decide(ctx, vd, 1, DecisionAdvice, "")
	if err := w.s.SessionDone(ctx, vd, 1, 1, "步态"); err != nil {
		t.Errorf("session 1 after closing, by the inviting side: %v", err)
	}
	w.repo.fail["ConsultationEvents"] = errStore
	if err := w.s.SessionDone(ctx, vd, 1, 2, ""); !errors.Is(err, errStore) {
		t.Errorf("events fail: %v", err)
	}
	w = answered(t, draft()) // one-to-one
	if err := w.s.SessionDone(ctx, vd, 1, 1, ""); key(err) != "conflict consult.bad_transition" {
		t.Errorf("a one-to-one case: %v", err)
	}
}

// TestReportScope pins docs/consult.md "Views and indicators": analysts and
// county staff see the county's indicators, a township its own villages'
// requests (through a township, central or sub-center health center); a
// period runs forwards and at most 5 × 366 days; the read is audited.
func TestReportScope(t *testing.T) {
	ctx := context.Background()
	w := newWorld()
	w.repo.rows = map[int64]*caseRow{}
	for i, inst := range []int64{11, 16, 18, 19, 12} {
		w.repo.rows[int64(i+1)] = &caseRow{c: Consultation{ID: int64(i + 1), County: cty, Kind: OneToOne, Urgency: Routine, FromInstitution: inst, CreatedAt: now.Add(-time.Duration(i) * time.Hour), Status: StatusRequested}}
	}
	w.repo.rows[9] = &caseRow{c: Consultation{ID: 9, County: "411724", FromInstitution: 11, CreatedAt: now}}
	from, to := now.Add(-24*time.Hour), now.Add(time.Hour)
	for _, a := range []care.Actor{vd, dr(301), {Role: care.RoleReader, CountyCode: cty}} {
		if a.Role == care.RoleCountySpecialist {
			continue
		}
		if _, err := w.s.Report(ctx, a, from, to); key(err) != "forbidden error.forbidden" {
			t.Errorf("%s: %v", a.Role, err)
		}
	}
	for _, p := range [][2]time.Time{{from, from}, {to, from}, {from, from.Add(5*366*24*time.Hour + time.Nanosecond)}} {
		if _, err := w.s.Report(ctx, analyst, p[0], p[1]); fields(err) != "to:chronic.period.order" {
			t.Errorf("period %v: %v", p, err)
		}
	}
	if _, err := w.s.Report(ctx, analyst, from, from.Add(5*366*24*time.Hour)); err != nil {
		t.Errorf("five years of 366 days: %v", err)
	}
	ind, err := w.s.Report(ctx, analyst, from, to)
	if err != nil || ind.Total != 5 || ind.ByTownship[10] != 2 || ind.ByTownship[15] != 1 || ind.ByTownship[17] != 1 || ind.ByTownship[0] != 1 {
		t.Fatalf("county: %+v %v", ind, err)
	}
	if l := w.log.events[len(w.log.events)-1]; l.Action != "consult.indicators" || l.Detail != "consultation indicators 2026-11-28..2026-11-29 n=5" || l.AccountID != 5 {
		t.Errorf("audit %+v", l)
	}
	if ind, err := w.s.Report(ctx, td, from, to); err != nil || ind.Total != 2 || ind.ByTownship[10] != 2 {
		t.Errorf("township 10: %+v %v", ind, err)
	}
	if ind, err := w.s.Report(ctx, dr(301), from, to); err != nil || ind.Total != 5 {
		t.Errorf("county specialist: %+v %v", ind, err)
	}
	w.repo.fail["ConsultationStats"] = errStore
	if _, err := w.s.Report(ctx, analyst, from, to); !errors.Is(err, errStore) {
		t.Errorf("stats fail: %v", err)
	}
	delete(w.repo.fail, "ConsultationStats")
	w.s.Orgs = memOrgs{err: errStore}
	if _, err := w.s.Report(ctx, analyst, from, to); !errors.Is(err, errStore) {
		t.Errorf("tree fails: %v", err)
	}
}

// TestUnitReportScope: the dashboard's per-institution figures — an
// analyst's over the county, a township doctor's over the requests of their
// township and its villages only; nobody else; the period rules and audit
// of Report.
func TestUnitReportScope(t *testing.T) {
	ctx := context.Background()
	w := newWorld()
	w.repo.rows = map[int64]*caseRow{}
	for i, inst := range []int64{11, 16, 18, 19, 12} {
		w.repo.rows[int64(i+1)] = &caseRow{c: Consultation{ID: int64(i + 1), County: cty, Kind: OneToOne, Urgency: Routine, FromInstitution: inst, CreatedAt: now.Add(-time.Duration(i) * time.Hour), Status: StatusRequested}}
	}
	from, to := now.Add(-24*time.Hour), now.Add(time.Hour)
	for _, a := range []care.Actor{vd, dr(301), {Role: care.RoleReader, CountyCode: cty}} {
		if _, err := w.s.UnitReport(ctx, a, from, to); key(err) != "forbidden error.forbidden" {
			t.Errorf("%s: %v", a.Role, err)
		}
	}
	if _, err := w.s.UnitReport(ctx, analyst, to, from); fields(err) != "to:chronic.period.order" {
		t.Errorf("reversed period: %v", err)
	}
	all, err := w.s.UnitReport(ctx, analyst, from, to)
	if err != nil || len(all) != 5 || all[11].Escalated != (Rate{0, 1}) {
		t.Fatalf("county: %+v %v", all, err)
	}
	if l := w.log.events[len(w.log.events)-1]; l.Action != "consult.indicators" || l.Detail != "consultation unit figures 2026-11-28..2026-11-29 n=5 units=5" {
		t.Errorf("audit %+v", l)
	}
	mine, err := w.s.UnitReport(ctx, td, from, to)
	if err != nil || len(mine) != 2 {
		t.Errorf("township 10: %+v %v", mine, err)
	}
	for inst := range mine {
		if inst != 10 && inst != 11 && inst != 12 {
			t.Errorf("township 10 sees institution %d", inst)
		}
	}
}

// TestSignalNeedsAPractitioner pins docs/consult.md "Video calls": only
// practitioners take part in a call; a join that cannot be recorded is no
// join (the room is left as it was).
func TestSignalNeedsAPractitioner(t *testing.T) {
	ctx := context.Background()
	w := newWorld()
	w.request(t, vd, draft())
	clerk := vd
	clerk.PractitionerID = 0
	if _, _, err := w.s.Signal(ctx, clerk, 1, Signal{Type: SigJoin}); key(err) != "forbidden error.forbidden" {
		t.Errorf("no practitioner: %v", err)
	}
	if _, _, err := w.s.Signal(ctx, vd, 1, Signal{Type: "dance"}); fields(err) != "type:consult.video.type" {
		t.Errorf("unknown type: %v", err)
	}
	w.live.online[301] = true
	if _, _, err := w.s.Signal(ctx, dr(301), 1, Signal{Type: SigJoin}); err != nil {
		t.Fatal(err)
	}
	w.repo.fail["AddConsultationEvent"] = errStore
	if _, _, err := w.s.Signal(ctx, vd, 1, Signal{Type: SigJoin}); !errors.Is(err, errStore) {
		t.Errorf("join not recorded: %v", err)
	}
	if in := w.s.InCall(1); len(in) != 1 || in[0].ID != 301 {
		t.Errorf("in the call: %v", in)
	}
	if _, _, err := w.s.Signal(ctx, dr(301), 1, Signal{Type: SigLeave}); !errors.Is(err, errStore) {
		t.Errorf("leave not recorded: %v", err)
	}
	if in := w.s.InCall(1); len(in) != 0 {
		t.Errorf("a leave that was not recorded still leaves: %v", in)
	}
}

// TestRemoveFromACall pins Calls.Remove: only the one participant leaves;
// the last one out closes the room.
func TestRemoveFromACall(t *testing.T) {
	c := NewCalls()
	c.Relay(1, Participant{ID: 10}, Signal{Type: SigJoin}, 4, nil)
	c.Relay(1, Participant{ID: 11}, Signal{Type: SigJoin}, 4, nil)
	c.Remove(1, 10)
	if in := c.In(1); len(in) != 1 || in[0].ID != 11 {
		t.Errorf("after 10 left: %v", in)
	}
	c.Remove(1, 11)
	if _, ok := c.m[1]; ok || len(c.m) != 0 {
		t.Errorf("an empty room stays: %v", c.m)
	}
}
