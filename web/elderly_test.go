package web_test

import (
	"context"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"countycare/care"
	"countycare/store"
)

// TestElderlyPagesAndAPI: a village doctor records the yearly check-up of
// a resident aged 65+ from the form (国家基本公共卫生服务规范 第三版,
// 老年人健康管理服务规范: a 15-kg adult 3 m tall refused with the fields
// named and nothing stored), with the 33 TCM answers whose constitution
// and guidance show on the page; a second one that year is refused
// through the API; the roster lists the resident done and the suspected
// list names the high blood pressure; the analyst and the county
// specialist may not read the roster; a resident of another village is
// not found (and the refusal audited); /me shows a resident aged 65+ the
// section; every read and write audited. Both databases.
func TestElderlyPagesAndAPI(t *testing.T) {
	for _, d := range []store.Dialect{store.SQLite, store.Postgres} {
		t.Run(string(d), func(t *testing.T) { testElderly(t, d) })
	}
}

func testElderly(t *testing.T, d store.Dialect) {
	e := newEnv(t, d)
	vd := e.as(care.RoleVillageDoctor)
	rid := firstResident(t, vd)
	today := care.Today(time.Now())
	bornBy := fmt.Sprintf("%d-12-31", today.Year-65)
	village := fmt.Sprintf(`(SELECT village_id FROM residents WHERE id = %s)`, rid)
	old := e.count(`SELECT COALESCE(MIN(id), 0) FROM residents r WHERE village_id = %s AND birth_date <= '%s' AND status = 'active'
		AND NOT EXISTS (SELECT 1 FROM elderly_checkups e WHERE e.resident_id = r.id AND e.year = %d)`, village, bornBy, today.Year)
	other := e.count(`SELECT COALESCE(MIN(id), 0) FROM residents WHERE village_id <> %s AND birth_date <= '%s'`, village, bornBy)
	if old == 0 || other == 0 {
		t.Fatalf("demo county lacks an unchecked resident aged 65+ (%d) or one elsewhere (%d)", old, other)
	}
	p := "/residents/" + strconv.Itoa(old) + "/elderly"
	if r := vd.get(p); r.code != 200 || !strings.Contains(r.body, `id="checkup-form"`) {
		t.Fatalf("elderly page: %d", r.code)
	}
	form := url.Values{"date": {today.String()}, "symptoms": {"dizziness"}, "temp": {"36.6"}, "pulse": {"78"}, "sbp_left": {"148"}, "dbp_left": {"92"},
		"sbp_right": {"152"}, "dbp_right": {"94"}, "height": {"300"}, "weight": {"15"}, "waist": {"88"}, "cognitive": {"negative"}, "depression": {"negative"},
		"smoking": {"never"}, "lab_fpg": {"5.6"}, "guidance": {"recheck", "next_checkup"}, "risks": {"diet"}}
	for _, it := range []string{"eating", "grooming", "dressing", "toileting", "moving"} {
		form.Set("self_care_"+it, "0")
	}
	r := vd.postForm(p, form, true)
	if r.code != 422 || !strings.Contains(r.body, `id="height-error"`) || !strings.Contains(r.body, `id="weight-error"`) {
		t.Fatalf("15-kg, 3-m adult: %d", r.code)
	}
	if n := e.count(`SELECT COUNT(*) FROM elderly_checkups WHERE resident_id = %d`, old); n != 0 {
		t.Fatalf("a refused check-up stored %d", n)
	}
	form.Set("height", "165.5")
	form.Set("weight", "62.4")
	for i := 1; i <= 33; i++ {
		form.Set(fmt.Sprintf("tcm_%d", i), "2")
	}
	form.Set("tcm_11", "4")
	form.Set("tcm_12", "4")
	form.Set("tcm_29", "3") // 阳虚质 4+4+2+3 = 13: 是
	if r := vd.postForm(p, form, true); r.code != 303 {
		t.Fatalf("record: %d %s", r.code, r.body)
	}
	page := vd.get(p)
	if !strings.Contains(page.body, fmt.Sprintf(`id="checkup-%d"`, today.Year)) || !strings.Contains(page.body, `id="tcm-guidance"`) ||
		!strings.Contains(page.body, "阳虚质") || strings.Contains(page.body, `id="checkup-form"`) {
		t.Fatal("the page lacks the check-up or the TCM guidance, or still offers the form")
	}
	if en := vd.do("GET", p, "", nil, map[string]string{"Cookie": "cc_lang=en"}); !strings.Contains(en.body, "Yang deficiency") {
		t.Error("no English constitution")
	}
	if r := vd.postJSON("/api/v1/residents/"+strconv.Itoa(old)+"/elderly", map[string]any{"date": today.String(), "form": map[string]any{}}); r.code != 422 {
		t.Errorf("empty form: %d %s", r.code, r.body)
	}
	good := map[string]any{"date": today.String(), "form": map[string]any{"sbp_left": 120, "dbp_left": 80, "height_mm": 1650, "weight_g": 60000,
		"self_care": []int{0, 0, 0, 0, 0}, "cognitive": "negative", "depression": "negative"}}
	if r := vd.postJSON("/api/v1/residents/"+strconv.Itoa(old)+"/elderly", good); r.code != 409 {
		t.Errorf("second check-up this year: %d %s", r.code, r.body)
	}
	if r := vd.get("/api/v1/residents/" + strconv.Itoa(old) + "/elderly"); r.code != 200 || !strings.Contains(r.body, `"yang_deficiency"`) || !strings.Contains(r.body, `"status":"done"`) {
		t.Errorf("API read: %d %s", r.code, r.body)
	}
	// The roster and the suspected list.
	if r := vd.get("/elderly?status=done"); r.code != 200 || !strings.Contains(r.body, fmt.Sprintf(`href="/residents/%d/elderly"`, old)) {
		t.Errorf("roster: %d", r.code)
	}
	if r := vd.get("/elderly?status=later"); r.code != 422 {
		t.Errorf("unknown status: %d", r.code)
	}
	if r := vd.get("/api/v1/elderly/suspected"); r.code != 200 || !strings.Contains(r.body, fmt.Sprintf(`"resident_id":%d`, old)) || !strings.Contains(r.body, `"hypertension"`) {
		t.Errorf("suspected: %d %s", r.code, r.body)
	}
	// The suspected case went to the township for confirmation, as the
	// spec's referral for diagnosis (screening.Service.RouteSuspected).
	if r := e.as(care.RoleTownshipDoctor).get("/api/v1/screening/follow-ups"); r.code != 200 || !strings.Contains(r.body, fmt.Sprintf(`"resident_id":%d`, old)) ||
		!strings.Contains(r.body, `"source":"checkup"`) || !strings.Contains(r.body, `"rule":"elderly.Config.Suspect"`) {
		t.Errorf("the suspected case was not routed to the township: %d %s", r.code, r.body)
	}
	if r := e.as(care.RoleTownshipDoctor).get("/api/v1/elderly/roster?status=overdue"); r.code != 200 || !strings.Contains(r.body, `"counts"`) {
		t.Errorf("township roster: %d", r.code)
	}
	// Pages: the second is empty but counted; a page that is not a number
	// is refused with the field named.
	if r := e.as(care.RoleTownshipDoctor).get("/api/v1/elderly/roster?page=1"); r.code != 200 || !strings.Contains(r.body, `"page":1`) || !strings.Contains(r.body, `"rows":[]`) {
		t.Errorf("township roster page 2: %d %s", r.code, r.body)
	}
	if r := e.as(care.RoleTownshipDoctor).get("/api/v1/elderly/roster?page=x"); r.code != 422 || !strings.Contains(r.body, `"page"`) {
		t.Errorf("roster page x: %d %s", r.code, r.body)
	}
	for _, role := range []care.Role{care.RoleAnalyst, care.RoleCountySpecialist} {
		if r := e.as(role).get("/elderly"); r.code != 403 {
			t.Errorf("/elderly as %s: %d", role, r.code)
		}
	}
	// Another village's resident: not found, and the refusal audited.
	if r := vd.get(fmt.Sprintf("/residents/%d/elderly", other)); r.code != 404 {
		t.Errorf("other village's resident: %d", r.code)
	}
	if r := vd.postJSON(fmt.Sprintf("/api/v1/residents/%d/elderly", other), good); r.code != 404 {
		t.Errorf("other village's write: %d", r.code)
	}
	if n := e.count(`SELECT COUNT(*) FROM audit_events WHERE resident_id = %d AND outcome <> 'ok'`, other); n == 0 {
		t.Error("no audit row for the refusal")
	}
	// /me of a resident aged 65+.
	me := e.as(care.RoleResident)
	mine := e.count(`SELECT resident_id FROM accounts WHERE username = '%s'`, e.users[care.RoleResident])
	if err := e.st.ExecForTest(context.Background(), fmt.Sprintf(`UPDATE residents SET birth_date = '1950-05-05' WHERE id = %d`, mine)); err != nil {
		t.Fatal(err)
	}
	if r := me.get("/me"); r.code != 200 || !strings.Contains(r.body, `id="elderly"`) {
		t.Errorf("/me lacks the elderly section: %d", r.code)
	}
	for _, act := range []string{"elderly.checkup", "elderly.read", "elderly.roster", "elderly.suspected"} {
		if n := e.count(`SELECT COUNT(*) FROM audit_events WHERE action = '%s'`, act); n == 0 {
			t.Errorf("no %s audit row", act)
		}
	}
}
