package store

import (
	"context"
	"database/sql"
	"strings"

	"countycare/audit"
	"countycare/care"
	"countycare/childhealth"
)

const childCols = `c.id, c.county_code, c.resident_id, c.managed_by, c.sex, c.birth_date, c.discharged_on, c.birth_weight_g, c.birth_length_mm,
	c.gest_weeks, c.status, c.registered_on, c.registered_by, c.next_kind, c.next_from, c.next_due, c.version`

func scanChild(sc interface{ Scan(...any) error }, c *childhealth.Child, extra ...any) error {
	return sc.Scan(append([]any{&c.ID, &c.CountyCode, &c.ResidentID, &c.ManagedBy, &c.Sex, &c.BirthDate, &c.DischargedOn, &c.BirthWeightG,
		&c.BirthLengthMM, &c.GestWeeks, &c.Status, &c.RegisteredOn, &c.RegisteredBy, &c.NextKind, &c.NextFrom, &c.NextDue, &c.Version}, extra...)...)
}

// CreateChild stores a child's record and its audit row in one
// transaction. Errors: ECONFLICT childhealth.exists.
func (s *Store) CreateChild(ctx context.Context, c *childhealth.Child, ev audit.Event) error {
	const op = "store.CreateChild"
	return s.Transact(ctx, func(tx db) error {
		id, err := tx.insert(ctx, `INSERT INTO mch_children (county_code, resident_id, managed_by, sex, birth_date, discharged_on, birth_weight_g,
			birth_length_mm, gest_weeks, status, registered_on, registered_by, next_kind, next_from, next_due, version, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			c.CountyCode, c.ResidentID, c.ManagedBy, int(c.Sex), c.BirthDate, c.DischargedOn, c.BirthWeightG, c.BirthLengthMM, c.GestWeeks,
			string(c.Status), c.RegisteredOn, c.RegisteredBy, string(c.NextKind), c.NextFrom, c.NextDue, c.Version, s.ts(s.now()))
		if err != nil {
			if care.IsCode(mapErr(err), care.ECONFLICT) {
				return &care.Error{Code: care.ECONFLICT, Key: "childhealth.exists", Op: op, Err: err}
			}
			return wrap(op, err)
		}
		c.ID = id
		return s.appendAudit(ctx, tx, ev)
	})
}

// Child reads one child's record of a county.
func (s *Store) Child(ctx context.Context, county string, id int64) (*childhealth.Child, error) {
	var c childhealth.Child
	if err := scanChild(s.read().row(ctx, `SELECT `+childCols+` FROM mch_children c WHERE c.county_code = ? AND c.id = ?`, county, id), &c); err != nil {
		return nil, wrap("store.Child", err)
	}
	return &c, nil
}

// ChildOf reads a resident's child record; nil without one.
func (s *Store) ChildOf(ctx context.Context, county string, residentID int64) (*childhealth.Child, error) {
	var c childhealth.Child
	err := scanChild(s.read().row(ctx, `SELECT `+childCols+` FROM mch_children c WHERE c.county_code = ? AND c.resident_id = ?`, county, residentID), &c)
	if err == sql.ErrNoRows {
		return nil, nil
	}
	if err != nil {
		return nil, wrap("store.ChildOf", err)
	}
	return &c, nil
}

// ChildChecks lists a record's checks by date.
func (s *Store) ChildChecks(ctx context.Context, childID int64) ([]childhealth.Check, error) {
	const op = "store.ChildChecks"
	rows, err := s.read().query(ctx, `SELECT id, county_code, child_id, resident_id, kind, date, age_days, weight_g, length_mm, head_mm,
		waz, haz, whz, baz, findings, note, clinic_id, by_account, created_at FROM mch_child_checks WHERE child_id = ? ORDER BY date, id`, childID)
	if err != nil {
		return nil, wrap(op, err)
	}
	defer rows.Close()
	var out []childhealth.Check
	for rows.Next() {
		var k childhealth.Check
		var z [4]sql.NullFloat64
		var findings string
		if err := rows.Scan(&k.ID, &k.CountyCode, &k.ChildID, &k.ResidentID, &k.Kind, &k.Date, &k.AgeDays, &k.WeightG, &k.LengthMM, &k.HeadMM,
			&z[0], &z[1], &z[2], &z[3], &findings, &k.Note, &k.ClinicID, &k.By, tsOf(&k.CreatedAt)); err != nil {
			return nil, wrap(op, err)
		}
		dst := []**float64{&k.Scores.WAZ, &k.Scores.HAZ, &k.Scores.WHZ, &k.Scores.BAZ}
		for i := range z {
			if z[i].Valid {
				v := z[i].Float64
				*dst[i] = &v
			}
		}
		for _, f := range splitCodes(findings) {
			k.Findings = append(k.Findings, childhealth.Finding(f))
		}
		out = append(out, k)
	}
	return out, wrap(op, rows.Err())
}

// nullZ is a z-score for a nullable column.
func nullZ(z *float64) any {
	if z == nil {
		return nil
	}
	return *z
}

// AddChildCheck stores a check and the record's next service from the
// version read, then the audit row, in one transaction. Errors: ECONFLICT
// childhealth.stale, childhealth.kind_done.
func (s *Store) AddChildCheck(ctx context.Context, c *childhealth.Child, k *childhealth.Check, ev audit.Event) error {
	const op = "store.AddChildCheck"
	return s.Transact(ctx, func(tx db) error {
		res, err := tx.exec(ctx, `UPDATE mch_children SET status = ?, next_kind = ?, next_from = ?, next_due = ?, version = version + 1
			WHERE county_code = ? AND id = ? AND version = ?`, string(c.Status), string(c.NextKind), c.NextFrom, c.NextDue, c.CountyCode, c.ID, c.Version)
		if err != nil {
			return wrap(op, err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return &care.Error{Code: care.ECONFLICT, Key: "childhealth.stale", Op: op}
		}
		fs := make([]string, len(k.Findings))
		for i, f := range k.Findings {
			fs[i] = string(f)
		}
		id, err := tx.insert(ctx, `INSERT INTO mch_child_checks (county_code, child_id, resident_id, kind, date, age_days, weight_g, length_mm, head_mm,
			waz, haz, whz, baz, findings, note, clinic_id, by_account, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			k.CountyCode, k.ChildID, k.ResidentID, string(k.Kind), k.Date, k.AgeDays, k.WeightG, k.LengthMM, k.HeadMM,
			nullZ(k.Scores.WAZ), nullZ(k.Scores.HAZ), nullZ(k.Scores.WHZ), nullZ(k.Scores.BAZ), strings.Join(fs, ","), k.Note, k.ClinicID, k.By, s.ts(k.CreatedAt))
		if err != nil {
			if care.IsCode(mapErr(err), care.ECONFLICT) {
				return &care.Error{Code: care.ECONFLICT, Key: "childhealth.kind_done", Op: op, Err: err}
			}
			return wrap(op, err)
		}
		k.ID = id
		if err := s.appendAudit(ctx, tx, ev); err != nil {
			return err
		}
		c.Version++
		return nil
	})
}

// OverdueChildren lists the records managed by the clinics whose next
// service's window closed before today, most overdue first, with the
// child's name and the household's phone.
func (s *Store) OverdueChildren(ctx context.Context, county string, clinics []int64, today care.Date, limit int) ([]childhealth.Child, error) {
	const op = "store.OverdueChildren"
	if len(clinics) == 0 {
		return nil, nil
	}
	args := append(int64Args(clinics), today, county, limit)
	rows, err := s.read().query(ctx, `SELECT `+childCols+`, r.name, r.phone FROM mch_children c JOIN residents r ON r.id = c.resident_id
		WHERE c.managed_by IN (`+placeholders(len(clinics))+`) AND c.next_due IS NOT NULL AND c.next_due < ? AND c.county_code = ?
		ORDER BY c.next_due, c.id LIMIT ?`, args...)
	if err != nil {
		return nil, wrap(op, err)
	}
	defer rows.Close()
	var out []childhealth.Child
	for rows.Next() {
		var c childhealth.Child
		if err := scanChild(rows, &c, &c.Name, &c.Phone); err != nil {
			return nil, wrap(op, err)
		}
		out = append(out, c)
	}
	return out, wrap(op, rows.Err())
}
