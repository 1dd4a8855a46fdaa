package fhir

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"countycare/access"
	"countycare/audit"
	"countycare/care"
	"countycare/smart"
	"countycare/web"
)

// AuditEvent (https://hl7.org/fhir/R4/auditevent.html): the platform's
// audit rows, for the auditor and for county-wide system clients granted
// system/AuditEvent.read by name (a wildcard scope does not reach the
// audit trail). Every other role is refused by the route policy. Reading
// the rows is itself one audit.search row per request, naming what was
// asked — never a row per row returned, so the trail does not feed itself.

// AuditLog is what AuditEvent needs of the database (store.Store).
type AuditLog interface {
	SearchAudit(ctx context.Context, f audit.Filter) ([]audit.Event, error)
}

// AuditEvent is one audit row.
type AuditEvent struct {
	ResourceType   string            `json:"resourceType"`
	ID             string            `json:"id"`
	Meta           *Meta             `json:"meta,omitempty"`
	Type           Coding            `json:"type"`
	Subtype        []Coding          `json:"subtype,omitempty"`
	Action         string            `json:"action,omitempty"`
	Recorded       string            `json:"recorded"`
	Outcome        string            `json:"outcome,omitempty"`
	OutcomeDesc    string            `json:"outcomeDesc,omitempty"`
	PurposeOfEvent []CodeableConcept `json:"purposeOfEvent,omitempty"`
	Agent          []AuditAgent      `json:"agent"`
	Source         AuditSource       `json:"source"`
	Entity         []AuditEntity     `json:"entity,omitempty"`
}

// IdentifiedReference is a reference that may name its target by a
// business identifier (an account's user name) rather than a resource id.
type IdentifiedReference struct {
	Reference  string      `json:"reference,omitempty"`
	Identifier *Identifier `json:"identifier,omitempty"`
	Display    string      `json:"display,omitempty"`
}

// AuditAgent is who acted: a user account or a system client.
type AuditAgent struct {
	Type      *CodeableConcept     `json:"type,omitempty"`
	Role      []CodeableConcept    `json:"role,omitempty"`
	Who       *IdentifiedReference `json:"who,omitempty"`
	AltID     string               `json:"altId,omitempty"`
	Requestor bool                 `json:"requestor"`
	Location  *Reference           `json:"location,omitempty"`
}

// AuditSource is the platform that recorded the event.
type AuditSource struct {
	Site     string              `json:"site,omitempty"`
	Observer IdentifiedReference `json:"observer"`
	Type     []Coding            `json:"type,omitempty"`
}

// AuditEntity is a record the event concerned: the patient, and what was
// touched.
type AuditEntity struct {
	What        *Reference `json:"what,omitempty"`
	Type        *Coding    `json:"type,omitempty"`
	Role        *Coding    `json:"role,omitempty"`
	Name        string     `json:"name,omitempty"`
	Description string     `json:"description,omitempty"`
}

// Naming systems of AuditEvent.
const (
	SystemAuditAction = "http://countycare.cn/fhir/CodeSystem/audit-action" // the platform's action ("resident.read")
	SystemAccount     = "http://countycare.cn/fhir/sid/account"             // user names; a system client's is "system:<client_id>"
	SystemRole        = "http://countycare.cn/fhir/CodeSystem/role"
	systemDCM         = "http://dicom.nema.org/resources/ontology/DCM"
	systemEntityType  = "http://terminology.hl7.org/CodeSystem/audit-entity-type"
	systemObjectRole  = "http://terminology.hl7.org/CodeSystem/object-role"
	systemSourceType  = "http://terminology.hl7.org/CodeSystem/security-source-type"
	systemV3Purpose   = "http://countycare.cn/fhir/CodeSystem/purpose-of-use"
	systemAgentType   = "http://terminology.hl7.org/CodeSystem/v3-ParticipationType"
)

// auditVerbs gives the FHIR action code (C create, R read, U update, D
// delete; E execute for every other verb) of an action's verb, the last
// part of "<noun>.<verb>". The AuditEvent search's action parameter
// selects by the same table.
var auditVerbs = map[string]string{
	"create": "C", "register": "C", "import": "C", "enrol": "C", "book": "C", "order": "C", "upload": "C",
	"read": "R", "search": "R", "list": "R", "view": "R", "export": "R", "download": "R", "preview": "R", "records": "R",
	"reveal_id": "R", "duplicates": "R", "worklist": "R", "wado": "R", "study_read": "R",
	"update": "U", "merge": "U", "change": "U", "password_change": "U", "sign": "U", "decide": "U", "close": "U",
	"delete": "D", "cancel": "D", "deactivate": "D",
}

// auditActionCode is the FHIR action code of a platform action.
func auditActionCode(action string) string {
	verb := action[strings.LastIndexByte(action, '.')+1:]
	if c, ok := auditVerbs[verb]; ok {
		return c
	}
	return "E"
}

// auditTypeOf is the event type (DICOM audit message IDs, as the FHIR
// AuditEvent type value set lists them) of an action.
func auditTypeOf(e *audit.Event) Coding {
	noun, verb, _ := strings.Cut(e.Action, ".")
	switch {
	case noun == "auth" || noun == "smart":
		return Coding{System: systemDCM, Code: "110114", Display: "User Authentication"}
	case noun == "access":
		return Coding{System: systemDCM, Code: "110113", Display: "Security Alert"}
	case noun == "audit":
		return Coding{System: systemDCM, Code: "110101", Display: "Audit Log Used"}
	case verb == "export" || strings.HasPrefix(verb, "export"):
		return Coding{System: systemDCM, Code: "110106", Display: "Export"}
	case verb == "import":
		return Coding{System: systemDCM, Code: "110107", Display: "Import"}
	case e.ResidentID != 0:
		return Coding{System: systemDCM, Code: "110110", Display: "Patient Record"}
	}
	return Coding{System: systemDCM, Code: "110100", Display: "Application Activity"}
}

// auditOutcome is the R4 outcome code of an audit row's outcome: 0
// success, 4 minor failure (refused: denied, not found, invalid), 8
// serious failure.
func auditOutcome(o string) string {
	switch o {
	case audit.OutcomeOK:
		return "0"
	case audit.OutcomeDenied, audit.OutcomeNotFound, audit.OutcomeInvalid:
		return "4"
	}
	return "8"
}

// AuditEventOf maps one audit row — the same mapping for the read, the
// search and $export. recorded is in China time with its offset; t names
// the outcome, role and purpose in the reader's language.
func AuditEventOf(e *audit.Event, t func(string, ...any) string) AuditEvent {
	id := strconv.FormatInt(e.Seq, 10)
	ae := AuditEvent{ResourceType: "AuditEvent", ID: id, Type: auditTypeOf(e),
		Subtype:  []Coding{{System: SystemAuditAction, Code: e.Action}},
		Action:   auditActionCode(e.Action),
		Recorded: e.Time.In(care.Shanghai).Format("2006-01-02T15:04:05.000-07:00"),
		Outcome:  auditOutcome(e.Outcome), OutcomeDesc: t("audit.outcome." + e.Outcome),
		Source: AuditSource{Site: "countycare", Observer: IdentifiedReference{Display: "countycare",
			Identifier: &Identifier{System: "http://countycare.cn/fhir/sid/county", Value: e.CountyCode}},
			Type: []Coding{{System: systemSourceType, Code: "4", Display: "Application Server"}}},
	}
	if e.Purpose != "" {
		ae.PurposeOfEvent = []CodeableConcept{{Coding: []Coding{{System: systemV3Purpose, Code: e.Purpose}}}}
	}
	agent := AuditAgent{Requestor: true, AltID: e.RequestID,
		Who: &IdentifiedReference{Identifier: &Identifier{System: SystemAccount, Value: e.Username}, Display: e.Username}}
	if e.Role != "" {
		agent.Role = []CodeableConcept{{Coding: []Coding{{System: SystemRole, Code: string(e.Role)}}, Text: t("role." + string(e.Role))}}
	}
	if e.Role == smart.RoleSystem {
		agent.Type = &CodeableConcept{Coding: []Coding{{System: systemAgentType, Code: "CST", Display: "custodian"}}}
	} else {
		agent.Type = &CodeableConcept{Coding: []Coding{{System: systemAgentType, Code: "AUT", Display: "author (originator)"}}}
	}
	if e.InstitutionID != 0 {
		agent.Location = orgRef(e.InstitutionID)
	}
	if e.Username == "" {
		agent.Who = &IdentifiedReference{Display: "-"}
	}
	ae.Agent = []AuditAgent{agent}
	if e.ResidentID != 0 {
		ref := patientRef(e.ResidentID)
		ae.Entity = append(ae.Entity, AuditEntity{What: &ref,
			Type: &Coding{System: systemEntityType, Code: "1", Display: "Person"}, Role: &Coding{System: systemObjectRole, Code: "1", Display: "Patient"}})
	}
	if e.Detail != "" {
		noun, _, _ := strings.Cut(e.Action, ".")
		ae.Entity = append(ae.Entity, AuditEntity{Type: &Coding{System: systemEntityType, Code: "2", Display: "System Object"},
			Role: &Coding{System: systemObjectRole, Code: "4", Display: "Domain Resource"}, Name: noun, Description: e.Detail})
	}
	return ae
}

// auditReaders are the roles the AuditEvent routes admit; a system client
// must then be county-wide and hold system/AuditEvent.read by name.
var auditReaders = []care.Role{care.RoleAuditor, smart.RoleSystem}

func (s *Server) auditRoutes(m *web.Mount) {
	if s.AuditLog == nil {
		return
	}
	pol := access.Allow(auditReaders...)
	m.Handle("GET /fhir/AuditEvent/{id}", pol, 0, s.auditEventRead(m))
	m.Handle("GET /fhir/AuditEvent", pol, 0, s.auditEventSearch(m))
}

// auditScope reports whether a system client's grant names AuditEvent:
// system/AuditEvent.read (or .rs, .r, .s), never a wildcard.
func auditScope(ss smart.Scopes) bool {
	return slices.ContainsFunc(ss, func(s string) bool { return strings.HasPrefix(s, "system/AuditEvent.") })
}

// auditFilter is the county the reader may see ("" for the auditor: the
// whole trail, as the /audit page), or a refusal: a system client that is
// bound to an institution or lacks the scope.
func (s *Server) auditFilter(r *http.Request, rq web.Request, what string) (audit.Filter, error) {
	var f audit.Filter
	if rq.Actor.Role != smart.RoleSystem {
		return f, nil
	}
	sess := smart.SessionOf(r.Context())
	if sess == nil || sess.Client.InstitutionID != 0 || !auditScope(sess.Scopes) {
		s.denied(r, rq, audit.ActAuditSearch, what+": scope")
		return f, care.Errorf(care.EFORBIDDEN, "fhir.audit_scope")
	}
	f.CountyCode = sess.Client.CountyCode
	return f, nil
}

// auditEventRead: GET /fhir/AuditEvent/{seq}.
func (s *Server) auditEventRead(m *web.Mount) web.FaceHandler {
	return func(w http.ResponseWriter, r *http.Request, rq web.Request) error {
		f, err := s.auditFilter(r, rq, "AuditEvent/"+r.PathValue("id"))
		if err != nil {
			return err
		}
		seq, err := pathID(r)
		if err != nil {
			return err
		}
		f.BeforeSeq, f.Limit = seq+1, 1
		evs, err := s.AuditLog.SearchAudit(r.Context(), f)
		if err != nil {
			return err
		}
		ev := audit.New(r.Context(), rq.Actor, audit.ActAuditSearch, 0)
		ev.Detail = "fhir AuditEvent/" + r.PathValue("id")
		if len(evs) == 0 || evs[0].Seq != seq {
			ev.Outcome = audit.OutcomeNotFound
			s.Audit.Record(r.Context(), ev)
			return care.Errorf(care.ENOTFOUND, "error.not_found")
		}
		s.Audit.Record(r.Context(), ev)
		writeJSON(w, http.StatusOK, AuditEventOf(&evs[0], s.tr(rq.Lang)))
		return nil
	}
}

// auditSearchParams are the AuditEvent search's parameters.
var auditSearchParams = []string{"patient", "agent", "date", "action", "subtype", "_count", "_cursor"}

// parseAuditSearch reads an AuditEvent search into f: patient
// (Patient/id), agent ([system|]user name), date (repeatable, with
// prefixes), action (C, R, U, D, E), subtype ([system|]platform action,
// comma-separated for any of several), _count and
// _cursor (the seq the previous page ended before). It returns the page
// size and the parameters used, for the links.
func parseAuditSearch(q url.Values, f *audit.Filter) (int, url.Values, error) {
	var fe []care.FieldError
	used := url.Values{}
	one := func(k string) (string, bool) {
		vs := q[k]
		if len(vs) == 0 {
			return "", false
		}
		if len(vs) > 1 {
			fe = append(fe, care.FieldError{Field: k, Key: "fhir.one_value"})
			return "", false
		}
		used.Set(k, vs[0])
		return vs[0], true
	}
	for k := range q {
		if !slices.Contains(auditSearchParams, k) {
			fe = append(fe, care.FieldError{Field: k, Key: "fhir.unsupported_param", Args: []any{k}})
		}
	}
	count := 20
	if v, ok := one("_count"); ok {
		n, err := pageSize(v)
		if err != nil {
			fe = append(fe, *err)
		}
		count = n
	}
	if v, ok := one("_cursor"); ok {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n <= 0 {
			fe = append(fe, care.FieldError{Field: "_cursor", Key: "fhir.cursor"})
		}
		f.BeforeSeq = n
		used.Del("_cursor")
	}
	if v, ok := one("patient"); ok {
		id := numericID(strings.TrimPrefix(v, "Patient/"))
		if id == 0 {
			fe = append(fe, care.FieldError{Field: "patient", Key: "fhir.reference"})
		}
		f.ResidentIDs = []int64{id}
	}
	if v, ok := one("agent"); ok {
		sys, val, found := strings.Cut(v, "|")
		if !found {
			sys, val = "", v
		}
		if val == "" || (sys != "" && sys != SystemAccount) {
			fe = append(fe, care.FieldError{Field: "agent", Key: "fhir.audit_agent", Args: []any{SystemAccount}})
		}
		f.Username = val
	}
	for _, v := range q["date"] {
		from, to, err := instantRange(v)
		if err != nil {
			fe = append(fe, care.FieldError{Field: "date", Key: "fhir.date", Args: []any{v}})
			continue
		}
		if !from.IsZero() && (f.From.IsZero() || from.After(f.From)) {
			f.From = from
		}
		if !to.IsZero() && (f.To.IsZero() || to.Before(f.To)) {
			f.To = to
		}
		used.Add("date", v)
	}
	if v, ok := one("action"); ok {
		switch v {
		case "C", "R", "U", "D":
			for verb, c := range auditVerbs {
				if c == v {
					f.Verbs = append(f.Verbs, verb)
				}
			}
		case "E":
			for verb := range auditVerbs {
				f.NotVerbs = append(f.NotVerbs, verb)
			}
		default:
			fe = append(fe, care.FieldError{Field: "action", Key: "fhir.audit_action"})
		}
		slices.Sort(f.Verbs)
		slices.Sort(f.NotVerbs)
	}
	if v, ok := one("subtype"); ok {
		for _, a := range strings.Split(v, ",") {
			sys, code, found := strings.Cut(a, "|")
			if !found {
				sys, code = "", a
			}
			if code == "" || (sys != "" && sys != SystemAuditAction) {
				fe = append(fe, care.FieldError{Field: "subtype", Key: "fhir.code_system", Args: []any{sys}})
				continue
			}
			f.Actions = append(f.Actions, code)
		}
	}
	if len(fe) > 0 {
		return 0, nil, care.Invalid(fe)
	}
	return count, used, nil
}

// auditEventSearch: GET /fhir/AuditEvent?… — newest first, _count at a
// time, with a next link (keyset on the row's sequence number: stable
// while rows are appended).
func (s *Server) auditEventSearch(m *web.Mount) web.FaceHandler {
	return func(w http.ResponseWriter, r *http.Request, rq web.Request) error {
		f, err := s.auditFilter(r, rq, "AuditEvent?"+r.URL.RawQuery)
		if err != nil {
			return err
		}
		count, used, err := parseAuditSearch(r.URL.Query(), &f)
		if err != nil {
			return err
		}
		f.Limit = count + 1
		evs, err := s.AuditLog.SearchAudit(r.Context(), f)
		if err != nil {
			return err
		}
		ev := audit.New(r.Context(), rq.Actor, audit.ActAuditSearch, 0)
		if len(f.ResidentIDs) == 1 {
			ev.ResidentID = f.ResidentIDs[0]
		}
		ev.Detail = "fhir AuditEvent?" + r.URL.RawQuery
		s.Audit.Record(r.Context(), ev)
		more := len(evs) > count
		if more {
			evs = evs[:count]
		}
		self := s.base(r) + "/AuditEvent"
		if len(used) > 0 {
			self += "?" + used.Encode()
		}
		b := Bundle{ResourceType: "Bundle", Type: "searchset", Link: []BundleLink{{Relation: "self", URL: self}}}
		if !more && f.BeforeSeq == 0 {
			b.Total = intp(len(evs))
		}
		if more {
			next := url.Values{}
			for k, v := range used {
				next[k] = v
			}
			next.Set("_cursor", strconv.FormatInt(evs[len(evs)-1].Seq, 10))
			b.Link = append(b.Link, BundleLink{Relation: "next", URL: s.base(r) + "/AuditEvent?" + next.Encode()})
		}
		t := s.tr(rq.Lang)
		for i := range evs {
			b.Entry = append(b.Entry, BundleEntry{FullURL: s.base(r) + "/AuditEvent/" + strconv.FormatInt(evs[i].Seq, 10),
				Resource: AuditEventOf(&evs[i], t), Search: &EntrySearch{Mode: "match"}})
		}
		writeJSON(w, http.StatusOK, b)
		return nil
	}
}
