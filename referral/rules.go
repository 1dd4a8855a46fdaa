package referral

import (
	"regexp"
	"strings"

	"countycare/chronic"
)

// Reason is a coded reason for an up-referral (转诊原因).
type Reason string

// Hypertension up-referral criteria (高血压患者上转指征), policy-rules.md §3,
// from the national guideline for primary-care hypertension management
// (国家基层高血压防治管理指南) [V-2nd]: refer on an appointment.
const (
	HTNNotAtTarget     Reason = "htn_not_at_target"    // 规律治疗 2–3 个月血压仍未达标
	HTNHardToControl   Reason = "htn_hard_to_control"  // 血压控制平稳后再度升高且难以控制
	HTNOrganDamage     Reason = "htn_organ_damage"     // 出现新的靶器官损害
	HTNAdverseReaction Reason = "htn_adverse_reaction" // 出现不能解释的药物不良反应
	HTNPregnancy       Reason = "htn_pregnancy"        // 妊娠或哺乳期
)

// Hypertension emergency-transfer criteria (紧急转诊指征), policy-rules.md §3
// [V-2nd]: the referral is an emergency whatever the sender chose.
const (
	EmConsciousness   Reason = "em_consciousness"    // 意识丧失或模糊
	EmSevereBP        Reason = "em_severe_bp"        // 血压 ≥ 180/110 伴剧烈头痛、呕吐或突发言语障碍/肢体瘫痪
	EmChestBackPain   Reason = "em_chest_back_pain"  // 血压升高伴剧烈胸痛或背痛（疑主动脉夹层）
	EmPulmonaryOedema Reason = "em_pulmonary_oedema" // 血压升高伴急性肺水肿（喘憋不能平卧）
	EmSuspectedACS    Reason = "em_suspected_acs"    // 疑急性冠脉综合征: to a hospital able to perform PCI
)

// Chronic-care referral reasons, the codes of chronic.Refer* (policy-rules.md
// §1.1), so a referral proposed by a follow-up keeps its reason.
const (
	ChronicTwoUncontrolled       Reason = "chronic_two_uncontrolled"       // chronic.ReferTwoUncontrolled: 连续两次控制不满意
	ChronicAdverseUncontrollable Reason = "chronic_adverse_uncontrollable" // chronic.ReferAdverseUncontrollable: 药物不良反应难以控制
	ChronicNewComplication       Reason = "chronic_new_complication"       // chronic.ReferNewComplication: 出现新的并发症
	ChronicWorseComplication     Reason = "chronic_worse_complication"     // chronic.ReferWorseComplication: 原有并发症加重
)

// Other reasons.
const (
	OtherDiagnosis Reason = "diagnosis_unclear" // 诊断不明需进一步检查
	OtherBeyond    Reason = "beyond_capacity"   // 超出本机构诊疗能力
)

// Reasons lists every reason code in display order.
var Reasons = []Reason{EmConsciousness, EmSevereBP, EmChestBackPain, EmPulmonaryOedema, EmSuspectedACS,
	HTNNotAtTarget, HTNHardToControl, HTNOrganDamage, HTNAdverseReaction, HTNPregnancy,
	ChronicTwoUncontrolled, ChronicAdverseUncontrollable, ChronicNewComplication, ChronicWorseComplication,
	OtherDiagnosis, OtherBeyond}

// Valid reports whether r is one of Reasons.
func (r Reason) Valid() bool {
	for _, x := range Reasons {
		if x == r {
			return true
		}
	}
	return false
}

// IsEmergency reports whether r is an emergency-transfer criterion.
func (r Reason) IsEmergency() bool { return strings.HasPrefix(string(r), "em_") }

// FromChronic maps a chronic follow-up's referral reason (chronic.Refer*)
// to its code here; "" for an unknown code.
func FromChronic(code string) Reason {
	switch code {
	case chronic.ReferTwoUncontrolled:
		return ChronicTwoUncontrolled
	case chronic.ReferAdverseUncontrollable:
		return ChronicAdverseUncontrollable
	case chronic.ReferNewComplication:
		return ChronicNewComplication
	case chronic.ReferWorseComplication:
		return ChronicWorseComplication
	}
	return ""
}

// UrgencyFor returns the urgency a referral must have: Emergency when any
// reason is an emergency-transfer criterion, otherwise what was chosen.
func UrgencyFor(chosen Urgency, reasons []Reason) Urgency {
	for _, r := range reasons {
		if r.IsEmergency() {
			return Emergency
		}
	}
	return chosen
}

// icd10Format is the shape of an ICD-10 code: a letter (U is reserved
// for special purposes and not accepted here), two digits (the third
// character may be A or B in a few chapters' extensions), and optionally
// a dot and one to four subdivision characters (ICD-10 and the Chinese
// clinical edition 国家临床版 2.0, e.g. I10.x00x → accepted as I10.X00X).
var icd10Format = regexp.MustCompile(`^[A-TV-Z][0-9][0-9AB](\.[0-9A-Z]{1,4})?$`)

// icd10Chapters are the 22 chapters of ICD-10 (2019) by category range;
// a code must fall in one. Chapter XXII (U00–U85) is left out.
var icd10Chapters = []struct {
	From, To string
	Title    string
}{
	{"A00", "B99", "I 某些传染病和寄生虫病"},
	{"C00", "D48", "II 肿瘤"},
	{"D50", "D89", "III 血液及造血器官疾病和某些免疫疾患"},
	{"E00", "E90", "IV 内分泌、营养和代谢疾病"},
	{"F00", "F99", "V 精神和行为障碍"},
	{"G00", "G99", "VI 神经系统疾病"},
	{"H00", "H59", "VII 眼和附器疾病"},
	{"H60", "H95", "VIII 耳和乳突疾病"},
	{"I00", "I99", "IX 循环系统疾病"},
	{"J00", "J99", "X 呼吸系统疾病"},
	{"K00", "K93", "XI 消化系统疾病"},
	{"L00", "L99", "XII 皮肤和皮下组织疾病"},
	{"M00", "M99", "XIII 肌肉骨骼系统和结缔组织疾病"},
	{"N00", "N99", "XIV 泌尿生殖系统疾病"},
	{"O00", "O99", "XV 妊娠、分娩和产褥期"},
	{"P00", "P96", "XVI 起源于围生期的某些情况"},
	{"Q00", "Q99", "XVII 先天性畸形、变形和染色体异常"},
	{"R00", "R99", "XVIII 症状、体征和临床与实验室异常所见"},
	{"S00", "T98", "XIX 损伤、中毒和外因的某些其他后果"},
	{"V01", "Y98", "XX 疾病和死亡的外因"},
	{"Z00", "Z99", "XXI 影响健康状态和与保健机构接触的因素"},
}

// NormalizeICD10 upper-cases a code and removes spaces.
func NormalizeICD10(code string) string {
	return strings.ToUpper(strings.ReplaceAll(strings.TrimSpace(code), " ", ""))
}

// ICD10Chapter returns the chapter of a normalised ICD-10 code, or "" if
// the code is malformed or in no chapter. Only the format and the
// category's chapter are checked, not that the subdivision exists.
func ICD10Chapter(code string) string {
	if !icd10Format.MatchString(code) {
		return ""
	}
	cat := code[:3]
	for _, c := range icd10Chapters {
		if cat >= c.From && cat <= c.To {
			return c.Title
		}
	}
	return ""
}
