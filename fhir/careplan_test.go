package fhir_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"countycare/audit"
	"countycare/care"
	"countycare/family"
	"countycare/fhir"
)

// contractPatient returns a patient of the village doctor's scope with a
// family doctor contract, and its CarePlans.
func contractPatient(t *testing.T, vd *client) (string, []fhir.CarePlan) {
	t.Helper()
	var mine bundle
	vd.get("/fhir/Patient?_count=100", nil, &mine)
	for _, p := range mine.patients(t) {
		var b bundle
		if code, _, body := vd.get("/fhir/CarePlan?patient="+p.ID, nil, &b); code != 200 {
			t.Fatalf("CarePlan search: %d %s", code, body)
		}
		var cps []fhir.CarePlan
		for _, en := range b.Entry {
			var cp fhir.CarePlan
			json.Unmarshal(en.Resource, &cp)
			cps = append(cps, cp)
		}
		if len(cps) > 0 {
			return p.ID, cps
		}
	}
	t.Fatal("no patient of the village with a family doctor contract")
	return "", nil
}

// TestFamilyContract: a family doctor contract is a CarePlan (the
// package's services per year, the period, the team), its team a
// CareTeam (members with roles and institutions) and its consent a
// Consent "contract-<id>" (docs/fhir.md "CarePlan, CareTeam and Consent");
// a consultation's consent is a Consent "consult-<id>" for its parties.
// Village and township doctors read them within their scope (the family
// page's roles; family.read audit rows); others are refused, and a
// resident out of scope is 404.
func TestFamilyContract(t *testing.T) { testFamilyContract(t, newEnv(t)) }

func testFamilyContract(t *testing.T, e *env) {
	vd := e.as(care.RoleVillageDoctor)
	pid, cps := contractPatient(t, vd)
	cp := cps[0]
	if cp.Intent != "plan" || cp.Subject.Reference != "Patient/"+pid || cp.Period == nil || cp.Period.Start == "" || cp.Period.End == "" ||
		len(cp.CareTeam) != 1 || !strings.HasPrefix(cp.CareTeam[0].Reference, "CareTeam/") || len(cp.Activity) == 0 || cp.Title == "" ||
		cp.Created == "" || cp.Status != "active" && cp.Status != "completed" && cp.Status != "revoked" {
		t.Fatalf("care plan %+v", cp)
	}
	for _, a := range cp.Activity {
		if a.Detail.Code == nil || a.Detail.Code.Coding[0].System != fhir.SystemFamilyService || a.Detail.Code.Text == "" ||
			strings.Contains(a.Detail.Code.Text, "family.kind") || a.Detail.ScheduledTiming == nil || a.Detail.ScheduledTiming.Repeat.Frequency < 1 ||
			a.Detail.ScheduledTiming.Repeat.PeriodUnit != "a" {
			t.Errorf("activity %+v", a.Detail)
		}
	}
	var one fhir.CarePlan
	if code, _, body := vd.get("/fhir/CarePlan/"+cp.ID, nil, &one); code != 200 || one.ID != cp.ID || one.Status != cp.Status {
		t.Errorf("CarePlan read: %d %.300s", code, body)
	}
	var team fhir.CareTeam
	if code, _, body := vd.get("/fhir/"+cp.CareTeam[0].Reference, nil, &team); code != 200 || team.Status != "active" || team.Name == "" ||
		len(team.Participant) < 2 || len(team.ManagingOrganization) != 1 {
		t.Fatalf("CareTeam read: %d %.300s", code, body)
	}
	for _, p := range team.Participant {
		if p.Member == nil || !strings.HasPrefix(p.Member.Reference, "Practitioner/") || p.Member.Display == "" || len(p.Role) != 1 ||
			p.Role[0].Coding[0].System != fhir.SystemTeamRole || strings.HasPrefix(p.Role[0].Text, "family.") {
			t.Errorf("participant %+v", p)
		}
	}
	var teams bundle
	vd.get("/fhir/CareTeam?patient="+pid, nil, &teams)
	if len(teams.Entry) == 0 || !strings.HasSuffix(teams.Entry[0].FullURL, "/"+cp.CareTeam[0].Reference) {
		t.Errorf("CareTeam?patient: %+v", teams)
	}
	// The consent of the contract.
	var cons bundle
	vd.get("/fhir/Consent?patient="+pid+"&_include=Consent:patient", nil, &cons)
	var consent fhir.Consent
	for _, en := range cons.Entry {
		if strings.HasSuffix(en.FullURL, "/Consent/contract-"+cp.ID) {
			json.Unmarshal(en.Resource, &consent)
		}
	}
	if consent.Patient.Reference != "Patient/"+pid || consent.Scope.Coding[0].Code != "treatment" || len(consent.Category) != 2 ||
		consent.Category[1].Coding[0].System != fhir.SystemConsentMethod || strings.HasPrefix(consent.Category[1].Text, "family.") ||
		consent.DateTime == "" || len(consent.Performer) != 1 || consent.Provision == nil || consent.Provision.Data[0].Reference.Reference != "CarePlan/"+cp.ID {
		t.Errorf("contract consent %+v", consent)
	}
	if last := cons.Entry[len(cons.Entry)-1]; !strings.Contains(last.FullURL, "/Patient/"+pid) {
		t.Errorf("Consent?_include=Consent:patient: last entry %s", last.FullURL)
	}
	// _summary=count, status filter, bad status.
	var count bundle
	vd.get("/fhir/CarePlan?patient="+pid+"&_summary=count", nil, &count)
	if count.Total == nil || *count.Total != len(cps) || len(count.Entry) != 0 {
		t.Errorf("_summary=count: %+v, want %d", count, len(cps))
	}
	var o outcome
	code, h, _ := vd.get("/fhir/CarePlan?patient="+pid+"&status=draft", nil, &o)
	checkOutcome(t, "status=draft", code, 400, h.Get("Content-Type"), o, "invalid", "status")
	// In $everything.
	var all bundle
	vd.get("/fhir/Patient/"+pid+"/$everything", nil, &all)
	has := map[string]bool{}
	for _, en := range all.Entry {
		has[strings.Split(strings.TrimPrefix(en.FullURL, e.ts.URL+"/fhir/"), "/")[0]] = true
	}
	if !has["CarePlan"] || !has["CareTeam"] || !has["Consent"] {
		t.Errorf("$everything holds %v, want CarePlan, CareTeam, Consent", has)
	}
	// Out of scope, unknown, other roles.
	var pt fhir.Patient
	vd.get("/fhir/Patient/"+pid, nil, &pt)
	other := otherVillagePatient(t, e, pt.ManagingOrganization.Reference)
	for _, p := range []string{"/fhir/CarePlan?patient=" + other, "/fhir/CarePlan/99999999", "/fhir/Consent/contract-x", "/fhir/CareTeam/99999999"} {
		o = outcome{}
		code, h, _ = vd.get(p, nil, &o)
		checkOutcome(t, p, code, 404, h.Get("Content-Type"), o, "not-found", "")
	}
	o = outcome{}
	code, h, _ = e.as(care.RoleInsuranceOfficer).get("/fhir/CarePlan?patient="+pid, nil, &o)
	checkOutcome(t, "insurance officer", code, 403, h.Get("Content-Type"), o, "forbidden", "")
	time.Sleep(50 * time.Millisecond)
	if evs, _ := e.st.SearchAudit(context.Background(), audit.Filter{Action: family.ActRead, Username: e.users[care.RoleVillageDoctor], Limit: 10}); len(evs) < 3 {
		t.Errorf("%d family.read audit rows for the searches and reads", len(evs))
	}
	// A consultation's consent, for its parties.
	cpid := consultPatient(t, vd)
	cons = bundle{}
	vd.get("/fhir/Consent?patient="+cpid, nil, &cons)
	found := false
	for _, en := range cons.Entry {
		if !strings.Contains(en.FullURL, "/Consent/consult-") {
			continue
		}
		found = true
		var c fhir.Consent
		json.Unmarshal(en.Resource, &c)
		if c.Provision == nil || !strings.HasPrefix(c.Provision.Data[0].Reference.Reference, "ServiceRequest/consult-") || c.DateTime == "" || len(c.Performer) != 1 {
			t.Errorf("consultation consent %+v", c)
		}
		var one fhir.Consent
		if code, _, body := vd.get(strings.TrimPrefix(en.FullURL, e.ts.URL), nil, &one); code != 200 || one.ID != c.ID {
			t.Errorf("Consent read: %d %.200s", code, body)
		}
	}
	if !found {
		t.Errorf("no consultation consent among %d Consents of patient %s", len(cons.Entry), cpid)
	}
}

// consultPatient is a patient of the village doctor's scope with a
// consultation the doctor is a party to.
func consultPatient(t *testing.T, vd *client) string {
	t.Helper()
	var mine bundle
	vd.get("/fhir/Patient?_count=100", nil, &mine)
	for _, p := range mine.patients(t) {
		srs, _ := episodesOf(t, vd, p.ID)
		for _, sr := range srs {
			if strings.HasPrefix(sr.ID, "consult-") {
				return p.ID
			}
		}
	}
	t.Fatal("no patient in scope with a consultation")
	return ""
}
