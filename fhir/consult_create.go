package fhir

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"countycare/care"
	"countycare/consult"
	"countycare/web"
)

// SNOMED CT categories of a ServiceRequest: which write path a create takes.
const (
	snomedReferral     = "3457005"  // Patient referral: referral.Service.Create
	snomedConsultation = "11429006" // Consultation: consult.Service.Request
)

// consultFields maps the consultation service's field names to the
// ServiceRequest's elements, for the OperationOutcome's expression.
var consultFields = map[string]string{
	"resident_id": "ServiceRequest.subject", "kind": "ServiceRequest.code", "urgency": "ServiceRequest.priority",
	"reason": "ServiceRequest.reasonCode", "purpose": "ServiceRequest.orderDetail", "summary": "ServiceRequest.note",
	"specialty": "ServiceRequest.performerType", "to_institution": "ServiceRequest.performer", "departments": "ServiceRequest.performer",
	"rehab_sessions": "ServiceRequest.quantityQuantity", "key": "ServiceRequest.identifier",
	"consent_by": "ServiceRequest.contained.Consent.performer", "consent_name": "ServiceRequest.contained.Consent.performer",
	"consent_method": "ServiceRequest.contained.Consent.category", "consent_at": "ServiceRequest.contained.Consent.dateTime",
}

// srCategory reads a ServiceRequest body's category code (SNOMED CT), ""
// when it is not one category of SNOMED CT: the create's dispatch.
func srCategory(body []byte) string {
	var sr struct {
		Category []CodeableConcept `json:"category"`
	}
	if json.Unmarshal(body, &sr) != nil || len(sr.Category) != 1 {
		return ""
	}
	for _, c := range sr.Category[0].Coding {
		if c.System == SystemSNOMED && (c.Code == snomedReferral || c.Code == snomedConsultation) {
			return c.Code
		}
	}
	return ""
}

// consultDraft reads a ServiceRequest for a remote consultation (会诊申请),
// the consultation page's fields element by element:
//
//	status active, intent order, category SNOMED CT 11429006
//	code             the kind (SystemConsultKind: one_to_one, rehab or mdt)
//	priority         routine, urgent or stat (emergency)
//	subject          the patient
//	performer        one hub (Organization: the county hospital or a partner);
//	                 for an mdt, "#<id>" of a contained CareTeam managed by
//	                 the hub, the invited departments its participants
//	                 (mdtPerformer)
//	performerType    the specialty (SystemSpecialty)
//	reasonCode.text  the reason; orderDetail.text the purpose; note the summary
//	quantityQuantity rehab: the number of sessions
//	identifier       the client's key (a retry gives the first case)
//	supportingInfo   "#<id>" of a contained Consent: dateTime (when signed),
//	                 performer (the patient, or the guardian by display
//	                 name) and a category coding of SystemConsentMethod
//	                 (written, electronic) — no consent, no consultation.
//
// Each fault names its element.
func consultDraft(body []byte) (consult.Draft, []fault) {
	var d consult.Draft
	var raw object
	if err := json.Unmarshal(body, &raw); err != nil || raw == nil {
		return d, []fault{bad("ServiceRequest", "fhir.json", jsonDetail(err))}
	}
	var status, intent, priority string
	var code, perfType *CodeableConcept
	var subject Reference
	var performer, support []Reference
	var reasons, details []CodeableConcept
	var note []Annotation
	var ids []Identifier
	var qty *struct {
		Value *float64 `json:"value"`
	}
	var contained []json.RawMessage
	fs := raw.decode("ServiceRequest", map[string]any{"status": &status, "intent": &intent, "priority": &priority, "code": &code,
		"subject": &subject, "performer": &performer, "performerType": &perfType, "reasonCode": &reasons, "orderDetail": &details,
		"note": &note, "identifier": &ids, "quantityQuantity": &qty, "supportingInfo": &support, "contained": &contained})
	if len(fs) > 0 {
		return d, fs
	}
	mdt := code != nil && coded(*code, []Coding{{System: SystemConsultKind, Code: string(consult.MDT)}})
	if mdt { // the hub is the team's manager, the departments its participants
		var mfs []fault
		performer, d.Departments, mfs = mdtPerformer(performer, contained)
		fs = append(fs, mfs...)
	}
	var bfs []fault
	d.ResidentID, d.ToInstitution, bfs = orderBasics(status, intent, subject, performer, "fhir.sr_consult_performer")
	if !mdt || len(fs) == 0 {
		fs = append(fs, bfs...)
	}
	switch {
	case code == nil || !coded(*code, []Coding{{System: SystemConsultKind, Code: string(consult.OneToOne)}, {System: SystemConsultKind, Code: string(consult.Rehab)},
		{System: SystemConsultKind, Code: string(consult.MDT)}}):
		fs = append(fs, bad("ServiceRequest.code", "fhir.sr_consult_kind", SystemConsultKind))
	default:
		for _, c := range code.Coding {
			if c.System == SystemConsultKind {
				d.Kind = consult.Kind(c.Code)
			}
		}
	}
	switch priority {
	case "", "routine":
		d.Urgency = consult.Routine
	case "urgent":
		d.Urgency = consult.Urgent
	case "stat":
		d.Urgency = consult.Emergency
	default:
		fs = append(fs, bad("ServiceRequest.priority", "fhir.sr_consult_priority", priority))
	}
	if perfType != nil {
		for _, c := range perfType.Coding {
			if c.System == SystemSpecialty {
				d.Specialty = c.Code
			}
		}
	}
	d.Reason = texts(reasons)
	d.Purpose = texts(details)
	d.Summary = noteText(note)
	if qty != nil && qty.Value != nil {
		if *qty.Value != float64(int(*qty.Value)) {
			fs = append(fs, bad("ServiceRequest.quantityQuantity", "consult.rehab.sessions"))
		}
		d.RehabSessions = int(*qty.Value)
	}
	d.Key = clientKey(ids)
	cf := consentOf(&d, subject.Reference, support, contained)
	return d, append(fs, cf...)
}

// mdtPerformer reads a multidisciplinary consultation's performer, as
// ServiceRequestOfConsult writes it: one reference "#<id>" to a contained
// CareTeam whose managingOrganization is the hub (returned as the
// performer orderBasics reads) and whose participants are the invited
// departments, each member a logical reference (SystemDepartment, the
// department's ID). consult.Service.Request then checks that each is the
// hub's or an upward partner hospital's.
func mdtPerformer(performer []Reference, contained []json.RawMessage) (hub []Reference, depts []int64, fs []fault) {
	const path = "ServiceRequest.performer"
	if len(performer) != 1 || !strings.HasPrefix(performer[0].Reference, "#") {
		return nil, nil, []fault{bad(path, "fhir.sr_consult_mdt", SystemDepartment)}
	}
	id := strings.TrimPrefix(performer[0].Reference, "#")
	for _, c := range contained {
		var ct struct {
			ResourceType         string      `json:"resourceType"`
			ID                   string      `json:"id"`
			ManagingOrganization []Reference `json:"managingOrganization"`
			Participant          []struct {
				Member *Reference `json:"member"`
			} `json:"participant"`
		}
		if json.Unmarshal(c, &ct) != nil || ct.ResourceType != "CareTeam" || ct.ID != id {
			continue
		}
		for i, p := range ct.Participant {
			var n int64
			if p.Member != nil && p.Member.Identifier != nil && p.Member.Identifier.System == SystemDepartment {
				n = numericID(p.Member.Identifier.Value)
			}
			if n == 0 {
				fs = append(fs, bad("ServiceRequest.contained.CareTeam.participant["+strconv.Itoa(i)+"].member", "fhir.sr_consult_mdt", SystemDepartment))
				continue
			}
			depts = append(depts, n)
		}
		if len(ct.Participant) == 0 {
			fs = append(fs, bad("ServiceRequest.contained.CareTeam.participant", "fhir.sr_consult_mdt", SystemDepartment))
		}
		if len(ct.ManagingOrganization) != 1 {
			fs = append(fs, bad("ServiceRequest.contained.CareTeam.managingOrganization", "fhir.sr_consult_performer"))
		}
		return ct.ManagingOrganization, depts, fs
	}
	return nil, nil, []fault{bad(path, "fhir.sr_consult_mdt", SystemDepartment)}
}

// texts joins the texts of concepts (a concept's text, else its first display).
func texts(cs []CodeableConcept) string {
	var out []string
	for _, c := range cs {
		switch {
		case strings.TrimSpace(c.Text) != "":
			out = append(out, strings.TrimSpace(c.Text))
		case len(c.Coding) > 0 && c.Coding[0].Display != "":
			out = append(out, c.Coding[0].Display)
		}
	}
	return strings.Join(out, "；")
}

// consentOf reads the consultation's consent from the contained Consent
// supportingInfo names into d.Consent; a fault when there is none (the
// consultation service then also refuses a consent never given).
func consentOf(d *consult.Draft, subject string, support []Reference, contained []json.RawMessage) []fault {
	const path = "ServiceRequest.supportingInfo"
	var ref string
	for _, s := range support {
		if strings.HasPrefix(s.Reference, "#") {
			ref = strings.TrimPrefix(s.Reference, "#")
		}
	}
	if ref == "" {
		return []fault{bad(path, "fhir.sr_consent")}
	}
	for _, c := range contained {
		var cs struct {
			ResourceType string            `json:"resourceType"`
			ID           string            `json:"id"`
			DateTime     string            `json:"dateTime"`
			Performer    []Reference       `json:"performer"`
			Category     []CodeableConcept `json:"category"`
		}
		if json.Unmarshal(c, &cs) != nil || cs.ResourceType != "Consent" || cs.ID != ref {
			continue
		}
		var fs []fault
		if at, err := time.Parse(time.RFC3339, cs.DateTime); err != nil {
			fs = append(fs, bad("ServiceRequest.contained.Consent.dateTime", "consult.consent.time"))
		} else {
			d.Consent.At = at
		}
		switch {
		case len(cs.Performer) != 1:
			fs = append(fs, bad("ServiceRequest.contained.Consent.performer", "consult.consent.required"))
		case cs.Performer[0].Reference != "" && cs.Performer[0].Reference == subject:
			d.Consent.By = consult.ConsentPatient
		case cs.Performer[0].Reference == "":
			d.Consent.By, d.Consent.Name = consult.ConsentGuardian, cs.Performer[0].Display
		default:
			fs = append(fs, bad("ServiceRequest.contained.Consent.performer", "consult.consent.required"))
		}
		for _, cat := range cs.Category {
			for _, x := range cat.Coding {
				if x.System == SystemConsentMethod {
					d.Consent.Method = x.Code
				}
			}
		}
		return fs
	}
	return []fault{bad(path, "fhir.sr_consent")}
}

// fieldsAs renames a service error's fields to the resource's elements.
func fieldsAs(err error, names map[string]string) error {
	var ce *care.Error
	if !errors.As(err, &ce) || len(ce.Fields) == 0 {
		return err
	}
	out := *ce
	out.Fields = nil
	for _, f := range ce.Fields {
		if p, ok := names[f.Field]; ok {
			f.Field = p
		}
		out.Fields = append(out.Fields, f)
	}
	return &out
}

// consultCreate is POST /fhir/ServiceRequest for a consultation: the
// request through consult.Service.Request, the consultation page's write
// path (its rules, routing to the doctor on duty, the response clock,
// the hub's care link, the alert, the live event and the audit row, in
// one transaction): 201 with the ServiceRequest as held (read back
// through consult.Service.Detail); a fault is 422 naming each element,
// and nothing is written.
func (s *Server) consultCreate(w http.ResponseWriter, r *http.Request, rq web.Request, m *web.Mount, body []byte) error {
	d, fs := consultDraft(body)
	if err := care.Invalid(fs); err != nil {
		return err
	}
	c, err := s.Consult.Request(r.Context(), rq.Actor, d)
	if err != nil {
		return fieldsAs(err, consultFields)
	}
	c, _, _, err = s.Consult.Detail(r.Context(), rq.Actor, c.ID)
	if err != nil {
		return err
	}
	depts, err := s.mdtDepartments(r.Context(), []consult.Consultation{*c})
	if err != nil {
		return err
	}
	sr := ServiceRequestOfConsult(c, depts, s.translator(m, rq))
	w.Header().Set("Location", s.base(r)+"/ServiceRequest/"+sr.ID+"/_history/"+strconv.Itoa(c.Version))
	w.Header().Set("ETag", `W/"`+strconv.Itoa(c.Version)+`"`)
	writeJSON(w, http.StatusCreated, sr)
	return nil
}
