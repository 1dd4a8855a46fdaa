package store

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"countycare/access"
	"countycare/audit"
	"countycare/care"
	"countycare/consult"
	"countycare/notify"
)

func joinIDs(ids []int64) string {
	parts := make([]string, len(ids))
	for i, id := range ids {
		parts[i] = strconv.FormatInt(id, 10)
	}
	return strings.Join(parts, ",")
}

func splitIDs(s string) []int64 {
	var out []int64
	for _, p := range splitList(s) {
		if id, err := strconv.ParseInt(p, 10, 64); err == nil {
			out = append(out, id)
		}
	}
	return out
}

// DutySlots lists a department's shifts overlapping [from, to).
func (s *Store) DutySlots(ctx context.Context, departmentID int64, from, to time.Time) ([]consult.Slot, error) {
	rows, err := s.read().query(ctx, `SELECT id, institution_id, department_id, practitioner_id, starts_at, ends_at, position, created_by FROM duty_slots
		WHERE department_id = ? AND ends_at > ? AND starts_at < ? ORDER BY starts_at, position, id`, departmentID, s.ts(from), s.ts(to))
	if err != nil {
		return nil, wrap("store.DutySlots", err)
	}
	defer rows.Close()
	var out []consult.Slot
	for rows.Next() {
		var sl consult.Slot
		if err := rows.Scan(&sl.ID, &sl.InstitutionID, &sl.DepartmentID, &sl.PractitionerID, tsOf(&sl.Start), tsOf(&sl.End), &sl.Position, &sl.CreatedBy); err != nil {
			return nil, wrap("store.DutySlots", err)
		}
		out = append(out, sl)
	}
	return out, wrap("store.DutySlots", rows.Err())
}

// SaveSlot adds a shift.
func (s *Store) SaveSlot(ctx context.Context, sl *consult.Slot, ev audit.Event) error {
	return s.Transact(ctx, func(tx db) error {
		id, err := tx.insert(ctx, `INSERT INTO duty_slots (institution_id, department_id, practitioner_id, starts_at, ends_at, position, created_by, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, sl.InstitutionID, sl.DepartmentID, sl.PractitionerID, s.ts(sl.Start), s.ts(sl.End), sl.Position, sl.CreatedBy, s.ts(s.now()))
		if err != nil {
			return wrap("store.SaveSlot", err)
		}
		sl.ID = id
		return s.appendAudit(ctx, tx, ev)
	})
}

// DeleteSlot removes a shift of a department (ENOTFOUND if it is not one).
func (s *Store) DeleteSlot(ctx context.Context, id, departmentID int64, ev audit.Event) error {
	return s.Transact(ctx, func(tx db) error {
		res, err := tx.exec(ctx, `DELETE FROM duty_slots WHERE id = ? AND department_id = ?`, id, departmentID)
		if err != nil {
			return wrap("store.DeleteSlot", err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return care.Errorf(care.ENOTFOUND, "error.not_found")
		}
		return s.appendAudit(ctx, tx, ev)
	})
}

const consultCols = `id, county_code, resident_id, kind, urgency, reason, purpose, summary, specialty, min_title, departments, from_institution, from_doctor,
	from_account, to_institution, to_department, assigned_to, step, chain, head_id, status, deadline, consent_by, consent_name, consent_method, consent_at,
	idempotency_key, decline_reason, opinion_assessment, opinion_code, opinion_text, opinion_plan, opinion_refer, opinion_signed_by, opinion_signed_at,
	opinion_hash, decision, decision_note, rehab_sessions, care_link_id, extra_link_ids, escalations, created_at, accepted_at, answered_at, closed_at, version`

func scanConsult(sc interface{ Scan(...any) error }, c *consult.Consultation, chain *[]int64, head *int64) error {
	var depts, ch, extra string
	var o consult.Opinion
	if err := sc.Scan(&c.ID, &c.County, &c.ResidentID, &c.Kind, &c.Urgency, &c.Reason, &c.Purpose, &c.Summary, &c.Specialty, &c.MinTitle, &depts,
		&c.FromInstitution, &c.FromDoctor, &c.FromAccount, &c.ToInstitution, &c.ToDepartment, &c.AssignedTo, &c.Step, &ch, head, &c.Status,
		tsOf(&c.Deadline), &c.Consent.By, &c.Consent.Name, &c.Consent.Method, tsOf(&c.Consent.At), &c.IdempotencyKey, &c.DeclineReason,
		&o.Assessment, &o.DiagnosisCode, &o.DiagnosisText, &o.Plan, &o.Refer, &o.SignedBy, tsOf(&o.SignedAt), &o.Hash, &c.Decision, &c.DecisionNote,
		&c.RehabSessions, &c.CareLinkID, &extra, &c.Escalations, tsOf(&c.CreatedAt), tsOf(&c.AcceptedAt), tsOf(&c.AnsweredAt), tsOf(&c.ClosedAt), &c.Version); err != nil {
		return err
	}
	c.Departments, c.ExtraLinks = splitIDs(depts), splitIDs(extra)
	if o.Hash != "" {
		c.Opinion = &o
	}
	if chain != nil {
		*chain = splitIDs(ch)
	}
	return nil
}

func (s *Store) insertConsultEvents(ctx context.Context, tx db, county string, id int64, evs []consult.Event) error {
	for _, e := range evs {
		if _, err := tx.insert(ctx, `INSERT INTO consultation_events (county_code, consultation_id, kind, practitioner_id, account_id, detail, at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			county, id, e.Kind, e.Practitioner, e.Account, e.Detail, s.ts(e.At)); err != nil {
			return wrap("store.consultEvents", err)
		}
	}
	return nil
}

func (s *Store) queueInTx(ctx context.Context, tx db, msgs []notify.Message) error {
	now := s.now()
	for i := range msgs {
		if err := s.insertMessage(ctx, tx, &msgs[i], now); err != nil {
			return wrap("store.queue", err)
		}
	}
	return nil
}

// CreateConsultation stores a new case, or finds the one a retry already created.
func (s *Store) CreateConsultation(ctx context.Context, c *consult.Consultation, requestHash string, evs []consult.Event, links []*access.CareLink, msgs []notify.Message, ev audit.Event) (bool, error) {
	const op = "store.CreateConsultation"
	existing := false
	err := s.Transact(ctx, func(tx db) error {
		existing = false
		if c.IdempotencyKey != "" {
			var id int64
			var hash string
			err := tx.row(ctx, `SELECT id, request_hash FROM consultations WHERE from_account = ? AND idempotency_key = ?`, c.FromAccount, c.IdempotencyKey).Scan(&id, &hash)
			if err == nil {
				if hash != requestHash {
					return care.Errorf(care.ECONFLICT, "consult.key_reused")
				}
				existing = true
				return scanConsult(tx.row(ctx, `SELECT `+consultCols+` FROM consultations WHERE id = ?`, id), c, nil, new(int64))
			}
			if !care.IsCode(wrap(op, err), care.ENOTFOUND) {
				return wrap(op, err)
			}
		}
		now := s.now()
		c.CreatedAt, c.Version = now, 1
		var lid int64
		c.ExtraLinks = nil
		for i, link := range links {
			link.CreatedAt = now
			id, err := tx.insert(ctx, `INSERT INTO care_links (county_code, resident_id, institution_id, kind, reason, created_by, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
				link.CountyCode, link.ResidentID, link.InstitutionID, link.Kind, link.Reason, link.CreatedBy, s.ts(now))
			if err != nil {
				return wrap(op, err)
			}
			if link.ID = id; i == 0 {
				lid = id
			} else {
				c.ExtraLinks = append(c.ExtraLinks, id)
			}
		}
		c.CareLinkID = lid
		var head int64
		if err := tx.row(ctx, `SELECT COALESCE(head_id, 0) FROM departments WHERE id = ?`, c.ToDepartment).Scan(&head); err != nil {
			return wrap(op, err)
		}
		id, err := tx.insert(ctx, `INSERT INTO consultations (county_code, resident_id, kind, urgency, reason, purpose, summary, specialty, min_title, departments,
			from_institution, from_doctor, from_account, to_institution, to_department, assigned_to, step, chain, head_id, status, deadline, consent_by, consent_name,
			consent_method, consent_at, idempotency_key, request_hash, rehab_sessions, care_link_id, extra_link_ids, created_at, version)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1)`,
			c.County, c.ResidentID, string(c.Kind), string(c.Urgency), c.Reason, c.Purpose, c.Summary, c.Specialty, string(c.MinTitle), joinIDs(c.Departments),
			c.FromInstitution, c.FromDoctor, c.FromAccount, c.ToInstitution, c.ToDepartment, c.AssignedTo, c.Step, joinIDs(c.Chain), head, string(c.Status),
			s.ts(c.Deadline), c.Consent.By, c.Consent.Name, c.Consent.Method, s.ts(c.Consent.At), c.IdempotencyKey, requestHash, c.RehabSessions, lid,
			joinIDs(c.ExtraLinks), s.ts(now))
		if err != nil {
			return wrap(op, err)
		}
		c.ID = id
		if err := s.insertConsultEvents(ctx, tx, c.County, id, evs); err != nil {
			return err
		}
		for i := range msgs {
			msgs[i].Ref = consult.MessageRef(id)
		}
		if err := s.queueInTx(ctx, tx, msgs); err != nil {
			return err
		}
		ev.Detail += " #" + strconv.FormatInt(id, 10)
		return s.appendAudit(ctx, tx, ev)
	})
	return existing, err
}

// Consultation returns a case with its escalation chain and department head.
func (s *Store) Consultation(ctx context.Context, id int64) (*consult.Consultation, []int64, int64, error) {
	var c consult.Consultation
	var chain []int64
	var head int64
	if err := scanConsult(s.read().row(ctx, `SELECT `+consultCols+` FROM consultations WHERE id = ?`, id), &c, &chain, &head); err != nil {
		return nil, nil, 0, wrap("store.Consultation", err)
	}
	return &c, chain, head, nil
}

// UpdateConsultation saves a case's new state at its version.
func (s *Store) UpdateConsultation(ctx context.Context, c *consult.Consultation, evs []consult.Event, msgs []notify.Message, linkExpires time.Time, ev audit.Event) error {
	const op = "store.UpdateConsultation"
	return s.Transact(ctx, func(tx db) error {
		o := c.Opinion
		if o == nil {
			o = &consult.Opinion{}
		}
		res, err := tx.exec(ctx, `UPDATE consultations SET status = ?, assigned_to = ?, step = ?, deadline = ?, decline_reason = ?, opinion_assessment = ?,
			opinion_code = ?, opinion_text = ?, opinion_plan = ?, opinion_refer = ?, opinion_signed_by = ?, opinion_signed_at = ?, opinion_hash = ?, decision = ?,
			decision_note = ?, accepted_at = ?, answered_at = ?, closed_at = ?, version = version + 1 WHERE id = ? AND version = ?`,
			string(c.Status), c.AssignedTo, c.Step, s.ts(c.Deadline), c.DeclineReason, o.Assessment, o.DiagnosisCode, o.DiagnosisText, o.Plan, o.Refer, o.SignedBy,
			s.ts(o.SignedAt), o.Hash, c.Decision, c.DecisionNote, s.ts(c.AcceptedAt), s.ts(c.AnsweredAt), s.ts(c.ClosedAt), c.ID, c.Version)
		if err != nil {
			return wrap(op, err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return &care.Error{Code: care.ECONFLICT, Key: "consult.stale", Op: op}
		}
		c.Version++
		for i := range evs {
			evs[i].ConsultationID = c.ID
		}
		if err := s.insertConsultEvents(ctx, tx, c.County, c.ID, evs); err != nil {
			return err
		}
		if err := s.queueInTx(ctx, tx, msgs); err != nil {
			return err
		}
		if !linkExpires.IsZero() && c.CareLinkID != 0 {
			// Only ever shortened: an expiry already past stays.
			for _, id := range append([]int64{c.CareLinkID}, c.ExtraLinks...) {
				if _, err := tx.exec(ctx, `UPDATE care_links SET expires_at = ? WHERE county_code = ? AND id = ? AND (expires_at IS NULL OR expires_at > ?)`,
					s.ts(linkExpires), c.County, id, s.ts(linkExpires)); err != nil {
					return wrap(op, err)
				}
			}
		}
		return s.appendAudit(ctx, tx, ev)
	})
}

// DueConsultations lists requested cases whose deadline has passed, oldest deadline first.
func (s *Store) DueConsultations(ctx context.Context, now time.Time, limit int) ([]consult.Due, error) {
	rows, err := s.read().query(ctx, `SELECT `+consultCols+` FROM consultations WHERE status = 'requested' AND deadline <= ? ORDER BY deadline, id LIMIT ?`, s.ts(now), limit)
	if err != nil {
		return nil, wrap("store.DueConsultations", err)
	}
	defer rows.Close()
	var out []consult.Due
	for rows.Next() {
		var d consult.Due
		if err := scanConsult(rows, &d.C, &d.Chain, &d.Head); err != nil {
			return nil, wrap("store.DueConsultations", err)
		}
		out = append(out, d)
	}
	return out, wrap("store.DueConsultations", rows.Err())
}

// EscalateMany saves escalations in one transaction, skipping stale ones:
// a case moves only from the version it was read at and only while still
// requested, so a repeated or concurrent run (another replica's scheduler)
// moves nothing twice. Statements, not rows, are what cost: each chunk of
// cases is one UPDATE … FROM a list of values, and the chunk's timeline
// events and messages one INSERT each (2,000 cases falling due at once
// after a replica's death must escalate within seconds; issue 15).
func (s *Store) EscalateMany(ctx context.Context, es []consult.Escalation) (int, error) {
	const op = "store.EscalateMany"
	n := 0
	err := s.Transact(ctx, func(tx db) error {
		n = 0
		var evs []audit.Event
		for i := 0; i < len(es); i += escalateChunk {
			chunk := es[i:min(i+escalateChunk, len(es))]
			moved, err := s.escalateChunk(ctx, tx, chunk)
			if err != nil {
				return wrap(op, err)
			}
			var evArgs, msgArgs []any
			evRows, msgRows := 0, 0
			for _, e := range chunk {
				c := e.C
				if !moved[c.ID] {
					continue
				}
				c.Version++
				c.Escalations++
				for _, ce := range e.Events {
					evArgs = append(evArgs, c.County, c.ID, ce.Kind, ce.Practitioner, ce.Account, ce.Detail, s.ts(ce.At))
					evRows++
				}
				for j := range e.Msgs {
					m := &e.Msgs[j]
					if err := m.Valid(); err != nil {
						return wrap(op, err)
					}
					msgArgs = append(msgArgs, m.County, m.ResidentID, m.Channel, m.Recipient, m.Purpose, m.Body, s.ts(s.now()))
					msgRows++
				}
				evs = append(evs, e.Audit)
				n++
			}
			if evRows > 0 {
				if _, err := tx.exec(ctx, `INSERT INTO consultation_events (county_code, consultation_id, kind, practitioner_id, account_id, detail, at) VALUES `+
					rowsOf(7, evRows), evArgs...); err != nil {
					return wrap(op, err)
				}
			}
			if msgRows > 0 {
				if _, err := tx.exec(ctx, `INSERT INTO outbox (county_code, resident_id, channel, recipient, purpose, body, status, created_at) VALUES `+
					strings.ReplaceAll(rowsOf(7, msgRows), "?)", "'queued', ?)"), msgArgs...); err != nil {
					return wrap(op, err)
				}
			}
		}
		return s.appendAudit(ctx, tx, evs...)
	})
	return n, err
}

// escalateChunk is how many cases EscalateMany moves with one statement.
const escalateChunk = 100

// escalateChunk moves the chunk's cases still requested at the version
// they were read at, and returns which moved.
func (s *Store) escalateChunk(ctx context.Context, tx db, chunk []consult.Escalation) (map[int64]bool, error) {
	one := "(?, ?, ?, ?, ?)"
	if s.dialect == Postgres { // the values' types: PostgreSQL takes bare parameters for text
		one = "(CAST(? AS BIGINT), CAST(? AS INTEGER), CAST(? AS BIGINT), CAST(? AS INTEGER), CAST(? AS TIMESTAMPTZ))"
	}
	args := make([]any, 0, 5*len(chunk))
	for _, e := range chunk {
		c := e.C
		args = append(args, c.ID, c.Version, c.AssignedTo, c.Step, s.ts(c.Deadline))
	}
	rows, err := tx.query(ctx, `WITH v (id, version, assigned_to, step, deadline) AS (VALUES `+strings.TrimSuffix(strings.Repeat(one+", ", len(chunk)), ", ")+`)
		UPDATE consultations SET assigned_to = v.assigned_to, step = v.step, deadline = v.deadline, escalations = consultations.escalations + 1,
			version = consultations.version + 1
		FROM v WHERE consultations.id = v.id AND consultations.version = v.version AND consultations.status = 'requested'
		RETURNING consultations.id`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	moved := make(map[int64]bool, len(chunk))
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		moved[id] = true
	}
	return moved, rows.Err()
}

// rowsOf is the VALUES list of n rows of cols placeholders each.
func rowsOf(cols, n int) string {
	one := "(" + placeholders(cols) + ")"
	return strings.TrimSuffix(strings.Repeat(one+", ", n), ", ")
}

// ConsultationEvents returns a case's timeline, oldest first.
func (s *Store) ConsultationEvents(ctx context.Context, id int64) ([]consult.Event, error) {
	rows, err := s.read().query(ctx, `SELECT id, consultation_id, kind, practitioner_id, account_id, detail, at FROM consultation_events WHERE consultation_id = ? ORDER BY id`, id)
	if err != nil {
		return nil, wrap("store.ConsultationEvents", err)
	}
	defer rows.Close()
	var out []consult.Event
	for rows.Next() {
		var e consult.Event
		if err := rows.Scan(&e.ID, &e.ConsultationID, &e.Kind, &e.Practitioner, &e.Account, &e.Detail, tsOf(&e.At)); err != nil {
			return nil, wrap("store.ConsultationEvents", err)
		}
		out = append(out, e)
	}
	return out, wrap("store.ConsultationEvents", rows.Err())
}

// ConsultationMessages returns a case's thread, oldest first.
func (s *Store) ConsultationMessages(ctx context.Context, id int64) ([]consult.Message, error) {
	rows, err := s.read().query(ctx, `SELECT id, consultation_id, account_id, author, body, attachments, at FROM consultation_messages WHERE consultation_id = ? ORDER BY id`, id)
	if err != nil {
		return nil, wrap("store.ConsultationMessages", err)
	}
	defer rows.Close()
	var out []consult.Message
	for rows.Next() {
		var m consult.Message
		var atts string
		if err := rows.Scan(&m.ID, &m.ConsultationID, &m.Account, &m.Author, &m.Body, &atts, tsOf(&m.At)); err != nil {
			return nil, wrap("store.ConsultationMessages", err)
		}
		json.Unmarshal([]byte(atts), &m.Attachments)
		out = append(out, m)
	}
	return out, wrap("store.ConsultationMessages", rows.Err())
}

// AddConsultationMessage stores a message with its timeline event and audit row.
func (s *Store) AddConsultationMessage(ctx context.Context, m *consult.Message, e consult.Event, ev audit.Event) error {
	m.At = s.now()
	atts, _ := json.Marshal(m.Attachments)
	if m.Attachments == nil {
		atts = []byte("[]")
	}
	return s.Transact(ctx, func(tx db) error {
		id, err := tx.insert(ctx, `INSERT INTO consultation_messages (county_code, consultation_id, account_id, author, body, attachments, at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			ev.CountyCode, m.ConsultationID, m.Account, m.Author, m.Body, string(atts), s.ts(m.At))
		if err != nil {
			return wrap("store.AddConsultationMessage", err)
		}
		m.ID = id
		if err := s.insertConsultEvents(ctx, tx, ev.CountyCode, m.ConsultationID, []consult.Event{e}); err != nil {
			return err
		}
		return s.appendAudit(ctx, tx, ev)
	})
}

// AddConsultationEvent appends one event to a case's timeline with its audit row.
func (s *Store) AddConsultationEvent(ctx context.Context, e consult.Event, ev audit.Event) error {
	return s.Transact(ctx, func(tx db) error {
		if err := s.insertConsultEvents(ctx, tx, ev.CountyCode, e.ConsultationID, []consult.Event{e}); err != nil {
			return err
		}
		return s.appendAudit(ctx, tx, ev)
	})
}

// ListConsultations lists cases, newest first.
func (s *Store) ListConsultations(ctx context.Context, f consult.Filter) ([]consult.Consultation, error) {
	where, args := []string{"county_code = ?"}, []any{f.County}
	if f.FromInstitution != 0 {
		where, args = append(where, "from_institution = ?"), append(args, f.FromInstitution)
	}
	if f.AssignedTo != 0 {
		where, args = append(where, "assigned_to = ?"), append(args, f.AssignedTo)
	}
	if len(f.Departments) > 0 {
		// The departments' own cases and those that invite them (MDT).
		ors := []string{"to_department IN (" + placeholders(len(f.Departments)) + ")"}
		args = append(args, int64Args(f.Departments)...)
		for _, d := range f.Departments {
			ors = append(ors, "(',' || departments || ',') LIKE ?")
			args = append(args, "%,"+strconv.FormatInt(d, 10)+",%")
		}
		where = append(where, "("+strings.Join(ors, " OR ")+")")
	}
	if f.Open {
		where = append(where, "status IN ('requested', 'accepted', 'answered')")
	}
	if f.Breached {
		where = append(where, "escalations > 0")
	}
	if f.ResidentID != 0 {
		where, args = append(where, "resident_id = ?"), append(args, f.ResidentID)
	}
	if f.Limit <= 0 || f.Limit > 1000 {
		f.Limit = 200
	}
	return s.consultations(ctx, "store.ListConsultations", strings.Join(where, " AND ")+` ORDER BY id DESC LIMIT ?`, append(args, f.Limit)...)
}

// consultations reads the cases a WHERE clause selects.
func (s *Store) consultations(ctx context.Context, op, where string, args ...any) ([]consult.Consultation, error) {
	rows, err := s.read().query(ctx, `SELECT `+consultCols+` FROM consultations WHERE `+where, args...)
	if err != nil {
		return nil, wrap(op, err)
	}
	defer rows.Close()
	var out []consult.Consultation
	for rows.Next() {
		var c consult.Consultation
		var head int64
		if err := scanConsult(rows, &c, nil, &head); err != nil {
			return nil, wrap(op, err)
		}
		out = append(out, c)
	}
	return out, wrap(op, rows.Err())
}

// ConsultationStats returns a county's cases created in [from, to) (for indicators).
func (s *Store) ConsultationStats(ctx context.Context, county string, from, to time.Time) ([]consult.Consultation, error) {
	return s.consultations(ctx, "store.ConsultationStats", `county_code = ? AND created_at >= ? AND created_at < ? ORDER BY id`, county, s.ts(from), s.ts(to))
}

// PutBlob stores an attachment by content (a second copy is a no-op).
func (s *Store) PutBlob(ctx context.Context, county, sha, typ string, data []byte) error {
	return s.Transact(ctx, func(tx db) error {
		_, err := tx.exec(ctx, `INSERT INTO blobs (county_code, sha256, type, size, data, created_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (county_code, sha256) DO NOTHING`,
			county, sha, typ, len(data), data, s.ts(s.now()))
		return wrap("store.PutBlob", err)
	})
}

// Blob returns an attachment's type and bytes.
func (s *Store) Blob(ctx context.Context, county, sha string) (string, []byte, error) {
	var typ string
	var data []byte
	err := s.read().row(ctx, `SELECT type, data FROM blobs WHERE county_code = ? AND sha256 = ?`, county, sha).Scan(&typ, &data)
	return typ, data, wrap("store.Blob", err)
}

// LoadConsultations stores many cases with their timelines in one
// transaction and one audit row (the demo's year of history, benchmarks).
// They get no care links: closed cases' links would have expired.
func (s *Store) LoadConsultations(ctx context.Context, cs []*consult.Consultation, evs [][]consult.Event, ev audit.Event) error {
	const op = "store.LoadConsultations"
	return s.Transact(ctx, func(tx db) error {
		for i, c := range cs {
			o := c.Opinion
			if o == nil {
				o = &consult.Opinion{}
			}
			if c.CreatedAt.IsZero() {
				c.CreatedAt = s.now()
			}
			c.Version = 1
			id, err := tx.insert(ctx, `INSERT INTO consultations (county_code, resident_id, kind, urgency, reason, purpose, summary, specialty, min_title, departments,
				from_institution, from_doctor, from_account, to_institution, to_department, assigned_to, step, chain, head_id, status, deadline, consent_by, consent_name,
				consent_method, consent_at, decline_reason, opinion_assessment, opinion_code, opinion_text, opinion_plan, opinion_refer, opinion_signed_by,
				opinion_signed_at, opinion_hash, decision, decision_note, rehab_sessions, escalations, created_at, accepted_at, answered_at, closed_at, version)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1)`,
				c.County, c.ResidentID, string(c.Kind), string(c.Urgency), c.Reason, c.Purpose, c.Summary, c.Specialty, string(c.MinTitle), joinIDs(c.Departments),
				c.FromInstitution, c.FromDoctor, c.FromAccount, c.ToInstitution, c.ToDepartment, c.AssignedTo, c.Step, joinIDs(c.Chain), 0, string(c.Status),
				s.ts(c.Deadline), c.Consent.By, c.Consent.Name, c.Consent.Method, s.ts(c.Consent.At), c.DeclineReason, o.Assessment, o.DiagnosisCode, o.DiagnosisText,
				o.Plan, o.Refer, o.SignedBy, s.ts(o.SignedAt), o.Hash, c.Decision, c.DecisionNote, c.RehabSessions, c.Escalations, s.ts(c.CreatedAt),
				s.ts(c.AcceptedAt), s.ts(c.AnsweredAt), s.ts(c.ClosedAt))
			if err != nil {
				return wrap(op, err)
			}
			c.ID = id
			if i < len(evs) {
				if err := s.insertConsultEvents(ctx, tx, c.County, id, evs[i]); err != nil {
					return err
				}
			}
		}
		return s.appendAudit(ctx, tx, ev)
	})
}
