package store

import (
	"context"
	"database/sql"
	"errors"
	"sync/atomic"
	"time"
)

// AcquireLease takes the lease name for holder, or renews it if holder
// has it, until ttl from now by the database's clock (PostgreSQL's
// clock_timestamp(); on SQLite, one process on this machine, the store's
// clock). It reports whether holder has the lease afterwards: false while
// another holder's lease has not expired. Many replicas may call it at
// once; the upsert is one statement, so at most one holds a lease at a
// time. Errors are database errors: the caller must then treat the lease
// as lost when its last expiry passes.
func (s *Store) AcquireLease(ctx context.Context, name, holder string, ttl time.Duration) (bool, error) {
	const op = "store.AcquireLease"
	var q string
	var args []any
	if s.dialect == Postgres {
		q = `INSERT INTO leases (name, holder, acquired_at, expires_at) VALUES (?, ?, clock_timestamp(), clock_timestamp() + make_interval(secs => ?))
			ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at,
				acquired_at = CASE WHEN leases.holder = excluded.holder THEN leases.acquired_at ELSE excluded.acquired_at END
			WHERE leases.holder = excluded.holder OR leases.expires_at <= clock_timestamp()
			RETURNING holder`
		args = []any{name, holder, ttl.Seconds()}
	} else {
		now := s.now()
		q = `INSERT INTO leases (name, holder, acquired_at, expires_at) VALUES (?, ?, ?, ?)
			ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at,
				acquired_at = CASE WHEN leases.holder = excluded.holder THEN leases.acquired_at ELSE excluded.acquired_at END
			WHERE leases.holder = excluded.holder OR leases.expires_at <= ?
			RETURNING holder`
		args = []any{name, holder, s.ts(now), s.ts(now.Add(ttl)), s.ts(now)}
	}
	var got string
	err := s.w.QueryRowContext(ctx, s.rebind(q), args...).Scan(&got)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, wrap(op, err)
	}
	return got == holder, nil
}

// ReleaseLease gives up holder's lease name at once (a replica shutting
// down), so another replica need not wait for it to expire. Releasing a
// lease held by someone else does nothing.
func (s *Store) ReleaseLease(ctx context.Context, name, holder string) error {
	_, err := s.w.ExecContext(ctx, s.rebind(`DELETE FROM leases WHERE name = ? AND holder = ?`), name, holder)
	return wrap("store.ReleaseLease", err)
}

// Lease is who holds a lease and until when (database time).
type Lease struct {
	Name       string
	Holder     string
	AcquiredAt time.Time
	ExpiresAt  time.Time
}

// Leases lists the leases, expired ones included, by name.
func (s *Store) Leases(ctx context.Context) ([]Lease, error) {
	const op = "store.Leases"
	rows, err := s.w.QueryContext(ctx, `SELECT name, holder, acquired_at, expires_at FROM leases ORDER BY name`)
	if err != nil {
		return nil, wrap(op, err)
	}
	defer rows.Close()
	var out []Lease
	for rows.Next() {
		var l Lease
		if err := rows.Scan(&l.Name, &l.Holder, tsOf(&l.AcquiredAt), tsOf(&l.ExpiresAt)); err != nil {
			return nil, wrap(op, err)
		}
		out = append(out, l)
	}
	return out, wrap(op, rows.Err())
}

// DutyLastRun is when the periodic duty name last ran; the zero time if
// it never did.
func (s *Store) DutyLastRun(ctx context.Context, name string) (time.Time, error) {
	var t time.Time
	err := s.w.QueryRowContext(ctx, s.rebind(`SELECT last_run_at FROM duty_runs WHERE name = ?`), name).Scan(tsOf(&t))
	if errors.Is(err, sql.ErrNoRows) {
		return time.Time{}, nil
	}
	return t, wrap("store.DutyLastRun", err)
}

// SetDutyRun records that the periodic duty name ran at t.
func (s *Store) SetDutyRun(ctx context.Context, name string, t time.Time) error {
	_, err := s.w.ExecContext(ctx, s.rebind(`INSERT INTO duty_runs (name, last_run_at) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET last_run_at = excluded.last_run_at`),
		name, s.ts(t))
	return wrap("store.SetDutyRun", err)
}

// clockOffset is what the database's clock is ahead of this process's
// (nanoseconds), as last measured by SyncClock.
type clockOffset struct{ ns atomic.Int64 }

// Now is the database's clock as seen from this process: the store's
// clock plus the offset SyncClock last measured. Every replica reads the
// same clock through it, so a deadline one replica sets is due at the
// same moment on every other whatever their own clocks say. On SQLite
// (one process, the database on this machine) the offset stays 0.
func (s *Store) Now() time.Time {
	return s.now().Add(time.Duration(s.skew.ns.Load()))
}

// SyncClock measures the database's clock against the store's (PostgreSQL:
// clock_timestamp() against the midpoint of the round trip) and keeps the
// offset for Now. It returns the offset; on SQLite it is 0.
func (s *Store) SyncClock(ctx context.Context) (time.Duration, error) {
	if s.dialect != Postgres {
		return 0, nil
	}
	t0 := s.now()
	var db time.Time
	if err := s.w.QueryRowContext(ctx, `SELECT clock_timestamp()`).Scan(&db); err != nil {
		return 0, wrap("store.SyncClock", err)
	}
	t1 := s.now()
	off := db.Sub(t0.Add(t1.Sub(t0) / 2))
	s.skew.ns.Store(int64(off))
	return off, nil
}
