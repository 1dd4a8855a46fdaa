package fhir

import (
	"net/http"
	"slices"
	"strings"

	"countycare/access"
	"countycare/web"
)

// routes registers what the CapabilityStatement declares; the two are
// kept in step by TestCapabilityMatchesRoutes.
func (s *Server) routes(m *web.Mount) {
	readers := access.Allow(access.PatientReaders...)
	staff := access.Allow(access.OrgViewers...)
	m.Handle("GET /fhir/metadata", access.Public(), 0, s.metadata)
	m.Handle("GET /fhir/Patient/{id}", readers, 0, s.patientRead(m))
	m.Handle("GET /fhir/Patient", readers, 0, s.patientSearch(m))
	m.Handle("GET /fhir/Patient/{id}/$everything", readers, 0, s.everything(m))
	for _, typ := range []string{"Organization", "Location"} {
		m.Handle("GET /fhir/"+typ+"/{id}", staff, 0, s.organizationRead(m, typ))
		m.Handle("GET /fhir/"+typ, staff, 0, s.organizationSearch(m, typ))
	}
	m.Handle("GET /fhir/Practitioner/{id}", staff, 0, s.practitionerRead(m, false))
	m.Handle("GET /fhir/Practitioner", staff, 0, s.practitionerSearch(m, false))
	m.Handle("GET /fhir/PractitionerRole/{id}", staff, 0, s.practitionerRead(m, true))
	m.Handle("GET /fhir/PractitionerRole", staff, 0, s.practitionerSearch(m, true))
	m.Handle("GET /fhir/Patient/{id}/_history", readers, 0, s.history(m, "Patient"))
	m.Handle("GET /fhir/Patient/{id}/_history/{vid}", readers, 0, s.vread(m, "Patient"))
	m.Handle("POST /fhir/Patient", access.Allow(access.Registrars...), MaxResourceBytes, s.create(m, "Patient"))
	if s.Chronic != nil {
		// The chronic care teams' records: as the registration pages.
		chronicCare := access.Allow(chronicRoles...)
		m.Handle("GET /fhir/Condition/{id}", chronicCare, 0, s.conditionRead(m))
		m.Handle("GET /fhir/Condition", chronicCare, 0, s.conditionSearch(m))
		m.Handle("GET /fhir/Condition/{id}/_history", chronicCare, 0, s.history(m, "Condition"))
		m.Handle("GET /fhir/Condition/{id}/_history/{vid}", chronicCare, 0, s.vread(m, "Condition"))
		m.Handle("POST /fhir/Condition", chronicCare, MaxResourceBytes, s.create(m, "Condition"))
		m.Handle("PUT /fhir/Condition/{id}", chronicCare, MaxResourceBytes, s.conditionUpdate(m))
		m.Handle("GET /fhir/Observation/{id}", chronicCare, 0, s.observationRead(m))
		m.Handle("GET /fhir/Observation/{id}/_history", chronicCare, 0, s.history(m, "Observation"))
		m.Handle("GET /fhir/Observation/{id}/_history/{vid}", chronicCare, 0, s.vread(m, "Observation"))
		m.Handle("POST /fhir/Observation", chronicCare, MaxResourceBytes, s.create(m, "Observation"))
		// Transaction and batch bundles: the registrars and chronic care
		// teams (each entry then needs its own type's role and scope).
		m.Handle("POST /fhir", chronicCare, MaxBundleBytes, s.bundle(m))
		m.Handle("POST /fhir/{$}", chronicCare, MaxBundleBytes, s.bundle(m))
		if s.Labs == nil {
			m.Handle("GET /fhir/Observation", chronicCare, 0, s.observationSearch(m))
		}
	}
	if s.Labs != nil {
		// Lab results for every clinician, as the lab pages; follow-up
		// measurements for the chronic care teams among them.
		m.Handle("GET /fhir/Observation", access.Allow(access.Clinicians...), 0, s.observationSearch(m))
	}
	if s.Consult != nil || s.Referral != nil || s.Online != nil {
		// Consultations and referrals: their parties, as the consultation
		// and referral pages.
		parties := access.Allow(episodeParties...)
		m.Handle("GET /fhir/ServiceRequest/{id}", parties, 0, s.episodeRead(m, "ServiceRequest", serviceRequests))
		m.Handle("GET /fhir/ServiceRequest", parties, 0, s.episodeSearch(m, "ServiceRequest", serviceRequests))
		m.Handle("GET /fhir/Encounter/{id}", parties, 0, s.episodeRead(m, "Encounter", encounters))
		m.Handle("GET /fhir/Encounter", parties, 0, s.episodeSearch(m, "Encounter", encounters))
		if s.Referral != nil || s.Consult != nil {
			// Up-referrals: the senders (village, township and county
			// doctors), as the referral page; consultation requests: the
			// inviting clinics' doctors, as the consultation page.
			m.Handle("POST /fhir/ServiceRequest", parties, MaxResourceBytes, s.serviceRequestCreate(m))
		}
	}
	if s.Prescriptions != nil {
		// Prescriptions: prescribers and pharmacists, as the prescription API.
		rxr := access.Allow(rxReaders...)
		for _, typ := range []string{"MedicationRequest", "MedicationDispense"} {
			m.Handle("GET /fhir/"+typ+"/{id}", rxr, 0, s.medicationRead(typ))
			m.Handle("GET /fhir/"+typ, rxr, 0, s.medicationSearch(m, typ))
		}
	}
	if s.Settle != nil {
		// Settlements: the insurance office and the patient, as the
		// settlement page (each within its scope).
		settled := access.Allow(eobReaders...)
		for _, typ := range []string{"ExplanationOfBenefit", "Claim"} {
			m.Handle("GET /fhir/"+typ+"/{id}", settled, 0, s.eobRead(m, typ))
			m.Handle("GET /fhir/"+typ, settled, 0, s.eobSearch(m, typ))
		}
		m.Handle("GET /fhir/Coverage/{id}", settled, 0, s.coverageRead(m))
		m.Handle("GET /fhir/Coverage", settled, 0, s.coverageSearch(m))
	}
	if s.Family != nil {
		// Family doctor contracts, teams and consents: the registrars, as
		// the family doctor page; consultation consents: their parties.
		fam := access.Allow(familyRoles...)
		for _, typ := range []string{"CarePlan", "CareTeam", "Consent"} {
			pol := fam
			if typ == "Consent" {
				pol = access.Allow(episodeParties...)
			}
			m.Handle("GET /fhir/"+typ+"/{id}", pol, 0, s.familyRead(m, typ))
			m.Handle("GET /fhir/"+typ, pol, 0, s.familySearch(m, typ))
		}
	}
	if s.Readings != nil || s.Labs != nil {
		// Signed reports: the study page's viewers (readers of the center,
		// doctors of the ordering clinic); lab reports: every clinician, as
		// the lab pages (the handlers keep each kind to its roles).
		viewers := access.Allow(studyViewers...)
		if s.Labs != nil {
			viewers = access.Allow(access.Clinicians...)
		}
		m.Handle("GET /fhir/DiagnosticReport/{id}", viewers, 0, s.reportRead(m))
		m.Handle("GET /fhir/DiagnosticReport", viewers, 0, s.reportSearch(m))
	}
	if s.Readings != nil {
		// Imaging studies: the study page's viewers.
		m.Handle("GET /fhir/ImagingStudy/{id}", access.Allow(studyViewers...), 0, s.imagingRead(m))
		m.Handle("GET /fhir/ImagingStudy", access.Allow(studyViewers...), 0, s.imagingSearch(m))
	}
	if s.Readings != nil || s.Prescriptions != nil {
		// Signatures: of the reports (the study page's viewers) and the
		// prescriptions (prescribers and pharmacists) — every clinician
		// role; the handlers keep each kind to its readers.
		signed := access.Allow(access.Clinicians...)
		m.Handle("GET /fhir/Provenance/{id}", signed, 0, s.provenanceRead(m))
		m.Handle("GET /fhir/Provenance", signed, 0, s.provenanceSearch(m))
	}
}

// CapabilityStatement declares what the server does — and only that.
type CapabilityStatement struct {
	ResourceType   string         `json:"resourceType"`
	Status         string         `json:"status"`
	Date           string         `json:"date"`
	Kind           string         `json:"kind"`
	Software       map[string]any `json:"software"`
	Implementation map[string]any `json:"implementation,omitempty"` // this installation (required with kind instance)
	FHIRVersion    string         `json:"fhirVersion"`
	Format         []string       `json:"format"`
	Instantiates   []string       `json:"instantiates,omitempty"`
	Rest           []CapRest      `json:"rest"`
}

// CapRest is the server's REST capability.
type CapRest struct {
	Mode          string           `json:"mode"`
	Documentation string           `json:"documentation,omitempty"`
	Security      *CapSecurity     `json:"security,omitempty"`
	Resource      []CapResource    `json:"resource"`
	Interaction   []map[string]any `json:"interaction,omitempty"` // transaction, batch
	Operation     []CapOperation   `json:"operation,omitempty"`
}

// CapResource is what the server does with one resource type.
type CapResource struct {
	Type              string           `json:"type"`
	Interaction       []map[string]any `json:"interaction"`
	Versioning        string           `json:"versioning,omitempty"`
	ConditionalCreate bool             `json:"conditionalCreate,omitempty"`
	SearchInclude     []string         `json:"searchInclude,omitempty"`
	SearchRevInclude  []string         `json:"searchRevInclude,omitempty"`
	SearchParam       []CapSearchParam `json:"searchParam,omitempty"`
	Operation         []CapOperation   `json:"operation,omitempty"`
}

// CapOperation is an operation on a resource type (Patient/{id}/$everything).
type CapOperation struct {
	Name          string `json:"name"`
	Definition    string `json:"definition"`
	Documentation string `json:"documentation,omitempty"`
}

// CapSearchParam is one supported search parameter.
type CapSearchParam struct {
	Name string `json:"name"`
	Type string `json:"type"`
}

// Capability is the server's CapabilityStatement: what s serves.
func (s *Server) Capability() CapabilityStatement {
	read := []map[string]any{{"code": "read"}, {"code": "search-type"}}
	cs := CapabilityStatement{ResourceType: "CapabilityStatement", Status: "active", Date: "2026-12-07", Kind: "instance",
		Software: map[string]any{"name": "countycare"}, FHIRVersion: "4.0.1", Format: []string{"json"},
		Rest: []CapRest{{Mode: "server",
			Resource: []CapResource{
				{Type: "Patient", Interaction: codes("read", "vread", "history-instance", "search-type", "create"), Versioning: "versioned", ConditionalCreate: true, SearchParam: []CapSearchParam{{"_id", "token"}, {"identifier", "token"}, {"name", "string"}, {"birthdate", "date"}, {"_count", "number"}, {"_cursor", "string"}, {"_summary", "token"}},
					Operation: []CapOperation{{Name: "everything", Definition: "http://hl7.org/fhir/OperationDefinition/Patient-everything"}}},
				{Type: "Organization", Interaction: read, SearchParam: []CapSearchParam{{"_id", "token"}, {"partof", "reference"}, {"type", "token"}, {"name", "string"}, {"_count", "number"}, {"_summary", "token"}},
					SearchRevInclude: []string{"Location:organization"}},
				{Type: "Location", Interaction: read, SearchParam: []CapSearchParam{{"_id", "token"}, {"partof", "reference"}, {"organization", "reference"}, {"type", "token"}, {"name", "string"}, {"_count", "number"}, {"_summary", "token"}},
					SearchInclude: []string{"Location:organization"}},
				{Type: "Practitioner", Interaction: read, SearchParam: []CapSearchParam{{"_id", "token"}, {"name", "string"}, {"_count", "number"}},
					SearchRevInclude: []string{"PractitionerRole:practitioner"}},
				{Type: "PractitionerRole", Interaction: read, SearchParam: []CapSearchParam{{"practitioner", "reference"}, {"organization", "reference"}, {"specialty", "token"}, {"_count", "number"}},
					SearchInclude: []string{"PractitionerRole:practitioner"}},
				{Type: "Group", Interaction: read, SearchParam: []CapSearchParam{{"identifier", "token"}, {"member", "reference"}, {"_id", "token"}},
					SearchInclude: []string{"Group:member"}},
				{Type: "RelatedPerson", Interaction: read, SearchParam: []CapSearchParam{{"patient", "reference"}, {"_id", "token"}, {"_count", "number"}, {"_summary", "token"}},
					SearchInclude: []string{"RelatedPerson:patient"}},
			}}}}
	obs := []CapSearchParam{{"patient", "reference"}, {"code", "token"}, {"date", "date"}, {"_lastUpdated", "date"}, {"_count", "number"}, {"_cursor", "string"}, {"_summary", "token"}}
	obsIncludes := []string{"Observation:patient", "Observation:subject"}
	if s.Chronic != nil {
		cs.Rest[0].Resource = append(cs.Rest[0].Resource,
			CapResource{Type: "Condition", Interaction: codes("read", "vread", "history-instance", "search-type", "create", "update"), Versioning: "versioned",
				SearchParam:   []CapSearchParam{{"patient", "reference"}, {"date", "date"}, {"_lastUpdated", "date"}, {"_count", "number"}, {"_cursor", "string"}, {"_summary", "token"}},
				SearchInclude: []string{"Condition:patient", "Condition:subject"}})
		cs.Rest[0].Interaction = codes("transaction", "batch")
	}
	if s.Chronic != nil {
		cs.Rest[0].Resource = append(cs.Rest[0].Resource, CapResource{Type: "Observation",
			Interaction: codes("read", "vread", "history-instance", "search-type", "create"), Versioning: "versioned", SearchParam: obs, SearchInclude: obsIncludes})
	} else if s.Labs != nil {
		cs.Rest[0].Resource = append(cs.Rest[0].Resource,
			CapResource{Type: "Observation", Interaction: codes("search-type"), SearchParam: obs, SearchInclude: obsIncludes})
	}
	if s.Readings != nil || s.Labs != nil {
		cs.Rest[0].Resource = append(cs.Rest[0].Resource, CapResource{Type: "DiagnosticReport", Interaction: read,
			SearchParam: searchParams("DiagnosticReport", CapSearchParam{"code", "token"}), SearchInclude: []string{"DiagnosticReport:subject", "DiagnosticReport:patient"}})
	}
	if s.Consult != nil || s.Referral != nil || s.Online != nil {
		for _, typ := range []string{"ServiceRequest", "Encounter"} {
			r := CapResource{Type: typ, Interaction: read, SearchParam: searchParams(typ), SearchInclude: []string{typ + ":subject", typ + ":patient"},
				SearchRevInclude: revIncludes(typ)}
			if typ == "ServiceRequest" && (s.Referral != nil || s.Consult != nil) {
				r.Interaction = codes("read", "search-type", "create")
			}
			cs.Rest[0].Resource = append(cs.Rest[0].Resource, r)
		}
	}
	if s.Prescriptions != nil {
		for _, typ := range []string{"MedicationRequest", "MedicationDispense"} {
			cs.Rest[0].Resource = append(cs.Rest[0].Resource, CapResource{Type: typ, Interaction: read, SearchParam: searchParams(typ),
				SearchInclude: []string{typ + ":subject", typ + ":patient"}, SearchRevInclude: revIncludes(typ)})
		}
	}
	if s.Settle != nil {
		for _, typ := range []string{"ExplanationOfBenefit", "Claim"} {
			cs.Rest[0].Resource = append(cs.Rest[0].Resource, CapResource{Type: typ, Interaction: read, SearchParam: searchParams(typ),
				SearchInclude: []string{typ + ":patient"}})
		}
		cs.Rest[0].Resource = append(cs.Rest[0].Resource, CapResource{Type: "Coverage", Interaction: read,
			SearchParam: []CapSearchParam{{"patient", "reference"}, {"_id", "token"}, {"_lastUpdated", "date"}, {"status", "token"}, {"_count", "number"},
				{"_cursor", "string"}, {"_summary", "token"}},
			SearchInclude: []string{"Coverage:patient", "Coverage:beneficiary"}})
	}
	if s.Readings != nil {
		cs.Rest[0].Resource = append(cs.Rest[0].Resource, CapResource{Type: "ImagingStudy", Interaction: read, SearchParam: searchParams("ImagingStudy"),
			SearchInclude: []string{"ImagingStudy:patient", "ImagingStudy:subject"}})
	}
	if s.Readings != nil || s.Prescriptions != nil {
		cs.Rest[0].Resource = append(cs.Rest[0].Resource, CapResource{Type: "Provenance", Interaction: read,
			SearchParam: []CapSearchParam{{"patient", "reference"}, {"_id", "token"}, {"target", "reference"}, {"date", "date"}, {"_count", "number"},
				{"_cursor", "string"}, {"_summary", "token"}},
			SearchInclude: []string{"Provenance:patient"}})
	}
	if s.Family != nil {
		for _, typ := range []string{"CarePlan", "CareTeam", "Consent"} {
			cs.Rest[0].Resource = append(cs.Rest[0].Resource, CapResource{Type: typ, Interaction: read, SearchParam: searchParams(typ),
				SearchInclude: []string{typ + ":patient", typ + ":subject"}})
		}
	}
	for _, typ := range []string{"CodeSystem", "ValueSet"} {
		r := CapResource{Type: typ, Interaction: read, SearchParam: []CapSearchParam{{"url", "uri"}, {"name", "string"}, {"_summary", "token"}}}
		if typ == "ValueSet" {
			r.Operation = []CapOperation{{Name: "expand", Definition: "http://hl7.org/fhir/OperationDefinition/ValueSet-expand"}}
		}
		cs.Rest[0].Resource = append(cs.Rest[0].Resource, r)
	}
	if s.AuditLog != nil {
		cs.Rest[0].Resource = append(cs.Rest[0].Resource, CapResource{Type: "AuditEvent", Interaction: read,
			SearchParam: []CapSearchParam{{"patient", "reference"}, {"agent", "token"}, {"date", "date"}, {"action", "token"}, {"subtype", "token"},
				{"_count", "number"}, {"_cursor", "string"}}})
	}
	s.bulkCapability(&cs)
	types := make([]string, len(cs.Rest[0].Resource))
	for i, r := range cs.Rest[0].Resource {
		types[i] = r.Type
	}
	for _, v := range revincludes() { // Patient?_revinclude= of the types served
		if typ, _, _ := strings.Cut(v, ":"); slices.Contains(types, typ) {
			cs.Rest[0].Resource[0].SearchRevInclude = append(cs.Rest[0].Resource[0].SearchRevInclude, v)
		}
	}
	cs.Rest[0].Documentation = "Resources: " + strings.Join(types, ", ") +
		". Writes: Patient (create, conditional create by identifier), Condition (create, update of the clinical status), Observation (create: a follow-up visit's measurements), " +
		"ServiceRequest (create: an up-referral, category SNOMED CT 3457005, through the referral page's rules; a remote consultation request, category 11429006, through the consultation page's; a multidisciplinary one's performer is a contained CareTeam of the invited departments), " +
		"transaction and batch bundles at POST /fhir (Synthea R4 bundles; types not held are reported per entry). " +
		"Earlier versions are not kept: a vread of one is 410. Users sign in with their countycare session; each record read and write is audited. " +
		"docs/fhir.md gives the mapping and lists what is not built yet."
	return cs
}

// codes is a list of interaction codes.
func codes(cs ...string) []map[string]any {
	out := make([]map[string]any, len(cs))
	for i, c := range cs {
		out[i] = map[string]any{"code": c}
	}
	return out
}

// pagedParams are the search parameters of the paged patient searches
// (DiagnosticReport, ServiceRequest, Encounter).
func pagedParams() []CapSearchParam {
	return []CapSearchParam{{"patient", "reference"}, {"_id", "token"}, {"date", "date"}, {"status", "token"}, {"_count", "number"},
		{"_cursor", "string"}, {"_summary", "token"}}
}

// searchParams are the search parameters a paged search of typ declares:
// pagedParams, _lastUpdated where the type's resources carry
// meta.lastUpdated, and extra.
func searchParams(typ string, extra ...CapSearchParam) []CapSearchParam {
	ps := append(pagedParams(), extra...)
	if slices.Contains(lastUpdatedTypes, typ) {
		ps = append(ps, CapSearchParam{"_lastUpdated", "date"})
	}
	return ps
}

// metadata: GET /fhir/metadata, open to anyone (FHIR clients read it before signing in).
func (s *Server) metadata(w http.ResponseWriter, r *http.Request, rq web.Request) error {
	cs := s.Capability()
	cs.Implementation = map[string]any{"description": "countycare", "url": s.base(r)}
	if sec := cs.Rest[0].Security; sec != nil && len(sec.Extension) > 0 {
		sec.Extension[0]["extension"] = []map[string]any{{"url": "token", "valueUri": s.base(r) + TokenPath}}
	}
	writeJSON(w, http.StatusOK, cs)
	return nil
}
