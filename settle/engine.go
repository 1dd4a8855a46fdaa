// Package settle is the one-stop settlement engine (一站式结算): it splits
// a visit's bill between basic medical insurance, critical-illness
// insurance, medical assistance, supplementary insurance, the
// government's bottom line and the patient, exactly to the fen, and
// explains every amount (which rule, which base, which ratio).
//
// The engine is pure: Settle reads a Policy, a Claim and the patient's
// year-to-date Accumulators and returns a Result with the change to the
// accumulators. Storage, idempotency and reversal live in Ledger (in
// memory, the reference model) and in the store package (the database).
package settle

import (
	"fmt"
	"time"
)

// Line is one item of an itemised bill.
type Line struct {
	Code     string `json:"code"`
	Name     string `json:"name"`
	Class    string `json:"class"`    // drug, material, exam, treatment, bed, other (cost indicators)
	Category string `json:"category"` // insurance category: a key of Policy.Categories
	Amount   Fen    `json:"amount"`
}

// Item classes used by the cost indicators (药占比, 耗占比).
const (
	ClassDrug     = "drug"
	ClassMaterial = "material"
)

// Claim is one visit to settle.
type Claim struct {
	VisitID         string `json:"visit_id"`
	Date            string `json:"date"` // YYYY-MM-DD: decides the policy year
	VisitType       string `json:"visit_type"`
	ChronicCategory string `json:"chronic_category,omitempty"`
	Level           string `json:"level"`
	Referred        bool   `json:"referred"`
	Poverty         string `json:"poverty"` // "" or a resident poverty category
	Insured         bool   `json:"insured"` // enrolled in basic medical insurance this year
	Lines           []Line `json:"lines"`
}

// MaxLines bounds a bill.
const MaxLines = 2000

// Step is one line of an explanation: a message key (web/locales) and
// its arguments, already formatted (amounts in yuan, ratios in percent).
// An argument "kind:code" (visit:inpatient, level:county, tier:poor,
// poverty:illness) is a code the reader's language names.
type Step struct {
	Key  string   `json:"key"`
	Args []string `json:"args,omitempty"`
}

// LayerResult is what one payer layer did.
type LayerResult struct {
	Layer string `json:"layer"`
	Base  Fen    `json:"base"` // the amount the layer worked on
	Paid  Fen    `json:"paid"`
	Steps []Step `json:"steps,omitempty"`
}

// Result is a settled visit.
type Result struct {
	VisitID       string        `json:"visit_id"`
	PolicyCounty  string        `json:"policy_county"`
	PolicyYear    int           `json:"policy_year"`
	PolicyVersion int           `json:"policy_version"`
	Total         Fen           `json:"total"`
	Eligible      Fen           `json:"eligible"`   // 政策范围内费用
	Ineligible    Fen           `json:"ineligible"` // 自费 and 乙类先行自付
	Drugs         Fen           `json:"drugs"`
	Materials     Fen           `json:"materials"`
	Layers        []LayerResult `json:"layers"`
	Insurers      Fen           `json:"insurers"` // all layers together
	Patient       Fen           `json:"patient"`
	Delta         Accumulators  `json:"delta"` // added to the year-to-date accumulators (zero fields omitted)
}

// WithoutSteps returns a copy of r without the explanation, as stored:
// Explain derives it again from the bill, the accumulators before the
// visit and the policy.
func (r *Result) WithoutSteps() *Result {
	c := *r
	c.Layers = make([]LayerResult, len(r.Layers))
	for i, l := range r.Layers {
		l.Steps = nil
		c.Layers[i] = l
	}
	return &c
}

// Paid returns what layer paid (0 if absent).
func (r *Result) Paid(layer string) Fen {
	for _, l := range r.Layers {
		if l.Layer == layer {
			return l.Paid
		}
	}
	return 0
}

// ClaimError is a fault of the claim (bad input), naming what is wrong
// and the input field it is in (the form's and the API's name: "lines",
// "date", "visit_type", "chronic_category", "institution_id", "bill").
type ClaimError struct {
	Field string
	Key   string
	Args  []any
}

func (e *ClaimError) Error() string { return fmt.Sprintf("settle: %s: %s %v", e.Field, e.Key, e.Args) }

func claimErr(field, key string, args ...any) error { return &ClaimError{field, key, args} }

// Check validates a claim against a policy without settling it.
func (p *Policy) Check(c *Claim) error {
	day, err := time.Parse("2006-01-02", c.Date)
	if err != nil {
		return claimErr("date", "settle.date_invalid", c.Date)
	}
	if !p.Covers(day) {
		return claimErr("date", "settle.policy_not_in_force", c.Date, p.EffectiveFrom, p.EffectiveTo)
	}
	switch c.VisitType {
	case Inpatient, Outpatient:
	case Chronic:
		if _, ok := p.Chronic[c.ChronicCategory]; !ok {
			return claimErr("chronic_category", "settle.chronic_unknown", c.ChronicCategory)
		}
	default:
		return claimErr("visit_type", "settle.visit_type_invalid", c.VisitType)
	}
	if !contains(Levels, c.Level) {
		return claimErr("institution_id", "settle.level_invalid", c.Level)
	}
	if c.Poverty != "" && !contains(PovertyCategories, c.Poverty) {
		return claimErr("bill", "settle.poverty_invalid", c.Poverty)
	}
	if len(c.Lines) == 0 {
		return claimErr("lines", "settle.no_lines")
	}
	if len(c.Lines) > MaxLines {
		return claimErr("lines", "settle.too_many_lines", MaxLines)
	}
	var total Fen
	for i, l := range c.Lines {
		if _, ok := p.Categories[l.Category]; !ok {
			return claimErr("lines", "settle.category_unknown", i+1, l.Category)
		}
		if l.Amount < 0 {
			return claimErr("lines", "settle.amount_negative", i+1)
		}
		if l.Amount > 1e11 { // one billion yuan: a typing error, not a bill
			return claimErr("lines", "settle.amount_too_large", i+1)
		}
		total += l.Amount
	}
	// A bill of 0.00 yuan settles nothing: it would be a settlement with
	// no money in it that still uses up the visit (issue 18). A free item
	// on a bill with others is fine; a bill that is all free is not a claim.
	if total == 0 {
		return claimErr("lines", "settle.total_zero")
	}
	return nil
}

// Settle splits claim c under policy p, given the patient's accumulators
// for the policy year. It never pays a negative amount, never lets a
// layer pay more than its base or its remaining annual cap, and the
// layers plus the patient's share equal the bill to the fen.
// Errors are *ClaimError (bad claim) only.
func Settle(p *Policy, c *Claim, acc *Accumulators) (*Result, error) {
	if err := p.Check(c); err != nil {
		return nil, err
	}
	r := &Result{VisitID: c.VisitID, PolicyCounty: p.County, PolicyYear: p.Year, PolicyVersion: p.Version}
	for _, l := range c.Lines {
		r.Total += l.Amount
		r.Eligible += p.Categories[l.Category].Eligible.Of(l.Amount)
		switch l.Class {
		case ClassDrug:
			r.Drugs += l.Amount
		case ClassMaterial:
			r.Materials += l.Amount
		}
	}
	r.Ineligible = r.Total - r.Eligible
	d := &r.Delta
	remaining := r.Eligible // policy-range cost not yet paid by a layer
	paid := Fen(0)

	layers := []func() LayerResult{
		func() LayerResult { return p.basic(c, acc, d, remaining) },
		func() LayerResult { return p.critical(c, acc, d, remaining) },
		func() LayerResult {
			return simple(LayerAssistance, &p.Assistance, c, acc.AssistanceDeductible, acc.AssistancePaid, &d.AssistanceDeductible, &d.AssistancePaid, remaining)
		},
		func() LayerResult {
			if p.Supplementary == nil {
				return LayerResult{Layer: LayerSupplementary, Steps: []Step{{Key: "settle.layer.none"}}}
			}
			return simple(LayerSupplementary, p.Supplementary, c, acc.SupplementaryDeductible, acc.SupplementaryPaid, &d.SupplementaryDeductible, &d.SupplementaryPaid, remaining)
		},
		func() LayerResult { return p.bottomLine(c, acc, d, r, paid) },
	}
	for _, f := range layers {
		lr := f()
		if !c.Insured && lr.Layer != LayerBottomLine {
			lr = LayerResult{Layer: lr.Layer, Steps: []Step{{Key: "settle.not_insured"}}}
			d.clearLayer(lr.Layer)
		}
		if lr.Layer != LayerBottomLine {
			remaining -= lr.Paid
		}
		paid += lr.Paid
		r.Layers = append(r.Layers, lr)
	}
	r.Insurers = paid
	r.Patient = r.Total - paid
	// The patient's out-of-pocket spending on the bottom line's base, for its annual cap.
	base := r.Eligible
	if p.BottomLine != nil && p.BottomLine.Base == "total" {
		base = r.Total
	}
	d.OutOfPocket = max(0, base-paid)
	return r, nil
}

func (p *Policy) basic(c *Claim, acc *Accumulators, d *Accumulators, eligible Fen) LayerResult {
	lr := LayerResult{Layer: LayerBasic}
	var ded, dedLeft, capLeft Fen
	var ratio Ratio
	if c.VisitType == Chronic {
		cat := p.Chronic[c.ChronicCategory]
		ded, ratio = cat.Deductible, cat.Ratio
		dedLeft = max(0, cat.Deductible-acc.chronicDeductible(c.ChronicCategory))
		capLeft = min(max(0, cat.AnnualCap-acc.chronicPaid(c.ChronicCategory)), max(0, p.Basic.AnnualCap-acc.BasicPaid))
		lr.Steps = append(lr.Steps, Step{"settle.basic.chronic", []string{cat.Name, ratio.String(), cat.AnnualCap.String()}})
	} else {
		vr := p.Basic.Outpatient
		if c.VisitType == Inpatient {
			vr = p.Basic.Inpatient
		}
		rule := vr.Levels[c.Level]
		ded, ratio = rule.Deductible, rule.Ratio
		if vr.DeductibleScope == "annual" {
			dedLeft = max(0, rule.Deductible-acc.BasicOutpatientDeductible)
		} else {
			dedLeft = rule.Deductible
		}
		lr.Steps = append(lr.Steps, Step{"settle.basic.level", []string{"visit:" + c.VisitType, "level:" + c.Level, ratio.String()}})
		if c.Level == OutOfCounty && !c.Referred && p.Basic.UnreferredCut > 0 {
			ratio = max(0, ratio-p.Basic.UnreferredCut)
			lr.Steps = append(lr.Steps, Step{"settle.basic.unreferred", []string{p.Basic.UnreferredCut.String(), ratio.String()}})
		}
		capLeft = max(0, p.Basic.AnnualCap-acc.BasicPaid)
	}
	used := min(eligible, dedLeft)
	lr.Base = eligible - used
	lr.Steps = append(lr.Steps, Step{"settle.deductible", []string{ded.String(), used.String()}})
	pay := ratio.Of(lr.Base)
	lr.Steps = append(lr.Steps, Step{"settle.ratio", []string{lr.Base.String(), ratio.String(), pay.String()}})
	if pay > capLeft {
		pay = capLeft
		lr.Steps = append(lr.Steps, Step{"settle.cap", []string{capLeft.String()}})
	}
	lr.Paid = pay
	d.BasicPaid = pay
	if c.VisitType == Chronic {
		d.addChronic(c.ChronicCategory, used, pay)
	} else if c.VisitType == Outpatient && p.Basic.Outpatient.DeductibleScope == "annual" {
		d.BasicOutpatientDeductible = used
	}
	return lr
}

func (p *Policy) critical(c *Claim, acc *Accumulators, d *Accumulators, remaining Fen) LayerResult {
	lr := LayerResult{Layer: LayerCritical}
	if !contains(p.Critical.VisitTypes, c.VisitType) {
		lr.Steps = []Step{{Key: "settle.layer.not_for_visit"}}
		return lr
	}
	tier, name := p.Critical.Ordinary, "ordinary"
	if contains(p.Critical.PoorCategories, c.Poverty) {
		tier, name = p.Critical.Poor, "poor"
	}
	lr.Base = remaining
	lr.Steps = append(lr.Steps, Step{"settle.critical.tier", []string{"tier:" + name, tier.Deductible.String(), acc.CriticalBase.String()}})
	// The year's amount above the deductible before and after this visit;
	// each segment pays its ratio on the part of this visit inside it.
	x0 := max(0, acc.CriticalBase-tier.Deductible)
	x1 := max(0, acc.CriticalBase+remaining-tier.Deductible)
	var sum int64
	for _, s := range tier.Segments {
		hi := s.To
		if hi == 0 {
			hi = x1
		}
		lo, up := max(x0, s.From), min(x1, hi)
		if up > lo {
			sum += int64(up-lo) * int64(s.Ratio)
			lr.Steps = append(lr.Steps, Step{"settle.critical.segment", []string{s.From.String(), segEnd(s.To), (up - lo).String(), s.Ratio.String()}})
		}
	}
	pay := Fen(roundDiv(sum, int64(Full)))
	if x1 == 0 {
		lr.Steps = append(lr.Steps, Step{"settle.critical.below", []string{(tier.Deductible - acc.CriticalBase - remaining).String()}})
	}
	if tier.AnnualCap > 0 {
		if left := max(0, tier.AnnualCap-acc.CriticalPaid); pay > left {
			pay = left
			lr.Steps = append(lr.Steps, Step{"settle.cap", []string{left.String()}})
		}
	}
	pay = min(pay, remaining)
	lr.Paid = pay
	d.CriticalBase, d.CriticalPaid = remaining, pay
	return lr
}

func segEnd(to Fen) string {
	if to == 0 {
		return "∞"
	}
	return to.String()
}

// simple settles a layer with an annual deductible, ratio and cap per
// poverty category (medical assistance, supplementary insurance).
func simple(name string, l *SimpleLayer, c *Claim, dedUsed, paidYTD Fen, dDed, dPaid *Fen, remaining Fen) LayerResult {
	lr := LayerResult{Layer: name}
	rule, ok := l.Categories[c.Poverty]
	switch {
	case c.Poverty == "" || !ok:
		lr.Steps = []Step{{Key: "settle.layer.not_for_patient"}}
		return lr
	case !contains(l.VisitTypes, c.VisitType):
		lr.Steps = []Step{{Key: "settle.layer.not_for_visit"}}
		return lr
	}
	used := min(remaining, max(0, rule.Deductible-dedUsed))
	lr.Base = remaining - used
	pay := rule.Ratio.Of(lr.Base)
	lr.Steps = append(lr.Steps, Step{"settle.category", []string{"poverty:" + c.Poverty}},
		Step{"settle.deductible", []string{rule.Deductible.String(), used.String()}},
		Step{"settle.ratio", []string{lr.Base.String(), rule.Ratio.String(), pay.String()}})
	if rule.AnnualCap > 0 {
		if left := max(0, rule.AnnualCap-paidYTD); pay > left {
			pay = left
			lr.Steps = append(lr.Steps, Step{"settle.cap", []string{left.String()}})
		}
	}
	lr.Paid = pay
	*dDed, *dPaid = used, pay
	return lr
}

// bottomLine tops the poor patient's reimbursement up to the target share
// of the base and keeps their annual out-of-pocket spending under the cap.
func (p *Policy) bottomLine(c *Claim, acc *Accumulators, d *Accumulators, r *Result, paid Fen) LayerResult {
	lr := LayerResult{Layer: LayerBottomLine}
	bl := p.BottomLine
	switch {
	case bl == nil:
		lr.Steps = []Step{{Key: "settle.layer.none"}}
		return lr
	case !contains(bl.Categories, c.Poverty):
		lr.Steps = []Step{{Key: "settle.layer.not_for_patient"}}
		return lr
	case bl.InCountyOnly && c.Level == OutOfCounty && !c.Referred:
		lr.Steps = []Step{{Key: "settle.bottom.unreferred"}}
		return lr
	case bl.InsuredOnly && !c.Insured:
		lr.Steps = []Step{{Key: "settle.not_insured"}}
		return lr
	}
	target, ok := bl.Targets[c.VisitType]
	if !ok {
		lr.Steps = []Step{{Key: "settle.layer.not_for_visit"}}
		return lr
	}
	base := r.Eligible
	if bl.Base == "total" {
		base = r.Total
	}
	lr.Base = base
	need := max(0, target.Of(base)-paid)
	lr.Steps = append(lr.Steps, Step{"settle.bottom.target", []string{base.String(), target.String(), paid.String(), need.String()}})
	oop := max(0, base-paid-need)
	if bl.AnnualOOPCap > 0 {
		if over := acc.OutOfPocket + oop - bl.AnnualOOPCap; over > 0 {
			extra := min(over, oop)
			need += extra
			lr.Steps = append(lr.Steps, Step{"settle.bottom.oop_cap", []string{bl.AnnualOOPCap.String(), acc.OutOfPocket.String(), extra.String()}})
		}
	}
	lr.Paid = min(need, max(0, base-paid))
	d.BottomLinePaid = lr.Paid
	return lr
}
