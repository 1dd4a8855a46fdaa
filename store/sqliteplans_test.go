package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"path/filepath"
	"testing"
)

// TestSQLiteStablePlans: every connection of the SQLite store's three
// pools (the writer, the readers, the exports) has the query planner
// stability guarantee on, so that a cached prepared statement is not
// compiled again after each new binding when sqlite_stat4 holds samples
// (9 % of the server's CPU in the county-year replay); and a query still
// runs after ANALYZE has written them.
func TestSQLiteStablePlans(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, "sqlite://"+filepath.Join(t.TempDir(), "c.db"), Options{AuditKey: []byte("countycare-test-audit-key-32byte")})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.ExecForTest(ctx, `CREATE TABLE plan_test (id INTEGER PRIMARY KEY, county_code TEXT NOT NULL, v INTEGER NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	if err := s.ExecForTest(ctx, `CREATE INDEX plan_test_county ON plan_test(county_code, v)`); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 200; i++ {
		if _, err := s.w.ExecContext(ctx, `INSERT INTO plan_test (county_code, v) VALUES (?, ?)`, []string{"411723", "411724"}[min(i%10, 1)], i); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.ExecForTest(ctx, `ANALYZE`); err != nil {
		t.Fatal(err)
	}
	for name, pool := range map[string]*sql.DB{"writer": s.w, "readers": s.r, "exports": s.x} {
		c, err := pool.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var on bool
		err = c.Raw(func(dc any) error {
			var err error
			on, err = sqliteQPSG(dc.(driver.Conn), -1)
			return err
		})
		c.Close()
		if err != nil || !on {
			t.Errorf("%s: query planner stability guarantee on = %v (%v), want on", name, on, err)
		}
	}
	var samples, n int
	if err := s.r.QueryRowContext(ctx, `SELECT COUNT(*) FROM sqlite_stat4 WHERE tbl = 'plan_test'`).Scan(&samples); err != nil || samples == 0 {
		t.Fatalf("no sqlite_stat4 samples after ANALYZE (%d, %v): the guarantee is tested on nothing", samples, err)
	}
	for _, c := range []string{"411723", "411724", "411723"} {
		if err := s.read().row(ctx, `SELECT COUNT(*) FROM plan_test WHERE county_code = ? AND v >= ?`, c, 0).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if want := map[string]int{"411723": 20, "411724": 180}[c]; n != want {
			t.Errorf("county %s: %d rows, want %d", c, n, want)
		}
	}
}
