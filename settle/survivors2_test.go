package settle

// Tests written against the survivors of the run of 2026-12-07 04:27 on
// branch i18-settle (issue 18 §6, docs/mutation.md), each naming its rule.

import (
	"strings"
	"testing"
)

// TestAccumulatorsKeepChronicTotalsOnOtherVisits pins Accumulators.Add (the
// ledger model of docs/settlement.md: a settlement adds its delta): a visit
// that adds nothing to the chronic totals keeps those the year already has,
// and a first chronic delta is kept on empty totals.
func TestAccumulatorsKeepChronicTotalsOnOtherVisits(t *testing.T) {
	a := Accumulators{ChronicPaid: map[string]Fen{"HT": 100}, ChronicDeductible: map[string]Fen{"DM": 20}}
	got := a.Add(Accumulators{OutOfPocket: 5}, 1)
	if got.ChronicPaid["HT"] != 100 || got.ChronicDeductible["DM"] != 20 || got.OutOfPocket != 5 {
		t.Errorf("an outpatient visit after chronic ones: %+v", got)
	}
	if back := got.Add(Accumulators{OutOfPocket: 5}, -1); back.ChronicPaid["HT"] != 100 || back.ChronicDeductible["DM"] != 20 || back.OutOfPocket != 0 {
		t.Errorf("its reversal: %+v", back)
	}
	if e := (Accumulators{}).Add(Accumulators{OutOfPocket: 5}, 1); e.ChronicPaid != nil || e.ChronicDeductible != nil {
		t.Errorf("no chronic totals on either side: %+v", e)
	}
}

// TestChronicDeductibleIsAnnual pins basic's chronic special-outpatient
// deductible (docs/settlement.md "The layers, in order": a chronic visit
// uses its disease's own deductible, ratio and annual limit; engine.go
// basic). Both shipped policies have chronic deductibles of 0, so this
// gives 高血压 one of 200.00: a first 150.00 visit spends 150.00 of it and
// pays nothing; the second meets the 50.00 left and pays (150 − 50) × 65 %.
func TestChronicDeductibleIsAnnual(t *testing.T) {
	b, _ := ExampleFile("example-2026.json")
	src := string(b)
	old := `"HT": {"name": "高血压（Ⅱ、Ⅲ级）", "deductible": "0"`
	if !strings.Contains(src, old) {
		t.Fatal("the example's HT category changed")
	}
	p, err := ParsePolicy([]byte(strings.Replace(src, old, `"HT": {"name": "高血压（Ⅱ、Ⅲ级）", "deductible": "200"`, 1)))
	if err != nil {
		t.Fatal(err)
	}
	visit := func(id string) *Claim {
		return &Claim{VisitID: id, Date: "2026-04-01", VisitType: Chronic, ChronicCategory: "HT", Level: County, Insured: true, Lines: bill("150")}
	}
	acc := Accumulators{}
	r1 := settleOK(t, p, visit("c1"), acc)
	acc = acc.Add(r1.Delta, 1)
	r2 := settleOK(t, p, visit("c2"), acc)
	if r1.Paid(LayerBasic) != 0 || r2.Paid(LayerBasic) != yuan("65") || acc.ChronicDeductible["HT"] != yuan("150") {
		t.Errorf("chronic visits: basic %s then %s (deductible used %s), want 0.00 then 65.00", r1.Paid(LayerBasic), r2.Paid(LayerBasic), acc.ChronicDeductible["HT"])
	}
	acc = acc.Add(r2.Delta, 1)
	if r3 := settleOK(t, p, visit("c3"), acc); r3.Paid(LayerBasic) != yuan("97.50") {
		t.Errorf("third chronic visit: basic %s, want 97.50 (deductible met)", r3.Paid(LayerBasic))
	}
}
