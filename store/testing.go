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
// before the stock moves). Only tests call it.
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
