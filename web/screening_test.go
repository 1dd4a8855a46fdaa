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

// TestScreeningPagesAndAPI: a township doctor plans a campaign from the
// form (a campaign without a disease refused with the field named); the
// campaign's page shows coverage per village with "no data" where nothing
// was screened; a village doctor records a screening on the resident's
// page (a random glucose of 12.0 mmol/L: suspected diabetes, 规范第三版 2 型
// 糖尿病 筛查) and, through the API, an impossible pressure is refused with
// nothing stored; the township's follow-up list shows the case, which it
// confirms (the resident enrolled in the registry); roles without a part
// get 403, a campaign out of scope 404, audited. Both databases.
func TestScreeningPagesAndAPI(t *testing.T) {
	for _, d := range []store.Dialect{store.SQLite, store.Postgres} {
		t.Run(string(d), func(t *testing.T) { testScreening(t, d) })
	}
}

func testScreening(t *testing.T, d store.Dialect) {
	e := newEnv(t, d)
	vd, td := e.as(care.RoleVillageDoctor), e.as(care.RoleTownshipDoctor)
	today := care.Today(time.Now())
	first := firstResident(t, vd)
	village := e.count(`SELECT village_id FROM residents WHERE id = %s`, first)
	adult := e.count(`SELECT COALESCE(MIN(r.id), 0) FROM residents r WHERE r.village_id = %d AND r.status = 'active' AND r.birth_date <= '%s'
		AND NOT EXISTS (SELECT 1 FROM chronic_registrations g WHERE g.resident_id = r.id AND g.status = 'active')`,
		village, today.Time().AddDate(-50, 0, 0).Format("2006-01-02"))
	if adult == 0 {
		t.Fatal("no unregistered resident over 50 in the demo village")
	}
	if r := td.get("/screening"); r.code != 200 || !strings.Contains(r.body, `id="plan-form"`) || !strings.Contains(r.body, fmt.Sprintf(`value="%d"`, village)) {
		t.Fatalf("township's screening page %d (the plan form must offer the village)", r.code)
	}
	form := url.Values{"name": {"入户筛查"}, "villages": {strconv.Itoa(village)}, "starts_on": {today.AddDays(-5).String()}, "ends_on": {today.AddDays(30).String()}}
	if r := td.postForm("/screening/campaigns", form, true); r.code != 422 || !strings.Contains(r.body, `id="diseases-error"`) {
		t.Fatalf("campaign without a disease: %d", r.code)
	}
	form["diseases"] = []string{"hypertension", "diabetes"}
	r := td.postForm("/screening/campaigns", form, true)
	m := regexp.MustCompile(`^/screening/campaigns/(\d+)`).FindStringSubmatch(r.header.Get("Location"))
	if r.code != 303 || m == nil {
		t.Fatalf("plan: %d %s", r.code, r.body)
	}
	cp := "/screening/campaigns/" + m[1]
	page := td.get(cp)
	if page.code != 200 || !strings.Contains(page.body, `id="coverage"`) || !strings.Contains(page.body, "无数据") || !strings.Contains(page.body, `id="coverage-chart"`) {
		t.Fatalf("campaign page %d: no coverage table, no-data cell or chart", page.code)
	}
	// The village doctor's resident page: the record form for the campaign.
	rp := fmt.Sprintf("/residents/%d/screening", adult)
	if r := vd.get(rp); r.code != 200 || !strings.Contains(r.body, `id="record-form"`) {
		t.Fatalf("resident's screening page %d", r.code)
	}
	if r := vd.postForm(rp, url.Values{"campaign": {m[1]}, "sbp1": {"128"}, "dbp1": {"82"}, "sbp2": {"126"}, "dbp2": {"80"},
		"glucose": {"12.0"}, "meal_hours": {"2"}}, true); r.code != 303 {
		t.Fatalf("record: %d %s", r.code, r.body)
	}
	if r := vd.get(rp); !strings.Contains(r.body, `id="cases"`) || !strings.Contains(r.body, `screening-suspected`) {
		t.Fatal("the resident's page shows no suspected case")
	}
	api := "/api/v1/screening/campaigns/" + m[1] + "/measurements"
	if r := vd.postJSON(api, map[string]any{"resident_id": adult, "sbp1": 400, "dbp1": 80, "sbp2": 130, "dbp2": 80}); r.code != 422 || fieldCodes(r) != "screening.sbp_range" {
		t.Fatalf("SBP 400: %d %s", r.code, r.body)
	}
	if n := e.count(`SELECT COUNT(*) FROM screening_measurements`); n != 1 {
		t.Fatalf("measurements stored %d, want 1", n)
	}
	// The township's follow-up list and the confirmation.
	var fu struct {
		Cases []struct {
			ID      int64  `json:"id"`
			Disease string `json:"disease"`
			Overdue bool   `json:"overdue"`
		} `json:"cases"`
	}
	if r := td.get("/api/v1/screening/follow-ups"); r.code != 200 || json.Unmarshal([]byte(r.body), &fu) != nil || len(fu.Cases) != 1 || fu.Cases[0].Disease != "diabetes" {
		t.Fatalf("follow-ups: %d %s", r.code, r.body)
	}
	if r := td.get("/screening/follow-ups"); r.code != 200 || !strings.Contains(r.body, `id="follow-ups"`) {
		t.Fatalf("follow-up page %d", r.code)
	}
	cid := strconv.FormatInt(fu.Cases[0].ID, 10)
	if r := td.postJSON("/api/v1/screening/cases/"+cid+"/rule-out", map[string]any{}); r.code != 422 || fieldCodes(r) != "screening.reason_required" {
		t.Fatalf("rule out without a reason: %d %s", r.code, r.body)
	}
	if r := td.postForm("/screening/cases/"+cid+"/confirm", url.Values{"on": {today.String()}}, true); r.code != 303 {
		t.Fatalf("confirm: %d %s", r.code, r.body)
	}
	if n := e.count(`SELECT COUNT(*) FROM chronic_registrations WHERE resident_id = %d AND disease = 'diabetes' AND source = 'screening'`, adult); n != 1 {
		t.Fatalf("registrations after confirmation %d", n)
	}
	var cov struct {
		Total struct {
			Screened  int `json:"screened"`
			Confirmed int `json:"confirmed"`
		} `json:"total"`
	}
	if r := vd.get("/api/v1/screening/campaigns/" + m[1] + "/coverage"); r.code != 200 || json.Unmarshal([]byte(r.body), &cov) != nil || cov.Total.Screened != 1 || cov.Total.Confirmed != 1 {
		t.Fatalf("coverage: %d %s", r.code, r.body)
	}
	// Authorization: roles without a part, a campaign out of scope.
	if r := vd.get("/screening/follow-ups"); r.code != 403 {
		t.Errorf("village doctor's follow-ups: %d", r.code)
	}
	if r := e.as(care.RoleAnalyst).get("/screening"); r.code != 403 {
		t.Errorf("analyst: %d", r.code)
	}
	if r := td.postForm(rp, url.Values{"campaign": {m[1]}, "sbp1": {"128"}}, true); r.code != 403 {
		t.Errorf("township records: %d", r.code)
	}
	if r := vd.get("/screening/campaigns/999999"); r.code != 404 {
		t.Errorf("campaign out of scope: %d", r.code)
	}
	if n := e.count(`SELECT COUNT(*) FROM audit_events WHERE action = 'screening.read' AND outcome = 'denied'`); n < 1 {
		t.Error("the out-of-scope read was not audited")
	}
	for _, a := range []string{"screening.plan", "screening.measure", "screening.confirm", "screening.follow_ups", "screening.coverage"} {
		if n := e.count(`SELECT COUNT(*) FROM audit_events WHERE action = '%s' AND outcome = 'ok'`, a); n < 1 {
			t.Errorf("no audit row %s", a)
		}
	}
}
