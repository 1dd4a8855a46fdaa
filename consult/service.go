package consult

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"countycare/access"
	"countycare/audit"
	"countycare/care"
	"countycare/notify"
	"countycare/org"
	"countycare/resident"
)

// Repository is the storage consultation needs; store.Store implements it.
type Repository interface {
	Departments(ctx context.Context, institutionID int64) ([]org.Department, error)
	Practitioners(ctx context.Context, f org.PractitionerFilter) ([]org.Practitioner, error)
	Practitioner(ctx context.Context, id int64) (*org.Practitioner, error)
	// DutySlots lists a department's shifts overlapping [from, to).
	DutySlots(ctx context.Context, departmentID int64, from, to time.Time) ([]Slot, error)
	SaveSlot(ctx context.Context, s *Slot, ev audit.Event) error
	DeleteSlot(ctx context.Context, id, departmentID int64, ev audit.Event) error
	// CreateConsultation stores a new case with its first events, the hub's
	// care link, messages and the audit row in one transaction. A case with
	// the same idempotency key from the same account is returned instead
	// (existing true), or ECONFLICT if its request differs.
	// links[0] is the hub's; the others are an MDT's partner hospitals'.
	CreateConsultation(ctx context.Context, c *Consultation, requestHash string, evs []Event, links []*access.CareLink, msgs []notify.Message, ev audit.Event) (existing bool, err error)
	Consultation(ctx context.Context, id int64) (*Consultation, []int64, int64, error) // the case, its chain, its department head
	// UpdateConsultation saves c at c.Version (ECONFLICT if stale) with events,
	// messages, the care link's new expiry (if linkExpires is not zero) and the audit row.
	UpdateConsultation(ctx context.Context, c *Consultation, evs []Event, msgs []notify.Message, linkExpires time.Time, ev audit.Event) error
	// DueConsultations lists requested cases whose deadline is at or before
	// now, oldest deadline first, with their chains and department heads.
	DueConsultations(ctx context.Context, now time.Time, limit int) ([]Due, error)
	// EscalateMany saves escalations in one transaction; a case changed
	// since it was read is skipped. It returns how many were saved.
	EscalateMany(ctx context.Context, es []Escalation) (int, error)
	ConsultationEvents(ctx context.Context, id int64) ([]Event, error)
	ConsultationMessages(ctx context.Context, id int64) ([]Message, error)
	AddConsultationMessage(ctx context.Context, m *Message, e Event, ev audit.Event) error
	// AddConsultationEvent appends one timeline event with its audit row.
	AddConsultationEvent(ctx context.Context, e Event, ev audit.Event) error
	ListConsultations(ctx context.Context, f Filter) ([]Consultation, error)
	ConsultationStats(ctx context.Context, county string, from, to time.Time) ([]Consultation, error)
	PutBlob(ctx context.Context, county, sha, typ string, data []byte) error
	Blob(ctx context.Context, county, sha string) (string, []byte, error)
}

// Filter selects cases for a list.
type Filter struct {
	County          string
	FromInstitution int64   // inviting side
	AssignedTo      int64   // invited doctor
	Departments     []int64 // a department's board
	Open            bool    // requested, accepted or answered only
	Breached        bool    // escalated at least once
	ResidentID      int64
	Limit           int
}

// Publisher pushes live events to connected browsers (web's SSE broker).
type Publisher interface {
	Publish(practitionerIDs []int64, kind string, consultationID int64, text string)
	Online(practitionerID int64) bool
}

// Service is remote consultation. Every method checks the actor and
// writes the audit trail; cases the actor has no part in are ENOTFOUND.
type Service struct {
	Repo      Repository
	Residents *resident.Service
	Orgs      interface {
		Tree(ctx context.Context) (*org.Tree, error)
	}
	Audit  audit.Recorder
	Live   Publisher // may be nil
	Config Config
	Now    func() time.Time

	calls *Calls // video calls in progress (in memory, made on first use: see video.go)
}

// Audit actions.
const (
	ActRequest  = "consult.request"
	ActRead     = "consult.read"
	ActAccept   = "consult.accept"
	ActDecline  = "consult.decline"
	ActEscalate = "consult.escalate"
	ActOpinion  = "consult.opinion"
	ActDecide   = "consult.decide"
	ActCancel   = "consult.cancel"
	ActMessage  = "consult.message"
	ActRoster   = "consult.roster"
	ActList     = "consult.list"
	ActFile     = "consult.file"
	ActVideo    = "consult.video"
)

// PurposeAlert is the outbox purpose of messages to invited doctors.
const PurposeAlert = "consult.alert"

// RequestHash identifies a draft's content for idempotent retries.
func RequestHash(d *Draft) string {
	h := sha256.New()
	fmt.Fprintf(h, "%d|%s|%s|%s|%s|%s|%s|%s|%d|%v|%d|%s|%s|%s|%d", d.ResidentID, d.Kind, d.Urgency, d.Reason, d.Purpose, d.Summary, d.Specialty, d.MinTitle,
		d.ToInstitution, d.Departments, d.RehabSessions, d.Consent.By, d.Consent.Name, d.Consent.Method, d.Consent.At.Unix())
	return hex.EncodeToString(h.Sum(nil))
}

// OpinionHash is the SHA-256 the signer's opinion is sealed with: the case,
// the signer, the time and every field, so any later change shows.
func OpinionHash(caseID int64, o *Opinion) string {
	h := sha256.New()
	fmt.Fprintf(h, "%d|%d|%s|%s|%s|%s|%s|%t", caseID, o.SignedBy, o.SignedAt.UTC().Format(time.RFC3339Nano), o.Assessment, o.DiagnosisCode, o.DiagnosisText, o.Plan, o.Refer)
	return hex.EncodeToString(h.Sum(nil))
}

func inviter(r care.Role) bool { return r == care.RoleVillageDoctor || r == care.RoleTownshipDoctor }

// hubDepartment finds the hub's department for a specialty.
func (s *Service) hubDepartment(ctx context.Context, inst int64, specialty string) (*org.Department, error) {
	ds, err := s.Repo.Departments(ctx, inst)
	if err != nil {
		return nil, err
	}
	for i := range ds {
		if ds[i].Specialty == specialty {
			return &ds[i], nil
		}
	}
	return nil, care.Invalid([]care.FieldError{{Field: "specialty", Key: "consult.no_department"}})
}

// chainFor computes the doctors on duty for a case at t.
func (s *Service) chainFor(ctx context.Context, dept *org.Department, minTitle org.Title, t time.Time) ([]int64, error) {
	slots, err := s.Repo.DutySlots(ctx, dept.ID, t.Add(-24*time.Hour), t.Add(time.Minute))
	if err != nil {
		return nil, err
	}
	ids := map[int64]bool{}
	for _, sl := range slots {
		ids[sl.PractitionerID] = true
	}
	practs := map[int64]*org.Practitioner{}
	for id := range ids {
		p, err := s.Repo.Practitioner(ctx, id)
		if err != nil {
			if care.IsCode(err, care.ENOTFOUND) {
				continue
			}
			return nil, err
		}
		practs[id] = p
	}
	return Chain(slots, practs, dept.ID, minTitle, s.Config.MinPracticeYears, t), nil
}

// alert returns the text message for an assignee who is not connected
// (one who is sees the case live: see publish).
func (s *Service) alert(ctx context.Context, c *Consultation, to int64) []notify.Message {
	// An open stream may be a laptop asleep: an emergency is texted anyway.
	if s.Live != nil && s.Live.Online(to) && c.Urgency != Emergency {
		return nil
	}
	p, err := s.Repo.Practitioner(ctx, to)
	if err != nil || p.Phone == "" {
		return nil
	}
	body := fmt.Sprintf("【远程会诊】您有一例%s会诊请求（%s），请在%d分钟内登录平台接收或退回。", urgencyName[c.Urgency], clip(c.Reason, 20),
		s.Config.ResponseMinutes[c.Urgency])
	return []notify.Message{alertMessage(c, to, p.Phone, body, "新会诊请求", s.Config.ResponseMinutes[c.Urgency])}
}

// MessageRef is the outbox reference of a consultation's messages.
func MessageRef(id int64) string { return fmt.Sprintf("consult:%d", id) }

// alertMessage is the text message to practitioner about c, with the
// template parameters urgency, reason, minutes and stage (docs/sms.md).
func alertMessage(c *Consultation, practitioner int64, phone, body, stage string, minutes int) notify.Message {
	ref := "" // a new case's ID is known once stored: the store sets it
	if c.ID != 0 {
		ref = MessageRef(c.ID)
	}
	return notify.Message{County: c.County, Channel: notify.ChannelSMS, Recipient: phone, Purpose: PurposeAlert, Body: body, Ref: ref, Practitioner: practitioner,
		Params: map[string]string{"urgency": urgencyName[c.Urgency], "reason": clip(c.Reason, 20), "minutes": fmt.Sprint(minutes), "stage": stage}}
}

// publish pushes a change to connected browsers after it is saved.
func (s *Service) publish(to []int64, kind string, c *Consultation) {
	if s.Live != nil {
		s.Live.Publish(to, kind, c.ID, c.Reason)
	}
}

var urgencyName = map[Urgency]string{Routine: "普通", Urgent: "加急", Emergency: "急诊"}

func clip(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n]) + "…"
}

// Request opens a case for a resident the inviting doctor may see: it
// validates the draft (no consent, no request), routes it to the doctor on
// duty in the hub's department for the specialty, starts the response
// deadline, gives the hub access to the record (a consultation care link)
// and alerts the doctor. A retry with the same idempotency key returns the
// case already created. Errors: EINVALID, ENOTFOUND, EFORBIDDEN, ECONFLICT.
func (s *Service) Request(ctx context.Context, a care.Actor, d Draft) (*Consultation, error) {
	if !inviter(a.Role) {
		return nil, care.Errorf(care.EFORBIDDEN, "error.forbidden")
	}
	res, err := s.Residents.Get(ctx, a, d.ResidentID)
	if err != nil {
		return nil, err
	}
	now := s.Now()
	fs := d.Check(now)
	t, err := s.Orgs.Tree(ctx)
	if err != nil {
		return nil, err
	}
	hub := t.Get(d.ToInstitution)
	if hub == nil || (hub.Kind != org.KindCountyHospital && hub.Kind != org.KindPartner) {
		fs = append(fs, care.FieldError{Field: "to_institution", Key: "consult.hub.invalid"})
	}
	if err := care.Invalid(fs); err != nil {
		return nil, err
	}
	dept, err := s.hubDepartment(ctx, hub.ID, d.Specialty)
	if err != nil {
		return nil, err
	}
	var depts, others []int64  // MDT: the other departments, and their institutions besides the hub
	heads := map[int64]int64{} // MDT: department → its head, who is alerted
	if d.Kind == MDT {
		// The other departments must be the hub's own or an upward partner
		// hospital's (a department ID from anywhere else would give its
		// doctors a party's access to the case).
		invitable := map[int64]int64{} // department → its institution
		for _, inst := range append([]*org.Institution{hub}, t.OfKind(0, org.KindPartner)...) {
			ds, err := s.Repo.Departments(ctx, inst.ID)
			if err != nil {
				return nil, err
			}
			for _, x := range ds {
				invitable[x.ID] = inst.ID
				heads[x.ID] = x.HeadID
			}
		}
		seen := map[int64]bool{dept.ID: true}
		for _, id := range d.Departments {
			inst, ok := invitable[id]
			if !ok {
				return nil, care.Invalid([]care.FieldError{{Field: "departments", Key: "consult.mdt.departments"}})
			}
			if !seen[id] {
				seen[id] = true
				depts = append(depts, id)
				if inst != hub.ID && !slices.Contains(others, inst) {
					others = append(others, inst)
				}
			}
		}
		if len(depts) == 0 {
			return nil, care.Invalid([]care.FieldError{{Field: "departments", Key: "consult.mdt.departments"}})
		}
	}
	chain, err := s.chainFor(ctx, dept, d.MinTitle, now)
	if err != nil {
		return nil, err
	}
	c := &Consultation{County: res.CountyCode, ResidentID: res.ID, Kind: d.Kind, Urgency: d.Urgency, Reason: d.Reason, Purpose: d.Purpose, Summary: d.Summary,
		Specialty: d.Specialty, MinTitle: d.MinTitle, Departments: append([]int64{dept.ID}, depts...), FromInstitution: a.InstitutionID, FromDoctor: a.PractitionerID,
		FromAccount: a.AccountID, ToInstitution: hub.ID, ToDepartment: dept.ID, Status: StatusRequested, Deadline: s.Config.Deadline(d.Urgency, now),
		Consent: d.Consent, IdempotencyKey: d.Key, RehabSessions: d.RehabSessions, Chain: chain}
	var evs []Event
	evs = append(evs, Event{Kind: EvCreated, Account: a.AccountID, Detail: string(d.Kind) + " " + string(d.Urgency), At: now})
	assignee, head := Assignee(chain, dept.HeadID, 0)
	if len(chain) == 0 {
		evs = append(evs, Event{Kind: EvNoRoster, Practitioner: assignee, At: now, Detail: "nobody on duty: the department head"})
	}
	if assignee == 0 {
		return nil, care.Invalid([]care.FieldError{{Field: "specialty", Key: "consult.nobody"}})
	}
	c.AssignedTo = assignee
	evs = append(evs, Event{Kind: EvAssigned, Practitioner: assignee, At: now, Detail: fmt.Sprintf("head=%t deadline %s", head, c.Deadline.Format(time.RFC3339))})
	links := []*access.CareLink{{CountyCode: res.CountyCode, ResidentID: res.ID, InstitutionID: hub.ID, Kind: access.LinkConsultation,
		Reason: "consultation: " + clip(d.Reason, 40), CreatedBy: a.AccountID}}
	for _, inst := range others {
		links = append(links, &access.CareLink{CountyCode: res.CountyCode, ResidentID: res.ID, InstitutionID: inst, Kind: access.LinkConsultation,
			Reason: "consultation (MDT): " + clip(d.Reason, 40), CreatedBy: a.AccountID})
	}
	ev := audit.New(ctx, a, ActRequest, res.ID)
	ev.CountyCode, ev.Detail = res.CountyCode, fmt.Sprintf("%s %s to department %d", d.Kind, d.Urgency, dept.ID)
	msgs := s.alert(ctx, c, assignee)
	alerted := []int64{assignee}
	for _, dep := range depts { // the invited departments' heads
		if h := heads[dep]; h != 0 && !slices.Contains(alerted, h) {
			alerted = append(alerted, h)
			msgs = append(msgs, s.alert(ctx, c, h)...)
		}
	}
	existing, err := s.Repo.CreateConsultation(ctx, c, RequestHash(&d), evs, links, msgs, ev)
	if err != nil {
		return nil, err
	}
	if !existing {
		s.publish(alerted, "consult.new", c)
	}
	return c, nil
}

// mayRead reports whether a is a party to c: the inviting institution's
// doctors, or at the hub the assignee, the department head and the
// doctors of the invited departments.
func (s *Service) mayRead(ctx context.Context, a care.Actor, c *Consultation, head int64) (bool, error) {
	return s.mayReadWith(a, c, head, func() (*org.Practitioner, error) { return s.Repo.Practitioner(ctx, a.PractitionerID) })
}

// mayReadWith is mayRead with the actor's practitioner record loaded by
// practitioner, only when the decision needs it (a list loads it once).
func (s *Service) mayReadWith(a care.Actor, c *Consultation, head int64, practitioner func() (*org.Practitioner, error)) (bool, error) {
	if a.CountyCode != c.County {
		return false, nil
	}
	if inviter(a.Role) && a.InstitutionID == c.FromInstitution {
		return true, nil
	}
	if a.PractitionerID == 0 {
		return false, nil
	}
	if a.InstitutionID != c.ToInstitution && len(c.ExtraLinks) == 0 {
		return false, nil // only an MDT with a partner hospital involves another institution
	}
	// The hub's access ends with the case's: at once when it is withdrawn,
	// Config.GraceHours after it was declined or decided (as its care link).
	if !c.Status.Open() {
		if c.Status == StatusCancelled || c.ClosedAt.IsZero() || !s.Now().Before(c.ClosedAt.Add(time.Duration(s.Config.GraceHours)*time.Hour)) {
			return false, nil
		}
	}
	if a.InstitutionID == c.ToInstitution && (a.PractitionerID == c.AssignedTo || a.PractitionerID == head) {
		return true, nil
	}
	p, err := practitioner()
	if err != nil {
		return false, err
	}
	for _, d := range c.Departments {
		if d == p.DepartmentID && p.InstitutionID == a.InstitutionID {
			return true, nil
		}
	}
	return false, nil
}

// load returns a case the actor has a part in (ENOTFOUND otherwise, audited).
func (s *Service) load(ctx context.Context, a care.Actor, id int64, action string) (*Consultation, []int64, int64, error) {
	c, chain, head, err := s.Repo.Consultation(ctx, id)
	if err != nil {
		if care.IsCode(err, care.ENOTFOUND) {
			return nil, nil, 0, care.Errorf(care.ENOTFOUND, "consult.not_found")
		}
		return nil, nil, 0, err
	}
	ok, err := s.mayRead(ctx, a, c, head)
	if err != nil {
		return nil, nil, 0, err
	}
	if !ok {
		ev := audit.New(ctx, a, action, c.ResidentID)
		ev.CountyCode, ev.Outcome, ev.Detail = c.County, audit.OutcomeDenied, fmt.Sprintf("consultation %d: not a party", id)
		s.Audit.Record(ctx, ev)
		return nil, nil, 0, care.Errorf(care.ENOTFOUND, "consult.not_found")
	}
	return c, chain, head, nil
}

// Detail is a case with its timeline and messages (an audited read).
func (s *Service) Detail(ctx context.Context, a care.Actor, id int64) (*Consultation, []Event, []Message, error) {
	c, _, _, err := s.load(ctx, a, id, ActRead)
	if err != nil {
		return nil, nil, nil, err
	}
	evs, err := s.Repo.ConsultationEvents(ctx, id)
	if err != nil {
		return nil, nil, nil, err
	}
	ms, err := s.Repo.ConsultationMessages(ctx, id)
	if err != nil {
		return nil, nil, nil, err
	}
	ev := audit.New(ctx, a, ActRead, c.ResidentID)
	ev.CountyCode, ev.Detail = c.County, "consultation "+strconv.FormatInt(id, 10)
	s.Audit.Record(ctx, ev)
	return c, evs, ms, nil
}

func (s *Service) save(ctx context.Context, a care.Actor, c *Consultation, action string, evs []Event, msgs []notify.Message, linkExpires time.Time, detail string) error {
	ev := audit.New(ctx, a, action, c.ResidentID)
	ev.CountyCode, ev.Detail = c.County, fmt.Sprintf("consultation %d: %s", c.ID, detail)
	return s.Repo.UpdateConsultation(ctx, c, evs, msgs, linkExpires, ev)
}

// notifyInviter publishes a change to the inviting doctor.
func (s *Service) notifyInviter(c *Consultation, kind string) {
	if s.Live != nil && c.FromDoctor != 0 {
		s.Live.Publish([]int64{c.FromDoctor}, kind, c.ID, c.Reason)
	}
}

// Accept takes a case: only the doctor it is assigned to, while it is requested.
func (s *Service) Accept(ctx context.Context, a care.Actor, id int64) (*Consultation, error) {
	c, _, _, err := s.load(ctx, a, id, ActAccept)
	if err != nil {
		return nil, err
	}
	if a.PractitionerID != c.AssignedTo {
		return nil, care.Errorf(care.EFORBIDDEN, "consult.not_yours")
	}
	if c.Status, err = Transition(c.Status, "accept"); err != nil {
		return nil, err
	}
	now := s.Now()
	c.AcceptedAt = now
	if err := s.save(ctx, a, c, ActAccept, []Event{{Kind: EvAccepted, Practitioner: a.PractitionerID, Account: a.AccountID, At: now}}, nil, time.Time{}, "accepted"); err != nil {
		return nil, err
	}
	s.notifyInviter(c, "consult.accepted")
	return c, nil
}

// Decline refuses a case with a reason (required): it passes to the next
// doctor on the chain, then the department head; the head's decline ends
// it. Errors: EINVALID (no reason), EFORBIDDEN (not the assignee), ECONFLICT.
func (s *Service) Decline(ctx context.Context, a care.Actor, id int64, reason string) (*Consultation, error) {
	reason = strings.TrimSpace(reason)
	if reason == "" || utf8.RuneCountInString(reason) > 200 {
		return nil, care.Invalid([]care.FieldError{{Field: "reason", Key: "consult.decline.reason"}})
	}
	c, chain, head, err := s.load(ctx, a, id, ActDecline)
	if err != nil {
		return nil, err
	}
	if a.PractitionerID != c.AssignedTo {
		return nil, care.Errorf(care.EFORBIDDEN, "consult.not_yours")
	}
	if _, err := Transition(c.Status, "decline"); err != nil {
		return nil, err
	}
	now := s.Now()
	evs := []Event{{Kind: EvPassed, Practitioner: a.PractitionerID, Account: a.AccountID, At: now, Detail: reason}}
	var msgs []notify.Message
	var expires time.Time
	if _, wasHead := Assignee(chain, head, c.Step); wasHead || (head == 0 && c.Step >= len(chain)-1) {
		c.Status, c.DeclineReason, c.ClosedAt = StatusDeclined, reason, now
		evs[0].Kind = EvDeclined
		expires = now.Add(time.Duration(s.Config.GraceHours) * time.Hour)
	} else {
		c.Step++
		next, _ := Assignee(chain, head, c.Step)
		c.AssignedTo, c.Deadline = next, s.Config.Deadline(c.Urgency, now)
		evs = append(evs, Event{Kind: EvAssigned, Practitioner: next, At: now, Detail: "after a decline"})
		msgs = s.alert(ctx, c, next)
	}
	if err := s.save(ctx, a, c, ActDecline, evs, msgs, expires, "declined"); err != nil {
		return nil, err
	}
	if c.Status == StatusRequested {
		s.publish([]int64{c.AssignedTo}, "consult.new", c)
	}
	s.notifyInviter(c, "consult.declined")
	return c, nil
}

// Due is a case whose response deadline has passed.
type Due struct {
	C     Consultation
	Chain []int64
	Head  int64
}

// Escalation is one case's move to the next doctor, as saved.
type Escalation struct {
	C      *Consultation
	Events []Event
	Msgs   []notify.Message
	Audit  audit.Event
}

// escalation moves a due case to the next doctor on the chain, then the
// department head; once with the head it stays there and the head and the
// inviting doctor are alerted again at every missed deadline: nothing is
// dropped.
func (s *Service) escalation(ctx context.Context, d *Due, now time.Time, phones map[int64]string) Escalation {
	c := &d.C
	prev := c.AssignedTo
	c.Step++
	next, isHead := Assignee(d.Chain, d.Head, c.Step)
	c.AssignedTo, c.Deadline = next, s.Config.Deadline(c.Urgency, now)
	e := Escalation{C: c, Events: []Event{{Kind: EvEscalated, Practitioner: next, At: now, Detail: fmt.Sprintf("no answer from %d in time; step %d head=%t", prev, c.Step, isHead)}},
		Audit: audit.Event{Action: ActEscalate, Outcome: audit.OutcomeOK, Purpose: care.PurposeTreatment, CountyCode: c.County, ResidentID: c.ResidentID,
			Detail: fmt.Sprintf("consultation %d escalated to %d (step %d)", c.ID, next, c.Step)}}
	if s.Live == nil || !s.Live.Online(next) {
		phone, ok := phones[next]
		if !ok {
			if p, err := s.Repo.Practitioner(ctx, next); err == nil {
				phone = p.Phone
			}
			phones[next] = phone
		}
		if phone != "" {
			e.Msgs = []notify.Message{alertMessage(c, next, phone,
				fmt.Sprintf("【远程会诊】一例%s会诊（%s）已超时升级给您，请在%d分钟内登录平台接收或退回。", urgencyName[c.Urgency], clip(c.Reason, 20), s.Config.ResponseMinutes[c.Urgency]),
				"超时升级", s.Config.ResponseMinutes[c.Urgency])}
		}
	}
	return e
}

// Sign records the assignee's signed opinion on an accepted case.
func (s *Service) Sign(ctx context.Context, a care.Actor, id int64, o Opinion) (*Consultation, error) {
	if err := care.Invalid(CheckOpinion(&o)); err != nil {
		return nil, err
	}
	c, _, _, err := s.load(ctx, a, id, ActOpinion)
	if err != nil {
		return nil, err
	}
	if a.PractitionerID != c.AssignedTo {
		return nil, care.Errorf(care.EFORBIDDEN, "consult.not_yours")
	}
	if c.Status, err = Transition(c.Status, "opinion"); err != nil {
		return nil, err
	}
	// The seal covers the signing time as stored (microseconds), so it can
	// be recomputed from the record.
	now := s.Now().UTC().Truncate(time.Microsecond)
	o.SignedBy, o.SignedAt = a.PractitionerID, now
	o.Hash = OpinionHash(c.ID, &o)
	c.Opinion, c.AnsweredAt = &o, now
	if err := s.save(ctx, a, c, ActOpinion, []Event{{Kind: EvOpinion, Practitioner: a.PractitionerID, Account: a.AccountID, At: now, Detail: o.DiagnosisCode}}, nil, time.Time{}, "opinion "+o.Hash[:12]); err != nil {
		return nil, err
	}
	s.notifyInviter(c, "consult.answered")
	return c, nil
}

// Decide records the inviting doctor's decision and closes the case; the
// hub keeps access to the record for Config.GraceHours.
func (s *Service) Decide(ctx context.Context, a care.Actor, id int64, decision, note string) (*Consultation, error) {
	note = strings.TrimSpace(note)
	if decision != DecisionAdvice && decision != DecisionReferral && decision != DecisionLocal {
		return nil, care.Invalid([]care.FieldError{{Field: "decision", Key: "consult.decision.invalid"}})
	}
	if utf8.RuneCountInString(note) > 1000 {
		return nil, care.Invalid([]care.FieldError{{Field: "note", Key: "field.too_long", Args: []any{1000}}})
	}
	c, _, _, err := s.load(ctx, a, id, ActDecide)
	if err != nil {
		return nil, err
	}
	if !inviter(a.Role) || a.InstitutionID != c.FromInstitution {
		return nil, care.Errorf(care.EFORBIDDEN, "consult.not_yours")
	}
	if c.Status, err = Transition(c.Status, "decide"); err != nil {
		return nil, err
	}
	now := s.Now()
	c.Decision, c.DecisionNote, c.ClosedAt = decision, note, now
	expires := now.Add(time.Duration(s.Config.GraceHours) * time.Hour)
	if err := s.save(ctx, a, c, ActDecide, []Event{{Kind: EvDecision, Account: a.AccountID, At: now, Detail: decision}}, nil, expires, decision); err != nil {
		return nil, err
	}
	if s.Live != nil {
		s.Live.Publish([]int64{c.AssignedTo}, "consult.closed", c.ID, c.Reason)
	}
	return c, nil
}

// Cancel withdraws a case (inviting side, before the opinion).
func (s *Service) Cancel(ctx context.Context, a care.Actor, id int64, reason string) (*Consultation, error) {
	reason = strings.TrimSpace(reason)
	if reason == "" || utf8.RuneCountInString(reason) > 200 {
		return nil, care.Invalid([]care.FieldError{{Field: "reason", Key: "consult.cancel.reason"}})
	}
	c, _, _, err := s.load(ctx, a, id, ActCancel)
	if err != nil {
		return nil, err
	}
	if !inviter(a.Role) || a.InstitutionID != c.FromInstitution {
		return nil, care.Errorf(care.EFORBIDDEN, "consult.not_yours")
	}
	if c.Status, err = Transition(c.Status, "cancel"); err != nil {
		return nil, err
	}
	now := s.Now()
	c.ClosedAt = now
	if err := s.save(ctx, a, c, ActCancel, []Event{{Kind: EvCancelled, Account: a.AccountID, At: now, Detail: reason}}, nil, now, "cancelled"); err != nil {
		return nil, err
	}
	if s.Live != nil {
		s.Live.Publish([]int64{c.AssignedTo}, "consult.cancelled", c.ID, c.Reason)
	}
	return c, nil
}

// Post adds a message (with attachments already stored) to an open case.
func (s *Service) Post(ctx context.Context, a care.Actor, id int64, body string, atts []Attachment) (*Message, error) {
	body = strings.TrimSpace(body)
	if (body == "" && len(atts) == 0) || utf8.RuneCountInString(body) > 2000 {
		return nil, care.Invalid([]care.FieldError{{Field: "body", Key: "consult.message.body"}})
	}
	if len(atts) > s.Config.MaxAttachments {
		return nil, care.Invalid([]care.FieldError{{Field: "files", Key: "consult.files.too_many", Args: []any{s.Config.MaxAttachments}}})
	}
	c, _, _, err := s.load(ctx, a, id, ActMessage)
	if err != nil {
		return nil, err
	}
	if !c.Status.Open() {
		return nil, care.Errorf(care.ECONFLICT, "consult.bad_transition", string(c.Status))
	}
	m := &Message{ConsultationID: id, Account: a.AccountID, Author: a.Name, Body: body, Attachments: atts}
	ev := audit.New(ctx, a, ActMessage, c.ResidentID)
	ev.CountyCode, ev.Detail = c.County, fmt.Sprintf("consultation %d: message, %d files", id, len(atts))
	if err := s.Repo.AddConsultationMessage(ctx, m, Event{ConsultationID: id, Kind: EvMessage, Account: a.AccountID, At: s.Now()}, ev); err != nil {
		return nil, err
	}
	if s.Live != nil {
		to := []int64{c.AssignedTo}
		if c.FromDoctor != 0 && c.FromDoctor != a.PractitionerID {
			to = append(to, c.FromDoctor)
		}
		s.Live.Publish(to, "consult.message", id, clip(body, 40))
	}
	return m, nil
}

// Lists for the three views: the inviting side's requests, the invited
// doctor's queue (with what was escalated to them), a department head's board.
func (s *Service) Lists(ctx context.Context, a care.Actor) (mine, queue, board []Consultation, err error) {
	if inviter(a.Role) {
		if mine, err = s.Repo.ListConsultations(ctx, Filter{County: a.CountyCode, FromInstitution: a.InstitutionID, Limit: 200}); err != nil {
			return
		}
	}
	if a.PractitionerID != 0 && !inviter(a.Role) {
		if queue, err = s.Repo.ListConsultations(ctx, Filter{County: a.CountyCode, AssignedTo: a.PractitionerID, Open: true, Limit: 200}); err != nil {
			return
		}
		var ds []org.Department
		if ds, err = s.Repo.Departments(ctx, a.InstitutionID); err != nil {
			return
		}
		var headOf []int64
		for _, d := range ds {
			if d.HeadID == a.PractitionerID {
				headOf = append(headOf, d.ID)
			}
		}
		if len(headOf) > 0 {
			board, err = s.Repo.ListConsultations(ctx, Filter{County: a.CountyCode, Departments: headOf, Limit: 300})
		}
	}
	if err == nil {
		ev := audit.New(ctx, a, ActList, 0)
		ev.Detail = fmt.Sprintf("consultation lists: %d requested, %d queue, %d department", len(mine), len(queue), len(board))
		s.Audit.Record(ctx, ev)
	}
	return
}

// RunScheduler escalates overdue cases every tick until ctx ends. The
// deadline is stored with the case, so a restart loses nothing: cases that
// fell due while the server was down escalate on the first tick.
func (s *Service) RunScheduler(ctx context.Context, every time.Duration, onErr func(error)) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if _, err := s.EscalateDue(ctx); err != nil && ctx.Err() == nil && onErr != nil {
			onErr(err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// EscalateDue escalates every case due now, a batch of up to 500 per
// transaction, and returns how many moved. A case a doctor accepted
// meanwhile is left alone (its version moved on).
func (s *Service) EscalateDue(ctx context.Context) (int, error) {
	n := 0
	phones := map[int64]string{}
	for {
		now := s.Now()
		due, err := s.Repo.DueConsultations(ctx, now, 500)
		if err != nil || len(due) == 0 {
			return n, err
		}
		es := make([]Escalation, 0, len(due))
		versions := make([]int, 0, len(due))
		for i := range due {
			versions = append(versions, due[i].C.Version)
			es = append(es, s.escalation(ctx, &due[i], now, phones))
		}
		moved, err := s.Repo.EscalateMany(ctx, es)
		if err != nil {
			return n, err
		}
		n += moved
		if s.Live != nil {
			for i, e := range es {
				if e.C.Version == versions[i] {
					continue // not saved: a doctor accepted it meanwhile
				}
				s.publish([]int64{e.C.AssignedTo}, "consult.escalated", e.C)
				s.notifyInviter(e.C, "consult.escalated")
			}
		}
		if len(due) < 500 || moved == 0 {
			return n, nil
		}
	}
}

// ForResident lists the consultations about a resident the actor is party
// to (for the resident page; the page's own read of the resident is the
// audited one).
func (s *Service) ForResident(ctx context.Context, a care.Actor, res *resident.Resident) ([]Consultation, error) {
	cs, err := s.Repo.ListConsultations(ctx, Filter{County: res.CountyCode, ResidentID: res.ID, Limit: 50})
	if err != nil {
		return nil, err
	}
	var p *org.Practitioner
	practitioner := func() (*org.Practitioner, error) { // one lookup for the whole list
		var err error
		if p == nil {
			p, err = s.Repo.Practitioner(ctx, a.PractitionerID)
		}
		return p, err
	}
	out := cs[:0]
	for i := range cs {
		ok, err := s.mayReadWith(a, &cs[i], 0, practitioner)
		if err != nil {
			return nil, err
		}
		if ok || (a.PractitionerID != 0 && a.PractitionerID == cs[i].AssignedTo) {
			out = append(out, cs[i])
		}
	}
	return out, nil
}
