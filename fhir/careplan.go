package fhir

import (
	"context"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"countycare/care"
	"countycare/consult"
	"countycare/family"
	"countycare/web"
)

// Code systems of the family doctor contract (家庭医生签约服务).
const (
	// SystemFamilyService: the services a contract promises (family.Kind:
	// follow_up, checkup, home_visit, education, rehab).
	SystemFamilyService = "http://countycare.cn/fhir/CodeSystem/family-service"
	// SystemFamilyPackage: the kind of service package (basic, personalised).
	SystemFamilyPackage = "http://countycare.cn/fhir/CodeSystem/family-package"
	// SystemTeamRole: a member's role in a family doctor team (doctor,
	// nurse, public_health, village_doctor, specialist, pharmacist,
	// maternal_child).
	SystemTeamRole = "http://countycare.cn/fhir/CodeSystem/family-team-role"
	// SystemConsentMethod: how consent was given (contracts: paper_signature,
	// phone_signature, verbal_witnessed; consultations: written, electronic).
	SystemConsentMethod = "http://countycare.cn/fhir/CodeSystem/consent-method"
	// SystemConsentBy: who gave it (contracts: self, guardian,
	// household_head; consultations: patient, guardian).
	SystemConsentBy = "http://countycare.cn/fhir/CodeSystem/consent-by"
	// prefixContract is the id prefix of a contract's Consent.
	prefixContract = "contract-"
)

// Annotation-free building blocks of CarePlan, CareTeam and Consent.
type (
	// CarePlanActivity is one promised service of a contract.
	CarePlanActivity struct {
		Detail CarePlanDetail `json:"detail"`
	}
	// CarePlanDetail is what the service is and how often.
	CarePlanDetail struct {
		Code            *CodeableConcept `json:"code,omitempty"`
		Status          string           `json:"status"`
		ScheduledTiming *Timing          `json:"scheduledTiming,omitempty"`
		Description     string           `json:"description,omitempty"`
	}
	// CareTeamParticipant is one member of a team.
	CareTeamParticipant struct {
		Role       []CodeableConcept `json:"role,omitempty"`
		Member     *Reference        `json:"member,omitempty"`
		OnBehalfOf *Reference        `json:"onBehalfOf,omitempty"`
	}
	// ConsentVerification is a witness of a verbal consent.
	ConsentVerification struct {
		Verified     bool       `json:"verified"`
		VerifiedWith *Reference `json:"verifiedWith,omitempty"`
	}
	// ConsentData is the record a consent is about.
	ConsentData struct {
		Meaning   string    `json:"meaning"`
		Reference Reference `json:"reference"`
	}
	// ConsentProvision is what was agreed to: permit, for the period.
	ConsentProvision struct {
		Type   string        `json:"type"`
		Period *Period       `json:"period,omitempty"`
		Data   []ConsentData `json:"data,omitempty"`
	}
)

// CarePlan is a family doctor contract (签约协议): the package's services
// for the contract's term, delivered by its team.
type CarePlan struct {
	ResourceType string             `json:"resourceType"`
	ID           string             `json:"id"`
	Meta         *Meta              `json:"meta,omitempty"`
	Status       string             `json:"status"`
	Intent       string             `json:"intent"`
	Category     []CodeableConcept  `json:"category,omitempty"`
	Title        string             `json:"title,omitempty"`
	Subject      Reference          `json:"subject"`
	Period       *Period            `json:"period,omitempty"`
	Created      string             `json:"created,omitempty"`
	Author       *Reference         `json:"author,omitempty"`
	CareTeam     []Reference        `json:"careTeam,omitempty"`
	Replaces     []Reference        `json:"replaces,omitempty"`
	Activity     []CarePlanActivity `json:"activity,omitempty"`
}

// CareTeam is a family doctor team (家庭医生团队).
type CareTeam struct {
	ResourceType         string                `json:"resourceType"`
	ID                   string                `json:"id"`
	Meta                 *Meta                 `json:"meta,omitempty"`
	Status               string                `json:"status"`
	Category             []CodeableConcept     `json:"category,omitempty"`
	Name                 string                `json:"name,omitempty"`
	Participant          []CareTeamParticipant `json:"participant,omitempty"`
	ManagingOrganization []Reference           `json:"managingOrganization,omitempty"`
}

// Consent is the informed consent (知情同意) to a family doctor contract or
// a consultation.
type Consent struct {
	ResourceType string                `json:"resourceType"`
	ID           string                `json:"id"`
	Meta         *Meta                 `json:"meta,omitempty"` // a contract's: when it last changed (contractUpdated)
	Status       string                `json:"status"`
	Scope        CodeableConcept       `json:"scope"`
	Category     []CodeableConcept     `json:"category"`
	Patient      Reference             `json:"patient"`
	DateTime     string                `json:"dateTime,omitempty"`
	Performer    []Reference           `json:"performer,omitempty"`
	Organization []Reference           `json:"organization,omitempty"`
	PolicyRule   *CodeableConcept      `json:"policyRule,omitempty"`
	Verification []ConsentVerification `json:"verification,omitempty"`
	Provision    *ConsentProvision     `json:"provision,omitempty"`
}

// familyRoles read contracts, teams and contract consents: the registrars
// (village and township doctors), as the family doctor page.
var familyRoles = []care.Role{care.RoleVillageDoctor, care.RoleTownshipDoctor}

// carePlanStatus maps a contract: in force or signed to start later,
// active; run to its end (expired, renewed, or active past its end),
// completed; ended early (switched team, moved, died, withdrew), revoked.
func carePlanStatus(c *family.Contract, today care.Date) string {
	switch c.Status {
	case family.StatusSwitched, family.StatusEnded:
		return "revoked"
	case family.StatusActive:
		if !today.After(c.End) {
			return "active"
		}
	}
	return "completed"
}

// contractUpdated is when what is mapped of a contract last changed: its
// signing, its closing, or — nothing written then — its running past its
// end (family.Contract.LapsedAt), when its status became completed.
func contractUpdated(c *family.Contract, today care.Date) time.Time {
	return lastOf(lastOf(c.CreatedAt, c.ClosedAt), c.LapsedAt(today))
}

// contractPeriod is the days a contract covers: start to end, or to the
// day before it was ended early.
func contractPeriod(c *family.Contract) *Period {
	end := c.End
	if !c.EndedOn.IsZero() && c.EndedOn.Before(end.AddDays(1)) {
		end = c.EndedOn.AddDays(-1)
	}
	return &Period{Start: c.Start.String(), End: end.String()}
}

// CarePlanOf maps a contract: its package (nil if unknown) as category and
// title, the promised services as activities (per year), the team, the
// signing institution as author, the contract it renews or replaces.
func CarePlanOf(c *family.Contract, pkg *family.Package, today care.Date, t func(string, ...any) string) CarePlan {
	cp := CarePlan{ResourceType: "CarePlan", ID: strconv.FormatInt(c.ID, 10), Meta: &Meta{LastUpdated: instant(contractUpdated(c, today))},
		Status: carePlanStatus(c, today), Intent: "plan", Subject: patientRef(c.ResidentID), Period: contractPeriod(c), Created: instant(c.CreatedAt),
		Author: orgRef(c.InstitutionID), CareTeam: []Reference{{Reference: "CareTeam/" + strconv.FormatInt(c.TeamID, 10)}}}
	if pkg != nil {
		cp.Title = pkg.Name
		cp.Category = []CodeableConcept{{Coding: []Coding{{System: SystemFamilyPackage, Code: pkg.Kind}}, Text: pkg.Name}}
	}
	if c.PreviousID != 0 {
		cp.Replaces = []Reference{{Reference: "CarePlan/" + strconv.FormatInt(c.PreviousID, 10)}}
	}
	status := map[string]string{"active": "in-progress", "completed": "completed", "revoked": "stopped"}[cp.Status]
	for _, d := range c.Services {
		name := t("family.kind." + string(d.Kind))
		cp.Activity = append(cp.Activity, CarePlanActivity{Detail: CarePlanDetail{
			Code:   &CodeableConcept{Coding: []Coding{{System: SystemFamilyService, Code: string(d.Kind), Display: name}}, Text: name},
			Status: status, ScheduledTiming: &Timing{Repeat: &TimingRepeat{Frequency: d.PerYear, Period: 1, PeriodUnit: "a"}}}})
	}
	return cp
}

// CareTeamOf maps a family doctor team: its members with their roles and
// institutions, the owning institution.
func CareTeamOf(tm *family.Team, t func(string, ...any) string) CareTeam {
	ct := CareTeam{ResourceType: "CareTeam", ID: strconv.FormatInt(tm.ID, 10), Meta: &Meta{VersionID: strconv.Itoa(max(tm.Version, 1))},
		Status: "inactive", Name: tm.Name,
		// LOINC LA28865-6: longitudinal care-coordination focused care team.
		Category:             []CodeableConcept{{Coding: []Coding{{System: SystemLOINC, Code: "LA28865-6", Display: "Longitudinal care-coordination focused care team"}}}},
		ManagingOrganization: []Reference{{Reference: "Organization/" + strconv.FormatInt(tm.InstitutionID, 10)}}}
	if tm.Active {
		ct.Status = "active"
	}
	for _, mb := range tm.Members {
		role := t("family.member." + mb.Role)
		p := CareTeamParticipant{Role: []CodeableConcept{{Coding: []Coding{{System: SystemTeamRole, Code: mb.Role, Display: role}}, Text: role}},
			Member: &Reference{Reference: "Practitioner/" + strconv.FormatInt(mb.PractitionerID, 10), Display: mb.Name}, OnBehalfOf: orgRef(mb.InstitutionID)}
		ct.Participant = append(ct.Participant, p)
	}
	return ct
}

// consentBase is what every consent carries: treatment scope, LOINC
// 59284-0 Patient Consent, opt-in (v3-ActCode OPTIN), the patient, who
// signed and how.
func consentBase(id string, residentID int64, by, name, method string, t func(string, ...any) string, byKey, methodKey string) Consent {
	c := Consent{ResourceType: "Consent", ID: id, Status: "active",
		Scope: CodeableConcept{Coding: []Coding{{System: "http://terminology.hl7.org/CodeSystem/consentscope", Code: "treatment"}}},
		Category: []CodeableConcept{{Coding: []Coding{{System: SystemLOINC, Code: "59284-0", Display: "Patient Consent"}}},
			{Coding: []Coding{{System: SystemConsentMethod, Code: method, Display: t(methodKey + method)}}, Text: t(methodKey + method)}},
		Patient:    patientRef(residentID),
		PolicyRule: &CodeableConcept{Coding: []Coding{{System: "http://terminology.hl7.org/CodeSystem/v3-ActCode", Code: "OPTIN"}}}}
	if by == family.ConsentSelf || by == consult.ConsentPatient {
		c.Performer = []Reference{patientRef(residentID)}
	} else {
		c.Performer = []Reference{{Display: strings.TrimSpace(t(byKey+by) + " " + name)}}
	}
	return c
}

// ConsentOfContract maps a contract's consent (签约知情同意), id
// "contract-<id>": active while the contract is, the witness of a verbal
// consent as a verification, the contract's CarePlan as what it permits.
func ConsentOfContract(c *family.Contract, today care.Date, t func(string, ...any) string) Consent {
	cs := consentBase(prefixContract+strconv.FormatInt(c.ID, 10), c.ResidentID, c.Consent.By, c.Consent.Name, c.Consent.Method, t,
		"family.consent_by.", "family.consent_method.")
	cs.DateTime = instant(c.Consent.At)
	cs.Meta = &Meta{LastUpdated: instant(contractUpdated(c, today))}
	if o := orgRef(c.InstitutionID); o != nil {
		cs.Organization = []Reference{*o}
	}
	if carePlanStatus(c, today) != "active" {
		cs.Status = "inactive"
	}
	if c.Consent.Witness != "" {
		cs.Verification = []ConsentVerification{{Verified: true, VerifiedWith: &Reference{Display: c.Consent.Witness}}}
	}
	cs.Provision = &ConsentProvision{Type: "permit", Period: contractPeriod(c),
		Data: []ConsentData{{Meaning: "instance", Reference: Reference{Reference: "CarePlan/" + strconv.FormatInt(c.ID, 10)}}}}
	return cs
}

// ConsentOfConsult maps a consultation's consent, id "consult-<id>":
// active while the case is open, the request as what it permits.
func ConsentOfConsult(c *consult.Consultation, t func(string, ...any) string) Consent {
	cs := consentBase(prefixConsult+strconv.FormatInt(c.ID, 10), c.ResidentID, c.Consent.By, c.Consent.Name, c.Consent.Method, t,
		"consult.consent.", "consult.consent.")
	cs.DateTime = instant(c.Consent.At)
	if o := orgRef(c.FromInstitution); o != nil {
		cs.Organization = []Reference{*o}
	}
	if !c.Status.Open() {
		cs.Status = "inactive"
	}
	cs.Provision = &ConsentProvision{Type: "permit",
		Data: []ConsentData{{Meaning: "related", Reference: Reference{Reference: "ServiceRequest/" + prefixConsult + strconv.FormatInt(c.ID, 10)}}}}
	return cs
}

// contractRecords is what the family searches read of one patient.
type contractRecords struct {
	patient   *Patient
	contracts []family.Contract
	consults  []consult.Consultation
}

// contractsOf reads the patient through resident.Service.Get (scope,
// audited) and their contracts through family.Service.PanelOf (audited as
// family.read); the consultations too when withConsults (episodesOf: the
// reader a party).
func (s *Server) contractsOf(r *http.Request, m *web.Mount, rq web.Request, residentID int64, withConsults bool) (*contractRecords, error) {
	out := &contractRecords{}
	if withConsults && s.Consult != nil && slices.Contains(episodeParties, rq.Actor.Role) {
		ep, err := s.episodesOf(r, m, rq, residentID, false)
		if err != nil {
			return nil, err
		}
		out.patient, out.consults = ep.patient, ep.consults
	}
	if !slices.Contains(familyRoles, rq.Actor.Role) {
		if out.patient == nil { // the patient is read for scope even when nothing else is
			p, err := s.subject(r, m, rq, residentID)
			if err != nil {
				return nil, err
			}
			out.patient = p
		}
		return out, nil
	}
	res, err := s.Residents.Get(r.Context(), rq.Actor, residentID)
	if err != nil {
		return nil, err
	}
	if out.patient == nil {
		out.patient = s.patientOf(r.Context(), m, rq, res)
	}
	p, err := s.Family.PanelOf(r.Context(), rq.Actor, res)
	if err != nil {
		return nil, err
	}
	out.contracts = p.Contracts
	return out, nil
}

// packages are the county's service packages by ID.
func (s *Server) packages(ctx context.Context, a care.Actor) (map[int64]*family.Package, error) {
	ps, err := s.Family.Packages(ctx, a)
	if err != nil {
		return nil, err
	}
	out := make(map[int64]*family.Package, len(ps))
	for i := range ps {
		out[ps[i].ID] = &ps[i]
	}
	return out, nil
}

// familyMatches maps a patient's records to typ (CarePlan, CareTeam or
// Consent), keyed by signing (or consent) time.
func (s *Server) familyMatches(r *http.Request, rq web.Request, typ string, rec *contractRecords, t func(string, ...any) string) ([]match, error) {
	today := care.Today(s.Now())
	var out []match
	switch typ {
	case "CarePlan":
		pkgs, err := s.packages(r.Context(), rq.Actor)
		if err != nil {
			return nil, err
		}
		for i := range rec.contracts {
			c := &rec.contracts[i]
			cp := CarePlanOf(c, pkgs[c.PackageID], today, t)
			out = append(out, match{cp.ID, key(c.CreatedAt, c.ID), c.Start, cp.Status, cp})
		}
	case "CareTeam":
		seen := map[int64]bool{}
		for i := range rec.contracts {
			c := &rec.contracts[i]
			if seen[c.TeamID] {
				continue
			}
			seen[c.TeamID] = true
			tm, err := s.Family.Team(r.Context(), rq.Actor, c.TeamID)
			if err != nil {
				return nil, err
			}
			ct := CareTeamOf(tm, t)
			out = append(out, match{ct.ID, key(c.CreatedAt, tm.ID), c.Start, ct.Status, ct})
		}
	case "Consent":
		for i := range rec.contracts {
			c := &rec.contracts[i]
			cs := ConsentOfContract(c, today, t)
			out = append(out, match{cs.ID, key(c.Consent.At, c.ID*2), care.Today(c.Consent.At), cs.Status, cs})
		}
		for i := range rec.consults {
			c := &rec.consults[i]
			cs := ConsentOfConsult(c, t)
			out = append(out, match{cs.ID, key(c.Consent.At, c.ID*2+1), care.Today(c.Consent.At), cs.Status, cs})
		}
	}
	return out, nil
}

// familyByID reads the one record an id names: a contract (CarePlan
// "<id>", Consent "contract-<id>", through family.Service.Contract,
// audited), a consultation's consent ("consult-<id>", consult.Service.Detail,
// the parties, audited) or a team (CareTeam "<id>", the county's).
func (s *Server) familyByID(r *http.Request, rq web.Request, typ, id string) (*contractRecords, *family.Team, error) {
	notFound := care.Errorf(care.ENOTFOUND, "error.not_found")
	if typ == "Consent" {
		if _, ok := strings.CutPrefix(id, prefixConsult); ok {
			if !slices.Contains(episodeParties, rq.Actor.Role) {
				return nil, nil, notFound
			}
			ep, err := s.episodeByID(r, rq, id)
			if err != nil {
				return nil, nil, err
			}
			return &contractRecords{consults: ep.consults}, nil, nil
		}
		v, ok := strings.CutPrefix(id, prefixContract)
		if !ok {
			return nil, nil, notFound
		}
		id = v
	}
	n, err := strconv.ParseInt(id, 10, 64)
	if err != nil || n <= 0 || !slices.Contains(familyRoles, rq.Actor.Role) {
		return nil, nil, notFound
	}
	if typ == "CareTeam" {
		tm, err := s.Family.Team(r.Context(), rq.Actor, n)
		return nil, tm, err
	}
	c, err := s.Family.Contract(r.Context(), rq.Actor, n)
	if err != nil {
		return nil, nil, err
	}
	return &contractRecords{contracts: []family.Contract{*c}}, nil, nil
}

// familyStatuses are the statuses of each type.
var familyStatuses = map[string][]string{
	"CarePlan": {"active", "completed", "revoked"},
	"CareTeam": {"active", "inactive"},
	"Consent":  {"active", "inactive"},
}

// familyRead: GET /fhir/{CarePlan|CareTeam|Consent}/{id}.
func (s *Server) familyRead(m *web.Mount, typ string) web.FaceHandler {
	return func(w http.ResponseWriter, r *http.Request, rq web.Request) error {
		id := r.PathValue("id")
		t := func(k string, a ...any) string { return m.T(rq.Lang, k, a...) }
		rec, tm, err := s.familyByID(r, rq, typ, id)
		if err != nil {
			return err
		}
		if tm != nil {
			writeJSON(w, http.StatusOK, CareTeamOf(tm, t))
			return nil
		}
		ms, err := s.familyMatches(r, rq, typ, rec, t)
		if err != nil {
			return err
		}
		return writeMatch(w, ms, id)
	}
}

// familySearch: GET /fhir/{CarePlan|CareTeam|Consent}?patient=… (or _id)
// with date (the contract's first day, the consent's day), status,
// _count with next links, _summary=count and _include of the patient;
// newest first. The patient is read under scope (audited), the contracts
// through family.Service.PanelOf (audited as family.read).
func (s *Server) familySearch(m *web.Mount, typ string) web.FaceHandler {
	return func(w http.ResponseWriter, r *http.Request, rq web.Request) error {
		p, byID, statuses, err := s.pagedSearch(r, typ, familyStatuses[typ], typ+":patient", typ+":subject")
		if err != nil {
			return err
		}
		t := func(k string, a ...any) string { return m.T(rq.Lang, k, a...) }
		rec := &contractRecords{}
		if p.resident != 0 {
			rec, err = s.contractsOf(r, m, rq, p.resident, typ == "Consent")
		} else {
			var tm *family.Team
			rec, tm, err = s.familyByID(r, rq, typ, byID)
			if tm != nil {
				ct := CareTeamOf(tm, t)
				ids, keys, out := p.page([]match{{ct.ID, key(tm.CreatedAt, tm.ID), care.Today(tm.CreatedAt), ct.Status, ct}}, statuses, byID)
				writeJSON(w, http.StatusOK, s.searchset(r, &p, typ, ids, keys, out, nil))
				return nil
			}
			if care.IsCode(err, care.ENOTFOUND) {
				rec, err = &contractRecords{}, nil
			}
		}
		if err != nil {
			return err
		}
		ms, err := s.familyMatches(r, rq, typ, rec, t)
		if err != nil {
			return err
		}
		ids, keys, out := p.page(ms, statuses, byID)
		if p.include && rec.patient == nil && len(ids) > 0 {
			// _id alone: the subject is read (and audited) for the include.
			var rid int64
			switch x := out[0].(type) {
			case CarePlan:
				rid, _ = patientParam(x.Subject.Reference)
			case Consent:
				rid, _ = patientParam(x.Patient.Reference)
			}
			if rec.patient, err = s.subject(r, m, rq, rid); err != nil {
				return err
			}
		}
		if !p.include {
			rec.patient = nil
		}
		writeJSON(w, http.StatusOK, s.searchset(r, &p, typ, ids, keys, out, rec.patient))
		return nil
	}
}

// lastOf is the later of two times.
func lastOf(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
