package rx

// Tests written against the mutants gremlins left alive (issue 18 §6,
// docs/mutation.md); each pins what a finding tells the pharmacist.

import "testing"

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
