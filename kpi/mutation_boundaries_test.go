package kpi

import (
	"fmt"
	"strings"
	"testing"

	"countycare/care"
)

// TestTargetBounds pins the bounds of the targets file (docs/dashboard.md,
// "Targets and the traffic light"): a year from 2000 to 2100, a target
// from 0 to 100 % with at most two decimals, an amber band from 0 to 50
// points — each bound itself accepted, one step beyond refused.
func TestTargetBounds(t *testing.T) {
	file := func(amber, year, target string) string {
		return fmt.Sprintf(`{"version": 1, "amber_points": %s, "targets": {"htn_controlled": {%q: %s}}}`, amber, year, target)
	}
	for _, c := range []struct {
		file  string
		field string // "" when accepted
		bp    int
	}{
		{file("5", "2000", "60"), "", 6000},
		{file("5", "2100", "60"), "", 6000},
		{file("5", "1999", "60"), "targets.htn_controlled.1999", 0},
		{file("5", "2101", "60"), "targets.htn_controlled.2101", 0},
		{file("5", "2026", "100"), "", 10000},
		{file("5", "2026", "0"), "", 0},
		{file("5", "2026", "100.01"), "targets.htn_controlled.2026", 0},
		{file("5", "2026", "-0.01"), "targets.htn_controlled.2026", 0},
		{file("5", "2026", "0.01"), "", 1},
		{file("50", "2026", "60"), "", 6000},
		{file("0", "2026", "60"), "", 6000},
		{file("50.01", "2026", "60"), "amber_points", 0},
		{file("-1", "2026", "60"), "amber_points", 0},
		{file("2.555", "2026", "60"), "amber_points", 0},
	} {
		tg, err := LoadTargets(strings.NewReader(c.file))
		if c.field == "" {
			if err != nil {
				t.Errorf("%s: %v", c.file, err)
				continue
			}
			year := 2026
			for _, y := range []int{2000, 2100} {
				if strings.Contains(c.file, fmt.Sprintf("%q", fmt.Sprint(y))) {
					year = y
				}
			}
			if bp, err := tg.Target("htn_controlled", year); err != nil || bp != c.bp {
				t.Errorf("%s: target %d %v, want %d", c.file, bp, err, c.bp)
			}
			continue
		}
		ce, ok := err.(*care.Error)
		if !ok || len(ce.Fields) != 1 || ce.Fields[0].Field != c.field {
			t.Errorf("%s: %v, want one fault on %s", c.file, err, c.field)
		}
	}
	if tg, err := LoadTargets(strings.NewReader(file("50", "2026", "60"))); err != nil || tg.AmberBP != 5000 {
		t.Errorf("amber 50 points: %v", err)
	}
}

// TestPeriodBounds pins ParsePeriod's bounds: years from 2000, quarters 1–4,
// months 01–12, and a period that starts today is not in the future; the
// end of a period is clipped to today, not past it.
func TestPeriodBounds(t *testing.T) {
	today := care.Date{Year: 2026, Month: 8, Day: 1}
	for in, want := range map[string]string{
		"2000": "2000-01-01..2000-12-31", "2025-Q1": "2025-01-01..2025-03-31", "2025-Q4": "2025-10-01..2025-12-31",
		"2025-01": "2025-01-01..2025-01-31", "2025-12": "2025-12-01..2025-12-31",
		"2026-08": "2026-08-01..2026-08-01", "2026-Q3": "2026-07-01..2026-08-01", "2026-07": "2026-07-01..2026-07-31",
	} {
		p, err := ParsePeriod(in, today)
		if err != nil {
			t.Errorf("%s: %v", in, err)
			continue
		}
		if got := p.From().String() + ".." + p.To(today).String(); got != want {
			t.Errorf("%s: %s, want %s", in, got, want)
		}
	}
	for in, key := range map[string]string{"1999": "kpi.period.format", "2026-09": "kpi.period.future", "2027": "kpi.period.future", "2026-Q4": "kpi.period.future", "2026-": "kpi.period.format", "2026-Q": "kpi.period.format", "20266": "kpi.period.format"} {
		_, err := ParsePeriod(in, today)
		ce, ok := err.(*care.Error)
		if !ok || ce.Code != care.EINVALID || len(ce.Fields) != 1 || ce.Fields[0].Key != key {
			t.Errorf("ParsePeriod(%q) = %v, want %s", in, err, key)
		}
	}
	// A month that ends today is the whole month; one that ended yesterday too.
	if p := (Period{Kind: Month, Year: 2026, N: 7}); p.To(care.Date{Year: 2026, Month: 7, Day: 31}).String() != "2026-07-31" {
		t.Errorf("July to 31 July: %s", p.To(care.Date{Year: 2026, Month: 7, Day: 31}))
	}
	if got := (Period{Kind: ToMonth, Year: 2026, N: 3}).String(); got != "2026-01..03" {
		t.Errorf("to March: %s", got)
	}
}
