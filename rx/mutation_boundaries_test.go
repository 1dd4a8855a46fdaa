package rx

// Boundary tests added for mutation testing (issue 18 §6). Each case sits
// on a limit of the prescription rules (处方管理办法 2007, 长期处方管理规范
// 2021, 互联网诊疗管理办法 2018, cited by Src* in regulation.go) or of the
// knowledge base's package-insert numbers (rx/kb/formulary.psv), one step
// on either side. Interaction severities are left to their own tests.

import "testing"

func countRule(fs []Finding, rule string) int {
	n := 0
	for _, f := range fs {
		if f.Rule == rule {
			n++
		}
	}
	return n
}

// TestValidityBoundaries pins 2007 art. 18 (SrcRx2007Art18): valid on the
// day of issue; a written extension of at most 3 days.
func TestValidityBoundaries(t *testing.T) {
	p := adult()
	p.ValidDays = 3
	fs := testEngine.Review(p, day("2026-03-13"), nil)
	if countRule(fs, RuleValidity) != 0 || countRule(fs, RuleExpired) != 0 {
		t.Errorf("3-day extension on its last day: %+v", fs)
	}
	p.ValidDays = 4
	if fs := review(p); !has(fs, RuleValidity, Block, 0) {
		t.Errorf("4-day extension not refused: %+v", fs)
	}
}

// TestDiagnosisRequired pins 处方管理办法 (2007: a prescription carries the
// clinical diagnosis) and 长期处方管理规范 2021 (a long-term prescription
// needs a definite chronic diagnosis): a warning, a block for long-term.
func TestDiagnosisRequired(t *testing.T) {
	p := adult()
	p.Diagnoses = nil
	if fs := review(p); !has(fs, RuleNoDiagnosis, Warn, 0) || countRule(fs, RuleIndication) != 0 {
		t.Errorf("no diagnosis: %+v", fs)
	}
	p.Kind = KindLongTerm
	if fs := review(p); !has(fs, RuleNoDiagnosis, Block, 0) {
		t.Errorf("long-term without diagnosis: %+v", fs)
	}
	// Every line carrying its own diagnosis is enough.
	p = adult()
	p.Diagnoses = nil
	for i, dx := range []string{"I10", "E11.9", "E78.5", "I10", "I10"} {
		p.Lines[i].Diagnosis = dx
	}
	if fs := review(p); countRule(fs, RuleNoDiagnosis) != 0 {
		t.Errorf("every line has a diagnosis: %+v", fs)
	}
	p.Lines[4].Diagnosis = ""
	if fs := review(p); countRule(fs, RuleNoDiagnosis) != 1 {
		t.Errorf("one line without a diagnosis: %+v", fs)
	}
}

// TestOnlineGuardianBoundary pins 2018 art. 19 (SrcInternet): an online
// prescription for a child under 6 (71 months) needs a guardian; at 72
// months it does not; offline it does not apply.
func TestOnlineGuardianBoundary(t *testing.T) {
	for _, tt := range []struct {
		months          int
		online, present bool
		want            int
	}{
		{71, true, false, 1}, {72, true, false, 0}, {71, true, true, 0}, {71, false, false, 0},
	} {
		p := adult()
		p.Online, p.GuardianPresent, p.Patient.AgeMonths = tt.online, tt.present, tt.months
		if got := countRule(review(p), RuleOnlineChild); got != tt.want {
			t.Errorf("%d months online=%v guardian=%v: %d findings, want %d", tt.months, tt.online, tt.present, got, tt.want)
		}
	}
}

// TestChildAgeBoundary pins Config.ChildAgeYears ([U] 14, 儿科): below 168
// months doses are checked per kg (and the knowledge base must have
// paediatric dosing); from 168 months the adult checks apply, including
// the usual-dose floor.
func TestChildAgeBoundary(t *testing.T) {
	for _, tt := range []struct {
		months        int
		noDosing, low int
	}{{167, 1, 0}, {168, 0, 1}} {
		p := adult()
		p.Patient = Patient{AgeMonths: tt.months, WeightKg: 50}
		p.Lines = p.Lines[:1]
		p.Lines[0].Dose, p.Lines[0].Quantity = 2, 3 // amlodipine 2 mg: below the usual 2.5 mg; 3 × 5 / 2 = 7.5 days
		fs := review(p)
		if countRule(fs, RuleChildNoDosing) != tt.noDosing || countRule(fs, RuleDoseLow) != tt.low {
			t.Errorf("%d months: %+v, want %d no-dosing and %d dose-low", tt.months, fs, tt.noDosing, tt.low)
		}
	}
}

// TestSupplyBoundaries pins 2007 art. 19 (≤ 7 days, emergency ≤ 3, chronic
// with a reason: Config.ChronicDays [U] 30) and the 2021 long-term rule
// (≤ 28 days, ≤ 84 when stable), by days written and by the quantity
// dispensed (Config.SupplyTolerance: one day).
func TestSupplyBoundaries(t *testing.T) {
	for _, tt := range []struct {
		name      string
		kind      Kind
		reason    string
		stable    bool
		days, qty float64
		supply    int
		short     int
	}{
		{"7 days", KindNormal, "", false, 7, 7, 0, 0},
		{"quantity for 8 days: within the one-day tolerance", KindNormal, "", false, 7, 8, 0, 0},
		{"quantity for 9 days", KindNormal, "", false, 7, 9, 1, 0},
		{"8 days written, 9 dispensed: one finding", KindNormal, "", false, 8, 9, 1, 0},
		{"quantity for 6 of 7 days: within tolerance", KindNormal, "", false, 7, 6, 0, 0},
		{"quantity for 5 of 7 days: short", KindNormal, "", false, 7, 5, 0, 1},
		{"emergency 3 days", KindEmergency, "", false, 3, 3, 0, 0},
		{"chronic with a reason, 30 days", KindChronic, "高血压病情稳定", false, 30, 30, 0, 0},
		{"chronic with a reason, 31 days", KindChronic, "高血压病情稳定", false, 31, 31, 1, 0},
		{"long-term 28 days", KindLongTerm, "", false, 28, 28, 0, 0},
		{"long-term 29 days", KindLongTerm, "", false, 29, 29, 1, 0},
		{"long-term stable 84 days", KindLongTerm, "", true, 84, 84, 0, 0},
		{"long-term stable 85 days", KindLongTerm, "", true, 85, 85, 1, 0},
	} {
		p := adult()
		p.Kind, p.Reason, p.Stable = tt.kind, tt.reason, tt.stable
		p.Lines = p.Lines[:1] // amlodipine 5 mg qd: one tablet a day
		p.Lines[0].Days, p.Lines[0].Quantity = int(tt.days), tt.qty
		fs := review(p)
		if countRule(fs, RuleSupply) != tt.supply || countRule(fs, RuleQuantityShort) != tt.short {
			t.Errorf("%s: %+v, want %d supply and %d short findings", tt.name, fs, tt.supply, tt.short)
		}
	}
	// Inhalers are dispensed whole: no days' supply is derived from the quantity.
	p := adult()
	p.Diagnoses = []string{"J45.9"}
	p.Lines = []Line{{DrugCode: "salbutamol-aerosol", Dose: 100, DoseUnit: "ug", Frequency: "qid", Route: "inh", Days: 7, Quantity: 10}}
	if fs := review(p); countRule(fs, RuleSupply)+countRule(fs, RuleQuantityShort) != 0 {
		t.Errorf("inhaler: %+v", fs)
	}
}

// TestClassSupplyBoundaries pins 2007 arts. 23–24 (SrcRx2007Art23): 第二类
// 精神药品 ≤ 7 days, 麻醉药品 non-injection forms ≤ 3 days, even on a chronic
// prescription that otherwise allows 30.
func TestClassSupplyBoundaries(t *testing.T) {
	for _, tt := range []struct {
		code, level, dx string
		dose            float64
		days, want      int
	}{
		{"diazepam-2.5t", "township", "G47.0", 2.5, 7, 0},
		{"diazepam-2.5t", "township", "G47.0", 2.5, 8, 1},
		{"morphine-10t", "county", "R52", 10, 3, 0},
		{"morphine-10t", "county", "R52", 10, 4, 1},
	} {
		p := adult()
		p.Kind, p.Reason, p.InstitutionLevel = KindChronic, "癌痛/失眠", tt.level
		p.Lines = []Line{{DrugCode: tt.code, Dose: tt.dose, DoseUnit: "mg", Frequency: "qn", Route: "po", Days: tt.days, Quantity: float64(tt.days), Diagnosis: tt.dx}}
		fs := review(p)
		if countRule(fs, RuleClassSupply) != tt.want || countRule(fs, RuleSupply) != 0 {
			t.Errorf("%s %d days: %+v, want %d class-supply findings", tt.code, tt.days, fs, tt.want)
		}
	}
}

// TestMinimumAgeBoundary pins the label's minimum age (formulary.psv
// min_age; levofloxacin 18 years = 216 months).
func TestMinimumAgeBoundary(t *testing.T) {
	for months, want := range map[int]int{215: 1, 216: 0} {
		p := adult()
		p.Patient = Patient{AgeMonths: months, WeightKg: 60}
		p.Lines[4] = Line{DrugCode: "levofloxacin-500t", Dose: 500, DoseUnit: "mg", Frequency: "qd", Route: "po", Days: 5, Quantity: 5, Diagnosis: "N39.0"}
		if got := countRule(review(p), RuleAge); got != want {
			t.Errorf("%d months: %d age findings, want %d", months, got, want)
		}
	}
}

// TestDoseBoundaries pins the package-insert dose limits of formulary.psv:
// metformin 500 mg tablets, single dose 250–1000 mg, ≤ 2,550 mg a day, at
// most 3 times a day; amlodipine at most 10 mg once.
func TestDoseBoundaries(t *testing.T) {
	for _, tt := range []struct {
		name             string
		dose, qty        float64
		freq             string
		high, low, daily int
		frequency        int
	}{
		{"850 mg tid = 2,550 a day", 850, 36, "tid", 0, 0, 0, 0},
		{"1,000 mg bid: the largest single dose", 1000, 28, "bid", 0, 0, 0, 0},
		{"1,000 mg tid = 3,000 a day", 1000, 42, "tid", 0, 0, 1, 0},
		{"1,100 mg bid: above the single maximum", 1100, 31, "bid", 1, 0, 0, 0},
		{"250 mg tid: the usual minimum", 250, 11, "tid", 0, 0, 0, 0},
		{"200 mg tid: below the usual dose", 200, 9, "tid", 0, 1, 0, 0},
		{"500 mg qid: four times", 500, 28, "qid", 0, 0, 0, 1},
	} {
		p := adult()
		p.Lines[1].Dose, p.Lines[1].Quantity, p.Lines[1].Frequency = tt.dose, tt.qty, tt.freq
		fs := review(p)
		if countRule(fs, RuleDoseHigh) != tt.high || countRule(fs, RuleDoseLow) != tt.low || countRule(fs, RuleDailyHigh) != tt.daily || countRule(fs, RuleFrequency) != tt.frequency {
			t.Errorf("metformin %s: %+v", tt.name, fs)
		}
		for _, f := range fs {
			if f.Rule == RuleDoseLow && f.Severity != Info {
				t.Errorf("dose below the usual range is information, got %s", f.Severity)
			}
		}
	}
	p := adult()
	p.Lines[0].Dose, p.Lines[0].Quantity = 10, 14
	if fs := review(p); Outcome(fs) != 0 {
		t.Errorf("amlodipine 10 mg qd (the maximum): %+v", fs)
	}
}

// TestChildDoseBoundary pins paediatric dosing by weight (formulary.psv
// child_mgkg: paracetamol 15 mg/kg): a 16-kg child may take 240 mg; more
// is blocked unless the doctor signs again (2007 art. 6(7): 需要超剂量使用时，
// 应当注明原因并再次签名), which makes it a warning.
func TestChildDoseBoundary(t *testing.T) {
	for _, tt := range []struct {
		dose   float64
		signed bool
		sev    Severity
		want   int
	}{{240, false, Block, 0}, {250, false, Block, 1}, {250, true, Warn, 1}} {
		p := adult()
		p.Patient = Patient{AgeMonths: 4 * 12, WeightKg: 16}
		p.Diagnoses = []string{"R50.9"}
		p.Lines = []Line{{DrugCode: "paracetamol-500t", Dose: tt.dose, DoseUnit: "mg", Frequency: "tid", Route: "po", Days: 3, Quantity: 5, OverdoseSigned: tt.signed}}
		fs := review(p)
		if countRule(fs, RuleChildDose) != tt.want || tt.want > 0 && !has(fs, RuleChildDose, tt.sev, 1) {
			t.Errorf("%.0f mg signed=%v: %+v", tt.dose, tt.signed, fs)
		}
		if countRule(fs, RuleDoseLow) != 0 {
			t.Errorf("%.0f mg: the adult usual-dose floor applied to a child: %+v", tt.dose, fs)
		}
	}
}

// TestRenalBoundaries pins formulary.psv renal limits (metformin 30:X;45:R):
// below 30 mL/min contraindicated, below 45 reduce; eGFR 0 is not measured.
func TestRenalBoundaries(t *testing.T) {
	for _, tt := range []struct {
		egfr int
		sev  Severity
		want int
	}{{0, Block, 0}, {29, Block, 1}, {30, Warn, 1}, {44, Warn, 1}, {45, Warn, 0}} {
		p := adult()
		p.Patient.EGFR = tt.egfr
		fs := review(p)
		got := 0
		for _, f := range fs {
			if f.Rule == RuleRenal && f.Line == 2 {
				got++
				if f.Severity != tt.sev {
					t.Errorf("eGFR %d: metformin %s, want %s", tt.egfr, f.Severity, tt.sev)
				}
			}
		}
		if got != tt.want {
			t.Errorf("eGFR %d: %d metformin renal findings, want %d", tt.egfr, got, tt.want)
		}
	}
}

// TestPatientCautionGrades pins the caution grades of formulary.psv (rx.go:
// pregnancy X block / D warn; lactation X block / A warn; hepatic X block /
// C information).
func TestPatientCautionGrades(t *testing.T) {
	p := adult()
	p.Patient.Pregnant = true
	fs := review(p)
	if !has(fs, RulePregnancy, Warn, 4) || !has(fs, RulePregnancy, Block, 3) || countRule(fs, RulePregnancy) != 3 {
		t.Errorf("pregnancy: aspirin (D) warn, atorvastatin and losartan (X) block: %+v", fs)
	}
	p = adult()
	p.Patient.HepaticImpairment = true
	fs = review(p)
	if !has(fs, RuleHepatic, Info, 1) || !has(fs, RuleHepatic, Block, 2) {
		t.Errorf("hepatic: amlodipine (C) information, metformin (X) block: %+v", fs)
	}
	p = adult()
	p.Patient.Lactating = true
	p.Lines[4] = Line{DrugCode: "glibenclamide-2.5t", Dose: 2.5, DoseUnit: "mg", Frequency: "qd", Route: "po", Days: 7, Quantity: 7}
	fs = review(p)
	if !has(fs, RuleLactation, Warn, 5) || countRule(fs, RuleLactation) != 2 {
		t.Errorf("lactation: atorvastatin and glibenclamide (A) warn: %+v", fs)
	}
}

// TestAllergyMatching pins SrcAllergy (药品说明书【禁忌】): an allergy recorded
// as the formulary code, the drug's name or an ATC prefix of at least 3
// characters (upper case) blocks the drug; shorter or lower-case text
// matches nothing.
func TestAllergyMatching(t *testing.T) {
	for allergy, want := range map[string]int{"amlodipine-5t": 1, "amlodipine besylate": 1, "C08": 1, "C0": 0, "c08": 0} {
		p := adult()
		p.Patient.Allergies = []string{allergy}
		fs := review(p)
		got := 0
		for _, f := range fs {
			if f.Rule == RuleAllergy && f.Line == 1 {
				got++
			}
		}
		if got != want {
			t.Errorf("allergy %q: %d findings on amlodipine, want %d", allergy, got, want)
		}
	}
}

// TestIndicationScope pins indicated: a line's own diagnosis is compared,
// not the prescription's; an indication "*" accepts any diagnosis.
func TestIndicationScope(t *testing.T) {
	p := adult()
	p.Lines[0].Diagnosis = "J00"
	if fs := review(p); !has(fs, RuleIndication, Warn, 1) {
		t.Errorf("amlodipine for a line diagnosis of a cold: %+v", fs)
	}
	p = adult()
	p.Diagnoses = []string{"J00"}
	for i, dx := range []string{"I10", "E11.9", "E78.5", "I10", "I10"} {
		p.Lines[i].Diagnosis = dx
	}
	if fs := review(p); countRule(fs, RuleIndication) != 0 {
		t.Errorf("each line's own diagnosis is an indication: %+v", fs)
	}
	p = adult()
	p.Diagnoses = []string{"J00"}
	p.Lines = []Line{{DrugCode: "paracetamol-500t", Dose: 500, DoseUnit: "mg", Frequency: "tid", Route: "po", Days: 3, Quantity: 9}}
	if fs := review(p); countRule(fs, RuleIndication) != 0 {
		t.Errorf("paracetamol (any indication): %+v", fs)
	}
}
