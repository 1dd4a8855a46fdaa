package fhir

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"countycare/care"
	"countycare/referral"
	"countycare/web"
)

// SystemReferralReason: why a patient is referred up (referral.Reason:
// the national criteria, e.g. htn_not_at_target, em_suspected_acs).
const SystemReferralReason = "http://countycare.cn/fhir/CodeSystem/referral-reason"

// referralFields maps the referral service's field names to the
// ServiceRequest's elements, for the OperationOutcome's expression.
var referralFields = map[string]string{
	"resident_id": "ServiceRequest.subject", "reasons": "ServiceRequest.reasonCode", "summary": "ServiceRequest.note",
	"urgency": "ServiceRequest.priority", "to_institution": "ServiceRequest.performer", "to_department": "ServiceRequest.performer",
	"requested_at": "ServiceRequest.occurrenceDateTime", "idempotency_key": "ServiceRequest.identifier",
}

// referralDraft reads a ServiceRequest for an up-referral: status active,
// intent order, category SNOMED CT 3457005 Patient referral, subject the
// patient, one performer (the receiving Organization), priority routine or
// stat (emergency), the reasons as reasonCode codings of
// SystemReferralReason, the clinical summary as note, occurrenceDateTime
// the appointment asked for, identifier the client's key (a retry with the
// same key and body gives the first referral; none: a fresh key). Each
// fault names its element.
func referralDraft(body []byte) (referral.Draft, []fault) {
	var d referral.Draft
	var raw object
	if err := json.Unmarshal(body, &raw); err != nil || raw == nil {
		return d, []fault{bad("ServiceRequest", "fhir.json", jsonDetail(err))}
	}
	var typ, status, intent, priority, occurrence string
	var category, reasons []CodeableConcept
	var subject Reference
	var performer []Reference
	var note []Annotation
	var ids []Identifier
	json.Unmarshal(raw["resourceType"], &typ)
	if typ != "ServiceRequest" {
		if typ == "" {
			return d, []fault{bad("resourceType", "fhir.resource_type_missing")}
		}
		return d, []fault{bad("resourceType", "fhir.resource_type_wrong", typ, "ServiceRequest")}
	}
	fs := raw.decode("ServiceRequest", map[string]any{"status": &status, "intent": &intent, "priority": &priority, "category": &category,
		"subject": &subject, "performer": &performer, "reasonCode": &reasons, "note": &note, "occurrenceDateTime": &occurrence, "identifier": &ids})
	if len(fs) > 0 {
		return d, fs
	}
	d.ResidentID, d.ToInst, fs = orderBasics(status, intent, subject, performer, "fhir.sr_performer")
	if !coded(firstOr(category), []Coding{{System: SystemSNOMED, Code: snomedReferral}}) || len(category) != 1 {
		fs = append(fs, bad("ServiceRequest.category", "fhir.sr_category"))
	}
	switch priority {
	case "", "routine":
		d.Urgency = referral.Routine
	case "stat":
		d.Urgency = referral.Emergency
	default:
		fs = append(fs, bad("ServiceRequest.priority", "fhir.sr_priority", priority))
	}
	for _, rc := range reasons {
		for _, c := range rc.Coding {
			if c.System != SystemReferralReason {
				fs = append(fs, bad("ServiceRequest.reasonCode", "fhir.code_system", c.System))
				continue
			}
			d.Reasons = append(d.Reasons, referral.Reason(c.Code))
		}
	}
	d.Summary = noteText(note)
	if occurrence != "" {
		at, err := time.Parse(time.RFC3339, occurrence)
		if err != nil {
			fs = append(fs, bad("ServiceRequest.occurrenceDateTime", "fhir.sr_occurrence", occurrence))
		}
		d.RequestedAt = at
	}
	d.IdempotencyKey = clientKey(ids)
	return d, fs
}

// orderBasics checks what every ServiceRequest create shares: status
// active, intent order, the subject a Patient and one performing
// Organization (its fault under performerKey). It returns the resident
// and the institution named.
func orderBasics(status, intent string, subject Reference, performer []Reference, performerKey string) (rid, inst int64, fs []fault) {
	if status != "active" {
		fs = append(fs, bad("ServiceRequest.status", "fhir.sr_status", status))
	}
	if intent != "order" {
		fs = append(fs, bad("ServiceRequest.intent", "fhir.sr_intent", intent))
	}
	rid, ok := patientParam(subject.Reference)
	if !ok || !strings.HasPrefix(subject.Reference, "Patient/") {
		fs = append(fs, bad("ServiceRequest.subject", "fhir.reference_required"))
	}
	if len(performer) == 1 && strings.HasPrefix(performer[0].Reference, "Organization/") {
		inst = numericID(strings.TrimPrefix(performer[0].Reference, "Organization/"))
	}
	if inst == 0 {
		fs = append(fs, bad("ServiceRequest.performer", performerKey))
	}
	return rid, inst, fs
}

// noteText joins the notes' texts: the clinical summary.
func noteText(note []Annotation) string {
	var texts []string
	for _, n := range note {
		texts = append(texts, strings.TrimSpace(n.Text))
	}
	return strings.Join(texts, "\n")
}

// clientKey is the client's idempotency key (identifier[0].value), or a
// fresh one: each create without an identifier is new.
func clientKey(ids []Identifier) string {
	if len(ids) > 0 {
		return ids[0].Value
	}
	var b [16]byte
	rand.Read(b[:])
	return "fhir-" + hex.EncodeToString(b[:])
}

func firstOr(cs []CodeableConcept) CodeableConcept {
	if len(cs) == 0 {
		return CodeableConcept{}
	}
	return cs[0]
}

// serviceRequestCreate: POST /fhir/ServiceRequest — by its category a
// consultation request (consultCreate) or an up-referral sent
// through referral.Service.Create, the referral page's write path (its
// rules, the sender's scope, the care link to the receiving institution,
// the audit row, all in one transaction): 201 with the ServiceRequest as
// held (read back through referral.Service.Get); a fault is 422 naming
// each element, and nothing is written.
func (s *Server) serviceRequestCreate(m *web.Mount) web.FaceHandler {
	return func(w http.ResponseWriter, r *http.Request, rq web.Request) error {
		body, err := readBody(r, MaxResourceBytes)
		if err != nil {
			return err
		}
		if r.Header.Get("If-None-Exist") != "" {
			return care.Invalid([]care.FieldError{bad("If-None-Exist", "fhir.if_none_exist")})
		}
		cat := srCategory(body)
		switch {
		case cat == snomedConsultation && s.Consult != nil:
			return s.consultCreate(w, r, rq, m, body)
		case cat == snomedReferral && s.Referral == nil, cat == snomedConsultation:
			return care.Invalid([]care.FieldError{bad("ServiceRequest.category", "fhir.sr_category")})
		}
		d, fs := referralDraft(body)
		if err := care.Invalid(fs); err != nil {
			return err
		}
		ref, err := s.Referral.Create(r.Context(), rq.Actor, d)
		if err != nil {
			return fieldsAs(err, referralFields)
		}
		det, err := s.Referral.Get(r.Context(), rq.Actor, ref.ID)
		if err != nil {
			return err
		}
		sr := ServiceRequestOfReferral(det.Referral, s.translator(m, rq))
		w.Header().Set("Location", s.base(r)+"/ServiceRequest/"+sr.ID+"/_history/"+strconv.Itoa(det.Referral.Version))
		w.Header().Set("ETag", `W/"`+strconv.Itoa(det.Referral.Version)+`"`)
		writeJSON(w, http.StatusCreated, sr)
		return nil
	}
}
