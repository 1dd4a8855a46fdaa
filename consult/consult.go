// Package consult is remote consultation (远程会诊): a village or township
// doctor asks, a county specialist answers within a guaranteed time.
// The rules follow the 2018 telemedicine service specification
// (policy-rules.md §4): written informed consent (a guardian when the
// patient cannot give it); the invitation states reason, purpose, case
// summary, required specialty and title; the invited party accepts or
// declines with a reason and assigns a doctor with ≥ 3 years of
// independent practice; the invited doctor signs an opinion; the inviting
// doctor decides; both are filed in the record.
//
// The response guarantee is a durable deadline stored with the case: a
// Scheduler escalates a case nobody accepted in time to the next doctor on
// the duty roster, then to the department head, each step recorded and
// notified. This file holds the pure parts: types, validation and the
// state machine.
package consult

import (
	"countycare/icd10"
	"strings"
	"time"
	"unicode/utf8"

	"countycare/care"
	"countycare/org"
)

// Kind is the type of consultation.
type Kind string

// Kinds.
const (
	OneToOne Kind = "one_to_one" // 一对一会诊
	MDT      Kind = "mdt"        // 多学科会诊
	Rehab    Kind = "rehab"      // 远程康复指导
)

// Urgency decides the response deadline (Config.ResponseMinutes).
type Urgency string

// Urgencies.
const (
	Routine   Urgency = "routine"
	Urgent    Urgency = "urgent"
	Emergency Urgency = "emergency"
)

// Status is where a case is.
type Status string

// Statuses. requested → accepted → answered → closed; requested → declined
// (by the last doctor on the chain) ; requested/accepted → cancelled by the inviter.
const (
	StatusRequested Status = "requested" // waiting for the invited doctor to accept
	StatusAccepted  Status = "accepted"  // a doctor took it
	StatusAnswered  Status = "answered"  // the opinion is signed
	StatusClosed    Status = "closed"    // the inviting doctor recorded the decision
	StatusDeclined  Status = "declined"  // nobody on the chain could take it
	StatusCancelled Status = "cancelled" // withdrawn by the inviting side
)

// Open reports whether a case still needs someone.
func (s Status) Open() bool {
	return s == StatusRequested || s == StatusAccepted || s == StatusAnswered
}

// Consent is the patient's informed consent (知情同意).
type Consent struct {
	By     string // ConsentPatient or ConsentGuardian
	Name   string // who signed (the guardian's name when By is guardian)
	Method string // ConsentWritten, ConsentElectronic
	At     time.Time
}

// Consent values.
const (
	ConsentPatient    = "patient"
	ConsentGuardian   = "guardian"
	ConsentWritten    = "written"    // signed paper form, scanned
	ConsentElectronic = "electronic" // signed on the clinic's tablet or phone
)

// Consultation is one case.
type Consultation struct {
	ID              int64
	County          string
	ResidentID      int64
	Kind            Kind
	Urgency         Urgency
	Reason          string
	Purpose         string
	Summary         string
	Specialty       string
	MinTitle        org.Title
	Departments     []int64 // MDT: the departments invited (the first one leads)
	FromInstitution int64
	FromDoctor      int64 // practitioner
	FromAccount     int64
	ToInstitution   int64 // the hub (county hospital or partner)
	ToDepartment    int64
	AssignedTo      int64 // practitioner currently responsible
	Step            int   // escalation step: 0 the first doctor on duty, 1 the next …
	Status          Status
	Deadline        time.Time // accept or decline by then
	Consent         Consent
	IdempotencyKey  string
	DeclineReason   string
	Opinion         *Opinion
	Decision        string // DecisionAdvice, DecisionReferral, DecisionLocal
	DecisionNote    string
	RehabSessions   int // rehab: sessions planned
	CareLinkID      int64
	ExtraLinks      []int64 // MDT: care links of the other invited institutions (a partner hospital)
	Chain           []int64 // the doctors on duty when it was created, in escalation order
	Escalations     int     // deadlines missed
	CreatedAt       time.Time
	AcceptedAt      time.Time
	AnsweredAt      time.Time
	ClosedAt        time.Time
	Version         int
}

// Opinion is the invited doctor's signed opinion (会诊意见).
type Opinion struct {
	Assessment    string
	DiagnosisCode string // ICD-10
	DiagnosisText string
	Plan          string
	Refer         bool
	SignedBy      int64 // practitioner
	SignedAt      time.Time
	Hash          string // SHA-256 of the signed content (see OpinionHash)
}

// Decisions of the inviting doctor.
const (
	DecisionAdvice   = "advice"   // follow the advice locally
	DecisionReferral = "referral" // refer the patient up
	DecisionLocal    = "local"    // treated locally without change
)

// Event is one step of a case's timeline (created, assigned, escalated,
// accepted, declined, message, opinion, decision, cancelled).
type Event struct {
	ID             int64
	ConsultationID int64
	Kind           string
	Practitioner   int64 // who it concerns (the assignee, the signer…)
	Account        int64 // who did it (0 for the scheduler)
	Detail         string
	At             time.Time
}

// Event kinds.
const (
	EvCreated   = "created"
	EvAssigned  = "assigned"
	EvEscalated = "escalated"
	EvAccepted  = "accepted"
	EvDeclined  = "declined"
	EvPassed    = "passed" // declined by one doctor, passed to the next
	EvMessage   = "message"
	EvOpinion   = "opinion"
	EvDecision  = "decision"
	EvCancelled = "cancelled"
	EvNoRoster  = "no_roster" // nobody on duty: the head is asked
	EvVideoIn   = "video_joined"
	EvVideoOut  = "video_left"
)

// Message is one message of the case's thread.
type Message struct {
	ID             int64
	ConsultationID int64
	Account        int64
	Author         string
	Body           string
	Attachments    []Attachment
	At             time.Time
}

// Attachment is a file stored content-addressed (by SHA-256).
type Attachment struct {
	SHA256 string
	Name   string
	Type   string // MIME type found by sniffing
	Size   int64
}

// Config holds the numbers of the service ([U]: a county sets its own).
type Config struct {
	ResponseMinutes  map[Urgency]int // accept or decline within: 10 minutes (seeds), emergency 5
	MinPracticeYears int             // invited doctor: ≥ 3 years of independent practice (§4)
	GraceHours       int             // the hub keeps access to the record this long after the case closes
	MaxAttachment    int64           // bytes per file
	MaxAttachments   int             // files per message
	VideoRoom        int             // participants in a video call (mesh: ≤ 4; 0 means 4)
}

// DefaultConfig returns the defaults.
func DefaultConfig() Config {
	return Config{ResponseMinutes: map[Urgency]int{Routine: 10, Urgent: 10, Emergency: 5}, MinPracticeYears: 3, GraceHours: 72,
		MaxAttachment: 20 << 20, MaxAttachments: 5}
}

// Deadline is when a case assigned at t must be accepted or declined.
func (c Config) Deadline(u Urgency, t time.Time) time.Time {
	m := c.ResponseMinutes[u]
	if m <= 0 {
		m = 10
	}
	return t.Add(time.Duration(m) * time.Minute)
}

// Draft is what the inviting doctor submits.
type Draft struct {
	ResidentID    int64
	Kind          Kind
	Urgency       Urgency
	Reason        string
	Purpose       string
	Summary       string
	Specialty     string
	MinTitle      org.Title
	ToInstitution int64
	Departments   []int64 // MDT: extra departments
	RehabSessions int
	Consent       Consent
	Key           string // idempotency key
}

func tooLong(fs []care.FieldError, field, v string, n int) []care.FieldError {
	if utf8.RuneCountInString(v) > n {
		fs = append(fs, care.FieldError{Field: field, Key: "field.too_long", Args: []any{n}})
	}
	return fs
}

// Check validates a draft: consent is required (no consent, no request),
// reason, purpose and summary are required (§4), the kind and urgency known.
func (d *Draft) Check(now time.Time) []care.FieldError {
	var fs []care.FieldError
	d.Reason, d.Purpose, d.Summary = strings.TrimSpace(d.Reason), strings.TrimSpace(d.Purpose), strings.TrimSpace(d.Summary)
	if d.Kind != OneToOne && d.Kind != MDT && d.Kind != Rehab {
		fs = append(fs, care.FieldError{Field: "kind", Key: "consult.kind.invalid"})
	}
	if d.Urgency != Routine && d.Urgency != Urgent && d.Urgency != Emergency {
		fs = append(fs, care.FieldError{Field: "urgency", Key: "consult.urgency.invalid"})
	}
	for _, f := range []struct{ field, v string }{{"reason", d.Reason}, {"purpose", d.Purpose}, {"summary", d.Summary}, {"specialty", d.Specialty}} {
		if f.v == "" {
			fs = append(fs, care.FieldError{Field: f.field, Key: "field.required"})
		}
	}
	fs = tooLong(fs, "reason", d.Reason, 200)
	fs = tooLong(fs, "purpose", d.Purpose, 200)
	fs = tooLong(fs, "summary", d.Summary, 4000)
	if d.MinTitle != "" && org.TitleRank(d.MinTitle) == 0 {
		fs = append(fs, care.FieldError{Field: "min_title", Key: "consult.title.invalid"})
	}
	c := &d.Consent
	c.Name = strings.TrimSpace(c.Name)
	switch {
	case c.By != ConsentPatient && c.By != ConsentGuardian:
		fs = append(fs, care.FieldError{Field: "consent_by", Key: "consult.consent.required"})
	case c.Method != ConsentWritten && c.Method != ConsentElectronic:
		fs = append(fs, care.FieldError{Field: "consent_method", Key: "consult.consent.method"})
	case c.By == ConsentGuardian && c.Name == "":
		fs = append(fs, care.FieldError{Field: "consent_name", Key: "consult.consent.guardian_name"})
	case c.At.IsZero() || c.At.After(now.Add(5*time.Minute)) || c.At.Before(now.Add(-30*24*time.Hour)):
		fs = append(fs, care.FieldError{Field: "consent_at", Key: "consult.consent.time"})
	}
	fs = tooLong(fs, "consent_name", c.Name, 50)
	if d.Kind == Rehab && (d.RehabSessions < 1 || d.RehabSessions > 60) {
		fs = append(fs, care.FieldError{Field: "rehab_sessions", Key: "consult.rehab.sessions"})
	}
	if len(d.Key) > 100 {
		fs = append(fs, care.FieldError{Field: "key", Key: "field.too_long", Args: []any{100}})
	}
	return fs
}

// Transition checks that a case in status from may move by action; it
// returns the new status or a conflict naming the case's status.
func Transition(from Status, action string) (Status, error) {
	to, ok := map[[2]string]Status{
		{string(StatusRequested), "accept"}:   StatusAccepted,
		{string(StatusRequested), "decline"}:  StatusDeclined, // the last on the chain; others pass it on
		{string(StatusRequested), "escalate"}: StatusRequested,
		{string(StatusRequested), "cancel"}:   StatusCancelled,
		{string(StatusAccepted), "cancel"}:    StatusCancelled,
		{string(StatusAccepted), "opinion"}:   StatusAnswered,
		{string(StatusAnswered), "decide"}:    StatusClosed,
	}[[2]string{string(from), action}]
	if !ok {
		return from, care.Errorf(care.ECONFLICT, "consult.bad_transition", string(from))
	}
	return to, nil
}

// CheckOpinion validates an opinion: an assessment and a plan are
// required; the diagnosis code, if any, is an ICD-10 code (icd10.Valid:
// WHO and 国家临床版 2.0, e.g. I10.x00x002), stored normalised.
func CheckOpinion(o *Opinion) []care.FieldError {
	var fs []care.FieldError
	o.Assessment, o.Plan, o.DiagnosisCode = strings.TrimSpace(o.Assessment), strings.TrimSpace(o.Plan), icd10.Normalize(o.DiagnosisCode)
	if o.Assessment == "" {
		fs = append(fs, care.FieldError{Field: "assessment", Key: "field.required"})
	}
	if o.Plan == "" {
		fs = append(fs, care.FieldError{Field: "plan", Key: "field.required"})
	}
	if o.DiagnosisCode != "" && !icd10.Valid(o.DiagnosisCode) { // the one ICD-10 rule (package icd10)
		fs = append(fs, care.FieldError{Field: "diagnosis_code", Key: "consult.icd10.invalid"})
	}
	fs = tooLong(fs, "assessment", o.Assessment, 4000)
	fs = tooLong(fs, "plan", o.Plan, 4000)
	fs = tooLong(fs, "diagnosis_text", o.DiagnosisText, 200)
	return fs
}
