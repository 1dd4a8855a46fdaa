package reading

// Boundary tests added for mutation testing (issue 18 §6) of the report
// templates (templates.json, structured report fields with their ranges)
// and the turnaround targets (报告时限, DefaultTargets: issue #5 ECG 15 min,
// DR 30 min; ParseTargets: 1–1440 minutes).

import (
	"strings"
	"testing"
	"time"
)

// TestTemplateFieldEdges pins templates.json ranges one step either side:
// ECG rate 10–350 bpm, axis −180–180°, rhythm text ≤ 200 characters;
// fundus DR grade 0–4 (international DR scale); FHM baseline 50–240 bpm.
func TestTemplateFieldEdges(t *testing.T) {
	ts := DefaultTemplates()
	ecg := func(field, v string) map[string]string {
		m := map[string]string{"rhythm": "窦性心律", "rate": "75", "qrs": "88", "conclusion": "正常心电图"}
		m[field] = v
		return m
	}
	for _, tt := range []struct {
		modality string
		values   map[string]string
		want     string
	}{
		{"ECG", ecg("rate", "10"), ""},
		{"ECG", ecg("rate", "9"), "rate/reading.field_range"},
		{"ECG", ecg("rate", "350"), ""},
		{"ECG", ecg("rate", "351"), "rate/reading.field_range"},
		{"ECG", ecg("axis", "-180"), ""},
		{"ECG", ecg("axis", "-181"), "axis/reading.field_range"},
		{"ECG", ecg("rhythm", strings.Repeat("律", 200)), ""},
		{"ECG", ecg("rhythm", strings.Repeat("律", 201)), "rhythm/field.too_long"},
		{"ECG", ecg("rate", " 75 "), ""}, // trimmed before it is read
		{"FUNDUS", map[string]string{"dr_right": "0", "impression": "无 DR"}, ""},
		{"FUNDUS", map[string]string{"dr_right": "4", "impression": "PDR"}, ""},
		{"FUNDUS", map[string]string{"dr_right": "-1", "impression": "x"}, "dr_right/reading.field_range"},
		{"FHM", map[string]string{"baseline": "50", "variability": "0", "accelerations": "无", "decelerations": "无", "classification": "正常", "conclusion": "x"}, ""},
		{"FHM", map[string]string{"baseline": "241", "variability": "0", "accelerations": "无", "decelerations": "无", "classification": "正常", "conclusion": "x"}, "baseline/reading.field_range"},
	} {
		fs := ts.For(tt.modality).Validate(tt.values)
		var got []string
		for _, f := range fs {
			got = append(got, f.Field+"/"+f.Key)
		}
		if strings.Join(got, " ") != tt.want {
			t.Errorf("%s %v: %v, want %q", tt.modality, tt.values, got, tt.want)
		}
	}
	// Values are trimmed in place and blank ones removed.
	v := map[string]string{"findings": "  肺纹理清晰 ", "impression": "未见异常", "other": "   "}
	if fs := ts.For("DX").Validate(v); len(fs) != 0 || v["findings"] != "肺纹理清晰" {
		t.Errorf("DX read as DR: %v %q", fs, v["findings"])
	}
	if _, ok := v["other"]; ok {
		t.Error("a blank value was kept")
	}
	if f := ts["ECG"].Fields[0]; f.Label("en") != "Rhythm" || f.Label("zh") != "心律" {
		t.Errorf("labels %q %q", f.Label("en"), f.Label("zh"))
	}
	if ts.For("XA") != ts["OT"] || ts.For(" cr ") != ts["DR"] {
		t.Error("XA is read as OT, CR as DR")
	}
}

// TestTargetEdges pins Targets.Target and ParseTargets: 1–1440 minutes per
// modality; a modality without a positive target uses Default, and a
// Default that is not positive falls back to 60 minutes.
func TestTargetEdges(t *testing.T) {
	for _, tt := range []struct {
		in string
		ok bool
	}{{"ECG=1", true}, {"ECG=0", false}, {"SKIN=1440", true}, {"SKIN=1441", false}, {"CR=10", false}, {"", true}, {"ECG=15,", false}} {
		_, err := ParseTargets(tt.in)
		if (err == nil) != tt.ok {
			t.Errorf("ParseTargets(%q): %v, want ok=%v", tt.in, err, tt.ok)
		}
	}
	p, _ := ParseTargets("us=1")
	if p.Target("US") != time.Minute {
		t.Errorf("US=1: %v", p.Target("US"))
	}
	z := Targets{Minutes: map[string]int{"ECG": 0, "DR": -5, "CT": 1}, Default: 45}
	if z.Target("ECG") != 45*time.Minute || z.Target("DR") != 45*time.Minute || z.Target("CT") != time.Minute {
		t.Errorf("non-positive targets: %v %v %v", z.Target("ECG"), z.Target("DR"), z.Target("CT"))
	}
	if (Targets{}).Target("ECG") != time.Hour || (Targets{Default: -1}).Target("MR") != time.Hour {
		t.Error("no targets at all: 60 minutes")
	}
	if (Targets{Default: 1}).Target("MR") != time.Minute {
		t.Error("a 1-minute default")
	}
}
