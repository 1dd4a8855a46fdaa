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

// TestDemoSpecimens: the demo county carries the seeds' yearly specimens
// scaled to its residents, each with its steps, and a county-lab sign-in.
func TestDemoSpecimens(t *testing.T) {
	st := testdb.Open(t, store.SQLite, time.Now)
	n := demo.ScaledSpecimens(5000)
	res, err := demo.Generate(context.Background(), st, demo.Config{Residents: 5000, Villages: 20, VillageDoctors: 40, Specimens: n}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	var rows, events int
	st.QueryForTest(context.Background(), `SELECT COUNT(*) FROM specimens`, &rows)
	st.QueryForTest(context.Background(), `SELECT COUNT(*) FROM specimen_events`, &events)
	if n != 53 || res.Specimens != n || rows != n || events < 5*n || res.LabLogin == nil {
		t.Errorf("specimens %d (result %d, rows %d, events %d, lab sign-in %v), want %d", n, res.Specimens, rows, events, res.LabLogin, 53)
	}
}
