package rx

import (
	"testing"
	"time"

	"countycare/care"
)

func day(s string) care.Date {
	d, err := care.ParseDate(s)
	if err != nil {
		panic(err)
	}
	return d
}

// 处方管理办法（2007）第十八条: 处方开具当日有效；特殊情况下需延长有效期的，
// 由开具处方的医师注明有效期限，但有效期最长不得超过3天。
func TestPrescriptionValidOn(t *testing.T) {
	c := DefaultConfig()
	issued := day("2026-03-10")
	for _, tc := range []struct {
		ext  int
		on   string
		want bool
	}{
		{0, "2026-03-10", true},
		{0, "2026-03-11", false},
		{0, "2026-03-09", false},
		{3, "2026-03-13", true},
		{3, "2026-03-14", false},
		{9, "2026-03-14", false}, // an extension beyond 3 days counts as 3
	} {
		if got := PrescriptionValidOn(c, issued, tc.ext, day(tc.on)); got != tc.want {
			t.Errorf("ext %d on %s: got %v, want %v", tc.ext, tc.on, got, tc.want)
		}
	}
}

// 处方管理办法（2007）第十九条: 处方一般不得超过7日用量；急诊处方一般不得超过
// 3日用量；对于某些慢性病、老年病或特殊情况，处方用量可适当延长，但医师应当注明
// 理由。长期处方管理规范（试行）（2021）: 一般不超过4周；病情稳定的患者最长不超过12周。
func TestMaxSupplyDays(t *testing.T) {
	c := DefaultConfig()
	for _, tc := range []struct {
		k      Kind
		reason string
		stable bool
		want   int
	}{
		{KindNormal, "", false, 7},
		{KindEmergency, "", false, 3},
		{KindChronic, "", false, 7}, // no reason: the normal limit
		{KindChronic, "高血压病情稳定", false, 30},
		{KindLongTerm, "", false, 28},
		{KindLongTerm, "", true, 84},
	} {
		if got := MaxSupplyDays(c, tc.k, tc.reason, tc.stable); got != tc.want {
			t.Errorf("%s reason=%q stable=%v: got %d, want %d", tc.k, tc.reason, tc.stable, got, tc.want)
		}
	}
}

// 长期处方管理规范（试行）（2021）第十三条 [U article]: 医疗用毒性药品、麻醉药品、
// 精神药品、抗微生物药物（治疗结核等慢性细菌真菌感染性疾病的除外）不得用于长期处方。
func TestAllowedOnLongTerm(t *testing.T) {
	kb := MustLoad()
	for code, want := range map[string]bool{
		"amlodipine-5t":    true,
		"metformin-500t":   true,
		"isoniazid-100t":   true, // TB drugs are the exception
		"rifampicin-150c":  true,
		"amoxicillin-250c": false, // other antimicrobials are not
		"diazepam-2.5t":    false,
		"morphine-10t":     false,
		"colchicine-0.5t":  false, // 医疗用毒性药品
	} {
		if got := AllowedOnLongTerm(kb.Drug(code)); got != want {
			t.Errorf("%s: got %v, want %v", code, got, want)
		}
	}
}

// 互联网诊疗管理办法（试行）（2018）第十九条: 不得开具麻醉药品、精神药品等特殊管理
// 药品的处方；为低龄儿童（6岁以下）开具互联网儿童用药处方时，应当确认患儿有监护人
// 和相关专业医师陪伴。
func TestOnlineRules(t *testing.T) {
	kb, c := MustLoad(), DefaultConfig()
	if AllowedOnline(kb.Drug("diazepam-2.5t")) || AllowedOnline(kb.Drug("morphine-10t")) || AllowedOnline(kb.Drug("tramadol-50t")) {
		t.Error("a narcotic or psychotropic drug allowed online")
	}
	if !AllowedOnline(kb.Drug("risperidone-1t")) {
		t.Error("an antipsychotic (not a controlled psychotropic) refused online")
	}
	if !OnlineChildNeedsGuardian(c, 5*12+11) || OnlineChildNeedsGuardian(c, 6*12) {
		t.Error("guardian rule: under 6 needs one, 6 and over does not")
	}
}

// 处方管理办法（2007）第二十三、二十四条: 麻醉药品注射剂为一次常用量，其他剂型
// 不得超过3日常用量；第二类精神药品一般每张处方不得超过7日常用量。
func TestClassMaxDays(t *testing.T) {
	kb, c := MustLoad(), DefaultConfig()
	for code, want := range map[string]int{"pethidine-50mg": 1, "morphine-10t": 3, "diazepam-2.5t": 7, "amlodipine-5t": 0} {
		if got := ClassMaxDays(c, kb.Drug(code)); got != want {
			t.Errorf("%s: got %d, want %d", code, got, want)
		}
	}
}

// Graded antimicrobial use (抗菌药物临床应用管理办法 2012): restricted-grade
// antimicrobials are not used at village clinics; narcotics only where the
// institution is licensed (the county, in this knowledge base).
func TestAllowedAtLevel(t *testing.T) {
	kb := MustLoad()
	if AllowedAtLevel(kb.Drug("ceftriaxone-1g"), AtVillage) || AllowedAtLevel(kb.Drug("morphine-10t"), AtTownship) {
		t.Error("restricted antimicrobial at a village, or a narcotic at a township")
	}
	if !AllowedAtLevel(kb.Drug("amoxicillin-250c"), AtVillage) || !AllowedAtLevel(kb.Drug("morphine-10t"), AtCounty) {
		t.Error("an allowed drug refused")
	}
	if LevelOf("city") != AtCounty || LevelOf("nowhere") != 0 {
		t.Error("LevelOf")
	}
}

// 处方管理办法（2007）第六条: 每张处方不得超过5种药品。
func TestLinesWithinLimit(t *testing.T) {
	c := DefaultConfig()
	if !LinesWithinLimit(c, 5) || LinesWithinLimit(c, 6) {
		t.Error("5 drugs allowed, 6 not")
	}
}

// Review time is an indicator (issue #7): the median and 90th percentile
// of the time from signing to a pharmacist's decision, over flagged
// prescriptions that were decided.
func TestComputeIndicators(t *testing.T) {
	t0 := day("2026-03-10").Time()
	rows := []ReviewRow{
		{Status: StatusPassed, Outcome: 0, SignedAt: t0},
		{Status: StatusDispensed, Outcome: Info, SignedAt: t0},
		{Status: StatusPending, Outcome: Warn, SignedAt: t0},
		// Clean but online: always a pharmacist's (2018 internet care rules).
		{Status: StatusPending, Outcome: 0, SignedAt: t0},
		{Status: StatusApproved, Outcome: 0, SignedAt: t0, ReviewedAt: t0.Add(45 * time.Minute)},
	}
	for i, m := range []int{5, 10, 20, 30, 40, 50, 60, 70, 80, 2000} {
		st := StatusApproved
		if i == 9 {
			st = StatusReturned
		}
		rows = append(rows, ReviewRow{Status: st, Outcome: Warn, SignedAt: t0, ReviewedAt: t0.Add(time.Duration(m) * time.Minute)})
	}
	in := ComputeIndicators(day("2026-03-01"), day("2026-03-31"), rows)
	if in.Signed != 15 || in.AutoPassed != 2 || in.Flagged != 13 || in.Decided != 11 || in.ByStatus[StatusApproved] != 10 || in.ReviewedWithinDay != 10 {
		t.Errorf("counts: %+v", in)
	}
	if in.MedianReview != 45*time.Minute || in.P90Review != 80*time.Minute {
		t.Errorf("median %s, p90 %s; want 45m, 1h20m (11 decided: the 10th)", in.MedianReview, in.P90Review)
	}
}
