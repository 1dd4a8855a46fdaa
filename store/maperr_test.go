package store

import (
	"fmt"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"countycare/care"
)

// TestMapErrRetryable: PostgreSQL's deadlock and serialization failures
// are conflicts to try again, not internal errors (code review).
func TestMapErrRetryable(t *testing.T) {
	for _, code := range []string{"40P01", "40001"} {
		err := wrap("store.Test", fmt.Errorf("commit: %w", &pgconn.PgError{Code: code}))
		ce, _ := err.(*care.Error)
		if ce == nil || ce.Code != care.ECONFLICT || ce.Key != "error.retry" {
			t.Errorf("SQLSTATE %s: %v, want conflict error.retry", code, err)
		}
	}
}

// A lost database connection — a failover's shutdown, a connection
// exception — is "unavailable" (503, try again), not an internal error.
func TestMapErrConnectionLost(t *testing.T) {
	for _, code := range []string{"57P01", "57P03", "08006", "08001"} {
		err := wrap("store.Test", fmt.Errorf("query: %w", &pgconn.PgError{Code: code}))
		ce, _ := err.(*care.Error)
		if ce == nil || ce.Code != care.EUNAVAILABLE || ce.Key != "error.db_unavailable" {
			t.Errorf("SQLSTATE %s: %v, want unavailable error.db_unavailable", code, err)
		}
	}
}
