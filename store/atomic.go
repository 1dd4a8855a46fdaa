package store

import (
	"context"
	"database/sql"
	"sync"
)

// atomicKey carries an Atomic transaction in a context; it names its
// store, so that a second store's queries never run in it.
type atomicKey struct{ s *Store }

// Atomic runs fn so that every write the store makes under the context fn
// is given — through any domain service, with its validation and audit
// rows — is one database transaction, committed if fn returns nil and
// rolled back otherwise: nothing is half-written. Reads under that
// context run in the transaction too, so they see its writes. The FHIR
// transaction bundle (all or nothing) runs through it.
//
// Inside fn, an audit.Recorder must not wait for its commit (the writer
// connection is fn's): callers put an audit.Barrier in ctx first, as the
// HTTP wrapper does. A nested Atomic joins the outer transaction.
// Errors: those of fn, or of BEGIN and COMMIT as Transact's.
func (s *Store) Atomic(ctx context.Context, fn func(ctx context.Context) error) error {
	if s.atomicTx(ctx) != nil {
		return fn(ctx)
	}
	var ptx *preparedTx
	err := s.Transact(ctx, func(tx db) error {
		q := tx.q
		if t, ok := q.(*sql.Tx); ok && s.dialect == SQLite {
			ptx = &preparedTx{Tx: t, s: s, stmts: map[string]*sql.Stmt{}, missed: map[string]bool{}}
			q = ptx
		}
		return fn(context.WithValue(ctx, atomicKey{s}, q))
	})
	if ptx != nil {
		// The writer connection is free again: prepare what this
		// transaction ran unprepared, for the next ones.
		for q := range ptx.missed {
			s.cachedStmt(ctx, s.w, &s.wstmts, &s.wstmtCount, q)
		}
	}
	return err
}

// preparedTx is an Atomic transaction on SQLite whose Exec and QueryRow
// run from statements prepared once on the writer connection (Store.wstmts,
// bound to the transaction with Tx.StmtContext): a FHIR transaction
// bundle runs the same inserts and reads for every entry and every
// bundle, and SQLite parsing and planning them anew was a fifth of the
// ingest's database time. A text not yet prepared runs as text and is
// prepared after the transaction (on SQLite the transaction holds the one
// writer connection, so it cannot be prepared on the pool meanwhile).
// Multi-row queries run as text: their statement stays busy while the
// caller iterates, and a nested run of the same text would reset it.
// PostgreSQL's driver keeps its own per-connection statement cache.
type preparedTx struct {
	*sql.Tx
	s      *Store
	mu     sync.Mutex
	stmts  map[string]*sql.Stmt // bound to this transaction
	missed map[string]bool      // texts run unprepared
}

// stmt returns q's statement bound to the transaction, or nil (q is then
// noted, to be prepared after it).
func (t *preparedTx) stmt(ctx context.Context, q string) *sql.Stmt {
	t.mu.Lock()
	defer t.mu.Unlock()
	if st, ok := t.stmts[q]; ok {
		return st
	}
	st, ok := t.s.wstmts.Load(q)
	if !ok {
		t.missed[q] = true
		return nil
	}
	bound := t.Tx.StmtContext(ctx, st.(*sql.Stmt))
	t.stmts[q] = bound
	return bound
}

func (t *preparedTx) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	if st := t.stmt(ctx, q); st != nil {
		return st.ExecContext(ctx, args...)
	}
	return t.Tx.ExecContext(ctx, q, args...)
}

func (t *preparedTx) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	if st := t.stmt(ctx, q); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return t.Tx.QueryRowContext(ctx, q, args...)
}

// atomicTx returns the Atomic transaction ctx runs in, or nil.
func (s *Store) atomicTx(ctx context.Context) querier {
	if ctx == nil {
		return nil
	}
	if q, ok := ctx.Value(atomicKey{s}).(querier); ok {
		return q
	}
	return nil
}

var _ querier = (*sql.Tx)(nil)
