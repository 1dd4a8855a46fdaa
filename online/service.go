package online

import (
	"context"
	"countycare/icd10"
	"fmt"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"countycare/audit"
	"countycare/care"
	"countycare/consult"
	"countycare/org"
	"countycare/resident"
	"countycare/rx"
)

// Audit actions.
const (
	ActBook       = "online.book"
	ActRead       = "online.read"
	ActList       = "online.list"
	ActStart      = "online.start" // step-up passed, the doctor's session opens the visit
	ActMessage    = "online.message"
	ActChatRead   = "online.chat_read"
	ActEnd        = "online.end"
	ActRedirect   = "online.redirect"
	ActPrescribe  = "online.prescribe"
	ActPurge      = "online.purge"
	ActFirstVisit = "online.first_visit_refused"
	ActStepUp     = "auth.step_up" // as account.ActStepUp: the doctor's password proved again
	ActConditions = "online.conditions"
	ActVideo      = "online.video" // joined or left the visit's video call
)

// Repository stores online visits and their chat. Writes carry their audit
// rows, saved in the same transaction.
type Repository interface {
	// PriorDiagnoses lists the resident's offline records that carry a
	// diagnosis: chronic registrations, discharge down-referrals, signed
	// consultation opinions and offline prescriptions.
	PriorDiagnoses(ctx context.Context, county string, residentID int64) ([]PriorDocument, error)
	// CreateOnlineVisit stores a new visit and sets its ID and version.
	CreateOnlineVisit(ctx context.Context, v *Visit, ev audit.Event) error
	// OnlineVisit returns one visit; ENOTFOUND if none.
	OnlineVisit(ctx context.Context, id int64) (*Visit, error)
	// UpdateOnlineVisit saves the visit's status, doctor, session and end if it
	// is still at v.Version (ECONFLICT otherwise) and increments it.
	UpdateOnlineVisit(ctx context.Context, v *Visit, evs ...audit.Event) error
	// ResidentOnlineVisits lists a resident's visits, newest first.
	ResidentOnlineVisits(ctx context.Context, county string, residentID int64, limit int) ([]Visit, error)
	// ClinicOnlineVisits lists the open visits of residents managed by
	// clinics, oldest first.
	ClinicOnlineVisits(ctx context.Context, county string, clinics []int64, limit int) ([]Visit, error)
	// AddOnlineMessage stores a chat message and its image (once per content).
	AddOnlineMessage(ctx context.Context, m *Message, img *Image, ev audit.Event) error
	// OnlineMessages lists a visit's chat, oldest first.
	OnlineMessages(ctx context.Context, county string, visitID int64) ([]Message, error)
	// OnlineImage returns an image sent in the visit's chat; ENOTFOUND
	// if no message of the visit carries it.
	OnlineImage(ctx context.Context, county string, visitID int64, sha string) (*Image, error)
	// PurgeOnlineMessages deletes chat written before `before` and returns how
	// many messages went.
	PurgeOnlineMessages(ctx context.Context, before time.Time, ev audit.Event) (int, error)
	// SaveVisitPrescription stores a prescription signed at the visit and
	// links it to the visit, in one transaction.
	SaveVisitPrescription(ctx context.Context, visitID int64, sg *rx.Signed, ev audit.Event) error
	// VisitPrescriptions lists the IDs of the visit's prescriptions.
	VisitPrescriptions(ctx context.Context, county string, visitID int64) ([]int64, error)
}

// Reauthenticator proves a signed-in person's password again
// (account.Service).
type Reauthenticator interface {
	Reauthenticate(ctx context.Context, a care.Actor, password, purpose string) error
}

// Staff looks up practitioners.
type Staff interface {
	Practitioner(ctx context.Context, id int64) (*org.Practitioner, error)
}

// Service books, runs and ends online follow-up visits.
type Service struct {
	Repo      Repository
	Residents *resident.Service
	Staff     Staff
	Accounts  Reauthenticator
	Rx        *rx.Service
	Audit     audit.Recorder
	Now       func() time.Time
	// Live tells whether a participant has a browser connected (web.Broker);
	// nil keeps everyone who joined a call in it until they leave.
	Live interface{ Online(key int64) bool }

	callsMu sync.Mutex
	calls   *consult.Calls // video calls in progress (in memory, made on first use)
}

func doctor(r care.Role) bool { return r == care.RoleVillageDoctor || r == care.RoleTownshipDoctor }

// BookInput is a booking: the ICD-10 code of the condition followed up, the
// resident's complaint, and for a child under 6 the guardian present.
type BookInput struct {
	Diagnosis string
	Complaint string
	Guardian  Guardian
}

// Book books an online follow-up visit for a resident: the resident
// themself, or their village or township doctor on their behalf. The
// condition must have been diagnosed offline (SrcFollowUpOnly): the
// service looks for a prior offline document with the same ICD-10
// category and records it; without one the booking is refused as a first
// visit (EINVALID online.first_visit, audited). A child under 6 needs a
// guardian (SrcChild). ENOTFOUND for a resident out of scope.
func (s *Service) Book(ctx context.Context, a care.Actor, residentID int64, in BookInput) (*Visit, error) {
	if a.Role != care.RoleResident && !doctor(a.Role) {
		return nil, care.Errorf(care.EFORBIDDEN, "error.forbidden")
	}
	res, err := s.Residents.Get(ctx, a, residentID)
	if err != nil {
		return nil, err
	}
	today := care.Today(s.Now())
	var fs []care.FieldError
	code := strings.ToUpper(strings.TrimSpace(in.Diagnosis))
	if !icd10.Valid(code) {
		fs = append(fs, care.FieldError{Field: "diagnosis", Key: "rx.icd10", Args: []any{in.Diagnosis}})
	}
	complaint := strings.TrimSpace(in.Complaint)
	if utf8.RuneCountInString(complaint) > 500 {
		fs = append(fs, care.FieldError{Field: "complaint", Key: "field.too_long", Args: []any{500}})
	}
	g := in.Guardian
	switch {
	case NeedsGuardian(res.BirthDate, today) && strings.TrimSpace(g.Name) == "" && strings.TrimSpace(g.IDNumber) == "":
		fs = append(fs, care.FieldError{Field: "guardian_name", Key: "online.guardian_required", Args: []any{GuardianAgeYears}})
	case strings.TrimSpace(g.Name) != "" || strings.TrimSpace(g.IDNumber) != "":
		fs = append(fs, ValidateGuardian(&g, today)...)
	}
	if err := care.Invalid(fs); err != nil {
		return nil, err
	}
	docs, err := s.Repo.PriorDiagnoses(ctx, res.CountyCode, res.ID)
	if err != nil {
		return nil, err
	}
	prior := FindPriorDiagnosis(code, docs)
	if prior == nil {
		ev := audit.New(ctx, a, ActFirstVisit, res.ID)
		ev.CountyCode, ev.Outcome, ev.Detail = res.CountyCode, audit.OutcomeInvalid, "no offline diagnosis for "+Category(code)
		s.Audit.Record(ctx, ev)
		return nil, &care.Error{Code: care.EINVALID, Key: "online.first_visit", Args: []any{code},
			Fields: []care.FieldError{{Field: "diagnosis", Key: "online.first_visit", Args: []any{code}}}}
	}
	priorCode := prior.Codes[0]
	for _, c := range prior.Codes {
		if Category(c) == Category(code) {
			priorCode = c
			break
		}
	}
	v := &Visit{CountyCode: res.CountyCode, ResidentID: res.ID, ClinicID: res.VillageID, BookedBy: a.AccountID, BookedByRole: a.Role,
		Diagnosis: code, Complaint: complaint, PriorKind: prior.Kind, PriorID: prior.ID, PriorCode: priorCode, PriorOn: prior.On,
		Guardian: g, Status: StatusBooked, CreatedAt: s.Now().UTC()}
	ev := audit.New(ctx, a, ActBook, res.ID)
	ev.CountyCode, ev.Detail = res.CountyCode, fmt.Sprintf("%s prior=%s:%d", code, prior.Kind, prior.ID)
	if err := s.Repo.CreateOnlineVisit(ctx, v, ev); err != nil {
		return nil, err
	}
	return v, nil
}

// Conditions lists the resident's offline documents with a diagnosis — the
// conditions an online follow-up may be booked for — to the resident or
// their village or township doctor. Audited; ENOTFOUND out of scope.
func (s *Service) Conditions(ctx context.Context, a care.Actor, residentID int64) ([]PriorDocument, error) {
	if a.Role != care.RoleResident && !doctor(a.Role) {
		return nil, care.Errorf(care.EFORBIDDEN, "error.forbidden")
	}
	res, err := s.Residents.Get(ctx, a, residentID)
	if err != nil {
		return nil, err
	}
	docs, err := s.Repo.PriorDiagnoses(ctx, res.CountyCode, res.ID)
	if err != nil {
		return nil, err
	}
	ev := audit.New(ctx, a, ActConditions, res.ID)
	ev.CountyCode, ev.Detail = res.CountyCode, fmt.Sprintf("n=%d", len(docs))
	s.Audit.Record(ctx, ev)
	return docs, nil
}

// load returns a visit the actor may see — the resident's own, or one of
// a resident in a doctor's scope — and audits the read as action.
// ENOTFOUND otherwise (audited as denied).
func (s *Service) load(ctx context.Context, a care.Actor, id int64, action string) (*Visit, error) {
	v, err := s.Repo.OnlineVisit(ctx, id)
	if err != nil {
		return nil, err
	}
	ok := false
	switch {
	case a.Role == care.RoleResident:
		ok = a.ResidentID != 0 && a.ResidentID == v.ResidentID
	case doctor(a.Role):
		_, err := s.Residents.Get(ctx, a, v.ResidentID)
		ok = err == nil
	}
	ev := audit.New(ctx, a, action, v.ResidentID)
	ev.CountyCode, ev.Detail = v.CountyCode, fmt.Sprintf("visit %d", v.ID)
	if !ok {
		ev.Outcome = audit.OutcomeDenied
		s.Audit.Record(ctx, ev)
		return nil, care.Errorf(care.ENOTFOUND, "error.not_found")
	}
	if action != "" {
		s.Audit.Record(ctx, ev)
	}
	return v, nil
}

// Get returns a visit the actor may see, with the IDs of its
// prescriptions. The read is audited; ENOTFOUND otherwise.
func (s *Service) Get(ctx context.Context, a care.Actor, id int64) (*Visit, []int64, error) {
	v, err := s.load(ctx, a, id, ActRead)
	if err != nil {
		return nil, nil, err
	}
	ids, err := s.Repo.VisitPrescriptions(ctx, v.CountyCode, v.ID)
	return v, ids, err
}

// List returns the actor's visits: a resident's own (newest first), or the
// open visits of the residents a village or township doctor manages
// (oldest first). Audited.
func (s *Service) List(ctx context.Context, a care.Actor) ([]Visit, error) {
	var list []Visit
	var err error
	switch {
	case a.Role == care.RoleResident && a.ResidentID != 0:
		res, gerr := s.Residents.Get(ctx, a, a.ResidentID)
		if gerr != nil {
			return nil, gerr
		}
		list, err = s.Repo.ResidentOnlineVisits(ctx, res.CountyCode, res.ID, 100)
	case doctor(a.Role):
		clinics, cerr := s.Residents.ManagedClinics(ctx, a)
		if cerr != nil {
			return nil, cerr
		}
		list, err = s.Repo.ClinicOnlineVisits(ctx, a.CountyCode, clinics, 200)
	default:
		return nil, care.Errorf(care.EFORBIDDEN, "error.forbidden")
	}
	if err != nil {
		return nil, err
	}
	ev := audit.New(ctx, a, ActList, a.ResidentID)
	ev.Detail = fmt.Sprintf("n=%d", len(list))
	s.Audit.Record(ctx, ev)
	return list, nil
}

// ForResident lists a resident's online visits, newest first (the last
// 100), to the resident themself or to a village or township doctor with
// the resident in scope (the FHIR Encounter search). The resident read and
// the listing are audited. Errors: ENOTFOUND (out of scope), EFORBIDDEN.
func (s *Service) ForResident(ctx context.Context, a care.Actor, residentID int64) ([]Visit, error) {
	if a.Role != care.RoleResident && !doctor(a.Role) {
		return nil, care.Errorf(care.EFORBIDDEN, "error.forbidden")
	}
	res, err := s.Residents.Get(ctx, a, residentID)
	if err != nil {
		return nil, err
	}
	list, err := s.Repo.ResidentOnlineVisits(ctx, res.CountyCode, res.ID, 100)
	if err != nil {
		return nil, err
	}
	ev := audit.New(ctx, a, ActList, res.ID)
	ev.CountyCode, ev.Detail = res.CountyCode, fmt.Sprintf("resident's visits n=%d", len(list))
	s.Audit.Record(ctx, ev)
	return list, nil
}

// HoldFor is how long a doctor's step-up holds a visit against another
// doctor's: as long as an idle sign-in session lasts (account.Config
// IdleTimeout, 30 minutes). After it, another doctor of the resident's
// clinic may take the visit over, with a step-up of their own.
const HoldFor = 30 * time.Minute

// Start opens the doctor's session of a visit: the doctor re-enters their
// password (step-up, SrcRealName), must have ≥ 3 years of independent
// practice (SrcPractice), and the visit then belongs to this sign-in
// session: chat, prescriptions and the end need the same session, so the
// rights expire with it (sign out, expiry, another sign-in: start again).
// Errors: EUNAUTHORIZED (wrong password), EFORBIDDEN (role, practice),
// ECONFLICT (closed, or held by another doctor for less than HoldFor),
// ENOTFOUND.
func (s *Service) Start(ctx context.Context, a care.Actor, id int64, password string) (*Visit, error) {
	if !doctor(a.Role) || a.SessionID == 0 {
		return nil, care.Errorf(care.EFORBIDDEN, "error.forbidden")
	}
	v, err := s.load(ctx, a, id, "")
	if err != nil {
		return nil, err
	}
	if !v.Status.Open() {
		return nil, care.Errorf(care.ECONFLICT, "online.closed")
	}
	if v.Status == StatusInSession && v.DoctorAccount != a.AccountID && s.Now().Sub(v.SteppedUpAt) < HoldFor {
		return nil, care.Errorf(care.ECONFLICT, "online.taken")
	}
	p, err := s.Staff.Practitioner(ctx, a.PractitionerID)
	if err != nil {
		return nil, err
	}
	today := care.Today(s.Now())
	if p.YearsOfPractice(today) < MinPracticeYears {
		return nil, care.Errorf(care.EFORBIDDEN, "online.practice_years", MinPracticeYears)
	}
	if err := s.Accounts.Reauthenticate(ctx, a, password, fmt.Sprintf("online visit %d", v.ID)); err != nil {
		return nil, err
	}
	now := s.Now().UTC()
	v.Status, v.DoctorAccount, v.DoctorID, v.DoctorName, v.DoctorSession, v.SteppedUpAt = StatusInSession, a.AccountID, a.PractitionerID, p.Name, a.SessionID, now
	up := audit.New(ctx, a, ActStepUp, v.ResidentID)
	up.CountyCode, up.Detail = v.CountyCode, fmt.Sprintf("online visit %d session %d", v.ID, a.SessionID)
	ev := audit.New(ctx, a, ActStart, v.ResidentID)
	ev.CountyCode, ev.Detail = v.CountyCode, fmt.Sprintf("visit %d", v.ID)
	if err := s.Repo.UpdateOnlineVisit(ctx, v, up, ev); err != nil {
		return nil, err
	}
	return v, nil
}

// inSession loads a visit the doctor may act on now: open, and opened by
// this doctor in this sign-in session. EFORBIDDEN online.step_up asks
// the doctor to start (re-authenticate) again.
func (s *Service) inSession(ctx context.Context, a care.Actor, id int64) (*Visit, error) {
	v, err := s.load(ctx, a, id, "")
	if err != nil {
		return nil, err
	}
	if !v.Status.Open() {
		return nil, care.Errorf(care.ECONFLICT, "online.closed")
	}
	if !StepUpValid(v, a.AccountID, a.SessionID) {
		return nil, care.Errorf(care.EFORBIDDEN, "online.step_up")
	}
	return v, nil
}

// Send adds a chat message (text, an image, or both) from the resident or
// from the doctor in session. EINVALID for an empty or too long message or
// an image of another type or over MaxImageBytes; ECONFLICT once closed.
func (s *Service) Send(ctx context.Context, a care.Actor, id int64, text string, img *Image) (*Message, error) {
	var v *Visit
	var err error
	from := FromResident
	switch {
	case a.Role == care.RoleResident:
		if v, err = s.load(ctx, a, id, ""); err == nil && !v.Status.Open() {
			err = care.Errorf(care.ECONFLICT, "online.closed")
		}
	case doctor(a.Role):
		from = FromDoctor
		v, err = s.inSession(ctx, a, id)
	default:
		err = care.Errorf(care.EFORBIDDEN, "error.forbidden")
	}
	if err != nil {
		return nil, err
	}
	text = strings.TrimSpace(text)
	var fs []care.FieldError
	if img != nil && len(img.Data) == 0 {
		img = nil
	}
	if text == "" && img == nil {
		fs = append(fs, care.FieldError{Field: "text", Key: "online.empty"})
	}
	if utf8.RuneCountInString(text) > MaxText {
		fs = append(fs, care.FieldError{Field: "text", Key: "field.too_long", Args: []any{MaxText}})
	}
	if img != nil && !ImageTypes[img.Type] {
		fs = append(fs, care.FieldError{Field: "image", Key: "online.image_type"})
	}
	if img != nil && len(img.Data) > MaxImageBytes {
		fs = append(fs, care.FieldError{Field: "image", Key: "online.image_size", Args: []any{MaxImageBytes >> 20}})
	}
	if err := care.Invalid(fs); err != nil {
		return nil, err
	}
	m := &Message{VisitID: v.ID, CountyCode: v.CountyCode, AccountID: a.AccountID, From: from, Author: a.Name, Text: text, At: s.Now().UTC()}
	if img != nil {
		m.ImageType = img.Type
	}
	ev := audit.New(ctx, a, ActMessage, v.ResidentID)
	ev.CountyCode, ev.Detail = v.CountyCode, fmt.Sprintf("visit %d image=%t", v.ID, img != nil)
	if err := s.Repo.AddOnlineMessage(ctx, m, img, ev); err != nil {
		return nil, err
	}
	return m, nil
}

// Messages returns a visit's chat for the resident or a doctor who may see
// the visit. Audited.
func (s *Service) Messages(ctx context.Context, a care.Actor, id int64) ([]Message, error) {
	v, err := s.load(ctx, a, id, ActChatRead)
	if err != nil {
		return nil, err
	}
	return s.Repo.OnlineMessages(ctx, v.CountyCode, v.ID)
}

// Image returns an image of the visit's chat. Audited as a chat read.
func (s *Service) Image(ctx context.Context, a care.Actor, id int64, sha string) (*Image, error) {
	v, err := s.load(ctx, a, id, ActChatRead)
	if err != nil {
		return nil, err
	}
	return s.Repo.OnlineImage(ctx, v.CountyCode, v.ID, sha)
}

// End closes the visit. With redirect the doctor stops the online visit
// and sends the resident to an offline visit — a first visit after all, or
// the condition changed (SrcRedirect) — and must give the reason, which
// the resident sees. Doctor in session only.
func (s *Service) End(ctx context.Context, a care.Actor, id int64, redirect bool, reason string) (*Visit, error) {
	if !doctor(a.Role) {
		return nil, care.Errorf(care.EFORBIDDEN, "error.forbidden")
	}
	reason = strings.TrimSpace(reason)
	var fs []care.FieldError
	if redirect && reason == "" {
		fs = append(fs, care.FieldError{Field: "reason", Key: "online.reason_required"})
	}
	if utf8.RuneCountInString(reason) > 500 {
		fs = append(fs, care.FieldError{Field: "reason", Key: "field.too_long", Args: []any{500}})
	}
	if err := care.Invalid(fs); err != nil {
		return nil, err
	}
	v, err := s.inSession(ctx, a, id)
	if err != nil {
		return nil, err
	}
	act := ActEnd
	v.Status, v.EndReason, v.EndedAt = StatusEnded, reason, s.Now().UTC()
	if redirect {
		v.Status, act = StatusRedirected, ActRedirect
	}
	ev := audit.New(ctx, a, act, v.ResidentID)
	ev.CountyCode, ev.Detail = v.CountyCode, fmt.Sprintf("visit %d", v.ID)
	if err := s.Repo.UpdateOnlineVisit(ctx, v, ev); err != nil {
		return nil, err
	}
	return v, nil
}

// Prescribe signs an e-prescription at the visit through the rx engine on
// the online channel: Online is set (no narcotics or psychotropics,
// rx.AllowedOnline), the guardian recorded on the visit counts as present
// for a child under 6 (rx.OnlineChildNeedsGuardian), and every diagnosis
// must be the condition followed up (the same ICD-10 category: a new
// diagnosis is a first visit, SrcFollowUpOnly — EINVALID
// online.rx_diagnosis). The prescription waits for a pharmacist like every
// online one (rx.Service.Sign). Doctor in session only.
func (s *Service) Prescribe(ctx context.Context, a care.Actor, id int64, p *rx.Prescription) (*rx.Signed, []rx.Finding, error) {
	v, err := s.draft(ctx, a, id, p)
	if err != nil {
		return nil, nil, err
	}
	sign := *s.Rx
	sign.Repo = visitRx{Repository: s.Rx.Repo, repo: s.Repo, visit: v.ID}
	return sign.Sign(ctx, a, v.ResidentID, p)
}

// Preview reviews a draft prescription of the visit as Prescribe would,
// storing nothing: the doctor sees the findings before signing.
func (s *Service) Preview(ctx context.Context, a care.Actor, id int64, p *rx.Prescription) ([]rx.Finding, error) {
	v, err := s.draft(ctx, a, id, p)
	if err != nil {
		return nil, err
	}
	return s.Rx.Preview(ctx, a, v.ResidentID, p)
}

// draft checks that the doctor is in session and the draft's diagnoses
// are the visit's condition, and marks it online.
func (s *Service) draft(ctx context.Context, a care.Actor, id int64, p *rx.Prescription) (*Visit, error) {
	if !doctor(a.Role) {
		return nil, care.Errorf(care.EFORBIDDEN, "error.forbidden")
	}
	v, err := s.inSession(ctx, a, id)
	if err != nil {
		return nil, err
	}
	if len(p.Diagnoses) == 0 {
		p.Diagnoses = []string{v.Diagnosis}
	}
	var fs []care.FieldError
	for i, d := range p.Diagnoses {
		if Category(d) != Category(v.Diagnosis) {
			fs = append(fs, care.FieldError{Field: fmt.Sprintf("diagnoses[%d]", i), Key: "online.rx_diagnosis", Args: []any{d, v.Diagnosis}})
		}
	}
	for i, l := range p.Lines {
		if l.Diagnosis != "" && Category(l.Diagnosis) != Category(v.Diagnosis) {
			fs = append(fs, care.FieldError{Field: fmt.Sprintf("lines[%d].diagnosis", i), Key: "online.rx_diagnosis", Args: []any{l.Diagnosis, v.Diagnosis}})
		}
	}
	if err := care.Invalid(fs); err != nil {
		return nil, err
	}
	p.Online = true
	p.GuardianPresent = v.Guardian.Name != "" && v.Guardian.IDNumber != ""
	return v, nil
}

// visitRx stores a prescription signed at a visit together with its link
// to the visit.
type visitRx struct {
	rx.Repository
	repo  Repository
	visit int64
}

func (r visitRx) SavePrescription(ctx context.Context, sg *rx.Signed, ev audit.Event) error {
	ev.Detail += fmt.Sprintf(" online visit %d", r.visit)
	return r.repo.SaveVisitPrescription(ctx, r.visit, sg, ev)
}

// Purge deletes chat older than `before`, for administrators. It refuses
// anything younger than the 3 years the rules require (SrcRetention):
// EINVALID online.retention. The visits and prescriptions stay (they are
// the medical record, ≥ 15 years). Audited.
func (s *Service) Purge(ctx context.Context, a care.Actor, before time.Time) (int, error) {
	if a.Role != care.RoleAdmin {
		return 0, care.Errorf(care.EFORBIDDEN, "error.forbidden")
	}
	if before.IsZero() || !PurgeAllowed(before, s.Now()) {
		return 0, care.Invalid([]care.FieldError{{Field: "before", Key: "online.retention", Args: []any{3}}})
	}
	ev := audit.New(ctx, a, ActPurge, 0)
	ev.Detail = "chat before " + before.UTC().Format(time.RFC3339)
	return s.Repo.PurgeOnlineMessages(ctx, before, ev)
}

// CallSize is the most participants of a visit's video call: the resident
// (with a guardian on the same screen) and the doctor.
const CallSize = 2

// LiveKey is the key of the actor's live event stream and video-call
// participant ID: a practitioner's ID for staff, the negated account ID
// for a resident (residents have no practitioner ID; the signs keep the
// two apart).
func LiveKey(a care.Actor) int64 {
	if a.Role == care.RoleResident {
		return -a.AccountID
	}
	return a.PractitionerID
}

func (s *Service) rooms() *consult.Calls {
	s.callsMu.Lock()
	defer s.callsMu.Unlock()
	if s.calls == nil {
		s.calls = consult.NewCalls()
	}
	return s.calls
}

// Signal relays one signalling message of the visit's optional video call,
// reusing the remote consultation's call registry and signals
// (consult.Calls, consult.Signal): the resident and the doctor in session
// only, at most CallSize. It returns the live keys to deliver the message
// to and, on a join, those already in the call. Joining and leaving are
// audited (the call itself is not recorded). EFORBIDDEN online.step_up for
// a doctor not in session, ECONFLICT once the visit has closed (leaving
// excepted), consult's errors for bad signals.
func (s *Service) Signal(ctx context.Context, a care.Actor, id int64, sig consult.Signal) ([]int64, []consult.Participant, error) {
	if err := consult.CheckSignal(sig); err != nil {
		return nil, nil, err
	}
	var v *Visit
	var err error
	switch {
	case a.Role == care.RoleResident:
		v, err = s.load(ctx, a, id, "")
	case doctor(a.Role):
		if v, err = s.load(ctx, a, id, ""); err == nil && v.Status.Open() && !StepUpValid(v, a.AccountID, a.SessionID) {
			err = care.Errorf(care.EFORBIDDEN, "online.step_up")
		}
	default:
		err = care.Errorf(care.EFORBIDDEN, "error.forbidden")
	}
	if err != nil {
		return nil, nil, err
	}
	if !v.Status.Open() && sig.Type != consult.SigLeave {
		return nil, nil, care.Errorf(care.ECONFLICT, "online.closed")
	}
	var alive func(int64) bool
	if s.Live != nil {
		alive = s.Live.Online
	}
	me := LiveKey(a)
	to, peers, joined, left, err := s.rooms().Relay(v.ID, consult.Participant{ID: me, Name: a.Name}, sig, CallSize, alive)
	if err != nil {
		return nil, nil, err
	}
	if joined || left {
		ev := audit.New(ctx, a, ActVideo, v.ResidentID)
		ev.CountyCode, ev.Detail = v.CountyCode, fmt.Sprintf("visit %d: video %s", v.ID, sig.Type)
		s.Audit.Record(ctx, ev)
	}
	return to, peers, nil
}
