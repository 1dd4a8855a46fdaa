package lab

import (
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"countycare/critical"
)

var now = time.Date(2026, 11, 30, 2, 0, 0, 0, time.UTC)

func TestUnitConversions(t *testing.T) {
	cases := []struct {
		code, unit string
		v, want    float64
	}{
		{"GLU", "mg/dL", 90.08, 5.0},   // 18.016 mg/dL per mmol/L
		{"2345-7", "mmol/L", 5.6, 5.6}, // by LOINC
		{"CA", "mg/dL", 10.02, 2.5},    // 4.008 mg/dL per mmol/L
		{"CREA", "mg/dL", 1.0, 88.42},
		{"HGB", "g/dL", 12.5, 125},
		{"K", "mEq/L", 4.1, 4.1},
	}
	for _, c := range cases {
		a, ok := Lookup(c.code)
		if !ok {
			t.Fatalf("%s unknown", c.code)
		}
		got, ok := a.Convert(c.v, c.unit)
		if !ok || math.Abs(got-c.want) > 0.005 {
			t.Errorf("%s %v %s = %v, want %v", c.code, c.v, c.unit, got, c.want)
		}
	}
	k, _ := Lookup("k")
	if _, ok := k.Convert(4, "mg/dL"); ok {
		t.Error("potassium accepted in mg/dL")
	}
}

func TestCheck(t *testing.T) {
	at := "2026-11-30 09:15" // China time = 01:15 UTC
	ok := Input{Code: "GLU", Value: "7.8", Unit: "mmol/L", RefRange: "3.9-6.1", Doctor: "王", CollectedAt: at}
	r, fs := Check(ok, now, "")
	if len(fs) != 0 || r.Flag != FlagH || r.CollectedAt != time.Date(2026, 11, 30, 1, 15, 0, 0, time.UTC) || r.LOINC != "2345-7" {
		t.Fatalf("good input: %+v %v", r, fs)
	}
	bad := []struct {
		name  string
		in    Input
		field string
		key   string
	}{
		{"unknown code", Input{Code: "XYZ", Value: "1", Unit: "mmol/L", Doctor: "王", CollectedAt: at}, "code", "lab.code_unknown"},
		{"wrong unit", Input{Code: "K", Value: "4", Unit: "g/L", Doctor: "王", CollectedAt: at}, "unit", "lab.unit_wrong"},
		{"impossible", Input{Code: "NA", Value: "14", Unit: "mmol/L", Doctor: "王", CollectedAt: at}, "value", "lab.value_impossible"},
		{"negative", Input{Code: "PLT", Value: "-3", Unit: "10^9/L", Doctor: "王", CollectedAt: at}, "value", "lab.value_impossible"},
		{"NaN", Input{Code: "K", Value: "NaN", Unit: "mmol/L", Doctor: "王", CollectedAt: at}, "value", "lab.value_number"},
		{"future", Input{Code: "K", Value: "4", Unit: "mmol/L", Doctor: "王", CollectedAt: "2026-12-01 09:00"}, "collected_at", "lab.time_future"},
		{"resulted first", Input{Code: "K", Value: "4", Unit: "mmol/L", Doctor: "王", CollectedAt: at, ResultedAt: "2026-11-30 08:00"}, "resulted_at", "lab.resulted_before_collected"},
		{"bad range", Input{Code: "K", Value: "4", Unit: "mmol/L", RefRange: "5.1-3.5", Doctor: "王", CollectedAt: at}, "ref_range", "lab.ref_range_bad"},
		{"no doctor", Input{Code: "K", Value: "4", Unit: "mmol/L", CollectedAt: at}, "doctor", "field.required"},
	}
	for _, c := range bad {
		_, fs := Check(c.in, now, "x.")
		found := false
		for _, f := range fs {
			if f.Field == "x."+c.field && f.Key == c.key {
				found = true
			}
		}
		if !found {
			t.Errorf("%s: faults %v, want x.%s %s", c.name, fs, c.field, c.key)
		}
	}
}

// TestCriticalDefaults checks the default limits against the brief
// (issue #5: K⁺ ≥ 6.5 mmol/L, glucose ≤ 2.8 mmol/L) and the hospital list
// they cite (critical.SourceHospitalList).
func TestCriticalDefaults(t *testing.T) {
	th := critical.DefaultThresholds()
	cases := []struct {
		code string
		v    float64
		crit bool
		low  bool
	}{
		{"K", 6.5, true, false}, {"K", 6.4, false, false}, {"K", 2.5, true, true}, {"K", 2.6, false, false},
		{"GLU", 2.8, true, true}, {"GLU", 2.9, false, false}, {"GLU", 22.2, true, false},
		{"NA", 120, true, true}, {"NA", 160, true, false}, {"HGB", 50, true, true}, {"PLT", 49, true, true},
		{"CREA", 654, true, false}, {"CREA", 5, false, false}, {"HBA1C", 15, false, false},
	}
	for _, c := range cases {
		f, low, ok := th.Check(c.code, c.v)
		if ok != c.crit || low != c.low || (ok && f == "") {
			t.Errorf("%s %v: critical %v low %v (%q), want %v %v", c.code, c.v, ok, low, f, c.crit, c.low)
		}
	}
	for code, x := range th {
		if x.Source == "" {
			t.Errorf("%s: no source", code)
		}
		if _, ok := Lookup(code); !ok {
			t.Errorf("threshold for unknown analyte %s", code)
		}
	}
}

func TestParseCSV(t *testing.T) {
	in := "\xef\xbb\xbf项目代码,结果,单位,参考范围,采集时间,开单医生\nK,6.8,mmol/L,3.5-5.1,2026-11-30 08:00,王\n\n2345-7,5.1,mmol/L,,2026-11-30 08:00,王\n"
	rows, err := ParseCSV(strings.NewReader(in))
	if err != nil || len(rows) != 2 || rows[0].Line != 2 || rows[1].Line != 4 || rows[0].Input.Value != "6.8" || rows[1].Input.Code != "2345-7" {
		t.Fatalf("rows %+v, %v", rows, err)
	}
	for name, bad := range map[string]string{
		"unknown column": "code,value,unit,collected_at,colour\n",
		"missing unit":   "code,value,collected_at\nK,4,2026-11-30 08:00\n",
		"repeated":       "code,loinc,value,unit,collected_at\n",
		"ragged row":     "code,value,unit,collected_at\nK,4\n",
		"no rows":        "code,value,unit,collected_at\n",
		"not utf-8":      "code,value,unit,collected_at\nK,\xff,mmol/L,x\n",
	} {
		if _, err := ParseCSV(strings.NewReader(bad)); !errors.Is(err, ErrFormat) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func FuzzParseCSV(f *testing.F) {
	f.Add("code,value,unit,ref_range,collected_at,doctor\nK,6.8,mmol/L,3.5-5.1,2026-11-30 08:00,王\n")
	f.Add("项目代码,结果,单位,采集时间\nGLU,90,mg/dL,2026-11-30T08:00:00Z\n")
	f.Add("code,value,unit,collected_at\n\"K\n")
	f.Fuzz(func(t *testing.T, in string) {
		rows, err := ParseCSV(strings.NewReader(in))
		if err != nil {
			if !errors.Is(err, ErrFormat) {
				t.Fatalf("error without ErrFormat: %v", err)
			}
			return
		}
		if len(rows) == 0 || len(rows) > MaxImportRows {
			t.Fatalf("%d rows", len(rows))
		}
		for _, r := range rows {
			res, fs := Check(r.Input, now, "")
			if len(fs) == 0 {
				a, _ := Lookup(res.Analyte)
				if res.ValueSI < a.Min || res.ValueSI > a.Max || math.IsNaN(res.ValueSI) {
					t.Fatalf("accepted %v %s", res.ValueSI, res.UnitSI)
				}
			}
		}
	})
}
