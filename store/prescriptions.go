package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"countycare/audit"
	"countycare/care"
	"countycare/kpi"
	"countycare/rx"
)

const prescriptionCols = `id, county_code, resident_id, institution_id, prescriber_id, account_id, body, findings, outcome, status,
	signed_at, reviewer_id, reviewed_at, review_reason, dispensed_by, dispensed_at, version`

func scanPrescription(sc interface{ Scan(...any) error }, p *rx.Signed) error {
	var body, findings string
	var outcome int
	if err := sc.Scan(&p.ID, &p.CountyCode, &p.ResidentID, &p.InstitutionID, idOf(&p.PrescriberID), &p.AccountID, &body, &findings, &outcome, &p.Status,
		tsOf(&p.SignedAt), idOf(&p.ReviewerID), tsOf(&p.ReviewedAt), &p.ReviewReason, idOf(&p.DispensedBy), tsOf(&p.DispensedAt), &p.Version); err != nil {
		return err
	}
	p.Outcome = rx.Severity(outcome)
	if err := json.Unmarshal([]byte(body), &p.Prescription); err != nil {
		return err
	}
	return json.Unmarshal([]byte(findings), &p.Findings)
}

// SavePrescription stores a signed prescription with its audit row.
func (s *Store) SavePrescription(ctx context.Context, p *rx.Signed, ev audit.Event) error {
	return s.Transact(ctx, func(tx db) error {
		if err := s.insertPrescription(ctx, tx, p); err != nil {
			return err
		}
		return s.appendAudit(ctx, tx, ev)
	})
}

// insertPrescription inserts p in tx and sets its ID and version.
func (s *Store) insertPrescription(ctx context.Context, tx db, p *rx.Signed) error {
	body, err := json.Marshal(&p.Prescription)
	if err != nil {
		return care.Internal("store.SavePrescription", err)
	}
	findings, err := json.Marshal(p.Findings)
	if err != nil {
		return care.Internal("store.SavePrescription", err)
	}
	if p.Findings == nil {
		findings = []byte("[]")
	}
	id, err := tx.insert(ctx, `INSERT INTO prescriptions (county_code, resident_id, institution_id, prescriber_id, account_id, kind, issued_on, body, findings,
		outcome, status, signed_at, rx_classes, version) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1)`,
		p.CountyCode, p.ResidentID, p.InstitutionID, nullID(p.PrescriberID), p.AccountID, string(p.Prescription.Kind), p.Prescription.Issued,
		string(body), string(findings), int(p.Outcome), string(p.Status), s.ts(p.SignedAt), int(p.Classes))
	if err != nil {
		return wrap("store.SavePrescription", err)
	}
	p.ID, p.Version = id, 1
	if p.Education != nil {
		return s.insertEducationRx(ctx, tx, p)
	}
	return nil
}

// Prescription returns one signed prescription; ENOTFOUND if none.
func (s *Store) Prescription(ctx context.Context, id int64) (*rx.Signed, error) {
	var p rx.Signed
	if err := scanPrescription(s.read().row(ctx, `SELECT `+prescriptionCols+` FROM prescriptions WHERE id = ?`, id), &p); err != nil {
		return nil, wrap("store.Prescription", err)
	}
	return &p, nil
}

// PendingPrescriptions lists a county's prescriptions waiting for a
// pharmacist, oldest first.
func (s *Store) PendingPrescriptions(ctx context.Context, county string, limit int) ([]rx.Signed, error) {
	rows, err := s.read().query(ctx, `SELECT `+prescriptionCols+` FROM prescriptions WHERE county_code = ? AND status = ? ORDER BY signed_at, id LIMIT ?`,
		county, string(rx.StatusPending), limit)
	if err != nil {
		return nil, wrap("store.PendingPrescriptions", err)
	}
	defer rows.Close()
	var out []rx.Signed
	for rows.Next() {
		var p rx.Signed
		if err := scanPrescription(rows, &p); err != nil {
			return nil, wrap("store.PendingPrescriptions", err)
		}
		out = append(out, p)
	}
	return out, wrap("store.PendingPrescriptions", rows.Err())
}

// ResidentPrescriptions lists a resident's prescriptions, newest signed
// first, at most limit (the prescriptions_resident index).
func (s *Store) ResidentPrescriptions(ctx context.Context, county string, residentID int64, limit int) ([]rx.Signed, error) {
	const op = "store.ResidentPrescriptions"
	rows, err := s.read().query(ctx, `SELECT `+prescriptionCols+` FROM prescriptions WHERE county_code = ? AND resident_id = ? ORDER BY signed_at DESC, id DESC LIMIT ?`,
		county, residentID, limit)
	if err != nil {
		return nil, wrap(op, err)
	}
	defer rows.Close()
	var out []rx.Signed
	for rows.Next() {
		var p rx.Signed
		if err := scanPrescription(rows, &p); err != nil {
			return nil, wrap(op, err)
		}
		out = append(out, p)
	}
	return out, wrap(op, rows.Err())
}

// UpdatePrescription saves the review and dispensing fields of p if it is
// still in status from at p.Version; ECONFLICT otherwise.
func (s *Store) UpdatePrescription(ctx context.Context, p *rx.Signed, from rx.Status, ev audit.Event) error {
	return s.Transact(ctx, func(tx db) error {
		res, err := tx.exec(ctx, `UPDATE prescriptions SET status = ?, reviewer_id = ?, reviewed_at = ?, review_reason = ?, dispensed_by = ?, dispensed_at = ?,
			version = version + 1 WHERE county_code = ? AND id = ? AND status = ? AND version = ?`,
			string(p.Status), nullID(p.ReviewerID), s.ts(p.ReviewedAt), p.ReviewReason, nullID(p.DispensedBy), s.ts(p.DispensedAt),
			p.CountyCode, p.ID, string(from), p.Version)
		if err != nil {
			return wrap("store.UpdatePrescription", err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return care.Errorf(care.ECONFLICT, "rx.not_pending")
		}
		p.Version++
		return s.appendAudit(ctx, tx, ev)
	})
}

// ReviewRows streams what the review indicators need of a county's
// prescriptions signed in [from, to).
func (s *Store) ReviewRows(ctx context.Context, county string, from, to time.Time) ([]rx.ReviewRow, error) {
	rows, err := s.read().query(ctx, `SELECT status, outcome, signed_at, reviewed_at FROM prescriptions WHERE county_code = ? AND signed_at >= ? AND signed_at < ?`,
		county, s.ts(from), s.ts(to))
	if err != nil {
		return nil, wrap("store.ReviewRows", err)
	}
	defer rows.Close()
	var out []rx.ReviewRow
	for rows.Next() {
		var r rx.ReviewRow
		var outcome int
		if err := rows.Scan(&r.Status, &outcome, tsOf(&r.SignedAt), tsOf(&r.ReviewedAt)); err != nil {
			return nil, wrap("store.ReviewRows", err)
		}
		r.Outcome = rx.Severity(outcome)
		out = append(out, r)
	}
	return out, wrap("store.ReviewRows", rows.Err())
}

// PrescriptionSums counts a county's prescriptions signed in [from, to)
// per prescribing institution (the dashboard's prescribing group,
// kpi.Service; index prescriptions_signed): signed; decided (every status
// but pending); of those, passed (an automatic pass or a pharmacist's
// approval, dispensed or not), returned and rejected; classified (the
// monitoring classes kept, rx_classes, migration 0051) and of those with an
// antimicrobial line and with an injection line.
func (s *Store) PrescriptionSums(ctx context.Context, county string, from, to time.Time) (map[int64]kpi.RxCounts, error) {
	const op = "store.PrescriptionSums"
	rows, err := s.read().query(ctx, `SELECT institution_id, COUNT(*),
		SUM(CASE WHEN status <> ? THEN 1 ELSE 0 END),
		SUM(CASE WHEN status IN (?, ?, ?) THEN 1 ELSE 0 END),
		SUM(CASE WHEN status = ? THEN 1 ELSE 0 END),
		SUM(CASE WHEN status = ? THEN 1 ELSE 0 END),
		SUM(CASE WHEN rx_classes IS NOT NULL THEN 1 ELSE 0 END),
		SUM(CASE WHEN (rx_classes & ?) <> 0 THEN 1 ELSE 0 END),
		SUM(CASE WHEN (rx_classes & ?) <> 0 THEN 1 ELSE 0 END)
		FROM prescriptions WHERE county_code = ? AND signed_at >= ? AND signed_at < ? GROUP BY institution_id`,
		string(rx.StatusPending), string(rx.StatusPassed), string(rx.StatusApproved), string(rx.StatusDispensed),
		string(rx.StatusReturned), string(rx.StatusRejected), int(rx.WithAntimicrobial), int(rx.WithInjection),
		county, s.ts(from), s.ts(to))
	if err != nil {
		return nil, wrap(op, err)
	}
	defer rows.Close()
	out := map[int64]kpi.RxCounts{}
	for rows.Next() {
		var id int64
		var c kpi.RxCounts
		if err := rows.Scan(&id, &c.Signed, &c.Decided, &c.Passed, &c.Returned, &c.Rejected, &c.Classified, &c.Antimicrobial, &c.Injection); err != nil {
			return nil, wrap(op, err)
		}
		out[id] = c
	}
	return out, wrap(op, rows.Err())
}

// classifyBatch is how many prescriptions ClassifyPrescriptions reads and
// updates in one transaction.
const classifyBatch = 500

// ClassifyPrescriptions sets the monitoring classes of every prescription
// signed before migration 0051 (rx_classes NULL) by classify (the
// formulary's rx.KB.Classify), in batches of classifyBatch, and returns how
// many it set. The dashboard figures duty runs it before its dashboards;
// once every row is classified it costs one index probe. A body that does
// not parse stops it with the prescription's id.
func (s *Store) ClassifyPrescriptions(ctx context.Context, classify func(*rx.Prescription) rx.Classes) (int, error) {
	const op = "store.ClassifyPrescriptions"
	n := 0
	for {
		type row struct {
			id      int64
			classes rx.Classes
		}
		var batch []row
		rows, err := s.read().query(ctx, `SELECT id, body FROM prescriptions WHERE rx_classes IS NULL ORDER BY id LIMIT ?`, classifyBatch)
		if err != nil {
			return n, wrap(op, err)
		}
		for rows.Next() {
			var id int64
			var body string
			if err := rows.Scan(&id, &body); err != nil {
				rows.Close()
				return n, wrap(op, err)
			}
			var p rx.Prescription
			if err := json.Unmarshal([]byte(body), &p); err != nil {
				rows.Close()
				return n, care.Internal(op, fmt.Errorf("prescription %d: %w", id, err))
			}
			batch = append(batch, row{id, classify(&p)})
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return n, wrap(op, err)
		}
		if len(batch) == 0 {
			return n, nil
		}
		err = s.Transact(ctx, func(tx db) error {
			for _, r := range batch {
				if _, err := tx.exec(ctx, `UPDATE prescriptions SET rx_classes = ? WHERE id = ? AND rx_classes IS NULL`, int(r.classes), r.id); err != nil {
					return wrap(op, err)
				}
			}
			return nil
		})
		if err != nil {
			return n, err
		}
		n += len(batch)
	}
}
