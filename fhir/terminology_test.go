package fhir_test

import (
	"net/url"
	"testing"

	"countycare/care"
	"countycare/fhir"
)

// TestTerminology: the national and platform codes the resources use are
// published as CodeSystems and ValueSets (docs/fhir.md "CodeSystem and
// ValueSet"): GB/T 2261.1 sex, relation to the household head, poverty
// categories, payer layers, with displays in the reader's language; a
// ValueSet expands (with a filter); the codings the resources carry name
// these systems; an unknown one is 404; a request without a session 401.
func TestTerminology(t *testing.T) {
	e := newEnv(t)
	vd := e.as(care.RoleVillageDoctor)
	var all bundle
	if code, _, body := vd.get("/fhir/CodeSystem", nil, &all); code != 200 || all.Total == nil || *all.Total != 4 {
		t.Fatalf("CodeSystem search: %d %.300s", code, body)
	}
	var sex fhir.CodeSystem
	vd.get("/fhir/CodeSystem/gbt2261.1-sex", nil, &sex)
	if sex.URL != fhir.SystemSex || sex.Content != "complete" || sex.Count != 4 || len(sex.Concept) != 4 || sex.Concept[1].Code != "1" || sex.Concept[1].Display != "男性" {
		t.Errorf("sex code system %+v", sex)
	}
	var pov bundle
	vd.get("/fhir/CodeSystem?url="+url.QueryEscape(fhir.SystemPoverty), nil, &pov)
	if len(pov.Entry) != 1 {
		t.Errorf("CodeSystem?url=poverty: %d entries", len(pov.Entry))
	}
	var vs fhir.ValueSet
	if code, _, body := vd.get("/fhir/ValueSet/payer-layer/$expand", map[string]string{"Accept-Language": "en"}, &vs); code != 200 || vs.Expansion == nil ||
		vs.Expansion.Total != 6 || vs.Expansion.Contains[0].System != fhir.SystemPayerLayer || vs.Expansion.Contains[0].Code != "basic" || vs.Compose.Include[0].System != fhir.SystemPayerLayer {
		t.Errorf("payer layers $expand: %d %.400s", code, body)
	}
	var filtered fhir.ValueSet
	vd.get("/fhir/ValueSet/$expand?url="+url.QueryEscape("http://countycare.cn/fhir/ValueSet/household-relation")+"&filter=spouse", nil, &filtered)
	if filtered.Expansion == nil || filtered.Expansion.Total != 1 || filtered.Expansion.Contains[0].Code != "spouse" {
		t.Errorf("filtered expansion %+v", filtered.Expansion)
	}
	for _, p := range []string{"/fhir/CodeSystem/nope", "/fhir/ValueSet/nope/$expand"} {
		var o outcome
		code, h, _ := vd.get(p, nil, &o)
		checkOutcome(t, p, code, 404, h.Get("Content-Type"), o, "not-found", "")
	}
	var o outcome
	code, h, _ := e.anon().get("/fhir/ValueSet", nil, &o)
	checkOutcome(t, "no session", code, 401, h.Get("Content-Type"), o, "login", "")
}
