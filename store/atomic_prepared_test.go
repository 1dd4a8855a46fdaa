package store

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"testing"
)

// TestAtomicPreparedStatements: on SQLite an Atomic transaction's Exec
// and QueryRow texts (a FHIR bundle's) are prepared on the writer before
// the next transaction begins (txPrepared, prepareWanted), and the later
// transactions run them from those statements — still one transaction:
// a refusal rolls back what the prepared statements wrote.
func TestAtomicPreparedStatements(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, "sqlite://"+filepath.Join(t.TempDir(), "c.db"), Options{AuditKey: []byte("countycare-test-audit-key-32byte")})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.ExecForTest(ctx, `CREATE TABLE prep_test (id INTEGER PRIMARY KEY, v TEXT NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	const ins, count = `INSERT INTO prep_test (v) VALUES (?)`, `SELECT COUNT(*) FROM prep_test WHERE v = ?`
	refused := errors.New("refused")
	write := func(v string, fail bool) (int, error) {
		n := 0
		err := s.Atomic(ctx, func(ctx context.Context) error {
			for i := 0; i < 3; i++ {
				if _, err := s.read().exec(ctx, ins, v); err != nil {
					return err
				}
			}
			if err := s.read().row(ctx, count, v).Scan(&n); err != nil {
				return err
			}
			if fail {
				return refused
			}
			return nil
		})
		return n, err
	}
	if n, err := write("a", false); err != nil || n != 3 {
		t.Fatalf("first transaction: %d rows seen, %v", n, err)
	}
	if n, err := write("b", true); !errors.Is(err, refused) || n != 3 {
		t.Fatalf("refused transaction: %d rows seen inside, %v", n, err)
	}
	for _, q := range []string{ins, count} {
		if s.wstmts.get(q) == nil {
			t.Errorf("%q not prepared after the first transaction", q)
		}
	}
	before := []*sql.Stmt{s.wstmts.get(ins), s.wstmts.get(count)}
	if n, err := write("c", false); err != nil || n != 3 {
		t.Fatalf("third transaction: %d rows seen, %v", n, err)
	}
	var b, all int
	s.QueryRowForTest(ctx, `SELECT COUNT(*) FROM prep_test WHERE v = 'b'`, &b)
	s.QueryRowForTest(ctx, `SELECT COUNT(*) FROM prep_test`, &all)
	if b != 0 || all != 6 {
		t.Errorf("after a refused transaction: %d of its rows kept, %d rows in all (want 0, 6)", b, all)
	}
	if s.wstmts.get(ins) != before[0] || s.wstmts.get(count) != before[1] {
		t.Error("the bundle's statements were prepared again")
	}
}
