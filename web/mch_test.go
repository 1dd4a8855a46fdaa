package web_test

import (
	"encoding/json"
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

// fieldCodes lists the field error codes of a JSON error answer.
func fieldCodes(r response) string {
	var out struct {
		Error struct {
			Fields []struct {
				Code string `json:"code"`
			} `json:"fields"`
		} `json:"error"`
	}
	json.Unmarshal([]byte(r.body), &out)
	var cs []string
	for _, f := range out.Error.Fields {
		cs = append(cs, f.Code)
	}
	return strings.Join(cs, ",")
}

// TestMCHPagesAndAPI: a village doctor registers a pregnancy on the
// resident's MCH page (a 15-kg, 3-m adult refused with the field named and
// nothing stored), records visits through the API (a postpartum visit
// before delivery and a fundal height after it refused), registers a
// child and records a check whose growth chart (SVG against the WHO
// curves) shows on the page; the work lists answer the village doctor,
// the township and the county specialist, and refuse the analyst; every
// write and read is audited. Both databases.
func TestMCHPagesAndAPI(t *testing.T) {
	for _, d := range []store.Dialect{store.SQLite, store.Postgres} {
		t.Run(string(d), func(t *testing.T) { testMCH(t, d) })
	}
}

func testMCH(t *testing.T, d store.Dialect) {
	e := newEnv(t, d)
	vd := e.as(care.RoleVillageDoctor)
	rid := firstResident(t, vd)
	today := care.Today(time.Now())
	village := fmt.Sprintf(`(SELECT village_id FROM residents WHERE id = %s)`, rid)
	woman := e.count(`SELECT COALESCE(MIN(id), 0) FROM residents WHERE village_id = %s AND sex = 'F' AND birth_date BETWEEN '%s' AND '%s'`,
		village, today.Time().AddDate(-33, 0, 0).Format("2006-01-02"), today.Time().AddDate(-22, 0, 0).Format("2006-01-02"))
	kid := e.count(`SELECT COALESCE(MIN(id), 0) FROM residents WHERE village_id = %s AND birth_date BETWEEN '%s' AND '%s'`,
		village, today.Time().AddDate(-4, 0, 0).Format("2006-01-02"), today.Time().AddDate(-3, 0, 0).Format("2006-01-02"))
	if woman == 0 || kid == 0 {
		t.Fatalf("demo village lacks a woman (%d) or a child (%d)", woman, kid)
	}
	wp := "/residents/" + strconv.Itoa(woman) + "/mch"
	page := vd.get(wp)
	if page.code != 200 || !strings.Contains(page.body, `id="register-form"`) {
		t.Fatalf("MCH page %d", page.code)
	}
	if r := vd.get("/residents/" + strconv.Itoa(woman)); !strings.Contains(r.body, `id="mch-link"`) {
		t.Error("no MCH link on the resident page")
	}
	lmp := today.AddDays(-9 * 7).String()
	r := vd.postForm("/residents/"+strconv.Itoa(woman)+"/pregnancies", url.Values{"lmp": {lmp}, "gravida": {"1"}, "height": {"300"}, "weight": {"15"}}, true)
	if r.code != 422 || !strings.Contains(r.body, `id="height-error"`) || !strings.Contains(r.body, `id="weight-error"`) {
		t.Fatalf("3-m, 15-kg adult: %d", r.code)
	}
	if n := e.count(`SELECT COUNT(*) FROM mch_pregnancies`); n != 0 {
		t.Fatalf("refused registration stored %d", n)
	}
	r = vd.postForm("/residents/"+strconv.Itoa(woman)+"/pregnancies", url.Values{"lmp": {lmp}, "gravida": {"2"}, "parity": {"1"}, "height": {"158"},
		"weight": {"52.5"}, "factors": {"twins"}}, true)
	if r.code != 303 {
		t.Fatalf("register: %d %s", r.code, r.body)
	}
	page = vd.get(wp)
	if !strings.Contains(page.body, `badge mch-yellow`) || !strings.Contains(page.body, `id="visit-form"`) {
		t.Fatal("the page lacks the yellow grade or the visit form")
	}
	var got struct {
		Pregnancies []struct {
			ID  int64     `json:"id"`
			EDD care.Date `json:"edd"`
		} `json:"pregnancies"`
		Current int64 `json:"current_pregnancy_id"`
	}
	if r := vd.get("/api/v1/residents/" + strconv.Itoa(woman) + "/mch"); r.code != 200 || json.Unmarshal([]byte(r.body), &got) != nil || len(got.Pregnancies) != 1 {
		t.Fatalf("API read: %d %s", r.code, r.body)
	}
	pid := strconv.FormatInt(got.Current, 10)
	if r := vd.postJSON("/api/v1/pregnancies/"+pid+"/visits", map[string]any{"kind": "postpartum", "date": today.String()}); r.code != 422 || fieldCodes(r) != "maternal.postpartum_before_delivery" {
		t.Fatalf("postpartum before delivery: %d %s", r.code, r.body)
	}
	if r := vd.postJSON("/api/v1/pregnancies/"+pid+"/visits", map[string]any{"kind": "antenatal1", "date": today.String(), "weight_g": 53000, "sbp": 150, "dbp": 95}); r.code != 201 ||
		!strings.Contains(r.body, `"hypertension"`) {
		t.Fatalf("first visit: %d %s", r.code, r.body)
	}
	if r := vd.postJSON("/api/v1/pregnancies/"+pid+"/delivery", map[string]any{"date": today.String(), "mode": "vaginal", "outcome": "live"}); r.code != 422 || fieldCodes(r) != "maternal.delivery_early" {
		t.Fatalf("birth at 9 weeks: %d %s", r.code, r.body)
	}
	// The child: registered from the form, a check through the form, the chart.
	kp := "/residents/" + strconv.Itoa(kid) + "/mch"
	if r := vd.postForm("/residents/"+strconv.Itoa(kid)+"/child", url.Values{"birth_weight": {"3.2"}, "birth_length": {"50"}, "gest_weeks": {"39"}}, true); r.code != 303 {
		t.Fatalf("register child: %d %s", r.code, r.body)
	}
	cid := e.count(`SELECT id FROM mch_children WHERE resident_id = %d`, kid)
	m := regexp.MustCompile(`<option value="([a-z0-9]+)" selected>`).FindStringSubmatch(vd.get(kp).body)
	if m == nil {
		t.Fatal("the check form preselects no kind")
	}
	kind := m[1]
	if r := vd.postForm(fmt.Sprintf("/children/%d/checks", cid), url.Values{"kind": {kind}, "date": {today.String()}, "weight": {"95"}}, true); r.code != 422 ||
		!strings.Contains(r.body, `id="weight-error"`) {
		t.Fatalf("95-kg child: %d", r.code)
	}
	if r := vd.postJSON(fmt.Sprintf("/api/v1/children/%d/checks", cid), map[string]any{"kind": kind, "date": today.String(), "weight_g": 14000, "length_mm": 950}); r.code != 201 ||
		!strings.Contains(r.body, `"waz"`) {
		t.Fatalf("check (%s): %d %s", kind, r.code, r.body)
	}
	if p := vd.get(kp); !strings.Contains(p.body, `<svg class="growth"`) || !strings.Contains(p.body, `id="checks"`) {
		t.Fatal("no growth chart or checks on the child's page")
	}
	// The work lists.
	for _, role := range []care.Role{care.RoleVillageDoctor, care.RoleTownshipDoctor, care.RoleCountySpecialist} {
		if r := e.as(role).get("/mch"); r.code != 200 {
			t.Errorf("/mch as %s: %d", role, r.code)
		}
		if r := e.as(role).get("/api/v1/mch/overdue"); r.code != 200 {
			t.Errorf("/api/v1/mch/overdue as %s: %d", role, r.code)
		}
	}
	an := e.as(care.RoleAnalyst)
	if r := an.get("/mch"); r.code != 403 {
		t.Errorf("/mch as analyst: %d", r.code)
	}
	if r := an.get(wp); r.code != 403 {
		t.Errorf("MCH page as analyst: %d", r.code)
	}
	if r := e.as(care.RoleCountySpecialist).postJSON("/api/v1/pregnancies/"+pid+"/visits", map[string]any{"kind": "antenatal2", "date": today.String()}); r.code != 403 {
		t.Errorf("county specialist writes a visit: %d", r.code)
	}
	for _, act := range []string{"maternal.register", "maternal.visit", "maternal.read", "childhealth.register", "childhealth.check", "childhealth.read", "maternal.overdue", "childhealth.overdue", "maternal.high_risk"} {
		if n := e.count(`SELECT COUNT(*) FROM audit_events WHERE action = '%s'`, act); n == 0 {
			t.Errorf("no %s audit row", act)
		}
	}
}
