package store

import (
	"context"
	"database/sql"
	"errors"

	"countycare/audit"
	"countycare/care"
	"countycare/points"
)

// insertPoints adds e unless its event was already awarded; it reports
// whether it did. ON CONFLICT DO NOTHING keeps a retried or concurrent
// award from failing the transaction on PostgreSQL.
func (s *Store) insertPoints(ctx context.Context, tx db, e *points.Entry) (bool, error) {
	e.CreatedAt = s.now()
	id, err := tx.insert(ctx, `INSERT INTO points_ledger (county_code, resident_id, rule, event_ref, points, occurred_on, note, created_by, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (county_code, resident_id, rule, event_ref) DO NOTHING`,
		e.CountyCode, e.ResidentID, string(e.Rule), e.EventRef, e.Points, e.On, e.Note, e.CreatedBy, s.ts(e.CreatedAt))
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, wrap("store.AppendPoints", err)
	}
	e.ID = id
	return true, s.keepTeamPoints(ctx, tx, id, e)
}

// AppendPoints adds an entry with its audit row unless the event was already awarded.
func (s *Store) AppendPoints(ctx context.Context, e *points.Entry, ev audit.Event) (bool, error) {
	var added bool
	err := s.Transact(ctx, func(tx db) error {
		var err error
		if added, err = s.insertPoints(ctx, tx, e); err != nil || !added {
			return err
		}
		return s.appendAudit(ctx, tx, ev)
	})
	return added, err
}

// RedeemPoints adds a redemption if the balance covers it. The resident's
// row is locked first (PostgreSQL; SQLite has one writer), so two
// redemptions at once cannot both spend the same points.
func (s *Store) RedeemPoints(ctx context.Context, e *points.Entry, ev audit.Event) error {
	const op = "store.RedeemPoints"
	return s.Transact(ctx, func(tx db) error {
		if s.dialect == Postgres {
			var id int64
			if err := tx.row(ctx, `SELECT id FROM residents WHERE county_code = ? AND id = ? FOR UPDATE`, e.CountyCode, e.ResidentID).Scan(&id); err != nil {
				return wrap(op, err)
			}
		}
		var bal int64
		if err := tx.row(ctx, `SELECT COALESCE(SUM(points), 0) FROM points_ledger WHERE county_code = ? AND resident_id = ?`, e.CountyCode, e.ResidentID).Scan(&bal); err != nil {
			return wrap(op, err)
		}
		if bal+e.Points < 0 {
			return &care.Error{Code: care.EINVALID, Key: "points.insufficient", Args: []any{bal}, Op: op,
				Fields: []care.FieldError{{Field: "points", Key: "points.insufficient", Args: []any{bal}}}}
		}
		added, err := s.insertPoints(ctx, tx, e)
		if err != nil {
			return err
		}
		if !added {
			return &care.Error{Code: care.ECONFLICT, Key: "points.redeemed", Op: op}
		}
		return s.appendAudit(ctx, tx, ev)
	})
}

// PointsBalance returns the exact sum of a resident's entries.
func (s *Store) PointsBalance(ctx context.Context, county string, residentID int64) (int64, error) {
	var b int64
	err := s.read().row(ctx, `SELECT COALESCE(SUM(points), 0) FROM points_ledger WHERE county_code = ? AND resident_id = ?`, county, residentID).Scan(&b)
	return b, wrap("store.PointsBalance", err)
}

// PointsLedger lists a resident's entries, newest first.
func (s *Store) PointsLedger(ctx context.Context, county string, residentID int64, limit int) ([]points.Entry, error) {
	rows, err := s.read().query(ctx, `SELECT id, county_code, resident_id, rule, event_ref, points, occurred_on, note, created_by, created_at FROM points_ledger
		WHERE county_code = ? AND resident_id = ? ORDER BY created_at DESC, id DESC LIMIT ?`, county, residentID, limit)
	if err != nil {
		return nil, wrap("store.PointsLedger", err)
	}
	defer rows.Close()
	var out []points.Entry
	for rows.Next() {
		var e points.Entry
		if err := rows.Scan(&e.ID, &e.CountyCode, &e.ResidentID, &e.Rule, &e.EventRef, &e.Points, &e.On, &e.Note, &e.CreatedBy, tsOf(&e.CreatedAt)); err != nil {
			return nil, wrap("store.PointsLedger", err)
		}
		out = append(out, e)
	}
	return out, wrap("store.PointsLedger", rows.Err())
}

var _ points.Repository = (*Store)(nil)
