package elderly

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"countycare/audit"
	"countycare/care"
	"countycare/resident"
)

// Audit actions.
const (
	ActRecord    = "elderly.checkup"
	ActRead      = "elderly.read"
	ActRoster    = "elderly.roster"
	ActSuspected = "elderly.suspected"
	ActRoute     = "elderly.route" // a suspected case not routed to the township (the failure)
)

// Status is a resident's check-up status in the current year.
type Status string

// Statuses of the roster.
const (
	Done    Status = "done"    // checked this calendar year
	Due     Status = "due"     // not yet, the window still open
	Overdue Status = "overdue" // not yet, OverdueDays passed since the last check-up (or eligibility)
)

// Statuses lists them in the roster's order.
var Statuses = []Status{Overdue, Due, Done}

// StatusOn is the yearly-window rule (规范 老年人健康管理 §2: 每年为老年人
// 提供1次健康管理服务): done when the last check-up is in today's year;
// otherwise overdue when more than OverdueDays have passed since the last
// check-up, or since 1 January of the year the resident turned MinAge
// when never checked; due before that. dueBy is the day the window
// closes (zero when done).
func (c Config) StatusOn(birth, last, today care.Date) (st Status, dueBy care.Date) {
	if !last.IsZero() && last.Year == today.Year {
		return Done, care.Date{}
	}
	dueBy = c.WindowFrom(birth, last).AddDays(c.OverdueDays)
	if today.After(dueBy) {
		return Overdue, dueBy
	}
	return Due, dueBy
}

// RosterBounds are StatusOn's rule for one day as the dates a store
// compares a resident's birth date and last check-up date with, so that
// the roster is counted, filtered and ordered in the database and only
// the rows shown are read (store.ElderlyRoster). For a resident born on b
// whose last check-up was on l (zero: never), with today's StatusOn:
//   - eligible: b ≤ BornBy;
//   - done: l ≥ YearStart;
//   - overdue: l < LastBefore, or never checked and b ≤ NeverBornBy;
//   - due: otherwise;
//
// and the day the window closes is WindowFrom(b, l) + OverdueDays, so the
// roster orders each status by WindowFrom. TestRosterBounds holds the
// bounds to StatusOn day by day.
type RosterBounds struct {
	BornBy      care.Date
	YearStart   care.Date
	LastBefore  care.Date
	NeverBornBy care.Date
	MinAge      int // WindowFrom of a resident never checked: 1 January of birth year + MinAge
}

// Bounds is StatusOn's rule on today as RosterBounds.
func (c Config) Bounds(today care.Date) RosterBounds {
	b := RosterBounds{BornBy: care.Date{Year: today.Year - c.MinAge, Month: time.December, Day: 31},
		YearStart: care.Date{Year: today.Year, Month: time.January, Day: 1}, MinAge: c.MinAge}
	// Overdue: today after ref + OverdueDays, i.e. ref before cut.
	cut := today.AddDays(-c.OverdueDays)
	b.LastBefore = cut
	if b.YearStart.Before(cut) {
		b.LastBefore = b.YearStart // a check-up this year is done, never overdue
	}
	// Never checked: ref is 1 January of the year of MinAge, before cut
	// when that year is before cut's, or is cut's year and cut is not 1
	// January.
	y := cut.Year - c.MinAge
	if cut.Month == time.January && cut.Day == 1 {
		y--
	}
	b.NeverBornBy = care.Date{Year: y, Month: time.December, Day: 31}
	return b
}

// WindowFrom is the day a resident's yearly window opened: the last
// check-up, or 1 January of the year they reached MinAge when never
// checked. The window closes OverdueDays later (StatusOn's dueBy).
func (c Config) WindowFrom(birth, last care.Date) care.Date {
	if !last.IsZero() {
		return last
	}
	return care.Date{Year: birth.Year + c.MinAge, Month: time.January, Day: 1}
}

// RosterEntry is an eligible resident with their last check-up.
type RosterEntry struct {
	ResidentID int64     `json:"resident_id"`
	Name       string    `json:"name"`
	Sex        string    `json:"sex"`
	BirthDate  care.Date `json:"birth_date"`
	Phone      string    `json:"phone"`
	VillageID  int64     `json:"village_id"`
	Last       care.Date `json:"last_checkup"`
	Status     Status    `json:"status"`
	DueBy      care.Date `json:"due_by"`
}

// Roster is a village's or township's eligible residents: the count per
// status and one page of RosterMax rows of the statuses asked for.
type Roster struct {
	Year   int            `json:"year"`
	Counts map[Status]int `json:"counts"`
	Total  int            `json:"total"`
	Page   int            `json:"page"` // from 0
	Rows   []RosterEntry  `json:"rows"`
	More   bool           `json:"more"` // a next page exists
}

// Repository is the storage of check-ups; store.Store implements it.
type Repository interface {
	// CreateCheckup stores k with its audit row and sets ID. Errors:
	// ECONFLICT elderly.year_done (the resident has this year's).
	CreateCheckup(ctx context.Context, k *Checkup, ev audit.Event) error
	// Checkups lists a resident's check-ups, newest first.
	Checkups(ctx context.Context, county string, residentID int64) ([]Checkup, error)
	// ElderlyRoster lists the active residents managed by clinics that b
	// makes eligible and whose status (by b) is in only (all when
	// empty): overdue first, then due, then done, each by WindowFrom then
	// resident ID, skipping offset rows and returning at most limit, with
	// the last check-up's date (kept on the resident's row by
	// CreateCheckup).
	ElderlyRoster(ctx context.Context, county string, clinics []int64, b RosterBounds, only []Status, offset, limit int) ([]RosterEntry, error)
	// ElderlyRosterCounts counts the same residents by status.
	ElderlyRosterCounts(ctx context.Context, county string, clinics []int64, b RosterBounds) (map[Status]int, error)
	// RosterNames fills the name, sex and phone of the rows given.
	RosterNames(ctx context.Context, county string, rows []RosterEntry) error
	// SuspectedCheckups lists the check-ups since from of residents
	// managed by clinics that name a suspected disease the resident is
	// still not registered for (the codes kept in Suspected), newest first.
	SuspectedCheckups(ctx context.Context, county string, clinics []int64, from care.Date, limit int) ([]Checkup, error)
	// ChronicDiseases reports the active chronic registrations of a
	// resident by disease.
	ChronicDiseases(ctx context.Context, county string, residentID int64) (Registered, error)
}

// Residents reads residents within the actor's scope, audited
// (resident.Service).
type Residents interface {
	Get(ctx context.Context, a care.Actor, id int64) (*resident.Resident, error)
	ManagedClinics(ctx context.Context, a care.Actor) ([]int64, error)
}

// Service runs the elderly health programme.
type Service struct {
	Repo      Repository
	Residents Residents
	Audit     audit.Recorder
	Config    Config
	Library   Library
	Now       func() time.Time
	// Route, when set, sends each suspected case of a recorded check-up to
	// the resident's township for confirmation (screening.Service.Suspect;
	// 老年人健康管理服务规范: a suspected chronic disease is referred for
	// diagnosis). Nil: the suspected cases stay on this package's list only.
	Route Router
}

// Router routes a suspected case found at a check-up to the township for
// confirmation with a due date.
type Router interface {
	// RouteSuspected routes a suspected disease of res, whom the caller
	// has read (audited) and may write for: the router does not read the
	// resident again.
	RouteSuspected(ctx context.Context, a care.Actor, res *resident.Resident, disease string, on care.Date, detail string) error
}

// Local reports whether a's role records check-ups and reads rosters: a
// village doctor or a township health center's doctor of an institution.
func Local(a care.Actor) bool {
	return (a.Role == care.RoleVillageDoctor || a.Role == care.RoleTownshipDoctor) && a.InstitutionID != 0
}

// writable reads the resident for a writer: a Local actor whose managed
// clinics (their village, or their township's villages and itself)
// include the resident's. Errors: EFORBIDDEN (role), ENOTFOUND (none or
// out of scope, audited by resident.Service).
func (s *Service) writable(ctx context.Context, a care.Actor, residentID int64) (*resident.Resident, error) {
	if !Local(a) {
		return nil, care.Errorf(care.EFORBIDDEN, "error.forbidden")
	}
	res, err := s.Residents.Get(ctx, a, residentID)
	if err != nil {
		return nil, err
	}
	if ok, err := s.Writes(ctx, a, res); err != nil || !ok {
		return nil, cmpOr(err, care.Errorf(care.ENOTFOUND, "error.not_found"))
	}
	return res, nil
}

func cmpOr(err error, def *care.Error) error {
	if err != nil {
		return err
	}
	return def
}

// Record stores the year's check-up of a resident dated on. Errors:
// EFORBIDDEN (role), ENOTFOUND (resident out of a's managed clinics),
// EINVALID (Config.Validate), ECONFLICT elderly.year_done (one check-up a
// year: 规范 §2 每年1次). Nothing is stored on an error; the write and its
// audit row are one transaction.
func (s *Service) Record(ctx context.Context, a care.Actor, residentID int64, on care.Date, f Form) (*Checkup, error) {
	res, err := s.writable(ctx, a, residentID)
	if err != nil {
		return nil, err
	}
	today := care.Today(s.Now())
	f.Note = strings.TrimSpace(f.Note)
	if err := care.Invalid(s.Config.Validate(&f, on, today, res.BirthDate)); err != nil {
		return nil, err
	}
	reg, err := s.Repo.ChronicDiseases(ctx, res.CountyCode, res.ID)
	if err != nil {
		return nil, err
	}
	k := &Checkup{CountyCode: res.CountyCode, ResidentID: res.ID, ManagedBy: res.VillageID, Year: on.Year, Date: on, Form: f,
		BMI10: BMI10(f.WeightG, f.HeightMM), SelfCareScore: SelfCareScore(f.SelfCare), Findings: s.Config.Assess(&f, string(res.Sex)),
		Suspected: s.Config.Suspect(&f, reg), ClinicID: a.InstitutionID, By: a.AccountID, CreatedAt: s.Now().UTC()}
	k.SBP, k.DBP = HigherArm(&f)
	k.SelfCare = s.Config.SelfCareGrade(k.SelfCareScore)
	if len(f.TCM) > 0 {
		r := s.Config.IdentifyConstitution(f.TCM)
		k.TCM = &r
	}
	ev := audit.New(ctx, a, ActRecord, res.ID)
	ev.CountyCode = res.CountyCode
	ev.Detail = fmt.Sprintf("elderly check-up %s, %d findings, suspected [%s]", on, len(k.Findings), strings.Join(k.Suspected, ","))
	if err := s.Repo.CreateCheckup(ctx, k, ev); err != nil {
		return nil, err
	}
	s.route(ctx, a, res, k)
	return k, nil
}

// route sends k's suspected cases to the township (Route). The check-up
// is stored by then, so a failure does not undo it: the case stays on the
// suspected list (Suspected), k.Unrouted names it, and an audit row says
// why. Routing is idempotent: a pending case of the disease is kept.
func (s *Service) route(ctx context.Context, a care.Actor, res *resident.Resident, k *Checkup) {
	if s.Route == nil {
		return
	}
	for _, d := range k.Suspected {
		detail := fmt.Sprintf("%d/%d mmHg", k.SBP, k.DBP)
		if d == "diabetes" {
			detail = fmt.Sprintf("FPG %.1f mmol/L", k.Form.Labs["fpg"])
		}
		if err := s.Route.RouteSuspected(ctx, a, res, d, k.Date, detail); err != nil {
			k.Unrouted = append(k.Unrouted, d)
			ev := audit.New(ctx, a, ActRoute, k.ResidentID)
			ev.CountyCode, ev.Outcome = k.CountyCode, audit.OutcomeFailed
			ev.Detail = fmt.Sprintf("elderly check-up %d: suspected %s not routed: %v", k.ID, d, err)
			s.Audit.Record(ctx, ev)
		}
	}
}

// History reads a resident's check-ups for a clinician whose scope covers
// the resident, audited. Errors: EFORBIDDEN (not clinical), ENOTFOUND
// (none or out of scope, the refusal audited by resident.Service).
func (s *Service) History(ctx context.Context, a care.Actor, residentID int64) (*resident.Resident, []Checkup, error) {
	if !a.Role.Clinical() {
		return nil, nil, care.Errorf(care.EFORBIDDEN, "error.forbidden")
	}
	res, err := s.Residents.Get(ctx, a, residentID)
	if err != nil {
		return nil, nil, err
	}
	ks, err := s.OfResident(ctx, a, res)
	return res, ks, err
}

// OfResident reads the check-ups of a resident a has read already through
// resident.Service.Get (or the resident's own record on /me), audited.
func (s *Service) OfResident(ctx context.Context, a care.Actor, res *resident.Resident) ([]Checkup, error) {
	ks, err := s.Repo.Checkups(ctx, res.CountyCode, res.ID)
	if err != nil {
		return nil, err
	}
	ev := audit.New(ctx, a, ActRead, res.ID)
	ev.CountyCode, ev.Detail = res.CountyCode, fmt.Sprintf("elderly check-ups n=%d", len(ks))
	s.Audit.Record(ctx, ev)
	return ks, nil
}

// localClinics is the clinics a Local actor manages. Errors: EFORBIDDEN
// (not Local).
func (s *Service) localClinics(ctx context.Context, a care.Actor) ([]int64, error) {
	if !Local(a) {
		return nil, care.Errorf(care.EFORBIDDEN, "error.forbidden")
	}
	return s.Residents.ManagedClinics(ctx, a)
}

// Roster lists the eligible residents of a's managed clinics with their
// status this year: the counts, and page (from 0) of RosterMax rows of
// the statuses in only (all without), overdue first (longest overdue
// first), then due (soonest closing first), then done; audited. The
// database counts, filters and orders by Config.Bounds; each row shown
// gets its status and due date from StatusOn. Errors: EFORBIDDEN (not
// Local), EINVALID (a negative page).
func (s *Service) Roster(ctx context.Context, a care.Actor, only []Status, page int) (*Roster, error) {
	clinics, err := s.localClinics(ctx, a)
	if err != nil {
		return nil, err
	}
	if page < 0 || page > MaxRosterPage {
		return nil, care.Invalid([]care.FieldError{{Field: "page", Key: "elderly.page"}})
	}
	today := care.Today(s.Now())
	b := s.Config.Bounds(today)
	counts, err := s.Repo.ElderlyRosterCounts(ctx, a.CountyCode, clinics, b)
	if err != nil {
		return nil, err
	}
	rows, err := s.Repo.ElderlyRoster(ctx, a.CountyCode, clinics, b, only, page*RosterMax, RosterMax+1)
	if err != nil {
		return nil, err
	}
	r := &Roster{Year: today.Year, Counts: map[Status]int{Overdue: counts[Overdue], Due: counts[Due], Done: counts[Done]}, Page: page}
	r.Total = r.Counts[Overdue] + r.Counts[Due] + r.Counts[Done]
	if len(rows) > RosterMax {
		rows, r.More = rows[:RosterMax], true
	}
	for i := range rows {
		rows[i].Status, rows[i].DueBy = s.Config.StatusOn(rows[i].BirthDate, rows[i].Last, today)
	}
	r.Rows = rows
	if err := s.Repo.RosterNames(ctx, a.CountyCode, r.Rows); err != nil {
		return nil, err
	}
	ev := audit.New(ctx, a, ActRoster, 0)
	ev.Detail = fmt.Sprintf("elderly roster %d: overdue %d, due %d, done %d", today.Year, r.Counts[Overdue], r.Counts[Due], r.Counts[Done])
	s.Audit.Record(ctx, ev)
	return r, nil
}

// Suspected lists this year's check-ups of a's managed clinics that found
// a suspected hypertension or diabetes in a resident not (yet) in the
// registry, newest first, audited: the screening work-list routes them to
// the township for confirmation. Errors: EFORBIDDEN (not Local).
func (s *Service) Suspected(ctx context.Context, a care.Actor) ([]Checkup, error) {
	clinics, err := s.localClinics(ctx, a)
	if err != nil {
		return nil, err
	}
	today := care.Today(s.Now())
	list, err := s.Repo.SuspectedCheckups(ctx, a.CountyCode, clinics, care.Date{Year: today.Year, Month: time.January, Day: 1}, RosterMax)
	if err != nil {
		return nil, err
	}
	ev := audit.New(ctx, a, ActSuspected, 0)
	ev.Detail = fmt.Sprintf("elderly suspected cases n=%d", len(list))
	s.Audit.Record(ctx, ev)
	return list, nil
}

// Writes reports whether a may record check-ups for res (read already
// through resident.Service.Get): a Local actor managing the resident's
// village (the village clinic, or its township).
func (s *Service) Writes(ctx context.Context, a care.Actor, res *resident.Resident) (bool, error) {
	if !Local(a) {
		return false, nil
	}
	clinics, err := s.localClinics(ctx, a)
	return err == nil && slices.Contains(clinics, res.VillageID), err
}
