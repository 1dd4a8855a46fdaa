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
	"countycare/lab"
)

// TestLabObservations: a filed lab result is an Observation in the
// patient's Observation search (docs/fhir.md "Observation ← lab result"):
// category laboratory, the analyte's LOINC code, the value in its SI unit
// with the UCUM code (a result typed in mg/dL comes back in mmol/L; 10^9/L
// is UCUM 10*9/L), the reference range in that unit, the flag as the v3
// interpretation; code and date narrow the search. A reader of a
// diagnosis center the patient was sent to sees the lab results (the lab
// pages' rule) but not the follow-up measurements, which are the chronic
// care teams'; the search is audited as lab.read. The results of one
// collection are one lab DiagnosticReport that references them.
func TestLabObservations(t *testing.T) { testLabObservations(t, newEnv(t)) }

func testLabObservations(t *testing.T, e *env) {
	vd := e.as(care.RoleVillageDoctor)
	center := readerCenter(t, e)
	// A patient of the village with a report of the reader's center (so in the reader's scope).
	var mine bundle
	vd.get("/fhir/Patient?_count=100", nil, &mine)
	var pt fhir.Patient
	for _, p := range mine.patients(t) {
		var b bundle
		vd.get("/fhir/DiagnosticReport?patient="+p.ID+"&_count=100", nil, &b)
		reps, _ := reportsOf(t, b)
		for _, d := range reps {
			if d.Performer[0].Reference == "Organization/"+center && pt.ID == "" {
				pt = p
			}
		}
	}
	if pt.ID == "" {
		t.Fatal("no patient of the village sent to the reader's center")
	}
	rid, _ := strconv.ParseInt(pt.ID, 10, 64)
	collected := recordLabs(t, e, pt)
	labs := func(c *client, q string) []fhir.Observation {
		t.Helper()
		var b bundle
		if code, _, body := c.get("/fhir/Observation?patient="+pt.ID+q, nil, &b); code != 200 {
			t.Fatalf("Observation?%s: %d %s", q, code, body)
		}
		var out []fhir.Observation
		for _, en := range b.Entry {
			var o fhir.Observation
			json.Unmarshal(en.Resource, &o)
			if o.Category[0].Coding[0].Code == "laboratory" && strings.HasPrefix(o.ID, "lab-") {
				out = append(out, o)
			}
		}
		return out
	}
	all := labs(vd, "")
	if len(all) != 3 {
		t.Fatalf("%d lab observations, want 3", len(all))
	}
	want := map[string]struct {
		value     float64
		ucum      string
		flag      string
		low, high float64
	}{
		"2823-3": {5.6, "mmol/L", "H", 3.5, 5.5},
		"2345-7": {6.1057, "mmol/L", "N", 3.8854, 6.1057},
		"6690-2": {7.2, "10*9/L", "", 0, 0},
	}
	for _, o := range all {
		w, ok := want[o.Code.Coding[0].Code]
		if !ok || o.Code.Coding[0].System != fhir.SystemLOINC || o.Subject.Reference != "Patient/"+pt.ID || o.Status != "final" ||
			o.ValueQuantity == nil || o.ValueQuantity.Value != w.value || o.ValueQuantity.Code != w.ucum || o.ValueQuantity.System != fhir.SystemUCUM ||
			o.EffectiveDateTime != collected.Truncate(time.Minute).Format(time.RFC3339) || o.Performer[0].Reference != pt.ManagingOrganization.Reference {
			t.Errorf("lab observation %+v", o)
			continue
		}
		if w.flag == "" {
			if len(o.Interpretation) != 0 || len(o.ReferenceRange) != 0 {
				t.Errorf("%s: interpretation %+v range %+v, want none", o.ID, o.Interpretation, o.ReferenceRange)
			}
			continue
		}
		if len(o.Interpretation) != 1 || o.Interpretation[0].Coding[0].Code != w.flag || len(o.ReferenceRange) != 1 ||
			o.ReferenceRange[0].Low.Value != w.low || o.ReferenceRange[0].High.Value != w.high || o.ReferenceRange[0].Low.Code != w.ucum {
			t.Errorf("%s: interpretation %+v range %+v, want %s %v–%v", o.ID, o.Interpretation, o.ReferenceRange, w.flag, w.low, w.high)
		}
	}
	if k := labs(vd, "&code="+url.QueryEscape(fhir.SystemLOINC+"|2823-3")); len(k) != 1 || k[0].Code.Coding[0].Code != "2823-3" {
		t.Errorf("code=2823-3: %+v", k)
	}
	day := collected.Format("2006-01-02")
	if d := labs(vd, "&date="+day); len(d) != 3 {
		t.Errorf("date=%s: %d lab observations, want 3", day, len(d))
	}
	if d := labs(vd, "&date=lt"+day); len(d) != 0 {
		t.Errorf("date=lt%s: %d lab observations, want none", day, len(d))
	}
	// The reader: lab results, no follow-up measurements.
	var rb bundle
	if code, _, body := e.as(care.RoleReader).get("/fhir/Observation?patient="+pt.ID+"&_include=Observation:patient", nil, &rb); code != 200 {
		t.Fatalf("reader: %d %s", code, body)
	}
	n, inc := 0, 0
	for _, en := range rb.Entry {
		var o struct{ ResourceType, ID string }
		json.Unmarshal(en.Resource, &o)
		switch {
		case o.ResourceType == "Patient" && o.ID == pt.ID:
			inc++
		case strings.HasPrefix(o.ID, "lab-"):
			n++
		default:
			t.Errorf("the reader sees %s/%s", o.ResourceType, o.ID)
		}
	}
	if n != 3 || inc != 1 {
		t.Errorf("the reader: %d lab observations and %d included patients, want 3 and 1", n, inc)
	}
	// The three results of one collection are one lab report referencing them.
	var drb bundle
	vd.get("/fhir/DiagnosticReport?patient="+pt.ID+"&_count=100", nil, &drb)
	reps, _ := reportsOf(t, drb)
	var lr *fhir.DiagnosticReport
	for i := range reps {
		if strings.HasPrefix(reps[i].ID, "lab-"+pt.ID+"-") {
			if lr != nil {
				t.Errorf("two lab reports for one collection: %s, %s", lr.ID, reps[i].ID)
			}
			lr = &reps[i]
		}
	}
	if lr == nil {
		t.Fatalf("no lab report among %d reports", len(reps))
	}
	obsIDs := map[string]bool{}
	for _, o := range all {
		obsIDs["Observation/"+o.ID] = true
	}
	text, _ := base64.StdEncoding.DecodeString(lr.PresentedForm[0].Data)
	if lr.Status != "final" || lr.Category[0].Coding[0].Code != "LAB" || lr.Code.Coding[0].Code != fhir.LoincLabReport || len(lr.Result) != 3 ||
		lr.EffectiveDateTime != collected.Truncate(time.Minute).Format(time.RFC3339) || lr.Performer[0].Reference != pt.ManagingOrganization.Reference ||
		!strings.Contains(string(text), "5.6 mmol/L H (3.5–5.5)") {
		t.Errorf("lab report %+v\n%s", lr, text)
	}
	for _, ref := range lr.Result {
		if !obsIDs[ref.Reference] {
			t.Errorf("lab report result %s is not one of the lab Observations %v", ref.Reference, obsIDs)
		}
	}
	for _, c := range []*client{vd, e.as(care.RoleReader)} {
		var one fhir.DiagnosticReport
		if code, _, body := c.get("/fhir/DiagnosticReport/"+lr.ID, nil, &one); code != 200 || one.ID != lr.ID || len(one.Result) != 3 {
			t.Errorf("lab report read: %d %.300s", code, body)
		}
	}
	for _, id := range []string{"lab-" + pt.ID + "-999999999", "lab-x-1", "lab-" + pt.ID} {
		var o outcome
		code, h, _ := vd.get("/fhir/DiagnosticReport/"+id, nil, &o)
		checkOutcome(t, id, code, 404, h.Get("Content-Type"), o, "not-found", "")
	}
	// Paging: _count=1 with the next links visits the one page's Observations in its order.
	var whole bundle
	vd.get("/fhir/Observation?patient="+pt.ID, nil, &whole)
	var one, got []string
	for _, en := range whole.Entry {
		one = append(one, en.FullURL)
	}
	next := "/fhir/Observation?patient=" + pt.ID + "&_count=1"
	for pages := 0; next != ""; pages++ {
		if pages > len(one) {
			t.Fatal("Observation paging does not end")
		}
		var b bundle
		vd.get(next, nil, &b)
		for _, en := range b.Entry {
			got = append(got, en.FullURL)
		}
		next = ""
		for _, l := range b.Link {
			if l.Relation == "next" {
				next = strings.TrimPrefix(l.URL, e.ts.URL)
			}
		}
	}
	if strings.Join(got, " ") != strings.Join(one, " ") || len(one) < 3 {
		t.Errorf("pages of 1 gave %d Observations, one page %d (want the same, in order, and more than one page)", len(got), len(one))
	}
	var count bundle
	vd.get("/fhir/Observation?patient="+pt.ID+"&_summary=count", nil, &count)
	if count.Total == nil || *count.Total < 3 || len(count.Entry) != 0 {
		t.Errorf("_summary=count: %v, %d entries", count.Total, len(count.Entry))
	}
	time.Sleep(50 * time.Millisecond)
	evs, _ := e.st.SearchAudit(context.Background(), audit.Filter{ResidentIDs: []int64{rid}, Action: lab.ActRead, Limit: 50})
	if len(evs) < 5 {
		t.Errorf("%d lab.read audit rows for the patient's Observation searches, want one per search", len(evs))
	}
}

// recordLabs files three results for a patient of the demo village doctor,
// collected two hours ago (a potassium above its range, a glucose typed in
// mg/dL, a leukocyte count without a range), and returns the collection time.
func recordLabs(t *testing.T, e *env, pt fhir.Patient) time.Time {
	t.Helper()
	rid, _ := strconv.ParseInt(pt.ID, 10, 64)
	village, _ := strconv.ParseInt(strings.TrimPrefix(pt.ManagingOrganization.Reference, "Organization/"), 10, 64)
	doctor := care.Actor{AccountID: 1, Username: e.users[care.RoleVillageDoctor], Name: "村医", Role: care.RoleVillageDoctor, InstitutionID: village,
		CountyCode: demoCounty, PractitionerID: 1}
	collected := time.Now().Add(-2 * time.Hour).In(care.Shanghai)
	at := collected.Format("2006-01-02 15:04")
	if _, err := e.labs.Record(context.Background(), doctor, rid, []lab.Input{
		{Code: "K", Value: "5.6", Unit: "mmol/L", RefRange: "3.5-5.5", Doctor: "村医", CollectedAt: at},
		{Code: "GLU", Value: "110", Unit: "mg/dL", RefRange: "70-110", Doctor: "村医", CollectedAt: at},
		{Code: "WBC", Value: "7.2", Unit: "10^9/L", Doctor: "村医", CollectedAt: at},
	}, nil); err != nil {
		t.Fatal(err)
	}
	return collected
}
