package demo_test

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"countycare/care"
	"countycare/demo"
	"countycare/internal/testdb"
	"countycare/store"
)

// TestDemoPolicyYears: the demo county carries an insurance policy for last
// year as well as this one, from the same configuration, so that a
// settlement dated in the past twelve months (the replayed county-year of
// issue 15 §3 starts 364 days back) finds the policy of its day.
func TestDemoPolicyYears(t *testing.T) {
	testdb.Each(t, func(t *testing.T, d store.Dialect) {
		ctx := context.Background()
		st := testdb.Open(t, d, time.Now)
		if _, err := demo.Generate(ctx, st, demo.Config{Residents: 2000, Villages: 4, VillageDoctors: 8, CountyCode: "411723"}, slog.New(slog.NewTextHandler(io.Discard, nil))); err != nil {
			t.Fatal(err)
		}
		today := care.Today(time.Now())
		for _, day := range []care.Date{today, today.AddDays(-364)} {
			sp, err := st.PolicyFor(ctx, "411723", day)
			if err != nil {
				t.Fatalf("policy for %s: %v", day, err)
			}
			if sp.Year != day.Year || sp.From.After(day) || sp.To.Before(day) {
				t.Errorf("policy for %s: year %d, %s–%s", day, sp.Year, sp.From, sp.To)
			}
		}
		ps, err := st.Policies(ctx, "411723")
		if err != nil {
			t.Fatal(err)
		}
		if len(ps) != 2 || ps[0].Policy == nil || ps[1].Policy == nil || ps[0].Policy.Basic.Inpatient.Levels["village"].Deductible != ps[1].Policy.Basic.Inpatient.Levels["village"].Deductible {
			t.Errorf("policies %+v: want last year's and this year's, with the same money parameters", ps)
		}
	})
}
