package fhir

import (
	"net/http"
	"strconv"
	"strings"

	"countycare/care"
	"countycare/rx"
	"countycare/web"
)

// Code systems of prescriptions.
const (
	// SystemFormulary: the platform's formulary codes (rx.Drug.Code).
	SystemFormulary = "http://countycare.cn/fhir/CodeSystem/formulary"
	// SystemATC is the WHO ATC classification.
	SystemATC = "http://www.whocc.no/atc"
	// SystemRoute: the prescription routes (po, sl, sc, im, iv, inh).
	SystemRoute = "http://countycare.cn/fhir/CodeSystem/route"
	// SystemPrescription: the platform's prescription numbers (the group
	// of a prescription's MedicationRequests).
	SystemPrescription = "http://countycare.cn/fhir/sid/prescription"
)

// Duration is a length of time (UCUM units of time).
type Duration struct {
	Value  float64 `json:"value"`
	Unit   string  `json:"unit,omitempty"`
	System string  `json:"system,omitempty"`
	Code   string  `json:"code,omitempty"`
}

// TimingRepeat is how often a dose is taken.
type TimingRepeat struct {
	Count      int      `json:"count,omitempty"`
	Frequency  int      `json:"frequency,omitempty"`
	Period     float64  `json:"period,omitempty"`
	PeriodUnit string   `json:"periodUnit,omitempty"`
	When       []string `json:"when,omitempty"`
}

// Timing is a dosage's schedule.
type Timing struct {
	Repeat *TimingRepeat    `json:"repeat,omitempty"`
	Code   *CodeableConcept `json:"code,omitempty"`
}

// DoseAndRate is the amount of one administration.
type DoseAndRate struct {
	DoseQuantity *Quantity `json:"doseQuantity,omitempty"`
}

// Dosage is how a medication is taken.
type Dosage struct {
	Text           string           `json:"text,omitempty"`
	Timing         *Timing          `json:"timing,omitempty"`
	AsNeededBool   *bool            `json:"asNeededBoolean,omitempty"`
	Route          *CodeableConcept `json:"route,omitempty"`
	DoseAndRate    []DoseAndRate    `json:"doseAndRate,omitempty"`
	SequenceNumber int              `json:"sequence,omitempty"`
}

// DispenseRequest is what the prescriber asks the pharmacy to hand over.
type DispenseRequest struct {
	Quantity               *Quantity `json:"quantity,omitempty"`
	ExpectedSupplyDuration *Duration `json:"expectedSupplyDuration,omitempty"`
}

// MedicationRequest is one drug of a signed e-prescription (电子处方).
type MedicationRequest struct {
	ResourceType              string            `json:"resourceType"`
	ID                        string            `json:"id"`
	Meta                      *Meta             `json:"meta,omitempty"`
	Status                    string            `json:"status"`
	Intent                    string            `json:"intent"`
	MedicationCodeableConcept CodeableConcept   `json:"medicationCodeableConcept"`
	Subject                   Reference         `json:"subject"`
	AuthoredOn                string            `json:"authoredOn,omitempty"`
	Requester                 *Reference        `json:"requester,omitempty"`
	ReasonCode                []CodeableConcept `json:"reasonCode,omitempty"`
	GroupIdentifier           *Identifier       `json:"groupIdentifier,omitempty"`
	DosageInstruction         []Dosage          `json:"dosageInstruction,omitempty"`
	DispenseRequest           *DispenseRequest  `json:"dispenseRequest,omitempty"`
}

// MedicationDispense is one drug of a dispensed prescription (调配发药).
type MedicationDispense struct {
	ResourceType              string          `json:"resourceType"`
	ID                        string          `json:"id"`
	Status                    string          `json:"status"`
	MedicationCodeableConcept CodeableConcept `json:"medicationCodeableConcept"`
	Subject                   Reference       `json:"subject"`
	AuthorizingPrescription   []Reference     `json:"authorizingPrescription,omitempty"`
	Quantity                  *Quantity       `json:"quantity,omitempty"`
	DaysSupply                *Quantity       `json:"daysSupply,omitempty"`
	WhenHandedOver            string          `json:"whenHandedOver,omitempty"`
	DosageInstruction         []Dosage        `json:"dosageInstruction,omitempty"`
}

// frequencies maps the prescription's frequency codes to FHIR timing.
var frequencies = map[string]TimingRepeat{
	"qd": {Frequency: 1, Period: 1, PeriodUnit: "d"}, "bid": {Frequency: 2, Period: 1, PeriodUnit: "d"},
	"tid": {Frequency: 3, Period: 1, PeriodUnit: "d"}, "qid": {Frequency: 4, Period: 1, PeriodUnit: "d"},
	"q6h": {Frequency: 1, Period: 6, PeriodUnit: "h"}, "q8h": {Frequency: 1, Period: 8, PeriodUnit: "h"},
	"q12h": {Frequency: 1, Period: 12, PeriodUnit: "h"}, "qn": {Frequency: 1, Period: 1, PeriodUnit: "d", When: []string{"HS"}},
	"qod": {Frequency: 1, Period: 2, PeriodUnit: "d"}, "qw": {Frequency: 1, Period: 1, PeriodUnit: "wk"},
	"biw": {Frequency: 2, Period: 1, PeriodUnit: "wk"}, "st": {Count: 1},
}

// requestStatus maps a prescription's status: passed or approved by the
// review, active; waiting for a pharmacist or returned to the doctor, on
// hold; rejected, cancelled; dispensed, completed.
func requestStatus(s rx.Status) string {
	switch s {
	case rx.StatusPassed, rx.StatusApproved:
		return "active"
	case rx.StatusPending, rx.StatusReturned:
		return "on-hold"
	case rx.StatusRejected:
		return "cancelled"
	case rx.StatusDispensed:
		return "completed"
	}
	return "unknown"
}

// medication names a formulary drug: its formulary code, its main ATC
// code, its name in lang (zh or en).
func medication(kb *rx.KB, code, lang string) CodeableConcept {
	c := CodeableConcept{Text: code, Coding: []Coding{{System: SystemFormulary, Code: code}}}
	if d := kb.Drug(code); d != nil {
		c.Text = d.NameZH
		if lang == "en" && d.NameEN != "" {
			c.Text = d.NameEN
		}
		c.Coding[0].Display = c.Text
		if len(d.ATC) > 0 {
			c.Coding = append(c.Coding, Coding{System: SystemATC, Code: d.ATC[0]})
		}
	}
	return c
}

// dosageOf is a line's dosage: dose, route, schedule, as text and coded.
func dosageOf(l *rx.Line) Dosage {
	d := Dosage{SequenceNumber: 1, Text: strings.TrimSpace(strconv.FormatFloat(l.Dose, 'f', -1, 64) + " " + l.DoseUnit + " " + l.Route + " " + l.Frequency)}
	if l.Dose > 0 {
		d.DoseAndRate = []DoseAndRate{{DoseQuantity: &Quantity{Value: l.Dose, Unit: l.DoseUnit}}}
	}
	if l.Route != "" {
		d.Route = &CodeableConcept{Coding: []Coding{{System: SystemRoute, Code: l.Route}}, Text: l.Route}
	}
	if rep, ok := frequencies[l.Frequency]; ok {
		d.Timing = &Timing{Repeat: &rep}
	} else if l.Frequency == "prn" {
		d.AsNeededBool = boolp(true)
	}
	return d
}

// MedicationRequestsOf maps a signed prescription to one MedicationRequest
// per line, id "<prescription>-<line from 1>", grouped by the prescription
// number; the line's diagnosis (or the prescription's) as ICD-10 reasons;
// the prescriber as requester (or the institution, where the prescriber
// is not recorded).
func MedicationRequestsOf(sg *rx.Signed, kb *rx.KB, lang string) []MedicationRequest {
	rxID := strconv.FormatInt(sg.ID, 10)
	out := make([]MedicationRequest, 0, len(sg.Prescription.Lines))
	for i := range sg.Prescription.Lines {
		l := &sg.Prescription.Lines[i]
		mr := MedicationRequest{ResourceType: "MedicationRequest", ID: rxID + "-" + strconv.Itoa(i+1), Meta: &Meta{VersionID: strconv.Itoa(sg.Version)},
			Status: requestStatus(sg.Status), Intent: "order", MedicationCodeableConcept: medication(kb, l.DrugCode, lang),
			Subject: patientRef(sg.ResidentID), AuthoredOn: instant(sg.SignedAt),
			GroupIdentifier:   &Identifier{System: SystemPrescription, Value: rxID},
			DosageInstruction: []Dosage{dosageOf(l)}}
		if sg.PrescriberID != 0 {
			mr.Requester = &Reference{Reference: "Practitioner/" + strconv.FormatInt(sg.PrescriberID, 10)}
		} else {
			mr.Requester = orgRef(sg.InstitutionID) // the prescribing institution when the prescriber is not recorded
		}
		diags := sg.Prescription.Diagnoses
		if l.Diagnosis != "" {
			diags = []string{l.Diagnosis}
		}
		for _, dx := range diags {
			mr.ReasonCode = append(mr.ReasonCode, CodeableConcept{Coding: []Coding{{System: SystemICD10, Code: dx}}})
		}
		dr := &DispenseRequest{}
		if l.Quantity > 0 {
			dr.Quantity = &Quantity{Value: l.Quantity}
		}
		if l.Days > 0 {
			dr.ExpectedSupplyDuration = &Duration{Value: float64(l.Days), Unit: "d", System: SystemUCUM, Code: "d"}
		}
		if dr.Quantity != nil || dr.ExpectedSupplyDuration != nil {
			mr.DispenseRequest = dr
		}
		out = append(out, mr)
	}
	return out
}

// MedicationDispensesOf maps a dispensed prescription to one
// MedicationDispense per line (id as its MedicationRequest's), completed
// when handed over; a prescription not dispensed has none.
func MedicationDispensesOf(sg *rx.Signed, kb *rx.KB, lang string) []MedicationDispense {
	if sg.Status != rx.StatusDispensed || sg.DispensedAt.IsZero() {
		return nil
	}
	var out []MedicationDispense
	for _, mr := range MedicationRequestsOf(sg, kb, lang) {
		md := MedicationDispense{ResourceType: "MedicationDispense", ID: mr.ID, Status: "completed", MedicationCodeableConcept: mr.MedicationCodeableConcept,
			Subject: mr.Subject, AuthorizingPrescription: []Reference{{Reference: "MedicationRequest/" + mr.ID}}, WhenHandedOver: instant(sg.DispensedAt),
			DosageInstruction: mr.DosageInstruction}
		if dr := mr.DispenseRequest; dr != nil {
			md.Quantity = dr.Quantity
			if d := dr.ExpectedSupplyDuration; d != nil {
				md.DaysSupply = &Quantity{Value: d.Value, Unit: d.Unit, System: d.System, Code: d.Code}
			}
		}
		out = append(out, md)
	}
	return out
}

// medicationMatches maps prescriptions to MedicationRequests (or, with
// dispenses, MedicationDispenses), keyed by signing time and line.
func (s *Server) medicationMatches(sgs []rx.Signed, lang string, dispenses bool) []match {
	var out []match
	for i := range sgs {
		sg := &sgs[i]
		k := func(line int) string { return key(sg.SignedAt, sg.ID*1000+int64(line)) }
		if dispenses {
			for j, md := range MedicationDispensesOf(sg, s.Prescriptions.Engine.KB, lang) {
				out = append(out, match{id: md.ID, key: k(j), day: care.Today(sg.DispensedAt), status: md.Status, res: md})
			}
			continue
		}
		for j, mr := range MedicationRequestsOf(sg, s.Prescriptions.Engine.KB, lang) {
			out = append(out, match{id: mr.ID, key: k(j), day: care.Today(sg.SignedAt), status: mr.Status, res: mr})
		}
	}
	return out
}

// prescriptionOf reads the prescription of an id "<prescription>-<line>"
// through rx.Service.Get (who may read it, audited as rx.read).
func (s *Server) prescriptionOf(r *http.Request, rq web.Request, id string) (*rx.Signed, error) {
	notFound := care.Errorf(care.ENOTFOUND, "error.not_found")
	p, line, ok := strings.Cut(id, "-")
	n, err := strconv.ParseInt(p, 10, 64)
	if !ok || err != nil || n <= 0 || line == "" {
		return nil, notFound
	}
	return s.Prescriptions.Get(r.Context(), rq.Actor, n)
}

var medicationStatuses = map[string][]string{
	"MedicationRequest":  {"active", "on-hold", "cancelled", "completed"},
	"MedicationDispense": {"completed"},
}

// medicationRead: GET /fhir/MedicationRequest/{id}, /fhir/MedicationDispense/{id}.
func (s *Server) medicationRead(typ string) web.FaceHandler {
	return func(w http.ResponseWriter, r *http.Request, rq web.Request) error {
		id := r.PathValue("id")
		sg, err := s.prescriptionOf(r, rq, id)
		if err != nil {
			return err
		}
		return writeMatch(w, s.medicationMatches([]rx.Signed{*sg}, rq.Lang, typ == "MedicationDispense"), id)
	}
}

// medicationSearch: GET /fhir/MedicationRequest?patient=… (or _id) and
// /fhir/MedicationDispense: the patient's prescriptions through
// rx.Service.ForResident (scope, audited), with date (signed or handed
// over, China time), status, _count with next links, _summary=count,
// _include of the subject and (requests) _revinclude of their dispensings
// (MedicationDispense:prescription); newest first.
func (s *Server) medicationSearch(m *web.Mount, typ string) web.FaceHandler {
	return func(w http.ResponseWriter, r *http.Request, rq web.Request) error {
		p, byID, statuses, err := s.pagedSearch(r, typ, medicationStatuses[typ])
		if err != nil {
			return err
		}
		var sgs []rx.Signed
		if p.resident == 0 {
			sg, err := s.prescriptionOf(r, rq, byID)
			switch {
			case err == nil:
				sgs, p.resident = []rx.Signed{*sg}, sg.ResidentID
			case !care.IsCode(err, care.ENOTFOUND):
				return err
			}
		} else {
			var err error
			if sgs, err = s.Prescriptions.ForResident(r.Context(), rq.Actor, p.resident); err != nil {
				return err
			}
		}
		subject, err := s.includedSubject(r, m, rq, &p, len(sgs) > 0)
		if err != nil {
			return err
		}
		ids, keys, out := p.page(s.medicationMatches(sgs, rq.Lang, typ == "MedicationDispense"), statuses, byID)
		b := s.searchset(r, &p, typ, ids, keys, out, subject)
		if err := s.revincludedPage(r, m, rq, &p, typ, &b); err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, b)
		return nil
	}
}
