package web_test

import (
	"fmt"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"countycare/care"
	"countycare/store"
)

// TestHealthEduAndHomeVisitPages: the pages a person uses — a village
// doctor plans and records a lecture on /healthedu (a missing topic
// refused with the field named and nothing stored), the resident asks for
// a home visit on /me/home-visits and reads their health-education
// prescription on /me/education-rx, the doctor schedules and records the
// visit on /home-visits (services as check boxes, vital signs typed) and
// flags the resident bedridden on the resident's page. SQLite.
func TestHealthEduAndHomeVisitPages(t *testing.T) {
	e := newEnv(t, store.SQLite)
	vd, me := e.as(care.RoleVillageDoctor), e.as(care.RoleResident)
	today := care.Today(time.Now()).String()
	mine := e.count(`SELECT resident_id FROM accounts WHERE username = '%s'`, e.users[care.RoleResident])

	page := vd.get("/healthedu")
	if page.code != 200 || !strings.Contains(page.body, `id="plan-form"`) || !strings.Contains(page.body, `id="edu-tallies"`) {
		t.Fatalf("/healthedu: %d", page.code)
	}
	vd.csrf = csrfOf(t, page.body)
	if r := vd.postForm("/healthedu/sessions", url.Values{"kind": {"lecture"}, "planned_on": {today}, "place": {"村委会"}}, true); r.code != 422 || !strings.Contains(r.body, `id="topic-error"`) {
		t.Fatalf("no topic: %d", r.code)
	}
	if n := e.count(`SELECT COUNT(*) FROM edu_sessions`); n != 0 {
		t.Fatal("refused plan stored")
	}
	if r := vd.postForm("/healthedu/sessions", url.Values{"kind": {"lecture"}, "planned_on": {today}, "place": {"村委会"}, "topic": {"合理膳食"}}, true); r.code != 303 {
		t.Fatalf("plan: %d %s", r.code, r.body)
	}
	sid := e.count(`SELECT MAX(id) FROM edu_sessions`)
	page = vd.get("/healthedu?ok=edu_planned")
	if !strings.Contains(page.body, fmt.Sprintf(`action="/healthedu/sessions/%d/record"`, sid)) {
		t.Fatal("no record form for the planned session")
	}
	if r := vd.postForm(fmt.Sprintf("/healthedu/sessions/%d/record", sid), url.Values{"held_on": {today}, "attendance": {"42"}, "version": {"1"}}, true); r.code != 303 {
		t.Fatalf("record: %d %s", r.code, r.body)
	}
	if n := e.count(`SELECT attendance FROM edu_sessions WHERE id = %d`, sid); n != 42 {
		t.Errorf("attendance %d", n)
	}
	if p := e.as(care.RoleAnalyst).get("/healthedu"); p.code != 200 || strings.Contains(p.body, `id="plan-form"`) {
		t.Errorf("analyst's page: %d", p.code)
	}

	// The resident asks on /me.
	page = me.get("/me/home-visits")
	if page.code != 200 || !strings.Contains(page.body, `id="request-form"`) {
		t.Fatalf("/me/home-visits: %d", page.code)
	}
	me.csrf = csrfOf(t, page.body)
	if r := me.postForm("/me/home-visits", url.Values{"reason": {"行动不便，需上门测血压"}}, true); r.code != 303 {
		t.Fatalf("request: %d %s", r.code, r.body)
	}
	if p := me.get("/me/education-rx"); p.code != 200 || !strings.Contains(p.body, "healthedu.rx_none") && !strings.Contains(p.body, "暂无健康教育处方") {
		t.Fatalf("/me/education-rx: %d", p.code)
	}
	if p := me.get("/me"); !strings.Contains(p.body, `id="me-home-visits"`) || !strings.Contains(p.body, `id="me-edu-rx"`) {
		t.Error("no links from /me")
	}

	// The doctor schedules and records on the phone page.
	vid := e.count(`SELECT MAX(id) FROM home_visits`)
	page = vd.get("/home-visits")
	if page.code != 200 || !strings.Contains(page.body, fmt.Sprintf(`id="visit-%d"`, vid)) {
		t.Fatalf("/home-visits: %d", page.code)
	}
	member := regexp.MustCompile(`<option value="(\d+:\d+)"`).FindStringSubmatch(page.body)
	if member == nil {
		t.Fatal("no team member to schedule to")
	}
	if r := vd.postForm(fmt.Sprintf("/home-visits/%d/schedule", vid), url.Values{"member": {member[1]}, "on": {today}, "version": {"1"}}, true); r.code != 303 {
		t.Fatalf("schedule: %d %s", r.code, r.body)
	}
	rec := url.Values{"on": {today}, "services": {"follow_up", "blood"}, "sbp": {"300"}, "dbp": {"80"}, "version": {"2"}}
	if r := vd.postForm(fmt.Sprintf("/home-visits/%d/record", vid), rec, true); r.code != 422 || !strings.Contains(r.body, `id="form-error"`) {
		t.Fatalf("systolic 300: %d", r.code)
	}
	rec.Set("sbp", "138")
	rec.Set("temp", "36.6")
	if r := vd.postForm(fmt.Sprintf("/home-visits/%d/record", vid), rec, true); r.code != 303 {
		t.Fatalf("record: %d %s", r.code, r.body)
	}
	if n := e.count(`SELECT temp_dc FROM home_visits WHERE id = %d AND status = 'done'`, vid); n != 366 {
		t.Errorf("temperature stored as %d", n)
	}
	rp := "/residents/" + strconv.Itoa(mine) + "/home-visits"
	page = vd.get(rp)
	if page.code != 200 || !strings.Contains(page.body, `id="flag-form"`) {
		t.Fatalf("resident's page: %d", page.code)
	}
	if r := vd.postForm("/residents/"+strconv.Itoa(mine)+"/care-flags", url.Values{"kind": {"bedridden"}, "reason": {"骨折术后卧床"}}, true); r.code != 303 {
		t.Fatalf("flag: %d %s", r.code, r.body)
	}
	if p := vd.get("/home-visits"); !strings.Contains(p.body, `id="flagged"`) || !strings.Contains(p.body, today) {
		t.Error("the bedridden list lacks the resident's last visit")
	}
}

// TestResidentPageLinksHomeVisits: the resident page leads the village
// doctor to the resident's home visits (the crawler reaches it).
func TestResidentPageLinksHomeVisits(t *testing.T) {
	e := newEnv(t, store.SQLite)
	vd := e.as(care.RoleVillageDoctor)
	rid := firstResident(t, vd)
	if r := vd.get("/residents/" + rid); !strings.Contains(r.body, `href="/residents/`+rid+`/home-visits"`) {
		t.Error("no home-visit link on the resident page")
	}
}
