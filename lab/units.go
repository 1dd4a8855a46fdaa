package lab

import (
	"sort"
	"strings"
)

// Analyte is a lab test the platform files in structured form, with the
// units a device may report it in and the values that are possible at all
// (beyond them a result is a typing or device error, refused — not a
// critical value).
type Analyte struct {
	Code   string // local code, e.g. "K"
	LOINC  string // LOINC code of the serum/plasma (or blood) test
	Name   string // English name
	NameZh string
	Unit   string             // SI unit results are filed and compared in
	Units  map[string]float64 // accepted unit → factor to Unit (value×factor)
	// Min and Max bound possible values in Unit (physiologically
	// impossible or outside any analyser's range beyond them).
	Min, Max float64
}

// Conversion factors. Glucose: 1 mmol/L = 18.016 mg/dL (molar mass
// 180.16 g/mol); calcium 1 mmol/L = 4.008 mg/dL (40.08 g/mol);
// creatinine 1 mg/dL = 88.42 µmol/L (113.12 g/mol); urea nitrogen
// 1 mg/dL = 0.357 mmol/L; haemoglobin 1 g/dL = 10 g/L; cholesterol
// 1 mmol/L = 38.67 mg/dL; triglycerides 1 mmol/L = 88.57 mg/dL.
var analytes = []Analyte{
	{Code: "GLU", LOINC: "2345-7", Name: "Glucose", NameZh: "葡萄糖", Unit: "mmol/L",
		Units: map[string]float64{"mmol/L": 1, "mg/dL": 1 / 18.016}, Min: 0.1, Max: 150},
	{Code: "K", LOINC: "2823-3", Name: "Potassium", NameZh: "钾", Unit: "mmol/L",
		Units: map[string]float64{"mmol/L": 1, "mEq/L": 1}, Min: 0.5, Max: 15},
	{Code: "NA", LOINC: "2951-2", Name: "Sodium", NameZh: "钠", Unit: "mmol/L",
		Units: map[string]float64{"mmol/L": 1, "mEq/L": 1}, Min: 80, Max: 220},
	{Code: "CA", LOINC: "17861-6", Name: "Calcium", NameZh: "钙", Unit: "mmol/L",
		Units: map[string]float64{"mmol/L": 1, "mg/dL": 1 / 4.008}, Min: 0.2, Max: 7},
	{Code: "CREA", LOINC: "2160-0", Name: "Creatinine", NameZh: "肌酐", Unit: "umol/L",
		Units: map[string]float64{"umol/L": 1, "µmol/L": 1, "mg/dL": 88.42}, Min: 5, Max: 4500},
	{Code: "BUN", LOINC: "3094-0", Name: "Urea nitrogen", NameZh: "尿素氮", Unit: "mmol/L",
		Units: map[string]float64{"mmol/L": 1, "mg/dL": 0.357}, Min: 0.1, Max: 150},
	{Code: "HGB", LOINC: "718-7", Name: "Haemoglobin", NameZh: "血红蛋白", Unit: "g/L",
		Units: map[string]float64{"g/L": 1, "g/dL": 10}, Min: 10, Max: 260},
	{Code: "WBC", LOINC: "6690-2", Name: "Leukocytes", NameZh: "白细胞", Unit: "10^9/L",
		Units: map[string]float64{"10^9/L": 1, "10^3/uL": 1}, Min: 0, Max: 1000},
	{Code: "PLT", LOINC: "777-3", Name: "Platelets", NameZh: "血小板", Unit: "10^9/L",
		Units: map[string]float64{"10^9/L": 1, "10^3/uL": 1}, Min: 0, Max: 5000},
	{Code: "HBA1C", LOINC: "4548-4", Name: "Haemoglobin A1c", NameZh: "糖化血红蛋白", Unit: "%",
		Units: map[string]float64{"%": 1}, Min: 2, Max: 25},
	{Code: "TC", LOINC: "2093-3", Name: "Cholesterol", NameZh: "总胆固醇", Unit: "mmol/L",
		Units: map[string]float64{"mmol/L": 1, "mg/dL": 1 / 38.67}, Min: 0.5, Max: 40},
	{Code: "TG", LOINC: "2571-8", Name: "Triglycerides", NameZh: "甘油三酯", Unit: "mmol/L",
		Units: map[string]float64{"mmol/L": 1, "mg/dL": 1 / 88.57}, Min: 0.05, Max: 150},
}

var byCode, byLOINC = func() (map[string]*Analyte, map[string]*Analyte) {
	c, l := map[string]*Analyte{}, map[string]*Analyte{}
	for i := range analytes {
		c[analytes[i].Code] = &analytes[i]
		l[analytes[i].LOINC] = &analytes[i]
	}
	return c, l
}()

// Lookup finds an analyte by local code (case-insensitive) or LOINC code.
func Lookup(code string) (*Analyte, bool) {
	code = strings.TrimSpace(code)
	if a, ok := byCode[strings.ToUpper(code)]; ok {
		return a, true
	}
	a, ok := byLOINC[code]
	return a, ok
}

// Analytes lists every analyte, by code.
func Analytes() []Analyte {
	out := append([]Analyte(nil), analytes...)
	sort.Slice(out, func(i, j int) bool { return out[i].Code < out[j].Code })
	return out
}

// UnitNames lists an analyte's accepted units, the SI unit first.
func (a *Analyte) UnitNames() []string {
	out := []string{a.Unit}
	for u := range a.Units {
		if u != a.Unit {
			out = append(out, u)
		}
	}
	sort.Strings(out[1:])
	return out
}

// Convert returns value in unit as the analyte's SI unit; ok is false for
// a unit the analyte is not reported in.
func (a *Analyte) Convert(value float64, unit string) (float64, bool) {
	f, ok := a.Units[strings.TrimSpace(unit)]
	if !ok {
		return 0, false
	}
	return value * f, true
}
