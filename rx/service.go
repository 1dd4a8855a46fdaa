package rx

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"countycare/audit"
	"countycare/care"
	"countycare/org"
	"countycare/resident"
)

// Status is where a signed prescription stands in regional review.
type Status string

// Review states: clean prescriptions pass automatically; flagged ones wait
// for a county pharmacist, who approves, rejects or returns them with a
// reason. Only a passed or approved prescription can be dispensed
// (互联网诊疗监管细则 2022: no drugs before a reviewed prescription).
const (
	StatusPassed    Status = "passed"    // 系统审核通过
	StatusPending   Status = "pending"   // 待药师审核
	StatusApproved  Status = "approved"  // 药师审核通过
	StatusRejected  Status = "rejected"  // 药师审核不通过
	StatusReturned  Status = "returned"  // 退回医师修改
	StatusDispensed Status = "dispensed" // 已调配发药
)

// Reviewed reports whether a prescription in status s may be dispensed.
func (s Status) Reviewed() bool { return s == StatusPassed || s == StatusApproved }

// Audit actions.
const (
	ActSign     = "rx.sign"
	ActRead     = "rx.read"
	ActQueue    = "rx.queue"
	ActDecide   = "rx.decide"
	ActDispense = "rx.dispense"
)

// Signed is a prescription signed by its prescriber, with the review's
// findings and its state. ReviewedAt − SignedAt is the review time, an
// indicator of the county pharmacy.
type Signed struct {
	ID            int64
	CountyCode    string
	ResidentID    int64
	InstitutionID int64
	PrescriberID  int64 // practitioner
	AccountID     int64 // the signing account
	Prescription  Prescription
	Findings      []Finding
	Outcome       Severity
	Status        Status
	// Classes are its monitoring classes by the formulary (KB.Classify),
	// set when it is signed: the dashboard's antibiotic and injection rates.
	Classes      Classes
	SignedAt     time.Time
	ReviewerID   int64 // pharmacist's account
	ReviewedAt   time.Time
	ReviewReason string
	DispensedBy  int64
	DispensedAt  time.Time
	Version      int
	// Education is the health-education prescription issued with it
	// (双处方), stored in the same transaction; nil when no advice matched
	// its diagnoses or no Educator is set.
	Education *Education
}

// Education is a health-education prescription (健康教育处方): the advice
// of the library's version that matched the drug prescription's diagnoses.
type Education struct {
	LibraryVersion string
	Items          []EducationItem
}

// EducationItem is one piece of advice, in both languages, with the
// ICD-10 prefix that matched it.
type EducationItem struct {
	Prefix string `json:"prefix"`
	Code   string `json:"code"`
	ZH     string `json:"zh"`
	EN     string `json:"en"`
}

// Educator picks the health-education advice for a prescription's
// diagnoses from the county's edition of the advice library
// (healthedu.Editions, or one healthedu.Library for every county); nil
// when none matches.
type Educator interface {
	Educate(ctx context.Context, county string, diagnoses []string) *Education
}

// ReviewTime is how long the prescription waited for its review: zero for
// an automatic pass or while pending.
func (s *Signed) ReviewTime() time.Duration {
	if s.ReviewedAt.IsZero() || s.Status == StatusPassed {
		return 0
	}
	return s.ReviewedAt.Sub(s.SignedAt)
}

// Repository stores signed prescriptions. Every write carries its audit
// row, saved in the same transaction.
type Repository interface {
	// SavePrescription stores a new signed prescription and sets its ID.
	SavePrescription(ctx context.Context, s *Signed, ev audit.Event) error
	// Prescription returns one; ENOTFOUND if none.
	Prescription(ctx context.Context, id int64) (*Signed, error)
	// PendingPrescriptions lists a county's prescriptions waiting for a
	// pharmacist, oldest first.
	PendingPrescriptions(ctx context.Context, county string, limit int) ([]Signed, error)
	// UpdatePrescription saves s's status, review and dispensing fields if
	// it is still at s.Version in status from (ECONFLICT otherwise), and
	// increments the version.
	UpdatePrescription(ctx context.Context, s *Signed, from Status, ev audit.Event) error
	// ReviewRows returns the indicator rows of a county's prescriptions
	// signed in [from, to).
	ReviewRows(ctx context.Context, county string, from, to time.Time) ([]ReviewRow, error)
}

// Service signs, reviews and dispenses prescriptions.
type Service struct {
	Repo      Repository
	Engine    *Engine
	Residents *resident.Service
	Orgs      *org.Service
	Audit     audit.Recorder
	Now       func() time.Time
	// Education issues the health-education prescription with every
	// signed one whose diagnoses it has advice for (双处方); nil: none.
	Education Educator
}

func prescriber(r care.Role) bool {
	return r == care.RoleVillageDoctor || r == care.RoleTownshipDoctor || r == care.RoleCountySpecialist
}

// Sign validates, reviews and stores a prescription for a resident the
// prescriber may see. The record sets the patient's age and the actor's
// institution its level; the date of issue is today. A prescription with
// a blocking finding is not stored: Sign returns the findings and EINVALID
// (rx.blocked) so the prescriber can change it. Returns EFORBIDDEN for a
// role that does not prescribe, ENOTFOUND for a resident out of scope.
func (s *Service) Sign(ctx context.Context, a care.Actor, residentID int64, p *Prescription) (*Signed, []Finding, error) {
	res, today, err := s.prepare(ctx, a, residentID, p)
	if err != nil {
		return nil, nil, err
	}
	fs := s.Engine.Review(p, today, nil)
	outcome := Outcome(fs)
	if outcome == Block {
		return nil, fs, care.Errorf(care.EINVALID, "rx.blocked")
	}
	sg := &Signed{CountyCode: res.CountyCode, ResidentID: res.ID, InstitutionID: a.InstitutionID, PrescriberID: a.PractitionerID,
		AccountID: a.AccountID, Prescription: *p, Findings: fs, Outcome: outcome, Status: StatusPassed, SignedAt: s.Now().UTC()}
	// An online prescription takes effect only after a pharmacist's review
	// (互联网诊疗管理办法（试行）2018 [U 条款号]: 在线开具的处方必须有医师电子签名，
	// 经药师审核后方可配送), so it never passes automatically.
	if outcome == Warn || p.Online {
		sg.Status = StatusPending
	}
	sg.Classes = s.Engine.KB.Classify(p)
	if s.Education != nil {
		sg.Education = s.Education.Educate(ctx, res.CountyCode, p.AllDiagnoses())
	}
	ev := audit.New(ctx, a, ActSign, res.ID)
	ev.CountyCode, ev.Detail = res.CountyCode, fmt.Sprintf("lines=%d status=%s findings=%d", len(p.Lines), sg.Status, len(fs))
	if sg.Education != nil {
		ev.Detail += fmt.Sprintf(" education=%d", len(sg.Education.Items))
	}
	if err := s.Repo.SavePrescription(ctx, sg, ev); err != nil {
		return nil, fs, err
	}
	return sg, fs, nil
}

// prepare checks the prescriber and the resident, sets what the server
// decides (date of issue, institution level, the patient's age) and
// validates p.
func (s *Service) prepare(ctx context.Context, a care.Actor, residentID int64, p *Prescription) (*resident.Resident, care.Date, error) {
	if !prescriber(a.Role) {
		return nil, care.Date{}, care.Errorf(care.EFORBIDDEN, "error.forbidden")
	}
	res, err := s.Residents.Get(ctx, a, residentID)
	if err != nil {
		return nil, care.Date{}, err
	}
	tree, err := s.Orgs.Tree(ctx)
	if err != nil {
		return nil, care.Date{}, err
	}
	inst := tree.Get(a.InstitutionID)
	if inst == nil {
		return nil, care.Date{}, care.Errorf(care.EFORBIDDEN, "error.forbidden")
	}
	today := care.Today(s.Now())
	p.Issued, p.InstitutionLevel = today, string(inst.Level)
	p.Patient.AgeMonths = ageMonths(res.BirthDate, today)
	if p.Reason = strings.TrimSpace(p.Reason); utf8.RuneCountInString(p.Reason) > 200 {
		return nil, care.Date{}, care.Invalid([]care.FieldError{{Field: "reason", Key: "field.too_long", Args: []any{200}}})
	}
	if err := s.Engine.KB.Validate(p); err != nil {
		return nil, care.Date{}, err
	}
	return res, today, nil
}

// Preview reviews a draft for a resident exactly as Sign would — same
// checks, same server-set fields — and stores nothing: the prescriber sees
// the findings before signing. The resident read is audited.
func (s *Service) Preview(ctx context.Context, a care.Actor, residentID int64, p *Prescription) ([]Finding, error) {
	_, today, err := s.prepare(ctx, a, residentID, p)
	if err != nil {
		return nil, err
	}
	return s.Engine.Review(p, today, nil), nil
}

// ageMonths is the age in whole months on day.
func ageMonths(birth, day care.Date) int {
	if birth.IsZero() {
		return 0
	}
	m := (day.Year-birth.Year)*12 + int(day.Month) - int(birth.Month)
	if day.Day < birth.Day {
		m--
	}
	return max(m, 0)
}

// Get returns a prescription the actor may see: a pharmacist of its
// county, a prescriber who may see the resident, or the resident. The read is audited.
// ENOTFOUND otherwise.
func (s *Service) Get(ctx context.Context, a care.Actor, id int64) (*Signed, error) {
	sg, err := s.Repo.Prescription(ctx, id)
	if err != nil {
		return nil, err
	}
	if err := s.mayRead(ctx, a, sg); err != nil {
		return nil, err
	}
	ev := audit.New(ctx, a, ActRead, sg.ResidentID)
	ev.CountyCode, ev.Detail = sg.CountyCode, fmt.Sprintf("prescription %d", sg.ID)
	s.Audit.Record(ctx, ev)
	return sg, nil
}

// mayRead is nil if a may read sg. (If statements rather than a tagless
// switch: gremlins cannot see a case condition, docs/mutation.md.)
func (s *Service) mayRead(ctx context.Context, a care.Actor, sg *Signed) error {
	if a.Role == care.RolePharmacist && a.CountyCode == sg.CountyCode {
		return nil
	}
	if a.Role == care.RoleResident && a.ResidentID != 0 && a.ResidentID == sg.ResidentID {
		return nil // the patient reads their own prescription (online visits, /me)
	}
	if prescriber(a.Role) {
		if _, err := s.Residents.Get(ctx, a, sg.ResidentID); err == nil {
			return nil
		}
	}
	return care.Errorf(care.ENOTFOUND, "error.not_found")
}

// residentRepo is the listing ForResident needs (store.Store has it); a
// Repository without it lists nothing.
type residentRepo interface {
	// ResidentPrescriptions lists a resident's prescriptions, newest first.
	ResidentPrescriptions(ctx context.Context, county string, residentID int64, limit int) ([]Signed, error)
}

// MaxResidentPrescriptions bounds ForResident's list.
const MaxResidentPrescriptions = 200

// ForResident lists a resident's prescriptions, newest first (the last
// MaxResidentPrescriptions), for those who may read them (mayRead:
// prescribers and pharmacists, each with the resident in scope; the
// resident themself). The resident read and the listing are audited.
// Errors: ENOTFOUND (the resident is not in scope), EFORBIDDEN (another role).
func (s *Service) ForResident(ctx context.Context, a care.Actor, residentID int64) ([]Signed, error) {
	if !prescriber(a.Role) && a.Role != care.RolePharmacist && a.Role != care.RoleResident {
		return nil, care.Errorf(care.EFORBIDDEN, "error.forbidden")
	}
	res, err := s.Residents.Get(ctx, a, residentID)
	if err != nil {
		return nil, err
	}
	repo, ok := s.Repo.(residentRepo)
	if !ok {
		return nil, nil
	}
	out, err := repo.ResidentPrescriptions(ctx, res.CountyCode, res.ID, MaxResidentPrescriptions)
	ev := audit.New(ctx, a, ActRead, res.ID)
	ev.CountyCode, ev.Detail = res.CountyCode, fmt.Sprintf("resident's prescriptions n=%d", len(out))
	if err != nil {
		ev.Outcome = audit.OutcomeFailed
	}
	s.Audit.Record(ctx, ev)
	return out, err
}

// Queue lists the county's prescriptions waiting for a pharmacist, oldest
// first. Pharmacists only (EFORBIDDEN); the read is audited.
func (s *Service) Queue(ctx context.Context, a care.Actor) ([]Signed, error) {
	if a.Role != care.RolePharmacist {
		return nil, care.Errorf(care.EFORBIDDEN, "error.forbidden")
	}
	list, err := s.Repo.PendingPrescriptions(ctx, a.CountyCode, 200)
	if err != nil {
		return nil, err
	}
	ev := audit.New(ctx, a, ActQueue, 0)
	ev.Detail = fmt.Sprintf("pending n=%d", len(list))
	s.Audit.Record(ctx, ev)
	return list, nil
}

// Decide records a pharmacist's decision on a pending prescription at
// version: approve, reject or return (the last two with a reason). The
// review time is recorded. EINVALID for a bad decision or a missing
// reason, ECONFLICT if the prescription is no longer pending at version.
func (s *Service) Decide(ctx context.Context, a care.Actor, id int64, decision Status, reason string, version int) (*Signed, error) {
	if a.Role != care.RolePharmacist {
		return nil, care.Errorf(care.EFORBIDDEN, "error.forbidden")
	}
	reason = strings.TrimSpace(reason)
	var fs []care.FieldError
	switch decision {
	case StatusApproved:
	case StatusRejected, StatusReturned:
		if reason == "" {
			fs = append(fs, care.FieldError{Field: "reason", Key: "rx.reason_required"})
		}
	default:
		fs = append(fs, care.FieldError{Field: "decision", Key: "rx.decision"})
	}
	if utf8.RuneCountInString(reason) > 200 {
		fs = append(fs, care.FieldError{Field: "reason", Key: "field.too_long", Args: []any{200}})
	}
	if err := care.Invalid(fs); err != nil {
		return nil, err
	}
	sg, err := s.Repo.Prescription(ctx, id)
	if err != nil {
		return nil, err
	}
	if sg.CountyCode != a.CountyCode {
		return nil, care.Errorf(care.ENOTFOUND, "error.not_found")
	}
	if sg.Status != StatusPending || sg.Version != version {
		return nil, care.Errorf(care.ECONFLICT, "rx.not_pending")
	}
	sg.Status, sg.ReviewReason, sg.ReviewerID, sg.ReviewedAt = decision, reason, a.AccountID, s.Now().UTC()
	ev := audit.New(ctx, a, ActDecide, sg.ResidentID)
	ev.CountyCode, ev.Detail = sg.CountyCode, fmt.Sprintf("prescription %d %s after %s", sg.ID, decision, sg.ReviewTime().Round(time.Second))
	if err := s.Repo.UpdatePrescription(ctx, sg, StatusPending, ev); err != nil {
		return nil, err
	}
	return sg, nil
}

// ActIndicators is the audit action of reading the review indicators.
const ActIndicators = "rx.indicators"

// ReviewRow is what the indicators need of one prescription.
type ReviewRow struct {
	Status     Status
	Outcome    Severity
	SignedAt   time.Time
	ReviewedAt time.Time
}

// Indicators are a county's regional review figures for prescriptions
// signed in [From, To]: volumes by outcome and status, and the review time
// of those a pharmacist decided (审方时长, an indicator of the county
// pharmacy). Aggregates only.
type Indicators struct {
	From, To          care.Date
	Signed            int
	AutoPassed        int // clean: took effect without a pharmacist
	Flagged           int // sent to a pharmacist (flagged, or clean but online)
	ByStatus          map[Status]int
	Decided           int
	MedianReview      time.Duration
	P90Review         time.Duration
	ReviewedWithinDay int // decided within 24 hours
}

// ComputeIndicators summarises rows (any order).
func ComputeIndicators(from, to care.Date, rows []ReviewRow) Indicators {
	in := Indicators{From: from, To: to, ByStatus: map[Status]int{}}
	var times []time.Duration
	for _, r := range rows {
		in.Signed++
		in.ByStatus[r.Status]++
		// Sent to a pharmacist: flagged by the engine, or clean but online
		// (never passes automatically), which shows as pending or reviewed.
		toPharmacist := r.Outcome == Warn || r.Status == StatusPending || !r.ReviewedAt.IsZero()
		if toPharmacist {
			in.Flagged++
		} else {
			in.AutoPassed++
		}
		if toPharmacist && !r.ReviewedAt.IsZero() {
			d := r.ReviewedAt.Sub(r.SignedAt)
			times = append(times, d)
			if d <= 24*time.Hour {
				in.ReviewedWithinDay++
			}
		}
	}
	in.Decided = len(times)
	if len(times) > 0 {
		slices.Sort(times)
		in.MedianReview = times[len(times)/2]
		in.P90Review = times[min(len(times)-1, len(times)*9/10)]
	}
	return in
}

// Indicators returns the county's review indicators for prescriptions
// signed from `from` to `to` (dates in China time, inclusive). Pharmacists
// and analysts only (EFORBIDDEN); EINVALID for a reversed or over-a-year
// period. The read is audited.
func (s *Service) Indicators(ctx context.Context, a care.Actor, from, to care.Date) (*Indicators, error) {
	if a.Role != care.RolePharmacist && a.Role != care.RoleAnalyst {
		return nil, care.Errorf(care.EFORBIDDEN, "error.forbidden")
	}
	if from.IsZero() || to.IsZero() || to.Before(from) || to.After(from.AddDays(366)) {
		return nil, care.Invalid([]care.FieldError{{Field: "from", Key: "rx.period"}})
	}
	start := time.Date(from.Year, from.Month, from.Day, 0, 0, 0, 0, care.Shanghai)
	end := time.Date(to.Year, to.Month, to.Day, 0, 0, 0, 0, care.Shanghai).AddDate(0, 0, 1)
	rows, err := s.Repo.ReviewRows(ctx, a.CountyCode, start, end)
	if err != nil {
		return nil, err
	}
	in := ComputeIndicators(from, to, rows)
	ev := audit.New(ctx, a, ActIndicators, 0)
	ev.Detail = fmt.Sprintf("%s..%s n=%d", from, to, in.Signed)
	s.Audit.Record(ctx, ev)
	return &in, nil
}
