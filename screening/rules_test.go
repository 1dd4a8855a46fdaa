package screening

import (
	"testing"

	"countycare/chronic"
)

// TestScreenHypertension checks the hypertension screening rule of 国家基本
// 公共卫生服务规范（第三版）高血压患者健康管理服务规范, 服务内容 (一) 筛查:
// SBP ≥ 140 and/or DBP ≥ 90 is raised and re-checked on another day; raised
// on 3 different days is suspected hypertension. The mean of the two
// readings is what counts.
func TestScreenHypertension(t *testing.T) {
	c := DefaultConfig()
	for _, tc := range []struct {
		name                   string
		sbp1, dbp1, sbp2, dbp2 int
		other                  int
		want                   Result
	}{
		{"normal", 128, 82, 126, 80, 0, Normal},
		{"139/89 is not raised", 139, 89, 139, 89, 2, Normal},
		{"SBP 140 alone is raised, first day: re-check", 142, 80, 138, 78, 0, Recheck},
		{"DBP 90 alone is raised, second day: re-check", 130, 92, 128, 88, 1, Recheck},
		{"raised on the third different day: suspected", 150, 95, 148, 94, 2, Suspected},
		{"one raised reading of two, mean normal", 150, 85, 126, 80, 2, Normal},
		{"no BP measured", 0, 0, 0, 0, 5, Normal},
	} {
		m := &Measurement{SBP1: tc.sbp1, DBP1: tc.dbp1, SBP2: tc.sbp2, DBP2: tc.dbp2}
		if got := ScreenHypertension(m, tc.other, c); got != tc.want {
			t.Errorf("%s: got %v, want %v", tc.name, got, tc.want)
		}
	}
	// The number of days is configuration (chronic.Config.ScreenReadings).
	cc := chronic.DefaultConfig()
	cc.ScreenReadings = 2
	m := &Measurement{SBP1: 150, DBP1: 95, SBP2: 150, DBP2: 95}
	if got := ScreenHypertension(m, 1, c.FromChronic(cc)); got != Suspected {
		t.Errorf("two days configured: got %v, want suspected", got)
	}
}

// TestScreenDiabetes checks the diabetes rule (规范第三版 2 型糖尿病患者健康
// 管理服务规范 (一) 筛查, with the diagnostic thresholds of 中国 2 型糖尿病
// 防治指南): fasting (≥ 8 h since the last meal) ≥ 7.0 mmol/L or random ≥
// 11.1 mmol/L is suspected.
func TestScreenDiabetes(t *testing.T) {
	c := DefaultConfig()
	for _, tc := range []struct {
		glucose, hours int
		want           Result
	}{
		{69, 10, Normal},
		{70, 8, Suspected},
		{70, 7, Normal}, // not fasting: 7.0 is below the random threshold
		{110, 2, Normal},
		{111, 2, Suspected},
		{0, 0, ""},
	} {
		m := &Measurement{Glucose: tc.glucose, MealHours: tc.hours}
		if got := ScreenDiabetes(m, c); got != tc.want {
			t.Errorf("glucose %d after %d h: got %q, want %q", tc.glucose, tc.hours, got, tc.want)
		}
	}
}

// TestScreenTuberculosis checks 规范第三版 肺结核患者健康管理服务规范 (一)
// 筛查及推介转诊: a cough of ≥ 2 weeks or haemoptysis is a suspected case.
func TestScreenTuberculosis(t *testing.T) {
	c := DefaultConfig()
	for _, tc := range []struct {
		days  int
		blood bool
		want  Result
	}{{0, false, Normal}, {13, false, Normal}, {14, false, Suspected}, {2, true, Suspected}} {
		if got := ScreenTuberculosis(&Measurement{CoughDays: tc.days, Haemoptysis: tc.blood}, c); got != tc.want {
			t.Errorf("cough %d d, blood %v: got %v, want %v", tc.days, tc.blood, got, tc.want)
		}
	}
}

// TestImpossibleMeasurements: values no living adult or meter shows are
// refused, with the field named.
func TestImpossibleMeasurements(t *testing.T) {
	for _, tc := range []struct {
		m     Measurement
		field string
		key   string
	}{
		{Measurement{SBP1: 400, DBP1: 80, SBP2: 130, DBP2: 80}, "sbp1", "screening.sbp_range"},
		{Measurement{SBP1: 130, DBP1: 80, SBP2: 130, DBP2: 10}, "dbp2", "screening.dbp_range"},
		{Measurement{SBP1: 90, DBP1: 120, SBP2: 130, DBP2: 80}, "dbp1", "screening.dbp_above_sbp"},
		{Measurement{SBP1: 130, DBP1: 80}, "sbp2", "screening.bp_pair"},
		{Measurement{Glucose: 700, MealHours: 9}, "glucose", "screening.glucose_range"},
		{Measurement{Glucose: 60, MealHours: 100}, "meal_hours", "screening.meal_hours_range"},
		{Measurement{CoughDays: 900}, "cough_days", "screening.cough_days_range"},
	} {
		fs := checkMeasurement(&tc.m)
		if len(fs) != 1 || fs[0].Field != tc.field || fs[0].Key != tc.key {
			t.Errorf("%+v: got %v, want %s %s", tc.m, fs, tc.field, tc.key)
		}
	}
	if fs := checkMeasurement(&Measurement{SBP1: 130, DBP1: 80, SBP2: 128, DBP2: 78, Glucose: 56, MealHours: 10}); len(fs) != 0 {
		t.Errorf("plausible values refused: %v", fs)
	}
}

// TestRates: an empty denominator is "no data", not 0 %.
func TestRates(t *testing.T) {
	if _, ok := (Counts{}).Coverage().Percent(); ok {
		t.Error("coverage of an empty target has data")
	}
	c := Counts{Target: 200, Screened: 120, Suspected: 12, Confirmed: 0}
	if p, ok := c.Coverage().Percent(); !ok || p != 60 {
		t.Errorf("coverage got %v %v, want 60", p, ok)
	}
	if p, ok := c.ConfirmedRate().Percent(); !ok || p != 0 {
		t.Errorf("confirmed got %v %v, want 0 (with data)", p, ok)
	}
	if err := DefaultConfig().Check(); err != nil {
		t.Error(err)
	}
}
