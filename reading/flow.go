package reading

import (
	"context"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"countycare/audit"
	"countycare/care"
	"countycare/notify"
)

// Audit actions of the reading workflow.
const (
	ActWorklist   = "reading.worklist"
	ActStudyRead  = "reading.study_read"
	ActClaim      = "reading.claim"
	ActAssign     = "reading.assign"
	ActRelease    = "reading.release"
	ActReport     = "reading.report"
	ActAddendum   = "reading.addendum"
	ActReturned   = "reading.returned"
	ActEscalate   = "reading.escalate"
	ActIndicators = "reading.indicators"
)

// Outbox purposes.
const (
	PurposeReturned = "reading.returned" // a report went back to the ordering doctor
	PurposeOverdue  = "reading.overdue"  // a study missed its turnaround target
)

// CriticalFinding is a critical value (危急值) marked on a signed report,
// for the critical-value alert service: it alerts the ordering clinic.
type CriticalFinding struct {
	County     string
	SourceKind string // "reading." + the study's kind: reading.ecg, reading.imaging, reading.photo, reading.fetal
	SourceID   int64  // the workflow study's id
	ReportID   int64  // the report or addendum that marks it
	ResidentID int64
	ClinicID   int64 // ordering institution
	OrderedBy  int64 // ordering doctor's account
	Finding    string
	At         time.Time
	SignedBy   int64 // the signer's account
}

// CriticalSink receives critical findings after the signed report has
// committed. An error is logged by the caller's onErr; the report stands.
type CriticalSink interface {
	RaiseCritical(ctx context.Context, a care.Actor, c CriticalFinding) error
}

// Reader is a staff account as the workflow needs it.
type Reader struct {
	AccountID     int64
	Name          string
	Role          care.Role
	InstitutionID int64
	Phone         string
}

// WorkflowRepository is the storage of the reading workflow; store.Store
// implements it.
type WorkflowRepository interface {
	// ReadingWorklist lists a center's open studies of a county (one
	// modality group, or all for ""): urgent first, then pre-read
	// priority, then the longest waiting.
	ReadingWorklist(ctx context.Context, county string, centerID int64, modality string, limit int) ([]Study, error)
	// ReadingStudy returns one study of a county (ENOTFOUND).
	ReadingStudy(ctx context.Context, county string, id int64) (*Study, error)
	// ReadingReports lists a study's report and addenda, oldest first.
	ReadingReports(ctx context.Context, county string, studyID int64) ([]Report, error)
	// SaveReadingState saves st's status and claim at st.Version, with the
	// audit row: ECONFLICT if another change came first.
	SaveReadingState(ctx context.Context, st *Study, ev audit.Event) error
	// SaveReadingReport stores a report (and marks st reported at
	// st.Version, ECONFLICT if stale) or an addendum, with messages and
	// the audit row, in one transaction.
	SaveReadingReport(ctx context.Context, st *Study, r *Report, msgs []notify.Message, ev audit.Event) error
	// ReturnedReports lists a clinic's reported studies, newest report
	// first, each with its signed report and critical mark.
	ReturnedReports(ctx context.Context, county string, clinicID int64, limit int) ([]Study, error)
	// ResidentReadings lists a resident's studies with their reports.
	ResidentReadings(ctx context.Context, county string, residentID int64) ([]Study, map[int64][]Report, error)
	// DueReadings lists open studies due at or before now, oldest first.
	DueReadings(ctx context.Context, now time.Time, limit int) ([]Study, error)
	// EscalateReadings saves escalations in one transaction; a study
	// changed since it was read is skipped. It returns how many were saved.
	EscalateReadings(ctx context.Context, es []ReadingEscalation) (int, error)
	// StaffAccount returns an active staff account (ENOTFOUND).
	StaffAccount(ctx context.Context, accountID int64) (*Reader, error)
	// CenterReaders lists the enabled reader accounts of a center by name.
	CenterReaders(ctx context.Context, centerID int64) ([]Reader, error)
	// CenterLeadPhones lists the phones of the heads of a center's departments.
	CenterLeadPhones(ctx context.Context, centerID int64) ([]string, error)
	// ReadingStats lists the studies of a county uploaded in [from, to),
	// of one center (0: all).
	ReadingStats(ctx context.Context, county string, centerID int64, from, to time.Time) ([]StatRow, error)
}

// ReadingEscalation is one overdue study's escalation, as saved.
type ReadingEscalation struct {
	Study *Study
	Now   time.Time
	Msgs  []notify.Message
	Audit audit.Event
}

// Workflow is the reading workflow (阅片流程) of diagnosis centers:
// worklists, claims, structured signed reports, addenda, turnaround
// escalation and indicators. Every method checks the actor and audits.
type Workflow struct {
	Repo      WorkflowRepository
	Audit     audit.Recorder
	Targets   Targets
	Templates Templates
	Critical  CriticalSink // may be nil
	OnError   func(error)  // errors after commit (critical sink); may be nil
	Now       func() time.Time
}

func (w *Workflow) denied(ctx context.Context, a care.Actor, action string, residentID int64) error {
	ev := audit.New(ctx, a, action, residentID)
	ev.Outcome = audit.OutcomeDenied
	w.Audit.Record(ctx, ev)
	return care.Errorf(care.EFORBIDDEN, "error.forbidden")
}

// Worklist lists the open studies of the reader's center for one modality
// group ("ECG", "DR", "CT", "MR", "US", "OT"; "" for all): urgent first,
// then pre-read priority, then waiting time. Errors: EFORBIDDEN for a
// role other than reader.
func (w *Workflow) Worklist(ctx context.Context, a care.Actor, modality string, limit int) ([]Study, error) {
	if a.Role != care.RoleReader {
		return nil, w.denied(ctx, a, ActWorklist, 0)
	}
	if modality != "" {
		modality = TemplateModality(modality)
	}
	if limit <= 0 || limit > 500 {
		limit = 200
	}
	items, err := w.Repo.ReadingWorklist(ctx, a.CountyCode, a.InstitutionID, modality, limit)
	ev := audit.New(ctx, a, ActWorklist, 0)
	ev.Detail = fmt.Sprintf("modality=%q rows=%d", modality, len(items))
	if err != nil {
		ev.Outcome = audit.OutcomeFailed
	}
	w.Audit.Record(ctx, ev)
	return items, err
}

// MayRead reports whether a may open the study (Study, the study page):
// readers of its center, doctors of the ordering clinic.
func MayRead(a care.Actor, st *Study) bool { return mayRead(a, st) }

// mayRead: readers of the study's center, doctors of the ordering clinic.
func mayRead(a care.Actor, st *Study) bool {
	switch a.Role {
	case care.RoleReader:
		return a.InstitutionID == st.CenterID
	case care.RoleVillageDoctor, care.RoleTownshipDoctor:
		return a.InstitutionID == st.ClinicID
	}
	return false
}

// load returns a study the actor may see; ENOTFOUND otherwise (audited as denied).
func (w *Workflow) load(ctx context.Context, a care.Actor, id int64, action string) (*Study, error) {
	st, err := w.Repo.ReadingStudy(ctx, a.CountyCode, id)
	if err != nil {
		if care.IsCode(err, care.ENOTFOUND) {
			ev := audit.New(ctx, a, action, 0)
			ev.Outcome, ev.Detail = audit.OutcomeDenied, fmt.Sprintf("study %d", id)
			w.Audit.Record(ctx, ev)
		}
		return nil, err
	}
	if !mayRead(a, st) {
		ev := audit.New(ctx, a, action, st.ResidentID)
		ev.CountyCode, ev.Outcome, ev.Detail = st.County, audit.OutcomeDenied, fmt.Sprintf("study %d", id)
		w.Audit.Record(ctx, ev)
		return nil, care.Errorf(care.ENOTFOUND, "error.not_found")
	}
	return st, nil
}

// Study returns a study with its report and addenda for a reader of its
// center or a doctor of the ordering clinic. Errors: ENOTFOUND.
func (w *Workflow) Study(ctx context.Context, a care.Actor, id int64) (*Study, []Report, error) {
	st, err := w.load(ctx, a, id, ActStudyRead)
	if err != nil {
		return nil, nil, err
	}
	reps, err := w.Repo.ReadingReports(ctx, st.County, st.ID)
	ev := w.event(ctx, a, ActStudyRead, st, fmt.Sprintf("study %d reports=%d", st.ID, len(reps)))
	if err != nil {
		ev.Outcome = audit.OutcomeFailed
	}
	w.Audit.Record(ctx, ev)
	return st, reps, err
}

func (w *Workflow) event(ctx context.Context, a care.Actor, action string, st *Study, detail string) audit.Event {
	ev := audit.New(ctx, a, action, st.ResidentID)
	ev.CountyCode, ev.Detail = st.County, detail
	return ev
}

// readerOf loads a study for a reader of its center (ENOTFOUND otherwise).
func (w *Workflow) readerOf(ctx context.Context, a care.Actor, id int64, action string) (*Study, error) {
	if a.Role != care.RoleReader {
		return nil, w.denied(ctx, a, action, 0)
	}
	return w.load(ctx, a, id, action)
}

// Claim takes an open study for the reader. Errors: ENOTFOUND, ECONFLICT
// reading.taken (another reader has it or it is reported; also when
// another claim commits first).
func (w *Workflow) Claim(ctx context.Context, a care.Actor, id int64) (*Study, error) {
	st, err := w.readerOf(ctx, a, id, ActClaim)
	if err != nil {
		return nil, err
	}
	if st.Status == FlowReported || (st.Status == FlowClaimed && st.ClaimedBy != a.AccountID) {
		return nil, care.Errorf(care.ECONFLICT, "reading.taken", st.ClaimedName)
	}
	st.Status, st.ClaimedBy, st.ClaimedName, st.ClaimedAt = FlowClaimed, a.AccountID, a.Name, w.Now().UTC()
	if err := w.Repo.SaveReadingState(ctx, st, w.event(ctx, a, ActClaim, st, fmt.Sprintf("study %d claimed", st.ID))); err != nil {
		return nil, err
	}
	return st, nil
}

// Assign gives an open study to a named reader of the same center (any
// reader of the center may assign, the center lead included). Errors:
// ENOTFOUND, EINVALID reading.assignee_invalid, ECONFLICT (reported, or
// changed meanwhile).
func (w *Workflow) Assign(ctx context.Context, a care.Actor, id, to int64) (*Study, error) {
	st, err := w.readerOf(ctx, a, id, ActAssign)
	if err != nil {
		return nil, err
	}
	r, err := w.Repo.StaffAccount(ctx, to)
	if err != nil || r.Role != care.RoleReader || r.InstitutionID != st.CenterID {
		if err != nil && !care.IsCode(err, care.ENOTFOUND) {
			return nil, err
		}
		return nil, &care.Error{Code: care.EINVALID, Key: "reading.assignee_invalid", Fields: []care.FieldError{{Field: "reader_id", Key: "reading.assignee_invalid"}}}
	}
	if st.Status == FlowReported {
		return nil, care.Errorf(care.ECONFLICT, "reading.taken", st.ClaimedName)
	}
	st.Status, st.ClaimedBy, st.ClaimedName, st.ClaimedAt = FlowClaimed, r.AccountID, r.Name, w.Now().UTC()
	if err := w.Repo.SaveReadingState(ctx, st, w.event(ctx, a, ActAssign, st, fmt.Sprintf("study %d assigned to account %d", st.ID, r.AccountID))); err != nil {
		return nil, err
	}
	return st, nil
}

// CenterReaders lists the readers of the actor's center, to assign to.
// Errors: EFORBIDDEN for a role other than reader.
func (w *Workflow) CenterReaders(ctx context.Context, a care.Actor) ([]Reader, error) {
	if a.Role != care.RoleReader {
		return nil, care.Errorf(care.EFORBIDDEN, "error.forbidden")
	}
	return w.Repo.CenterReaders(ctx, a.InstitutionID)
}

// Release puts a study the reader holds back on the worklist. Errors:
// ENOTFOUND, ECONFLICT reading.not_yours (not held by the reader).
func (w *Workflow) Release(ctx context.Context, a care.Actor, id int64) (*Study, error) {
	st, err := w.readerOf(ctx, a, id, ActRelease)
	if err != nil {
		return nil, err
	}
	if st.Status != FlowClaimed || st.ClaimedBy != a.AccountID {
		return nil, care.Errorf(care.ECONFLICT, "reading.not_yours")
	}
	st.Status, st.ClaimedBy, st.ClaimedName, st.ClaimedAt = FlowWaiting, 0, "", time.Time{}
	if err := w.Repo.SaveReadingState(ctx, st, w.event(ctx, a, ActRelease, st, fmt.Sprintf("study %d released", st.ID))); err != nil {
		return nil, err
	}
	return st, nil
}

// ReportDraft is what the reader fills in.
type ReportDraft struct {
	Fields       map[string]string
	Normal       bool
	Critical     bool
	CriticalText string
}

// MaxCriticalText bounds the critical finding's text.
const MaxCriticalText = 500

func checkCritical(d *ReportDraft) []care.FieldError {
	d.CriticalText = strings.TrimSpace(d.CriticalText)
	switch {
	case d.Critical && d.CriticalText == "":
		return []care.FieldError{{Field: "critical_text", Key: "field.required"}}
	case !d.Critical && d.CriticalText != "":
		return []care.FieldError{{Field: "critical", Key: "reading.critical_unmarked"}}
	case utf8.RuneCountInString(d.CriticalText) > MaxCriticalText:
		return []care.FieldError{{Field: "critical_text", Key: "field.too_long", Args: []any{MaxCriticalText}}}
	case d.Critical && d.Normal:
		return []care.FieldError{{Field: "normal", Key: "reading.critical_normal"}}
	}
	return nil
}

// Sign stores the reader's signed report on a study they hold, returns it
// to the ordering clinic (the clinic's list and an SMS to the ordering
// doctor through the outbox) and files it in the resident's record, in one
// transaction; then a critical finding goes to the CriticalSink. Errors:
// ENOTFOUND, EINVALID (the template's field faults), ECONFLICT
// reading.not_yours (not held by the reader, already reported, or changed
// meanwhile).
func (w *Workflow) Sign(ctx context.Context, a care.Actor, id int64, d ReportDraft) (*Study, *Report, error) {
	st, err := w.readerOf(ctx, a, id, ActReport)
	if err != nil {
		return nil, nil, err
	}
	tpl := w.Templates.For(st.Modality)
	if d.Fields == nil {
		d.Fields = map[string]string{}
	}
	fs := append(tpl.Validate(d.Fields), checkCritical(&d)...)
	if err := care.Invalid(fs); err != nil {
		return nil, nil, err
	}
	if st.Status != FlowClaimed || st.ClaimedBy != a.AccountID {
		return nil, nil, care.Errorf(care.ECONFLICT, "reading.not_yours")
	}
	now := w.Now().UTC().Truncate(time.Microsecond) // as stored, so the seal checks after a reload
	r := &Report{County: st.County, StudyID: st.ID, ResidentID: st.ResidentID, Kind: ReportSigned, Template: tpl.Modality, Fields: d.Fields,
		Normal: d.Normal, Critical: d.Critical, CriticalText: d.CriticalText, SignedBy: a.AccountID, SignerName: a.Name, SignedAt: now}
	r.Seal = ReportSeal(r)
	st.Status, st.ReportedAt, st.ReportedBy = FlowReported, now, a.AccountID
	var msgs []notify.Message
	if o, err := w.Repo.StaffAccount(ctx, st.OrderedBy); err == nil && o.Phone != "" {
		msgs = []notify.Message{returnedMessage(st, o, "报告已签发", fmt.Sprintf("【远程诊断】您送检的%s检查（编号%d）报告已签发，请登录平台查看。", st.Modality, st.ID))}
	}
	ev := w.event(ctx, a, ActReport, st, fmt.Sprintf("study %d report seal=%s critical=%t", st.ID, r.Seal[:12], r.Critical))
	if err := w.Repo.SaveReadingReport(ctx, st, r, msgs, ev); err != nil {
		return nil, nil, err
	}
	w.raise(ctx, a, st, r)
	return st, r, nil
}

// raise hands a critical finding to the sink after the commit.
func (w *Workflow) raise(ctx context.Context, a care.Actor, st *Study, r *Report) {
	if !r.Critical || w.Critical == nil {
		return
	}
	c := CriticalFinding{County: st.County, SourceKind: "reading." + st.Kind, SourceID: st.ID, ReportID: r.ID, ResidentID: st.ResidentID,
		ClinicID: st.ClinicID, OrderedBy: st.OrderedBy, Finding: r.CriticalText, At: r.SignedAt, SignedBy: r.SignedBy}
	if err := w.Critical.RaiseCritical(ctx, a, c); err != nil && w.OnError != nil {
		w.OnError(fmt.Errorf("reading: critical finding of study %d: %w", st.ID, err))
	}
}

// MaxAddendum bounds an addendum's text.
const MaxAddendum = 2000

// Addend adds a signed addendum to a reported study; the report stays as
// signed (its text and seal unchanged). Any reader of the center may add
// one. Errors: ENOTFOUND, EINVALID (empty or too long text), ECONFLICT
// reading.not_reported.
func (w *Workflow) Addend(ctx context.Context, a care.Actor, id int64, text string, critical bool, criticalText string) (*Report, error) {
	text = strings.TrimSpace(text)
	d := ReportDraft{Critical: critical, CriticalText: criticalText}
	fs := checkCritical(&d)
	if text == "" {
		fs = append(fs, care.FieldError{Field: "text", Key: "field.required"})
	} else if utf8.RuneCountInString(text) > MaxAddendum {
		fs = append(fs, care.FieldError{Field: "text", Key: "field.too_long", Args: []any{MaxAddendum}})
	}
	if err := care.Invalid(fs); err != nil {
		return nil, err
	}
	st, err := w.readerOf(ctx, a, id, ActAddendum)
	if err != nil {
		return nil, err
	}
	reps, err := w.Repo.ReadingReports(ctx, st.County, st.ID)
	if err != nil {
		return nil, err
	}
	var parent *Report
	for i := range reps {
		if reps[i].Kind == ReportSigned {
			parent = &reps[i]
		}
	}
	if st.Status != FlowReported || parent == nil {
		return nil, care.Errorf(care.ECONFLICT, "reading.not_reported")
	}
	r := &Report{County: st.County, StudyID: st.ID, ResidentID: st.ResidentID, Kind: ReportAddendum, ParentID: parent.ID, Template: "addendum",
		Fields: map[string]string{"text": text}, Normal: parent.Normal && !d.Critical, Critical: d.Critical, CriticalText: d.CriticalText,
		SignedBy: a.AccountID, SignerName: a.Name, SignedAt: w.Now().UTC().Truncate(time.Microsecond)}
	r.Seal = ReportSeal(r)
	var msgs []notify.Message
	if o, err := w.Repo.StaffAccount(ctx, st.OrderedBy); err == nil && o.Phone != "" {
		msgs = []notify.Message{returnedMessage(st, o, "有补充报告", fmt.Sprintf("【远程诊断】您送检的%s检查（编号%d）报告有补充报告，请登录平台查看。", st.Modality, st.ID))}
	}
	ev := w.event(ctx, a, ActAddendum, st, fmt.Sprintf("study %d addendum to report %d seal=%s", st.ID, parent.ID, r.Seal[:12]))
	if err := w.Repo.SaveReadingReport(ctx, st, r, msgs, ev); err != nil {
		return nil, err
	}
	w.raise(ctx, a, st, r)
	return r, nil
}

// Returned lists the reports returned to the actor's clinic, newest first.
// Errors: EFORBIDDEN for roles other than village and township doctors.
func (w *Workflow) Returned(ctx context.Context, a care.Actor, limit int) ([]Study, error) {
	if a.Role != care.RoleVillageDoctor && a.Role != care.RoleTownshipDoctor {
		return nil, w.denied(ctx, a, ActReturned, 0)
	}
	if limit <= 0 || limit > 500 {
		limit = 200
	}
	out, err := w.Repo.ReturnedReports(ctx, a.CountyCode, a.InstitutionID, limit)
	for i := range out {
		if r := out[i].Report; r != nil {
			out[i].Summary = r.Fields[w.Templates.For(r.Template).Summary]
		}
	}
	ev := audit.New(ctx, a, ActReturned, 0)
	ev.Detail = fmt.Sprintf("rows=%d", len(out))
	if err != nil {
		ev.Outcome = audit.OutcomeFailed
	}
	w.Audit.Record(ctx, ev)
	return out, err
}

// ForResident lists a resident's studies and reports for the resident
// page, which has already checked (and audited) the actor's access to the
// resident; readers see only their center's studies.
func (w *Workflow) ForResident(ctx context.Context, a care.Actor, county string, residentID int64) ([]Study, map[int64][]Report, error) {
	sts, reps, err := w.Repo.ResidentReadings(ctx, county, residentID)
	if err != nil || a.Role != care.RoleReader {
		return sts, reps, err
	}
	out := sts[:0]
	for _, s := range sts {
		if s.CenterID == a.InstitutionID {
			out = append(out, s)
		}
	}
	return out, reps, nil
}

// Indicators are the figures of studies uploaded in [from, to): a reader
// sees their center's, an analyst (the health commission) the county's.
// Errors: EFORBIDDEN for other roles, EINVALID for an empty period.
func (w *Workflow) Indicators(ctx context.Context, a care.Actor, from, to time.Time) (*Indicators, error) {
	var center int64
	switch a.Role {
	case care.RoleReader:
		center = a.InstitutionID
	case care.RoleAnalyst:
	default:
		return nil, w.denied(ctx, a, ActIndicators, 0)
	}
	if !to.After(from) {
		return nil, care.Invalid([]care.FieldError{{Field: "to", Key: "reading.period_invalid"}})
	}
	rows, err := w.Repo.ReadingStats(ctx, a.CountyCode, center, from, to)
	ev := audit.New(ctx, a, ActIndicators, 0)
	ev.Detail = fmt.Sprintf("center=%d %s..%s rows=%d", center, from.Format(time.DateOnly), to.Format(time.DateOnly), len(rows))
	if err != nil {
		ev.Outcome = audit.OutcomeFailed
		w.Audit.Record(ctx, ev)
		return nil, err
	}
	w.Audit.Record(ctx, ev)
	return ComputeIndicators(rows, w.Targets), nil
}

// EscalateDue escalates every open study past its turnaround target, a
// batch of up to 500 per transaction: the study is flagged breached, its
// next due time moves one target on (so it is escalated again at every
// missed target, never dropped), and the center's department heads and
// the reader who holds it are sent an SMS through the outbox. A study
// claimed, reported or escalated meanwhile is skipped (its version moved
// on), so concurrent runs escalate each due study once. It returns how
// many were escalated.
func (w *Workflow) EscalateDue(ctx context.Context) (int, error) {
	n := 0
	leads := map[int64][]string{}
	holders := map[int64]string{}
	for {
		now := w.Now().UTC().Truncate(time.Microsecond)
		due, err := w.Repo.DueReadings(ctx, now, 500)
		if err != nil || len(due) == 0 {
			return n, err
		}
		es := make([]ReadingEscalation, 0, len(due))
		for i := range due {
			st := &due[i]
			phones, ok := leads[st.CenterID]
			if !ok {
				if phones, err = w.Repo.CenterLeadPhones(ctx, st.CenterID); err != nil {
					return n, err
				}
				leads[st.CenterID] = phones
			}
			if st.ClaimedBy != 0 {
				p, ok := holders[st.ClaimedBy]
				if !ok {
					if r, err := w.Repo.StaffAccount(ctx, st.ClaimedBy); err == nil {
						p = r.Phone
					}
					holders[st.ClaimedBy] = p
				}
				if p != "" && !contains(phones, p) {
					phones = append(append([]string{}, phones...), p)
				}
			}
			late := int(now.Sub(st.UploadedAt) / time.Minute)
			e := ReadingEscalation{Study: st, Now: now, Audit: audit.Event{Action: ActEscalate, Outcome: audit.OutcomeOK, Purpose: care.PurposeTreatment,
				CountyCode: st.County, ResidentID: st.ResidentID, Detail: fmt.Sprintf("study %d overdue (%s, %d min since upload, escalation %d)", st.ID, st.Modality, late, st.Escalations+1)}}
			for _, p := range phones {
				target := int(w.Targets.Target(st.Modality) / time.Minute)
				e.Msgs = append(e.Msgs, notify.Message{County: st.County, Channel: notify.ChannelSMS, Recipient: p, Purpose: PurposeOverdue,
					Body:   fmt.Sprintf("【远程诊断】%s检查（编号%d）已等待%d分钟，超过报告时限%d分钟，请尽快阅片。", st.Modality, st.ID, late, target),
					Params: map[string]string{"modality": st.Modality, "study": fmt.Sprint(st.ID), "minutes": fmt.Sprint(late), "target": fmt.Sprint(target)}})
			}
			st.DueAt = now.Add(w.Targets.Target(st.Modality))
			es = append(es, e)
		}
		moved, err := w.Repo.EscalateReadings(ctx, es)
		if err != nil {
			return n, err
		}
		n += moved
		if len(due) < 500 || moved == 0 {
			return n, nil
		}
	}
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

// RunScheduler escalates overdue studies every tick until ctx ends. Due
// times are stored with the study, so studies that fell due while the
// server was down escalate on the first tick.
func (w *Workflow) RunScheduler(ctx context.Context, every time.Duration, onErr func(error)) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if _, err := w.EscalateDue(ctx); err != nil && ctx.Err() == nil && onErr != nil {
			onErr(err)
		}
		if _, err := w.SweepCritical(ctx, CriticalSweepAfter); err != nil && ctx.Err() == nil && onErr != nil {
			onErr(err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// CriticalSweepAfter is how old a signed critical finding must be before
// the scheduler raises it in the signer's stead (the request raises it
// within milliseconds of the commit); CriticalSweepWindow is how far back
// the sweep looks.
const (
	CriticalSweepAfter  = 30 * time.Second
	CriticalSweepWindow = 7 * 24 * time.Hour
)

// criticalLate is what the sweep needs: the findings left without an
// alert (store.UnalertedCriticalReports) and a sink that can raise one in
// the signer's name (CriticalAlerts).
type criticalLateRepo interface {
	UnalertedCriticalReports(ctx context.Context, from, to time.Time, limit int) ([]CriticalFinding, error)
}
type criticalLateSink interface {
	RaiseLate(ctx context.Context, f CriticalFinding) (bool, error)
}

// SweepCritical raises the critical findings signed between
// CriticalSweepWindow and after ago that still have no alert — the report
// committed but its raise did not happen (a crash or an error after the
// commit) — so a critical finding is never lost. It returns how many
// alerts it created. Without a sink that can raise late it does nothing.
func (w *Workflow) SweepCritical(ctx context.Context, after time.Duration) (int, error) {
	sink, ok := w.Critical.(criticalLateSink)
	repo, rok := w.Repo.(criticalLateRepo)
	if !ok || !rok {
		return 0, nil
	}
	now := w.Now().UTC()
	fs, err := repo.UnalertedCriticalReports(ctx, now.Add(-CriticalSweepWindow), now.Add(-after), 200)
	if err != nil {
		return 0, err
	}
	n := 0
	var first error // one finding that cannot be raised does not hold up the others
	for _, f := range fs {
		created, err := sink.RaiseLate(ctx, f)
		if err != nil && first == nil {
			first = fmt.Errorf("reading: late critical alert of study %d: %w", f.SourceID, err)
		}
		if created {
			n++
		}
	}
	return n, first
}

// returnedMessage is the text message to the ordering doctor o that st's
// report came back, with the template parameters modality, study and
// stage (docs/sms.md).
func returnedMessage(st *Study, o *Reader, stage, body string) notify.Message {
	return notify.Message{County: st.County, Channel: notify.ChannelSMS, Recipient: o.Phone, Purpose: PurposeReturned, Body: body, Institution: o.InstitutionID,
		Params: map[string]string{"modality": st.Modality, "study": fmt.Sprint(st.ID), "stage": stage}}
}
