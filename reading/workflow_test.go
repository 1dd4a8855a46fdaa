package reading

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestTemplatesShipped(t *testing.T) {
	ts := DefaultTemplates()
	for _, m := range []string{"ECG", "DR", "CT", "MR", "US", "FHM", "FUNDUS", "SKIN", "OT"} {
		if ts[m] == nil || ts.For(m).Modality != m {
			t.Errorf("no %s template", m)
		}
	}
	// Issue #5's ECG fields: rhythm, rate, PR, QRS, QT/QTc, axis, ST-T, conclusion.
	var names []string
	for _, f := range ts["ECG"].Fields {
		names = append(names, f.Name)
	}
	if got, want := strings.Join(names, ","), "rhythm,rate,pr,qrs,qt,qtc,axis,st_t,conclusion"; got != want {
		t.Errorf("ECG fields %s, want %s", got, want)
	}
	for in, want := range map[string]string{"CR": "DR", "dx": "DR", "CT": "CT", "US": "US", "XA": "OT", "": "OT", "ECG": "ECG"} {
		if got := ts.For(in).Modality; got != want {
			t.Errorf("template for %q: got %s, want %s", in, got, want)
		}
	}
}

func TestTemplateValidate(t *testing.T) {
	ts := DefaultTemplates()
	for _, tc := range []struct {
		name, modality string
		values         map[string]string
		want           string // field/key of each fault, joined
	}{
		{"ECG complete", "ECG", map[string]string{"rhythm": "窦性心律", "rate": "75", "qrs": "88", "axis": "-30", "conclusion": "正常心电图"}, ""},
		{"ECG rate out of range", "ECG", map[string]string{"rhythm": "窦性心律", "rate": "400", "qrs": "88", "conclusion": "x"}, "rate/reading.field_range"},
		{"ECG rate not a number", "ECG", map[string]string{"rhythm": "窦性心律", "rate": "七十", "qrs": "88", "conclusion": "x"}, "rate/reading.field_range"},
		{"ECG missing", "ECG", map[string]string{"rate": "70"}, "rhythm/field.required qrs/field.required conclusion/field.required"},
		{"blank is missing", "DR", map[string]string{"findings": "  ", "impression": "未见异常"}, "findings/field.required"},
		{"unknown field", "CT", map[string]string{"findings": "a", "impression": "b", "rhythm": "c"}, "rhythm/reading.field_unknown"},
		{"too long", "MR", map[string]string{"findings": strings.Repeat("长", 4001), "impression": "b"}, "findings/field.too_long"},
		{"US needs an organ", "US", map[string]string{"impression": "未见异常"}, "liver/reading.one_of_required"},
		{"US one organ", "US", map[string]string{"kidneys": "双肾大小形态正常", "impression": "未见异常"}, ""},
		{"fundus graded", "FUNDUS", map[string]string{"dr_right": "2", "dr_left": "0", "dme_right": "1", "impression": "右眼中度 NPDR"}, ""},
		{"fundus no eye", "FUNDUS", map[string]string{"impression": "不可分级"}, "dr_right/reading.one_of_required"},
		{"fundus grade 5", "FUNDUS", map[string]string{"dr_left": "5", "impression": "x"}, "dr_left/reading.field_range"},
		{"skin", "SKIN", map[string]string{"site": "左小腿", "description": "红斑 2 cm", "impression": "湿疹"}, ""},
		{"FHM missing", "FHM", map[string]string{"baseline": "30", "conclusion": "x"},
			"baseline/reading.field_range variability/field.required accelerations/field.required decelerations/field.required classification/field.required"},
	} {
		fs := ts.For(tc.modality).Validate(tc.values)
		var got []string
		for _, f := range fs {
			got = append(got, f.Field+"/"+f.Key)
		}
		if strings.Join(got, " ") != tc.want {
			t.Errorf("%s: got %v, want %s", tc.name, got, tc.want)
		}
	}
}

func TestParseTemplatesRejects(t *testing.T) {
	for _, b := range []string{`{"X":{"summary":"a","fields":[]}}`, `{"X":{"summary":"b","fields":[{"name":"a","type":"text"}]}}`,
		`{"X":{"summary":"a","fields":[{"name":"a","type":"date"}]}}`, `{"X":{"summary":"a","one_of":["z"],"fields":[{"name":"a","type":"text"}]}}`, `[`} {
		if _, err := ParseTemplates([]byte(b)); err == nil {
			t.Errorf("ParseTemplates(%s) accepted", b)
		}
	}
}

func TestTargets(t *testing.T) {
	d := DefaultTargets()
	for m, want := range map[string]time.Duration{"ECG": 15 * time.Minute, "CR": 30 * time.Minute, "DR": 30 * time.Minute, "US": 30 * time.Minute,
		"CT": time.Hour, "MR": time.Hour, "XA": time.Hour, "FHM": 15 * time.Minute, "FUNDUS": 24 * time.Hour, "SKIN": 24 * time.Hour} {
		if got := d.Target(m); got != want {
			t.Errorf("default target %s: got %s, want %s", m, got, want)
		}
	}
	p, err := ParseTargets("ECG=10, ct=45,OT=90,fhm=20,FUNDUS=720")
	if err != nil || p.Target("ECG") != 10*time.Minute || p.Target("CT") != 45*time.Minute || p.Target("NM") != 90*time.Minute || p.Target("DR") != 30*time.Minute ||
		p.Target("FHM") != 20*time.Minute || p.Target("FUNDUS") != 12*time.Hour || p.Target("SKIN") != 24*time.Hour {
		t.Errorf("parsed targets %+v %v", p, err)
	}
	for _, bad := range []string{"ECG", "ECG=0", "XA=10", "ECG=2000", "ECG=x"} {
		if _, err := ParseTargets(bad); err == nil {
			t.Errorf("ParseTargets(%q) accepted", bad)
		}
	}
}

// TestExamEntries: a photo enters as FUNDUS or SKIN, a fetal trace as FHM
// with its FIGO class as the priority; each is due by its modality's target.
func TestExamEntries(t *testing.T) {
	at := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
	tg := DefaultTargets()
	p := PhotoEntry(&PhotoStudy{ID: 7, CountyCode: "c", Kind: PhotoSkin, ResidentID: 1, ClinicID: 2, OrderedBy: 3, CenterID: 4, UploadedAt: at}, tg)
	if p.Kind != KindPhoto || p.SourceKey != "7" || p.Modality != "SKIN" || p.Status != FlowWaiting || !p.DueAt.Equal(at.Add(24*time.Hour)) || p.CenterID != 4 {
		t.Errorf("skin entry %+v", p)
	}
	if PhotoEntry(&PhotoStudy{Kind: PhotoFundus, UploadedAt: at}, tg).Modality != "FUNDUS" {
		t.Error("fundus entry")
	}
	f := FetalEntry(&FetalStudy{ID: 9, CountyCode: "c", Priority: 2, Baseline: 95, UploadedAt: at}, tg)
	if f.Kind != KindFetal || f.SourceKey != "9" || f.Modality != "FHM" || f.Priority != 2 || f.PreRead != PreReadNone || !f.DueAt.Equal(at.Add(15*time.Minute)) ||
		f.FetalClass() != ClassPathological {
		t.Errorf("fetal entry %+v", f)
	}
	if (&Study{Kind: KindECG, Priority: 2}).FetalClass() != "" {
		t.Error("an ECG has a fetal class")
	}
}

func TestReportSeal(t *testing.T) {
	r := &Report{StudyID: 7, Kind: ReportSigned, Template: "ECG", Fields: map[string]string{"rhythm": "窦性心律", "conclusion": "正常"},
		Normal: true, SignedBy: 3, SignedAt: time.Date(2026, 11, 30, 1, 2, 3, 4000, time.UTC)}
	r.Seal = ReportSeal(r)
	if len(r.Seal) != 64 || !r.SealOK() {
		t.Fatalf("seal %q", r.Seal)
	}
	for name, edit := range map[string]func(*Report){
		"field":    func(x *Report) { x.Fields["conclusion"] = "异常" },
		"added":    func(x *Report) { x.Fields["st_t"] = "x" },
		"normal":   func(x *Report) { x.Normal = false },
		"critical": func(x *Report) { x.Critical = true },
		"signer":   func(x *Report) { x.SignedBy = 4 },
		"time":     func(x *Report) { x.SignedAt = x.SignedAt.Add(time.Microsecond) },
	} {
		c := *r
		c.Fields = map[string]string{}
		for k, v := range r.Fields {
			c.Fields[k] = v
		}
		edit(&c)
		if c.SealOK() {
			t.Errorf("changed %s still matches the seal", name)
		}
	}
}

func TestPercentile(t *testing.T) {
	xs := []float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
	for _, tc := range []struct{ p, want float64 }{{50, 5}, {90, 9}, {100, 10}, {0, 1}, {91, 10}} {
		if got := Percentile(xs, tc.p); got != tc.want {
			t.Errorf("p%.0f: got %v, want %v", tc.p, got, tc.want)
		}
	}
	if Percentile(nil, 50) != 0 || Percentile([]float64{4}, 90) != 4 {
		t.Error("percentile of empty or one value")
	}
}

func TestComputeIndicators(t *testing.T) {
	t0 := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	row := func(mod, clinic, reader, pre string, normal bool, minutes int) StatRow {
		r := StatRow{Modality: mod, ClinicName: clinic, ReaderName: reader, PreRead: pre, Normal: normal, UploadedAt: t0}
		if minutes >= 0 {
			r.ReportedAt = t0.Add(time.Duration(minutes) * time.Minute)
		}
		return r
	}
	var rows []StatRow
	for i := 1; i <= 10; i++ { // ECG turnarounds 2, 4, … 20 min
		rows = append(rows, row("ECG", "甲村", "王", PreReadNormal, i != 3, 2*i))
	}
	rows = append(rows, row("ECG", "乙村", "", PreReadAbnormal, false, -1), row("CR", "乙村", "李", PreReadNone, false, 45), row("DX", "甲村", "李", PreReadNone, true, 20))
	in := ComputeIndicators(rows, DefaultTargets())
	if fmt.Sprint(in.ByModality) != "[{ECG 11 10} {DR 2 2}]" || fmt.Sprint(in.ByClinic) != "[{甲村 11 11} {乙村 2 1}]" || fmt.Sprint(in.ByReader) != "[{王 10 10} {李 2 2}]" {
		t.Errorf("volumes %v %v %v", in.ByModality, in.ByClinic, in.ByReader)
	}
	if len(in.Turnaround) != 2 {
		t.Fatalf("turnaround %+v", in.Turnaround)
	}
	dr, e := in.Turnaround[0], in.Turnaround[1]
	if e.Modality != "ECG" || e.MedianMinutes != 10 || e.P90Minutes != 18 || e.TargetMinutes != 15 || e.WithinTarget != 7 {
		t.Errorf("ECG turnaround %+v", e)
	}
	if dr.Modality != "DR" || dr.MedianMinutes != 20 || dr.P90Minutes != 45 || dr.WithinTarget != 1 {
		t.Errorf("DR turnaround %+v", dr)
	}
	if in.PreReadNormal != 10 || in.ConfirmedNormal != 9 || in.ConfirmedShare() != 9000 {
		t.Errorf("confirmed normal %d/%d = %d bp", in.ConfirmedNormal, in.PreReadNormal, in.ConfirmedShare())
	}
}
