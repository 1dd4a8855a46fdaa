package store

import (
	"context"
	"database/sql"
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
	s, err := Open(ctx, "sqlite://"+filepath.Join(t.TempDir(), "c.db"), Options{AuditKey: []byte("countycare-test-audit-key-32byte")})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for round := 0; round < 2000; round++ {
		s.stmts.Range(func(k, v any) bool { v.(*sql.Stmt).Close(); s.stmts.Delete(k); return true })
		s.stmtCount.Store(0)
		s.maxStmts = 1
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
		s.stmts.Range(func(_, _ any) bool { n++; return true })
		if c := s.stmtCount.Load(); c != n || n > s.maxStmts {
			t.Fatalf("round %d: counter %d, entries %d, bound %d", round, c, n, s.maxStmts)
		}
	}
}
