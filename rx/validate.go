package rx

import (
	"countycare/icd10"
	"strconv"

	"countycare/care"
)

// unitFactor converts a dose in unit `from` to the drug's unit `to` by
// multiplication, for the mass units and the drug's own unit. Counts of
// tablets, capsules and the like are handled by the caller (strength).
func unitFactor(from, to string) (float64, bool) {
	if from == to {
		switch to {
		case "mg", "g", "ug", "IU", "wIU", "ml":
			return 1, true
		}
		return 0, false
	}
	mass := func(u string) float64 {
		switch u {
		case "g":
			return 1e6
		case "mg":
			return 1e3
		case "ug", "μg", "mcg":
			return 1
		}
		return 0
	}
	if f, t := mass(from), mass(to); f != 0 && t != 0 {
		return f / t, true
	}
	if from == "IU" && to == "wIU" {
		return 1e-4, true
	}
	if from == "wIU" && to == "IU" {
		return 1e4, true
	}
	return 0, false
}

// countUnits are dose units that count dose forms (片、粒、支、揿、袋).
func countUnit(u string, form string) bool {
	switch u {
	case "tab", "片":
		return form == "tab"
	case "cap", "粒":
		return form == "cap"
	case "puff", "揿", "喷":
		return form == "aerosol"
	case "vial", "支":
		return form == "inj"
	case "sachet", "袋":
		return form == "powder"
	}
	return false
}

// DoseIn converts a line's dose to the drug's dose unit. ok is false when
// the unit is unknown or cannot be converted (IU for a tablet in mg, ml for
// a capsule).
func DoseIn(d *Drug, dose float64, unit string) (float64, bool) {
	if countUnit(unit, d.Form) {
		return dose * d.Strength, true
	}
	f, ok := unitFactor(unit, d.Unit)
	return dose * f, ok
}

// TimesPerDay is the number of administrations a day of a frequency code
// (用药频次). prn counts as the drug's most a day; st is a single dose.
// ok is false for an unknown code.
func TimesPerDay(freq string, d *Drug) (float64, bool) {
	switch freq {
	case "qd", "qm", "qn", "st":
		return 1, true
	case "bid", "q12h":
		return 2, true
	case "tid", "q8h":
		return 3, true
	case "qid", "q6h":
		return 4, true
	case "q4h":
		return 6, true
	case "qod":
		return 0.5, true
	case "qw":
		return 1.0 / 7, true
	case "biw":
		return 2.0 / 7, true
	case "prn":
		return float64(d.Dose.MaxPerDay), true
	}
	return 0, false
}

// MaxInputLines bounds the lines, diagnoses and allergies of one request;
// more than Config.MaxLines lines is a finding, more than this is bad input.
const MaxInputLines = 16

// Validate checks that a prescription is well formed against the
// formulary before any review: a known kind, at least one line, known drug
// codes, a positive dose in a unit convertible to the drug's, a known
// frequency, positive days and quantity, ICD-10 shaped diagnoses. It
// returns EINVALID with one field error per fault, so nothing malformed is
// reviewed, stored or dispensed.
func (kb *KB) Validate(p *Prescription) error {
	var fs []care.FieldError
	add := func(field, key string, args ...any) {
		fs = append(fs, care.FieldError{Field: field, Key: key, Args: args})
	}
	if !p.Kind.Valid() {
		add("kind", "rx.kind")
	}
	if p.Issued.IsZero() {
		add("issued", "rx.issued")
	}
	if LevelOf(p.InstitutionLevel) == 0 {
		add("institution_level", "rx.level")
	}
	if p.Patient.AgeMonths < 0 || p.Patient.AgeMonths > 150*12 {
		add("patient.age_months", "rx.age")
	}
	if p.Patient.WeightKg < 0 || p.Patient.WeightKg > 400 {
		add("patient.weight_kg", "rx.weight")
	}
	for i, dx := range p.Diagnoses {
		if !icd10.Valid(dx) { // the one ICD-10 rule (package icd10)
			add("diagnoses["+strconv.Itoa(i)+"]", "rx.icd10", dx)
		}
	}
	if len(p.Lines) == 0 {
		add("lines", "rx.no_lines")
	}
	if len(p.Lines) > MaxInputLines || len(p.Diagnoses) > MaxInputLines || len(p.Patient.Allergies) > MaxInputLines {
		add("lines", "rx.too_many", MaxInputLines)
		return care.Invalid(fs)
	}
	for i := range p.Lines {
		l := &p.Lines[i]
		pre := "lines[" + strconv.Itoa(i) + "]."
		d := kb.Drug(l.DrugCode)
		if d == nil {
			add(pre+"drug_code", "rx.unknown_drug", l.DrugCode)
		}
		if !(l.Dose > 0) {
			add(pre+"dose", "rx.dose_positive")
		} else if d != nil {
			if _, ok := DoseIn(d, l.Dose, l.DoseUnit); !ok {
				add(pre+"dose_unit", "rx.dose_unit", l.DoseUnit, d.Unit)
			}
		}
		if d != nil {
			if _, ok := TimesPerDay(l.Frequency, d); !ok {
				add(pre+"frequency", "rx.frequency", l.Frequency)
			}
		}
		if l.Days <= 0 {
			add(pre+"days", "rx.days_positive")
		}
		if !(l.Quantity > 0) {
			add(pre+"quantity", "rx.quantity_positive")
		}
		if l.Diagnosis != "" && !icd10.Valid(l.Diagnosis) {
			add(pre+"diagnosis", "rx.icd10", l.Diagnosis)
		}
	}
	return care.Invalid(fs)
}
