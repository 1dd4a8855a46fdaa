package fhir_test

import (
	"encoding/json"
	"strings"
	"testing"

	"countycare/care"
	"countycare/fhir"
)

// TestLocations: each institution's site is a Location (docs/fhir.md
// "Location"), id as the institution's, managed by its Organization and
// part of its parent's site, with the area code; search by organization,
// partof, type and _summary=count; the staff directory's roles only.
func TestLocations(t *testing.T) { testLocations(t, newEnv(t)) }

func testLocations(t *testing.T, e *env) {
	c := e.as(care.RoleVillageDoctor)
	var mine bundle
	c.get("/fhir/Patient?_count=1", nil, &mine)
	village := strings.TrimPrefix(mine.patients(t)[0].ManagingOrganization.Reference, "Organization/")
	var l fhir.Location
	if code, _, body := c.get("/fhir/Location/"+village, nil, &l); code != 200 || l.ID != village || l.Status != "active" || l.Mode != "instance" ||
		l.ManagingOrganization == nil || l.ManagingOrganization.Reference != "Organization/"+village || l.PartOf == nil ||
		!strings.HasPrefix(l.PartOf.Reference, "Location/") || l.Type[0].Coding[0].Code != "village_clinic" || l.PhysicalType.Coding[0].Code != "si" {
		t.Fatalf("Location read: %d %.400s", code, body)
	}
	if len(l.Identifier) != 1 || l.Identifier[0].System != fhir.SystemAreaCode || len(l.Identifier[0].Value) != 12 {
		t.Errorf("village site area code %+v, want 12 digits", l.Identifier)
	}
	var parent fhir.Location
	c.get("/fhir/"+l.PartOf.Reference, nil, &parent)
	var kids bundle
	c.get("/fhir/Location?partof="+l.PartOf.Reference+"&type=village_clinic", nil, &kids)
	found := false
	for _, en := range kids.Entry {
		var k fhir.Location
		json.Unmarshal(en.Resource, &k)
		found = found || k.ID == village
		if k.PartOf == nil || k.PartOf.Reference != l.PartOf.Reference {
			t.Errorf("partof %s found %+v", l.PartOf.Reference, k.PartOf)
		}
	}
	if !found || parent.ResourceType != "Location" {
		t.Errorf("the village's site is not among its township's (%d), or the township's site is not read (%+v)", len(kids.Entry), parent)
	}
	var byOrg, count bundle
	c.get("/fhir/Location?organization=Organization/"+village, nil, &byOrg)
	c.get("/fhir/Location?_summary=count", nil, &count)
	if len(byOrg.Entry) != 1 || count.Total == nil || *count.Total < 10 || len(count.Entry) != 0 {
		t.Errorf("organization= found %d, _summary=count %+v", len(byOrg.Entry), count)
	}
	var o outcome
	code, h, _ := c.get("/fhir/Location/99999999", nil, &o)
	checkOutcome(t, "unknown Location", code, 404, h.Get("Content-Type"), o, "not-found", "")
	o = outcome{}
	code, h, _ = c.get("/fhir/Location?organization=x", nil, &o)
	checkOutcome(t, "organization=x", code, 400, h.Get("Content-Type"), o, "invalid", "organization")
	o = outcome{}
	code, h, _ = e.anon().get("/fhir/Location", nil, &o)
	checkOutcome(t, "no session", code, 401, h.Get("Content-Type"), o, "login", "")
}
