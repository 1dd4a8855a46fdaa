package fhir_test

import (
	"bytes"
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"testing"

	"countycare/audit"
	"countycare/care"
	"countycare/consult"
	"countycare/fhir"
	"countycare/store"
)

// mdtBody is a multidisciplinary consultation request: consultBody with
// kind mdt and, as performer, a contained CareTeam managed by the hub
// whose participants are the departments (members).
func mdtBody(patient, hub string, members ...string) string {
	team := `{"resourceType":"CareTeam","id":"mdt","managingOrganization":[{"reference":"Organization/` + hub + `"}],"participant":[` + strings.Join(members, ",") + `]}`
	b := strings.Replace(consultBody(patient, hub, ""), `"one_to_one"`, `"mdt"`, 1)
	b = strings.Replace(b, `"performer":[{"reference":"Organization/`+hub+`"}]`, `"performer":[{"reference":"#mdt"}]`, 1)
	return strings.Replace(b, `"contained":[`, `"contained":[`+team+`,`, 1)
}

func deptMember(id int64) string {
	return `{"member":{"identifier":{"system":"` + fhir.SystemDepartment + `","value":"` + strconv.FormatInt(id, 10) + `"}}}`
}

// TestConsultationMDT: POST /fhir/ServiceRequest of kind mdt requests a
// multidisciplinary consultation through the consultation page's write
// path (consult.Service.Request): 201 with the request as held — one
// performer, the contained CareTeam managed by the hub with the leading
// department first and the invited one, each named — the same as its
// read; the case holds the departments; a consult.request audit row. A
// department the hub may not invite, a participant without a department
// and a team without a manager are 422 naming the element, and nothing
// is written. On SQLite and PostgreSQL.
func TestConsultationMDT(t *testing.T) {
	for _, d := range []store.Dialect{store.SQLite, store.Postgres} {
		t.Run(string(d), func(t *testing.T) { testConsultationMDT(t, newEnvOn(t, d)) })
	}
}

func testConsultationMDT(t *testing.T, e *env) {
	ctx := context.Background()
	vd := e.writer(care.RoleVillageDoctor)
	var mine bundle
	vd.get("/fhir/Patient?_count=1", nil, &mine)
	patient := mine.patients(t)[0].ID
	hub := consultHub(t, vd.client)
	hubID, _ := strconv.ParseInt(hub, 10, 64)
	depts, err := e.st.Departments(ctx, hubID)
	if err != nil {
		t.Fatal(err)
	}
	var invited, lead int64
	var invitedName string
	for _, d := range depts {
		switch {
		case d.Specialty == "cardiology" && lead == 0:
			lead = d.ID
		case d.Specialty != "cardiology" && invited == 0:
			invited, invitedName = d.ID, d.Name
		}
	}
	if invited == 0 || lead == 0 {
		t.Fatalf("hub %s: no cardiology and other department: %+v", hub, depts)
	}
	before := e.count("SELECT COUNT(*) FROM consultations")
	var sr fhir.ServiceRequest
	code, _, body := vd.send("POST", "/fhir/ServiceRequest", nil, mdtBody(patient, hub, deptMember(invited)), &sr)
	if code != 201 || sr.Code == nil || sr.Code.Coding[0].Code != "mdt" || len(sr.Performer) != 1 || sr.Performer[0].Reference != "#mdt" ||
		len(sr.Contained) != 1 || srHub(sr) != "Organization/"+hub || sr.Contained[0].Status != "proposed" {
		t.Fatalf("create: %d %.800s", code, body)
	}
	ps := sr.Contained[0].Participant
	if len(ps) != 2 || ps[0].Member.Identifier.Value != strconv.FormatInt(lead, 10) || ps[1].Member.Identifier.Value != strconv.FormatInt(invited, 10) ||
		ps[1].Member.Display != invitedName || ps[1].OnBehalfOf == nil || ps[1].OnBehalfOf.Reference != "Organization/"+hub {
		t.Errorf("the team: %+v (want the cardiology lead %d, then %d %s)", ps, lead, invited, invitedName)
	}
	id, _ := strconv.ParseInt(strings.TrimPrefix(sr.ID, "consult-"), 10, 64)
	c, _, _, err := e.st.Consultation(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if c.Kind != consult.MDT || len(c.Departments) != 2 || c.Departments[1] != invited || c.ToInstitution != hubID {
		t.Errorf("the case: kind %s, departments %v, hub %d", c.Kind, c.Departments, c.ToInstitution)
	}
	var raw json.RawMessage
	if code, _, _ := vd.get("/fhir/ServiceRequest/"+sr.ID, nil, &raw); code != 200 {
		t.Fatalf("read back: %d", code)
	}
	created, _ := json.Marshal(sr)
	var a, b bytes.Buffer
	json.Compact(&a, raw)
	json.Compact(&b, created)
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Errorf("the read differs from the create's answer:\n%s\n%s", a.Bytes(), b.Bytes())
	}
	e.audit.Flush(ctx)
	if evs, _ := e.st.SearchAudit(ctx, audit.Filter{Action: consult.ActRequest, Username: e.users[care.RoleVillageDoctor], Limit: 10}); len(evs) != 1 {
		t.Errorf("%d consult.request audit rows, want 1", len(evs))
	}
	// Faults: 422 naming the element, nothing written.
	for _, x := range []struct{ name, body, expr string }{
		{"a department the hub may not invite (none such)", mdtBody(patient, hub, deptMember(99999999)), "ServiceRequest.performer"},
		{"a participant without a department", mdtBody(patient, hub, `{"member":{"display":"心内科"}}`), "ServiceRequest.contained.CareTeam.participant[0].member"},
		{"no participant", mdtBody(patient, hub), "ServiceRequest.contained.CareTeam.participant"},
		{"a team without its hub", strings.Replace(mdtBody(patient, hub, deptMember(invited)), `"managingOrganization":[{"reference":"Organization/`+hub+`"}],`, ``, 1),
			"ServiceRequest.contained.CareTeam.managingOrganization"},
		{"a performer not the team", strings.Replace(mdtBody(patient, hub, deptMember(invited)), `"#mdt"`, `"#other"`, 1), "ServiceRequest.performer"},
	} {
		var o outcome
		code, h, _ := vd.send("POST", "/fhir/ServiceRequest", nil, x.body, &o)
		checkOutcome(t, x.name, code, 422, h.Get("Content-Type"), o, "invalid", x.expr)
	}
	if n := e.count("SELECT COUNT(*) FROM consultations"); n != before+1 {
		t.Errorf("%d consultations after the refused requests, want %d", n, before+1)
	}
}
