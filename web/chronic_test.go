package web_test

import (
	"encoding/json"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"countycare/care"
	"countycare/store"
)

// TestChronicPages: a village doctor enrols a resident from the resident
// page, records a follow-up with an urgent reading, sees the unmissable
// alert and the red tier, and the county hospital sees the hand-off.
func TestChronicPages(t *testing.T) {
	e := newEnv(t, store.SQLite)
	vd := e.as(care.RoleVillageDoctor)
	home := vd.get("/")
	vd.csrf = regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(home.body)[1]
	list := vd.get("/residents?group=elderly65")
	m := regexp.MustCompile(`href="/residents/(\d+)"`).FindStringSubmatch(list.body)
	if m == nil {
		t.Fatal("no elderly resident in the village")
	}
	rid := m[1]
	page := vd.get("/residents/" + rid)
	if page.code != 200 || !strings.Contains(page.body, "纳入慢病管理") {
		t.Fatalf("resident page: %d", page.code)
	}
	today := care.Today(time.Now()).String()
	r := vd.postForm("/residents/"+rid+"/chronic", url.Values{"disease": {"hypertension"}, "source": {"diagnosis"}, "enrolled_on": {today}}, true)
	if r.code != 303 {
		t.Fatalf("enrol: %d %s", r.code, r.body)
	}
	reg := strings.TrimSuffix(r.header.Get("Location"), "?ok=enrolled")
	if r := vd.postForm(reg+"/visits", url.Values{"date": {today}, "mode": {"face"}, "sbp": {"400"}, "dbp": {"20"}}, true); r.code != 422 || !strings.Contains(r.body, "数值应在") {
		t.Errorf("impossible BP: %d", r.code)
	}
	if r := vd.postForm(reg+"/visits", url.Values{"date": {today}, "mode": {"face"}, "sbp": {"262"}, "dbp": {"128"}}, true); r.code != 422 || !strings.Contains(r.body, `id="confirm"`) {
		t.Errorf("extreme BP without confirmation: %d", r.code)
	}
	r = vd.postForm(reg+"/visits", url.Values{"date": {today}, "mode": {"face"}, "sbp": {"262"}, "dbp": {"128"}, "confirm": {"1"}, "symptoms": {"chest_tightness"}}, true)
	if r.code != 303 || !strings.Contains(r.header.Get("Location"), "visit_urgent") {
		t.Fatalf("urgent visit: %d %s", r.code, r.header.Get("Location"))
	}
	detail := vd.get(reg)
	if !strings.Contains(detail.body, `id="urgent"`) || !strings.Contains(detail.body, "胸闷") || !strings.Contains(detail.body, "红标") {
		t.Errorf("urgent alert or red tier missing on the registration page")
	}
	if r := vd.postForm(reg+"/visits", url.Values{"date": {today}, "mode": {"face"}, "sbp": {"130"}, "dbp": {"80"}}, true); r.code != 409 {
		t.Errorf("second visit the same day: %d", r.code)
	}
	cs := e.as(care.RoleCountySpecialist)
	if h := cs.get("/chronic/handoffs"); h.code != 200 || !strings.Contains(h.body, "确认接收") {
		t.Errorf("county hand-offs: %d", h.code)
	}
	if h := cs.get(reg); h.code != 200 {
		t.Errorf("county specialist reads the red-tier registration: %d", h.code)
	}
	for _, p := range []string{"/chronic/overdue", "/chronic/board", "/chronic/handoffs"} {
		if r := vd.get(p); r.code != 200 {
			t.Errorf("GET %s: %d", p, r.code)
		}
	}
	if r := e.as(care.RoleAnalyst).get(reg); r.code != 403 {
		t.Errorf("analyst reads a registration: %d", r.code)
	}
}

// TestChronicAPIAndIndicators: the JSON API enrols and records follow-ups
// with the same validation as the forms, and the indicators page and API
// give each role only its own area's aggregates.
func TestChronicAPIAndIndicators(t *testing.T) {
	e := newEnv(t, store.SQLite)
	vd := e.as(care.RoleVillageDoctor)
	list := vd.get("/api/v1/residents?group=elderly65")
	m := regexp.MustCompile(`"id":(\d+)`).FindStringSubmatch(list.body)
	if m == nil {
		t.Fatalf("no elderly resident: %s", list.body)
	}
	rid := m[1]
	today := care.Today(time.Now())
	r := vd.postJSON("/api/v1/residents/"+rid+"/chronic", map[string]any{"disease": "diabetes", "source": "diagnosis", "enrolled_on": today.AddDays(-30).String()})
	if r.code != 201 {
		t.Fatalf("enrol: %d %s", r.code, r.body)
	}
	var reg struct{ ID int64 }
	json.Unmarshal([]byte(r.body), &reg)
	path := "/api/v1/chronic/" + strconv.FormatInt(reg.ID, 10)
	if r := vd.postJSON(path+"/visits", map[string]any{"date": today.String(), "fpg": 0.4}); r.code != 422 {
		t.Errorf("FPG 0.4: %d %s", r.code, r.body)
	}
	if r := vd.postJSON(path+"/visits", map[string]any{"date": today.AddDays(1).String(), "fpg": 6.1}); r.code != 422 {
		t.Errorf("future visit: %d %s", r.code, r.body)
	}
	if r := vd.postJSON(path+"/visits", map[string]any{"date": today.String(), "fpg": 6.12}); r.code != 422 {
		t.Errorf("two decimals: %d %s", r.code, r.body)
	}
	r = vd.postJSON(path+"/visits", map[string]any{"date": today.String(), "fpg": 8.2, "sbp": 150, "dbp": 92})
	if r.code != 201 || !strings.Contains(r.body, `"class":"uncontrolled"`) || !strings.Contains(r.body, `"next_visit":"`+today.AddDays(14).String()) {
		t.Fatalf("visit: %d %s", r.code, r.body)
	}
	if r := vd.postJSON(path+"/visits", map[string]any{"date": today.String(), "fpg": 6.0, "sbp": 130, "dbp": 80}); r.code != 409 {
		t.Errorf("second visit the same day: %d %s", r.code, r.body)
	}
	if g := vd.get(path); g.code != 200 || !strings.Contains(g.body, `"tier":"yellow"`) || !strings.Contains(g.body, `"tier_changes":[{`) {
		t.Errorf("registration: %d %s", g.code, g.body)
	}
	if g := vd.get("/api/v1/residents/" + rid + "/chronic"); g.code != 200 || !strings.Contains(g.body, `"disease":"diabetes"`) {
		t.Errorf("registrations: %d %s", g.code, g.body)
	}
	if g := e.as(care.RoleAnalyst).get(path); g.code != 403 {
		t.Errorf("analyst reads a registration: %d", g.code)
	}

	// Indicators: this year's period; the village doctor sees one unit, the analyst the county first.
	vi := vd.get("/api/v1/chronic/indicators")
	if vi.code != 200 || strings.Count(vi.body, `"institution_id"`) != 1 || !strings.Contains(vi.body, `"diabetes":{"controlled":{"basis_points":0,"denominator":1,"numerator":0}`) {
		t.Errorf("village indicators: %d %s", vi.code, vi.body)
	}
	an := e.as(care.RoleAnalyst)
	ai := an.get("/api/v1/chronic/indicators?from=" + today.AddDays(-364).String() + "&to=" + today.String())
	if ai.code != 200 || !strings.Contains(ai.body, `"kind":"county"`) {
		t.Errorf("analyst indicators: %d %s", ai.code, ai.body)
	}
	// 健康管理率 is never above 100 % and carries its derivation: the
	// denominator is max(residents 35+ × prevalence, patients under management) (issue 18).
	for _, body := range []string{vi.body, ai.body} {
		var out struct {
			Units []struct {
				Name     string
				Diseases map[string]struct {
					Managed       int
					HealthManaged *struct {
						Numerator, Denominator int
						BasisPoints            int  `json:"basis_points"`
						EstimatedPatients      int  `json:"estimated_patients"`
						PrevalenceBasisPoints  int  `json:"prevalence_basis_points"`
						Raised                 bool `json:"estimate_raised_to_managed"`
					} `json:"health_managed"`
				}
			}
		}
		if err := json.Unmarshal([]byte(body), &out); err != nil {
			t.Fatal(err)
		}
		checked := 0
		for _, u := range out.Units {
			for d, c := range u.Diseases {
				hm := c.HealthManaged
				if hm == nil || hm.Denominator == 0 {
					continue
				}
				checked++
				if hm.BasisPoints > 10000 || hm.Numerator != c.Managed || hm.Denominator != max(hm.EstimatedPatients, c.Managed) ||
					hm.PrevalenceBasisPoints == 0 || hm.Raised != (hm.EstimatedPatients < c.Managed) {
					t.Errorf("%s %s: health management %+v, managed %d", u.Name, d, *hm, c.Managed)
				}
			}
		}
		if checked == 0 {
			t.Errorf("no health-management rate in %s", body)
		}
	}
	if bad := an.get("/api/v1/chronic/indicators?from=2026-05-01&to=2026-04-01"); bad.code != 422 {
		t.Errorf("reversed period: %d", bad.code)
	}
	page := an.get("/chronic/indicators")
	if page.code != 200 || !strings.Contains(page.body, "规范管理率") || !strings.Contains(page.body, "健康管理率") ||
		!strings.Contains(page.body, "辖区患者数（分母）") || !regexp.MustCompile(`18 岁及以上常住居民 \d+ 人 × 患病率 27\.9% = 估算 \d+ 人`).MatchString(page.body) {
		t.Errorf("indicators page: %d", page.code)
	}
	if bad := an.get("/chronic/indicators?from=2026-05-01&to=2026-04-01"); bad.code != 422 || !strings.Contains(bad.body, `value="2026-05-01"`) {
		t.Errorf("indicators page keeps the period after an error: %d", bad.code)
	}
	if r := e.as(care.RoleInsuranceOfficer).get("/chronic/indicators"); r.code != 403 {
		t.Errorf("insurance officer: %d", r.code)
	}
	// Reminders to overdue patients: the page's button and the API; the weekly limit holds.
	home := vd.get("/")
	vd.csrf = regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(home.body)[1]
	if r := vd.postForm("/chronic/reminders", url.Values{}, true); r.code != 200 || !strings.Contains(r.body, `id="reminded"`) {
		t.Errorf("reminders page: %d", r.code)
	}
	if r := vd.postJSON("/api/v1/chronic/reminders", map[string]any{}); r.code != 200 || !strings.Contains(r.body, `"queued":0`) {
		t.Errorf("reminders again the same week: %d %s", r.code, r.body)
	}
	if r := an.postJSON("/api/v1/chronic/reminders", map[string]any{}); r.code != 403 {
		t.Errorf("analyst sends reminders: %d", r.code)
	}
	// A follow-up's proposed referral opens the referral form with its reason ticked.
	if r := vd.get("/residents/" + rid + "/referrals/new?chronic=1"); r.code != 200 || !strings.Contains(r.body, `value="chronic_two_uncontrolled" checked`) {
		t.Errorf("referral form from a follow-up: %d", r.code)
	}
}
