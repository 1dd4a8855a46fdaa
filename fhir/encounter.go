package fhir

import (
	"context"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"countycare/care"
	"countycare/chronic"
	"countycare/consult"
	"countycare/online"
	"countycare/org"
	"countycare/referral"
	"countycare/web"
)

// Code systems of encounters and service requests.
const (
	// systemV3ActCode is HL7 v3 ActCode: the encounter classes AMB
	// (ambulatory), IMP (inpatient encounter), VR (virtual).
	systemV3ActCode = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
	// SystemSNOMED is SNOMED CT (ServiceRequest.category).
	SystemSNOMED = "http://snomed.info/sct"
	// SystemConsultKind: the consultation kinds of consult.Kind
	// (one_to_one, mdt, rehab).
	SystemConsultKind = "http://countycare.cn/fhir/CodeSystem/consultation-kind"
	// SystemReferralDirection: up (上转) and down (下转) referrals.
	SystemReferralDirection = "http://countycare.cn/fhir/CodeSystem/referral-direction"
)

// Prefixes of the ids of resources mapped from several sources.
const (
	prefixConsult  = "consult-"
	prefixReferral = "referral-"
	prefixOnline   = "online-"
	// prefixFollowUp is the id prefix of a chronic disease follow-up
	// visit's Encounter (its Observations' encounter).
	prefixFollowUp = "visit-"
)

// Period is a time interval.
type Period struct {
	Start string `json:"start,omitempty"`
	End   string `json:"end,omitempty"`
}

// Annotation is a note.
type Annotation struct {
	Text string `json:"text"`
}

// ServiceRequest is a referral (转诊单) or a consultation request (会诊申请).
type ServiceRequest struct {
	ResourceType string            `json:"resourceType"`
	ID           string            `json:"id"`
	Meta         *Meta             `json:"meta,omitempty"`
	Contained    []CareTeam        `json:"contained,omitempty"` // a multidisciplinary consultation's team (ServiceRequestOfConsult)
	Replaces     []Reference       `json:"replaces,omitempty"`
	Status       string            `json:"status"`
	Intent       string            `json:"intent"`
	Category     []CodeableConcept `json:"category,omitempty"`
	Priority     string            `json:"priority,omitempty"`
	Code         *CodeableConcept  `json:"code,omitempty"`
	OrderDetail  []CodeableConcept `json:"orderDetail,omitempty"`
	Quantity     *Quantity         `json:"quantityQuantity,omitempty"`
	Subject      Reference         `json:"subject"`
	AuthoredOn   string            `json:"authoredOn,omitempty"`
	Requester    *Reference        `json:"requester,omitempty"`
	// PerformerType: a consultation's specialty (SystemSpecialty).
	PerformerType *CodeableConcept  `json:"performerType,omitempty"`
	Performer     []Reference       `json:"performer,omitempty"`
	ReasonCode    []CodeableConcept `json:"reasonCode,omitempty"`
	Note          []Annotation      `json:"note,omitempty"`
}

// Encounter is a remote consultation (远程会诊) or the stay an up-referral
// led to (an outpatient visit, or an admission when a bed was given).
type Encounter struct {
	ResourceType    string                 `json:"resourceType"`
	ID              string                 `json:"id"`
	Meta            *Meta                  `json:"meta,omitempty"`
	Status          string                 `json:"status"`
	Class           Coding                 `json:"class"`
	Type            []CodeableConcept      `json:"type,omitempty"`
	Subject         Reference              `json:"subject"`
	BasedOn         []Reference            `json:"basedOn,omitempty"`
	Period          *Period                `json:"period,omitempty"`
	ReasonCode      []CodeableConcept      `json:"reasonCode,omitempty"`
	Participant     []EncounterParticipant `json:"participant,omitempty"`
	ServiceProvider *Reference             `json:"serviceProvider,omitempty"`
}

func orgRef(id int64) *Reference {
	if id == 0 {
		return nil
	}
	return &Reference{Reference: "Organization/" + strconv.FormatInt(id, 10)}
}

func patientRef(id int64) Reference {
	return Reference{Reference: "Patient/" + strconv.FormatInt(id, 10)}
}

// consultRequestStatus maps a consultation's status to a request status:
// open cases are active, a closed one completed, a declined or cancelled
// one revoked.
func consultRequestStatus(s consult.Status) string {
	switch s {
	case consult.StatusClosed:
		return "completed"
	case consult.StatusDeclined, consult.StatusCancelled:
		return "revoked"
	}
	return "active"
}

func priorityOf(urgency string) string {
	switch urgency {
	case "emergency":
		return "stat"
	case "urgent":
		return "urgent"
	}
	return "routine"
}

// ServiceRequestOfConsult maps a consultation request (id
// "consult-<id>"): category SNOMED CT 11429006 Consultation, the kind as
// code, the asking clinic as requester, the hub as performer and the
// specialty as performerType, the reason, the purpose as orderDetail, the
// summary as note, a rehabilitation's sessions as quantityQuantity.
//
// A multidisciplinary consultation (MDT, 多学科会诊) asks several
// departments — of the hub, and of upward partner hospitals — to see the
// case together, the first leading: its performer is one contained
// CareTeam ("#mdt") managed by the hub, each invited department a
// participant (a logical reference by SystemDepartment, its name; on
// behalf of its institution), the leading one first. One performer,
// since R4 reads several performers as alternatives, and the departments
// act together; a CareTeam, since a department has no FHIR resource of
// its own. depts names the departments (nil: by identifier only).
func ServiceRequestOfConsult(c *consult.Consultation, depts map[int64]org.Department, t func(key string, args ...any) string) ServiceRequest {
	sr := ServiceRequest{ResourceType: "ServiceRequest", ID: prefixConsult + strconv.FormatInt(c.ID, 10), Meta: &Meta{VersionID: strconv.Itoa(c.Version)},
		Status: consultRequestStatus(c.Status), Intent: "order", Priority: priorityOf(string(c.Urgency)),
		Category:   []CodeableConcept{{Coding: []Coding{{System: SystemSNOMED, Code: "11429006", Display: "Consultation"}}}},
		Subject:    patientRef(c.ResidentID),
		AuthoredOn: instant(c.CreatedAt), Requester: orgRef(c.FromInstitution)}
	kind := t("consult.kind." + string(c.Kind))
	sr.Code = &CodeableConcept{Coding: []Coding{{System: SystemConsultKind, Code: string(c.Kind), Display: kind}}, Text: kind}
	if p := orgRef(c.ToInstitution); p != nil {
		sr.Performer = []Reference{*p}
	}
	if c.Reason != "" {
		sr.ReasonCode = []CodeableConcept{{Text: c.Reason}}
	}
	if c.Summary != "" {
		sr.Note = []Annotation{{Text: c.Summary}}
	}
	if c.Purpose != "" {
		sr.OrderDetail = []CodeableConcept{{Text: c.Purpose}}
	}
	if c.Specialty != "" {
		name := t("specialty." + c.Specialty)
		sr.PerformerType = &CodeableConcept{Coding: []Coding{{System: SystemSpecialty, Code: c.Specialty, Display: name}}, Text: name}
	}
	if c.Kind == consult.Rehab && c.RehabSessions > 0 {
		sr.Quantity = &Quantity{Value: float64(c.RehabSessions)}
	}
	if c.Kind == consult.MDT && len(c.Departments) > 0 {
		sr.Contained = []CareTeam{mdtTeam(c, depts, kind)}
		sr.Performer = []Reference{{Reference: "#" + mdtTeamID}}
	}
	return sr
}

// mdtTeamID is the id of an MDT ServiceRequest's contained CareTeam.
const mdtTeamID = "mdt"

// SystemDepartment identifies a department (科室) of an institution by
// its platform ID: departments have no FHIR resource of their own.
const SystemDepartment = "http://countycare.cn/fhir/sid/department"

// mdtTeam is the team of an MDT consultation: proposed until accepted,
// active until closed, then (or declined, cancelled) inactive.
func mdtTeam(c *consult.Consultation, depts map[int64]org.Department, name string) CareTeam {
	ct := CareTeam{ResourceType: "CareTeam", ID: mdtTeamID, Status: "inactive", Name: name, ManagingOrganization: []Reference{}}
	switch c.Status {
	case consult.StatusRequested:
		ct.Status = "proposed"
	case consult.StatusAccepted, consult.StatusAnswered:
		ct.Status = "active"
	}
	if o := orgRef(c.ToInstitution); o != nil {
		ct.ManagingOrganization = append(ct.ManagingOrganization, *o)
	}
	for _, id := range c.Departments {
		d := depts[id]
		p := CareTeamParticipant{Member: &Reference{Identifier: &Identifier{System: SystemDepartment, Value: strconv.FormatInt(id, 10)}, Display: d.Name},
			OnBehalfOf: orgRef(d.InstitutionID)}
		ct.Participant = append(ct.Participant, p)
	}
	return ct
}

// mdtDepartments are the departments an MDT of cs may name (the hubs'
// and the upward partner hospitals', as consult.Service.Request allows),
// by ID; nil when none of cs is an MDT.
func (s *Server) mdtDepartments(ctx context.Context, cs []consult.Consultation) (map[int64]org.Department, error) {
	var insts []int64
	for i := range cs {
		if cs[i].Kind == consult.MDT && !slices.Contains(insts, cs[i].ToInstitution) {
			insts = append(insts, cs[i].ToInstitution)
		}
	}
	if len(insts) == 0 {
		return nil, nil
	}
	tree, err := s.Orgs.Tree(ctx)
	if err != nil {
		return nil, err
	}
	for _, p := range tree.OfKind(0, org.KindPartner) {
		if !slices.Contains(insts, p.ID) {
			insts = append(insts, p.ID)
		}
	}
	out := map[int64]org.Department{}
	for _, id := range insts {
		ds, err := s.Orgs.Repo.Departments(ctx, id)
		if err != nil {
			return nil, err
		}
		for _, d := range ds {
			out[d.ID] = d
		}
	}
	return out, nil
}

// referralRequestStatus maps a referral's status: open ones are active;
// completed and acknowledged completed; cancelled and redirected (a new
// referral continues it) revoked.
func referralRequestStatus(s referral.Status) string {
	switch s {
	case referral.StatusCompleted, referral.StatusAcknowledged:
		return "completed"
	case referral.StatusCancelled, referral.StatusRedirected:
		return "revoked"
	}
	return "active"
}

// ServiceRequestOfReferral maps an up- or down-referral (id
// "referral-<id>"): category SNOMED CT 3457005 Patient referral, the
// direction as code, sender and receiver institutions, the down-referral's
// ICD-10 discharge diagnosis as reason, the clinical summary as note, the
// referral it continues as replaces.
func ServiceRequestOfReferral(r *referral.Referral, t func(key string, args ...any) string) ServiceRequest {
	sr := ServiceRequest{ResourceType: "ServiceRequest", ID: prefixReferral + strconv.FormatInt(r.ID, 10),
		Meta:   &Meta{VersionID: strconv.Itoa(r.Version), LastUpdated: instant(r.UpdatedAt)},
		Status: referralRequestStatus(r.Status), Intent: "order", Priority: priorityOf(string(r.Urgency)),
		Category:   []CodeableConcept{{Coding: []Coding{{System: SystemSNOMED, Code: "3457005", Display: "Patient referral"}}}},
		Subject:    patientRef(r.ResidentID),
		AuthoredOn: instant(r.FirstSentAt), Requester: orgRef(r.FromInst)}
	dir := t("referral.direction." + string(r.Direction))
	sr.Code = &CodeableConcept{Coding: []Coding{{System: SystemReferralDirection, Code: string(r.Direction), Display: dir}}, Text: dir}
	if p := orgRef(r.ToInst); p != nil {
		sr.Performer = []Reference{*p}
	}
	for _, rs := range r.Reasons { // an up-referral's criteria
		name := t("referral.reason." + string(rs))
		sr.ReasonCode = append(sr.ReasonCode, CodeableConcept{Coding: []Coding{{System: SystemReferralReason, Code: string(rs), Display: name}}, Text: name})
	}
	if r.Diagnosis != "" {
		sr.ReasonCode = append(sr.ReasonCode, CodeableConcept{Coding: []Coding{{System: SystemICD10, Code: r.Diagnosis}}, Text: r.DiagnosisText})
	}
	if r.Summary != "" {
		sr.Note = []Annotation{{Text: r.Summary}}
	}
	if r.RedirectedFrom != 0 {
		sr.Replaces = []Reference{{Reference: "ServiceRequest/" + prefixReferral + strconv.FormatInt(r.RedirectedFrom, 10)}}
	}
	return sr
}

// EncounterOfFollowUp maps a chronic disease follow-up visit (慢病随访),
// id "visit-<id>": finished, ambulatory when face to face, virtual by
// phone, type SNOMED CT 390906007 Follow-up encounter, the registry's
// disease as reason, the recording institution as service provider, the
// day as period. The visit's measurements are its Observations.
func EncounterOfFollowUp(v *chronic.StoredVisit, t func(key string, args ...any) string) Encounter {
	e := Encounter{ResourceType: "Encounter", ID: prefixFollowUp + strconv.FormatInt(v.ID, 10), Meta: &Meta{VersionID: "1", LastUpdated: instant(v.CreatedAt)},
		Status: "finished", Class: Coding{System: systemV3ActCode, Code: "AMB", Display: "ambulatory"},
		Type:    []CodeableConcept{{Coding: []Coding{{System: SystemSNOMED, Code: "390906007", Display: "Follow-up encounter"}}}},
		Subject: patientRef(v.ResidentID), Period: &Period{Start: v.Date.String(), End: v.Date.String()}, ServiceProvider: orgRef(v.InstitutionID)}
	if !v.FaceToFace {
		e.Class = Coding{System: systemV3ActCode, Code: "VR", Display: "virtual"}
	}
	if v.Disease != "" {
		name := t("chronic.disease." + string(v.Disease))
		e.ReasonCode = []CodeableConcept{{Coding: []Coding{{System: SystemRegistry, Code: string(v.Disease), Display: name}}, Text: name}}
	}
	return e
}

// EncounterOfConsult maps a consultation to a virtual encounter (class
// VR), id "consult-<id>": planned until a doctor accepts, in progress
// until the inviting doctor closes it, then finished; declined or
// cancelled ones are cancelled. The hub is the service provider; the
// request is basedOn.
func EncounterOfConsult(c *consult.Consultation, t func(key string, args ...any) string) Encounter {
	e := Encounter{ResourceType: "Encounter", ID: prefixConsult + strconv.FormatInt(c.ID, 10), Meta: &Meta{VersionID: strconv.Itoa(c.Version)},
		Class:   Coding{System: systemV3ActCode, Code: "VR", Display: "virtual"},
		Subject: patientRef(c.ResidentID), BasedOn: []Reference{{Reference: "ServiceRequest/" + prefixConsult + strconv.FormatInt(c.ID, 10)}},
		ServiceProvider: orgRef(c.ToInstitution)}
	switch c.Status {
	case consult.StatusRequested:
		e.Status = "planned"
	case consult.StatusAccepted, consult.StatusAnswered:
		e.Status = "in-progress"
	case consult.StatusClosed:
		e.Status = "finished"
	default:
		e.Status = "cancelled"
	}
	kind := t("consult.kind." + string(c.Kind))
	e.Type = []CodeableConcept{{Coding: []Coding{{System: SystemConsultKind, Code: string(c.Kind), Display: kind}}, Text: kind}}
	e.Period = &Period{Start: instant(c.CreatedAt), End: instant(c.ClosedAt)}
	if c.Reason != "" {
		e.ReasonCode = []CodeableConcept{{Text: c.Reason}}
	}
	return e
}

// EncounterOfReferral maps the stay an up-referral led to, id
// "referral-<id>", once the patient arrived: an admission (class IMP)
// when a bed was asked for, else an ambulatory visit (AMB); in progress
// until the referral is completed (discharged), then finished. ok is
// false for a referral the patient has not arrived on (and for
// down-referrals, which end a stay).
func EncounterOfReferral(r *referral.Referral) (Encounter, bool) {
	if r.Direction != referral.Up || r.ArrivedAt.IsZero() {
		return Encounter{}, false
	}
	e := Encounter{ResourceType: "Encounter", ID: prefixReferral + strconv.FormatInt(r.ID, 10),
		Meta:    &Meta{VersionID: strconv.Itoa(r.Version), LastUpdated: instant(r.UpdatedAt)},
		Status:  "in-progress",
		Class:   Coding{System: systemV3ActCode, Code: "AMB", Display: "ambulatory"},
		Subject: patientRef(r.ResidentID), BasedOn: []Reference{{Reference: "ServiceRequest/" + prefixReferral + strconv.FormatInt(r.ID, 10)}},
		Period: &Period{Start: instant(r.ArrivedAt)}, ServiceProvider: orgRef(r.ToInst)}
	if r.BedRequested {
		e.Class = Coding{System: systemV3ActCode, Code: "IMP", Display: "inpatient encounter"}
	}
	if r.Status == referral.StatusCompleted {
		e.Status, e.Period.End = "finished", instant(r.ClosedAt)
	}
	return e, true
}

// EncounterOfOnline maps an online follow-up visit (互联网复诊), id
// "online-<id>": a virtual encounter (VR), planned while booked, in
// progress in session, finished when ended or redirected to an offline
// visit; the resident's clinic as service provider, the doctor who took it
// as participant, the complaint as reason and the condition followed up
// (ICD-10) as type.
func EncounterOfOnline(v *online.Visit) Encounter {
	e := Encounter{ResourceType: "Encounter", ID: prefixOnline + strconv.FormatInt(v.ID, 10), Meta: &Meta{VersionID: strconv.Itoa(v.Version)},
		Class:   Coding{System: systemV3ActCode, Code: "VR", Display: "virtual"},
		Subject: patientRef(v.ResidentID), ServiceProvider: orgRef(v.ClinicID),
		Period: &Period{Start: instant(v.CreatedAt), End: instant(v.EndedAt)}}
	switch v.Status {
	case online.StatusBooked:
		e.Status = "planned"
	case online.StatusInSession:
		e.Status = "in-progress"
	default:
		e.Status = "finished"
	}
	if v.Diagnosis != "" {
		e.Type = []CodeableConcept{{Coding: []Coding{{System: SystemICD10, Code: v.Diagnosis}}}}
	}
	if v.Complaint != "" {
		e.ReasonCode = []CodeableConcept{{Text: v.Complaint}}
	}
	if v.DoctorID != 0 {
		e.Participant = []EncounterParticipant{{Individual: &Reference{Reference: "Practitioner/" + strconv.FormatInt(v.DoctorID, 10), Display: v.DoctorName}}}
	}
	return e
}

// EncounterParticipant is someone who took part in an encounter.
type EncounterParticipant struct {
	Individual *Reference `json:"individual,omitempty"`
}

// episodes are a patient's consultations, referrals and online visits
// the reader may see, with the patient.
type episodes struct {
	patient   *Patient
	consults  []consult.Consultation
	referrals []referral.Referral
	visits    []online.Visit
	followUps []chronic.StoredVisit    // chronic disease follow-up visits (Encounter only)
	depts     map[int64]org.Department // the departments MDT consultations name
}

// episodesOf reads the patient through resident.Service.Get (scope,
// audited as resident.read) and the consultations and referrals the
// reader is a party to, as the resident page lists them; with followUps,
// the chronic disease follow-up visits too, for the chronic care teams
// (chronic.Service.RecordOf: scope and audit as the registration page).
func (s *Server) episodesOf(r *http.Request, m *web.Mount, rq web.Request, residentID int64, followUps bool) (*episodes, error) {
	res, err := s.Residents.Get(r.Context(), rq.Actor, residentID)
	if err != nil {
		return nil, err
	}
	ep := &episodes{patient: s.patientOf(r.Context(), m, rq, res)}
	if s.Consult != nil && rq.Actor.PractitionerID != 0 {
		if ep.consults, err = s.Consult.ForResident(r.Context(), rq.Actor, res); err != nil {
			return nil, err
		}
		if ep.depts, err = s.mdtDepartments(r.Context(), ep.consults); err != nil {
			return nil, err
		}
	}
	if s.Referral != nil {
		if ep.referrals, err = s.Referral.ForResident(r.Context(), rq.Actor, res); err != nil {
			return nil, err
		}
	}
	if s.Online != nil && slices.Contains(onlineDoctors, rq.Actor.Role) {
		if ep.visits, err = s.Online.ForResident(r.Context(), rq.Actor, res.ID); err != nil {
			return nil, err
		}
	}
	if followUps && s.Chronic != nil && slices.Contains(chronicRoles, rq.Actor.Role) {
		regs, byReg, err := s.Chronic.RecordOf(r.Context(), rq.Actor, res.ID)
		if err != nil {
			return nil, err
		}
		for _, reg := range regs {
			ep.followUps = append(ep.followUps, byReg[reg.ID]...)
		}
	}
	return ep, nil
}

// episodeByID reads one consultation ("consult-<id>", consult.Service.Detail)
// or referral ("referral-<id>", referral.Service.Get) or follow-up visit
// ("visit-<id>", chronic.Service.Visit), each audited and
// limited to its parties; ENOTFOUND for any other id.
func (s *Server) episodeByID(r *http.Request, rq web.Request, id string) (*episodes, error) {
	notFound := care.Errorf(care.ENOTFOUND, "error.not_found")
	if v, ok := strings.CutPrefix(id, prefixConsult); ok && s.Consult != nil {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n <= 0 {
			return nil, notFound
		}
		c, _, _, err := s.Consult.Detail(r.Context(), rq.Actor, n)
		if err != nil {
			return nil, err
		}
		ep := &episodes{consults: []consult.Consultation{*c}}
		ep.depts, err = s.mdtDepartments(r.Context(), ep.consults)
		return ep, err
	}
	if v, ok := strings.CutPrefix(id, prefixOnline); ok && s.Online != nil {
		n := numericID(v)
		if n == 0 || !slices.Contains(onlineDoctors, rq.Actor.Role) {
			return nil, notFound
		}
		visit, _, err := s.Online.Get(r.Context(), rq.Actor, n)
		if err != nil {
			return nil, err
		}
		return &episodes{visits: []online.Visit{*visit}}, nil
	}
	if v, ok := strings.CutPrefix(id, prefixFollowUp); ok && s.Chronic != nil {
		n := numericID(v)
		if n == 0 || !slices.Contains(chronicRoles, rq.Actor.Role) {
			return nil, notFound
		}
		visit, err := s.Chronic.Visit(r.Context(), rq.Actor, n)
		if err != nil {
			return nil, err
		}
		return &episodes{followUps: []chronic.StoredVisit{*visit}}, nil
	}
	if v, ok := strings.CutPrefix(id, prefixReferral); ok && s.Referral != nil {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n <= 0 {
			return nil, notFound
		}
		d, err := s.Referral.Get(r.Context(), rq.Actor, n)
		if err != nil {
			return nil, err
		}
		return &episodes{referrals: []referral.Referral{*d.Referral}}, nil
	}
	return nil, notFound
}

// serviceRequests maps episodes to ServiceRequests.
func serviceRequests(ep *episodes, t func(string, ...any) string) []match {
	var out []match
	for i := range ep.consults {
		c := &ep.consults[i]
		sr := ServiceRequestOfConsult(c, ep.depts, t)
		out = append(out, match{sr.ID, key(c.CreatedAt, c.ID*4), care.Today(c.CreatedAt), sr.Status, sr})
	}
	for i := range ep.referrals {
		rf := &ep.referrals[i]
		sr := ServiceRequestOfReferral(rf, t)
		out = append(out, match{sr.ID, key(rf.FirstSentAt, rf.ID*4+1), care.Today(rf.FirstSentAt), sr.Status, sr})
	}
	return out
}

// encounters maps episodes to Encounters.
func encounters(ep *episodes, t func(string, ...any) string) []match {
	var out []match
	for i := range ep.consults {
		c := &ep.consults[i]
		e := EncounterOfConsult(c, t)
		out = append(out, match{e.ID, key(c.CreatedAt, c.ID*4), care.Today(c.CreatedAt), e.Status, e})
	}
	for i := range ep.referrals {
		rf := &ep.referrals[i]
		if e, ok := EncounterOfReferral(rf); ok {
			out = append(out, match{e.ID, key(rf.ArrivedAt, rf.ID*4+1), care.Today(rf.ArrivedAt), e.Status, e})
		}
	}
	for i := range ep.visits {
		v := &ep.visits[i]
		e := EncounterOfOnline(v)
		out = append(out, match{e.ID, key(v.CreatedAt, v.ID*4+2), care.Today(v.CreatedAt), e.Status, e})
	}
	for i := range ep.followUps {
		v := &ep.followUps[i]
		e := EncounterOfFollowUp(v, t)
		at := time.Date(v.Date.Year, v.Date.Month, v.Date.Day, 0, 0, 0, 0, care.Shanghai)
		out = append(out, match{e.ID, key(at, v.ID*4+3), v.Date, e.Status, e})
	}
	return out
}

// episodeStatuses are the statuses each mapped type can have.
var episodeStatuses = map[string][]string{
	"ServiceRequest": {"active", "completed", "revoked"},
	"Encounter":      {"planned", "in-progress", "finished", "cancelled"},
}

// episodeRead: GET /fhir/{ServiceRequest|Encounter}/{id}.
func (s *Server) episodeRead(m *web.Mount, typ string, mapf func(*episodes, func(string, ...any) string) []match) web.FaceHandler {
	return func(w http.ResponseWriter, r *http.Request, rq web.Request) error {
		ep, err := s.episodeByID(r, rq, r.PathValue("id"))
		if err != nil {
			return err
		}
		ms := mapf(ep, func(k string, a ...any) string { return m.T(rq.Lang, k, a...) })
		if len(ms) != 1 {
			return care.Errorf(care.ENOTFOUND, "error.not_found") // a referral without an encounter
		}
		writeJSON(w, http.StatusOK, ms[0].res)
		return nil
	}
}

// episodeSearch: GET /fhir/{ServiceRequest|Encounter}?patient=… (or
// _id=…) with date (the day requested, or the encounter's start, China
// time), status (comma-separated), _count (default 20) with _cursor next
// links, _summary=count, _include=<Type>:subject|patient and (requests)
// _revinclude=Encounter:based-on; newest first.
// The patient is read through resident.Service.Get (scope, audited), the
// consultations and referrals are those the reader is a party to.
func (s *Server) episodeSearch(m *web.Mount, typ string, mapf func(*episodes, func(string, ...any) string) []match) web.FaceHandler {
	return func(w http.ResponseWriter, r *http.Request, rq web.Request) error {
		p, byID, statuses, err := s.pagedSearch(r, typ, episodeStatuses[typ])
		if err != nil {
			return err
		}
		t := func(k string, a ...any) string { return m.T(rq.Lang, k, a...) }
		var ep *episodes
		if p.resident != 0 {
			ep, err = s.episodesOf(r, m, rq, p.resident, typ == "Encounter")
		} else if ep, err = s.episodeByID(r, rq, byID); care.IsCode(err, care.ENOTFOUND) {
			ep, err = &episodes{}, nil
		}
		if err != nil {
			return err
		}
		ms := mapf(ep, t)
		if p.include && ep.patient == nil && len(ms) > 0 {
			// _id alone: the subject is read (and audited) for the include.
			sub, _ := patientParam(subjectOf(ms[0].res))
			if ep.patient, err = s.subject(r, m, rq, sub); err != nil {
				return err
			}
		}
		ids, keys, out := p.page(ms, statuses, byID)
		b := s.searchset(r, &p, typ, ids, keys, out, ep.patient)
		if err := s.revincludedPage(r, m, rq, &p, typ, &b); err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, b)
		return nil
	}
}

// subjectOf is the subject reference of a mapped episode.
func subjectOf(res any) string {
	switch x := res.(type) {
	case ServiceRequest:
		return x.Subject.Reference
	case Encounter:
		return x.Subject.Reference
	}
	return ""
}
