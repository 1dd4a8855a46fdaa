package chronic

import (
	"time"

	"countycare/care"
)

// Config holds every number of the rules, with the spec's values as
// defaults (DefaultConfig). A county may change those marked [U] in
// policy-rules.md; the others are the spec's and are kept configurable
// only so a new edition can be followed without a code change.
type Config struct {
	// Hypertension (规范第三版 高血压患者健康管理服务规范).
	BPTargetSBP, BPTargetDBP           int // at target when SBP < 140 and DBP < 90
	ElderlyAge                         int // [U] age from which the elderly target applies: 65
	ElderlyTargetSBP, ElderlyTargetDBP int // [U] < 150/90
	UrgentSBP, UrgentDBP               int // urgent transfer at SBP ≥ 180 and/or DBP ≥ 110
	ScreenSBP, ScreenDBP               int // a raised screening reading: SBP ≥ 140 and/or DBP ≥ 90
	ScreenReadings                     int // raised readings on different days for suspected hypertension: 3
	ScreenMinAge                       int // annual free BP screening from age 35
	// Type 2 diabetes (2 型糖尿病患者健康管理服务规范). Glucose in 0.1 mmol/L.
	FPGTarget           int // at target when FPG < 7.0
	UrgentFPGHigh       int // urgent at glucose ≥ 16.7
	UrgentFPGLow        int // urgent at glucose ≤ 3.9
	UrgentHeartRate     int // urgent at HR > 100 (diabetes)
	UrgentTemperatureDC int // urgent at temperature > 39 °C (0.1 °C)
	// Intervals in days.
	RoutineDays           int // ~3 months between routine visits: 90
	RecheckDays           int // revisit within 2 weeks after an uncontrolled or adverse visit: 14
	AfterTransferDays     int // follow up within 2 weeks after a transfer or referral: 14
	MentalStableDays      int // [U] stable: every 3 months (another source: ≥ 3-monthly)
	MentalBasicDays       int // basically stable: revisit at 2 weeks
	MentalBasicThenDays   int // [U] then, if not yet stable: 1 month
	MentalUnstableDays    int // unstable: follow up within 2 weeks after transfer
	TBFirstVisitHours     int // first home visit within 72 h of notification
	TBIntensiveFamilyDays int // [U] family supervisor, intensive phase: every 10 days
	TBContinuationDays    int // [U] continuation phase, and medical-staff supervision: monthly
	TBRegularDosesRatio   int // [U] 规则服药: ≥ 90 % of doses taken (percent)
	HepatitisDays         int // [U] no national rule: every 3 months by default
	// Tiers.
	UnassessedTier Tier      // tier before a first assessed visit: green (the village clinic does the first follow-up)
	Tiers          TierRules // [U] which tier each kind of last visit gives (DefaultTierRules)
	// Overdue lists and reminders.
	CallHideDays     map[string]int // [U] days a call outcome hides a patient from the overdue list
	RemindersPerWeek int            // [U] at most this many reminder messages to one resident in 7 days
	// Indicators.
	PrevalenceBP     map[Disease]int // [U] prevalence among residents aged ≥ PrevalenceMinAge (basis points), for 健康管理率
	PrevalenceMinAge int             // [U] the age the prevalence figures are for: 18, adults (policy-rules.md §1.1 "resident adults × prevalence")
}

// DefaultConfig returns the spec's numbers (policy-rules.md §1).
func DefaultConfig() Config {
	return Config{
		BPTargetSBP: 140, BPTargetDBP: 90, ElderlyAge: 65, ElderlyTargetSBP: 150, ElderlyTargetDBP: 90,
		UrgentSBP: 180, UrgentDBP: 110, ScreenSBP: 140, ScreenDBP: 90, ScreenReadings: 3, ScreenMinAge: 35,
		FPGTarget: 70, UrgentFPGHigh: 167, UrgentFPGLow: 39, UrgentHeartRate: 100, UrgentTemperatureDC: 390,
		RoutineDays: 90, RecheckDays: 14, AfterTransferDays: 14,
		MentalStableDays: 90, MentalBasicDays: 14, MentalBasicThenDays: 30, MentalUnstableDays: 14,
		TBFirstVisitHours: 72, TBIntensiveFamilyDays: 10, TBContinuationDays: 30, TBRegularDosesRatio: 90,
		HepatitisDays: 90, UnassessedTier: Green, Tiers: DefaultTierRules(),
		CallHideDays:     map[string]int{CallAgreed: 7, CallRemindLater: 3, CallUnreachable: 2, CallMoved: 30},
		RemindersPerWeek: 1,
		// National adult prevalence as defaults (hypertension 27.9 %, China
		// Hypertension Survey 2012–2015; diabetes 11.2 %, 2017 national survey;
		// both among adults aged 18 and over), so the base is the residents
		// aged ≥ 18 (policy-rules.md §1.1: "resident adults × configurable
		// prevalence"). A county that estimates its own prevalence for another
		// age group sets both together.
		PrevalenceBP: map[Disease]int{Hypertension: 2790, Diabetes: 1120}, PrevalenceMinAge: 18,
	}
}

// Class is the classification of a follow-up visit (随访分类).
type Class string

// Classes of the national forms.
const (
	Controlled   Class = "controlled"       // 控制满意
	Uncontrolled Class = "uncontrolled"     // 控制不满意
	Adverse      Class = "adverse_reaction" // 不良反应
	Complication Class = "complication"     // 并发症
	NotAssessed  Class = "not_assessed"     // no reading to classify (e.g. a phone visit without BP)
	// Severe mental disorders.
	Stable          Class = "stable"           // 稳定
	BasicallyStable Class = "basically_stable" // 基本稳定
	Unstable        Class = "unstable"         // 不稳定
)

// Reasons for referral (转诊原因), with the codes a production
// community-health system uses (policy-rules.md §1.1).
const (
	ReferTwoUncontrolled       = "1" // 连续两次出现控制不满意
	ReferAdverseUncontrollable = "2" // 药物不良反应难以控制
	ReferNewComplication       = "3" // 出现新的并发症
	ReferWorseComplication     = "4" // 原有并发症加重
)

// Outcome is what a visit means: its class, urgent-transfer reasons, the
// referral proposal and the next visit's date, with the rule applied.
type Outcome struct {
	Class        Class
	Urgent       []string // urgent-transfer reasons (message keys chronic.urgent.*); non-empty: transfer now
	Refer        bool
	ReferReasons []string
	NextVisit    care.Date
	Action       string // message key of what to do now
	Rule         string // the spec clause applied
}

// UrgentHypertension lists the urgent-transfer criteria a hypertension
// visit meets (高血压患者健康管理服务规范 二、服务内容(二)1: SBP ≥ 180 and/or
// DBP ≥ 110; altered consciousness, severe headache or dizziness, nausea
// and vomiting, blurred vision, eye pain, palpitations, chest tightness,
// breathlessness preventing lying flat; raised BP in pregnancy or lactation).
func UrgentHypertension(v *Visit, c Config) []string {
	var r []string
	if v.SBP >= c.UrgentSBP || v.DBP >= c.UrgentDBP {
		r = append(r, "chronic.urgent.bp")
	}
	for _, s := range []Symptom{SymConsciousness, SymSevereHeadache, SymNauseaVomiting, SymBlurredVision, SymEyePain, SymPalpitations, SymChestTightness, SymOrthopnoea} {
		if v.HasSymptom(s) {
			r = append(r, "chronic.urgent.symptom."+string(s))
		}
	}
	if v.Pregnant && (v.SBP >= c.BPTargetSBP || v.DBP >= c.BPTargetDBP) {
		r = append(r, "chronic.urgent.pregnancy_bp")
	}
	return r
}

// UrgentDiabetes lists the urgent-transfer criteria a diabetes visit meets
// (2 型糖尿病患者健康管理服务规范 二、服务内容(二)1: glucose ≥ 16.7 or ≤ 3.9
// mmol/L; SBP ≥ 180 and/or DBP ≥ 110; altered consciousness, fruity breath,
// palpitations, sweating, deep rapid breathing, flushed skin; HR > 100;
// temperature > 39 °C; sudden vision loss; hyperglycaemia in pregnancy or lactation).
func UrgentDiabetes(v *Visit, c Config) []string {
	var r []string
	if v.FPG > 0 && (v.FPG >= c.UrgentFPGHigh || v.FPG <= c.UrgentFPGLow) {
		r = append(r, "chronic.urgent.glucose")
	}
	if v.SBP >= c.UrgentSBP || v.DBP >= c.UrgentDBP {
		r = append(r, "chronic.urgent.bp")
	}
	for _, s := range []Symptom{SymConsciousness, SymFruityBreath, SymPalpitations, SymSweating, SymDeepBreathing, SymFlushedSkin, SymSuddenVisionLoss} {
		if v.HasSymptom(s) {
			r = append(r, "chronic.urgent.symptom."+string(s))
		}
	}
	if v.HeartRate > c.UrgentHeartRate {
		r = append(r, "chronic.urgent.heart_rate")
	}
	if v.Temperature > c.UrgentTemperatureDC {
		r = append(r, "chronic.urgent.fever")
	}
	if v.Pregnant && v.FPG >= c.FPGTarget {
		r = append(r, "chronic.urgent.pregnancy_glucose")
	}
	return r
}

// BPAtTarget reports whether a reading is at the target for the patient's
// age: < 140/90, or < 150/90 from age 65 ([U]: the ≥ 65 target is a parameter).
func BPAtTarget(sbp, dbp, age int, c Config) bool {
	ts, td := c.BPTargetSBP, c.BPTargetDBP
	if age >= c.ElderlyAge {
		ts, td = c.ElderlyTargetSBP, c.ElderlyTargetDBP
	}
	return sbp < ts && dbp < td
}

// ClassifyHypertensionVisit classifies a hypertension follow-up per
// 高血压患者健康管理服务规范 二、服务内容(三): controlled (BP at target, no
// adverse reaction, no new or worse complication) → next routine visit in
// about 3 months; first uncontrolled visit or first adverse reaction →
// adjust the drugs and revisit within 2 weeks; two consecutive uncontrolled
// visits, an uncontrollable adverse reaction or a new or worse complication
// → refer up and follow up within 2 weeks. Urgent criteria come first:
// transfer at once, follow up within 2 weeks. prev is the previous visit's
// class ("" if none).
func ClassifyHypertensionVisit(v *Visit, age int, prev Class, c Config) Outcome {
	return classify(v, prev, c, UrgentHypertension(v, c), func() (bool, bool) {
		if v.SBP == 0 || v.DBP == 0 {
			return false, false
		}
		return true, BPAtTarget(v.SBP, v.DBP, age, c)
	}, "高血压患者健康管理服务规范 二(三)")
}

// ClassifyDiabetesVisit classifies a type 2 diabetes follow-up per 2 型
// 糖尿病患者健康管理服务规范 二、服务内容(三): satisfied when FPG < 7.0 mmol/L;
// first FPG ≥ 7.0 or adverse reaction → adjust, revisit within 2 weeks; two
// consecutive unsatisfied visits, an uncontrollable reaction or a new or
// worse complication → refer, follow up within 2 weeks.
func ClassifyDiabetesVisit(v *Visit, prev Class, c Config) Outcome {
	return classify(v, prev, c, UrgentDiabetes(v, c), func() (bool, bool) {
		if v.FPG == 0 {
			return false, false
		}
		return true, FPGAtTarget(v.FPG, c)
	}, "2 型糖尿病患者健康管理服务规范 二(三)")
}

// FPGAtTarget reports whether a fasting glucose (0.1 mmol/L) is at the
// control target: below 7.0 mmol/L (2 型糖尿病患者健康管理服务规范 二(三)1)
// and above the urgent-transfer low of 3.9 mmol/L (二(二)1): a glucose that
// sends the patient to hospital is hypoglycaemia, not control.
func FPGAtTarget(fpg int, c Config) bool {
	return fpg > c.UrgentFPGLow && fpg < c.FPGTarget
}

// classify applies the common rule of the hypertension and diabetes forms.
// A visit that meets any urgent-transfer criterion (二、服务内容(二)1 of
// both specs: the values, the symptoms, heart rate, fever, pregnancy) is
// never controlled: the spec's 控制满意 presupposes a patient who stays at
// the primary level, and an urgent transfer is the opposite. A measured
// visit with an urgent criterion is therefore uncontrolled (and counts as
// such towards the two-in-a-row referral rule), whatever the target says.
func classify(v *Visit, prev Class, c Config, urgent []string, atTarget func() (measured, ok bool), rule string) Outcome {
	o := Outcome{Urgent: urgent, Rule: rule}
	measured, ok := atTarget()
	switch {
	case !measured:
		o.Class = NotAssessed
	case v.Complication:
		o.Class = Complication
	case !ok || len(urgent) > 0:
		o.Class = Uncontrolled
	case v.Adverse:
		o.Class = Adverse
	default:
		o.Class = Controlled
	}
	if v.Complication {
		o.Refer, o.ReferReasons = true, append(o.ReferReasons, ReferNewComplication)
	}
	if v.Adverse && v.AdverseUncontrollable {
		o.Refer, o.ReferReasons = true, append(o.ReferReasons, ReferAdverseUncontrollable)
	}
	if o.Class == Uncontrolled && prev == Uncontrolled {
		o.Refer, o.ReferReasons = true, append(o.ReferReasons, ReferTwoUncontrolled)
	}
	switch {
	case len(urgent) > 0:
		o.Action, o.NextVisit = "chronic.action.urgent_transfer", v.Date.AddDays(c.AfterTransferDays)
	case o.Refer:
		o.Action, o.NextVisit = "chronic.action.refer", v.Date.AddDays(c.AfterTransferDays)
	case o.Class == Uncontrolled || o.Class == Adverse:
		o.Action, o.NextVisit = "chronic.action.adjust_recheck", v.Date.AddDays(c.RecheckDays)
	case o.Class == NotAssessed:
		o.Action, o.NextVisit = "chronic.action.measure", v.Date.AddDays(c.RecheckDays)
	default:
		o.Action, o.NextVisit = "chronic.action.routine", v.Date.AddDays(c.RoutineDays)
	}
	return o
}

// ClassifyMentalVisit classifies a severe-mental-disorder follow-up per
// 严重精神障碍患者管理服务规范 二、服务内容(三): unstable (risk level 3–5, or
// obvious psychotic symptoms without insight, or a serious adverse
// reaction or physical illness) → transfer at once and follow up within 2
// weeks; basically stable (risk 1–2, or symptoms, or lost insight) →
// revisit at 2 weeks, then after 3 months if stable, else 1 month ([U]);
// stable (risk 0, insight, no symptoms, no adverse reaction) → every 3 months.
// prev is the previous class: a basically-stable patient seen again
// basically stable moves to the monthly interval.
func ClassifyMentalVisit(v *Visit, prev Class, c Config) Outcome {
	o := Outcome{Rule: "严重精神障碍患者管理服务规范 二(三)"}
	switch {
	case v.RiskLevel >= 3 || v.Symptomatic && !v.Insight || v.Adverse && v.AdverseUncontrollable || v.Complication:
		o.Class, o.Urgent = Unstable, []string{"chronic.urgent.mental_risk"}
		o.Action, o.NextVisit = "chronic.action.urgent_transfer", v.Date.AddDays(c.MentalUnstableDays)
	case v.RiskLevel >= 1 || v.Symptomatic || !v.Insight || v.Adverse:
		o.Class, o.Action = BasicallyStable, "chronic.action.mental_basic"
		days := c.MentalBasicDays
		if prev == BasicallyStable {
			days = c.MentalBasicThenDays
		}
		o.NextVisit = v.Date.AddDays(days)
	default:
		o.Class, o.Action, o.NextVisit = Stable, "chronic.action.routine", v.Date.AddDays(c.MentalStableDays)
	}
	return o
}

// TBFirstVisitDue is when the first home visit to a notified tuberculosis
// patient is due: within 72 hours of the notice (肺结核患者健康管理服务规范
// 二、服务内容(二)).
func TBFirstVisitDue(notified time.Time, c Config) time.Time {
	return notified.Add(time.Duration(c.TBFirstVisitHours) * time.Hour)
}

// TB treatment phases and supervisors.
const (
	TBIntensive      = "intensive"    // 强化期
	TBContinuation   = "continuation" // 继续期
	SupervisorStaff  = "staff"        // 医务人员督导
	SupervisorFamily = "family"       // 家庭成员督导
)

// TBNextVisit dates the next supervision visit: a family supervisor is
// visited every 10 days in the intensive phase and monthly in the
// continuation phase; medical-staff supervision is recorded at least
// monthly ([U], policy-rules.md §1.4).
func TBNextVisit(v *Visit, phase, supervisor string, c Config) Outcome {
	o := Outcome{Class: NotAssessed, Action: "chronic.action.tb_supervise", Rule: "肺结核患者健康管理服务规范 二(三)"}
	days := c.TBContinuationDays
	if supervisor == SupervisorFamily && phase == TBIntensive {
		days = c.TBIntensiveFamilyDays
	}
	if v.DosesDue > 0 {
		if TBRegular(v.DosesDue-v.DosesMissed, v.DosesDue, c) {
			o.Class = Controlled
		} else {
			o.Class = Uncontrolled
			o.Action = "chronic.action.tb_adherence"
		}
	}
	o.NextVisit = v.Date.AddDays(days)
	return o
}

// TBRegular reports regular medication (规则服药): at least 90 % of the
// doses taken ([U]).
func TBRegular(taken, due int, c Config) bool {
	return due > 0 && taken*100 >= due*c.TBRegularDosesRatio
}

// HepatitisNextVisit dates the next hepatitis visit: no national rule was
// retrieved, so the interval is a parameter (policy-rules.md §1.5).
func HepatitisNextVisit(v *Visit, c Config) Outcome {
	return Outcome{Class: NotAssessed, Action: "chronic.action.routine", NextVisit: v.Date.AddDays(c.HepatitisDays), Rule: "policy-rules.md §1.5 [U]"}
}

// Reading is one blood-pressure measurement at screening.
type Reading struct {
	Date     care.Date
	SBP, DBP int
}

// SuspectedHypertension applies the screening rule (高血压患者健康管理服务规范
// 二、服务内容(一)): raised readings (SBP ≥ 140 and/or DBP ≥ 90) on 3
// different days make a suspected case, to be referred for confirmation.
// It returns whether the rule is met and the days counted.
func SuspectedHypertension(readings []Reading, c Config) (bool, int) {
	days := map[care.Date]bool{}
	for _, r := range readings {
		if r.SBP >= c.ScreenSBP || r.DBP >= c.ScreenDBP {
			days[r.Date] = true
		}
	}
	return len(days) >= c.ScreenReadings, len(days)
}

// Assess applies the rule of the registration's disease to a visit: the
// classification of the hypertension, diabetes or mental-disorder forms
// (given the previous visit's class, r.LastClass), the TB supervision
// schedule or the hepatitis interval. age is the patient's age on the visit.
func Assess(v *Visit, r *Registration, age int, c Config) Outcome {
	switch r.Disease {
	case Hypertension:
		return ClassifyHypertensionVisit(v, age, r.LastClass, c)
	case Diabetes:
		return ClassifyDiabetesVisit(v, r.LastClass, c)
	case Mental:
		return ClassifyMentalVisit(v, r.LastClass, c)
	case Tuberculosis:
		return TBNextVisit(v, r.TBPhase, r.TBSupervisor, c)
	}
	return HepatitisNextVisit(v, c)
}
