package web_test

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	"countycare/care"
	"countycare/store"
)

// TestHomeVisitsAPI: a resident asks for a home visit (送医送护) on /me; a
// second open request is refused; the visit cannot be recorded before it
// is scheduled; it is scheduled to a member of the family-doctor team of
// the resident's township (another team's member and a past date refused),
// then recorded with services from the list and vital signs (implausible
// signs, an unknown service and a date before the scheduling refused,
// nothing written); a done visit cannot be cancelled; a request for a
// resident out of scope is a 404 with an audit row; the doctor flags the
// resident bedridden and the village's list shows the last visit; every
// read and write is audited. Both databases.
func TestHomeVisitsAPI(t *testing.T) {
	for _, d := range []store.Dialect{store.SQLite, store.Postgres} {
		t.Run(string(d), func(t *testing.T) { testHomeVisits(t, d) })
	}
}

func testHomeVisits(t *testing.T, d store.Dialect) {
	e := newEnv(t, d)
	vd, me := e.as(care.RoleVillageDoctor), e.as(care.RoleResident)
	today := care.Today(time.Now())
	mine, village, outside := demoResidentAndOutsider(t, e)
	township := e.count(`SELECT parent_id FROM institutions WHERE id = %d`, village)
	team := e.count(`SELECT COALESCE(MIN(id), 0) FROM family_teams WHERE institution_id IN (%d, %d) AND active`, village, township)
	if team == 0 {
		t.Fatal("demo lacks a family-doctor team of the township")
	}
	member := e.count(`SELECT MIN(practitioner_id) FROM family_team_members WHERE team_id = %d`, team)
	stranger := e.count(`SELECT COALESCE(MIN(id), 0) FROM practitioners WHERE id NOT IN (SELECT practitioner_id FROM family_team_members WHERE team_id = %d)`, team)

	if r := me.postJSON("/api/v1/me/home-visits", map[string]any{"reason": " "}); r.code != 422 || fieldCodes(r) != "field.required" {
		t.Fatalf("no reason: %d %s", r.code, r.body)
	}
	r := me.postJSON("/api/v1/me/home-visits", map[string]any{"reason": "卧床，伤口需要换药"})
	var v struct {
		ID         int64  `json:"id"`
		Status     string `json:"status"`
		ByResident bool   `json:"by_resident"`
		Version    int    `json:"version"`
	}
	if r.code != 201 || json.Unmarshal([]byte(r.body), &v) != nil || v.Status != "requested" || !v.ByResident {
		t.Fatalf("request: %d %s", r.code, r.body)
	}
	if r := me.postJSON("/api/v1/me/home-visits", map[string]any{"reason": "再约一次"}); r.code != 409 || !strings.Contains(r.body, "homevisit.open_exists") {
		t.Fatalf("second open request: %d %s", r.code, r.body)
	}
	id := "/api/v1/home-visits/" + itoa(v.ID)
	record := map[string]any{"on": today.String(), "services": []string{"dressing", "follow_up"}, "sbp": 142, "dbp": 88, "pulse": 76, "temp_dc": 366}
	if r := vd.postJSON(id+"/record", record); r.code != 409 || !strings.Contains(r.body, "homevisit.not_scheduled") {
		t.Fatalf("recorded before scheduled: %d %s", r.code, r.body)
	}
	if r := vd.get("/api/v1/home-visits"); r.code != 200 || !strings.Contains(r.body, `"id":`+itoa(v.ID)) {
		t.Fatalf("open list: %d %s", r.code, r.body)
	}
	if r := vd.postJSON(id+"/schedule", map[string]any{"team_id": team, "practitioner_id": stranger, "on": today.AddDays(-1).String()}); r.code != 422 ||
		fieldCodes(r) != "homevisit.date_past,homevisit.not_member" {
		t.Fatalf("bad schedule: %d %s", r.code, r.body)
	}
	if r := vd.postJSON(id+"/schedule", map[string]any{"team_id": team, "practitioner_id": member, "on": today.String(), "version": v.Version}); r.code != 200 {
		t.Fatalf("schedule: %d %s", r.code, r.body)
	}
	bad := map[string]any{"on": today.AddDays(-1).String(), "services": []string{"massage"}, "sbp": 300, "dbp": 88}
	if r := vd.postJSON(id+"/record", bad); r.code != 422 || fieldCodes(r) != "homevisit.before_scheduled,homevisit.service_unknown,homevisit.range" {
		t.Fatalf("bad record: %d %s", r.code, r.body)
	}
	if n := e.count(`SELECT COUNT(*) FROM home_visits WHERE status = 'done'`); n != 0 {
		t.Fatal("a refused record was stored")
	}
	if r := vd.postJSON(id+"/record", record); r.code != 200 || !strings.Contains(r.body, `"status":"done"`) {
		t.Fatalf("record: %d %s", r.code, r.body)
	}
	if r := vd.postJSON(id+"/cancel", map[string]any{"reason": "已完成"}); r.code != 409 || !strings.Contains(r.body, "homevisit.closed") {
		t.Fatalf("cancel a done visit: %d %s", r.code, r.body)
	}

	// A doctor's request, then cancelled by the doctor; the resident may
	// not cancel a visit they did not ask for.
	rid := strconv.Itoa(mine)
	r = vd.postJSON("/api/v1/residents/"+rid+"/home-visits", map[string]any{"reason": "出院后随访"})
	if r.code != 201 || json.Unmarshal([]byte(r.body), &v) != nil || v.ByResident {
		t.Fatalf("doctor's request: %d %s", r.code, r.body)
	}
	if r := me.postJSON("/api/v1/home-visits/"+itoa(v.ID)+"/cancel", map[string]any{"reason": "不需要了"}); r.code != 403 {
		t.Fatalf("resident cancels the doctor's request: %d %s", r.code, r.body)
	}
	if r := vd.postJSON("/api/v1/home-visits/"+itoa(v.ID)+"/cancel", map[string]any{"reason": "已住院"}); r.code != 200 || !strings.Contains(r.body, `"status":"cancelled"`) {
		t.Fatalf("cancel: %d %s", r.code, r.body)
	}
	if r := vd.postJSON("/api/v1/residents/"+strconv.Itoa(outside)+"/home-visits", map[string]any{"reason": "上门"}); r.code != 404 {
		t.Fatalf("request out of scope: %d", r.code)
	}
	if n := e.count(`SELECT COUNT(*) FROM audit_events WHERE resident_id = %d AND outcome = 'denied'`, outside); n == 0 {
		t.Error("out-of-scope request not audited")
	}
	if n := e.count(`SELECT COUNT(*) FROM home_visits WHERE resident_id = %d`, outside); n != 0 {
		t.Error("out-of-scope request stored")
	}

	// The bedridden, by village, with the last visit.
	if r := vd.postJSON("/api/v1/residents/"+rid+"/care-flags", map[string]any{"kind": "bedridden"}); r.code != 422 || fieldCodes(r) != "field.required" {
		t.Fatalf("flag without reason: %d %s", r.code, r.body)
	}
	if r := vd.postJSON("/api/v1/residents/"+rid+"/care-flags", map[string]any{"kind": "bedridden", "reason": "脑卒中后偏瘫，长期卧床"}); r.code != 204 {
		t.Fatalf("flag: %d %s", r.code, r.body)
	}
	r = vd.get("/api/v1/home-visits/flagged")
	if r.code != 200 || !strings.Contains(r.body, `"resident_id":`+rid) || !strings.Contains(r.body, `"last_visit":"`+today.String()+`"`) {
		t.Fatalf("flagged list: %d %s", r.code, r.body)
	}
	if r := me.get("/api/v1/me/home-visits"); r.code != 200 || !strings.Contains(r.body, `"status":"done"`) {
		t.Fatalf("the resident's visits: %d %s", r.code, r.body)
	}
	for _, role := range []care.Role{care.RoleAnalyst, care.RolePharmacist} {
		if r := e.as(role).get("/api/v1/home-visits"); r.code != 403 {
			t.Errorf("%s: %d", role, r.code)
		}
	}
	for _, act := range []string{"homevisit.request", "homevisit.schedule", "homevisit.record", "homevisit.cancel", "homevisit.list", "homevisit.read", "homevisit.flag"} {
		if n := e.count(`SELECT COUNT(*) FROM audit_events WHERE action = '%s'`, act); n == 0 {
			t.Errorf("no %s audit row", act)
		}
	}
}
