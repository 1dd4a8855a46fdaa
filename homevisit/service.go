package homevisit

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"countycare/audit"
	"countycare/care"
	"countycare/family"
	"countycare/org"
	"countycare/resident"
)

// Audit actions.
const (
	ActRequest  = "homevisit.request"
	ActSchedule = "homevisit.schedule"
	ActRecord   = "homevisit.record"
	ActCancel   = "homevisit.cancel"
	ActRead     = "homevisit.read"
	ActList     = "homevisit.list"
	ActFlag     = "homevisit.flag"
)

// Limits of what is typed.
const (
	MinReason = 2
	MaxReason = 200
	MaxNote   = 300
	ListMax   = 300
)

// Repository is the storage of home visits and care flags; store.Store
// implements it. Every write carries its audit row in its transaction.
type Repository interface {
	// CreateHomeVisit stores a request and sets ID. Errors: ECONFLICT
	// homevisit.open_exists (the resident has an open request).
	CreateHomeVisit(ctx context.Context, v *Visit, ev audit.Event) error
	// HomeVisit reads one visit of a county. Errors: ENOTFOUND.
	HomeVisit(ctx context.Context, county string, id int64) (*Visit, error)
	// UpdateHomeVisit stores v if it is still at v.Version (bumped).
	// Errors: ECONFLICT homevisit.stale.
	UpdateHomeVisit(ctx context.Context, v *Visit, ev audit.Event) error
	// HomeVisitsOf lists a resident's visits, newest first.
	HomeVisitsOf(ctx context.Context, county string, residentID int64) ([]Visit, error)
	// OpenHomeVisits lists the requested and scheduled visits of the
	// residents managed by the clinics, the soonest first.
	OpenHomeVisits(ctx context.Context, county string, clinics []int64, limit int) ([]Visit, error)
	// SetCareFlag stores (or replaces) a resident's flag.
	SetCareFlag(ctx context.Context, f *Flag, ev audit.Event) error
	// ClearCareFlag removes a flag. Errors: ENOTFOUND.
	ClearCareFlag(ctx context.Context, county string, residentID int64, kind string, ev audit.Event) error
	// CareFlagsOf lists a resident's flags.
	CareFlagsOf(ctx context.Context, county string, residentID int64) ([]Flag, error)
	// FlaggedResidents lists the flagged residents of the clinics by
	// village, with the date of each one's last visit done.
	FlaggedResidents(ctx context.Context, county string, clinics []int64, limit int) ([]Flag, error)
}

// Residents reads residents within the actor's scope, audited
// (resident.Service).
type Residents interface {
	Get(ctx context.Context, a care.Actor, id int64) (*resident.Resident, error)
	ManagedClinics(ctx context.Context, a care.Actor) ([]int64, error)
}

// Teams reads the county's family-doctor teams (family.Service).
type Teams interface {
	Team(ctx context.Context, a care.Actor, id int64) (*family.Team, error)
}

// Orgs gives the organisation tree (org.Service).
type Orgs interface {
	Tree(ctx context.Context) (*org.Tree, error)
}

// Service runs home visits.
type Service struct {
	Repo      Repository
	Residents Residents
	Teams     Teams
	Orgs      Orgs
	Audit     audit.Recorder
	Config    Config
	Now       func() time.Time
}

// Writer reports whether a may schedule, record and cancel visits and
// flag residents: a village doctor or a township health center's staff.
func Writer(a care.Actor) bool {
	return (a.Role == care.RoleVillageDoctor || a.Role == care.RoleTownshipDoctor) && a.InstitutionID != 0
}

// Request asks for a home visit for a resident: by the resident on /me
// (their own record or a ward's) or by a doctor whose scope covers them.
// Errors: EFORBIDDEN (another role), ENOTFOUND (out of scope, audited),
// EINVALID (a reason of fewer than 2 or more than 200 characters),
// ECONFLICT homevisit.open_exists.
func (s *Service) Request(ctx context.Context, a care.Actor, residentID int64, reason string) (*Visit, error) {
	byResident := a.Role == care.RoleResident
	if !byResident && !Writer(a) {
		return nil, care.Errorf(care.EFORBIDDEN, "error.forbidden")
	}
	res, err := s.Residents.Get(ctx, a, residentID)
	if err != nil {
		return nil, err
	}
	reason = strings.TrimSpace(reason)
	if err := care.Invalid(checkText(nil, "reason", reason, MinReason, MaxReason)); err != nil {
		return nil, err
	}
	v := &Visit{CountyCode: res.CountyCode, ResidentID: res.ID, VillageID: res.VillageID, Reason: reason, RequestedBy: a.AccountID,
		ByResident: byResident, RequestedAt: s.Now().UTC(), Status: Requested, Version: 1}
	ev := audit.New(ctx, a, ActRequest, res.ID)
	ev.CountyCode, ev.Detail = res.CountyCode, fmt.Sprintf("home visit requested (by resident: %t)", byResident)
	if err := s.Repo.CreateHomeVisit(ctx, v, ev); err != nil {
		return nil, err
	}
	return v, nil
}

func checkText(fs []care.FieldError, field, v string, min, max int) []care.FieldError {
	switch n := utf8.RuneCountInString(v); {
	case n == 0 && min > 0:
		return append(fs, care.FieldError{Field: field, Key: "field.required"})
	case n < min || n > max:
		return append(fs, care.FieldError{Field: field, Key: "homevisit.text_length", Args: []any{min, max}})
	}
	return fs
}

// load reads visit id and its resident within a's scope (a refusal
// audited by Residents).
func (s *Service) load(ctx context.Context, a care.Actor, id int64) (*Visit, *resident.Resident, error) {
	v, err := s.Repo.HomeVisit(ctx, a.CountyCode, id)
	if err != nil {
		return nil, nil, err
	}
	res, err := s.Residents.Get(ctx, a, v.ResidentID)
	if err != nil {
		return nil, nil, care.Errorf(care.ENOTFOUND, "homevisit.not_found")
	}
	return v, res, nil
}

// ScheduleInput assigns a visit.
type ScheduleInput struct {
	TeamID         int64     `json:"team_id"`
	PractitionerID int64     `json:"practitioner_id"`
	On             care.Date `json:"on"`
	Version        int       `json:"version"`
}

// Schedule assigns an open visit to a member of an active family-doctor
// team serving the resident's village (owned by the village clinic or its
// township) on a date from today to Config.MaxAheadDays ahead; a
// scheduled visit may be scheduled again. Errors: EFORBIDDEN, ENOTFOUND,
// ECONFLICT homevisit.closed or homevisit.stale, EINVALID (an unknown or
// inactive team, a team of another township, a practitioner not in it, a
// date in the past or too far ahead).
func (s *Service) Schedule(ctx context.Context, a care.Actor, id int64, in ScheduleInput) (*Visit, error) {
	if !Writer(a) {
		return nil, care.Errorf(care.EFORBIDDEN, "error.forbidden")
	}
	v, res, err := s.load(ctx, a, id)
	if err != nil {
		return nil, err
	}
	if !v.Status.Open() {
		return nil, care.Errorf(care.ECONFLICT, "homevisit.closed")
	}
	today := care.Today(s.Now())
	var fs []care.FieldError
	switch {
	case in.On.IsZero():
		fs = append(fs, care.FieldError{Field: "on", Key: "field.required"})
	case in.On.Before(today):
		fs = append(fs, care.FieldError{Field: "on", Key: "homevisit.date_past"})
	case in.On.After(today.AddDays(s.Config.MaxAheadDays)):
		fs = append(fs, care.FieldError{Field: "on", Key: "homevisit.date_ahead", Args: []any{s.Config.MaxAheadDays}})
	}
	fs = append(fs, s.checkTeam(ctx, a, res, in)...)
	if err := care.Invalid(fs); err != nil {
		return nil, err
	}
	if in.Version != 0 && in.Version != v.Version {
		return nil, care.Errorf(care.ECONFLICT, "homevisit.stale")
	}
	v.Status, v.TeamID, v.PractitionerID, v.ScheduledOn, v.ScheduledAt = Scheduled, in.TeamID, in.PractitionerID, in.On, s.Now().UTC()
	ev := audit.New(ctx, a, ActSchedule, res.ID)
	ev.CountyCode, ev.Detail = res.CountyCode, fmt.Sprintf("home visit %d on %s, team %d, practitioner %d", v.ID, in.On, in.TeamID, in.PractitionerID)
	if err := s.Repo.UpdateHomeVisit(ctx, v, ev); err != nil {
		return nil, err
	}
	return v, nil
}

func (s *Service) checkTeam(ctx context.Context, a care.Actor, res *resident.Resident, in ScheduleInput) []care.FieldError {
	if in.TeamID == 0 {
		return []care.FieldError{{Field: "team_id", Key: "field.required"}}
	}
	t, err := s.Teams.Team(ctx, a, in.TeamID)
	if err != nil || !t.Active {
		return []care.FieldError{{Field: "team_id", Key: "homevisit.team"}}
	}
	tree, err := s.Orgs.Tree(ctx)
	if err != nil || !tree.IsWithin(res.VillageID, t.InstitutionID) {
		return []care.FieldError{{Field: "team_id", Key: "homevisit.team_area"}}
	}
	if !slices.ContainsFunc(t.Members, func(m family.Member) bool { return m.PractitionerID == in.PractitionerID }) {
		return []care.FieldError{{Field: "practitioner_id", Key: "homevisit.not_member"}}
	}
	return nil
}

// RecordInput is a visit as done.
type RecordInput struct {
	On       care.Date `json:"on"`
	Services []string  `json:"services"`
	Vitals
	Note    string `json:"note"`
	Version int    `json:"version"`
}

// Record records a scheduled visit as done. A visit cannot be recorded
// before it was scheduled: not while only requested, not dated before the
// day it was scheduled, not in the future. Errors: EFORBIDDEN, ENOTFOUND,
// ECONFLICT homevisit.not_scheduled, homevisit.closed, homevisit.stale,
// EINVALID (the date, no service or an unknown one, implausible vital
// signs, a note too long). Nothing is stored on an error.
func (s *Service) Record(ctx context.Context, a care.Actor, id int64, in RecordInput) (*Visit, error) {
	if !Writer(a) {
		return nil, care.Errorf(care.EFORBIDDEN, "error.forbidden")
	}
	v, res, err := s.load(ctx, a, id)
	if err != nil {
		return nil, err
	}
	switch v.Status {
	case Requested:
		return nil, care.Errorf(care.ECONFLICT, "homevisit.not_scheduled")
	case Done, Cancelled:
		return nil, care.Errorf(care.ECONFLICT, "homevisit.closed")
	}
	today := care.Today(s.Now())
	scheduled := care.Today(v.ScheduledAt)
	var fs []care.FieldError
	switch {
	case in.On.IsZero():
		fs = append(fs, care.FieldError{Field: "on", Key: "field.required"})
	case in.On.After(today):
		fs = append(fs, care.FieldError{Field: "on", Key: "homevisit.date_future"})
	case in.On.Before(scheduled):
		fs = append(fs, care.FieldError{Field: "on", Key: "homevisit.before_scheduled", Args: []any{scheduled.String()}})
	}
	svcs := slices.Clone(in.Services)
	slices.Sort(svcs)
	svcs = slices.Compact(svcs)
	if len(svcs) == 0 {
		fs = append(fs, care.FieldError{Field: "services", Key: "homevisit.services_none"})
	}
	for _, c := range svcs {
		if !known(s.Config.Services, c) {
			fs = append(fs, care.FieldError{Field: "services", Key: "homevisit.service_unknown"})
			break
		}
	}
	fs = append(fs, in.Vitals.Check()...)
	in.Note = strings.TrimSpace(in.Note)
	fs = checkText(fs, "note", in.Note, 0, MaxNote)
	if err := care.Invalid(fs); err != nil {
		return nil, err
	}
	if in.Version != 0 && in.Version != v.Version {
		return nil, care.Errorf(care.ECONFLICT, "homevisit.stale")
	}
	v.Status, v.VisitedOn, v.Services, v.Vitals, v.Note, v.ClosedBy = Done, in.On, svcs, in.Vitals, in.Note, a.AccountID
	ev := audit.New(ctx, a, ActRecord, res.ID)
	ev.CountyCode, ev.Detail = res.CountyCode, fmt.Sprintf("home visit %d done %s: %s", v.ID, in.On, strings.Join(svcs, ","))
	if err := s.Repo.UpdateHomeVisit(ctx, v, ev); err != nil {
		return nil, err
	}
	return v, nil
}

// Cancel cancels an open visit with a reason: by a doctor in scope, or by
// the resident who asked for it on /me. Errors: EFORBIDDEN, ENOTFOUND,
// ECONFLICT homevisit.closed or homevisit.stale, EINVALID (the reason).
func (s *Service) Cancel(ctx context.Context, a care.Actor, id int64, reason string, version int) (*Visit, error) {
	if a.Role != care.RoleResident && !Writer(a) {
		return nil, care.Errorf(care.EFORBIDDEN, "error.forbidden")
	}
	v, res, err := s.load(ctx, a, id)
	if err != nil {
		return nil, err
	}
	if a.Role == care.RoleResident && !v.ByResident {
		return nil, care.Errorf(care.EFORBIDDEN, "homevisit.not_yours")
	}
	if !v.Status.Open() {
		return nil, care.Errorf(care.ECONFLICT, "homevisit.closed")
	}
	reason = strings.TrimSpace(reason)
	if err := care.Invalid(checkText(nil, "reason", reason, MinReason, MaxReason)); err != nil {
		return nil, err
	}
	if version != 0 && version != v.Version {
		return nil, care.Errorf(care.ECONFLICT, "homevisit.stale")
	}
	v.Status, v.CancelReason, v.ClosedBy = Cancelled, reason, a.AccountID
	ev := audit.New(ctx, a, ActCancel, res.ID)
	ev.CountyCode, ev.Detail = res.CountyCode, fmt.Sprintf("home visit %d cancelled", v.ID)
	if err := s.Repo.UpdateHomeVisit(ctx, v, ev); err != nil {
		return nil, err
	}
	return v, nil
}

// OfResident lists a resident's visits and flags, audited. Errors:
// ENOTFOUND (out of scope).
func (s *Service) OfResident(ctx context.Context, a care.Actor, residentID int64) ([]Visit, []Flag, error) {
	res, err := s.Residents.Get(ctx, a, residentID)
	if err != nil {
		return nil, nil, err
	}
	vs, err := s.Repo.HomeVisitsOf(ctx, res.CountyCode, res.ID)
	if err != nil {
		return nil, nil, err
	}
	fl, err := s.Repo.CareFlagsOf(ctx, res.CountyCode, res.ID)
	if err != nil {
		return nil, nil, err
	}
	s.audit(ctx, a, ActRead, res.ID, res.CountyCode, fmt.Sprintf("%d home visits, %d flags", len(vs), len(fl)))
	return vs, fl, nil
}

// Open lists the open visits of the residents a manages (a village
// doctor's clinic, a township's villages), audited. Errors: EFORBIDDEN.
func (s *Service) Open(ctx context.Context, a care.Actor) ([]Visit, error) {
	return managed(ctx, s, a, "open home visits", func(clinics []int64) ([]Visit, error) {
		return s.Repo.OpenHomeVisits(ctx, a.CountyCode, clinics, ListMax)
	})
}

// Flagged lists the bedridden and disabled residents a manages, by
// village, with their last visit, audited. Errors: EFORBIDDEN.
func (s *Service) Flagged(ctx context.Context, a care.Actor) ([]Flag, error) {
	return managed(ctx, s, a, "bedridden/disabled", func(clinics []int64) ([]Flag, error) {
		return s.Repo.FlaggedResidents(ctx, a.CountyCode, clinics, ListMax)
	})
}

// managed runs a list over the clinics whose residents a manages and
// audits it (what n=…).
func managed[T any](ctx context.Context, s *Service, a care.Actor, what string, list func(clinics []int64) ([]T, error)) ([]T, error) {
	if !Writer(a) {
		return nil, care.Errorf(care.EFORBIDDEN, "error.forbidden")
	}
	clinics, err := s.Residents.ManagedClinics(ctx, a)
	if err != nil {
		return nil, err
	}
	out, err := list(clinics)
	if err != nil {
		return nil, err
	}
	s.audit(ctx, a, ActList, 0, a.CountyCode, fmt.Sprintf("%s n=%d", what, len(out)))
	return out, nil
}

// SetFlag marks a resident bedridden or disabled with the reason, or
// clears the mark (clear true, no reason needed). Errors: EFORBIDDEN,
// ENOTFOUND (out of scope; a clear of a flag not set), EINVALID (an
// unknown kind, the reason).
func (s *Service) SetFlag(ctx context.Context, a care.Actor, residentID int64, kind, reason string, clear bool) error {
	if !Writer(a) {
		return care.Errorf(care.EFORBIDDEN, "error.forbidden")
	}
	res, err := s.Residents.Get(ctx, a, residentID)
	if err != nil {
		return err
	}
	var fs []care.FieldError
	if !slices.Contains(FlagKinds, kind) {
		fs = append(fs, care.FieldError{Field: "kind", Key: "homevisit.flag_kind"})
	}
	reason = strings.TrimSpace(reason)
	if !clear {
		fs = checkText(fs, "reason", reason, MinReason, MaxReason)
	}
	if err := care.Invalid(fs); err != nil {
		return err
	}
	ev := audit.New(ctx, a, ActFlag, res.ID)
	ev.CountyCode = res.CountyCode
	if clear {
		ev.Detail = "cleared " + kind
		return s.Repo.ClearCareFlag(ctx, res.CountyCode, res.ID, kind, ev)
	}
	ev.Detail = "set " + kind
	return s.Repo.SetCareFlag(ctx, &Flag{ResidentID: res.ID, CountyCode: res.CountyCode, Kind: kind, VillageID: res.VillageID, Reason: reason,
		SetBy: a.AccountID, SetAt: s.Now().UTC()}, ev)
}

func (s *Service) audit(ctx context.Context, a care.Actor, act string, residentID int64, county, detail string) {
	ev := audit.New(ctx, a, act, residentID)
	ev.CountyCode, ev.Detail = county, detail
	s.Audit.Record(ctx, ev)
}
