package kpi

import (
	"fmt"
	"strings"
	"testing"

	"countycare/care"
	"countycare/chronic"
)

func TestOf(t *testing.T) {
	share, _ := Lookup("htn_controlled")
	for _, c := range []struct {
		r     Rate
		state State
		bp    int
	}{
		{Rate{0, 0}, NoData, 0}, // no data, never 0 %
		{Rate{0, 10}, OK, 0},
		{Rate{1, 3}, OK, 3333},
		{Rate{2, 3}, OK, 6667},
		{Rate{10, 10}, OK, 10000},
		{Rate{5, 2}, DataError, 0}, // 250 %: impossible for a share, never shown
		{Rate{-1, 3}, DataError, 0},
		{Rate{1, -3}, DataError, 0},
	} {
		v := Of(share, c.r)
		if v.State != c.state || v.BP != c.bp {
			t.Errorf("Of(%v) = %v %d, want %v %d", c.r, v.State, v.BP, c.state, c.bp)
		}
	}
}

// TestCatalogue: every indicator has an id, group, source and the keys
// of its numerator and denominator; ids are unique.
func TestCatalogue(t *testing.T) {
	seen := map[string]bool{}
	for _, in := range Catalogue {
		if in.ID == "" || in.Group == "" || in.Source == "" || !strings.HasPrefix(in.Numerator, "kpi.num.") || !strings.HasPrefix(in.Denominator, "kpi.den.") || seen[in.ID] {
			t.Errorf("indicator %+v", in)
		}
		seen[in.ID] = true
		if _, ok := Lookup(in.ID); !ok {
			t.Errorf("Lookup(%s)", in.ID)
		}
	}
	if _, ok := Lookup("nope"); ok {
		t.Error("Lookup of an unknown indicator")
	}
}

func TestJudge(t *testing.T) {
	up, _ := Lookup("htn_controlled")
	down, _ := Lookup("out_of_county")
	ok := func(bp int) Value { return Value{BP: bp, State: OK} }
	for _, c := range []struct {
		in     Indicator
		v      Value
		target int
		want   Light
	}{
		{up, ok(6000), 6000, LightGreen}, // at the target is on target
		{up, ok(6500), 6000, LightGreen},
		{up, ok(5500), 6000, LightAmber}, // short by the band exactly
		{up, ok(5499), 6000, LightRed},
		{down, ok(1000), 1000, LightGreen},
		{down, ok(800), 1000, LightGreen},
		{down, ok(1500), 1000, LightAmber},
		{down, ok(1501), 1000, LightRed},
		{up, Value{State: NoData}, 6000, LightNone},
		{up, Value{State: DataError}, 6000, LightNone},
	} {
		if got := Judge(c.in, c.v, c.target, 500); got != c.want {
			t.Errorf("Judge(%s, %d, target %d) = %q, want %q", c.in.ID, c.v.BP, c.target, got, c.want)
		}
	}
}

func TestDefaultTargetsLoad(t *testing.T) {
	tg := DefaultTargets()
	if tg.AmberBP != 500 {
		t.Errorf("amber %d", tg.AmberBP)
	}
	for _, in := range Catalogue {
		if in.ID == FundUse {
			continue // judged against the year's pace (ElapsedBP), never a target
		}
		if _, err := tg.Target(in.ID, 2026); err != nil {
			t.Errorf("default target of %s for 2026: %v", in.ID, err)
		}
	}
}

func TestLoadTargets(t *testing.T) {
	good := `{"version": 1, "amber_points": 2.5, "targets": {"htn_controlled": {"2026": 62.25}}}`
	tg, err := LoadTargets(strings.NewReader(good))
	if err != nil {
		t.Fatal(err)
	}
	if bp, err := tg.Target("htn_controlled", 2026); err != nil || bp != 6225 || tg.AmberBP != 250 {
		t.Errorf("target %d %v amber %d", bp, err, tg.AmberBP)
	}
	if _, err := tg.Target("htn_controlled", 2027); !care.IsCode(err, care.ENOTFOUND) {
		t.Errorf("missing year: %v", err)
	}
	if _, err := tg.Target("nope", 2026); !care.IsCode(err, care.EINVALID) {
		t.Errorf("unknown indicator: %v", err)
	}
	for _, c := range []struct{ file, field, key string }{
		{`{"version": 1, "amber_points": 5, "targets": {"htn_control": {"2026": 60}}}`, "targets.htn_control", "kpi.targets.unknown_indicator"},
		{`{"version": 1, "amber_points": 5, "targets": {"htn_controlled": {"26": 60}}}`, "targets.htn_controlled.26", "kpi.targets.year"},
		{`{"version": 1, "amber_points": 5, "targets": {"htn_controlled": {"2026": 250}}}`, "targets.htn_controlled.2026", "kpi.targets.range"},
		{`{"version": 1, "amber_points": 5, "targets": {"htn_controlled": {"2026": -1}}}`, "targets.htn_controlled.2026", "kpi.targets.range"},
		{`{"version": 1, "amber_points": 5, "targets": {"htn_controlled": {"2026": 60.125}}}`, "targets.htn_controlled.2026", "kpi.targets.range"},
		{`{"version": 2, "amber_points": 5, "targets": {}}`, "version", "kpi.targets.version"},
		{`{"version": 1, "targets": {}}`, "amber_points", "kpi.targets.amber_missing"},
		{`{"version": 1, "amber_points": 60, "targets": {}}`, "amber_points", "kpi.targets.amber_range"},
		{`{"version": 1, "amber_points": 5, "targets": {}, "weights": {}}`, "file", "kpi.targets.syntax"},
		{`{"version": 1, "amber_points": 5, "targets": {"settle_fund_use": {"2026": 50}}}`, "targets.settle_fund_use", "kpi.targets.paced"},
		{`{"version": 1, "amber_points": 5, "targets": {"htn_controlled": {"2026": "60"}}}`, "file", "kpi.targets.syntax"},
	} {
		_, err := LoadTargets(strings.NewReader(c.file))
		ce, ok := err.(*care.Error)
		if !ok || ce.Code != care.EINVALID || len(ce.Fields) == 0 || ce.Fields[0].Field != c.field || ce.Fields[0].Key != c.key {
			t.Errorf("%s: %v, want %s %s", c.file, err, c.field, c.key)
		}
	}
}

func TestParsePeriod(t *testing.T) {
	today := care.Date{Year: 2026, Month: 8, Day: 15}
	for _, c := range []struct {
		in       string
		from, to string
		months   int
	}{
		{"2026", "2026-01-01", "2026-08-15", 8},
		{"2025", "2025-01-01", "2025-12-31", 12},
		{"2026-Q2", "2026-04-01", "2026-06-30", 6},
		{"2026-q3", "2026-07-01", "2026-08-15", 8},
		{"2026-02", "2026-02-01", "2026-02-28", 2},
		{"2024-02", "2024-02-01", "2024-02-29", 2},
	} {
		p, err := ParsePeriod(c.in, today)
		if err != nil {
			t.Errorf("%s: %v", c.in, err)
			continue
		}
		if p.From().String() != c.from || p.To(today).String() != c.to || len(p.TrendMonths(today)) != c.months {
			t.Errorf("%s: %s..%s %d months, want %s..%s %d", c.in, p.From(), p.To(today), len(p.TrendMonths(today)), c.from, c.to, c.months)
		}
		tr := p.TrendMonths(today)
		// Cumulative from 1 January to each month's end, the last one the period's end.
		if last := tr[len(tr)-1]; last.To(today) != p.To(today) || tr[0].From().String() != fmt.Sprintf("%d-01-01", p.Year) || tr[0].To(today).Day < 28 {
			t.Errorf("%s: trend %v", c.in, tr)
		}
		if q, _ := ParsePeriod(p.String(), today); q != p {
			t.Errorf("%s round trip: %v", c.in, q)
		}
	}
	for _, in := range []string{"", "26", "2026-13", "2026-00", "2026-Q0", "2026-Q5", "2026-1", "2026-W3", "abcd", "2026-09", "2027", "1999"} {
		if _, err := ParsePeriod(in, today); !care.IsCode(err, care.EINVALID) {
			t.Errorf("ParsePeriod(%q) = %v", in, err)
		}
	}
}

// TestSmallVillageHealthManagement is issue 14's impossible rate: 健康管理率
// showed 160 % and 250 % for small villages (issue 18) because its
// denominator, adults × prevalence, fell below the patients the clinic
// manages (20 adults × 27.9 % = 6 estimated, 15 managed: 250 %). Its cause
// is fixed in chronic (the denominator is at least the managed patients);
// this test runs the dashboard's path on such a village — chronic's Tally,
// then Of — and shows 100 %, and Of refuses the old figure outright.
func TestSmallVillageHealthManagement(t *testing.T) {
	cfg := chronic.DefaultConfig()
	from, to := care.Date{Year: 2026, Month: 1, Day: 1}, care.Date{Year: 2026, Month: 12, Day: 31}
	tl := &chronic.Tally{From: from, To: to, Config: cfg, UnitsOf: func(c int64) []int64 { return []int64{c} }}
	for i := range 15 {
		tl.Add(&chronic.PatientPeriod{RegistrationID: int64(i + 1), Disease: chronic.Hypertension, ClinicID: 5, FaceToFace: 4, LastSBP: 130, LastDBP: 80})
	}
	tl.Estimate(5, 20)
	cell := tl.Result()[chronic.UnitDisease{Unit: 5, Disease: chronic.Hypertension}]
	if cell.Estimated != 6 {
		t.Fatalf("estimate %d, want 6 (20 × 27.9 %%)", cell.Estimated)
	}
	in, _ := Lookup("htn_health_managed")
	v := Of(in, Rate(cell.HealthManaged))
	if v.State != OK || v.BP != 10000 {
		t.Errorf("small village: %v %d bp, want 100 %%", v.State, v.BP)
	}
	if old := Of(in, Rate{Num: 15, Den: 6}); old.State != DataError {
		t.Errorf("15/6 (250 %%) shown as %v %d", old.State, old.BP)
	}
}

// TestCatalogueKeys: each indicator's name, definition and source are the
// message catalogue's kpi.<id>.name, .def and .src (kpi.go; the web's
// catalogue test checks both locales hold them), and only the durations
// and the CMI are not shares.
func TestCatalogueKeys(t *testing.T) {
	for _, in := range Catalogue {
		if in.NameKey() != "kpi."+in.ID+".name" || in.DefKey() != "kpi."+in.ID+".def" || in.SourceKey() != "kpi."+in.ID+".src" {
			t.Errorf("%s: keys %s %s %s", in.ID, in.NameKey(), in.DefKey(), in.SourceKey())
		}
		if in.Share() == (in.InMinutes() || in.InIndex()) {
			t.Errorf("%s (%s): share %v", in.ID, in.Unit, in.Share())
		}
	}
}
