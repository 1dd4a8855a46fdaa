package fhir_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"countycare/care"
	"countycare/org"
	"countycare/store"
)

// TestExportLabReports: a system-level $export holds the lab results as
// Observations and their reports as DiagnosticReports, each line the very
// resource the read path gives (one mapping); _since after the filing
// leaves them out. On SQLite and PostgreSQL.
func TestExportLabReports(t *testing.T) {
	for _, d := range []store.Dialect{store.SQLite, store.Postgres} {
		t.Run(string(d), func(t *testing.T) { testExportLabReports(t, d) })
	}
}

func testExportLabReports(t *testing.T, d store.Dialect) {
	e := newEnvOn(t, d)
	vd := e.as(care.RoleVillageDoctor)
	var pats bundle
	vd.get("/fhir/Patient?_count=1", nil, &pats)
	pt := pats.patients(t)[0]
	recordLabs(t, e, pt)
	filed := time.Now()
	// The read path's lab report and lab Observations of the patient.
	var reps, obs bundle
	vd.get("/fhir/DiagnosticReport?patient="+pt.ID+"&_count=100", nil, &reps)
	vd.get("/fhir/Observation?patient="+pt.ID+"&_count=100", nil, &obs)
	read := map[string][]byte{} // "Type/id" → the resource as read
	for _, b := range []bundle{reps, obs} {
		for _, en := range b.Entry {
			if strings.Contains(en.FullURL, "/lab-") {
				var c bytes.Buffer
				json.Compact(&c, en.Resource)
				read[strings.TrimPrefix(en.FullURL, e.ts.URL+"/fhir/")] = c.Bytes()
			}
		}
	}
	if len(read) != 4 { // one report, three results
		t.Fatalf("the read path gives %d lab resources, want 4: %v", len(read), read)
	}
	c := e.register(t, "province", jose.ES384, 0, "system/*.read").signIn(t, "system/*.read")
	m, _ := c.export(t, "/fhir/$export?_type=Observation,DiagnosticReport")
	got := c.lines(t, m)
	found := 0
	for _, typ := range []string{"Observation", "DiagnosticReport"} {
		for _, l := range got[typ] {
			var x struct{ ID string }
			json.Unmarshal(l, &x)
			want, ok := read[typ+"/"+x.ID]
			if !ok {
				continue
			}
			found++
			if !bytes.Equal(l, want) {
				t.Errorf("%s/%s exported differs from the read:\n%s\n%s", typ, x.ID, l, want)
			}
		}
	}
	if found != len(read) {
		t.Errorf("%d of the patient's %d lab resources exported", found, len(read))
	}
	m, _ = c.export(t, "/fhir/$export?_type=Observation,DiagnosticReport&_since="+url.QueryEscape(filed.Add(time.Second).Format(time.RFC3339Nano)))
	for typ, ls := range c.lines(t, m) {
		for _, l := range ls {
			if bytes.Contains(l, []byte(`"id":"lab-`)) {
				t.Errorf("_since after the filing: %s %s", typ, l)
			}
		}
	}
}

// TestExportLocationsAndSignatures: $export holds the Locations (the whole
// county's at system level, each as Location/{id} reads it; a township
// Group's villages and the institutions above them only) and the
// Provenances of the signed reports and prescriptions, each naming a
// DiagnosticReport (or the MedicationRequests) of the same export.
func TestExportLocationsAndSignatures(t *testing.T) {
	e := newEnv(t)
	c := e.register(t, "province", jose.ES384, 0, "system/*.read").signIn(t, "system/*.read")
	m, _ := c.export(t, "/fhir/$export?_type=Location,Provenance,DiagnosticReport,MedicationRequest")
	got := c.lines(t, m)
	var all bundle
	e.as(care.RoleAnalyst).get("/fhir/Location?_summary=count", nil, &all)
	if all.Total == nil || len(got["Location"]) != *all.Total || *all.Total == 0 {
		t.Fatalf("%d Locations exported, the county has %d", len(got["Location"]), derefInt(all.Total))
	}
	vd := e.as(care.RoleVillageDoctor)
	for _, l := range got["Location"][:5] {
		var x struct{ ID string }
		json.Unmarshal(l, &x)
		var raw json.RawMessage
		vd.get("/fhir/Location/"+x.ID, nil, &raw)
		var want bytes.Buffer
		json.Compact(&want, raw)
		if !bytes.Equal(l, want.Bytes()) {
			t.Errorf("Location/%s exported differs from the read:\n%s\n%s", x.ID, l, want.Bytes())
		}
	}
	reports := map[string]bool{}
	for _, l := range got["DiagnosticReport"] {
		var r struct{ ID string }
		json.Unmarshal(l, &r)
		reports["DiagnosticReport/"+r.ID] = !strings.HasPrefix(r.ID, "lab-")
	}
	signed := 0
	for _, v := range reports {
		if v {
			signed++
		}
	}
	requests := map[string]bool{} // "MedicationRequest/<id>"
	prescriptions := map[string]bool{}
	for _, l := range got["MedicationRequest"] {
		var r struct {
			ID              string
			GroupIdentifier struct{ Value string }
		}
		json.Unmarshal(l, &r)
		requests["MedicationRequest/"+r.ID] = true
		prescriptions[r.GroupIdentifier.Value] = true
	}
	ofReports, ofPrescriptions := 0, 0
	for _, l := range got["Provenance"] {
		var p struct {
			ID     string
			Target []struct{ Reference string }
		}
		json.Unmarshal(l, &p)
		if rx, ok := strings.CutPrefix(p.ID, "rx-"); ok { // a prescription's signature: its MedicationRequests
			ofPrescriptions++
			for _, tg := range p.Target {
				if !requests[tg.Reference] || !strings.HasPrefix(tg.Reference, "MedicationRequest/"+rx+"-") {
					t.Errorf("Provenance %s: target %s, not a line of the prescription in the export", p.ID, tg.Reference)
				}
			}
			continue
		}
		ofReports++
		if len(p.Target) != 1 || !reports[p.Target[0].Reference] || p.ID != "report-"+strings.TrimPrefix(p.Target[0].Reference, "DiagnosticReport/") {
			t.Errorf("Provenance %s: targets %v, not a signed report of the export", p.ID, p.Target)
		}
	}
	if ofReports != signed || signed == 0 {
		t.Errorf("%d Provenances of reports, %d signed reports exported", ofReports, signed)
	}
	if ofPrescriptions != len(prescriptions) || ofPrescriptions == 0 {
		t.Errorf("%d Provenances of prescriptions, %d prescriptions exported", ofPrescriptions, len(prescriptions))
	}
	// A township's Group: its villages and the chain above them.
	town := e.townships(t)[0]
	mg, _ := c.export(t, "/fhir/Group/township-"+strconv.FormatInt(town.ID, 10)+"/$export?_type=Location")
	gl := c.lines(t, mg)["Location"]
	if len(gl) <= len(e.townshipVillages(t, town.ID)) || len(gl) >= len(got["Location"]) {
		t.Errorf("township %d: %d Locations of the county's %d", town.ID, len(gl), len(got["Location"]))
	}
	for _, l := range gl {
		var x struct{ ID string }
		json.Unmarshal(l, &x)
		id, _ := strconv.ParseInt(x.ID, 10, 64)
		if !e.within(t, town.ID, id) {
			t.Errorf("township %d's export holds Location/%s, neither below nor above it", town.ID, x.ID)
		}
	}
}

// townshipVillages are the village clinics under a township.
func (e *env) townshipVillages(t *testing.T, town int64) []*org.Institution {
	t.Helper()
	tree, _ := (&org.Service{Repo: e.st, Now: time.Now}).Tree(context.Background())
	return tree.Children(town)
}

// within reports whether id is in town's subtree or above it.
func (e *env) within(t *testing.T, town, id int64) bool {
	t.Helper()
	tree, _ := (&org.Service{Repo: e.st, Now: time.Now}).Tree(context.Background())
	return tree.IsWithin(id, town) || tree.IsWithin(town, id)
}

func derefInt(p *int) int {
	if p == nil {
		return -1
	}
	return *p
}
