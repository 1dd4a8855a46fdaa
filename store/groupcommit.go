package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"countycare/care"
)

// maxGroup is the most transactions one SQLite COMMIT carries (groupCommit).
// It bounds what a caller waits for: with 32 the groups of the county-year
// replay's 32 clinicians grew to all of them, every answer waited for
// everyone's work and the writer stood idle while the clients sent the
// next requests (340 against 437 requests/s with 8, one run each at load
// average 20–25). 16 against 8, the two run at once on copies of the 1 M
// county (load 27–33): 0.975 against 1.038 ms of server CPU a request
// (one fsync and one write of each shared page — the audit chain's, the
// tables' last pages — for twice the requests), the p99s the same within
// the run's noise (docs/benchmarks.md, #15 §3).
const maxGroup = 16

// groupCommit lets concurrent SQLite transactions share one COMMIT: the
// first to come begins a database transaction and runs its function (the
// later ones each in a savepoint); if others are waiting by then, it hands the transaction to the
// next one instead of committing, and waits for the COMMIT of the group;
// the last one of the group (nobody waiting, or maxGroup reached) commits
// for everyone. Each function is still all or nothing (its savepoint is
// rolled back when it fails; the first one's, which needs none, by rolling
// back the transaction), runs alone on the one writer connection as
// before, and its caller hears of success only once the COMMIT that holds
// its writes has returned, durable under synchronous=FULL. What changes is
// that one fsync and one write of each touched page serve the group:
// committing was the largest part of a write request's CPU in the
// county-year replay (docs/benchmarks.md).
//
// A failure that breaks the database transaction itself (a savepoint that
// cannot be rolled back or released, a failed COMMIT, a panic) fails every
// caller of the group that has not returned: none of them was told its
// writes were kept, and none was kept.
type groupCommit struct {
	turn    sync.Mutex   // held by the caller running its function (or committing)
	waiting atomic.Int32 // callers waiting for the turn
	commits atomic.Int64 // COMMITs that succeeded (tests count the groups)
	// Held with turn:
	tx    *sql.Tx    // the open group's transaction; nil: none
	group *groupDone // the open group's outcome
	n     int        // callers in the open group
}

// groupDone is the outcome of a group's COMMIT, known once done is closed.
type groupDone struct {
	done chan struct{}
	err  error
}

// errGroupBroken marks a failure of the shared transaction itself.
var errGroupBroken = errors.New("store: the group's transaction failed")

// transactGrouped runs fn as one member of an SQLite commit group
// (groupCommit); its errors are those of transactOnce.
func (s *Store) transactGrouped(ctx context.Context, fn func(tx db) error) (err error, committing bool) {
	g := &s.group
	g.waiting.Add(1)
	g.turn.Lock()
	g.waiting.Add(-1)
	if g.tx == nil {
		// The group outlives this caller's request: its cancellation
		// must not roll back the others' writes (database/sql rolls a
		// transaction back when the context it began with ends).
		tx, err := s.beginTx(context.WithoutCancel(ctx))
		if err != nil {
			g.turn.Unlock()
			return err, false
		}
		g.tx, g.group, g.n = tx, &groupDone{done: make(chan struct{})}, 0
	}
	tx, group := g.tx, g.group
	g.n++
	fail := func(err error) {
		g.tx, g.group = nil, nil
		tx.Rollback()
		group.err = err
		close(group.done)
		g.turn.Unlock()
	}
	defer func() {
		if p := recover(); p != nil {
			fail(fmt.Errorf("%w: a panic", errGroupBroken))
			panic(p)
		}
	}()
	if g.n == 1 {
		// The first of a group runs without a savepoint: the transaction
		// holds nothing else yet, so a failure rolls all of it back. A
		// savepoint would copy every page the function changes into
		// SQLite's statement journal, which spills into a temporary file
		// past 64 KiB (an open, writes and a close on each transaction of
		// a FHIR bundle: docs/benchmarks.md, #12 ingest).
		if err = fn(db{q: tx, s: s}); err != nil {
			g.tx, g.group = nil, nil
			tx.Rollback()
			close(group.done)
			g.turn.Unlock()
			return err, false
		}
	} else {
		var broken error
		if err, broken = s.member(ctx, db{q: tx, s: s}, fn); broken != nil {
			fail(broken)
			if err != nil {
				return err, false // what made fn fail is what its caller hears
			}
			return care.Internal("store.Transact", broken), false
		}
	}
	if g.waiting.Load() > 0 && g.n < maxGroup {
		g.turn.Unlock() // the next caller joins the group and commits it, or hands it on
		if err != nil {
			return err, false // its savepoint is rolled back: the COMMIT does not matter
		}
		<-group.done
		return group.err, group.err != nil
	}
	g.tx, g.group = nil, nil
	cerr := tx.Commit()
	if cerr != nil {
		group.err = fmt.Errorf("%w: %w", errGroupBroken, cerr)
	} else {
		g.commits.Add(1)
	}
	close(group.done)
	g.turn.Unlock()
	if err != nil {
		return err, false
	}
	return cerr, cerr != nil
}

// member runs fn in a savepoint of tx: released if fn returns nil, rolled
// back to (and released) otherwise. err is fn's; broken, wrapping
// errGroupBroken, says the transaction itself can no longer be used (as
// when a statement's failure made SQLite roll it all back). The
// savepoint's statements run whatever ctx's state: a cancelled request
// must still undo its part.
func (s *Store) member(ctx context.Context, tx db, fn func(tx db) error) (err, broken error) {
	keep := context.WithoutCancel(ctx)
	if _, serr := tx.exec(keep, `SAVEPOINT member`); serr != nil {
		return nil, fmt.Errorf("%w: %w", errGroupBroken, serr)
	}
	if err = fn(tx); err != nil {
		if _, rerr := tx.exec(keep, `ROLLBACK TO member`); rerr != nil {
			return err, fmt.Errorf("%w: %w", errGroupBroken, rerr)
		}
	}
	if _, rerr := tx.exec(keep, `RELEASE member`); rerr != nil {
		return err, fmt.Errorf("%w: %w", errGroupBroken, rerr)
	}
	return err, nil
}
