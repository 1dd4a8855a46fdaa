package fhir_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"countycare/audit"
	"countycare/care"
	"countycare/fhir"
	"countycare/referral"
)

// referralBody is an up-referral request as a client writes it.
func referralBody(patient, org, reason, extra string) string {
	return `{"resourceType":"ServiceRequest","status":"active","intent":"order",
 "category":[{"coding":[{"system":"http://snomed.info/sct","code":"3457005"}]}],
 "subject":{"reference":"Patient/` + patient + `"},"performer":[{"reference":"Organization/` + org + `"}],
 "reasonCode":[{"coding":[{"system":"` + fhir.SystemReferralReason + `","code":"` + reason + `"}]}],
 "note":[{"text":"血压控制不佳，请上级医院调整方案"}]` + extra + `}`
}

// TestServiceRequestCreate: POST /fhir/ServiceRequest sends an up-referral
// through the referral page's write path (docs/fhir.md "ServiceRequest
// create"): 201 with the request as held, its reasons coded; the same
// identifier again gives the same referral; each fault is a 422
// OperationOutcome naming its element and nothing is written; a patient
// out of scope is 404; a role that sends no referrals 403.
func TestServiceRequestCreate(t *testing.T) { testServiceRequestCreate(t, newEnv(t)) }

func testServiceRequestCreate(t *testing.T, e *env) {
	vd := e.writer(care.RoleVillageDoctor)
	var mine, hosp bundle
	vd.get("/fhir/Patient?_count=1", nil, &mine)
	patient := mine.patients(t)[0].ID
	vd.get("/fhir/Organization?type=county_hospital", nil, &hosp)
	if len(hosp.Entry) == 0 {
		t.Fatal("no county hospital")
	}
	org := strings.TrimPrefix(hosp.Entry[0].FullURL, e.ts.URL+"/fhir/Organization/")
	before := e.count("SELECT COUNT(*) FROM referrals")
	var sr fhir.ServiceRequest
	code, h, body := vd.send("POST", "/fhir/ServiceRequest", nil, referralBody(patient, org, "htn_not_at_target", `,"identifier":[{"system":"urn:test","value":"k-1"}]`), &sr)
	if code != 201 || !strings.HasPrefix(sr.ID, "referral-") || sr.Status != "active" || sr.Subject.Reference != "Patient/"+patient ||
		len(sr.Performer) != 1 || sr.Performer[0].Reference != "Organization/"+org || len(sr.ReasonCode) != 1 ||
		sr.ReasonCode[0].Coding[0].Code != "htn_not_at_target" || sr.ReasonCode[0].Text == "" || len(sr.Note) != 1 ||
		!strings.HasPrefix(h.Get("Location"), e.ts.URL+"/fhir/ServiceRequest/"+sr.ID+"/_history/") {
		t.Fatalf("create: %d %s %.400s", code, h.Get("Location"), body)
	}
	var read fhir.ServiceRequest
	if code, _, body := vd.get("/fhir/ServiceRequest/"+sr.ID, nil, &read); code != 200 || read.ID != sr.ID {
		t.Errorf("read back: %d %.200s", code, body)
	}
	var again fhir.ServiceRequest
	vd.send("POST", "/fhir/ServiceRequest", nil, referralBody(patient, org, "htn_not_at_target", `,"identifier":[{"system":"urn:test","value":"k-1"}]`), &again)
	if again.ID != sr.ID || e.count("SELECT COUNT(*) FROM referrals") != before+1 {
		t.Errorf("a retry with the same identifier gave %s (first %s)", again.ID, sr.ID)
	}
	// Faults: 422 naming the element, nothing written.
	for _, c := range []struct{ name, body, expr string }{
		{"unknown reason", referralBody(patient, org, "feeling_unwell", ""), "ServiceRequest.reasonCode"},
		{"to a village clinic", referralBody(patient, strings.TrimPrefix(mine.patients(t)[0].ManagingOrganization.Reference, "Organization/"), "htn_not_at_target", ""), "ServiceRequest.performer"},
		{"intent plan", strings.Replace(referralBody(patient, org, "htn_not_at_target", ""), `"order"`, `"plan"`, 1), "ServiceRequest.intent"},
		{"priority asap", referralBody(patient, org, "htn_not_at_target", `,"priority":"asap"`), "ServiceRequest.priority"},
		{"no note", strings.Replace(referralBody(patient, org, "htn_not_at_target", ""), "血压控制不佳，请上级医院调整方案", " ", 1), "ServiceRequest.note"},
		{"neither referral nor consultation", strings.Replace(referralBody(patient, org, "htn_not_at_target", ""), "3457005", "183444007", 1), "ServiceRequest.category"},
		{"wrong type", `{"resourceType":"Observation"}`, "resourceType"},
		{"malformed", `{"resourceType":"ServiceRequest",`, "ServiceRequest"},
	} {
		var o outcome
		code, h, _ := vd.send("POST", "/fhir/ServiceRequest", nil, c.body, &o)
		checkOutcome(t, c.name, code, 422, h.Get("Content-Type"), o, "invalid", c.expr)
	}
	if n := e.count("SELECT COUNT(*) FROM referrals"); n != before+1 {
		t.Errorf("%d referrals after the refused requests, want %d", n, before+1)
	}
	var o outcome
	other := otherVillagePatient(t, e, mine.patients(t)[0].ManagingOrganization.Reference)
	code, h, _ = vd.send("POST", "/fhir/ServiceRequest", nil, referralBody(other, org, "htn_not_at_target", ""), &o)
	checkOutcome(t, "out of scope", code, 404, h.Get("Content-Type"), o, "not-found", "")
	o = outcome{}
	code, h, _ = e.writer(care.RoleInsuranceOfficer).send("POST", "/fhir/ServiceRequest", nil, referralBody(patient, org, "htn_not_at_target", ""), &o)
	checkOutcome(t, "insurance officer", code, 403, h.Get("Content-Type"), o, "forbidden", "")
	time.Sleep(50 * time.Millisecond)
	if evs, _ := e.st.SearchAudit(context.Background(), audit.Filter{Action: referral.AuditCreate, Username: e.users[care.RoleVillageDoctor], Limit: 10}); len(evs) != 1 {
		t.Errorf("%d referral.create audit rows, want 1", len(evs))
	}
}
