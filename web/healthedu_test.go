package web_test

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"countycare/care"
	"countycare/store"
)

// TestHealthEducationAPI: a village doctor plans and records sessions of
// the national spec's forms (健康教育服务规范: lecture, consultation,
// bulletin board, materials, individual education); bad input is refused
// with the fields named and nothing stored; an attendee out of scope is a
// 404 with an audit row and nothing written; the tallies count the year
// against the spec's minimums for the doctor, the township and the
// analyst, never the resident. A prescription for a hypertensive resident
// is issued with its health-education prescription (双处方), one without a
// matching diagnosis without; the share is an indicator and the resident
// reads theirs on /me. Both databases.
func TestHealthEducationAPI(t *testing.T) {
	for _, d := range []store.Dialect{store.SQLite, store.Postgres} {
		t.Run(string(d), func(t *testing.T) { testHealthEdu(t, d) })
	}
}

func testHealthEdu(t *testing.T, d store.Dialect) {
	e := newEnv(t, d)
	vd, td := e.as(care.RoleVillageDoctor), e.as(care.RoleTownshipDoctor)
	today := care.Today(time.Now())
	me := e.as(care.RoleResident)
	mine, village, outside := demoResidentAndOutsider(t, e)

	r := vd.postJSON("/api/v1/healthedu/sessions", map[string]any{"kind": "dance", "planned_on": today.String(), "place": "村委会"})
	if r.code != 422 || fieldCodes(r) != "healthedu.kind,field.required" {
		t.Fatalf("bad session: %d %s", r.code, r.body)
	}
	if n := e.count(`SELECT COUNT(*) FROM edu_sessions`); n != 0 {
		t.Fatalf("refused session stored: %d", n)
	}
	var ss struct {
		ID      int64 `json:"id"`
		Version int   `json:"version"`
	}
	r = vd.postJSON("/api/v1/healthedu/sessions", map[string]any{"kind": "lecture", "planned_on": today.AddDays(-2).String(), "place": "村委会",
		"topic": "高血压的防治", "audience": "65岁以上老人", "materials": "高血压折页"})
	if r.code != 201 || json.Unmarshal([]byte(r.body), &ss) != nil {
		t.Fatalf("plan: %d %s", r.code, r.body)
	}
	sid := itoa(ss.ID)
	if r := vd.postJSON("/api/v1/healthedu/sessions/"+sid+"/record", map[string]any{"held_on": today.AddDays(1).String(), "attendance": 30}); r.code != 422 ||
		fieldCodes(r) != "healthedu.date_future" {
		t.Fatalf("held tomorrow: %d %s", r.code, r.body)
	}
	if r := vd.postJSON("/api/v1/healthedu/sessions/"+sid+"/record", map[string]any{"held_on": today.String(), "attendance": 30, "attendees": []int{mine, outside}}); r.code != 404 {
		t.Fatalf("attendee out of scope: %d %s", r.code, r.body)
	}
	if n := e.count(`SELECT COUNT(*) FROM edu_attendees`) + e.count(`SELECT COUNT(*) FROM edu_sessions WHERE held_on IS NOT NULL`); n != 0 {
		t.Fatalf("refused record stored %d rows", n)
	}
	if n := e.count(`SELECT COUNT(*) FROM audit_events WHERE resident_id = %d AND outcome = 'denied'`, outside); n == 0 {
		t.Error("the out-of-scope attendee left no audit row")
	}
	if r := vd.postJSON("/api/v1/healthedu/sessions/"+sid+"/record", map[string]any{"held_on": today.String(), "attendance": 1, "attendees": []int{mine, mine + 1}}); r.code != 422 ||
		fieldCodes(r) != "healthedu.attendance_range" {
		t.Fatalf("attendance below the list: %d %s", r.code, r.body)
	}
	if r := td.postJSON("/api/v1/healthedu/sessions/"+sid+"/record", map[string]any{"held_on": today.String(), "attendance": 30}); r.code != 404 {
		t.Fatalf("another institution records: %d", r.code)
	}
	if r := vd.postJSON("/api/v1/healthedu/sessions/"+sid+"/record", map[string]any{"held_on": today.String(), "attendance": 30, "attendees": []int{mine}, "version": ss.Version}); r.code != 200 {
		t.Fatalf("record: %d %s", r.code, r.body)
	}
	if r := vd.postJSON("/api/v1/healthedu/sessions/"+sid+"/record", map[string]any{"held_on": today.String(), "attendance": 30}); r.code != 409 || !strings.Contains(r.body, "healthedu.recorded") {
		t.Fatalf("recorded twice: %d %s", r.code, r.body)
	}
	if n := e.count(`SELECT COUNT(*) FROM audit_events WHERE action = 'healthedu.record' AND resident_id = %d`, mine); n != 1 {
		t.Errorf("attendance audit rows: %d", n)
	}
	if r := td.get("/api/v1/healthedu/sessions/" + sid); r.code != 200 || !strings.Contains(r.body, `"attendees":[`+strconv.Itoa(mine)+`]`) {
		t.Errorf("township reads the village's session: %d %s", r.code, r.body)
	}
	if r := td.get("/api/v1/healthedu/sessions?year=" + strconv.Itoa(today.Year)); !strings.Contains(r.body, `"id":`+sid) {
		t.Errorf("township's list lacks the village's session: %s", r.body)
	}
	if r := vd.postJSON("/api/v1/healthedu/sessions", map[string]any{"kind": "individual", "planned_on": today.String(), "place": "诊室", "topic": "戒烟"}); r.code == 201 {
		var ind struct{ ID int64 }
		json.Unmarshal([]byte(r.body), &ind)
		if r := vd.postJSON(fmt.Sprintf("/api/v1/healthedu/sessions/%d/record", ind.ID), map[string]any{"held_on": today.String(), "attendance": 1}); r.code != 422 ||
			fieldCodes(r) != "healthedu.individual_resident" {
			t.Errorf("individual education with nobody named: %d %s", r.code, r.body)
		}
	}

	// The double prescription.
	indicators := func(c *client) (int, int, map[string]int, []string) {
		var out struct {
			Indicators struct {
				Prescriptions int `json:"prescriptions"`
				WithEducation int `json:"with_education"`
				Tallies       []struct {
					InstitutionID int64          `json:"institution_id"`
					Held          map[string]int `json:"held"`
					Short         []string       `json:"short"`
				} `json:"tallies"`
			} `json:"indicators"`
		}
		r := c.get("/api/v1/healthedu/indicators")
		if r.code != 200 || json.Unmarshal([]byte(r.body), &out) != nil {
			t.Fatalf("indicators: %d %s", r.code, r.body)
		}
		for _, tl := range out.Indicators.Tallies {
			if tl.InstitutionID == int64(village) {
				return out.Indicators.Prescriptions, out.Indicators.WithEducation, tl.Held, tl.Short
			}
		}
		t.Fatalf("no tally of the village clinic: %s", r.body)
		return 0, 0, nil, nil
	}
	n0, w0, held, short := indicators(vd)
	if held["lecture"] != 1 || !strings.Contains(strings.Join(short, ","), "lecture") {
		t.Errorf("tally: held %v short %v", held, short)
	}
	sign := func(dx string) int64 {
		body := map[string]any{"kind": "normal", "diagnoses": []string{dx}, "patient": map[string]any{"weight_kg": 60},
			"lines": []any{rxLine("amlodipine-5t", 5, "mg", "qd", 7, 7)}}
		r := vd.postJSON("/api/v1/residents/"+strconv.Itoa(mine)+"/prescriptions", body)
		var sg struct{ ID int64 }
		if r.code != 201 || json.Unmarshal([]byte(r.body), &sg) != nil {
			t.Fatalf("sign %s: %d %s", dx, r.code, r.body)
		}
		return sg.ID
	}
	with := sign("I10")
	sign("R51")
	if n := e.count(`SELECT COUNT(*) FROM edu_prescriptions WHERE prescription_id = %d AND library_version LIKE '2026.1-%%'`, with); n != 1 {
		t.Fatalf("no health-education prescription with the hypertension prescription")
	}
	if n := e.count(`SELECT COUNT(*) FROM edu_prescriptions`); n != 1 {
		t.Errorf("%d health-education prescriptions, want 1", n)
	}
	if n, w, _, _ := indicators(vd); n != n0+2 || w != w0+1 {
		t.Errorf("share: %d/%d, want %d/%d", w, n, w0+1, n0+2)
	}
	if _, _, held, _ := indicators(e.as(care.RoleAnalyst)); held["lecture"] != 1 {
		t.Errorf("analyst's tally: %v", held)
	}
	r = me.get("/api/v1/me/education-rx")
	if r.code != 200 || !strings.Contains(r.body, fmt.Sprintf(`"prescription_id":%d`, with)) || !strings.Contains(r.body, "每日食盐不超过6克") {
		t.Fatalf("the resident's health-education prescriptions: %d %s", r.code, r.body)
	}
	if r := vd.get("/api/v1/residents/" + strconv.Itoa(mine) + "/education-rx"); r.code != 200 || !strings.Contains(r.body, "salt") {
		t.Errorf("the doctor's view: %d", r.code)
	}
	if r := vd.get("/api/v1/residents/" + strconv.Itoa(outside) + "/education-rx"); r.code != 404 {
		t.Errorf("out of scope: %d", r.code)
	}
	for _, role := range []care.Role{care.RoleResident, care.RolePharmacist, care.RoleAdmin} {
		if r := e.as(role).get("/api/v1/healthedu/indicators"); r.code != 403 {
			t.Errorf("%s reads the tallies: %d", role, r.code)
		}
	}
	for _, act := range []string{"healthedu.plan", "healthedu.record", "healthedu.read", "healthedu.indicator", "healthedu.rx_read"} {
		if n := e.count(`SELECT COUNT(*) FROM audit_events WHERE action = '%s'`, act); n == 0 {
			t.Errorf("no %s audit row", act)
		}
	}
}

// demoResidentAndOutsider returns the demo resident's record, their
// village clinic and a resident of another village (out of the village
// doctor's scope).
func demoResidentAndOutsider(t *testing.T, e *env) (mine, village, outside int) {
	t.Helper()
	mine = e.count(`SELECT resident_id FROM accounts WHERE username = '%s'`, e.users[care.RoleResident])
	village = e.count(`SELECT village_id FROM residents WHERE id = %d`, mine)
	outside = e.count(`SELECT COALESCE(MIN(id), 0) FROM residents WHERE village_id <> %d`, village)
	if mine == 0 || outside == 0 {
		t.Fatalf("demo lacks the resident's record (%d) or one outside the village (%d)", mine, outside)
	}
	return mine, village, outside
}
