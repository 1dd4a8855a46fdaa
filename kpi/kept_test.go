package kpi

import (
	"context"
	"fmt"
	"testing"
	"time"

	"countycare/care"
)

type memKept struct{ rows map[string]*Kept }

func (m *memKept) SaveKept(_ context.Context, county string, k *Kept) error {
	if m.rows == nil {
		m.rows = map[string]*Kept{}
	}
	m.rows[county+"|"+k.Period] = k
	return nil
}

func (m *memKept) LoadKept(_ context.Context, county, period string) (*Kept, bool, error) {
	k, ok := m.rows[county+"|"+period]
	return k, ok, nil
}

func (m *memKept) KeptPeriods(_ context.Context, county string) (map[string]time.Time, error) {
	out := map[string]time.Time{}
	for _, k := range m.rows {
		out[k.Period] = k.ComputedAt
	}
	return out, nil
}

// TestKeptDue: the duty keeps the periods a viewer can pick and the trend
// points of this year and last; those in progress every run, those ended
// within RestateDays again, the others once.
func TestKeptDue(t *testing.T) {
	today := care.Date{Year: 2026, Month: 3, Day: 5}
	all := KeptDue(today, nil)
	// 2026, its trend to Jan and Feb (March to date is the year itself),
	// 2025 and its 11 trend points before December, Q1, January–March.
	if len(all) != 1+2+1+11+1+3 {
		t.Fatalf("%d periods: %v", len(all), all)
	}
	kept := map[string]time.Time{}
	for _, p := range all {
		kept[p.String()] = time.Now()
	}
	// 5 March: in progress 2026, 2026-Q1, 2026-03; February ended 5 days ago
	// (restated: 2026-02 and the trend point to February).
	if got := fmt.Sprint(KeptDue(today, kept)); got != "[2026 2026-01..02 2026-Q1 2026-02 2026-03]" {
		t.Errorf("all kept on 5 March: %s", got)
	}
	if got := fmt.Sprint(KeptDue(care.Date{Year: 2026, Month: 3, Day: 8}, kept)); got != "[2026 2026-Q1 2026-03]" {
		t.Errorf("all kept on 8 March: %s", got)
	}
}

// TestKeptServesEveryScope: the dashboards the duty keeps (computed as the
// county's analysts) give every viewer the figures computing for their own
// scope gives — a township's staff included — and a kept period is read,
// not computed.
func TestKeptServesEveryScope(t *testing.T) {
	now := time.Date(2026, 8, 15, 4, 0, 0, 0, time.UTC)
	live, _, _ := newTestService(&now)
	s, f, _ := newTestService(&now)
	s.Kept = &memKept{}
	ctx := context.Background()
	n, err := s.Keep(ctx, care.Actor{Username: "serve:dashboard-figures", CountyCode: "411723"}, care.Today(now))
	if err != nil || n != len(KeptDue(care.Today(now), nil)) {
		t.Fatalf("kept %d periods: %v", n, err)
	}
	computed := f.calls.Load()
	p := YearOf(care.Today(now))
	for _, a := range []care.Actor{
		{AccountID: 1, Role: care.RoleAnalyst, CountyCode: "411723"},
		{AccountID: 2, Role: care.RoleTownshipDoctor, InstitutionID: 3, CountyCode: "411723"},
		{AccountID: 3, Role: care.RoleTownshipDoctor, InstitutionID: 4, CountyCode: "411723"},
	} {
		for _, unit := range []int64{0, 5, 6} {
			want, werr := live.Board(ctx, a, unit, p)
			got, gerr := s.Board(ctx, a, unit, p)
			if (werr == nil) != (gerr == nil) {
				t.Fatalf("%s unit %d: %v vs %v", a.Role, unit, werr, gerr)
			}
			if werr != nil {
				continue
			}
			if fmt.Sprint(got.Rows) != fmt.Sprint(want.Rows) || len(got.Children) != len(want.Children) {
				t.Errorf("%s@%d unit %d: kept rows\n%v\nwant\n%v", a.Role, a.InstitutionID, unit, got.Rows, want.Rows)
			}
		}
	}
	if f.calls.Load() != computed {
		t.Errorf("a kept period was computed for a view: %d computations after keeping, want %d", f.calls.Load(), computed)
	}
	if _, err := (&Service{Orgs: f}).Keep(ctx, care.Actor{CountyCode: "411723"}, care.Today(now)); !care.IsCode(err, care.EINTERNAL) {
		t.Errorf("keep without a store: %v", err)
	}
}
