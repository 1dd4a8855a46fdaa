package fhir_test

import (
	"encoding/json"
	"strings"
	"testing"

	"countycare/care"
	"countycare/fhir"
	"countycare/settle"
)

// TestCoverage: a resident's basic medical insurance of each year they
// were settled in is a Coverage "<resident>-<year>" (docs/fhir.md
// "Coverage"): public healthcare, the insurance office as payor, the year
// as period, the county's plan of the year and each payer layer that paid
// that year as a subplan; read and searched by the settlement page's
// readers (settle.Service.ForResident: scope, audit), in $everything.
func TestCoverage(t *testing.T) { testCoverage(t, newEnv(t)) }

func testCoverage(t *testing.T, e *env) {
	io := e.as(care.RoleInsuranceOfficer)
	var pats bundle
	io.get("/fhir/Patient?_count=100", nil, &pats)
	var cov fhir.Coverage
	patient := ""
	for _, p := range pats.patients(t) {
		var b bundle
		if code, _, body := io.get("/fhir/Coverage?patient="+p.ID+"&_include=Coverage:patient", nil, &b); code != 200 {
			t.Fatalf("Coverage search: %d %.300s", code, body)
		}
		if len(b.Entry) > 1 {
			json.Unmarshal(b.Entry[0].Resource, &cov)
			if !strings.HasSuffix(b.Entry[len(b.Entry)-1].FullURL, "/Patient/"+p.ID) {
				t.Errorf("_include: last entry %s", b.Entry[len(b.Entry)-1].FullURL)
			}
			patient = p.ID
			break
		}
	}
	if patient == "" {
		t.Fatal("no settled patient among the county's first 100")
	}
	if !strings.HasPrefix(cov.ID, patient+"-") || cov.Status != "active" || cov.Beneficiary.Reference != "Patient/"+patient ||
		len(cov.Payor) != 1 || !strings.HasPrefix(cov.Payor[0].Reference, "Organization/") || cov.Period == nil || cov.Meta == nil || cov.Meta.LastUpdated == "" ||
		len(cov.Class) < 2 || cov.Class[0].Type.Coding[0].Code != "plan" {
		t.Fatalf("coverage %+v", cov)
	}
	if c := cov.Class[1]; c.Type.Coding[0].Code != "subplan" || c.Value != settle.LayerBasic || c.Name == "" || strings.HasPrefix(c.Name, "settle.") {
		t.Errorf("first layer %+v, want the basic insurance", c)
	}
	var one fhir.Coverage
	if code, _, body := io.get("/fhir/Coverage/"+cov.ID, nil, &one); code != 200 || one.ID != cov.ID || len(one.Class) != len(cov.Class) {
		t.Errorf("read %s: %d %.300s", cov.ID, code, body)
	}
	var byID, count bundle
	io.get("/fhir/Coverage?_id="+cov.ID, nil, &byID)
	io.get("/fhir/Coverage?patient="+patient+"&_summary=count", nil, &count)
	if len(byID.Entry) != 1 || count.Total == nil || *count.Total < 1 {
		t.Errorf("_id: %d entries; _summary=count %v", len(byID.Entry), count.Total)
	}
	var all bundle
	io.get("/fhir/Patient/"+patient+"/$everything", nil, &all)
	found := false
	for _, en := range all.Entry {
		found = found || strings.HasSuffix(en.FullURL, "/Coverage/"+cov.ID)
	}
	if !found {
		t.Errorf("$everything has no Coverage/%s", cov.ID)
	}
	for _, p := range []string{"/fhir/Coverage/" + patient + "-1999", "/fhir/Coverage/x", "/fhir/Coverage/999999999-2026"} {
		var o outcome
		code, h, _ := io.get(p, nil, &o)
		checkOutcome(t, p, code, 404, h.Get("Content-Type"), o, "not-found", "")
	}
	var o outcome
	code, h, _ := e.as(care.RoleVillageDoctor).get("/fhir/Coverage?patient="+patient, nil, &o)
	checkOutcome(t, "village doctor", code, 403, h.Get("Content-Type"), o, "forbidden", "")
}
