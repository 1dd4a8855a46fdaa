package fhir

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"countycare/access"
	"countycare/care"
	"countycare/chronic"
	"countycare/lab"
	"countycare/resident"
	"countycare/web"
)

// Code systems of chronic care.
const (
	// SystemICD10 is WHO ICD-10 (the national clinical version 2.0 extends
	// its codes; a registry gives the category).
	SystemICD10 = "http://hl7.org/fhir/sid/icd-10"
	// SystemRegistry: the chronic disease registries (chronic.Disease).
	SystemRegistry = "http://countycare.cn/fhir/CodeSystem/chronic-registry"
	// ExtTier: the Condition extension carrying the management tier.
	ExtTier = "http://countycare.cn/fhir/StructureDefinition/chronic-tier"
	// SystemTier: the tiers of chronic.Tier (red, yellow, green).
	SystemTier = "http://countycare.cn/fhir/CodeSystem/chronic-tier"
	// SystemLOINC is LOINC; SystemUCUM the units of measure.
	SystemLOINC = "http://loinc.org"
	SystemUCUM  = "http://unitsofmeasure.org"

	systemConditionClinical = "http://terminology.hl7.org/CodeSystem/condition-clinical"
	systemConditionVer      = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
	systemConditionCategory = "http://terminology.hl7.org/CodeSystem/condition-category"
	systemObsCategory       = "http://terminology.hl7.org/CodeSystem/observation-category"
)

// registryICD10 is the ICD-10 category a registry stands for, where the
// registry names one disease: 原发性高血压 I10, 2 型糖尿病 E11, chronic
// viral hepatitis B18. The severe-mental-disorder and tuberculosis
// registries span several categories (their diagnoses are not stored with
// the registration), so their Conditions carry the registry code only.
var registryICD10 = map[chronic.Disease]string{chronic.Hypertension: "I10", chronic.Diabetes: "E11", chronic.Hepatitis: "B18"}

// Condition is a chronic disease registration (慢病管理登记).
type Condition struct {
	ResourceType       string            `json:"resourceType"`
	ID                 string            `json:"id"`
	Meta               *Meta             `json:"meta,omitempty"`
	Extension          []Extension       `json:"extension,omitempty"`
	ClinicalStatus     *CodeableConcept  `json:"clinicalStatus,omitempty"`
	VerificationStatus *CodeableConcept  `json:"verificationStatus,omitempty"`
	Category           []CodeableConcept `json:"category,omitempty"`
	Code               *CodeableConcept  `json:"code,omitempty"`
	Subject            Reference         `json:"subject"`
	RecordedDate       string            `json:"recordedDate,omitempty"`
}

// ConditionOf maps a registration. A registration that is no longer
// active (transferred, moved, died, closed) is a Condition whose clinical
// status is inactive: the registry does not say the disease resolved.
func ConditionOf(r *chronic.Registration, name func(key string) string) Condition {
	c := Condition{ResourceType: "Condition", ID: strconv.FormatInt(r.ID, 10), Meta: &Meta{VersionID: strconv.Itoa(r.Version), LastUpdated: instant(lastUpdated(r))},
		Subject: Reference{Reference: "Patient/" + strconv.FormatInt(r.ResidentID, 10)}}
	status := "active"
	if r.Status != chronic.StatusActive {
		status = "inactive"
	}
	c.ClinicalStatus = &CodeableConcept{Coding: []Coding{{System: systemConditionClinical, Code: status}}}
	c.VerificationStatus = &CodeableConcept{Coding: []Coding{{System: systemConditionVer, Code: "confirmed"}}}
	c.Category = []CodeableConcept{{Coding: []Coding{{System: systemConditionCategory, Code: "problem-list-item"}}}}
	text := name("chronic.disease." + string(r.Disease))
	code := &CodeableConcept{Text: text}
	if icd, ok := registryICD10[r.Disease]; ok {
		code.Coding = append(code.Coding, Coding{System: SystemICD10, Code: icd})
	}
	code.Coding = append(code.Coding, Coding{System: SystemRegistry, Code: string(r.Disease), Display: text})
	c.Code = code
	if !r.EnrolledOn.IsZero() {
		c.RecordedDate = r.EnrolledOn.String()
	}
	if r.Tier != "" {
		c.Extension = []Extension{{URL: ExtTier, ValueCodeableConcept: &CodeableConcept{Coding: []Coding{{System: SystemTier, Code: string(r.Tier),
			Display: name("chronic.tier." + string(r.Tier))}}}}}
	}
	return c
}

// Quantity is a measured amount with its UCUM unit.
type Quantity struct {
	Value  float64 `json:"value"`
	Unit   string  `json:"unit,omitempty"`
	System string  `json:"system,omitempty"`
	Code   string  `json:"code,omitempty"`
}

// Observation is one measurement of a follow-up visit, one lab result, or
// (contained in its DiagnosticReport) one ECG measurement.
type Observation struct {
	ResourceType      string                 `json:"resourceType"`
	ID                string                 `json:"id"`
	Meta              *Meta                  `json:"meta,omitempty"`
	Status            string                 `json:"status"`
	Category          []CodeableConcept      `json:"category,omitempty"`
	Code              CodeableConcept        `json:"code"`
	Subject           Reference              `json:"subject"`
	Encounter         *Reference             `json:"encounter,omitempty"` // a follow-up's: its visit
	EffectiveDateTime string                 `json:"effectiveDateTime,omitempty"`
	Issued            string                 `json:"issued,omitempty"`
	Performer         []Reference            `json:"performer,omitempty"`
	ValueQuantity     *Quantity              `json:"valueQuantity,omitempty"`
	Interpretation    []CodeableConcept      `json:"interpretation,omitempty"`
	ReferenceRange    []ReferenceRange       `json:"referenceRange,omitempty"`
	Component         []ObservationComponent `json:"component,omitempty"`
}

// ReferenceRange is the normal range of a lab value.
type ReferenceRange struct {
	Low  *Quantity `json:"low,omitempty"`
	High *Quantity `json:"high,omitempty"`
	Text string    `json:"text,omitempty"`
}

// ObservationComponent is one part of a panel (systolic, diastolic).
type ObservationComponent struct {
	Code          CodeableConcept `json:"code"`
	ValueQuantity *Quantity       `json:"valueQuantity,omitempty"`
}

// LOINC codes of the follow-up measurements (the national follow-up forms'
// vital signs and fasting glucose), with their UCUM units.
const (
	LoincBPPanel     = "85354-9" // Blood pressure panel with all children optional
	LoincSystolic    = "8480-6"  // Systolic blood pressure
	LoincDiastolic   = "8462-4"  // Diastolic blood pressure
	LoincHeartRate   = "8867-4"  // Heart rate
	LoincFastingGluc = "14771-0" // Fasting glucose [Moles/volume] in Serum or Plasma
	LoincWeight      = "29463-7" // Body weight
	LoincHeight      = "8302-2"  // Body height
	LoincTemperature = "8310-5"  // Body temperature
)

func loinc(code, display string) CodeableConcept {
	return CodeableConcept{Coding: []Coding{{System: SystemLOINC, Code: code, Display: display}}, Text: display}
}

func ucum(v float64, unit string) *Quantity {
	return &Quantity{Value: v, Unit: unit, System: SystemUCUM, Code: unit}
}

// ObservationsOf maps a follow-up visit to its measurements: one
// Observation per measured value (blood pressure as one panel), with IDs
// "<visit id>-<kind>", each with the visit's Encounter ("visit-<id>"). A
// value not measured (0) gives no Observation.
func ObservationsOf(v *chronic.StoredVisit) []Observation {
	id := strconv.FormatInt(v.ID, 10)
	base := Observation{ResourceType: "Observation", Status: "final", Subject: Reference{Reference: "Patient/" + strconv.FormatInt(v.ResidentID, 10)},
		EffectiveDateTime: v.Date.String(), Issued: instant(v.CreatedAt),
		Meta:      &Meta{VersionID: "1", LastUpdated: instant(v.CreatedAt)}, // a recorded visit never changes
		Encounter: &Reference{Reference: "Encounter/" + prefixFollowUp + id}}
	if v.InstitutionID != 0 {
		base.Performer = []Reference{{Reference: "Organization/" + strconv.FormatInt(v.InstitutionID, 10)}}
	}
	vital := []CodeableConcept{{Coding: []Coding{{System: systemObsCategory, Code: "vital-signs"}}}}
	lab := []CodeableConcept{{Coding: []Coding{{System: systemObsCategory, Code: "laboratory"}}}}
	var out []Observation
	add := func(kind string, cat []CodeableConcept, code CodeableConcept, q *Quantity, comps []ObservationComponent) {
		o := base
		o.ID, o.Category, o.Code, o.ValueQuantity, o.Component = id+"-"+kind, cat, code, q, comps
		out = append(out, o)
	}
	if v.SBP > 0 && v.DBP > 0 {
		add("bp", vital, loinc(LoincBPPanel, "Blood pressure panel"), nil, []ObservationComponent{
			{Code: loinc(LoincSystolic, "Systolic blood pressure"), ValueQuantity: ucum(float64(v.SBP), "mm[Hg]")},
			{Code: loinc(LoincDiastolic, "Diastolic blood pressure"), ValueQuantity: ucum(float64(v.DBP), "mm[Hg]")}})
	}
	if v.HeartRate > 0 {
		add("hr", vital, loinc(LoincHeartRate, "Heart rate"), ucum(float64(v.HeartRate), "/min"), nil)
	}
	if v.FPG > 0 {
		add("fpg", lab, loinc(LoincFastingGluc, "Fasting glucose [Moles/volume] in Serum or Plasma"), ucum(float64(v.FPG)/10, "mmol/L"), nil)
	}
	if v.WeightDg > 0 {
		add("wt", vital, loinc(LoincWeight, "Body weight"), ucum(float64(v.WeightDg)/10, "kg"), nil)
	}
	if v.HeightCm > 0 {
		add("ht", vital, loinc(LoincHeight, "Body height"), ucum(float64(v.HeightCm), "cm"), nil)
	}
	if v.Temperature > 0 {
		add("temp", vital, loinc(LoincTemperature, "Body temperature"), ucum(float64(v.Temperature)/10, "Cel"), nil)
	}
	return out
}

// patientParam reads the patient search parameter (Patient/{id} or {id}).
func patientParam(v string) (int64, bool) {
	n, err := strconv.ParseInt(strings.TrimPrefix(strings.TrimSpace(v), "Patient/"), 10, 64)
	return n, err == nil && n > 0
}

// conditionRead: GET /fhir/Condition/{id}, through chronic.Service.Detail
// (the registration's resident read under scope, audited).
func (s *Server) conditionRead(m *web.Mount) web.FaceHandler {
	return func(w http.ResponseWriter, r *http.Request, rq web.Request) error {
		id, err := pathID(r)
		if err != nil {
			return err
		}
		reg, _, _, err := s.Chronic.Detail(r.Context(), rq.Actor, id)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, ConditionOf(reg, func(k string) string { return m.T(rq.Lang, k) }))
		return nil
	}
}

// conditionSearch: GET /fhir/Condition?patient=… (required) — the
// patient's chronic disease registrations, through
// chronic.Service.ForResident (scope and audit as the record page), with
// date (the day enrolled), _lastUpdated, _count with next links,
// _summary=count and _include=Condition:patient; newest first.
func (s *Server) conditionSearch(m *web.Mount) web.FaceHandler {
	return func(w http.ResponseWriter, r *http.Request, rq web.Request) error {
		q := r.URL.Query()
		opts := searchOpts{def: MaxCount, paged: true, includes: []string{"Condition:patient", "Condition:subject"}, updated: true}
		p := parsePatientSearch(q, opts)
		p.fs = append(p.fs, s.unsupported(r, q, opts.params()...)...)
		if err := care.Invalid(p.fs); err != nil {
			return err
		}
		regs, err := s.Chronic.ForResident(r.Context(), rq.Actor, p.resident)
		if err != nil {
			return err
		}
		subject, err := s.includedSubject(r, m, rq, &p, len(regs) > 0)
		if err != nil {
			return err
		}
		ids, keys, out := p.page(conditionMatches(regs, func(k string) string { return m.T(rq.Lang, k) }), nil, "")
		writeJSON(w, http.StatusOK, s.searchset(r, &p, "Condition", ids, keys, out, subject))
		return nil
	}
}

// conditionMatches maps registrations to Conditions keyed by the day
// enrolled (date: recordedDate).
func conditionMatches(regs []chronic.Registration, t func(string) string) []match {
	out := make([]match, 0, len(regs))
	for i := range regs {
		c := ConditionOf(&regs[i], t)
		out = append(out, match{id: c.ID, key: key(regs[i].EnrolledOn.Time(), regs[i].ID), day: regs[i].EnrolledOn, res: c})
	}
	return out
}

// observationSearch: GET /fhir/Observation?patient=… (required) with
// code ([http://loinc.org|]code, comma-separated for any of several),
// date (YYYY-MM-DD with eq, ge, gt, le, lt; repeatable), _count
// (1–MaxCount, default MaxCount) with _cursor next links, _summary=count
// and _include=Observation:patient: the measurements of the patient's
// follow-up visits (each registration's last 100) for the chronic care
// teams, and the patient's lab results (the last 500) for every
// clinician (patientObservations), newest first.
func (s *Server) observationSearch(m *web.Mount) web.FaceHandler {
	return func(w http.ResponseWriter, r *http.Request, rq web.Request) error {
		q := r.URL.Query()
		opts := searchOpts{def: MaxCount, paged: true, includes: []string{"Observation:patient", "Observation:subject"}, updated: true}
		p := parsePatientSearch(q, opts)
		codes := p.codes(q, SystemLOINC)
		p.fs = append(p.fs, s.unsupported(r, q, opts.params("code")...)...)
		if err := care.Invalid(p.fs); err != nil {
			return err
		}
		found, _, res, err := s.patientObservations(r, rq, p.resident)
		if err != nil {
			return err
		}
		var subject *Patient
		if p.include {
			if res == nil {
				if res, err = s.Residents.Get(r.Context(), rq.Actor, p.resident); err != nil {
					return err
				}
			}
			subject = s.patientOf(r.Context(), m, rq, res)
		}
		found = slices.DeleteFunc(found, func(x match) bool { return !coded(x.res.(Observation).Code, codes) })
		ids, keys, out := p.page(found, nil, "")
		writeJSON(w, http.StatusOK, s.searchset(r, &p, "Observation", ids, keys, out, subject))
		return nil
	}
}

// patientObservations gathers a patient's Observations the reader may
// see: the follow-up measurements for the chronic care teams
// (chronic.Service.RecordOf, which gives the registrations too) and the
// lab results for every clinician (lab.Service.ForResident, which returns
// the resident too) — each one scoped, audited read. Matches are keyed by
// their effective time.
func (s *Server) patientObservations(r *http.Request, rq web.Request, rid int64) ([]match, []chronic.Registration, *resident.Resident, error) {
	var found []match
	var regs []chronic.Registration
	// Keys: the effective time (a visit's day at midnight, China time, or
	// the collection) and a number unique across both sources: the visit's
	// id times 8 plus the measurement's place, or the result's id times 8
	// plus 7.
	add := func(day care.Date, at time.Time, n int64, o Observation) {
		found = append(found, match{id: o.ID, key: key(at, n), day: day, status: o.Status, res: o})
	}
	if s.Chronic != nil && slices.Contains(chronicRoles, rq.Actor.Role) {
		var byReg map[int64][]chronic.StoredVisit
		var err error
		if regs, byReg, err = s.Chronic.RecordOf(r.Context(), rq.Actor, rid); err != nil {
			return nil, nil, nil, err
		}
		for _, reg := range regs {
			visits := byReg[reg.ID]
			for i := range visits {
				v := &visits[i]
				at := time.Date(v.Date.Year, v.Date.Month, v.Date.Day, 0, 0, 0, 0, care.Shanghai)
				for j, o := range ObservationsOf(v) {
					add(v.Date, at, v.ID*8+int64(j), o)
				}
			}
		}
	}
	var res *resident.Resident
	if s.Labs != nil && slices.Contains(access.Clinicians, rq.Actor.Role) {
		var rs []lab.Result
		var err error
		if res, rs, err = s.Labs.ForResident(r.Context(), rq.Actor, rid); err != nil {
			return nil, nil, nil, err
		}
		for i := range rs {
			add(care.Today(rs[i].CollectedAt), rs[i].CollectedAt, rs[i].ID*8+7, ObservationOfLab(&rs[i], rq.Lang))
		}
	}
	return found, regs, res, nil
}

// rangeDates is a date range from FHIR date parameters.
type rangeDates struct{ from, to care.Date }

func (d *rangeDates) apply(v string) error {
	prefix := "eq"
	if len(v) > 2 && v[0] >= 'a' && v[0] <= 'z' {
		prefix, v = v[:2], v[2:]
	}
	day, err := care.ParseDate(v)
	if err != nil {
		return err
	}
	switch prefix {
	case "eq":
		d.from, d.to = day, day
	case "ge":
		d.from = day
	case "gt":
		d.from = day.AddDays(1)
	case "le":
		d.to = day
	case "lt":
		d.to = day.AddDays(-1)
	default:
		return fmt.Errorf("fhir: date prefix %q", prefix)
	}
	return nil
}

// unsupported returns, under Prefer: handling=strict, an error for each
// parameter not in known; leniently (the FHIR default) none: they are
// ignored and left out of the self link.
func (s *Server) unsupported(r *http.Request, q url.Values, known ...string) []care.FieldError {
	if !strings.Contains(r.Header.Get("Prefer"), "handling=strict") {
		return nil
	}
	var fs []care.FieldError
	for p := range q {
		if !slices.Contains(known, p) {
			fs = append(fs, care.FieldError{Field: p, Key: "fhir.unsupported_param", Args: []any{p}})
		}
	}
	return fs
}
