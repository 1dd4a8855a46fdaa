package fhir

import (
	"encoding/base64"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"countycare/access"
	"countycare/care"
	"countycare/reading"
	"countycare/resident"
	"countycare/web"
)

// Code systems of diagnostic reports.
const (
	// systemV2DiagnosticService is HL7 v2 table 0074, the diagnostic
	// service section (DiagnosticReport.category).
	systemV2DiagnosticService = "http://terminology.hl7.org/CodeSystem/v2-0074"
	// SystemModality: the platform's study modalities (reading.TemplateModality:
	// ECG, DR, CT, MR, US, FHM, FUNDUS, SKIN, OT).
	SystemModality = "http://countycare.cn/fhir/CodeSystem/study-modality"
)

// LOINC codes of the reading reports and of the ECG measurements a signed
// ECG report holds (LOINC 2.7x, "Document ontology" report codes and the
// EKG measurement panel's parts).
const (
	LoincECGStudy     = "11524-6" // EKG study
	LoincImagingStudy = "18748-4" // Diagnostic imaging study
	LoincCTStudy      = "18747-6" // CT Study report
	LoincMRStudy      = "18755-9" // MR Study report
	LoincUSStudy      = "18760-9" // US Study report
	LoincPRInterval   = "8625-6"  // P-R Interval
	LoincQRSDuration  = "8633-0"  // QRS duration
	LoincQTInterval   = "8634-8"  // Q-T interval
	LoincQTc          = "8636-3"  // Q-T interval corrected
	LoincQRSAxis      = "8632-2"  // QRS axis
)

// reportCodes gives each template modality its LOINC report code and v2
// diagnostic service section. Fetal heart traces have no LOINC report code
// the platform can vouch for: they carry the modality code alone.
var reportCodes = map[string]struct{ loinc, display, section string }{
	"ECG":    {LoincECGStudy, "EKG study", "EC"},
	"DR":     {LoincImagingStudy, "Diagnostic imaging study", "RAD"},
	"CT":     {LoincCTStudy, "CT Study report", "CT"},
	"MR":     {LoincMRStudy, "MR Study report", "NMR"},
	"US":     {LoincUSStudy, "US Study report", "RUS"},
	"FUNDUS": {LoincImagingStudy, "Diagnostic imaging study", "RAD"},
	"SKIN":   {LoincImagingStudy, "Diagnostic imaging study", "RAD"},
	"OT":     {LoincImagingStudy, "Diagnostic imaging study", "RAD"},
	"FHM":    {"", "", "OTH"},
}

// ecgMeasures maps the integer fields of the ECG report template to
// their LOINC codes and UCUM units.
var ecgMeasures = []struct{ field, loinc, display, unit string }{
	{"rate", LoincHeartRate, "Heart rate", "/min"},
	{"pr", LoincPRInterval, "P-R Interval", "ms"},
	{"qrs", LoincQRSDuration, "QRS duration", "ms"},
	{"qt", LoincQTInterval, "Q-T interval", "ms"},
	{"qtc", LoincQTc, "Q-T interval corrected", "ms"},
	{"axis", LoincQRSAxis, "QRS axis", "deg"},
}

// Attachment is content in another format: here the report's text.
type Attachment struct {
	ContentType string `json:"contentType,omitempty"`
	Language    string `json:"language,omitempty"`
	Data        string `json:"data,omitempty"` // base64
	Title       string `json:"title,omitempty"`
	Creation    string `json:"creation,omitempty"`
}

// DiagnosticReport is a signed diagnosis-center report (诊断报告) of an
// ECG, imaging study, clinic photo or fetal heart trace.
type DiagnosticReport struct {
	ResourceType       string            `json:"resourceType"`
	ID                 string            `json:"id"`
	Meta               *Meta             `json:"meta,omitempty"`
	Contained          []Observation     `json:"contained,omitempty"`
	Identifier         []Identifier      `json:"identifier,omitempty"`
	Status             string            `json:"status"`
	Category           []CodeableConcept `json:"category,omitempty"`
	Code               CodeableConcept   `json:"code"`
	Subject            Reference         `json:"subject"`
	EffectiveDateTime  string            `json:"effectiveDateTime,omitempty"`
	Issued             string            `json:"issued,omitempty"`
	Performer          []Reference       `json:"performer,omitempty"`
	ResultsInterpreter []Reference       `json:"resultsInterpreter,omitempty"`
	Result             []Reference       `json:"result,omitempty"`
	Conclusion         string            `json:"conclusion,omitempty"`
	PresentedForm      []Attachment      `json:"presentedForm,omitempty"`
}

// SystemReportSeal: the SHA-256 seal of a signed report (reading.ReportSeal),
// so a receiver can check the text it holds against the platform's.
const SystemReportSeal = "http://countycare.cn/fhir/sid/report-seal"

// DiagnosticReportOf maps a reported study and its reports (the signed
// report and its addenda, oldest first) to a DiagnosticReport; ok is
// false for a study without a signed report. The report's text in the
// reader's language (t gives the catalogue's messages, lang is "zh" or
// "en") is the presentedForm, one attachment for the report and one per
// addendum; the summary field (the ECG's or imaging's conclusion) is the
// conclusion. A signed ECG report's measurements are contained
// Observations with their LOINC codes, referenced as results. Status is
// final, or appended once an addendum has been signed.
func DiagnosticReportOf(st *reading.Study, reps []reading.Report, tpl *reading.Template, lang string, t func(key string, args ...any) string) (DiagnosticReport, bool) {
	i := slices.IndexFunc(reps, func(r reading.Report) bool { return r.Kind == reading.ReportSigned })
	if i < 0 || st.Status != reading.FlowReported {
		return DiagnosticReport{}, false
	}
	rep := reps[i]
	mod := reading.TemplateModality(st.Modality)
	modName := t("reading.modality." + mod)
	id := strconv.FormatInt(st.ID, 10)
	patient := Reference{Reference: "Patient/" + strconv.FormatInt(st.ResidentID, 10)}
	d := DiagnosticReport{ResourceType: "DiagnosticReport", ID: id, Status: "final", Subject: patient,
		EffectiveDateTime: st.UploadedAt.In(care.Shanghai).Format(time.RFC3339), Issued: instant(rep.SignedAt),
		Identifier:         []Identifier{{System: SystemReportSeal, Value: rep.Seal}},
		Performer:          []Reference{{Reference: "Organization/" + strconv.FormatInt(st.CenterID, 10)}},
		ResultsInterpreter: []Reference{{Display: rep.SignerName}},
		Conclusion:         rep.Fields[tpl.Summary]}
	codes := reportCodes[mod]
	d.Category = []CodeableConcept{{Coding: []Coding{{System: systemV2DiagnosticService, Code: codes.section}}}}
	d.Code.Text = t("fhir.report_title", modName)
	if codes.loinc != "" {
		d.Code.Coding = append(d.Code.Coding, Coding{System: SystemLOINC, Code: codes.loinc, Display: codes.display})
	}
	d.Code.Coding = append(d.Code.Coding, Coding{System: SystemModality, Code: mod, Display: modName})
	language := "zh-CN"
	if lang == "en" {
		language = "en"
	}
	var text strings.Builder
	for _, f := range tpl.Fields {
		if v := rep.Fields[f.Name]; v != "" {
			text.WriteString(f.Label(lang) + ": " + v + "\n")
		}
	}
	text.WriteString(signedLine(&rep, t))
	d.PresentedForm = []Attachment{{ContentType: "text/plain; charset=utf-8", Language: language, Title: d.Code.Text,
		Data: base64.StdEncoding.EncodeToString([]byte(text.String())), Creation: instant(rep.SignedAt)}}
	updated := rep.SignedAt
	for _, a := range reps[i+1:] {
		if a.Kind != reading.ReportAddendum {
			continue
		}
		d.Status, updated = "appended", a.SignedAt
		d.PresentedForm = append(d.PresentedForm, Attachment{ContentType: "text/plain; charset=utf-8", Language: language, Title: t("reading.addendum"),
			Data: base64.StdEncoding.EncodeToString([]byte(a.Fields["text"] + "\n" + signedLine(&a, t))), Creation: instant(a.SignedAt)})
	}
	d.Meta = &Meta{LastUpdated: instant(updated)}
	if mod == "ECG" {
		for _, m := range ecgMeasures {
			v, err := strconv.Atoi(rep.Fields[m.field])
			if err != nil {
				continue
			}
			d.Contained = append(d.Contained, Observation{ResourceType: "Observation", ID: m.field, Status: "final",
				Category: []CodeableConcept{{Coding: []Coding{{System: systemObsCategory, Code: "procedure"}}}},
				Code:     loinc(m.loinc, m.display), Subject: patient, EffectiveDateTime: d.EffectiveDateTime, Issued: d.Issued,
				ValueQuantity: ucum(float64(v), m.unit)})
			d.Result = append(d.Result, Reference{Reference: "#" + m.field})
		}
	}
	return d, true
}

// signedLine closes a report's text: the critical finding if marked, and
// who signed it when (China time).
func signedLine(r *reading.Report, t func(key string, args ...any) string) string {
	s := ""
	if r.Critical {
		s = t("reading.critical") + ": " + r.CriticalText + "\n"
	}
	return s + t("reading.signed") + ": " + r.SignerName + " " + r.SignedAt.In(care.Shanghai).Format("2006-01-02 15:04") + "\n"
}

// reportStatuses are the statuses a DiagnosticReport of the platform has.
var reportStatuses = []string{"final", "appended"}

// reportRead: GET /fhir/DiagnosticReport/{id} — a reported study through
// reading.Workflow.Study (readers of the study's center and doctors of the
// ordering clinic, as the study page, audited as reading.study_read), or a
// lab report "lab-<resident>-<first result>" through lab.Service.ForResident
// (every clinician with the resident in scope, as the lab pages, audited
// as lab.read).
func (s *Server) reportRead(m *web.Mount) web.FaceHandler {
	return func(w http.ResponseWriter, r *http.Request, rq web.Request) error {
		x, _, err := s.reportByID(r, m, rq, r.PathValue("id"))
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, x.res)
		return nil
	}
}

// reportByID reads one DiagnosticReport and its patient: ENOTFOUND for a
// study not yet reported, a lab report that does not exist, an id of
// neither form, or a kind of report the reader's role does not see.
func (s *Server) reportByID(r *http.Request, m *web.Mount, rq web.Request, id string) (match, int64, error) {
	notFound := care.Errorf(care.ENOTFOUND, "error.not_found")
	if v, ok := strings.CutPrefix(id, "lab-"); ok {
		rs, first, ok := strings.Cut(v, "-")
		rid, first1 := numericID(rs), numericID(first)
		if !ok || rid == 0 || first1 == 0 || s.Labs == nil || !slices.Contains(access.Clinicians, rq.Actor.Role) {
			return match{}, 0, notFound
		}
		_, results, err := s.Labs.ForResident(r.Context(), rq.Actor, rid)
		if err != nil {
			return match{}, 0, err
		}
		for _, x := range labReports(results, rq.Lang, s.translator(m, rq)) {
			if x.id == id {
				return x, rid, nil
			}
		}
		return match{}, 0, notFound
	}
	n := numericID(id)
	if n == 0 || s.Readings == nil || !slices.Contains(studyViewers, rq.Actor.Role) {
		return match{}, 0, notFound
	}
	st, reps, err := s.Readings.Study(r.Context(), rq.Actor, n)
	if err != nil {
		return match{}, 0, err
	}
	d, ok := DiagnosticReportOf(st, reps, s.Readings.Templates.For(st.Modality), rq.Lang, s.translator(m, rq))
	if !ok {
		return match{}, 0, notFound
	}
	return reportMatch(st, d), st.ResidentID, nil
}

// reportSearch: GET /fhir/DiagnosticReport?patient=… (or _id=…) with
// the shared parameters of the paged searches: date (the study's or the
// collection's day, China time), status (final, appended), code
// ([system|]code, LOINC by default, or the modality system; comma-
// separated for any of several). The patient
// is read through resident.Service.Get (scope, audited as
// resident.read); the reports are those of the patient's studies the
// reader may open on the study page (reading.MayRead) and, for every
// clinician, the patient's lab reports; newest first.
func (s *Server) reportSearch(m *web.Mount) web.FaceHandler {
	return func(w http.ResponseWriter, r *http.Request, rq web.Request) error {
		p, id, statuses := s.pagedParams(r, "DiagnosticReport", reportStatuses)
		codes := p.codes(r.URL.Query(), SystemLOINC, SystemModality)
		if err := care.Invalid(p.fs); err != nil {
			return err
		}
		var found []match
		var subject *Patient
		list := p.resident != 0
		if !list && id != "" {
			x, rid, err := s.reportByID(r, m, rq, id)
			switch {
			case err == nil:
				found, p.resident = []match{x}, rid
			case !care.IsCode(err, care.ENOTFOUND):
				return err
			}
		}
		if p.resident != 0 && (list || p.include) {
			res, err := s.Residents.Get(r.Context(), rq.Actor, p.resident)
			if err != nil {
				return err
			}
			subject = s.patientOf(r.Context(), m, rq, res)
			if list {
				if found, err = s.patientReports(r, m, rq, res); err != nil {
					return err
				}
			}
		}
		found = slices.DeleteFunc(found, func(x match) bool { return !coded(x.res.(DiagnosticReport).Code, codes) })
		ids, keys, out := p.page(found, statuses, id)
		writeJSON(w, http.StatusOK, s.searchset(r, &p, "DiagnosticReport", ids, keys, out, subject))
		return nil
	}
}

// translator gives the catalogue's messages in the reader's language.
func (s *Server) translator(m *web.Mount, rq web.Request) func(string, ...any) string {
	return func(k string, a ...any) string { return m.T(rq.Lang, k, a...) }
}

// reportMatch is a study's DiagnosticReport as a match of a search.
func reportMatch(st *reading.Study, d DiagnosticReport) match {
	return match{id: d.ID, key: key(st.UploadedAt, st.ID*2), day: care.Today(st.UploadedAt), status: d.Status, res: d}
}

// patientReports maps the reports of a resident (already read in this
// request) the reader may see: the signed reports of the studies the
// reader may open on the study page, and the lab reports for every
// clinician (lab.Service.ForResident, audited as lab.read).
func (s *Server) patientReports(r *http.Request, m *web.Mount, rq web.Request, res *resident.Resident) ([]match, error) {
	t := s.translator(m, rq)
	var out []match
	if s.Readings != nil && slices.Contains(studyViewers, rq.Actor.Role) {
		sts, reps, err := s.Readings.ForResident(r.Context(), rq.Actor, res.CountyCode, res.ID)
		if err != nil {
			return nil, err
		}
		for i := range sts {
			st := &sts[i]
			if !reading.MayRead(rq.Actor, st) {
				continue
			}
			if d, ok := DiagnosticReportOf(st, reps[st.ID], s.Readings.Templates.For(st.Modality), rq.Lang, t); ok {
				out = append(out, reportMatch(st, d))
			}
		}
	}
	if s.Labs != nil && slices.Contains(access.Clinicians, rq.Actor.Role) {
		_, results, err := s.Labs.ForResident(r.Context(), rq.Actor, res.ID)
		if err != nil {
			return nil, err
		}
		out = append(out, labReports(results, rq.Lang, t)...)
	}
	return out, nil
}
