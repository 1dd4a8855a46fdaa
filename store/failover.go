package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"countycare/care"
)

// What happens to a transaction when PostgreSQL fails over (issue 15 §2;
// docs/operations.md, "Province deployment").
//
// countycare reaches PostgreSQL through HAProxy, which sends connections
// to whichever server Patroni made the leader. When the leader dies its
// connections die with it:
//
//   - database/sql drops a connection once pgx reports it closed, and
//     opens a new one through HAProxy, which now leads to the new leader;
//   - a transaction that cannot even begin (no leader yet) is begun again,
//     with backoff, for up to Options.ReconnectWait: nothing has run, so
//     this is safe for every caller;
//   - a transaction that loses its connection before COMMIT was rolled back
//     by the server: its request gets EUNAVAILABLE (HTTP 503, "nothing was
//     saved"), or, for work marked idempotent (transactIdempotent: audit
//     batches, the outbox's delivery marks), it is run again from the start;
//   - a read outside a transaction is run again on a new connection
//     (readAgain), and a read a standby cannot answer goes to the primary;
//   - a transaction that loses its connection during COMMIT may or may not
//     have committed: its request gets EUNAVAILABLE with a message saying
//     so, never a success. Synchronous replication (Patroni's
//     synchronous_mode, synchronous_commit = on) makes every COMMIT that
//     did return wait for the standby's flush, so no acknowledged write is
//     missing on the promoted standby.

// defaultReconnectWait is how long a transaction waits for the database
// to come back before its request is answered 503: long enough to ride
// out a Patroni failover (about 5–10 s with the configuration in
// docs/operations.md).
const defaultReconnectWait = 15 * time.Second

// connLost reports whether err means the connection to the database was
// lost or could not be made, or that the server it reached cannot take
// writes now (a standby, or a primary shutting down): the failures of a
// failover, after which another attempt on a new connection may succeed.
func connLost(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, driver.ErrBadConn) || errors.Is(err, pgconn.ErrConnClosed) || errors.Is(err, sql.ErrConnDone) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) {
		return true
	}
	// A connection that could not be made is unavailable whatever the
	// server said while refusing it (55000 "not accepting connections" too).
	var ce *pgconn.ConnectError
	if errors.As(err, &ce) {
		return true
	}
	var pg *pgconn.PgError
	if errors.As(err, &pg) {
		switch {
		case len(pg.Code) == 5 && pg.Code[:2] == "08": // connection_exception
			return true
		case pg.Code == "57P01", pg.Code == "57P02", pg.Code == "57P03": // admin_shutdown, crash_shutdown, cannot_connect_now
			return true
		case pg.Code == "25006": // read_only_sql_transaction: the server is (now) a standby
			return true
		}
		return false
	}
	var ne net.Error
	return errors.As(err, &ne)
}

// conflictRetry reports whether err is a deadlock or serialization failure:
// PostgreSQL rolled the transaction back and it may simply be run again.
func conflictRetry(err error) bool {
	var pg *pgconn.PgError
	return errors.As(err, &pg) && (pg.Code == "40001" || pg.Code == "40P01")
}

// unavailable reports whether err already says the database is
// unavailable (so that it is not wrapped twice).
func unavailable(err error) bool {
	var ce *care.Error
	return errors.As(err, &ce) && ce.Code == care.EUNAVAILABLE
}

// errUnavailable is the error of a request whose transaction lost the
// database before COMMIT: rolled back, nothing saved.
func errUnavailable(op string, err error) error {
	return &care.Error{Code: care.EUNAVAILABLE, Key: "error.db_unavailable", Op: op, Err: err}
}

// errCommitUnknown is the error of a request whose COMMIT got no answer:
// the change may or may not be saved, and is not acknowledged.
func errCommitUnknown(op string, err error) error {
	return &care.Error{Code: care.EUNAVAILABLE, Key: "error.db_commit_unknown", Op: op, Err: err}
}

// backoff is the pause before attempt n (0-based) of a reconnecting
// transaction: 50 ms doubling to at most 1 s.
func backoff(n int) time.Duration {
	d := 50 * time.Millisecond << min(n, 5)
	return min(d, time.Second)
}

// sleepCtx waits d or until ctx ends; false if ctx ended.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// beginTx begins a write transaction, trying again on a new connection
// while the database cannot be reached, for up to s.reconnectWait.
func (s *Store) beginTx(ctx context.Context) (*sql.Tx, error) {
	s.prepareWanted(ctx)
	deadline := time.Now().Add(s.reconnectWait)
	for n := 0; ; n++ {
		tx, err := s.w.BeginTx(ctx, nil)
		if err == nil {
			return tx, nil
		}
		if !connLost(err) || time.Now().After(deadline) || !sleepCtx(ctx, backoff(n)) {
			if connLost(err) {
				return nil, errUnavailable("store.Transact", err)
			}
			return nil, care.Internal("store.Transact", err)
		}
	}
}

// postgresPool opens a pool of at most conns PostgreSQL connections.
// Connections are renewed every 30 minutes, so that after a failover and
// the old server's return the pool does not keep living on whichever
// server HAProxy chose long ago; dead ones are dropped as soon as pgx
// reports them closed.
func postgresPool(rawURL string, conns int) (*sql.DB, error) {
	db, err := sql.Open("pgx", rawURL)
	if err != nil {
		return nil, fmt.Errorf("store: unable to open postgres %s: %w", redact(rawURL), err)
	}
	db.SetMaxOpenConns(conns)
	db.SetMaxIdleConns(conns)
	db.SetConnMaxIdleTime(5 * time.Minute)
	db.SetConnMaxLifetime(30 * time.Minute)
	return db, nil
}

// openStandby opens the pool of reads that may come from a standby.
func openStandby(ctx context.Context, rawURL string) (*sql.DB, error) {
	if !strings.HasPrefix(rawURL, "postgres://") && !strings.HasPrefix(rawURL, "postgresql://") {
		return nil, fmt.Errorf("store: the standby for reads must be a postgres:// URL, not %q", redact(rawURL))
	}
	db, err := postgresPool(rawURL, 8)
	if err != nil {
		return nil, err
	}
	// Not reachable now (a failover, a standby rebuilding) is no reason
	// not to start: its reads go to the primary meanwhile.
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	_ = db.PingContext(pctx)
	return db, nil
}

// standbyFailed reports whether a read on the standby failed in a way the
// primary would not: the standby is unreachable, starting, or cancelled
// the query for a conflict with recovery (SQLSTATE 40001 on a standby).
func standbyFailed(err error) bool { return connLost(err) || conflictRetry(err) }

// standbyFor returns the standby pool for a read of ctx's request, or nil
// when the read must go to the primary. A read on the standby that fails
// for a lost connection is run on the primary instead.
func (s *Store) standbyFor(ctx context.Context) *sql.DB {
	if s.standby == nil || !care.StandbyReads(ctx) {
		return nil
	}
	return s.standby
}

// readAgain runs a read outside any transaction (q sets its result and
// returns its error), and runs it again while it fails for a lost
// connection, for up to s.reconnectWait: a read changes nothing, so it
// is always safe to repeat. The first read on each pooled connection to a
// dead primary fails this way before database/sql drops the connection.
func (s *Store) readAgain(ctx context.Context, q func() error) error {
	deadline := time.Now().Add(s.reconnectWait)
	for n := 0; ; n++ {
		err := q()
		if !connLost(err) || time.Now().After(deadline) || !sleepCtx(ctx, backoff(n)) {
			return err
		}
	}
}

// transact runs fn in one write transaction (see Transact). With
// idempotent, fn is run again from the start after a rollback the
// database forced (lost connection before COMMIT, deadlock, serialization
// failure), for up to s.reconnectWait: only for fn whose every effect is
// inside the transaction, so that a second run is the same as one.
func (s *Store) transact(ctx context.Context, idempotent bool, fn func(tx db) error) error {
	if tx := s.atomicTx(ctx); tx != nil {
		return fn(db{q: tx, s: s}) // part of Atomic's transaction
	}
	deadline := time.Now().Add(s.reconnectWait)
	for n := 0; ; n++ {
		err, committing := s.transactOnce(ctx, fn)
		if err == nil {
			return nil
		}
		lost := connLost(err)
		if idempotent && !committing && (lost || conflictRetry(err)) && time.Now().Before(deadline) && sleepCtx(ctx, backoff(n)) {
			continue
		}
		switch {
		case unavailable(err):
			return err
		case lost && committing:
			return errCommitUnknown("store.Transact", err)
		case lost:
			return errUnavailable("store.Transact", err)
		case committing:
			return care.Internal("store.Transact", mapErr(err))
		}
		return err
	}
}

// transactOnce runs fn in one transaction; committing is true when the
// error came from COMMIT (whose outcome is then unknown if the connection
// was lost).
func (s *Store) transactOnce(ctx context.Context, fn func(tx db) error) (err error, committing bool) {
	if s.dialect == SQLite {
		return s.transactGrouped(ctx, fn)
	}
	tx, err := s.beginTx(ctx)
	if err != nil {
		return err, false
	}
	defer func() {
		if p := recover(); p != nil {
			tx.Rollback()
			panic(p)
		}
	}()
	if err := fn(db{q: tx, s: s}); err != nil {
		tx.Rollback()
		return err, false
	}
	if err := tx.Commit(); err != nil {
		return err, true
	}
	return nil, false
}

// Replication is what PostgreSQL says about the durability of a COMMIT.
type Replication struct {
	// SynchronousCommit is the session's synchronous_commit: on,
	// remote_write, remote_apply, local or off.
	SynchronousCommit string
	// StandbyNames is synchronous_standby_names: empty when no standby
	// must confirm a COMMIT (Patroni fills it in synchronous_mode).
	StandbyNames string
}

// Synchronous reports whether a COMMIT that returned is on a standby too
// (flushed, or applied), so that a failover loses no acknowledged write.
func (r Replication) Synchronous() bool {
	switch r.SynchronousCommit {
	case "on", "remote_apply":
		return r.StandbyNames != ""
	}
	return false
}

// Replication returns how PostgreSQL replicates a COMMIT; ok is false on
// SQLite, which has no replication.
func (s *Store) Replication(ctx context.Context) (r Replication, ok bool, err error) {
	if s.dialect != Postgres {
		return Replication{}, false, nil
	}
	err = s.read().row(ctx, `SELECT current_setting('synchronous_commit'), current_setting('synchronous_standby_names')`).Scan(&r.SynchronousCommit, &r.StandbyNames)
	if err != nil {
		return Replication{}, false, wrap("store.Replication", err)
	}
	return r, true, nil
}

// ConsultationKeys returns the ids of account's consultations by their
// idempotency key, for the keys that start with prefix: the failover drill
// (countycare drill-writes) checks with it that every acknowledged request
// is on the new primary, once.
func (s *Store) ConsultationKeys(ctx context.Context, account int64, prefix string) (map[string][]int64, error) {
	rows, err := s.read().query(ctx, `SELECT idempotency_key, id FROM consultations WHERE from_account = ? AND idempotency_key LIKE ? ESCAPE '\' ORDER BY id`,
		account, strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(prefix)+"%")
	if err != nil {
		return nil, wrap("store.ConsultationKeys", err)
	}
	defer rows.Close()
	out := map[string][]int64{}
	for rows.Next() {
		var k string
		var id int64
		if err := rows.Scan(&k, &id); err != nil {
			return nil, wrap("store.ConsultationKeys", err)
		}
		out[k] = append(out[k], id)
	}
	return out, wrap("store.ConsultationKeys", rows.Err())
}
