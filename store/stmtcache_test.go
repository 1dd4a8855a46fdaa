package store

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
)

// TestStatementCacheBound: under parallel use with more query texts than
// the cache holds, the counter matches the entries, the bound holds, and
// no query runs on a statement closed under it (code review: an entry
// stored over the bound was deleted, counted down and closed, while other
// goroutines could already have loaded it: "sql: statement is closed").
// The race is narrow, hence the rounds.
func TestStatementCacheBound(t *testing.T) {
	ctx := context.Background()
	s := sqliteTestStore(t)
	for round := 0; round < 2000; round++ {
		s.stmts.m.Range(func(k, v any) bool { v.(*sql.Stmt).Close(); s.stmts.m.Delete(k); return true })
		s.stmts.count.Store(0)
		s.stmts.max = 1
		const texts, workers = 3, 32
		var wg sync.WaitGroup
		errs := make(chan error, workers*texts*4)
		for w := 0; w < workers; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; i < texts*4; i++ {
					k := (w + i) % texts
					var got int
					if err := s.read().row(ctx, `SELECT `+strconv.Itoa(k)+` AS n`).Scan(&got); err != nil || got != k {
						errs <- err
					}
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatalf("round %d: query failed: %v", round, err)
		}
		n := int64(0)
		s.stmts.m.Range(func(_, _ any) bool { n++; return true })
		if c := s.stmts.count.Load(); c != n || n > s.stmts.max {
			t.Fatalf("round %d: counter %d, entries %d, bound %d", round, c, n, s.stmts.max)
		}
	}
}

// TestWriterStatementCache: a statement an SQLite transaction runs is
// prepared on the writer before the next transaction begins and then
// runs prepared, bound to that transaction: its writes are the
// transaction's (gone with a rollback, kept by a commit), a row is read
// back inside it, and the cache stays within its bound.
func TestWriterStatementCache(t *testing.T) {
	ctx := context.Background()
	s := sqliteTestStore(t)
	if _, err := s.w.ExecContext(ctx, `CREATE TABLE t (id INTEGER PRIMARY KEY, n INTEGER NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	const ins, sum = `INSERT INTO t (n) VALUES (?)`, `SELECT COALESCE(SUM(n), 0) FROM t`
	write := func(n int, fail bool) (inTx int) {
		t.Helper()
		err := s.Transact(ctx, func(tx db) error {
			if _, err := tx.exec(ctx, ins, n); err != nil {
				return err
			}
			if err := tx.row(ctx, sum).Scan(&inTx); err != nil {
				return err
			}
			if fail {
				return errors.New("roll back")
			}
			return nil
		})
		if (err != nil) != fail {
			t.Fatalf("write %d: %v", n, err)
		}
		return inTx
	}
	if got := write(1, false); got != 1 {
		t.Fatalf("first transaction read %d, want 1", got)
	}
	if s.wstmts.get(ins) != nil {
		t.Fatal("prepared while the transaction held the writer")
	}
	if got := write(10, true); got != 11 {
		t.Fatalf("rolled-back transaction read %d, want 11", got)
	}
	if s.wstmts.get(ins) == nil || s.wstmts.get(sum) == nil {
		t.Fatal("the first transaction's statements were not prepared on the writer")
	}
	if got := write(100, false); got != 101 {
		t.Fatalf("third transaction read %d, want 101 (the rolled-back 10 gone)", got)
	}
	var n int
	if err := s.read().row(ctx, sum).Scan(&n); err != nil || n != 101 {
		t.Fatalf("after commit: %d, %v; want 101", n, err)
	}

	// Past the bound, texts run unprepared and nothing more is queued.
	s.wstmts.max = s.wstmts.count.Load()
	if err := s.Transact(ctx, func(tx db) error {
		_, err := tx.exec(ctx, `UPDATE t SET n = n WHERE id = ?`, 1)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	queued := 0
	s.wanted.Range(func(_, _ any) bool { queued++; return true })
	if queued != 0 || s.wstmts.count.Load() != s.wstmts.max {
		t.Fatalf("over the bound: %d queued, %d cached (bound %d)", queued, s.wstmts.count.Load(), s.wstmts.max)
	}
}

// sqliteTestStore opens a new SQLite store, closed when the test ends.
func sqliteTestStore(t *testing.T) *Store {
	t.Helper()
	s, err := Open(context.Background(), "sqlite://"+filepath.Join(t.TempDir(), "c.db"), Options{AuditKey: []byte("countycare-test-audit-key-32byte")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}
