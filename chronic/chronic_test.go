package chronic

import (
	"slices"
	"strings"
	"testing"
	"time"

	"countycare/care"
)

var cfg = DefaultConfig()

func day(s string) care.Date {
	d, err := care.ParseDate(s)
	if err != nil {
		panic(err)
	}
	return d
}

// TestClassifyHypertension follows 高血压患者健康管理服务规范 二、服务内容(三)
// (policy-rules.md §1.1 table): controlled → ~3 months; first uncontrolled
// or adverse → 2 weeks; two consecutive uncontrolled, uncontrollable
// reaction, new/worse complication → refer, 2 weeks; urgent first.
func TestClassifyHypertension(t *testing.T) {
	d := day("2026-05-01")
	tests := []struct {
		name   string
		v      Visit
		age    int
		prev   Class
		class  Class
		refer  bool
		urgent bool
		next   string
	}{
		{"at target", Visit{Date: d, SBP: 132, DBP: 84}, 50, "", Controlled, false, false, "2026-07-30"},
		{"140 is not at target (< 140)", Visit{Date: d, SBP: 140, DBP: 84}, 50, Controlled, Uncontrolled, false, false, "2026-05-15"},
		{"DBP 90 is not at target", Visit{Date: d, SBP: 130, DBP: 90}, 50, Controlled, Uncontrolled, false, false, "2026-05-15"},
		{"elderly target < 150/90 (≥ 65, [U])", Visit{Date: d, SBP: 146, DBP: 82}, 65, "", Controlled, false, false, "2026-07-30"},
		{"64 uses the general target", Visit{Date: d, SBP: 146, DBP: 82}, 64, "", Uncontrolled, false, false, "2026-05-15"},
		{"second uncontrolled in a row → refer (code 1)", Visit{Date: d, SBP: 150, DBP: 95}, 50, Uncontrolled, Uncontrolled, true, false, "2026-05-15"},
		{"adverse reaction first time", Visit{Date: d, SBP: 130, DBP: 80, Adverse: true}, 50, "", Adverse, false, false, "2026-05-15"},
		{"uncontrollable adverse reaction → refer", Visit{Date: d, SBP: 130, DBP: 80, Adverse: true, AdverseUncontrollable: true}, 50, "", Adverse, true, false, "2026-05-15"},
		{"new complication → refer", Visit{Date: d, SBP: 130, DBP: 80, Complication: true}, 50, "", Complication, true, false, "2026-05-15"},
		{"SBP 180 urgent", Visit{Date: d, SBP: 180, DBP: 100}, 50, "", Uncontrolled, false, true, "2026-05-15"},
		{"DBP 110 urgent", Visit{Date: d, SBP: 170, DBP: 110}, 50, "", Uncontrolled, false, true, "2026-05-15"},
		// An urgent criterion is never controlled, even with BP at target (issue 18).
		{"chest tightness urgent", Visit{Date: d, SBP: 130, DBP: 80, Symptoms: []Symptom{SymChestTightness}}, 50, "", Uncontrolled, false, true, "2026-05-15"},
		{"raised BP in pregnancy urgent", Visit{Date: d, SBP: 142, DBP: 85, Pregnant: true}, 30, "", Uncontrolled, false, true, "2026-05-15"},
		{"phone call without BP", Visit{Date: d}, 50, Controlled, NotAssessed, false, false, "2026-05-15"},
	}
	for _, tt := range tests {
		o := ClassifyHypertensionVisit(&tt.v, tt.age, tt.prev, cfg)
		if o.Class != tt.class || o.Refer != tt.refer || (len(o.Urgent) > 0) != tt.urgent || o.NextVisit.String() != tt.next {
			t.Errorf("%s: got %s refer=%v urgent=%v next %s; want %s %v %v %s", tt.name, o.Class, o.Refer, o.Urgent, o.NextVisit, tt.class, tt.refer, tt.urgent, tt.next)
		}
	}
	o := ClassifyHypertensionVisit(&Visit{Date: d, SBP: 150, DBP: 95}, 50, Uncontrolled, cfg)
	if !slices.Contains(o.ReferReasons, ReferTwoUncontrolled) {
		t.Errorf("referral reason codes %v, want 1 (连续两次控制不满意)", o.ReferReasons)
	}
}

// TestClassifyDiabetes follows 2 型糖尿病患者健康管理服务规范 二(三) and the
// urgent criteria of 二(二)1 (policy-rules.md §1.2).
func TestClassifyDiabetes(t *testing.T) {
	d := day("2026-05-01")
	tests := []struct {
		name   string
		v      Visit
		prev   Class
		class  Class
		refer  bool
		urgent []string
	}{
		{"FPG 6.9 satisfied", Visit{Date: d, FPG: 69}, "", Controlled, false, nil},
		{"FPG 7.0 not satisfied", Visit{Date: d, FPG: 70}, "", Uncontrolled, false, nil},
		{"second unsatisfied → refer", Visit{Date: d, FPG: 85}, Uncontrolled, Uncontrolled, true, nil},
		{"glucose 16.7 urgent", Visit{Date: d, FPG: 167}, "", Uncontrolled, false, []string{"chronic.urgent.glucose"}},
		{"glucose 3.9 urgent, not controlled", Visit{Date: d, FPG: 39}, "", Uncontrolled, false, []string{"chronic.urgent.glucose"}},
		{"HR 101 urgent, not controlled", Visit{Date: d, FPG: 60, HeartRate: 101}, "", Uncontrolled, false, []string{"chronic.urgent.heart_rate"}},
		{"HR 100 not urgent", Visit{Date: d, FPG: 60, HeartRate: 100}, "", Controlled, false, nil},
		{"fever over 39 °C urgent, not controlled", Visit{Date: d, FPG: 60, Temperature: 391}, "", Uncontrolled, false, []string{"chronic.urgent.fever"}},
		{"fruity breath urgent, not controlled", Visit{Date: d, FPG: 60, Symptoms: []Symptom{SymFruityBreath}}, "", Uncontrolled, false, []string{"chronic.urgent.symptom.fruity_breath"}},
		{"hyperglycaemia in pregnancy", Visit{Date: d, FPG: 72, Pregnant: true}, "", Uncontrolled, false, []string{"chronic.urgent.pregnancy_glucose"}},
	}
	for _, tt := range tests {
		o := ClassifyDiabetesVisit(&tt.v, tt.prev, cfg)
		if o.Class != tt.class || o.Refer != tt.refer || !slices.Equal(o.Urgent, tt.urgent) {
			t.Errorf("%s: got %s refer=%v urgent=%v", tt.name, o.Class, o.Refer, o.Urgent)
		}
	}
}

// TestUrgentIsNeverControlled checks each urgent-transfer threshold at and
// just inside its boundary (issue 18): a visit that meets any urgent
// criterion is never "controlled". 2 型糖尿病患者健康管理服务规范 二、服务内容
// (二)1: glucose ≥ 16.7 or ≤ 3.9 mmol/L, SBP ≥ 180 and/or DBP ≥ 110 mmHg,
// heart rate > 100/min, temperature > 39 °C; 高血压患者健康管理服务规范
// 二(二)1: SBP ≥ 180 and/or DBP ≥ 110 mmHg. And the control-rate indicator
// (PatientPeriod.AtTarget) agrees with the classification on the value.
func TestUrgentIsNeverControlled(t *testing.T) {
	d := day("2026-05-01")
	for _, tt := range []struct {
		name   string
		v      Visit
		urgent bool
		class  Class
	}{
		{"FPG 16.7 (≥ 16.7 urgent)", Visit{Disease: Diabetes, Date: d, FPG: 167}, true, Uncontrolled},
		{"FPG 16.6", Visit{Disease: Diabetes, Date: d, FPG: 166}, false, Uncontrolled},
		{"FPG 3.9 (≤ 3.9 urgent)", Visit{Disease: Diabetes, Date: d, FPG: 39}, true, Uncontrolled},
		{"FPG 4.0", Visit{Disease: Diabetes, Date: d, FPG: 40}, false, Controlled},
		{"diabetes, FPG 6.0, BP 180/100", Visit{Disease: Diabetes, Date: d, FPG: 60, SBP: 180, DBP: 100}, true, Uncontrolled},
		{"diabetes, FPG 6.0, BP 120/110", Visit{Disease: Diabetes, Date: d, FPG: 60, SBP: 120, DBP: 110}, true, Uncontrolled},
		{"diabetes, FPG 6.0, BP 179/109", Visit{Disease: Diabetes, Date: d, FPG: 60, SBP: 179, DBP: 109}, false, Controlled},
		{"diabetes, FPG 6.0, HR 100 (> 100 urgent)", Visit{Disease: Diabetes, Date: d, FPG: 60, HeartRate: 100}, false, Controlled},
		{"diabetes, FPG 6.0, HR 101", Visit{Disease: Diabetes, Date: d, FPG: 60, HeartRate: 101}, true, Uncontrolled},
		{"diabetes, FPG 6.0, 39.0 °C (> 39 urgent)", Visit{Disease: Diabetes, Date: d, FPG: 60, Temperature: 390}, false, Controlled},
		{"diabetes, FPG 6.0, 39.1 °C", Visit{Disease: Diabetes, Date: d, FPG: 60, Temperature: 391}, true, Uncontrolled},
		{"hypertension 180/110", Visit{Disease: Hypertension, Date: d, SBP: 180, DBP: 110}, true, Uncontrolled},
		{"hypertension 179/109", Visit{Disease: Hypertension, Date: d, SBP: 179, DBP: 109}, false, Uncontrolled},
		{"hypertension 130/80 with palpitations", Visit{Disease: Hypertension, Date: d, SBP: 130, DBP: 80, Symptoms: []Symptom{SymPalpitations}}, true, Uncontrolled},
	} {
		o := Assess(&tt.v, &Registration{Disease: tt.v.Disease}, 50, cfg)
		if (len(o.Urgent) > 0) != tt.urgent || o.Class != tt.class {
			t.Errorf("%s: urgent %v class %s, want urgent=%v %s", tt.name, o.Urgent, o.Class, tt.urgent, tt.class)
		}
		if len(o.Urgent) > 0 && o.Class == Controlled {
			t.Errorf("%s: urgent transfer classed controlled", tt.name)
		}
	}
	// The control rate counts the last glucose: 3.9 is not at target, 4.0 is.
	for fpg, want := range map[int]bool{39: false, 40: true, 69: true, 70: false, 167: false} {
		p := PatientPeriod{Disease: Diabetes, LastFPG: fpg}
		if p.AtTarget(cfg) != want {
			t.Errorf("control rate: FPG %d at target = %v, want %v", fpg, !want, want)
		}
	}
	// A county cannot configure a target that an urgent value meets.
	bad := DefaultConfig()
	bad.FPGTarget = 39
	if bad.Check() == nil {
		t.Error("FPGTarget at the urgent low accepted")
	}
	bad = DefaultConfig()
	bad.ElderlyTargetSBP = 180
	if bad.Check() == nil {
		t.Error("elderly target at the urgent SBP accepted")
	}
}

// TestClassifyMental follows 严重精神障碍患者管理服务规范 二(三) (policy-rules.md §1.3).
func TestClassifyMental(t *testing.T) {
	d := day("2026-05-01")
	tests := []struct {
		v     Visit
		prev  Class
		class Class
		next  string
	}{
		{Visit{Date: d, RiskLevel: 0, Insight: true}, "", Stable, "2026-07-30"},
		{Visit{Date: d, RiskLevel: 1, Insight: true}, "", BasicallyStable, "2026-05-15"},
		{Visit{Date: d, RiskLevel: 2, Insight: true}, BasicallyStable, BasicallyStable, "2026-05-31"}, // still basically stable: 1 month
		{Visit{Date: d, RiskLevel: 3, Insight: true}, "", Unstable, "2026-05-15"},
		{Visit{Date: d, RiskLevel: 0, Insight: false, Symptomatic: true}, "", Unstable, "2026-05-15"},
	}
	for _, tt := range tests {
		o := ClassifyMentalVisit(&tt.v, tt.prev, cfg)
		if o.Class != tt.class || o.NextVisit.String() != tt.next {
			t.Errorf("risk %d insight %v prev %s: got %s next %s, want %s %s", tt.v.RiskLevel, tt.v.Insight, tt.prev, o.Class, o.NextVisit, tt.class, tt.next)
		}
	}
}

// TestTuberculosis follows 肺结核患者健康管理服务规范 (policy-rules.md §1.4):
// first visit within 72 h; family supervision every 10 days in the
// intensive phase, monthly in continuation; regular medication ≥ 90 %.
func TestTuberculosis(t *testing.T) {
	n := time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC)
	if got := TBFirstVisitDue(n, cfg); !got.Equal(n.Add(72 * time.Hour)) {
		t.Errorf("first visit due %v", got)
	}
	v := Visit{Date: day("2026-05-04"), DosesDue: 30, DosesMissed: 3}
	if o := TBNextVisit(&v, TBIntensive, SupervisorFamily, cfg); o.NextVisit.String() != "2026-05-14" || o.Class != Controlled {
		t.Errorf("intensive family: %s %s", o.NextVisit, o.Class)
	}
	v.DosesMissed = 4 // 26/30 = 86.7 % < 90 %
	if o := TBNextVisit(&v, TBContinuation, SupervisorStaff, cfg); o.NextVisit.String() != "2026-06-03" || o.Class != Uncontrolled {
		t.Errorf("continuation staff: %s %s", o.NextVisit, o.Class)
	}
}

// TestScreening: 3 raised readings on different days make a suspected case
// (高血压患者健康管理服务规范 二(一)); two raised readings on one day count once.
func TestScreening(t *testing.T) {
	rs := []Reading{{day("2026-03-01"), 145, 85}, {day("2026-03-01"), 150, 88}, {day("2026-03-08"), 132, 92}, {day("2026-03-20"), 128, 80}}
	if ok, n := SuspectedHypertension(rs, cfg); ok || n != 2 {
		t.Errorf("2 days: %v %d", ok, n)
	}
	rs = append(rs, Reading{day("2026-04-02"), 141, 70})
	if ok, n := SuspectedHypertension(rs, cfg); !ok || n != 3 {
		t.Errorf("3 days: %v %d", ok, n)
	}
}

func TestTiers(t *testing.T) {
	c, u := Outcome{Class: Controlled}, Outcome{Class: Uncontrolled}
	for _, tt := range []struct {
		hist []Outcome
		want Tier
	}{
		{nil, Green},
		{[]Outcome{c}, Green},
		{[]Outcome{c, u}, Yellow},
		{[]Outcome{u, {Class: Uncontrolled, Refer: true}}, Red},
		{[]Outcome{c, {Class: Controlled, Urgent: []string{"x"}}}, Red},
		{[]Outcome{u, c}, Green},
		{[]Outcome{c, {Class: NotAssessed}}, Green}, // a phone call does not move the tier
		{[]Outcome{{Class: Unstable}}, Red},
		{[]Outcome{{Class: BasicallyStable}}, Yellow},
	} {
		if got, _ := TierFor(tt.hist, cfg); got != tt.want {
			t.Errorf("TierFor(%v) = %s, want %s", tt.hist, got, tt.want)
		}
	}
	if Green.ManagingLevel() != "village" || Yellow.ManagingLevel() != "township" || Red.ManagingLevel() != "county" {
		t.Error("tier levels (seeds 001, 004: green village, yellow township, red county)")
	}
}

func TestCheckVisit(t *testing.T) {
	birth, today := day("1960-01-01"), day("2026-05-01")
	keys := func(fs []care.FieldError) []string {
		var k []string
		for _, f := range fs {
			k = append(k, f.Key)
		}
		return k
	}
	for _, tt := range []struct {
		v    Visit
		err  string
		warn string
	}{
		{Visit{Disease: Hypertension, Date: today, SBP: 400, DBP: 20}, "chronic.value.range", ""},
		{Visit{Disease: Hypertension, Date: today, SBP: 80, DBP: 90}, "chronic.bp.order", ""},
		{Visit{Disease: Hypertension, Date: today, SBP: 130}, "chronic.bp.both", ""},
		{Visit{Disease: Diabetes, Date: today, FPG: 5}, "chronic.value.range", ""},
		{Visit{Disease: Diabetes, Date: day("2026-05-02"), FPG: 60}, "chronic.date.future", ""},
		{Visit{Disease: Diabetes, Date: day("1959-12-31"), FPG: 60}, "chronic.date.before_birth", ""},
		{Visit{Disease: Mental, Date: today, RiskLevel: 6}, "chronic.risk.range", ""},
		{Visit{Disease: Hypertension, Date: today, SBP: 260, DBP: 120, FaceToFace: true}, "", "chronic.warn.bp_extreme"},
		{Visit{Disease: Diabetes, Date: today, FPG: 350}, "", "chronic.warn.glucose_extreme"},
		{Visit{Disease: Hypertension, Date: today, SBP: 130, DBP: 80, FaceToFace: true}, "", ""},
	} {
		errs, warns := CheckVisit(&tt.v, birth, today)
		if tt.err != "" && !slices.Contains(keys(errs), tt.err) || tt.err == "" && len(errs) > 0 {
			t.Errorf("%+v: errors %v, want %q", tt.v, keys(errs), tt.err)
		}
		if tt.warn != "" && !slices.Contains(keys(warns), tt.warn) || tt.warn == "" && len(warns) > 0 {
			t.Errorf("%+v: warnings %v, want %q", tt.v, keys(warns), tt.warn)
		}
	}
}

// TestIndicators checks the formulas of policy-rules.md §1.1 on a
// hand-computed fixture: 规范管理率 = visits ≥ floor(days/90); 控制率 = last
// visit at target; 健康管理率 = managed / (adults × prevalence).
func TestIndicators(t *testing.T) {
	from, to := day("2026-01-01"), day("2026-12-31") // 365 days: 4 visits needed
	c := DefaultConfig()
	c.PrevalenceBP = map[Disease]int{Hypertension: 2700} // 27 % of 100 adults
	tl := Tally{From: from, To: to, Config: c, UnitsOf: func(int64) []int64 { return []int64{1} }}
	for _, p := range []PatientPeriod{
		{Disease: Hypertension, FaceToFace: 4, LastSBP: 130, LastDBP: 80}, // per spec, at target
		{Disease: Hypertension, FaceToFace: 5, LastSBP: 150, LastDBP: 85}, // per spec, not at target
		{Disease: Hypertension, FaceToFace: 3, LastSBP: 128, LastDBP: 76}, // at target, too few visits
		{Disease: Hypertension}, // never seen
	} {
		tl.Add(&p)
	}
	tl.Estimate(1, 100)
	ind := tl.Result()[UnitDisease{1, Hypertension}]
	if ind.Standardised != (Rate{2, 4}) || ind.Controlled != (Rate{2, 4}) || ind.HealthManaged != (Rate{4, 27}) || ind.Estimated != 27 || ind.EstimateRaised() {
		t.Errorf("indicators %+v", ind)
	}
	if ind.Standardised.BP() != 5000 || ind.HealthManaged.BP() != 1481 {
		t.Errorf("rates %d %d", ind.Standardised.BP(), ind.HealthManaged.BP())
	}
	if !StandardisedManaged(0, day("2026-01-01"), day("2026-03-30")) || StandardisedManaged(0, day("2026-01-01"), day("2026-03-31")) {
		t.Error("89 days need no visit, 90 days need one")
	}
}

func TestBMIAndOverdueRisk(t *testing.T) {
	v := Visit{WeightDg: 700, HeightCm: 170} // 70 kg, 1.70 m → 24.2
	if v.BMI() != 242 {
		t.Errorf("BMI %d", v.BMI())
	}
	if OverdueRisk(&Visit{Disease: Hypertension, SBP: 182, DBP: 95}, Uncontrolled, cfg) != 3 ||
		OverdueRisk(&Visit{Disease: Hypertension, SBP: 150, DBP: 95, PriorStrokeMI: true}, Uncontrolled, cfg) != 2 ||
		OverdueRisk(&Visit{Disease: Diabetes, FPG: 80}, Uncontrolled, cfg) != 2 ||
		OverdueRisk(&Visit{Disease: Hypertension, SBP: 150, DBP: 95}, Uncontrolled, cfg) != 1 ||
		OverdueRisk(&Visit{Disease: Hypertension, SBP: 120, DBP: 75}, Controlled, cfg) != 0 {
		t.Error("overdue risk order (high risk first: BP ≥ 180/110, prior stroke/MI uncontrolled, uncontrolled glucose)")
	}
}

// TestTallyByUnit checks the indicator formulas of policy-rules.md §1 per
// village and township on a hand-computed fixture (year 2026: 365 days, so
// 4 face-to-face visits are due for 规范管理): 控制率 uses the last visit
// with a reading (§1.1 SBP < 140 and DBP < 90; §1.2 FPG < 7.0); 规则服药率
// counts TB patients whose treatment ended (§1.4, ≥ 90 % of doses);
// 健康管理率 = managed / (adults × prevalence).
func TestTallyByUnit(t *testing.T) {
	from, to := day("2026-01-01"), day("2026-12-31")
	const v1, v2, town = 11, 12, 1
	tl := Tally{From: from, To: to, Config: cfg, UnitsOf: func(c int64) []int64 { return []int64{c, town} }}
	visit := func(f2f bool, sbp, dbp, fpg int) Visit {
		return Visit{FaceToFace: f2f, SBP: sbp, DBP: dbp, FPG: fpg}
	}
	patient := func(d Disease, clinic int64, vs ...Visit) *PatientPeriod {
		p := &PatientPeriod{Disease: d, ClinicID: clinic}
		for i := range vs {
			p.AddVisit(&vs[i])
		}
		return p
	}
	f := visit(true, 130, 80, 0)
	tl.Add(patient(Hypertension, v1, f, f, f, visit(true, 130, 85, 0)))                                    // per spec, controlled
	tl.Add(patient(Hypertension, v1, f, f, visit(true, 150, 85, 0)))                                       // 3 visits, uncontrolled
	tl.Add(patient(Hypertension, v1, visit(false, 120, 80, 0), visit(false, 0, 0, 0)))                     // phone only; last reading at target
	tl.Add(patient(Diabetes, v2, visit(true, 0, 0, 65), f, f, f))                                          // FPG 6.5 then BP-only visits: controlled
	tl.Add(patient(Diabetes, v2, f, f, f, f, visit(true, 0, 0, 72), visit(true, 0, 0, 0)))                 // last FPG 7.2: not controlled
	tl.Add(&PatientPeriod{Disease: Tuberculosis, ClinicID: v2, Ended: true, DosesDue: 60, DosesMissed: 5}) // 91.7 %: regular
	tl.Add(&PatientPeriod{Disease: Tuberculosis, ClinicID: v2, Ended: true, DosesDue: 60, DosesMissed: 7}) // 88.3 %: not regular
	tl.Add(&PatientPeriod{Disease: Tuberculosis, ClinicID: v2, DosesDue: 30})                              // still on treatment
	tl.Estimate(town, 1000)                                                                                // 279 hypertension, 112 diabetes expected
	r := tl.Result()
	want := map[UnitDisease]Indicators{
		{v1, Hypertension}:   {Managed: 3, Standardised: Rate{1, 3}, Controlled: Rate{2, 3}},
		{town, Hypertension}: {Managed: 3, Standardised: Rate{1, 3}, Controlled: Rate{2, 3}, HealthManaged: Rate{3, 279}, Estimated: 279, PrevalenceBP: 2790},
		// The first diabetes patient's last reading of glucose is 6.5 (BP-only visits after it do not replace it).
		{v2, Diabetes}:       {Managed: 2, Standardised: Rate{2, 2}, Controlled: Rate{1, 2}},
		{town, Diabetes}:     {Managed: 2, Standardised: Rate{2, 2}, Controlled: Rate{1, 2}, HealthManaged: Rate{2, 112}, Estimated: 112, PrevalenceBP: 1120},
		{v2, Tuberculosis}:   {Managed: 3, Standardised: Rate{0, 3}, RegularDoses: Rate{1, 2}},
		{town, Tuberculosis}: {Managed: 3, Standardised: Rate{0, 3}, RegularDoses: Rate{1, 2}},
	}
	for k, w := range want {
		if r[k] != w {
			t.Errorf("%v: %+v, want %+v", k, r[k], w)
		}
	}
	if len(r) != len(want) {
		t.Errorf("%d cells, want %d", len(r), len(want))
	}
	if VisitsDue(day("2026-01-01"), day("2026-06-30")) != 2 {
		t.Error("181 days: 2 visits due")
	}
}

// TestLoadConfig: a county's file changes only what it names (here the
// elderly target and a stricter tier rule: uncontrolled goes to the county);
// impossible values and unknown fields are refused.
func TestLoadConfig(t *testing.T) {
	c, err := LoadConfig(strings.NewReader(`{"ElderlyTargetSBP": 145, "Tiers": {"Urgent": "red", "ByClass": {"controlled": "green", "stable": "green",
		"uncontrolled": "red", "adverse_reaction": "yellow", "complication": "yellow", "basically_stable": "yellow", "unstable": "red"}}}`))
	if err != nil {
		t.Fatal(err)
	}
	if c.ElderlyTargetSBP != 145 || c.BPTargetSBP != 140 || c.RoutineDays != 90 {
		t.Errorf("merged config %+v", c)
	}
	if tier, _ := TierFor([]Outcome{{Class: Uncontrolled}}, c); tier != Red {
		t.Errorf("configured rule: uncontrolled → %s", tier)
	}
	if tier, _ := TierFor([]Outcome{{Class: Uncontrolled}}, DefaultConfig()); tier != Yellow {
		t.Errorf("default rule: uncontrolled → %s", tier)
	}
	for _, bad := range []string{`{"BPTargetSBP": 190}`, `{"RoutineDays": 0}`, `{"Tiers": {"Urgent": "purple", "ByClass": {}}}`, `{"Nonsense": 1}`, `{"PrevalenceBP": {"hypertension": 20000}}`} {
		if _, err := LoadConfig(strings.NewReader(bad)); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
}
