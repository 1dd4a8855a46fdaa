package fhir

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"countycare/access"
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

// Bulk Data Access (FHIR Bulk Data IG 2.0, https://hl7.org/fhir/uv/bulkdata/)
// for system clients (SMART Backend Services, smart.go): the kick-off at
// system, Patient and Group level, the status URL, the NDJSON files and
// the Groups they can name. Exports run on the scheduler's lease holder
// (RunExports, exporter.go).

// Audit actions of bulk export.
const (
	ActExport         = "fhir.export"          // a kick-off accepted or refused
	ActExportDownload = "fhir.export.download" // one NDJSON file read (detail: export, file, type, count)
	ActExportCancel   = "fhir.export.cancel"
	ActGroupRead      = "fhir.group.read"
)

// ExportStore is what bulk export needs of the database (store.Store).
type ExportStore interface {
	CreateExport(ctx context.Context, e *bulkdata.Export, ev audit.Event) error
	Export(ctx context.Context, id string) (*bulkdata.Export, []bulkdata.File, error)
	ClaimExport(ctx context.Context, now, stale time.Time) (*bulkdata.Export, error)
	AppendExportPiece(ctx context.Context, id string, seq int, start int64, data []byte, progress string) error
	AddExportFile(ctx context.Context, f bulkdata.File) error
	FinishExport(ctx context.Context, id, state, msg string, at, expires time.Time) error
	CancelExport(ctx context.Context, id, clientID string, ev audit.Event) error
	ExportBytes(ctx context.Context, id string, seq int, from, to int64, fn func([]byte) error) error // fn must not keep the slice
	DeleteExpiredExports(ctx context.Context, now time.Time, keep time.Duration) (int64, error)
	EachExportResident(ctx context.Context, sel bulkdata.Selection, fn func(*resident.Resident) error) error
	EachExportRegistration(ctx context.Context, sel bulkdata.Selection, fn func(*chronic.Registration) error) error
	EachExportVisit(ctx context.Context, sel bulkdata.Selection, fn func(*chronic.StoredVisit) error) error
	EachExportSettlement(ctx context.Context, sel bulkdata.Selection, fn func(*settle.Settlement) error) error
	EachExportConsultation(ctx context.Context, sel bulkdata.Selection, fn func(*consult.Consultation) error) error
	EachExportReferral(ctx context.Context, sel bulkdata.Selection, fn func(*referral.Referral) error) error
	EachExportOnlineVisit(ctx context.Context, sel bulkdata.Selection, fn func(*online.Visit) error) error
	EachExportReport(ctx context.Context, sel bulkdata.Selection, fn func(*reading.Study, []reading.Report) error) error
	// LeanExportWrites sets the writer's page cache to kib while an export
	// writes (SQLite; nothing elsewhere) and returns what restores it.
	LeanExportWrites(ctx context.Context, kib int) (restore func())
	EachExportLabResult(ctx context.Context, sel bulkdata.Selection, fn func(*lab.Result) error) error
	EachExportAudit(ctx context.Context, sel bulkdata.Selection, fn func(*audit.Event) error) error
	EachExportContract(ctx context.Context, sel bulkdata.Selection, fn func(*family.Contract) error) error
	EachExportTeam(ctx context.Context, sel bulkdata.Selection, fn func(*family.Team) error) error
	EachExportPrescription(ctx context.Context, sel bulkdata.Selection, fn func(*rx.Signed) error) error
	EachExportCoverageYear(ctx context.Context, sel bulkdata.Selection, fn func([]settle.Settlement) error) error
	EachExportPractitioner(ctx context.Context, institutions []int64, since time.Time, fn func(*org.Practitioner) error) error
	EachExportHousehold(ctx context.Context, sel bulkdata.Selection, fn func(*resident.Household, []resident.Resident) error) error
	EachExportImagingStudy(ctx context.Context, sel bulkdata.Selection, limit int, fn func(*reading.Study, []reading.ImagingSeries, []reading.ImagingInstance) error) error
}

// NDJSONType is the media type of export files.
const NDJSONType = "application/fhir+ndjson"

// bulkRoutes registers the SMART and Bulk Data routes, when the server
// has system clients (Systems) and exports (Exports).
func (s *Server) bulkRoutes(m *web.Mount) {
	if s.Systems == nil {
		return
	}
	m.HandleAssertion("POST /fhir/auth/token", 64<<10, s.token)
	m.Handle("GET /fhir/.well-known/smart-configuration", access.Public(), 0, s.smartConfiguration)
	if s.Exports == nil {
		return
	}
	sys := access.Allow(smart.RoleSystem)
	m.Handle("GET /fhir/$export", sys, 0, s.kickOff(bulkdata.LevelSystem))
	m.Handle("GET /fhir/Patient/$export", sys, 0, s.kickOff(bulkdata.LevelPatient))
	m.Handle("GET /fhir/Group/{id}/$export", sys, 0, s.kickOff(bulkdata.LevelGroup))
	// GET /fhir/Group and Group/{id}: householdRoutes (households for
	// users, these Groups for system clients).
	m.Handle("GET /fhir/$export-status/{id}", sys, 0, s.exportStatus)
	m.Handle("DELETE /fhir/$export-status/{id}", sys, 0, s.exportCancel)
	m.Handle("GET /fhir/$export-file/{id}/{seq}", sys, 0, s.exportFile)
}

// Group is a FHIR Group: the residents of a township, or of a chronic
// registry, that a Group-level export names. Members are not listed (a
// township holds tens of thousands): the export gives them.
type Group struct {
	ResourceType   string           `json:"resourceType"`
	ID             string           `json:"id"`
	Meta           *Meta            `json:"meta,omitempty"`
	Identifier     []Identifier     `json:"identifier,omitempty"`
	Type           string           `json:"type"`
	Actual         bool             `json:"actual"`
	Code           *CodeableConcept `json:"code,omitempty"`
	Name           string           `json:"name,omitempty"`
	ManagingEntity *Reference       `json:"managingEntity,omitempty"`
}

// SystemGroup is the naming system of the published Groups' identifiers.
const SystemGroup = "http://countycare.cn/fhir/sid/group"

// reach is what a system client may read: its granted scopes, and the
// villages whose residents it may read (nil: the whole county).
type reach struct {
	client   *smart.Client
	scopes   smart.Scopes
	tree     *org.Tree
	villages []int64 // nil: county-wide
}

func (s *Server) reachOf(r *http.Request) (*reach, error) {
	sess := smart.SessionOf(r.Context())
	if sess == nil {
		return nil, care.Errorf(care.EFORBIDDEN, "error.forbidden")
	}
	t, err := s.Orgs.Tree(r.Context())
	if err != nil {
		return nil, err
	}
	rc := &reach{client: sess.Client, scopes: sess.Scopes, tree: t}
	if sess.Client.InstitutionID != 0 {
		rc.villages = villagesUnder(t, sess.Client.InstitutionID)
	}
	return rc, nil
}

// villagesUnder lists the village clinics (the managing institutions of
// residents) in id's subtree: empty, never nil.
func villagesUnder(t *org.Tree, id int64) []int64 {
	out := []int64{}
	for _, v := range t.Subtree(id) {
		if in := t.Get(v); in != nil && in.Kind == org.KindVillageClinic {
			out = append(out, v)
		}
	}
	return out
}

// covers reports whether the client's reach holds every one of villages.
func (rc *reach) covers(villages []int64) bool {
	if rc.villages == nil {
		return true
	}
	for _, v := range villages {
		if !slices.Contains(rc.villages, v) {
			return false
		}
	}
	return true
}

// groups lists the Groups the client may see: each township of its reach
// with residents, then each chronic registry (its residents within the
// reach).
func (s *Server) groups(rc *reach, t func(string, ...any) string) []Group {
	var out []Group
	for _, k := range []org.Kind{org.KindCentralHC, org.KindTownshipHC} {
		for _, in := range rc.tree.OfKind(0, k) {
			vs := villagesUnder(rc.tree, in.ID)
			if in.CountyCode != rc.client.CountyCode || len(vs) == 0 || !rc.covers(vs) {
				continue
			}
			out = append(out, Group{ResourceType: "Group", ID: "township-" + strconv.FormatInt(in.ID, 10), Type: "person", Actual: true,
				Identifier: []Identifier{{System: SystemGroup, Value: "township-" + strconv.FormatInt(in.ID, 10)}},
				Name:       t("fhir.group_township", in.Name), ManagingEntity: orgRef(in.ID)})
		}
	}
	for _, d := range chronic.Diseases {
		out = append(out, Group{ResourceType: "Group", ID: "registry-" + string(d), Type: "person", Actual: true,
			Identifier: []Identifier{{System: SystemGroup, Value: "registry-" + string(d)}},
			Code:       &CodeableConcept{Coding: []Coding{{System: SystemRegistry, Code: string(d)}}, Text: t("chronic.disease." + string(d))},
			Name:       t("fhir.group_registry", t("chronic.disease."+string(d)))})
	}
	return out
}

// groupSelection is the selection of Group id for the client, and false
// when the client may not see it (or it does not exist).
func (s *Server) groupSelection(rc *reach, id string) (bulkdata.Selection, bool) {
	sel := bulkdata.Selection{CountyCode: rc.client.CountyCode, Villages: rc.villages}
	switch {
	case strings.HasPrefix(id, "township-"):
		n, err := strconv.ParseInt(strings.TrimPrefix(id, "township-"), 10, 64)
		in := rc.tree.Get(n)
		if err != nil || in == nil || in.CountyCode != rc.client.CountyCode || (in.Kind != org.KindTownshipHC && in.Kind != org.KindCentralHC) {
			return sel, false
		}
		vs := villagesUnder(rc.tree, n)
		if !rc.covers(vs) {
			return sel, false
		}
		sel.Villages = vs
		return sel, true
	case strings.HasPrefix(id, "registry-"):
		d := chronic.Disease(strings.TrimPrefix(id, "registry-"))
		if !slices.Contains(chronic.Diseases, d) {
			return sel, false
		}
		sel.Registry = string(d)
		return sel, true
	}
	return sel, false
}

// denied records a system client's refused read (the 404 it is given
// does not disclose whether the target exists).
func (s *Server) denied(r *http.Request, rq web.Request, action, detail string) {
	ev := audit.New(r.Context(), rq.Actor, action, 0)
	ev.Outcome, ev.Detail = audit.OutcomeDenied, detail
	s.Audit.Record(r.Context(), ev)
}

// groupRead: GET /fhir/Group/{id}, for a client with a Group scope.
func (s *Server) groupRead(w http.ResponseWriter, r *http.Request, rq web.Request) error {
	rc, err := s.reachOf(r)
	if err != nil {
		return err
	}
	id := r.PathValue("id")
	if !rc.scopes.Allows("Group") {
		s.denied(r, rq, ActGroupRead, "Group/"+id+": scope")
		return care.Errorf(care.EFORBIDDEN, "fhir.export_scope", "Group")
	}
	for _, g := range s.groups(rc, s.tr(rq.Lang)) {
		if g.ID == id {
			ev := audit.New(r.Context(), rq.Actor, ActGroupRead, 0)
			ev.Detail = "Group/" + id
			s.Audit.Record(r.Context(), ev)
			writeJSON(w, http.StatusOK, g)
			return nil
		}
	}
	s.denied(r, rq, ActGroupRead, "Group/"+id)
	return care.Errorf(care.ENOTFOUND, "error.not_found")
}

// groupSearch: GET /fhir/Group — every Group the client may export.
func (s *Server) groupSearch(w http.ResponseWriter, r *http.Request, rq web.Request) error {
	rc, err := s.reachOf(r)
	if err != nil {
		return err
	}
	if !rc.scopes.Allows("Group") {
		s.denied(r, rq, ActGroupRead, "Group?: scope")
		return care.Errorf(care.EFORBIDDEN, "fhir.export_scope", "Group")
	}
	gs := s.groups(rc, s.tr(rq.Lang))
	b := Bundle{ResourceType: "Bundle", Type: "searchset", Total: intp(len(gs)), Link: []BundleLink{{Relation: "self", URL: s.base(r) + "/Group"}}}
	for _, g := range gs {
		b.Entry = append(b.Entry, BundleEntry{FullURL: s.base(r) + "/Group/" + g.ID, Resource: g, Search: &EntrySearch{Mode: "match"}})
	}
	ev := audit.New(r.Context(), rq.Actor, ActGroupRead, 0)
	ev.Detail = "Group? " + strconv.Itoa(len(gs))
	s.Audit.Record(r.Context(), ev)
	writeJSON(w, http.StatusOK, b)
	return nil
}

func (s *Server) tr(lang string) func(string, ...any) string {
	return func(k string, a ...any) string { return s.t(lang, k, a...) }
}

func intp(n int) *int { return &n }

// kickOff: GET /fhir/$export, /fhir/Patient/$export, /fhir/Group/{id}/$export
// with Prefer: respond-async; _type, _since, _outputFormat. 202 with the
// status URL in Content-Location.
func (s *Server) kickOff(level string) web.FaceHandler {
	return func(w http.ResponseWriter, r *http.Request, rq web.Request) error {
		rc, err := s.reachOf(r)
		if err != nil {
			return err
		}
		q := r.URL.Query()
		var fe []care.FieldError
		if !preferAsync(r.Header.Values("Prefer")) {
			fe = append(fe, care.FieldError{Field: "Prefer", Key: "fhir.export_async"})
		}
		for k := range q {
			if k != "_type" && k != "_since" && k != "_outputFormat" {
				fe = append(fe, care.FieldError{Field: k, Key: "fhir.export_param", Args: []any{k}})
			}
		}
		if f := q.Get("_outputFormat"); f != "" && f != NDJSONType && f != "application/ndjson" && f != "ndjson" {
			fe = append(fe, care.FieldError{Field: "_outputFormat", Key: "fhir.export_format"})
		}
		var since time.Time
		if v := q.Get("_since"); v != "" {
			if since, err = time.Parse(time.RFC3339Nano, v); err != nil {
				fe = append(fe, care.FieldError{Field: "_since", Key: "fhir.export_since"})
			}
		}
		var types []string
		for _, v := range q["_type"] {
			for _, t := range strings.Split(v, ",") {
				t = strings.TrimSpace(t)
				if !slices.Contains(s.ExportTypes(), t) {
					fe = append(fe, care.FieldError{Field: "_type", Key: "fhir.export_type", Args: []any{t}})
				} else if !slices.Contains(types, t) {
					types = append(types, t)
				}
			}
		}
		if len(fe) > 0 {
			return care.Invalid(fe)
		}
		if len(types) == 0 {
			for _, t := range s.ExportTypes() {
				if t != bulkdata.TypeAuditEvent && rc.scopes.Allows(t) {
					types = append(types, t)
				}
			}
		}
		if slices.Contains(types, bulkdata.TypeAuditEvent) {
			if level != bulkdata.LevelSystem {
				return care.Invalid([]care.FieldError{{Field: "_type", Key: "fhir.export_audit"}})
			}
			if rc.client.InstitutionID != 0 || !auditScope(rc.scopes) {
				s.denied(r, rq, ActExport, r.URL.Path+": scope AuditEvent")
				return care.Errorf(care.EFORBIDDEN, "fhir.audit_scope")
			}
		}
		for _, t := range types {
			if !rc.scopes.Allows(t) {
				s.denied(r, rq, ActExport, r.URL.Path+": scope "+t)
				return care.Errorf(care.EFORBIDDEN, "fhir.export_scope", t)
			}
		}
		if len(types) == 0 {
			s.denied(r, rq, ActExport, r.URL.Path+": no scope")
			return care.Errorf(care.EFORBIDDEN, "fhir.export_scope", strings.Join(s.ExportTypes(), ", "))
		}
		e := &bulkdata.Export{ID: newExportID(), ClientID: rc.client.ClientID, CountyCode: rc.client.CountyCode, InstitutionID: rc.client.InstitutionID,
			Level: level, Types: types, Since: since, State: bulkdata.StateAccepted, CreatedAt: s.Now().UTC(),
			RequestURL: s.base(r) + strings.TrimPrefix(r.URL.Path, "/fhir")}
		if r.URL.RawQuery != "" {
			e.RequestURL += "?" + r.URL.RawQuery
		}
		if level == bulkdata.LevelGroup {
			e.GroupID = r.PathValue("id")
			if _, ok := s.groupSelection(rc, e.GroupID); !ok {
				s.denied(r, rq, ActExport, "Group/"+e.GroupID)
				return care.Errorf(care.ENOTFOUND, "error.not_found")
			}
		}
		ev := audit.New(r.Context(), rq.Actor, ActExport, 0)
		ev.Detail = e.ID + " " + level + " " + e.GroupID + " " + strings.Join(types, ",")
		if err := s.Exports.CreateExport(r.Context(), e, ev); err != nil {
			return err
		}
		w.Header().Set("Content-Location", s.base(r)+"/$export-status/"+e.ID)
		writeJSON(w, http.StatusAccepted, OperationOutcome{ResourceType: "OperationOutcome",
			Issue: []Issue{{Severity: "information", Code: "informational", Diagnostics: s.t(rq.Lang, "fhir.export_accepted")}}})
		return nil
	}
}

func preferAsync(vs []string) bool {
	for _, v := range vs {
		for _, p := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(p), "respond-async") {
				return true
			}
		}
	}
	return false
}

func newExportID() string {
	b := make([]byte, 16)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// ownExport reads an export of the requesting client: ENOTFOUND for
// another client's (not disclosed) or a cancelled one.
func (s *Server) ownExport(r *http.Request, rq web.Request) (*bulkdata.Export, []bulkdata.File, error) {
	sess := smart.SessionOf(r.Context())
	e, fs, err := s.Exports.Export(r.Context(), r.PathValue("id"))
	if care.IsCode(err, care.ENOTFOUND) || (err == nil && (sess == nil || e.ClientID != sess.Client.ClientID || e.State == bulkdata.StateCancelled)) {
		return nil, nil, care.Errorf(care.ENOTFOUND, "error.not_found")
	}
	return e, fs, err
}

// Manifest is the completed export's answer (Bulk Data IG, "Response -
// Complete Status").
type Manifest struct {
	TransactionTime     string           `json:"transactionTime"`
	Request             string           `json:"request"`
	RequiresAccessToken bool             `json:"requiresAccessToken"`
	Output              []ManifestOutput `json:"output"`
	Error               []ManifestOutput `json:"error"`
}

// ManifestOutput is one file of the manifest.
type ManifestOutput struct {
	Type  string `json:"type"`
	URL   string `json:"url"`
	Count int64  `json:"count,omitempty"`
}

// exportStatus: GET /fhir/$export-status/{id} — 202 with X-Progress while
// it runs, 200 with the manifest once complete, 500 with an
// OperationOutcome if it failed.
func (s *Server) exportStatus(w http.ResponseWriter, r *http.Request, rq web.Request) error {
	e, fs, err := s.ownExport(r, rq)
	if err != nil {
		return err
	}
	switch e.State {
	case bulkdata.StateAccepted, bulkdata.StateRunning:
		p := e.State
		if e.Progress != "" {
			p += ": " + e.Progress
		}
		w.Header().Set("X-Progress", p)
		w.Header().Set("Retry-After", "2")
		w.WriteHeader(http.StatusAccepted)
		return nil
	case bulkdata.StateFailed:
		writeJSON(w, http.StatusInternalServerError, OperationOutcome{ResourceType: "OperationOutcome",
			Issue: []Issue{{Severity: "error", Code: "exception", Diagnostics: s.t(rq.Lang, "fhir.export_failed") + " (request " + rq.RequestID + ")"}}})
		return nil
	}
	m := Manifest{TransactionTime: instant(e.TransactionAt), Request: e.RequestURL, RequiresAccessToken: true, Output: []ManifestOutput{}, Error: []ManifestOutput{}}
	for _, f := range fs {
		m.Output = append(m.Output, ManifestOutput{Type: f.Type, URL: s.base(r) + "/$export-file/" + e.ID + "/" + strconv.Itoa(f.Seq), Count: f.Count})
	}
	w.Header().Set("Expires", e.ExpiresAt.UTC().Format(http.TimeFormat))
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	return json.NewEncoder(w).Encode(m)
}

// exportCancel: DELETE /fhir/$export-status/{id} — 202; the files are
// deleted and the status URL then answers 404.
func (s *Server) exportCancel(w http.ResponseWriter, r *http.Request, rq web.Request) error {
	sess := smart.SessionOf(r.Context())
	if sess == nil {
		return care.Errorf(care.ENOTFOUND, "error.not_found")
	}
	ev := audit.New(r.Context(), rq.Actor, ActExportCancel, 0)
	ev.Detail = r.PathValue("id")
	if err := s.Exports.CancelExport(r.Context(), r.PathValue("id"), sess.Client.ClientID, ev); err != nil {
		return err
	}
	writeJSON(w, http.StatusAccepted, OperationOutcome{ResourceType: "OperationOutcome",
		Issue: []Issue{{Severity: "information", Code: "informational", Diagnostics: s.t(rq.Lang, "fhir.export_cancelled")}}})
	return nil
}

// exportFile: GET /fhir/$export-file/{id}/{seq} — one NDJSON file, with
// HTTP Range (one range) so that a download cut midway resumes where it
// stopped. Each request is an audit row naming the file.
func (s *Server) exportFile(w http.ResponseWriter, r *http.Request, rq web.Request) error {
	e, fs, err := s.ownExport(r, rq)
	if err != nil {
		return err
	}
	seq, _ := strconv.Atoi(r.PathValue("seq"))
	i := slices.IndexFunc(fs, func(f bulkdata.File) bool { return f.Seq == seq })
	if e.State != bulkdata.StateCompleted || i < 0 {
		return care.Errorf(care.ENOTFOUND, "error.not_found")
	}
	f := fs[i]
	from, to, partial, ok := byteRange(r.Header.Get("Range"), f.Size)
	if r.Header.Get("If-Range") != "" && r.Header.Get("If-Range") != fileETag(f) {
		from, to, partial, ok = 0, f.Size, false, true
	}
	if !ok { // 416, which the error table has no code for
		w.Header().Set("Content-Range", "bytes */"+strconv.FormatInt(f.Size, 10))
		writeJSON(w, http.StatusRequestedRangeNotSatisfiable, OperationOutcome{ResourceType: "OperationOutcome",
			Issue: []Issue{{Severity: "error", Code: "invalid", Diagnostics: s.t(rq.Lang, "fhir.range") + " (request " + rq.RequestID + ")"}}})
		return nil
	}
	ev := audit.New(r.Context(), rq.Actor, ActExportDownload, 0)
	ev.Detail = e.ID + " " + strconv.Itoa(f.Seq) + " " + f.Type + " " + strconv.FormatInt(f.Count, 10)
	s.Audit.Record(r.Context(), ev)
	h := w.Header()
	h.Set("Content-Type", NDJSONType)
	h.Set("Accept-Ranges", "bytes")
	h.Set("ETag", fileETag(f))
	h.Set("Content-Length", strconv.FormatInt(to-from, 10))
	status := http.StatusOK
	if partial {
		h.Set("Content-Range", "bytes "+strconv.FormatInt(from, 10)+"-"+strconv.FormatInt(to-1, 10)+"/"+strconv.FormatInt(f.Size, 10))
		status = http.StatusPartialContent
	}
	w.WriteHeader(status)
	if r.Method == http.MethodHead {
		return nil
	}
	defer boundHeap(s.ExportCfg.HeapBudget)() // each piece read is a fresh copy: collected as it goes
	return s.Exports.ExportBytes(r.Context(), e.ID, f.Seq, from, to, func(b []byte) error {
		_, err := w.Write(b)
		return err
	})
}

func fileETag(f bulkdata.File) string {
	return `"` + f.ExportID + "-" + strconv.Itoa(f.Seq) + "-" + strconv.FormatInt(f.Size, 10) + `"`
}

// byteRange reads a Range header of one range (RFC 9110 §14.1.2):
// [from, to) and whether it is partial; ok is false when it cannot be
// satisfied. A header it does not understand (several ranges, another
// unit) is ignored: the whole file, as RFC 9110 allows.
func byteRange(h string, size int64) (from, to int64, partial, ok bool) {
	if !strings.HasPrefix(h, "bytes=") || strings.Contains(h, ",") {
		return 0, size, false, true
	}
	a, b, found := strings.Cut(strings.TrimPrefix(h, "bytes="), "-")
	if !found {
		return 0, size, false, true
	}
	var err error
	switch {
	case a == "": // the last b bytes
		n, err := strconv.ParseInt(b, 10, 64)
		if err != nil || n <= 0 {
			return 0, 0, false, false
		}
		return max(size-n, 0), size, true, true
	default:
		if from, err = strconv.ParseInt(a, 10, 64); err != nil || from < 0 || from >= size {
			return 0, 0, false, false
		}
		to = size
		if b != "" {
			last, err := strconv.ParseInt(b, 10, 64)
			if err != nil || last < from {
				return 0, 0, false, false
			}
			to = min(last+1, size)
		}
		return from, to, true, true
	}
}

// CapSecurity is the REST security of the CapabilityStatement: SMART
// Backend Services, with the token endpoint as the oauth-uris extension.
type CapSecurity struct {
	Extension   []map[string]any  `json:"extension,omitempty"`
	Service     []CodeableConcept `json:"service,omitempty"`
	Description string            `json:"description,omitempty"`
}

// ExportTypes are the types an export of this server can hold
// (bulkdata.Types, in that order): those whose workflow the server has,
// as its CapabilityStatement declares them. AuditEvent is exported only
// when named.
func (s *Server) ExportTypes() []string {
	has := map[string]bool{
		"Condition":             s.Chronic != nil,
		"Observation":           s.Chronic != nil || s.Labs != nil,
		"DiagnosticReport":      s.Readings != nil || s.Labs != nil,
		"Encounter":             s.Consult != nil || s.Referral != nil || s.Online != nil,
		"ServiceRequest":        s.Consult != nil || s.Referral != nil || s.Online != nil,
		"ImagingStudy":          s.Readings != nil,
		"Provenance":            s.Readings != nil || s.Prescriptions != nil,
		"CarePlan":              s.Family != nil,
		"CareTeam":              s.Family != nil,
		"Consent":               s.Family != nil,
		"MedicationRequest":     s.Prescriptions != nil,
		"MedicationDispense":    s.Prescriptions != nil,
		"ExplanationOfBenefit":  s.Settle != nil,
		"Claim":                 s.Settle != nil,
		"Coverage":              s.Settle != nil,
		bulkdata.TypeAuditEvent: s.AuditLog != nil,
	}
	var out []string
	for _, t := range bulkdata.Types {
		if ok, listed := has[t]; ok || !listed {
			out = append(out, t)
		}
	}
	return out
}

// bulkCapability declares the token endpoint and the $export operations
// when the server has them.
func (s *Server) bulkCapability(cs *CapabilityStatement) {
	if s.Systems == nil {
		return
	}
	rest := &cs.Rest[0]
	rest.Security = &CapSecurity{
		Service: []CodeableConcept{{Coding: []Coding{{System: "http://terminology.hl7.org/CodeSystem/restful-security-service", Code: "SMART-on-FHIR"}}}},
		Extension: []map[string]any{{"url": "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris",
			"extension": []map[string]any{{"url": "token", "valueUri": strings.TrimSuffix(s.Base, "/") + TokenPath}}}},
		Description: "Users: the countycare session. Systems: SMART Backend Services (client_credentials with a private_key_jwt assertion, RS384 or ES384, system/<Type>.read scopes), clients registered by an administrator; see /fhir/.well-known/smart-configuration.",
	}
	if s.Exports == nil {
		return
	}
	cs.Instantiates = []string{"http://hl7.org/fhir/uv/bulkdata/CapabilityStatement/bulk-data"}
	rest.Operation = append(rest.Operation, CapOperation{Name: "export", Definition: "http://hl7.org/fhir/uv/bulkdata/OperationDefinition/export",
		Documentation: "Types (_type; by default every one but AuditEvent, which is exported only when named, at system level, for a county-wide client granted it by name): " +
			strings.Join(s.ExportTypes(), ", ") + ". _since: the resources changed at or after it (docs/fhir.md gives each type's change time)."})
	for i := range rest.Resource {
		if rest.Resource[i].Type == "Patient" {
			rest.Resource[i].Operation = append(rest.Resource[i].Operation,
				CapOperation{Name: "export", Definition: "http://hl7.org/fhir/uv/bulkdata/OperationDefinition/patient-export"})
		}
	}
	for i := range rest.Resource { // Group: declared with the households (Capability)
		if rest.Resource[i].Type == "Group" {
			rest.Resource[i].Operation = append(rest.Resource[i].Operation,
				CapOperation{Name: "export", Definition: "http://hl7.org/fhir/uv/bulkdata/OperationDefinition/group-export"})
		}
	}
}
