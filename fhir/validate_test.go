package fhir_test

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"countycare/bulkdata"
	"countycare/care"
	"countycare/fhir"
	"countycare/internal/testfiles"
)

// TestResourcesPassTwoValidators: every kind of resource the API emits —
// the CapabilityStatement, Patient, Organization, Condition, Observation,
// the searchset Bundles that carry them and the OperationOutcome of an
// error — sampled from the demo county, passes two independent validators
// from npm with zero errors (issue 12: "validated in make test by two
// independent validators"): the fhir package 4.12 and @medplum/core 5.2's
// validateResource (tools/fhir-validate; `make test` installs them with
// npm ci). A resource with an unknown element is refused by both, so the
// validators are known to be looking.
func TestResourcesPassTwoValidators(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatal("node not found: install Node.js 20 (the validators are npm packages)")
	}
	dir := filepath.Join(filepath.Dir(testfiles.Root(t)), "tools", "fhir-validate")
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "@medplum", "core")); err != nil {
		t.Fatalf("the FHIR validators are not installed: run `make fhir-validators` (npm ci --prefix tools/fhir-validate): %v", err)
	}
	e := newEnv(t)
	vd := e.as(care.RoleVillageDoctor)
	var lines [][]byte
	add := func(path string, c *client) json.RawMessage {
		t.Helper()
		var raw json.RawMessage
		code, _, body := c.get(path, nil, &raw)
		if code >= 500 {
			t.Fatalf("%s: %d %s", path, code, body)
		}
		var compact bytes.Buffer
		json.Compact(&compact, raw)
		lines = append(lines, compact.Bytes())
		return raw
	}
	add("/fhir/metadata", e.anon())
	var pats bundle
	json.Unmarshal(add("/fhir/Patient?_count=100", vd), &pats)
	withRecord := ""
	for _, p := range pats.patients(t) {
		add("/fhir/Patient/"+p.ID, vd)
		var conds bundle
		json.Unmarshal(add("/fhir/Condition?patient="+p.ID, vd), &conds)
		if len(conds.Entry) > 0 && withRecord == "" {
			withRecord = p.ID
			var c struct{ ID string }
			json.Unmarshal(conds.Entry[0].Resource, &c)
			add("/fhir/Condition/"+c.ID, vd)
		}
		if len(lines) > 60 {
			break
		}
	}
	if withRecord == "" {
		t.Fatal("no patient with a chronic registration among the sample")
	}
	add("/fhir/Observation?patient="+withRecord, vd)
	var visits bundle // follow-up visits as Encounters, with their measurements
	json.Unmarshal(add("/fhir/Encounter?patient="+withRecord+"&_revinclude=Observation:encounter&_count=5", vd), &visits)
	for _, en := range visits.Entry {
		if strings.Contains(en.FullURL, "/Encounter/visit-") {
			add(strings.TrimPrefix(en.FullURL, e.ts.URL), vd)
			break
		}
	}
	var orgs bundle
	json.Unmarshal(add("/fhir/Organization", e.as(care.RoleAnalyst)), &orgs)
	add("/fhir/Organization/"+strings.TrimPrefix(orgs.Entry[0].FullURL, e.ts.URL+"/fhir/Organization/"), vd)
	add("/fhir/Location?_count=5", vd)
	add("/fhir/CodeSystem", vd)
	add("/fhir/ValueSet", vd)
	add("/fhir/CodeSystem/poverty-category", vd)
	add("/fhir/ValueSet/payer-layer/$expand", vd)
	add("/fhir/Location/"+strings.TrimPrefix(pats.patients(t)[0].ManagingOrganization.Reference, "Organization/"), vd)
	var roles bundle
	json.Unmarshal(add("/fhir/PractitionerRole?_count=20", vd), &roles)
	var role fhir.PractitionerRole
	json.Unmarshal(roles.Entry[0].Resource, &role)
	add("/fhir/PractitionerRole/"+role.ID, vd)
	add("/fhir/"+role.Practitioner.Reference, vd)
	add("/fhir/Practitioner?_count=20", vd)
	add("/fhir/Practitioner?_count=5&_revinclude=PractitionerRole:practitioner", vd)
	add("/fhir/PractitionerRole?_count=5&_include=PractitionerRole:practitioner", vd)
	add("/fhir/Organization?_count=5&_revinclude=Location:organization", vd)
	add("/fhir/Location?_count=5&_include=Location:organization", vd)
	// Signed reports: a patient's with the subject included, an ECG's
	// (contained measurements) and the others read one by one, the count.
	rp, reps := reportPatient(t, vd, 2)
	add("/fhir/DiagnosticReport?patient="+rp+"&_include=DiagnosticReport:subject&_count=2", vd)
	add("/fhir/DiagnosticReport?patient="+rp+"&_summary=count", vd)
	add("/fhir/Provenance?patient="+rp+"&_include=Provenance:patient", vd)
	imagingSample(t, vd, add)
	for _, d := range reps {
		add("/fhir/DiagnosticReport/"+d.ID, vd)
	}
	// Lab results among the patient's Observations, the patient included.
	var rpt fhir.Patient
	vd.get("/fhir/Patient/"+rp, nil, &rpt)
	recordLabs(t, e, rpt)
	add("/fhir/Observation?patient="+rp+"&_include=Observation:patient", vd)
	var withLab bundle
	json.Unmarshal(add("/fhir/DiagnosticReport?patient="+rp+"&_count=100", vd), &withLab) // the lab report among them
	for _, en := range withLab.Entry {
		if strings.Contains(en.FullURL, "/DiagnosticReport/lab-") {
			add(strings.TrimPrefix(en.FullURL, e.ts.URL), vd)
		}
	}
	add("/fhir/Patient/"+rp+"/$everything", vd)
	// Consultations and referrals: requests and encounters, searched and read.
	for _, pid := range episodePatients(t, vd) {
		for _, typ := range []string{"ServiceRequest", "Encounter"} {
			var b bundle
			json.Unmarshal(add("/fhir/"+typ+"?patient="+pid+"&_include="+typ+":patient", vd), &b)
			for _, en := range b.Entry {
				if strings.Contains(en.FullURL, "/"+typ+"/") {
					add(strings.TrimPrefix(en.FullURL, e.ts.URL), vd)
				}
			}
		}
	}
	// Family doctor contracts: CarePlan, CareTeam and Consent, searched
	// (the patient included) and read; a consultation's Consent.
	cpid, cps := contractPatient(t, vd)
	for _, typ := range []string{"CarePlan", "CareTeam", "Consent"} {
		var b bundle
		json.Unmarshal(add("/fhir/"+typ+"?patient="+cpid+"&_include="+typ+":patient", vd), &b)
		add(strings.TrimPrefix(b.Entry[0].FullURL, e.ts.URL), vd)
	}
	add("/fhir/Consent/contract-"+cps[0].ID, vd)
	add("/fhir/Patient?_id="+cpid+"&_revinclude=CarePlan:patient&_revinclude=Condition:patient&_revinclude=Consent:patient", vd)
	add("/fhir/Consent?patient="+consultPatient(t, vd), vd)
	add("/fhir/ServiceRequest?patient="+consultPatient(t, vd)+"&_revinclude=Encounter:based-on", vd)
	// Households: the Group (members included), the members' RelatedPersons.
	hp, hg := householdOf(t, vd)
	add("/fhir/Group?member=Patient/"+hp+"&_include=Group:member", vd)
	add("/fhir/Group/"+hg.ID, vd)
	add("/fhir/RelatedPerson?patient="+hp+"&_include=RelatedPerson:patient", vd)
	add("/fhir/RelatedPerson/"+hp, vd)
	// An online visit's Encounter.
	v, vp := bookOnlineVisit(t, e, vd)
	add("/fhir/Encounter/online-"+strconv.FormatInt(v.ID, 10), vd)
	add("/fhir/Encounter?patient="+vp.ID, vd)
	// Prescriptions and dispensing: the first patient with both.
	for _, p := range pats.patients(t) {
		var rb, db bundle
		vd.get("/fhir/MedicationDispense?patient="+p.ID, nil, &db)
		if len(db.Entry) == 0 {
			continue
		}
		json.Unmarshal(add("/fhir/MedicationRequest?patient="+p.ID+"&_include=MedicationRequest:patient", vd), &rb)
		add("/fhir/MedicationRequest?patient="+p.ID+"&_revinclude=MedicationDispense:prescription", vd)
		add("/fhir/MedicationDispense?patient="+p.ID, vd)
		add(strings.TrimPrefix(rb.Entry[0].FullURL, e.ts.URL), vd)
		add(strings.TrimPrefix(db.Entry[0].FullURL, e.ts.URL), vd)
		add("/fhir/Provenance?target="+strings.TrimPrefix(rb.Entry[0].FullURL, e.ts.URL+"/fhir/"), vd)
		add("/fhir/Patient/"+p.ID+"/$everything", vd)
		break
	}
	// Settlements, as the insurance officer: the first settled patient's.
	ins := e.as(care.RoleInsuranceOfficer)
	for _, p := range pats.patients(t) {
		var b bundle
		json.Unmarshal(add("/fhir/ExplanationOfBenefit?patient="+p.ID+"&_include=ExplanationOfBenefit:patient", ins), &b)
		if len(b.Entry) > 0 {
			add(strings.TrimPrefix(b.Entry[0].FullURL, e.ts.URL), ins)
			add("/fhir/Claim?patient="+p.ID+"&_include=Claim:patient", ins)
			add(strings.Replace(strings.TrimPrefix(b.Entry[0].FullURL, e.ts.URL), "ExplanationOfBenefit", "Claim", 1), ins)
			var cb bundle
			json.Unmarshal(add("/fhir/Coverage?patient="+p.ID+"&_include=Coverage:patient", ins), &cb)
			add(strings.TrimPrefix(cb.Entry[0].FullURL, e.ts.URL), ins)
			break
		}
		lines = lines[:len(lines)-1] // an empty searchset is sampled enough
	}
	// The audit trail, as the auditor: a page of each action code, and a row read.
	aud := e.as(care.RoleAuditor)
	for _, code := range []string{"R", "E", "C"} {
		var ab bundle
		json.Unmarshal(add("/fhir/AuditEvent?_count=5&action="+code, aud), &ab)
		if code == "R" && len(ab.Entry) > 0 {
			add(strings.TrimPrefix(ab.Entry[0].FullURL, e.ts.URL), aud)
		}
	}
	// The write path: the Synthea bundles' transaction-responses (with the
	// outcomes of what was not held), then each resource created, its
	// history and its current version; a create answered with an
	// OperationOutcome; an earlier version (410).
	wr := e.writer(care.RoleVillageDoctor)
	keep := func(body string) {
		var compact bytes.Buffer
		if err := json.Compact(&compact, []byte(body)); err != nil {
			t.Fatalf("not JSON: %.300s", body)
		}
		lines = append(lines, compact.Bytes())
	}
	conds := 0
	for _, b := range synthea(t) {
		code, _, body := wr.send("POST", "/fhir", nil, b, nil)
		if code != 200 {
			t.Fatalf("transaction: %d %.300s", code, body)
		}
		keep(body)
		var tr txResponse
		json.Unmarshal([]byte(body), &tr)
		sampled := map[string]bool{}
		for _, x := range tr.Entry {
			loc := strings.TrimPrefix(x.Response.Location, e.ts.URL)
			typ := strings.Split(strings.TrimPrefix(loc, "/fhir/"), "/")[0]
			if loc == "" || sampled[typ] {
				continue
			}
			sampled[typ] = true
			add(loc, wr.client)
			add(loc[:strings.LastIndex(loc, "/")], wr.client) // the history
			if typ == "Condition" {
				conds++
				add(strings.TrimSuffix(loc, "/_history/1")+"/_history/1", wr.client)
			}
		}
	}
	if conds == 0 {
		t.Fatal("no Condition among the imported")
	}
	_, _, body := wr.send("POST", "/fhir/Patient", map[string]string{"Prefer": "return=OperationOutcome"}, foreignPatient, nil)
	keep(body)
	// An up-referral sent as a ServiceRequest, and a refused one.
	var hosp bundle
	vd.get("/fhir/Organization?type=county_hospital", nil, &hosp)
	hospital := strings.TrimPrefix(hosp.Entry[0].FullURL, e.ts.URL+"/fhir/Organization/")
	if code, _, body := wr.send("POST", "/fhir/ServiceRequest", nil, referralBody(withRecord, hospital, "htn_not_at_target", ""), nil); code != 201 {
		t.Fatalf("ServiceRequest create: %d %.300s", code, body)
	} else {
		keep(body)
	}
	_, _, body = wr.send("POST", "/fhir/ServiceRequest", nil, referralBody(withRecord, hospital, "feeling_unwell", ""), nil)
	keep(body)
	// A consultation request as a client writes it (the consent contained),
	// the ServiceRequest created, and a refused one.
	keep(consultBody(withRecord, consultHub(t, vd), ""))
	if code, _, body := wr.send("POST", "/fhir/ServiceRequest", nil, consultBody(withRecord, consultHub(t, vd), ""), nil); code != 201 {
		t.Fatalf("consultation ServiceRequest create: %d %.300s", code, body)
	} else {
		keep(body)
	}
	_, _, body = wr.send("POST", "/fhir/ServiceRequest", nil, consultBody(withRecord, hospital, `,"priority":"asap"`), nil)
	keep(body)
	// Bulk export (bulk_test.go): the first lines of each NDJSON file type,
	// as a county-wide system client exports them; its Group search too.
	sys := e.register(t, "validator", "ES384", 0, "system/*.read system/AuditEvent.read").signIn(t, "system/*.read system/AuditEvent.read")
	m, _ := sys.export(t, "/fhir/$export")
	exported := sys.lines(t, m)
	m, _ = sys.export(t, "/fhir/$export?_type=AuditEvent") // named, never by default
	exported["AuditEvent"] = sys.lines(t, m)["AuditEvent"]
	for _, typ := range bulkdata.Types {
		ls := exported[typ]
		if len(ls) == 0 {
			t.Errorf("no %s exported", typ)
		}
		lines = append(lines, ls[:min(len(ls), 5)]...)
		mdt := 0 // and multidisciplinary consultations (a contained CareTeam), wherever they are in the file
		for _, l := range ls[min(len(ls), 5):] {
			if mdt < 2 && bytes.Contains(l, []byte(`"contained":[{"resourceType":"CareTeam"`)) {
				lines = append(lines, l)
				mdt++
			}
		}
		if typ == "ServiceRequest" && mdt == 0 {
			t.Error("no multidisciplinary ServiceRequest exported to validate")
		}
	}
	_, groups := sys.do(t, "GET", "/fhir/Group", nil)
	lines = append(lines, bytes.TrimSpace(groups))
	add("/fhir/Patient?_count=0", vd) // OperationOutcome (invalid)
	add("/fhir/Patient/99999999", vd) // OperationOutcome (not found)
	add("/fhir/Patient/1", e.anon())  // OperationOutcome (login)
	run := func(lines [][]byte) (string, error) {
		f := filepath.Join(t.TempDir(), "resources.ndjson")
		os.WriteFile(f, append(bytes.Join(lines, []byte("\n")), '\n'), 0o600)
		out, err := exec.Command(node, filepath.Join(dir, "validate.js"), f).CombinedOutput()
		return string(out), err
	}
	out, err := run(lines)
	if err != nil {
		t.Fatalf("%d resources, validator errors (%v):\n%s", len(lines), err, out)
	}
	t.Logf("%s", strings.TrimSpace(out))
	// The validators are looking: an unknown element fails both.
	bad := bytes.Replace(lines[1], []byte(`"resourceType":"Bundle"`), []byte(`"resourceType":"Bundle","bogusElement":1`), 1)
	out, err = run([][]byte{bad})
	if err == nil || !strings.Contains(out, "fhir: ") || !strings.Contains(out, "medplum: ") {
		t.Errorf("a Bundle with an unknown element passed (%v):\n%s", err, out)
	}
}

// imagingSample adds the first patient's ImagingStudy search that holds a
// study with series, and that study's read.
func imagingSample(t *testing.T, vd *client, add func(string, *client) json.RawMessage) {
	t.Helper()
	var mine bundle
	vd.get("/fhir/Patient?_count=100", nil, &mine)
	for _, p := range mine.patients(t) {
		var b bundle
		vd.get("/fhir/ImagingStudy?patient="+p.ID, nil, &b)
		for _, en := range b.Entry {
			var x fhir.ImagingStudy
			json.Unmarshal(en.Resource, &x)
			if len(x.Series) > 0 {
				add("/fhir/ImagingStudy?patient="+p.ID+"&_include=ImagingStudy:patient", vd)
				add("/fhir/ImagingStudy/"+x.ID, vd)
				return
			}
		}
	}
	t.Fatal("no imaging study with series in the sample")
}
