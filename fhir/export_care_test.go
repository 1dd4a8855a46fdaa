package fhir_test

import (
	"bytes"
	"encoding/json"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"countycare/care"
	"countycare/store"
)

// careTypes are the types issue 12's export gained (and Encounter, which
// gained the follow-up visits): each is written from a scan of the
// selection and must equal the read of it.
var careTypes = []string{"Group", "RelatedPerson", "Encounter", "Organization", "Practitioner", "PractitionerRole", "ServiceRequest", "ImagingStudy", "CarePlan", "CareTeam", "Consent", "MedicationRequest", "MedicationDispense", "Claim", "Coverage", "Provenance"}

// careReaders are the roles that read the care types on the pages: a
// line is compared with the first of them that may read it.
var careReaders = []care.Role{care.RoleReader, care.RoleVillageDoctor, care.RoleTownshipDoctor, care.RoleCountySpecialist, care.RolePharmacist, care.RoleInsuranceOfficer}

// TestExportCareTypes: a system-level $export holds every care type the
// server maps — each exported line byte for byte the resource GET
// /fhir/{Type}/{id} gives a reader who may see it; a township Group's
// export holds only its residents' records (each line's patient is among
// the Group's exported Patients); _since after everything leaves them all
// out. On SQLite and PostgreSQL.
func TestExportCareTypes(t *testing.T) {
	for _, d := range []store.Dialect{store.SQLite, store.Postgres} {
		t.Run(string(d), func(t *testing.T) { testExportCareTypes(t, d) })
	}
}

func testExportCareTypes(t *testing.T, d store.Dialect) {
	e := newEnvOn(t, d)
	c := e.register(t, "province", jose.ES384, 0, "system/*.read").signIn(t, "system/*.read")
	m, _ := c.export(t, "/fhir/$export?_type="+strings.Join(careTypes, ","))
	got := c.lines(t, m)
	readers := map[care.Role]*client{}
	for _, r := range careReaders {
		readers[r] = e.as(r)
	}
	for _, typ := range careTypes {
		lines := got[typ]
		if len(lines) == 0 {
			t.Errorf("no %s exported", typ)
			continue
		}
		ids := map[string]bool{}
		compared := 0
		for i, l := range lines {
			var x struct{ ID string }
			if err := json.Unmarshal(l, &x); err != nil || x.ID == "" {
				t.Fatalf("%s line %d: %v %s", typ, i+1, err, l)
			}
			if ids[x.ID] {
				t.Errorf("%s/%s exported twice", typ, x.ID)
			}
			ids[x.ID] = true
			if i%max(1, len(lines)/60) != 0 { // about 60 lines, spread over the file, are compared with their reads
				continue
			}
			for _, r := range careReaders {
				if household := typ == "Group" || typ == "RelatedPerson"; household && r != care.RoleVillageDoctor && r != care.RoleTownshipDoctor {
					// A reader who may see a member but not the whole
					// household (a county specialist) reads less of it.
					continue
				}
				var raw json.RawMessage
				if code, _, _ := readers[r].get("/fhir/"+typ+"/"+x.ID, nil, &raw); code != 200 {
					continue
				}
				var want bytes.Buffer
				json.Compact(&want, raw)
				if !bytes.Equal(l, want.Bytes()) {
					t.Errorf("%s/%s exported differs from the read (%s):\n%s\n%s", typ, x.ID, r, l, want.Bytes())
				}
				compared++
				break
			}
		}
		t.Logf("%s: %d exported, %d compared with their reads", typ, len(lines), compared)
		if compared == 0 {
			t.Errorf("%s: no exported line readable by %v", typ, careReaders)
		}
	}
	withSeries := 0
	for _, l := range got["ImagingStudy"] {
		if bytes.Contains(l, []byte(`"series":[`)) {
			withSeries++
		}
	}
	if withSeries == 0 { // the demo's studies have DICOM instances: the join must find them
		t.Error("no exported ImagingStudy has a series")
	}
	// The CapabilityStatement's $export names every type exported.
	var cs struct {
		Rest []struct {
			Operation []struct{ Name, Documentation string }
		}
	}
	e.anon().get("/fhir/metadata", nil, &cs)
	doc := ""
	for _, op := range cs.Rest[0].Operation {
		if op.Name == "export" {
			doc = op.Documentation
		}
	}
	for _, typ := range careTypes {
		if !strings.Contains(doc, " "+typ+",") {
			t.Errorf("the CapabilityStatement's $export does not name %s: %q", typ, doc)
		}
	}
	// A township's Group: only its residents' records.
	town := e.townships(t)[0]
	gm, _ := c.export(t, "/fhir/Group/township-"+strconv.FormatInt(town.ID, 10)+"/$export?_type=Patient,"+strings.Join(careTypes, ","))
	gl := c.lines(t, gm)
	pats := map[string]bool{}
	for _, l := range gl["Patient"] {
		var x struct{ ID string }
		json.Unmarshal(l, &x)
		pats["Patient/"+x.ID] = true
	}
	if len(pats) == 0 {
		t.Fatalf("township %d: no Patient exported", town.ID)
	}
	inGroup := 0
	for _, typ := range careTypes {
		if len(gl[typ]) >= len(got[typ]) && typ != "CareTeam" {
			t.Errorf("township %d: %d %s of the county's %d", town.ID, len(gl[typ]), typ, len(got[typ]))
		}
		for _, l := range gl[typ] {
			p := subjectRef(l)
			if p == "" {
				continue
			}
			if !pats[p] {
				t.Errorf("township %d's %s names %s, not one of its residents: %s", town.ID, typ, p, l)
			}
			inGroup++
		}
	}
	if inGroup == 0 {
		t.Errorf("township %d: no care record exported", town.ID)
	}
	// _since after everything: none of them.
	ms, _ := c.export(t, "/fhir/$export?_type="+strings.Join(careTypes, ",")+"&_since="+url.QueryEscape(time.Now().Add(time.Second).Format(time.RFC3339Nano)))
	for typ, ls := range c.lines(t, ms) {
		t.Errorf("_since after everything: %d %s, the first %s", len(ls), typ, ls[0])
	}
}

// subjectRef is the patient reference of an exported resource (its
// subject, patient or beneficiary; a Provenance's patient is its
// target's); "" for one that names none.
func subjectRef(l []byte) string {
	var x struct {
		Subject, Patient, Beneficiary *struct{ Reference string }
	}
	json.Unmarshal(l, &x)
	for _, r := range []*struct{ Reference string }{x.Subject, x.Patient, x.Beneficiary} {
		if r != nil && strings.HasPrefix(r.Reference, "Patient/") {
			return r.Reference
		}
	}
	return ""
}
