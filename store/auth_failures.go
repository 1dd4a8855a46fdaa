package store

import (
	"context"
	"time"
)

// AddAuthFailure records a failure of kind (account.FailAddress,
// FailDevice, FailStepUp) for subject at at, and returns how many subject
// has had since since, this one included.
func (s *Store) AddAuthFailure(ctx context.Context, kind, subject string, at, since time.Time) (int, error) {
	const op = "store.AddAuthFailure"
	n := 0
	err := s.Transact(ctx, func(tx db) error {
		if _, err := tx.exec(ctx, `INSERT INTO auth_failures (kind, subject, at) VALUES (?, ?, ?)`, kind, subject, s.ts(at)); err != nil {
			return wrap(op, err)
		}
		return wrap(op, tx.row(ctx, `SELECT COUNT(*) FROM auth_failures WHERE kind = ? AND subject = ? AND at >= ?`, kind, subject, s.ts(since)).Scan(&n))
	})
	return n, err
}

// AuthFailures counts subject's failures of kind since since and returns
// the latest one's time (zero if none).
func (s *Store) AuthFailures(ctx context.Context, kind, subject string, since time.Time) (int, time.Time, error) {
	var n int
	var last time.Time
	err := s.w.QueryRowContext(ctx, s.rebind(`SELECT COUNT(*), MAX(at) FROM auth_failures WHERE kind = ? AND subject = ? AND at >= ?`),
		kind, subject, s.ts(since)).Scan(&n, tsOf(&last))
	return n, last, wrap("store.AuthFailures", err)
}

// ClearAuthFailures forgets subject's failures of kind (a success).
func (s *Store) ClearAuthFailures(ctx context.Context, kind, subject string) error {
	_, err := s.w.ExecContext(ctx, s.rebind(`DELETE FROM auth_failures WHERE kind = ? AND subject = ?`), kind, subject)
	return wrap("store.ClearAuthFailures", err)
}

// PurgeAuthFailures deletes failures recorded before before and returns
// how many.
func (s *Store) PurgeAuthFailures(ctx context.Context, before time.Time) (int64, error) {
	res, err := s.w.ExecContext(ctx, s.rebind(`DELETE FROM auth_failures WHERE at < ?`), s.ts(before))
	if err != nil {
		return 0, wrap("store.PurgeAuthFailures", err)
	}
	return res.RowsAffected()
}
