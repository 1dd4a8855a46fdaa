package fhir_test

import (
	"encoding/json"
	"strings"
	"testing"

	"countycare/care"
	"countycare/fhir"
)

// TestProvenance: the signature of a signed diagnosis-center report and
// of a signed prescription is a Provenance (docs/fhir.md "Provenance"):
// its targets, when signed and by whom, as an author's signature (ASTM
// E1762-95); searched by patient or target and read, each through its
// record's own read (the study page's and the prescription API's rules);
// lab reports have none; other roles are refused.
func TestProvenance(t *testing.T) { testProvenance(t, newEnv(t)) }

func testProvenance(t *testing.T, e *env) {
	vd := e.as(care.RoleVillageDoctor)
	rp, reps := reportPatient(t, vd, 2)
	var b bundle
	if code, _, body := vd.get("/fhir/Provenance?patient="+rp+"&_count=100", nil, &b); code != 200 {
		t.Fatalf("Provenance search: %d %.300s", code, body)
	}
	byTarget := map[string]fhir.Provenance{}
	for _, en := range b.Entry {
		var p fhir.Provenance
		json.Unmarshal(en.Resource, &p)
		for _, tg := range p.Target {
			byTarget[tg.Reference] = p
		}
		if len(p.Signature) != 1 || p.Signature[0].When != p.Recorded || p.Signature[0].Type[0].Code != "1.2.840.10065.1.12.1.1" ||
			len(p.Agent) != 1 || p.Agent[0].Who != p.Signature[0].Who || p.Recorded == "" {
			t.Errorf("provenance %+v", p)
		}
	}
	for _, d := range reps {
		p, ok := byTarget["DiagnosticReport/"+d.ID]
		if strings.HasPrefix(d.ID, "lab-") {
			if ok {
				t.Errorf("lab report %s has a signature", d.ID)
			}
			continue
		}
		if !ok || p.ID != "report-"+d.ID || p.Recorded != d.Issued || p.Agent[0].Who.Display != d.ResultsInterpreter[0].Display {
			t.Errorf("report %s: provenance %+v", d.ID, p)
			continue
		}
		var one fhir.Provenance
		if code, _, body := vd.get("/fhir/Provenance/"+p.ID, nil, &one); code != 200 || one.ID != p.ID {
			t.Errorf("read %s: %d %.200s", p.ID, code, body)
		}
		var bt bundle
		vd.get("/fhir/Provenance?target=DiagnosticReport/"+d.ID+"&_include=Provenance:patient", nil, &bt)
		if len(bt.Entry) != 2 || !strings.HasSuffix(bt.Entry[0].FullURL, "/Provenance/"+p.ID) || !strings.HasSuffix(bt.Entry[1].FullURL, "/Patient/"+rp) {
			t.Errorf("target=DiagnosticReport/%s: %d entries", d.ID, len(bt.Entry))
		}
	}
	// A signed prescription: one Provenance for its lines.
	var mine bundle
	vd.get("/fhir/Patient?_count=100", nil, &mine)
	checked := false
	for _, pt := range mine.patients(t) {
		var rb bundle
		vd.get("/fhir/MedicationRequest?patient="+pt.ID+"&_count=100", nil, &rb)
		if len(rb.Entry) == 0 {
			continue
		}
		var mr fhir.MedicationRequest
		json.Unmarshal(rb.Entry[0].Resource, &mr)
		var p fhir.Provenance
		if code, _, body := vd.get("/fhir/Provenance/rx-"+mr.GroupIdentifier.Value, nil, &p); code != 200 || p.Recorded != mr.AuthoredOn ||
			p.Agent[0].Who.Reference != mr.Requester.Reference || !strings.HasPrefix(p.Target[0].Reference, "MedicationRequest/"+mr.GroupIdentifier.Value+"-") {
			t.Errorf("prescription %s: %d %.300s", mr.GroupIdentifier.Value, code, body)
		}
		var bt bundle
		vd.get("/fhir/Provenance?target=MedicationRequest/"+mr.ID, nil, &bt)
		if len(bt.Entry) != 1 {
			t.Errorf("target=MedicationRequest/%s: %d entries", mr.ID, len(bt.Entry))
		}
		checked = true
		break
	}
	if !checked {
		t.Error("no patient in scope with a prescription")
	}
	for _, p := range []string{"/fhir/Provenance/report-x", "/fhir/Provenance/rx-999999999", "/fhir/Provenance/other"} {
		var o outcome
		code, h, _ := vd.get(p, nil, &o)
		checkOutcome(t, p, code, 404, h.Get("Content-Type"), o, "not-found", "")
	}
	var o outcome
	code, h, _ := vd.get("/fhir/Provenance?target=Patient/1", nil, &o)
	checkOutcome(t, "target=Patient/1", code, 400, h.Get("Content-Type"), o, "invalid", "target")
	o = outcome{}
	code, h, _ = e.as(care.RoleInsuranceOfficer).get("/fhir/Provenance?patient="+rp, nil, &o)
	checkOutcome(t, "insurance officer", code, 403, h.Get("Content-Type"), o, "forbidden", "")
}
