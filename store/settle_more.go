package store

import (
	"context"

	"countycare/audit"
	"countycare/care"
	"countycare/settle"
)

// monthOf is the SQL for the YYYY-MM of a date column.
func (s *Store) monthOf(col string) string {
	if s.dialect == Postgres {
		return "to_char(" + col + ", 'YYYY-MM')"
	}
	return "substr(" + col + ", 1, 7)"
}

// SettlementTotals sums a county's live settlements with visit dates in
// [from, to] by month, institution, visit type and DRG.
func (s *Store) SettlementTotals(ctx context.Context, county string, from, to care.Date) ([]settle.Totals, error) {
	m := s.monthOf("visit_date")
	rows, err := s.read().query(ctx, `SELECT `+m+`, institution_id, visit_type, drg, COUNT(*), SUM(total), SUM(eligible), SUM(basic), SUM(critical),
			SUM(assistance), SUM(supplementary), SUM(bottom_line), SUM(patient), SUM(drugs), SUM(materials)
		FROM settlements WHERE county_code = ? AND status = 'settled' AND visit_date >= ? AND visit_date <= ?
		GROUP BY `+m+`, institution_id, visit_type, drg ORDER BY 1, 2`, county, from, to)
	if err != nil {
		return nil, wrap("store.SettlementTotals", err)
	}
	defer rows.Close()
	var out []settle.Totals
	for rows.Next() {
		var t settle.Totals
		if err := rows.Scan(&t.Month, &t.InstitutionID, &t.VisitType, &t.DRG, &t.Count, &t.Total, &t.Eligible, &t.Basic, &t.Critical,
			&t.Assistance, &t.Supplementary, &t.BottomLine, &t.Patient, &t.Drugs, &t.Materials); err != nil {
			return nil, wrap("store.SettlementTotals", err)
		}
		out = append(out, t)
	}
	return out, wrap("store.SettlementTotals", rows.Err())
}

// CreateAdmission stores an admission (one per visit) with its audit row.
func (s *Store) CreateAdmission(ctx context.Context, a *settle.Admission, ev audit.Event) error {
	a.CreatedAt = s.now()
	return s.Transact(ctx, func(tx db) error {
		id, err := tx.insert(ctx, `INSERT INTO admissions (county_code, resident_id, institution_id, visit_id, no_deposit, eligibility, status, admitted_on, created_by, created_at)
			VALUES (?, ?, ?, ?, ?, ?, 'admitted', ?, ?, ?)`, a.County, a.ResidentID, a.InstitutionID, a.VisitID, a.NoDeposit, a.Eligibility, a.AdmittedOn, a.CreatedBy, s.ts(a.CreatedAt))
		if err != nil {
			if care.IsCode(mapErr(err), care.ECONFLICT) {
				return &care.Error{Code: care.ECONFLICT, Key: "settle.admission_exists", Args: []any{a.VisitID}}
			}
			return wrap("store.CreateAdmission", err)
		}
		a.ID, a.Status = id, "admitted"
		return s.appendAudit(ctx, tx, ev)
	})
}

// Admissions lists a county's admissions, newest first (open ones only if openOnly).
func (s *Store) Admissions(ctx context.Context, county string, openOnly bool, limit int) ([]settle.Admission, error) {
	q := `SELECT id, county_code, resident_id, institution_id, visit_id, no_deposit, eligibility, status, admitted_on, created_by, created_at FROM admissions WHERE county_code = ?`
	if openOnly {
		q += ` AND status = 'admitted'`
	}
	if limit <= 0 || limit > 500 {
		limit = 100
	}
	rows, err := s.read().query(ctx, q+` ORDER BY id DESC LIMIT ?`, county, limit)
	if err != nil {
		return nil, wrap("store.Admissions", err)
	}
	defer rows.Close()
	var out []settle.Admission
	for rows.Next() {
		var a settle.Admission
		if err := rows.Scan(&a.ID, &a.County, &a.ResidentID, &a.InstitutionID, &a.VisitID, &a.NoDeposit, &a.Eligibility, &a.Status, &a.AdmittedOn, &a.CreatedBy, tsOf(&a.CreatedAt)); err != nil {
			return nil, wrap("store.Admissions", err)
		}
		out = append(out, a)
	}
	return out, wrap("store.Admissions", rows.Err())
}

const receivableCols = `id, county_code, resident_id, settlement_id, amount, paid, instalments, status, created_at`

func scanReceivable(sc interface{ Scan(...any) error }, r *settle.Receivable) error {
	return sc.Scan(&r.ID, &r.County, &r.ResidentID, &r.SettlementID, &r.Amount, &r.Paid, &r.Instalments, &r.Status, tsOf(&r.CreatedAt))
}

// Receivables lists receivables of a county (one resident's if residentID ≠ 0), newest first.
func (s *Store) Receivables(ctx context.Context, county string, residentID int64, openOnly bool) ([]settle.Receivable, error) {
	q := `SELECT ` + receivableCols + ` FROM receivables WHERE county_code = ?`
	args := []any{county}
	if residentID != 0 {
		q += ` AND resident_id = ?`
		args = append(args, residentID)
	}
	if openOnly {
		q += ` AND status = 'open'`
	}
	rows, err := s.read().query(ctx, q+` ORDER BY id DESC LIMIT 500`, args...)
	if err != nil {
		return nil, wrap("store.Receivables", err)
	}
	defer rows.Close()
	var out []settle.Receivable
	for rows.Next() {
		var r settle.Receivable
		if err := scanReceivable(rows, &r); err != nil {
			return nil, wrap("store.Receivables", err)
		}
		out = append(out, r)
	}
	return out, wrap("store.Receivables", rows.Err())
}

// Receivable returns one receivable; ENOTFOUND if none.
func (s *Store) Receivable(ctx context.Context, id int64) (*settle.Receivable, error) {
	var r settle.Receivable
	if err := scanReceivable(s.read().row(ctx, `SELECT `+receivableCols+` FROM receivables WHERE id = ?`, id), &r); err != nil {
		return nil, wrap("store.Receivable", err)
	}
	return &r, nil
}

// SetInstalments records the agreed number of instalments.
func (s *Store) SetInstalments(ctx context.Context, id int64, n int, ev audit.Event) error {
	return s.Transact(ctx, func(tx db) error {
		res, err := tx.exec(ctx, `UPDATE receivables SET instalments = ? WHERE id = ? AND status = 'open'`, n, id)
		if err != nil {
			return wrap("store.SetInstalments", err)
		}
		if k, _ := res.RowsAffected(); k == 0 {
			return care.Errorf(care.ECONFLICT, "settle.receivable_closed")
		}
		return s.appendAudit(ctx, tx, ev)
	})
}

// RecordPayment adds a payment to an open receivable, once per
// idempotency key; more than is owed is EINVALID.
func (s *Store) RecordPayment(ctx context.Context, p *settle.Payment, ev audit.Event) (bool, error) {
	replay := false
	p.PaidAt = s.now()
	err := s.Transact(ctx, func(tx db) error {
		var prev int64
		err := tx.row(ctx, `SELECT id FROM receivable_payments WHERE county_code = ? AND idempotency_key = ?`, p.County, p.Key).Scan(&prev)
		if err == nil {
			replay = true
			return nil
		}
		if !care.IsCode(mapErr(err), care.ENOTFOUND) {
			return wrap("store.RecordPayment", err)
		}
		var amount, paid settle.Fen
		var status string
		if err := tx.row(ctx, `SELECT amount, paid, status FROM receivables WHERE id = ? AND county_code = ?`, p.ReceivableID, p.County).Scan(&amount, &paid, &status); err != nil {
			return wrap("store.RecordPayment", err)
		}
		if status != "open" {
			return care.Errorf(care.ECONFLICT, "settle.receivable_closed")
		}
		if p.Amount > amount-paid {
			return care.Invalid([]care.FieldError{{Field: "amount", Key: "settle.payment_too_much", Args: []any{(amount - paid).String()}}})
		}
		if _, err := tx.insert(ctx, `INSERT INTO receivable_payments (county_code, receivable_id, amount, method, idempotency_key, recorded_by, paid_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			p.County, p.ReceivableID, p.Amount, p.Method, p.Key, p.RecordedBy, s.ts(p.PaidAt)); err != nil {
			return wrap("store.RecordPayment", err)
		}
		next := "open"
		if paid+p.Amount == amount {
			next = "paid"
		}
		if _, err := tx.exec(ctx, `UPDATE receivables SET paid = paid + ?, status = ? WHERE id = ?`, p.Amount, next, p.ReceivableID); err != nil {
			return wrap("store.RecordPayment", err)
		}
		return s.appendAudit(ctx, tx, ev)
	})
	return replay, err
}

// Payments lists a receivable's payments, oldest first.
func (s *Store) Payments(ctx context.Context, receivableID int64) ([]settle.Payment, error) {
	rows, err := s.read().query(ctx, `SELECT id, county_code, receivable_id, amount, method, idempotency_key, recorded_by, paid_at FROM receivable_payments WHERE receivable_id = ? ORDER BY id`, receivableID)
	if err != nil {
		return nil, wrap("store.Payments", err)
	}
	defer rows.Close()
	var out []settle.Payment
	for rows.Next() {
		var p settle.Payment
		if err := rows.Scan(&p.ID, &p.County, &p.ReceivableID, &p.Amount, &p.Method, &p.Key, &p.RecordedBy, tsOf(&p.PaidAt)); err != nil {
			return nil, wrap("store.Payments", err)
		}
		out = append(out, p)
	}
	return out, wrap("store.Payments", rows.Err())
}

// SetBudget sets a community's fund budget for a year.
func (s *Store) SetBudget(ctx context.Context, county string, communityID int64, year int, amount settle.Fen, by int64, ev audit.Event) error {
	return s.Transact(ctx, func(tx db) error {
		if _, err := tx.exec(ctx, `INSERT INTO fund_budgets (county_code, community_id, year, amount, updated_by, updated_at) VALUES (?, ?, ?, ?, ?, ?)
			ON CONFLICT (county_code, community_id, year) DO UPDATE SET amount = excluded.amount, updated_by = excluded.updated_by, updated_at = excluded.updated_at`,
			county, communityID, year, amount, by, s.ts(s.now())); err != nil {
			return wrap("store.SetBudget", err)
		}
		return s.appendAudit(ctx, tx, ev)
	})
}

// Budgets returns the county's budgets for a year by community.
func (s *Store) Budgets(ctx context.Context, county string, year int) (map[int64]settle.Fen, error) {
	rows, err := s.read().query(ctx, `SELECT community_id, amount FROM fund_budgets WHERE county_code = ? AND year = ?`, county, year)
	if err != nil {
		return nil, wrap("store.Budgets", err)
	}
	defer rows.Close()
	out := map[int64]settle.Fen{}
	for rows.Next() {
		var id int64
		var a settle.Fen
		if err := rows.Scan(&id, &a); err != nil {
			return nil, wrap("store.Budgets", err)
		}
		out[id] = a
	}
	return out, wrap("store.Budgets", rows.Err())
}
