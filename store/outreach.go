package store

import (
	"context"
	"strings"
	"time"

	"countycare/audit"
	"countycare/care"
	"countycare/notify"
	"countycare/outreach"
)

// localDay is the Shanghai calendar day of an instant column, as a date
// comparable with a DATE column (SQLite: ISO text).
func (s *Store) localDay(col string) string {
	if s.dialect == Postgres {
		return `((` + col + ` AT TIME ZONE 'UTC') + interval '8 hours')::date`
	}
	return `date(` + col + `, '+8 hours')`
}

// sessionSelect reads sessions with their counts: live bookings, attended,
// no-shows, and the referrals its specialist sent from its township on
// its date (a referral made during the session).
func (s *Store) sessionSelect() string {
	return `SELECT s.id, s.county_code, s.township_id, t.name, s.host_id, h.name, s.practitioner_id, p.name, s.specialty, s.date, s.slots,
		s.slot_minutes, s.capacity, s.status, s.created_by, s.created_at, s.version,
		s.room, s.updated_by, s.updated_at, s.cancel_reason, s.cancelled_by, s.cancelled_at,
		(SELECT COUNT(*) FROM outreach_bookings b WHERE b.session_id = s.id AND b.status = 'booked'),
		(SELECT COUNT(*) FROM outreach_bookings b WHERE b.session_id = s.id AND b.status = 'attended'),
		(SELECT COUNT(*) FROM outreach_bookings b WHERE b.session_id = s.id AND b.status = 'no_show'),
		(SELECT COUNT(*) FROM referrals r WHERE r.from_institution = s.township_id AND r.sent_by_practitioner = s.practitioner_id
			AND ` + s.localDay("r.first_sent_at") + ` = s.date)
		FROM outreach_sessions s
		JOIN institutions t ON t.id = s.township_id
		JOIN institutions h ON h.id = s.host_id
		JOIN practitioners p ON p.id = s.practitioner_id`
}

func scanSession(sc interface{ Scan(...any) error }, x *outreach.Session) error {
	var slots string
	err := sc.Scan(&x.ID, &x.CountyCode, &x.TownshipID, &x.TownshipName, &x.HostID, &x.HostName, &x.PractitionerID, &x.Specialist, &x.Specialty,
		&x.Date, &slots, &x.SlotMinutes, &x.Capacity, &x.Status, &x.CreatedBy, tsOf(&x.CreatedAt), &x.Version,
		&x.Room, &x.UpdatedBy, tsOf(&x.UpdatedAt), &x.CancelReason, &x.CancelledBy, tsOf(&x.CancelledAt),
		&x.Booked, &x.Attended, &x.NoShow, &x.Referrals)
	x.Slots = outreach.SplitSlots(slots)
	return err
}

// CreateSession stores a session, its specialist's practice site for the
// date and the audit row in one transaction. Errors: ECONFLICT
// outreach.specialist_busy.
func (s *Store) CreateSession(ctx context.Context, x *outreach.Session, site *outreach.PracticeSite, ev audit.Event) error {
	const op = "store.CreateSession"
	return s.Transact(ctx, func(tx db) error {
		id, err := tx.insert(ctx, `INSERT INTO outreach_sessions (county_code, township_id, host_id, practitioner_id, specialty, date, slots,
			slot_minutes, capacity, status, created_by, created_at, version, room) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			x.CountyCode, x.TownshipID, x.HostID, x.PractitionerID, x.Specialty, x.Date, outreach.JoinSlots(x.Slots), x.SlotMinutes, x.Capacity,
			x.Status, x.CreatedBy, s.ts(x.CreatedAt), x.Version, x.Room)
		if err != nil {
			if care.IsCode(mapErr(err), care.ECONFLICT) {
				return &care.Error{Code: care.ECONFLICT, Key: "outreach.specialist_busy", Op: op, Err: err}
			}
			return wrap(op, err)
		}
		x.ID, site.SessionID = id, id
		if err := s.insertSite(ctx, tx, site); err != nil {
			return wrap(op, err)
		}
		return s.appendAudit(ctx, tx, ev)
	})
}

func (s *Store) insertSite(ctx context.Context, tx db, p *outreach.PracticeSite) error {
	dates := make([]string, len(p.Dates))
	for i, d := range p.Dates {
		dates[i] = d.String()
	}
	id, err := tx.insert(ctx, `INSERT INTO practice_sites (county_code, practitioner_id, institution_id, weekdays, dates, valid_from, valid_to,
		session_id, created_by, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		p.CountyCode, p.PractitionerID, p.InstitutionID, int(p.Weekdays), strings.Join(dates, ","), p.ValidFrom, p.ValidTo,
		nullID(p.SessionID), p.CreatedBy, s.ts(p.CreatedAt))
	p.ID = id
	return err
}

// OutreachSession reads one session of a county with its counts.
func (s *Store) OutreachSession(ctx context.Context, county string, id int64) (*outreach.Session, error) {
	var x outreach.Session
	if err := scanSession(s.read().row(ctx, s.sessionSelect()+` WHERE s.county_code = ? AND s.id = ?`, county, id), &x); err != nil {
		return nil, wrap("store.OutreachSession", err)
	}
	return &x, nil
}

// OutreachSessions lists a county's sessions dated from–to by date.
func (s *Store) OutreachSessions(ctx context.Context, county string, township int64, from, to care.Date) ([]outreach.Session, error) {
	const op = "store.OutreachSessions"
	q := s.sessionSelect() + ` WHERE s.county_code = ? AND s.date >= ? AND s.date <= ?`
	args := []any{county, from, to}
	if township != 0 {
		q += ` AND s.township_id = ?`
		args = append(args, township)
	}
	rows, err := s.read().query(ctx, q+` ORDER BY s.date, t.name, s.id`, args...)
	if err != nil {
		return nil, wrap(op, err)
	}
	defer rows.Close()
	var out []outreach.Session
	for rows.Next() {
		var x outreach.Session
		if err := scanSession(rows, &x); err != nil {
			return nil, wrap(op, err)
		}
		out = append(out, x)
	}
	return out, wrap(op, rows.Err())
}

// Book stores a booking if its slot has room and the resident holds no
// live booking of the session, serialised per session (PostgreSQL: the
// session's row is locked; SQLite has one writer). Errors: ECONFLICT
// outreach.slot_full, outreach.already_booked.
func (s *Store) Book(ctx context.Context, b *outreach.Booking, perSlot int, msgs []notify.Message, ev audit.Event) error {
	const op = "store.Book"
	return s.Transact(ctx, func(tx db) error {
		var version int
		if err := tx.row(ctx, `SELECT version FROM outreach_sessions WHERE id = ? AND status = 'scheduled'`+s.lockRow(), b.SessionID).Scan(&version); err != nil {
			if care.IsCode(mapErr(err), care.ENOTFOUND) {
				return care.Errorf(care.ECONFLICT, "outreach.session_closed")
			}
			return wrap(op, err)
		}
		var mine, taken int
		if err := tx.row(ctx, `SELECT COUNT(CASE WHEN resident_id = ? THEN 1 END), COUNT(CASE WHEN slot = ? THEN 1 END)
			FROM outreach_bookings WHERE session_id = ? AND status <> 'cancelled'`, b.ResidentID, b.Slot, b.SessionID).Scan(&mine, &taken); err != nil {
			return wrap(op, err)
		}
		if mine > 0 {
			return care.Errorf(care.ECONFLICT, "outreach.already_booked")
		}
		if taken >= perSlot {
			return care.Errorf(care.ECONFLICT, "outreach.slot_full")
		}
		id, err := tx.insert(ctx, `INSERT INTO outreach_bookings (county_code, session_id, resident_id, slot, status, channel, booked_by, booked_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, b.CountyCode, b.SessionID, b.ResidentID, b.Slot, b.Status, b.Channel, b.BookedBy, s.ts(b.BookedAt))
		if err != nil {
			if care.IsCode(mapErr(err), care.ECONFLICT) {
				return &care.Error{Code: care.ECONFLICT, Key: "outreach.already_booked", Op: op, Err: err}
			}
			return wrap(op, err)
		}
		b.ID = id
		if err := s.queueInTx(ctx, tx, msgs); err != nil {
			return err
		}
		return s.appendAudit(ctx, tx, ev)
	})
}

// lockRow is the clause that locks a row read for update (PostgreSQL;
// SQLite has one writer).
func (s *Store) lockRow() string {
	if s.dialect == Postgres {
		return " FOR UPDATE"
	}
	return ""
}

// ResidentContact reads a resident's name and phone.
func (s *Store) ResidentContact(ctx context.Context, county string, residentID int64) (string, string, error) {
	var name, phone string
	err := s.read().row(ctx, `SELECT name, phone FROM residents WHERE county_code = ? AND id = ?`, county, residentID).Scan(&name, &phone)
	return name, phone, wrap("store.ResidentContact", err)
}

// bookingRows runs query, which selects bookingCols and then the
// columns each row's fields (from fields) take.
func bookingRows(ctx context.Context, q db, query string, fields func(b *outreach.Booking) []any, args ...any) ([]outreach.Booking, error) {
	rows, err := q.query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []outreach.Booking
	for rows.Next() {
		var b outreach.Booking
		if err := scanBooking(rows, &b, fields(&b)...); err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	return out, rows.Err()
}

// liveBookings reads a session's booked bookings with the residents'
// names and phones, inside tx.
func (s *Store) liveBookings(ctx context.Context, tx db, sessionID int64) ([]outreach.Booking, error) {
	return bookingRows(ctx, tx, `SELECT `+bookingCols+`, r.name, r.phone FROM outreach_bookings b JOIN residents r ON r.id = b.resident_id
		WHERE b.session_id = ? AND b.status = 'booked' ORDER BY b.slot, b.id`, func(b *outreach.Booking) []any { return []any{&b.ResidentName, &b.Phone} }, sessionID)
}

// UpdateSession stores an edit of a session if it is still at version from
// and scheduled, moving its live bookings' slots by slotMap, refusing a
// dropped booked slot or a capacity below a slot's live bookings, with
// the messages msgs builds from its booked residents and ev, in one
// transaction (the session's row locked on PostgreSQL, as Book). Errors:
// ECONFLICT outreach.stale, outreach.slots_booked,
// outreach.capacity_below_booked, outreach.specialist_busy.
func (s *Store) UpdateSession(ctx context.Context, x *outreach.Session, from int, slotMap map[string]string, moved bool,
	msgs func([]outreach.Booking) []notify.Message, ev audit.Event) error {
	const op = "store.UpdateSession"
	return s.Transact(ctx, func(tx db) error {
		var version int
		if err := tx.row(ctx, `SELECT version FROM outreach_sessions WHERE id = ? AND status = 'scheduled'`+s.lockRow(), x.ID).Scan(&version); err != nil &&
			!care.IsCode(mapErr(err), care.ENOTFOUND) {
			return wrap(op, err)
		}
		if version != from {
			return care.Errorf(care.ECONFLICT, "outreach.stale")
		}
		rows, err := tx.query(ctx, `SELECT slot, COUNT(*) FROM outreach_bookings WHERE session_id = ? AND status <> 'cancelled' GROUP BY slot`, x.ID)
		if err != nil {
			return wrap(op, err)
		}
		most, dropped := 0, false
		for rows.Next() {
			var slot string
			var n int
			if err := rows.Scan(&slot, &n); err != nil {
				rows.Close()
				return wrap(op, err)
			}
			most = max(most, n)
			if _, ok := slotMap[slot]; !ok {
				dropped = true
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return wrap(op, err)
		}
		if dropped {
			return care.Errorf(care.ECONFLICT, "outreach.slots_booked")
		}
		if most > x.Capacity {
			return care.Errorf(care.ECONFLICT, "outreach.capacity_below_booked", most)
		}
		live, err := s.liveBookings(ctx, tx, x.ID)
		if err != nil {
			return wrap(op, err)
		}
		if _, err := tx.exec(ctx, `UPDATE outreach_sessions SET host_id = ?, practitioner_id = ?, date = ?, slots = ?, slot_minutes = ?, capacity = ?,
			room = ?, updated_by = ?, updated_at = ?, version = ? WHERE id = ?`, x.HostID, x.PractitionerID, x.Date, outreach.JoinSlots(x.Slots),
			x.SlotMinutes, x.Capacity, x.Room, x.UpdatedBy, s.ts(x.UpdatedAt), x.Version, x.ID); err != nil {
			if care.IsCode(mapErr(err), care.ECONFLICT) {
				return &care.Error{Code: care.ECONFLICT, Key: "outreach.specialist_busy", Op: op, Err: err}
			}
			return wrap(op, err)
		}
		// Two steps through a marker ("~09:00"), so that a slot moved onto
		// another booked slot's old time is not moved twice.
		for old, to := range slotMap {
			if old == to {
				continue
			}
			if _, err := tx.exec(ctx, `UPDATE outreach_bookings SET slot = ? WHERE session_id = ? AND slot = ?`, "~"+to, x.ID, old); err != nil {
				return wrap(op, err)
			}
		}
		if _, err := tx.exec(ctx, `UPDATE outreach_bookings SET slot = substr(slot, 2) WHERE session_id = ? AND slot LIKE '~%'`, x.ID); err != nil {
			return wrap(op, err)
		}
		if moved {
			if _, err := tx.exec(ctx, `UPDATE outreach_bookings SET reminded_at = NULL WHERE session_id = ? AND status = 'booked'`, x.ID); err != nil {
				return wrap(op, err)
			}
		}
		if _, err := tx.exec(ctx, `UPDATE practice_sites SET practitioner_id = ?, dates = ?, valid_from = ?, valid_to = ? WHERE session_id = ?`,
			x.PractitionerID, x.Date.String(), x.Date, x.Date, x.ID); err != nil {
			return wrap(op, err)
		}
		if err := s.queueInTx(ctx, tx, msgs(live)); err != nil {
			return err
		}
		return s.appendAudit(ctx, tx, ev)
	})
}

// CancelSession cancels a session still at version from, its booked
// bookings and its practice site, queuing the messages msgs builds from
// its booked residents, with ev, in one transaction. Errors: ECONFLICT
// outreach.stale.
func (s *Store) CancelSession(ctx context.Context, x *outreach.Session, from int, msgs func([]outreach.Booking) []notify.Message, ev audit.Event) error {
	const op = "store.CancelSession"
	return s.Transact(ctx, func(tx db) error {
		res, err := tx.exec(ctx, `UPDATE outreach_sessions SET status = ?, cancel_reason = ?, cancelled_by = ?, cancelled_at = ?, version = ?
			WHERE id = ? AND version = ? AND status = 'scheduled'`, x.Status, x.CancelReason, x.CancelledBy, s.ts(x.CancelledAt), x.Version, x.ID, from)
		if err != nil {
			return wrap(op, err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return care.Errorf(care.ECONFLICT, "outreach.stale")
		}
		live, err := s.liveBookings(ctx, tx, x.ID)
		if err != nil {
			return wrap(op, err)
		}
		if _, err := tx.exec(ctx, `UPDATE outreach_bookings SET status = 'cancelled', updated_by = ?, updated_at = ? WHERE session_id = ? AND status = 'booked'`,
			x.CancelledBy, s.ts(x.CancelledAt), x.ID); err != nil {
			return wrap(op, err)
		}
		if _, err := tx.exec(ctx, `UPDATE practice_sites SET revoked_at = ? WHERE session_id = ? AND revoked_at IS NULL`, s.ts(x.CancelledAt), x.ID); err != nil {
			return wrap(op, err)
		}
		if err := s.queueInTx(ctx, tx, msgs(live)); err != nil {
			return err
		}
		return s.appendAudit(ctx, tx, ev)
	})
}

// DueReminders lists booked bookings of scheduled sessions on day that
// have no reminder yet, with the residents' names and phones and the
// sessions' township, specialty and room.
func (s *Store) DueReminders(ctx context.Context, day care.Date, limit int) ([]outreach.Booking, error) {
	out, err := bookingRows(ctx, s.read(), `SELECT `+bookingCols+`, r.name, r.phone, s.date, s.township_id, t.name, s.specialty, s.room
		FROM outreach_sessions s JOIN outreach_bookings b ON b.session_id = s.id JOIN residents r ON r.id = b.resident_id
		JOIN institutions t ON t.id = s.township_id
		WHERE s.date = ? AND s.status = 'scheduled' AND b.status = 'booked' AND b.reminded_at IS NULL ORDER BY b.id LIMIT ?`,
		func(b *outreach.Booking) []any {
			return []any{&b.ResidentName, &b.Phone, &b.Date, &b.TownshipID, &b.Township, &b.Specialty, &b.Room}
		}, day, limit)
	return out, wrap("store.DueReminders", err)
}

// MarkReminded marks each booking reminded at at — only a booking still
// booked and unmarked — and queues its message only when it marked it,
// with ev, in one transaction; it returns how many messages were queued.
// Two runs (or two replicas) therefore queue one reminder per booking.
func (s *Store) MarkReminded(ctx context.Context, marks []outreach.ReminderMark, at time.Time, ev audit.Event) (int, error) {
	const op = "store.MarkReminded"
	queued := 0
	err := s.Transact(ctx, func(tx db) error {
		queued = 0
		now := s.now()
		for _, m := range marks {
			res, err := tx.exec(ctx, `UPDATE outreach_bookings SET reminded_at = ? WHERE id = ? AND status = 'booked' AND reminded_at IS NULL`, s.ts(at), m.BookingID)
			if err != nil {
				return wrap(op, err)
			}
			if n, _ := res.RowsAffected(); n != 1 || m.Message == nil {
				continue
			}
			if err := s.insertMessage(ctx, tx, m.Message, now); err != nil {
				return wrap(op, err)
			}
			queued++
		}
		return s.appendAudit(ctx, tx, ev)
	})
	return queued, err
}

const bookingCols = `b.id, b.county_code, b.session_id, b.resident_id, b.slot, b.status, b.channel, b.booked_by, b.booked_at, b.updated_by, b.updated_at,
	b.reminded_at`

func scanBooking(sc interface{ Scan(...any) error }, b *outreach.Booking, extra ...any) error {
	return sc.Scan(append([]any{&b.ID, &b.CountyCode, &b.SessionID, &b.ResidentID, &b.Slot, &b.Status, &b.Channel, &b.BookedBy,
		tsOf(&b.BookedAt), &b.UpdatedBy, tsOf(&b.UpdatedAt), tsOf(&b.RemindedAt)}, extra...)...)
}

// OutreachBooking reads one booking of a county.
func (s *Store) OutreachBooking(ctx context.Context, county string, id int64) (*outreach.Booking, error) {
	var b outreach.Booking
	if err := scanBooking(s.read().row(ctx, `SELECT `+bookingCols+` FROM outreach_bookings b WHERE b.county_code = ? AND b.id = ?`, county, id), &b); err != nil {
		return nil, wrap("store.OutreachBooking", err)
	}
	return &b, nil
}

// SetBookingStatus moves a booking from status from to b.Status with the
// audit row. Errors: ECONFLICT outreach.stale.
func (s *Store) SetBookingStatus(ctx context.Context, b *outreach.Booking, from string, ev audit.Event) error {
	const op = "store.SetBookingStatus"
	return s.Transact(ctx, func(tx db) error {
		res, err := tx.exec(ctx, `UPDATE outreach_bookings SET status = ?, updated_by = ?, updated_at = ? WHERE id = ? AND status = ?`,
			b.Status, b.UpdatedBy, s.ts(b.UpdatedAt), b.ID, from)
		if err != nil {
			return wrap(op, err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return care.Errorf(care.ECONFLICT, "outreach.stale")
		}
		return s.appendAudit(ctx, tx, ev)
	})
}

// SessionBookings lists a session's bookings by slot, with the residents'
// names, and each booking's resident's managing clinic.
func (s *Store) SessionBookings(ctx context.Context, sessionID int64) ([]outreach.Booking, map[int64]int64, error) {
	const op = "store.SessionBookings"
	rows, err := s.read().query(ctx, `SELECT `+bookingCols+`, r.name, r.village_id FROM outreach_bookings b
		JOIN residents r ON r.id = b.resident_id WHERE b.session_id = ? ORDER BY b.slot, b.id`, sessionID)
	if err != nil {
		return nil, nil, wrap(op, err)
	}
	defer rows.Close()
	var out []outreach.Booking
	managed := map[int64]int64{}
	for rows.Next() {
		var b outreach.Booking
		var village int64
		if err := scanBooking(rows, &b, &b.ResidentName, &village); err != nil {
			return nil, nil, wrap(op, err)
		}
		managed[b.ID] = village
		out = append(out, b)
	}
	return out, managed, wrap(op, rows.Err())
}

// ResidentBookings lists a resident's bookings, newest session first,
// with each session's date, township, specialty and specialist.
func (s *Store) ResidentBookings(ctx context.Context, county string, residentID int64) ([]outreach.Booking, error) {
	out, err := bookingRows(ctx, s.read(), `SELECT `+bookingCols+`, s.date, t.name, s.specialty, p.name, s.room FROM outreach_bookings b
		JOIN outreach_sessions s ON s.id = b.session_id JOIN institutions t ON t.id = s.township_id JOIN practitioners p ON p.id = s.practitioner_id
		WHERE b.county_code = ? AND b.resident_id = ? ORDER BY s.date DESC, b.slot DESC LIMIT 100`,
		func(b *outreach.Booking) []any {
			return []any{&b.Date, &b.Township, &b.Specialty, &b.Specialist, &b.Room}
		}, county, residentID)
	return out, wrap("store.ResidentBookings", err)
}

// OutreachStats counts per township over from–to, up to today: sessions
// held (not cancelled), patients seen, no-shows, referrals.
func (s *Store) OutreachStats(ctx context.Context, county string, from, to care.Date) ([]outreach.TownshipStats, error) {
	if today := care.Today(s.now()); to.After(today) {
		to = today
	}
	ss, err := s.OutreachSessions(ctx, county, 0, from, to)
	if err != nil {
		return nil, err
	}
	var out []outreach.TownshipStats
	at := map[int64]int{}
	for _, x := range ss {
		if x.Status == outreach.StatusCancelled {
			continue
		}
		i, ok := at[x.TownshipID]
		if !ok {
			i = len(out)
			at[x.TownshipID] = i
			out = append(out, outreach.TownshipStats{TownshipID: x.TownshipID, Township: x.TownshipName})
		}
		out[i].Sessions++
		out[i].Seen += x.Attended
		out[i].NoShow += x.NoShow
		out[i].Referrals += x.Referrals
	}
	return out, nil
}

// CreatePracticeSite stores a multi-site registration with its audit row.
func (s *Store) CreatePracticeSite(ctx context.Context, p *outreach.PracticeSite, ev audit.Event) error {
	return s.Transact(ctx, func(tx db) error {
		if err := s.insertSite(ctx, tx, p); err != nil {
			return wrap("store.CreatePracticeSite", err)
		}
		return s.appendAudit(ctx, tx, ev)
	})
}

// RevokePracticeSite ends a county's live registration with its audit
// row. Errors: ENOTFOUND.
func (s *Store) RevokePracticeSite(ctx context.Context, county string, id int64, ev audit.Event) error {
	return s.Transact(ctx, func(tx db) error {
		res, err := tx.exec(ctx, `UPDATE practice_sites SET revoked_at = ? WHERE county_code = ? AND id = ? AND revoked_at IS NULL`, s.ts(s.now()), county, id)
		if err != nil {
			return wrap("store.RevokePracticeSite", err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return care.Errorf(care.ENOTFOUND, "error.not_found")
		}
		return s.appendAudit(ctx, tx, ev)
	})
}

const siteCols = `ps.id, ps.county_code, ps.practitioner_id, p.name, ps.institution_id, i.name, ps.weekdays, ps.dates, ps.valid_from, ps.valid_to,
	ps.session_id, ps.created_by, ps.created_at`

func (s *Store) sites(ctx context.Context, op, where string, args ...any) ([]outreach.PracticeSite, error) {
	rows, err := s.read().query(ctx, `SELECT `+siteCols+` FROM practice_sites ps JOIN practitioners p ON p.id = ps.practitioner_id
		JOIN institutions i ON i.id = ps.institution_id WHERE ps.revoked_at IS NULL AND `+where+` ORDER BY ps.valid_from, ps.id`, args...)
	if err != nil {
		return nil, wrap(op, err)
	}
	defer rows.Close()
	var out []outreach.PracticeSite
	for rows.Next() {
		var p outreach.PracticeSite
		var wd int
		var dates string
		if err := rows.Scan(&p.ID, &p.CountyCode, &p.PractitionerID, &p.Practitioner, &p.InstitutionID, &p.InstitutionName, &wd, &dates,
			&p.ValidFrom, &p.ValidTo, idOf(&p.SessionID), &p.CreatedBy, tsOf(&p.CreatedAt)); err != nil {
			return nil, wrap(op, err)
		}
		p.Weekdays, p.Dates = uint8(wd), parseDates(dates)
		out = append(out, p)
	}
	return out, wrap(op, rows.Err())
}

// PracticeSites lists a practitioner's live sites valid on or after day.
func (s *Store) PracticeSites(ctx context.Context, practitionerID int64, day care.Date) ([]outreach.PracticeSite, error) {
	return s.sites(ctx, "store.PracticeSites", `ps.practitioner_id = ? AND ps.valid_to >= ?`, practitionerID, day)
}

// CountyPracticeSites lists a county's live registrations made by an
// administrator (not by a session), valid on or after day.
func (s *Store) CountyPracticeSites(ctx context.Context, county string, day care.Date) ([]outreach.PracticeSite, error) {
	return s.sites(ctx, "store.CountyPracticeSites", `ps.county_code = ? AND ps.session_id IS NULL AND ps.valid_to >= ?`, county, day)
}

// SetActingInstitution records the institution a sign-in session acts for (0: the
// account's own) with its audit row.
func (s *Store) SetActingInstitution(ctx context.Context, sessionID, institutionID int64, ev audit.Event) error {
	return s.Transact(ctx, func(tx db) error {
		if _, err := tx.exec(ctx, `UPDATE sessions SET acting_institution_id = ? WHERE id = ?`, nullID(institutionID), sessionID); err != nil {
			return wrap("store.SetActingInstitution", err)
		}
		return s.appendAudit(ctx, tx, ev)
	})
}

// actingFor applies a session's acting institution to its actor: only
// when a live practice site schedules the practitioner there today;
// otherwise the actor keeps the account's own institution (deny by
// default). One query per request: the practitioner's live sites at that
// institution joined with the institution's county.
func (s *Store) actingFor(ctx context.Context, a *care.Actor, acting int64) error {
	const op = "store.actingFor"
	if acting == 0 || acting == a.InstitutionID || a.PractitionerID == 0 || a.Role == care.RoleResident {
		return nil
	}
	today := care.Today(s.now())
	rows, err := s.read().query(ctx, `SELECT i.county_code, ps.weekdays, ps.dates, ps.valid_from, ps.valid_to FROM practice_sites ps
		JOIN institutions i ON i.id = ps.institution_id
		WHERE ps.practitioner_id = ? AND ps.institution_id = ? AND ps.valid_to >= ? AND ps.revoked_at IS NULL`, a.PractitionerID, acting, today)
	if err != nil {
		return wrap(op, err)
	}
	defer rows.Close()
	for rows.Next() {
		var county, dates string
		var wd int
		p := outreach.PracticeSite{InstitutionID: acting}
		if err := rows.Scan(&county, &wd, &dates, &p.ValidFrom, &p.ValidTo); err != nil {
			return wrap(op, err)
		}
		p.Weekdays, p.Dates = uint8(wd), parseDates(dates)
		if p.Covers(today) {
			a.HomeInstitutionID, a.InstitutionID, a.CountyCode = a.InstitutionID, acting, county
			return nil
		}
	}
	return wrap(op, rows.Err())
}

// parseDates reads a site's comma-separated dates (a bad one skipped).
func parseDates(s string) []care.Date {
	var out []care.Date
	for _, d := range splitCodes(s) {
		if x, err := care.ParseDate(d); err == nil {
			out = append(out, x)
		}
	}
	return out
}

// OutreachSession loads one session (with its ID set) and its
// specialist's practice site for the date (revoked when the session is
// cancelled).
func (b *Bulk) OutreachSession(x *outreach.Session, site *outreach.PracticeSite) error {
	if err := b.add("outreach_sessions", x.ID, x.CountyCode, x.TownshipID, x.HostID, x.PractitionerID, x.Specialty, b.dv(x.Date),
		outreach.JoinSlots(x.Slots), x.SlotMinutes, x.Capacity, x.Status, x.CreatedBy, b.tsv(x.CreatedAt), x.Version, x.Room, x.CancelReason, x.CancelledBy,
		b.tsv(x.CancelledAt), x.UpdatedBy, b.tsv(x.UpdatedAt)); err != nil {
		return err
	}
	dates := make([]string, len(site.Dates))
	for i, d := range site.Dates {
		dates[i] = d.String()
	}
	var revoked time.Time // a cancelled session's site ends with it
	if x.Status == outreach.StatusCancelled {
		revoked = x.CancelledAt
	}
	return b.add("practice_sites", site.ID, site.CountyCode, site.PractitionerID, site.InstitutionID, int(site.Weekdays), strings.Join(dates, ","),
		b.dv(site.ValidFrom), b.dv(site.ValidTo), nullID(site.SessionID), site.CreatedBy, b.tsv(site.CreatedAt), b.tsv(revoked))
}

// OutreachBooking loads one booking (with its ID set).
func (b *Bulk) OutreachBooking(x *outreach.Booking) error {
	return b.add("outreach_bookings", x.ID, x.CountyCode, x.SessionID, x.ResidentID, x.Slot, x.Status, x.Channel, x.BookedBy, b.tsv(x.BookedAt),
		x.UpdatedBy, b.tsv(x.UpdatedAt), b.tsv(x.RemindedAt))
}
