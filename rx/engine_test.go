package rx

import (
	"testing"

	"countycare/care"
)

var testEngine = func() *Engine {
	e, err := NewEngine()
	if err != nil {
		panic(err)
	}
	return e
}()

// adult is a 60-year-old hypertensive and diabetic patient at a township
// health center, on a clean 5-line prescription.
func adult() *Prescription {
	return &Prescription{
		Issued: day("2026-03-10"), Kind: KindNormal, InstitutionLevel: "township",
		Diagnoses: []string{"I10", "E11.9", "E78.5"},
		Patient:   Patient{AgeMonths: 60 * 12, WeightKg: 65},
		Lines: []Line{
			{DrugCode: "amlodipine-5t", Dose: 5, DoseUnit: "mg", Frequency: "qd", Route: "po", Days: 7, Quantity: 7},
			{DrugCode: "metformin-500t", Dose: 500, DoseUnit: "mg", Frequency: "tid", Route: "po", Days: 7, Quantity: 21},
			{DrugCode: "atorvastatin-20t", Dose: 20, DoseUnit: "mg", Frequency: "qn", Route: "po", Days: 7, Quantity: 7},
			{DrugCode: "aspirin-100t", Dose: 100, DoseUnit: "mg", Frequency: "qd", Route: "po", Days: 7, Quantity: 7},
			{DrugCode: "losartan-50t", Dose: 1, DoseUnit: "tab", Frequency: "qd", Route: "po", Days: 7, Quantity: 7},
		},
	}
}

func review(p *Prescription) []Finding {
	return testEngine.Review(p, day("2026-03-10"), nil)
}

func has(fs []Finding, rule string, sev Severity, line int) bool {
	for _, f := range fs {
		if f.Rule == rule && f.Severity == sev && (line == 0 || f.Line == line) {
			return true
		}
	}
	return false
}

func TestCleanPrescriptionPasses(t *testing.T) {
	p := adult()
	if err := testEngine.KB.Validate(p); err != nil {
		t.Fatal(err)
	}
	fs := review(p)
	if Outcome(fs) != 0 {
		t.Fatalf("clean prescription flagged: %+v", fs)
	}
}

// Each case changes the clean prescription and expects one finding. The
// comment names the rule's source.
func TestReviewFindings(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(p *Prescription)
		rule   string
		sev    Severity
		line   int
	}{
		// 处方管理办法 第十八条: valid on the day of issue only.
		{"expired", func(p *Prescription) { p.Issued = day("2026-03-08") }, RuleExpired, Block, 0},
		// 第十九条: ≤ 7 days.
		{"8 days", func(p *Prescription) { p.Lines[0].Days, p.Lines[0].Quantity = 8, 8 }, RuleSupply, Block, 1},
		{"quantity for 14 days", func(p *Prescription) { p.Lines[0].Quantity = 14 }, RuleSupply, Block, 1},
		{"emergency 4 days", func(p *Prescription) { p.Kind = KindEmergency; p.Lines[0].Days = 4 }, RuleSupply, Block, 1},
		{"chronic 30 days without a reason", func(p *Prescription) { p.Kind = KindChronic; p.Lines[0].Days, p.Lines[0].Quantity = 30, 30 }, RuleSupply, Block, 1},
		// 长期处方管理规范 2021: ≤ 4 weeks unless stable, never an antimicrobial other than TB drugs.
		{"long-term 8 weeks, not stable", func(p *Prescription) { p.Kind = KindLongTerm; p.Lines[0].Days, p.Lines[0].Quantity = 56, 56 }, RuleSupply, Block, 1},
		{"long-term amoxicillin", func(p *Prescription) {
			p.Kind = KindLongTerm
			p.Lines[4] = Line{DrugCode: "amoxicillin-250c", Dose: 500, DoseUnit: "mg", Frequency: "tid", Days: 5, Quantity: 30, Diagnosis: "J02.9"}
		}, RuleLongTermClass, Block, 5},
		// 第六条: no more than 5 drugs.
		{"six lines", func(p *Prescription) {
			p.Lines = append(p.Lines, Line{DrugCode: "hydrochlorothiazide-25t", Dose: 12.5, DoseUnit: "mg", Frequency: "qd", Days: 7, Quantity: 4})
		}, RuleTooManyLines, Block, 0},
		// Internet care 2018 art. 19.
		{"diazepam online", func(p *Prescription) {
			p.Online = true
			p.Lines[4] = Line{DrugCode: "diazepam-2.5t", Dose: 2.5, DoseUnit: "mg", Frequency: "qn", Days: 7, Quantity: 7, Diagnosis: "G47.0"}
		}, RuleOnlineClass, Block, 5},
		{"online child without guardian", func(p *Prescription) { p.Online = true; p.Patient.AgeMonths = 40 }, RuleOnlineChild, Block, 0},
		// Class restriction by level.
		{"ceftriaxone at a village", func(p *Prescription) {
			p.InstitutionLevel = "village"
			p.Lines[4] = Line{DrugCode: "ceftriaxone-1g", Dose: 1, DoseUnit: "g", Frequency: "qd", Route: "iv", Days: 3, Quantity: 3, Diagnosis: "J18.9"}
		}, RuleLevel, Block, 5},
		// Package insert dose ranges.
		{"amlodipine 20 mg", func(p *Prescription) { p.Lines[0].Dose, p.Lines[0].Quantity = 20, 28 }, RuleDoseHigh, Block, 1},
		{"amlodipine 20 mg signed again", func(p *Prescription) {
			p.Lines[0].Dose, p.Lines[0].Quantity, p.Lines[0].OverdoseSigned = 20, 28, true
		}, RuleDoseHigh, Warn, 1},
		{"metformin 1 g qid", func(p *Prescription) {
			p.Lines[1].Dose, p.Lines[1].Frequency, p.Lines[1].Quantity = 1, "qid", 56
			p.Lines[1].DoseUnit = "g"
		}, RuleDailyHigh, Block, 2},
		{"amlodipine tid", func(p *Prescription) { p.Lines[0].Frequency, p.Lines[0].Quantity = "tid", 21 }, RuleFrequency, Warn, 1},
		{"wrong route", func(p *Prescription) { p.Lines[0].Route = "iv" }, RuleRoute, Warn, 1},
		// Children: by weight.
		{"child paracetamol by weight", func(p *Prescription) {
			p.Patient = Patient{AgeMonths: 4 * 12, WeightKg: 16}
			p.Diagnoses = []string{"R50.9"}
			p.Lines = []Line{{DrugCode: "paracetamol-500t", Dose: 500, DoseUnit: "mg", Frequency: "tid", Days: 3, Quantity: 9}}
		}, RuleChildDose, Block, 1},
		{"child without weight", func(p *Prescription) {
			p.Patient = Patient{AgeMonths: 4 * 12}
			p.Diagnoses = []string{"R50.9"}
			p.Lines = []Line{{DrugCode: "paracetamol-500t", Dose: 0.5, DoseUnit: "tab", Frequency: "tid", Days: 3, Quantity: 5}}
		}, RuleChildWeight, Warn, 1},
		{"levofloxacin under 18", func(p *Prescription) {
			p.Patient = Patient{AgeMonths: 15 * 12, WeightKg: 50}
			p.Lines[4] = Line{DrugCode: "levofloxacin-500t", Dose: 500, DoseUnit: "mg", Frequency: "qd", Days: 5, Quantity: 5, Diagnosis: "N39.0"}
		}, RuleAge, Block, 5},
		// Contraindications.
		{"statin in pregnancy", func(p *Prescription) { p.Patient.Pregnant = true }, RulePregnancy, Block, 3},
		{"metformin at eGFR 25", func(p *Prescription) { p.Patient.EGFR = 25 }, RuleRenal, Block, 2},
		{"metformin at eGFR 40", func(p *Prescription) { p.Patient.EGFR = 40 }, RuleRenal, Warn, 2},
		{"hepatic impairment", func(p *Prescription) { p.Patient.HepaticImpairment = true }, RuleHepatic, Block, 2},
		{"lactation", func(p *Prescription) { p.Patient.Lactating = true }, RuleLactation, Warn, 3},
		// Allergy.
		{"aspirin allergy", func(p *Prescription) { p.Patient.Allergies = []string{"aspirin"} }, RuleAllergy, Block, 4},
		{"penicillin allergy, cephalosporin", func(p *Prescription) {
			p.Patient.Allergies = []string{"penicillin"}
			p.Lines[4] = Line{DrugCode: "cefalexin-250c", Dose: 250, DoseUnit: "mg", Frequency: "qid", Days: 5, Quantity: 20, Diagnosis: "J02.9"}
		}, RuleCrossAllergy, Warn, 5},
		{"allergy by ATC prefix", func(p *Prescription) { p.Patient.Allergies = []string{"C10AA"} }, RuleAllergy, Block, 3},
		// Indication vs diagnosis.
		{"amlodipine for a cold", func(p *Prescription) { p.Diagnoses = []string{"J00"} }, RuleIndication, Warn, 1},
		// Duplicate therapy and interactions.
		{"two ARBs", func(p *Prescription) {
			p.Lines[3] = Line{DrugCode: "valsartan-80c", Dose: 80, DoseUnit: "mg", Frequency: "qd", Days: 7, Quantity: 7}
		}, RuleDuplicate, Warn, 4},
		{"ACEI with ARB", func(p *Prescription) {
			p.Lines[3] = Line{DrugCode: "enalapril-10t", Dose: 10, DoseUnit: "mg", Frequency: "qd", Days: 7, Quantity: 7}
		}, RuleInteraction, Warn, 4},
		// The ONC group rule (statin-3a4 + CYP3A4 inhibitor) says "major";
		// the simvastatin label (Zocor US PI §4 Contraindications;
		// 辛伐他汀片说明书【禁忌】) names clarithromycin: the pair rule blocks.
		{"clarithromycin with simvastatin (label: contraindicated)", func(p *Prescription) {
			p.Lines[2] = Line{DrugCode: "simvastatin-20t", Dose: 20, DoseUnit: "mg", Frequency: "qn", Days: 7, Quantity: 7}
			p.Lines[3] = Line{DrugCode: "clarithromycin-250t", Dose: 250, DoseUnit: "mg", Frequency: "bid", Days: 7, Quantity: 14, Diagnosis: "J18.9"}
		}, RuleInteraction, Block, 3},
		// Diltiazem is a moderate inhibitor: the label limits the simvastatin
		// dose (Zocor US PI §2.3, §7.3) rather than forbidding the pair, so the
		// group grade stands and a pharmacist sees it.
		{"diltiazem with simvastatin (group rule: major)", func(p *Prescription) {
			p.Lines[2] = Line{DrugCode: "simvastatin-20t", Dose: 10, DoseUnit: "mg", Frequency: "qn", Days: 7, Quantity: 4}
			p.Lines[3] = Line{DrugCode: "diltiazem-30t", Dose: 30, DoseUnit: "mg", Frequency: "tid", Days: 7, Quantity: 21}
		}, RuleInteraction, Warn, 3},
		{"selegiline with sertraline (ONC, contraindicated)", func(p *Prescription) {
			p.Diagnoses = []string{"G20", "F32.1"}
			p.InstitutionLevel = "county"
			p.Lines = []Line{
				{DrugCode: "selegiline-5t", Dose: 5, DoseUnit: "mg", Frequency: "bid", Days: 7, Quantity: 14},
				{DrugCode: "sertraline-50t", Dose: 50, DoseUnit: "mg", Frequency: "qd", Days: 7, Quantity: 7},
			}
		}, RuleInteraction, Block, 1},
		{"rifampicin lowers warfarin", func(p *Prescription) {
			p.InstitutionLevel = "county"
			p.Diagnoses = []string{"A15.0", "I48.9"}
			p.Lines = []Line{
				{DrugCode: "rifampicin-150c", Dose: 450, DoseUnit: "mg", Frequency: "qd", Days: 7, Quantity: 21},
				{DrugCode: "warfarin-2.5t", Dose: 2.5, DoseUnit: "mg", Frequency: "qd", Days: 7, Quantity: 7},
			}
		}, RuleInteraction, Warn, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := adult()
			tc.change(p)
			if err := testEngine.KB.Validate(p); err != nil {
				t.Fatalf("invalid: %v", err)
			}
			fs := review(p)
			if !has(fs, tc.rule, tc.sev, tc.line) {
				t.Errorf("got %+v, want %s %s on line %d", fs, tc.rule, tc.sev, tc.line)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	kb := testEngine.KB
	for _, tc := range []struct {
		name   string
		change func(p *Prescription)
		field  string
		key    string
	}{
		{"unknown drug", func(p *Prescription) { p.Lines[0].DrugCode = "nope" }, "lines[0].drug_code", "rx.unknown_drug"},
		{"IU for a tablet in mg", func(p *Prescription) { p.Lines[0].DoseUnit = "IU" }, "lines[0].dose_unit", "rx.dose_unit"},
		{"ml for a capsule", func(p *Prescription) { p.Lines[0].DoseUnit = "cap" }, "lines[0].dose_unit", "rx.dose_unit"},
		{"zero dose", func(p *Prescription) { p.Lines[1].Dose = 0 }, "lines[1].dose", "rx.dose_positive"},
		{"negative quantity", func(p *Prescription) { p.Lines[2].Quantity = -7 }, "lines[2].quantity", "rx.quantity_positive"},
		{"zero quantity", func(p *Prescription) { p.Lines[2].Quantity = 0 }, "lines[2].quantity", "rx.quantity_positive"},
		{"zero days", func(p *Prescription) { p.Lines[3].Days = 0 }, "lines[3].days", "rx.days_positive"},
		{"frequency", func(p *Prescription) { p.Lines[3].Frequency = "sometimes" }, "lines[3].frequency", "rx.frequency"},
		{"diagnosis", func(p *Prescription) { p.Diagnoses = []string{"hypertension"} }, "diagnoses[0]", "rx.icd10"},
		{"kind", func(p *Prescription) { p.Kind = "forever" }, "kind", "rx.kind"},
		{"no lines", func(p *Prescription) { p.Lines = nil }, "lines", "rx.no_lines"},
	} {
		p := adult()
		tc.change(p)
		err := kb.Validate(p)
		var ce *care.Error
		if !errorAs(err, &ce) || ce.Code != care.EINVALID {
			t.Errorf("%s: got %v, want EINVALID", tc.name, err)
			continue
		}
		found := false
		for _, f := range ce.Fields {
			found = found || f.Field == tc.field && f.Key == tc.key
		}
		if !found {
			t.Errorf("%s: got %v, want %s %s", tc.name, ce.Fields, tc.field, tc.key)
		}
	}
	// Convertible units pass: g for mg, tablets counted by strength.
	p := adult()
	p.Lines[1].Dose, p.Lines[1].DoseUnit = 0.5, "g"
	p.Lines[0].Dose, p.Lines[0].DoseUnit = 1, "片"
	if err := kb.Validate(p); err != nil {
		t.Errorf("convertible units: %v", err)
	}
	if fs := review(p); Outcome(fs) != 0 {
		t.Errorf("converted doses flagged: %+v", fs)
	}
}

// TestReviewAllocatesNothing: with a reused findings buffer, a review of a
// 5-line prescription allocates nothing.
func TestReviewAllocatesNothing(t *testing.T) {
	p := adult()
	p.Patient.Allergies = []string{"penicillin", "C10AA"}
	p.Lines[3] = Line{DrugCode: "enalapril-10t", Dose: 10, DoseUnit: "mg", Frequency: "qd", Days: 7, Quantity: 7}
	buf := make([]Finding, 0, 32)
	allocs := testing.AllocsPerRun(200, func() { buf = testEngine.Review(p, p.Issued, buf[:0]) })
	if allocs != 0 {
		t.Errorf("got %v allocations per review, want 0", allocs)
	}
}
