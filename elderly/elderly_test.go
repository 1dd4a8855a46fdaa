package elderly

import (
	"slices"
	"testing"

	"countycare/care"
)

func d(s string) care.Date {
	v, err := care.ParseDate(s)
	if err != nil {
		panic(err)
	}
	return v
}

// good is a valid form of a healthy resident.
func good() Form {
	return Form{Symptoms: []string{"none"}, TempC10: 365, Pulse: 72, Resp: 18, SBPLeft: 128, DBPLeft: 78, SBPRight: 130, DBPRight: 80,
		HeightMM: 1650, WeightG: 60000, WaistMM: 820, SelfCare: []int{0, 0, 0, 0, 0}, Cognitive: "negative", Depression: "negative",
		Smoking: "never", Drinking: "never", Exercise: "daily", Diet: []string{"balanced"}, Labs: map[string]float64{"fpg": 5.2, "hb": 135},
		ECG: "normal", Ultrasound: "normal", Guidance: []string{"next_checkup"}}
}

func keys(fs []care.FieldError) []string {
	var out []string
	for _, f := range fs {
		out = append(out, f.Key)
	}
	return out
}

// TestEligible: 规范 老年人健康管理服务规范 §1 服务对象 — 65岁及以上常住居民,
// counted by age reached in the year.
func TestEligible(t *testing.T) {
	c := DefaultConfig()
	for _, tc := range []struct {
		birth string
		year  int
		want  bool
	}{{"1961-12-31", 2026, true}, {"1962-01-01", 2026, false}, {"1940-06-01", 2026, true}, {"", 2026, false}} {
		var b care.Date
		if tc.birth != "" {
			b = d(tc.birth)
		}
		if got := c.Eligible(b, tc.year); got != tc.want {
			t.Errorf("Eligible(%s, %d) = %v, want %v", tc.birth, tc.year, got, tc.want)
		}
	}
}

// TestSelfCareGrade: 老年人生活自理能力评估表 — items scored 进餐 0/0/3/5,
// 梳洗 0/1/3/7, 穿衣 0/0/3/5, 如厕 0/1/5/10, 活动 0/1/5/10; total 0–3
// 可自理, 4–8 轻度依赖, 9–18 中度依赖, ≥19 不能自理.
func TestSelfCareGrade(t *testing.T) {
	c := DefaultConfig()
	for _, tc := range []struct {
		levels []int
		total  int
		grade  Grade
	}{
		{[]int{0, 0, 0, 0, 0}, 0, Independent},
		{[]int{1, 1, 1, 1, 1}, 3, Independent},
		{[]int{0, 1, 0, 1, 2}, 7, MildDep},
		{[]int{2, 1, 0, 1, 0}, 5, MildDep},
		{[]int{2, 2, 2, 0, 0}, 9, ModerateDep},
		{[]int{2, 2, 2, 2, 2}, 19, Dependent},
		{[]int{3, 3, 3, 3, 3}, 37, Dependent},
	} {
		tot := SelfCareScore(tc.levels)
		if tot != tc.total || c.SelfCareGrade(tot) != tc.grade {
			t.Errorf("%v: total %d grade %s, want %d %s", tc.levels, tot, c.SelfCareGrade(tot), tc.total, tc.grade)
		}
	}
}

// TestValidateRefusesImpossible: impossible measurements are refused
// (issue 17 "Bad input": a 15-kg adult 3 m tall; systolic below
// diastolic), as are dates in the future and residents under 65 that year.
func TestValidateRefusesImpossible(t *testing.T) {
	c := DefaultConfig()
	today, birth := d("2026-12-07"), d("1950-03-01")
	f := good()
	if fs := c.Validate(&f, today, today, birth); len(fs) != 0 {
		t.Fatalf("good form: %v", keys(fs))
	}
	for name, tc := range map[string]struct {
		mod  func(*Form)
		on   care.Date
		want string
	}{
		"15 kg 3 m":         {func(f *Form) { f.WeightG, f.HeightMM = 15000, 3000 }, today, "elderly.height_range"},
		"15 kg at 1.6 m":    {func(f *Form) { f.WeightG = 15000 }, today, "elderly.weight_range"},
		"BMI 70":            {func(f *Form) { f.WeightG, f.HeightMM = 190000, 1650 }, today, "elderly.bmi_impossible"},
		"systolic < dia":    {func(f *Form) { f.SBPLeft, f.DBPLeft = 80, 120 }, today, "elderly.bp_order"},
		"one half of BP":    {func(f *Form) { f.DBPRight = 0 }, today, "elderly.bp_pair"},
		"no BP":             {func(f *Form) { f.SBPLeft, f.DBPLeft, f.SBPRight, f.DBPRight = 0, 0, 0, 0 }, today, "field.required"},
		"future":            {func(*Form) {}, today.AddDays(1), "elderly.date_future"},
		"self-care 4 items": {func(f *Form) { f.SelfCare = []int{0, 0, 0, 0} }, today, "elderly.self_care"},
		"unknown lab":       {func(f *Form) { f.Labs["xyz"] = 1 }, today, "elderly.lab_unknown"},
		"glucose 80":        {func(f *Form) { f.Labs["fpg"] = 80 }, today, "elderly.lab_range"},
		"none and headache": {func(f *Form) { f.Symptoms = []string{"none", "headache"} }, today, "elderly.symptoms_none"},
		"TCM 32 answers":    {func(f *Form) { f.TCM = make([]int, 32) }, today, "elderly.tcm_answers"},
		"bad choice":        {func(f *Form) { f.Smoking = "sometimes" }, today, "elderly.choice"},
	} {
		f := good()
		f.Labs = map[string]float64{"fpg": 5.2}
		tc.mod(&f)
		if ks := keys(c.Validate(&f, tc.on, today, birth)); !slices.Contains(ks, tc.want) {
			t.Errorf("%s: faults %v, want %s", name, ks, tc.want)
		}
	}
	f = good()
	if ks := keys(c.Validate(&f, today, today, d("1962-01-01"))); !slices.Contains(ks, "elderly.not_eligible") {
		t.Errorf("64 in the year: %v", ks)
	}
}

// TestSuspect: BP ≥ 140/90 (中国高血压防治指南) or fasting glucose ≥ 7.0
// mmol/L (中国2型糖尿病防治指南) in a resident not in the registry is a
// suspected case (规范 老年人健康管理 §2(4)); registered residents are not.
func TestSuspect(t *testing.T) {
	c := DefaultConfig()
	for _, tc := range []struct {
		sbpR, dbpR int
		fpg        float64
		reg        Registered
		want       []string
	}{
		{130, 80, 5.2, nil, nil},
		{140, 80, 5.2, nil, []string{"hypertension"}},
		{139, 90, 5.2, nil, []string{"hypertension"}},
		{139, 89, 6.99, nil, nil},
		{139, 89, 7.0, nil, []string{"diabetes"}},
		{160, 100, 8.1, Registered{"hypertension": true}, []string{"diabetes"}},
		{160, 100, 8.1, Registered{"hypertension": true, "diabetes": true}, nil},
	} {
		f := good()
		f.SBPRight, f.DBPRight, f.Labs["fpg"] = tc.sbpR, tc.dbpR, tc.fpg
		if got := c.Suspect(&f, tc.reg); !slices.Equal(got, tc.want) {
			t.Errorf("%d/%d fpg %.2f reg %v: %v, want %v", tc.sbpR, tc.dbpR, tc.fpg, tc.reg, got, tc.want)
		}
	}
}

// TestAssess lists the findings of the 健康评价 (BMI by WS/T 428-2013).
func TestAssess(t *testing.T) {
	c := DefaultConfig()
	f := good()
	if got := c.Assess(&f, "M"); len(got) != 0 {
		t.Fatalf("healthy: %v", got)
	}
	f.WeightG, f.WaistMM, f.SelfCare, f.Labs["ldl"], f.ECG = 80000, 950, []int{0, 1, 0, 1, 2}, 4.1, "abnormal"
	want := []string{"bmi_obese", "waist_high", "self_care_mild", "lab_ldl", "ecg_abnormal"}
	if got := c.Assess(&f, "M"); !slices.Equal(got, want) {
		t.Errorf("findings %v, want %v", got, want)
	}
}

// TestStatusOn: one check-up a year (规范 §2 每年1次); overdue 365 days
// after the last check-up, or after 1 January of the 65th year.
func TestStatusOn(t *testing.T) {
	c := DefaultConfig()
	for _, tc := range []struct {
		birth, last, today string
		want               Status
	}{
		{"1950-01-01", "2026-03-01", "2026-12-07", Done},
		{"1950-01-01", "2025-12-20", "2026-12-07", Due},
		{"1950-01-01", "2025-11-20", "2026-12-07", Overdue},
		{"1961-10-01", "", "2026-12-07", Due},     // turns 65 this year
		{"1955-10-01", "", "2026-12-07", Overdue}, // never checked
	} {
		var last care.Date
		if tc.last != "" {
			last = d(tc.last)
		}
		if got, _ := c.StatusOn(d(tc.birth), last, d(tc.today)); got != tc.want {
			t.Errorf("%+v: %s", tc, got)
		}
	}
}

// TestIdentifyConstitution: 老年人中医药健康管理服务记录表 体质判定标准 —
// a biased constitution 是 at ≥ 11, 倾向是 at 9–10, 否 at ≤ 8; 平和质 是 at
// ≥ 17 with the others ≤ 8, 基本是 at ≥ 17 with the others ≤ 10, else 否;
// items 2, 4, 5, 13 reverse-scored for 平和质.
func TestIdentifyConstitution(t *testing.T) {
	c := DefaultConfig()
	all := func(v int) []int {
		a := make([]int, TCMQuestions)
		for i := range a {
			a[i] = v
		}
		return a
	}
	// Everything "rarely" (2) but energetic (q1 = 5): 平和 5+4+4+4+4 = 21,
	// every biased 8 → 平和质 是.
	a := all(2)
	a[0] = 5
	r := c.IdentifyConstitution(a)
	if r.Scores[0].Score != 21 || r.Scores[0].Verdict != Yes || !slices.Equal(r.Types, []Constitution{Balanced}) {
		t.Fatalf("balanced: %+v", r)
	}
	// Qi deficiency 9 (q14 = 3): 平和 still 21 but another is 9 → 基本是.
	a[13] = 3
	r = c.IdentifyConstitution(a)
	if r.Scores[0].Verdict != Basically || r.Scores[1].Score != 9 || r.Scores[1].Verdict != Leaning {
		t.Fatalf("basically: %+v", r)
	}
	// Yang deficiency 11 (q11 = q12 = 3, q29 = 3): 平和 21 − (q13 unchanged) → 否, 阳虚 是 first, 气虚 倾向是 next.
	a[10], a[11], a[28] = 3, 3, 3
	r = c.IdentifyConstitution(a)
	if r.Scores[0].Verdict != No || r.Scores[2].Score != 11 || r.Scores[2].Verdict != Yes ||
		!slices.Equal(r.Types, []Constitution{YangDeficiency, QiDeficiency}) {
		t.Fatalf("biased: %+v", r)
	}
	// All 5: every biased 20 (是), 平和 5+1+1+1+1 = 9 (否).
	r = c.IdentifyConstitution(all(5))
	if r.Scores[0].Score != 9 || len(r.Types) != 8 {
		t.Fatalf("all 5: %+v", r)
	}
}

// TestLibrary: the shipped guidance covers every constitution and aspect
// in both languages.
func TestLibrary(t *testing.T) {
	l := DefaultLibrary()
	if l[PhlegmDamp]["diet"].In("zh") == "" || l[Balanced]["acupoint"].In("en") == "" {
		t.Fatal("library incomplete")
	}
	if _, err := ParseLibrary([]byte(`{"balanced": {}}`)); err == nil {
		t.Fatal("an incomplete library was accepted")
	}
	if err := DefaultConfig().Check(); err != nil {
		t.Fatal(err)
	}
}

// TestRosterBounds: the dates a store compares rows with (Config.Bounds)
// classify every resident as StatusOn does (规范 老年人健康管理 §2: 每年为
// 老年人提供1次健康管理服务; overdue OverdueDays after the last check-up,
// or after 1 January of the year of turning 65 when never checked), on
// every day of two years, with the default window and a short one.
func TestRosterBounds(t *testing.T) {
	for _, c := range []Config{DefaultConfig(), func() Config { c := DefaultConfig(); c.OverdueDays = 30; return c }()} {
		births := []care.Date{d("1940-06-15"), d("1959-01-01"), d("1959-12-31"), d("1960-01-01"), d("1960-07-01"), d("1961-12-31"), d("1962-01-01"), d("1970-01-01")}
		for day := d("2025-01-01"); day.Year < 2027; day = day.AddDays(1) {
			b := c.Bounds(day)
			lasts := []care.Date{{}, day, day.AddDays(-1), d("2025-01-01"), d("2024-12-31"), day.AddDays(-c.OverdueDays), day.AddDays(-c.OverdueDays - 1), day.AddDays(-c.OverdueDays + 1)}
			for _, birth := range births {
				eligible := !birth.After(b.BornBy)
				if eligible != c.Eligible(birth, day.Year) {
					t.Fatalf("%s born %s: eligible %v", day, birth, eligible)
				}
				if !eligible {
					continue
				}
				for _, last := range lasts {
					if last.After(day) {
						continue
					}
					want, _ := c.StatusOn(birth, last, day)
					var got Status
					switch {
					case !last.IsZero() && !last.Before(b.YearStart):
						got = Done
					case (!last.IsZero() && last.Before(b.LastBefore)) || (last.IsZero() && !birth.After(b.NeverBornBy)):
						got = Overdue
					default:
						got = Due
					}
					if got != want {
						t.Fatalf("%s born %s last %s (overdue %d days): bounds say %s, StatusOn %s", day, birth, last, c.OverdueDays, got, want)
					}
				}
			}
		}
	}
}
