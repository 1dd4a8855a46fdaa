package fhir_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"countycare/audit"
	"countycare/care"
	"countycare/fhir"
	"countycare/rx"
)

// TestMedications: a signed prescription is one MedicationRequest per
// drug (docs/fhir.md "MedicationRequest"), grouped by the prescription
// number, with the formulary code, the ATC code and the name, the dose,
// route and schedule, the supply, the ICD-10 reasons and the prescriber; a
// dispensed one is also one MedicationDispense per drug authorized by its
// request. Prescribers and pharmacists read them within their scope
// (rx.Service.Get and ForResident, audited as rx.read); others are refused.
func TestMedications(t *testing.T) { testMedications(t, newEnv(t)) }

func testMedications(t *testing.T, e *env) {
	vd := e.as(care.RoleVillageDoctor)
	var mine bundle
	vd.get("/fhir/Patient?_count=100", nil, &mine)
	patient := ""
	var reqs []fhir.MedicationRequest
	var disp []fhir.MedicationDispense
	for _, p := range mine.patients(t) {
		var rb, db bundle
		if code, _, body := vd.get("/fhir/MedicationRequest?patient="+p.ID+"&_count=100", nil, &rb); code != 200 {
			t.Fatalf("MedicationRequest: %d %s", code, body)
		}
		vd.get("/fhir/MedicationDispense?patient="+p.ID+"&_count=100", nil, &db)
		if len(rb.Entry) == 0 || len(db.Entry) == 0 {
			continue
		}
		patient = p.ID
		for _, en := range rb.Entry {
			var mr fhir.MedicationRequest
			json.Unmarshal(en.Resource, &mr)
			reqs = append(reqs, mr)
		}
		for _, en := range db.Entry {
			var md fhir.MedicationDispense
			json.Unmarshal(en.Resource, &md)
			disp = append(disp, md)
		}
		break
	}
	if patient == "" {
		t.Fatal("no patient of the village with a dispensed prescription")
	}
	byID := map[string]fhir.MedicationRequest{}
	for _, mr := range reqs {
		byID[mr.ID] = mr
		med := mr.MedicationCodeableConcept
		if mr.Intent != "order" || mr.Subject.Reference != "Patient/"+patient || mr.GroupIdentifier == nil || !strings.HasPrefix(mr.ID, mr.GroupIdentifier.Value+"-") ||
			med.Coding[0].System != fhir.SystemFormulary || med.Text == "" || med.Text == med.Coding[0].Code || len(med.Coding) != 2 || med.Coding[1].System != fhir.SystemATC ||
			mr.Requester == nil || mr.Requester.Reference == "" || len(mr.DosageInstruction) != 1 || mr.DosageInstruction[0].Text == "" ||
			len(mr.ReasonCode) == 0 || mr.ReasonCode[0].Coding[0].System != fhir.SystemICD10 || mr.AuthoredOn == "" {
			t.Errorf("medication request %+v", mr)
		}
		if d := mr.DosageInstruction[0]; d.Timing == nil && d.AsNeededBool == nil {
			t.Errorf("%s: dosage without a schedule: %+v", mr.ID, d)
		}
	}
	for _, md := range disp {
		mr, ok := byID[strings.TrimPrefix(md.AuthorizingPrescription[0].Reference, "MedicationRequest/")]
		if !ok || md.ID != mr.ID || md.Status != "completed" || mr.Status != "completed" || md.WhenHandedOver == "" ||
			md.MedicationCodeableConcept.Coding[0].Code != mr.MedicationCodeableConcept.Coding[0].Code {
			t.Errorf("dispense %+v of request %+v", md, mr)
		}
		var one fhir.MedicationDispense
		if code, _, body := vd.get("/fhir/MedicationDispense/"+md.ID, nil, &one); code != 200 || one.ID != md.ID {
			t.Errorf("read %s: %d %.200s", md.ID, code, body)
		}
	}
	var one fhir.MedicationRequest
	if code, _, body := vd.get("/fhir/MedicationRequest/"+reqs[0].ID, nil, &one); code != 200 || one.ID != reqs[0].ID || one.Status != reqs[0].Status {
		t.Errorf("read %s: %d %.200s", reqs[0].ID, code, body)
	}
	var active bundle
	vd.get("/fhir/MedicationRequest?patient="+patient+"&status=completed", nil, &active)
	for _, en := range active.Entry {
		var mr fhir.MedicationRequest
		json.Unmarshal(en.Resource, &mr)
		if mr.Status != "completed" {
			t.Errorf("status=completed matched %s", mr.Status)
		}
	}
	var o outcome
	code, h, _ := vd.get("/fhir/MedicationRequest?patient="+patient+"&status=draft", nil, &o)
	checkOutcome(t, "status=draft", code, 400, h.Get("Content-Type"), o, "invalid", "status")
	for _, p := range []string{"/fhir/MedicationRequest/" + reqs[0].GroupIdentifier.Value + "-99", "/fhir/MedicationDispense/x", "/fhir/MedicationRequest/999999999-1"} {
		o = outcome{}
		code, h, _ = vd.get(p, nil, &o)
		checkOutcome(t, p, code, 404, h.Get("Content-Type"), o, "not-found", "")
	}
	o = outcome{}
	code, h, _ = e.as(care.RoleInsuranceOfficer).get("/fhir/MedicationRequest?patient="+patient, nil, &o)
	checkOutcome(t, "insurance officer", code, 403, h.Get("Content-Type"), o, "forbidden", "")
	time.Sleep(50 * time.Millisecond)
	if evs, _ := e.st.SearchAudit(context.Background(), audit.Filter{Action: rx.ActRead, Username: e.users[care.RoleVillageDoctor], Limit: 10}); len(evs) < 2 {
		t.Errorf("%d rx.read audit rows for the searches and reads", len(evs))
	}
}
