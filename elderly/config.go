package elderly

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"os"
)

// LabItem is one laboratory or auxiliary item of the check-up (健康体检表
// 辅助检查): its code, unit, the normal range (a value outside it is an
// abnormal finding) and the plausible range (a value outside it is a
// typing error and is refused).
type LabItem struct {
	Code   string   `json:"code"`
	Group  string   `json:"group"` // blood, urine, glucose, lipids, liver, kidney
	Unit   string   `json:"unit"`
	Low    *float64 `json:"low,omitempty"`  // normal range, inclusive; nil: no lower limit
	High   *float64 `json:"high,omitempty"` // nil: no upper limit
	MinVal float64  `json:"min"`            // plausible range
	MaxVal float64  `json:"max"`
}

// Normal reports whether v is within the item's normal range.
func (l LabItem) Normal(v float64) bool {
	return (l.Low == nil || v >= *l.Low) && (l.High == nil || v <= *l.High)
}

// Config is the county's configuration of the elderly programme: the
// thresholds of the spec and of the clinical guidelines it cites, the lab
// items with their ranges, and the year's window. serve reads it from
// --elderly-config (JSON over DefaultConfig).
type Config struct {
	// MinAge: a resident is served in a year in which they are at least
	// this old (规范 老年人健康管理服务规范 §1 服务对象: 65岁及以上 → 65).
	MinAge int `json:"min_age"`
	// OverdueDays: a resident not checked this year is overdue when this
	// many days have passed since the last check-up, or since 1 January of
	// the year they became eligible (规范 §2: 每年提供1次健康管理服务 → 365).
	OverdueDays int `json:"overdue_days"`
	// SBP, DBP (mmHg) and FPG (mmol/L × 100): a reading at or above them
	// in a resident not in the chronic registry is a suspected case
	// (中国高血压防治指南 2018: ≥140/90; 中国2型糖尿病防治指南 2020:
	// 空腹血糖 ≥7.0 mmol/L; 规范 §2(4) 健康指导: 发现确诊或疑似…).
	SBP      int `json:"sbp"`
	DBP      int `json:"dbp"`
	FPGx100  int `json:"fpg_x100"`
	BMILow10 int `json:"bmi_low_x10"`   // BMI ×10 below it: underweight (WS/T 428-2013: 18.5)
	BMIOver  int `json:"bmi_over_x10"`  // overweight from (24.0)
	BMIObese int `json:"bmi_obese_x10"` // obese from (28.0)
	// WaistMaleMM, WaistFemaleMM: central obesity from (WS/T 428-2013:
	// 男 ≥90 cm, 女 ≥85 cm).
	WaistMaleMM   int `json:"waist_male_mm"`
	WaistFemaleMM int `json:"waist_female_mm"`
	// SelfCareMild, SelfCareModerate, SelfCareSevere: the lowest total of
	// each grade of the 老年人生活自理能力评估表 (0–3 可自理, 4–8 轻度依赖,
	// 9–18 中度依赖, ≥19 不能自理 → 4, 9, 19).
	SelfCareMild     int `json:"selfcare_mild"`
	SelfCareModerate int `json:"selfcare_moderate"`
	SelfCareSevere   int `json:"selfcare_severe"`
	// TCMYes, TCMLean: a biased constitution's summed score from which it
	// is 是 (≥11) or 倾向是 (9–10) (老年人中医药健康管理服务记录表
	// 体质判定标准). TCMBalanced: 平和质's summed score from which it is
	// 是 or 基本是 (≥17), with every other score ≤ TCMLean-1 (8) for 是
	// and ≤ TCMYes-1 (10) for 基本是.
	TCMYes      int `json:"tcm_yes"`
	TCMLean     int `json:"tcm_lean"`
	TCMBalanced int `json:"tcm_balanced"`
	// Labs are the laboratory items with units and ranges.
	Labs []LabItem `json:"labs"`
}

//go:embed labs.json
var defaultLabs []byte

// DefaultConfig is the configuration without a file.
func DefaultConfig() Config {
	c := Config{MinAge: 65, OverdueDays: 365, SBP: 140, DBP: 90, FPGx100: 700, BMILow10: 185, BMIOver: 240, BMIObese: 280,
		WaistMaleMM: 900, WaistFemaleMM: 850, SelfCareMild: 4, SelfCareModerate: 9, SelfCareSevere: 19,
		TCMYes: 11, TCMLean: 9, TCMBalanced: 17}
	if err := json.Unmarshal(defaultLabs, &c.Labs); err != nil {
		panic("elderly: labs.json: " + err.Error())
	}
	return c
}

// Check reports a configuration that cannot work.
func (c Config) Check() error {
	if c.MinAge < 1 || c.OverdueDays < 1 || c.SBP < 1 || c.DBP < 1 || c.FPGx100 < 1 {
		return fmt.Errorf("elderly: config: min_age, overdue_days, sbp, dbp and fpg_x100 must be positive")
	}
	if !(c.BMILow10 < c.BMIOver && c.BMIOver < c.BMIObese) || !(0 < c.SelfCareMild && c.SelfCareMild < c.SelfCareModerate && c.SelfCareModerate < c.SelfCareSevere) {
		return fmt.Errorf("elderly: config: BMI and self-care thresholds must rise")
	}
	if !(0 < c.TCMLean && c.TCMLean < c.TCMYes) || c.TCMBalanced < 1 {
		return fmt.Errorf("elderly: config: tcm_lean must be below tcm_yes")
	}
	seen := map[string]bool{}
	for _, l := range c.Labs {
		if l.Code == "" || seen[l.Code] || l.MinVal >= l.MaxVal || (l.Low != nil && l.High != nil && *l.Low > *l.High) {
			return fmt.Errorf("elderly: config: lab %q: a unique code and min < max, low ≤ high", l.Code)
		}
		seen[l.Code] = true
	}
	return nil
}

// Lab returns the configured item with code.
func (c Config) Lab(code string) (LabItem, bool) {
	for _, l := range c.Labs {
		if l.Code == code {
			return l, true
		}
	}
	return LabItem{}, false
}

// LoadConfig reads a JSON configuration over the defaults.
func LoadConfig(path string) (Config, error) {
	c := DefaultConfig()
	b, err := os.ReadFile(path)
	if err != nil {
		return c, fmt.Errorf("elderly: config: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return c, fmt.Errorf("elderly: config %s: %w", path, err)
	}
	return c, c.Check()
}
