package outreach

import (
	"context"
	"fmt"
	"strings"
	"unicode/utf8"

	"countycare/audit"
	"countycare/care"
	"countycare/notify"
	"countycare/org"
)

// Audit actions of session changes and reminders.
const (
	ActEdit          = "outreach.edit"
	ActCancelSession = "outreach.cancel_session"
	ActRemind        = "outreach.remind"
)

// MaxRoom is the longest room name, in characters; MaxReason the longest
// cancellation reason (it is sent in a text message).
const (
	MaxRoom   = 40
	MaxReason = 60
)

// specialist checks the practitioner a session is given: an active
// practitioner of a county hospital of a's county, and — for a county
// specialist scheduling — of their own hospital (EFORBIDDEN otherwise).
// A fault is added to fs (p nil).
func (s *Service) specialist(ctx context.Context, a care.Actor, t *org.Tree, id int64, fs *[]care.FieldError) (*org.Practitioner, error) {
	if id == 0 {
		*fs = append(*fs, care.FieldError{Field: "practitioner_id", Key: "field.required"})
		return nil, nil
	}
	p, err := s.Staff.Practitioner(ctx, id)
	if care.IsCode(err, care.ENOTFOUND) || (err == nil && !p.Active) {
		*fs = append(*fs, care.FieldError{Field: "practitioner_id", Key: "outreach.practitioner_invalid"})
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	home := t.Get(p.InstitutionID)
	switch {
	case home == nil || home.CountyCode != a.CountyCode || home.Kind != org.KindCountyHospital:
		*fs = append(*fs, care.FieldError{Field: "practitioner_id", Key: "outreach.practitioner_invalid"})
		return nil, nil
	case a.Role != care.RoleAdmin && !t.IsWithin(p.InstitutionID, a.InstitutionID):
		return nil, care.Errorf(care.EFORBIDDEN, "error.forbidden")
	}
	return p, nil
}

// checkWhenWhere checks a session's date (not before today, at most
// MaxAheadDays ahead), room (at most MaxRoom characters) and places per
// slot (1–MaxCapacity), adding each fault to fs; it returns the room
// trimmed.
func (s *Service) checkWhenWhere(today, date care.Date, room string, capacity int, fs *[]care.FieldError) string {
	switch {
	case date.IsZero():
		*fs = append(*fs, care.FieldError{Field: "date", Key: "field.required"})
	case date.Before(today):
		*fs = append(*fs, care.FieldError{Field: "date", Key: "outreach.date_past"})
	case date.After(today.AddDays(s.Config.MaxAheadDays)):
		*fs = append(*fs, care.FieldError{Field: "date", Key: "outreach.date_far", Args: []any{s.Config.MaxAheadDays}})
	}
	room = strings.TrimSpace(room)
	if utf8.RuneCountInString(room) > MaxRoom || !utf8.ValidString(room) {
		*fs = append(*fs, care.FieldError{Field: "room", Key: "outreach.room_long", Args: []any{MaxRoom}})
	}
	if capacity < 1 || capacity > s.Config.MaxCapacity {
		*fs = append(*fs, care.FieldError{Field: "capacity", Key: "outreach.capacity_range", Args: []any{s.Config.MaxCapacity}})
	}
	return room
}

// Organiser reports whether a may change session ss: an administrator of
// its county, or a county specialist of the hospital that sends its
// specialist (the create path's roles, Scheduler, for this session).
func Organiser(a care.Actor, t *org.Tree, ss *Session) bool {
	if !Scheduler(a, t) || a.CountyCode != ss.CountyCode {
		return false
	}
	return a.Role == care.RoleAdmin || t.IsWithin(ss.HostID, a.InstitutionID)
}

// organised reads session id for a change by a: EFORBIDDEN for a role
// that organises no session, ENOTFOUND (audited as denied) for a session
// of another hospital or county; ECONFLICT outreach.session_cancelled,
// outreach.session_started once it cannot change.
func (s *Service) organised(ctx context.Context, a care.Actor, id int64, act string) (*Session, *org.Tree, error) {
	t, err := s.Orgs.Tree(ctx)
	if err != nil {
		return nil, nil, err
	}
	if !Scheduler(a, t) {
		return nil, nil, care.Errorf(care.EFORBIDDEN, "error.forbidden")
	}
	ss, err := s.Repo.OutreachSession(ctx, a.CountyCode, id)
	if err == nil && !Organiser(a, t, ss) {
		err = care.Errorf(care.ENOTFOUND, "error.not_found")
	}
	if care.IsCode(err, care.ENOTFOUND) {
		ev := audit.New(ctx, a, act, 0)
		ev.Outcome, ev.Detail = audit.OutcomeDenied, fmt.Sprintf("session %d: not found or another hospital's", id)
		s.Audit.Record(ctx, ev)
		return nil, nil, care.Errorf(care.ENOTFOUND, "error.not_found")
	}
	if err != nil {
		return nil, nil, err
	}
	if ss.Status != StatusScheduled {
		return nil, nil, care.Errorf(care.ECONFLICT, "outreach.session_cancelled")
	}
	if first, _ := ss.SlotStart(ss.Slots[0]); !s.Now().Before(first) {
		return nil, nil, care.Errorf(care.ECONFLICT, "outreach.session_started")
	}
	return ss, t, nil
}

// EditInput is a session's new time, room, places and specialist, as
// typed. Version is the version the editor saw (0: the current one).
type EditInput struct {
	Version        int
	PractitionerID int64
	Date           care.Date
	Start, End     string
	SlotMinutes    int
	Capacity       int
	Room           string
}

// Edit changes a session that has not begun: its date, times, room,
// places per slot and specialist, by its organiser (Organiser). Each
// booking keeps its slot's place in the order (the first slot's bookings
// go to the new first slot); a slot that would vanish with bookings in it
// is refused (outreach.slots_booked), and so is a capacity below the
// bookings a slot already holds (outreach.capacity_below_booked) — both
// checked in the store's transaction, serialised with bookings. When the
// day, a slot's time or the room changes, every booked resident is sent
// PurposeMoved (and the day-before reminder is due again). Errors:
// EFORBIDDEN, ENOTFOUND (audited), EINVALID (as Schedule, and room),
// ECONFLICT outreach.session_cancelled, outreach.session_started,
// outreach.stale (changed meanwhile), outreach.specialist_busy, and the
// two above. Nothing is stored on an error.
func (s *Service) Edit(ctx context.Context, a care.Actor, id int64, in EditInput) (*Session, Notices, error) {
	var n Notices
	ss, t, err := s.organised(ctx, a, id, ActEdit)
	if err != nil {
		return nil, n, err
	}
	var fs []care.FieldError
	p, err := s.specialist(ctx, a, t, in.PractitionerID, &fs)
	if err != nil {
		return nil, n, err
	}
	room := s.checkWhenWhere(care.Today(s.Now()), in.Date, in.Room, in.Capacity, &fs)
	slots, ok := MakeSlots(in.Start, in.End, in.SlotMinutes)
	if !ok {
		fs = append(fs, care.FieldError{Field: "start", Key: "outreach.slots_invalid", Args: []any{MaxSlots}})
	}
	if err := care.Invalid(fs); err != nil {
		return nil, n, err
	}
	from := ss.Version
	if in.Version != 0 && in.Version != from {
		return nil, n, care.Errorf(care.ECONFLICT, "outreach.stale")
	}
	old := *ss
	slotMap := map[string]string{}
	for i, sl := range old.Slots {
		if i < len(slots) {
			slotMap[sl] = slots[i]
		}
	}
	ss.PractitionerID, ss.Specialist, ss.HostID = p.ID, p.Name, p.InstitutionID
	ss.Date, ss.Slots, ss.SlotMinutes, ss.Capacity, ss.Room = in.Date, slots, in.SlotMinutes, in.Capacity, room
	ss.UpdatedBy, ss.UpdatedAt, ss.Version = a.AccountID, s.Now(), from+1
	moved := old.Date != ss.Date || old.Room != ss.Room
	for sl, to := range slotMap {
		moved = moved || sl != to
	}
	var changes []string
	change := func(what string, x, y any) {
		if fmt.Sprint(x) != fmt.Sprint(y) {
			changes = append(changes, fmt.Sprintf("%s %v→%v", what, x, y))
		}
	}
	change("date", old.Date, ss.Date)
	change("time", old.Slots[0]+"–"+old.SlotEnd(), ss.Slots[0]+"–"+ss.SlotEnd())
	change("slot_minutes", old.SlotMinutes, ss.SlotMinutes)
	change("capacity", old.Capacity, ss.Capacity)
	change("room", old.Room, ss.Room)
	change("practitioner", old.PractitionerID, ss.PractitionerID)
	msgs := func(bs []Booking) []notify.Message {
		n = Notices{}
		if !moved {
			return nil
		}
		for i := range bs {
			bs[i].Slot = slotMap[bs[i].Slot]
		}
		return notices(PurposeMoved, ss, bs, "", &n)
	}
	ev := audit.New(ctx, a, ActEdit, 0)
	ev.CountyCode = ss.CountyCode
	ev.Detail = fmt.Sprintf("session %d: %s", ss.ID, strings.Join(changes, ", "))
	if err := s.Repo.UpdateSession(ctx, ss, from, slotMap, moved, msgs, ev); err != nil {
		return nil, Notices{}, err
	}
	return ss, n, nil
}

// CancelSession cancels a session that has not begun, with a reason, by
// its organiser: its bookings are cancelled with it, its specialist's
// practice site for the day revoked, and every booked resident sent
// PurposeCancelled — all in one transaction. Errors: EFORBIDDEN,
// ENOTFOUND (audited), EINVALID outreach.reason (empty or longer than
// MaxReason), ECONFLICT outreach.session_cancelled,
// outreach.session_started, outreach.stale.
func (s *Service) CancelSession(ctx context.Context, a care.Actor, id int64, version int, reason string) (*Session, Notices, error) {
	var n Notices
	ss, _, err := s.organised(ctx, a, id, ActCancelSession)
	if err != nil {
		return nil, n, err
	}
	reason = strings.Join(strings.Fields(reason), " ")
	if reason == "" || utf8.RuneCountInString(reason) > MaxReason || !utf8.ValidString(reason) {
		return nil, n, care.Invalid([]care.FieldError{{Field: "reason", Key: "outreach.reason", Args: []any{MaxReason}}})
	}
	from := ss.Version
	if version != 0 && version != from {
		return nil, n, care.Errorf(care.ECONFLICT, "outreach.stale")
	}
	ss.Status, ss.CancelReason, ss.CancelledBy, ss.CancelledAt, ss.Version = StatusCancelled, reason, a.AccountID, s.Now(), from+1
	msgs := func(bs []Booking) []notify.Message {
		n = Notices{}
		return notices(PurposeCancelled, ss, bs, reason, &n)
	}
	ev := audit.New(ctx, a, ActCancelSession, 0)
	ev.CountyCode = ss.CountyCode
	ev.Detail = fmt.Sprintf("session %d cancelled: %s", ss.ID, reason)
	if err := s.Repo.CancelSession(ctx, ss, from, msgs, ev); err != nil {
		return nil, Notices{}, err
	}
	ss.Booked = 0
	return ss, n, nil
}

// Reminded is the outcome of one run of Remind.
type Reminded struct {
	Due     int // bookings of tomorrow's sessions not reminded yet
	Queued  int // reminders queued
	NoPhone int // residents without a mobile number: skipped, counted
}

// RemindBatch is how many bookings one run of Remind takes at most; the
// duty's next run takes the rest.
const RemindBatch = 2000

// Remind is the scheduled duty (serve's "outreach reminders"): between
// Config.RemindFromHour and RemindUntilHour (Shanghai), it queues
// PurposeReminder to every resident booked in a session held tomorrow
// who has not been reminded, and marks each booking reminded in the same
// transaction — a booking is reminded once however often the duty runs
// or on however many replicas (the store marks only an unmarked booking,
// and queues only for one it marked). Residents without a mobile number
// are marked and counted, not texted. One audit row per run.
func (s *Service) Remind(ctx context.Context) (Reminded, error) {
	var out Reminded
	now := s.Now()
	if h := now.In(care.Shanghai).Hour(); h < s.Config.RemindFromHour || h >= s.Config.RemindUntilHour {
		return out, nil
	}
	tomorrow := care.Today(now).AddDays(1)
	due, err := s.Repo.DueReminders(ctx, tomorrow, RemindBatch)
	if err != nil || len(due) == 0 {
		return out, err
	}
	out.Due = len(due)
	marks := make([]ReminderMark, len(due))
	var n Notices
	for i := range due {
		b := &due[i]
		ss := &Session{ID: b.SessionID, Date: b.Date, TownshipID: b.TownshipID, TownshipName: b.Township, Specialty: b.Specialty, Room: b.Room}
		marks[i] = ReminderMark{BookingID: b.ID, Message: notice(PurposeReminder, ss, b, "", &n)}
	}
	ev := audit.New(ctx, care.Actor{Username: "serve:outreach-reminders", Role: care.RoleAdmin}, ActRemind, 0)
	ev.Detail = fmt.Sprintf("sessions on %s: %d bookings due, %d with a mobile number", tomorrow, len(due), n.Queued)
	queued, err := s.Repo.MarkReminded(ctx, marks, now, ev)
	if err != nil {
		return out, err
	}
	out.Queued, out.NoPhone = queued, n.NoPhone
	return out, nil
}

// ReminderMark is one booking to mark reminded, with its message (nil:
// no mobile number).
type ReminderMark struct {
	BookingID int64
	Message   *notify.Message
}
