// Package pharmacy is the drug side of prescribing at the county's
// institutions (药房与药品供应): the formulary each institution level may
// stock, stock by lot (batch and expiry) with a movements ledger that never
// goes negative, the "at least 5 drugs per chronic disease class" rule,
// low-stock alerts, supply orders from village and township clinics to the
// county pharmacy, dispensing that takes stock first-expiry-first-out, and
// what follows dispensing: payment through settlement, then delivery to
// the resident's address or pick-up at their village clinic.
//
// The rules here are pure functions; Service applies them through a
// Repository, with scope checks and audit rows. No SQL, no HTTP.
package pharmacy

import (
	"math"
	"slices"
	"strings"
	"time"

	"countycare/care"
	"countycare/rx"
)

// ChronicClass is a chronic disease class of the "2+3" package (seed 004):
// hypertension, diabetes, severe mental disorder, tuberculosis, hepatitis.
type ChronicClass string

// The chronic disease classes whose drugs a primary clinic must stock.
const (
	Hypertension ChronicClass = "hypertension" // 高血压
	Diabetes     ChronicClass = "diabetes"     // 糖尿病
	Mental       ChronicClass = "mental"       // 严重精神障碍
	Tuberculosis ChronicClass = "tuberculosis" // 肺结核
	Hepatitis    ChronicClass = "hepatitis"    // 慢性病毒性肝炎
)

// Classes lists the chronic classes in display order.
var Classes = []ChronicClass{Hypertension, Diabetes, Mental, Tuberculosis, Hepatitis}

// classDiagnoses are the ICD-10 prefixes of each class. A drug belongs to
// a class when one of its knowledge-base indications (rx/kb) starts with
// one of them, so the classes follow the knowledge base, not a second list.
var classDiagnoses = map[ChronicClass][]string{
	Hypertension: {"I10", "I11", "I12", "I13", "I15"},
	Diabetes:     {"E10", "E11", "E12", "E13", "E14"},
	Mental:       {"F20", "F22", "F25", "F31", "F06", "F70", "F71", "F72", "F79"},
	Tuberculosis: {"A15", "A16", "A17", "A18", "A19"},
	Hepatitis:    {"B18"},
}

// MinDrugsPerClass is the rule that township and village clinics stock at
// least 5 drugs for each chronic disease class (DOMAIN.md §4, seed 004:
// 每类慢病配备不少于5种药品). A parameter, not a constant of the code.
const MinDrugsPerClass = 5

// ClassesOf returns the chronic classes drug d treats, from its
// indications ("*", any indication, counts for none).
func ClassesOf(d *rx.Drug) []ChronicClass {
	var out []ChronicClass
	for _, c := range Classes {
		if hasPrefix(d.Indications, classDiagnoses[c]) {
			out = append(out, c)
		}
	}
	return out
}

func hasPrefix(inds, prefixes []string) bool {
	for _, ind := range inds {
		for _, p := range prefixes {
			if strings.HasPrefix(ind, p) || (len(ind) < len(p) && strings.HasPrefix(p, ind) && len(ind) >= 3) {
				return true
			}
		}
	}
	return false
}

// MayStock reports whether an institution of level (org.Level) may stock
// and prescribe drug d: the knowledge base's level flags (V/T/C), the
// same rule rx.AllowedAtLevel applies to prescribing.
func MayStock(d *rx.Drug, level string) bool { return d != nil && d.Levels&rx.LevelOf(level) != 0 }

// FormularyEntry is one drug of an institution level's formulary (药品目录).
type FormularyEntry struct {
	Drug    *rx.Drug
	Classes []ChronicClass
	Price   Price // zero if the county's price list lacks the drug
}

// Formulary lists the drugs an institution of level may stock, in
// knowledge-base order, with their chronic classes and prices.
func Formulary(kb *rx.KB, prices PriceList, level string) []FormularyEntry {
	var out []FormularyEntry
	for i := range kb.Drugs {
		d := &kb.Drugs[i]
		if MayStock(d, level) {
			out = append(out, FormularyEntry{Drug: d, Classes: ClassesOf(d), Price: prices[d.Code]})
		}
	}
	return out
}

// Lot is the stock of one batch of a drug at one institution (批号、效期).
// Quantity is in dispensing units (tablets, capsules, vials, inhalers,
// millilitres) and is never negative.
type Lot struct {
	ID            int64
	County        string
	InstitutionID int64
	DrugCode      string
	Batch         string
	Expiry        care.Date
	Quantity      int64
}

// Usable reports whether the lot may still be dispensed on day: a drug is
// usable up to and including its expiry date (有效期至).
func (l *Lot) Usable(day care.Date) bool { return l.Quantity > 0 && !l.Expiry.Before(day) }

// Movement kinds of the stock ledger (库存台账).
const (
	MoveReceipt  = "receipt"  // 入库: a supply order received, an opening balance
	MoveDispense = "dispense" // 发药
	MoveAdjust   = "adjust"   // 盘点调整, with a reason
	MoveExpire   = "expire"   // 过期报损
	MoveReturn   = "return"   // 退药: an undelivered or cancelled order back on the shelf
)

// Movement is one line of the stock ledger. Delta is signed; the sum of a
// lot's movements is its quantity.
type Movement struct {
	ID            int64
	County        string
	InstitutionID int64
	LotID         int64
	DrugCode      string
	Kind          string
	Delta         int64
	Reason        string
	Ref           string // "rx:12", "supply:7"
	AccountID     int64
	At            time.Time
}

// Take is what dispensing takes from one lot.
type Take struct {
	LotID    int64
	DrugCode string
	Batch    string
	Expiry   care.Date
	Quantity int64
}

// Short is one drug a dispensing cannot cover: needed, and usable on hand.
type Short struct {
	DrugCode string
	Need     int64
	Have     int64
}

// Units converts a prescription line's quantity into whole dispensing
// units (a part tablet or millilitre is rounded up: the patient gets the
// whole unit). Zero or negative quantities are refused by rx validation.
func Units(q float64) int64 { return int64(math.Ceil(q - 1e-9)) }

// AllocateFEFO takes need units of each drug from lots, first expiry first
// out (近效期先出, the issuing order of good storage practice, GSP 药品经营
// 质量管理规范 2016 [U: article not verified]), skipping lots expired on day; lots of one expiry go by
// ID (oldest receipt first). If any drug is short it returns nil and the
// shortages, so nothing is taken at all.
func AllocateFEFO(lots []Lot, need map[string]int64, day care.Date) ([]Take, []Short) {
	// Only the lots of needed drugs, sorted by drug, expiry, ID.
	sorted := make([]Lot, 0, 4*len(need))
	for i := range lots {
		if _, ok := need[lots[i].DrugCode]; ok {
			sorted = append(sorted, lots[i])
		}
	}
	slices.SortFunc(sorted, func(a, b Lot) int {
		if c := strings.Compare(a.DrugCode, b.DrugCode); c != 0 {
			return c
		}
		if c := dateKey(a.Expiry) - dateKey(b.Expiry); c != 0 {
			return c
		}
		return int(a.ID - b.ID)
	})
	codes := make([]string, 0, len(need))
	for c := range need {
		codes = append(codes, c)
	}
	slices.Sort(codes)
	var takes []Take
	var shorts []Short
	for _, code := range codes {
		left := need[code]
		var have int64
		for i := range sorted {
			l := &sorted[i]
			if l.DrugCode != code || !l.Usable(day) {
				continue
			}
			have += l.Quantity
			if left > 0 {
				n := min(left, l.Quantity)
				takes = append(takes, Take{LotID: l.ID, DrugCode: code, Batch: l.Batch, Expiry: l.Expiry, Quantity: n})
				left -= n
			}
		}
		if left > 0 {
			shorts = append(shorts, Short{DrugCode: code, Need: need[code], Have: have})
		}
	}
	if len(shorts) > 0 {
		return nil, shorts
	}
	return takes, nil
}

// dateKey orders dates without building a time.Time.
func dateKey(d care.Date) int { return d.Year*10000 + int(d.Month)*100 + d.Day }

// Shortfall is a chronic class with fewer drugs in stock than the rule asks.
type Shortfall struct {
	Class   ChronicClass
	Have    []string // drug codes in stock (usable quantity > 0)
	Need    int
	Missing int
	Options []string // drugs of the class the level may stock and the clinic has none of
}

// Shortfalls checks the MinDrugsPerClass rule (DOMAIN.md §4, seed 004) for
// an institution of level holding lots on day. It lists each class short
// of min distinct drugs, with the drugs that could fill the gap.
func Shortfalls(kb *rx.KB, level string, lots []Lot, day care.Date, min int) []Shortfall {
	inStock := map[string]bool{}
	for i := range lots {
		if lots[i].Usable(day) {
			inStock[lots[i].DrugCode] = true
		}
	}
	byClass := map[ChronicClass]*Shortfall{}
	for _, c := range Classes {
		byClass[c] = &Shortfall{Class: c, Need: min}
	}
	for i := range kb.Drugs {
		d := &kb.Drugs[i]
		if !MayStock(d, level) {
			continue
		}
		for _, c := range ClassesOf(d) {
			sf := byClass[c]
			if inStock[d.Code] {
				sf.Have = append(sf.Have, d.Code)
			} else {
				sf.Options = append(sf.Options, d.Code)
			}
		}
	}
	var out []Shortfall
	for _, c := range Classes {
		if sf := byClass[c]; len(sf.Have) < min {
			sf.Missing = min - len(sf.Have)
			out = append(out, *sf)
		}
	}
	return out
}
