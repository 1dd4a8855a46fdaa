package fhir_test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"countycare/care"
	"countycare/fhir"
	"countycare/rx"
)

// entryIDs splits a bundle's entries into "Type/id" by search mode.
func entryIDs(t *testing.T, b bundle) (match, include []string) {
	t.Helper()
	for _, en := range b.Entry {
		parts := strings.Split(en.FullURL, "/")
		id := strings.Join(parts[len(parts)-2:], "/")
		if en.Search.Mode == "include" {
			include = append(include, id)
		} else {
			match = append(match, id)
		}
	}
	return match, include
}

func TestRevinclude(t *testing.T) { testRevinclude(t, newEnv(t)) }

// testRevinclude: the common pairs beyond Patient (issue 12) — a
// practitioner with its role and a role with its practitioner, an
// institution with its site and a site with its institution, a
// prescription with its dispensings, a request with the encounters based
// on it — each included entry is what the included type's own search
// returns (scope and audit as its own reads: the dispensings' rx.read
// rows), a value not supported is a 400 naming the parameter, and the
// CapabilityStatement declares each pair.
func testRevinclude(t *testing.T, e *env) {
	vd := e.as(care.RoleVillageDoctor)
	pairs := func(path, other string) {
		t.Helper()
		var b bundle
		if code, _, body := vd.get(path, nil, &b); code != 200 {
			t.Fatalf("%s: %d %.300s", path, code, body)
		}
		match, inc := entryIDs(t, b)
		if len(match) == 0 || len(inc) != len(match) {
			t.Fatalf("%s: %d matches, %d included", path, len(match), len(inc))
		}
		for i, m := range match {
			if want := other + "/" + strings.Split(m, "/")[1]; inc[i] != want {
				t.Errorf("%s: %s included with %s, want %s", path, inc[i], m, want)
			}
		}
	}
	pairs("/fhir/Practitioner?_count=5&_revinclude=PractitionerRole:practitioner", "PractitionerRole")
	pairs("/fhir/PractitionerRole?_count=5&_include=PractitionerRole:practitioner", "Practitioner")
	pairs("/fhir/Organization?_count=5&_revinclude=Location:organization", "Location")
	pairs("/fhir/Location?_count=5&_include=Location:organization", "Organization")

	// A prescription with its dispensings: exactly the patient's
	// dispensings of the page's prescriptions.
	var mine bundle
	vd.get("/fhir/Patient?_count=100", nil, &mine)
	checked := false
	for _, p := range mine.patients(t) {
		var disp bundle
		vd.get("/fhir/MedicationDispense?patient="+p.ID+"&_count=100", nil, &disp)
		if len(disp.Entry) == 0 {
			continue
		}
		before := len(e.auditRows(t, rx.ActRead, e.users[care.RoleVillageDoctor]))
		var b bundle
		vd.get("/fhir/MedicationRequest?patient="+p.ID+"&_count=100&_revinclude=MedicationDispense:prescription", nil, &b)
		match, inc := entryIDs(t, b)
		var want []string
		for _, en := range disp.Entry {
			var md fhir.MedicationDispense
			json.Unmarshal(en.Resource, &md)
			if slices.Contains(match, md.AuthorizingPrescription[0].Reference) {
				want = append(want, "MedicationDispense/"+md.ID)
			}
		}
		slices.Sort(inc)
		slices.Sort(want)
		if len(want) == 0 || !slices.Equal(inc, want) {
			t.Errorf("MedicationRequest?_revinclude=MedicationDispense:prescription of %s: included %v, want %v", p.ID, inc, want)
		}
		if after := len(e.auditRows(t, rx.ActRead, e.users[care.RoleVillageDoctor])); after < before+2 {
			t.Errorf("rx.read rows %d → %d: the included dispensings were not read as their own search reads them", before, after)
		}
		checked = true
		break
	}
	if !checked {
		t.Fatal("no patient of the village with a dispensing")
	}
	// A request with the encounters based on it.
	pid := consultPatient(t, vd)
	var encs bundle
	vd.get("/fhir/Encounter?patient="+pid+"&_count=100", nil, &encs)
	var b bundle
	vd.get("/fhir/ServiceRequest?patient="+pid+"&_count=100&_revinclude=Encounter:based-on", nil, &b)
	match, inc := entryIDs(t, b)
	var want []string
	for _, en := range encs.Entry {
		var x fhir.Encounter
		json.Unmarshal(en.Resource, &x)
		if len(x.BasedOn) > 0 && slices.Contains(match, x.BasedOn[0].Reference) {
			want = append(want, "Encounter/"+x.ID)
		}
	}
	slices.Sort(inc)
	slices.Sort(want)
	if len(want) == 0 || !slices.Equal(inc, want) {
		t.Errorf("ServiceRequest?_revinclude=Encounter:based-on: included %v, want %v", inc, want)
	}
	// A follow-up visit (an Encounter) with its measurements.
	followUp := false
	for _, p := range mine.patients(t) {
		var obs bundle
		vd.get("/fhir/Observation?patient="+p.ID+"&_count=100", nil, &obs)
		want = nil
		var first fhir.Observation // the first follow-up measurement
		for _, en := range obs.Entry {
			var o fhir.Observation
			json.Unmarshal(en.Resource, &o)
			if o.Encounter != nil {
				want = append(want, "Observation/"+o.ID)
				if first.ID == "" {
					first = o
				}
			}
		}
		if len(want) == 0 {
			continue
		}
		var visit fhir.Encounter
		if code, _, body := vd.get("/fhir/"+first.Encounter.Reference, nil, &visit); code != 200 || visit.Status != "finished" ||
			visit.Subject.Reference != "Patient/"+p.ID || visit.Period == nil || visit.Period.Start != first.EffectiveDateTime {
			t.Errorf("%s: %d %.300s", first.Encounter.Reference, code, body)
		}
		var b bundle
		vd.get("/fhir/Encounter?patient="+p.ID+"&_count=100&_revinclude=Observation:encounter", nil, &b)
		match, inc := entryIDs(t, b)
		if b.Total == nil || len(match) != *b.Total {
			t.Fatalf("Encounter?patient=%s: the first page is not the whole (%d of %v): sample another patient", p.ID, len(match), b.Total)
		}
		slices.Sort(inc)
		slices.Sort(want)
		if !slices.Equal(inc, want) || !slices.Contains(match, first.Encounter.Reference) {
			t.Errorf("Encounter?_revinclude=Observation:encounter of %s: included %v, want %v", p.ID, inc, want)
		}
		followUp = true
		break
	}
	if !followUp {
		t.Fatal("no patient of the village with follow-up measurements")
	}
	// Not supported: 400 naming the parameter.
	for _, c := range []struct{ path, param string }{
		{"/fhir/Practitioner?_revinclude=Location:organization", "_revinclude"},
		{"/fhir/Organization?_include=Location:organization", "_include"},
		{"/fhir/Location?_revinclude=Location:organization", "_revinclude"},
		{"/fhir/MedicationRequest?patient=" + pid + "&_revinclude=Observation:encounter", "_revinclude"},
		{"/fhir/Encounter?patient=" + pid + "&_revinclude=Encounter:based-on", "_revinclude"},
		{"/fhir/Condition?patient=" + pid + "&_revinclude=Observation:encounter", ""},
	} {
		var o outcome
		code, h, _ := vd.get(c.path, map[string]string{"Prefer": "handling=strict"}, &o)
		checkOutcome(t, c.path, code, 400, h.Get("Content-Type"), o, "invalid", c.param)
	}
	var cs fhir.CapabilityStatement
	e.anon().get("/fhir/metadata", nil, &cs)
	declared := map[string]bool{}
	for _, r := range cs.Rest[0].Resource {
		for _, v := range r.SearchRevInclude {
			declared[r.Type+"?_revinclude="+v] = true
		}
		for _, v := range r.SearchInclude {
			declared[r.Type+"?_include="+v] = true
		}
	}
	for _, v := range []string{"Practitioner?_revinclude=PractitionerRole:practitioner", "PractitionerRole?_include=PractitionerRole:practitioner",
		"Organization?_revinclude=Location:organization", "Location?_include=Location:organization",
		"MedicationRequest?_revinclude=MedicationDispense:prescription", "ServiceRequest?_revinclude=Encounter:based-on",
		"Encounter?_revinclude=Observation:encounter",
		"Group?_include=Group:member", "RelatedPerson?_include=RelatedPerson:patient",
		"Patient?_revinclude=Group:member", "Patient?_revinclude=RelatedPerson:patient"} {
		if !declared[v] {
			t.Errorf("the CapabilityStatement does not declare %s", v)
		}
	}
}
