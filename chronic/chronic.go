// Package chronic is chronic disease management for the "2+3" diseases
// (hypertension, type 2 diabetes, severe mental disorders, tuberculosis,
// hepatitis): the rules of the National Basic Public Health Service
// Specification, 3rd edition (国家基本公共卫生服务规范（第三版）, 2017;
// policy-rules.md §1) by name — screening, urgent-transfer criteria,
// classification of each follow-up visit, the next visit's date — and the
// traffic-light tiers (红黄绿) that decide which level manages a patient.
//
// Everything here is pure: functions of a visit, the patient's previous
// visits and a Config whose defaults are the spec's numbers. Parameters
// marked [U] in policy-rules.md are Config fields, never constants.
package chronic

import (
	"countycare/care"
)

// Disease is a managed chronic disease.
type Disease string

// The "2+3" diseases (seed 004).
const (
	Hypertension Disease = "hypertension" // 高血压
	Diabetes     Disease = "diabetes"     // 2 型糖尿病
	Mental       Disease = "mental"       // 严重精神障碍
	Tuberculosis Disease = "tb"           // 肺结核
	Hepatitis    Disease = "hepatitis"    // 病毒性肝炎（乙肝、丙肝）
)

// Diseases lists every managed disease.
var Diseases = []Disease{Hypertension, Diabetes, Mental, Tuberculosis, Hepatitis}

// Valid reports whether d is one of Diseases.
func (d Disease) Valid() bool {
	for _, x := range Diseases {
		if x == d {
			return true
		}
	}
	return false
}

// Symptom is a symptom or sign recorded at a follow-up, with the codes of
// the national follow-up forms.
type Symptom string

// Symptoms of the hypertension and diabetes follow-up forms and the
// urgent-transfer criteria (规范第三版 高血压/2 型糖尿病患者健康管理服务规范).
const (
	SymConsciousness    Symptom = "consciousness"      // 意识改变
	SymSevereHeadache   Symptom = "severe_headache"    // 剧烈头痛或头晕
	SymNauseaVomiting   Symptom = "nausea_vomiting"    // 恶心呕吐
	SymBlurredVision    Symptom = "blurred_vision"     // 视力模糊
	SymEyePain          Symptom = "eye_pain"           // 眼痛
	SymPalpitations     Symptom = "palpitations"       // 心悸
	SymChestTightness   Symptom = "chest_tightness"    // 胸闷
	SymOrthopnoea       Symptom = "orthopnoea"         // 喘憋不能平卧
	SymFruityBreath     Symptom = "fruity_breath"      // 呼气有烂苹果样丙酮味
	SymSweating         Symptom = "sweating"           // 多汗
	SymDeepBreathing    Symptom = "deep_breathing"     // 深大呼吸
	SymFlushedSkin      Symptom = "flushed_skin"       // 皮肤潮红
	SymSuddenVisionLoss Symptom = "sudden_vision_loss" // 视力骤降
	SymPolyuria         Symptom = "polyuria"           // 多饮多食多尿（症状记录）
	SymNumbness         Symptom = "numbness"           // 手脚麻木（症状记录）
	SymOedema           Symptom = "oedema"             // 下肢水肿（症状记录）
)

// Adherence is medication adherence (服药依从性).
type Adherence string

// Adherence values of the national forms.
const (
	AdherenceRegular      Adherence = "regular"      // 规律
	AdherenceIntermittent Adherence = "intermittent" // 间断
	AdherenceNone         Adherence = "none"         // 不服药
)

// Visit is one follow-up (随访) as entered. Vital signs use integer units:
// blood pressure in mmHg, glucose in tenths of mmol/L (FPG 7.0 = 70),
// weight in tenths of kg, temperature in tenths of °C; zero means not measured.
type Visit struct {
	Disease               Disease
	Date                  care.Date
	FaceToFace            bool // false: by phone
	SBP, DBP              int
	HeartRate             int
	FPG                   int // fasting plasma glucose, 0.1 mmol/L
	Temperature           int // 0.1 °C
	WeightDg              int // 0.1 kg
	HeightCm              int
	Symptoms              []Symptom
	Adherence             Adherence
	Adverse               bool // adverse drug reaction (药物不良反应)
	AdverseUncontrollable bool // the reaction cannot be controlled at primary level
	Complication          bool // a new or worsened complication (新发或原有并发症加重)
	Pregnant              bool // pregnant or lactating
	PriorStrokeMI         bool // history of stroke or myocardial infarction (for overdue risk)
	// Severe mental disorders.
	RiskLevel   int  // 危险性评估 0–5
	Insight     bool // 自知力完整
	Symptomatic bool // obvious psychotic symptoms
	// Tuberculosis.
	DosesDue    int // doses due since the last visit
	DosesMissed int
}

// HasSymptom reports whether v records s.
func (v *Visit) HasSymptom(s Symptom) bool {
	for _, x := range v.Symptoms {
		if x == s {
			return true
		}
	}
	return false
}

// BMI returns body-mass index in tenths (24.5 → 245), 0 if unmeasured.
func (v *Visit) BMI() int {
	if v.WeightDg <= 0 || v.HeightCm <= 0 {
		return 0
	}
	// weight(kg) / height(m)² × 10 = (WeightDg/10) / (HeightCm/100)² × 10 = WeightDg × 10000 / HeightCm²
	return (v.WeightDg*10000 + v.HeightCm*v.HeightCm/2) / (v.HeightCm * v.HeightCm)
}
