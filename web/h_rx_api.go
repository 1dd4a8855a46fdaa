package web

import (
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"unicode/utf8"

	"countycare/audit"
	"countycare/care"
	"countycare/rx"
)

// The prescription review as a CDS Hooks service (https://cds-hooks.org,
// hook "order-sign"). The request carries the draft prescription in
// context.draftPrescription, our own wire shape (below), instead of FHIR
// MedicationRequests in context.draftOrders; the response is CDS Hooks
// cards. The review reads no record: it checks what it is sent.

const rxServiceID = "rx-review"

// ActRxReview is the audit action of one CDS review.
const ActRxReview = "rx.review"

type cdsService struct {
	Hook        string            `json:"hook"`
	ID          string            `json:"id"`
	Title       string            `json:"title"`
	Description string            `json:"description"`
	Prefetch    map[string]string `json:"prefetch"`
}

func (s *Server) cdsDiscovery(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	writeJSON(w, http.StatusOK, map[string]any{"services": []cdsService{{
		Hook: "order-sign", ID: rxServiceID, Prefetch: map[string]string{},
		Title:       s.msgs.T(rc.Lang, "rx.cds.title"),
		Description: s.msgs.T(rc.Lang, "rx.cds.description"),
	}}})
	return nil
}

// Wire types of the review request (version 1).
type cdsRequest struct {
	Hook         string `json:"hook"`
	HookInstance string `json:"hookInstance"`
	FHIRServer   string `json:"fhirServer,omitempty"`
	Context      struct {
		UserID            string           `json:"userId"`
		PatientID         string           `json:"patientId"`
		EncounterID       string           `json:"encounterId,omitempty"`
		DraftPrescription *apiPrescription `json:"draftPrescription"`
	} `json:"context"`
}

type apiPrescription struct {
	Issued           string     `json:"issued"`
	ValidDays        int        `json:"valid_days"`
	Kind             string     `json:"kind"`
	Reason           string     `json:"reason"`
	Stable           bool       `json:"stable"`
	Online           bool       `json:"online"`
	GuardianPresent  bool       `json:"guardian_present"`
	InstitutionLevel string     `json:"institution_level"`
	Diagnoses        []string   `json:"diagnoses"`
	Patient          apiPatient `json:"patient"`
	Lines            []apiLine  `json:"lines"`
}

type apiPatient struct {
	AgeMonths         int      `json:"age_months"`
	WeightKg          float64  `json:"weight_kg"`
	Pregnant          bool     `json:"pregnant"`
	Lactating         bool     `json:"lactating"`
	EGFR              int      `json:"egfr"`
	HepaticImpairment bool     `json:"hepatic_impairment"`
	Allergies         []string `json:"allergies"`
}

type apiLine struct {
	DrugCode       string  `json:"drug_code"`
	Dose           float64 `json:"dose"`
	DoseUnit       string  `json:"dose_unit"`
	Frequency      string  `json:"frequency"`
	Route          string  `json:"route"`
	Days           int     `json:"days"`
	Quantity       float64 `json:"quantity"`
	Diagnosis      string  `json:"diagnosis"`
	OverdoseSigned bool    `json:"overdose_signed"`
}

// prescription converts the wire shape to the domain type; a bad issue
// date is a field error like any other.
func (a *apiPrescription) prescription() (*rx.Prescription, []care.FieldError) {
	var fs []care.FieldError
	p := &rx.Prescription{ValidDays: a.ValidDays, Kind: rx.Kind(a.Kind), Reason: a.Reason, Stable: a.Stable, Online: a.Online,
		GuardianPresent: a.GuardianPresent, InstitutionLevel: a.InstitutionLevel, Diagnoses: a.Diagnoses,
		Patient: rx.Patient{AgeMonths: a.Patient.AgeMonths, WeightKg: a.Patient.WeightKg, Pregnant: a.Patient.Pregnant, Lactating: a.Patient.Lactating,
			EGFR: a.Patient.EGFR, HepaticImpairment: a.Patient.HepaticImpairment, Allergies: a.Patient.Allergies}}
	if d, err := care.ParseDate(a.Issued); err == nil {
		p.Issued = d
	} else {
		fs = append(fs, care.FieldError{Field: "issued", Key: "rx.issued"})
	}
	p.Lines = make([]rx.Line, len(a.Lines))
	for i, l := range a.Lines {
		p.Lines[i] = rx.Line{DrugCode: l.DrugCode, Dose: l.Dose, DoseUnit: l.DoseUnit, Frequency: l.Frequency, Route: l.Route,
			Days: l.Days, Quantity: l.Quantity, Diagnosis: l.Diagnosis, OverdoseSigned: l.OverdoseSigned}
	}
	return p, fs
}

type cdsCard struct {
	UUID      string       `json:"uuid"`
	Summary   string       `json:"summary"`
	Detail    string       `json:"detail,omitempty"`
	Indicator string       `json:"indicator"`
	Source    cdsSource    `json:"source"`
	Extension cdsCardExtra `json:"extension"`
}

type cdsSource struct {
	Label string `json:"label"`
}

type cdsCardExtra struct {
	Rule     string   `json:"rule"`
	Severity string   `json:"severity"`
	Line     int      `json:"line,omitempty"`
	Other    int      `json:"other_line,omitempty"`
	Value    *float64 `json:"value,omitempty"`
	Limit    *float64 `json:"limit,omitempty"`
}

// Outcome of a review on the wire: pass (takes effect), pharmacist (waits
// in the county pharmacists' queue), block (the prescriber must change it).
func wireOutcome(sev rx.Severity) string {
	switch sev {
	case rx.Block:
		return "block"
	case rx.Warn:
		return "pharmacist"
	}
	return "pass"
}

func indicator(sev rx.Severity) string {
	switch sev {
	case rx.Block:
		return "critical"
	case rx.Warn:
		return "warning"
	}
	return "info"
}

func (s *Server) cdsRxReview(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	if s.Rx == nil {
		return care.Internal("web.cdsRxReview", errors.New("no review engine configured"))
	}
	var req cdsRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	var fs []care.FieldError
	if req.Hook != "order-sign" {
		fs = append(fs, care.FieldError{Field: "hook", Key: "rx.cds.hook", Args: []any{req.Hook}})
	}
	if req.Context.DraftPrescription == nil {
		fs = append(fs, care.FieldError{Field: "context.draftPrescription", Key: "rx.cds.no_prescription"})
		return care.Invalid(fs)
	}
	p, pfs := req.Context.DraftPrescription.prescription()
	fs = append(fs, pfs...)
	if err := s.Rx.KB.Validate(p); err != nil {
		var ce *care.Error
		if !errors.As(err, &ce) {
			return err
		}
		fs = append(fs, ce.Fields...)
	}
	ev := audit.New(r.Context(), rc.Actor, ActRxReview, 0)
	if len(fs) > 0 {
		for i := range fs {
			fs[i].Field = "context.draftPrescription." + fs[i].Field
		}
		ev.Outcome = audit.OutcomeInvalid
		ev.Detail = fmt.Sprintf("hookInstance=%.40s invalid=%d", req.HookInstance, len(fs))
		s.Audit.Record(r.Context(), ev)
		return care.Invalid(fs)
	}
	findings := s.Rx.Review(p, care.Today(s.Now()), nil)
	outcome := wireOutcome(rx.Outcome(findings))
	cards := make([]cdsCard, 0, len(findings))
	for i, f := range findings {
		cards = append(cards, s.card(rc.Lang, req.HookInstance, i, p, &f))
	}
	ev.Detail = fmt.Sprintf("hookInstance=%.40s lines=%d outcome=%s findings=%d", req.HookInstance, len(p.Lines), outcome, len(findings))
	s.Audit.Record(r.Context(), ev)
	writeJSON(w, http.StatusOK, map[string]any{"cards": cards, "extension": map[string]any{"outcome": outcome, "findings": len(findings)}})
	return nil
}

func (s *Server) card(lang, hook string, i int, p *rx.Prescription, f *rx.Finding) cdsCard {
	msg := f.ZH
	if lang == "en" {
		msg = f.EN
	}
	// A stored prescription may name a drug a later knowledge base dropped:
	// show its code.
	name := func(n int) string {
		if n > len(p.Lines) {
			return ""
		}
		d := s.Rx.KB.Drug(p.Lines[n-1].DrugCode)
		switch {
		case d == nil:
			return p.Lines[n-1].DrugCode
		case lang == "en":
			return d.NameEN
		}
		return d.NameZH
	}
	var summary string
	switch {
	case f.Other > 0:
		summary = s.msgs.T(lang, "rx.card.pair", f.Line, name(f.Line), f.Other, name(f.Other), msg)
	case f.Line > 0:
		summary = s.msgs.T(lang, "rx.card.line", f.Line, name(f.Line), msg)
	default:
		summary = msg
	}
	c := cdsCard{UUID: hook + "-" + strconv.Itoa(i+1), Summary: clip(summary, 140), Indicator: indicator(f.Severity),
		Source: cdsSource{Label: f.Source}, Extension: cdsCardExtra{Rule: f.Rule, Severity: f.Severity.String(), Line: f.Line, Other: f.Other}}
	if utf8.RuneCountInString(summary) > 140 {
		c.Detail = summary
	}
	if f.Limit != 0 || f.Value != 0 {
		v, l := f.Value, f.Limit
		c.Extension.Value, c.Extension.Limit = &v, &l
		c.Detail = s.msgs.T(lang, "rx.card.value", summary, trimFloat(v), trimFloat(l))
	}
	return c
}

func trimFloat(v float64) string { return strconv.FormatFloat(math.Round(v*10)/10, 'f', -1, 64) }

// clip cuts s to at most n characters (CDS Hooks: summary < 140).
func clip(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}
