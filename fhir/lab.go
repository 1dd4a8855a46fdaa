package fhir

import (
	"strconv"
	"strings"
	"time"

	"countycare/care"
	"countycare/lab"
)

// systemV3Interpretation is HL7 v3 ObservationInterpretation, whose codes
// N, L, H, LL, HH are the lab flags (HL7 v2 table 0078) as filed.
const systemV3Interpretation = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"

// SystemLabCode: the platform's local analyte codes (lab.Analyte.Code).
const SystemLabCode = "http://countycare.cn/fhir/CodeSystem/lab-analyte"

// ucumCode is the UCUM code of a unit as the analyte table writes it
// (10^9/L is 10*9/L in UCUM; the others are UCUM as written).
func ucumCode(unit string) string { return strings.ReplaceAll(unit, "^", "*") }

// ObservationOfLab maps a filed lab result (检验结果) to an Observation:
// id "lab-<result id>", category laboratory, the analyte's LOINC code and
// the platform's local code, the value in the analyte's SI unit with its
// UCUM code (the unit the result is filed and compared in), the reference
// range converted to that unit, the flag as interpretation, collected
// time as effective, resulted time as issued, the ordering clinic as
// performer. lang chooses the analyte's name (zh or en) for code.text.
func ObservationOfLab(r *lab.Result, lang string) Observation {
	o := Observation{ResourceType: "Observation", ID: "lab-" + strconv.FormatInt(r.ID, 10), Status: "final",
		Category: []CodeableConcept{{Coding: []Coding{{System: systemObsCategory, Code: "laboratory"}}}},
		Subject:  Reference{Reference: "Patient/" + strconv.FormatInt(r.ResidentID, 10)},
		Issued:   instant(r.ResultedAt)}
	if !r.CollectedAt.IsZero() {
		o.EffectiveDateTime = r.CollectedAt.In(care.Shanghai).Format(time.RFC3339)
	}
	if r.ClinicID != 0 {
		o.Performer = []Reference{{Reference: "Organization/" + strconv.FormatInt(r.ClinicID, 10)}}
	}
	name := r.Analyte
	an, known := lab.Lookup(r.Analyte)
	if known {
		name = an.NameZh
		if lang == "en" {
			name = an.Name
		}
		o.Code.Coding = append(o.Code.Coding, Coding{System: SystemLOINC, Code: an.LOINC, Display: an.Name})
	}
	o.Code.Coding = append(o.Code.Coding, Coding{System: SystemLabCode, Code: r.Analyte, Display: name})
	o.Code.Text = name
	o.ValueQuantity = &Quantity{Value: r.ValueSI, Unit: r.UnitSI, System: SystemUCUM, Code: ucumCode(r.UnitSI)}
	if r.Flag != lab.FlagNone {
		o.Interpretation = []CodeableConcept{{Coding: []Coding{{System: systemV3Interpretation, Code: r.Flag}}}}
	}
	if known && (r.RefLow != nil || r.RefHigh != nil) {
		rr := ReferenceRange{}
		if r.RefLow != nil {
			v, _ := an.Convert(*r.RefLow, r.Unit)
			rr.Low = &Quantity{Value: round4(v), Unit: r.UnitSI, System: SystemUCUM, Code: ucumCode(r.UnitSI)}
		}
		if r.RefHigh != nil {
			v, _ := an.Convert(*r.RefHigh, r.Unit)
			rr.High = &Quantity{Value: round4(v), Unit: r.UnitSI, System: SystemUCUM, Code: ucumCode(r.UnitSI)}
		}
		rr.Text = r.RefRange() + " " + r.Unit
		o.ReferenceRange = []ReferenceRange{rr}
	}
	return o
}

// round4 rounds a converted value to 4 decimals, as lab files ValueSI.
func round4(v float64) float64 {
	s := strconv.FormatFloat(v, 'f', 4, 64)
	r, _ := strconv.ParseFloat(s, 64)
	return r
}
