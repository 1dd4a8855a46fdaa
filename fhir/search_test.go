package fhir_test

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"
	"time"

	"countycare/care"
	"countycare/fhir"
)

// TestLastUpdatedRevincludeCount: _lastUpdated keeps the resources whose
// meta.lastUpdated is in the range (a day in China time or an instant,
// with eq, ge, gt, le, lt); Patient?_revinclude=<Type>:patient adds each
// patient's resources of that type as include entries (what the reader's
// own search of it gives); Condition?_summary=count gives the total alone;
// a bad value is a 400 OperationOutcome naming the parameter
// (docs/fhir.md "Searches of a patient's records").
func TestLastUpdatedRevincludeCount(t *testing.T) { testLastUpdatedRevincludeCount(t, newEnv(t)) }

func testLastUpdatedRevincludeCount(t *testing.T, e *env) {
	vd := e.as(care.RoleVillageDoctor)
	pid, _ := contractPatient(t, vd)
	var all bundle
	vd.get("/fhir/CarePlan?patient="+pid, nil, &all)
	var cp fhir.CarePlan
	json.Unmarshal(all.Entry[0].Resource, &cp)
	at, err := time.Parse(time.RFC3339, cp.Meta.LastUpdated)
	if err != nil {
		t.Fatalf("CarePlan lastUpdated %q: %v", cp.Meta.LastUpdated, err)
	}
	day := care.Today(at).String()
	next := care.Today(at).AddDays(1).String()
	for _, c := range []struct {
		q    string
		want bool
	}{
		{"_lastUpdated=" + day, true},
		{"_lastUpdated=ge" + day, true},
		{"_lastUpdated=lt" + day, false},
		{"_lastUpdated=gt" + day, false},
		{"_lastUpdated=ge" + next, false},
		{"_lastUpdated=le" + url.QueryEscape(at.Format(time.RFC3339)), true},
		{"_lastUpdated=lt" + url.QueryEscape(at.Format(time.RFC3339)), false},
		{"_lastUpdated=ge" + day + "&_lastUpdated=lt" + next, true},
	} {
		var b bundle
		if code, _, body := vd.get("/fhir/CarePlan?patient="+pid+"&"+c.q, nil, &b); code != 200 {
			t.Fatalf("%s: %d %.300s", c.q, code, body)
		}
		got := false
		for _, en := range b.Entry {
			got = got || strings.HasSuffix(en.FullURL, "/CarePlan/"+cp.ID)
		}
		if got != c.want || !strings.Contains(b.Link[0].URL, "_lastUpdated=") {
			t.Errorf("%s (lastUpdated %s): matched %v, want %v; self %s", c.q, cp.Meta.LastUpdated, got, c.want, b.Link[0].URL)
		}
	}
	var o outcome
	code, h, _ := vd.get("/fhir/Condition?patient="+pid+"&_lastUpdated=yesterday", nil, &o)
	checkOutcome(t, "_lastUpdated=yesterday", code, 400, h.Get("Content-Type"), o, "invalid", "_lastUpdated")

	// Conditions: _summary=count, _lastUpdated in the far past.
	var conds, count, none bundle
	vd.get("/fhir/Condition?patient="+pid, nil, &conds)
	vd.get("/fhir/Condition?patient="+pid+"&_summary=count", nil, &count)
	vd.get("/fhir/Condition?patient="+pid+"&_lastUpdated=lt2000-01-01", nil, &none)
	if count.Total == nil || *count.Total != len(conds.Entry) || len(count.Entry) != 0 || len(none.Entry) != 0 {
		t.Errorf("Condition _summary=count %+v for %d; lt2000 found %d", count.Total, len(conds.Entry), len(none.Entry))
	}

	// _revinclude: the patient with their CarePlans and Conditions.
	var p fhir.Patient
	vd.get("/fhir/Patient/"+pid, nil, &p)
	rec := ""
	for _, id := range p.Identifier {
		if id.System == fhir.SystemRecordNumber {
			rec = id.Value
		}
	}
	var rev bundle
	if code, _, body := vd.get("/fhir/Patient?identifier="+rec+"&_revinclude=CarePlan:patient&_revinclude=Condition:subject", nil, &rev); code != 200 {
		t.Fatalf("_revinclude: %d %.300s", code, body)
	}
	n := map[string]int{}
	for _, en := range rev.Entry {
		n[strings.Split(strings.TrimPrefix(en.FullURL, e.ts.URL+"/fhir/"), "/")[0]]++
	}
	if n["Patient"] != 1 || n["CarePlan"] != len(all.Entry) || n["Condition"] != len(conds.Entry) || len(n) > 3 {
		t.Errorf("_revinclude entries %v, want 1 Patient, %d CarePlan, %d Condition", n, len(all.Entry), len(conds.Entry))
	}
	var pc bundle
	vd.get("/fhir/Patient?identifier="+rec+"&_summary=count", nil, &pc)
	if pc.Total == nil || *pc.Total != 1 || len(pc.Entry) != 0 {
		t.Errorf("Patient?identifier&_summary=count: %+v", pc)
	}
	o = outcome{}
	code, h, _ = vd.get("/fhir/Patient?_summary=count", nil, &o)
	checkOutcome(t, "Patient?_summary=count", code, 400, h.Get("Content-Type"), o, "invalid", "_summary")
	o = outcome{}
	code, h, _ = vd.get("/fhir/Patient?identifier="+rec+"&_revinclude=Flag:patient", nil, &o)
	checkOutcome(t, "_revinclude=Flag:patient", code, 400, h.Get("Content-Type"), o, "invalid", "_revinclude")
	var cs fhir.CapabilityStatement
	e.anon().get("/fhir/metadata", nil, &cs)
	if rs := cs.Rest[0].Resource[0].SearchRevInclude; cs.Rest[0].Resource[0].Type != "Patient" || len(rs) < 10 {
		t.Errorf("Patient searchRevInclude %v", rs)
	}
}
