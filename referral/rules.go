package referral

import (
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
