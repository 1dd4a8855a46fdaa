package fhir

import (
	"cmp"
	"encoding/base64"
	"slices"
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

// LoincLabReport is LOINC 11502-2, Laboratory report.
const LoincLabReport = "11502-2"

// DiagnosticReportOfLabs maps the results one clinic filed for a resident
// from one collection (the same ordering clinic, doctor and collection
// time: one request form), oldest result first, to a lab report
// (检验报告): id "lab-<resident>-<first result id>", status final,
// category v2-0074 LAB, code LOINC 11502-2, effective the collection,
// issued the last result's time, the clinic as performer, each result as
// an Observation ("lab-<result id>", found by the Observation search)
// referenced from result, and the results as text in presentedForm. The
// platform files results, not signed lab reports: this groups them as
// the lab page shows them.
func DiagnosticReportOfLabs(rs []lab.Result, lang string, t func(string, ...any) string) DiagnosticReport {
	first := &rs[0]
	d := DiagnosticReport{ResourceType: "DiagnosticReport", ID: "lab-" + strconv.FormatInt(first.ResidentID, 10) + "-" + strconv.FormatInt(first.ID, 10),
		Status:   "final",
		Category: []CodeableConcept{{Coding: []Coding{{System: systemV2DiagnosticService, Code: "LAB"}}}},
		Code: CodeableConcept{Coding: []Coding{{System: SystemLOINC, Code: LoincLabReport, Display: "Laboratory report"}},
			Text: t("fhir.lab_report")},
		Subject: patientRef(first.ResidentID)}
	if !first.CollectedAt.IsZero() {
		d.EffectiveDateTime = first.CollectedAt.In(care.Shanghai).Format(time.RFC3339)
	}
	if first.ClinicID != 0 {
		d.Performer = []Reference{{Reference: "Organization/" + strconv.FormatInt(first.ClinicID, 10)}}
	}
	var issued, updated time.Time
	var text strings.Builder
	for i := range rs {
		r := &rs[i]
		o := ObservationOfLab(r, lang)
		d.Result = append(d.Result, Reference{Reference: "Observation/" + o.ID, Display: o.Code.Text})
		line := o.Code.Text + ": " + strconv.FormatFloat(r.Value, 'f', -1, 64) + " " + r.Unit
		if r.Flag != lab.FlagNone {
			line += " " + r.Flag
		}
		if rr := r.RefRange(); rr != "" {
			line += " (" + rr + ")"
		}
		text.WriteString(line + "\n")
		if r.ResultedAt.After(issued) {
			issued = r.ResultedAt
		}
		if r.CreatedAt.After(updated) {
			updated = r.CreatedAt
		}
	}
	d.Issued = instant(issued)
	d.Meta = &Meta{LastUpdated: instant(updated)}
	language := "zh-CN"
	if lang == "en" {
		language = "en"
	}
	d.PresentedForm = []Attachment{{ContentType: "text/plain; charset=utf-8", Language: language, Title: d.Code.Text,
		Data: base64.StdEncoding.EncodeToString([]byte(text.String())), Creation: d.Issued}}
	return d
}

// labReports groups a resident's results (newest first, as lab lists
// them) into lab reports, one per clinic, doctor and collection time.
func labReports(results []lab.Result, lang string, t func(string, ...any) string) []match {
	type form struct {
		clinic    int64
		doctor    string
		collected time.Time
	}
	groups := map[form][]lab.Result{}
	var order []form
	for _, r := range results {
		k := form{r.ClinicID, r.Doctor, r.CollectedAt}
		if _, ok := groups[k]; !ok {
			order = append(order, k)
		}
		groups[k] = append(groups[k], r)
	}
	out := make([]match, 0, len(order))
	for _, k := range order {
		rs := groups[k]
		slices.SortFunc(rs, func(a, b lab.Result) int { return cmp.Compare(a.ID, b.ID) })
		d := DiagnosticReportOfLabs(rs, lang, t)
		out = append(out, match{id: d.ID, key: key(k.collected, rs[0].ID*2+1), day: care.Today(k.collected), status: d.Status, res: d})
	}
	return out
}

// round4 rounds a converted value to 4 decimals, as lab files ValueSI.
func round4(v float64) float64 {
	s := strconv.FormatFloat(v, 'f', 4, 64)
	r, _ := strconv.ParseFloat(s, 64)
	return r
}
