package fhir_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"countycare/care"
	"countycare/demo"
	"countycare/internal/testfiles"
	"countycare/store"
)

// writer is a signed-in client that may write (it holds the session's
// CSRF token).
type writer struct {
	*client
	csrf string
}

func (e *env) writer(role care.Role) *writer {
	e.t.Helper()
	c := e.anon()
	body := `{"username":"` + e.users[role] + `","password":"` + demo.DefaultPassword + `"}`
	resp, err := c.hc.Post(e.ts.URL+"/api/v1/session", "application/json", strings.NewReader(body))
	if err != nil || resp.StatusCode != 200 {
		e.t.Fatalf("login %s: %v %v", role, resp, err)
	}
	var s struct {
		CSRF string `json:"csrf_token"`
	}
	json.NewDecoder(resp.Body).Decode(&s)
	resp.Body.Close()
	return &writer{client: c, csrf: s.CSRF}
}

// send makes a write (FHIR JSON, with the CSRF token) and decodes the
// JSON answer into v (when not nil).
func (w *writer) send(method, path string, hdr map[string]string, body string, v any) (int, http.Header, string) {
	w.e.t.Helper()
	h := map[string]string{"Content-Type": "application/fhir+json", "X-CSRF-Token": w.csrf}
	for k, x := range hdr {
		h[k] = x
	}
	return w.do(method, path, h, strings.NewReader(body), v)
}

func (e *env) count(q string) int {
	e.t.Helper()
	var n int
	if err := e.st.QueryForTest(e.t.Context(), q, &n); err != nil {
		e.t.Fatalf("%s: %v", q, err)
	}
	return n
}

const foreignPatient = `{"resourceType":"Patient","identifier":[{"system":"https://github.com/synthetichealth/synthea","value":"p-1"}],
 "name":[{"use":"official","family":"Conn188","given":["Liz535"]}],"gender":"female","birthDate":"1970-03-04",
 "maritalStatus":{"text":"M"},"telecom":[{"system":"phone","value":"555-620-4398"}],
 "address":[{"line":["1 Main St"],"city":"Boston","state":"MA","country":"US"}]}`

// TestWriteVersionsAndHistory: a foreign patient (no GB 11643 number) is
// registered with their own identifier, found again by a conditional
// create, enrolled in the hypertension registry by a Condition, given a
// follow-up by an Observation (through the chronic service: the visit is
// classified and the registration's version moves), and the versions
// tell the truth: vread of the current version, 410 for an earlier one,
// If-Match on update (412 when stale). Bad input is an OperationOutcome
// and writes nothing.
func TestWriteVersionsAndHistory(t *testing.T) {
	for _, d := range []store.Dialect{store.SQLite, store.Postgres} {
		t.Run(string(d), func(t *testing.T) {
			e := newEnvOn(t, d)
			vd := e.writer(care.RoleVillageDoctor)
			var p struct {
				ID         string
				Meta       struct{ VersionID string }
				Name       []struct{ Text string }
				Identifier []struct{ System, Value string }
			}
			code, h, body := vd.send("POST", "/fhir/Patient", nil, foreignPatient, &p)
			if code != 201 || !strings.Contains(h.Get("Location"), "/fhir/Patient/"+p.ID+"/_history/1") || h.Get("ETag") != `W/"1"` {
				t.Fatalf("create patient: %d %v %s", code, h, body)
			}
			if p.Name[0].Text != "Liz Conn" || !strings.Contains(body, `"system":"https://github.com/synthetichealth/synthea","value":"p-1"`) ||
				!strings.Contains(strings.Join(h.Values("Warning"), " "), "Patient.maritalStatus") {
				t.Errorf("patient held as %s (warnings %v)", body, h.Values("Warning"))
			}
			// Conditional create: the same identifier finds the same resident.
			code, _, body = vd.send("POST", "/fhir/Patient", map[string]string{"If-None-Exist": "identifier=https://github.com/synthetichealth/synthea|p-1"}, foreignPatient, nil)
			if code != 200 || !strings.Contains(body, `"id":"`+p.ID+`"`) {
				t.Errorf("conditional create: %d %s", code, body)
			}
			var found bundle
			vd.get("/fhir/Patient?identifier="+url.QueryEscape("https://github.com/synthetichealth/synthea|p-1"), nil, &found)
			if len(found.Entry) != 1 || !strings.Contains(string(found.Entry[0].Resource), `"id":"`+p.ID+`"`) {
				t.Errorf("search by the foreign identifier: %+v", found)
			}
			// Without the condition, the identifier is taken: 409, nothing new.
			before := e.count(`SELECT COUNT(*) FROM residents`)
			var oo outcome
			code, h, _ = vd.send("POST", "/fhir/Patient", nil, foreignPatient, &oo)
			checkOutcome(t, "duplicate identifier", code, 409, h.Get("Content-Type"), oo, "conflict", "")
			if n := e.count(`SELECT COUNT(*) FROM residents`); n != before {
				t.Errorf("residents %d → %d after a refused create", before, n)
			}

			cond := `{"resourceType":"Condition","subject":{"reference":"Patient/` + p.ID + `"},"clinicalStatus":{"coding":[{"code":"active"}]},
			 "code":{"coding":[{"system":"http://snomed.info/sct","code":"38341003","display":"Hypertension"}]},"onsetDateTime":"2020-05-01T10:00:00+08:00"}`
			var c struct{ ID string }
			code, h, body = vd.send("POST", "/fhir/Condition", nil, cond, &c)
			if code != 201 || h.Get("ETag") != `W/"1"` || !strings.Contains(body, `"code":"I10"`) {
				t.Fatalf("create condition: %d %s", code, body)
			}
			obs := `{"resourceType":"Observation","status":"final","subject":{"reference":"Patient/` + p.ID + `"},"effectiveDateTime":"2021-06-01",
			 "code":{"coding":[{"system":"http://loinc.org","code":"85354-9"}]},"component":[
			 {"code":{"coding":[{"system":"http://loinc.org","code":"8480-6"}]},"valueQuantity":{"value":182,"unit":"mm[Hg]","code":"mm[Hg]"}},
			 {"code":{"coding":[{"system":"http://loinc.org","code":"8462-4"}]},"valueQuantity":{"value":112,"unit":"mm[Hg]","code":"mm[Hg]"}}]}`
			var o struct{ ID string }
			code, h, body = vd.send("POST", "/fhir/Observation", nil, obs, &o)
			if code != 201 || !strings.HasSuffix(o.ID, "-bp") || !strings.Contains(h.Get("Location"), "/fhir/Observation/"+o.ID+"/_history/1") {
				t.Fatalf("create observation: %d %s", code, body)
			}
			// The visit went through the chronic rules: 182/112 is an
			// urgent, uncontrolled visit; the registration changed.
			if n := e.count(`SELECT COUNT(*) FROM chronic_visits WHERE id = ` + strings.TrimSuffix(o.ID, "-bp") + ` AND sbp = 182 AND dbp = 112`); n != 1 {
				t.Errorf("visit rows %d", n)
			}
			if code, _, body = vd.get("/fhir/Observation/"+o.ID, nil, nil); code != 200 || !strings.Contains(body, `"versionId":"1"`) {
				t.Errorf("read observation: %d %s", code, body)
			}
			// A second visit that day is refused by the registry.
			code, h, _ = vd.send("POST", "/fhir/Observation", nil, obs, &oo)
			checkOutcome(t, "second visit that day", code, 409, h.Get("Content-Type"), oo, "conflict", "")

			var cur struct {
				Meta struct{ VersionID, LastUpdated string }
			}
			vd.get("/fhir/Condition/"+c.ID, nil, &cur)
			if cur.Meta.VersionID != "2" || cur.Meta.LastUpdated == "" {
				t.Fatalf("condition after a visit: %+v", cur)
			}
			if code, _, _ = vd.get("/fhir/Condition/"+c.ID+"/_history/2", nil, nil); code != 200 {
				t.Errorf("vread current: %d", code)
			}
			code, h, _ = vd.get("/fhir/Condition/"+c.ID+"/_history/1", nil, &oo)
			if code != 410 || oo.ResourceType != "OperationOutcome" || oo.Issue[0].Diagnostics == "" {
				t.Errorf("vread earlier: %d %+v", code, oo)
			}
			if code, _, _ = vd.get("/fhir/Condition/"+c.ID+"/_history/9", nil, nil); code != 404 {
				t.Errorf("vread future: %d", code)
			}
			var hist struct {
				Type  string
				Entry []struct {
					Request  struct{ Method string }
					Response struct{ Etag string }
				}
			}
			vd.get("/fhir/Condition/"+c.ID+"/_history", nil, &hist)
			if hist.Type != "history" || len(hist.Entry) != 1 || hist.Entry[0].Response.Etag != `W/"2"` || hist.Entry[0].Request.Method != "PUT" {
				t.Errorf("history: %+v", hist)
			}
			vd.get("/fhir/Patient/"+p.ID+"/_history", nil, &hist)
			if len(hist.Entry) != 1 || hist.Entry[0].Request.Method != "POST" {
				t.Errorf("patient history: %+v", hist)
			}

			// Update: If-Match must be current.
			inactive := strings.Replace(cond, `"code":"active"`, `"code":"inactive"`, 1)
			code, _, _ = vd.send("PUT", "/fhir/Condition/"+c.ID, map[string]string{"If-Match": `W/"1"`}, inactive, &oo)
			if code != 412 || oo.Issue[0].Code != "conflict" {
				t.Errorf("stale If-Match: %d %+v", code, oo)
			}
			code, h, body = vd.send("PUT", "/fhir/Condition/"+c.ID, map[string]string{"If-Match": `W/"2"`}, inactive, nil)
			if code != 200 || h.Get("ETag") != `W/"3"` || !strings.Contains(body, `"code":"inactive"`) {
				t.Errorf("update: %d %v %s", code, h.Get("ETag"), body)
			}

			// Bad input.
			for _, c := range []struct {
				name, path, body string
				status           int
				code, expr       string
			}{
				{"malformed JSON", "/fhir/Patient", `{"resourceType":"Patient",`, 422, "invalid", "resource"},
				{"wrong resourceType", "/fhir/Patient", `{"resourceType":"Condition"}`, 422, "invalid", "resourceType"},
				{"missing patient", "/fhir/Condition", strings.Replace(cond, "Patient/"+p.ID, "Patient/999999999", 1), 404, "not-found", ""},
				{"not a patient reference", "/fhir/Observation", strings.Replace(obs, "Patient/"+p.ID, "Group/1", 1), 422, "invalid", "Observation.subject"},
				{"unknown code", "/fhir/Observation", strings.Replace(obs, "85354-9", "1-8", 1), 422, "invalid", "Observation.code"},
				{"no registry", "/fhir/Condition", strings.Replace(cond, "38341003", "444814009", 1), 422, "invalid", "Condition.code"},
			} {
				var oo outcome
				code, h, _ := vd.send("POST", c.path, nil, c.body, &oo)
				checkOutcome(t, c.name, code, c.status, h.Get("Content-Type"), oo, c.code, c.expr)
			}
			// Another village's resident is out of the village doctor's scope.
			other := otherVillagePatient(t, e, "Organization/"+e.insts[care.RoleVillageDoctor])
			code, h, _ = vd.send("POST", "/fhir/Condition", nil, strings.Replace(cond, "Patient/"+p.ID, "Patient/"+other, 1), &oo)
			checkOutcome(t, "out of scope", code, 404, h.Get("Content-Type"), oo, "not-found", "")
			// Roles without a write path are refused before the handler.
			code, _, _ = e.writer(care.RoleInsuranceOfficer).send("POST", "/fhir/Patient", nil, foreignPatient, nil)
			if code != 403 {
				t.Errorf("insurance officer creating a patient: %d", code)
			}
			if n := e.count(`SELECT COUNT(*) FROM audit_events WHERE action IN ('resident.create', 'chronic.enroll', 'chronic.visit', 'chronic.status')`); n < 4 {
				t.Errorf("write audit rows: %d", n)
			}
		})
	}
}

// synthea reads the copied Synthea bundles.
func synthea(t testing.TB) map[string]string {
	t.Helper()
	dir := testfiles.Path(t, "fhir", "synthea")
	names, _ := filepath.Glob(filepath.Join(dir, "*.json"))
	out := map[string]string{}
	for _, n := range names {
		b, err := os.ReadFile(n)
		if err != nil {
			t.Fatal(err)
		}
		out[filepath.Base(n)] = string(b)
	}
	if len(out) < 3 {
		t.Fatalf("Synthea bundles in %s: %d", dir, len(out))
	}
	return out
}

type txResponse struct {
	ResourceType, Type string
	Entry              []struct {
		FullURL  string
		Response struct {
			Status, Location, Etag string
			Outcome                *outcome
		}
	}
}

// TestTransactionSynthea: the Synthea bundles go in whole through POST
// /fhir (a transaction): each patient registered with their Synthea
// identifiers, a hypertension diagnosis enrolled, the vital signs of
// later encounters filed as follow-ups, and every entry the platform does
// not hold answered with a warning saying so. Loading the same bundle
// again is refused whole (the identifier is taken) and writes nothing.
func TestTransactionSynthea(t *testing.T) {
	for _, d := range []store.Dialect{store.SQLite, store.Postgres} {
		t.Run(string(d), func(t *testing.T) {
			e := newEnvOn(t, d)
			vd := e.writer(care.RoleVillageDoctor)
			residents := e.count(`SELECT COUNT(*) FROM residents`)
			var visits int
			for name, b := range synthea(t) {
				var tr txResponse
				var in struct{ Entry []json.RawMessage }
				json.Unmarshal([]byte(b), &in)
				code, _, body := vd.send("POST", "/fhir", nil, b, &tr)
				if code != 200 || tr.Type != "transaction-response" || len(tr.Entry) != len(in.Entry) {
					t.Fatalf("%s: %d %.600s", name, code, body)
				}
				created, notHeld := map[string]int{}, 0
				for _, x := range tr.Entry {
					switch {
					case x.Response.Status == "201 Created":
						created[strings.Split(strings.TrimPrefix(x.Response.Location, e.ts.URL+"/fhir/"), "/")[0]]++
					case x.Response.Status == "200 OK" && x.Response.Outcome != nil && x.Response.Outcome.Issue[0].Severity == "warning":
						notHeld++
					default:
						t.Errorf("%s: entry %s: %+v", name, x.FullURL, x.Response)
					}
				}
				if created["Patient"] != 1 || notHeld == 0 {
					t.Errorf("%s: created %v, %d not held", name, created, notHeld)
				}
				visits += created["Observation"]
				if strings.HasPrefix(name, "Stephen") && (created["Condition"] != 1 || created["Observation"] == 0) {
					t.Errorf("%s: a hypertension patient: created %v", name, created)
				}
				// Again: the identifier is taken, the whole bundle is refused.
				before := e.count(`SELECT COUNT(*) FROM chronic_registrations`)
				var oo outcome
				code, h, _ := vd.send("POST", "/fhir", nil, b, &oo)
				checkOutcome(t, name+" again", code, 409, h.Get("Content-Type"), oo, "conflict", "")
				if !strings.Contains(oo.Issue[0].Expression[0], "Bundle.entry[0]") {
					t.Errorf("%s again: %+v", name, oo)
				}
				if n := e.count(`SELECT COUNT(*) FROM chronic_registrations`); n != before {
					t.Errorf("%s again: registrations %d → %d", name, before, n)
				}
			}
			if n := e.count(`SELECT COUNT(*) FROM residents`); n != residents+3 {
				t.Errorf("residents %d → %d", residents, n)
			}
			if n := e.count(`SELECT COUNT(*) FROM resident_identifiers WHERE system = 'https://github.com/synthetichealth/synthea'`); n != 3 {
				t.Errorf("Synthea identifiers held: %d", n)
			}
			if visits == 0 {
				t.Error("no follow-up measurement filed")
			}
		})
	}
}

// TestTransactionAllOrNothing: one bad entry among a thousand refuses the
// whole transaction with an OperationOutcome naming it, before anything
// is written; a reference to a patient that does not exist refuses it
// after the earlier entries were written — they are rolled back; too
// many entries is 413. A batch answers each entry on its own.
func TestTransactionAllOrNothing(t *testing.T) {
	e := newEnv(t)
	vd := e.writer(care.RoleVillageDoctor)
	residents := e.count(`SELECT COUNT(*) FROM residents`)
	entry := func(i int, res string) string {
		return fmt.Sprintf(`{"fullUrl":"urn:uuid:%08d-0000-4000-8000-000000000000","resource":%s,"request":{"method":"POST","url":"%s"}}`,
			i, res, strings.SplitN(strings.SplitN(res, `"resourceType":"`, 2)[1], `"`, 2)[0])
	}
	patient := func(i int) string {
		return strings.Replace(foreignPatient, `"p-1"`, fmt.Sprintf(`"bulk-%d"`, i), 1)
	}
	var es []string
	for i := range 1000 {
		es = append(es, entry(i, patient(i)))
	}
	bad := append([]string(nil), es...)
	bad[637] = entry(637, `{"resourceType":"Patient","gender":"unknown-ish","name":[{"text":"A"}]}`)
	bad[901] = entry(901, `{"resourceType":"Foo"}`)
	var oo outcome
	code, h, _ := vd.send("POST", "/fhir", nil, `{"resourceType":"Bundle","type":"transaction","entry":[`+strings.Join(bad, ",")+`]}`, &oo)
	checkOutcome(t, "two bad entries", code, 422, h.Get("Content-Type"), oo, "invalid", "")
	var named []string
	for _, is := range oo.Issue {
		named = append(named, is.Expression...)
	}
	if got := strings.Join(named, " "); !strings.Contains(got, "Bundle.entry[637].resource.gender") || !strings.Contains(got, "Bundle.entry[901]") || len(named) != 2 {
		t.Errorf("faults named %v", named)
	}
	// A missing patient, after a created one: rolled back.
	cond := `{"resourceType":"Condition","subject":{"reference":"urn:uuid:99999999-0000-4000-8000-000000000000"},
	 "code":{"coding":[{"system":"http://hl7.org/fhir/sid/icd-10","code":"I10"}]},"onsetDateTime":"2020-01-01"}`
	code, h, _ = vd.send("POST", "/fhir", nil, `{"resourceType":"Bundle","type":"transaction","entry":[`+entry(0, patient(0))+`,`+entry(1, cond)+`]}`, &oo)
	checkOutcome(t, "missing reference", code, 422, h.Get("Content-Type"), oo, "invalid", "")
	if !strings.HasPrefix(oo.Issue[0].Expression[0], "Bundle.entry[1]") {
		t.Errorf("missing reference named %v", oo.Issue[0].Expression)
	}
	if n := e.count(`SELECT COUNT(*) FROM residents`); n != residents {
		t.Errorf("residents %d → %d after refused transactions", residents, n)
	}
	// The good thousand go in, in one transaction.
	var tr txResponse
	code, _, body := vd.send("POST", "/fhir", nil, `{"resourceType":"Bundle","type":"transaction","entry":[`+strings.Join(es, ",")+`]}`, &tr)
	if code != 200 || len(tr.Entry) != 1000 || tr.Entry[999].Response.Status != "201 Created" {
		t.Fatalf("thousand: %d %.300s", code, body)
	}
	if n := e.count(`SELECT COUNT(*) FROM residents`); n != residents+1000 {
		t.Errorf("residents %d → %d", residents, n)
	}
	// Too many entries: 413.
	many := `{"resourceType":"Bundle","type":"transaction","entry":[` + strings.TrimSuffix(strings.Repeat(`{},`, 10_001), ",") + `]}`
	code, h, _ = vd.send("POST", "/fhir", nil, many, &oo)
	checkOutcome(t, "too many entries", code, 413, h.Get("Content-Type"), oo, "too-costly", "")
	// A batch: each entry on its own.
	code, _, body = vd.send("POST", "/fhir", nil, `{"resourceType":"Bundle","type":"batch","entry":[`+entry(0, patient(5000))+`,`+entry(1, patient(5))+`]}`, &tr)
	if code != 200 || tr.Type != "batch-response" || tr.Entry[0].Response.Status != "201 Created" || !strings.HasPrefix(tr.Entry[1].Response.Status, "409") ||
		tr.Entry[1].Response.Outcome == nil {
		t.Errorf("batch: %d %.500s", code, body)
	}
	// Not a bundle, not JSON.
	for _, b := range []string{`{"resourceType":"Patient"}`, `{"resourceType":"Bundle","type":"searchset"}`, `[`} {
		code, h, _ = vd.send("POST", "/fhir", nil, b, &oo)
		checkOutcome(t, b, code, 422, h.Get("Content-Type"), oo, "invalid", "")
	}
}

// TestTransactionRollsBack, on both databases: a transaction whose
// second Patient holds the first one's identifier fails in the database
// (a unique key) after the first was written — it is rolled back, and so
// is one whose Condition refers to a patient not in the bundle; the same
// entries without the fault all go in.
func TestTransactionRollsBack(t *testing.T) {
	for _, d := range []store.Dialect{store.SQLite, store.Postgres} {
		t.Run(string(d), func(t *testing.T) {
			e := newEnvOn(t, d)
			vd := e.writer(care.RoleVillageDoctor)
			residents := e.count(`SELECT COUNT(*) FROM residents`)
			regs := e.count(`SELECT COUNT(*) FROM chronic_registrations`)
			entry := func(url, res string) string {
				return `{"fullUrl":"` + url + `","resource":` + res + `,"request":{"method":"POST","url":"` +
					strings.SplitN(strings.SplitN(res, `"resourceType":"`, 2)[1], `"`, 2)[0] + `"}}`
			}
			cond := func(subject string) string {
				return `{"resourceType":"Condition","subject":{"reference":"` + subject + `"},"code":{"coding":[{"system":"http://hl7.org/fhir/sid/icd-10","code":"I10"}]},"onsetDateTime":"2020-01-01"}`
			}
			tx := func(entries ...string) string {
				return `{"resourceType":"Bundle","type":"transaction","entry":[` + strings.Join(entries, ",") + `]}`
			}
			var oo outcome
			code, h, _ := vd.send("POST", "/fhir", nil, tx(entry("urn:uuid:a", foreignPatient), entry("urn:uuid:b", foreignPatient), entry("urn:uuid:c", cond("urn:uuid:a"))), &oo)
			checkOutcome(t, "identifier twice", code, 409, h.Get("Content-Type"), oo, "conflict", "")
			code, h, _ = vd.send("POST", "/fhir", nil, tx(entry("urn:uuid:a", foreignPatient), entry("urn:uuid:c", cond("urn:uuid:x"))), &oo)
			checkOutcome(t, "missing subject", code, 422, h.Get("Content-Type"), oo, "invalid", "")
			if r, g := e.count(`SELECT COUNT(*) FROM residents`), e.count(`SELECT COUNT(*) FROM chronic_registrations`); r != residents || g != regs {
				t.Fatalf("after refused transactions: residents %d → %d, registrations %d → %d", residents, r, regs, g)
			}
			var tr txResponse
			code, _, body := vd.send("POST", "/fhir", nil, tx(entry("urn:uuid:a", foreignPatient), entry("urn:uuid:c", cond("urn:uuid:a"))), &tr)
			if code != 200 || len(tr.Entry) != 2 || tr.Entry[1].Response.Status != "201 Created" {
				t.Fatalf("transaction: %d %.400s", code, body)
			}
			if r, g := e.count(`SELECT COUNT(*) FROM residents`), e.count(`SELECT COUNT(*) FROM chronic_registrations`); r != residents+1 || g != regs+1 {
				t.Errorf("after the transaction: residents %d → %d, registrations %d → %d", residents, r, regs, g)
			}
		})
	}
}
