package fhir_test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"countycare/care"
	"countycare/store"
)

// everythingIDs returns the "Type/id"s of a bundle's entries.
func everythingIDs(t *testing.T, c *client, path string) (ids []string, total int) {
	t.Helper()
	var b bundle
	if code, _, body := c.get(path, nil, &b); code != 200 {
		t.Fatalf("%s: %d %.300s", path, code, body)
	}
	for _, e := range b.Entry {
		var x struct{ ResourceType, ID string }
		json.Unmarshal(e.Resource, &x)
		ids = append(ids, x.ResourceType+"/"+x.ID)
	}
	if b.Total != nil {
		total = *b.Total
	}
	return ids, total
}

// TestPatientEverything: Patient/{id}/$everything is the patient and every
// resource of the patient the reader may see — exactly what the reader's
// searches of each type give (FHIR R4 Patient-everything) — and nothing
// the reader's role does not see: the insurance officer gets the patient
// and the settlements, not the clinical record. A patient out of scope is
// not found; a role that reads no patients is refused.
func TestPatientEverything(t *testing.T) { testPatientEverything(t, newEnv(t)) }

func testPatientEverything(t *testing.T, e *env) {
	vd := e.as(care.RoleVillageDoctor)
	patient, _ := reportPatient(t, vd, 2)
	got, total := everythingIDs(t, vd, "/fhir/Patient/"+patient+"/$everything")
	if len(got) == 0 || got[0] != "Patient/"+patient || total != len(got) {
		t.Fatalf("$everything: %v (total %d)", got, total)
	}
	in := map[string]bool{}
	for _, id := range got {
		if in[id] {
			t.Errorf("%s twice", id)
		}
		in[id] = true
	}
	want := map[string]bool{"Patient/" + patient: true}
	for _, q := range []string{"Condition?patient=" + patient, "Observation?patient=" + patient + "&_count=100", "DiagnosticReport?patient=" + patient + "&_count=100",
		"ServiceRequest?patient=" + patient + "&_count=100", "Encounter?patient=" + patient + "&_count=100",
		"MedicationRequest?patient=" + patient + "&_count=100", "MedicationDispense?patient=" + patient + "&_count=100",
		"CarePlan?patient=" + patient + "&_count=100", "CareTeam?patient=" + patient + "&_count=100", "Consent?patient=" + patient + "&_count=100",
		"Provenance?patient=" + patient + "&_count=100", "ImagingStudy?patient=" + patient + "&_count=100",
		"RelatedPerson?patient=" + patient, "Group?member=Patient/" + patient} {
		ids, _ := everythingIDs(t, vd, "/fhir/"+q)
		for _, id := range ids {
			want[id] = true
		}
	}
	kinds := map[string]int{}
	for id := range want {
		if !in[id] {
			t.Errorf("%s is in the searches but not in $everything", id)
		}
		kinds[strings.Split(id, "/")[0]]++
	}
	if len(got) != len(want) {
		t.Errorf("$everything has %d resources, the searches %d", len(got), len(want))
	}
	if kinds["Condition"] == 0 && kinds["DiagnosticReport"] == 0 {
		t.Errorf("the sample patient has too little: %v", kinds)
	}
	// The insurance officer: the patient, the household, the settlements
	// and coverage only.
	io := e.as(care.RoleInsuranceOfficer)
	got, _ = everythingIDs(t, io, "/fhir/Patient/"+patient+"/$everything")
	for _, id := range got {
		if typ := strings.Split(id, "/")[0]; !slices.Contains([]string{"Patient", "Group", "RelatedPerson", "ExplanationOfBenefit", "Claim", "Coverage"}, typ) {
			t.Errorf("the insurance officer sees %s", id)
		}
	}
	var o outcome
	code, h, _ := vd.get("/fhir/Patient/"+otherVillageOf(t, e, vd, patient)+"/$everything", nil, &o)
	checkOutcome(t, "out of scope", code, 404, h.Get("Content-Type"), o, "not-found", "")
	o = outcome{}
	code, h, _ = e.as(care.RoleAnalyst).get("/fhir/Patient/"+patient+"/$everything", nil, &o)
	checkOutcome(t, "analyst", code, 403, h.Get("Content-Type"), o, "forbidden", "")
}

// otherVillageOf is a patient outside the village of patient.
func otherVillageOf(t *testing.T, e *env, vd *client, patient string) string {
	t.Helper()
	var p struct {
		ManagingOrganization struct{ Reference string } `json:"managingOrganization"`
	}
	vd.get("/fhir/Patient/"+patient, nil, &p)
	return otherVillagePatient(t, e, p.ManagingOrganization.Reference)
}

// TestPostgres runs the checks of the resources mapped from the clinical,
// reading, referral and settlement records on PostgreSQL: one demo county,
// each test's checks as a subtest (the SQLite runs are the tests themselves).
func TestPostgres(t *testing.T) {
	e := newEnvOn(t, store.Postgres)
	for _, c := range []struct {
		name string
		f    func(*testing.T, *env)
	}{
		{"DiagnosticReport", testDiagnosticReport}, {"LabObservations", testLabObservations}, {"ServiceRequestAndEncounter", testServiceRequestAndEncounter},
		{"ExplanationOfBenefit", testExplanationOfBenefit}, {"PatientEverything", testPatientEverything}, {"Medications", testMedications},
		{"OnlineVisitEncounter", testOnlineVisitEncounter}, {"FamilyContract", testFamilyContract}, {"Coverage", testCoverage}, {"Provenance", testProvenance}, {"ImagingStudy", testImagingStudy},
		{"ServiceRequestCreate", testServiceRequestCreate}, {"Households", testHouseholds}, {"ConsultationCreate", testConsultationCreate},
		{"Revinclude", testRevinclude},
		{"Locations", testLocations}, {"LastUpdatedRevincludeCount", testLastUpdatedRevincludeCount},
	} {
		t.Run(c.name, func(t *testing.T) { e.t = t; c.f(t, e) })
	}
}
