package settle

import (
	"encoding/json"
	"testing"
	"time"
)

func examplePolicy(t testing.TB, name string) *Policy {
	t.Helper()
	ps, err := ExamplePolicies()
	if err != nil {
		t.Fatal(err)
	}
	p := ps[name]
	if p == nil {
		t.Fatalf("no example %s", name)
	}
	return p
}

func yuan(s string) Fen {
	f, err := ParseYuan(s)
	if err != nil {
		panic(err)
	}
	return f
}

func bill(amounts ...string) []Line {
	var ls []Line
	for i, a := range amounts {
		ls = append(ls, Line{Code: "X" + string(rune('0'+i)), Name: "item", Class: "treatment", Category: "A", Amount: yuan(a)})
	}
	return ls
}

func TestParseYuanAndPercent(t *testing.T) {
	for in, want := range map[string]Fen{"6269": 626900, "6,269.00": 626900, "12.5": 1250, "0.01": 1, "0": 0} {
		if got, err := ParseYuan(in); err != nil || got != want {
			t.Errorf("ParseYuan(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "-1", "1.234", "1e5", "1.", ".5", "abc", "1,2.3.4", "9999999999999"} {
		if _, err := ParseYuan(bad); err == nil {
			t.Errorf("ParseYuan(%q) accepted", bad)
		}
	}
	for in, want := range map[string]Ratio{"55": 5500, "62.5": 6250, "100": 10000, "0": 0, "0.01": 1} {
		if got, err := ParsePercent(in); err != nil || got != want {
			t.Errorf("ParsePercent(%q) = %d, %v", in, got, err)
		}
	}
	for _, bad := range []string{"100.01", "101", "-5", "55.555", "x"} {
		if _, err := ParsePercent(bad); err == nil {
			t.Errorf("ParsePercent(%q) accepted", bad)
		}
	}
	// 四舍五入 to the fen.
	if got := Ratio(5500).Of(3); got != 2 { // 1.65 fen → 2
		t.Errorf("55%% of 3 fen = %d", got)
	}
	if got := Ratio(5000).Of(1); got != 1 { // 0.5 fen → 1
		t.Errorf("50%% of 1 fen = %d", got)
	}
}

// TestCriticalIllnessWorkedExample follows policy-rules.md §5 [V]: critical
// illness pays 55/65/75 % of the year's amount above a 6,269-yuan
// deductible in segments 0–50k / 50–100k / ≥ 100k; the poor variant
// 60/70/80 % above 3,135 yuan, without cap.
//
// A referred out-of-county admission with 197,000 yuan of 甲类 items:
// basic pays 60 % × (197,000 − 2,000) = 117,000; 80,000 is left.
func TestCriticalIllnessWorkedExample(t *testing.T) {
	p := examplePolicy(t, "example-2026.json")
	c := &Claim{VisitID: "v1", Date: "2026-05-10", VisitType: Inpatient, Level: OutOfCounty, Referred: true, Insured: true, Lines: bill("197000")}
	r, err := Settle(p, c, &Accumulators{})
	if err != nil {
		t.Fatal(err)
	}
	// Ordinary: (80,000 − 6,269) = 73,731 above the deductible:
	// 50,000 × 55 % + 23,731 × 65 % = 27,500 + 15,425.15 = 42,925.15.
	if got := r.Paid(LayerBasic); got != yuan("117000") {
		t.Errorf("basic paid %s, want 117000.00", got)
	}
	if got := r.Paid(LayerCritical); got != yuan("42925.15") {
		t.Errorf("critical paid %s, want 42925.15", got)
	}
	if r.Patient != yuan("37074.85") || r.Insurers+r.Patient != r.Total {
		t.Errorf("patient %s", r.Patient)
	}
	// Subsistence-allowance patient: 76,865 above 3,135:
	// 50,000 × 60 % + 26,865 × 70 % = 30,000 + 18,805.50 = 48,805.50;
	// assistance then pays 90 % of the 31,194.50 left = 28,075.05.
	c.Poverty = "subsistence"
	r, err = Settle(p, c, &Accumulators{})
	if err != nil {
		t.Fatal(err)
	}
	if got := r.Paid(LayerCritical); got != yuan("48805.50") {
		t.Errorf("poor critical paid %s, want 48805.50", got)
	}
	if got := r.Paid(LayerAssistance); got != yuan("28075.05") {
		t.Errorf("assistance paid %s, want 28075.05", got)
	}
	if r.Patient != yuan("3119.45") {
		t.Errorf("poor patient pays %s, want 3119.45", r.Patient)
	}
}

// TestSegmentsSpanVisits: the critical-illness segments apply to the
// year's running total, so a second admission continues where the first
// stopped (policy-rules.md §5: an annual deductible and annual segments).
func TestSegmentsSpanVisits(t *testing.T) {
	p := examplePolicy(t, "example-2026.json")
	l := NewLedger(p)
	c1 := &Claim{VisitID: "a", Date: "2026-03-01", VisitType: Inpatient, Level: OutOfCounty, Referred: true, Insured: true, Lines: bill("102000")}
	// basic 60 % × 100,000 = 60,000; left 42,000 → 35,731 above 6,269 at 55 % = 19,652.05
	r1, _, err := l.Settle("k1", "p", c1)
	if err != nil || r1.Paid(LayerCritical) != yuan("19652.05") {
		t.Fatalf("first admission critical %v %v", r1.Paid(LayerCritical), err)
	}
	// Second: basic 60 % × (77,000 − 2,000) = 45,000; left 32,000. The year's
	// amount above the deductible goes from 35,731 to 67,731: 14,269 at 55 %
	// + 17,731 at 65 % = 7,847.95 + 11,525.15 = 19,373.10.
	c2 := &Claim{VisitID: "b", Date: "2026-06-01", VisitType: Inpatient, Level: OutOfCounty, Referred: true, Insured: true, Lines: bill("77000")}
	r2, _, err := l.Settle("k2", "p", c2)
	if err != nil || r2.Paid(LayerCritical) != yuan("19373.10") {
		t.Fatalf("second admission critical %v %v", r2.Paid(LayerCritical), err)
	}
	// The basic annual cap (120,000) stops the third admission's basic payment at 15,000.
	c3 := &Claim{VisitID: "c", Date: "2026-09-01", VisitType: Inpatient, Level: OutOfCounty, Referred: true, Insured: true, Lines: bill("52000")}
	r3, _, err := l.Settle("k3", "p", c3)
	if err != nil || r3.Paid(LayerBasic) != yuan("15000") {
		t.Fatalf("third admission basic %v %v", r3.Paid(LayerBasic), err)
	}
}

// TestBottomLine985 follows seed 002's "985" rule (policy-rules.md §5):
// a poor patient's inpatient reimbursement reaches 90 % and their
// out-of-pocket spending stays within 5,000 yuan a year.
func TestBottomLine985(t *testing.T) {
	p := examplePolicy(t, "985-2026.json")
	l := NewLedger(p)
	// Monitored household, county hospital, 20,000 yuan (甲类):
	// basic 70 % × 19,400 = 13,580; left 6,420. Critical (poor): 6,420 −
	// 3,135 = 3,285 × 60 % = 1,971; left 4,449. No assistance for
	// monitored households in this policy. Supplementary 30 % × 4,449 =
	// 1,334.70. Paid 16,885.70 < 90 % × 20,000 = 18,000: bottom line pays
	// 1,114.30; the patient pays 2,000.
	c := &Claim{VisitID: "x", Date: "2026-04-01", VisitType: Inpatient, Level: County, Poverty: "monitored", Insured: true, Lines: bill("20000")}
	r, _, err := l.Settle("x", "m", c)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{LayerBasic: "13580", LayerCritical: "1971", LayerAssistance: "0", LayerSupplementary: "1334.70", LayerBottomLine: "1114.30"}
	for layer, w := range want {
		if got := r.Paid(layer); got != yuan(w) {
			t.Errorf("%s paid %s, want %s", layer, got, w)
		}
	}
	if r.Patient != yuan("2000") {
		t.Errorf("patient %s, want 2000.00", r.Patient)
	}
	// Two more admissions of 20,000. The critical-illness deductible is
	// used up, so each pays 60 % × 6,420 = 3,852; supplementary 30 % × 2,568
	// = 770.40; 18,202.40 paid is over 90 %, leaving 1,797.60 each. After
	// the second the year's out-of-pocket is 3,797.60; the third would
	// bring it to 5,595.20, so the bottom line pays the 595.20 over the
	// 5,000 cap and the patient 1,202.40.
	for i, key := range []string{"y", "z"} {
		c2 := *c
		c2.VisitID = key
		c2.Date = "2026-0" + string(rune('5'+i)) + "-01"
		r, _, err = l.Settle(key, "m", &c2)
		if err != nil {
			t.Fatal(err)
		}
	}
	if got := l.Accumulators("m").OutOfPocket; got != yuan("5000") {
		t.Errorf("out of pocket in the year %s, want 5000.00 (the cap)", got)
	}
	if r.Patient != yuan("1202.40") || r.Paid(LayerBottomLine) != yuan("595.20") {
		t.Errorf("third admission: patient %s, bottom line %s; want 1202.40 and 595.20", r.Patient, r.Paid(LayerBottomLine))
	}
	// An unreferred admission out of the county gets no bottom line.
	c4 := *c
	c4.VisitID, c4.Level = "w", OutOfCounty
	r, _, _ = l.Settle("w", "m", &c4)
	if r.Paid(LayerBottomLine) != 0 {
		t.Errorf("bottom line paid %s out of county without referral", r.Paid(LayerBottomLine))
	}
}

func TestClaimErrors(t *testing.T) {
	p := examplePolicy(t, "example-2026.json")
	ok := Claim{VisitID: "v", Date: "2026-05-10", VisitType: Outpatient, Level: Village, Insured: true, Lines: bill("50")}
	tests := []struct {
		edit       func(*Claim)
		field, key string
	}{
		{func(c *Claim) { c.Date = "2025-12-31" }, "date", "settle.policy_not_in_force"},
		{func(c *Claim) { c.Date = "2026-02-30" }, "date", "settle.date_invalid"},
		{func(c *Claim) { c.VisitType = "spa" }, "visit_type", "settle.visit_type_invalid"},
		{func(c *Claim) { c.VisitType, c.ChronicCategory = Chronic, "XX" }, "chronic_category", "settle.chronic_unknown"},
		{func(c *Claim) { c.Level = "moon" }, "institution_id", "settle.level_invalid"},
		{func(c *Claim) { c.Poverty = "rich" }, "bill", "settle.poverty_invalid"},
		{func(c *Claim) { c.Lines = nil }, "lines", "settle.no_lines"},
		{func(c *Claim) { c.Lines = []Line{{Category: "Z", Amount: 1}} }, "lines", "settle.category_unknown"},
		{func(c *Claim) { c.Lines = []Line{{Category: "A", Amount: 100}, {Category: "A", Amount: -1}} }, "lines", "settle.amount_negative"},
		// Issue 18: a bill of 0.00 yuan was settled (a settlement with no
		// money that used up the visit); one line or several, all free.
		{func(c *Claim) { c.Lines = []Line{{Category: "A", Amount: 0}} }, "lines", "settle.total_zero"},
		{func(c *Claim) { c.Lines = []Line{{Category: "A"}, {Category: "B"}} }, "lines", "settle.total_zero"},
	}
	for _, tt := range tests {
		c := ok
		tt.edit(&c)
		_, err := Settle(p, &c, &Accumulators{})
		ce, isCE := err.(*ClaimError)
		if !isCE || ce.Key != tt.key || ce.Field != tt.field {
			t.Errorf("got %v, want %s on %s", err, tt.key, tt.field)
		}
	}
	// The item a negative amount is on is named (its number in the message's arguments).
	c := ok
	c.Lines = []Line{{Category: "A", Amount: 100}, {Category: "A", Amount: -1}}
	if _, err := Settle(p, &c, &Accumulators{}); err.(*ClaimError).Args[0] != 2 {
		t.Errorf("negative amount names item %v, want 2", err.(*ClaimError).Args)
	}
	// A free item on a bill with others is not a fault.
	c.Lines = []Line{{Category: "A", Amount: 100}, {Category: "A", Amount: 0}}
	if _, err := Settle(p, &c, &Accumulators{}); err != nil {
		t.Errorf("free item beside a paid one: %v", err)
	}
}

func TestPolicyValidation(t *testing.T) {
	b, _ := ExampleFile("example-2026.json")
	for _, tt := range []struct{ from, to, fault string }{
		{`"ratio": "55"`, `"ratio": "155"`, "over 100"},
		{`{"from": "50000", "to": "100000", "ratio": "65"}`, `{"from": "40000", "to": "100000", "ratio": "65"}`, "contiguous"},
		{`"effective_to": "2026-12-31"`, `"effective_to": "2025-12-31"`, "before effective_from"},
		{`"out_of_county": {"deductible": "2000", "ratio": "60"}`, `"out_of_space": {"deductible": "2000", "ratio": "60"}`, "no rule for level out_of_county"},
		{`"deductible": "6269"`, `"deductible": "6269.001"`, "fraction of a fen"},
		{`"county": "411723"`, `"county": "411723", "surprise": 1`, "unknown field"},
	} {
		bad := []byte(replaceOnce(string(b), tt.from, tt.to))
		if _, err := ParsePolicy(bad); err == nil || !containsStr(err.Error(), tt.fault) {
			t.Errorf("policy with %s: %v, want fault %q", tt.to, err, tt.fault)
		}
	}
}

func replaceOnce(s, a, b string) string {
	i := indexOf(s, a)
	if i < 0 {
		panic("no " + a)
	}
	return s[:i] + b + s[i+len(a):]
}

func indexOf(s, sub string) int {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return i
		}
	}
	return -1
}

func containsStr(s, sub string) bool { return indexOf(s, sub) >= 0 }

// TestReports checks the report formulas on hand-computed rows
// (policy-rules.md §6: 药占比 = drugs / revenue, 耗占比 = materials /
// revenue, CMI = Σ RW × n / Σ n).
func TestReports(t *testing.T) {
	rows := []Totals{
		{Month: "2026-03", InstitutionID: 1, VisitType: Inpatient, DRG: "ES31", Count: 2, Total: 1000000, Basic: 600000, Critical: 50000, Patient: 350000, Drugs: 300000, Materials: 100000},
		{Month: "2026-03", InstitutionID: 2, VisitType: Outpatient, Count: 10, Total: 50000, Basic: 25000, Patient: 25000, Drugs: 40000},
		{Month: "2026-04", InstitutionID: 1, VisitType: Inpatient, DRG: "GZ13", Count: 1, Total: 200000, Basic: 120000, BottomLine: 30000, Patient: 50000, Drugs: 60000, Materials: 20000},
		{Month: "2026-04", InstitutionID: 1, VisitType: Inpatient, DRG: "ZZ99", Count: 1, Total: 100000, Basic: 60000, Patient: 40000},
	}
	ind := CostIndicators(rows, map[string]float64{"ES31": 1.05, "GZ13": 0.55})
	// drugs 400,000 / total 1,350,000 = 29.63 %; materials 120,000 / 1,350,000 = 8.89 %
	if ind.DrugRatio != 2963 || ind.MaterialRatio != 889 {
		t.Errorf("ratios %v %v", ind.DrugRatio, ind.MaterialRatio)
	}
	// inpatient cases 4, total 1,300,000 fen → 325,000 fen per case
	if ind.InpatientCases != 4 || ind.CostPerCase != 325000 {
		t.Errorf("cost per case %v over %d", ind.CostPerCase, ind.InpatientCases)
	}
	// CMI over the 3 weighted cases: (2 × 1.05 + 0.55) / 3 = 0.8833
	if ind.CasesWithDRG != 3 || ind.UnknownDRGCases != 1 || ind.CMI < 0.8833 || ind.CMI > 0.8834 {
		t.Errorf("CMI %v over %d (%d unknown)", ind.CMI, ind.CasesWithDRG, ind.UnknownDRGCases)
	}
	fm := ClaimsByFundMonth(rows)
	if len(fm) != 4 || fm[0] != (FundMonth{"2026-03", LayerBasic, 12, 625000}) || fm[1] != (FundMonth{"2026-03", LayerCritical, 2, 50000}) {
		t.Errorf("claims by fund %+v", fm)
	}
	rec := Reconcile(rows, "2026-04")
	if len(rec) != 1 || rec[0].Advanced != 210000 || rec[0].ByFund[LayerBottomLine] != 30000 || rec[0].Visits != 2 {
		t.Errorf("reconciliation %+v", rec)
	}
	// 2026 has 365 days; on 1 April (day 91) 9,100 spent projects to 36,500.
	b := Budget(map[int64]Fen{7: 40000}, map[int64]Fen{7: 9100}, 2026, mustDay("2026-04-01"))
	if len(b) != 1 || b[0].Projected != 36500 || b[0].Surplus != 3500 {
		t.Errorf("budget %+v", b)
	}
	if w := ExampleWeights(); len(w.Weights) == 0 {
		t.Error("no example weights")
	}
}

func mustDay(s string) time.Time {
	d, err := time.Parse("2006-01-02", s)
	if err != nil {
		panic(err)
	}
	return d
}

func TestParseBillLines(t *testing.T) {
	ls, fs := ParseBillLines("XA10,二甲双胍片,drug,A,12.50\n\nC01,\"CT, 平扫\",exam,B,300\n")
	if len(fs) != 0 || len(ls) != 2 || ls[1].Name != "CT, 平扫" || ls[0].Amount != 1250 {
		t.Fatalf("%+v %v", ls, fs)
	}
	for _, tt := range []struct{ in, key string }{
		{"", "settle.no_lines"},
		{"a,b,c,A", "settle.line_fields"},
		{"a,b,drug,A,-5", "settle.line_amount"},
		{"a,b,drug,A,1.234", "settle.line_amount"},
		{",b,drug,A,1", "settle.line_field_invalid"},
		{"a,\"b,drug,A,1", "settle.line_csv"},
	} {
		_, fs := ParseBillLines(tt.in)
		if len(fs) == 0 || fs[0].Key != tt.key {
			t.Errorf("ParseBillLines(%q) = %v, want %s", tt.in, fs, tt.key)
		}
	}
	if got, _ := ParseBillLines(FormatBillLines(ls)); len(got) != 2 || got[1] != ls[1] {
		t.Error("FormatBillLines does not round-trip")
	}
}

func FuzzParseBillLines(f *testing.F) {
	f.Add("XA10,二甲双胍片,drug,A,12.50\nC01,\"CT, 平扫\",exam,B,300\n")
	f.Add("a,b,c,d,e,f\n,,,,\n")
	f.Fuzz(func(t *testing.T, s string) {
		ls, fs := ParseBillLines(s)
		for _, l := range ls {
			if l.Amount < 0 || l.Code == "" {
				t.Fatalf("bad line accepted %+v", l)
			}
		}
		if len(fs) == 0 {
			again, fs2 := ParseBillLines(FormatBillLines(ls))
			if len(fs2) != 0 || len(again) != len(ls) {
				t.Fatalf("round trip of %q failed: %v", s, fs2)
			}
		}
	})
}

func TestAmountsAreYuanStrings(t *testing.T) {
	var l Line
	if err := json.Unmarshal([]byte(`{"amount": 1250}`), &l); err == nil {
		t.Error("a JSON number was taken as an amount")
	}
	if err := json.Unmarshal([]byte(`{"amount": "12.50"}`), &l); err != nil || l.Amount != 1250 {
		t.Errorf("amount %v, %v", l.Amount, err)
	}
	b, _ := json.Marshal(l)
	if string(b) != `{"code":"","name":"","class":"","category":"","amount":"12.50"}` {
		t.Errorf("marshalled %s", b)
	}
}
