package fhir_test

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"countycare/audit"
	"countycare/care"
	"countycare/consult"
	"countycare/fhir"
)

// consentAt is when the tests' consultation consents were signed: one
// time for the package, so that a retry's body is the first one's.
var consentAt = time.Now().Add(-10 * time.Minute).UTC().Format(time.RFC3339)

// consultBody is a consultation request as a client writes it: the kind,
// the hub, the specialty, reason, purpose, summary and the consent as a
// contained Consent (signed by the patient ten minutes ago).
func consultBody(patient, hub, extra string) string {
	return `{"resourceType":"ServiceRequest","status":"active","intent":"order",
 "contained":[{"resourceType":"Consent","id":"c1","status":"active",
   "scope":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/consentscope","code":"treatment"}]},
   "category":[{"coding":[{"system":"` + fhir.SystemConsentMethod + `","code":"written"}]}],
   "patient":{"reference":"Patient/` + patient + `"},"dateTime":"` + consentAt + `","performer":[{"reference":"Patient/` + patient + `"}],
   "policyRule":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v3-ActCode","code":"OPTIN"}]}}],
 "category":[{"coding":[{"system":"http://snomed.info/sct","code":"11429006"}]}],
 "code":{"coding":[{"system":"` + fhir.SystemConsultKind + `","code":"one_to_one"}]},
 "subject":{"reference":"Patient/` + patient + `"},"performer":[{"reference":"Organization/` + hub + `"}],
 "performerType":{"coding":[{"system":"` + fhir.SystemSpecialty + `","code":"cardiology"}]},
 "reasonCode":[{"text":"血压控制不佳"}],"orderDetail":[{"text":"调整降压方案"}],
 "note":[{"text":"三种降压药联用后血压仍高"}],"supportingInfo":[{"reference":"#c1"}]` + extra + `}`
}

// consultHub is the hub of the demo's consultations (which has the
// departments), as the village doctor sees it.
func consultHub(t *testing.T, vd *client) string {
	t.Helper()
	srs, _ := episodesOf(t, vd, consultPatient(t, vd))
	for _, x := range srs {
		if strings.HasPrefix(x.ID, "consult-") && strings.HasPrefix(x.Performer[0].Reference, "Organization/") { // an MDT's is its team
			return strings.TrimPrefix(x.Performer[0].Reference, "Organization/")
		}
	}
	t.Fatal("no consultation to find the hub by")
	return ""
}

// liveLog records the live events a consultation publishes.
type liveLog struct {
	mu    sync.Mutex
	kinds []string
}

func (l *liveLog) Publish(_ []int64, kind string, _ int64, _ string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.kinds = append(l.kinds, kind)
}

func (l *liveLog) Online(int64) bool { return false }

func (l *liveLog) count(kind string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, k := range l.kinds {
		if k == kind {
			n++
		}
	}
	return n
}

func TestConsultationCreate(t *testing.T) { testConsultationCreate(t, newEnv(t)) }

// testConsultationCreate: POST /fhir/ServiceRequest with category SNOMED
// CT 11429006 requests a remote consultation through the consultation
// page's write path (docs/fhir.md "ServiceRequest create"): 201 with the
// request as held (kind, hub, specialty, reason, purpose, summary); the
// response clock starts (10 minutes for a routine case); the live event
// fires; a consult.request audit row; the same identifier again gives the
// same case; each fault is a 422 OperationOutcome naming its element and
// nothing is written; a patient out of scope is 404; a doctor who does not
// invite consultations 403.
func testConsultationCreate(t *testing.T, e *env) {
	live := &liveLog{}
	e.cons.Live = live
	t.Cleanup(func() { e.cons.Live = nil })
	vd := e.writer(care.RoleVillageDoctor)
	var mine bundle
	vd.get("/fhir/Patient?_count=1", nil, &mine)
	patient := mine.patients(t)[0].ID
	hub := consultHub(t, vd.client)
	before := e.count("SELECT COUNT(*) FROM consultations")
	var sr fhir.ServiceRequest
	code, h, body := vd.send("POST", "/fhir/ServiceRequest", nil, consultBody(patient, hub, `,"identifier":[{"system":"urn:test","value":"c-1"}]`), &sr)
	if code != 201 || !strings.HasPrefix(sr.ID, "consult-") || sr.Status != "active" || sr.Priority != "routine" || sr.Subject.Reference != "Patient/"+patient ||
		len(sr.Performer) != 1 || sr.Performer[0].Reference != "Organization/"+hub || sr.Code == nil || sr.Code.Coding[0].Code != "one_to_one" ||
		sr.PerformerType == nil || sr.PerformerType.Coding[0].Code != "cardiology" || len(sr.ReasonCode) != 1 || len(sr.OrderDetail) != 1 || len(sr.Note) != 1 ||
		!strings.HasPrefix(h.Get("Location"), e.ts.URL+"/fhir/ServiceRequest/"+sr.ID+"/_history/") {
		t.Fatalf("create: %d %s %.600s", code, h.Get("Location"), body)
	}
	id, _ := strconv.ParseInt(strings.TrimPrefix(sr.ID, "consult-"), 10, 64)
	c, _, _, err := e.st.Consultation(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if c.Status != consult.StatusRequested || c.AssignedTo == 0 || (c.Deadline.Sub(c.CreatedAt)-10*time.Minute).Abs() > time.Second || c.Consent.By != consult.ConsentPatient ||
		c.Consent.Method != consult.ConsentWritten || c.Purpose != "调整降压方案" {
		t.Errorf("the case: %+v (want requested, assigned, the 10-minute clock, the patient's written consent)", c)
	}
	if n := live.count("consult.new"); n != 1 {
		t.Errorf("%d consult.new live events, want 1", n)
	}
	var read fhir.ServiceRequest
	if code, _, body := vd.get("/fhir/ServiceRequest/"+sr.ID, nil, &read); code != 200 || read.ID != sr.ID {
		t.Errorf("read back: %d %.200s", code, body)
	}
	var again fhir.ServiceRequest
	vd.send("POST", "/fhir/ServiceRequest", nil, consultBody(patient, hub, `,"identifier":[{"system":"urn:test","value":"c-1"}]`), &again)
	if again.ID != sr.ID || e.count("SELECT COUNT(*) FROM consultations") != before+1 || live.count("consult.new") != 1 {
		t.Errorf("a retry with the same identifier gave %s (first %s)", again.ID, sr.ID)
	}
	// Faults: 422 naming the element, nothing written.
	village := strings.TrimPrefix(mine.patients(t)[0].ManagingOrganization.Reference, "Organization/")
	for _, x := range []struct{ name, body, expr string }{
		{"no consent", strings.Replace(consultBody(patient, hub, ""), `"#c1"`, `"#other"`, 1), "ServiceRequest.supportingInfo"},
		{"consent in the future", strings.Replace(consultBody(patient, hub, ""), consentAt, time.Now().Add(48*time.Hour).UTC().Format(time.RFC3339), 1), "ServiceRequest.contained.Consent.dateTime"},
		{"multidisciplinary without its team", strings.Replace(consultBody(patient, hub, ""), `"one_to_one"`, `"mdt"`, 1), "ServiceRequest.performer"},
		{"no kind", strings.Replace(consultBody(patient, hub, ""), fhir.SystemConsultKind, "urn:other", 1), "ServiceRequest.code"},
		{"priority asap", consultBody(patient, hub, `,"priority":"asap"`), "ServiceRequest.priority"},
		{"to a village clinic", consultBody(patient, village, ""), "ServiceRequest.performer"},
		{"no specialty", strings.Replace(consultBody(patient, hub, ""), fhir.SystemSpecialty, "urn:other", 1), "ServiceRequest.performerType"},
		{"no reason", strings.Replace(consultBody(patient, hub, ""), "血压控制不佳", " ", 1), "ServiceRequest.reasonCode"},
		{"intent plan", strings.Replace(consultBody(patient, hub, ""), `"order"`, `"plan"`, 1), "ServiceRequest.intent"},
	} {
		var o outcome
		code, h, _ := vd.send("POST", "/fhir/ServiceRequest", nil, x.body, &o)
		checkOutcome(t, x.name, code, 422, h.Get("Content-Type"), o, "invalid", x.expr)
	}
	if n := e.count("SELECT COUNT(*) FROM consultations"); n != before+1 {
		t.Errorf("%d consultations after the refused requests, want %d", n, before+1)
	}
	var o outcome
	other := otherVillagePatient(t, e, mine.patients(t)[0].ManagingOrganization.Reference)
	code, h, _ = vd.send("POST", "/fhir/ServiceRequest", nil, consultBody(other, hub, ""), &o)
	checkOutcome(t, "out of scope", code, 404, h.Get("Content-Type"), o, "not-found", "")
	o = outcome{}
	code, h, _ = e.writer(care.RoleCountySpecialist).send("POST", "/fhir/ServiceRequest", nil, consultBody(patient, hub, ""), &o)
	checkOutcome(t, "county specialist", code, 403, h.Get("Content-Type"), o, "forbidden", "")
	e.audit.Flush(context.Background())
	if evs, _ := e.st.SearchAudit(context.Background(), audit.Filter{Action: consult.ActRequest, Username: e.users[care.RoleVillageDoctor], Limit: 10}); len(evs) != 1 {
		t.Errorf("%d consult.request audit rows, want 1", len(evs))
	}
}
