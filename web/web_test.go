package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"countycare/account"
	"countycare/audit"
	"countycare/care"
	"countycare/childhealth"
	"countycare/chronic"
	"countycare/consult"
	"countycare/critical"
	"countycare/demo"
	"countycare/ecg"
	"countycare/elderly"
	"countycare/family"
	"countycare/healthedu"
	"countycare/homevisit"
	"countycare/huts"
	"countycare/internal/testdb"
	"countycare/lab"
	"countycare/maternal"
	"countycare/myrecord"
	"countycare/online"
	"countycare/org"
	"countycare/outreach"
	"countycare/pharmacy"
	"countycare/points"
	"countycare/povertywatch"
	"countycare/proxy"
	"countycare/reading"
	"countycare/referral"
	"countycare/resident"
	"countycare/rx"
	"countycare/screening"
	"countycare/settle"
	"countycare/smart"
	"countycare/specimen"
	"countycare/sterile"
	"countycare/store"
	"countycare/survey"
	"countycare/upload"
	"countycare/villagesync"
	"countycare/web"
)

// env is a running server on a demo county with one signed-in client per role.
type env struct {
	t      testing.TB
	st     *store.Store
	srv    *web.Server
	ts     *httptest.Server
	logs   *syncBuffer
	writer *audit.Writer
	users  map[care.Role]string
	demo   *demo.Result
	watch  *povertywatch.Service
	// surveys is the resident survey service (its clock and invitations).
	surveys *survey.Service
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

func newEnv(t testing.TB, d store.Dialect) *env { t.Helper(); return newEnvWith(t, d, envOptions{}) }

// envOptions vary newEnv's server.
type envOptions struct {
	wrapAudit   func(audit.Appender) audit.Appender // wraps the audit writer's appender (nil: the store itself)
	cfg         web.Config
	uploads     upload.Config                   // resumable uploads (zero: upload.DefaultConfig())
	uploadNow   func() time.Time                // the uploads' clock (nil: time.Now)
	open        func(t testing.TB) *store.Store // opens the store (nil: testdb.Open)
	demo        *demo.Config                    // the demo county (nil: 2,000 residents in 20 villages)
	sterileNow  func() time.Time                // the sterile supply's clock (nil: time.Now)
	outreachNow func() time.Time                // the expert sessions' clock (nil: time.Now)
	journal     bool                            // reads audited through a journal (serve's --audit-journal, --audit-sync batch)
}

func newEnvWith(t testing.TB, d store.Dialect, o envOptions) *env {
	t.Helper()
	wrap := o.wrapAudit
	var st *store.Store
	if o.open != nil {
		st = o.open(t)
	} else {
		st = testdb.Open(t, d, time.Now)
	}
	ctx := context.Background()
	dcfg := demo.Config{Residents: 2000, Villages: 20, VillageDoctors: 40}
	if o.demo != nil {
		dcfg = *o.demo
	}
	res, err := demo.Generate(ctx, st, dcfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	log := slog.New(slog.NewJSONHandler(logs, nil))
	var app audit.Appender = st
	if wrap != nil {
		app = wrap(st)
	}
	w := audit.NewWriter(app, log, time.Now, 1024)
	if o.journal {
		if err := w.OpenJournal(ctx, filepath.Join(t.TempDir(), "audit-journal"), audit.SyncBatch); err != nil {
			t.Fatal(err)
		}
	}
	w.Start()
	t.Cleanup(func() { w.Close(context.Background()) })
	orgs := &org.Service{Repo: st, Now: time.Now}
	rsvc := &resident.Service{Repo: st, Orgs: orgs, Audit: w, Now: time.Now}
	stl := &settle.Service{Repo: st, Residents: rsvc, Orgs: orgs, Audit: w, Now: time.Now}
	chr := &chronic.Service{Repo: st, Residents: rsvc, Orgs: orgs, Audit: w, Config: chronic.DefaultConfig(), Now: time.Now}
	pts := &points.Service{Repo: st, Residents: rsvc, Rules: points.DefaultRules(), Audit: w, Now: time.Now}
	fam := &family.Service{Repo: st, Residents: rsvc, Orgs: orgs, Staff: st, Points: pts, Days: st, Audit: w, Now: time.Now}
	live := web.NewBroker()
	con := &consult.Service{Repo: st, Residents: rsvc, Orgs: orgs, Audit: w, Live: live, Config: consult.DefaultConfig(), Now: time.Now}
	ref := &referral.Service{Repo: st, Residents: rsvc, Orgs: orgs, Staff: st, Audit: w, Config: referral.DefaultConfig(), Now: time.Now}
	crit := &critical.Service{Repo: st, Residents: rsvc, Orgs: orgs, Staff: st, Audit: w, Live: live, Config: critical.DefaultConfig(), Now: time.Now}
	labs := &lab.Service{Repo: st, Residents: rsvc, Critical: crit, Thresholds: critical.DefaultThresholds(), Audit: w, Now: time.Now}
	exams := &reading.ExamService{Repo: st, Residents: rsvc, Orgs: orgs, Critical: crit, Audit: w, Now: time.Now}
	// A signed critical finding raises an alert for the ordering clinic.
	readFlow := &reading.Workflow{Repo: st, Audit: w, Targets: reading.DefaultTargets(), Templates: reading.DefaultTemplates(), Now: time.Now,
		Critical: reading.CriticalAlerts{Service: crit}, OnError: func(err error) { t.Logf("reading workflow: %v", err) }}
	accts := &account.Service{Repo: st, Config: account.DefaultConfig(), Now: time.Now, Orgs: orgs, DeviceKey: account.DeviceKeyFrom(testdb.AuditKey)}
	eduLib := healthedu.DefaultLibrary()
	eduEditions := &healthedu.Editions{Base: eduLib, Repo: st}
	rxs := &rx.Service{Repo: st, Engine: rxEngine, Residents: rsvc, Orgs: orgs, Audit: w, Now: time.Now, Education: eduEditions}
	onl := &online.Service{Repo: st, Residents: rsvc, Staff: st, Accounts: accts, Rx: rxs, Audit: w, Now: time.Now}
	prices, err := pharmacy.ExamplePrices(rxEngine.KB)
	if err != nil {
		t.Fatal(err)
	}
	phs := &pharmacy.Service{Repo: st, Rx: rxs, KB: rxEngine.KB, Config: rxEngine.Config, Prices: prices, Orgs: orgs, Residents: rsvc,
		Payer: pharmacy.SettlePayer{Settle: stl}, Audit: w, Now: time.Now}
	// The poverty watch's lines for this year ([U]: the example's values).
	watch := &povertywatch.Service{Repo: st, Audit: w, Now: time.Now, Config: povertywatch.Config{Version: "test", Years: []povertywatch.Thresholds{
		{Year: time.Now().Year(), AbsoluteOOP: 10000 * settle.Yuan, IncomeShare: 5000, Approach: 8000, Basis: povertywatch.BasisTotal}}}}
	readSvc := &reading.Service{Repo: st, Residents: rsvc, Orgs: orgs, Audit: w, PreRead: ecg.DefaultPreReadConfig(), Now: time.Now}
	imaging := &reading.ImagingService{Repo: st, Residents: rsvc, Orgs: orgs, Now: time.Now}
	ucfg := upload.DefaultConfig()
	if o.uploads.Expiry != 0 {
		ucfg = o.uploads
	}
	uploads := &upload.Service{Repo: st, ECG: readSvc, DICOM: imaging, Audit: w, Config: ucfg, Now: time.Now}
	if o.uploadNow != nil {
		uploads.Now = o.uploadNow
	}
	surveys := &survey.Service{Repo: st, Orgs: orgs, Audit: w, Config: survey.DefaultConfig(), Key: []byte("test survey key"), Now: time.Now}
	viewer := &reading.Viewer{Repo: st, Residents: rsvc, Audit: w}
	scr := &screening.Service{Repo: st, Residents: rsvc, Orgs: orgs, Chronic: chr, Atomic: st.Atomic, Audit: w,
		Config: screening.DefaultConfig().FromChronic(chr.Config), Now: time.Now}
	srv, err := web.New(o.cfg, web.Deps{
		Surveys:   surveys,
		Residents: rsvc, Orgs: orgs, Chronic: chr, Family: fam, Points: pts, Consult: con, Live: live, Referral: ref,
		Accounts: accts, Online: onl, Proxies: &proxy.Service{Repo: st, Residents: rsvc, Audit: w, Now: time.Now, Forget: accts.SessionsChanged},
		MyRecord: &myrecord.Service{Repo: st, Residents: rsvc, Audit: w, Now: time.Now},
		Settle:   stl, Window: &settle.Window{Repo: st, Residents: rsvc, Orgs: orgs, Weights: settle.ExampleWeights(), Now: time.Now},
		Rx: rxEngine, Prescriptions: rxs, Pharmacy: phs,
		Reading: readSvc, Uploads: uploads,
		ReadFlow: readFlow,
		Labs:     labs, Critical: crit, Exams: exams,
		Viewer:    viewer,
		KeyImages: &reading.KeyImages{Flow: readFlow, Viewer: viewer, Repo: st, Now: time.Now},
		Imaging:   imaging,
		DICOMweb:  &reading.DICOMweb{Repo: st, Residents: rsvc, Orgs: orgs, Audit: w, Now: time.Now},
		Store:     st, Audit: w, AuditKey: testdb.AuditKey, Log: log, Now: time.Now,
		PovertyWatch: watch,
		Special:      &povertywatch.Special{Repo: st, Residents: rsvc, Orgs: orgs, Audit: w, List: povertywatch.DefaultSpecialList(), Now: time.Now},
		Sync:         &villagesync.Service{Repo: st, Residents: rsvc, Chronic: chr, Family: fam, Screening: scr, Audit: w, Config: villagesync.DefaultConfig(), Now: time.Now},
		Systems:      &smart.Service{Store: st, Audit: w, Cfg: smart.DefaultConfig(), Now: time.Now},
		Specimens:    &specimen.Service{Repo: st, Residents: rsvc, Orgs: orgs, Labs: labs, Audit: w, Config: specimen.DefaultConfig(), Now: time.Now},
		Maternal:     &maternal.Service{Repo: st, Residents: rsvc, Audit: w, Config: maternal.DefaultConfig(), Now: time.Now},
		Children:     &childhealth.Service{Repo: st, Residents: rsvc, Audit: w, Config: childhealth.DefaultConfig(), Now: time.Now},
		Screening:    scr,
		Elderly: &elderly.Service{Repo: st, Residents: rsvc, Audit: w, Config: elderly.DefaultConfig(), Library: elderly.DefaultLibrary(), Now: time.Now,
			Route: scr},
		Huts: &huts.Service{Repo: st, Residents: rsvc, Orgs: orgs, Alerts: crit, Audit: w, Chronic: chronic.DefaultConfig(), Config: huts.DefaultConfig(),
			Key: huts.KeyFrom(testdb.AuditKey), Now: time.Now},
		Sterile: &sterile.Service{Repo: st, Residents: rsvc, Orgs: orgs, Audit: w, Config: sterile.DefaultConfig(), Now: sterileNow(o)},
		Outreach: &outreach.Service{Repo: st, Orgs: orgs, Staff: st, Residents: rsvc, Audit: w, Config: outreach.DefaultConfig(),
			Forget: accts.SessionsChanged, Now: orNow(o.outreachNow)},
		HealthEdu: &healthedu.Service{Repo: st, Residents: rsvc, Orgs: orgs, Audit: w, Config: healthedu.DefaultConfig(), Library: eduLib,
			Editions: eduEditions, Now: time.Now},
		HomeVisits: &homevisit.Service{Repo: st, Residents: rsvc, Teams: fam, Orgs: orgs, Audit: w, Config: homevisit.DefaultConfig(), Now: time.Now},
	})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	e := &env{t: t, st: st, srv: srv, ts: ts, logs: logs, writer: w, users: map[care.Role]string{}, demo: res, watch: watch, surveys: surveys}
	for _, l := range res.Logins {
		e.users[l.Role] = l.Username
	}
	return e
}

// client is a browser-like client: a cookie jar, no redirects followed.
type client struct {
	e    *env
	hc   *http.Client
	csrf string
}

func (e *env) anon() *client {
	jar, _ := cookiejar.New(nil)
	return &client{e: e, hc: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

func (e *env) as(role care.Role) *client {
	e.t.Helper()
	c := e.anon()
	body, _ := json.Marshal(map[string]string{"username": e.users[role], "password": demo.DefaultPassword})
	resp := c.do("POST", "/api/v1/session", "application/json", body, nil)
	if resp.code != 200 {
		e.t.Fatalf("login %s: %d %s", role, resp.code, resp.body)
	}
	var out struct {
		CSRF string `json:"csrf_token"`
	}
	json.Unmarshal([]byte(resp.body), &out)
	c.csrf = out.CSRF
	return c
}

type response struct {
	code   int
	body   string
	header http.Header
}

func (c *client) do(method, path, ctype string, body []byte, hdr map[string]string) response {
	c.e.t.Helper()
	req, _ := http.NewRequest(method, c.e.ts.URL+path, bytes.NewReader(body))
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		c.e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return response{resp.StatusCode, string(b), resp.Header}
}

func (c *client) get(path string) response { return c.do("GET", path, "", nil, nil) }

func (c *client) postJSON(path string, v any) response {
	b, _ := json.Marshal(v)
	return c.do("POST", path, "application/json", b, map[string]string{"X-CSRF-Token": c.csrf})
}

func (c *client) postForm(path string, vals url.Values, withCSRF bool) response {
	if withCSRF {
		vals.Set("csrf", c.csrf)
	}
	return c.do("POST", path, "application/x-www-form-urlencoded", []byte(vals.Encode()), nil)
}

func TestEveryRouteHasAPolicy(t *testing.T) {
	e := newEnv(t, store.SQLite)
	routes := e.srv.Routes()
	if len(routes) < 40 {
		t.Fatalf("only %d routes registered", len(routes))
	}
	public := map[string]bool{"GET /healthz": true, "GET /static/{hash}/{file}": true, "GET /lang/{lang}": true, "GET /login": true,
		"POST /login": true, "POST /api/v1/session": true, "/": true,
		"GET /reset": true, "POST /reset": true, // one-time password links: the token is the credential
		"GET /login/code": true, "POST /login/code": true, "POST /login/code/verify": true, // residents' sign-in by a code sent by text
		"GET /s": true, "POST /s": true, // resident survey links: the signed single-use token is the credential
		// The village app's service worker and manifest hold no data (a browser fetches a manifest without cookies).
		"GET /village/sw.js": true, "GET /village/manifest.webmanifest": true}
	for _, r := range routes {
		if !r.Policy.Defined() {
			t.Errorf("route %s has no policy", r.Pattern)
		}
		if r.Policy.IsPublic() && !public[r.Pattern] {
			t.Errorf("route %s is public but not on the list of public routes", r.Pattern)
		}
		if strings.Contains(r.Pattern, "resident") && !r.Policy.IsPublic() {
			for _, role := range r.Policy.Roles() {
				if role == care.RoleAnalyst || role == care.RoleAdmin || role == care.RoleAuditor {
					t.Errorf("route %s admits %s, who must not see identified residents", r.Pattern, role)
				}
			}
		}
	}
}

// TestDeniedRequestNeverReachesHandler: every role a route's policy does
// not name gets 403 (or 401 when anonymous) from the wrapper, and the
// refusal is audited.
func TestDeniedRequestNeverReachesHandler(t *testing.T) {
	e := newEnv(t, store.SQLite)
	cases := []struct {
		role care.Role
		path string
	}{
		{care.RoleVillageDoctor, "/api/v1/audit"},
		{care.RoleAnalyst, "/api/v1/residents?q=zs"},
		{care.RoleAdmin, "/api/v1/residents?q=zs"},
		{care.RoleAuditor, "/api/v1/residents/1"},
		{care.RoleResident, "/api/v1/residents?q=zs"},
		{care.RolePharmacist, "/api/v1/residents/export"},
	}
	for _, c := range cases {
		r := e.as(c.role).get(c.path)
		if r.code != http.StatusForbidden || !strings.Contains(r.body, `"forbidden"`) {
			t.Errorf("%s GET %s: %d %s, want 403", c.role, c.path, r.code, r.body)
		}
	}
	if r := e.anon().get("/api/v1/residents?q=zs"); r.code != http.StatusUnauthorized {
		t.Errorf("anonymous API: %d, want 401", r.code)
	}
	if r := e.anon().get("/residents"); r.code != http.StatusSeeOther || !strings.HasPrefix(r.header.Get("Location"), "/login") {
		t.Errorf("anonymous page: %d %s, want redirect to login", r.code, r.header.Get("Location"))
	}
	e.writer.Flush(context.Background())
	evs, _ := e.st.SearchAudit(context.Background(), audit.Filter{Action: audit.ActAccessDenied})
	if len(evs) != len(cases) {
		t.Errorf("access.denied audit rows %d, want %d", len(evs), len(cases))
	}
}

func TestResidentAPI(t *testing.T) {
	for _, d := range testdb.Dialects {
		t.Run(string(d), func(t *testing.T) { testResidentAPI(t, d) })
	}
}

func testResidentAPI(t *testing.T, d store.Dialect) {
	e := newEnv(t, d)
	vd := e.as(care.RoleVillageDoctor)
	var me struct {
		InstitutionID int64 `json:"institution_id"`
	}
	json.Unmarshal([]byte(vd.get("/api/v1/me").body), &me)

	newRes := map[string]any{"name": "欧阳修远", "id_number": "411723198807150031", "phone": "13912345678", "village_id": me.InstitutionID, "poverty": "subsistence"}
	r := vd.postJSON("/api/v1/residents", newRes)
	if r.code != http.StatusCreated {
		t.Fatalf("register: %d %s", r.code, r.body)
	}
	var created struct {
		ID             int64  `json:"id"`
		IDNumber       string `json:"id_number"`
		IDNumberMasked bool   `json:"id_number_masked"`
		Phone          string `json:"phone"`
		Version        int    `json:"version"`
	}
	json.Unmarshal([]byte(r.body), &created)
	if created.IDNumber != "411723********0031" || !created.IDNumberMasked || created.Phone != "139****5678" {
		t.Errorf("not masked: %s", r.body)
	}
	path := "/api/v1/residents/" + itoa(created.ID)

	tests := []struct {
		name     string
		c        *client
		method   string
		path     string
		ctype    string
		body     string
		noCSRF   bool
		status   int
		contains string
	}{
		{"find by pinyin initials", vd, "GET", "/api/v1/residents?q=oyxy", "", "", false, 200, `"欧阳修远"`},
		{"find by ID number", vd, "GET", "/api/v1/residents?q=411723198807150031", "", "", false, 200, `"欧阳修远"`},
		{"duplicate registration", vd, "POST", "/api/v1/residents", "application/json", mustJSON(newRes), false, 409, `resident.duplicate_here`},
		{"bad check digit names the fault", vd, "POST", "/api/v1/residents", "application/json", `{"name":"张三","id_number":"411723198807150032","village_id":` + itoa(me.InstitutionID) + `}`, false, 422, `末位应为 1，输入的是 2`},
		{"impossible birth date", vd, "POST", "/api/v1/residents", "application/json", `{"name":"张三","id_number":"411723198802300031","village_id":` + itoa(me.InstitutionID) + `}`, false, 422, `idcard.birth_date`},
		{"html in name", vd, "POST", "/api/v1/residents", "application/json", `{"name":"<img src=x onerror=alert(1)>","id_number":"110105198001010016","village_id":` + itoa(me.InstitutionID) + `}`, false, 422, `name.chars`},
		{"over-long address", vd, "POST", "/api/v1/residents", "application/json", `{"name":"张三","id_number":"110105198001010016","address":"` + strings.Repeat("路", 201) + `","village_id":` + itoa(me.InstitutionID) + `}`, false, 422, `field.too_long`},
		{"unknown JSON field", vd, "POST", "/api/v1/residents", "application/json", `{"name":"张三","admin":true}`, false, 422, `"field":"admin","code":"error.field_unknown"`},
		{"wrong content type", vd, "POST", "/api/v1/residents", "text/plain", `name=x`, false, 415, `unsupported`},
		{"no CSRF token", vd, "POST", "/api/v1/residents", "application/json", mustJSON(newRes), true, 403, `error.csrf`},
		{"body too large", vd, "POST", "/api/v1/residents", "application/json", `{"name":"` + strings.Repeat("a", 2<<20) + `"}`, false, 413, `too_large`},
		{"sql injection in search", vd, "GET", "/api/v1/residents?q=" + url.QueryEscape("' OR 1=1 --"), "", "", false, 422, `search.invalid`},
		{"bad group filter", vd, "GET", "/api/v1/residents?group=all", "", "", false, 422, `search.group.invalid`},
		{"read own resident", vd, "GET", path, "", "", false, 200, `"欧阳修远"`},
		{"township doctor reads it", e.as(care.RoleTownshipDoctor), "GET", path, "", "", false, 200, `"欧阳修远"`},
		{"county specialist without a link: 404", e.as(care.RoleCountySpecialist), "GET", path, "", "", false, 404, `not_found`},
		{"insurance officer reads it (payment)", e.as(care.RoleInsuranceOfficer), "GET", path, "", "", false, 200, `"欧阳修远"`},
		{"nonexistent resident: same 404", vd, "GET", "/api/v1/residents/999999", "", "", false, 404, `not_found`},
		{"malformed id: 404", vd, "GET", "/api/v1/residents/abc", "", "", false, 404, `not_found`},
		{"reveal ID number", vd, "POST", path + "/reveal-id", "", "", false, 200, `411723198807150031`},
		{"stale update", vd, "PUT", path, "application/json", `{"name":"欧阳修远","id_number":"411723198807150031","version":99}`, false, 409, `resident.stale`},
		{"update", vd, "PUT", path, "application/json", `{"name":"欧阳修远","id_number":"411723198807150031","phone":"13800000000","version":1}`, false, 200, `"version":2`},
		{"English errors", nil, "POST", "/api/v1/residents", "application/json", `{"name":"张三","id_number":"411723198807150032","village_id":` + itoa(me.InstitutionID) + `}`, false, 422, `should be 1, not 2`},
		{"stats for analyst, no names", e.as(care.RoleAnalyst), "GET", "/api/v1/stats/population", "", "", false, 200, `"small_cell":5`},
		{"import CSV", vd, "POST", "/api/v1/residents/import?village_id=" + itoa(me.InstitutionID), "text/csv", "household,name,id_number\nH1,单田芳,11010519491231002X\n", false, 201, `"imported":1`},
		{"import with a bad row names the line", vd, "POST", "/api/v1/residents/import?village_id=" + itoa(me.InstitutionID), "text/csv", "household,name,id_number\nH1,张三,110105194912310021\n", false, 422, `"field":"2:id_number"`},
		{"import as JSON refused", vd, "POST", "/api/v1/residents/import?village_id=" + itoa(me.InstitutionID), "application/json", `{}`, false, 415, `text/csv`},
		{"export is CSV", vd, "GET", "/api/v1/residents/export", "", "", false, 200, `record_number,name`},
	}
	for _, tt := range tests {
		c := tt.c
		hdr := map[string]string{}
		if tt.name == "English errors" {
			c = vd
			hdr["Cookie"] = "cc_lang=en"
		}
		if !tt.noCSRF {
			hdr["X-CSRF-Token"] = c.csrf
		}
		var got response
		if tt.name == "English errors" {
			// The jar holds the session; add the language cookie by hand.
			u, _ := url.Parse(e.ts.URL)
			c.hc.Jar.SetCookies(u, []*http.Cookie{{Name: "cc_lang", Value: "en", Path: "/"}})
			delete(hdr, "Cookie")
		}
		got = c.do(tt.method, tt.path, tt.ctype, []byte(tt.body), hdr)
		if got.code != tt.status || !strings.Contains(got.body, tt.contains) {
			t.Errorf("%s: %d %.300s; want %d containing %q", tt.name, got.code, got.body, tt.status, tt.contains)
		}
	}
	// Nothing was half-written by the refused requests: one resident with this name.
	if res := vd.get("/api/v1/residents?q=110105198001010016"); res.code != 200 || !strings.Contains(res.body, `"residents":[]`) {
		t.Errorf("a refused registration was stored: %s", res.body)
	}
	// Reads, the reveal and the refusals are in the audit trail.
	e.writer.Flush(context.Background())
	evs, _ := e.st.SearchAudit(context.Background(), audit.Filter{ResidentIDs: []int64{created.ID}})
	seen := map[string]int{}
	for _, ev := range evs {
		seen[ev.Action+"/"+ev.Outcome]++
		if ev.RequestID == "" {
			t.Errorf("audit row %d has no request ID", ev.Seq)
		}
	}
	for _, want := range []string{"resident.create/ok", "resident.read/ok", "resident.read/denied", "resident.reveal_id/ok", "resident.update/ok"} {
		if seen[want] == 0 {
			t.Errorf("no %s audit row (have %v)", want, seen)
		}
	}
	// Secrets never reach the log.
	logs := e.logs.String()
	for _, secret := range []string{demo.DefaultPassword, "411723198807150031", "13912345678"} {
		if strings.Contains(logs, secret) {
			t.Errorf("log contains %q", secret)
		}
	}
}

func TestFormsAndPages(t *testing.T) {
	e := newEnv(t, store.SQLite)
	// Sign in through the form: the login page's CSRF cookie is required.
	c := e.anon()
	page := c.get("/login")
	tok := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(page.body)
	if page.code != 200 || tok == nil {
		t.Fatalf("login page: %d", page.code)
	}
	if r := c.postForm("/login", url.Values{"username": {e.users[care.RoleVillageDoctor]}, "password": {demo.DefaultPassword}}, false); r.code != 403 {
		t.Errorf("login form without CSRF: %d, want 403", r.code)
	}
	page = c.get("/login")
	tok = regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(page.body)
	r := c.postForm("/login", url.Values{"csrf": {tok[1]}, "username": {e.users[care.RoleVillageDoctor]}, "password": {"wrong-password"}}, false)
	if r.code != 401 || !strings.Contains(r.body, "用户名或密码错误") {
		t.Errorf("wrong password: %d", r.code)
	}
	tok = regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(r.body)
	r = c.postForm("/login", url.Values{"csrf": {tok[1]}, "username": {e.users[care.RoleVillageDoctor]}, "password": {demo.DefaultPassword}, "next": {"/residents"}}, false)
	if r.code != 303 || r.header.Get("Location") != "/residents" {
		t.Fatalf("login: %d %s", r.code, r.header.Get("Location"))
	}
	home := c.get("/")
	csrf := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(home.body)
	if home.code != 200 || csrf == nil {
		t.Fatalf("home: %d", home.code)
	}
	c.csrf = csrf[1]
	// A form post without the token is refused and writes nothing.
	form := url.Values{"name": {"李四"}, "id_number": {"11010519491231002X"}, "relation": {"head"}}
	if r := c.postForm("/residents", form, false); r.code != 403 || !strings.Contains(r.body, "页面已过期") {
		t.Errorf("CSRF-less form post: %d", r.code)
	}
	// A bad form comes back with the message and the typed values kept.
	form.Set("id_number", "11010519491231002Y")
	r = c.postForm("/residents", form, true)
	if r.code != 422 || !strings.Contains(r.body, "身份证号第 18 位不是数字") || !strings.Contains(r.body, `value="李四"`) {
		t.Errorf("bad form: %d %.500s", r.code, r.body)
	}
	// Every page a village doctor can reach renders.
	for _, p := range []string{"/", "/residents", "/residents?group=elderly65", "/residents/new", "/residents/duplicates", "/org", "/account/password"} {
		if r := c.get(p); r.code != 200 {
			t.Errorf("GET %s: %d", p, r.code)
		}
	}
	// Logout ends the session on the server: the old cookie no longer works.
	u, _ := url.Parse(e.ts.URL)
	old := c.hc.Jar.Cookies(u)
	if r := c.postForm("/logout", url.Values{}, true); r.code != 303 {
		t.Errorf("logout: %d", r.code)
	}
	replay := e.anon()
	replay.hc.Jar.SetCookies(u, old)
	if r := replay.get("/api/v1/me"); r.code != 401 {
		t.Errorf("session cookie valid after logout: %d", r.code)
	}
	// Pages of other roles render for them.
	for role, pages := range map[care.Role][]string{
		care.RoleAdmin:            {"/", "/admin/accounts", "/org"},
		care.RoleAuditor:          {"/audit", "/audit?outcome=denied"},
		care.RoleAnalyst:          {"/stats"},
		care.RoleResident:         {"/me"},
		care.RoleCountySpecialist: {"/emergency", "/residents"},
	} {
		c := e.as(role)
		for _, p := range pages {
			if r := c.get(p); r.code != 200 {
				t.Errorf("%s GET %s: %d", role, p, r.code)
			}
		}
	}
	// The auditor's verify button reports an intact chain.
	aud := e.as(care.RoleAuditor)
	e.writer.Flush(context.Background())
	if r := aud.postForm("/audit/verify", url.Values{}, true); r.code != 200 || !strings.Contains(r.body, `id="verify-ok"`) {
		t.Errorf("verify: %d", r.code)
	}
}

// TestMetricsNeedToken: the main listener serves /metrics only with the
// metrics token, never because the client is on loopback (a proxy on the
// same host is); without a token it does not serve it. MetricsHandler, for
// serve --metrics-addr, serves it (with the token when one is set).
func TestMetricsNeedToken(t *testing.T) {
	e := newEnv(t, store.SQLite)
	e.anon().get("/healthz")
	if r := e.anon().get("/metrics"); r.code != 404 || strings.Contains(r.body, "countycare_http") {
		t.Errorf("metrics from loopback without a token configured: %d, want 404", r.code)
	}
	if r := e.anon().do("GET", "/metrics", "", nil, map[string]string{"Authorization": "Bearer "}); r.code != 404 {
		t.Errorf("metrics with an empty bearer token: %d, want 404", r.code)
	}
	own := httptest.NewServer(e.srv.MetricsHandler())
	defer own.Close()
	get := func(url, token string) (int, string) {
		req, _ := http.NewRequest("GET", url, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := get(own.URL+"/metrics", ""); code != 200 || !strings.Contains(body, `countycare_http_requests_total{route="GET /healthz"`) {
		t.Errorf("metrics on their own listener: %d %.200s", code, body)
	}
	if code, _ := get(own.URL+"/", ""); code != 404 {
		t.Errorf("the metrics listener serves /: %d", code)
	}
	if code, _ := get(own.URL+"/healthz", ""); code != 404 {
		t.Errorf("the metrics listener serves /healthz: %d", code)
	}

	e = newEnvWith(t, store.SQLite, envOptions{cfg: web.Config{MetricsToken: "s3cret-metrics"}})
	for _, tok := range []string{"", "wrong", "s3cret-metric"} {
		h := map[string]string{}
		if tok != "" {
			h["Authorization"] = "Bearer " + tok
		}
		if r := e.anon().do("GET", "/metrics", "", nil, h); r.code != 404 {
			t.Errorf("metrics with token %q: %d, want 404", tok, r.code)
		}
	}
	if r := e.anon().do("GET", "/metrics", "", nil, map[string]string{"Authorization": "Bearer s3cret-metrics"}); r.code != 200 ||
		!strings.Contains(r.body, "countycare_http_requests_total") {
		t.Errorf("metrics with the token: %d", r.code)
	}
	own2 := httptest.NewServer(e.srv.MetricsHandler())
	defer own2.Close()
	if code, _ := get(own2.URL+"/metrics", ""); code != 404 {
		t.Errorf("metrics listener without the configured token: %d, want 404", code)
	}
	if code, _ := get(own2.URL+"/metrics", "s3cret-metrics"); code != 200 {
		t.Errorf("metrics listener with the token: %d", code)
	}
}

func mustJSON(v any) string { b, _ := json.Marshal(v); return string(b) }

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// orNow is now, or time.Now when nil.
func orNow(now func() time.Time) func() time.Time {
	if now != nil {
		return now
	}
	return time.Now
}

func sterileNow(o envOptions) func() time.Time {
	if o.sterileNow != nil {
		return o.sterileNow
	}
	return time.Now
}
