package fhir_test

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	"countycare/audit"
	"countycare/care"
	"countycare/consult"
	"countycare/fhir"
	"countycare/online"
	"countycare/referral"
)

// episodesOf returns the ServiceRequests and Encounters of a patient search.
func episodesOf(t *testing.T, c *client, patient string) ([]fhir.ServiceRequest, []fhir.Encounter) {
	t.Helper()
	var srb, enb bundle
	if code, _, body := c.get("/fhir/ServiceRequest?patient="+patient+"&_count=100", nil, &srb); code != 200 {
		t.Fatalf("ServiceRequest: %d %s", code, body)
	}
	if code, _, body := c.get("/fhir/Encounter?patient="+patient+"&_count=100", nil, &enb); code != 200 {
		t.Fatalf("Encounter: %d %s", code, body)
	}
	var srs []fhir.ServiceRequest
	for _, e := range srb.Entry {
		var sr fhir.ServiceRequest
		json.Unmarshal(e.Resource, &sr)
		srs = append(srs, sr)
	}
	var ens []fhir.Encounter
	for _, e := range enb.Entry {
		var en fhir.Encounter
		json.Unmarshal(e.Resource, &en)
		ens = append(ens, en)
	}
	return srs, ens
}

// episodePatients finds a patient in c's scope with a consultation and
// one with an up-referral the patient arrived on (maybe the same).
func episodePatients(t *testing.T, c *client) []string {
	t.Helper()
	var mine bundle
	c.get("/fhir/Patient?_count=100", nil, &mine)
	var consult, stay string
	for _, p := range mine.patients(t) {
		_, ens := episodesOf(t, c, p.ID)
		for _, e := range ens {
			if strings.HasPrefix(e.ID, "consult-") && consult == "" {
				consult = p.ID
			}
			if strings.HasPrefix(e.ID, "referral-") && stay == "" {
				stay = p.ID
			}
		}
		if consult != "" && stay != "" {
			return []string{consult, stay}
		}
	}
	t.Fatal("no patients in scope with a consultation and a referral stay")
	return nil
}

// TestServiceRequestAndEncounter: consultations and referrals are
// ServiceRequests (docs/fhir.md "ServiceRequest"): intent order, category
// SNOMED CT Consultation or Patient referral, the asking and the receiving
// institutions; a consultation is also a virtual Encounter (class VR), the
// stay an up-referral led to an ambulatory (AMB) or inpatient (IMP)
// Encounter based on its request, with the receiving institution as
// service provider. Read and search (patient, _id, date, status, _count
// with next links, _summary=count, _include) are limited to the parties,
// as the consultation and referral pages, and audited.
func TestServiceRequestAndEncounter(t *testing.T) { testServiceRequestAndEncounter(t, newEnv(t)) }

func testServiceRequestAndEncounter(t *testing.T, e *env) {
	td := e.as(care.RoleVillageDoctor)
	for _, patient := range episodePatients(t, td) {
		checkEpisodes(t, e, td, patient)
	}
	// Audited: the reads as the consultation and referral pages.
	time.Sleep(50 * time.Millisecond)
	for _, act := range []string{consult.ActRead, referral.AuditRead} {
		if evs, _ := e.st.SearchAudit(context.Background(), audit.Filter{Action: act, Username: e.users[care.RoleVillageDoctor], Limit: 10}); len(evs) == 0 {
			t.Errorf("no %s audit row for the FHIR reads", act)
		}
	}
}

// checkEpisodes checks a patient's ServiceRequests and Encounters as c sees them.
func checkEpisodes(t *testing.T, e *env, td *client, patient string) {
	t.Helper()
	srs, ens := episodesOf(t, td, patient)
	byID := map[string]fhir.ServiceRequest{}
	for _, sr := range srs {
		byID[sr.ID] = sr
		cat := map[string]string{"consult-": "11429006", "referral-": "3457005"}[sr.ID[:strings.Index(sr.ID, "-")+1]]
		if sr.Intent != "order" || sr.Subject.Reference != "Patient/"+patient || cat == "" || sr.Category[0].Coding[0].Code != cat ||
			sr.Category[0].Coding[0].System != fhir.SystemSNOMED || sr.Requester == nil || len(sr.Performer) != 1 || sr.AuthoredOn == "" ||
			sr.Code == nil || sr.Code.Text == "" || (sr.Status != "active" && sr.Status != "completed" && sr.Status != "revoked") {
			t.Errorf("service request %+v", sr)
		}
		var one fhir.ServiceRequest
		if code, _, body := td.get("/fhir/ServiceRequest/"+sr.ID, nil, &one); code != 200 || one.ID != sr.ID || one.Status != sr.Status {
			t.Errorf("read %s: %d %.300s", sr.ID, code, body)
		}
	}
	for _, en := range ens {
		if strings.HasPrefix(en.ID, "visit-") { // a follow-up visit: no request (revinclude_test.go)
			if en.Status != "finished" || en.Subject.Reference != "Patient/"+patient || len(en.Type) != 1 || len(en.BasedOn) != 0 {
				t.Errorf("follow-up encounter %+v", en)
			}
			continue
		}
		sr, ok := byID[strings.TrimPrefix(en.BasedOn[0].Reference, "ServiceRequest/")]
		if !ok || sr.ID != en.ID || en.Subject.Reference != "Patient/"+patient || en.Period == nil || en.Period.Start == "" ||
			en.ServiceProvider == nil || en.ServiceProvider.Reference != srHub(sr) {
			t.Errorf("encounter %+v (request %+v)", en, sr)
		}
		switch {
		case strings.HasPrefix(en.ID, "consult-"):
			if en.Class.Code != "VR" || len(en.Type) != 1 {
				t.Errorf("consultation encounter %+v", en)
			}
		case en.Class.Code != "AMB" && en.Class.Code != "IMP":
			t.Errorf("referral encounter class %+v", en.Class)
		case en.Status == "finished" && en.Period.End == "":
			t.Errorf("finished stay without an end: %+v", en)
		}
		var one fhir.Encounter
		if code, _, body := td.get("/fhir/Encounter/"+en.ID, nil, &one); code != 200 || one.ID != en.ID || one.Class != en.Class {
			t.Errorf("read %s: %d %.300s", en.ID, code, body)
		}
	}
	// Paging, count, include, status, _id.
	for _, typ := range []string{"ServiceRequest", "Encounter"} {
		want := len(srs)
		if typ == "Encounter" {
			want = len(ens)
		}
		var ids []string
		next := "/fhir/" + typ + "?patient=" + patient + "&_count=1"
		for pages := 0; next != ""; pages++ {
			if pages > want {
				t.Fatalf("%s: paging does not end", typ)
			}
			var b bundle
			td.get(next, nil, &b)
			for _, en := range b.Entry {
				var x struct{ ID string }
				json.Unmarshal(en.Resource, &x)
				ids = append(ids, x.ID)
			}
			next = ""
			for _, l := range b.Link {
				if l.Relation == "next" {
					next = strings.TrimPrefix(l.URL, e.ts.URL)
				}
			}
		}
		if len(ids) != want {
			t.Errorf("%s: pages of one gave %v, want %d", typ, ids, want)
		}
		var count bundle
		td.get("/fhir/"+typ+"?patient="+patient+"&_summary=count", nil, &count)
		if count.Total == nil || *count.Total != want || len(count.Entry) != 0 {
			t.Errorf("%s _summary=count: %v", typ, count.Total)
		}
		var inc bundle
		td.get("/fhir/"+typ+"?_id="+ids[0]+"&_include="+typ+":subject", nil, &inc)
		if len(inc.Entry) != 2 || !strings.HasSuffix(inc.Entry[1].FullURL, "/Patient/"+patient) {
			t.Errorf("%s?_id=%s&_include: %d entries", typ, ids[0], len(inc.Entry))
		}
	}
	var done bundle
	td.get("/fhir/ServiceRequest?patient="+patient+"&status=completed,revoked", nil, &done)
	for _, en := range done.Entry {
		var sr fhir.ServiceRequest
		json.Unmarshal(en.Resource, &sr)
		if sr.Status == "active" {
			t.Errorf("status=completed,revoked matched %s", sr.ID)
		}
	}
	for _, c := range []struct{ path, expr string }{
		{"/fhir/ServiceRequest", "patient"}, {"/fhir/Encounter?patient=" + patient + "&status=active", "status"},
		{"/fhir/ServiceRequest?patient=" + patient + "&_cursor=abc", "_cursor"}, {"/fhir/Encounter?patient=" + patient + "&date=x", "date"},
	} {
		var o outcome
		code, h, _ := td.get(c.path, nil, &o)
		checkOutcome(t, c.path, code, 400, h.Get("Content-Type"), o, "invalid", c.expr)
	}
	for _, p := range []string{"/fhir/ServiceRequest/consult-999999", "/fhir/Encounter/referral-x", "/fhir/ServiceRequest/42"} {
		var o outcome
		code, h, _ := td.get(p, nil, &o)
		checkOutcome(t, p, code, 404, h.Get("Content-Type"), o, "not-found", "")
	}
	var o outcome
	code, h, _ := e.as(care.RoleAnalyst).get("/fhir/Encounter?patient="+patient, nil, &o)
	checkOutcome(t, "analyst", code, 403, h.Get("Content-Type"), o, "forbidden", "")
}

// TestOnlineVisitEncounter: an online follow-up visit is a virtual
// Encounter "online-<id>" (docs/fhir.md "Encounter"): planned while
// booked, the resident's clinic as service provider, the condition
// followed up as type and the complaint as reason; it is found by the
// patient's Encounter search and read by id, through online.Service
// (the resident in scope, audited), and not seen by county specialists,
// who do not run online visits.
func TestOnlineVisitEncounter(t *testing.T) { testOnlineVisitEncounter(t, newEnv(t)) }

func testOnlineVisitEncounter(t *testing.T, e *env) {
	vd := e.as(care.RoleVillageDoctor)
	ctx := context.Background()
	v, pt := bookOnlineVisit(t, e, vd)
	id := "online-" + strconv.FormatInt(v.ID, 10)
	_, ens := episodesOf(t, vd, pt.ID)
	var en *fhir.Encounter
	for i := range ens {
		if ens[i].ID == id {
			en = &ens[i]
		}
	}
	if en == nil {
		t.Fatalf("Encounter?patient=%s does not hold %s: %+v", pt.ID, id, ens)
	}
	if en.Class.Code != "VR" || en.Status != "planned" || en.ServiceProvider == nil || en.ServiceProvider.Reference != pt.ManagingOrganization.Reference ||
		len(en.Type) != 1 || en.Type[0].Coding[0].Code != v.Diagnosis || len(en.ReasonCode) != 1 || en.ReasonCode[0].Text != "血压控制不佳，头晕" {
		t.Errorf("online encounter %+v", en)
	}
	var one fhir.Encounter
	if code, _, body := vd.get("/fhir/Encounter/"+id, nil, &one); code != 200 || one.ID != id {
		t.Errorf("read %s: %d %.300s", id, code, body)
	}
	var o outcome
	code, h, _ := e.as(care.RoleCountySpecialist).get("/fhir/Encounter/"+id, nil, &o)
	checkOutcome(t, "county specialist", code, 404, h.Get("Content-Type"), o, "not-found", "")
	time.Sleep(50 * time.Millisecond)
	if evs, _ := e.st.SearchAudit(ctx, audit.Filter{Action: online.ActRead, Username: e.users[care.RoleVillageDoctor], Limit: 5}); len(evs) == 0 {
		t.Error("no online.read audit row for the FHIR read")
	}
}

// bookOnlineVisit books an online follow-up visit, as the demo village
// doctor, for the first patient of the village with an offline diagnosis.
func bookOnlineVisit(t *testing.T, e *env, vd *client) (*online.Visit, fhir.Patient) {
	t.Helper()
	var mine bundle
	vd.get("/fhir/Patient?_count=100", nil, &mine)
	ctx := context.Background()
	for _, p := range mine.patients(t) {
		rid, _ := strconv.ParseInt(p.ID, 10, 64)
		village, _ := strconv.ParseInt(strings.TrimPrefix(p.ManagingOrganization.Reference, "Organization/"), 10, 64)
		doctor := care.Actor{AccountID: 1, Username: e.users[care.RoleVillageDoctor], Role: care.RoleVillageDoctor, InstitutionID: village,
			CountyCode: demoCounty, PractitionerID: 1}
		docs, err := e.onl.Conditions(ctx, doctor, rid)
		if err != nil || len(docs) == 0 || len(docs[0].Codes) == 0 {
			continue
		}
		v, err := e.onl.Book(ctx, doctor, rid, online.BookInput{Diagnosis: docs[0].Codes[0], Complaint: "血压控制不佳，头晕"})
		if err != nil {
			t.Fatalf("book: %v", err)
		}
		return v, p
	}
	t.Fatal("no patient of the village with an offline diagnosis to follow up online")
	return nil, fhir.Patient{}
}

// srHub is the institution a ServiceRequest asks: its performer, or a
// multidisciplinary consultation's team's managing organization.
func srHub(sr fhir.ServiceRequest) string {
	if len(sr.Performer) != 1 {
		return ""
	}
	if ref := sr.Performer[0].Reference; strings.HasPrefix(ref, "#") && len(sr.Contained) == 1 && "#"+sr.Contained[0].ID == ref &&
		len(sr.Contained[0].ManagingOrganization) == 1 {
		return sr.Contained[0].ManagingOrganization[0].Reference
	}
	return sr.Performer[0].Reference
}
