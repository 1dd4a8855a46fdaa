// Package rx is prescribing and regional prescription review (区域审方): the
// formulary, the e-prescription and its lines, the rules of the 2007
// prescription regulations (处方管理办法) and the 2021 long-term
// prescription rules (长期处方管理规范（试行）) by name, the online
// restrictions of internet care, and the review engine that checks every
// prescription against a compiled knowledge base (doses for age and weight,
// frequency, duration, duplicate therapy, drug–drug interactions, allergy,
// contraindications, indication vs diagnosis, class restrictions by
// institution level).
//
// The rules and the engine are pure functions; Service signs, queues for
// review and dispenses through a Repository, with audit rows. No SQL, no
// HTTP. The knowledge base is data in rx/kb (see its README for provenance
// and licence), embedded and compiled once into flat tables so that Review
// does no allocation of its own.
package rx

import (
	"slices"

	"countycare/care"
)

// Flags are a drug's regulatory classes.
type Flags uint8

// Drug classes that change who may prescribe, where and for how long.
const (
	Narcotic                Flags = 1 << iota // 麻醉药品
	Psychotropic                              // 精神药品（本库按第二类管理）
	Antimicrobial                             // 抗菌药物（含抗结核药）
	RestrictedAntimicrobial                   // 限制使用级抗菌药物
	Toxic                                     // 医疗用毒性药品
	Essential                                 // 国家基本药物
)

// Levels is a set of institution levels allowed to prescribe a drug.
type Levels uint8

// Institution levels, as in org.Level.
const (
	AtVillage  Levels = 1 << iota // 村卫生室
	AtTownship                    // 乡镇卫生院（一级）
	AtCounty                      // 县级医院（二级）及以上
)

// LevelOf maps an org.Level string to its bit; levels above the county
// count as county. An unknown level gives 0, which allows nothing.
func LevelOf(level string) Levels {
	switch level {
	case "village":
		return AtVillage
	case "township":
		return AtTownship
	case "county", "city", "province", "national":
		return AtCounty
	}
	return 0
}

// DoseRange is a drug's usual dose in its dose unit. MaxPerDay is the most
// administrations a day; ChildMaxPerKg the largest single dose per kg of
// body weight for children (0: no paediatric dosing in the knowledge base).
type DoseRange struct {
	MinSingle, MaxSingle, MaxDaily float64
	MaxPerDay                      int
	ChildMaxPerKg                  float64
}

// RenalLimit says what to do below an eGFR (mL/min/1.73 m²): Avoid
// (contraindicated) or reduce the dose.
type RenalLimit struct {
	Below int
	Avoid bool
}

// Caution grades of the knowledge base. Pregnancy uses X, D and C;
// lactation X, A (avoid, or stop breastfeeding) and C; hepatic X and C.
const (
	CautionContraindicate byte = 'X' // 禁用
	CautionAvoid          byte = 'D' // 避免使用（有明确风险）
	CautionCare           byte = 'C' // 慎用
)

// Drug is one formulary entry (药品目录条目): a product at one strength.
// InsuranceCode is the 23-character national insurance drug code, set per
// province (policy-rules.md §7, [U]); the shipped knowledge base leaves it
// empty.
type Drug struct {
	Code          string // our formulary code, e.g. "amlodipine-5t"
	NameZH        string
	NameEN        string
	Form          string  // tab, cap, inj, aerosol, powder, liquid
	Strength      float64 // dose units per tablet, capsule, vial, puff…
	Unit          string  // dose unit: mg, ug, g, IU, wIU (万单位), ml
	Route         string  // po, sl, sc, im, iv, inh
	InsuranceCode string
	ATC           []string // WHO ATC codes, first the main one
	Flags         Flags
	Levels        Levels
	Dose          DoseRange
	MinAgeMonths  int  // contraindicated below this age
	Pregnancy     byte // X, D, C or 0
	Lactation     byte // 'A' avoid, 'C' care, or 0
	Hepatic       byte // X or C or 0: severe hepatic impairment
	Renal         []RenalLimit
	Indications   []string // ICD-10 prefixes; "*" for any
}

// Kind is the kind of prescription, which sets its longest supply.
type Kind string

// Prescription kinds (处方管理办法 第十八、十九条; 长期处方管理规范).
const (
	KindNormal    Kind = "normal"    // 普通处方: ≤ 7 days
	KindEmergency Kind = "emergency" // 急诊处方: ≤ 3 days
	KindChronic   Kind = "chronic"   // 慢性病、老年病或特殊情况: longer, with a reason
	KindLongTerm  Kind = "long_term" // 长期处方: ≤ 4 weeks, ≤ 12 weeks when stable
)

// Valid reports whether k is a known kind.
func (k Kind) Valid() bool {
	return k == KindNormal || k == KindEmergency || k == KindChronic || k == KindLongTerm
}

// Patient is what the review needs to know about the patient. Zero values
// mean unknown: EGFR 0 is "not measured", WeightKg 0 "not weighed".
type Patient struct {
	AgeMonths         int
	WeightKg          float64
	Pregnant          bool
	Lactating         bool
	EGFR              int
	HepaticImpairment bool     // severe (Child-Pugh C) or as the doctor records it
	Allergies         []string // ATC codes/prefixes, formulary codes or allergy group names (penicillin, sulfonamide…)
}

// Line is one drug on a prescription. Dose is per administration in
// DoseUnit (the drug's unit, a convertible mass unit, or a count of
// tablets/capsules); Quantity is the number of units dispensed (tablets,
// capsules, vials, inhalers, sachets or, for liquids, millilitres).
type Line struct {
	DrugCode  string
	Dose      float64
	DoseUnit  string
	Frequency string // qd, bid, tid, qid, q6h, q8h, q12h, qn, qod, qw, biw, st, prn
	Route     string
	Days      int
	Quantity  float64
	Diagnosis string // ICD-10; empty: the prescription's diagnoses
	// OverdoseSigned records that the prescriber marked an intended
	// overdose and signed again (超剂量再次签名).
	OverdoseSigned bool
}

// Prescription is an e-prescription as signed by the prescriber.
type Prescription struct {
	Issued           care.Date
	ValidDays        int // extra days of validity the prescriber allowed, ≤ 3
	Kind             Kind
	Reason           string // why a chronic prescription runs longer
	Stable           bool   // long-term: the condition is stable (病情稳定)
	Online           bool   // issued at an online follow-up visit
	GuardianPresent  bool   // online, a child under 6: a guardian is present
	InstitutionLevel string // org.Level of the prescribing institution
	Diagnoses        []string
	Patient          Patient
	Lines            []Line
}

// AllDiagnoses lists the prescription's diagnoses and then its lines'
// own, each once, in order.
func (p *Prescription) AllDiagnoses() []string {
	out := slices.Clone(p.Diagnoses)
	for _, l := range p.Lines {
		if l.Diagnosis != "" && !slices.Contains(out, l.Diagnosis) {
			out = append(out, l.Diagnosis)
		}
	}
	return out
}

// Severity grades a finding. Block stops the prescription (the doctor must
// change it); Warn sends it to a pharmacist; Info is shown, nothing more.
type Severity uint8

// Severities, in increasing order.
const (
	Info Severity = iota + 1
	Warn
	Block
)

func (s Severity) String() string {
	switch s {
	case Info:
		return "info"
	case Warn:
		return "warning"
	case Block:
		return "block"
	}
	return "unknown"
}

// Finding is one problem the review found. Line and Other are 1-based line
// numbers (0: the prescription as a whole). Value and Limit carry the
// numbers behind a dose or duration finding. ZH, EN and Source are static
// strings from the rules or the knowledge base, so a finding costs no
// allocation.
type Finding struct {
	Rule     string
	Severity Severity
	Line     int
	Other    int
	Value    float64
	Limit    float64
	ZH       string
	EN       string
	Source   string
}

// Outcome summarises findings: Block if any blocks, Warn if any warns,
// otherwise clean (0).
func Outcome(fs []Finding) Severity {
	var worst Severity
	for i := range fs {
		if fs[i].Severity > worst {
			worst = fs[i].Severity
		}
	}
	if worst == Info {
		return 0
	}
	return worst
}
