package fhir_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"countycare/audit"
	"countycare/bulkdata"
	"countycare/care"
	"countycare/demo"
	"countycare/fhir"
	"countycare/org"
	"countycare/store"
)

// A system client as the tests drive it: its private key, and the token
// it was given.
type sysClient struct {
	e     *env
	id    string
	key   crypto.Signer
	alg   jose.SignatureAlgorithm
	token string
}

// register registers a system client through the administrator's JSON
// API (inst 0: county-wide) with the public key of a fresh key pair.
func (e *env) register(t *testing.T, id string, alg jose.SignatureAlgorithm, inst int64, scopes string) *sysClient {
	t.Helper()
	c := &sysClient{e: e, id: id, alg: alg}
	var pub any
	switch alg {
	case jose.RS384:
		k, _ := rsa.GenerateKey(rand.Reader, 2048)
		c.key, pub = k, &k.PublicKey
	default:
		k, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
		c.key, pub = k, &k.PublicKey
	}
	var keys string
	if alg == jose.RS384 { // RSA as PEM, EC as a JWK Set: both forms are taken
		der, _ := x509.MarshalPKIXPublicKey(pub)
		keys = string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
	} else {
		b, _ := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: pub, KeyID: "k1", Use: "sig", Algorithm: string(alg)}}})
		keys = string(b)
	}
	code, body := e.adminPost(t, "/api/v1/fhir-clients", map[string]any{"client_id": id, "name": "省全民健康信息平台 " + id,
		"institution_id": inst, "scopes": scopes, "keys": keys})
	if code != 201 {
		t.Fatalf("register %s: %d %s", id, code, body)
	}
	return c
}

// adminSession signs the county's administrator in: the client and the
// session's CSRF token.
func (e *env) adminSession(t *testing.T) (*client, string) {
	t.Helper()
	c := e.anon()
	resp, err := c.hc.Post(e.ts.URL+"/api/v1/session", "application/json",
		strings.NewReader(`{"username":"`+e.users[care.RoleAdmin]+`","password":"`+demo.DefaultPassword+`"}`))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var s struct {
		CSRF string `json:"csrf_token"`
	}
	json.NewDecoder(resp.Body).Decode(&s)
	return c, s.CSRF
}

// adminPost posts JSON as the county's administrator.
func (e *env) adminPost(t *testing.T, path string, v any) (int, string) {
	t.Helper()
	c, csrf := e.adminSession(t)
	b, _ := json.Marshal(v)
	req, _ := http.NewRequest("POST", e.ts.URL+path, bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-CSRF-Token", csrf)
	resp, err := c.hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(out)
}

// assertion is a client authentication JWT; edit changes its claims.
func (c *sysClient) assertion(t *testing.T, key crypto.Signer, edit func(*jwt.Claims)) string {
	t.Helper()
	now := time.Now()
	cl := jwt.Claims{Issuer: c.id, Subject: c.id, Audience: jwt.Audience{c.e.ts.URL + "/fhir/auth/token"},
		Expiry: jwt.NewNumericDate(now.Add(4 * time.Minute)), ID: strconv.FormatInt(now.UnixNano(), 36)}
	if edit != nil {
		edit(&cl)
	}
	opts := (&jose.SignerOptions{}).WithType("JWT")
	if c.alg == jose.ES384 {
		opts = opts.WithHeader("kid", "k1")
	}
	sig, err := jose.NewSigner(jose.SigningKey{Algorithm: c.alg, Key: key}, opts)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := jwt.Signed(sig).Claims(cl).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// tokenRequest posts to the token endpoint.
func (c *sysClient) tokenRequest(t *testing.T, assertion, scope string) (int, map[string]any) {
	t.Helper()
	form := url.Values{"grant_type": {"client_credentials"}, "client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"},
		"client_assertion": {assertion}, "scope": {scope}}
	resp, err := http.PostForm(c.e.ts.URL+"/fhir/auth/token", form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

// signIn gets an access token for scope.
func (c *sysClient) signIn(t *testing.T, scope string) *sysClient {
	t.Helper()
	code, out := c.tokenRequest(t, c.assertion(t, c.key, nil), scope)
	if code != 200 || out["token_type"] != "bearer" || out["access_token"] == "" {
		t.Fatalf("token for %s: %d %v", c.id, code, out)
	}
	c.token = out["access_token"].(string)
	return c
}

// do sends a request with the client's bearer token.
func (c *sysClient) do(t *testing.T, method, path string, hdr map[string]string) (*http.Response, []byte) {
	t.Helper()
	u := path
	if !strings.HasPrefix(u, "http") {
		u = c.e.ts.URL + path
	}
	req, _ := http.NewRequest(method, u, nil)
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

var async = map[string]string{"Prefer": "respond-async", "Accept": "application/fhir+json"}

// export kicks an export off, runs the export duty and returns the
// manifest and the status URL.
func (c *sysClient) export(t *testing.T, path string) (fhir.Manifest, string) {
	t.Helper()
	resp, body := c.do(t, "GET", path, async)
	loc := resp.Header.Get("Content-Location")
	if resp.StatusCode != 202 || !strings.Contains(loc, "/fhir/$export-status/") {
		t.Fatalf("kick-off %s: %d %s %s", path, resp.StatusCode, loc, body)
	}
	if resp, _ := c.do(t, "GET", loc, nil); resp.StatusCode != 202 || resp.Header.Get("X-Progress") == "" {
		t.Fatalf("status before the duty ran: %d %q", resp.StatusCode, resp.Header.Get("X-Progress"))
	}
	if _, err := c.e.fhir.RunExports(context.Background(), time.Hour); err != nil {
		t.Fatal(err)
	}
	resp, body = c.do(t, "GET", loc, nil)
	var m fhir.Manifest
	if resp.StatusCode != 200 || json.Unmarshal(body, &m) != nil || !m.RequiresAccessToken || m.TransactionTime == "" || m.Request == "" {
		t.Fatalf("status after the duty ran: %d %s", resp.StatusCode, body)
	}
	return m, loc
}

// lines downloads every file of m: its lines by type.
func (c *sysClient) lines(t *testing.T, m fhir.Manifest) map[string][][]byte {
	t.Helper()
	out := map[string][][]byte{}
	for _, o := range m.Output {
		resp, body := c.do(t, "GET", o.URL, nil)
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != fhir.NDJSONType || resp.Header.Get("Accept-Ranges") != "bytes" {
			t.Fatalf("%s: %d %v", o.URL, resp.StatusCode, resp.Header)
		}
		sc := bufio.NewScanner(bytes.NewReader(body))
		sc.Buffer(nil, 1<<20)
		n := int64(0)
		for sc.Scan() {
			var r struct{ ResourceType string }
			if err := json.Unmarshal(sc.Bytes(), &r); err != nil || r.ResourceType != o.Type {
				t.Fatalf("%s line %d: %v %s", o.URL, n+1, err, sc.Bytes())
			}
			out[o.Type] = append(out[o.Type], bytes.Clone(sc.Bytes()))
			n++
		}
		if n != o.Count {
			t.Errorf("%s: %d lines, manifest says %d", o.URL, n, o.Count)
		}
	}
	return out
}

// auditRows returns the audit rows of action by a user name.
func (e *env) auditRows(t *testing.T, action, username string) []audit.Event {
	t.Helper()
	e.audit.Flush(context.Background())
	evs, err := e.st.SearchAudit(context.Background(), audit.Filter{Action: action, Username: username, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

// TestBackendServicesToken: the token endpoint issues a token for a
// well-signed assertion of a registered client (RS384 and ES384) and
// refuses, with the OAuth error and an audit row naming the client, a bad
// signature, a wrong aud, an expired assertion, one valid for more than
// five minutes, a replayed jti, an unknown client, and scopes the client
// is not registered for (SMART App Launch 2.x, Backend Services).
func TestBackendServicesToken(t *testing.T) {
	e := newEnv(t)
	rs := e.register(t, "province-platform", jose.RS384, 0, "system/Patient.read system/Condition.read")
	es := e.register(t, "county-lab", jose.ES384, 0, "system/*.read")
	es.signIn(t, "system/*.read")
	rs.signIn(t, "system/Patient.read")
	other, _ := rsa.GenerateKey(rand.Reader, 2048)
	replayed := rs.assertion(t, rs.key, nil)
	if code, _ := rs.tokenRequest(t, replayed, "system/Patient.read"); code != 200 {
		t.Fatalf("first use of an assertion: %d", code)
	}
	stranger := &sysClient{e: e, id: "nobody", key: other, alg: jose.RS384}
	for _, c := range []struct {
		name, assertion, scope string
		status                 int
		err                    string
		client                 *sysClient
	}{
		{"bad signature", rs.assertion(t, other, nil), "system/Patient.read", 401, "invalid_client", rs},
		{"wrong aud", rs.assertion(t, rs.key, func(c *jwt.Claims) { c.Audience = jwt.Audience{e.ts.URL + "/token"} }), "system/Patient.read", 401, "invalid_client", rs},
		{"expired", rs.assertion(t, rs.key, func(c *jwt.Claims) { c.Expiry = jwt.NewNumericDate(time.Now().Add(-time.Second)) }), "system/Patient.read", 401, "invalid_client", rs},
		{"exp too far", rs.assertion(t, rs.key, func(c *jwt.Claims) { c.Expiry = jwt.NewNumericDate(time.Now().Add(10 * time.Minute)) }), "system/Patient.read", 401, "invalid_client", rs},
		{"sub is not the client", rs.assertion(t, rs.key, func(c *jwt.Claims) { c.Subject = "someone" }), "system/Patient.read", 401, "invalid_client", rs},
		{"no jti", rs.assertion(t, rs.key, func(c *jwt.Claims) { c.ID = "" }), "system/Patient.read", 401, "invalid_client", rs},
		{"replayed jti", replayed, "system/Patient.read", 400, "invalid_grant", rs},
		{"unknown client", stranger.assertion(t, other, nil), "system/Patient.read", 401, "invalid_client", stranger},
		{"scope too narrow", rs.assertion(t, rs.key, nil), "system/Observation.read", 400, "invalid_scope", rs},
		{"wildcard beyond registration", rs.assertion(t, rs.key, nil), "system/*.read", 400, "invalid_scope", rs},
		{"not a scope", rs.assertion(t, rs.key, nil), "patient/*.read", 400, "invalid_scope", rs},
	} {
		code, out := c.client.tokenRequest(t, c.assertion, c.scope)
		if code != c.status || out["error"] != c.err || out["access_token"] != nil {
			t.Errorf("%s: %d %v, want %d %s", c.name, code, out, c.status, c.err)
		}
	}
	if rows := e.auditRows(t, "smart.token", "system:province-platform"); len(rows) != 12 {
		t.Errorf("token requests of province-platform: %d audit rows, want each (12)", len(rows))
	} else if denied := 0; true {
		for _, r := range rows {
			if r.Outcome == audit.OutcomeDenied {
				denied++
			}
		}
		if denied != 10 {
			t.Errorf("%d denied token rows, want 10", denied)
		}
	}
	if rows := e.auditRows(t, "smart.token", "system:nobody"); len(rows) != 1 || rows[0].Outcome != audit.OutcomeDenied {
		t.Errorf("unknown client: audit %+v", rows)
	}
	// The grant type and assertion type are checked; the token endpoint
	// takes a form, not JSON.
	resp, err := http.PostForm(e.ts.URL+"/fhir/auth/token", url.Values{"grant_type": {"password"}})
	if err != nil || resp.StatusCode != 400 {
		t.Errorf("grant_type password: %v %v", resp, err)
	}
	resp, err = http.Post(e.ts.URL+"/fhir/auth/token", "application/json", strings.NewReader(`{}`))
	if err != nil || resp.StatusCode != 415 {
		t.Errorf("JSON body: %v %v", resp, err)
	}
	// Discovery.
	var conf map[string]any
	e.anon().get("/fhir/.well-known/smart-configuration", nil, &conf)
	if conf["token_endpoint"] != e.ts.URL+"/fhir/auth/token" {
		t.Errorf("smart-configuration: %v", conf)
	}
	// A deactivated client's token stops working at once.
	if r, _ := es.do(t, "GET", "/fhir/Group", nil); r.StatusCode != 200 {
		t.Fatalf("Group search with a token: %d", r.StatusCode)
	}
	cl, _ := e.st.SystemClient(context.Background(), "county-lab")
	if code, body := e.adminPost(t, "/api/v1/fhir-clients/"+strconv.FormatInt(cl.ID, 10)+"/deactivate", map[string]any{}); code != 200 {
		t.Fatalf("deactivate: %d %s", code, body)
	}
	if r, _ := es.do(t, "GET", "/fhir/Group", nil); r.StatusCode != 401 || !strings.Contains(r.Header.Get("WWW-Authenticate"), "invalid_token") {
		t.Errorf("deactivated client's token: %d %v", r.StatusCode, r.Header)
	}
}

// TestRegisterSystemClientValidation: the registration refuses, naming
// each field, a bad client_id, no scopes, a private key, a weak RSA key
// and an institution of no county; only administrators register.
func TestRegisterSystemClientValidation(t *testing.T) {
	e := newEnv(t)
	weak, _ := rsa.GenerateKey(rand.Reader, 1024)
	der, _ := x509.MarshalPKIXPublicKey(&weak.PublicKey)
	weakPEM := string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
	priv, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	privJWK, _ := json.Marshal(jose.JSONWebKey{Key: priv})
	code, body := e.adminPost(t, "/api/v1/fhir-clients", map[string]any{"client_id": "a b", "name": "", "institution_id": 999999,
		"scopes": "system/Patient.write", "keys": weakPEM})
	for _, f := range []string{`"client_id"`, `"name"`, `"institution"`, `"scopes"`, `"keys"`} {
		if code != 422 || !strings.Contains(body, f) {
			t.Errorf("bad registration: %d %s, want 422 naming %s", code, body, f)
		}
	}
	if code, body := e.adminPost(t, "/api/v1/fhir-clients", map[string]any{"client_id": "lab-1", "name": "lab", "scopes": "system/*.read",
		"keys": string(privJWK)}); code != 422 || !strings.Contains(body, `"keys"`) {
		t.Errorf("a private key: %d %s", code, body)
	}
	if cs, _ := e.st.SystemClients(context.Background(), "000000"); len(cs) != 0 {
		t.Errorf("clients written by refused registrations: %v", cs)
	}
}

// TestBulkExport: a county-wide client exports the county at system level
// (Patient, Condition, Observation, ExplanationOfBenefit): NDJSON files
// with as many Patients as the county has residents; a download resumes
// with Range; _type narrows, _since in the future gives no files; a
// Group (township) holds only that township's residents; DELETE cancels;
// the files expire and are deleted. Every file download is an audit row
// naming the client. On SQLite and PostgreSQL.
func TestBulkExport(t *testing.T) {
	for _, d := range []store.Dialect{store.SQLite, store.Postgres} {
		t.Run(string(d), func(t *testing.T) { testBulkExport(t, d) })
	}
}

func testBulkExport(t *testing.T, d store.Dialect) {
	e := newEnvOn(t, d)
	c := e.register(t, "province", jose.ES384, 0, "system/*.read").signIn(t, "system/*.read")
	m, loc := c.export(t, "/fhir/$export")
	got := c.lines(t, m)
	var residents int
	e.st.QueryRowForTest(context.Background(), `SELECT COUNT(*) FROM residents`, &residents) // the demo's one county
	if len(got["Patient"]) != residents || residents == 0 {
		t.Errorf("%d Patients exported, the county has %d residents", len(got["Patient"]), residents)
	}
	for _, typ := range []string{"Condition", "Observation", "Encounter", "ExplanationOfBenefit"} {
		if len(got[typ]) == 0 {
			t.Errorf("no %s exported", typ)
		}
	}
	if rows := e.auditRows(t, fhir.ActExportDownload, "system:province"); len(rows) != len(m.Output) {
		t.Errorf("%d download audit rows, want one per file (%d)", len(rows), len(m.Output))
	}
	// Resume a cut download: the rest from byte 100.
	f := m.Output[0]
	_, whole := c.do(t, "GET", f.URL, nil)
	resp, part := c.do(t, "GET", f.URL, map[string]string{"Range": "bytes=100-"})
	if resp.StatusCode != 206 || !bytes.Equal(part, whole[100:]) ||
		resp.Header.Get("Content-Range") != "bytes 100-"+strconv.Itoa(len(whole)-1)+"/"+strconv.Itoa(len(whole)) {
		t.Errorf("Range bytes=100-: %d %q, %d bytes of %d", resp.StatusCode, resp.Header.Get("Content-Range"), len(part), len(whole)-100)
	}
	if resp, part := c.do(t, "GET", f.URL, map[string]string{"Range": "bytes=10-19"}); resp.StatusCode != 206 || !bytes.Equal(part, whole[10:20]) {
		t.Errorf("Range bytes=10-19: %d %q", resp.StatusCode, part)
	}
	if resp, _ := c.do(t, "GET", f.URL, map[string]string{"Range": "bytes=" + strconv.Itoa(len(whole)) + "-"}); resp.StatusCode != 416 {
		t.Errorf("Range past the end: %d", resp.StatusCode)
	}
	// Small pieces and files: a type goes on in several files, and a range
	// across pieces reads as the whole file does.
	e.fhir.ExportCfg.PieceSize, e.fhir.ExportCfg.FileBytes = 8<<10, 64<<10
	ms, _ := c.export(t, "/fhir/$export?_type=Patient")
	e.fhir.ExportCfg = bulkdata.DefaultConfig()
	var split int64
	for _, o := range ms.Output {
		split += o.Count
	}
	if len(ms.Output) < 2 || split != int64(residents) {
		t.Errorf("64 KiB files: %d files, %d Patients of %d", len(ms.Output), split, residents)
	}
	_, whole1 := c.do(t, "GET", ms.Output[0].URL, nil)
	if resp, part := c.do(t, "GET", ms.Output[0].URL, map[string]string{"Range": "bytes=8000-25000"}); resp.StatusCode != 206 || !bytes.Equal(part, whole1[8000:25001]) {
		t.Errorf("a range across pieces: %d, %d bytes", resp.StatusCode, len(part))
	}
	c.lines(t, ms)
	// _type and _since.
	m2, _ := c.export(t, "/fhir/Patient/$export?_type=Patient,Condition")
	for _, o := range m2.Output {
		if o.Type != "Patient" && o.Type != "Condition" {
			t.Errorf("_type=Patient,Condition exported %s", o.Type)
		}
	}
	// Two days ahead: the demo files today's follow-ups at China-time hours
	// that, after 16:00 UTC, are still ahead of the clock.
	m3, _ := c.export(t, "/fhir/$export?_since="+url.QueryEscape(time.Now().Add(48*time.Hour).Format(time.RFC3339)))
	if len(m3.Output) != 0 {
		t.Errorf("_since in the future: %d files", len(m3.Output))
	}
	// A township's Group: only its residents.
	tree, _ := (&org.Service{Repo: e.st, Now: time.Now}).Tree(context.Background())
	var township *org.Institution
	for _, k := range []org.Kind{org.KindTownshipHC, org.KindCentralHC} {
		for _, in := range tree.OfKind(0, k) {
			if township == nil && len(tree.Children(in.ID)) > 0 {
				township = in
			}
		}
	}
	gm, _ := c.export(t, "/fhir/Group/township-"+strconv.FormatInt(township.ID, 10)+"/$export?_type=Patient")
	pats := c.lines(t, gm)["Patient"]
	if len(pats) == 0 || len(pats) >= residents && len(tree.OfKind(0, org.KindTownshipHC))+len(tree.OfKind(0, org.KindCentralHC)) > 1 {
		t.Errorf("township Group: %d of %d residents", len(pats), residents)
	}
	for _, l := range pats {
		var p fhir.Patient
		json.Unmarshal(l, &p)
		v, _ := strconv.ParseInt(strings.TrimPrefix(p.ManagingOrganization.Reference, "Organization/"), 10, 64)
		if !tree.IsWithin(v, township.ID) {
			t.Errorf("Patient %s of %s exported in the Group of township %d", p.ID, p.ManagingOrganization.Reference, township.ID)
			break
		}
	}
	// Another client does not see this export.
	other := e.register(t, "his", jose.RS384, 0, "system/*.read").signIn(t, "system/*.read")
	if resp, _ := other.do(t, "GET", loc, nil); resp.StatusCode != 404 {
		t.Errorf("another client's status URL: %d", resp.StatusCode)
	}
	if resp, _ := other.do(t, "GET", f.URL, nil); resp.StatusCode != 404 {
		t.Errorf("another client's file: %d", resp.StatusCode)
	}
	// DELETE cancels: 202, then the status and the files are gone.
	if resp, _ := c.do(t, "DELETE", loc, nil); resp.StatusCode != 202 {
		t.Fatalf("DELETE: %d", resp.StatusCode)
	}
	if resp, _ := c.do(t, "GET", loc, nil); resp.StatusCode != 404 {
		t.Errorf("status after DELETE: %d", resp.StatusCode)
	}
	if resp, _ := c.do(t, "GET", f.URL, nil); resp.StatusCode != 404 {
		t.Errorf("file after DELETE: %d", resp.StatusCode)
	}
	// Expiry: a day later the sweep deletes the other exports' files.
	_, loc2 := c.export(t, "/fhir/$export?_type=Patient")
	e.fhir.Now = func() time.Time { return time.Now().Add(25 * time.Hour) }
	n, err := e.fhir.SweepExports(context.Background())
	e.fhir.Now = time.Now
	if err != nil || n < 4 {
		t.Errorf("sweep a day later: %d, %v", n, err)
	}
	if resp, _ := c.do(t, "GET", loc2, nil); resp.StatusCode != 404 {
		t.Errorf("expired export's status: %d", resp.StatusCode)
	}
	var pieces int
	e.st.QueryRowForTest(context.Background(), `SELECT COUNT(*) FROM fhir_export_pieces`, &pieces)
	if pieces != 0 {
		t.Errorf("%d pieces left after the sweep", pieces)
	}
}

// TestBulkExportAccess: deny by default. No token or a bad one is 401; a
// user session cannot kick off an export; a scope narrower than _type is
// 403; a kick-off without Prefer: respond-async, an unknown _type or a
// bad _since is 400 naming it; an institution-bound client is refused
// (404, audited with the client named) a Group of another township, and
// its system-level export holds only its own residents.
func TestBulkExportAccess(t *testing.T) {
	e := newEnv(t)
	anon := &sysClient{e: e}
	if resp, body := anon.do(t, "GET", "/fhir/$export", async); resp.StatusCode != 401 {
		t.Errorf("no token: %d %s", resp.StatusCode, body)
	}
	anon.token = "forged"
	if resp, _ := anon.do(t, "GET", "/fhir/$export", async); resp.StatusCode != 401 || !strings.Contains(resp.Header.Get("WWW-Authenticate"), "Bearer") {
		t.Errorf("forged token: %d %v", resp.StatusCode, resp.Header)
	}
	if code, _, _ := e.as(care.RoleInsuranceOfficer).get("/fhir/$export", async, nil); code != 403 {
		t.Errorf("a user session: %d", code)
	}
	narrow := e.register(t, "pt-only", jose.ES384, 0, "system/Patient.read").signIn(t, "system/Patient.read")
	if resp, body := narrow.do(t, "GET", "/fhir/$export?_type=Observation", async); resp.StatusCode != 403 || !strings.Contains(string(body), "Observation") {
		t.Errorf("scope narrower than _type: %d %s", resp.StatusCode, body)
	}
	if rows := e.auditRows(t, fhir.ActExport, "system:pt-only"); len(rows) != 1 || rows[0].Outcome != audit.OutcomeDenied {
		t.Errorf("refused kick-off audit: %+v", rows)
	}
	if resp, _ := narrow.do(t, "GET", "/fhir/Group", nil); resp.StatusCode != 403 {
		t.Errorf("Group search without a Group scope: %d", resp.StatusCode)
	}
	m, _ := narrow.export(t, "/fhir/$export")
	for _, o := range m.Output {
		if o.Type != "Patient" {
			t.Errorf("a Patient-only client exported %s", o.Type)
		}
	}
	for _, c := range []struct{ path, expr string }{
		{"/fhir/$export?_type=Medication", "_type"},
		{"/fhir/$export?_since=yesterday", "_since"},
		{"/fhir/$export?_elements=id", "_elements"},
		{"/fhir/$export?_outputFormat=text/csv", "_outputFormat"},
	} {
		resp, body := narrow.do(t, "GET", c.path, async)
		var o outcome
		json.Unmarshal(body, &o)
		checkOutcome(t, c.path, resp.StatusCode, 400, resp.Header.Get("Content-Type"), o, "invalid", c.expr)
	}
	if resp, _ := narrow.do(t, "GET", "/fhir/$export", nil); resp.StatusCode != 400 {
		t.Errorf("no Prefer: respond-async: %d", resp.StatusCode)
	}
	// An institution-bound client: one township.
	tree, _ := (&org.Service{Repo: e.st, Now: time.Now}).Tree(context.Background())
	towns := e.townships(t)
	his := e.register(t, "township-his", jose.RS384, towns[0].ID, "system/*.read").signIn(t, "system/*.read")
	for _, path := range []string{"/fhir/Group/township-" + strconv.FormatInt(towns[1].ID, 10) + "/$export", "/fhir/Group/township-" + strconv.FormatInt(towns[1].ID, 10)} {
		hdr := async
		if !strings.HasSuffix(path, "$export") {
			hdr = nil
		}
		resp, body := his.do(t, "GET", path, hdr)
		var o outcome
		json.Unmarshal(body, &o)
		checkOutcome(t, path, resp.StatusCode, 404, resp.Header.Get("Content-Type"), o, "not-found", "")
	}
	denied := 0
	for _, a := range []string{fhir.ActExport, fhir.ActGroupRead} {
		for _, r := range e.auditRows(t, a, "system:township-his") {
			if r.Outcome == audit.OutcomeDenied && r.Role == "system_client" {
				denied++
			}
		}
	}
	if denied != 2 {
		t.Errorf("%d denied audit rows naming township-his, want 2", denied)
	}
	var groups bundle
	resp, body := his.do(t, "GET", "/fhir/Group", nil)
	json.Unmarshal(body, &groups)
	for _, en := range groups.Entry {
		if strings.Contains(en.FullURL, "township-"+strconv.FormatInt(towns[1].ID, 10)) {
			t.Errorf("the bound client's Group search lists another township: %d %s", resp.StatusCode, en.FullURL)
		}
	}
	hm, _ := his.export(t, "/fhir/$export?_type=Patient,Condition")
	lines := his.lines(t, hm)
	if len(lines["Patient"]) == 0 {
		t.Fatal("the township's client exported no Patient")
	}
	for _, l := range lines["Patient"] {
		var p fhir.Patient
		json.Unmarshal(l, &p)
		v, _ := strconv.ParseInt(strings.TrimPrefix(p.ManagingOrganization.Reference, "Organization/"), 10, 64)
		if !tree.IsWithin(v, towns[0].ID) {
			t.Fatalf("the township's client exported Patient %s of %s", p.ID, p.ManagingOrganization.Reference)
		}
	}
}

// TestSystemClientsPage: the administrator's page lists the clients and
// registers one from the form — a refused form comes back with the field
// named and nothing written; other roles are refused.
func TestSystemClientsPage(t *testing.T) {
	e := newEnv(t)
	c, csrf := e.adminSession(t)
	if code, _, body := c.get("/admin/fhir-clients", map[string]string{"Accept-Language": "en"}, nil); code != 200 || !strings.Contains(body, "FHIR 系统客户端") && !strings.Contains(body, "FHIR system clients") {
		t.Fatalf("page: %d", code)
	}
	k, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	der, _ := x509.MarshalPKIXPublicKey(&k.PublicKey)
	post := func(v url.Values) (int, string) {
		v.Set("csrf", csrf)
		resp, err := c.hc.PostForm(e.ts.URL+"/admin/fhir-clients", v)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := post(url.Values{"client_id": {"hospital-his"}, "name": {"县医院 HIS"}, "institution": {"0"}, "keys": {"not a key"}}); code != 422 ||
		!strings.Contains(body, `aria-invalid="true"`) {
		t.Errorf("form without scopes and key: %d", code)
	}
	if cs, _ := e.st.SystemClient(context.Background(), "hospital-his"); cs != nil {
		t.Error("a refused form wrote the client")
	}
	code, body := post(url.Values{"client_id": {"hospital-his"}, "name": {"县医院 HIS"}, "institution": {"0"},
		"scope": {"system/Patient.read", "system/Condition.read"}, "keys": {string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))}})
	if code != 201 || !strings.Contains(body, "hospital-his") {
		t.Errorf("registration: %d", code)
	}
	if cl, err := e.st.SystemClient(context.Background(), "hospital-his"); err != nil || len(cl.Scopes) != 2 || cl.InstitutionID != 0 {
		t.Errorf("registered: %+v %v", cl, err)
	}
	if rows := e.auditRows(t, "smart.client.register", e.users[care.RoleAdmin]); len(rows) != 1 {
		t.Errorf("registration audit rows: %d", len(rows))
	}
	if code, _, _ := e.as(care.RoleVillageDoctor).get("/admin/fhir-clients", nil, nil); code != 403 {
		t.Errorf("a village doctor: %d", code)
	}
}

// TestBulkExportReports: the export's DiagnosticReport file holds every
// signed reading report of the county, each a valid DiagnosticReport
// (status, codes, subject, the sealed text as presentedForm, an ECG's
// measurements contained and referenced), and a township's Group holds
// exactly its own residents' reports — none of another township's. On
// SQLite and PostgreSQL.
func TestBulkExportReports(t *testing.T) {
	for _, d := range []store.Dialect{store.SQLite, store.Postgres} {
		t.Run(string(d), func(t *testing.T) { testBulkExportReports(t, d) })
	}
}

func testBulkExportReports(t *testing.T, d store.Dialect) {
	e := newEnvOn(t, d)
	c := e.register(t, "province", jose.ES384, 0, "system/*.read").signIn(t, "system/*.read")
	m, _ := c.export(t, "/fhir/$export?_type=DiagnosticReport")
	county := c.lines(t, m)["DiagnosticReport"]
	var reported int
	e.st.QueryRowForTest(context.Background(), `SELECT COUNT(*) FROM reading_studies WHERE status = 'reported'`, &reported)
	if len(county) != reported || reported == 0 {
		t.Fatalf("%d DiagnosticReports exported, the county has %d reported studies", len(county), reported)
	}
	subject := map[string]string{} // report id → patient id
	ecgs := 0
	for _, l := range county {
		var r fhir.DiagnosticReport
		if err := json.Unmarshal(l, &r); err != nil {
			t.Fatal(err)
		}
		pid, ok := strings.CutPrefix(r.Subject.Reference, "Patient/")
		if r.ID == "" || subject[r.ID] != "" || !ok || pid == "" || (r.Status != "final" && r.Status != "appended") ||
			len(r.Code.Coding) == 0 || len(r.Category) == 0 || r.Issued == "" || r.EffectiveDateTime == "" ||
			len(r.Identifier) != 1 || r.Identifier[0].System != fhir.SystemReportSeal || r.Identifier[0].Value == "" ||
			len(r.PresentedForm) == 0 || r.Meta == nil || r.Meta.LastUpdated == "" {
			t.Fatalf("not a valid DiagnosticReport line: %s", l)
		}
		for _, a := range r.PresentedForm {
			if text, err := base64.StdEncoding.DecodeString(a.Data); err != nil || len(text) == 0 || a.ContentType == "" {
				t.Fatalf("report %s: presentedForm %q: %v", r.ID, a.Data, err)
			}
		}
		if len(r.Contained) > 0 {
			ecgs++
			for i, o := range r.Contained {
				if i >= len(r.Result) || r.Result[i].Reference != "#"+o.ID || o.Subject.Reference != r.Subject.Reference {
					t.Fatalf("report %s: contained measurement %s not referenced as a result of the same patient", r.ID, o.ID)
				}
			}
		}
		subject[r.ID] = pid
	}
	if ecgs == 0 {
		t.Error("no ECG report with its measurements among the exported")
	}
	// A township's Group: its residents' reports, all of them, and no other.
	for _, town := range e.townships(t)[:2] {
		gm, _ := c.export(t, "/fhir/Group/township-"+strconv.FormatInt(town.ID, 10)+"/$export?_type=Patient,DiagnosticReport")
		got := c.lines(t, gm)
		members := map[string]bool{}
		for _, l := range got["Patient"] {
			var p fhir.Patient
			json.Unmarshal(l, &p)
			members[p.ID] = true
		}
		want := 0
		for _, pid := range subject {
			if members[pid] {
				want++
			}
		}
		for _, l := range got["DiagnosticReport"] {
			var r fhir.DiagnosticReport
			json.Unmarshal(l, &r)
			if !members[strings.TrimPrefix(r.Subject.Reference, "Patient/")] || subject[r.ID] == "" {
				t.Errorf("township %d: report %s of %s, not one of its residents", town.ID, r.ID, r.Subject.Reference)
			}
		}
		if len(got["DiagnosticReport"]) != want || want == 0 || want == len(county) {
			t.Errorf("township %d: %d reports exported, its residents have %d of the county's %d", town.ID, len(got["DiagnosticReport"]), want, len(county))
		}
	}
}

// townships are the demo county's townships (central ones first) that
// have villages; the tests need two.
func (e *env) townships(t *testing.T) []*org.Institution {
	t.Helper()
	tree, _ := (&org.Service{Repo: e.st, Now: time.Now}).Tree(context.Background())
	var towns []*org.Institution
	for _, k := range []org.Kind{org.KindCentralHC, org.KindTownshipHC} {
		for _, in := range tree.OfKind(0, k) {
			if len(tree.Children(in.ID)) > 0 {
				towns = append(towns, in)
			}
		}
	}
	if len(towns) < 2 {
		t.Fatalf("the demo county has %d townships with villages", len(towns))
	}
	return towns
}
