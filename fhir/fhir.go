// Package fhir is the HL7 FHIR R4 face of the platform (issue 12): a FHIR
// server at /fhir that maps the records the platform already holds — not a
// second copy — to FHIR resources, for any FHIR client, the provincial
// platform and other systems. It is a web.Face: its routes go through the
// web server's wrapper (session, route policies, write checks, the audit
// barrier), and every record it returns is read through the domain
// services, so the scopes and the audit trail are those of the pages.
// docs/fhir.md gives the mapping resource by resource and what is not
// built yet; the CapabilityStatement at /fhir/metadata says the same to
// clients.
package fhir

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"countycare/audit"
	"countycare/bulkdata"
	"countycare/care"
	"countycare/chronic"
	"countycare/consult"
	"countycare/family"
	"countycare/lab"
	"countycare/online"
	"countycare/org"
	"countycare/reading"
	"countycare/referral"
	"countycare/resident"
	"countycare/rx"
	"countycare/settle"
	"countycare/smart"
	"countycare/web"
)

// Server serves /fhir.
type Server struct {
	Residents *resident.Service
	Orgs      *org.Service
	Chronic   *chronic.Service  // nil: no Condition and no follow-up Observations
	Readings  *reading.Workflow // nil: no DiagnosticReport
	// DICOMweb: nil, ImagingStudy without its series and instances.
	DICOMweb *reading.DICOMweb
	Labs     *lab.Service      // nil: no lab result Observations
	Consult  *consult.Service  // nil: no consultations (ServiceRequest, Encounter)
	Referral *referral.Service // nil: no referrals (ServiceRequest, Encounter)
	Settle   *settle.Service   // nil: no ExplanationOfBenefit
	Online   *online.Service   // nil: no online visits (Encounter)
	// Family: nil, no CarePlan, CareTeam and contract Consent (family
	// doctor contracts and teams).
	Family *family.Service
	// Prescriptions: nil, no MedicationRequest and MedicationDispense.
	Prescriptions *rx.Service
	// Atomic, if set, runs a transaction bundle's writes as one database
	// transaction (store.Store.Atomic); nil: transactions are refused.
	Atomic Atomic
	// Base is the absolute address of /fhir that links and fullUrls use
	// (serve --public-url + "/fhir"); empty: taken from the request's host.
	Base string
	Now  func() time.Time

	// SMART Backend Services and Bulk Data export (smart.go, bulk.go,
	// exporter.go). Systems nil: no token endpoint and no system clients;
	// Exports nil: no $export.
	Systems   *smart.Service
	Exports   ExportStore
	ExportCfg bulkdata.Config
	Audit     audit.Recorder
	// AuditLog: nil, no AuditEvent (auditevent.go).
	AuditLog AuditLog
	t        func(lang, key string, args ...any) string // the catalogue, set by Routes
}

// ContentType is the FHIR JSON media type.
const ContentType = "application/fhir+json; charset=utf-8"

// MaxCount is the largest page a search returns (_count).
const MaxCount = 100

// Routes registers the FHIR interactions (web.Face).
func (s *Server) Routes(m *web.Mount) {
	s.t = m.T
	s.routes(m)
	s.householdRoutes(m)
	s.terminologyRoutes(m)
	s.bulkRoutes(m)
	s.auditRoutes(m)
}

// WriteError answers with an OperationOutcome (web.Face): the status of
// the server's error table, the issue type FHIR names for it, the message
// in the reader's language and one issue per field error with its
// FHIRPath expression.
func (s *Server) WriteError(w http.ResponseWriter, r *http.Request, e web.FaceError) {
	oo := OperationOutcome{ResourceType: "OperationOutcome"}
	code := issueType(e.Code)
	if e.Status == http.StatusUnprocessableEntity && r.Method == http.MethodGet {
		// FHIR answers a search or read it cannot process with 400; 422 is
		// for content that fails its rules on create or update.
		e.Status = http.StatusBadRequest
	}
	if len(e.Fields) == 0 {
		oo.Issue = append(oo.Issue, Issue{Severity: "error", Code: code, Diagnostics: e.Message + " (request " + e.RequestID + ")"})
	}
	for _, f := range e.Fields {
		oo.Issue = append(oo.Issue, Issue{Severity: "error", Code: code, Diagnostics: f.Message + " (request " + e.RequestID + ")", Expression: []string{f.Field}})
	}
	writeJSON(w, e.Status, oo)
}

// issueType maps the platform's error codes to FHIR's issue types
// (http://hl7.org/fhir/valueset-issue-type.html).
func issueType(code string) string {
	switch code {
	case care.EINVALID:
		return "invalid"
	case care.ENOTFOUND:
		return "not-found"
	case care.EFORBIDDEN:
		return "forbidden"
	case care.EUNAUTHORIZED:
		return "login"
	case care.ECONFLICT:
		return "conflict"
	case care.ETOOLARGE:
		return "too-costly"
	case care.EUNSUPPORTED, care.ENOTACCEPT:
		return "not-supported"
	case care.ETOOMANY:
		return "throttled"
	case care.ELOCKED:
		return "security"
	case care.EUNAVAILABLE:
		return "transient"
	}
	return "exception"
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", ContentType)
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(true)
	enc.Encode(v)
}

// pageSize reads a _count parameter: a page of 1–MaxCount entries, or the
// field error every search gives for it.
func pageSize(v string) (int, *care.FieldError) {
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil || n < 1 || n > MaxCount {
		return 0, &care.FieldError{Field: "_count", Key: "fhir.count", Args: []any{MaxCount}}
	}
	return n, nil
}

// pathID reads the numeric id of a read's path: ENOTFOUND for anything
// else (FHIR ids are strings, but these resources' are numbers).
func pathID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, care.Errorf(care.ENOTFOUND, "error.not_found")
	}
	return id, nil
}

// base returns the absolute address of /fhir for links.
func (s *Server) base(r *http.Request) string {
	if s.Base != "" {
		return strings.TrimRight(s.Base, "/")
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host + "/fhir"
}

// instant formats a time as a FHIR instant (UTC, RFC 3339): machine data,
// not a page.
func instant(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

func boolp(b bool) *bool { return &b }
