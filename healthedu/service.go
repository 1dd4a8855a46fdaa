package healthedu

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
	"countycare/rx"
)

// Audit actions.
const (
	ActPlan      = "healthedu.plan"
	ActRecord    = "healthedu.record"
	ActRead      = "healthedu.read"
	ActRxRead    = "healthedu.rx_read"
	ActIndicator = "healthedu.indicator"
)

// Limits of a session as typed.
const (
	MaxText       = 100  // place, topic, audience
	MaxMaterials  = 200  // the materials used or handed out
	MaxAttendance = 5000 // one session's attendance
	MaxAttendees  = 200  // residents named on one session's list
	ListMax       = 500  // sessions on one list
)

// Repository is the storage of sessions and issued health-education
// prescriptions; store.Store implements it.
type Repository interface {
	// CreateEduSession stores s with its audit row and sets ID.
	CreateEduSession(ctx context.Context, s *Session, ev audit.Event) error
	// EduSession reads one session of a county with its attendees.
	// Errors: ENOTFOUND.
	EduSession(ctx context.Context, county string, id int64) (*Session, error)
	// RecordEduSession stores the held session (read at s.Version;
	// bumped), its attendees and the audit rows in one transaction.
	// Errors: ECONFLICT healthedu.stale.
	RecordEduSession(ctx context.Context, s *Session, evs []audit.Event) error
	// EduSessions lists the sessions of the institutions planned in
	// [from, to), newest first, at most limit.
	EduSessions(ctx context.Context, county string, insts []int64, from, to care.Date, limit int) ([]Session, error)
	// EduCounts counts the sessions of the institutions planned or held in
	// [from, to) per institution and form.
	EduCounts(ctx context.Context, county string, insts []int64, from, to care.Date) ([]Count, error)
	// EducationRxOf lists a resident's health-education prescriptions,
	// newest first.
	EducationRxOf(ctx context.Context, county string, residentID int64, limit int) ([]IssuedRx, error)
	// EducationRxShare counts the drug prescriptions signed at the
	// institutions in [from, to) and those issued with a health-education
	// prescription.
	EducationRxShare(ctx context.Context, county string, insts []int64, from, to care.Date) (withEdu, total int, err error)
}

// IssuedRx is a health-education prescription as issued with its drug
// prescription.
type IssuedRx struct {
	PrescriptionID int64              `json:"prescription_id"`
	ResidentID     int64              `json:"resident_id"`
	InstitutionID  int64              `json:"institution_id"`
	IssuedOn       care.Date          `json:"issued_on"`
	LibraryVersion string             `json:"library_version"`
	Items          []rx.EducationItem `json:"items"`
}

// Residents reads residents within the actor's scope, audited
// (resident.Service).
type Residents interface {
	Get(ctx context.Context, a care.Actor, id int64) (*resident.Resident, error)
}

// Orgs gives the organisation tree (org.Service).
type Orgs interface {
	Tree(ctx context.Context) (*org.Tree, error)
}

// Service runs health education.
type Service struct {
	Repo      Repository
	Residents Residents
	Orgs      Orgs
	Audit     audit.Recorder
	Config    Config
	Library   *Library
	// Editions are the counties' editions of the advice library over
	// Library (LibraryOf, ChangeAdvice); the same value is the
	// prescriptions' rx.Educator.
	Editions *Editions
	Now      func() time.Time
}

// Writer reports whether a may plan and record sessions: a village doctor
// or a township health center's staff, of an institution.
func Writer(a care.Actor) bool {
	return (a.Role == care.RoleVillageDoctor || a.Role == care.RoleTownshipDoctor) && a.InstitutionID != 0
}

// Reader reports whether a may see the tallies: the writers, the county
// hospital's staff and the health bureau's analysts (counts, no names).
func Reader(a care.Actor) bool {
	return Writer(a) || (a.Role == care.RoleCountySpecialist || a.Role == care.RoleAnalyst) && a.CountyCode != ""
}

// SessionInput is a session as planned.
type SessionInput struct {
	Kind      Kind      `json:"kind"`
	PlannedOn care.Date `json:"planned_on"`
	Place     string    `json:"place"`
	Topic     string    `json:"topic"`
	Audience  string    `json:"audience"`
	Materials string    `json:"materials"`
}

// Plan stores a session of a's institution. Errors: EFORBIDDEN (role),
// EINVALID (an unknown form, no date or one more than a year from today,
// no place or topic, a text too long). Nothing is stored on an error.
func (s *Service) Plan(ctx context.Context, a care.Actor, in SessionInput) (*Session, error) {
	if !Writer(a) {
		return nil, care.Errorf(care.EFORBIDDEN, "error.forbidden")
	}
	today := care.Today(s.Now())
	var fs []care.FieldError
	if !in.Kind.Valid() {
		fs = append(fs, care.FieldError{Field: "kind", Key: "healthedu.kind"})
	}
	switch {
	case in.PlannedOn.IsZero():
		fs = append(fs, care.FieldError{Field: "planned_on", Key: "field.required"})
	case in.PlannedOn.Before(today.AddDays(-366)) || in.PlannedOn.After(today.AddDays(366)):
		fs = append(fs, care.FieldError{Field: "planned_on", Key: "healthedu.date_range"})
	}
	in.Place, in.Topic, in.Audience, in.Materials = strings.TrimSpace(in.Place), strings.TrimSpace(in.Topic), strings.TrimSpace(in.Audience), strings.TrimSpace(in.Materials)
	fs = text(fs, "place", in.Place, true, MaxText)
	fs = text(fs, "topic", in.Topic, true, MaxText)
	fs = text(fs, "audience", in.Audience, false, MaxText)
	fs = text(fs, "materials", in.Materials, false, MaxMaterials)
	if err := care.Invalid(fs); err != nil {
		return nil, err
	}
	ss := &Session{CountyCode: a.CountyCode, InstitutionID: a.InstitutionID, Kind: in.Kind, PlannedOn: in.PlannedOn, Place: in.Place,
		Topic: in.Topic, Audience: in.Audience, Materials: in.Materials, CreatedBy: a.AccountID, Version: 1, CreatedAt: s.Now().UTC()}
	ev := audit.New(ctx, a, ActPlan, 0)
	ev.Detail = fmt.Sprintf("%s on %s", in.Kind, in.PlannedOn)
	if err := s.Repo.CreateEduSession(ctx, ss, ev); err != nil {
		return nil, err
	}
	return ss, nil
}

func text(fs []care.FieldError, field, v string, required bool, max int) []care.FieldError {
	switch {
	case v == "" && required:
		return append(fs, care.FieldError{Field: field, Key: "field.required"})
	case utf8.RuneCountInString(v) > max:
		return append(fs, care.FieldError{Field: field, Key: "field.too_long", Args: []any{max}})
	}
	return fs
}

// RecordInput is a session as held.
type RecordInput struct {
	HeldOn     care.Date `json:"held_on"`
	Attendance int       `json:"attendance"`
	Attendees  []int64   `json:"attendees"` // residents named on the list (optional)
	Materials  string    `json:"materials"` // replaces the planned materials when set
	Version    int       `json:"version"`
}

// Record records a planned session of a's institution as held. Each
// resident on the attendee list is read through Residents (scope and
// audit) and gets an audit row of the attendance. Errors: EFORBIDDEN,
// ENOTFOUND (another institution's session, or an attendee out of scope),
// ECONFLICT healthedu.recorded (already held) or healthedu.stale,
// EINVALID (no date, a date in the future or more than a year before the
// plan, an attendance below the list or over MaxAttendance, a lecture,
// consultation or individual session with nobody, an individual session
// with no resident named). Nothing is stored on an error.
func (s *Service) Record(ctx context.Context, a care.Actor, id int64, in RecordInput) (*Session, error) {
	if !Writer(a) {
		return nil, care.Errorf(care.EFORBIDDEN, "error.forbidden")
	}
	ss, err := s.Repo.EduSession(ctx, a.CountyCode, id)
	if err != nil {
		return nil, err
	}
	if ss.InstitutionID != a.InstitutionID {
		s.deny(ctx, a, ActRecord, id)
		return nil, care.Errorf(care.ENOTFOUND, "healthedu.not_found")
	}
	if ss.Held() {
		return nil, care.Errorf(care.ECONFLICT, "healthedu.recorded")
	}
	if in.Version != 0 && in.Version != ss.Version {
		return nil, care.Errorf(care.ECONFLICT, "healthedu.stale")
	}
	today := care.Today(s.Now())
	var fs []care.FieldError
	switch {
	case in.HeldOn.IsZero():
		fs = append(fs, care.FieldError{Field: "held_on", Key: "field.required"})
	case in.HeldOn.After(today):
		fs = append(fs, care.FieldError{Field: "held_on", Key: "healthedu.date_future"})
	case in.HeldOn.Before(ss.PlannedOn.AddDays(-366)):
		fs = append(fs, care.FieldError{Field: "held_on", Key: "healthedu.date_range"})
	}
	ids := slices.Clone(in.Attendees)
	slices.Sort(ids)
	ids = slices.Compact(ids)
	switch {
	case len(ids) > MaxAttendees:
		fs = append(fs, care.FieldError{Field: "attendees", Key: "healthedu.attendees_many", Args: []any{MaxAttendees}})
	case ss.Kind == Individual && len(ids) == 0:
		fs = append(fs, care.FieldError{Field: "attendees", Key: "healthedu.individual_resident"})
	}
	if in.Attendance == 0 {
		in.Attendance = len(ids)
	}
	switch {
	case in.Attendance < len(ids) || in.Attendance > MaxAttendance:
		fs = append(fs, care.FieldError{Field: "attendance", Key: "healthedu.attendance_range", Args: []any{len(ids), MaxAttendance}})
	case in.Attendance == 0 && (ss.Kind == Lecture || ss.Kind == Counsel || ss.Kind == Individual):
		fs = append(fs, care.FieldError{Field: "attendance", Key: "healthedu.attendance_range", Args: []any{1, MaxAttendance}})
	}
	in.Materials = strings.TrimSpace(in.Materials)
	fs = text(fs, "materials", in.Materials, false, MaxMaterials)
	if err := care.Invalid(fs); err != nil {
		return nil, err
	}
	var evs []audit.Event
	for _, rid := range ids {
		res, err := s.Residents.Get(ctx, a, rid)
		if err != nil {
			return nil, err
		}
		ev := audit.New(ctx, a, ActRecord, res.ID)
		ev.CountyCode, ev.Detail = res.CountyCode, fmt.Sprintf("attended session %d (%s)", ss.ID, ss.Kind)
		evs = append(evs, ev)
	}
	ev := audit.New(ctx, a, ActRecord, 0)
	ev.Detail = fmt.Sprintf("session %d held %s, attendance %d, %d named", ss.ID, in.HeldOn, in.Attendance, len(ids))
	evs = append(evs, ev)
	ss.HeldOn, ss.Attendance, ss.Attendees, ss.RecordedBy = in.HeldOn, in.Attendance, ids, a.AccountID
	if in.Materials != "" {
		ss.Materials = in.Materials
	}
	if err := s.Repo.RecordEduSession(ctx, ss, evs); err != nil {
		return nil, err
	}
	return ss, nil
}

func (s *Service) deny(ctx context.Context, a care.Actor, act string, id int64) {
	ev := audit.New(ctx, a, act, 0)
	ev.Outcome, ev.Detail = audit.OutcomeDenied, fmt.Sprintf("session %d of another institution", id)
	s.Audit.Record(ctx, ev)
}

// Detail reads a session of a's institutions with its attendee list;
// the read of a named list is audited. Errors: EFORBIDDEN, ENOTFOUND.
func (s *Service) Detail(ctx context.Context, a care.Actor, id int64) (*Session, error) {
	if !Writer(a) {
		return nil, care.Errorf(care.EFORBIDDEN, "error.forbidden")
	}
	insts, _, err := s.institutions(ctx, a)
	if err != nil {
		return nil, err
	}
	ss, err := s.Repo.EduSession(ctx, a.CountyCode, id)
	if err != nil {
		return nil, err
	}
	if !slices.Contains(insts, ss.InstitutionID) {
		s.deny(ctx, a, ActRead, id)
		return nil, care.Errorf(care.ENOTFOUND, "healthedu.not_found")
	}
	if len(ss.Attendees) > 0 {
		ev := audit.New(ctx, a, ActRead, 0)
		ev.Detail = fmt.Sprintf("session %d, %d attendees named", id, len(ss.Attendees))
		s.Audit.Record(ctx, ev)
	}
	return ss, nil
}

// institutions returns the village clinics and township centers whose
// sessions a sees (a's institution and, for a township, its villages;
// for county staff and analysts, the county's), with the tree.
func (s *Service) institutions(ctx context.Context, a care.Actor) ([]int64, *org.Tree, error) {
	t, err := s.Orgs.Tree(ctx)
	if err != nil {
		return nil, nil, err
	}
	var out []int64
	add := func(in *org.Institution) {
		if in.CountyCode == a.CountyCode && (in.Level == org.LevelVillage || in.Level == org.LevelTownship) {
			out = append(out, in.ID)
		}
	}
	switch {
	case Writer(a):
		for _, id := range t.Subtree(a.InstitutionID) {
			if in := t.Get(id); in != nil {
				add(in)
			}
		}
	case Reader(a):
		for _, root := range t.Roots() {
			for _, id := range t.Subtree(root.ID) {
				if in := t.Get(id); in != nil {
					add(in)
				}
			}
		}
	default:
		return nil, nil, care.Errorf(care.EFORBIDDEN, "error.forbidden")
	}
	return out, t, nil
}

// Sessions lists the sessions of a's institutions planned in year,
// newest first. Errors: EFORBIDDEN.
func (s *Service) Sessions(ctx context.Context, a care.Actor, year int) ([]Session, error) {
	insts, t, err := s.institutions(ctx, a)
	if err != nil {
		return nil, err
	}
	from, to := yearRange(year)
	list, err := s.Repo.EduSessions(ctx, a.CountyCode, insts, from, to, ListMax)
	for i := range list {
		if in := t.Get(list[i].InstitutionID); in != nil {
			list[i].Institution = in.Name
		}
	}
	return list, err
}

func yearRange(year int) (care.Date, care.Date) {
	from, _ := care.MakeDate(year, time.January, 1)
	to, _ := care.MakeDate(year+1, time.January, 1)
	return from, to
}

// Indicators is a year of health education over a's institutions.
type Indicators struct {
	Year    int     `json:"year"`
	Tallies []Tally `json:"tallies"`
	// Prescriptions signed at those institutions in the year, and those
	// issued with a health-education prescription (双处方率).
	Prescriptions int `json:"prescriptions"`
	WithEducation int `json:"with_education"`
	// Library is the version of the advice library in use.
	Library string `json:"library"`
}

// Share is the double-prescription rate in percent (0 without
// prescriptions).
func (i *Indicators) Share() float64 {
	if i.Prescriptions == 0 {
		return 0
	}
	return float64(i.WithEducation) * 100 / float64(i.Prescriptions)
}

// Indicators tallies each of a's institutions' year against the
// minimums of its level and counts the double-prescription share.
// Counts only, no names; the read is audited. Errors: EFORBIDDEN,
// EINVALID (a year outside 2000–2100).
func (s *Service) Indicators(ctx context.Context, a care.Actor, year int) (*Indicators, error) {
	if year < 2000 || year > 2100 {
		return nil, care.Invalid([]care.FieldError{{Field: "year", Key: "healthedu.year_range"}})
	}
	insts, t, err := s.institutions(ctx, a)
	if err != nil {
		return nil, err
	}
	from, to := yearRange(year)
	counts, err := s.Repo.EduCounts(ctx, a.CountyCode, insts, from, to)
	if err != nil {
		return nil, err
	}
	out := &Indicators{Year: year}
	if s.Library != nil {
		out.Library = s.Library.Version
	}
	for _, id := range insts {
		in := t.Get(id)
		out.Tallies = append(out.Tallies, s.Config.TallyYear(id, in.Name, string(in.Level), year, counts))
	}
	if out.WithEducation, out.Prescriptions, err = s.Repo.EducationRxShare(ctx, a.CountyCode, insts, from, to); err != nil {
		return nil, err
	}
	ev := audit.New(ctx, a, ActIndicator, 0)
	ev.Detail = fmt.Sprintf("health education %d, %d institutions", year, len(insts))
	s.Audit.Record(ctx, ev)
	return out, nil
}

// PrescriptionsOf lists a resident's health-education prescriptions
// (the resident's own on /me, or a doctor's resident), audited.
// Errors: ENOTFOUND (out of scope, audited by Residents).
func (s *Service) PrescriptionsOf(ctx context.Context, a care.Actor, residentID int64) ([]IssuedRx, error) {
	res, err := s.Residents.Get(ctx, a, residentID)
	if err != nil {
		return nil, err
	}
	list, err := s.Repo.EducationRxOf(ctx, res.CountyCode, res.ID, 50)
	if err != nil {
		return nil, err
	}
	ev := audit.New(ctx, a, ActRxRead, res.ID)
	ev.CountyCode, ev.Detail = res.CountyCode, fmt.Sprintf("%d health-education prescriptions", len(list))
	s.Audit.Record(ctx, ev)
	return list, nil
}
