package store

import (
	"context"
	"database/sql"
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
	return s.Transact(ctx, func(tx db) error {
		return fn(context.WithValue(ctx, atomicKey{s}, tx.q))
	})
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
