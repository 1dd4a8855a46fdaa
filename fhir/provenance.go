package fhir

import (
	"net/http"
	"slices"
	"strings"

	"countycare/care"
	"countycare/resident"
	"countycare/rx"
	"countycare/web"
)

// Provenance records who signed a record and when (电子签名): a signed
// diagnosis-center report ("report-<study>") or a signed prescription
// ("rx-<prescription>").
type Provenance struct {
	ResourceType string            `json:"resourceType"`
	ID           string            `json:"id"`
	Target       []Reference       `json:"target"`
	Recorded     string            `json:"recorded"`
	Activity     *CodeableConcept  `json:"activity,omitempty"`
	Agent        []ProvenanceAgent `json:"agent"`
	Signature    []Signature       `json:"signature,omitempty"`
}

// ProvenanceAgent is who took part: the signer.
type ProvenanceAgent struct {
	Type       *CodeableConcept `json:"type,omitempty"`
	Who        Reference        `json:"who"`
	OnBehalfOf *Reference       `json:"onBehalfOf,omitempty"`
}

// Signature is the electronic signature of a target: its kind, when and
// who. The platform's signatures are its signing records (the signer's
// session, the time, the report's seal in the DiagnosticReport's
// identifier), not cryptographic signatures, so no signature data is
// given.
type Signature struct {
	Type []Coding  `json:"type"`
	When string    `json:"when"`
	Who  Reference `json:"who"`
}

// authorSignature is ASTM E1762-95 "Author's Signature".
var authorSignature = Coding{System: "urn:iso-astm:E1762-95:2013", Code: "1.2.840.10065.1.12.1.1", Display: "Author's Signature"}

// provenance is what both kinds share: the targets, the signer as author
// (and verifier, for a report) with the signature, the activity
// (v3-DataOperation).
func provenance(id string, targets []Reference, when string, who Reference, org *Reference, activity string) Provenance {
	p := Provenance{ResourceType: "Provenance", ID: id, Target: targets, Recorded: when,
		Activity: &CodeableConcept{Coding: []Coding{{System: "http://terminology.hl7.org/CodeSystem/v3-DataOperation", Code: activity}}},
		Agent: []ProvenanceAgent{{Type: &CodeableConcept{Coding: []Coding{{System: "http://terminology.hl7.org/CodeSystem/provenance-participant-type", Code: "author"}}},
			Who: who, OnBehalfOf: org}},
		Signature: []Signature{{Type: []Coding{authorSignature}, When: when, Who: who}}}
	return p
}

// ProvenanceOfReport is the signature of a signed diagnosis-center report
// (not a lab report: lab results are filed, not signed): the reader who
// signed (by name) for the diagnosis center, when.
func ProvenanceOfReport(d DiagnosticReport) (Provenance, bool) {
	if strings.HasPrefix(d.ID, "lab-") || d.Issued == "" || len(d.ResultsInterpreter) == 0 {
		return Provenance{}, false
	}
	var org *Reference
	if len(d.Performer) > 0 {
		org = &d.Performer[0]
	}
	return provenance("report-"+d.ID, []Reference{{Reference: "DiagnosticReport/" + d.ID}}, d.Issued, d.ResultsInterpreter[0], org, "CREATE"), true
}

// ProvenanceOfPrescription is the signature of a signed prescription:
// its MedicationRequests (one per drug), the prescriber (or the
// institution, where the prescriber is not recorded), when signed.
func ProvenanceOfPrescription(mrs []MedicationRequest) (Provenance, bool) {
	if len(mrs) == 0 || mrs[0].Requester == nil || mrs[0].AuthoredOn == "" || mrs[0].GroupIdentifier == nil {
		return Provenance{}, false
	}
	var targets []Reference
	for _, mr := range mrs {
		targets = append(targets, Reference{Reference: "MedicationRequest/" + mr.ID})
	}
	return provenance("rx-"+mrs[0].GroupIdentifier.Value, targets, mrs[0].AuthoredOn, *mrs[0].Requester, nil, "CREATE"), true
}

// provenanceMatches derives the Provenances of mapped reports and
// prescription lines (matches of DiagnosticReport and MedicationRequest),
// with their keys.
func provenanceMatches(reports, requests []match) []match {
	var out []match
	for _, x := range reports {
		if p, ok := ProvenanceOfReport(x.res.(DiagnosticReport)); ok {
			out = append(out, match{id: p.ID, key: x.key, day: x.day, res: p})
		}
	}
	var group []MedicationRequest
	var first match
	flush := func() {
		if p, ok := ProvenanceOfPrescription(group); ok {
			out = append(out, match{id: p.ID, key: first.key, day: first.day, res: p})
		}
		group = nil
	}
	for _, x := range requests {
		mr := x.res.(MedicationRequest)
		if len(group) > 0 && group[0].GroupIdentifier.Value != mr.GroupIdentifier.Value {
			flush()
		}
		if len(group) == 0 {
			first = x
		}
		group = append(group, mr)
	}
	flush()
	return out
}

// provenanceByID reads the one record a Provenance id names, through its
// own read (reportByID: the study page's rules, audited; rx.Service.Get:
// prescribers and pharmacists, audited), and its Provenance.
func (s *Server) provenanceByID(r *http.Request, m *web.Mount, rq web.Request, id string) (match, int64, error) {
	notFound := care.Errorf(care.ENOTFOUND, "error.not_found")
	if v, ok := strings.CutPrefix(id, "report-"); ok && s.Readings != nil {
		x, rid, err := s.reportByID(r, m, rq, v)
		if err != nil {
			return match{}, 0, err
		}
		if ps := provenanceMatches([]match{x}, nil); len(ps) == 1 {
			return ps[0], rid, nil
		}
		return match{}, 0, notFound
	}
	if v, ok := strings.CutPrefix(id, "rx-"); ok && s.Prescriptions != nil && slices.Contains(rxReaders, rq.Actor.Role) {
		sg, err := s.prescriptionOf(r, rq, v+"-1")
		if err != nil {
			return match{}, 0, err
		}
		if ps := provenanceMatches(nil, s.medicationMatches([]rx.Signed{*sg}, rq.Lang, false)); len(ps) == 1 {
			return ps[0], sg.ResidentID, nil
		}
	}
	return match{}, 0, notFound
}

// provenanceRead: GET /fhir/Provenance/{id}.
func (s *Server) provenanceRead(m *web.Mount) web.FaceHandler {
	return func(w http.ResponseWriter, r *http.Request, rq web.Request) error {
		x, _, err := s.provenanceByID(r, m, rq, r.PathValue("id"))
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, x.res)
		return nil
	}
}

// provenanceSearch: GET /fhir/Provenance?patient=… (or _id, or target=
// DiagnosticReport/{id} or MedicationRequest/{prescription}-{line}) with
// date (the study's or the prescription's day), _count with next links,
// _summary=count and _include=Provenance:patient: the signatures of the
// patient's signed reports and prescriptions the reader may see (as
// their own searches: recordsOf), newest first.
func (s *Server) provenanceSearch(m *web.Mount) web.FaceHandler {
	return func(w http.ResponseWriter, r *http.Request, rq web.Request) error {
		p, byID, _ := s.pagedParams(r, "Provenance", nil, "Provenance:patient")
		if v := r.URL.Query().Get("target"); v != "" && byID == "" {
			typ, id, _ := strings.Cut(v, "/")
			switch typ {
			case "DiagnosticReport":
				byID = "report-" + id
			case "MedicationRequest":
				if rxID, _, ok := strings.Cut(id, "-"); ok {
					byID = "rx-" + rxID
				}
			}
			if byID == "" {
				p.fs = append(p.fs, care.FieldError{Field: "target", Key: "fhir.reference"})
			}
			p.used.Set("target", v)
			p.fs = slices.DeleteFunc(p.fs, func(f care.FieldError) bool { return f.Field == "patient" })
		}
		if err := care.Invalid(p.fs); err != nil {
			return err
		}
		found, subject, err := s.patientOrID(r, m, rq, &p, byID, func(res *resident.Resident) ([]match, error) {
			typed, err := s.recordsOf(r, m, rq, res, map[string]bool{"DiagnosticReport": true, "MedicationRequest": true})
			return provenanceMatches(typed["DiagnosticReport"], typed["MedicationRequest"]), err
		}, func(id string) (match, int64, error) { return s.provenanceByID(r, m, rq, id) })
		if err != nil {
			return err
		}
		ids, keys, out := p.page(found, nil, byID)
		writeJSON(w, http.StatusOK, s.searchset(r, &p, "Provenance", ids, keys, out, subject))
		return nil
	}
}
