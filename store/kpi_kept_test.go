package store_test

import (
	"context"
	"testing"
	"time"

	"countycare/care"
	"countycare/internal/testdb"
	"countycare/kpi"
	"countycare/store"
)

// TestKeptDashboards: a kept dashboard round-trips on both databases (every
// unit's numerators and denominators), a second save of a period replaces
// the first, and a period never kept is reported as such.
func TestKeptDashboards(t *testing.T) {
	testdb.Each(t, func(t *testing.T, d store.Dialect) {
		f := newFixture(t, d)
		ctx := context.Background()
		at := time.Date(2026, 12, 7, 2, 0, 0, 0, time.UTC)
		k := &kpi.Kept{Period: "2026-11", From: care.Date{Year: 2026, Month: 11, Day: 1}, To: care.Date{Year: 2026, Month: 11, Day: 30},
			Values: map[int64]map[string]kpi.Rate{1: {"htn_controlled": {Num: 30, Den: 50}}, 5: {"family_coverage": {Num: 40, Den: 100}}}, ComputedAt: at}
		if err := f.st.SaveKept(ctx, "411723", k); err != nil {
			t.Fatal(err)
		}
		k.Values[1]["htn_controlled"] = kpi.Rate{Num: 31, Den: 50}
		k.ComputedAt = at.Add(time.Hour)
		if err := f.st.SaveKept(ctx, "411723", k); err != nil {
			t.Fatal(err)
		}
		got, ok, err := f.st.LoadKept(ctx, "411723", "2026-11")
		if err != nil || !ok || got.From != k.From || got.To != k.To || !got.ComputedAt.Equal(at.Add(time.Hour)) ||
			got.Values[1]["htn_controlled"] != (kpi.Rate{Num: 31, Den: 50}) || got.Values[5]["family_coverage"] != (kpi.Rate{Num: 40, Den: 100}) {
			t.Errorf("loaded %+v %v %v", got, ok, err)
		}
		if _, ok, err := f.st.LoadKept(ctx, "411723", "2026-10"); ok || err != nil {
			t.Errorf("a period never kept: %v %v", ok, err)
		}
		if _, ok, _ := f.st.LoadKept(ctx, "411724", "2026-11"); ok {
			t.Error("another county's period")
		}
		ps, err := f.st.KeptPeriods(ctx, "411723")
		if err != nil || len(ps) != 1 || !ps["2026-11"].Equal(at.Add(time.Hour)) {
			t.Errorf("periods %v %v", ps, err)
		}
	})
}
