package fhir_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"countycare/account"
	"countycare/audit"
	"countycare/bulkdata"
	"countycare/care"
	"countycare/chronic"
	"countycare/consult"
	"countycare/critical"
	"countycare/demo"
	"countycare/family"
	"countycare/fhir"
	"countycare/internal/testdb"
	"countycare/lab"
	"countycare/online"
	"countycare/org"
	"countycare/reading"
	"countycare/referral"
	"countycare/resident"
	"countycare/rx"
	"countycare/settle"
	"countycare/smart"
	"countycare/store"
	"countycare/web"
)

// env is a real server (web wrapper, SQLite demo county) with the FHIR face mounted.
type env struct {
	t     testing.TB
	labs  *lab.Service
	onl   *online.Service
	cons  *consult.Service // its Live is nil: a test sets its own
	st    *store.Store
	srv   *web.Server
	ts    *httptest.Server
	users map[care.Role]string
	insts map[care.Role]string // the institution of each role's demo login
	fhir  *fhir.Server         // for the export duty (bulk_test.go)
	audit *audit.Writer
}

func newEnv(t *testing.T) *env {
	t.Helper()
	return newEnvOn(t, store.SQLite)
}

// newEnvOn is newEnv on database d.
func newEnvOn(t testing.TB, d store.Dialect) *env {
	t.Helper()
	st := testdb.Open(t, d, time.Now)
	ctx := context.Background()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	res, err := demo.Generate(ctx, st, demo.Config{Residents: 600, Villages: 6, VillageDoctors: 6, FollowUps: 1500, ECGReads: 150, ImagingReads: 150,
		Consultations: 150, Referrals: 150, Visits: 300, Prescriptions: 300, Contracts: 200}, quiet)
	if err != nil {
		t.Fatal(err)
	}
	w := audit.NewWriter(st, quiet, time.Now, 1024)
	w.Start()
	t.Cleanup(func() { w.Close(context.Background()) })
	orgs := &org.Service{Repo: st, Now: time.Now}
	rsvc := &resident.Service{Repo: st, Orgs: orgs, Audit: w, Now: time.Now}
	accts := &account.Service{Repo: st, Config: account.DefaultConfig(), Now: time.Now, Orgs: orgs, DeviceKey: account.DeviceKeyFrom(testdb.AuditKey)}
	systems := &smart.Service{Store: st, Audit: w, Cfg: smart.DefaultConfig(), Now: time.Now}
	srv, err := web.New(web.Config{}, web.Deps{Residents: rsvc, Orgs: orgs, Accounts: accts, Systems: systems, Store: st, Audit: w, AuditKey: testdb.AuditKey, Log: quiet, Now: time.Now})
	if err != nil {
		t.Fatal(err)
	}
	chr := &chronic.Service{Repo: st, Residents: rsvc, Orgs: orgs, Audit: w, Config: chronic.DefaultConfig(), Now: time.Now}
	flow := &reading.Workflow{Repo: st, Audit: w, Targets: reading.DefaultTargets(), Templates: reading.DefaultTemplates(), Now: time.Now}
	crit := &critical.Service{Repo: st, Residents: rsvc, Orgs: orgs, Staff: st, Audit: w, Config: critical.DefaultConfig(), Now: time.Now}
	labs := &lab.Service{Repo: st, Residents: rsvc, Critical: crit, Thresholds: critical.DefaultThresholds(), Audit: w, Now: time.Now}
	engine, err := rx.NewEngine()
	if err != nil {
		t.Fatal(err)
	}
	rxs := &rx.Service{Repo: st, Engine: engine, Residents: rsvc, Orgs: orgs, Audit: w, Now: time.Now}
	onl := &online.Service{Repo: st, Residents: rsvc, Staff: st, Accounts: accts, Rx: rxs, Audit: w, Now: time.Now}
	cons := &consult.Service{Repo: st, Residents: rsvc, Orgs: orgs, Audit: w, Config: consult.DefaultConfig(), Now: time.Now}
	refs := &referral.Service{Repo: st, Residents: rsvc, Orgs: orgs, Staff: st, Audit: w, Config: referral.DefaultConfig(), Now: time.Now}
	fs := &fhir.Server{Residents: rsvc, Orgs: orgs, Chronic: chr, Readings: flow, DICOMweb: &reading.DICOMweb{Repo: st, Residents: rsvc, Orgs: orgs, Audit: w, Now: time.Now}, Labs: labs, Consult: cons, Referral: refs,
		Settle:        &settle.Service{Repo: st, Residents: rsvc, Orgs: orgs, Audit: w, Now: time.Now},
		Family:        &family.Service{Repo: st, Residents: rsvc, Orgs: orgs, Staff: st, Audit: w, Now: time.Now},
		Prescriptions: rxs, Online: onl, Atomic: st.Atomic, Now: time.Now,
		Systems: systems, Exports: st, ExportCfg: bulkdata.DefaultConfig(), Audit: w, AuditLog: st}
	srv.MountFace(fs)
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	e := &env{t: t, st: st, srv: srv, ts: ts, users: map[care.Role]string{}, insts: map[care.Role]string{}, labs: labs, onl: onl, cons: cons, fhir: fs, audit: w}
	for _, l := range res.Logins {
		e.users[l.Role] = l.Username
		e.insts[l.Role] = l.Institution
	}
	return e
}

type client struct {
	e  *env
	hc *http.Client
}

func (e *env) anon() *client {
	jar, _ := cookiejar.New(nil)
	return &client{e: e, hc: &http.Client{Jar: jar}}
}

// as signs in as the demo login of role (writer keeps its CSRF token).
func (e *env) as(role care.Role) *client {
	e.t.Helper()
	return e.writer(role).client
}

// get fetches path and decodes a JSON body into v (when not nil).
func (c *client) get(path string, hdr map[string]string, v any) (int, http.Header, string) {
	c.e.t.Helper()
	return c.do("GET", path, hdr, nil, v)
}

// do makes a request and decodes the JSON answer into v (when not nil;
// a write's empty answer is left undecoded).
func (c *client) do(method, path string, hdr map[string]string, body io.Reader, v any) (int, http.Header, string) {
	c.e.t.Helper()
	req, _ := http.NewRequest(method, c.e.ts.URL+path, body)
	for k, x := range hdr {
		req.Header.Set(k, x)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		c.e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if v != nil && (method == "GET" || len(b) > 0) {
		if err := json.Unmarshal(b, v); err != nil {
			c.e.t.Fatalf("%s %s: %d, not JSON: %v\n%s", method, path, resp.StatusCode, err, b)
		}
	}
	return resp.StatusCode, resp.Header, string(b)
}

type bundle struct {
	ResourceType string `json:"resourceType"`
	Type         string `json:"type"`
	Total        *int   `json:"total"`
	Link         []struct{ Relation, URL string }
	Entry        []struct {
		FullURL  string          `json:"fullUrl"`
		Resource json.RawMessage `json:"resource"`
		Search   struct{ Mode string }
	} `json:"entry"`
}

func (b bundle) patients(t *testing.T) []fhir.Patient {
	var out []fhir.Patient
	for _, e := range b.Entry {
		var p fhir.Patient
		if err := json.Unmarshal(e.Resource, &p); err != nil || p.ResourceType != "Patient" {
			t.Fatalf("entry %s: %v", e.Resource, err)
		}
		out = append(out, p)
	}
	return out
}

type outcome struct {
	ResourceType string `json:"resourceType"`
	Issue        []struct {
		Severity, Code, Diagnostics string
		Expression                  []string
	} `json:"issue"`
}

// checkOutcome: an OperationOutcome with issue code and (if expr) the expression.
func checkOutcome(t *testing.T, what string, status, wantStatus int, ctype string, o outcome, code, expr string) {
	t.Helper()
	if status != wantStatus || !strings.HasPrefix(ctype, "application/fhir+json") || o.ResourceType != "OperationOutcome" || len(o.Issue) == 0 ||
		o.Issue[0].Code != code || o.Issue[0].Severity != "error" || o.Issue[0].Diagnostics == "" {
		t.Errorf("%s: %d %s %+v, want %d OperationOutcome %s", what, status, ctype, o, wantStatus, code)
		return
	}
	if expr != "" && !slices.Contains(o.Issue[0].Expression, expr) {
		t.Errorf("%s: issue expression %v, want %s", what, o.Issue[0].Expression, expr)
	}
}

// otherVillagePatient returns a resident managed by another clinic than
// village (found by the county's insurance officer, a birth year at a time).
func otherVillagePatient(t *testing.T, e *env, village string) string {
	t.Helper()
	io := e.as(care.RoleInsuranceOfficer)
	for year := 1940; year < 2020; year++ {
		var county bundle
		io.get(fmt.Sprintf("/fhir/Patient?birthdate=ge%d-01-01&birthdate=le%d-12-31&_count=100", year, year), nil, &county)
		for _, q := range county.patients(t) {
			if q.ManagingOrganization != nil && q.ManagingOrganization.Reference != village {
				return q.ID
			}
		}
	}
	t.Fatal("no resident of another village in the county")
	return ""
}

func ident(p fhir.Patient, system string) string {
	for _, id := range p.Identifier {
		if id.System == system {
			return id.Value
		}
	}
	return ""
}

// TestMetadata: the CapabilityStatement is public (clients read it before
// signing in), says FHIR 4.0.1 and JSON, and declares exactly the routes
// the face registers — a declared interaction without a route, or a route
// the statement does not declare, fails (issue 12: "a CapabilityStatement
// that tells the truth").
func TestMetadata(t *testing.T) {
	e := newEnv(t)
	var cs fhir.CapabilityStatement
	code, h, _ := e.anon().get("/fhir/metadata", nil, &cs)
	if code != 200 || !strings.HasPrefix(h.Get("Content-Type"), "application/fhir+json") || cs.ResourceType != "CapabilityStatement" ||
		cs.FHIRVersion != "4.0.1" || !slices.Equal(cs.Format, []string{"json"}) || len(cs.Rest) != 1 {
		t.Fatalf("metadata: %d %+v", code, cs)
	}
	declared := map[string]bool{"GET /fhir/metadata": true}
	for _, in := range cs.Rest[0].Interaction {
		switch in["code"] {
		case "transaction", "batch":
			declared["POST /fhir"], declared["POST /fhir/{$}"] = true, true
		default:
			t.Errorf("interaction %v has no route kind here", in["code"])
		}
	}
	for _, op := range cs.Rest[0].Operation { // system level: $export
		declared["GET /fhir/$"+op.Name] = true
		if op.Name == "export" { // the Bulk Data IG's status and file URLs
			declared["GET /fhir/$export-status/{id}"], declared["DELETE /fhir/$export-status/{id}"] = true, true
			declared["GET /fhir/$export-file/{id}/{seq}"] = true
		}
	}
	if cs.Rest[0].Security != nil { // SMART Backend Services
		declared["POST /fhir/auth/token"], declared["GET /fhir/.well-known/smart-configuration"] = true, true
	}
	for _, r := range cs.Rest[0].Resource {
		for _, op := range r.Operation {
			if r.Type == "Patient" && op.Name == "export" { // type level
				declared["GET /fhir/Patient/$export"] = true
				continue
			}
			if r.Type == "ValueSet" && op.Name == "expand" { // type level too (ValueSet/$expand?url=)
				declared["GET /fhir/ValueSet/$expand"] = true
			}
			declared["GET /fhir/"+r.Type+"/{id}/$"+op.Name] = true
		}
		for _, in := range r.Interaction {
			switch in["code"] {
			case "read":
				declared["GET /fhir/"+r.Type+"/{id}"] = true
			case "search-type":
				declared["GET /fhir/"+r.Type] = true
			case "vread":
				declared["GET /fhir/"+r.Type+"/{id}/_history/{vid}"] = true
			case "history-instance":
				declared["GET /fhir/"+r.Type+"/{id}/_history"] = true
			case "create":
				declared["POST /fhir/"+r.Type] = true
			case "update":
				declared["PUT /fhir/"+r.Type+"/{id}"] = true
			default:
				t.Errorf("%s: interaction %v has no route kind here", r.Type, in["code"])
			}
		}
	}
	routed := map[string]bool{}
	for _, r := range e.srv.Routes() {
		if strings.Contains(r.Pattern, " /fhir") {
			routed[r.Pattern] = true
			if !r.Policy.Defined() {
				t.Errorf("%s has no access policy", r.Pattern)
			}
		}
	}
	for p := range declared {
		if !routed[p] {
			t.Errorf("the CapabilityStatement declares %s, which no route serves", p)
		}
	}
	for p := range routed {
		if !declared[p] {
			t.Errorf("route %s is not declared in the CapabilityStatement", p)
		}
	}
}

// TestPatientReadScopeAndAudit: a Patient is the resident record under the
// pages' rules (docs/fhir.md "Access"): a village doctor reads a resident
// of the clinic, with the GB 11643 number and the health-record number as
// identifiers of their own systems, and the read is an audit row; a
// resident of another village is "not found" (as on the pages: existence is
// not disclosed); no session is 401, a role that reads no records 403 with
// an access.denied row — each answered with an OperationOutcome.
func TestPatientReadScopeAndAudit(t *testing.T) {
	e := newEnv(t)
	vd := e.as(care.RoleVillageDoctor)
	var mine bundle
	if code, _, body := vd.get("/fhir/Patient?_count=5", nil, &mine); code != 200 || mine.Type != "searchset" || len(mine.Entry) == 0 {
		t.Fatalf("village doctor's patients: %d %s", code, body)
	}
	p0 := mine.patients(t)[0]
	var p fhir.Patient
	code, h, body := vd.get("/fhir/Patient/"+p0.ID, nil, &p)
	if code != 200 || p.ResourceType != "Patient" || p.ID != p0.ID || h.Get("ETag") != `W/"`+p.Meta.VersionID+`"` {
		t.Fatalf("read: %d %s", code, body)
	}
	idn, rec := ident(p, fhir.SystemIDNumber), ident(p, fhir.SystemRecordNumber)
	if len(idn) != 18 || len(rec) != 17 || (p.Gender != "male" && p.Gender != "female") || len(p.BirthDate) != 10 ||
		p.ManagingOrganization == nil || !strings.HasPrefix(p.ManagingOrganization.Reference, "Organization/") || len(p.Name) != 1 || p.Name[0].Text == "" {
		t.Errorf("patient %s", body)
	}
	// The read is audited with the resident and the request.
	var rid int64
	json.Unmarshal([]byte(p.ID), &rid)
	time.Sleep(50 * time.Millisecond)
	evs, err := e.st.SearchAudit(context.Background(), audit.Filter{ResidentIDs: []int64{rid}, Limit: 50})
	if err != nil {
		t.Fatal(err)
	}
	read := false
	for _, ev := range evs {
		read = read || ev.Action == audit.ActResidentRead && ev.Username == e.users[care.RoleVillageDoctor]
	}
	if !read {
		t.Errorf("no %s audit row for the FHIR read: %+v", audit.ActResidentRead, evs)
	}
	// A resident outside the village: the insurance officer (county scope) finds one.
	other := otherVillagePatient(t, e, p.ManagingOrganization.Reference)
	var o outcome
	code, h, _ = vd.get("/fhir/Patient/"+other, nil, &o)
	checkOutcome(t, "out of scope", code, 404, h.Get("Content-Type"), o, "not-found", "")
	o = outcome{}
	code, h, _ = vd.get("/fhir/Patient/999999999", nil, &o)
	checkOutcome(t, "missing", code, 404, h.Get("Content-Type"), o, "not-found", "")
	o = outcome{}
	code, h, _ = e.anon().get("/fhir/Patient/"+p.ID, nil, &o)
	checkOutcome(t, "anonymous", code, 401, h.Get("Content-Type"), o, "login", "")
	o = outcome{}
	code, h, _ = e.as(care.RoleAnalyst).get("/fhir/Patient/"+p.ID, nil, &o)
	checkOutcome(t, "analyst", code, 403, h.Get("Content-Type"), o, "forbidden", "")
	time.Sleep(50 * time.Millisecond)
	denied, _ := e.st.SearchAudit(context.Background(), audit.Filter{Action: audit.ActAccessDenied, Limit: 10})
	if len(denied) == 0 || !strings.Contains(denied[0].Detail, "/fhir/Patient/{id}") {
		t.Errorf("no access.denied row for the analyst: %+v", denied)
	}
}

// TestPatientSearch: identifier (with and without its system), name,
// birthdate ranges and _count work as FHIR says; bad parameters are 400
// OperationOutcomes naming the parameter; an unsupported parameter is
// ignored and left out of the self link, or refused under Prefer:
// handling=strict (FHIR R4 §3.1.1.5.4 "Handling errors").
func TestPatientSearch(t *testing.T) {
	e := newEnv(t)
	td := e.as(care.RoleTownshipDoctor)
	var all bundle
	if code, _, body := td.get("/fhir/Patient?_count=50", nil, &all); code != 200 || len(all.Entry) != 50 || all.Total != nil {
		t.Fatalf("first 50 of the township: %d (total %v, more exist so no total) %.300s", code, all.Total, body)
	}
	p := all.patients(t)[7]
	idn, rec := ident(p, fhir.SystemIDNumber), ident(p, fhir.SystemRecordNumber)
	for _, q := range []string{"identifier=" + url.QueryEscape(fhir.SystemIDNumber+"|"+idn), "identifier=" + idn,
		"identifier=" + url.QueryEscape(fhir.SystemRecordNumber+"|"+rec), "identifier=" + rec, "_id=" + p.ID} {
		var b bundle
		code, _, body := td.get("/fhir/Patient?"+q, nil, &b)
		if code != 200 || len(b.Entry) != 1 || b.Total == nil || *b.Total != 1 || b.patients(t)[0].ID != p.ID ||
			b.Entry[0].FullURL != e.ts.URL+"/fhir/Patient/"+p.ID {
			t.Errorf("%s: %d %.300s", q, code, body)
		}
	}
	var byName bundle
	td.get("/fhir/Patient?name="+url.QueryEscape(p.Name[0].Text)+"&_count=100", nil, &byName)
	found := false
	for _, q := range byName.patients(t) {
		found = found || q.ID == p.ID
		if !strings.HasPrefix(q.Name[0].Text, p.Name[0].Text) {
			t.Errorf("name=%s matched %s", p.Name[0].Text, q.Name[0].Text)
		}
	}
	if !found {
		t.Errorf("name=%s does not find patient %s", p.Name[0].Text, p.ID)
	}
	var born bundle
	td.get("/fhir/Patient?birthdate=ge"+p.BirthDate+"&birthdate=le"+p.BirthDate+"&_count=100", nil, &born)
	if len(born.Entry) == 0 {
		t.Errorf("birthdate=eq %s finds nobody", p.BirthDate)
	}
	for _, q := range born.patients(t) {
		if q.BirthDate != p.BirthDate {
			t.Errorf("birthdate ge/le %s matched %s", p.BirthDate, q.BirthDate)
		}
	}
	var lenient bundle
	td.get("/fhir/Patient?_id="+p.ID+"&_elements=name", nil, &lenient)
	if len(lenient.Entry) != 1 || len(lenient.Link) == 0 || strings.Contains(lenient.Link[0].URL, "_elements") || !strings.Contains(lenient.Link[0].URL, "_id="+p.ID) {
		t.Errorf("an unsupported parameter must be ignored and left out of the self link: %+v", lenient.Link)
	}
	for _, c := range []struct{ q, expr string }{
		{"_count=0", "_count"}, {"_count=101", "_count"}, {"_count=x", "_count"},
		{"identifier=" + url.QueryEscape("mrn|12345"), "identifier"}, {"identifier=12345", "identifier"},
		{"birthdate=1990-02-30", "birthdate"}, {"birthdate=ap1990-01-01", "birthdate"},
		{"name=" + idn, "name"}, {"name=a&identifier=" + idn, ""},
	} {
		var o outcome
		code, h, _ := td.get("/fhir/Patient?"+c.q, nil, &o)
		checkOutcome(t, c.q, code, 400, h.Get("Content-Type"), o, "invalid", c.expr)
	}
	var o outcome
	code, h, _ := td.get("/fhir/Patient?_id="+p.ID+"&_elements=name", map[string]string{"Prefer": "handling=strict"}, &o)
	checkOutcome(t, "strict", code, 400, h.Get("Content-Type"), o, "invalid", "_elements")
}

// TestOrganizationTree: the organisation tree as Organizations linked by
// partOf: the county's root has no parent, each village clinic is part of
// its township health center; search by partof, type and _id.
func TestOrganizationTree(t *testing.T) {
	e := newEnv(t)
	c := e.as(care.RoleAnalyst)
	var all bundle
	if code, _, body := c.get("/fhir/Organization", nil, &all); code != 200 || all.Total == nil || *all.Total < 10 {
		t.Fatalf("organizations: %d %.300s", code, body)
	}
	byID := map[string]fhir.Organization{}
	for _, en := range all.Entry {
		var o fhir.Organization
		json.Unmarshal(en.Resource, &o)
		byID[o.ID] = o
	}
	villages := 0
	for _, o := range byID {
		if o.PartOf != nil {
			if _, ok := byID[strings.TrimPrefix(o.PartOf.Reference, "Organization/")]; !ok {
				t.Errorf("%s is part of %s, which is not in the tree", o.Name, o.PartOf.Reference)
			}
		}
		if len(o.Type) == 1 && o.Type[0].Coding[0].Code == "village_clinic" {
			villages++
			parent := byID[strings.TrimPrefix(o.PartOf.Reference, "Organization/")]
			if k := parent.Type[0].Coding[0].Code; k != "township_hc" && k != "central_hc" && k != "sub_center" {
				t.Errorf("village clinic %s is part of a %s", o.Name, k)
			}
			if o.Type[0].Coding[0].Display != "村卫生室" {
				t.Errorf("kind display %q", o.Type[0].Coding[0].Display)
			}
		}
	}
	if villages != 6 {
		t.Errorf("%d village clinics, want the demo's 6", villages)
	}
	var kids bundle
	var some fhir.Organization
	for _, o := range byID {
		if len(o.Type) == 1 && o.Type[0].Coding[0].Code == "village_clinic" {
			some = o
			break
		}
	}
	c.get("/fhir/Organization?partof="+url.QueryEscape(some.PartOf.Reference), nil, &kids)
	if len(kids.Entry) == 0 {
		t.Error("partof finds no children")
	}
	for _, en := range kids.Entry {
		var o fhir.Organization
		json.Unmarshal(en.Resource, &o)
		if o.PartOf == nil || o.PartOf.Reference != some.PartOf.Reference {
			t.Errorf("partof=%s matched %s", some.PartOf.Reference, o.Name)
		}
	}
	var typed bundle
	c.get("/fhir/Organization?type="+url.QueryEscape(fhir.SystemOrgKind+"|village_clinic"), nil, &typed)
	if typed.Total == nil || *typed.Total != 6 {
		t.Errorf("type=village_clinic: %v", typed.Total)
	}
	var one fhir.Organization
	if code, _, body := c.get("/fhir/Organization/"+some.ID, nil, &one); code != 200 || one.Name != some.Name {
		t.Errorf("read: %d %s", code, body)
	}
	var o outcome
	code, h, _ := c.get("/fhir/Organization?partof=Patient/x", nil, &o)
	checkOutcome(t, "bad partof", code, 400, h.Get("Content-Type"), o, "invalid", "partof")
	o = outcome{}
	code, h, _ = e.as(care.RoleResident).get("/fhir/Organization", nil, &o)
	checkOutcome(t, "resident", code, 403, h.Get("Content-Type"), o, "forbidden", "")
}

// TestChronicRecord: a patient's chronic disease registrations are
// Conditions (problem-list items, ICD-10 where the registry names one
// disease, the tier as an extension) and the follow-up visits'
// measurements are Observations with LOINC codes and UCUM units
// (docs/fhir.md "Condition", "Observation"): blood pressure as a panel of
// systolic and diastolic in mm[Hg], fasting glucose in mmol/L. Searches by
// code and date narrow them; patient is required; out of scope is not
// found; every search reads the record through the audited path.
func TestChronicRecord(t *testing.T) {
	e := newEnv(t)
	vd := e.as(care.RoleVillageDoctor)
	var mine bundle
	vd.get("/fhir/Patient?_count=100", nil, &mine)
	var patient string
	var conds []fhir.Condition
	for _, p := range mine.patients(t) {
		var b bundle
		code, _, body := vd.get("/fhir/Condition?patient=Patient/"+p.ID, nil, &b)
		if code != 200 {
			t.Fatalf("Condition search: %d %s", code, body)
		}
		if len(b.Entry) > 0 {
			patient = p.ID
			for _, en := range b.Entry {
				var c fhir.Condition
				json.Unmarshal(en.Resource, &c)
				conds = append(conds, c)
			}
			var obs bundle
			vd.get("/fhir/Observation?patient="+p.ID, nil, &obs)
			if len(obs.Entry) > 0 {
				break
			}
			patient, conds = "", nil
		}
	}
	if patient == "" {
		t.Fatal("no patient of the village with a registration and a measured follow-up")
	}
	for _, c := range conds {
		if c.Subject.Reference != "Patient/"+patient || c.ClinicalStatus == nil || c.Category[0].Coding[0].Code != "problem-list-item" || c.Code == nil || c.Code.Text == "" {
			t.Errorf("condition %+v", c)
		}
		reg := c.Code.Coding[len(c.Code.Coding)-1]
		if reg.System != fhir.SystemRegistry {
			t.Errorf("condition %s: last coding %+v, want the registry's", c.ID, reg)
		}
		want := map[string]string{"hypertension": "I10", "diabetes": "E11", "hepatitis": "B18"}[reg.Code]
		if want != "" && (c.Code.Coding[0].System != fhir.SystemICD10 || c.Code.Coding[0].Code != want) {
			t.Errorf("condition %s (%s): ICD-10 %+v, want %s", c.ID, reg.Code, c.Code.Coding[0], want)
		}
		var one fhir.Condition
		if code, _, body := vd.get("/fhir/Condition/"+c.ID, nil, &one); code != 200 || one.ID != c.ID {
			t.Errorf("Condition read: %d %s", code, body)
		}
	}
	var obs bundle
	code, _, body := vd.get("/fhir/Observation?patient=Patient/"+patient, nil, &obs)
	if code != 200 || obs.Total == nil || *obs.Total != len(obs.Entry) {
		t.Fatalf("observations: %d %.400s", code, body)
	}
	type obsT struct {
		ID                string
		Status            string
		Code              fhir.CodeableConcept
		Subject           fhir.Reference
		EffectiveDateTime string
		ValueQuantity     *fhir.Quantity
		Component         []fhir.ObservationComponent
	}
	var last string
	var bp *obsT
	for i, en := range obs.Entry {
		var o obsT
		json.Unmarshal(en.Resource, &o)
		if o.Status != "final" || o.Subject.Reference != "Patient/"+patient || o.Code.Coding[0].System != fhir.SystemLOINC || len(o.EffectiveDateTime) != 10 {
			t.Errorf("observation %s", en.Resource)
		}
		if i > 0 && o.EffectiveDateTime > last {
			t.Errorf("observations not newest first: %s after %s", o.EffectiveDateTime, last)
		}
		last = o.EffectiveDateTime
		switch o.Code.Coding[0].Code {
		case fhir.LoincBPPanel:
			if len(o.Component) != 2 || o.Component[0].Code.Coding[0].Code != fhir.LoincSystolic || o.Component[1].Code.Coding[0].Code != fhir.LoincDiastolic ||
				o.Component[0].ValueQuantity.Code != "mm[Hg]" || o.Component[0].ValueQuantity.Value <= o.Component[1].ValueQuantity.Value {
				t.Errorf("blood pressure %s", en.Resource)
			}
			if bp == nil {
				bp = &o
			}
		case fhir.LoincFastingGluc:
			if o.ValueQuantity == nil || o.ValueQuantity.Code != "mmol/L" || o.ValueQuantity.Value < 1 || o.ValueQuantity.Value > 40 {
				t.Errorf("glucose %s", en.Resource)
			}
		}
	}
	if bp != nil {
		var only bundle
		vd.get("/fhir/Observation?patient="+patient+"&code="+url.QueryEscape(fhir.SystemLOINC+"|"+fhir.LoincBPPanel)+"&date="+bp.EffectiveDateTime, nil, &only)
		if len(only.Entry) == 0 {
			t.Errorf("code and date find nothing for the panel of %s", bp.EffectiveDateTime)
		}
		for _, en := range only.Entry {
			var o obsT
			json.Unmarshal(en.Resource, &o)
			if o.Code.Coding[0].Code != fhir.LoincBPPanel || o.EffectiveDateTime != bp.EffectiveDateTime {
				t.Errorf("code+date matched %s %s", o.Code.Coding[0].Code, o.EffectiveDateTime)
			}
		}
	}
	for _, c := range []struct{ q, expr string }{
		{"", "patient"}, {"patient=Organization/1", "patient"}, {"patient=" + patient + "&code=" + url.QueryEscape("http://snomed.info/sct|38341003"), "code"},
		{"patient=" + patient + "&date=2026-13-01", "date"}, {"patient=" + patient + "&_count=0", "_count"},
	} {
		var o outcome
		code, h, _ := vd.get("/fhir/Observation?"+c.q, nil, &o)
		checkOutcome(t, "Observation?"+c.q, code, 400, h.Get("Content-Type"), o, "invalid", c.expr)
	}
	// Out of the village doctor's scope: not found; a pharmacist reads no chronic records.
	other := otherVillagePatient(t, e, mine.patients(t)[0].ManagingOrganization.Reference)
	var o outcome
	code, h, _ := vd.get("/fhir/Condition?patient="+other, nil, &o)
	checkOutcome(t, "Condition out of scope", code, 404, h.Get("Content-Type"), o, "not-found", "")
	o = outcome{}
	code, h, _ = e.as(care.RoleAnalyst).get("/fhir/Observation?patient="+patient, nil, &o)
	checkOutcome(t, "analyst", code, 403, h.Get("Content-Type"), o, "forbidden", "")
	// The searches read the record through the audited path.
	time.Sleep(50 * time.Millisecond)
	var rid int64
	json.Unmarshal([]byte(patient), &rid)
	evs, _ := e.st.SearchAudit(context.Background(), audit.Filter{ResidentIDs: []int64{rid}, Limit: 200})
	reads := 0
	for _, ev := range evs {
		if ev.Action == audit.ActResidentRead && ev.Username == e.users[care.RoleVillageDoctor] {
			reads++
		}
	}
	if reads < 3 {
		t.Errorf("%d resident.read rows for the patient's FHIR searches and reads, want one per request at least", reads)
	}
}

// TestStaffDirectory: the staff directory as Practitioner (name, gender,
// licence number, title) and PractitionerRole (where and as what: the
// institution, the title, the specialty) — what the /org pages show the
// same roles; searches by organization, specialty, practitioner and name.
func TestStaffDirectory(t *testing.T) {
	e := newEnv(t)
	c := e.as(care.RoleTownshipDoctor)
	var villages bundle
	c.get("/fhir/Organization?type=village_clinic", nil, &villages)
	if len(villages.Entry) == 0 {
		t.Fatal("no village clinics")
	}
	var v fhir.Organization
	json.Unmarshal(villages.Entry[0].Resource, &v)
	var roles bundle
	if code, _, body := c.get("/fhir/PractitionerRole?organization=Organization/"+v.ID, nil, &roles); code != 200 || len(roles.Entry) == 0 {
		t.Fatalf("roles at %s: %d %.300s", v.Name, code, body)
	}
	for _, en := range roles.Entry {
		var r fhir.PractitionerRole
		json.Unmarshal(en.Resource, &r)
		if r.Organization == nil || r.Organization.Reference != "Organization/"+v.ID || r.Practitioner == nil {
			t.Errorf("role %s", en.Resource)
			continue
		}
		var p fhir.Practitioner
		code, _, body := c.get("/fhir/"+r.Practitioner.Reference, nil, &p)
		if code != 200 || p.ID != r.ID || len(p.Name) != 1 || p.Name[0].Text != r.Practitioner.Display || (p.Gender != "male" && p.Gender != "female") {
			t.Errorf("practitioner of role %s: %d %s", r.ID, code, body)
		}
		if len(p.Qualification) != 1 || p.Qualification[0].Code.Coding[0].System != fhir.SystemTitle || p.Qualification[0].Code.Coding[0].Display == "" {
			t.Errorf("practitioner %s qualification %+v", p.ID, p.Qualification)
		}
		var byName bundle
		c.get("/fhir/Practitioner?name="+url.QueryEscape(p.Name[0].Text), nil, &byName)
		found := false
		for _, x := range byName.Entry {
			var q fhir.Practitioner
			json.Unmarshal(x.Resource, &q)
			found = found || q.ID == p.ID
			if !strings.HasPrefix(q.Name[0].Text, p.Name[0].Text) {
				t.Errorf("name=%s matched %s", p.Name[0].Text, q.Name[0].Text)
			}
		}
		if !found {
			t.Errorf("name=%s does not find practitioner %s", p.Name[0].Text, p.ID)
		}
	}
	var cardio bundle
	c.get("/fhir/PractitionerRole?specialty="+url.QueryEscape(fhir.SystemSpecialty+"|cardiology"), nil, &cardio)
	if len(cardio.Entry) == 0 {
		t.Error("no cardiologists in the demo county")
	}
	for _, en := range cardio.Entry {
		var r fhir.PractitionerRole
		json.Unmarshal(en.Resource, &r)
		if len(r.Specialty) != 1 || r.Specialty[0].Coding[0].Code != "cardiology" || r.Specialty[0].Coding[0].Display != "心血管内科" {
			t.Errorf("specialty=cardiology matched %s", en.Resource)
		}
	}
	var o outcome
	code, h, _ := c.get("/fhir/PractitionerRole?organization=Patient/1", nil, &o)
	checkOutcome(t, "bad organization", code, 400, h.Get("Content-Type"), o, "invalid", "organization")
	o = outcome{}
	code, h, _ = c.get("/fhir/Practitioner/999999999", nil, &o)
	checkOutcome(t, "missing practitioner", code, 404, h.Get("Content-Type"), o, "not-found", "")
	o = outcome{}
	code, h, _ = e.as(care.RoleResident).get("/fhir/Practitioner", nil, &o)
	checkOutcome(t, "resident", code, 403, h.Get("Content-Type"), o, "forbidden", "")
}

// TestPatientPaging: a search without _id, identifier or name pages
// through the scope in record-number order (FHIR R4 §3.1.1.5.8 paging):
// following the next links with a small _count visits every resident of a
// birth-year range exactly once, in the order a one-page search gives; the
// last page has no next link; a bad cursor is a 400 naming _cursor.
func TestPatientPaging(t *testing.T) {
	e := newEnv(t)
	td := e.as(care.RoleTownshipDoctor)
	q := "birthdate=ge1950-01-01&birthdate=le1969-12-31"
	var whole bundle
	td.get("/fhir/Patient?"+q+"&_count=100", nil, &whole)
	if whole.Total == nil || *whole.Total < 15 {
		t.Fatalf("one page: total %v, want a birth range of 15 to 100 residents", whole.Total)
	}
	var want []string
	for _, p := range whole.patients(t) {
		want = append(want, p.ID)
	}
	var got []string
	next := "/fhir/Patient?" + q + "&_count=7"
	pages := 0
	for next != "" {
		var b bundle
		if code, _, body := td.get(next, nil, &b); code != 200 {
			t.Fatalf("page %d: %d %.300s", pages, code, body)
		}
		pages++
		for _, p := range b.patients(t) {
			got = append(got, p.ID)
		}
		next = ""
		for _, l := range b.Link {
			if l.Relation == "next" {
				next = strings.TrimPrefix(l.URL, e.ts.URL)
			}
		}
		if pages > 50 {
			t.Fatal("paging does not end")
		}
	}
	if !slices.Equal(got, want) || pages != (len(want)+6)/7 {
		t.Errorf("%d pages gave %d residents, want %d pages of the %d of one search, in its order", pages, len(got), (len(want)+6)/7, len(want))
	}
	var o outcome
	code, h, _ := td.get("/fhir/Patient?_cursor=abc", nil, &o)
	checkOutcome(t, "bad cursor", code, 400, h.Get("Content-Type"), o, "invalid", "_cursor")
}
