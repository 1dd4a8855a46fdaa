package rx

import "countycare/care"

// Sources cited by findings.
const (
	SrcRx2007       = "处方管理办法（卫生部令第53号，2007）"
	SrcRx2007Art6   = "处方管理办法（2007）第六条"
	SrcRx2007Art18  = "处方管理办法（2007）第十八条"
	SrcRx2007Art19  = "处方管理办法（2007）第十九条"
	SrcRx2007Art23  = "处方管理办法（2007）第二十三、二十四条 [U]"
	SrcLongTerm2021 = "长期处方管理规范（试行）（国卫办医发〔2021〕17号）"
	SrcInternet     = "互联网诊疗管理办法（试行）（2018）第十九条；互联网诊疗监管细则（试行）（2022）"
	SrcAntimicrobe  = "抗菌药物临床应用管理办法（卫生部令第84号，2012）分级管理 [U]"
	SrcNarcotics    = "麻醉药品和精神药品管理条例（2005）[U]"
	SrcInsert       = "药品说明书 / 国家基本药物处方集（rx/kb/formulary.psv，[U]）"
	SrcONC          = "ONC high-priority DDI list (Phansalkar et al., JAMIA 2012;19(5):735-743)"
	SrcLabel        = "药品说明书/US FDA prescribing information（rx/kb/interactions.psv，[U]）"
	SrcATC          = "WHO ATC classification (same 4th level), rx/kb"
	SrcAllergy      = "药品说明书【禁忌】对本品或同类药物过敏者禁用；过敏类别见 rx/kb/allergy.psv"
)

// Config holds the numbers of the prescription rules. The regulations'
// own numbers are defaults; those marked [U] are local choices a province
// or county may change.
type Config struct {
	MaxLines          int // 每张处方不得超过5种药品 (2007 art. 6)
	ValidityExtension int // valid on the day of issue, extendable to ≤ 3 days (2007 art. 18)
	NormalDays        int // ≤ 7 days' supply (2007 art. 19)
	EmergencyDays     int // ≤ 3 days (2007 art. 19)
	ChronicDays       int // [U] "longer, with a reason" (2007 art. 19): no number in the rule; 30
	LongTermDays      int // ≤ 4 weeks normally (2021)
	LongTermMaxDays   int // ≤ 12 weeks for stable patients (2021)
	NarcoticDays      int // 麻醉药品/第一类精神药品 non-injection forms ≤ 3 days (2007 art. 23)
	PsychotropicDays  int // 第二类精神药品 ≤ 7 days (2007 art. 24)
	OnlineGuardianAge int // online care for children under 6 only with a guardian (2018)
	ChildAgeYears     int // [U] paediatric dosing below this age: 14 (儿科 in China)
	SupplyTolerance   float64
}

// DefaultConfig returns the regulations' numbers.
func DefaultConfig() Config {
	return Config{MaxLines: 5, ValidityExtension: 3, NormalDays: 7, EmergencyDays: 3, ChronicDays: 30,
		LongTermDays: 28, LongTermMaxDays: 84, NarcoticDays: 3, PsychotropicDays: 7, OnlineGuardianAge: 6,
		ChildAgeYears: 14, SupplyTolerance: 1.0}
}

// PrescriptionValidOn reports whether a prescription issued on issued, with
// ext extra days of validity granted by the prescriber, may still be
// dispensed on day: 处方开具当日有效；特殊情况下需延长有效期的，由开具处方
// 的医师注明有效期限，但有效期最长不得超过3天 (2007 art. 18). An extension
// beyond the limit counts as the limit.
func PrescriptionValidOn(c Config, issued care.Date, ext int, day care.Date) bool {
	if ext < 0 {
		ext = 0
	}
	if ext > c.ValidityExtension {
		ext = c.ValidityExtension
	}
	return !day.Before(issued) && !day.After(issued.AddDays(ext))
}

// LinesWithinLimit reports whether a prescription of n drugs respects
// 开具西药、中成药处方，每一种药品应当另起一行，每张处方不得超过5种药品
// (2007 art. 6).
func LinesWithinLimit(c Config, n int) bool { return n <= c.MaxLines }

// MaxSupplyDays is the longest supply a prescription of kind k may carry:
// 处方一般不得超过7日用量；急诊处方一般不得超过3日用量；对于某些慢性病、老年病
// 或特殊情况，处方用量可适当延长，但医师应当注明理由 (2007 art. 19);
// 长期处方用量一般不超过4周，根据慢性病特点，病情稳定的患者适当延长，最长不超过
// 12周 (2021). A chronic prescription without a reason gets the normal limit.
func MaxSupplyDays(c Config, k Kind, reason string, stable bool) int {
	switch k {
	case KindEmergency:
		return c.EmergencyDays
	case KindChronic:
		if reason == "" {
			return c.NormalDays
		}
		return c.ChronicDays
	case KindLongTerm:
		if stable {
			return c.LongTermMaxDays
		}
		return c.LongTermDays
	}
	return c.NormalDays
}

// AllowedOnLongTerm reports whether a drug may be on a long-term
// prescription: 医疗用毒性药品、放射性药品、易制毒药品、麻醉药品、第一类和第二类
// 精神药品、抗微生物药物（治疗结核等慢性细菌真菌感染性疾病的除外）……不得用于
// 长期处方 (2021 long-term prescription rules). TB drugs are the exception.
func AllowedOnLongTerm(d *Drug) bool {
	if d.Flags&(Narcotic|Psychotropic|Toxic) != 0 {
		return false
	}
	if d.Flags&Antimicrobial != 0 {
		for _, a := range d.ATC {
			if len(a) >= 3 && a[:3] == "J04" {
				return true
			}
		}
		return false
	}
	return true
}

// AllowedOnline reports whether a drug may be prescribed at an online
// visit: 不得开具麻醉药品、精神药品等特殊管理药品的处方 (internet care rules
// 2018 art. 19, policy-rules.md §4).
func AllowedOnline(d *Drug) bool { return d.Flags&(Narcotic|Psychotropic) == 0 }

// OnlineChildNeedsGuardian reports whether an online prescription for a
// child of ageMonths needs a guardian present: 为6岁以下儿童开具互联网儿童用药
// 处方时，应当确认患儿有监护人和相关专业医师陪伴 (2018).
func OnlineChildNeedsGuardian(c Config, ageMonths int) bool {
	return ageMonths < c.OnlineGuardianAge*12
}

// ClassMaxDays is the longest supply for a drug's special class, or 0 when
// the class sets none: 麻醉药品、第一类精神药品 injections one dose, other
// forms ≤ 3 days; 第二类精神药品 ≤ 7 days (2007 arts. 23–24).
func ClassMaxDays(c Config, d *Drug) int {
	switch {
	case d.Flags&Narcotic != 0 && d.Form == "inj":
		return 1
	case d.Flags&Narcotic != 0:
		return c.NarcoticDays
	case d.Flags&Psychotropic != 0:
		return c.PsychotropicDays
	}
	return 0
}

// AllowedAtLevel reports whether an institution of level may prescribe d
// (graded antimicrobial use; narcotics only where the institution holds a
// licence, which the knowledge base records as the county level).
func AllowedAtLevel(d *Drug, level Levels) bool { return d.Levels&level != 0 }
