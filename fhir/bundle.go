package fhir

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"countycare/care"
	"countycare/web"
)

// Transaction and batch bundles at POST /fhir (issue 12).
//
// A transaction is all or nothing: every entry is first read and checked
// (ParseBundle) and any fault refuses the whole bundle with an
// OperationOutcome naming each bad entry; then the entries are applied
// through the domain services inside one database transaction
// (Server.Atomic) — Patients first, then Conditions, then Observations,
// one follow-up visit per patient and day — with urn:uuid references
// resolved to what earlier entries created; a refusal by a service rolls
// everything back and names the entry. A batch applies each entry on its
// own and answers each with its status.
//
// Entries of resource types the platform does not hold (Encounter,
// Claim, Immunization … of a Synthea bundle) are not refused: each is
// answered "200 OK" with an OperationOutcome warning that it was not
// held, so nothing is dropped in silence; under Prefer: handling=strict
// they refuse the transaction instead.

// bundleIn is a transaction or batch Bundle as read.
type bundleIn struct {
	ResourceType string    `json:"resourceType"`
	Type         string    `json:"type"`
	Entry        []entryIn `json:"entry"`
}

type entryIn struct {
	FullURL      string
	Resource     []byte // the resource object as sent (decodeBundle); nil if none
	ResourceType []byte // its resourceType member's raw value; nil if none
	Request      *requestWire
}

// requestWire is an entry's request.
type requestWire struct {
	Method      string `json:"method"`
	URL         string `json:"url"`
	IfNoneExist string `json:"ifNoneExist"`
	IfMatch     string `json:"ifMatch"`
}

// Entry is one checked entry of a bundle.
type Entry struct {
	Index   int
	FullURL string
	Type    string // the resource's type
	Method  string // POST or PUT
	ID      int64  // PUT: the id updated
	IfNone  string // POST: the conditional create's criteria
	IfMatch int    // PUT: the version the update is for (0: any)
	res     *parsed
	held    bool              // the type is one the platform holds
	unheld  []care.FieldError // why an entry of a held type is not held
}

// unholdable are the faults of a resource the platform has no place for
// (rather than a malformed one): in a bundle they make the entry "not
// held" unless the client asks for strict handling.
var unholdable = []string{"fhir.condition_no_registry", "fhir.observation_code"}

// A Bundle's faults name the entry: Bundle.entry[i] and the element.
func entryFault(i int, path, key string, args ...any) care.FieldError {
	return bad(fmt.Sprintf("Bundle.entry[%d]%s", i, path), key, args...)
}

// ParseBundle reads and checks a transaction or batch bundle without
// writing anything: the entries, or the faults of every bad entry
// (EINVALID), or ETOOLARGE past MaxBundleEntries. strict refuses entries
// of types the platform does not hold.
func ParseBundle(body []byte, strict bool) (kind string, entries []Entry, err error) {
	b, err := decodeBundle(body)
	if err != nil {
		return "", nil, care.Invalid([]care.FieldError{bad("Bundle", "fhir.json", jsonDetail(err))})
	}
	if b.ResourceType != "Bundle" {
		return "", nil, care.Invalid([]care.FieldError{bad("resourceType", "fhir.resource_type_wrong", b.ResourceType, "Bundle")})
	}
	if b.Type != "transaction" && b.Type != "batch" {
		return "", nil, care.Invalid([]care.FieldError{bad("Bundle.type", "fhir.bundle_type", b.Type)})
	}
	if len(b.Entry) > MaxBundleEntries {
		return "", nil, care.Errorf(care.ETOOLARGE, "fhir.bundle_entries", MaxBundleEntries)
	}
	var fs []care.FieldError
	urls := make(map[string]bool, len(b.Entry))
	entries = make([]Entry, 0, len(b.Entry))
	for i, e := range b.Entry {
		x := Entry{Index: i, FullURL: e.FullURL}
		if e.FullURL != "" {
			if urls[e.FullURL] {
				fs = append(fs, entryFault(i, ".fullUrl", "fhir.full_url_twice", e.FullURL))
			}
			urls[e.FullURL] = true
		}
		if e.Request == nil {
			fs = append(fs, entryFault(i, ".request", "fhir.request_required"))
			continue
		}
		typ, known := typeName(e.ResourceType)
		if !known {
			if e.ResourceType == nil || unmarshalMember("resourceType", e.ResourceType, &typ) != nil || typ == "" {
				fs = append(fs, entryFault(i, ".resource", "fhir.resource_type_missing"))
				continue
			}
			_, known = resourceTypeNames[typ] // a name written with escapes
		}
		x.Type = typ
		target, rest, _ := strings.Cut(strings.TrimPrefix(e.Request.URL, "/"), "?")
		urlType, urlID, _ := strings.Cut(target, "/")
		switch {
		case !known:
			fs = append(fs, entryFault(i, ".resource.resourceType", "fhir.type_unknown", typ))
			continue
		case urlType != typ:
			fs = append(fs, entryFault(i, ".request.url", "fhir.resource_type_wrong", typ, urlType))
			continue
		}
		x.Method = e.Request.Method
		x.held = slices.Contains(writable, typ)
		if !x.held {
			if strict {
				fs = append(fs, entryFault(i, ".resource", "fhir.type_not_writable", typ, strings.Join(writable, ", ")))
			}
			entries = append(entries, x)
			continue
		}
		switch {
		case x.Method == "POST" && urlID == "" && rest == "":
			x.IfNone = e.Request.IfNoneExist
			if x.IfNone != "" {
				if _, _, f := ifNoneExist(typ, x.IfNone); f != nil {
					fs = append(fs, entryFault(i, ".request.ifNoneExist", "fhir.if_none_exist"))
				}
			}
		case x.Method == "PUT" && typ == "Condition" && rest == "":
			id, err := strconv.ParseInt(urlID, 10, 64)
			v, ok := ifMatch(e.Request.IfMatch)
			if err != nil || id <= 0 {
				fs = append(fs, entryFault(i, ".request.url", "fhir.update_url"))
			}
			if !ok {
				fs = append(fs, entryFault(i, ".request.ifMatch", "fhir.if_match"))
			}
			x.ID, x.IfMatch = id, v
		default:
			fs = append(fs, entryFault(i, ".request", "fhir.entry_method", x.Method, typ))
			continue
		}
		p, pf := parseObject(members(e.Resource), typ)
		if !strict && len(pf) > 0 && !slices.ContainsFunc(pf, func(f care.FieldError) bool { return !slices.Contains(unholdable, f.Key) }) {
			// A diagnosis without a registry, a measurement a follow-up
			// does not record: not held, and said so.
			x.held = false
			x.unheld = pf
			entries = append(entries, x)
			continue
		}
		for _, f := range pf {
			fs = append(fs, entryFault(i, ".resource."+strings.TrimPrefix(strings.TrimPrefix(f.Field, typ), "."), f.Key, f.Args...))
		}
		x.res = p
		entries = append(entries, x)
	}
	if err := care.Invalid(fs); err != nil {
		return "", nil, err
	}
	return b.Type, entries, nil
}

// entryResult is the outcome of one entry: what was written, or the error.
type entryResult struct {
	w   *written
	err error
}

// apply applies checked entries through the services for wr's actor in
// the FHIR processing order (creates of Patients, then Conditions, then
// the rest; one follow-up visit per patient and day), resolving fullUrls.
// stop says whether to stop at the first refusal (a transaction: the
// caller rolls back). An internal error always stops.
func (wr *writer) apply(ctx context.Context, entries []Entry, stop bool) ([]entryResult, error) {
	out := make([]entryResult, len(entries))
	failed := false
	done := func(i int, w *written, err error) error {
		out[i] = entryResult{w, err}
		if err != nil {
			failed = true
			if !stop && care.ErrorCode(err) != care.EINTERNAL {
				return nil
			}
			return err
		}
		if w.held && entries[i].FullURL != "" && w.id != "" {
			wr.refs[entries[i].FullURL] = w.typ + "/" + w.id
		}
		return nil
	}
	for i := range entries {
		switch {
		case entries[i].unheld != nil:
			out[i] = entryResult{w: &written{typ: entries[i].Type, warnings: entries[i].unheld}}
		case !entries[i].held:
			out[i] = entryResult{w: &written{typ: entries[i].Type, warnings: []care.FieldError{bad(entries[i].Type, "fhir.not_held_type", entries[i].Type)}}}
		}
	}
	for _, typ := range []string{"Patient", "Condition"} {
		for i, e := range entries {
			if !e.held || e.Type != typ {
				continue
			}
			var w *written
			var err error
			switch {
			case typ == "Patient":
				w, err = wr.createPatient(ctx, e.res.patient, e.IfNone)
			case e.Method == "PUT":
				w, err = wr.updateCondition(ctx, e.ID, e.res.cond, e.IfMatch)
			default:
				w, err = wr.createCondition(ctx, e.res.cond)
			}
			if err := done(i, w, err); err != nil {
				return out, err
			}
		}
	}
	// Observations: one visit per patient and day, in the bundle's order.
	var groups [][]int
	for i, e := range entries {
		if !e.held || e.Type != "Observation" {
			continue
		}
		placed := false
		for g := range groups {
			if sameVisit(entries[groups[g][0]].res.obs, e.res.obs, wr) && !collides(entries, groups[g], e.res.obs.kind) {
				groups[g], placed = append(groups[g], i), true
				break
			}
		}
		if !placed {
			groups = append(groups, []int{i})
		}
	}
	for _, g := range groups {
		obs := make([]*observationIn, len(g))
		for k, i := range g {
			obs[k] = entries[i].res.obs
		}
		ws, err := wr.createVisit(ctx, obs, true)
		for k, i := range g {
			var w *written
			if err == nil {
				w = ws[k]
			}
			if e := done(i, w, err); e != nil {
				return out, e
			}
		}
	}
	if failed && stop {
		return out, care.Errorf(care.EINVALID, "fhir.transaction_failed")
	}
	return out, nil
}

// collides reports whether a visit's group already holds a measurement of
// kind (a second one the same day starts another group, which the
// registry then refuses as a second visit that day).
func collides(entries []Entry, group []int, kind string) bool {
	for _, i := range group {
		if entries[i].res.obs.kind == kind {
			return true
		}
	}
	return false
}

// Atomic runs fn so that every write under its context is one database
// transaction (store.Store.Atomic); the server refuses transactions
// without it.
type Atomic func(ctx context.Context, fn func(ctx context.Context) error) error

// bundle: POST /fhir — a transaction or batch Bundle (see above). Bodies
// up to MaxBundleBytes and MaxBundleEntries (413 past either).
func (s *Server) bundle(m *web.Mount) web.FaceHandler {
	return func(w http.ResponseWriter, r *http.Request, rq web.Request) error {
		body, err := readBody(r, MaxBundleBytes)
		if err != nil {
			return err
		}
		kind, entries, err := ParseBundle(body, strings.Contains(r.Header.Get("Prefer"), "handling=strict"))
		if err != nil {
			return err
		}
		wr := s.writer(rq.Actor)
		var results []entryResult
		if kind == "batch" {
			results, err = wr.apply(r.Context(), entries, false)
		} else {
			if s.Atomic == nil {
				return care.Errorf(care.EUNSUPPORTED, "fhir.transaction_unsupported")
			}
			err = s.Atomic(r.Context(), func(ctx context.Context) error {
				var aerr error
				results, aerr = wr.apply(ctx, entries, true)
				return aerr
			})
		}
		if err != nil && (kind == "batch" || care.ErrorCode(err) == care.EINTERNAL || results == nil) {
			return err
		}
		if err != nil {
			// The transaction was rolled back: name each refused entry.
			var fs []care.FieldError
			for i, x := range results {
				if x.err != nil {
					fs = append(fs, s.entryFaults(entries[i].Index, x.err)...)
				}
			}
			return &care.Error{Code: care.ErrorCode(err), Key: "fhir.transaction_failed", Fields: fs}
		}
		writeJSON(w, http.StatusOK, s.responseBundle(r, m, rq, kind, entries, results))
		return nil
	}
}

// entryFaults turns a service's refusal of entry i into field errors
// naming the entry.
func (s *Server) entryFaults(i int, err error) []care.FieldError {
	var ce *care.Error
	if !asErr(err, &ce) {
		return []care.FieldError{entryFault(i, "", "error.internal")}
	}
	if len(ce.Fields) == 0 {
		return []care.FieldError{entryFault(i, "", ce.Key, ce.Args...)}
	}
	var fs []care.FieldError
	for _, f := range ce.Fields {
		fs = append(fs, entryFault(i, ".resource("+f.Field+")", f.Key, f.Args...))
	}
	return fs
}

// responseBundle answers a batch or transaction: one entry per request
// entry, in order, with its status, location, version and outcome.
func (s *Server) responseBundle(r *http.Request, m *web.Mount, rq web.Request, kind string, entries []Entry, results []entryResult) ResponseBundle {
	b := ResponseBundle{ResourceType: "Bundle", Type: kind + "-response", Meta: &Meta{LastUpdated: instant(s.Now())}}
	if len(results) > 0 {
		b.Entry = make([]HistoryEntry, 0, len(results))
	}
	base := s.base(r)
	// Entries of a type the platform does not hold (most of a Synthea
	// bundle) share their type's outcome: the same words for each.
	notHeld := map[string]*OperationOutcome{}
	for i, x := range results {
		resp := &BundleResponse{}
		switch {
		case x.err != nil:
			status := statusOf(care.ErrorCode(x.err))
			resp.Status = strconv.Itoa(status) + " " + http.StatusText(status)
			oo := OperationOutcome{ResourceType: "OperationOutcome"}
			for _, f := range s.entryFaults(entries[i].Index, x.err) {
				oo.Issue = append(oo.Issue, Issue{Severity: "error", Code: issueType(care.ErrorCode(x.err)),
					Diagnostics: m.T(rq.Lang, f.Key, f.Args...), Expression: []string{f.Field}})
			}
			resp.Outcome = &oo
		case x.w.held:
			resp.Status = "200 OK"
			if x.w.created {
				resp.Status = "201 Created"
			}
			resp.Location = base + "/" + x.w.location()
			resp.Etag = `W/"` + strconv.Itoa(x.w.version) + `"`
			resp.LastModified = instant(x.w.at)
			var warns []care.FieldError
			if entries[i].res != nil {
				warns = entries[i].res.warnings
			}
			if warns = append(slices.Clone(warns), x.w.warnings...); len(warns) > 0 {
				oo := s.outcomeOf(m, rq.Lang, x.w, warns)
				resp.Outcome = &oo
			}
		case !entries[i].held && entries[i].unheld == nil:
			resp.Status = "200 OK"
			if resp.Outcome = notHeld[entries[i].Type]; resp.Outcome == nil {
				oo := s.outcomeOf(m, rq.Lang, x.w, x.w.warnings)
				resp.Outcome, notHeld[entries[i].Type] = &oo, &oo
			}
		default:
			resp.Status = "200 OK"
			oo := s.outcomeOf(m, rq.Lang, x.w, x.w.warnings)
			resp.Outcome = &oo
		}
		b.Entry = append(b.Entry, HistoryEntry{FullURL: entries[i].FullURL, Response: resp})
	}
	return b
}

// statusOf is the HTTP status of an entry refused with code (the server's
// error table, as web/errors.go).
func statusOf(code string) int {
	switch code {
	case care.EINVALID:
		return http.StatusUnprocessableEntity
	case care.ENOTFOUND:
		return http.StatusNotFound
	case care.EFORBIDDEN:
		return http.StatusForbidden
	case care.ECONFLICT:
		return http.StatusConflict
	}
	return http.StatusInternalServerError
}

// typeName reads a resourceType member's raw value: the type's name, and
// whether it is one of resourceTypes (found without a copy: an entry's
// type costs no allocation).
func typeName(raw []byte) (string, bool) {
	if len(raw) < 2 || raw[0] != '"' {
		return "", false
	}
	name, ok := resourceTypeNames[string(raw[1:len(raw)-1])]
	return name, ok
}

// resourceTypeNames holds resourceTypes by name.
var resourceTypeNames = func() map[string]string {
	m := make(map[string]string, len(resourceTypes))
	for _, t := range resourceTypes {
		m[t] = t
	}
	return m
}()

// resourceTypes are the resource types of FHIR R4 (4.0.1): a type not
// among them is unknown (refused); one among them the platform does not
// hold is reported as not held.
var resourceTypes = strings.Fields(`Account ActivityDefinition AdverseEvent AllergyIntolerance Appointment
AppointmentResponse AuditEvent Basic Binary BiologicallyDerivedProduct BodyStructure Bundle CapabilityStatement
CarePlan CareTeam CatalogEntry ChargeItem ChargeItemDefinition Claim ClaimResponse ClinicalImpression CodeSystem
Communication CommunicationRequest CompartmentDefinition Composition ConceptMap Condition Consent Contract Coverage
CoverageEligibilityRequest CoverageEligibilityResponse DetectedIssue Device DeviceDefinition DeviceMetric DeviceRequest
DeviceUseStatement DiagnosticReport DocumentManifest DocumentReference EffectEvidenceSynthesis Encounter Endpoint
EnrollmentRequest EnrollmentResponse EpisodeOfCare EventDefinition Evidence EvidenceVariable ExampleScenario
ExplanationOfBenefit FamilyMemberHistory Flag Goal GraphDefinition Group GuidanceResponse HealthcareService
ImagingStudy Immunization ImmunizationEvaluation ImmunizationRecommendation ImplementationGuide InsurancePlan Invoice
Library Linkage List Location Measure MeasureReport Media Medication MedicationAdministration MedicationDispense
MedicationKnowledge MedicationRequest MedicationStatement MedicinalProduct MedicinalProductAuthorization
MedicinalProductContraindication MedicinalProductIndication MedicinalProductIngredient MedicinalProductInteraction
MedicinalProductManufactured MedicinalProductPackaged MedicinalProductPharmaceutical MedicinalProductUndesirableEffect
MessageDefinition MessageHeader MolecularSequence NamingSystem NutritionOrder Observation ObservationDefinition
OperationDefinition OperationOutcome Organization OrganizationAffiliation Parameters Patient PaymentNotice
PaymentReconciliation Person PlanDefinition Practitioner PractitionerRole Procedure Provenance Questionnaire
QuestionnaireResponse RelatedPerson RequestGroup ResearchDefinition ResearchElementDefinition ResearchStudy
ResearchSubject RiskAssessment RiskEvidenceSynthesis Schedule SearchParameter ServiceRequest Slot SpecimenDefinition
Specimen StructureDefinition StructureMap Subscription Substance SubstanceNucleicAcid SubstancePolymer
SubstanceProtein SubstanceReferenceInformation SubstanceSourceMaterial SubstanceSpecification SupplyDelivery
SupplyRequest Task TerminologyCapabilities TestReport TestScript ValueSet VerificationResult VisionPrescription`)
