package fhir_test

import (
	"context"
	"encoding/json"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"countycare/audit"
	"countycare/care"
	"countycare/fhir"
	"countycare/store"
)

// TestAuditEvent: the audit trail as FHIR AuditEvent for the auditor and
// a county-wide system client granted system/AuditEvent.read by name —
// read, search by patient, agent, date, action and subtype, paged by
// _count and next links — and refused to everyone else (a clinician, a
// wildcard-scoped client, an institution-bound client). Each request is
// one audit.search row (not one per row returned). The system-level
// $export of _type=AuditEvent gives the county's rows, and _since the
// newer ones only; a Patient-level one is refused. On SQLite and
// PostgreSQL.
func TestAuditEvent(t *testing.T) {
	for _, d := range []store.Dialect{store.SQLite, store.Postgres} {
		t.Run(string(d), func(t *testing.T) { testAuditEvent(t, d) })
	}
}

func auditEvents(t *testing.T, b bundle) []fhir.AuditEvent {
	t.Helper()
	var out []fhir.AuditEvent
	for _, e := range b.Entry {
		var a fhir.AuditEvent
		if err := json.Unmarshal(e.Resource, &a); err != nil || a.ResourceType != "AuditEvent" {
			t.Fatalf("entry %s: %v", e.Resource, err)
		}
		out = append(out, a)
	}
	return out
}

func testAuditEvent(t *testing.T, d store.Dialect) {
	e := newEnvOn(t, d)
	ctx := context.Background()
	// A village doctor reads one of their residents: a resident.read row.
	vd := e.as(care.RoleVillageDoctor)
	var pats bundle
	if code, _, body := vd.get("/fhir/Patient?_count=1", nil, &pats); code != 200 || len(pats.Entry) != 1 {
		t.Fatalf("Patient search: %d %s", code, body)
	}
	pid := pats.patients(t)[0].ID
	if code, _, _ := vd.get("/fhir/Patient/"+pid, nil, nil); code != 200 {
		t.Fatalf("Patient read: %d", code)
	}
	e.audit.Flush(ctx)

	aud := e.as(care.RoleAuditor)
	var b bundle
	q := "/fhir/AuditEvent?patient=Patient/" + pid + "&subtype=" + url.QueryEscape(fhir.SystemAuditAction+"|resident.read") + "&agent=" + e.users[care.RoleVillageDoctor]
	if code, _, body := aud.get(q, nil, &b); code != 200 || b.Type != "searchset" {
		t.Fatalf("auditor search: %d %s", code, body)
	}
	evs := auditEvents(t, b)
	if len(evs) != 1 || b.Total == nil || *b.Total != 1 {
		t.Fatalf("the village doctor's read of Patient/%s: %d AuditEvents %+v", pid, len(evs), evs)
	}
	a := evs[0]
	if a.Action != "R" || a.Subtype[0].Code != "resident.read" || a.Outcome != "0" || a.Type.Code != "110110" ||
		!strings.HasSuffix(a.Recorded, "+08:00") || a.Agent[0].Who.Identifier.Value != e.users[care.RoleVillageDoctor] ||
		a.Agent[0].Location == nil || !strings.HasPrefix(a.Agent[0].Location.Reference, "Organization/") ||
		len(a.Entity) == 0 || a.Entity[0].What.Reference != "Patient/"+pid || a.Source.Observer.Display != "countycare" {
		t.Errorf("AuditEvent of the read: %+v", a)
	}
	if _, err := time.Parse(time.RFC3339, a.Recorded); err != nil {
		t.Errorf("recorded %q: %v", a.Recorded, err)
	}
	// Read by id: the same resource.
	var one fhir.AuditEvent
	if code, _, body := aud.get("/fhir/AuditEvent/"+a.ID, nil, &one); code != 200 || one.ID != a.ID || one.Recorded != a.Recorded {
		t.Errorf("read AuditEvent/%s: %d %s", a.ID, code, body)
	}
	var oo outcome
	code, h, _ := aud.get("/fhir/AuditEvent/99999999", nil, &oo)
	checkOutcome(t, "unknown AuditEvent", code, 404, h.Get("Content-Type"), oo, "not-found", "")

	// action and date ranges.
	var reads, future bundle
	aud.get("/fhir/AuditEvent?action=R&_count=100", nil, &reads)
	for _, x := range auditEvents(t, reads) {
		if x.Action != "R" {
			t.Errorf("action=R gave %s (%s)", x.Action, x.Subtype[0].Code)
		}
	}
	if len(reads.Entry) == 0 {
		t.Error("action=R: nothing")
	}
	aud.get("/fhir/AuditEvent?action=E&_count=100", nil, &reads)
	for _, x := range auditEvents(t, reads) {
		if x.Action != "E" {
			t.Errorf("action=E gave %s (%s)", x.Action, x.Subtype[0].Code)
		}
	}
	tomorrow := care.Today(time.Now()).AddDays(1).String()
	aud.get("/fhir/AuditEvent?date=ge"+tomorrow, nil, &future)
	if len(future.Entry) != 0 {
		t.Errorf("date=ge%s: %d entries", tomorrow, len(future.Entry))
	}
	var today bundle
	aud.get("/fhir/AuditEvent?date=ge"+care.Today(time.Now()).String()+"&date=lt"+tomorrow+"&patient="+pid, nil, &today)
	if len(today.Entry) == 0 {
		t.Error("today's rows of the patient: none")
	}

	// Paging: _count=1, newest first, next links until the last page, no
	// row twice.
	seen := map[string]bool{}
	next := "/fhir/AuditEvent?_count=1&agent=" + e.users[care.RoleVillageDoctor]
	pages, last := 0, int64(1<<62)
	for next != "" && pages < 50 {
		var p bundle
		if code, _, body := aud.get(strings.TrimPrefix(next, e.ts.URL), nil, &p); code != 200 {
			t.Fatalf("page %s: %d %s", next, code, body)
		}
		next = ""
		for _, l := range p.Link {
			if l.Relation == "next" {
				next = l.URL
			}
		}
		for _, x := range auditEvents(t, p) {
			n, _ := strconv.ParseInt(x.ID, 10, 64)
			if seen[x.ID] || n >= last {
				t.Errorf("page %d: AuditEvent/%s out of order or repeated", pages, x.ID)
			}
			seen[x.ID], last = true, n
		}
		pages++
	}
	if pages < 3 || next != "" {
		t.Errorf("paging the village doctor's rows: %d pages, next %q", pages, next)
	}

	// Bad parameters: 400 naming the parameter.
	for param, q := range map[string]string{"action": "action=X", "_count": "_count=0", "date": "date=yesterday", "foo": "foo=1", "patient": "patient=Group/1"} {
		var oo outcome
		code, h, _ := aud.get("/fhir/AuditEvent?"+q, nil, &oo)
		checkOutcome(t, q, code, 400, h.Get("Content-Type"), oo, "invalid", param)
	}

	// Reading the trail is audited: one audit.search row per request.
	before := len(e.auditRows(t, audit.ActAuditSearch, e.users[care.RoleAuditor]))
	aud.get("/fhir/AuditEvent?_count=50", nil, nil)
	if after := len(e.auditRows(t, audit.ActAuditSearch, e.users[care.RoleAuditor])); after != before+1 {
		t.Errorf("a search of 50 rows: %d audit.search rows added, want 1", after-before)
	}

	// Everyone else is refused.
	for _, role := range []care.Role{care.RoleVillageDoctor, care.RoleCountySpecialist, care.RoleAdmin, care.RoleAnalyst} {
		var oo outcome
		code, h, _ := e.as(role).get("/fhir/AuditEvent", nil, &oo)
		checkOutcome(t, string(role), code, 403, h.Get("Content-Type"), oo, "forbidden", "")
	}
	wild := e.register(t, "wild", jose.ES384, 0, "system/*.read").signIn(t, "system/*.read")
	if resp, _ := wild.do(t, "GET", "/fhir/AuditEvent", nil); resp.StatusCode != 403 {
		t.Errorf("wildcard client: %d", resp.StatusCode)
	}
	if code, out := wild.tokenRequest(t, wild.assertion(t, wild.key, nil), "system/AuditEvent.read"); code != 400 || out["error"] != "invalid_scope" {
		t.Errorf("a wildcard-registered client asking for the audit trail: %d %v", code, out)
	}
	if resp, _ := wild.do(t, "GET", "/fhir/$export?_type=AuditEvent", async); resp.StatusCode != 403 {
		t.Errorf("wildcard client's AuditEvent export: %d", resp.StatusCode)
	}
	towns := e.townships(t)
	bound := e.register(t, "township-his", jose.ES384, towns[0].ID, "system/AuditEvent.read").signIn(t, "system/AuditEvent.read")
	if resp, _ := bound.do(t, "GET", "/fhir/AuditEvent", nil); resp.StatusCode != 403 {
		t.Errorf("institution-bound client: %d", resp.StatusCode)
	}
	if rows := e.auditRows(t, audit.ActAuditSearch, "system:township-his"); len(rows) != 1 || rows[0].Outcome != audit.OutcomeDenied {
		t.Errorf("the bound client's refusal: %+v", rows)
	}

	// The auditor's system client: search and the incremental export.
	prov := e.register(t, "audit-feed", jose.ES384, 0, "system/AuditEvent.read system/Patient.read").
		signIn(t, "system/AuditEvent.read system/Patient.read")
	resp, body := prov.do(t, "GET", "/fhir/AuditEvent?patient="+pid, nil)
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"resident.read"`) {
		t.Errorf("county-wide AuditEvent client: %d %s", resp.StatusCode, body)
	}
	if resp, _ := prov.do(t, "GET", "/fhir/Patient/$export?_type=AuditEvent", async); resp.StatusCode != 400 {
		t.Errorf("Patient-level AuditEvent export: %d", resp.StatusCode)
	}
	m, _ := prov.export(t, "/fhir/$export")
	for _, o := range m.Output {
		if o.Type == "AuditEvent" {
			t.Errorf("an export without _type=AuditEvent holds the audit trail")
		}
	}
	e.audit.Flush(ctx)
	var rows int
	e.st.QueryRowForTest(ctx, `SELECT COUNT(*) FROM audit_events WHERE county_code = '`+demoCounty+`'`, &rows)
	m, _ = prov.export(t, "/fhir/$export?_type=AuditEvent")
	got := prov.lines(t, m)["AuditEvent"]
	if len(got) < rows || len(got) == 0 {
		t.Errorf("AuditEvent export: %d rows, the county had %d before the kick-off", len(got), rows)
	}
	var first fhir.AuditEvent
	json.Unmarshal(got[len(got)-1], &first)
	since := time.Now()
	time.Sleep(10 * time.Millisecond)
	vd.get("/fhir/Patient/"+pid, nil, nil)
	e.audit.Flush(ctx)
	m, _ = prov.export(t, "/fhir/$export?_type=AuditEvent&_since="+url.QueryEscape(since.Format(time.RFC3339Nano)))
	inc := prov.lines(t, m)["AuditEvent"]
	found := false
	for _, l := range inc {
		var x fhir.AuditEvent
		json.Unmarshal(l, &x)
		rec, _ := time.Parse(time.RFC3339, x.Recorded)
		if rec.Before(since.Truncate(time.Millisecond)) {
			t.Errorf("_since %s gave a row recorded %s", since, x.Recorded)
		}
		if x.Subtype[0].Code == "resident.read" && x.Entity[0].What.Reference == "Patient/"+pid {
			found = true
		}
	}
	if !found || len(inc) >= len(got) {
		t.Errorf("incremental feed: %d rows (of %d), the new read found: %v", len(inc), len(got), found)
	}
}
