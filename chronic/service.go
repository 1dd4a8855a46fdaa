package chronic

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"countycare/access"
	"countycare/audit"
	"countycare/care"
	"countycare/notify"
	"countycare/org"
	"countycare/points"
	"countycare/resident"
)

// Repository is the storage chronic management needs; store.Store implements it.
type Repository interface {
	// Enroll stores a registration (ECONFLICT if one is active for the disease).
	Enroll(ctx context.Context, r *Registration, ev audit.Event) error
	Registration(ctx context.Context, id int64) (*Registration, error)
	Registrations(ctx context.Context, county string, residentID int64) ([]Registration, error)
	// RecentOutcomes returns the last n visits' outcomes, oldest first.
	RecentOutcomes(ctx context.Context, registrationID int64, n int) ([]Outcome, error)
	// SaveVisit stores a visit, the registration's new state (at r.Version,
	// ECONFLICT if stale) and a tier change if any, in one transaction; a
	// second visit the same day is ECONFLICT.
	// award, if not nil, is the resident's health points for an attended
	// follow-up, saved in the same transaction (once per event reference).
	SaveVisit(ctx context.Context, v *StoredVisit, r *Registration, change *TierChange, link *access.CareLink, award *points.Entry, ev audit.Event) error
	Visits(ctx context.Context, registrationID int64, limit int) ([]StoredVisit, error)
	SetRegistrationStatus(ctx context.Context, r *Registration, ev audit.Event) error
	Overdue(ctx context.Context, county string, clinics []int64, today care.Date, limit int) ([]Overdue, error)
	SaveCall(ctx context.Context, c *Call, ev audit.Event) error
	Handoffs(ctx context.Context, institutionID int64, open bool, limit int) ([]TierChange, error)
	AcknowledgeHandoff(ctx context.Context, id, institutionID, by int64, at time.Time, ev audit.Event) error
	TierCounts(ctx context.Context, county string, clinics []int64) (map[int64]map[Tier]int, error)
	TierChanges(ctx context.Context, registrationID int64) ([]TierChange, error)
	// ChronicPeriod streams the registrations under management in [from, to]
	// of the clinics (nil: the whole county) with their visits of the period.
	ChronicPeriod(ctx context.Context, county string, clinics []int64, from, to care.Date, fn func(*PatientPeriod) error) error
	// ChronicUnitYears streams the per-unit counters of a calendar year of
	// the clinics (nil: the whole county), computing them first if the year
	// has none yet (a new year).
	ChronicUnitYears(ctx context.Context, county string, clinics []int64, year int, fn func(*UnitYear) error) error
	// AdultCounts counts active residents aged ≥ minAge per village clinic.
	AdultCounts(ctx context.Context, county string, clinics []int64, minAge int, day care.Date) (map[int64]int, error)
	// QueueMessages stores messages in the outbox with ev, skipping residents
	// who already had perWeek messages of the purpose since since.
	QueueMessages(ctx context.Context, msgs []notify.Message, perWeek int, since time.Time, ev audit.Event) (int, error)
}

// Service is chronic disease management: registries, follow-ups,
// tiers and hand-offs, overdue lists. Every call is scoped by the resident
// registry (resident.Service) and audited.
type Service struct {
	Repo      Repository
	Residents *resident.Service
	Orgs      interface {
		Tree(ctx context.Context) (*org.Tree, error)
	}
	Audit  audit.Recorder
	Config Config
	Now    func() time.Time
	// Points, if set, awards health points for each attended (face-to-face) follow-up.
	Points *points.Service

	mu     sync.Mutex
	adults map[string]adultsEntry // see adultCounts
}

// Audit actions of chronic management.
const (
	ActEnroll  = "chronic.enroll"
	ActVisit   = "chronic.visit"
	ActStatus  = "chronic.status"
	ActCall    = "chronic.call"
	ActHandoff = "chronic.handoff_ack"
	ActRead    = "chronic.read"
	ActOverdue = "chronic.overdue"
	ActReport  = "chronic.indicators"
	ActRemind  = "chronic.reminders"
)

// Responsible returns the institution that manages a tier for a patient of
// clinic: the village clinic (green), its township center (yellow) or the
// community's lead county hospital (red).
func Responsible(t *org.Tree, clinicID int64, tier Tier) int64 {
	switch tier {
	case Green:
		return clinicID
	case Yellow:
		for in := t.Get(clinicID); in != nil; in = t.Get(in.ParentID) {
			if in.Kind == org.KindTownshipHC || in.Kind == org.KindCentralHC || in.Kind == org.KindSubCenter {
				return in.ID
			}
		}
	case Red:
		if c := t.Community(clinicID); c != nil {
			if c.LeadID != 0 {
				return c.LeadID
			}
			if hs := t.OfKind(c.ID, org.KindCountyHospital); len(hs) > 0 {
				return hs[0].ID
			}
		}
	}
	return clinicID
}

// Enroll registers a resident in a disease registry, managed by their
// village clinic. Errors: EINVALID, ENOTFOUND, ECONFLICT (already registered).
func (s *Service) Enroll(ctx context.Context, a care.Actor, residentID int64, d Disease, source string, on care.Date, note string) (*Registration, error) {
	res, err := s.Residents.Get(ctx, a, residentID)
	if err != nil {
		return nil, err
	}
	var fs []care.FieldError
	if !d.Valid() {
		fs = append(fs, care.FieldError{Field: "disease", Key: "chronic.disease.invalid"})
	}
	if source != SourceDiagnosis && source != SourceReferral && source != SourceScreening {
		fs = append(fs, care.FieldError{Field: "source", Key: "chronic.source.invalid"})
	}
	today := care.Today(s.Now())
	if on.IsZero() || on.After(today) || on.Before(res.BirthDate) {
		fs = append(fs, care.FieldError{Field: "enrolled_on", Key: "chronic.date.invalid"})
	}
	if note = strings.TrimSpace(note); utf8.RuneCountInString(note) > 200 {
		fs = append(fs, care.FieldError{Field: "note", Key: "field.too_long", Args: []any{200}})
	}
	if res.Status != resident.StatusActive {
		fs = append(fs, care.FieldError{Field: "resident_id", Key: "chronic.resident_not_active"})
	}
	if err := care.Invalid(fs); err != nil {
		return nil, err
	}
	r := &Registration{County: res.CountyCode, ResidentID: res.ID, Disease: d, Status: StatusActive, Source: source, EnrolledOn: on,
		ClinicID: res.VillageID, DoctorID: a.PractitionerID, Tier: s.Config.UnassessedTier, TierSince: on, NextVisit: on, Note: note}
	if d == Tuberculosis {
		r.TBPhase, r.TBSupervisor = TBIntensive, SupervisorStaff
		r.NextVisit = care.Today(TBFirstVisitDue(s.Now(), s.Config))
	}
	ev := audit.New(ctx, a, ActEnroll, res.ID)
	ev.CountyCode, ev.Detail = res.CountyCode, fmt.Sprintf("%s from %s", d, source)
	if err := s.Repo.Enroll(ctx, r, ev); err != nil {
		if care.IsCode(err, care.ECONFLICT) {
			return nil, care.Invalid([]care.FieldError{{Field: "disease", Key: "chronic.already_registered"}})
		}
		return nil, err
	}
	return r, nil
}

// load returns a registration whose resident the actor may see.
func (s *Service) load(ctx context.Context, a care.Actor, id int64) (*Registration, *resident.Resident, error) {
	r, err := s.Repo.Registration(ctx, id)
	if care.IsCode(err, care.ENOTFOUND) {
		return nil, nil, care.Errorf(care.ENOTFOUND, "chronic.not_found")
	}
	if err != nil {
		return nil, nil, err
	}
	res, err := s.Residents.Get(ctx, a, r.ResidentID)
	if err != nil {
		return nil, nil, err
	}
	return r, res, nil
}

// ConfirmError is the error for a visit with extreme values: the clinician
// must look again and confirm (Fields hold the warnings).
const KeyConfirm = "chronic.confirm_needed"

// RecordVisit records a follow-up: it refuses impossible values, asks for
// confirmation of extreme ones (unless confirmed), classifies the visit per
// spec, dates the next visit, recomputes the tier and, when it changes,
// hands the patient to the level that now manages them. It returns the
// stored visit with its outcome (urgent reasons first). Errors: EINVALID
// (faults, or KeyConfirm), ENOTFOUND, ECONFLICT (a second visit that day,
// or the registration changed meanwhile).
func (s *Service) RecordVisit(ctx context.Context, a care.Actor, registrationID int64, v Visit, lifestyle string, confirmed bool) (*StoredVisit, error) {
	r, res, err := s.load(ctx, a, registrationID)
	if err != nil {
		return nil, err
	}
	if r.Status != StatusActive {
		return nil, care.Errorf(care.ECONFLICT, "chronic.not_active")
	}
	v.Disease = r.Disease
	today := care.Today(s.Now())
	errs, warns := CheckVisit(&v, res.BirthDate, today)
	if utf8.RuneCountInString(lifestyle) > 200 {
		errs = append(errs, care.FieldError{Field: "lifestyle", Key: "field.too_long", Args: []any{200}})
	}
	if err := care.Invalid(errs); err != nil {
		return nil, err
	}
	if len(warns) > 0 && !confirmed {
		return nil, &care.Error{Code: care.EINVALID, Key: KeyConfirm, Fields: warns}
	}
	v.PriorStrokeMI = v.PriorStrokeMI || r.PriorStrokeMI
	o := Assess(&v, r, res.Age(v.Date), s.Config)
	hist, err := s.Repo.RecentOutcomes(ctx, r.ID, 5)
	if err != nil {
		return nil, err
	}
	tier, reason := TierFor(append(hist, o), s.Config)
	sv := &StoredVisit{Visit: v, County: r.County, RegistrationID: r.ID, ResidentID: r.ResidentID, Lifestyle: strings.TrimSpace(lifestyle),
		Outcome: o, RecordedBy: a.AccountID, InstitutionID: a.InstitutionID}
	next := *r
	if v.Date.After(r.LastVisit) || r.LastVisit.IsZero() {
		next.LastClass, next.LastVisit, next.NextVisit = o.Class, v.Date, o.NextVisit
		next.Risk = OverdueRisk(&v, o.Class, s.Config)
	}
	var change *TierChange
	var link *access.CareLink
	if tier != r.Tier {
		t, err := s.Orgs.Tree(ctx)
		if err != nil {
			return nil, err
		}
		to := Responsible(t, r.ClinicID, tier)
		change = &TierChange{County: r.County, RegistrationID: r.ID, ResidentID: r.ResidentID, From: r.Tier, To: tier, Reason: reason, ToInstitution: to}
		next.Tier, next.TierSince = tier, v.Date
		if tier == Red {
			// The county hospital's staff need to see the patient they now manage.
			link = &access.CareLink{CountyCode: r.County, ResidentID: r.ResidentID, InstitutionID: to, Kind: LinkKindChronic,
				Reason: string(r.Disease) + " red tier", CreatedBy: a.AccountID}
		}
	}
	ev := audit.New(ctx, a, ActVisit, r.ResidentID)
	ev.CountyCode = r.County
	ev.Detail = fmt.Sprintf("%s visit %s: %s next %s tier %s", r.Disease, v.Date, o.Class, o.NextVisit, tier)
	var award *points.Entry
	if s.Points != nil && v.FaceToFace {
		award = s.Points.Entry(r.County, r.ResidentID, points.FollowUp, fmt.Sprintf("chronic_visit:%d:%s", r.ID, v.Date), v.Date, a.AccountID)
	}
	if err := s.Repo.SaveVisit(ctx, sv, &next, change, link, award, ev); err != nil {
		return nil, err
	}
	return sv, nil
}

// LinkKindChronic is the care link that lets a county hospital see a red-tier patient.
const LinkKindChronic = "chronic"

// SetStatus changes a registration's status (transferred, moved, died, closed, or back to active).
func (s *Service) SetStatus(ctx context.Context, a care.Actor, id int64, status string) (*Registration, error) {
	r, _, err := s.load(ctx, a, id)
	if err != nil {
		return nil, err
	}
	ok := false
	for _, x := range RegistrationStatuses {
		ok = ok || x == status
	}
	if !ok {
		return nil, care.Invalid([]care.FieldError{{Field: "status", Key: "chronic.status.invalid"}})
	}
	r.Status = status
	if status != StatusActive {
		r.ClosedOn = care.Today(s.Now())
	} else {
		r.ClosedOn = care.Date{}
	}
	ev := audit.New(ctx, a, ActStatus, r.ResidentID)
	ev.CountyCode, ev.Detail = r.County, fmt.Sprintf("%s registration %d → %s", r.Disease, r.ID, status)
	return r, s.Repo.SetRegistrationStatus(ctx, r, ev)
}

// ForResident lists a resident's registrations.
func (s *Service) ForResident(ctx context.Context, a care.Actor, residentID int64) ([]Registration, error) {
	res, err := s.Residents.Get(ctx, a, residentID)
	if err != nil {
		return nil, err
	}
	return s.Repo.Registrations(ctx, res.CountyCode, res.ID)
}

// RecordOf returns a resident's registrations with the visits of each
// (newest first, at most 100 a registration), for one audited read of the
// resident (resident.Service.Get): the FHIR Observation search reads a
// patient's record through it.
func (s *Service) RecordOf(ctx context.Context, a care.Actor, residentID int64) ([]Registration, map[int64][]StoredVisit, error) {
	regs, err := s.ForResident(ctx, a, residentID)
	if err != nil {
		return nil, nil, err
	}
	visits := make(map[int64][]StoredVisit, len(regs))
	for _, r := range regs {
		if visits[r.ID], err = s.Repo.Visits(ctx, r.ID, 100); err != nil {
			return nil, nil, err
		}
	}
	return regs, visits, nil
}

// RegistrationsOf lists the registrations of a resident the caller has
// already read through resident.Service.Get in this request (which
// checked the scope and wrote the audit row): the resident page uses it so
// one page view is one audited read.
func (s *Service) RegistrationsOf(ctx context.Context, r *resident.Resident) ([]Registration, error) {
	return s.Repo.Registrations(ctx, r.CountyCode, r.ID)
}

// Detail returns a registration with its visits (newest first) and tier history.
func (s *Service) Detail(ctx context.Context, a care.Actor, id int64) (*Registration, []StoredVisit, []TierChange, error) {
	r, _, err := s.load(ctx, a, id)
	if err != nil {
		return nil, nil, nil, err
	}
	vs, err := s.Repo.Visits(ctx, id, 100)
	if err != nil {
		return nil, nil, nil, err
	}
	ts, err := s.Repo.TierChanges(ctx, id)
	return r, vs, ts, err
}

// Overdue lists the actor's overdue patients, high risk first, hiding those
// a recent call put aside. The read is audited.
func (s *Service) Overdue(ctx context.Context, a care.Actor) ([]Overdue, error) {
	clinics, err := s.Residents.ManagedClinics(ctx, a)
	if err != nil {
		return nil, err
	}
	list, err := s.Repo.Overdue(ctx, a.CountyCode, clinics, care.Today(s.Now()), 300)
	if err != nil {
		return nil, err
	}
	ev := audit.New(ctx, a, ActOverdue, 0)
	ev.Detail = fmt.Sprintf("overdue list n=%d", len(list))
	s.Audit.Record(ctx, ev)
	return list, nil
}

// RecordCall records a call to an overdue patient; the outcome hides them
// from the list for Config.CallHideDays. Errors: EINVALID, ENOTFOUND.
func (s *Service) RecordCall(ctx context.Context, a care.Actor, registrationID int64, outcome string) (*Call, error) {
	r, _, err := s.load(ctx, a, registrationID)
	if err != nil {
		return nil, err
	}
	days, ok := s.Config.CallHideDays[outcome]
	if !ok {
		return nil, care.Invalid([]care.FieldError{{Field: "outcome", Key: "chronic.call.invalid"}})
	}
	c := &Call{County: r.County, RegistrationID: r.ID, Outcome: outcome, HideUntil: care.Today(s.Now()).AddDays(days), CalledBy: a.AccountID}
	ev := audit.New(ctx, a, ActCall, r.ResidentID)
	ev.CountyCode, ev.Detail = r.County, "call: "+outcome
	return c, s.Repo.SaveCall(ctx, c, ev)
}

// Handoffs lists the tier hand-offs waiting for the actor's institution.
func (s *Service) Handoffs(ctx context.Context, a care.Actor, open bool) ([]TierChange, error) {
	return s.Repo.Handoffs(ctx, a.InstitutionID, open, 200)
}

// Acknowledge acknowledges a hand-off to the actor's institution.
// Errors: ENOTFOUND (not addressed to it), ECONFLICT (already acknowledged).
func (s *Service) Acknowledge(ctx context.Context, a care.Actor, id int64) error {
	ev := audit.New(ctx, a, ActHandoff, 0)
	ev.Detail = fmt.Sprintf("hand-off %d", id)
	return s.Repo.AcknowledgeHandoff(ctx, id, a.InstitutionID, a.AccountID, s.Now(), ev)
}

// Board counts active registrations by tier for each clinic in the
// actor's managed scope (a township's villages, or one village).
func (s *Service) Board(ctx context.Context, a care.Actor) (map[int64]map[Tier]int, error) {
	clinics, err := s.Residents.ManagedClinics(ctx, a)
	if err != nil {
		return nil, err
	}
	return s.Repo.TierCounts(ctx, a.CountyCode, clinics)
}
