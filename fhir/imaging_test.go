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
	"countycare/reading"
)

// TestImagingStudy: a DICOM study uploaded for reading is an ImagingStudy
// (docs/fhir.md "ImagingStudy"): its StudyInstanceUID, modality, series
// and instances as DICOMweb holds them, and the DICOMweb service as its
// endpoint (dicom-wado-rs); read and searched by the study page's
// viewers (reading.Workflow, audited; the series through DICOMweb,
// audited as dicomweb.qido); others refused.
func TestImagingStudy(t *testing.T) { testImagingStudy(t, newEnv(t)) }

func testImagingStudy(t *testing.T, e *env) {
	vd := e.as(care.RoleVillageDoctor)
	var mine bundle
	vd.get("/fhir/Patient?_count=100", nil, &mine)
	var is fhir.ImagingStudy
	patient := ""
	for _, p := range mine.patients(t) {
		var b bundle
		if code, _, body := vd.get("/fhir/ImagingStudy?patient="+p.ID, nil, &b); code != 200 {
			t.Fatalf("ImagingStudy search: %d %.300s", code, body)
		}
		for _, en := range b.Entry {
			var x fhir.ImagingStudy
			json.Unmarshal(en.Resource, &x)
			if len(x.Series) > 0 {
				is, patient = x, p.ID
			}
		}
		if patient != "" {
			break
		}
	}
	if patient == "" {
		t.Fatal("no patient in scope with an imaging study held by DICOMweb")
	}
	if is.Status != "available" || is.Subject.Reference != "Patient/"+patient || len(is.Identifier) != 1 || !strings.HasPrefix(is.Identifier[0].Value, "urn:oid:") ||
		is.Identifier[0].System != fhir.SystemDICOMUID || len(is.Modality) != 1 || is.Started == "" || len(is.Endpoint) != 1 || is.Endpoint[0].Reference != "#dicomweb" ||
		len(is.Contained) != 1 || is.Contained[0].Address != e.ts.URL+"/dicomweb" || is.Contained[0].ConnectionType.Code != "dicom-wado-rs" ||
		is.NumberOfSeries != len(is.Series) || is.NumberOfInstances < 1 {
		t.Fatalf("imaging study %+v", is)
	}
	n := 0
	for _, se := range is.Series {
		n += se.NumberOfInstances
		if se.UID == "" || se.Modality.Code == "" || len(se.Instance) != se.NumberOfInstances {
			t.Errorf("series %+v", se)
		}
		for _, in := range se.Instance {
			if in.UID == "" || !strings.HasPrefix(in.SOPClass.Code, "urn:oid:1.2.840.10008.") {
				t.Errorf("instance %+v", in)
			}
		}
	}
	if n != is.NumberOfInstances {
		t.Errorf("%d instances in the series, numberOfInstances %d", n, is.NumberOfInstances)
	}
	var one fhir.ImagingStudy
	if code, _, body := vd.get("/fhir/ImagingStudy/"+is.ID, nil, &one); code != 200 || one.ID != is.ID || len(one.Series) != len(is.Series) {
		t.Errorf("read: %d %.300s", code, body)
	}
	var byID bundle
	vd.get("/fhir/ImagingStudy?_id="+is.ID+"&_include=ImagingStudy:patient", nil, &byID)
	if len(byID.Entry) != 2 {
		t.Errorf("_id with _include: %d entries", len(byID.Entry))
	}
	var o outcome
	code, h, _ := vd.get("/fhir/ImagingStudy/999999999", nil, &o)
	checkOutcome(t, "missing", code, 404, h.Get("Content-Type"), o, "not-found", "")
	o = outcome{}
	code, h, _ = e.as(care.RoleInsuranceOfficer).get("/fhir/ImagingStudy?patient="+patient, nil, &o)
	checkOutcome(t, "insurance officer", code, 403, h.Get("Content-Type"), o, "forbidden", "")
	time.Sleep(50 * time.Millisecond)
	if evs, _ := e.st.SearchAudit(context.Background(), audit.Filter{Action: reading.ActQIDO, Username: e.users[care.RoleVillageDoctor], Limit: 10}); len(evs) == 0 {
		t.Error("no dicomweb.qido audit row for the series read")
	}
}
