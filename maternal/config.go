package maternal

import (
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"sort"
)

// WeekWindow is an antenatal visit's window in completed weeks of
// gestation: from FromWeek+0 days to ToWeek+6 days.
type WeekWindow struct {
	FromWeek int `json:"from_week"`
	ToWeek   int `json:"to_week"`
}

// Config is the county's configuration of the maternal programme: the
// visit windows, the risk factor table and the thresholds that derive
// factors from measurements. serve reads it from --maternal-config (JSON
// over DefaultConfig).
type Config struct {
	// Antenatal: the five antenatal windows (规范: 孕13周前; 16–20; 21–24;
	// 28–36; 37–41 周).
	Antenatal [5]WeekWindow `json:"antenatal"`
	// RegisterByWeek: registration is due before this week (规范: 孕13周前
	// 建册); a later one is stored and counted as late.
	RegisterByWeek int `json:"register_by_week"`
	// PostpartumFrom, PostpartumTo: days after discharge of the home visit
	// (规范: 出院后1周内, 3–7 days).
	PostpartumFrom int `json:"postpartum_from"`
	PostpartumTo   int `json:"postpartum_to"`
	// Check42From, Check42To: days after delivery of the 42-day check
	// (规范: 产后42天; open for two weeks).
	Check42From int `json:"check42_from"`
	Check42To   int `json:"check42_to"`
	// Factors maps each risk factor code to its colour (2017 规范 附件
	// 孕产妇妊娠风险评估表, abridged; a county extends it).
	Factors map[string]Colour `json:"factors"`
	// Thresholds that turn measurements into factors (Derive).
	AgeYoung, AgeOld, AgeVeryOld           int // ≤ 18 yellow, ≥ 35 yellow, ≥ 40 orange
	BMILowTenths, BMIHighTenths            int // < 18.5 or > 25.0 yellow
	BMIVeryHighTenths                      int // ≥ 28.0 orange
	HbMild, HbModerate, HbSevere           int // g/L: < 110 yellow, < 60 orange, ≤ 40 red
	SBPHigh, DBPHigh, SBPSevere, DBPSevere int // mmHg: ≥ 140/90 yellow, ≥ 160/110 orange
}

// Factor codes derived from measurements (Derive); the table gives their colours.
const (
	FactorAgeYoung     = "age_18_or_less"
	FactorAgeOld       = "age_35_plus"
	FactorAgeVeryOld   = "age_40_plus"
	FactorBMILow       = "bmi_under_18_5"
	FactorBMIHigh      = "bmi_over_25"
	FactorBMIVeryHigh  = "bmi_28_plus"
	FactorAnaemia      = "anaemia_hb_60_110"
	FactorAnaemiaMod   = "anaemia_hb_40_60"
	FactorAnaemiaSev   = "anaemia_hb_40_or_less"
	FactorHypertension = "hypertension"
	FactorHTNSevere    = "hypertension_severe_range"
)

// DefaultConfig is the configuration without a file. The factor table is
// the 2017 规范's assessment table, abridged to the items a township
// records; each code's comment names the table's line.
func DefaultConfig() Config {
	return Config{
		Antenatal:      [5]WeekWindow{{0, 12}, {16, 20}, {21, 24}, {28, 36}, {37, 41}},
		RegisterByWeek: 13,
		PostpartumFrom: 3, PostpartumTo: 7,
		Check42From: 42, Check42To: 56,
		Factors: map[string]Colour{
			// 黄色 一般风险
			FactorAgeYoung: Yellow, FactorAgeOld: Yellow, // 年龄≥35岁或≤18岁
			FactorBMILow: Yellow, FactorBMIHigh: Yellow, // BMI>25或<18.5
			FactorAnaemia:         Yellow, // 妊娠合并贫血 Hb 60–110 g/L
			FactorHypertension:    Yellow, // 妊娠期高血压疾病（除外红、橙色）
			"scarred_uterus":      Yellow, // 瘢痕子宫
			"adverse_history":     Yellow, // 不良孕产史
			"assisted_conception": Yellow, // 辅助生殖妊娠
			"narrow_pelvis":       Yellow, // 骨盆狭小
			"twins":               Yellow, // 双胎妊娠
			"threatened_preterm":  Yellow, // 先兆早产
			"fetal_growth":        Yellow, // 胎儿宫内生长受限
			"gdm_diet":            Yellow, // 无需药物治疗的糖尿病
			"thyroid":             Yellow, // 甲状腺疾病（无需药物治疗）
			"low_placenta":        Yellow, // 低置胎盘
			// 橙色 较高风险
			FactorAgeVeryOld:        Orange, // 年龄≥40岁
			FactorBMIVeryHigh:       Orange, // BMI≥28
			FactorAnaemiaMod:        Orange, // 重度贫血 Hb 40–60 g/L
			FactorHTNSevere:         Orange, // 重度子痫前期 (a severe-range pressure until diagnosed)
			"triplets":              Orange, // 三胎及以上妊娠
			"uterine_surgery_2plus": Orange, // 各类子宫手术史≥2次
			"scar_under_18_months":  Orange, // 瘢痕子宫（距末次子宫手术间隔<18月）
			"diabetes_drug":         Orange, // 需药物治疗的糖尿病
			"heart_disease":         Orange, // 较严重的心血管系统疾病
			"rh_incompatible":       Orange, // Rh血型不合
			"preeclampsia_severe":   Orange, // 重度子痫前期、慢性高血压合并子痫前期
			// 红色 高风险
			FactorAnaemiaSev:          Red, // 重度贫血 Hb≤40 g/L
			"pulmonary_hypertension":  Red, // 肺动脉高压≥50mmHg
			"heart_failure_3_4":       Red, // 心功能 III–IV 级
			"renal_failure":           Red, // 肾功能不全（肌酐>正常上限1.5倍）
			"placenta_accreta_previa": Red, // 凶险性前置胎盘
			"placental_abruption":     Red, // 胎盘早剥
			"platelets_under_30":      Red, // 血小板<30×10⁹/L 或伴出血倾向
			// 紫色 传染性疾病
			"hepatitis":    Purple, // 病毒性肝炎
			"syphilis":     Purple, // 梅毒
			"hiv":          Purple, // HIV感染及艾滋病
			"tuberculosis": Purple, // 结核病
		},
		AgeYoung: 18, AgeOld: 35, AgeVeryOld: 40,
		BMILowTenths: 185, BMIHighTenths: 250, BMIVeryHighTenths: 280,
		HbMild: 110, HbModerate: 60, HbSevere: 40,
		SBPHigh: 140, DBPHigh: 90, SBPSevere: 160, DBPSevere: 110,
	}
}

// Check reports a configuration that cannot work: windows out of order or
// a factor with no colour.
func (c Config) Check() error {
	prev := -1
	for i, w := range c.Antenatal {
		if w.FromWeek < 0 || w.ToWeek < w.FromWeek || w.FromWeek <= prev {
			return fmt.Errorf("maternal: config: antenatal window %d (%d–%d) out of order", i+1, w.FromWeek, w.ToWeek)
		}
		prev = w.ToWeek
	}
	if c.PostpartumTo < c.PostpartumFrom || c.Check42To < c.Check42From || c.RegisterByWeek < 1 {
		return fmt.Errorf("maternal: config: postpartum windows or register_by_week")
	}
	for f, col := range c.Factors {
		if !col.Valid() {
			return fmt.Errorf("maternal: config: factor %s has colour %q", f, col)
		}
	}
	return nil
}

// FactorCodes lists the table's codes by colour then name (the form's
// choices), without the derived ones.
func (c Config) FactorCodes() []string {
	derived := []string{FactorAgeYoung, FactorAgeOld, FactorAgeVeryOld, FactorBMILow, FactorBMIHigh, FactorBMIVeryHigh,
		FactorAnaemia, FactorAnaemiaMod, FactorAnaemiaSev, FactorHypertension, FactorHTNSevere}
	var out []string
	for f := range c.Factors {
		if !slices.Contains(derived, f) {
			out = append(out, f)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		ri, rj := c.Factors[out[i]].rank(), c.Factors[out[j]].rank()
		if ri != rj {
			return ri < rj
		}
		return out[i] < out[j]
	})
	return out
}

// LoadConfig reads a JSON configuration over the defaults.
func LoadConfig(path string) (Config, error) {
	c := DefaultConfig()
	b, err := os.ReadFile(path)
	if err != nil {
		return c, fmt.Errorf("maternal: config: %w", err)
	}
	if err := json.Unmarshal(b, &c); err != nil {
		return c, fmt.Errorf("maternal: config %s: %w", path, err)
	}
	return c, c.Check()
}

// Measures are what Derive reads: age in years, height and weight (mm,
// g), pressure (mmHg) and haemoglobin (g/L); 0 not measured.
type Measures struct {
	Age, HeightMM, WeightG, SBP, DBP, HbGL int
}

// Derive turns measurements into the table's factors by the thresholds
// (2017 规范 附件: 年龄, BMI, 贫血 and 高血压 lines).
func (c Config) Derive(m Measures) []string {
	var out []string
	switch {
	case m.Age >= c.AgeVeryOld:
		out = append(out, FactorAgeVeryOld)
	case m.Age >= c.AgeOld:
		out = append(out, FactorAgeOld)
	case m.Age > 0 && m.Age <= c.AgeYoung:
		out = append(out, FactorAgeYoung)
	}
	if m.HeightMM > 0 && m.WeightG > 0 {
		switch bmi := BMITenths(m.WeightG, m.HeightMM); {
		case bmi >= c.BMIVeryHighTenths:
			out = append(out, FactorBMIVeryHigh)
		case bmi > c.BMIHighTenths:
			out = append(out, FactorBMIHigh)
		case bmi < c.BMILowTenths:
			out = append(out, FactorBMILow)
		}
	}
	switch {
	case m.HbGL == 0:
	case m.HbGL <= c.HbSevere:
		out = append(out, FactorAnaemiaSev)
	case m.HbGL < c.HbModerate:
		out = append(out, FactorAnaemiaMod)
	case m.HbGL < c.HbMild:
		out = append(out, FactorAnaemia)
	}
	switch {
	case m.SBP >= c.SBPSevere || m.DBP >= c.DBPSevere:
		out = append(out, FactorHTNSevere)
	case m.SBP >= c.SBPHigh || m.DBP >= c.DBPHigh:
		out = append(out, FactorHypertension)
	}
	return out
}

// BMITenths is weight/height² in tenths of kg/m².
func BMITenths(weightG, heightMM int) int {
	if heightMM <= 0 {
		return 0
	}
	h := float64(heightMM) / 1000
	return int(float64(weightG)/1000/(h*h)*10 + 0.5)
}
