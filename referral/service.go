package referral

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
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

// Repository is the storage referrals need; store.Store implements it.
type Repository interface {
	// CreateReferral stores r with its first event, the care link (its ID
	// set on r), the tasks, the parent's transition (a redirect, or the
	// completion of an up-referral by its down-referral; ECONFLICT if the
	// parent changed meanwhile) and ev, in one transaction. If a referral
	// with r's idempotency key exists in the county it writes nothing and
	// returns that one with created=false — or ECONFLICT
	// (referral.idempotency_mismatch) when its body hash differs.
	CreateReferral(ctx context.Context, r *Referral, link *access.CareLink, tasks []Task, parent *Transition, ev audit.Event) (stored *Referral, created bool, err error)
	// Referral returns one referral; ENOTFOUND if none.
	Referral(ctx context.Context, id int64) (*Referral, error)
	// SaveTransition saves t (ECONFLICT if the referral is no longer at
	// t.Referral.Version) with ev in one transaction.
	SaveTransition(ctx context.Context, t *Transition, ev audit.Event) error
	Referrals(ctx context.Context, f Filter) ([]Referral, error)
	ReferralEvents(ctx context.Context, referralID int64) ([]Event, error)
	ReferralTasks(ctx context.Context, referralIDs []int64) ([]Task, error)
	// ReferralFacts streams the referrals of the county first sent in [from, to].
	ReferralFacts(ctx context.Context, county string, from, to care.Date, fn func(Fact) error) error
	// VisitCounts counts the settled (not reversed) visits of the county's
	// residents in [from, to] by the resident's village clinic, level and visit type.
	VisitCounts(ctx context.Context, county string, from, to care.Date) ([]VisitCount, error)
}

// Transition is a status change as the store saves it: the referral in its
// new state (Version is the one read), the event, the care link's new
// expiry (zero: unchanged) and the messages to queue in the outbox.
type Transition struct {
	Referral   *Referral
	Event      Event
	ExpireLink time.Time
	Messages   []notify.Message
}

// Filter selects referrals in a listing.
type Filter struct {
	County     string
	Direction  Direction // "" any
	FromInsts  []int64   // sent by one of these (nil: any)
	ToInsts    []int64   // received by one of these (nil: any)
	ToDept     int64
	Statuses   []Status
	ResidentID int64
	Limit      int // at most 500
}

// Staff gives the departments and practitioners referrals name.
type Staff interface {
	Departments(ctx context.Context, institutionID int64) ([]org.Department, error)
	Practitioner(ctx context.Context, id int64) (*org.Practitioner, error)
}

// Config are the referral service's parameters.
type Config struct {
	// LinkGrace is how long the receiving institution keeps access to the
	// resident after the referral closes (issue #3 "Access": configurable; default 72 h).
	LinkGrace time.Duration
}

// DefaultConfig returns the defaults.
func DefaultConfig() Config { return Config{LinkGrace: 72 * time.Hour} }

// Service is two-way referral. Every call takes the acting user, checks
// that they are a party (sending or receiving institution) and writes the
// audit trail: reads through Audit, changes in the same transaction.
type Service struct {
	Repo      Repository
	Residents *resident.Service
	Orgs      interface {
		Tree(ctx context.Context) (*org.Tree, error)
	}
	Staff  Staff
	Audit  audit.Recorder
	Config Config
	Now    func() time.Time
}

// now is the clock at the precision the store keeps (microseconds, UTC),
// so a referral returned on creation equals the one read back on a retry.
func (s *Service) now() time.Time { return s.Now().UTC().Truncate(time.Microsecond) }

// Audit actions.
const (
	AuditCreate     = "referral.create"
	AuditTransition = "referral.transition"
	AuditRead       = "referral.read"
	AuditList       = "referral.list"
	AuditReport     = "referral.indicators"
)

// Limits of free text.
const (
	MaxSummary = 2000
	MaxNote    = 500
	MaxKey     = 100
	MaxTasks   = 10
	MaxReasons = 8
)

// Draft is an up-referral as the sender writes it.
type Draft struct {
	ResidentID     int64
	Reasons        []Reason
	Summary        string
	Urgency        Urgency
	ToInst         int64
	ToDept         int64
	RequestedAt    time.Time // appointment asked for (zero: none)
	BedRequested   bool
	IdempotencyKey string // a retry with the same key and body returns the first referral
}

// hash is the body hash compared on a retry with the same key.
func (d *Draft) hash(consultationID int64) string {
	rs := make([]string, len(d.Reasons))
	for i, r := range d.Reasons {
		rs[i] = string(r)
	}
	slices.Sort(rs)
	s := fmt.Sprintf("up|%d|%s|%q|%s|%d|%d|%s|%t|%d", d.ResidentID, strings.Join(rs, ","), strings.TrimSpace(d.Summary), d.Urgency, d.ToInst, d.ToDept,
		d.RequestedAt.UTC().Format(time.RFC3339), d.BedRequested, consultationID)
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:16])
}

func tooLong(fs []care.FieldError, field, v string, n int) []care.FieldError {
	if utf8.RuneCountInString(v) > n {
		return append(fs, care.FieldError{Field: field, Key: "field.too_long", Args: []any{n}})
	}
	return fs
}

// CheckTarget validates a receiving institution and department for a
// sender at institution from: up-referrals go from a village clinic or
// township center to a county hospital (or a diagnosis center) or to a
// partner hospital outside the county; from a county hospital only
// outward. It returns the field errors.
func CheckTarget(t *org.Tree, from, to int64, depts []org.Department, dept int64) []care.FieldError {
	var fs []care.FieldError
	src, dst := t.Get(from), t.Get(to)
	if dst == nil || !dst.Active {
		return append(fs, care.FieldError{Field: "to_institution", Key: "referral.to.invalid"})
	}
	okKind := dst.Kind == org.KindCountyHospital || dst.Kind == org.KindDiagnosis || dst.Kind == org.KindPartner
	if src != nil && (src.Level == org.LevelCounty) && dst.Kind != org.KindPartner {
		okKind = false
	}
	if !okKind || from == to {
		fs = append(fs, care.FieldError{Field: "to_institution", Key: "referral.to.level"})
	}
	if dept != 0 && !slices.ContainsFunc(depts, func(d org.Department) bool { return d.ID == dept }) {
		fs = append(fs, care.FieldError{Field: "to_department", Key: "referral.to.department"})
	}
	return fs
}

// Create sends an up-referral for a resident the actor may see, from the
// actor's institution. Emergency criteria make it an emergency, a
// resident in a poverty category gets the green channel, and the
// receiving institution gains a care link to the resident until the
// referral closes (plus Config.LinkGrace). A retry with the same
// idempotency key returns the first referral. Errors: EINVALID,
// ENOTFOUND (resident), EFORBIDDEN (role), ECONFLICT (same key, other body).
func (s *Service) Create(ctx context.Context, a care.Actor, in Draft) (*Referral, error) {
	in.IdempotencyKey = clientKey(a, in.IdempotencyKey)
	return s.create(ctx, a, 0, in)
}

// clientKey scopes a key a client chose to its account ("a<account>:key"),
// so keys of different accounts never meet and no client can take a key
// the system makes for itself ("consultation:<id>", "redirect:<id>").
func clientKey(a care.Actor, key string) string {
	if key = strings.TrimSpace(key); key == "" {
		return ""
	}
	return fmt.Sprintf("a%d:%s", a.AccountID, key)
}

// FromConsultation turns a consultation into an up-referral in one step:
// exactly Create, with the consultation's ID stored on the referral. An
// empty idempotency key becomes "consultation:<id>", so a consultation
// yields at most one referral per body.
func (s *Service) FromConsultation(ctx context.Context, a care.Actor, consultationID int64, in Draft) (*Referral, error) {
	if consultationID <= 0 {
		return nil, care.Invalid([]care.FieldError{{Field: "consultation_id", Key: "referral.consultation.invalid"}})
	}
	if strings.TrimSpace(in.IdempotencyKey) == "" {
		in.IdempotencyKey = fmt.Sprintf("consultation:%d", consultationID)
	} else {
		in.IdempotencyKey = clientKey(a, in.IdempotencyKey)
	}
	return s.create(ctx, a, consultationID, in)
}

func canSend(a care.Actor) bool {
	return a.Role == care.RoleVillageDoctor || a.Role == care.RoleTownshipDoctor || a.Role == care.RoleCountySpecialist
}

func (s *Service) create(ctx context.Context, a care.Actor, consultationID int64, in Draft) (*Referral, error) {
	if !canSend(a) {
		return nil, care.Errorf(care.EFORBIDDEN, "error.forbidden")
	}
	res, err := s.Residents.Get(ctx, a, in.ResidentID)
	if err != nil {
		return nil, err
	}
	t, err := s.Orgs.Tree(ctx)
	if err != nil {
		return nil, err
	}
	now := s.now()
	var fs []care.FieldError
	in.Summary = strings.TrimSpace(in.Summary)
	in.IdempotencyKey = strings.TrimSpace(in.IdempotencyKey)
	if res.Status != resident.StatusActive {
		fs = append(fs, care.FieldError{Field: "resident_id", Key: "referral.resident_not_active"})
	}
	if len(in.Reasons) == 0 {
		fs = append(fs, care.FieldError{Field: "reasons", Key: "referral.reasons.required"})
	}
	seen := map[Reason]bool{}
	for _, r := range in.Reasons {
		if !r.Valid() || seen[r] {
			fs = append(fs, care.FieldError{Field: "reasons", Key: "referral.reasons.invalid"})
			break
		}
		seen[r] = true
	}
	if len(in.Reasons) > MaxReasons {
		fs = append(fs, care.FieldError{Field: "reasons", Key: "referral.reasons.too_many", Args: []any{MaxReasons}})
	}
	if in.Summary == "" {
		fs = append(fs, care.FieldError{Field: "summary", Key: "field.required"})
	}
	fs = tooLong(fs, "summary", in.Summary, MaxSummary)
	if in.Urgency != Routine && in.Urgency != Emergency {
		fs = append(fs, care.FieldError{Field: "urgency", Key: "referral.urgency.invalid"})
	}
	if !in.RequestedAt.IsZero() && (in.RequestedAt.Before(now.Add(-time.Hour)) || in.RequestedAt.After(now.AddDate(0, 0, 90))) {
		fs = append(fs, care.FieldError{Field: "requested_at", Key: "referral.requested_at.range", Args: []any{90}})
	}
	if in.IdempotencyKey == "" {
		fs = append(fs, care.FieldError{Field: "idempotency_key", Key: "field.required"})
	}
	fs = tooLong(fs, "idempotency_key", in.IdempotencyKey, MaxKey)
	var depts []org.Department
	if in.ToDept != 0 && t.Get(in.ToInst) != nil {
		if depts, err = s.Staff.Departments(ctx, in.ToInst); err != nil {
			return nil, err
		}
	}
	fs = append(fs, CheckTarget(t, a.InstitutionID, in.ToInst, depts, in.ToDept)...)
	if err := care.Invalid(fs); err != nil {
		return nil, err
	}
	dst := t.Get(in.ToInst)
	r := &Referral{County: res.CountyCode, Direction: Up, Status: StatusSent, ResidentID: res.ID, Poverty: res.Poverty != resident.PovertyNone,
		Urgency: UrgencyFor(in.Urgency, in.Reasons), Reasons: slices.Clone(in.Reasons), Summary: in.Summary, FromInst: a.InstitutionID,
		ToInst: in.ToInst, ToDept: in.ToDept, OutOfCounty: dst.Kind == org.KindPartner || dst.CountyCode != res.CountyCode,
		BedRequested: in.BedRequested, RequestedAt: in.RequestedAt, ConsultationID: consultationID, IdempotencyKey: in.IdempotencyKey,
		BodyHash: in.hash(consultationID), SentBy: a.AccountID, SentByPract: a.PractitionerID, FirstSentAt: now, SentAt: now, UpdatedAt: now, Version: 1}
	r.GreenChannel = r.Poverty
	link := &access.CareLink{CountyCode: res.CountyCode, ResidentID: res.ID, InstitutionID: in.ToInst, Kind: access.LinkReferral,
		Reason: "referral", CreatedBy: a.AccountID}
	ev := audit.New(ctx, a, AuditCreate, res.ID)
	ev.CountyCode = res.CountyCode
	ev.Detail = fmt.Sprintf("up-referral %s to institution %d dept %d", r.Urgency, r.ToInst, r.ToDept)
	if consultationID != 0 {
		ev.Detail += fmt.Sprintf(" from consultation %d", consultationID)
	}
	stored, _, err := s.Repo.CreateReferral(ctx, r, link, nil, nil, ev)
	return stored, err
}

// party says which sides of r the actor belongs to: the sending side is
// the sending institution and the institutions above it in the county
// (a township center for its villages), the receiving side the receiving
// institution and the institutions above it (a hospital for its
// departments' staff). Only doctors take part.
func party(t *org.Tree, a care.Actor, r *Referral) (sender, receiver bool) {
	switch a.Role {
	case care.RoleVillageDoctor, care.RoleTownshipDoctor, care.RoleCountySpecialist:
	default:
		return false, false
	}
	return a.CountyCode == r.County && t.IsWithin(r.FromInst, a.InstitutionID), t.IsWithin(r.ToInst, a.InstitutionID)
}

// load returns a referral the actor is a party to, auditing a refusal;
// another institution's referral is ENOTFOUND, like a missing one.
func (s *Service) load(ctx context.Context, a care.Actor, id int64) (*Referral, *org.Tree, bool, bool, error) {
	r, err := s.Repo.Referral(ctx, id)
	if care.IsCode(err, care.ENOTFOUND) {
		ev := audit.New(ctx, a, AuditRead, 0)
		ev.Outcome, ev.Detail = audit.OutcomeNotFound, fmt.Sprintf("referral %d", id)
		s.Audit.Record(ctx, ev)
		return nil, nil, false, false, care.Errorf(care.ENOTFOUND, "referral.not_found")
	}
	if err != nil {
		return nil, nil, false, false, err
	}
	t, err := s.Orgs.Tree(ctx)
	if err != nil {
		return nil, nil, false, false, err
	}
	snd, rcv := party(t, a, r)
	if !snd && !rcv {
		ev := audit.New(ctx, a, AuditRead, r.ResidentID)
		ev.CountyCode, ev.Outcome, ev.Detail = r.County, audit.OutcomeDenied, fmt.Sprintf("referral %d: not a party", id)
		s.Audit.Record(ctx, ev)
		return nil, nil, false, false, care.Errorf(care.ENOTFOUND, "referral.not_found")
	}
	return r, t, snd, rcv, nil
}

// Detail is a referral with its history, tasks and related referrals.
type Detail struct {
	Referral *Referral
	Events   []Event
	Tasks    []Task
	Sender   bool     // the actor is on the sending side
	Receiver bool     // the actor is on the receiving side
	Actions  []Action // what the actor may do now
	Related  []Referral
}

// Get returns a referral the actor is a party to, with its history. The
// read is audited. Errors: ENOTFOUND (missing, or not a party).
func (s *Service) Get(ctx context.Context, a care.Actor, id int64) (*Detail, error) {
	r, _, snd, rcv, err := s.load(ctx, a, id)
	if err != nil {
		return nil, err
	}
	d := &Detail{Referral: r, Sender: snd, Receiver: rcv}
	if d.Events, err = s.Repo.ReferralEvents(ctx, id); err != nil {
		return nil, err
	}
	if d.Tasks, err = s.Repo.ReferralTasks(ctx, []int64{id}); err != nil {
		return nil, err
	}
	for _, act := range Allowed(r.Direction, r.Urgency, r.Status) {
		if (SideOf(act) == Sender && snd) || (SideOf(act) == Receiver && rcv) {
			d.Actions = append(d.Actions, act)
		}
	}
	// The chain end to end: what it continues, what continues it, its down-referral.
	rel, err := s.Repo.Referrals(ctx, Filter{County: r.County, ResidentID: r.ResidentID, Limit: 50})
	if err != nil {
		return nil, err
	}
	for _, x := range rel {
		if x.ID != r.ID && (x.ID == r.RedirectedFrom || x.RedirectedFrom == r.ID || x.ID == r.UpReferralID || x.UpReferralID == r.ID) {
			d.Related = append(d.Related, x)
		}
	}
	ev := audit.New(ctx, a, AuditRead, r.ResidentID)
	ev.CountyCode, ev.Detail = r.County, fmt.Sprintf("referral %d", r.ID)
	s.Audit.Record(ctx, ev)
	return d, nil
}

// Step is what a person enters when acting on a referral.
type Step struct {
	Note        string    // a reason (required to redirect or cancel)
	Appointment time.Time // accept: the appointment given
	Bed         string    // accept: ward and bed given
	ToInst      int64     // redirect: the new receiving institution
	ToDept      int64     // redirect: the new department
}

// Act takes act on a referral: the receiving side accepts (with an
// appointment or a bed), redirects (with a reason; a new referral to the
// new receiver continues this one), confirms arrival, completes or
// acknowledges; the sending side cancels (with a reason). Each transition
// is timestamped, audited, and notified to the sending clinician through
// the outbox; a closing one ends the receiver's care link after the grace
// period. It returns the referral (for a redirect: the new one). Errors:
// ENOTFOUND, EFORBIDDEN (the other side's action), ECONFLICT (not
// possible in the current status, or changed meanwhile), EINVALID.
func (s *Service) Act(ctx context.Context, a care.Actor, id int64, act Action, st Step) (*Referral, error) {
	r, t, snd, rcv, err := s.load(ctx, a, id)
	if err != nil {
		return nil, err
	}
	if (SideOf(act) == Sender && !snd) || (SideOf(act) == Receiver && !rcv) {
		return nil, care.Errorf(care.EFORBIDDEN, "referral.wrong_side")
	}
	to, err := Next(r.Direction, r.Urgency, r.Status, act)
	if err != nil {
		return nil, err
	}
	now := s.now()
	st.Note, st.Bed = strings.TrimSpace(st.Note), strings.TrimSpace(st.Bed)
	var fs []care.FieldError
	fs = tooLong(fs, "note", st.Note, MaxNote)
	fs = tooLong(fs, "bed", st.Bed, 50)
	switch act {
	case ActAccept:
		if st.Appointment.IsZero() && st.Bed == "" && r.Urgency == Routine {
			fs = append(fs, care.FieldError{Field: "appointment", Key: "referral.accept.slot"})
		}
		if !st.Appointment.IsZero() && (st.Appointment.Before(now.Add(-24*time.Hour)) || st.Appointment.After(now.AddDate(0, 0, 90))) {
			fs = append(fs, care.FieldError{Field: "appointment", Key: "referral.requested_at.range", Args: []any{90}})
		}
	case ActRedirect, ActCancel:
		if st.Note == "" {
			fs = append(fs, care.FieldError{Field: "note", Key: "referral.reason_required"})
		}
	}
	var depts []org.Department
	if act == ActRedirect {
		if st.ToDept != 0 && t.Get(st.ToInst) != nil {
			if depts, err = s.Staff.Departments(ctx, st.ToInst); err != nil {
				return nil, err
			}
		}
		fs = append(fs, CheckTarget(t, r.FromInst, st.ToInst, depts, st.ToDept)...)
		if st.ToInst == r.ToInst && st.ToDept == r.ToDept {
			fs = append(fs, care.FieldError{Field: "to_department", Key: "referral.redirect.same"})
		}
	}
	if err := care.Invalid(fs); err != nil {
		return nil, err
	}
	next := *r
	next.Status, next.Note, next.UpdatedAt = to, st.Note, now
	switch to {
	case StatusAccepted:
		next.AcceptedAt, next.Appointment, next.Bed = now, st.Appointment, st.Bed
	case StatusArrived:
		next.ArrivedAt = now
	}
	if to.Closed() {
		next.ClosedAt = now
	}
	tr := &Transition{Referral: &next, Event: Event{County: r.County, ReferralID: r.ID, Action: string(act), From: r.Status, To: to, Note: st.Note,
		By: a.AccountID, ByInst: a.InstitutionID, At: now}}
	if to.Closed() && r.CareLinkID != 0 {
		tr.ExpireLink = now.Add(s.Config.LinkGrace)
	}
	tr.Messages = s.messages(ctx, t, &next, act)
	ev := audit.New(ctx, a, AuditTransition, r.ResidentID)
	ev.CountyCode, ev.Detail = r.County, fmt.Sprintf("referral %d %s: %s → %s", r.ID, act, r.Status, to)
	if act != ActRedirect {
		if err := s.Repo.SaveTransition(ctx, tr, ev); err != nil {
			return nil, err
		}
		return &next, nil
	}
	// A redirect closes this referral and sends a new one to the new receiver.
	dst := t.Get(st.ToInst)
	child := *r
	child.ID, child.Status, child.ToInst, child.ToDept, child.RedirectedFrom = 0, StatusSent, st.ToInst, st.ToDept, r.ID
	child.OutOfCounty = dst.Kind == org.KindPartner || dst.CountyCode != r.County
	child.IdempotencyKey, child.BodyHash = fmt.Sprintf("redirect:%d", r.ID), ""
	child.Note, child.SentAt, child.UpdatedAt, child.AcceptedAt, child.Appointment, child.Bed = st.Note, now, now, time.Time{}, time.Time{}, ""
	child.CareLinkID, child.Version = 0, 1
	link := &access.CareLink{CountyCode: r.County, ResidentID: r.ResidentID, InstitutionID: st.ToInst, Kind: access.LinkReferral, Reason: "referral", CreatedBy: a.AccountID}
	stored, _, err := s.Repo.CreateReferral(ctx, &child, link, nil, tr, ev)
	return stored, err
}

// messages are the SMS to the sending clinician about a transition (none
// when they have no phone on file).
func (s *Service) messages(ctx context.Context, t *org.Tree, r *Referral, act Action) []notify.Message {
	if r.SentByPract == 0 || act == ActCancel {
		return nil
	}
	p, err := s.Staff.Practitioner(ctx, r.SentByPract)
	if err != nil || p.Phone == "" {
		return nil
	}
	inst := ""
	if in := t.Get(r.ToInst); in != nil {
		inst = in.Name
	}
	var body string
	switch act {
	case ActAccept:
		body = fmt.Sprintf("【县域医共体】您的转诊单 %d 已被%s接收", r.ID, inst)
		if !r.Appointment.IsZero() {
			body += "，预约 " + r.Appointment.In(care.Shanghai).Format("01-02 15:04")
		}
		if r.Bed != "" {
			body += "，床位 " + r.Bed
		}
	case ActRedirect:
		body = fmt.Sprintf("【县域医共体】您的转诊单 %d 已由%s改转，原因：%s", r.ID, inst, r.Note)
	case ActArrive:
		body = fmt.Sprintf("【县域医共体】转诊单 %d 的患者已到达%s", r.ID, inst)
	case ActComplete:
		body = fmt.Sprintf("【县域医共体】转诊单 %d 的患者已在%s完成诊治", r.ID, inst)
	case ActAcknowledge:
		body = fmt.Sprintf("【县域医共体】下转单 %d 已由%s确认接收", r.ID, inst)
	}
	if body == "" {
		return nil
	}
	b := []rune(body)
	if len(b) > notify.MaxBody {
		body = string(b[:notify.MaxBody])
	}
	return []notify.Message{{County: r.County, Channel: notify.ChannelSMS, Recipient: p.Phone, Purpose: "referral." + string(act), Body: body,
		Practitioner: r.SentByPract, Params: map[string]string{"referral": fmt.Sprint(r.ID), "institution": inst}}}
}
