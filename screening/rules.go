package screening

import (
	"fmt"

	"countycare/care"
	"countycare/chronic"
)

// Config holds the screening rules' thresholds and the confirmation
// deadlines. The county's file may change them (cmd/countycare reads the BP
// thresholds and age from the chronic configuration, which already holds
// them; the rest are local choices, marked [U] in the project's policy rules).
type Config struct {
	MinAge         int                     // residents screened from this age (规范: 35 岁及以上)
	RaisedSBP      int                     // a raised reading: mean SBP ≥ RaisedSBP …
	RaisedDBP      int                     // … and/or mean DBP ≥ RaisedDBP
	RaisedDays     int                     // raised on this many different days: suspected hypertension (规范: 非同日 3 次)
	FastingHours   int                     // hours since the last meal for a fasting glucose [U]: 8
	FastingGlucose int                     // fasting plasma glucose ≥ this (0.1 mmol/L): suspected diabetes [U]: 70
	RandomGlucose  int                     // random plasma glucose ≥ this (0.1 mmol/L): suspected diabetes [U]: 111
	CoughDays      int                     // cough for this many days or more: suspected tuberculosis (规范: ≥ 2 周)
	ConfirmDays    map[chronic.Disease]int // days the township has to confirm (规范: 2 周; 肺结核 1 周内电话随访)
}

// DefaultConfig returns the spec's values.
func DefaultConfig() Config {
	return Config{MinAge: 35, RaisedSBP: 140, RaisedDBP: 90, RaisedDays: 3, FastingHours: 8, FastingGlucose: 70, RandomGlucose: 111,
		CoughDays: 14, ConfirmDays: map[chronic.Disease]int{chronic.Hypertension: 14, chronic.Diabetes: 14, chronic.Tuberculosis: 7}}
}

// FromChronic takes the screening age and BP thresholds from the chronic
// configuration, so that a county sets them once.
func (c Config) FromChronic(cc chronic.Config) Config {
	c.MinAge, c.RaisedSBP, c.RaisedDBP, c.RaisedDays = cc.ScreenMinAge, cc.ScreenSBP, cc.ScreenDBP, cc.ScreenReadings
	return c
}

// Check reports the first impossible value.
func (c Config) Check() error {
	for k, v := range map[string]int{"MinAge": c.MinAge, "RaisedSBP": c.RaisedSBP, "RaisedDBP": c.RaisedDBP, "RaisedDays": c.RaisedDays,
		"FastingHours": c.FastingHours, "FastingGlucose": c.FastingGlucose, "RandomGlucose": c.RandomGlucose, "CoughDays": c.CoughDays} {
		if v <= 0 {
			return fmt.Errorf("screening config: %s must be positive (got %d)", k, v)
		}
	}
	for _, d := range Screenable {
		if n := c.ConfirmDays[d]; n <= 0 || n > 90 {
			return fmt.Errorf("screening config: ConfirmDays[%s] must be 1–90 (got %d)", d, n)
		}
	}
	return nil
}

// Limits of a measurement: outside them a value is a typing error, refused
// before anything is stored.
const (
	MinSBP, MaxSBP         = 60, 280
	MinDBP, MaxDBP         = 30, 180
	MinGlucose, MaxGlucose = 10, 400 // 1.0–40.0 mmol/L
	MaxMealHours           = 72
	MaxCoughDays           = 365
	MaxReason              = 200
	MaxName                = 60
	MaxCampaignDays        = 366
	ListMax                = 200 // rows of the follow-up list, most overdue first
)

// Rule names, as the audit detail and the case record show them.
const (
	RuleHypertension = "ScreenHypertension"
	RuleDiabetes     = "ScreenDiabetes"
	RuleTuberculosis = "ScreenTuberculosis"
)

// BPRaised reports whether a measurement's mean blood pressure is raised:
// SBP ≥ 140 and/or DBP ≥ 90 mmHg (规范第三版 高血压患者健康管理服务规范,
// 服务内容 (一) 筛查: 第一次发现收缩压≥140mmHg和（或）舒张压≥90mmHg).
func BPRaised(m *Measurement, c Config) bool {
	if !m.HasBP() {
		return false
	}
	sbp, dbp := m.MeanBP()
	return sbp >= c.RaisedSBP || dbp >= c.RaisedDBP
}

// ScreenHypertension applies the spec's hypertension screening rule to a
// raised or normal measurement, given the number of other days on which
// the resident's blood pressure was raised: raised on RaisedDays different
// days is suspected (规范第三版 高血压患者健康管理服务规范, (一) 筛查 第 2
// 条: 非同日 3 次测量血压均高于正常，可初步诊断为高血压，建议转诊到有条件的
// 上级医院确诊并 2 周内随访转诊结果); raised fewer times is a re-check on
// another day (预约其复查).
func ScreenHypertension(m *Measurement, otherRaisedDays int, c Config) Result {
	switch {
	case !BPRaised(m, c):
		return Normal
	case otherRaisedDays+1 >= c.RaisedDays:
		return Suspected
	}
	return Recheck
}

// Fasting reports whether a glucose was taken at least FastingHours after
// the last meal (空腹: 至少 8 小时未进食).
func Fasting(m *Measurement, c Config) bool { return m.MealHours >= c.FastingHours }

// ScreenDiabetes applies the diabetes screening rule: a fasting plasma
// glucose ≥ 7.0 mmol/L or a random one ≥ 11.1 mmol/L is suspected
// diabetes (规范第三版 2 型糖尿病患者健康管理服务规范, (一) 筛查: 高危人群
// 每年至少测量 1 次空腹血糖; thresholds of the diagnosis, 中国 2 型糖尿病
// 防治指南 / WHO 1999, configurable [U]).
func ScreenDiabetes(m *Measurement, c Config) Result {
	switch {
	case m.Glucose == 0:
		return ""
	case Fasting(m, c) && m.Glucose >= c.FastingGlucose:
		return Suspected
	case !Fasting(m, c) && m.Glucose >= c.RandomGlucose:
		return Suspected
	}
	return Normal
}

// ScreenTuberculosis applies the tuberculosis rule: a cough of two weeks or
// more, or blood in the sputum, is a suspected case referred to the
// designated hospital (规范第三版 肺结核患者健康管理服务规范, (一) 筛查及推介
// 转诊: 慢性咳嗽、咳痰≥2 周，咯血、血痰 … 推荐其到结核病定点医疗机构进行
// 结核病检查，1 周内进行电话随访).
func ScreenTuberculosis(m *Measurement, c Config) Result {
	if m.CoughDays >= c.CoughDays || m.Haemoptysis {
		return Suspected
	}
	return Normal
}

// checkMeasurement lists the impossible values of m: a pressure outside
// what a living adult shows, a diastolic not below its systolic, half a
// pair of readings, a glucose no meter reads, a glucose without the time
// since the last meal, a cough longer than a year.
func checkMeasurement(m *Measurement) []care.FieldError {
	var fs []care.FieldError
	if m.HasBP() {
		for i, p := range [][2]int{{m.SBP1, m.DBP1}, {m.SBP2, m.DBP2}} {
			n := fmt.Sprint(i + 1)
			switch {
			case p[0] == 0 || p[1] == 0:
				fs = append(fs, care.FieldError{Field: "sbp" + n, Key: "screening.bp_pair"})
			case p[0] < MinSBP || p[0] > MaxSBP:
				fs = append(fs, care.FieldError{Field: "sbp" + n, Key: "screening.sbp_range", Args: []any{MinSBP, MaxSBP}})
			case p[1] < MinDBP || p[1] > MaxDBP:
				fs = append(fs, care.FieldError{Field: "dbp" + n, Key: "screening.dbp_range", Args: []any{MinDBP, MaxDBP}})
			case p[1] >= p[0]:
				fs = append(fs, care.FieldError{Field: "dbp" + n, Key: "screening.dbp_above_sbp"})
			}
		}
	}
	if m.Glucose != 0 {
		if m.Glucose < MinGlucose || m.Glucose > MaxGlucose {
			fs = append(fs, care.FieldError{Field: "glucose", Key: "screening.glucose_range", Args: []any{float64(MinGlucose) / 10, float64(MaxGlucose) / 10}})
		}
		if m.MealHours < 0 || m.MealHours > MaxMealHours {
			fs = append(fs, care.FieldError{Field: "meal_hours", Key: "screening.meal_hours_range", Args: []any{MaxMealHours}})
		}
	}
	if m.CoughDays < 0 || m.CoughDays > MaxCoughDays {
		fs = append(fs, care.FieldError{Field: "cough_days", Key: "screening.cough_days_range", Args: []any{MaxCoughDays}})
	}
	return fs
}
