package store

import (
	"context"
	"time"

	"countycare/audit"
	"countycare/care"
	"countycare/settle"
)

const certCols = `id, county_code, resident_id, category, diagnosis, valid_from, valid_to, office, status, created_by, created_at, ended_by, ended_at, end_reason`

func scanCert(sc interface{ Scan(...any) error }, c *settle.Certification) error {
	return sc.Scan(&c.ID, &c.County, &c.ResidentID, &c.Category, &c.Diagnosis, &c.From, &c.To, &c.Office, &c.Status, &c.CreatedBy, tsOf(&c.CreatedAt),
		idOf(&c.EndedBy), tsOf(&c.EndedAt), &c.EndReason)
}

// SaveCertification stores a new chronic special-outpatient certification with its audit row.
func (s *Store) SaveCertification(ctx context.Context, c *settle.Certification, ev audit.Event) error {
	c.CreatedAt = s.now()
	return s.Transact(ctx, func(tx db) error {
		id, err := tx.insert(ctx, `INSERT INTO chronic_certifications (county_code, resident_id, category, diagnosis, valid_from, valid_to, office, status, created_by, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, c.County, c.ResidentID, c.Category, c.Diagnosis, c.From, c.To, c.Office, c.Status, c.CreatedBy, s.ts(c.CreatedAt))
		if err != nil {
			return wrap("store.SaveCertification", err)
		}
		c.ID = id
		return s.appendAudit(ctx, tx, ev)
	})
}

// EndCertification ends an active certification with its audit row.
func (s *Store) EndCertification(ctx context.Context, county string, id, by int64, reason string, at time.Time, ev audit.Event) (*settle.Certification, error) {
	const op = "store.EndCertification"
	var out settle.Certification
	err := s.Transact(ctx, func(tx db) error {
		res, err := tx.exec(ctx, `UPDATE chronic_certifications SET status = 'ended', ended_by = ?, ended_at = ?, end_reason = ? WHERE county_code = ? AND id = ? AND status = 'active'`,
			by, s.ts(at), reason, county, id)
		if err != nil {
			return wrap(op, err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return &care.Error{Code: care.ECONFLICT, Key: "settle.cert_ended", Op: op}
		}
		if err := scanCert(tx.row(ctx, `SELECT `+certCols+` FROM chronic_certifications WHERE county_code = ? AND id = ?`, county, id), &out); err != nil {
			return wrap(op, err)
		}
		return s.appendAudit(ctx, tx, ev)
	})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// Certification returns one certification; ENOTFOUND if none.
func (s *Store) Certification(ctx context.Context, id int64) (*settle.Certification, error) {
	var c settle.Certification
	if err := scanCert(s.read().row(ctx, `SELECT `+certCols+` FROM chronic_certifications WHERE id = ?`, id), &c); err != nil {
		return nil, wrap("store.Certification", err)
	}
	return &c, nil
}

// Certifications lists a resident's certifications, newest first.
func (s *Store) Certifications(ctx context.Context, county string, residentID int64) ([]settle.Certification, error) {
	rows, err := s.read().query(ctx, `SELECT `+certCols+` FROM chronic_certifications WHERE county_code = ? AND resident_id = ? ORDER BY id DESC`, county, residentID)
	if err != nil {
		return nil, wrap("store.Certifications", err)
	}
	defer rows.Close()
	var out []settle.Certification
	for rows.Next() {
		var c settle.Certification
		if err := scanCert(rows, &c); err != nil {
			return nil, wrap("store.Certifications", err)
		}
		out = append(out, c)
	}
	return out, wrap("store.Certifications", rows.Err())
}
