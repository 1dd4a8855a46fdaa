package chronic

// Tests of the pure helpers behind recompute, reminders and reports, added
// for mutation testing (issue 18 §6): RecomputeTier re-applies the spec's
// classification visit by visit (docs/chronic.md, `countycare chronic
// recompute`), CheckPeriod bounds an indicator period (MaxReportDays,
// about five years), unitsOf/depthOf place a village's patients in the
// village → township → community → county units of policy-rules.md §1.

import (
	"strings"
	"testing"

	"countycare/care"
	"countycare/org"
)

// TestRecomputeTierReappliesTheRules: each visit is assessed with the class
// of the one before (two consecutive uncontrolled → refer → red, TierRules)
// and with the patient's age on the visit's day (the ≥ 65 target, [U]).
func TestRecomputeTierReappliesTheRules(t *testing.T) {
	birth := day("1961-05-02") // 64 on 2026-05-01, 65 on 2026-05-02
	h := &History{Reg: Registration{Disease: Hypertension}, Birth: birth, Visits: []Visit{
		{Date: day("2026-02-01"), SBP: 150, DBP: 85},
		{Date: day("2026-05-01"), SBP: 146, DBP: 85}, // 64: not at target, second in a row
	}}
	if tier, key := RecomputeTier(h, cfg); tier != Red || key != "chronic.tier.reason.red" {
		t.Errorf("two uncontrolled visits: %s %s, want red", tier, key)
	}
	h.Visits[1].Date = day("2026-05-02") // 65: 146/85 is at the elderly target
	if tier, _ := RecomputeTier(h, cfg); tier != Green {
		t.Errorf("second visit at 65 within < 150/90: %s, want green", tier)
	}
	// The registration's disease is applied to every visit: a diabetes
	// history is classified on glucose.
	d := &History{Reg: Registration{Disease: Diabetes}, Birth: birth, Visits: []Visit{{Date: day("2026-05-01"), FPG: 80, SBP: 120, DBP: 70}}}
	if tier, _ := RecomputeTier(d, cfg); tier != Yellow {
		t.Errorf("diabetes FPG 8.0: %s, want yellow", tier)
	}
	if tier, key := RecomputeTier(&History{Reg: Registration{Disease: Hypertension}}, cfg); tier != cfg.UnassessedTier || key != "chronic.tier.reason.unassessed" {
		t.Errorf("no visits: %s %s", tier, key)
	}
}

// TestCheckPeriodBounds pins CheckPeriod: both ends given, in order, at
// most MaxReportDays (5 × 366 + 1) long, not starting in the future.
func TestCheckPeriodBounds(t *testing.T) {
	today := day("2026-11-30")
	from := day("2021-01-01")
	for _, tt := range []struct {
		from, to care.Date
		key      string
	}{
		{from, from.AddDays(MaxReportDays), ""},
		{from, from.AddDays(MaxReportDays + 1), "chronic.period.too_long"},
		{from, from, ""},
		{from, from.AddDays(-1), "chronic.period.order"},
		{today, today, ""},
		{today.AddDays(1), today.AddDays(2), "chronic.period.future"},
		{care.Date{}, today, "field.date"},
		{from, care.Date{}, "field.date"},
	} {
		err := CheckPeriod(tt.from, tt.to, today)
		ce, _ := err.(*care.Error)
		switch {
		case tt.key == "" && err != nil:
			t.Errorf("%s..%s refused: %v", tt.from, tt.to, err)
		case tt.key != "" && (ce == nil || len(ce.Fields) != 1 || ce.Fields[0].Key != tt.key):
			t.Errorf("%s..%s: %v, want %s", tt.from, tt.to, err, tt.key)
		}
	}
}

// TestUnitsOfAVillage pins unitsOf and depthOf (policy-rules.md §1: the
// indicators per village, township, community and county).
func TestUnitsOfAVillage(t *testing.T) {
	tr := org.NewTree([]org.Institution{
		{ID: 1, Kind: org.KindCounty, CountyCode: "411723"},
		{ID: 2, ParentID: 1, Kind: org.KindCommunity, CountyCode: "411723"},
		{ID: 3, ParentID: 2, Kind: org.KindCountyHospital, CountyCode: "411723"},
		{ID: 10, ParentID: 2, Kind: org.KindCentralHC, CountyCode: "411723"},
		{ID: 11, ParentID: 10, Kind: org.KindVillageClinic, CountyCode: "411723"},
	})
	got := unitsOf(tr, 11)
	if len(got) != 4 || got[0] != 11 || !containsAll(got, 10, 2, 1) {
		t.Errorf("units of village 11: %v, want itself, its center, its community and its county", got)
	}
	for k, want := range map[org.Kind]int{org.KindCounty: 0, org.KindCommunity: 1, org.KindCentralHC: 2, org.KindTownshipHC: 2, org.KindVillageClinic: 3} {
		if depthOf(k) != want {
			t.Errorf("depth of %s: %d, want %d", k, depthOf(k), want)
		}
	}
}

func containsAll(xs []int64, ys ...int64) bool {
	for _, y := range ys {
		found := false
		for _, x := range xs {
			found = found || x == y
		}
		if !found {
			return false
		}
	}
	return true
}

// TestReminderText pins the reminder SMS of docs/chronic.md ("Overdue lists and
// reminders"; ReminderText: at most 70 characters for usual names): county,
// the resident, the disease in Chinese, days overdue and the clinic.
func TestReminderText(t *testing.T) {
	got := ReminderText("示例县", "郭福豪", Diabetes, "郭庄村卫生室", 12)
	want := "【示例县医共体】郭福豪您好，您的糖尿病随访已到期12天，请近日到郭庄村卫生室随访。"
	if got != want {
		t.Errorf("reminder %q, want %q", got, want)
	}
	if n := len([]rune(got)); n > 70 {
		t.Errorf("reminder of %d characters: more than one SMS (70)", n)
	}
	if !strings.Contains(ReminderText("县", "李", Tuberculosis, "卫生室", 1), "肺结核") {
		t.Error("tuberculosis reminder")
	}
}

// TestConfigCheckBounds pins Config.Check's limits (policy-rules.md §1: the
// BP target stays below the urgent-transfer threshold of 180/110;
// TBRegularDosesRatio is a percentage; RemindersPerWeek is not negative).
// Each bound is checked one step either side (Config.Check was a tagless
// switch, which gremlins v0.6.0 does not mutate, go-gremlins/gremlins#298).
func TestConfigCheckBounds(t *testing.T) {
	for _, tt := range []struct {
		json string
		ok   bool
	}{
		{`{"BPTargetSBP": 179}`, true}, {`{"BPTargetSBP": 180}`, false},
		{`{"BPTargetDBP": 109}`, true}, {`{"BPTargetDBP": 110}`, false},
		{`{"TBRegularDosesRatio": 100}`, true}, {`{"TBRegularDosesRatio": 101}`, false},
		{`{"RemindersPerWeek": 0}`, true}, {`{"RemindersPerWeek": -1}`, false},
		// The ≥ 65 target too stays below 180/110; the glucose target lies
		// above the urgent low + 0.1 and below the urgent high (16.7): a
		// glucose at target is never urgent (issue 18, FPGAtTarget).
		{`{"ElderlyTargetSBP": 179}`, true}, {`{"ElderlyTargetSBP": 180}`, false},
		{`{"ElderlyTargetDBP": 109}`, true}, {`{"ElderlyTargetDBP": 110}`, false},
		{`{"FPGTarget": 41}`, true}, {`{"FPGTarget": 40}`, false},
		{`{"FPGTarget": 166}`, true}, {`{"FPGTarget": 167}`, false},
	} {
		if _, err := LoadConfig(strings.NewReader(tt.json)); (err == nil) != tt.ok {
			t.Errorf("%s: %v, want ok=%v", tt.json, err, tt.ok)
		}
	}
}

// TestOverdueRiskBounds pins OverdueRisk's order (docs/chronic.md, overdue
// lists risk-sorted): 3 for a last BP ≥ 180/110 (the urgent threshold), 2
// for a prior stroke or MI with uncontrolled hypertension or a last FPG ≥
// 7.0, 1 for any other uncontrolled visit, 0 otherwise.
func TestOverdueRiskBounds(t *testing.T) {
	for _, tt := range []struct {
		name  string
		v     *Visit
		class Class
		want  int
	}{
		{"no visit", nil, "", 0},
		{"SBP 180", &Visit{Disease: Hypertension, SBP: 180, DBP: 90}, Uncontrolled, 3},
		{"SBP 179", &Visit{Disease: Hypertension, SBP: 179, DBP: 90}, Uncontrolled, 1},
		{"DBP 110", &Visit{Disease: Hypertension, SBP: 170, DBP: 110}, Uncontrolled, 3},
		{"DBP 109", &Visit{Disease: Hypertension, SBP: 170, DBP: 109}, Uncontrolled, 1},
		{"prior stroke, controlled", &Visit{Disease: Hypertension, SBP: 130, DBP: 80, PriorStrokeMI: true}, Controlled, 0},
		{"prior stroke, hypertension uncontrolled", &Visit{Disease: Hypertension, SBP: 150, DBP: 95, PriorStrokeMI: true}, Uncontrolled, 2},
		{"diabetes, no glucose measured", &Visit{Disease: Diabetes, SBP: 130, DBP: 80}, Controlled, 0},
		{"diabetes FPG 3.9 (the urgent low)", &Visit{Disease: Diabetes, FPG: 39}, Controlled, 2},
		{"diabetes FPG 4.0", &Visit{Disease: Diabetes, FPG: 40}, Controlled, 0},
		{"prior stroke, diabetes uncontrolled below 7.0", &Visit{Disease: Diabetes, FPG: 65, PriorStrokeMI: true}, Uncontrolled, 1},
		{"diabetes FPG 7.0", &Visit{Disease: Diabetes, FPG: 70}, Controlled, 2},
		{"diabetes FPG 6.9", &Visit{Disease: Diabetes, FPG: 69}, Controlled, 0},
		{"hypertension FPG 8.0 does not count", &Visit{Disease: Hypertension, SBP: 130, DBP: 80, FPG: 80}, Controlled, 0},
		{"mental, unstable", &Visit{Disease: Mental}, Unstable, 0},
	} {
		if got := OverdueRisk(tt.v, tt.class, cfg); got != tt.want {
			t.Errorf("%s: risk %d, want %d", tt.name, got, tt.want)
		}
	}
}
