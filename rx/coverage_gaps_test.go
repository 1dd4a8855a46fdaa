package rx

// Rules of the engine, the validation and the knowledge-base loader that no
// test of the package reached (issue 18 §6: gremlins reported their mutants
// NOT COVERED). Each names the rule it pins.

import (
	"strings"
	"testing"
	"testing/fstest"
)

// TestReviewSkipsUnknownDrugs pins Engine.Review's contract ("lines with
// unknown drugs are skipped here"): a line whose code is not in the
// formulary gives no finding of its own and takes part in no pair check
// (duplicate therapy, interaction) with the lines around it.
func TestReviewSkipsUnknownDrugs(t *testing.T) {
	amlodipine := Line{DrugCode: "amlodipine-5t", Dose: 5, DoseUnit: "mg", Frequency: "qd", Route: "po", Days: 7, Quantity: 7}
	unknown := Line{DrugCode: "no-such-drug", Dose: 5, DoseUnit: "mg", Frequency: "qd", Route: "po", Days: 7, Quantity: 7}
	for _, lines := range [][]Line{{unknown, amlodipine}, {amlodipine, unknown}, {unknown, amlodipine, unknown}} {
		p := &Prescription{Issued: day("2026-03-10"), Kind: KindNormal, InstitutionLevel: "township", Diagnoses: []string{"I10"},
			Patient: Patient{AgeMonths: 60 * 12, WeightKg: 65}, Lines: lines}
		if fs := review(p); len(fs) != 0 {
			t.Errorf("%d lines with unknown codes: %+v", len(lines), fs)
		}
	}
	// The same drug twice is a duplicate: the skipped line is not mistaken
	// for any formulary entry (levamlodipine shares amlodipine's class).
	p := &Prescription{Issued: day("2026-03-10"), Kind: KindNormal, InstitutionLevel: "township", Diagnoses: []string{"I10"},
		Patient: Patient{AgeMonths: 60 * 12, WeightKg: 65}, Lines: []Line{unknown, amlodipine, amlodipine}}
	if fs := review(p); len(fs) != 1 || !has(fs, RuleDuplicate, Warn, 2) || fs[0].Other != 3 {
		t.Errorf("duplicate beside an unknown line: %+v", fs)
	}
}

// TestValidateLineDiagnosis pins KB.Validate: a line's own diagnosis, when
// given, must have the ICD-10 shape (docs/rx.md, CDS Hooks: "a non-ICD-10
// diagnosis" is a field error), named by its line.
func TestValidateLineDiagnosis(t *testing.T) {
	p := adult()
	p.Lines[2].Diagnosis = "high cholesterol"
	err := testEngine.KB.Validate(p)
	if got := fieldsOf(err); len(got) != 1 || got[0] != "lines[2].diagnosis:rx.icd10high cholesterol" {
		t.Errorf("line diagnosis: %v", got)
	}
	p.Lines[2].Diagnosis = "E78.5"
	if err := testEngine.KB.Validate(p); err != nil {
		t.Errorf("a valid line diagnosis: %v", err)
	}
}

// TestCountUnits pins countUnit and DoseIn (用法用量 as written on Chinese
// prescriptions: 片、粒、揿/喷、支、袋 count dose forms): a count unit converts
// by the drug's strength only for its own form.
func TestCountUnits(t *testing.T) {
	kb := testEngine.KB
	for _, c := range []struct {
		code  string
		units []string
		want  float64 // one unit in the drug's dose unit
	}{
		{"amlodipine-5t", []string{"tab", "片"}, 5},
		{"amoxicillin-250c", []string{"cap", "粒"}, 250},
		{"salbutamol-aerosol", []string{"puff", "揿", "喷"}, 100},
		{"ceftriaxone-1g", []string{"vial", "支"}, 1000},
		{"smectite-3g", []string{"sachet", "袋"}, 3000},
	} {
		d := kb.Drug(c.code)
		if d == nil {
			t.Fatalf("%s not in the formulary", c.code)
		}
		for _, u := range c.units {
			if got, ok := DoseIn(d, 2, u); !ok || got != 2*c.want {
				t.Errorf("%s: 2 %s = %v %v, want %v", c.code, u, got, ok, 2*c.want)
			}
		}
		// Every other form's count unit is refused.
		for _, o := range []string{"tab", "cap", "puff", "vial", "sachet"} {
			if o == c.units[0] {
				continue
			}
			if got, ok := DoseIn(d, 2, o); ok {
				t.Errorf("%s: %s accepted (%v)", c.code, o, got)
			}
		}
	}
}

// TestKnowledgeBaseTableErrors pins LoadFS (docs/rx.md: "a table with a
// typo … stops the server at start"): a malformed row of any table, or a
// missing table, fails the load and names the table; a non-numeric dose
// names its 1-based column as in formulary.psv's header.
func TestKnowledgeBaseTableErrors(t *testing.T) {
	base := fstest.MapFS{}
	for _, f := range []string{"formulary.psv", "groups.psv", "interactions.psv", "allergy.psv", "pairs.psv"} {
		b, err := embedded.ReadFile("kb/" + f)
		if err != nil {
			t.Fatal(err)
		}
		base["kb/"+f] = &fstest.MapFile{Data: b}
	}
	with := func(name, data string) fstest.MapFS {
		fsys := fstest.MapFS{}
		for k, v := range base {
			fsys[k] = v
		}
		if data == "" {
			delete(fsys, "kb/"+name)
		} else {
			fsys["kb/"+name] = &fstest.MapFile{Data: append(append([]byte{}, base["kb/"+name].Data...), data...)}
		}
		return fsys
	}
	for _, name := range []string{"groups.psv", "allergy.psv", "interactions.psv", "pairs.psv", "formulary.psv"} {
		if _, err := LoadFS(with(name, "a|b\n"), "kb"); err == nil || !strings.Contains(err.Error(), name) || !strings.Contains(err.Error(), "2 fields") {
			t.Errorf("%s with a 2-field row: %v", name, err)
		}
		if _, err := LoadFS(with(name, ""), "kb"); err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("%s missing: %v", name, err)
		}
	}
	row := "zz-test-5t|测试片|test|tab|5|mg|po|C08CA01|E|VTC|2.5|ten|10|1||||||C|I10\n"
	if _, err := LoadFS(with("formulary.psv", row), "kb"); err == nil || !strings.Contains(err.Error(), "zz-test-5t: column 12:") {
		t.Errorf("non-numeric dmax (column 12): %v", err)
	}
	if _, err := LoadFS(with("formulary.psv", strings.Replace(row, "ten", "10", 1)), "kb"); err != nil {
		t.Errorf("the same row, numeric: %v", err)
	}
}

// TestSyntheticFollowsItsComment pins Synthetic's documented draw (its doc
// comment; the demo data and the review benchmarks of docs/benchmarks.md
// rest on it): adults of 18–90 years, weights 45–84 kg, an eGFR of 20–89 for
// some (1 in 8 in the code, so a minority), the drug's usual (minimum
// single) dose at its most frequent schedule — at most 4 a day, once a day
// if that would pass the daily maximum — 7 days' supply (narcotics 3): a
// whole number of units covering those days, at most one unit more
// (math.Ceil of a product with rounding error, 0.4 × 3 × 7 / 0.4 =
// 21.000000000000004, gives 22).
func TestSyntheticFollowsItsComment(t *testing.T) {
	// Every drug of the shipped formulary can take its most frequent
	// schedule at its usual dose; a test drug (5 mg, 3 a day, at most 10 mg a
	// day) cannot, and must come out once a day.
	b, err := embedded.ReadFile("kb/formulary.psv")
	if err != nil {
		t.Fatal(err)
	}
	fsys := fstest.MapFS{}
	for _, f := range []string{"groups.psv", "interactions.psv", "allergy.psv", "pairs.psv"} {
		data, err := embedded.ReadFile("kb/" + f)
		if err != nil {
			t.Fatal(err)
		}
		fsys["kb/"+f] = &fstest.MapFile{Data: data}
	}
	fsys["kb/formulary.psv"] = &fstest.MapFile{Data: append(b, "zz-once-5t|测试片|test|tab|5|mg|po|C08CA01|E|VTC|5|10|10|3||||||C|I10\n"...)}
	kb, err := LoadFS(fsys, "kb")
	if err != nil {
		t.Fatal(err)
	}
	on := day("2026-03-10")
	ps := Synthetic(kb, 2000, 5, 7, on)
	once := 0
	freqOf := map[int]string{1: "qd", 2: "bid", 3: "tid", 4: "qid"}
	reduced := 0
	for i := range ps {
		p := &ps[i]
		if p.Issued != on || p.Kind != KindNormal || p.InstitutionLevel != "county" || len(p.Lines) != 5 {
			t.Fatalf("prescription %d: %+v", i, p)
		}
		pt := p.Patient
		if pt.AgeMonths < 18*12 || pt.AgeMonths >= 90*12 || pt.AgeMonths%12 != 0 || pt.WeightKg < 45 || pt.WeightKg >= 85 {
			t.Errorf("prescription %d: age %d months, weight %v", i, pt.AgeMonths, pt.WeightKg)
		}
		if pt.EGFR != 0 {
			reduced++
			if pt.EGFR < 20 || pt.EGFR >= 90 {
				t.Errorf("prescription %d: eGFR %d", i, pt.EGFR)
			}
		}
		for j, l := range p.Lines {
			d := kb.Drug(l.DrugCode)
			times := min(d.Dose.MaxPerDay, 4)
			if d.Dose.MinSingle*float64(times) > d.Dose.MaxDaily {
				times = 1
			}
			days := 7
			if d.Flags&Narcotic != 0 {
				days = 3
			}
			if d.Code == "zz-once-5t" && l.Frequency == "qd" {
				once++
			}
			need := l.Dose * float64(times) * float64(days)
			if l.Dose != d.Dose.MinSingle || l.DoseUnit != d.Unit || l.Route != d.Route || l.Frequency != freqOf[times] || l.Days != days ||
				l.Quantity*d.Strength < need-1e-9 || l.Quantity*d.Strength > need+d.Strength+1e-9 {
				t.Errorf("prescription %d line %d (%s, max %d a day): %+v, want %s for %d days", i, j, d.Code, d.Dose.MaxPerDay, l, freqOf[times], days)
			}
		}
	}
	if once == 0 {
		t.Error("the test drug was never drawn once a day")
	}
	if reduced == 0 || reduced >= len(ps)/4 {
		t.Errorf("%d of %d with a reduced eGFR: want some, a minority", reduced, len(ps))
	}
}
