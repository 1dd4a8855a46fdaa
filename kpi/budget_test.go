package kpi

import (
	"context"
	"strings"
	"testing"
	"time"

	"countycare/care"
	"countycare/org"
)

func budgetTree() *org.Tree {
	return org.NewTree([]org.Institution{
		{ID: 1, Kind: org.KindCounty, CountyCode: "411723", Name: "县"},
		{ID: 2, ParentID: 1, Kind: org.KindCommunity, CountyCode: "411723", Name: "东医共体", Code: "MB-EAST"},
		{ID: 3, ParentID: 1, Kind: org.KindCommunity, CountyCode: "411723", Name: "西医共体", Code: "MB-WEST"},
		{ID: 4, ParentID: 2, Kind: org.KindTownshipHC, CountyCode: "411723", Name: "甲乡", Code: "TS-A"},
	})
}

// TestLoadBudgets: the communities' global budgets (医保总额预算) are
// configuration in fen per community and year; every fault is refused and
// named with its field — an unknown community (a code that is no medical
// community of the county, a township's included), a missing year (one
// community has it, another not: the county's figure would be a partial
// sum), an amount that is not positive fen, a year that is not one,
// another version, unknown fields, malformed JSON.
func TestLoadBudgets(t *testing.T) {
	ok := `{"version": 1, "budgets": {"MB-EAST": {"2026": 125000000000, "2027": 130000000000}, "MB-WEST": {"2026": 98000000000, "2027": 99000000000}}}`
	b, err := LoadBudgets(strings.NewReader(ok), budgetTree())
	if err != nil {
		t.Fatal(err)
	}
	if fen, ok := b.Budget("MB-WEST", 2027); !ok || fen != 99000000000 {
		t.Errorf("MB-WEST 2027: %d %v", fen, ok)
	}
	if _, ok := b.Budget("MB-WEST", 2028); ok {
		t.Error("a year the file does not set has a budget")
	}
	if _, ok := (*Budgets)(nil).Budget("MB-WEST", 2026); ok {
		t.Error("no budgets file gives a budget")
	}
	for _, tc := range []struct{ name, file, field, key string }{
		{"syntax", `{"version": 1, "budgets": {`, "file", "kpi.budgets.syntax"},
		{"unknown field", `{"version": 1, "budget": {}}`, "file", "kpi.budgets.syntax"},
		{"version", `{"version": 2, "budgets": {}}`, "version", "kpi.budgets.version"},
		{"unknown community", `{"version": 1, "budgets": {"MB-NORTH": {"2026": 1}}}`, "budgets.MB-NORTH", "kpi.budgets.unknown_community"},
		{"a township is no community", `{"version": 1, "budgets": {"TS-A": {"2026": 1}}}`, "budgets.TS-A", "kpi.budgets.unknown_community"},
		{"missing year", `{"version": 1, "budgets": {"MB-EAST": {"2026": 5, "2027": 6}, "MB-WEST": {"2026": 5}}}`, "budgets.MB-WEST.2027", "kpi.budgets.missing_year"},
		{"zero", `{"version": 1, "budgets": {"MB-EAST": {"2026": 0}}}`, "budgets.MB-EAST.2026", "kpi.budgets.amount"},
		{"negative", `{"version": 1, "budgets": {"MB-EAST": {"2026": -5}}}`, "budgets.MB-EAST.2026", "kpi.budgets.amount"},
		{"yuan with decimals", `{"version": 1, "budgets": {"MB-EAST": {"2026": 12.5}}}`, "file", "kpi.budgets.syntax"},
		{"year", `{"version": 1, "budgets": {"MB-EAST": {"26": 5}}}`, "budgets.MB-EAST.26", "kpi.targets.year"},
	} {
		_, err := LoadBudgets(strings.NewReader(tc.file), budgetTree())
		if care.ErrorCode(err) != care.EINVALID || !hasField(err, tc.field, tc.key) {
			t.Errorf("%s: %v, want %s on %s", tc.name, err, tc.key, tc.field)
		}
	}
}

func hasField(err error, field, key string) bool {
	ce, ok := err.(*care.Error)
	if !ok {
		return false
	}
	for _, f := range ce.Fields {
		if f.Field == field && f.Key == key {
			return true
		}
	}
	return false
}

// TestElapsedBP: the pace is the days of the year elapsed by the end of
// the day over the days of the year (a leap year has 366).
func TestElapsedBP(t *testing.T) {
	for _, tc := range []struct {
		day  care.Date
		want int
	}{
		{care.Date{Year: 2026, Month: 1, Day: 1}, 27},      // 1/365
		{care.Date{Year: 2026, Month: 6, Day: 30}, 4959},   // 181/365
		{care.Date{Year: 2026, Month: 12, Day: 31}, 10000}, // 365/365
		{care.Date{Year: 2028, Month: 2, Day: 29}, 1639},   // 60/366
		{care.Date{Year: 2028, Month: 12, Day: 31}, 10000},
	} {
		if got := ElapsedBP(tc.day); got != tc.want {
			t.Errorf("%s: %d bp, want %d", tc.day, got, tc.want)
		}
	}
}

// TestBoardFundUse: a medical community's fund use is the basic fund paid
// for the visits its institutions settled (its village and its county
// hospital) from January 1 to the period's end, over its budget for the
// year; judged against the share of the year elapsed — 54 % used by June
// 30 (49.59 % of the year) is 4.41 points ahead: amber within the 5-point
// band; the county sums its communities; a township has no figure of its
// own; without a budget for the year there is no figure and no light.
func TestBoardFundUse(t *testing.T) {
	now := time.Date(2026, 8, 15, 4, 0, 0, 0, time.UTC)
	s, _, _ := newTestService(&now)
	var from, to care.Date
	s.Settle = fakeSettle{&from, &to}
	b, err := LoadBudgets(strings.NewReader(`{"version": 1, "budgets": {"12411723MB0001": {"2026": 100000}}}`), testTree())
	if err != nil {
		t.Fatal(err)
	}
	s.Budgets = b
	ctx := context.Background()
	analyst := care.Actor{AccountID: 1, Role: care.RoleAnalyst, CountyCode: "411723"}
	june := Period{Kind: Month, Year: 2026, N: 6}
	for unit, want := range map[int64]Rate{0: {54000, 100000}, 2: {54000, 100000}, 3: {}, 5: {}} {
		bd, err := s.Board(ctx, analyst, unit, june)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range bd.Rows {
			if r.Indicator.ID != "settle_fund_use" {
				continue
			}
			if r.Value.Rate != want {
				t.Errorf("unit %d: fund use %v, want %v", unit, r.Value.Rate, want)
			}
			if unit <= 2 && (r.TargetBP != 4959 || !r.HasTarget || r.Light != LightAmber || !r.Value.Money) {
				t.Errorf("unit %d: %+v, want 54 %% against the pace 49.59 %%, amber, money", unit, r)
			}
			if unit > 2 && (r.Value.State != NoData || r.Light != LightNone) {
				t.Errorf("unit %d below the community: %+v, want no data", unit, r)
			}
		}
	}
	if from.String() != "2026-01-01" || to.String() != "2026-06-30" {
		t.Errorf("fund use read the settlements of %s..%s, want the year to the period's end", from, to)
	}
	// Overspending is a figure, not a data error: above 100 % it is red.
	s.Budgets, _ = LoadBudgets(strings.NewReader(`{"version": 1, "budgets": {"12411723MB0001": {"2026": 50000}}}`), testTree())
	s.Invalidate()
	bd, _ := s.Board(ctx, analyst, 2, june)
	for _, r := range bd.Rows {
		if r.Indicator.ID == "settle_fund_use" && (r.Value.State != OK || r.Value.BP != 10800 || r.Light != LightRed) {
			t.Errorf("over budget: %+v", r)
		}
	}
	// No budget for the year: no figure, no light.
	s.Budgets, _ = LoadBudgets(strings.NewReader(`{"version": 1, "budgets": {"12411723MB0001": {"2025": 50000}}}`), testTree())
	s.Invalidate()
	bd, _ = s.Board(ctx, analyst, 0, june)
	for _, r := range bd.Rows {
		if r.Indicator.ID == "settle_fund_use" && (r.Value.State != NoData || r.Light != LightNone) {
			t.Errorf("no budget for 2026: %+v", r)
		}
	}
}
