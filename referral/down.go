package referral

import (
	"context"
	"countycare/icd10"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"

	"countycare/audit"
	"countycare/care"
	"countycare/org"
	"countycare/resident"
)

// TaskInput is one follow-up task as the discharging doctor writes it.
type TaskInput struct {
	Kind TaskKind
	Due  care.Date
	Note string
}

// DownDraft is a down-referral at discharge (下转单).
type DownDraft struct {
	ResidentID     int64
	UpReferralID   int64  // the up-referral it answers (0: none, e.g. a walk-in admission)
	ToTownship     bool   // hand over to the township center instead of the village clinic
	Summary        string // 出院小结
	Diagnosis      string // ICD-10 code
	DiagnosisText  string
	Plan           string // 治疗与康复方案
	Tasks          []TaskInput
	IdempotencyKey string
}

func (d *DownDraft) hash() string {
	var b strings.Builder
	fmt.Fprintf(&b, "down|%d|%d|%t|%q|%s|%q|%q", d.ResidentID, d.UpReferralID, d.ToTownship, strings.TrimSpace(d.Summary), icd10.Normalize(d.Diagnosis),
		strings.TrimSpace(d.DiagnosisText), strings.TrimSpace(d.Plan))
	for _, t := range d.Tasks {
		fmt.Fprintf(&b, "|%s:%s:%q", t.Kind, t.Due, strings.TrimSpace(t.Note))
	}
	sum := sha256.Sum256([]byte(b.String()))
	return hex.EncodeToString(sum[:16])
}

// PrimaryCenter returns the township-level center above a village clinic
// (the clinic itself if it is one).
func PrimaryCenter(t *org.Tree, clinic int64) int64 {
	for in := t.Get(clinic); in != nil; in = t.Get(in.ParentID) {
		switch in.Kind {
		case org.KindTownshipHC, org.KindCentralHC, org.KindSubCenter:
			return in.ID
		}
	}
	return clinic
}

// CheckTasks validates the follow-up tasks of a down-referral: one to
// MaxTasks, known kinds, due from today to a year ahead.
func CheckTasks(ts []TaskInput, today care.Date) []care.FieldError {
	var fs []care.FieldError
	if len(ts) == 0 {
		return append(fs, care.FieldError{Field: "tasks", Key: "referral.tasks.required"})
	}
	if len(ts) > MaxTasks {
		fs = append(fs, care.FieldError{Field: "tasks", Key: "referral.tasks.too_many", Args: []any{MaxTasks}})
	}
	for i, t := range ts {
		ok := false
		for _, k := range TaskKinds {
			ok = ok || k == t.Kind
		}
		f := fmt.Sprintf("tasks.%d", i)
		if !ok {
			fs = append(fs, care.FieldError{Field: f, Key: "referral.task.kind"})
		}
		if t.Due.IsZero() || t.Due.Before(today) || t.Due.After(today.AddDays(366)) {
			fs = append(fs, care.FieldError{Field: f, Key: "referral.task.due"})
		}
		fs = tooLong(fs, f, strings.TrimSpace(t.Note), 200)
	}
	return fs
}

// CreateDown hands a discharged patient back to primary care: the
// resident's village clinic (or its township center) receives the
// summary, the ICD-10 diagnosis, the plan and the follow-up tasks, and
// must acknowledge them. When it answers an arrived up-referral, that
// referral is completed in the same transaction and the hospital's care
// link ends after the grace period. Errors: EINVALID, ENOTFOUND,
// EFORBIDDEN (role), ECONFLICT (the up-referral is not arrived, or the
// same key was used for another body).
func (s *Service) CreateDown(ctx context.Context, a care.Actor, in DownDraft) (*Referral, error) {
	if a.Role != care.RoleCountySpecialist && a.Role != care.RoleTownshipDoctor {
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
	today := care.Today(now)
	var fs []care.FieldError
	in.Summary, in.Plan, in.DiagnosisText = strings.TrimSpace(in.Summary), strings.TrimSpace(in.Plan), strings.TrimSpace(in.DiagnosisText)
	in.IdempotencyKey = strings.TrimSpace(in.IdempotencyKey)
	code := icd10.Normalize(in.Diagnosis)
	if in.Summary == "" {
		fs = append(fs, care.FieldError{Field: "summary", Key: "field.required"})
	}
	fs = tooLong(fs, "summary", in.Summary, MaxSummary)
	if icd10.Chapter(code) == "" { // a valid code of a chapter (package icd10)
		fs = append(fs, care.FieldError{Field: "diagnosis", Key: "referral.icd10.invalid"})
	}
	fs = tooLong(fs, "diagnosis_text", in.DiagnosisText, 200)
	if in.Plan == "" {
		fs = append(fs, care.FieldError{Field: "plan", Key: "field.required"})
	}
	fs = tooLong(fs, "plan", in.Plan, MaxSummary)
	fs = append(fs, CheckTasks(in.Tasks, today)...)
	if in.IdempotencyKey == "" {
		fs = append(fs, care.FieldError{Field: "idempotency_key", Key: "field.required"})
	}
	fs = tooLong(fs, "idempotency_key", in.IdempotencyKey, MaxKey)
	if res.Status != resident.StatusActive {
		fs = append(fs, care.FieldError{Field: "resident_id", Key: "referral.resident_not_active"})
	}
	if err := care.Invalid(fs); err != nil {
		return nil, err
	}
	var parent *Transition
	var up *Referral
	if in.UpReferralID != 0 {
		var rcv bool
		up, _, _, rcv, err = s.load(ctx, a, in.UpReferralID)
		if err != nil {
			return nil, err
		}
		if up.Direction != Up || up.ResidentID != res.ID {
			return nil, care.Invalid([]care.FieldError{{Field: "up_referral_id", Key: "referral.down.up_mismatch"}})
		}
		if !rcv {
			return nil, care.Errorf(care.EFORBIDDEN, "referral.wrong_side")
		}
	}
	to := res.VillageID
	if in.ToTownship {
		to = PrimaryCenter(t, res.VillageID)
	}
	r := &Referral{County: res.CountyCode, Direction: Down, Status: StatusSent, ResidentID: res.ID, Poverty: res.Poverty != resident.PovertyNone,
		Urgency: Routine, Summary: in.Summary, Diagnosis: code, DiagnosisText: in.DiagnosisText, Plan: in.Plan, FromInst: a.InstitutionID, ToInst: to,
		UpReferralID: in.UpReferralID, IdempotencyKey: in.IdempotencyKey, BodyHash: in.hash(), SentBy: a.AccountID, SentByPract: a.PractitionerID,
		FirstSentAt: now, SentAt: now, UpdatedAt: now, Version: 1}
	r.GreenChannel = r.Poverty
	if up != nil {
		r.FromDept = up.ToDept
		if _, err := Next(Up, up.Urgency, up.Status, ActComplete); err != nil {
			// Already completed by this very down-referral? Let the store's idempotency answer.
			if up.Status != StatusCompleted {
				return nil, care.Errorf(care.ECONFLICT, "referral.down.up_not_arrived")
			}
		} else {
			next := *up
			next.Status, next.ClosedAt, next.UpdatedAt, next.Note = StatusCompleted, now, now, "down-referral"
			parent = &Transition{Referral: &next, Event: Event{County: up.County, ReferralID: up.ID, Action: string(ActComplete), From: up.Status,
				To: StatusCompleted, Note: "down-referral", By: a.AccountID, ByInst: a.InstitutionID, At: now}}
			if up.CareLinkID != 0 {
				parent.ExpireLink = now.Add(s.Config.LinkGrace)
			}
			parent.Messages = s.messages(ctx, t, &next, ActComplete)
		}
	}
	tasks := make([]Task, len(in.Tasks))
	for i, x := range in.Tasks {
		tasks[i] = Task{County: res.CountyCode, ResidentID: res.ID, ClinicID: to, Kind: x.Kind, Due: x.Due, Note: strings.TrimSpace(x.Note)}
	}
	ev := audit.New(ctx, a, AuditCreate, res.ID)
	ev.CountyCode = res.CountyCode
	ev.Detail = fmt.Sprintf("down-referral to institution %d, %d tasks, up-referral %d", to, len(tasks), in.UpReferralID)
	stored, _, err := s.Repo.CreateReferral(ctx, r, nil, tasks, parent, ev)
	return stored, err
}

// Box names a listing.
type Box string

// Listings.
const (
	BoxSent     Box = "sent"     // referrals the actor's institution (or area) sent
	BoxIncoming Box = "incoming" // up-referrals to the actor's institution, open first
	BoxTasks    Box = "tasks"    // down-referrals to the actor's clinic(s), with tasks
)

// Item is one referral in a listing, with its tasks (down-referrals).
type Item struct {
	Referral
	Tasks []Task
}

// List returns a listing for the actor: what their institution (or, for
// a township doctor, their area) sent; the up-referrals their institution
// receives (dept: only that department; open: not yet closed); or the
// down-referrals with tasks their clinic(s) must acknowledge. The read is
// audited. Errors: EFORBIDDEN (a role with no referrals), EINVALID (box).
func (s *Service) List(ctx context.Context, a care.Actor, box Box, open bool, dept int64) ([]Item, error) {
	if !canSend(a) {
		return nil, care.Errorf(care.EFORBIDDEN, "error.forbidden")
	}
	t, err := s.Orgs.Tree(ctx)
	if err != nil {
		return nil, err
	}
	area := t.Subtree(a.InstitutionID)
	f := Filter{County: a.CountyCode, Limit: 300}
	if open {
		f.Statuses = []Status{StatusSent, StatusAccepted, StatusArrived}
	}
	switch box {
	case BoxSent:
		f.FromInsts = area
	case BoxIncoming:
		f.Direction, f.ToInsts, f.ToDept = Up, area, dept
	case BoxTasks:
		f.Direction, f.ToInsts = Down, area
		if open {
			f.Statuses = []Status{StatusSent}
		}
	default:
		return nil, care.Invalid([]care.FieldError{{Field: "box", Key: "referral.box.invalid"}})
	}
	rs, err := s.Repo.Referrals(ctx, f)
	if err != nil {
		return nil, err
	}
	items := make([]Item, len(rs))
	var downs []int64
	at := map[int64]int{}
	for i := range rs {
		items[i].Referral = rs[i]
		if rs[i].Direction == Down {
			downs = append(downs, rs[i].ID)
			at[rs[i].ID] = i
		}
	}
	if len(downs) > 0 {
		ts, err := s.Repo.ReferralTasks(ctx, downs)
		if err != nil {
			return nil, err
		}
		for _, x := range ts {
			items[at[x.ReferralID]].Tasks = append(items[at[x.ReferralID]].Tasks, x)
		}
	}
	ev := audit.New(ctx, a, AuditList, 0)
	ev.Detail = fmt.Sprintf("referrals %s open=%t n=%d", box, open, len(items))
	s.Audit.Record(ctx, ev)
	return items, nil
}

// MyDepartment returns the department of the actor's practitioner record (0: none).
func (s *Service) MyDepartment(ctx context.Context, a care.Actor) int64 {
	if a.PractitionerID == 0 {
		return 0
	}
	p, err := s.Staff.Practitioner(ctx, a.PractitionerID)
	if err != nil {
		return 0
	}
	return p.DepartmentID
}

// ForResident lists the referrals of a resident the caller has already
// read through resident.Service.Get in this request, keeping those the
// actor is a party to (for the resident page). The listing is audited.
func (s *Service) ForResident(ctx context.Context, a care.Actor, res *resident.Resident) ([]Referral, error) {
	if !canSend(a) {
		return nil, nil
	}
	t, err := s.Orgs.Tree(ctx)
	if err != nil {
		return nil, err
	}
	rs, err := s.Repo.Referrals(ctx, Filter{County: res.CountyCode, ResidentID: res.ID, Limit: 50})
	if err != nil {
		return nil, err
	}
	var out []Referral
	for i := range rs {
		if snd, rcv := party(t, a, &rs[i]); snd || rcv {
			out = append(out, rs[i])
		}
	}
	if len(out) > 0 {
		ev := audit.New(ctx, a, AuditList, res.ID)
		ev.CountyCode, ev.Detail = res.CountyCode, fmt.Sprintf("resident's referrals n=%d", len(out))
		s.Audit.Record(ctx, ev)
	}
	return out, nil
}
