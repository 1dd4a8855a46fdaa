package childhealth

import (
	"context"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"countycare/audit"
	"countycare/care"
	"countycare/idcard"
	"countycare/resident"
)

// Audit actions.
const (
	ActRegister = "childhealth.register"
	ActCheck    = "childhealth.check"
	ActRead     = "childhealth.read"
	ActOverdue  = "childhealth.overdue"
)

// Limits of a check's measurements: outside them a value is a typing
// error whatever the age (the z-score plausibility applies after).
const (
	MinWeightG  = 500
	MaxWeightG  = 60000
	MinLengthMM = 300
	MaxLengthMM = 1500
	MinHeadMM   = 200
	MaxHeadMM   = 600
	MaxNote     = 300
	OverdueMax  = 200 // rows of one overdue list (a phone screen works through it, most overdue first)
)

// Repository is the storage of children's records; store.Store implements it.
type Repository interface {
	// CreateChild stores c with its audit row and sets ID. Errors:
	// ECONFLICT childhealth.exists (the resident has a record).
	CreateChild(ctx context.Context, c *Child, ev audit.Event) error
	// Child reads one record. Errors: ENOTFOUND.
	Child(ctx context.Context, county string, id int64) (*Child, error)
	// ChildOf reads a resident's record; nil without one.
	ChildOf(ctx context.Context, county string, residentID int64) (*Child, error)
	// ChildChecks lists a record's checks in schedule order.
	ChildChecks(ctx context.Context, childID int64) ([]Check, error)
	// AddChildCheck stores k and c's new next service (c.Version is the
	// version read; bumped on success) with ev, in one transaction.
	// Errors: ECONFLICT childhealth.stale (changed since read),
	// childhealth.kind_done (the kind is recorded already).
	AddChildCheck(ctx context.Context, c *Child, k *Check, ev audit.Event) error
	// OverdueChildren lists the active records managed by clinics whose
	// next service's window ended before today, most overdue first.
	OverdueChildren(ctx context.Context, county string, clinics []int64, today care.Date, limit int) ([]Child, error)
}

// Residents reads residents within the actor's scope, audited
// (resident.Service).
type Residents interface {
	Get(ctx context.Context, a care.Actor, id int64) (*resident.Resident, error)
	ManagedClinics(ctx context.Context, a care.Actor) ([]int64, error)
}

// Service runs the child health programme.
type Service struct {
	Repo      Repository
	Residents Residents
	Audit     audit.Recorder
	Config    Config
	Now       func() time.Time
}

// Writer reports whether a may register children and record checks: a
// village doctor or a township health center's staff (public health), of
// an institution. A county specialist reads (through a care link) but
// does not record the programme's services.
func Writer(a care.Actor) bool {
	return (a.Role == care.RoleVillageDoctor || a.Role == care.RoleTownshipDoctor) && a.InstitutionID != 0
}

// RegisterInput is the birth facts typed at registration.
type RegisterInput struct {
	DischargedOn  care.Date
	BirthWeightG  int
	BirthLengthMM int
	GestWeeks     int
}

// Register opens the child health record of a resident under 7 in a's
// scope. Errors: EFORBIDDEN (role), ENOTFOUND (resident), EINVALID (age,
// sex unknown, discharge before birth or in the future, birth weight
// 300–6500 g, length 300–650 mm, gestation 22–44 weeks), ECONFLICT
// childhealth.exists. Nothing is stored on an error.
func (s *Service) Register(ctx context.Context, a care.Actor, residentID int64, in RegisterInput) (*Child, error) {
	if !Writer(a) {
		return nil, care.Errorf(care.EFORBIDDEN, "error.forbidden")
	}
	res, err := s.Residents.Get(ctx, a, residentID)
	if err != nil {
		return nil, err
	}
	today := care.Today(s.Now())
	var fs []care.FieldError
	if res.BirthDate.IsZero() || res.BirthDate.After(today) || res.Age(today) >= s.Config.MaxAgeYears {
		fs = append(fs, care.FieldError{Field: "resident", Key: "childhealth.not_child", Args: []any{s.Config.MaxAgeYears}})
	}
	sex := sexOf(res.Sex)
	if sex == 0 {
		fs = append(fs, care.FieldError{Field: "resident", Key: "childhealth.sex_unknown"})
	}
	if !in.DischargedOn.IsZero() && (in.DischargedOn.Before(res.BirthDate) || in.DischargedOn.After(today)) {
		fs = append(fs, care.FieldError{Field: "discharged_on", Key: "childhealth.discharge_date"})
	}
	fs = rangeErr(fs, "birth_weight_g", in.BirthWeightG, 300, 6500, "childhealth.birth_weight")
	fs = rangeErr(fs, "birth_length_mm", in.BirthLengthMM, 300, 650, "childhealth.birth_length")
	fs = rangeErr(fs, "gest_weeks", in.GestWeeks, 22, 44, "childhealth.gest_weeks")
	if err := care.Invalid(fs); err != nil {
		return nil, err
	}
	c := &Child{CountyCode: res.CountyCode, ResidentID: res.ID, ManagedBy: res.VillageID, Sex: sex, BirthDate: res.BirthDate,
		DischargedOn: in.DischargedOn, BirthWeightG: in.BirthWeightG, BirthLengthMM: in.BirthLengthMM, GestWeeks: in.GestWeeks,
		Status: StatusActive, RegisteredOn: today, RegisteredBy: a.AccountID, Version: 1}
	s.setNext(c, "", today)
	ev := audit.New(ctx, a, ActRegister, res.ID)
	ev.CountyCode = res.CountyCode
	ev.Detail = fmt.Sprintf("child record, birth %s, %d g", c.BirthDate, c.BirthWeightG)
	if err := s.Repo.CreateChild(ctx, c, ev); err != nil {
		return nil, err
	}
	return c, nil
}

func sexOf(s idcard.Sex) Sex {
	switch s {
	case idcard.Male:
		return Boy
	case idcard.Female:
		return Girl
	}
	return 0
}

func rangeErr(fs []care.FieldError, field string, v, lo, hi int, key string) []care.FieldError {
	if v != 0 && (v < lo || v > hi) {
		fs = append(fs, care.FieldError{Field: field, Key: key, Args: []any{lo, hi}})
	}
	return fs
}

// setNext stores the next service due after last on c (closed when none).
func (s *Service) setNext(c *Child, last Kind, today care.Date) {
	w, ok := s.Config.Next(c, last, today)
	if !ok {
		c.Status, c.NextKind, c.NextFrom, c.NextDue = StatusClosed, "", care.Date{}, care.Date{}
		return
	}
	c.NextKind, c.NextFrom, c.NextDue = w.Kind, w.From, w.To
}

// CheckInput is a service as typed: weights in grams, lengths in
// millimetres (0 not measured).
type CheckInput struct {
	Kind     Kind
	Date     care.Date
	WeightG  int
	LengthMM int
	HeadMM   int
	Note     string
}

// Record stores a service for a child in a's scope, scored against the
// WHO standards. Errors: EFORBIDDEN (role), ENOTFOUND, EINVALID (an
// unknown kind; a kind before or equal to one recorded; a date in the
// future, before birth, before the last check or more than EarlyDays
// before the window; a measurement outside the limits or a z-score past
// the WHO's plausibility flags; weight missing), ECONFLICT (the record
// changed meanwhile). Nothing is stored on an error.
func (s *Service) Record(ctx context.Context, a care.Actor, childID int64, in CheckInput) (*Check, *Child, error) {
	if !Writer(a) {
		return nil, nil, care.Errorf(care.EFORBIDDEN, "error.forbidden")
	}
	c, checks, err := s.load(ctx, a, childID)
	if err != nil {
		return nil, nil, err
	}
	today := care.Today(s.Now())
	var fs []care.FieldError
	var last *Check
	if len(checks) > 0 {
		last = &checks[len(checks)-1]
	}
	switch {
	case !in.Kind.Valid():
		fs = append(fs, care.FieldError{Field: "kind", Key: "childhealth.kind_unknown"})
	case last != nil && in.Kind.index() <= last.Kind.index():
		fs = append(fs, care.FieldError{Field: "kind", Key: "childhealth.kind_order"})
	}
	switch {
	case in.Date.IsZero():
		fs = append(fs, care.FieldError{Field: "date", Key: "field.required"})
	case in.Date.After(today):
		fs = append(fs, care.FieldError{Field: "date", Key: "childhealth.date_future"})
	case in.Date.Before(c.BirthDate):
		fs = append(fs, care.FieldError{Field: "date", Key: "childhealth.date_before_birth"})
	case last != nil && in.Date.Before(last.Date):
		fs = append(fs, care.FieldError{Field: "date", Key: "childhealth.date_order", Args: []any{last.Date.String()}})
	case in.Kind.Valid() && in.Date.Before(s.Config.Schedule(in.Kind, c.BirthDate, c.DischargedOn).From.AddDays(-s.Config.EarlyDays)):
		fs = append(fs, care.FieldError{Field: "date", Key: "childhealth.date_early",
			Args: []any{s.Config.Schedule(in.Kind, c.BirthDate, c.DischargedOn).From.String()}})
	}
	if in.WeightG == 0 {
		fs = append(fs, care.FieldError{Field: "weight", Key: "field.required"})
	}
	fs = rangeErr(fs, "weight", in.WeightG, MinWeightG, MaxWeightG, "childhealth.weight_range")
	fs = rangeErr(fs, "length", in.LengthMM, MinLengthMM, MaxLengthMM, "childhealth.length_range")
	fs = rangeErr(fs, "head", in.HeadMM, MinHeadMM, MaxHeadMM, "childhealth.head_range")
	if !utf8.ValidString(in.Note) || utf8.RuneCountInString(in.Note) > MaxNote {
		fs = append(fs, care.FieldError{Field: "note", Key: "field.too_long", Args: []any{MaxNote}})
	}
	if err := care.Invalid(fs); err != nil {
		return nil, nil, err
	}
	age := int(in.Date.Time().Sub(c.BirthDate.Time()).Hours() / 24)
	sc := Score(c.Sex, age, in.WeightG, in.LengthMM)
	if err := care.Invalid(Plausible(sc)); err != nil {
		return nil, nil, err
	}
	k := &Check{ChildID: c.ID, CountyCode: c.CountyCode, ResidentID: c.ResidentID, Kind: in.Kind, Date: in.Date, AgeDays: age,
		WeightG: in.WeightG, LengthMM: in.LengthMM, HeadMM: in.HeadMM, Scores: sc, Findings: Classify(sc),
		Note: strings.TrimSpace(in.Note), ClinicID: a.InstitutionID, By: a.AccountID, CreatedAt: s.Now().UTC()}
	s.setNext(c, in.Kind, today)
	ev := audit.New(ctx, a, ActCheck, c.ResidentID)
	ev.CountyCode = c.CountyCode
	ev.Detail = fmt.Sprintf("%s %s, %d g %d mm", k.Kind, k.Date, k.WeightG, k.LengthMM)
	if err := s.Repo.AddChildCheck(ctx, c, k, ev); err != nil {
		return nil, nil, err
	}
	return k, c, nil
}

// load reads a record whose resident a may see (the resident read is
// audited by resident.Service). Errors: ENOTFOUND.
func (s *Service) load(ctx context.Context, a care.Actor, id int64) (*Child, []Check, error) {
	c, err := s.Repo.Child(ctx, a.CountyCode, id)
	if err != nil {
		return nil, nil, err
	}
	if _, err := s.Residents.Get(ctx, a, c.ResidentID); err != nil {
		return nil, nil, err
	}
	ks, err := s.Repo.ChildChecks(ctx, c.ID)
	return c, ks, err
}

// Detail reads a record with its checks for a, audited. Errors:
// ENOTFOUND (none, or out of a's scope).
func (s *Service) Detail(ctx context.Context, a care.Actor, id int64) (*Child, []Check, error) {
	if !a.Role.Clinical() {
		return nil, nil, care.Errorf(care.EFORBIDDEN, "error.forbidden")
	}
	c, ks, err := s.load(ctx, a, id)
	if err != nil {
		return nil, nil, err
	}
	ev := audit.New(ctx, a, ActRead, c.ResidentID)
	ev.CountyCode, ev.Detail = c.CountyCode, fmt.Sprintf("child record %d, %d checks", c.ID, len(ks))
	s.Audit.Record(ctx, ev)
	return c, ks, nil
}

// OfResident reads the record of a resident a has read already through
// resident.Service.Get (nil without one), audited.
func (s *Service) OfResident(ctx context.Context, a care.Actor, res *resident.Resident) (*Child, []Check, error) {
	c, err := s.Repo.ChildOf(ctx, res.CountyCode, res.ID)
	if err != nil || c == nil {
		return nil, nil, err
	}
	ks, err := s.Repo.ChildChecks(ctx, c.ID)
	if err != nil {
		return nil, nil, err
	}
	ev := audit.New(ctx, a, ActRead, c.ResidentID)
	ev.CountyCode, ev.Detail = c.CountyCode, fmt.Sprintf("child record %d, %d checks", c.ID, len(ks))
	s.Audit.Record(ctx, ev)
	return c, ks, nil
}

// Overdue lists the children of a's managed clinics (a village, or a
// township's villages) whose next service's window has closed, audited.
// Errors: EFORBIDDEN (not a village or township role).
func (s *Service) Overdue(ctx context.Context, a care.Actor) ([]Child, error) {
	if !Writer(a) {
		return nil, care.Errorf(care.EFORBIDDEN, "error.forbidden")
	}
	clinics, err := s.Residents.ManagedClinics(ctx, a)
	if err != nil {
		return nil, err
	}
	list, err := s.Repo.OverdueChildren(ctx, a.CountyCode, clinics, care.Today(s.Now()), OverdueMax)
	if err != nil {
		return nil, err
	}
	ev := audit.New(ctx, a, ActOverdue, 0)
	ev.Detail = fmt.Sprintf("overdue child checks n=%d", len(list))
	s.Audit.Record(ctx, ev)
	return list, nil
}
