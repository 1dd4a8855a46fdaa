package critical

import (
	"fmt"
	"strconv"
)

// Threshold is the critical limits of one analyte in its SI unit: a value
// at or below Low, or at or above High, is critical. A limit of nil is
// not checked.
type Threshold struct {
	Analyte string // lab analyte code (lab.Analyte.Code)
	Symbol  string // shown in the finding: "K⁺"
	Unit    string // SI unit the limits are in
	Low     *float64
	High    *float64
	Source  string
}

// Thresholds are the critical limits by analyte code: configuration of
// the county (its medical quality committee keeps the list), read once in
// cmd and passed in.
type Thresholds map[string]Threshold

func f(v float64) *float64 { return &v }

// Sources of the default limits.
const (
	// SourceIssue5 is the platform's brief (issue #5): K⁺ ≥ 6.5 mmol/L and
	// glucose ≤ 2.8 mmol/L named as critical values.
	SourceIssue5 = "issue #5"
	// SourceHospitalList is a county hospital's published list (危急值
	// 项目及报告范围, 大理市第二人民医院 危急值报告制度 附件 1), typical of
	// the lists Chinese hospitals keep under 危急值报告制度: K⁺ 2.5/6.0,
	// Na⁺ 120/160, Ca 1.5/3.5 mmol/L, glucose 2.7/22.2 mmol/L (adult men),
	// Hb 50/200 g/L, WBC 2.5/40 ×10⁹/L, PLT 50/1000 ×10⁹/L, creatinine
	// 654 µmol/L.
	SourceHospitalList = "危急值项目及报告范围 (county hospital list, 大理市第二人民医院)"
)

// DefaultThresholds returns the default critical limits. Where the brief
// and the hospital list differ (K⁺ high 6.5 vs 6.0, glucose low 2.8 vs
// 2.7) the brief's value is used, as the county asked for it.
func DefaultThresholds() Thresholds {
	ts := []Threshold{
		{Analyte: "K", Symbol: "K⁺", Unit: "mmol/L", Low: f(2.5), High: f(6.5), Source: SourceIssue5 + "; " + SourceHospitalList},
		{Analyte: "GLU", Symbol: "GLU", Unit: "mmol/L", Low: f(2.8), High: f(22.2), Source: SourceIssue5 + "; " + SourceHospitalList},
		{Analyte: "NA", Symbol: "Na⁺", Unit: "mmol/L", Low: f(120), High: f(160), Source: SourceHospitalList},
		{Analyte: "CA", Symbol: "Ca", Unit: "mmol/L", Low: f(1.5), High: f(3.5), Source: SourceHospitalList},
		{Analyte: "HGB", Symbol: "Hb", Unit: "g/L", Low: f(50), High: f(200), Source: SourceHospitalList},
		{Analyte: "WBC", Symbol: "WBC", Unit: "10^9/L", Low: f(2.5), High: f(40), Source: SourceHospitalList},
		{Analyte: "PLT", Symbol: "PLT", Unit: "10^9/L", Low: f(50), High: f(1000), Source: SourceHospitalList},
		{Analyte: "CREA", Symbol: "Cr", Unit: "umol/L", High: f(654), Source: SourceHospitalList},
	}
	out := Thresholds{}
	for _, t := range ts {
		out[t.Analyte] = t
	}
	return out
}

// Check returns the finding ("K⁺ ≥ 6.5 mmol/L") if value, in the
// threshold's SI unit, is critical for analyte, and whether it is at the
// low limit; ok is false otherwise and for an analyte without limits.
func (ts Thresholds) Check(analyte string, value float64) (finding string, low, ok bool) {
	t, found := ts[analyte]
	if !found {
		return "", false, false
	}
	switch {
	case t.Low != nil && value <= *t.Low:
		return fmt.Sprintf("%s ≤ %s %s", t.Symbol, num(*t.Low), t.Unit), true, true
	case t.High != nil && value >= *t.High:
		return fmt.Sprintf("%s ≥ %s %s", t.Symbol, num(*t.High), t.Unit), false, true
	}
	return "", false, false
}

func num(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }
