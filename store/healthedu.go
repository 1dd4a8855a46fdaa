package store

import (
	"context"
	"encoding/json"

	"countycare/audit"
	"countycare/care"
	"countycare/healthedu"
	"countycare/rx"
)

// insertEducationRx stores the health-education prescription issued with
// p (双处方) in p's transaction.
func (s *Store) insertEducationRx(ctx context.Context, tx db, p *rx.Signed) error {
	const op = "store.SavePrescription"
	items, err := json.Marshal(p.Education.Items)
	if err != nil {
		return care.Internal(op, err)
	}
	_, err = tx.exec(ctx, `INSERT INTO edu_prescriptions (prescription_id, county_code, resident_id, institution_id, issued_on, library_version, items)
		VALUES (?, ?, ?, ?, ?, ?, ?)`, p.ID, p.CountyCode, p.ResidentID, p.InstitutionID, p.Prescription.Issued, p.Education.LibraryVersion, string(items))
	return wrap(op, err)
}

// EducationRxOf lists a resident's health-education prescriptions, newest
// first.
func (s *Store) EducationRxOf(ctx context.Context, county string, residentID int64, limit int) ([]healthedu.IssuedRx, error) {
	const op = "store.EducationRxOf"
	rows, err := s.read().query(ctx, `SELECT prescription_id, resident_id, institution_id, issued_on, library_version, items FROM edu_prescriptions
		WHERE county_code = ? AND resident_id = ? ORDER BY issued_on DESC, prescription_id DESC LIMIT ?`, county, residentID, limit)
	if err != nil {
		return nil, wrap(op, err)
	}
	defer rows.Close()
	var out []healthedu.IssuedRx
	for rows.Next() {
		var x healthedu.IssuedRx
		var items string
		if err := rows.Scan(&x.PrescriptionID, &x.ResidentID, &x.InstitutionID, &x.IssuedOn, &x.LibraryVersion, &items); err != nil {
			return nil, wrap(op, err)
		}
		if err := json.Unmarshal([]byte(items), &x.Items); err != nil {
			return nil, care.Internal(op, err)
		}
		out = append(out, x)
	}
	return out, wrap(op, rows.Err())
}

// EducationRxShare counts the prescriptions issued at the institutions in
// [from, to) and those with a health-education prescription.
func (s *Store) EducationRxShare(ctx context.Context, county string, insts []int64, from, to care.Date) (withEdu, total int, err error) {
	if len(insts) == 0 {
		return 0, 0, nil
	}
	args := append([]any{county, from, to}, int64Args(insts)...)
	err = s.read().row(ctx, `SELECT COUNT(*), COUNT(e.prescription_id) FROM prescriptions p
		LEFT JOIN edu_prescriptions e ON e.county_code = p.county_code AND e.prescription_id = p.id
		WHERE p.county_code = ? AND p.issued_on >= ? AND p.issued_on < ? AND p.institution_id IN (`+placeholders(len(insts))+`)`, args...).Scan(&total, &withEdu)
	return withEdu, total, wrap("store.EducationRxShare", err)
}

const eduSessionCols = `id, county_code, institution_id, kind, planned_on, held_on, place, topic, audience, attendance, materials, created_by,
	recorded_by, version, created_at`

func scanEduSession(sc interface{ Scan(...any) error }, x *healthedu.Session) error {
	return sc.Scan(&x.ID, &x.CountyCode, &x.InstitutionID, &x.Kind, &x.PlannedOn, &x.HeldOn, &x.Place, &x.Topic, &x.Audience, &x.Attendance,
		&x.Materials, &x.CreatedBy, &x.RecordedBy, &x.Version, tsOf(&x.CreatedAt))
}

// CreateEduSession stores a planned session with its audit row.
func (s *Store) CreateEduSession(ctx context.Context, x *healthedu.Session, ev audit.Event) error {
	return s.Transact(ctx, func(tx db) error {
		id, err := tx.insert(ctx, `INSERT INTO edu_sessions (county_code, institution_id, kind, planned_on, place, topic, audience, materials,
			created_by, version, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			x.CountyCode, x.InstitutionID, string(x.Kind), x.PlannedOn, x.Place, x.Topic, x.Audience, x.Materials, x.CreatedBy, x.Version, s.ts(x.CreatedAt))
		if err != nil {
			return wrap("store.CreateEduSession", err)
		}
		x.ID = id
		return s.appendAudit(ctx, tx, ev)
	})
}

// EduSession reads one session of a county with its attendees.
func (s *Store) EduSession(ctx context.Context, county string, id int64) (*healthedu.Session, error) {
	const op = "store.EduSession"
	var x healthedu.Session
	if err := scanEduSession(s.read().row(ctx, `SELECT `+eduSessionCols+` FROM edu_sessions WHERE county_code = ? AND id = ?`, county, id), &x); err != nil {
		if care.IsCode(mapErr(err), care.ENOTFOUND) {
			return nil, &care.Error{Code: care.ENOTFOUND, Key: "healthedu.not_found", Op: op, Err: err}
		}
		return nil, wrap(op, err)
	}
	rows, err := s.read().query(ctx, `SELECT resident_id FROM edu_attendees WHERE county_code = ? AND session_id = ? ORDER BY resident_id`, county, id)
	if err != nil {
		return nil, wrap(op, err)
	}
	defer rows.Close()
	for rows.Next() {
		var rid int64
		if err := rows.Scan(&rid); err != nil {
			return nil, wrap(op, err)
		}
		x.Attendees = append(x.Attendees, rid)
	}
	return &x, wrap(op, rows.Err())
}

// RecordEduSession stores a held session read at x.Version, its attendees
// and the audit rows in one transaction. Errors: ECONFLICT healthedu.stale.
func (s *Store) RecordEduSession(ctx context.Context, x *healthedu.Session, evs []audit.Event) error {
	const op = "store.RecordEduSession"
	return s.Transact(ctx, func(tx db) error {
		res, err := tx.exec(ctx, `UPDATE edu_sessions SET held_on = ?, attendance = ?, materials = ?, recorded_by = ?, version = version + 1
			WHERE county_code = ? AND id = ? AND version = ? AND held_on IS NULL`,
			x.HeldOn, x.Attendance, x.Materials, x.RecordedBy, x.CountyCode, x.ID, x.Version)
		if err != nil {
			return wrap(op, err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return &care.Error{Code: care.ECONFLICT, Key: "healthedu.stale", Op: op}
		}
		for _, rid := range x.Attendees {
			if _, err := tx.exec(ctx, `INSERT INTO edu_attendees (session_id, county_code, resident_id) VALUES (?, ?, ?)`, x.ID, x.CountyCode, rid); err != nil {
				return wrap(op, err)
			}
		}
		if err := s.appendAudit(ctx, tx, evs...); err != nil {
			return err
		}
		x.Version++
		return nil
	})
}

// EduSessions lists the institutions' sessions planned in [from, to),
// newest first.
func (s *Store) EduSessions(ctx context.Context, county string, insts []int64, from, to care.Date, limit int) ([]healthedu.Session, error) {
	const op = "store.EduSessions"
	if len(insts) == 0 {
		return nil, nil
	}
	args := append(append([]any{county, from, to}, int64Args(insts)...), limit)
	rows, err := s.read().query(ctx, `SELECT `+eduSessionCols+` FROM edu_sessions WHERE county_code = ? AND planned_on >= ? AND planned_on < ?
		AND institution_id IN (`+placeholders(len(insts))+`) ORDER BY planned_on DESC, id DESC LIMIT ?`, args...)
	if err != nil {
		return nil, wrap(op, err)
	}
	defer rows.Close()
	var out []healthedu.Session
	for rows.Next() {
		var x healthedu.Session
		if err := scanEduSession(rows, &x); err != nil {
			return nil, wrap(op, err)
		}
		out = append(out, x)
	}
	return out, wrap(op, rows.Err())
}

// EduCounts counts the institutions' sessions of [from, to) per
// institution and form: held ones by the day held, planned ones by the
// day planned.
func (s *Store) EduCounts(ctx context.Context, county string, insts []int64, from, to care.Date) ([]healthedu.Count, error) {
	const op = "store.EduCounts"
	if len(insts) == 0 {
		return nil, nil
	}
	args := append([]any{from, to, from, to, county}, int64Args(insts)...)
	rows, err := s.read().query(ctx, `SELECT institution_id, kind,
			SUM(CASE WHEN held_on IS NOT NULL AND held_on >= ? AND held_on < ? THEN 1 ELSE 0 END),
			COUNT(DISTINCT CASE WHEN held_on IS NOT NULL THEN topic END),
			SUM(CASE WHEN held_on IS NULL AND planned_on >= ? AND planned_on < ? THEN 1 ELSE 0 END),
			SUM(attendance)
		FROM edu_sessions WHERE county_code = ? AND institution_id IN (`+placeholders(len(insts))+`)
		AND (held_on >= ? AND held_on < ? OR held_on IS NULL AND planned_on >= ? AND planned_on < ?)
		GROUP BY institution_id, kind`, append(args, from, to, from, to)...)
	if err != nil {
		return nil, wrap(op, err)
	}
	defer rows.Close()
	var out []healthedu.Count
	for rows.Next() {
		var c healthedu.Count
		if err := rows.Scan(&c.InstitutionID, &c.Kind, &c.Held, &c.Topics, &c.Planned, &c.Attendance); err != nil {
			return nil, wrap(op, err)
		}
		out = append(out, c)
	}
	return out, wrap(op, rows.Err())
}

// EduSession loads one session (with its ID set; the demo county).
func (b *Bulk) EduSession(x *healthedu.Session) error {
	return b.add("edu_sessions", x.ID, x.CountyCode, x.InstitutionID, string(x.Kind), b.dv(x.PlannedOn), b.dv(x.HeldOn), x.Place, x.Topic, x.Audience,
		x.Attendance, x.Materials, x.CreatedBy, x.RecordedBy, x.Version, b.tsv(x.CreatedAt))
}
