package demo_test

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"countycare/demo"
	"countycare/internal/testdb"
	"countycare/store"
)

// TestDemoMaternalChild: the demo county carries a year of the maternal
// and child programmes at 1 % births — pregnancies with their visits,
// every child under 7 with the year's checks — and the overdue lists
// have rows.
func TestDemoMaternalChild(t *testing.T) {
	st := testdb.Open(t, store.SQLite, time.Now)
	n := demo.ScaledPregnancies(5000)
	res, err := demo.Generate(context.Background(), st, demo.Config{Residents: 5000, Villages: 20, VillageDoctors: 40, Pregnancies: n},
		slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	var preg, visits, kids, checks, overdue int
	ctx := context.Background()
	for q, dst := range map[string]*int{
		`SELECT COUNT(*) FROM mch_pregnancies`:                            &preg,
		`SELECT COUNT(*) FROM mch_visits`:                                 &visits,
		`SELECT COUNT(*) FROM mch_children`:                               &kids,
		`SELECT COUNT(*) FROM mch_child_checks`:                           &checks,
		`SELECT COUNT(*) FROM mch_children WHERE next_due < CURRENT_DATE`: &overdue,
	} {
		if err := st.QueryRowForTest(ctx, q, dst); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	if n != 50 || preg != n || res.Pregnancies != n || visits < 2*n || kids == 0 || kids != res.Children || checks != res.ChildChecks || checks < kids || overdue == 0 {
		t.Errorf("pregnancies %d (result %d, want %d), visits %d, children %d (result %d), checks %d (result %d), overdue children %d",
			preg, res.Pregnancies, n, visits, kids, res.Children, checks, res.ChildChecks, overdue)
	}
}
