package settle

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"
)

// Visit types: what a settlement is for.
const (
	Inpatient  = "inpatient"  // 住院
	Outpatient = "outpatient" // 普通门诊
	Chronic    = "chronic"    // 门诊慢特病 (chronic and special-disease outpatient)
)

// Levels of the institution that treated the patient (org.Level mapped:
// city, province and national hospitals, and any hospital outside the
// county, are OutOfCounty).
const (
	Village     = "village"
	Township    = "township"
	County      = "county"
	OutOfCounty = "out_of_county"
)

// Levels lists the institution levels a policy must price.
var Levels = []string{Village, Township, County, OutOfCounty}

// Layer names, in the order they pay (policy-rules.md §5: basic →
// critical illness → medical assistance → supplementary → bottom line).
const (
	LayerBasic         = "basic"         // 基本医疗保险
	LayerCritical      = "critical"      // 大病保险
	LayerAssistance    = "assistance"    // 医疗救助
	LayerSupplementary = "supplementary" // 补充保险
	LayerBottomLine    = "bottom_line"   // 政府兜底（如“985”）
)

// LayerOrder lists the layers in payment order.
var LayerOrder = []string{LayerBasic, LayerCritical, LayerAssistance, LayerSupplementary, LayerBottomLine}

// Policy is one county's reimbursement rules for one year: every money
// parameter and ratio is data (policy-rules.md: "every insurance number
// is configuration"). Policies are versioned and never edited in place.
type Policy struct {
	County        string                     `json:"county"`
	Year          int                        `json:"year"`
	Version       int                        `json:"version"`
	Name          string                     `json:"name"`
	EffectiveFrom string                     `json:"effective_from"`
	EffectiveTo   string                     `json:"effective_to"`
	Source        string                     `json:"source,omitempty"` // where the numbers come from
	Categories    map[string]Category        `json:"categories"`
	Basic         BasicPolicy                `json:"basic"`
	Chronic       map[string]ChronicCategory `json:"chronic_outpatient,omitempty"`
	Critical      CriticalPolicy             `json:"critical"`
	Assistance    AssistancePolicy           `json:"assistance"`
	Supplementary *SimpleLayer               `json:"supplementary,omitempty"`
	BottomLine    *BottomLinePolicy          `json:"bottom_line,omitempty"`

	from, to time.Time
}

// Category is an insurance category of bill items (甲类/乙类/丙类): the
// share of an item's amount inside the policy range (政策范围内费用).
// 乙类 items are partly self-paid first (先行自付).
type Category struct {
	Name     string `json:"name"`
	Eligible Ratio  `json:"eligible_percent"`
}

// LevelRule is the basic insurance's deductible and ratio at one level.
type LevelRule struct {
	Deductible Fen   `json:"deductible"`
	Ratio      Ratio `json:"ratio"`
}

// VisitRules prices one visit type at every level.
type VisitRules struct {
	// DeductibleScope is "per_visit" (each admission, 住院起付线) or
	// "annual" (outpatient pooling).
	DeductibleScope string               `json:"deductible_scope"`
	Levels          map[string]LevelRule `json:"levels"`
}

// BasicPolicy is basic medical insurance (城乡居民基本医疗保险).
type BasicPolicy struct {
	Inpatient  VisitRules `json:"inpatient"`
	Outpatient VisitRules `json:"outpatient"`
	// UnreferredCut lowers the ratio out of the county without a referral (转诊).
	UnreferredCut Ratio `json:"unreferred_ratio_cut"`
	AnnualCap     Fen   `json:"annual_cap"`
}

// ChronicCategory is one chronic special-outpatient disease (门诊慢特病)
// with its own deductible, ratio and annual limit in the basic layer, and
// the drugs it pays for (用药范围): WHO ATC code prefixes, e.g. "C09" for
// every ACE inhibitor and ARB. A drug outside the range, prescribed to a
// certified patient, settles as a plain outpatient item (Pays); an empty
// range pays any drug prescribed for the certified disease.
type ChronicCategory struct {
	Name       string   `json:"name"`
	Deductible Fen      `json:"deductible"`
	Ratio      Ratio    `json:"ratio"`
	AnnualCap  Fen      `json:"annual_cap"`
	Drugs      []string `json:"drugs,omitempty"`
}

// Pays reports whether the category's drug range covers the drug with this
// WHO ATC code (a prefix of the range matches; an empty range covers all).
func (c ChronicCategory) Pays(atc string) bool {
	if len(c.Drugs) == 0 {
		return true
	}
	for _, p := range c.Drugs {
		if strings.HasPrefix(atc, p) {
			return true
		}
	}
	return false
}

// atcPrefix: an anatomical main group letter followed by up to six more
// letters or digits of the ATC code (C, C09, C09AA, C09AA05).
func atcPrefix(s string) bool {
	if len(s) < 1 || len(s) > 7 || s[0] < 'A' || s[0] > 'Z' {
		return false
	}
	for _, r := range s[1:] {
		if !(r >= '0' && r <= '9' || r >= 'A' && r <= 'Z') {
			return false
		}
	}
	return true
}

// Segment is one band of critical-illness insurance: the part of the
// year's amount above the deductible between From and To (0 = no end) is
// paid at Ratio.
type Segment struct {
	From  Fen   `json:"from"`
	To    Fen   `json:"to"`
	Ratio Ratio `json:"ratio"`
}

// CriticalTier is one critical-illness schedule (ordinary or poor).
type CriticalTier struct {
	Deductible Fen       `json:"deductible"`
	Segments   []Segment `json:"segments"`
	AnnualCap  Fen       `json:"annual_cap"` // 0: no cap
}

// CriticalPolicy is critical-illness insurance (大病保险): annual deductible
// (about half of last year's per-capita disposable income), segmented
// ratios, a cap; the poor variant has a lower deductible, higher ratios and
// no cap (policy-rules.md §5).
type CriticalPolicy struct {
	VisitTypes     []string     `json:"visit_types"`
	Ordinary       CriticalTier `json:"ordinary"`
	Poor           CriticalTier `json:"poor"`
	PoorCategories []string     `json:"poor_categories"`
}

// SimpleLayer is a layer with one annual deductible, ratio and cap per
// poverty category (medical assistance, supplementary insurance).
type SimpleLayer struct {
	VisitTypes []string              `json:"visit_types"`
	Categories map[string]SimpleRule `json:"categories"` // poverty category → rule
}

// SimpleRule is a deductible, ratio and annual cap (0 = no cap).
type SimpleRule struct {
	Deductible Fen   `json:"deductible"`
	Ratio      Ratio `json:"ratio"`
	AnnualCap  Fen   `json:"annual_cap"`
}

// AssistancePolicy is medical assistance (医疗救助) by poverty category
// (2021 State Council guidance: subsistence and extreme poverty ≥ 70 %).
type AssistancePolicy = SimpleLayer

// BottomLinePolicy is the government's bottom line (兜底保障, e.g. "985"):
// after every other layer the poor patient's reimbursement reaches a
// target share of the base, and their out-of-pocket spending in the year
// stays under a cap (policy-rules.md §5, seed 002).
type BottomLinePolicy struct {
	Categories   []string         `json:"categories"`
	Targets      map[string]Ratio `json:"targets"` // visit type → final reimbursement target
	AnnualOOPCap Fen              `json:"annual_oop_cap"`
	// Base is "eligible" (policy-range costs) or "total" (the whole bill).
	Base         string `json:"base"`
	InCountyOnly bool   `json:"in_county_only"`
	// InsuredOnly: only a patient enrolled in basic insurance this year is
	// topped up — the bottom line comes after the three guarantees, which
	// an uninsured patient does not have [U] (a province may extend it).
	InsuredOnly bool `json:"insured_only"`
}

// ParsePolicy reads and validates a policy file (JSON; amounts in yuan,
// ratios in percent). Unknown fields are errors.
func ParsePolicy(b []byte) (*Policy, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var p Policy
	if err := dec.Decode(&p); err != nil {
		return nil, fmt.Errorf("policy: %w", err)
	}
	if err := p.Validate(); err != nil {
		return nil, err
	}
	return &p, nil
}

// PolicyError lists every fault of a policy.
type PolicyError struct{ Faults []string }

func (e *PolicyError) Error() string { return "policy: " + strings.Join(e.Faults, "; ") }

// Validate checks the policy is complete and consistent: dates, every
// level priced, segments ordered and not overlapping, categories known.
func (p *Policy) Validate() error {
	var fs []string
	bad := func(f string, a ...any) { fs = append(fs, fmt.Sprintf(f, a...)) }
	if len(p.County) != 6 || !allDigits(p.County) {
		bad("county must be a 6-digit code")
	}
	var err error
	if p.from, err = time.Parse("2006-01-02", p.EffectiveFrom); err != nil {
		bad("effective_from is not a date")
	}
	if p.to, err = time.Parse("2006-01-02", p.EffectiveTo); err != nil {
		bad("effective_to is not a date")
	}
	if !p.from.IsZero() && !p.to.IsZero() && p.to.Before(p.from) {
		bad("effective_to is before effective_from")
	}
	if p.Year < 2000 || p.Year > 2100 || !p.from.IsZero() && p.from.Year() != p.Year {
		bad("year %d does not match effective_from", p.Year)
	}
	if p.Version < 1 {
		bad("version must be 1 or more")
	}
	if len(p.Categories) == 0 {
		bad("no item categories")
	}
	for _, vr := range []struct {
		name string
		r    VisitRules
	}{{Inpatient, p.Basic.Inpatient}, {Outpatient, p.Basic.Outpatient}} {
		if vr.r.DeductibleScope != "per_visit" && vr.r.DeductibleScope != "annual" {
			bad("basic.%s.deductible_scope must be per_visit or annual", vr.name)
		}
		for _, l := range Levels {
			if _, ok := vr.r.Levels[l]; !ok {
				bad("basic.%s has no rule for level %s", vr.name, l)
			}
		}
		for l := range vr.r.Levels {
			if !contains(Levels, l) {
				bad("basic.%s: unknown level %s", vr.name, l)
			}
		}
	}
	if p.Basic.AnnualCap <= 0 {
		bad("basic.annual_cap must be set")
	}
	for code, c := range p.Chronic {
		if c.AnnualCap <= 0 {
			bad("chronic_outpatient.%s.annual_cap must be set", code)
		}
		for _, d := range c.Drugs {
			if !atcPrefix(d) {
				bad("chronic_outpatient.%s.drugs: %q is not an ATC code prefix", code, d)
			}
		}
	}
	for _, t := range []struct {
		name string
		t    CriticalTier
	}{{"ordinary", p.Critical.Ordinary}, {"poor", p.Critical.Poor}} {
		if len(t.t.Segments) == 0 {
			bad("critical.%s has no segments", t.name)
		}
		prev := Fen(0)
		for i, s := range t.t.Segments {
			if s.From != prev {
				bad("critical.%s segment %d starts at %s, want %s (segments must be contiguous, from 0)", t.name, i+1, s.From, prev)
			}
			if s.To != 0 && s.To <= s.From {
				bad("critical.%s segment %d ends before it starts", t.name, i+1)
			}
			if s.To == 0 && i != len(t.t.Segments)-1 {
				bad("critical.%s segment %d has no end but is not the last", t.name, i+1)
			}
			prev = s.To
		}
		if len(t.t.Segments) > 0 && t.t.Segments[len(t.t.Segments)-1].To != 0 {
			bad("critical.%s: the last segment must have no end", t.name)
		}
	}
	checkTypes := func(name string, ts []string) {
		for _, v := range ts {
			if v != Inpatient && v != Outpatient && v != Chronic {
				bad("%s: unknown visit type %s", name, v)
			}
		}
	}
	checkTypes("critical.visit_types", p.Critical.VisitTypes)
	checkTypes("assistance.visit_types", p.Assistance.VisitTypes)
	checkPoverty := func(name string, cs []string) {
		for _, c := range cs {
			if !contains(PovertyCategories, c) {
				bad("%s: unknown poverty category %s", name, c)
			}
		}
	}
	checkPoverty("critical.poor_categories", p.Critical.PoorCategories)
	checkPoverty("assistance.categories", keys(p.Assistance.Categories))
	if p.Supplementary != nil {
		checkTypes("supplementary.visit_types", p.Supplementary.VisitTypes)
		checkPoverty("supplementary.categories", keys(p.Supplementary.Categories))
	}
	if bl := p.BottomLine; bl != nil {
		checkPoverty("bottom_line.categories", bl.Categories)
		checkTypes("bottom_line.targets", keys(bl.Targets))
		if bl.Base != "eligible" && bl.Base != "total" {
			bad("bottom_line.base must be eligible or total")
		}
	}
	if len(fs) > 0 {
		return &PolicyError{fs}
	}
	return nil
}

// PovertyCategories are the categories a policy may name (resident.Poverty values).
var PovertyCategories = []string{"extreme", "subsistence", "edge", "illness", "monitored"}

// Covers reports whether the policy is in force on day (YYYY-MM-DD).
func (p *Policy) Covers(day time.Time) bool {
	return !day.Before(p.from) && !day.After(p.to)
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
