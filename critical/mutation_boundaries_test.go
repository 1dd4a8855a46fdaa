package critical

// Boundary tests added for mutation testing (issue 18 §6). They pin the
// default critical limits (DefaultThresholds: issue #5 and the county
// hospital list SourceHospitalList), the read-back rule of 危急值报告制度
// (《医疗质量安全核心制度要点》, 国卫医发〔2018〕8号) and the escalation schedule.

import (
	"strings"
	"testing"
	"time"

	"countycare/care"
)

// TestDefaultThresholdBoundaries: a value at or below Low, or at or above
// High, is critical (Threshold); one step inside is not. Limits: K⁺
// 2.5/6.5 (6.5 from issue #5), GLU 2.8/22.2 (2.8 from issue #5), Na⁺
// 120/160, Ca 1.5/3.5, Hb 50/200, WBC 2.5/40, PLT 50/1000, creatinine 654
// (SourceHospitalList).
func TestDefaultThresholdBoundaries(t *testing.T) {
	ts := DefaultThresholds()
	for _, tt := range []struct {
		analyte     string
		low, high   float64
		step        float64
		lowF, highF string
		hasLow      bool
	}{
		{"K", 2.5, 6.5, 0.01, "K⁺ ≤ 2.5 mmol/L", "K⁺ ≥ 6.5 mmol/L", true},
		{"GLU", 2.8, 22.2, 0.01, "GLU ≤ 2.8 mmol/L", "GLU ≥ 22.2 mmol/L", true},
		{"NA", 120, 160, 0.1, "Na⁺ ≤ 120 mmol/L", "Na⁺ ≥ 160 mmol/L", true},
		{"CA", 1.5, 3.5, 0.01, "Ca ≤ 1.5 mmol/L", "Ca ≥ 3.5 mmol/L", true},
		{"HGB", 50, 200, 1, "Hb ≤ 50 g/L", "Hb ≥ 200 g/L", true},
		{"WBC", 2.5, 40, 0.01, "WBC ≤ 2.5 10^9/L", "WBC ≥ 40 10^9/L", true},
		{"PLT", 50, 1000, 1, "PLT ≤ 50 10^9/L", "PLT ≥ 1000 10^9/L", true},
		{"CREA", 0, 654, 1, "", "Cr ≥ 654 umol/L", false},
	} {
		if tt.hasLow {
			if f, low, ok := ts.Check(tt.analyte, tt.low); !ok || !low || f != tt.lowF {
				t.Errorf("%s at %v: %q low=%v ok=%v, want %q", tt.analyte, tt.low, f, low, ok, tt.lowF)
			}
			if _, _, ok := ts.Check(tt.analyte, tt.low+tt.step); ok {
				t.Errorf("%s at %v (one step above the low limit) is critical", tt.analyte, tt.low+tt.step)
			}
		} else if _, _, ok := ts.Check(tt.analyte, 0); ok {
			t.Errorf("%s has no low limit, but 0 is critical", tt.analyte)
		}
		if f, low, ok := ts.Check(tt.analyte, tt.high); !ok || low || f != tt.highF {
			t.Errorf("%s at %v: %q low=%v ok=%v, want %q", tt.analyte, tt.high, f, low, ok, tt.highF)
		}
		if _, _, ok := ts.Check(tt.analyte, tt.high-tt.step); ok {
			t.Errorf("%s at %v (one step below the high limit) is critical", tt.analyte, tt.high-tt.step)
		}
	}
	if _, _, ok := ts.Check("ALT", 10000); ok {
		t.Error("an analyte without limits is critical")
	}
	if len(ts) != 8 {
		t.Errorf("%d default analytes, want 8", len(ts))
	}
}

// TestReadBackLimits pins ReadBackOK (接收人员复述确认): the note repeats the
// reported number wherever it stands in the value, is at least 2 and at
// most 500 characters, and a number's trailing full stop is not part of it.
func TestReadBackLimits(t *testing.T) {
	for _, tt := range []struct {
		value, note string
		ok          bool
	}{
		{"", "已知", true},                      // 2 characters
		{"", strings.Repeat("知", 500), true},  // 500
		{"", strings.Repeat("知", 501), false}, // 501
		{"K 6.8 mmol/L", "钾6.8", true},        // the number need not lead the value
		{"K 6.8 mmol/L", "钾 6.9", false},
		{"ST elevation 3.", "ST 抬高 3 mm", true}, // "3." reads back as "3"
		{"2.8", "血糖 2.8", true},                 // number at the end of the value
		{"  ", "  好  ", false},                  // spaces do not count
	} {
		if got := ReadBackOK(tt.value, tt.note); got != tt.ok {
			t.Errorf("ReadBackOK(%q, %q) = %v, want %v", tt.value, tt.note, got, tt.ok)
		}
	}
}

// TestValidateNewLimits pins validateNew: a source kind of 1–32 bytes,
// positive ids, a finding of 1–200 characters, a value of at most 60.
func TestValidateNewLimits(t *testing.T) {
	ok := func() Alert {
		return Alert{SourceKind: SourceLab, SourceID: 1, ResidentID: 1, ClinicID: 1, Finding: "K⁺ ≥ 6.5 mmol/L", Value: "6.8 mmol/L"}
	}
	fields := func(err error) []string {
		ce, _ := err.(*care.Error)
		if ce == nil {
			return nil
		}
		var fs []string
		for _, f := range ce.Fields {
			fs = append(fs, f.Field)
		}
		return fs
	}
	for _, tt := range []struct {
		name  string
		edit  func(*Alert)
		field string // "" = valid
	}{
		{"as raised", func(*Alert) {}, ""},
		{"32-byte source kind", func(a *Alert) { a.SourceKind = strings.Repeat("k", 32) }, ""},
		{"33-byte source kind", func(a *Alert) { a.SourceKind = strings.Repeat("k", 33) }, "source_kind"},
		{"no source kind", func(a *Alert) { a.SourceKind = "" }, "source_kind"},
		{"source id 0", func(a *Alert) { a.SourceID = 0 }, "source_id"},
		{"resident 0", func(a *Alert) { a.ResidentID = 0 }, "resident_id"},
		{"clinic 0", func(a *Alert) { a.ClinicID = 0 }, "clinic_id"},
		{"200-character finding", func(a *Alert) { a.Finding = strings.Repeat("危", 200) }, ""},
		{"201-character finding", func(a *Alert) { a.Finding = strings.Repeat("危", 201) }, "finding"},
		{"blank finding", func(a *Alert) { a.Finding = "  " }, "finding"},
		{"60-character value", func(a *Alert) { a.Value = strings.Repeat("值", 60) }, ""},
		{"61-character value", func(a *Alert) { a.Value = strings.Repeat("值", 61) }, "value"},
	} {
		a := ok()
		tt.edit(&a)
		err := validateNew(&a)
		fs := fields(err)
		switch {
		case tt.field == "" && err != nil:
			t.Errorf("%s refused: %v", tt.name, err)
		case tt.field != "" && (len(fs) != 1 || fs[0] != tt.field):
			t.Errorf("%s: faults %v, want [%s]", tt.name, fs, tt.field)
		}
	}
}

// TestScheduleBoundaries pins Config (default 15 and 30 minutes; positive
// and increasing) and AckTimes' nearest-rank statistics (rank ⌈p·n⌉).
func TestScheduleBoundaries(t *testing.T) {
	for _, tt := range []struct {
		a, b time.Duration
		ok   bool
	}{
		{time.Minute, 2 * time.Minute, true},
		{0, 2 * time.Minute, false},
		{2 * time.Minute, 2 * time.Minute, false},
	} {
		if err := (Config{EscalateAfter: [2]time.Duration{tt.a, tt.b}}).Validate(); (err == nil) != tt.ok {
			t.Errorf("schedule %v, %v: %v, want ok=%v", tt.a, tt.b, err, tt.ok)
		}
	}
	if d := DefaultConfig().EscalateAfter; d != [2]time.Duration{15 * time.Minute, 30 * time.Minute} {
		t.Errorf("default schedule %v", d)
	}
	raised := time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC)
	one := []Alert{{RaisedAt: raised, AckAt: raised.Add(7 * time.Minute)}}
	if ind := AckTimes(one); ind.Median != 7*time.Minute || ind.P90 != 7*time.Minute || ind.Escalated != 0 {
		t.Errorf("one alert: %+v", ind)
	}
	two := append(one, Alert{RaisedAt: raised, AckAt: raised.Add(3 * time.Minute), Level: LevelCounty})
	if ind := AckTimes(two); ind.Median != 3*time.Minute || ind.P90 != 7*time.Minute || ind.Escalated != 1 {
		t.Errorf("two alerts: median rank ⌈1⌉ = 3 min, p90 rank ⌈1.8⌉ = 7 min: %+v", ind)
	}
	if (&Alert{RaisedAt: raised}).AckDuration() != 0 {
		t.Error("an open alert has an acknowledgement time")
	}
	if LinkTTL != 72*time.Hour {
		t.Errorf("LinkTTL %v, want 72 h", LinkTTL)
	}
}

// TestReadBackDigitsZeroAndNine pins leadingNumber's digits (0 and 9 are
// digits): the read-back of "10" must say 10, of "9.5" must say 9.5.
func TestReadBackDigitsZeroAndNine(t *testing.T) {
	for _, tt := range []struct {
		value, note string
		ok          bool
	}{
		{"10 mmol/L", "读回 1 已知", false},
		{"10 mmol/L", "读回 10 已知", true},
		{"9.5 mmol/L", "读回 5 已知", false},
		{"9.5 mmol/L", "读回 9.5", true},
	} {
		if got := ReadBackOK(tt.value, tt.note); got != tt.ok {
			t.Errorf("ReadBackOK(%q, %q) = %v, want %v", tt.value, tt.note, got, tt.ok)
		}
	}
}
