package settle

// Boundary tests added for mutation testing (issue 18 §6). Each pins a
// parameter of the example policies (settle/policies/example-2026.json,
// 985-2026.json, after policy-rules.md §5 and seed 002) or a rule stated on
// the engine's types, with amounts worked by hand in the comments. The
// chronic special-outpatient layer is left to its own tests (being reworked).

import (
	"slices"
	"testing"
)

func settleOK(t *testing.T, p *Policy, c *Claim, acc Accumulators) *Result {
	t.Helper()
	r, err := Settle(p, c, &acc)
	if err != nil {
		t.Fatalf("%s: %v", c.VisitID, err)
	}
	if r.Insurers+r.Patient != r.Total {
		t.Fatalf("%s: insurers %s + patient %s ≠ total %s", c.VisitID, r.Insurers, r.Patient, r.Total)
	}
	return r
}

func layerOf(r *Result, name string) LayerResult {
	for _, l := range r.Layers {
		if l.Layer == name {
			return l
		}
	}
	return LayerResult{}
}

func stepKeys(l LayerResult) []string {
	var ks []string
	for _, s := range l.Steps {
		ks = append(ks, s.Key)
	}
	return ks
}

func hasStep(l LayerResult, key string) bool { return slices.Contains(stepKeys(l), key) }

// TestUnreferredOutOfCountyCut pins basic.unreferred_ratio_cut (10 points in
// example-2026.json; BasicPolicy.UnreferredCut: "lowers the ratio out of the
// county without a referral (转诊)"): only out of the county, only without a
// referral, never below 0 %.
func TestUnreferredOutOfCountyCut(t *testing.T) {
	p := examplePolicy(t, "example-2026.json")
	in := func(level string, referred bool, amount string) *Claim {
		return &Claim{VisitID: level, Date: "2026-05-10", VisitType: Inpatient, Level: level, Referred: referred, Insured: true, Lines: bill(amount)}
	}
	// Out of county, deductible 2,000, ratio 60 %: (12,000 − 2,000) × 50 % = 5,000 unreferred.
	r := settleOK(t, p, in(OutOfCounty, false, "12000"), Accumulators{})
	if got := r.Paid(LayerBasic); got != yuan("5000") {
		t.Errorf("unreferred out of county: basic %s, want 5000.00 (60 %% − 10)", got)
	}
	if l := layerOf(r, LayerBasic); !hasStep(l, "settle.basic.unreferred") {
		t.Errorf("unreferred cut not explained: %v", stepKeys(l))
	}
	// Referred: 10,000 × 60 % = 6,000, no cut.
	r = settleOK(t, p, in(OutOfCounty, true, "12000"), Accumulators{})
	if got := r.Paid(LayerBasic); got != yuan("6000") || hasStep(layerOf(r, LayerBasic), "settle.basic.unreferred") {
		t.Errorf("referred out of county: basic %s %v, want 6000.00 without a cut", got, stepKeys(layerOf(r, LayerBasic)))
	}
	// In the county no referral is needed: (12,000 − 600) × 70 % = 7,980.
	r = settleOK(t, p, in(County, false, "12000"), Accumulators{})
	if got := r.Paid(LayerBasic); got != yuan("7980") {
		t.Errorf("unreferred county admission: basic %s, want 7980.00", got)
	}
	// Outpatient out of county: (1,300 − 300) × (40 % − 10) = 300.
	op := &Claim{VisitID: "op", Date: "2026-05-10", VisitType: Outpatient, Level: OutOfCounty, Insured: true, Lines: bill("1300")}
	if got := settleOK(t, p, op, Accumulators{}).Paid(LayerBasic); got != yuan("300") {
		t.Errorf("unreferred outpatient out of county: basic %s, want 300.00", got)
	}
	// A policy without a cut: no cut and no cut step.
	q := *p
	q.Basic.UnreferredCut = 0
	r = settleOK(t, &q, in(OutOfCounty, false, "12000"), Accumulators{})
	if got := r.Paid(LayerBasic); got != yuan("6000") || hasStep(layerOf(r, LayerBasic), "settle.basic.unreferred") {
		t.Errorf("no cut configured: basic %s %v", got, stepKeys(layerOf(r, LayerBasic)))
	}
	// A cut larger than the ratio pays nothing, never a negative amount.
	q.Basic.UnreferredCut = 7000
	if got := settleOK(t, &q, in(OutOfCounty, false, "12000"), Accumulators{}).Paid(LayerBasic); got != 0 {
		t.Errorf("cut of 70 points on 60 %%: basic %s, want 0.00", got)
	}
}

// TestBasicDeductibleScopes pins VisitRules.DeductibleScope: outpatient
// pooling has an annual deductible (example-2026.json: county 100 yuan at
// 50 %), an admission its own per-visit deductible (county 600 at 70 %).
func TestBasicDeductibleScopes(t *testing.T) {
	p := examplePolicy(t, "example-2026.json")
	op := func(amount string) *Claim {
		return &Claim{VisitID: "op", Date: "2026-05-10", VisitType: Outpatient, Level: County, Insured: true, Lines: bill(amount)}
	}
	for _, tt := range []struct {
		used, amount, paid, ded string
	}{
		{"0", "150", "25", "100"},      // 100 deductible, 50 × 50 %
		{"60", "150", "55", "40"},      // 40 left: 110 × 50 %
		{"100", "150", "75", "0"},      // used up: 150 × 50 %
		{"0", "80", "0", "80"},         // below the deductible: all of it counts towards it
		{"99.99", "1", "0.50", "0.01"}, // one fen left; 0.99 × 50 % = 0.495 → 0.50 (四舍五入)
	} {
		r := settleOK(t, p, op(tt.amount), Accumulators{BasicOutpatientDeductible: yuan(tt.used)})
		if r.Paid(LayerBasic) != yuan(tt.paid) || r.Delta.BasicOutpatientDeductible != yuan(tt.ded) {
			t.Errorf("outpatient %s with %s used: paid %s, deductible %s; want %s, %s", tt.amount, tt.used, r.Paid(LayerBasic), r.Delta.BasicOutpatientDeductible, tt.paid, tt.ded)
		}
	}
	// An admission ignores the outpatient deductible used and adds nothing to it.
	in := &Claim{VisitID: "in", Date: "2026-05-10", VisitType: Inpatient, Level: County, Insured: true, Lines: bill("1000")}
	r := settleOK(t, p, in, Accumulators{BasicOutpatientDeductible: yuan("100")})
	if r.Paid(LayerBasic) != yuan("280") || r.Delta.BasicOutpatientDeductible != 0 {
		t.Errorf("admission: basic %s, outpatient deductible delta %s; want 280.00 ((1,000 − 600) × 70 %%), 0", r.Paid(LayerBasic), r.Delta.BasicOutpatientDeductible)
	}
}

// TestBasicAnnualCap pins basic.annual_cap (120,000 yuan): the basic layer
// pays at most what is left of the cap, and says so only when it binds.
func TestBasicAnnualCap(t *testing.T) {
	p := examplePolicy(t, "example-2026.json")
	c := &Claim{VisitID: "c", Date: "2026-05-10", VisitType: Inpatient, Level: County, Insured: true, Lines: bill("10600")} // 10,000 × 70 % = 7,000
	for _, tt := range []struct {
		ytd, paid string
		capped    bool
	}{{"113000", "7000", false}, {"113000.01", "6999.99", true}, {"119000", "1000", true}, {"120000", "0", true}} {
		r := settleOK(t, p, c, Accumulators{BasicPaid: yuan(tt.ytd)})
		if r.Paid(LayerBasic) != yuan(tt.paid) || hasStep(layerOf(r, LayerBasic), "settle.cap") != tt.capped || r.Delta.BasicPaid != yuan(tt.paid) {
			t.Errorf("basic paid before %s: %s (cap step %v), want %s (%v)", tt.ytd, r.Paid(LayerBasic), hasStep(layerOf(r, LayerBasic), "settle.cap"), tt.paid, tt.capped)
		}
	}
}

// TestCriticalIllnessBoundaries pins critical illness of policy-rules.md §5
// [V] as in example-2026.json: an annual deductible of 6,269 yuan (poor
// 3,135), segments 0–50,000 / 50,000–100,000 / above at 55/65/75 % (poor
// 60/70/80 %, no cap), an ordinary cap of 400,000, for admissions and
// chronic outpatients only.
//
// A county admission of 10,600 yuan: basic pays 7,000, 3,600 is left.
func TestCriticalIllnessBoundaries(t *testing.T) {
	p := examplePolicy(t, "example-2026.json")
	c := &Claim{VisitID: "c", Date: "2026-05-10", VisitType: Inpatient, Level: County, Insured: true, Lines: bill("10600")}
	for _, tt := range []struct {
		name     string
		acc      Accumulators
		poverty  string
		paid     string
		segments int
	}{
		{"year reaches the deductible exactly", Accumulators{CriticalBase: yuan("2669")}, "", "0", 0},
		{"one fen above the deductible", Accumulators{CriticalBase: yuan("2669.01")}, "", "0.01", 1}, // 0.01 × 55 % = 0.0055 → 0.01
		{"first visit, poor deductible 3,135", Accumulators{}, "subsistence", "279", 1},              // 465 × 60 %
		{"ends exactly at 50,000", Accumulators{CriticalBase: yuan("52669")}, "", "1980", 1},         // 3,600 × 55 %
		{"starts exactly at 50,000", Accumulators{CriticalBase: yuan("56269")}, "", "2340", 1},       // 3,600 × 65 %
		{"starts exactly at 100,000", Accumulators{CriticalBase: yuan("106269")}, "", "2700", 1},     // 3,600 × 75 %
		{"straddles 50,000", Accumulators{CriticalBase: yuan("54669")}, "", "2180", 2},               // 1,600 × 55 % + 2,000 × 65 % = 880 + 1,300
	} {
		c.Poverty = tt.poverty
		r := settleOK(t, p, c, tt.acc)
		l := layerOf(r, LayerCritical)
		segs := 0
		for _, k := range stepKeys(l) {
			if k == "settle.critical.segment" {
				segs++
			}
		}
		if l.Paid != yuan(tt.paid) || segs != tt.segments || l.Base != yuan("3600") || r.Delta.CriticalBase != yuan("3600") {
			t.Errorf("%s: critical paid %s on base %s over %d segments; want %s over %d", tt.name, l.Paid, l.Base, segs, tt.paid, tt.segments)
		}
		if below := hasStep(l, "settle.critical.below"); below != (tt.paid == "0") {
			t.Errorf("%s: 'below the deductible' step %v", tt.name, below)
		}
	}
	c.Poverty = ""
	// Outpatient visits are not covered (critical.visit_types).
	op := &Claim{VisitID: "op", Date: "2026-05-10", VisitType: Outpatient, Level: County, Insured: true, Lines: bill("20000")}
	r := settleOK(t, p, op, Accumulators{CriticalBase: yuan("10000")})
	if l := layerOf(r, LayerCritical); l.Paid != 0 || !hasStep(l, "settle.layer.not_for_visit") || r.Delta.CriticalBase != 0 {
		t.Errorf("outpatient: critical %s %v, base delta %s", l.Paid, stepKeys(l), r.Delta.CriticalBase)
	}
	// The ordinary cap: 400,000 a year. A referred out-of-county admission
	// of 197,000 yuan pays 42,925.15 (TestCriticalIllnessWorkedExample).
	big := &Claim{VisitID: "big", Date: "2026-05-10", VisitType: Inpatient, Level: OutOfCounty, Referred: true, Insured: true, Lines: bill("197000")}
	for _, tt := range []struct{ ytd, paid string }{{"357074.85", "42925.15"}, {"357074.86", "42925.14"}, {"399500", "500"}, {"400000", "0"}} {
		r := settleOK(t, p, big, Accumulators{CriticalPaid: yuan(tt.ytd)})
		if got := r.Paid(LayerCritical); got != yuan(tt.paid) {
			t.Errorf("critical paid before %s: %s, want %s", tt.ytd, got, tt.paid)
		}
		if capped := hasStep(layerOf(r, LayerCritical), "settle.cap"); capped != (tt.paid != "42925.15") {
			t.Errorf("critical paid before %s: cap step %v", tt.ytd, capped)
		}
	}
	// The poor schedule has no cap (annual_cap 0).
	big.Poverty = "subsistence"
	if got := settleOK(t, p, big, Accumulators{CriticalPaid: yuan("1000000")}).Paid(LayerCritical); got != yuan("48805.50") {
		t.Errorf("poor critical with 1,000,000 paid before: %s, want 48805.50 (no cap)", got)
	}
}

// TestAssistanceBoundaries pins medical assistance in example-2026.json
// (AssistancePolicy; 2021 State Council guidance): edge households have a
// 1,000-yuan annual deductible, 70 % and a 10,000 cap; admissions and
// chronic outpatients only; no rule, no assistance.
//
// Edge household, county admission of 10,600: basic 7,000; critical (poor)
// (3,600 − 3,135) × 60 % = 279; 3,321 is left for assistance.
func TestAssistanceBoundaries(t *testing.T) {
	p := examplePolicy(t, "example-2026.json")
	c := &Claim{VisitID: "c", Date: "2026-05-10", VisitType: Inpatient, Level: County, Poverty: "edge", Insured: true, Lines: bill("10600")}
	for _, tt := range []struct {
		name        string
		acc         Accumulators
		paid, used  string
		capStepWant bool
	}{
		{"deductible in full", Accumulators{}, "1624.70", "1000", false},                                       // 2,321 × 70 %
		{"deductible partly used", Accumulators{AssistanceDeductible: yuan("400")}, "1904.70", "600", false},   // 2,721 × 70 %
		{"deductible used up", Accumulators{AssistanceDeductible: yuan("1000")}, "2324.70", "0", false},        // 3,321 × 70 %
		{"cap leaves exactly enough", Accumulators{AssistancePaid: yuan("8375.30")}, "1624.70", "1000", false}, // 10,000 − 8,375.30
		{"cap binds", Accumulators{AssistancePaid: yuan("9000")}, "1000", "1000", true},                        // 1,000 left
		{"cap used up", Accumulators{AssistancePaid: yuan("10000")}, "0", "1000", true},
	} {
		r := settleOK(t, p, c, tt.acc)
		l := layerOf(r, LayerAssistance)
		if l.Paid != yuan(tt.paid) || r.Delta.AssistanceDeductible != yuan(tt.used) || r.Delta.AssistancePaid != yuan(tt.paid) || hasStep(l, "settle.cap") != tt.capStepWant {
			t.Errorf("%s: assistance %s (deductible %s, steps %v); want %s (%s)", tt.name, l.Paid, r.Delta.AssistanceDeductible, stepKeys(l), tt.paid, tt.used)
		}
	}
	for _, tt := range []struct {
		poverty, visit, step string
	}{
		{"", Inpatient, "settle.layer.not_for_patient"},
		{"monitored", Inpatient, "settle.layer.not_for_patient"}, // no rule for monitored households in this policy
		{"edge", Outpatient, "settle.layer.not_for_visit"},
	} {
		c2 := *c
		c2.Poverty, c2.VisitType = tt.poverty, tt.visit
		r := settleOK(t, p, &c2, Accumulators{})
		if l := layerOf(r, LayerAssistance); l.Paid != 0 || !hasStep(l, tt.step) || r.Delta.AssistancePaid != 0 {
			t.Errorf("%q %s: assistance %s %v, want 0 and %s", tt.poverty, tt.visit, l.Paid, stepKeys(l), tt.step)
		}
	}
}

// TestUninsuredPaysEverything pins Claim.Insured ("enrolled in basic
// medical insurance this year"): no insurance layer pays for a patient who
// is not enrolled, and the year's insurance totals do not move.
func TestUninsuredPaysEverything(t *testing.T) {
	p := examplePolicy(t, "example-2026.json")
	c := &Claim{VisitID: "u", Date: "2026-05-10", VisitType: Inpatient, Level: County, Lines: bill("10600")}
	r := settleOK(t, p, c, Accumulators{})
	for _, l := range r.Layers {
		if l.Paid != 0 || (l.Layer != LayerBottomLine && !hasStep(l, "settle.not_insured")) {
			t.Errorf("uninsured: %s paid %s %v", l.Layer, l.Paid, stepKeys(l))
		}
	}
	d := r.Delta
	d.OutOfPocket = 0
	if r.Patient != r.Total || !d.zero() || r.Delta.OutOfPocket != yuan("10600") {
		t.Errorf("uninsured: patient %s of %s, delta %+v", r.Patient, r.Total, r.Delta)
	}
}

// TestClaimLimits pins the claim checks (Policy.Check): at most MaxLines
// (2,000) lines; a line of more than one billion yuan (1e11 fen) is a
// typing error; a zero line is allowed; the policy is in force from
// effective_from to effective_to inclusive (Policy.Covers).
func TestClaimLimits(t *testing.T) {
	p := examplePolicy(t, "example-2026.json")
	ok := Claim{VisitID: "v", Date: "2026-05-10", VisitType: Outpatient, Level: Village, Insured: true, Lines: bill("50")}
	many := func(n int) []Line {
		ls := make([]Line, n)
		for i := range ls {
			ls[i] = Line{Category: "A", Amount: 1}
		}
		return ls
	}
	for _, tt := range []struct {
		name string
		edit func(*Claim)
		key  string // "" = accepted
	}{
		{"2,000 lines", func(c *Claim) { c.Lines = many(MaxLines) }, ""},
		{"2,001 lines", func(c *Claim) { c.Lines = many(MaxLines + 1) }, "settle.too_many_lines"},
		{"one billion yuan", func(c *Claim) { c.Lines = []Line{{Category: "A", Amount: 1e11}} }, ""},
		{"one billion yuan and a fen", func(c *Claim) { c.Lines = []Line{{Category: "A", Amount: 1e11 + 1}} }, "settle.amount_too_large"},
		{"a zero line beside a charged one", func(c *Claim) { c.Lines = []Line{{Category: "A", Amount: 0}, {Category: "A", Amount: 100}} }, ""},
		{"a bill of 0.00 yuan (issue 18: nothing to settle)", func(c *Claim) { c.Lines = []Line{{Category: "A", Amount: 0}} }, "settle.total_zero"},
		{"first day in force", func(c *Claim) { c.Date = "2026-01-01" }, ""},
		{"last day in force", func(c *Claim) { c.Date = "2026-12-31" }, ""},
		{"the day after", func(c *Claim) { c.Date = "2027-01-01" }, "settle.policy_not_in_force"},
		{"a poor patient", func(c *Claim) { c.Poverty = "extreme" }, ""},
		{"a chronic category", func(c *Claim) { c.VisitType, c.ChronicCategory = Chronic, "HT" }, ""},
	} {
		c := ok
		tt.edit(&c)
		err := p.Check(&c)
		ce, _ := err.(*ClaimError)
		switch {
		case tt.key == "" && err != nil:
			t.Errorf("%s refused: %v", tt.name, err)
		case tt.key != "" && (ce == nil || ce.Key != tt.key):
			t.Errorf("%s: %v, want %s", tt.name, err, tt.key)
		}
	}
}

// TestBillTotalsByClassAndCategory pins the bill's split (Category.Eligible:
// 甲类 100 %, 乙类 90 %, 丙类 0 % in example-2026.json) and the drug and
// material sums behind 药占比 and 耗占比.
func TestBillTotalsByClassAndCategory(t *testing.T) {
	p := examplePolicy(t, "example-2026.json")
	c := &Claim{VisitID: "b", Date: "2026-05-10", VisitType: Outpatient, Level: Village, Insured: true, Lines: []Line{
		{Class: ClassDrug, Category: "A", Amount: yuan("100")},
		{Class: ClassMaterial, Category: "B", Amount: yuan("200")},
		{Class: "exam", Category: "C", Amount: yuan("50")},
		{Class: ClassDrug, Category: "B", Amount: yuan("10")},
	}}
	r := settleOK(t, p, c, Accumulators{})
	if r.Total != yuan("360") || r.Eligible != yuan("289") || r.Ineligible != yuan("71") || r.Drugs != yuan("110") || r.Materials != yuan("200") {
		t.Errorf("total %s eligible %s ineligible %s drugs %s materials %s; want 360, 289, 71, 110, 200", r.Total, r.Eligible, r.Ineligible, r.Drugs, r.Materials)
	}
	// Village outpatient, no deductible, 60 % of the eligible 289 = 173.40.
	if got := r.Paid(LayerBasic); got != yuan("173.40") {
		t.Errorf("basic %s, want 173.40", got)
	}
	if r.Paid("no such layer") != 0 {
		t.Error("Paid of an absent layer is not 0")
	}
}

// TestBottomLineBoundaries pins the bottom line of 985-2026.json (seed 002,
// policy-rules.md §5: inpatient ≥ 90 %, out-of-pocket ≤ 5,000 a year, in
// the county or referred; BottomLinePolicy.Base "eligible" or "total").
//
// Monitored household, county admission of 20,000 (甲类): the layers before
// the bottom line pay 16,885.70 (TestBottomLine985).
func TestBottomLineBoundaries(t *testing.T) {
	p := examplePolicy(t, "985-2026.json")
	c := &Claim{VisitID: "x", Date: "2026-04-01", VisitType: Inpatient, Level: County, Poverty: "monitored", Insured: true, Lines: bill("20000")}
	// The annual out-of-pocket cap: this visit leaves 2,000 to the patient.
	for _, tt := range []struct {
		before, paid string
		capStep      bool
	}{
		{"3000", "1114.30", false},   // 3,000 + 2,000 = 5,000: not over
		{"3000.01", "1114.31", true}, // one fen over
		{"6000", "3114.30", true},    // the whole 2,000
	} {
		r := settleOK(t, p, c, Accumulators{OutOfPocket: yuan(tt.before)})
		l := layerOf(r, LayerBottomLine)
		if l.Paid != yuan(tt.paid) || hasStep(l, "settle.bottom.oop_cap") != tt.capStep || r.Delta.BottomLinePaid != yuan(tt.paid) {
			t.Errorf("out of pocket before %s: bottom line %s %v, want %s", tt.before, l.Paid, stepKeys(l), tt.paid)
		}
	}
	// Referred out of the county, the bottom line applies: basic 60 % ×
	// 18,000 = 10,800; critical (9,200 − 3,135) × 60 % = 3,639;
	// supplementary 30 % × 5,561 = 1,668.30; 16,107.30 paid, 90 % is 18,000.
	ref := *c
	ref.Level, ref.Referred = OutOfCounty, true
	if got := settleOK(t, p, &ref, Accumulators{}).Paid(LayerBottomLine); got != yuan("1892.70") {
		t.Errorf("referred out of county: bottom line %s, want 1892.70", got)
	}
	// No target for outpatient visits; none for patients outside the categories.
	op := *c
	op.VisitType = Outpatient
	if l := layerOf(settleOK(t, p, &op, Accumulators{}), LayerBottomLine); l.Paid != 0 || !hasStep(l, "settle.layer.not_for_visit") {
		t.Errorf("outpatient: bottom line %s %v", l.Paid, stepKeys(l))
	}
	np := *c
	np.Poverty = ""
	if l := layerOf(settleOK(t, p, &np, Accumulators{}), LayerBottomLine); l.Paid != 0 || !hasStep(l, "settle.layer.not_for_patient") {
		t.Errorf("not poor: bottom line %s %v", l.Paid, stepKeys(l))
	}
	// Base "total": 丙类 items count too. With 1,000 of 丙类 added the bill is
	// 21,000; 90 % is 18,900, so the bottom line pays 18,900 − 16,885.70.
	q := *p
	bl := *p.BottomLine
	bl.Base = "total"
	q.BottomLine = &bl
	wc := *c
	wc.Lines = append(bill("20000"), Line{Code: "C1", Category: "C", Class: "other", Amount: yuan("1000")})
	r := settleOK(t, &q, &wc, Accumulators{})
	if r.Paid(LayerBottomLine) != yuan("2014.30") || r.Patient != yuan("2100") || r.Delta.OutOfPocket != yuan("2100") {
		t.Errorf("base total: bottom line %s, patient %s, out of pocket %s; want 2014.30, 2100.00, 2100.00", r.Paid(LayerBottomLine), r.Patient, r.Delta.OutOfPocket)
	}
	r = settleOK(t, p, &wc, Accumulators{})
	if r.Paid(LayerBottomLine) != yuan("1114.30") || r.Delta.OutOfPocket != yuan("2000") {
		t.Errorf("base eligible: bottom line %s, out of pocket %s; want 1114.30, 2000.00 (丙类 not counted)", r.Paid(LayerBottomLine), r.Delta.OutOfPocket)
	}
	// Without a bottom line in the policy, the layer says so and pays nothing.
	e := examplePolicy(t, "example-2026.json")
	if l := layerOf(settleOK(t, e, c, Accumulators{}), LayerBottomLine); l.Paid != 0 || !hasStep(l, "settle.layer.none") {
		t.Errorf("no bottom line: %s %v", l.Paid, stepKeys(l))
	}
}
