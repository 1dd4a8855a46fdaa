package settle

// Tests written against the mutants gremlins left alive (issue 18 §6,
// docs/mutation.md), each pinning the rule the mutant broke.

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestAccumulatorsKeepChronicTotals pins Accumulators.Add and Negative (the
// ledger model of docs/settlement.md: a settlement adds its delta, a
// reversal subtracts it exactly; a reversal that would go below zero is
// refused): per-category chronic totals survive an Add from empty, vanish
// when they return to zero, and a zero total is not negative.
func TestAccumulatorsKeepChronicTotals(t *testing.T) {
	d := Accumulators{ChronicPaid: map[string]Fen{"HT": 100}, ChronicDeductible: map[string]Fen{"HT": 20}}
	a := Accumulators{}.Add(d, 1)
	if a.ChronicPaid["HT"] != 100 || a.ChronicDeductible["HT"] != 20 {
		t.Errorf("add to empty: %+v", a)
	}
	if back := a.Add(d, -1); back.ChronicPaid != nil || back.ChronicDeductible != nil || !back.Equal(Accumulators{}) {
		t.Errorf("reversed to zero: %+v", back)
	}
	if (Accumulators{ChronicPaid: map[string]Fen{"HT": 0}}).Negative() {
		t.Error("a zero chronic total is negative")
	}
	if !(Accumulators{ChronicDeductible: map[string]Fen{"HT": -1}}).Negative() || !(Accumulators{OutOfPocket: -1}).Negative() {
		t.Error("a negative total is not negative")
	}
}

// TestBillLineLimits pins ParseBillLines (settle/billcsv.go: one item per
// line, blank lines skipped, at most MaxLines items; code ≤ 40 bytes, name
// ≤ 100 characters, class ≤ 20, category ≤ 10).
func TestBillLineLimits(t *testing.T) {
	row := func(code, name, class, cat string) string {
		return code + "," + name + "," + class + "," + cat + ",1.00\n"
	}
	for _, tt := range []struct {
		name, in, key string
	}{
		{"a line of spaces is blank", row("a", "b", "drug", "A") + "   \n" + row("c", "d", "drug", "A"), ""},
		{"40-byte code", row(strings.Repeat("x", 40), "b", "drug", "A"), ""},
		{"41-byte code", row(strings.Repeat("x", 41), "b", "drug", "A"), "settle.line_field_invalid"},
		{"100-character name", row("a", strings.Repeat("药", 100), "drug", "A"), ""},
		{"101-character name", row("a", strings.Repeat("药", 101), "drug", "A"), "settle.line_field_invalid"},
		{"20-byte class", row("a", "b", strings.Repeat("c", 20), "A"), ""},
		{"21-byte class", row("a", "b", strings.Repeat("c", 21), "A"), "settle.line_field_invalid"},
		{"10-byte category", row("a", "b", "drug", strings.Repeat("K", 10)), ""},
		{"11-byte category", row("a", "b", "drug", strings.Repeat("K", 11)), "settle.line_field_invalid"},
		{"2,000 items", strings.Repeat(row("a", "b", "drug", "A"), MaxLines), ""},
		{"2,001 items", strings.Repeat(row("a", "b", "drug", "A"), MaxLines+1), "settle.too_many_lines"},
	} {
		ls, fs := ParseBillLines(tt.in)
		got := ""
		if len(fs) > 0 {
			got = fs[0].Key
		}
		if got != tt.key {
			t.Errorf("%s: %v, want %q", tt.name, fs, tt.key)
		}
		if tt.key == "" && len(ls) == 0 {
			t.Errorf("%s: no lines", tt.name)
		}
	}
}

// TestClaimErrorsNameTheLine pins Policy.Check: a fault of a bill line names
// the line, counting from 1, so the officer can find it.
func TestClaimErrorsNameTheLine(t *testing.T) {
	p := examplePolicy(t, "example-2026.json")
	for _, tt := range []struct {
		bad Line
		key string
	}{
		{Line{Category: "Z", Amount: 1}, "settle.category_unknown"},
		{Line{Category: "A", Amount: -1}, "settle.amount_negative"},
		{Line{Category: "A", Amount: 1e11 + 1}, "settle.amount_too_large"},
	} {
		c := Claim{VisitID: "v", Date: "2026-05-10", VisitType: Outpatient, Level: Village, Insured: true,
			Lines: []Line{{Category: "A", Amount: 100}, {Category: "A", Amount: 200}, tt.bad}}
		err := p.Check(&c)
		ce, _ := err.(*ClaimError)
		if ce == nil || ce.Key != tt.key || len(ce.Args) == 0 || ce.Args[0] != 3 {
			t.Errorf("%s on line 3: %v", tt.key, err)
		}
	}
}

// TestExplanationAmounts pins the explanation of benefits (docs/settlement.md:
// "every amount explained (rule, base, ratio)"): each critical-illness
// segment names its band (the last one "∞"), the part of this visit in it
// and its ratio; a visit below the deductible says how much is left.
func TestExplanationAmounts(t *testing.T) {
	p := examplePolicy(t, "example-2026.json")
	c := &Claim{VisitID: "c", Date: "2026-05-10", VisitType: Inpatient, Level: County, Insured: true, Lines: bill("10600")} // 3,600 left after basic
	steps := func(acc Accumulators, key string) [][]string {
		var out [][]string
		for _, s := range layerOf(settleOK(t, p, c, acc), LayerCritical).Steps {
			if s.Key == key {
				out = append(out, s.Args)
			}
		}
		return out
	}
	if got := steps(Accumulators{CriticalBase: yuan("56269")}, "settle.critical.segment"); len(got) != 1 ||
		strings.Join(got[0], " ") != "50000.00 100000.00 3600.00 65%" {
		t.Errorf("segment step %v", got)
	}
	if got := steps(Accumulators{CriticalBase: yuan("106269")}, "settle.critical.segment"); len(got) != 1 ||
		strings.Join(got[0], " ") != "100000.00 ∞ 3600.00 75%" {
		t.Errorf("last segment step %v", got)
	}
	if got := steps(Accumulators{}, "settle.critical.below"); len(got) != 1 || got[0][0] != "2669.00" {
		t.Errorf("below-deductible step %v, want 2669.00 left (6,269 − 3,600)", got)
	}
	if got := steps(Accumulators{CriticalBase: yuan("1000")}, "settle.critical.below"); len(got) != 1 || got[0][0] != "1669.00" {
		t.Errorf("below-deductible step %v, want 1669.00 left (6,269 − 1,000 − 3,600)", got)
	}
}

// TestZeroCapsMeanNoCap pins SimpleRule.AnnualCap and
// BottomLinePolicy.AnnualOOPCap: 0 is "no cap", not a cap of zero.
func TestZeroCapsMeanNoCap(t *testing.T) {
	p := examplePolicy(t, "example-2026.json")
	q := *p
	q.Assistance.Categories = map[string]SimpleRule{"edge": {Deductible: yuan("1000"), Ratio: 7000, AnnualCap: 0}}
	c := &Claim{VisitID: "c", Date: "2026-05-10", VisitType: Inpatient, Level: County, Poverty: "edge", Insured: true, Lines: bill("10600")}
	if got := settleOK(t, &q, c, Accumulators{AssistancePaid: yuan("1000000")}).Paid(LayerAssistance); got != yuan("1624.70") {
		t.Errorf("assistance without a cap: %s, want 1624.70", got)
	}
	b := examplePolicy(t, "985-2026.json")
	bq := *b
	bl := *b.BottomLine
	bl.AnnualOOPCap = 0
	bq.BottomLine = &bl
	m := &Claim{VisitID: "x", Date: "2026-04-01", VisitType: Inpatient, Level: County, Poverty: "monitored", Insured: true, Lines: bill("20000")}
	if l := layerOf(settleOK(t, &bq, m, Accumulators{OutOfPocket: yuan("100000")}), LayerBottomLine); l.Paid != yuan("1114.30") || hasStep(l, "settle.bottom.oop_cap") {
		t.Errorf("bottom line without an out-of-pocket cap: %s %v, want 1114.30", l.Paid, stepKeys(l))
	}
}

// TestMoneyText pins Fen's text (amounts are yuan strings with two
// decimals, docs/settlement.md) and ParseYuan's 12-digit limit.
func TestMoneyText(t *testing.T) {
	for f, want := range map[Fen]string{0: "0.00", 5: "0.05", 1234: "12.34", -5: "-0.05", -123456: "-1234.56", 1e11: "1000000000.00"} {
		if got := f.String(); got != want {
			t.Errorf("Fen(%d) = %q, want %q", int64(f), got, want)
		}
	}
	if f, err := ParseYuan("999999999999"); err != nil || f != 99999999999900 {
		t.Errorf("12-digit yuan: %v %v", f, err)
	}
}

// TestRatioText pins Ratio's text in explanations and policy files
// (percent with at most two decimals, no trailing zeros).
func TestRatioText(t *testing.T) {
	for r, want := range map[Ratio]string{5500: "55%", 6250: "62.5%", 6225: "62.25%", 5: "0.05%", 50: "0.5%", 10000: "100%", 0: "0%", 1209: "12.09%"} {
		if got := r.String(); got != want {
			t.Errorf("Ratio(%d) = %q, want %q", int64(r), got, want)
		}
		if b, _ := r.MarshalText(); string(b) != strings.TrimSuffix(want, "%") {
			t.Errorf("Ratio(%d) text %q", int64(r), b)
		}
	}
}

// TestPolicyValidationEdges pins Policy.Validate (docs/settlement.md:
// policies as data, checked on upload): years 2000–2100 matching
// effective_from; a basic and every chronic annual cap set (> 0); a segment
// must end after it starts; visit types are inpatient, outpatient or
// chronic; a fault names its segment (counting from 1).
func TestPolicyValidationEdges(t *testing.T) {
	b, _ := ExampleFile("example-2026.json")
	src := string(b)
	for _, tt := range []struct {
		name     string
		from, to []string
		fault    string // "" = valid
	}{
		{"year 2100", []string{`"year": 2026`, `"effective_from": "2026-01-01"`, `"effective_to": "2026-12-31"`},
			[]string{`"year": 2100`, `"effective_from": "2100-01-01"`, `"effective_to": "2100-12-31"`}, ""},
		{"year 2101", []string{`"year": 2026`, `"effective_from": "2026-01-01"`, `"effective_to": "2026-12-31"`},
			[]string{`"year": 2101`, `"effective_from": "2101-01-01"`, `"effective_to": "2101-12-31"`}, "year 2101"},
		{"year 2000", []string{`"year": 2026`, `"effective_from": "2026-01-01"`, `"effective_to": "2026-12-31"`},
			[]string{`"year": 2000`, `"effective_from": "2000-01-01"`, `"effective_to": "2000-12-31"`}, ""},
		{"basic cap 0", []string{`"annual_cap": "120000"`}, []string{`"annual_cap": "0"`}, "basic.annual_cap must be set"},
		{"chronic cap 0", []string{`"ratio": "65", "annual_cap": "3000"`}, []string{`"ratio": "65", "annual_cap": "0"`}, "chronic_outpatient.HT.annual_cap must be set"},
		{"segment ending where it starts", []string{`{"from": "50000", "to": "100000", "ratio": "65"}`}, []string{`{"from": "50000", "to": "50000", "ratio": "65"}`}, "segment 2 ends before it starts"},
		{"open segment before the last", []string{`{"from": "50000", "to": "100000", "ratio": "65"}`}, []string{`{"from": "50000", "to": "0", "ratio": "65"}`}, "segment 2 has no end but is not the last"},
		{"gap between segments", []string{`{"from": "50000", "to": "100000", "ratio": "65"}`}, []string{`{"from": "40000", "to": "100000", "ratio": "65"}`}, "segment 2 starts at 40000.00, want 50000.00"},
		{"unknown visit type", []string{`"visit_types": ["inpatient", "chronic"],
    "ordinary"`}, []string{`"visit_types": ["inpatient", "spa"],
    "ordinary"`}, "unknown visit type spa"},
		{"outpatient critical illness", []string{`"visit_types": ["inpatient", "chronic"],
    "ordinary"`}, []string{`"visit_types": ["inpatient", "outpatient", "chronic"],
    "ordinary"`}, ""},
	} {
		s := src
		for i := range tt.from {
			if !strings.Contains(s, tt.from[i]) {
				t.Fatalf("%s: %q not in the example", tt.name, tt.from[i])
			}
			s = strings.Replace(s, tt.from[i], tt.to[i], 1)
		}
		_, err := ParsePolicy([]byte(s))
		switch {
		case tt.fault == "" && err != nil:
			t.Errorf("%s refused: %v", tt.name, err)
		case tt.fault != "" && (err == nil || !strings.Contains(err.Error(), tt.fault)):
			t.Errorf("%s: %v, want %q", tt.name, err, tt.fault)
		}
	}
}

// TestReportFigures pins the insurance office's reports (docs/settlement.md:
// claims per fund and month, 药占比/耗占比/CMI): what the funds paid
// together, claims ordered by month then fund in payment order, no ratio
// or CMI without cases, DRG weights in (0, 100].
func TestReportFigures(t *testing.T) {
	tot := Totals{Basic: 500, Critical: 200, Assistance: 100, Supplementary: 50, BottomLine: 25}
	if tot.Insurers() != 875 {
		t.Errorf("insurers %d, want 875", tot.Insurers())
	}
	rows := []Totals{
		{Month: "2026-06", Count: 1, Basic: 10},
		{Month: "2026-05", Count: 1, Critical: 30},
		{Month: "2026-05", Count: 2, Basic: 20},
	}
	var got []string
	for _, c := range ClaimsByFundMonth(rows) {
		got = append(got, c.Month+":"+c.Fund)
	}
	if strings.Join(got, " ") != "2026-05:basic 2026-05:critical 2026-06:basic" {
		t.Errorf("claims order %v", got)
	}
	if ind := CostIndicators(nil, nil); ind.DrugRatio != 0 || ind.CostPerCase != 0 || ind.CMI != 0 {
		t.Errorf("no visits: %+v", ind)
	}
	outp := CostIndicators([]Totals{{VisitType: Outpatient, Count: 1, Total: 100, Drugs: 50}}, nil)
	if outp.DrugRatio != 5000 || outp.CostPerCase != 0 || outp.CMI != 0 {
		t.Errorf("outpatient only: %+v", outp)
	}
	for js, ok := range map[string]bool{`{"weights": {"A": 100}}`: true, `{"weights": {"A": 0.01}}`: true, `{"weights": {"A": 0}}`: false, `{"weights": {"A": 100.5}}`: false} {
		if _, err := ParseWeights([]byte(js)); (err == nil) != ok {
			t.Errorf("%s: %v, want ok=%v", js, err, ok)
		}
	}
}

// TestJSONNumbersRefusedForMoney pins Fen and Ratio's JSON (docs/settlement.md
// "Policy files": amounts and ratios are strings; a JSON number is refused,
// 1250 could mean fen or yuan): a ratio is written as a string, and the
// refusal quotes at most 20 bytes of what it was given.
func TestJSONNumbersRefusedForMoney(t *testing.T) {
	if b, err := json.Marshal(struct{ R Ratio }{5500}); err != nil || string(b) != `{"R":"55"}` {
		t.Errorf("ratio as JSON: %s %v", b, err)
	}
	var f Fen
	err := json.Unmarshal([]byte("123456789012345678901234"), &f)
	if err == nil || !strings.HasSuffix(err.Error(), "not 12345678901234567890…") {
		t.Errorf("a long number: %v", err)
	}
	var r Ratio
	if err := json.Unmarshal([]byte("12345678901234567890"), &r); err == nil || !strings.HasSuffix(err.Error(), "not 12345678901234567890") {
		t.Errorf("a 20-byte number: %v", err)
	}
}
