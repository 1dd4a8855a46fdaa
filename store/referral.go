package store

import (
	"context"
	"strconv"
	"strings"
	"time"

	"countycare/access"
	"countycare/audit"
	"countycare/care"
	"countycare/referral"
)

const referralCols = `id, county_code, direction, status, resident_id, poverty, green_channel, urgency, reasons, summary, from_institution, from_department,
	to_institution, to_department, out_of_county, bed_requested, requested_at, appointment, bed, diagnosis, diagnosis_text, plan, up_referral_id,
	redirected_from, consultation_id, note, idempotency_key, body_hash, care_link_id, sent_by, sent_by_practitioner, first_sent_at, sent_at,
	accepted_at, arrived_at, closed_at, updated_at, version`

func scanReferral(sc interface{ Scan(...any) error }, r *referral.Referral, extra ...any) error {
	var reasons string
	if err := sc.Scan(append([]any{&r.ID, &r.County, &r.Direction, &r.Status, &r.ResidentID, &r.Poverty, &r.GreenChannel, &r.Urgency, &reasons, &r.Summary,
		&r.FromInst, idOf(&r.FromDept), &r.ToInst, idOf(&r.ToDept), &r.OutOfCounty, &r.BedRequested, tsOf(&r.RequestedAt), tsOf(&r.Appointment), &r.Bed,
		&r.Diagnosis, &r.DiagnosisText, &r.Plan, idOf(&r.UpReferralID), idOf(&r.RedirectedFrom), idOf(&r.ConsultationID), &r.Note, &r.IdempotencyKey,
		&r.BodyHash, idOf(&r.CareLinkID), &r.SentBy, idOf(&r.SentByPract), tsOf(&r.FirstSentAt), tsOf(&r.SentAt), tsOf(&r.AcceptedAt), tsOf(&r.ArrivedAt),
		tsOf(&r.ClosedAt), tsOf(&r.UpdatedAt), &r.Version}, extra...)...); err != nil {
		return err
	}
	r.Reasons = nil
	for _, x := range splitList(reasons) {
		r.Reasons = append(r.Reasons, referral.Reason(x))
	}
	return nil
}

func joinReasons(rs []referral.Reason) string {
	s := make([]string, len(rs))
	for i, r := range rs {
		s[i] = string(r)
	}
	return strings.Join(s, ",")
}

// CreateReferral stores a referral with its first event, care link, tasks
// and the parent's transition, or returns the referral stored under the
// same idempotency key (ECONFLICT if its body differs).
func (s *Store) CreateReferral(ctx context.Context, r *referral.Referral, link *access.CareLink, tasks []referral.Task, parent *referral.Transition, ev audit.Event) (*referral.Referral, bool, error) {
	const op = "store.CreateReferral"
	var existing *referral.Referral
	err := s.Transact(ctx, func(tx db) error {
		existing = nil
		var old referral.Referral
		err := scanReferral(tx.row(ctx, `SELECT `+referralCols+` FROM referrals WHERE county_code = ? AND idempotency_key = ?`, r.County, r.IdempotencyKey), &old)
		if err == nil {
			existing = &old
			return nil
		}
		if !care.IsCode(mapErr(err), care.ENOTFOUND) {
			return wrap(op, err)
		}
		if parent != nil {
			if err := s.transition(ctx, tx, parent); err != nil {
				return err
			}
		}
		if link != nil {
			link.CreatedAt = r.SentAt
			if link.ID, err = tx.insert(ctx, `INSERT INTO care_links (county_code, resident_id, institution_id, kind, reason, created_by, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
				link.CountyCode, link.ResidentID, link.InstitutionID, link.Kind, link.Reason, link.CreatedBy, s.ts(link.CreatedAt)); err != nil {
				return wrap(op, err)
			}
			r.CareLinkID = link.ID
		}
		id, err := tx.insert(ctx, `INSERT INTO referrals (county_code, direction, status, resident_id, poverty, green_channel, urgency, reasons, summary,
			from_institution, from_department, to_institution, to_department, out_of_county, bed_requested, requested_at, appointment, bed, diagnosis,
			diagnosis_text, plan, up_referral_id, redirected_from, consultation_id, note, idempotency_key, body_hash, care_link_id, sent_by, sent_by_practitioner,
			first_sent_at, sent_at, accepted_at, arrived_at, closed_at, updated_at, version)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1)`,
			r.County, string(r.Direction), string(r.Status), r.ResidentID, r.Poverty, r.GreenChannel, string(r.Urgency), joinReasons(r.Reasons), r.Summary,
			r.FromInst, nullID(r.FromDept), r.ToInst, nullID(r.ToDept), r.OutOfCounty, r.BedRequested, s.ts(r.RequestedAt), s.ts(r.Appointment), r.Bed, r.Diagnosis,
			r.DiagnosisText, r.Plan, nullID(r.UpReferralID), nullID(r.RedirectedFrom), nullID(r.ConsultationID), r.Note, r.IdempotencyKey, r.BodyHash,
			nullID(r.CareLinkID), r.SentBy, nullID(r.SentByPract), s.ts(r.FirstSentAt), s.ts(r.SentAt), s.ts(r.AcceptedAt), s.ts(r.ArrivedAt),
			s.ts(r.ClosedAt), s.ts(r.UpdatedAt))
		if err != nil {
			return wrap(op, err)
		}
		r.ID, r.Version = id, 1
		if _, err := tx.exec(ctx, `INSERT INTO referral_events (county_code, referral_id, action, from_status, to_status, note, actor_id, institution_id, at)
			VALUES (?, ?, 'create', '', ?, ?, ?, ?, ?)`, r.County, r.ID, string(r.Status), r.Note, r.SentBy, r.FromInst, s.ts(r.SentAt)); err != nil {
			return wrap(op, err)
		}
		for i := range tasks {
			t := &tasks[i]
			t.ReferralID = r.ID
			if t.ID, err = tx.insert(ctx, `INSERT INTO referral_tasks (county_code, referral_id, resident_id, clinic_id, kind, due_on, note, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
				t.County, t.ReferralID, t.ResidentID, t.ClinicID, string(t.Kind), t.Due, t.Note, s.ts(r.SentAt)); err != nil {
				return wrap(op, err)
			}
		}
		ev.Detail += " referral " + strconv.FormatInt(r.ID, 10)
		return s.appendAudit(ctx, tx, ev)
	})
	if care.IsCode(err, care.ECONFLICT) && existing == nil {
		// A concurrent retry with the same key won the race: answer as if it came first.
		var old referral.Referral
		if rerr := scanReferral(s.read().row(ctx, `SELECT `+referralCols+` FROM referrals WHERE county_code = ? AND idempotency_key = ?`, r.County, r.IdempotencyKey), &old); rerr == nil {
			existing, err = &old, nil
		}
	}
	if err != nil {
		return nil, false, err
	}
	if existing != nil {
		if existing.BodyHash != r.BodyHash || existing.Direction != r.Direction {
			return nil, false, &care.Error{Code: care.ECONFLICT, Key: "referral.idempotency_mismatch", Op: op}
		}
		return existing, false, nil
	}
	return r, true, nil
}

// transition saves one status change inside tx.
func (s *Store) transition(ctx context.Context, tx db, t *referral.Transition) error {
	const op = "store.SaveTransition"
	r := t.Referral
	res, err := tx.exec(ctx, `UPDATE referrals SET status = ?, note = ?, appointment = ?, bed = ?, accepted_at = ?, arrived_at = ?, closed_at = ?, updated_at = ?,
		version = version + 1 WHERE id = ? AND version = ?`, string(r.Status), r.Note, s.ts(r.Appointment), r.Bed, s.ts(r.AcceptedAt), s.ts(r.ArrivedAt),
		s.ts(r.ClosedAt), s.ts(r.UpdatedAt), r.ID, r.Version)
	if err != nil {
		return wrap(op, err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return &care.Error{Code: care.ECONFLICT, Key: "referral.stale", Op: op}
	}
	r.Version++
	e := &t.Event
	if e.ID, err = tx.insert(ctx, `INSERT INTO referral_events (county_code, referral_id, action, from_status, to_status, note, actor_id, institution_id, at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, e.County, e.ReferralID, e.Action, string(e.From), string(e.To), e.Note, e.By, e.ByInst, s.ts(e.At)); err != nil {
		return wrap(op, err)
	}
	if !t.ExpireLink.IsZero() && r.CareLinkID != 0 {
		if _, err := tx.exec(ctx, `UPDATE care_links SET expires_at = ? WHERE id = ? AND (expires_at IS NULL OR expires_at > ?)`,
			s.ts(t.ExpireLink), r.CareLinkID, s.ts(t.ExpireLink)); err != nil {
			return wrap(op, err)
		}
	}
	for i := range t.Messages {
		if err := s.insertMessage(ctx, tx, &t.Messages[i], e.At); err != nil {
			return wrap(op, err)
		}
	}
	return nil
}

// SaveTransition saves a status change with its event, link expiry,
// messages and audit row in one transaction.
func (s *Store) SaveTransition(ctx context.Context, t *referral.Transition, ev audit.Event) error {
	return s.Transact(ctx, func(tx db) error {
		if err := s.transition(ctx, tx, t); err != nil {
			return err
		}
		return s.appendAudit(ctx, tx, ev)
	})
}

// Referral returns one referral with its resident's name; ENOTFOUND if none.
func (s *Store) Referral(ctx context.Context, id int64) (*referral.Referral, error) {
	var r referral.Referral
	cols := "f." + strings.ReplaceAll(strings.Join(strings.Fields(referralCols), " "), ", ", ", f.")
	if err := scanReferral(s.read().row(ctx, `SELECT `+cols+`, r.name FROM referrals f JOIN residents r ON r.id = f.resident_id WHERE f.id = ?`, id), &r, &r.ResidentName); err != nil {
		return nil, wrap("store.Referral", err)
	}
	return &r, nil
}

// Referrals lists referrals matching f, open ones first, newest first, with the resident's name.
func (s *Store) Referrals(ctx context.Context, f referral.Filter) ([]referral.Referral, error) {
	const op = "store.Referrals"
	where, args := []string{"f.county_code = ?"}, []any{f.County}
	if f.Direction != "" {
		where, args = append(where, "f.direction = ?"), append(args, string(f.Direction))
	}
	if f.FromInsts != nil {
		if len(f.FromInsts) == 0 {
			return nil, nil
		}
		where, args = append(where, "f.from_institution IN ("+placeholders(len(f.FromInsts))+")"), append(args, int64Args(f.FromInsts)...)
	}
	if f.ToInsts != nil {
		if len(f.ToInsts) == 0 {
			return nil, nil
		}
		where, args = append(where, "f.to_institution IN ("+placeholders(len(f.ToInsts))+")"), append(args, int64Args(f.ToInsts)...)
	}
	if f.ToDept != 0 {
		where, args = append(where, "f.to_department = ?"), append(args, f.ToDept)
	}
	if len(f.Statuses) > 0 {
		ph := make([]any, len(f.Statuses))
		for i, x := range f.Statuses {
			ph[i] = string(x)
		}
		where, args = append(where, "f.status IN ("+placeholders(len(ph))+")"), append(args, ph...)
	}
	if f.ResidentID != 0 {
		where, args = append(where, "f.resident_id = ?"), append(args, f.ResidentID)
	}
	limit := f.Limit
	if limit <= 0 || limit > 500 {
		limit = 500
	}
	cols := "f." + strings.ReplaceAll(strings.Join(strings.Fields(referralCols), " "), ", ", ", f.")
	rows, err := s.read().query(ctx, `SELECT `+cols+`, r.name FROM referrals f JOIN residents r ON r.id = f.resident_id WHERE `+strings.Join(where, " AND ")+`
		ORDER BY CASE WHEN f.status IN ('sent', 'accepted', 'arrived') THEN 0 ELSE 1 END, CASE WHEN f.urgency = 'emergency' THEN 0 ELSE 1 END, f.sent_at DESC, f.id DESC LIMIT ?`,
		append(args, limit)...)
	if err != nil {
		return nil, wrap(op, err)
	}
	defer rows.Close()
	var out []referral.Referral
	for rows.Next() {
		var r referral.Referral
		if err := scanReferral(rows, &r, &r.ResidentName); err != nil {
			return nil, wrap(op, err)
		}
		out = append(out, r)
	}
	return out, wrap(op, rows.Err())
}

// ReferralEvents returns a referral's transitions, oldest first.
func (s *Store) ReferralEvents(ctx context.Context, referralID int64) ([]referral.Event, error) {
	const op = "store.ReferralEvents"
	rows, err := s.read().query(ctx, `SELECT id, county_code, referral_id, action, from_status, to_status, note, actor_id, institution_id, at
		FROM referral_events WHERE referral_id = ? ORDER BY id`, referralID)
	if err != nil {
		return nil, wrap(op, err)
	}
	defer rows.Close()
	var out []referral.Event
	for rows.Next() {
		var e referral.Event
		if err := rows.Scan(&e.ID, &e.County, &e.ReferralID, &e.Action, &e.From, &e.To, &e.Note, &e.By, &e.ByInst, tsOf(&e.At)); err != nil {
			return nil, wrap(op, err)
		}
		out = append(out, e)
	}
	return out, wrap(op, rows.Err())
}

// ReferralTasks returns the tasks of the referrals, by due date.
func (s *Store) ReferralTasks(ctx context.Context, referralIDs []int64) ([]referral.Task, error) {
	const op = "store.ReferralTasks"
	if len(referralIDs) == 0 {
		return nil, nil
	}
	rows, err := s.read().query(ctx, `SELECT id, county_code, referral_id, resident_id, clinic_id, kind, due_on, note FROM referral_tasks
		WHERE referral_id IN (`+placeholders(len(referralIDs))+`) ORDER BY due_on, id`, int64Args(referralIDs)...)
	if err != nil {
		return nil, wrap(op, err)
	}
	defer rows.Close()
	var out []referral.Task
	for rows.Next() {
		var t referral.Task
		if err := rows.Scan(&t.ID, &t.County, &t.ReferralID, &t.ResidentID, &t.ClinicID, &t.Kind, &t.Due, &t.Note); err != nil {
			return nil, wrap(op, err)
		}
		out = append(out, t)
	}
	return out, wrap(op, rows.Err())
}

// ReferralFacts streams the county's referrals first sent in [from, to] (dates in China time).
func (s *Store) ReferralFacts(ctx context.Context, county string, from, to care.Date, fn func(referral.Fact) error) error {
	return s.referralFacts(ctx, "store.ReferralFacts", county, nil, from, to, fn)
}

// ReferralFactsAt streams the county's referrals first sent in [from, to]
// that count at the institutions (referral.Fact.At: an up-referral where
// it was sent from, a down-referral where it went to), by id: the
// dashboard's records behind a township's referral figures, read by the
// institutions' indexes referrals_from and referrals_to, not the county's
// period.
func (s *Store) ReferralFactsAt(ctx context.Context, county string, at []int64, from, to care.Date, fn func(referral.Fact) error) error {
	if len(at) == 0 {
		return nil
	}
	return s.referralFacts(ctx, "store.ReferralFactsAt", county, at, from, to, fn)
}

// referralFacts streams the referrals of ReferralFacts, those counting at
// the institutions at alone when at is not nil.
func (s *Store) referralFacts(ctx context.Context, op, county string, at []int64, from, to care.Date, fn func(referral.Fact) error) error {
	lo := time.Date(from.Year, from.Month, from.Day, 0, 0, 0, 0, care.Shanghai)
	hi := time.Date(to.Year, to.Month, to.Day, 0, 0, 0, 0, care.Shanghai).AddDate(0, 0, 1)
	const cols = `id, direction, status, from_institution, to_institution, out_of_county, poverty, first_sent_at, arrived_at, resident_id`
	q, args := `SELECT `+cols+` FROM referrals WHERE county_code = ? AND first_sent_at >= ? AND first_sent_at < ? ORDER BY id`, []any{county, s.ts(lo), s.ts(hi)}
	if at != nil {
		in := placeholders(len(at))
		q = `SELECT ` + cols + ` FROM referrals WHERE from_institution IN (` + in + `) AND direction <> 'down' AND county_code = ? AND first_sent_at >= ? AND first_sent_at < ?
			UNION ALL SELECT ` + cols + ` FROM referrals WHERE to_institution IN (` + in + `) AND direction = 'down' AND county_code = ? AND first_sent_at >= ? AND first_sent_at < ?
			ORDER BY id`
		args = append(append(append(int64Args(at), args...), int64Args(at)...), args...)
	}
	rows, err := s.read().query(ctx, q, args...)
	if err != nil {
		return wrap(op, err)
	}
	defer rows.Close()
	for rows.Next() {
		var f referral.Fact
		if err := rows.Scan(&f.ID, &f.Direction, &f.Status, &f.FromInst, &f.ToInst, &f.OutOfCounty, &f.Poverty, tsOf(&f.FirstSentAt), tsOf(&f.ArrivedAt), &f.ResidentID); err != nil {
			return wrap(op, err)
		}
		if err := fn(f); err != nil {
			return err
		}
	}
	return wrap(op, rows.Err())
}

// VisitCounts counts the settled visits of the county's residents in
// [from, to] by the resident's village clinic, level and visit type.
func (s *Store) VisitCounts(ctx context.Context, county string, from, to care.Date) ([]referral.VisitCount, error) {
	const op = "store.VisitCounts"
	rows, err := s.read().query(ctx, `SELECT r.village_id, x.level, x.visit_type, COUNT(*) FROM settlements x JOIN residents r ON r.id = x.resident_id
		WHERE x.county_code = ? AND x.status = 'settled' AND x.visit_date >= ? AND x.visit_date <= ? GROUP BY r.village_id, x.level, x.visit_type`, county, from, to)
	if err != nil {
		return nil, wrap(op, err)
	}
	defer rows.Close()
	var out []referral.VisitCount
	for rows.Next() {
		var v referral.VisitCount
		if err := rows.Scan(&v.Village, &v.Level, &v.VisitType, &v.N); err != nil {
			return nil, wrap(op, err)
		}
		out = append(out, v)
	}
	return out, wrap(op, rows.Err())
}
