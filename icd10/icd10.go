// Package icd10 is the one rule for what the platform accepts as an ICD-10
// diagnosis code (policy-rules.md §7: ICD-10 国家临床版 2.0 for records,
// 医保版 2.0 for insurance): the WHO category — a letter and two digits
// (I10) — optionally followed by a dot and one to seven letters or digits,
// which covers the WHO subdivisions (I10.9 is not used, E11.9 is) and the
// national editions' extension codes (E11.900, I10.x00x002). Codes are
// compared upper-case with no spaces (Normalize): the national editions
// write a lower-case x that other systems upper-case.
//
// Every package that takes a diagnosis — consultations, referrals,
// prescriptions, chronic special-outpatient certifications, online visits
// — checks it here, so a code one accepts the others accept too. Whether
// the code exists in a given edition is not checked: the editions are not
// shipped with the platform.
package icd10

import "strings"

// MaxLen is the longest code: a category, a dot and seven characters
// (I10.x00x002 has eleven).
const MaxLen = 11

// Normalize upper-cases a code and removes spaces.
func Normalize(code string) string {
	return strings.ToUpper(strings.ReplaceAll(strings.TrimSpace(code), " ", ""))
}

// Valid reports whether code, once normalised, has the shape of an ICD-10
// code: a letter, two digits, and optionally a dot and one to seven
// letters or digits.
func Valid(code string) bool {
	c := Normalize(code)
	if len(c) < 3 || len(c) > MaxLen || c[0] < 'A' || c[0] > 'Z' || !digit(c[1]) || !digit(c[2]) {
		return false
	}
	if len(c) == 3 {
		return true
	}
	if c[3] != '.' || len(c) == 4 {
		return false
	}
	for i := 4; i < len(c); i++ {
		if !digit(c[i]) && (c[i] < 'A' || c[i] > 'Z') {
			return false
		}
	}
	return true
}

func digit(b byte) bool { return b >= '0' && b <= '9' }

// Category returns the three-character category of a valid code (E11.900 →
// E11), or "" for an invalid one.
func Category(code string) string {
	if !Valid(code) {
		return ""
	}
	return Normalize(code)[:3]
}

// chapters are the 22 chapters of ICD-10 (WHO, 2019 edition) by category
// range; chapter XXII holds the codes for special purposes (U00–U85, e.g.
// U07.1 COVID-19).
var chapters = []struct {
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
	{"U00", "U85", "XXII 用于特殊目的的编码"},
}

// Chapter returns the chapter of a code, or "" if the code is not valid
// or its category is in no chapter (E99, P97…). Only the category is
// checked, not that the subdivision exists.
func Chapter(code string) string {
	cat := Category(code)
	if cat == "" {
		return ""
	}
	for _, c := range chapters {
		if cat >= c.From && cat <= c.To {
			return c.Title
		}
	}
	return ""
}
