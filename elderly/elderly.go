// Package elderly is the yearly health management of residents aged 65
// and over (老年人健康管理) and their TCM constitution identification
// (老年人中医药健康管理), on the national basic public health service spec
// (国家基本公共卫生服务规范 第三版): the check-up on the 健康体检表 with the
// 老年人生活自理能力评估表, the health assessment and guidance, the nine
// constitutions' scoring with the guidance per constitution, and the rules
// that decide who is due. Pure Go: storage is behind Repository.
package elderly

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"countycare/care"
)

// Symptoms of the 健康体检表 (症状), "none" excluding the others.
var Symptoms = []string{"none", "headache", "dizziness", "palpitation", "chest_tightness", "chest_pain", "chronic_cough", "sputum",
	"dyspnoea", "polydipsia", "polyuria", "weight_loss", "fatigue", "joint_pain", "blurred_vision", "numbness", "urgency",
	"dysuria", "constipation", "diarrhoea", "nausea", "dim_sight", "tinnitus", "breast_pain", "other"}

// SelfCareItems are the five items of the 老年人生活自理能力评估表, and
// SelfCarePoints their points at each level (可自理, 轻度依赖, 中度依赖,
// 不能自理) as the table prints them: 进餐 0/0/3/5, 梳洗 0/1/3/7, 穿衣
// 0/0/3/5, 如厕 0/1/5/10, 活动 0/1/5/10.
var (
	SelfCareItems  = []string{"eating", "grooming", "dressing", "toileting", "moving"}
	SelfCarePoints = [5][4]int{{0, 0, 3, 5}, {0, 1, 3, 7}, {0, 0, 3, 5}, {0, 1, 5, 10}, {0, 1, 5, 10}}
)

// Grade is the self-care grade from the table's total.
type Grade string

// Grades of the 老年人生活自理能力评估表.
const (
	Independent Grade = "independent" // 可自理 (0–3)
	MildDep     Grade = "mild"        // 轻度依赖 (4–8)
	ModerateDep Grade = "moderate"    // 中度依赖 (9–18)
	Dependent   Grade = "dependent"   // 不能自理 (≥19)
)

// Choices of the form's closed questions.
var (
	Screens   = []string{"negative", "positive"}                                     // 认知功能/情感状态 粗筛
	Smoking   = []string{"never", "quit", "current"}                                 // 吸烟状况
	Drinking  = []string{"never", "occasional", "often", "daily"}                    // 饮酒频率
	Exercise  = []string{"daily", "weekly", "occasional", "none"}                    // 锻炼频率
	Diets     = []string{"balanced", "meat", "vegetarian", "salty", "oily", "sweet"} // 饮食习惯
	Auxiliary = []string{"normal", "abnormal"}                                       // 心电图, 腹部B超
	// Guidance is the 健康指导 of the form with the elderly spec's items
	// (规范 老年人健康管理 §2(4)).
	Guidance = []string{"chronic_management", "recheck", "referral", "next_checkup", "fall_prevention", "osteoporosis",
		"vaccination", "cognition", "injury_prevention", "self_care_help"}
	// Risks is the 危险因素控制 of the form.
	Risks = []string{"quit_smoking", "limit_alcohol", "diet", "exercise", "lose_weight"}
)

// Form is a check-up as typed. Measurements are integers in the units
// named (0: not measured): temperature in 0.1 °C, lengths in mm, weight
// in g; lab values are decimals in their configured units.
type Form struct {
	Symptoms   []string           `json:"symptoms"`
	TempC10    int                `json:"temp_c10"`
	Pulse      int                `json:"pulse"`
	Resp       int                `json:"resp"`
	SBPLeft    int                `json:"sbp_left"`
	DBPLeft    int                `json:"dbp_left"`
	SBPRight   int                `json:"sbp_right"`
	DBPRight   int                `json:"dbp_right"`
	HeightMM   int                `json:"height_mm"`
	WeightG    int                `json:"weight_g"`
	WaistMM    int                `json:"waist_mm"`
	SelfCare   []int              `json:"self_care"` // level 0–3 of each SelfCareItems
	Cognitive  string             `json:"cognitive"`
	Depression string             `json:"depression"`
	Smoking    string             `json:"smoking"`
	Drinking   string             `json:"drinking"`
	Exercise   string             `json:"exercise"`
	Diet       []string           `json:"diet"`
	Labs       map[string]float64 `json:"labs"`
	ECG        string             `json:"ecg"`
	Ultrasound string             `json:"ultrasound"`
	Guidance   []string           `json:"guidance"`
	Risks      []string           `json:"risks"`
	TCM        []int              `json:"tcm"` // the 33 answers 1–5, or none
	Note       string             `json:"note"`
}

// Limits of a measurement: outside them a value is a typing error.
const (
	MinHeightMM, MaxHeightMM = 1000, 2200
	MinWeightG, MaxWeightG   = 25000, 200000
	MinWaistMM, MaxWaistMM   = 400, 1600
	MinTempC10, MaxTempC10   = 340, 425
	MinPulse, MaxPulse       = 30, 200
	MinResp, MaxResp         = 8, 40
	MinSBP, MaxSBP           = 60, 280
	MinDBP, MaxDBP           = 30, 160
	MinBMI10, MaxBMI10       = 100, 600 // a BMI outside 10–60 is a wrong height or weight
	MaxNote                  = 300
	RosterMax                = 200 // rows of one roster page
	MaxRosterPage            = 500 // pages beyond it are refused (100,000 rows)
)

// Checkup is a recorded yearly check-up with what the rules derived.
type Checkup struct {
	ID            int64     `json:"id"`
	CountyCode    string    `json:"-"`
	ResidentID    int64     `json:"resident_id"`
	ManagedBy     int64     `json:"managed_by"`
	Year          int       `json:"year"`
	Date          care.Date `json:"date"`
	Form          Form      `json:"form"`
	BMI10         int       `json:"bmi_x10"`
	SBP           int       `json:"sbp"` // the higher arm's
	DBP           int       `json:"dbp"`
	SelfCareScore int       `json:"self_care_score"`
	SelfCare      Grade     `json:"self_care_grade"`
	Findings      []string  `json:"findings"`  // abnormal findings; none: normal
	Suspected     []string  `json:"suspected"` // chronic diseases suspected (hypertension, diabetes)
	// Unrouted are the suspected diseases Service.Route could not send to
	// the township when the check-up was recorded (not stored).
	Unrouted  []string   `json:"unrouted,omitempty"`
	TCM       *TCMResult `json:"tcm,omitempty"`
	ClinicID  int64      `json:"clinic_id"`
	By        int64      `json:"by"`
	CreatedAt time.Time  `json:"created_at"`
	// Name is the resident's, filled by lists.
	Name string `json:"name,omitempty"`
}

// Normal reports whether the assessment found nothing abnormal.
func (k *Checkup) Normal() bool { return len(k.Findings) == 0 }

// AgeInYear is the age a resident born on birth reaches in year.
func AgeInYear(birth care.Date, year int) int { return year - birth.Year }

// Eligible reports whether a resident born on birth is served in year:
// aged MinAge or more at some time in the year (规范 老年人健康管理服务规范
// §1 服务对象: 辖区内65岁及以上常住居民; the spec's yearly service counts a
// resident who turns 65 during the year).
func (c Config) Eligible(birth care.Date, year int) bool {
	return !birth.IsZero() && AgeInYear(birth, year) >= c.MinAge
}

// BMI10 is weight / height² × 10, rounded (健康体检表 体质指数 kg/m²).
func BMI10(weightG, heightMM int) int {
	if weightG <= 0 || heightMM <= 0 {
		return 0
	}
	m := float64(heightMM) / 1000
	return int(math.Round(float64(weightG) / 1000 / (m * m) * 10))
}

// SelfCareScore totals the five levels (each 0–3) by SelfCarePoints.
func SelfCareScore(levels []int) int {
	t := 0
	for i, l := range levels {
		if i < len(SelfCarePoints) && l >= 0 && l < 4 {
			t += SelfCarePoints[i][l]
		}
	}
	return t
}

// SelfCareGrade grades a total by the 老年人生活自理能力评估表: 0–3 可自理,
// 4–8 轻度依赖, 9–18 中度依赖, ≥19 不能自理 (thresholds in Config).
func (c Config) SelfCareGrade(total int) Grade {
	switch {
	case total >= c.SelfCareSevere:
		return Dependent
	case total >= c.SelfCareModerate:
		return ModerateDep
	case total >= c.SelfCareMild:
		return MildDep
	}
	return Independent
}

// Validate checks a form dated on for a check-up recorded today and
// returns every fault (nothing is stored with one): the date required,
// not in the future and in a year the resident is eligible; the
// measurements within their limits, BMI 10–60 (a 15-kg adult 3 m tall is
// refused), each arm's systolic above its diastolic, blood pressure,
// height, weight, the five self-care items and both screens required;
// every choice one of the form's; lab values within their plausible
// ranges; the TCM answers 33 of 1–5 when given.
func (c Config) Validate(f *Form, on, today, birth care.Date) []care.FieldError {
	var fs []care.FieldError
	add := func(field, key string, args ...any) {
		fs = append(fs, care.FieldError{Field: field, Key: key, Args: args})
	}
	switch {
	case on.IsZero():
		add("date", "field.required")
	case on.After(today):
		add("date", "elderly.date_future")
	case !c.Eligible(birth, on.Year):
		add("date", "elderly.not_eligible", c.MinAge)
	}
	rng := func(field string, v, lo, hi int, key string, args ...any) {
		if v != 0 && (v < lo || v > hi) {
			add(field, key, args...)
		}
	}
	rng("temp", f.TempC10, MinTempC10, MaxTempC10, "elderly.temp_range")
	rng("pulse", f.Pulse, MinPulse, MaxPulse, "elderly.pulse_range", MinPulse, MaxPulse)
	rng("resp", f.Resp, MinResp, MaxResp, "elderly.resp_range", MinResp, MaxResp)
	rng("height", f.HeightMM, MinHeightMM, MaxHeightMM, "elderly.height_range")
	rng("weight", f.WeightG, MinWeightG, MaxWeightG, "elderly.weight_range")
	rng("waist", f.WaistMM, MinWaistMM, MaxWaistMM, "elderly.waist_range")
	if f.HeightMM == 0 {
		add("height", "field.required")
	}
	if f.WeightG == 0 {
		add("weight", "field.required")
	}
	if b := BMI10(f.WeightG, f.HeightMM); b != 0 && (b < MinBMI10 || b > MaxBMI10) {
		add("weight", "elderly.bmi_impossible")
	}
	arm := func(side string, sbp, dbp int) {
		if (sbp == 0) != (dbp == 0) {
			add("sbp_"+side, "elderly.bp_pair")
			return
		}
		rng("sbp_"+side, sbp, MinSBP, MaxSBP, "elderly.sbp_range", MinSBP, MaxSBP)
		rng("dbp_"+side, dbp, MinDBP, MaxDBP, "elderly.dbp_range", MinDBP, MaxDBP)
		if sbp != 0 && sbp <= dbp {
			add("sbp_"+side, "elderly.bp_order")
		}
	}
	arm("left", f.SBPLeft, f.DBPLeft)
	arm("right", f.SBPRight, f.DBPRight)
	if f.SBPLeft == 0 && f.SBPRight == 0 {
		add("sbp_left", "field.required")
	}
	if len(f.SelfCare) != len(SelfCareItems) {
		add("self_care", "elderly.self_care")
	} else {
		for i, l := range f.SelfCare {
			if l < 0 || l > 3 {
				add("self_care_"+SelfCareItems[i], "elderly.self_care")
			}
		}
	}
	one := func(field, v string, opts []string, required bool) {
		if v == "" {
			if required {
				add(field, "field.required")
			}
			return
		}
		if !slices.Contains(opts, v) {
			add(field, "elderly.choice")
		}
	}
	one("cognitive", f.Cognitive, Screens, true)
	one("depression", f.Depression, Screens, true)
	one("smoking", f.Smoking, Smoking, false)
	one("drinking", f.Drinking, Drinking, false)
	one("exercise", f.Exercise, Exercise, false)
	one("ecg", f.ECG, Auxiliary, false)
	one("ultrasound", f.Ultrasound, Auxiliary, false)
	many := func(field string, vs, opts []string) {
		for _, v := range vs {
			if !slices.Contains(opts, v) {
				add(field, "elderly.choice")
				return
			}
		}
	}
	many("symptoms", f.Symptoms, Symptoms)
	if slices.Contains(f.Symptoms, "none") && len(f.Symptoms) > 1 {
		add("symptoms", "elderly.symptoms_none")
	}
	many("diet", f.Diet, Diets)
	many("guidance", f.Guidance, Guidance)
	many("risks", f.Risks, Risks)
	for _, code := range sortedKeys(f.Labs) {
		v := f.Labs[code]
		l, ok := c.Lab(code)
		switch {
		case !ok:
			add("lab_"+code, "elderly.lab_unknown")
		case math.IsNaN(v) || v < l.MinVal || v > l.MaxVal:
			add("lab_"+code, "elderly.lab_range", fmtNum(l.MinVal), fmtNum(l.MaxVal), l.Unit)
		}
	}
	if len(f.TCM) > 0 {
		if ff := ValidAnswers(f.TCM); ff != nil {
			add(ff.Field, ff.Key, ff.Args...)
		}
	}
	if !utf8.ValidString(f.Note) || utf8.RuneCountInString(f.Note) > MaxNote {
		add("note", "field.too_long", MaxNote)
	}
	return fs
}

func sortedKeys(m map[string]float64) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

func fmtNum(f float64) string {
	return strings.TrimSuffix(strings.TrimRight(fmt.Sprintf("%.2f", f), "0"), ".")
}

// HigherArm is the arm with the higher systolic reading (the spec asks for
// both arms; the higher one is the one classified).
func HigherArm(f *Form) (sbp, dbp int) {
	if f.SBPRight > f.SBPLeft {
		return f.SBPRight, f.DBPRight
	}
	return f.SBPLeft, f.DBPLeft
}

// Assess lists the abnormal findings of a valid form (健康评价: 体检无异常
// when none) for a resident of the sex given ("M"/"F"): blood pressure ≥
// SBP/DBP, BMI under/over/obese, central obesity by waist, self-care not
// independent, a positive screen, current smoking, each lab value outside
// its normal range, an abnormal ECG or ultrasound.
func (c Config) Assess(f *Form, sex string) []string {
	var out []string
	if s, d := HigherArm(f); s >= c.SBP || d >= c.DBP {
		out = append(out, "bp_high")
	}
	switch b := BMI10(f.WeightG, f.HeightMM); {
	case b >= c.BMIObese:
		out = append(out, "bmi_obese")
	case b >= c.BMIOver:
		out = append(out, "bmi_over")
	case b > 0 && b < c.BMILow10:
		out = append(out, "bmi_low")
	}
	if w := c.WaistFemaleMM; sex == "M" {
		if f.WaistMM >= c.WaistMaleMM {
			out = append(out, "waist_high")
		}
	} else if f.WaistMM >= w {
		out = append(out, "waist_high")
	}
	if g := c.SelfCareGrade(SelfCareScore(f.SelfCare)); g != Independent {
		out = append(out, "self_care_"+string(g))
	}
	if f.Cognitive == "positive" {
		out = append(out, "cognitive_positive")
	}
	if f.Depression == "positive" {
		out = append(out, "depression_positive")
	}
	if f.Smoking == "current" {
		out = append(out, "smoking")
	}
	for _, l := range c.Labs {
		if v, ok := f.Labs[l.Code]; ok && !l.Normal(v) {
			out = append(out, "lab_"+l.Code)
		}
	}
	if f.ECG == "abnormal" {
		out = append(out, "ecg_abnormal")
	}
	if f.Ultrasound == "abnormal" {
		out = append(out, "ultrasound_abnormal")
	}
	return out
}

// Registered reports which chronic registries a resident is in
// ("hypertension", "diabetes").
type Registered map[string]bool

// Suspect lists the chronic diseases a valid form suggests in a resident
// not registered for them (规范 老年人健康管理 §2(4): 对发现已确诊的原发性
// 高血压和2型糖尿病等患者同时开展相应的慢性病患者健康管理; 疑似者转诊确诊):
// "hypertension" at SBP ≥ 140 or DBP ≥ 90 mmHg on the higher arm
// (中国高血压防治指南), "diabetes" at a fasting glucose ≥ 7.0 mmol/L
// (中国2型糖尿病防治指南); thresholds in Config.
func (c Config) Suspect(f *Form, reg Registered) []string {
	var out []string
	if s, d := HigherArm(f); (s >= c.SBP || d >= c.DBP) && !reg["hypertension"] {
		out = append(out, "hypertension")
	}
	if v, ok := f.Labs["fpg"]; ok && int(math.Round(v*100)) >= c.FPGx100 && !reg["diabetes"] {
		out = append(out, "diabetes")
	}
	return out
}

// FindingCodes lists every finding Assess can report with c.
func (c Config) FindingCodes() []string {
	out := []string{"bp_high", "bmi_obese", "bmi_over", "bmi_low", "waist_high", "self_care_mild", "self_care_moderate", "self_care_dependent",
		"cognitive_positive", "depression_positive", "smoking"}
	for _, l := range c.Labs {
		out = append(out, "lab_"+l.Code)
	}
	return append(out, "ecg_abnormal", "ultrasound_abnormal")
}
