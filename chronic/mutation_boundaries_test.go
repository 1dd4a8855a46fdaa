package chronic

// Boundary tests added for mutation testing (issue 18 §6). Each case sits
// on a threshold of the national spec (国家基本公共卫生服务规范 第三版) as
// quoted on the rule's function and in policy-rules.md §1, one step on
// either side, so that moving a threshold by one unit fails a test.
//
// These tests look only at the urgent-transfer reasons, the next-visit
// dates and the refer flag, never at the class of an urgent visit (whether
// an urgent visit can be "controlled" is being decided separately).

import (
	"slices"
	"strings"
	"testing"
	"time"
)

func urgentHas(rs []string, key string) bool { return slices.Contains(rs, key) }

// TestDiabetesUrgentThresholds pins 2 型糖尿病患者健康管理服务规范
// 二、服务内容(二)1: glucose ≥ 16.7 or ≤ 3.9 mmol/L; SBP ≥ 180 and/or DBP ≥
// 110; HR > 100; temperature > 39 °C; hyperglycaemia (FPG ≥ 7.0) in
// pregnancy. Glucose in 0.1 mmol/L, temperature in 0.1 °C.
func TestDiabetesUrgentThresholds(t *testing.T) {
	d := day("2026-05-01")
	for _, tt := range []struct {
		name string
		v    Visit
		key  string
		want bool
	}{
		{"FPG 16.6 not urgent", Visit{Date: d, FPG: 166}, "chronic.urgent.glucose", false},
		{"FPG 16.7 urgent (≥)", Visit{Date: d, FPG: 167}, "chronic.urgent.glucose", true},
		{"FPG 4.0 not urgent", Visit{Date: d, FPG: 40}, "chronic.urgent.glucose", false},
		{"FPG 3.9 urgent (≤)", Visit{Date: d, FPG: 39}, "chronic.urgent.glucose", true},
		{"FPG not measured (0) is not hypoglycaemia", Visit{Date: d}, "chronic.urgent.glucose", false},
		{"SBP 179 not urgent", Visit{Date: d, FPG: 60, SBP: 179, DBP: 100}, "chronic.urgent.bp", false},
		{"SBP 180 urgent (≥)", Visit{Date: d, FPG: 60, SBP: 180, DBP: 100}, "chronic.urgent.bp", true},
		{"DBP 109 not urgent", Visit{Date: d, FPG: 60, SBP: 170, DBP: 109}, "chronic.urgent.bp", false},
		{"DBP 110 urgent (≥)", Visit{Date: d, FPG: 60, SBP: 170, DBP: 110}, "chronic.urgent.bp", true},
		{"HR 100 not urgent (> 100)", Visit{Date: d, FPG: 60, HeartRate: 100}, "chronic.urgent.heart_rate", false},
		{"HR 101 urgent", Visit{Date: d, FPG: 60, HeartRate: 101}, "chronic.urgent.heart_rate", true},
		{"39.0 °C not urgent (> 39)", Visit{Date: d, FPG: 60, Temperature: 390}, "chronic.urgent.fever", false},
		{"39.1 °C urgent", Visit{Date: d, FPG: 60, Temperature: 391}, "chronic.urgent.fever", true},
		{"pregnant, FPG 6.9 not urgent", Visit{Date: d, FPG: 69, Pregnant: true}, "chronic.urgent.pregnancy_glucose", false},
		{"pregnant, FPG 7.0 urgent (≥ 7.0)", Visit{Date: d, FPG: 70, Pregnant: true}, "chronic.urgent.pregnancy_glucose", true},
		{"not pregnant, FPG 7.0 no pregnancy reason", Visit{Date: d, FPG: 70}, "chronic.urgent.pregnancy_glucose", false},
	} {
		o := ClassifyDiabetesVisit(&tt.v, "", cfg)
		if got := urgentHas(o.Urgent, tt.key); got != tt.want {
			t.Errorf("%s: urgent %v, want %s present=%v", tt.name, o.Urgent, tt.key, tt.want)
		}
		// Any urgent reason: transfer now and follow up within 2 weeks.
		if len(o.Urgent) > 0 && (o.Action != "chronic.action.urgent_transfer" || o.NextVisit != d.AddDays(14)) {
			t.Errorf("%s: urgent visit gives %s next %s, want urgent_transfer in 14 days", tt.name, o.Action, o.NextVisit)
		}
	}
	// Every diabetes urgent symptom of 二(二)1 is a reason.
	for _, s := range []Symptom{SymConsciousness, SymFruityBreath, SymPalpitations, SymSweating, SymDeepBreathing, SymFlushedSkin, SymSuddenVisionLoss} {
		o := ClassifyDiabetesVisit(&Visit{Date: d, FPG: 60, Symptoms: []Symptom{s}}, "", cfg)
		if !slices.Equal(o.Urgent, []string{"chronic.urgent.symptom." + string(s)}) {
			t.Errorf("symptom %s: urgent %v", s, o.Urgent)
		}
	}
}

// TestHypertensionUrgentThresholds pins 高血压患者健康管理服务规范
// 二、服务内容(二)1: SBP ≥ 180 and/or DBP ≥ 110; raised BP (≥ 140/90, the
// general target of 二(三)) in pregnancy or lactation.
func TestHypertensionUrgentThresholds(t *testing.T) {
	d := day("2026-05-01")
	for _, tt := range []struct {
		name string
		v    Visit
		key  string
		want bool
	}{
		{"179/109 not urgent", Visit{Date: d, SBP: 179, DBP: 109}, "chronic.urgent.bp", false},
		{"180/100 urgent", Visit{Date: d, SBP: 180, DBP: 100}, "chronic.urgent.bp", true},
		{"170/110 urgent", Visit{Date: d, SBP: 170, DBP: 110}, "chronic.urgent.bp", true},
		{"pregnant 139/89 not urgent", Visit{Date: d, SBP: 139, DBP: 89, Pregnant: true}, "chronic.urgent.pregnancy_bp", false},
		{"pregnant 140/80 urgent", Visit{Date: d, SBP: 140, DBP: 80, Pregnant: true}, "chronic.urgent.pregnancy_bp", true},
		{"pregnant 130/90 urgent", Visit{Date: d, SBP: 130, DBP: 90, Pregnant: true}, "chronic.urgent.pregnancy_bp", true},
		{"not pregnant 150/95 no pregnancy reason", Visit{Date: d, SBP: 150, DBP: 95}, "chronic.urgent.pregnancy_bp", false},
	} {
		o := ClassifyHypertensionVisit(&tt.v, 30, "", cfg)
		if got := urgentHas(o.Urgent, tt.key); got != tt.want {
			t.Errorf("%s: urgent %v, want %s present=%v", tt.name, o.Urgent, tt.key, tt.want)
		}
	}
	for _, s := range []Symptom{SymConsciousness, SymSevereHeadache, SymNauseaVomiting, SymBlurredVision, SymEyePain, SymPalpitations, SymChestTightness, SymOrthopnoea} {
		o := ClassifyHypertensionVisit(&Visit{Date: d, SBP: 130, DBP: 80, Symptoms: []Symptom{s}}, 50, "", cfg)
		if !slices.Equal(o.Urgent, []string{"chronic.urgent.symptom." + string(s)}) {
			t.Errorf("symptom %s: urgent %v", s, o.Urgent)
		}
	}
}

// TestBPTargetBoundaries pins 高血压患者健康管理服务规范 二(三) as configured
// in policy-rules.md §1.1: at target when SBP < 140 and DBP < 90; from age
// 65 ([U] ElderlyAge) < 150 and < 90.
func TestBPTargetBoundaries(t *testing.T) {
	for _, tt := range []struct {
		sbp, dbp, age int
		want          bool
	}{
		{139, 89, 64, true}, {140, 89, 64, false}, {139, 90, 64, false},
		{149, 89, 65, true}, {150, 89, 65, false}, {149, 90, 65, false},
		{149, 89, 64, false}, // 64: the general target still applies
	} {
		if got := BPAtTarget(tt.sbp, tt.dbp, tt.age, cfg); got != tt.want {
			t.Errorf("BPAtTarget(%d/%d, age %d) = %v, want %v", tt.sbp, tt.dbp, tt.age, got, tt.want)
		}
	}
	// A visit with only one pressure recorded is not assessed (needs both).
	d := day("2026-05-01")
	for _, v := range []Visit{{Date: d, SBP: 130}, {Date: d, DBP: 80}} {
		if o := ClassifyHypertensionVisit(&v, 50, "", cfg); o.Class != NotAssessed || o.Action != "chronic.action.measure" || o.NextVisit != d.AddDays(14) {
			t.Errorf("%d/%d: %s %s %s, want not assessed, measure within 14 days", v.SBP, v.DBP, o.Class, o.Action, o.NextVisit)
		}
	}
}

// TestReferralRules pins 二、服务内容(三) of both specs: refer (and follow up
// within 2 weeks, AfterTransferDays) after two consecutive uncontrolled
// visits (code 1), an uncontrollable adverse reaction (code 2), a new
// complication (code 3); a first adverse reaction adjusts and rechecks in 2
// weeks; a controlled visit returns in ~3 months.
func TestReferralRules(t *testing.T) {
	d := day("2026-05-01")
	c := cfg
	c.AfterTransferDays, c.RecheckDays, c.RoutineDays = 13, 15, 91 // distinct, to tell the intervals apart
	for _, tt := range []struct {
		name    string
		v       Visit
		prev    Class
		reasons []string
		action  string
		days    int
	}{
		{"controlled", Visit{Date: d, FPG: 60}, Uncontrolled, nil, "chronic.action.routine", 91},
		{"first uncontrolled", Visit{Date: d, FPG: 80}, Controlled, nil, "chronic.action.adjust_recheck", 15},
		{"uncontrolled after adverse is not two uncontrolled", Visit{Date: d, FPG: 80}, Adverse, nil, "chronic.action.adjust_recheck", 15},
		{"second uncontrolled", Visit{Date: d, FPG: 80}, Uncontrolled, []string{ReferTwoUncontrolled}, "chronic.action.refer", 13},
		{"adverse, controllable", Visit{Date: d, FPG: 60, Adverse: true}, "", nil, "chronic.action.adjust_recheck", 15},
		{"adverse, uncontrollable", Visit{Date: d, FPG: 60, Adverse: true, AdverseUncontrollable: true}, "", []string{ReferAdverseUncontrollable}, "chronic.action.refer", 13},
		{"uncontrollable flag without adverse reaction", Visit{Date: d, FPG: 60, AdverseUncontrollable: true}, "", nil, "chronic.action.routine", 91},
		{"complication", Visit{Date: d, FPG: 60, Complication: true}, "", []string{ReferNewComplication}, "chronic.action.refer", 13},
		{"not measured", Visit{Date: d}, Uncontrolled, nil, "chronic.action.measure", 15},
	} {
		o := ClassifyDiabetesVisit(&tt.v, tt.prev, c)
		if !slices.Equal(o.ReferReasons, tt.reasons) || o.Refer != (len(tt.reasons) > 0) || o.Action != tt.action || o.NextVisit != d.AddDays(tt.days) {
			t.Errorf("%s: reasons %v refer %v %s next %s; want %v %s +%d", tt.name, o.ReferReasons, o.Refer, o.Action, o.NextVisit, tt.reasons, tt.action, tt.days)
		}
	}
}

// TestMentalBoundaries pins 严重精神障碍患者管理服务规范 二、服务内容(三):
// unstable at risk level 3–5, obvious symptoms without insight, a serious
// adverse reaction or physical illness; basically stable at risk 1–2,
// symptoms, lost insight or an adverse reaction; stable otherwise.
func TestMentalBoundaries(t *testing.T) {
	d := day("2026-05-01")
	c := cfg
	c.MentalUnstableDays, c.MentalBasicDays, c.MentalBasicThenDays, c.MentalStableDays = 12, 14, 30, 90
	for _, tt := range []struct {
		name  string
		v     Visit
		class Class
		days  int
	}{
		{"risk 2", Visit{Date: d, RiskLevel: 2, Insight: true}, BasicallyStable, 14},
		{"risk 3", Visit{Date: d, RiskLevel: 3, Insight: true}, Unstable, 12},
		{"risk 0 symptomatic with insight", Visit{Date: d, Insight: true, Symptomatic: true}, BasicallyStable, 14},
		{"risk 0 lost insight, no symptoms", Visit{Date: d}, BasicallyStable, 14},
		{"adverse reaction, controllable", Visit{Date: d, Insight: true, Adverse: true}, BasicallyStable, 14},
		{"adverse reaction, serious", Visit{Date: d, Insight: true, Adverse: true, AdverseUncontrollable: true}, Unstable, 12},
		{"physical illness", Visit{Date: d, Insight: true, Complication: true}, Unstable, 12},
		{"stable", Visit{Date: d, Insight: true}, Stable, 90},
	} {
		o := ClassifyMentalVisit(&tt.v, "", c)
		if o.Class != tt.class || o.NextVisit != d.AddDays(tt.days) {
			t.Errorf("%s: %s next %s, want %s +%d", tt.name, o.Class, o.NextVisit, tt.class, tt.days)
		}
		if (o.Class == Unstable) != (len(o.Urgent) > 0) {
			t.Errorf("%s: urgent %v for class %s (only unstable transfers at once)", tt.name, o.Urgent, o.Class)
		}
	}
}

// TestTBBoundaries pins 肺结核患者健康管理服务规范 二(二)/(三) and
// policy-rules.md §1.4 [U]: 规则服药 at ≥ 90 % of doses; family supervision in
// the intensive phase every 10 days, otherwise monthly; first visit within 72 h.
func TestTBBoundaries(t *testing.T) {
	if !TBRegular(27, 30, cfg) || TBRegular(26, 30, cfg) || TBRegular(0, 0, cfg) {
		t.Error("TBRegular: 27/30 = 90 % is regular, 26/30 is not, no doses due is not")
	}
	d := day("2026-05-04")
	for _, tt := range []struct {
		phase, sup string
		days       int
	}{
		{TBIntensive, SupervisorFamily, 10},
		{TBIntensive, SupervisorStaff, 30},
		{TBContinuation, SupervisorFamily, 30},
	} {
		o := TBNextVisit(&Visit{Date: d}, tt.phase, tt.sup, cfg)
		if o.NextVisit != d.AddDays(tt.days) || o.Class != NotAssessed || o.Action != "chronic.action.tb_supervise" {
			t.Errorf("%s/%s: next %s %s %s, want +%d not assessed", tt.phase, tt.sup, o.NextVisit, o.Class, o.Action, tt.days)
		}
	}
	o := TBNextVisit(&Visit{Date: d, DosesDue: 30, DosesMissed: 4}, TBIntensive, SupervisorFamily, cfg)
	if o.Action != "chronic.action.tb_adherence" {
		t.Errorf("irregular medication action %s", o.Action)
	}
	n := time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC)
	c := cfg
	c.TBFirstVisitHours = 48
	if got := TBFirstVisitDue(n, c); !got.Equal(n.Add(48 * time.Hour)) {
		t.Errorf("first visit due %v with 48 h configured", got)
	}
}

// TestScreeningBoundaries pins 高血压患者健康管理服务规范 二、服务内容(一):
// a raised reading is SBP ≥ 140 and/or DBP ≥ 90; 3 different days.
func TestScreeningBoundaries(t *testing.T) {
	for _, tt := range []struct {
		sbp, dbp int
		raised   bool
	}{{139, 89, false}, {140, 70, true}, {120, 90, true}} {
		rs := []Reading{{day("2026-03-01"), tt.sbp, tt.dbp}, {day("2026-03-02"), tt.sbp, tt.dbp}, {day("2026-03-03"), tt.sbp, tt.dbp}}
		ok, n := SuspectedHypertension(rs, cfg)
		if ok != tt.raised || (n == 3) != tt.raised {
			t.Errorf("%d/%d on 3 days: suspected %v (%d days), want %v", tt.sbp, tt.dbp, ok, n, tt.raised)
		}
	}
}

// TestAssessDispatch pins Assess: each disease uses its own spec's rule
// (policy-rules.md §1.1–1.5), the hepatitis interval being a parameter.
func TestAssessDispatch(t *testing.T) {
	d := day("2026-05-01")
	v := Visit{Date: d, SBP: 130, DBP: 80, FPG: 80, RiskLevel: 0, Insight: true}
	for dis, rule := range map[Disease]string{
		Hypertension: "高血压", Diabetes: "糖尿病", Mental: "严重精神障碍", Tuberculosis: "肺结核", Hepatitis: "§1.5",
	} {
		o := Assess(&v, &Registration{Disease: dis}, 50, cfg)
		if !strings.Contains(o.Rule, rule) {
			t.Errorf("%s: rule %q, want %q", dis, o.Rule, rule)
		}
	}
	if o := HepatitisNextVisit(&v, cfg); o.NextVisit != d.AddDays(90) {
		t.Errorf("hepatitis next %s, want +90 days", o.NextVisit)
	}
}

// TestTierBoundaries pins TierRules (seeds 001 and 004, DefaultTierRules):
// a referral visit is red even when its class alone is green; a visit not
// assessed but urgent still moves the tier; without rules the defaults apply.
func TestTierBoundaries(t *testing.T) {
	if tier, key := TierFor([]Outcome{{Class: Controlled, Refer: true}}, cfg); tier != Red || key != "chronic.tier.reason.red" {
		t.Errorf("referral visit: %s %s", tier, key)
	}
	if tier, _ := TierFor([]Outcome{{Class: NotAssessed, Urgent: []string{"chronic.urgent.bp"}}}, cfg); tier != Red {
		t.Errorf("urgent phone visit: %s", tier)
	}
	c := cfg
	c.Tiers = TierRules{}
	if tier, _ := TierFor([]Outcome{{Class: Unstable}}, c); tier != Red {
		t.Errorf("no rules configured: unstable → %s, want the default red", tier)
	}
	if tier, key := TierFor(nil, cfg); tier != cfg.UnassessedTier || key != "chronic.tier.reason.unassessed" {
		t.Errorf("no visit: %s %s", tier, key)
	}
}
