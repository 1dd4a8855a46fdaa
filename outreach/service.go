package outreach

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"countycare/access"
	"countycare/audit"
	"countycare/care"
	"countycare/notify"
	"countycare/org"
	"countycare/resident"
)

// Audit actions.
const (
	ActSchedule   = "outreach.schedule"
	ActBook       = "outreach.book"
	ActCancel     = "outreach.cancel"
	ActAttendance = "outreach.attendance"
	ActBookings   = "outreach.bookings" // a session's booking list read
	ActMine       = "outreach.mine"     // a resident's bookings read
	ActSite       = "outreach.site"     // a multi-site registration made or revoked
	ActActing     = "outreach.acting"   // a practitioner's session switched institution
)

// MaxSpecialty is the longest specialty name, in characters.
const MaxSpecialty = 40

// Repository stores sessions, bookings and practice sites; store.Store
// implements it.
type Repository interface {
	// CreateSession stores s and site (its specialist at the township on
	// its date) with ev in one transaction, setting both IDs. Errors:
	// ECONFLICT outreach.specialist_busy (a live session of the
	// practitioner on that date).
	CreateSession(ctx context.Context, s *Session, site *PracticeSite, ev audit.Event) error
	// OutreachSession reads one session of a county with its counts. Errors: ENOTFOUND.
	OutreachSession(ctx context.Context, county string, id int64) (*Session, error)
	// OutreachSessions lists a county's sessions dated from–to (inclusive)
	// with their counts, by date; township 0 means every township.
	OutreachSessions(ctx context.Context, county string, township int64, from, to care.Date) ([]Session, error)
	// Book stores b if its slot has fewer than perSlot live bookings and
	// the resident holds no live booking of the session, with ev, in one
	// transaction (serialised per session). Errors: ECONFLICT
	// outreach.slot_full, outreach.already_booked.
	Book(ctx context.Context, b *Booking, perSlot int, msgs []notify.Message, ev audit.Event) error
	// ResidentContact reads a resident's name and phone (for the booking
	// confirmation). Errors: ENOTFOUND.
	ResidentContact(ctx context.Context, county string, residentID int64) (name, phone string, err error)
	// UpdateSession stores x (an edit) if it is still at version from and
	// scheduled, moving each live booking's slot by slotMap; it refuses a
	// live booking whose slot slotMap drops (ECONFLICT outreach.slots_booked)
	// and a slot holding more live bookings than x.Capacity (ECONFLICT
	// outreach.capacity_below_booked, with the most a slot holds); when
	// moved it clears the bookings' reminders. msgs builds the messages
	// from the session's live bookings (with phones) as read in the
	// transaction; they are queued with ev. Updates the specialist's
	// practice site. Errors also: ECONFLICT outreach.stale,
	// outreach.specialist_busy.
	UpdateSession(ctx context.Context, x *Session, from int, slotMap map[string]string, moved bool, msgs func([]Booking) []notify.Message, ev audit.Event) error
	// CancelSession stores x cancelled if still at version from, cancels
	// its booked bookings, revokes its practice site and queues msgs of
	// them, with ev, in one transaction. Errors: ECONFLICT outreach.stale.
	CancelSession(ctx context.Context, x *Session, from int, msgs func([]Booking) []notify.Message, ev audit.Event) error
	// DueReminders lists at most limit booked bookings of scheduled
	// sessions on day not reminded yet, with the resident's name and
	// phone and the session's date, township, specialty and room.
	DueReminders(ctx context.Context, day care.Date, limit int) ([]Booking, error)
	// MarkReminded marks each booking reminded at at — only one still
	// booked and not marked — and queues its message (if any) only when
	// it marked it, with ev, in one transaction; it returns the messages
	// queued.
	MarkReminded(ctx context.Context, marks []ReminderMark, at time.Time, ev audit.Event) (int, error)
	// OutreachBooking reads one booking. Errors: ENOTFOUND.
	OutreachBooking(ctx context.Context, county string, id int64) (*Booking, error)
	// SetBookingStatus moves b from status from to b.Status (with
	// UpdatedBy, UpdatedAt) with ev. Errors: ECONFLICT outreach.stale (no
	// longer in from).
	SetBookingStatus(ctx context.Context, b *Booking, from string, ev audit.Event) error
	// SessionBookings lists a session's bookings by slot with the
	// residents' names and managing clinics (in managedBy).
	SessionBookings(ctx context.Context, sessionID int64) ([]Booking, map[int64]int64, error)
	// ResidentBookings lists a resident's bookings, newest session first.
	ResidentBookings(ctx context.Context, county string, residentID int64) ([]Booking, error)
	// OutreachStats counts per township over from–to (inclusive; sessions
	// after today are not held yet and not counted).
	OutreachStats(ctx context.Context, county string, from, to care.Date) ([]TownshipStats, error)
	// CreatePracticeSite stores p with ev, setting p.ID.
	CreatePracticeSite(ctx context.Context, p *PracticeSite, ev audit.Event) error
	// RevokePracticeSite ends a county's site with ev. Errors: ENOTFOUND.
	RevokePracticeSite(ctx context.Context, county string, id int64, ev audit.Event) error
	// PracticeSites lists the practitioner's live sites valid on or after day.
	PracticeSites(ctx context.Context, practitionerID int64, day care.Date) ([]PracticeSite, error)
	// CountyPracticeSites lists a county's live sites registered by an
	// administrator (not made by a session) valid on or after day.
	CountyPracticeSites(ctx context.Context, county string, day care.Date) ([]PracticeSite, error)
	// SetActingInstitution records the institution a sign-in session acts for (0:
	// the account's own) with ev.
	SetActingInstitution(ctx context.Context, sessionID, institutionID int64, ev audit.Event) error
}

// Orgs reads the organisation tree (org.Service).
type Orgs interface {
	Tree(ctx context.Context) (*org.Tree, error)
}

// Staff reads practitioners (store.Store). Errors: ENOTFOUND.
type Staff interface {
	Practitioner(ctx context.Context, id int64) (*org.Practitioner, error)
}

// Residents reads residents within the actor's scope, audited
// (resident.Service).
type Residents interface {
	Get(ctx context.Context, a care.Actor, id int64) (*resident.Resident, error)
	Scope(ctx context.Context, a care.Actor) (access.Scope, error)
}

// Service runs expert sessions and multi-site practice.
type Service struct {
	Repo      Repository
	Orgs      Orgs
	Staff     Staff
	Residents Residents
	Audit     audit.Recorder
	Config    Config
	// Forget drops an account's cached sign-in sessions (account.Service
	// SessionsChanged), so a switch of institution applies at once.
	Forget func(accountID int64)
	Now    func() time.Time
}

// Scheduler reports whether a may schedule sessions: a county
// specialist of a county hospital (for its own practitioners) or an
// administrator (any county hospital's).
func Scheduler(a care.Actor, t *org.Tree) bool {
	if a.Role == care.RoleAdmin {
		return a.CountyCode != ""
	}
	in := t.Get(a.InstitutionID)
	return a.Role == care.RoleCountySpecialist && in != nil && in.Kind == org.KindCountyHospital
}

// Township reports whether kind k may host sessions: a township or
// central health center or a sub-center.
func Township(k org.Kind) bool {
	return k == org.KindTownshipHC || k == org.KindCentralHC || k == org.KindSubCenter
}

// ScheduleInput is a session as typed.
type ScheduleInput struct {
	TownshipID     int64
	PractitionerID int64
	Specialty      string
	Date           care.Date
	Start, End     string // "08:00", "11:30"
	SlotMinutes    int
	Capacity       int    // patients per slot
	Room           string // optional, at most MaxRoom characters
}

// Schedule stores a session and registers its specialist to work at the
// township on its date. Errors: EFORBIDDEN (not a scheduler, or a
// practitioner of another hospital), EINVALID (township, practitioner,
// specialty, a date in the past or beyond MaxAheadDays, times, slot
// length, capacity), ECONFLICT outreach.specialist_busy. Nothing is
// stored on an error.
func (s *Service) Schedule(ctx context.Context, a care.Actor, in ScheduleInput) (*Session, error) {
	t, err := s.Orgs.Tree(ctx)
	if err != nil {
		return nil, err
	}
	if !Scheduler(a, t) {
		return nil, care.Errorf(care.EFORBIDDEN, "error.forbidden")
	}
	today := care.Today(s.Now())
	var fs []care.FieldError
	tw := t.Get(in.TownshipID)
	if tw == nil || tw.CountyCode != a.CountyCode || !Township(tw.Kind) || !tw.Active {
		fs = append(fs, care.FieldError{Field: "township_id", Key: "outreach.township_invalid"})
	}
	p, err := s.specialist(ctx, a, t, in.PractitionerID, &fs)
	if err != nil {
		return nil, err
	}
	spec := strings.TrimSpace(in.Specialty)
	switch {
	case spec == "":
		fs = append(fs, care.FieldError{Field: "specialty", Key: "field.required"})
	case utf8.RuneCountInString(spec) > MaxSpecialty || !utf8.ValidString(spec):
		fs = append(fs, care.FieldError{Field: "specialty", Key: "outreach.specialty_long", Args: []any{MaxSpecialty}})
	}
	room := s.checkWhenWhere(today, in.Date, in.Room, in.Capacity, &fs)
	slots, ok := MakeSlots(in.Start, in.End, in.SlotMinutes)
	if !ok {
		fs = append(fs, care.FieldError{Field: "start", Key: "outreach.slots_invalid", Args: []any{MaxSlots}})
	}
	if err := care.Invalid(fs); err != nil {
		return nil, err
	}
	ss := &Session{CountyCode: a.CountyCode, TownshipID: tw.ID, TownshipName: tw.Name, HostID: p.InstitutionID, PractitionerID: p.ID,
		Specialist: p.Name, Specialty: spec, Date: in.Date, Slots: slots, SlotMinutes: in.SlotMinutes, Capacity: in.Capacity, Room: room,
		Status: StatusScheduled, CreatedBy: a.AccountID, CreatedAt: s.Now(), Version: 1}
	site := &PracticeSite{CountyCode: a.CountyCode, PractitionerID: p.ID, InstitutionID: tw.ID, Dates: []care.Date{in.Date},
		ValidFrom: in.Date, ValidTo: in.Date, CreatedBy: a.AccountID, CreatedAt: ss.CreatedAt}
	ev := audit.New(ctx, a, ActSchedule, 0)
	ev.Detail = fmt.Sprintf("session at institution %d on %s, practitioner %d, %d slots × %d", tw.ID, in.Date, p.ID, len(slots), in.Capacity)
	if err := s.Repo.CreateSession(ctx, ss, site, ev); err != nil {
		return nil, err
	}
	return ss, nil
}

// Sessions lists the county's sessions from–to, by date (township 0:
// all). It holds no patient data: any staff of the county may read it.
func (s *Service) Sessions(ctx context.Context, a care.Actor, township int64, from, to care.Date) ([]Session, error) {
	if a.CountyCode == "" || a.Role == care.RoleResident {
		return nil, care.Errorf(care.EFORBIDDEN, "error.forbidden")
	}
	return s.Repo.OutreachSessions(ctx, a.CountyCode, township, from, to)
}

// Bookable lists the sessions a resident of county may still book: from
// today on, up to MaxAheadDays.
func (s *Service) Bookable(ctx context.Context, county string) ([]Session, error) {
	today := care.Today(s.Now())
	ss, err := s.Repo.OutreachSessions(ctx, county, 0, today, today.AddDays(s.Config.MaxAheadDays))
	if err != nil {
		return nil, err
	}
	out := ss[:0]
	for _, x := range ss {
		if x.Status == StatusScheduled && x.Free() > 0 {
			out = append(out, x)
		}
	}
	return out, nil
}

// SessionView is a session with the bookings a may see.
type SessionView struct {
	Session *Session
	// Bookings: all of them for the township's staff and the session's
	// specialist, a village doctor's own residents' for them, none for
	// others (they see the counts).
	Bookings []Booking
	// AllBookings reports whether Bookings is the whole list.
	AllBookings bool
	// Attendance reports whether a may record attendance (the township's
	// staff, on or after the session's date).
	Attendance bool
	// FreeBySlot counts each slot's free places.
	FreeBySlot map[string]int
}

// sessionStaff reports whether a works the session: at its township
// (its own staff, or a practitioner acting there today) or as its
// specialist.
func sessionStaff(a care.Actor, ss *Session) bool {
	if a.CountyCode != ss.CountyCode {
		return false
	}
	return a.PractitionerID != 0 && a.PractitionerID == ss.PractitionerID ||
		a.InstitutionID == ss.TownshipID && (a.Role == care.RoleTownshipDoctor || a.Role == care.RoleCountySpecialist)
}

// Session reads one session with the bookings a may see, auditing the
// read of any booking shown. Errors: ENOTFOUND (no such session in a's
// county), EFORBIDDEN (residents).
func (s *Service) Session(ctx context.Context, a care.Actor, id int64) (*SessionView, error) {
	if a.CountyCode == "" || a.Role == care.RoleResident {
		return nil, care.Errorf(care.EFORBIDDEN, "error.forbidden")
	}
	ss, err := s.Repo.OutreachSession(ctx, a.CountyCode, id)
	if err != nil {
		return nil, err
	}
	v := &SessionView{Session: ss, FreeBySlot: map[string]int{}}
	all, managed, err := s.Repo.SessionBookings(ctx, id)
	if err != nil {
		return nil, err
	}
	taken := map[string]int{}
	for _, b := range all {
		if b.Live() {
			taken[b.Slot]++
		}
	}
	for _, sl := range ss.Slots {
		v.FreeBySlot[sl] = max(0, ss.Capacity-taken[sl])
	}
	switch {
	case sessionStaff(a, ss):
		v.Bookings, v.AllBookings = all, true
		v.Attendance = a.InstitutionID == ss.TownshipID && !care.Today(s.Now()).Before(ss.Date)
	case a.Role == care.RoleVillageDoctor || a.Role == care.RoleTownshipDoctor:
		sc, err := s.Residents.Scope(ctx, a)
		if err != nil {
			return nil, err
		}
		for _, b := range all {
			if sc.Allows(access.Subject{ResidentID: b.ResidentID, CountyCode: b.CountyCode, ManagedBy: managed[b.ID]}) {
				v.Bookings = append(v.Bookings, b)
			}
		}
	}
	if len(v.Bookings) > 0 {
		ev := audit.New(ctx, a, ActBookings, 0)
		ev.Detail = fmt.Sprintf("session %d: %d bookings", id, len(v.Bookings))
		if len(v.Bookings) == 1 {
			ev.ResidentID = v.Bookings[0].ResidentID
		}
		s.Audit.Record(ctx, ev)
	}
	return v, nil
}

// Book gives a resident a place in a slot: a village or township doctor
// for a resident in their scope, or a resident for themself (or their
// ward). Errors: EFORBIDDEN (role), ENOTFOUND (session or resident; out
// of scope is not found, audited), EINVALID (no such slot), ECONFLICT
// outreach.session_closed (cancelled, or the slot has begun: no booking
// in the past), outreach.slot_full, outreach.already_booked.
func (s *Service) Book(ctx context.Context, a care.Actor, sessionID, residentID int64, slot string) (*Booking, error) {
	channel := ChannelVillage
	switch a.Role {
	case care.RoleVillageDoctor, care.RoleTownshipDoctor:
		if _, err := s.Residents.Get(ctx, a, residentID); err != nil {
			return nil, err
		}
	case care.RoleResident:
		if a.ResidentID == 0 || a.ResidentID != residentID {
			return nil, care.Errorf(care.ENOTFOUND, "resident.not_found")
		}
		channel = ChannelSelf
	default:
		return nil, care.Errorf(care.EFORBIDDEN, "error.forbidden")
	}
	ss, err := s.Repo.OutreachSession(ctx, a.CountyCode, sessionID)
	if err != nil {
		return nil, err
	}
	start, ok := ss.SlotStart(slot)
	if !ok {
		return nil, care.Invalid([]care.FieldError{{Field: "slot", Key: "outreach.slot_invalid"}})
	}
	now := s.Now()
	if ss.Status != StatusScheduled || !now.Before(start) {
		return nil, care.Errorf(care.ECONFLICT, "outreach.session_closed")
	}
	b := &Booking{CountyCode: ss.CountyCode, SessionID: ss.ID, ResidentID: residentID, Slot: slot, Status: Booked, Channel: channel,
		BookedBy: a.AccountID, BookedAt: now}
	var err2 error
	if b.ResidentName, b.Phone, err2 = s.Repo.ResidentContact(ctx, ss.CountyCode, residentID); err2 != nil {
		return nil, err2
	}
	var n Notices
	msgs := notices(PurposeBooked, ss, []Booking{*b}, "", &n)
	ev := audit.New(ctx, a, ActBook, residentID)
	ev.CountyCode = ss.CountyCode
	ev.Detail = fmt.Sprintf("session %d slot %s (%s), %d confirmation", ss.ID, slot, channel, n.Queued)
	if err := s.Repo.Book(ctx, b, ss.Capacity, msgs, ev); err != nil {
		return nil, err
	}
	b.Phone = ""
	return b, nil
}

// Cancel cancels a booking for the resident: by the resident (or their
// proxy) or a doctor with the resident in scope, up to
// Config.CancelCutoffHours before the slot. Errors: ENOTFOUND (missing or
// not theirs), EFORBIDDEN (role), ECONFLICT outreach.cancel_too_late,
// outreach.not_booked (already cancelled or recorded).
func (s *Service) Cancel(ctx context.Context, a care.Actor, bookingID int64) (*Booking, error) {
	b, err := s.Repo.OutreachBooking(ctx, a.CountyCode, bookingID)
	if err != nil && a.Role != care.RoleResident {
		return nil, err
	}
	switch a.Role {
	case care.RoleResident:
		if err != nil || b.ResidentID != a.ResidentID {
			return nil, care.Errorf(care.ENOTFOUND, "error.not_found")
		}
	case care.RoleVillageDoctor:
		// A village doctor cancels the bookings they made (least privilege:
		// not a resident's own, nor a colleague's).
		if b.BookedBy != a.AccountID {
			ev := audit.New(ctx, a, ActCancel, b.ResidentID)
			ev.Outcome, ev.Detail = audit.OutcomeDenied, fmt.Sprintf("booking %d made by another", b.ID)
			s.Audit.Record(ctx, ev)
			return nil, care.Errorf(care.ENOTFOUND, "error.not_found")
		}
	case care.RoleTownshipDoctor:
		if _, err := s.Residents.Get(ctx, a, b.ResidentID); err != nil {
			return nil, err
		}
	default:
		return nil, care.Errorf(care.EFORBIDDEN, "error.forbidden")
	}
	ss, err := s.Repo.OutreachSession(ctx, b.CountyCode, b.SessionID)
	if err != nil {
		return nil, err
	}
	if b.Status != Booked {
		return nil, care.Errorf(care.ECONFLICT, "outreach.not_booked")
	}
	start, _ := ss.SlotStart(b.Slot)
	now := s.Now()
	if now.After(start.Add(-time.Duration(s.Config.CancelCutoffHours) * time.Hour)) {
		return nil, care.Errorf(care.ECONFLICT, "outreach.cancel_too_late", s.Config.CancelCutoffHours)
	}
	b.Status, b.UpdatedBy, b.UpdatedAt = Cancelled, a.AccountID, now
	ev := audit.New(ctx, a, ActCancel, b.ResidentID)
	ev.CountyCode = b.CountyCode
	ev.Detail = fmt.Sprintf("session %d slot %s", ss.ID, b.Slot)
	if err := s.Repo.SetBookingStatus(ctx, b, Booked, ev); err != nil {
		return nil, err
	}
	return b, nil
}

// Attend records whether a booked resident came (attended) or not
// (no_show): the township's staff (including a specialist acting there
// today), on or after the session's date; a recorded outcome may be
// corrected. Errors: ENOTFOUND (booking, or a session elsewhere),
// EFORBIDDEN, EINVALID outreach.outcome_invalid, ECONFLICT
// outreach.too_early, outreach.not_booked (cancelled).
func (s *Service) Attend(ctx context.Context, a care.Actor, bookingID int64, outcome string) (*Booking, error) {
	if a.Role != care.RoleTownshipDoctor && a.Role != care.RoleCountySpecialist {
		return nil, care.Errorf(care.EFORBIDDEN, "error.forbidden")
	}
	if outcome != Attended && outcome != NoShow {
		return nil, care.Invalid([]care.FieldError{{Field: "outcome", Key: "outreach.outcome_invalid"}})
	}
	b, err := s.Repo.OutreachBooking(ctx, a.CountyCode, bookingID)
	if err != nil {
		return nil, err
	}
	ss, err := s.Repo.OutreachSession(ctx, b.CountyCode, b.SessionID)
	if err != nil {
		return nil, err
	}
	if a.InstitutionID != ss.TownshipID {
		ev := audit.New(ctx, a, ActAttendance, b.ResidentID)
		ev.Outcome, ev.Detail = audit.OutcomeDenied, "session at another institution"
		s.Audit.Record(ctx, ev)
		return nil, care.Errorf(care.ENOTFOUND, "error.not_found")
	}
	if care.Today(s.Now()).Before(ss.Date) {
		return nil, care.Errorf(care.ECONFLICT, "outreach.too_early")
	}
	if b.Status == Cancelled {
		return nil, care.Errorf(care.ECONFLICT, "outreach.not_booked")
	}
	from := b.Status
	b.Status, b.UpdatedBy, b.UpdatedAt = outcome, a.AccountID, s.Now()
	ev := audit.New(ctx, a, ActAttendance, b.ResidentID)
	ev.CountyCode = b.CountyCode
	ev.Detail = fmt.Sprintf("session %d: %s", ss.ID, outcome)
	if err := s.Repo.SetBookingStatus(ctx, b, from, ev); err != nil {
		return nil, err
	}
	return b, nil
}

// Mine lists the resident's own bookings (a resident or their proxy),
// audited. Errors: EFORBIDDEN (not a resident).
func (s *Service) Mine(ctx context.Context, a care.Actor) ([]Booking, error) {
	if a.Role != care.RoleResident || a.ResidentID == 0 {
		return nil, care.Errorf(care.EFORBIDDEN, "error.forbidden")
	}
	bs, err := s.Repo.ResidentBookings(ctx, a.CountyCode, a.ResidentID)
	if err != nil {
		return nil, err
	}
	ev := audit.New(ctx, a, ActMine, a.ResidentID)
	ev.Detail = fmt.Sprintf("%d bookings", len(bs))
	s.Audit.Record(ctx, ev)
	return bs, nil
}

// Stats counts sessions held, patients seen, no-shows and referrals per
// township of a's county over from–to. No patient data: any staff.
// Errors: EFORBIDDEN (residents), EINVALID (to before from, more than a
// year and a day).
func (s *Service) Stats(ctx context.Context, a care.Actor, from, to care.Date) ([]TownshipStats, error) {
	if a.CountyCode == "" || a.Role == care.RoleResident {
		return nil, care.Errorf(care.EFORBIDDEN, "error.forbidden")
	}
	if to.Before(from) || to.After(from.AddDays(366)) {
		return nil, care.Invalid([]care.FieldError{{Field: "to", Key: "outreach.period_invalid"}})
	}
	return s.Repo.OutreachStats(ctx, a.CountyCode, from, to)
}

// SiteInput is a multi-site registration as typed.
type SiteInput struct {
	PractitionerID     int64
	InstitutionID      int64
	Weekdays           []int // 0 Sunday … 6 Saturday
	Dates              []care.Date
	ValidFrom, ValidTo care.Date
}

// MaxSiteDates is the most listed dates one registration may carry.
const MaxSiteDates = 60

// MaxSiteYears is the longest a registration may be valid (多点执业
// registrations are renewed with the practising licence's record).
const MaxSiteYears = 3

// RegisterSite registers a practitioner to work at another institution
// of the county on a schedule: administrators only. Errors: EFORBIDDEN,
// EINVALID (practitioner, institution — their own or outside the county,
// no weekday and no date, a date outside the validity, validity reversed,
// ended or longer than MaxSiteYears).
func (s *Service) RegisterSite(ctx context.Context, a care.Actor, in SiteInput) (*PracticeSite, error) {
	if a.Role != care.RoleAdmin || a.CountyCode == "" {
		return nil, care.Errorf(care.EFORBIDDEN, "error.forbidden")
	}
	t, err := s.Orgs.Tree(ctx)
	if err != nil {
		return nil, err
	}
	today := care.Today(s.Now())
	var fs []care.FieldError
	p, err := s.Staff.Practitioner(ctx, in.PractitionerID)
	if care.IsCode(err, care.ENOTFOUND) || err == nil && (!p.Active || t.Get(p.InstitutionID) == nil || t.Get(p.InstitutionID).CountyCode != a.CountyCode) {
		fs = append(fs, care.FieldError{Field: "practitioner_id", Key: "outreach.practitioner_invalid"})
		p = nil
	} else if err != nil {
		return nil, err
	}
	in2 := t.Get(in.InstitutionID)
	if in2 == nil || in2.CountyCode != a.CountyCode || !in2.Active || in2.Kind == org.KindCounty || in2.Kind == org.KindCommunity ||
		in2.Kind == org.KindCommission || in2.Kind == org.KindInsurance || (p != nil && p.InstitutionID == in2.ID) {
		fs = append(fs, care.FieldError{Field: "institution_id", Key: "outreach.site_invalid"})
	}
	mask, ok := WeekdayMask(in.Weekdays)
	if !ok {
		fs = append(fs, care.FieldError{Field: "weekdays", Key: "outreach.weekday_invalid"})
	}
	dates := slices.Clone(in.Dates)
	slices.SortFunc(dates, func(x, y care.Date) int { return x.Time().Compare(y.Time()) })
	dates = slices.Compact(dates)
	switch {
	case mask == 0 && len(dates) == 0 && ok:
		fs = append(fs, care.FieldError{Field: "weekdays", Key: "outreach.site_no_days"})
	case len(dates) > MaxSiteDates:
		fs = append(fs, care.FieldError{Field: "dates", Key: "outreach.site_many_dates", Args: []any{MaxSiteDates}})
	}
	switch {
	case in.ValidFrom.IsZero() || in.ValidTo.IsZero():
		fs = append(fs, care.FieldError{Field: "valid_from", Key: "field.required"})
	case in.ValidTo.Before(in.ValidFrom) || in.ValidTo.Before(today):
		fs = append(fs, care.FieldError{Field: "valid_to", Key: "outreach.validity_invalid"})
	case in.ValidTo.After(in.ValidFrom.AddDays(366 * MaxSiteYears)):
		fs = append(fs, care.FieldError{Field: "valid_to", Key: "outreach.validity_long", Args: []any{MaxSiteYears}})
	default:
		for _, d := range dates {
			if d.Before(in.ValidFrom) || d.After(in.ValidTo) {
				fs = append(fs, care.FieldError{Field: "dates", Key: "outreach.date_outside", Args: []any{d.String()}})
				break
			}
		}
	}
	if err := care.Invalid(fs); err != nil {
		return nil, err
	}
	site := &PracticeSite{CountyCode: a.CountyCode, PractitionerID: p.ID, Practitioner: p.Name, InstitutionID: in2.ID, InstitutionName: in2.Name,
		Weekdays: mask, Dates: dates, ValidFrom: in.ValidFrom, ValidTo: in.ValidTo, CreatedBy: a.AccountID, CreatedAt: s.Now()}
	ev := audit.New(ctx, a, ActSite, 0)
	ev.Detail = fmt.Sprintf("practitioner %d at institution %d, weekdays %v, %d dates, %s–%s", p.ID, in2.ID, WeekdaysOf(mask), len(dates), in.ValidFrom, in.ValidTo)
	if err := s.Repo.CreatePracticeSite(ctx, site, ev); err != nil {
		return nil, err
	}
	return site, nil
}

// RevokeSite ends a registration: administrators only. Errors:
// EFORBIDDEN, ENOTFOUND.
func (s *Service) RevokeSite(ctx context.Context, a care.Actor, id int64) error {
	if a.Role != care.RoleAdmin || a.CountyCode == "" {
		return care.Errorf(care.EFORBIDDEN, "error.forbidden")
	}
	ev := audit.New(ctx, a, ActSite, 0)
	ev.Detail = fmt.Sprintf("site %d revoked", id)
	return s.Repo.RevokePracticeSite(ctx, a.CountyCode, id, ev)
}

// CountySites lists the county's registrations (administrators).
func (s *Service) CountySites(ctx context.Context, a care.Actor) ([]PracticeSite, error) {
	if a.Role != care.RoleAdmin || a.CountyCode == "" {
		return nil, care.Errorf(care.EFORBIDDEN, "error.forbidden")
	}
	return s.Repo.CountyPracticeSites(ctx, a.CountyCode, care.Today(s.Now()))
}

// Workplace is an institution a practitioner may act for today.
type Workplace struct {
	InstitutionID int64
	Name          string
	Home          bool // the account's own institution
	Current       bool // the one the session acts for now
}

// home is the account's own institution, acting or not.
func home(a care.Actor) int64 {
	if a.HomeInstitutionID != 0 {
		return a.HomeInstitutionID
	}
	return a.InstitutionID
}

// Workplaces lists where a may act today: their own institution first,
// then each institution a live site schedules them at today; and their
// sites from today on. Errors: EFORBIDDEN (no practitioner record).
func (s *Service) Workplaces(ctx context.Context, a care.Actor) ([]Workplace, []PracticeSite, error) {
	if a.PractitionerID == 0 || a.Role == care.RoleResident {
		return nil, nil, care.Errorf(care.EFORBIDDEN, "error.forbidden")
	}
	t, err := s.Orgs.Tree(ctx)
	if err != nil {
		return nil, nil, err
	}
	today := care.Today(s.Now())
	sites, err := s.Repo.PracticeSites(ctx, a.PractitionerID, today)
	if err != nil {
		return nil, nil, err
	}
	h := home(a)
	name := func(id int64) string {
		if in := t.Get(id); in != nil {
			return in.Name
		}
		return ""
	}
	out := []Workplace{{InstitutionID: h, Name: name(h), Home: true, Current: a.InstitutionID == h}}
	for i := range sites {
		sites[i].InstitutionName = name(sites[i].InstitutionID)
		id := sites[i].InstitutionID
		if id != h && sites[i].Covers(today) && !slices.ContainsFunc(out, func(w Workplace) bool { return w.InstitutionID == id }) {
			out = append(out, Workplace{InstitutionID: id, Name: name(id), Current: a.InstitutionID == id})
		}
	}
	return out, sites, nil
}

// Act switches the sign-in session to act for institution: the account's
// own, or one a live site schedules them at today (deny by default: any
// other is refused, audited). The switch lasts the session's day: on a
// day the site does not cover, the session acts for the account's own
// institution again (store.SessionActor checks on every lookup).
// Errors: EFORBIDDEN (no practitioner record), ECONFLICT
// outreach.not_scheduled.
func (s *Service) Act(ctx context.Context, a care.Actor, institution int64) error {
	ws, _, err := s.Workplaces(ctx, a)
	if err != nil {
		return err
	}
	i := slices.IndexFunc(ws, func(w Workplace) bool { return w.InstitutionID == institution })
	ev := audit.New(ctx, a, ActActing, 0)
	ev.Detail = fmt.Sprintf("act for institution %d", institution)
	if i < 0 {
		ev.Outcome = audit.OutcomeDenied
		s.Audit.Record(ctx, ev)
		return care.Errorf(care.ECONFLICT, "outreach.not_scheduled")
	}
	acting := institution
	if ws[i].Home {
		acting = 0
	}
	if err := s.Repo.SetActingInstitution(ctx, a.SessionID, acting, ev); err != nil {
		return err
	}
	if s.Forget != nil {
		s.Forget(a.AccountID)
	}
	return nil
}
