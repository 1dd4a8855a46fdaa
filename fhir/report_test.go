package fhir_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"countycare/audit"
	"countycare/care"
	"countycare/fhir"
	"countycare/reading"
)

// demoCounty is the county code demo.Generate gives by default.
const demoCounty = "411723"

// reportsOf returns the DiagnosticReports of a bundle's match entries and
// the Patients of its include entries.
func reportsOf(t *testing.T, b bundle) (reps []fhir.DiagnosticReport, included []fhir.Patient) {
	t.Helper()
	for _, e := range b.Entry {
		var probe struct{ ResourceType string }
		json.Unmarshal(e.Resource, &probe)
		switch probe.ResourceType {
		case "DiagnosticReport":
			var d fhir.DiagnosticReport
			json.Unmarshal(e.Resource, &d)
			reps = append(reps, d)
		case "Patient":
			var p fhir.Patient
			json.Unmarshal(e.Resource, &p)
			included = append(included, p)
		default:
			t.Fatalf("entry %s", e.Resource)
		}
	}
	return reps, included
}

// reportPatient finds a patient of the village doctor with at least min
// signed reports, one of them of an ECG, and returns the patient's id and
// the reports.
func reportPatient(t *testing.T, vd *client, min int) (string, []fhir.DiagnosticReport) {
	t.Helper()
	var mine bundle
	vd.get("/fhir/Patient?_count=100", nil, &mine)
	for _, p := range mine.patients(t) {
		var b bundle
		if code, _, body := vd.get("/fhir/DiagnosticReport?patient=Patient/"+p.ID+"&_count=100", nil, &b); code != 200 {
			t.Fatalf("DiagnosticReport search: %d %s", code, body)
		}
		reps, _ := reportsOf(t, b)
		for _, d := range reps {
			if len(reps) >= min && d.Code.Coding[len(d.Code.Coding)-1].Code == "ECG" {
				return p.ID, reps
			}
		}
	}
	t.Fatalf("no patient of the village with %d signed reports and an ECG among them", min)
	return "", nil
}

// TestDiagnosticReport: a signed diagnosis-center report is a
// DiagnosticReport (docs/fhir.md "DiagnosticReport"): status final (or
// appended after an addendum), the LOINC report code of its modality and
// the v2-0074 section, the patient, the center as performer, issued when
// signed, the summary field as conclusion, the report's text as a
// presentedForm attachment, and for an ECG its measurements as contained
// Observations with LOINC codes referenced as results. Read and search
// (patient, _id, date, status, _count with next links, _summary=count,
// _include of the subject) follow the study page's rules: the ordering
// clinic's doctors and the center's readers; others are not found; every
// request is audited. (Lab reports: TestLabObservations.)
func TestDiagnosticReport(t *testing.T) { testDiagnosticReport(t, newEnv(t)) }

func testDiagnosticReport(t *testing.T, e *env) {
	vd := e.as(care.RoleVillageDoctor)
	patient, reps := reportPatient(t, vd, 2)
	var ecg *fhir.DiagnosticReport
	for i, d := range reps {
		if i > 0 && d.EffectiveDateTime > reps[i-1].EffectiveDateTime {
			t.Errorf("reports not newest first: %s (%s) after %s (%s)", d.ID, d.EffectiveDateTime, reps[i-1].ID, reps[i-1].EffectiveDateTime)
		}
		if strings.HasPrefix(d.ID, "lab-") {
			continue // lab reports (when the lab test ran first on the same county): TestLabObservations
		}
		if d.ResourceType != "DiagnosticReport" || (d.Status != "final" && d.Status != "appended") || d.Subject.Reference != "Patient/"+patient ||
			len(d.Code.Coding) == 0 || d.Code.Text == "" || len(d.Category) != 1 || d.Issued == "" || d.EffectiveDateTime == "" ||
			len(d.Performer) != 1 || !strings.HasPrefix(d.Performer[0].Reference, "Organization/") || len(d.ResultsInterpreter) != 1 ||
			d.ResultsInterpreter[0].Display == "" || d.Conclusion == "" || len(d.Identifier) != 1 || len(d.Identifier[0].Value) != 64 {
			t.Errorf("report %+v", d)
		}
		if len(d.PresentedForm) == 0 || !strings.HasPrefix(d.PresentedForm[0].ContentType, "text/plain") || d.PresentedForm[0].Title == "" {
			t.Errorf("report %s presentedForm %+v", d.ID, d.PresentedForm)
		} else if text, err := base64.StdEncoding.DecodeString(d.PresentedForm[0].Data); err != nil || !strings.Contains(string(text), d.Conclusion) {
			t.Errorf("report %s: the presented text %q does not hold the conclusion %q (%v)", d.ID, text, d.Conclusion, err)
		}
		mod := d.Code.Coding[len(d.Code.Coding)-1]
		if mod.System != fhir.SystemModality {
			t.Errorf("report %s: last coding %+v, want the modality", d.ID, mod)
		}
		want := map[string]string{"ECG": fhir.LoincECGStudy, "CT": fhir.LoincCTStudy, "MR": fhir.LoincMRStudy, "US": fhir.LoincUSStudy, "DR": fhir.LoincImagingStudy}[mod.Code]
		if want != "" && (d.Code.Coding[0].System != fhir.SystemLOINC || d.Code.Coding[0].Code != want) {
			t.Errorf("report %s (%s): code %+v, want LOINC %s", d.ID, mod.Code, d.Code.Coding[0], want)
		}
		if mod.Code == "ECG" && ecg == nil {
			ecg = &reps[i]
		}
	}
	if ecg == nil {
		t.Fatalf("patient %s has no ECG report among %d", patient, len(reps))
	}
	{
		if len(ecg.Contained) == 0 || len(ecg.Result) != len(ecg.Contained) || ecg.Category[0].Coding[0].Code != "EC" {
			t.Errorf("ECG report %s: %d contained, %d results, category %+v", ecg.ID, len(ecg.Contained), len(ecg.Result), ecg.Category)
		}
		for i, o := range ecg.Contained {
			if ecg.Result[i].Reference != "#"+o.ID || o.Code.Coding[0].System != fhir.SystemLOINC || o.ValueQuantity == nil || o.ValueQuantity.System != fhir.SystemUCUM {
				t.Errorf("ECG measurement %+v (result %+v)", o, ecg.Result[i])
			}
			if o.ID == "rate" && (o.Code.Coding[0].Code != fhir.LoincHeartRate || o.ValueQuantity.Code != "/min") {
				t.Errorf("ECG rate %+v", o)
			}
		}
	}

	// Read: the same resource as the search's entry.
	var d0 fhir.DiagnosticReport
	for _, d := range reps {
		if !strings.HasPrefix(d.ID, "lab-") && d0.ID == "" {
			d0 = d
		}
	}
	var one fhir.DiagnosticReport
	if code, _, body := vd.get("/fhir/DiagnosticReport/"+d0.ID, nil, &one); code != 200 || one.ID != d0.ID || one.Conclusion != d0.Conclusion ||
		one.PresentedForm[0].Data != d0.PresentedForm[0].Data {
		t.Fatalf("read %s: %d %.300s", d0.ID, code, body)
	}
	// _id, alone or with the patient, with the subject included.
	for _, q := range []string{"_id=" + d0.ID, "patient=" + patient + "&_id=" + d0.ID} {
		var b bundle
		vd.get("/fhir/DiagnosticReport?"+q+"&_include=DiagnosticReport:subject", nil, &b)
		got, inc := reportsOf(t, b)
		if len(got) != 1 || got[0].ID != d0.ID || len(inc) != 1 || inc[0].ID != patient {
			t.Errorf("%s: %d reports, included %+v", q, len(got), inc)
		}
	}
	// _summary=count: the total alone.
	var count bundle
	vd.get("/fhir/DiagnosticReport?patient="+patient+"&_summary=count", nil, &count)
	if count.Total == nil || *count.Total != len(reps) || len(count.Entry) != 0 {
		t.Errorf("_summary=count: total %v, %d entries; want %d and none", count.Total, len(count.Entry), len(reps))
	}
	// Paging: _count=1 visits every report once, in the same order.
	var paged []string
	next := "/fhir/DiagnosticReport?patient=" + patient + "&_count=1"
	for pages := 0; next != ""; pages++ {
		if pages > len(reps) {
			t.Fatal("paging does not end")
		}
		var b bundle
		if code, _, body := vd.get(next, nil, &b); code != 200 {
			t.Fatalf("page %d: %d %s", pages, code, body)
		}
		got, _ := reportsOf(t, b)
		for _, d := range got {
			paged = append(paged, d.ID)
		}
		next = ""
		for _, l := range b.Link {
			if l.Relation == "next" {
				next = strings.TrimPrefix(l.URL, e.ts.URL)
			}
		}
	}
	for i, d := range reps {
		if i >= len(paged) || paged[i] != d.ID {
			t.Fatalf("pages gave %v, want the %d reports of one search in its order", paged, len(reps))
		}
	}
	// date: the study's day (China time) finds that report and no other day's.
	day := d0.EffectiveDateTime[:10]
	var dated bundle
	vd.get("/fhir/DiagnosticReport?patient="+patient+"&date=ge"+day+"&date=le"+day, nil, &dated)
	got, _ := reportsOf(t, dated)
	found := false
	for _, d := range got {
		found = found || d.ID == d0.ID
		if d.EffectiveDateTime[:10] != day {
			t.Errorf("date=%s matched %s", day, d.EffectiveDateTime)
		}
	}
	if !found {
		t.Errorf("date=%s does not find report %s", day, d0.ID)
	}
	// status: final and appended partition the reports.
	n := 0
	for _, st := range []string{"final", "appended"} {
		var b bundle
		vd.get("/fhir/DiagnosticReport?patient="+patient+"&status="+st+"&_count=100", nil, &b)
		got, _ := reportsOf(t, b)
		for _, d := range got {
			if d.Status != st {
				t.Errorf("status=%s matched %s", st, d.Status)
			}
		}
		n += len(got)
	}
	if n != len(reps) {
		t.Errorf("status=final and status=appended give %d reports, want %d", n, len(reps))
	}

	// code: the LOINC report code or the modality.
	for _, q := range []string{url.QueryEscape(fhir.SystemLOINC + "|" + fhir.LoincECGStudy), url.QueryEscape(fhir.SystemModality + "|ECG"), fhir.LoincECGStudy} {
		var b bundle
		vd.get("/fhir/DiagnosticReport?patient="+patient+"&code="+q, nil, &b)
		got, _ := reportsOf(t, b)
		if len(got) == 0 {
			t.Errorf("code=%s finds no ECG report", q)
		}
		for _, d := range got {
			if d.Code.Coding[len(d.Code.Coding)-1].Code != "ECG" {
				t.Errorf("code=%s matched %s", q, d.Code.Text)
			}
		}
	}

	// Bad parameters.
	for _, c := range []struct{ q, expr string }{
		{"", "patient"}, {"patient=Organization/1", "patient"}, {"patient=" + patient + "&status=preliminary", "status"},
		{"patient=" + patient + "&date=2026-02-30", "date"}, {"patient=" + patient + "&_count=101", "_count"},
		{"patient=" + patient + "&_summary=text", "_summary"}, {"patient=" + patient + "&_include=Observation:patient", "_include"},
		{"patient=" + patient + "&_cursor=x", "_cursor"}, {"patient=" + patient + "&code=" + url.QueryEscape("http://snomed.info/sct|1"), "code"},
	} {
		var o outcome
		code, h, _ := vd.get("/fhir/DiagnosticReport?"+c.q, nil, &o)
		checkOutcome(t, "DiagnosticReport?"+c.q, code, 400, h.Get("Content-Type"), o, "invalid", c.expr)
	}

	// Another clinic's report: not found for this village doctor, read by
	// the center's reader; a pharmacist reads no reports.
	village := ""
	var me fhir.Patient
	vd.get("/fhir/Patient/"+patient, nil, &me)
	village = strings.TrimPrefix(me.ManagingOrganization.Reference, "Organization/")
	var clinics bundle
	vd.get("/fhir/Organization?type=village_clinic", nil, &clinics)
	center := readerCenter(t, e)
	var other *reading.Study
	for _, en := range clinics.Entry {
		var o fhir.Organization
		json.Unmarshal(en.Resource, &o)
		id, _ := strconv.ParseInt(o.ID, 10, 64)
		if o.ID == village {
			continue
		}
		sts, err := e.st.ReturnedReports(context.Background(), demoCounty, id, 5)
		if err != nil {
			t.Fatal(err)
		}
		for i := range sts {
			if strconv.FormatInt(sts[i].CenterID, 10) == center {
				other = &sts[i]
			}
		}
		if other != nil {
			break
		}
	}
	if other == nil {
		t.Fatal("no reported study of another village read by the reader's center")
	}
	var o outcome
	code, h, _ := vd.get("/fhir/DiagnosticReport/"+strconv.FormatInt(other.ID, 10), nil, &o)
	checkOutcome(t, "another clinic's report", code, 404, h.Get("Content-Type"), o, "not-found", "")
	var none bundle
	vd.get("/fhir/DiagnosticReport?_id="+strconv.FormatInt(other.ID, 10), nil, &none)
	if none.Total == nil || *none.Total != 0 || len(none.Entry) != 0 {
		t.Errorf("_id of another clinic's report: %d entries", len(none.Entry))
	}
	var read fhir.DiagnosticReport
	if code, _, body := e.as(care.RoleReader).get("/fhir/DiagnosticReport/"+strconv.FormatInt(other.ID, 10), nil, &read); code != 200 || read.ID != strconv.FormatInt(other.ID, 10) {
		t.Errorf("the center's reader: %d %.300s", code, body)
	}
	o = outcome{}
	code, h, _ = e.as(care.RoleAnalyst).get("/fhir/DiagnosticReport?patient="+patient, nil, &o)
	checkOutcome(t, "analyst", code, 403, h.Get("Content-Type"), o, "forbidden", "")

	// Audited: the search reads the patient (resident.read), the read the study (reading.study_read).
	time.Sleep(50 * time.Millisecond)
	rid, _ := strconv.ParseInt(patient, 10, 64)
	evs, _ := e.st.SearchAudit(context.Background(), audit.Filter{ResidentIDs: []int64{rid}, Limit: 500})
	acts := map[string]int{}
	for _, ev := range evs {
		if ev.Username == e.users[care.RoleVillageDoctor] {
			acts[ev.Action]++
		}
	}
	if acts[audit.ActResidentRead] < 5 || acts[reading.ActStudyRead] < 2 {
		t.Errorf("audit rows of the village doctor for the patient: %v", acts)
	}
}

// readerCenter is the diagnosis center of the demo's reader login.
func readerCenter(t *testing.T, e *env) string {
	t.Helper()
	var b bundle
	e.as(care.RoleAnalyst).get("/fhir/Organization?name="+url.QueryEscape(e.insts[care.RoleReader]), nil, &b)
	if len(b.Entry) != 1 {
		t.Fatalf("the reader's center %q: %d organizations", e.insts[care.RoleReader], len(b.Entry))
	}
	var o fhir.Organization
	json.Unmarshal(b.Entry[0].Resource, &o)
	return o.ID
}

// TestDiagnosticReportAddendum: a report with a signed addendum is
// "appended" (FHIR R4 DiagnosticReport.status: modified by adding new
// content after it was final), the addendum is a second presentedForm
// attachment, lastUpdated is the addendum's signing; a study without a
// signed report is no DiagnosticReport.
func TestDiagnosticReportAddendum(t *testing.T) {
	signed := time.Date(2026, 3, 1, 2, 0, 0, 0, time.UTC)
	st := &reading.Study{ID: 7, Modality: "CT", ResidentID: 3, CenterID: 9, Status: reading.FlowReported, UploadedAt: signed.Add(-time.Hour)}
	reps := []reading.Report{
		{ID: 1, StudyID: 7, Kind: reading.ReportSigned, Template: "CT", Fields: map[string]string{"findings": "右肺结节", "impression": "建议随访"},
			SignerName: "王医生", SignedAt: signed, Seal: strings.Repeat("a", 64)},
		{ID: 2, StudyID: 7, Kind: reading.ReportAddendum, ParentID: 1, Fields: map[string]string{"text": "补充：结节 6 mm"},
			Critical: true, CriticalText: "疑似恶性", SignerName: "李医生", SignedAt: signed.Add(time.Hour)},
	}
	tr := func(k string, a ...any) string { return k }
	tpl := reading.DefaultTemplates().For("CT")
	d, ok := fhir.DiagnosticReportOf(st, reps, tpl, "zh", tr)
	if !ok || d.Status != "appended" || len(d.PresentedForm) != 2 || d.Meta.LastUpdated != "2026-03-01T03:00:00Z" || d.Conclusion != "建议随访" ||
		d.Issued != "2026-03-01T02:00:00Z" || d.EffectiveDateTime != "2026-03-01T09:00:00+08:00" || len(d.Contained) != 0 {
		t.Fatalf("%+v", d)
	}
	add, _ := base64.StdEncoding.DecodeString(d.PresentedForm[1].Data)
	if !strings.Contains(string(add), "结节 6 mm") || !strings.Contains(string(add), "疑似恶性") || !strings.Contains(string(add), "李医生") {
		t.Errorf("addendum text %q", add)
	}
	if d.Code.Coding[0].Code != fhir.LoincCTStudy || d.Category[0].Coding[0].Code != "CT" {
		t.Errorf("code %+v category %+v", d.Code, d.Category)
	}
	if _, ok := fhir.DiagnosticReportOf(st, reps[1:], tpl, "zh", tr); ok {
		t.Error("a study without a signed report mapped to a DiagnosticReport")
	}
	st.Status = reading.FlowClaimed
	if _, ok := fhir.DiagnosticReportOf(st, reps, tpl, "zh", tr); ok {
		t.Error("a study not reported mapped to a DiagnosticReport")
	}
}
