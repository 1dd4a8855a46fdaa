package settle

import "testing"

// TestBottomLineInsuredOnly pins BottomLinePolicy.InsuredOnly
// (985-2026.json "insured_only": true; policy-rules.md §5: the bottom line
// comes after basic insurance, critical-illness insurance and medical
// assistance, and tops up the reimbursement a patient of a poor household
// gets from them): a poor patient not enrolled in basic insurance this year
// gets no top-up — every layer pays 0 and says why — while the same
// patient enrolled is topped up to 90 % of the eligible amount. A policy
// without the flag tops up the uninsured too (a province may so decide).
func TestBottomLineInsuredOnly(t *testing.T) {
	p := examplePolicy(t, "985-2026.json")
	if p.BottomLine == nil || !p.BottomLine.InsuredOnly {
		t.Fatal("985-2026.json: the bottom line must be for the insured only")
	}
	c := &Claim{VisitID: "b", Date: "2026-05-10", VisitType: Inpatient, Level: County, Poverty: "extreme", Lines: bill("10000")}
	r := settleOK(t, p, c, Accumulators{})
	if l := layerOf(r, LayerBottomLine); l.Paid != 0 || !hasStep(l, "settle.not_insured") || r.Patient != r.Total || r.Delta.BottomLinePaid != 0 {
		t.Errorf("uninsured poor patient: bottom line %s %v, patient %s of %s", l.Paid, stepKeys(l), r.Patient, r.Total)
	}
	c.Insured = true
	r = settleOK(t, p, c, Accumulators{})
	if l := layerOf(r, LayerBottomLine); r.Insurers < yuan("9000") || hasStep(l, "settle.not_insured") {
		t.Errorf("insured poor patient: insurers %s (bottom line %s %v), want at least 90 %% of 10,000", r.Insurers, l.Paid, stepKeys(l))
	}
	p.BottomLine.InsuredOnly = false
	c.Insured = false
	r = settleOK(t, p, c, Accumulators{})
	if l := layerOf(r, LayerBottomLine); l.Paid != yuan("9000") {
		t.Errorf("without insured_only: bottom line %s for the uninsured, want 9,000 (90 %% of 10,000)", l.Paid)
	}
}
