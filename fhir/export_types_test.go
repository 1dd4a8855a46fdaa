package fhir_test

import (
	"bytes"
	"encoding/json"
	"net/url"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"countycare/care"
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
