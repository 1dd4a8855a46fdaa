package kpi

import (
	"fmt"
	"strings"
	"testing"
	"time"

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

// TestBoundaryFileLimit pins the bound of the boundary file
// (MaxBoundaryBytes, boundaries.go: "a county's villages at survey detail
// are a few MB", issue 14 §1's boundary file), with a limit of 4 KB so the
// test reads no 32 MB: a file of exactly the limit loads, one byte more is
// refused as too large.
func TestBoundaryFileLimit(t *testing.T) {
	const limit = 4096
	feature := `{"type":"FeatureCollection","features":[{"properties":{"adcode":"411723100"},"geometry":{"type":"Polygon","coordinates":[[[114,33],[114.1,33],[114,33.1],[114,33]]]}}]`
	sized := func(n int) string { return feature + strings.Repeat(" ", n-len(feature)-1) + "}" }
	b, err := loadBoundaries(strings.NewReader(sized(limit)), limit)
	if err != nil || !b.Has("411723100") {
		t.Errorf("a file of exactly %d bytes: %v", limit, err)
	}
	if _, err := loadBoundaries(strings.NewReader(sized(limit+1)), limit); err == nil || !strings.Contains(err.Error(), "larger than 4096 bytes") {
		t.Errorf("a file one byte over: %v", err)
	}
	if MaxBoundaryBytes != 32<<20 {
		t.Errorf("the boundary file's limit is %d bytes, want 32 MB", MaxBoundaryBytes)
	}
}

// TestBoundaryCodes: an area code given as a number is read with every
// digit (统计用区划代码: 9 digits a township, 12 a village) and a number
// that is no such code — zero, negative, a fraction, 16 digits — is
// refused naming it as given.
func TestBoundaryCodes(t *testing.T) {
	file := func(code string) string {
		return `{"type":"FeatureCollection","features":[{"properties":{"adcode":` + code + `},"geometry":{"type":"Polygon","coordinates":[[[114,33],[114.1,33],[114,33.1],[114,33]]]}}]}`
	}
	for _, ok := range []string{"411723100", "411723100201", "100000000", "999999999999"} {
		if b, err := LoadBoundaries(strings.NewReader(file(ok))); err != nil || !b.Has(ok) {
			t.Errorf("adcode %s: %v", ok, err)
		}
	}
	for in, named := range map[string]string{"0": `"0"`, "-411723100": `"-411723100"`, "411723100.5": `"411723100.5"`,
		"1e15": `"1000000000000000"`, "99999999": `"99999999"`, "1000000000000": `"1000000000000"`} {
		if _, err := LoadBoundaries(strings.NewReader(file(in))); err == nil || !strings.Contains(err.Error(), "not "+named) {
			t.Errorf("adcode %s: %v, want it refused as %s", in, err, named)
		}
	}
}

// TestBoundaryMapTall: the map's longer side is 1000 units (boundaries.go,
// Map) — a county taller than wide fits its height: 0.1° of longitude at
// 33.15° N is 0.1·cos(33.15°) = 0.0837 units of latitude against 0.3 of
// latitude, so 1000 high and 0.0837/0.3·1000 = 279.1 → 280 wide.
func TestBoundaryMapTall(t *testing.T) {
	f := `{"type":"FeatureCollection","features":[{"properties":{"adcode":"411723100"},"geometry":{"type":"Polygon","coordinates":[[[114.0,33.0],[114.1,33.0],[114.1,33.3],[114.0,33.3],[114.0,33.0]]]}}]}`
	b, err := LoadBoundaries(strings.NewReader(f))
	if err != nil {
		t.Fatal(err)
	}
	vb, shapes := b.Map([]string{"411723100"})
	if vb != "0 0 280 1000" || len(shapes) != 1 || shapes[0].D != "M0.0 1000.0L279.1 1000.0L279.1 0.0L0.0 0.0L0.0 1000.0Z" {
		t.Errorf("tall map %q %+v", vb, shapes)
	}
}

// TestCacheRefreshReplaces: a stale period is served while one computation
// in the background replaces it (docs/dashboard.md, stale while
// revalidate); once replaced, the period is fresh again, so the next view
// computes nothing.
func TestCacheRefreshReplaces(t *testing.T) {
	s, f, now, view := cacheViewer(t)
	view()
	*now = now.Add(s.CacheTTL + time.Second)
	view() // stale: served, recomputed in the background
	for i := 0; i < 500; i++ {
		s.mu.Lock()
		busy := len(s.refreshing) > 0
		s.mu.Unlock()
		if !busy && f.calls.Load() == 2 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	view()
	time.Sleep(50 * time.Millisecond)
	if n := f.calls.Load(); n != 2 {
		t.Errorf("after the background refresh a view started another computation: %d in all, want 2", n)
	}
}
