package store

import (
	"context"
	"testing"
)

// ExecForTest runs a raw statement. Only tests call it (to play an
// attacker with database access); it is not part of the adapter's API.
func (s *Store) ExecForTest(ctx context.Context, q string) error {
	_, err := s.w.ExecContext(ctx, q)
	return err
}

// DropAuditGuardForTest removes the append-only triggers, as someone with
// full control of the database could.
func (s *Store) DropAuditGuardForTest(ctx context.Context, t testing.TB) {
	stmts := []string{`DROP TRIGGER audit_events_no_update`, `DROP TRIGGER audit_events_no_delete`}
	if s.dialect == Postgres {
		stmts = []string{`DROP TRIGGER audit_events_no_change ON audit_events`}
	}
	for _, q := range stmts {
		if _, err := s.w.ExecContext(ctx, q); err != nil {
			t.Fatalf("drop trigger: %v", err)
		}
	}
}

// FailAfterForTest makes the transaction at point fail with err, as a crash
// there would (the transaction is rolled back); err nil clears it. Points:
// "dispense.paid" (pharmacy dispensing, after the settlement is written and
// before the stock moves); "stow.commit" (SaveImagingInstances, after every
// instance of the group is written, before the audit rows and COMMIT).
// Only tests call it.
func (s *Store) FailAfterForTest(point string, err error) {
	if err == nil {
		s.crashAfter.Store(nil)
		return
	}
	s.crashAfter.Store(&crashPoint{point, err})
}

// QueryRowForTest scans one row of a raw query into dest. Only tests call it.
func (s *Store) QueryRowForTest(ctx context.Context, q string, dest ...any) error {
	return s.w.QueryRowContext(ctx, q).Scan(dest...)
}

// TxForTest is a transaction as TransactForTest's fn sees it: raw
// statements, errors as the driver returns them. Only tests use it.
type TxForTest struct{ d db }

// Exec runs one statement in the transaction.
func (t TxForTest) Exec(ctx context.Context, q string, args ...any) error {
	_, err := t.d.exec(ctx, q, args...)
	return err
}

// QueryRow scans one row of a query run in the transaction into dest.
func (t TxForTest) QueryRow(ctx context.Context, q string, args []any, dest ...any) error {
	return t.d.q.QueryRowContext(ctx, t.d.s.rebind(q), args...).Scan(dest...)
}

// TransactForTest runs fn as Transact runs a transaction, or, with
// idempotent, as the audit appends do (run again after a rollback the
// database forced). Only tests call it, to break the connection at a
// chosen point of a transaction.
func (s *Store) TransactForTest(ctx context.Context, idempotent bool, fn func(tx TxForTest) error) error {
	return s.transact(ctx, idempotent, func(d db) error { return fn(TxForTest{d}) })
}

// QueryForTest scans one row of a raw query run on the read pool (outside
// any transaction) into dest. Only tests call it.
func (s *Store) QueryForTest(ctx context.Context, q string, dest ...any) error {
	return s.read().row(ctx, q).Scan(dest...)
}

// WrapForTest maps a driver error as the adapter's methods do before
// returning it (a lost connection becomes EUNAVAILABLE). Only tests call it.
func WrapForTest(err error) error { return wrap("store.test", err) }
