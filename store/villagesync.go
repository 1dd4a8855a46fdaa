package store

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"countycare/care"
	"countycare/chronic"
	"countycare/resident"
	"countycare/villagesync"
)

// ClaimReceipt inserts r as pending unless its account already sent its
// client ID: then it returns that receipt and false, or takes it over
// (true) when it has been pending since before staleBefore.
func (s *Store) ClaimReceipt(ctx context.Context, r *villagesync.Receipt, staleBefore time.Time) (*villagesync.Receipt, bool, error) {
	const op = "store.ClaimReceipt"
	res, err := s.w.ExecContext(ctx, s.rebind(`INSERT INTO sync_receipts (account_id, client_id, kind, payload_hash, status, result, created_at, updated_at)
		VALUES (?, ?, ?, ?, 'pending', '', ?, ?) ON CONFLICT (account_id, client_id) DO NOTHING`),
		r.AccountID, r.ClientID, string(r.Kind), r.Hash, s.ts(r.CreatedAt), s.ts(r.UpdatedAt))
	if err != nil {
		return nil, false, wrap(op, err)
	}
	if n, _ := res.RowsAffected(); n == 1 {
		return nil, true, nil
	}
	var p villagesync.Receipt
	var result string
	err = s.w.QueryRowContext(ctx, s.rebind(`SELECT account_id, client_id, kind, payload_hash, status, result, created_at, updated_at
		FROM sync_receipts WHERE account_id = ? AND client_id = ?`), r.AccountID, r.ClientID).
		Scan(&p.AccountID, &p.ClientID, &p.Kind, &p.Hash, &p.Status, &result, tsOf(&p.CreatedAt), tsOf(&p.UpdatedAt))
	if errors.Is(err, sql.ErrNoRows) {
		// Dropped between the insert and this read: claim it again.
		return s.ClaimReceipt(ctx, r, staleBefore)
	}
	if err != nil {
		return nil, false, wrap(op, err)
	}
	p.Result = []byte(result)
	if p.Status == "pending" && p.Hash == r.Hash && p.UpdatedAt.Before(staleBefore) {
		res, err := s.w.ExecContext(ctx, s.rebind(`UPDATE sync_receipts SET updated_at = ? WHERE account_id = ? AND client_id = ? AND status = 'pending' AND updated_at = ?`),
			s.ts(r.UpdatedAt), r.AccountID, r.ClientID, s.ts(p.UpdatedAt))
		if err != nil {
			return nil, false, wrap(op, err)
		}
		if n, _ := res.RowsAffected(); n == 1 {
			return nil, true, nil
		}
	}
	return &p, false, nil
}

// FinishReceipt stores a claimed receipt's outcome.
func (s *Store) FinishReceipt(ctx context.Context, r *villagesync.Receipt) error {
	_, err := s.w.ExecContext(ctx, s.rebind(`UPDATE sync_receipts SET status = ?, result = ?, updated_at = ? WHERE account_id = ? AND client_id = ?`),
		string(r.Status), string(r.Result), s.ts(s.now()), r.AccountID, r.ClientID)
	return wrap("store.FinishReceipt", err)
}

// Receipt returns an account's receipt of a client ID (nil if none),
// read from the writer so that a change finished a moment ago is seen.
func (s *Store) Receipt(ctx context.Context, accountID int64, clientID string) (*villagesync.Receipt, error) {
	var p villagesync.Receipt
	var result string
	err := s.w.QueryRowContext(ctx, s.rebind(`SELECT account_id, client_id, kind, payload_hash, status, result, created_at, updated_at
		FROM sync_receipts WHERE account_id = ? AND client_id = ?`), accountID, clientID).
		Scan(&p.AccountID, &p.ClientID, &p.Kind, &p.Hash, &p.Status, &result, tsOf(&p.CreatedAt), tsOf(&p.UpdatedAt))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, wrap("store.Receipt", err)
	}
	p.Result = []byte(result)
	return &p, nil
}

// DropReceipt removes a pending receipt.
func (s *Store) DropReceipt(ctx context.Context, accountID int64, clientID string) error {
	_, err := s.w.ExecContext(ctx, s.rebind(`DELETE FROM sync_receipts WHERE account_id = ? AND client_id = ? AND status = 'pending'`), accountID, clientID)
	return wrap("store.DropReceipt", err)
}

// PullResidents lists the clinics' residents updated after since.
func (s *Store) PullResidents(ctx context.Context, county string, clinics []int64, since time.Time) ([]resident.Resident, error) {
	if len(clinics) == 0 {
		return nil, nil
	}
	q := `SELECT ` + residentCols + ` FROM residents r WHERE r.county_code = ? AND r.village_id IN (` + placeholders(len(clinics)) + `)`
	args := append([]any{county}, int64Args(clinics)...)
	if !since.IsZero() {
		q += ` AND r.updated_at > ?`
		args = append(args, s.ts(since))
	}
	rows, err := s.read().query(ctx, q+` ORDER BY r.id`, args...)
	if err != nil {
		return nil, wrap("store.PullResidents", err)
	}
	return collectResidents("store.PullResidents", rows)
}

// PullResidentIDs lists the IDs of the clinics' residents not merged.
func (s *Store) PullResidentIDs(ctx context.Context, county string, clinics []int64) ([]int64, error) {
	const op = "store.PullResidentIDs"
	if len(clinics) == 0 {
		return nil, nil
	}
	return s.queryIDs(ctx, op, `SELECT id FROM residents WHERE county_code = ? AND village_id IN (`+placeholders(len(clinics))+`) AND status <> 'merged' ORDER BY id`,
		append([]any{county}, int64Args(clinics)...)...)
}

// queryIDs runs q, which selects one integer column, and collects it.
func (s *Store) queryIDs(ctx context.Context, op, q string, args ...any) ([]int64, error) {
	rows, err := s.read().query(ctx, q, args...)
	if err != nil {
		return nil, wrap(op, err)
	}
	defer rows.Close()
	var out []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, wrap(op, err)
		}
		out = append(out, id)
	}
	return out, wrap(op, rows.Err())
}

// PullRegistrations lists the clinics' active chronic registrations.
func (s *Store) PullRegistrations(ctx context.Context, county string, clinics []int64) ([]chronic.Registration, error) {
	const op = "store.PullRegistrations"
	if len(clinics) == 0 {
		return nil, nil
	}
	rows, err := s.read().query(ctx, `SELECT `+registrationCols+` FROM chronic_registrations WHERE county_code = ? AND clinic_id IN (`+placeholders(len(clinics))+`)
		AND status = 'active' ORDER BY id`, append([]any{county}, int64Args(clinics)...)...)
	if err != nil {
		return nil, wrap(op, err)
	}
	defer rows.Close()
	var out []chronic.Registration
	for rows.Next() {
		var r chronic.Registration
		if err := scanRegistration(rows, &r); err != nil {
			return nil, wrap(op, err)
		}
		out = append(out, r)
	}
	return out, wrap(op, rows.Err())
}

// PullVisits lists the follow-ups of the clinics' active registrations
// stored after since and dated on or after from, oldest first.
func (s *Store) PullVisits(ctx context.Context, county string, clinics []int64, since time.Time, from care.Date) ([]chronic.StoredVisit, error) {
	const op = "store.PullVisits"
	if len(clinics) == 0 {
		return nil, nil
	}
	q := `SELECT ` + prefixCols("v.", visitCols) + ` FROM chronic_visits v JOIN chronic_registrations g ON g.id = v.registration_id
		WHERE g.county_code = ? AND g.clinic_id IN (` + placeholders(len(clinics)) + `) AND g.status = 'active' AND v.visit_date >= ?`
	args := append(append([]any{county}, int64Args(clinics)...), from)
	if !since.IsZero() {
		q += ` AND v.created_at > ?`
		args = append(args, s.ts(since))
	}
	rows, err := s.read().query(ctx, q+` ORDER BY v.visit_date, v.id`, args...)
	if err != nil {
		return nil, wrap(op, err)
	}
	defer rows.Close()
	var out []chronic.StoredVisit
	for rows.Next() {
		var v chronic.StoredVisit
		if err := scanVisit(rows, &v); err != nil {
			return nil, wrap(op, err)
		}
		out = append(out, v)
	}
	return out, wrap(op, rows.Err())
}
