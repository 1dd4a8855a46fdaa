package rx

// Tests written against the mutants gremlins left alive (issue 18 §6,
// docs/mutation.md); each pins what a finding tells the pharmacist.

import (
	"fmt"
	"strings"
	"testing"
	"testing/fstest"
	"time"
)

func findingOf(fs []Finding, rule string) *Finding {
	for i := range fs {
		if fs[i].Rule == rule {
			return &fs[i]
		}
	}
	return nil
}

// TestFindingValuesInYearsAndMilligrams pins the numbers a finding shows
// (SrcInsert): the age finding gives the patient's age and the label's
// minimum in years; the child-dose finding the dose and the per-kg limit
// for the child's weight (paracetamol 15 mg/kg × 16 kg = 240 mg).
func TestFindingValuesInYearsAndMilligrams(t *testing.T) {
	p := adult()
	p.Patient = Patient{AgeMonths: 204, WeightKg: 60} // 17 years
	p.Lines[4] = Line{DrugCode: "levofloxacin-500t", Dose: 500, DoseUnit: "mg", Frequency: "qd", Route: "po", Days: 5, Quantity: 5, Diagnosis: "N39.0"}
	if f := findingOf(review(p), RuleAge); f == nil || f.Value != 17 || f.Limit != 18 || f.Line != 5 {
		t.Errorf("age finding %+v, want 17 (years) against 18", f)
	}
	c := adult()
	c.Patient = Patient{AgeMonths: 4 * 12, WeightKg: 16}
	c.Diagnoses = []string{"R50.9"}
	c.Lines = []Line{{DrugCode: "paracetamol-500t", Dose: 300, DoseUnit: "mg", Frequency: "tid", Route: "po", Days: 3, Quantity: 6}}
	if f := findingOf(review(c), RuleChildDose); f == nil || f.Value != 300 || f.Limit != 240 {
		t.Errorf("child dose finding %+v, want 300 mg against 240", f)
	}
}

// TestPairFindingsNameBothLines pins the pair checks (SrcATC duplicate
// therapy; interactions): a finding names both lines, and the first drug of
// the knowledge base takes part like any other.
func TestPairFindingsNameBothLines(t *testing.T) {
	if testEngine.KB.Drugs[0].Code != "amlodipine-5t" {
		t.Skipf("the first formulary drug is %s; this test pairs amlodipine-5t, the first", testEngine.KB.Drugs[0].Code)
	}
	p := adult()
	p.Lines = []Line{
		{DrugCode: "amlodipine-5t", Dose: 5, DoseUnit: "mg", Frequency: "qd", Route: "po", Days: 7, Quantity: 7},
		{DrugCode: "levamlodipine-2.5t", Dose: 2.5, DoseUnit: "mg", Frequency: "qd", Route: "po", Days: 7, Quantity: 7},
	}
	if f := findingOf(review(p), RuleDuplicate); f == nil || f.Line != 1 || f.Other != 2 {
		t.Errorf("duplicate finding %+v, want lines 1 and 2", f)
	}
	p.Lines[0], p.Lines[1] = p.Lines[1], p.Lines[0] // the first formulary drug second
	if f := findingOf(review(p), RuleDuplicate); f == nil || f.Line != 1 || f.Other != 2 {
		t.Errorf("duplicate finding with amlodipine second %+v, want lines 1 and 2", f)
	}
	p = adult()
	p.Lines[3] = Line{DrugCode: "enalapril-10t", Dose: 10, DoseUnit: "mg", Frequency: "qd", Route: "po", Days: 7, Quantity: 7}
	if f := findingOf(review(p), RuleInteraction); f == nil || f.Line != 4 || f.Other != 5 {
		t.Errorf("ACEI with ARB finding %+v, want lines 4 and 5", f)
	}
}

// TestAllergyATCPrefixFromA pins the ATC-prefix allergy match (SrcAllergy):
// a prefix of the first anatomical group, A (metformin A10BA02), matches.
func TestAllergyATCPrefixFromA(t *testing.T) {
	p := adult()
	p.Patient.Allergies = []string{"A10"}
	if f := findingOf(review(p), RuleAllergy); f == nil || f.Line != 2 {
		t.Errorf("allergy A10 on metformin: %+v", f)
	}
}

// TestFindingSourcesAndTexts pins the source and wording each finding cites
// (regulation.go Src*; the 2007 rules, the 2021 long-term rules, the
// antimicrobial and narcotics rules; 2007 art. 6(7): an overdose the
// doctor signs again is shown with that note).
func TestFindingSourcesAndTexts(t *testing.T) {
	level := func(code, inst, dx string) *Finding {
		p := adult()
		p.InstitutionLevel = inst
		p.Lines[4] = Line{DrugCode: code, Dose: 1, DoseUnit: "g", Frequency: "qd", Route: "iv", Days: 3, Quantity: 3, Diagnosis: dx}
		return findingOf(review(p), RuleLevel)
	}
	if f := level("ceftriaxone-1g", "village", "J18.9"); f == nil || f.Source != SrcAntimicrobe {
		t.Errorf("restricted antimicrobial at a village: %+v", f)
	}
	p := adult()
	p.Lines[4] = Line{DrugCode: "morphine-10t", Dose: 10, DoseUnit: "mg", Frequency: "q4h", Route: "po", Days: 1, Quantity: 6, Diagnosis: "R52"}
	if f := findingOf(review(p), RuleLevel); f == nil || f.Source != SrcNarcotics {
		t.Errorf("morphine at a township: %+v", f)
	}
	supply := func(k Kind, reason string, days int) *Finding {
		p := adult()
		p.Kind, p.Reason = k, reason
		p.Lines = p.Lines[:1]
		p.Lines[0].Days, p.Lines[0].Quantity = days, float64(days)
		return findingOf(review(p), RuleSupply)
	}
	for _, tt := range []struct {
		k           Kind
		reason      string
		days        int
		src, zh, en string
	}{
		{KindNormal, "", 8, SrcRx2007Art19, "处方一般不得超过7日用量", "a prescription is limited to 7 days' supply"},
		{KindEmergency, "", 4, SrcRx2007Art19, "急诊处方一般不得超过3日用量", "an emergency prescription is limited to 3 days' supply"},
		{KindChronic, "", 8, SrcRx2007Art19, "慢性病处方延长用量须注明理由；未注明理由按7日用量", "a longer chronic prescription needs a reason; without one the limit is 7 days"},
		{KindChronic, "高血压", 31, SrcRx2007Art19, "慢性病处方用量超过本地规定的最长天数", "beyond the local limit for chronic prescriptions"},
		{KindLongTerm, "", 29, SrcLongTerm2021, "长期处方一般不超过4周，病情稳定者最长不超过12周", "a long-term prescription is limited to 4 weeks, 12 weeks when the condition is stable"},
	} {
		if f := supply(tt.k, tt.reason, tt.days); f == nil || f.Source != tt.src || f.ZH != tt.zh || f.EN != tt.en {
			t.Errorf("%s %q %d days: %+v", tt.k, tt.reason, tt.days, f)
		}
	}
	for _, signed := range []bool{false, true} {
		p := adult()
		p.Lines[1].Dose, p.Lines[1].Quantity, p.Lines[1].Frequency, p.Lines[1].OverdoseSigned = 1100, 42, "tid", signed
		fs := review(p)
		for _, rule := range []string{RuleDoseHigh, RuleDailyHigh} {
			f := findingOf(fs, rule)
			if f == nil || strings.HasSuffix(f.ZH, overdoseSignedNote) != signed {
				t.Errorf("%s signed=%v: %+v", rule, signed, f)
			}
		}
		c := adult()
		c.Patient = Patient{AgeMonths: 4 * 12, WeightKg: 16}
		c.Diagnoses = []string{"R50.9"}
		c.Lines = []Line{{DrugCode: "paracetamol-500t", Dose: 300, DoseUnit: "mg", Frequency: "tid", Route: "po", Days: 3, Quantity: 6, OverdoseSigned: signed}}
		if f := findingOf(review(c), RuleChildDose); f == nil || strings.HasSuffix(f.ZH, overdoseSignedNote) != signed {
			t.Errorf("child dose signed=%v: %+v", signed, f)
		}
	}
}

// TestKnowledgeBaseLineNumbersAndEqualDoses pins LoadFS (rx/kb/README.md):
// a fault names its file and line; a single-dose range of one value
// (minimum = maximum) is consistent.
func TestKnowledgeBaseLineNumbersAndEqualDoses(t *testing.T) {
	read := func(name string) string {
		b, err := embedded.ReadFile("kb/" + name)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	fsys := func(formulary string) fstest.MapFS {
		m := fstest.MapFS{}
		for _, f := range []string{"groups.psv", "interactions.psv", "allergy.psv", "pairs.psv"} {
			m["kb/"+f] = &fstest.MapFile{Data: []byte(read(f))}
		}
		m["kb/formulary.psv"] = &fstest.MapFile{Data: []byte(formulary)}
		return m
	}
	base := read("formulary.psv")
	lines := strings.Count(base, "\n")
	if !strings.HasSuffix(base, "\n") {
		t.Fatal("formulary.psv does not end with a newline")
	}
	_, err := LoadFS(fsys(base+"broken|line\n"), "kb")
	if want := fmt.Sprintf("formulary.psv:%d:", lines+1); err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("bad line %d: %v, want %q", lines+1, err, want)
	}
	fixed := "fixeddose-5t|定量片|fixed dose|tab|5|mg|po|C08CA01|E|VTC|5|5|5|1|||C|C||C|I10\n"
	kb, err := LoadFS(fsys(base+fixed), "kb")
	if err != nil || kb.Drug("fixeddose-5t") == nil {
		t.Errorf("a drug whose single dose is 5–5 mg: %v", err)
	}
	zero := "zerostrength-0t|零规格|zero strength|tab|0|mg|po|C08CA01|E|VTC|5|5|5|1|||C|C||C|I10\n"
	if _, err := LoadFS(fsys(base+zero), "kb"); err == nil || !strings.Contains(err.Error(), "inconsistent strength") {
		t.Errorf("a tablet of 0 mg: %v", err)
	}
}

// TestOutcomeIgnoresInformation pins Outcome (rx.go: Block if any blocks,
// Warn if any warns, otherwise clean): information alone leaves a
// prescription clean.
func TestOutcomeIgnoresInformation(t *testing.T) {
	for _, tt := range []struct {
		fs   []Finding
		want Severity
	}{
		{nil, 0},
		{[]Finding{{Severity: Info}}, 0},
		{[]Finding{{Severity: Info}, {Severity: Warn}}, Warn},
		{[]Finding{{Severity: Block}, {Severity: Warn}, {Severity: Info}}, Block},
	} {
		if got := Outcome(tt.fs); got != tt.want {
			t.Errorf("Outcome(%v) = %v, want %v", tt.fs, got, tt.want)
		}
	}
	p := adult()
	p.Lines[0].Quantity = 5 // 5 tablets for 7 days: information only
	if fs := review(p); findingOf(fs, RuleQuantityShort) == nil || Outcome(fs) != 0 {
		t.Errorf("short quantity only: %+v outcome %v", fs, Outcome(fs))
	}
}

// TestReviewTimeEdges pins ComputeIndicators (审方时长, issue #7): a decision
// exactly 24 h after signing is within the day; with nothing decided the
// median and p90 are zero.
func TestReviewTimeEdges(t *testing.T) {
	t0 := day("2026-03-10").Time()
	rows := []ReviewRow{
		{Status: StatusApproved, Outcome: Warn, SignedAt: t0, ReviewedAt: t0.Add(24 * time.Hour)},
		{Status: StatusApproved, Outcome: Warn, SignedAt: t0, ReviewedAt: t0.Add(24*time.Hour + time.Second)},
	}
	in := ComputeIndicators(day("2026-03-01"), day("2026-03-31"), rows)
	if in.ReviewedWithinDay != 1 || in.Decided != 2 {
		t.Errorf("24 h exactly is within the day: %+v", in)
	}
	none := ComputeIndicators(day("2026-03-01"), day("2026-03-31"), []ReviewRow{{Status: StatusPending, Outcome: Warn, SignedAt: t0}})
	if none.Decided != 0 || none.MedianReview != 0 || none.P90Review != 0 || none.Flagged != 1 {
		t.Errorf("nothing decided: %+v", none)
	}
}

// TestDoseUnitsAndFrequencies pins DoseIn and TimesPerDay (用法用量 as
// written on Chinese prescriptions): 万单位 (wIU) is 10,000 IU; qw is once a
// week.
func TestDoseUnitsAndFrequencies(t *testing.T) {
	kb := testEngine.KB
	pen := kb.Drug("benzathine-penicillin-1.2miu") // strength in wIU
	if d, ok := DoseIn(pen, 1200000, "IU"); !ok || d != 120 {
		t.Errorf("1,200,000 IU of a drug in 万单位: %v %v, want 120", d, ok)
	}
	if d, ok := DoseIn(pen, 120, "wIU"); !ok || d != 120 {
		t.Errorf("120 万单位: %v %v", d, ok)
	}
	if _, ok := DoseIn(pen, 1, "mg"); ok {
		t.Error("mg converted to 万单位")
	}
	if f, ok := unitFactor("wIU", "IU"); !ok || f != 1e4 {
		t.Errorf("wIU → IU: %v %v", f, ok)
	}
	if f, ok := unitFactor("IU", "mg"); ok || f != 0 {
		t.Errorf("IU → mg: %v %v", f, ok)
	}
	for freq, want := range map[string]float64{"qw": 1.0 / 7, "biw": 2.0 / 7, "qod": 0.5, "q4h": 6} {
		if got, ok := TimesPerDay(freq, pen); !ok || got != want {
			t.Errorf("%s: %v, want %v", freq, got, want)
		}
	}
}

// TestValidateInputLimits pins KB.Validate's bounds: age 0–150 years,
// weight 0–400 kg, at most MaxInputLines (16) lines, diagnoses and
// allergies per request.
func TestValidateInputLimits(t *testing.T) {
	kb := testEngine.KB
	many := func(n int) []string {
		s := make([]string, n)
		for i := range s {
			s[i] = "I10"
		}
		return s
	}
	for _, tt := range []struct {
		name string
		edit func(*Prescription)
		ok   bool
	}{
		{"150 years", func(p *Prescription) { p.Patient.AgeMonths = 150 * 12 }, true},
		{"150 years and a month", func(p *Prescription) { p.Patient.AgeMonths = 150*12 + 1 }, false},
		{"newborn", func(p *Prescription) { p.Patient.AgeMonths = 0 }, true},
		{"negative age", func(p *Prescription) { p.Patient.AgeMonths = -1 }, false},
		{"400 kg", func(p *Prescription) { p.Patient.WeightKg = 400 }, true},
		{"400.5 kg", func(p *Prescription) { p.Patient.WeightKg = 400.5 }, false},
		{"negative weight", func(p *Prescription) { p.Patient.WeightKg = -1 }, false},
		{"16 diagnoses", func(p *Prescription) { p.Diagnoses = many(16) }, true},
		{"17 diagnoses", func(p *Prescription) { p.Diagnoses = many(17) }, false},
		{"16 allergies", func(p *Prescription) { p.Patient.Allergies = many(16) }, true},
		{"17 allergies", func(p *Prescription) { p.Patient.Allergies = many(17) }, false},
		{"16 lines", func(p *Prescription) {
			for len(p.Lines) < 16 {
				p.Lines = append(p.Lines, p.Lines[0])
			}
		}, true},
		{"17 lines", func(p *Prescription) {
			for len(p.Lines) < 17 {
				p.Lines = append(p.Lines, p.Lines[0])
			}
		}, false},
	} {
		p := adult()
		tt.edit(p)
		if err := kb.Validate(p); (err == nil) != tt.ok {
			t.Errorf("%s: %v, want ok=%v", tt.name, err, tt.ok)
		}
	}
}
