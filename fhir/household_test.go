package fhir_test

import (
	"encoding/json"
	"net/url"
	"slices"
	"strings"
	"testing"

	"countycare/audit"
	"countycare/care"
	"countycare/fhir"

	"github.com/go-jose/go-jose/v4"
)

// household is a household Group as the tests read it.
type household struct {
	fhir.HouseholdGroup
}

// householdOf finds, among the village doctor's patients, one in a
// household of at least two members, and returns the patient and the
// household (Group?member=).
func householdOf(t *testing.T, vd *client) (string, household) {
	t.Helper()
	var pats bundle
	vd.get("/fhir/Patient?_count=100", nil, &pats)
	for _, p := range pats.patients(t) {
		var b bundle
		if code, _, body := vd.get("/fhir/Group?member=Patient/"+p.ID, nil, &b); code != 200 {
			t.Fatalf("Group?member: %d %s", code, body)
		}
		if len(b.Entry) != 1 {
			continue
		}
		var g household
		json.Unmarshal(b.Entry[0].Resource, &g)
		if g.Quantity >= 2 {
			return p.ID, g
		}
	}
	t.Fatal("no household of two or more among the village doctor's patients")
	return "", household{}
}

func TestHouseholds(t *testing.T) { testHouseholds(t, newEnv(t)) }

// testHouseholds: a household is a Group (person, actual, its number as an
// identifier of its own system, members referencing their Patients, the
// head marked) found by member, identifier and _id and read by its
// "household-" id; each member's relation to the head is a RelatedPerson
// (patient = the member, the register's relation code); both are in the
// member's $everything and Patient?_revinclude; every read is a
// household.read audit row; a village doctor sees no household of
// another village; a system client gets 403 (no scope) or nothing.
func testHouseholds(t *testing.T, e *env) {
	vd := e.as(care.RoleVillageDoctor)
	pid, g := householdOf(t, vd)
	if g.ResourceType != "Group" || !strings.HasPrefix(g.ID, "household-") || g.Type != "person" || !g.Actual || len(g.Identifier) != 1 ||
		g.Identifier[0].System != fhir.SystemHouseholdNumber || g.Identifier[0].Value == "" || len(g.Member) != g.Quantity {
		t.Fatalf("household Group: %+v", g.HouseholdGroup)
	}
	heads := 0
	var memberIDs []string
	for _, m := range g.Member {
		if !strings.HasPrefix(m.Entity.Reference, "Patient/") || m.Period == nil || len(m.Period.Start) != 10 {
			t.Errorf("member %+v: want a Patient reference and the day registered", m)
		}
		memberIDs = append(memberIDs, strings.TrimPrefix(m.Entity.Reference, "Patient/"))
		for _, x := range m.Extension {
			if x.URL == fhir.ExtHouseholdHead && x.ValueBoolean != nil && *x.ValueBoolean {
				heads++
			}
		}
	}
	if heads != 1 || !slices.Contains(memberIDs, pid) {
		t.Errorf("household %s: %d heads marked, members %v (want 1 head and %s)", g.ID, heads, memberIDs, pid)
	}
	// Read by id, by identifier (with and without its system), by _id.
	var read household
	if code, _, body := vd.get("/fhir/Group/"+g.ID, nil, &read); code != 200 || read.ID != g.ID || read.Quantity != g.Quantity {
		t.Fatalf("Group/%s: %d %s", g.ID, code, body)
	}
	number := g.Identifier[0].Value
	for _, q := range []string{"identifier=" + url.QueryEscape(fhir.SystemHouseholdNumber+"|"+number), "identifier=" + number, "_id=" + g.ID} {
		var b bundle
		vd.get("/fhir/Group?"+q+"&_include=Group:member", nil, &b)
		if b.Total == nil || *b.Total != 1 || len(b.Entry) != 1+g.Quantity || !strings.HasSuffix(b.Entry[0].FullURL, "/Group/"+g.ID) {
			t.Errorf("Group?%s&_include=Group:member: total %v, %d entries, want the household and its %d Patients", q, b.Total, len(b.Entry), g.Quantity)
			continue
		}
		for _, en := range b.Entry[1:] {
			if !strings.Contains(en.FullURL, "/Patient/") {
				t.Errorf("Group?%s: included %s", q, en.FullURL)
			}
		}
	}
	// RelatedPerson: one per member, the patient the member.
	var rps bundle
	if code, _, body := vd.get("/fhir/RelatedPerson?patient=Patient/"+pid+"&_include=RelatedPerson:patient", nil, &rps); code != 200 || len(rps.Entry) != 2 {
		t.Fatalf("RelatedPerson?patient: %d %s", code, body)
	}
	var rp fhir.RelatedPerson
	json.Unmarshal(rps.Entry[0].Resource, &rp)
	if rp.ResourceType != "RelatedPerson" || rp.ID != pid || rp.Patient.Reference != "Patient/"+pid || len(rp.Relationship) != 1 ||
		rp.Relationship[0].Coding[0].System != fhir.SystemHouseholdRelation || rp.Relationship[0].Coding[0].Display == "" || len(rp.Name) != 1 {
		t.Errorf("RelatedPerson of %s: %+v", pid, rp)
	}
	var again fhir.RelatedPerson
	if code, _, body := vd.get("/fhir/RelatedPerson/"+pid, nil, &again); code != 200 || again.ID != pid {
		t.Errorf("RelatedPerson/%s: %d %s", pid, code, body)
	}
	// $everything and Patient?_revinclude carry both.
	ids, _ := everythingIDs(t, vd, "/fhir/Patient/"+pid+"/$everything")
	if !slices.Contains(ids, "Group/"+g.ID) || !slices.Contains(ids, "RelatedPerson/"+pid) {
		t.Errorf("$everything of %s: %v, want the household and the relation", pid, ids)
	}
	var rev bundle
	vd.get("/fhir/Patient?_id="+pid+"&_revinclude=Group:member&_revinclude=RelatedPerson:patient", nil, &rev)
	if len(rev.Entry) != 3 {
		t.Errorf("Patient?_revinclude=Group:member,RelatedPerson:patient: %d entries, want the patient, the household, the relation", len(rev.Entry))
	}
	if rows := e.auditRows(t, audit.ActHouseholdRead, e.users[care.RoleVillageDoctor]); len(rows) < 8 ||
		!slices.ContainsFunc(rows, func(ev audit.Event) bool { return strings.Contains(ev.Detail, "household "+number) }) {
		t.Errorf("household.read rows: %d", len(rows))
	}
	// Bad searches are OperationOutcomes.
	for _, c := range []struct{ q, expr string }{
		{"", "identifier"}, {"identifier=http://other.example/sid|1", "identifier"}, {"member=abc", "member"},
		{"member=Patient/1&identifier=1", "member"}, {"_id=" + g.ID + "&_include=Group:managing-entity", "_include"},
	} {
		var o outcome
		code, h, _ := vd.get("/fhir/Group?"+c.q, nil, &o)
		checkOutcome(t, "Group?"+c.q, code, 400, h.Get("Content-Type"), o, "invalid", c.expr)
	}
	// Another village's household: not found, and not listed.
	village := ""
	var pt fhir.Patient
	vd.get("/fhir/Patient/"+pid, nil, &pt)
	village = pt.ManagingOrganization.Reference
	other := otherVillagePatient(t, e, village)
	var theirs bundle
	e.as(care.RoleInsuranceOfficer).get("/fhir/Group?member=Patient/"+other, nil, &theirs)
	if len(theirs.Entry) != 1 {
		t.Fatalf("the insurance office (county-wide) finds no household of %s", other)
	}
	var tg household
	json.Unmarshal(theirs.Entry[0].Resource, &tg)
	var o outcome
	if code, _, _ := vd.get("/fhir/Group/"+tg.ID, nil, &o); code != 404 {
		t.Errorf("another village's household %s: %d, want 404", tg.ID, code)
	}
	var none bundle
	vd.get("/fhir/Group?identifier="+tg.Identifier[0].Value, nil, &none)
	vd.get("/fhir/Group?member=Patient/"+other, nil, &none)
	if len(none.Entry) != 0 {
		t.Errorf("another village's household listed: %d entries", len(none.Entry))
	}
	if code, _, _ := vd.get("/fhir/RelatedPerson/"+other, nil, &o); code != 404 {
		t.Errorf("another village's RelatedPerson: %d, want 404", code)
	}
	if rows := e.auditRows(t, audit.ActHouseholdRead, e.users[care.RoleVillageDoctor]); !slices.ContainsFunc(rows, func(ev audit.Event) bool { return ev.Outcome == audit.OutcomeDenied }) {
		t.Error("the refused household read left no denied row")
	}
	// System clients: 403 without a Group scope (and on RelatedPerson,
	// which no system scope reaches); with one, households are not theirs.
	sc := e.register(t, "hh-"+string(e.st.Dialect()), jose.ES384, 0, "system/Patient.read system/Group.read")
	narrow := sc.signIn(t, "system/Patient.read")
	for _, p := range []string{"/fhir/Group/" + g.ID, "/fhir/Group?identifier=" + number, "/fhir/RelatedPerson/" + pid} {
		if resp, body := narrow.do(t, "GET", p, nil); resp.StatusCode != 403 {
			t.Errorf("system client without a Group scope, %s: %d %s", p, resp.StatusCode, body)
		}
	}
	wide := sc.signIn(t, "system/Group.read")
	if resp, body := wide.do(t, "GET", "/fhir/Group/"+g.ID, nil); resp.StatusCode != 404 {
		t.Errorf("system client reading a household: %d %s", resp.StatusCode, body)
	}
}
