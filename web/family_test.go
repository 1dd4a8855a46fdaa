package web_test

import (
	"encoding/json"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"countycare/care"
	"countycare/family"
	"countycare/store"
)

// TestFamilyPages: a village doctor signs a contract from the resident
// page (refused without consent), records services (a duplicate is
// refused), sees delivered vs promised, and the shortfall list; analysts
// see aggregates without names; the API returns the panel.
func TestFamilyPages(t *testing.T) {
	e := newEnv(t, store.SQLite)
	vd := e.as(care.RoleVillageDoctor)
	list := vd.get("/residents?group=elderly65")
	m := regexp.MustCompile(`href="/residents/(\d+)"`).FindStringSubmatch(list.body)
	if m == nil {
		t.Fatal("no elderly resident in the village")
	}
	rid := m[1]
	page := vd.get("/residents/" + rid)
	if page.code != 200 || !strings.Contains(page.body, `id="sign-form"`) || !strings.Contains(page.body, "家庭医生签约") {
		t.Fatalf("resident page without the sign form: %d", page.code)
	}
	team := regexp.MustCompile(`name="team_id"><option value="(\d+)"`).FindStringSubmatch(page.body)
	pkg := regexp.MustCompile(`name="package_id"><option value="(\d+)"`).FindStringSubmatch(page.body)
	if team == nil || pkg == nil {
		t.Fatal("no team or package offered")
	}
	today := care.Today(time.Now())
	form := url.Values{"team_id": {team[1]}, "package_id": {pkg[1]}, "start": {today.String()}, "end": {family.MinEnd(today).String()},
		"consent_at": {time.Now().In(care.Shanghai).Add(-time.Minute).Format("2006-01-02T15:04")}}
	if r := vd.postForm("/residents/"+rid+"/family/contracts", form, true); r.code != 422 || !strings.Contains(r.body, "未记录知情同意") {
		t.Errorf("contract without consent: %d", r.code)
	}
	short := url.Values{}
	for k, v := range form {
		short[k] = v
	}
	short.Set("consent_by", "self")
	short.Set("consent_method", "paper_signature")
	short.Set("end", today.AddDays(300).String())
	if r := vd.postForm("/residents/"+rid+"/family/contracts", short, true); r.code != 422 || !strings.Contains(r.body, "至少一年") {
		t.Errorf("contract under a year: %d", r.code)
	}
	short.Set("end", family.MinEnd(today).String())
	if r := vd.postForm("/residents/"+rid+"/family/contracts", short, true); r.code != 303 {
		t.Fatalf("sign: %d %s", r.code, r.body)
	}
	if r := vd.postForm("/residents/"+rid+"/family/services", url.Values{"kind": {"checkup"}, "date": {today.String()}}, true); r.code != 303 {
		t.Fatalf("record a service: %d", r.code)
	}
	if r := vd.postForm("/residents/"+rid+"/family/services", url.Values{"kind": {"checkup"}, "date": {today.String()}}, true); r.code != 409 {
		t.Errorf("duplicate service: %d", r.code)
	}
	if r := vd.postForm("/residents/"+rid+"/family/services", url.Values{"kind": {"education"}, "date": {today.AddDays(1).String()}}, true); r.code != 422 {
		t.Errorf("future service: %d", r.code)
	}
	page = vd.get("/residents/" + rid)
	if !strings.Contains(page.body, `id="fulfilment"`) || !strings.Contains(page.body, `id="key-shortfall"`) || !strings.Contains(page.body, "健康体检") {
		t.Errorf("contract panel missing fulfilment or the key-group alert")
	}
	if r := vd.get("/family/shortfall"); r.code != 200 || !strings.Contains(r.body, "/residents/"+rid+"#family") {
		t.Errorf("shortfall list: %d", r.code)
	}
	api := vd.get("/api/v1/residents/" + rid + "/family")
	var out struct {
		Contracts []struct {
			Status string `json:"status"`
		} `json:"contracts"`
		Lines []struct {
			Kind      string `json:"kind"`
			Delivered int    `json:"delivered"`
		} `json:"lines"`
	}
	if err := json.Unmarshal([]byte(api.body), &out); err != nil || api.code != 200 || len(out.Contracts) != 1 || out.Contracts[0].Status != "active" {
		t.Errorf("API panel: %d %s", api.code, api.body)
	}
	an := e.as(care.RoleAnalyst)
	ind := an.get("/family/indicators")
	if ind.code != 200 || !strings.Contains(ind.body, `id="indicators"`) || strings.Contains(ind.body, "/residents/") {
		t.Errorf("analyst indicators: %d", ind.code)
	}
	if r := an.get("/api/v1/family/indicators"); r.code != 200 || !strings.Contains(r.body, `"coverage"`) {
		t.Errorf("indicators API: %d %s", r.code, r.body)
	}
	for _, p := range []string{"/residents/" + rid, "/api/v1/residents/" + rid + "/family", "/family/shortfall"} {
		if r := an.get(p); r.code != 403 {
			t.Errorf("analyst GET %s: %d", p, r.code)
		}
	}
	if r := vd.get("/family/indicators"); r.code != 403 {
		t.Errorf("village doctor indicators: %d", r.code)
	}
	if r := e.as(care.RoleAdmin).get("/api/v1/residents/" + rid + "/family"); r.code != 403 {
		t.Errorf("admin reads a contract: %d", r.code)
	}
	ad := e.as(care.RoleAdmin)
	if r := ad.get("/family/teams"); r.code != 200 || !strings.Contains(r.body, "家庭医生团队 1") {
		t.Errorf("teams page: %d", r.code)
	}
	if r := ad.get("/family/teams/new"); r.code != 200 || !strings.Contains(r.body, `name="owner"`) {
		t.Errorf("new team page: %d", r.code)
	}
	td := e.as(care.RoleTownshipDoctor)
	if r := td.get("/family/indicators"); r.code != 200 {
		t.Errorf("township indicators: %d", r.code)
	}
	// A township doctor creates a team for their center from the form.
	owner := regexp.MustCompile(`name="owner"><option value="(\d+)"`).FindStringSubmatch(td.get("/family/teams/new").body)
	if owner == nil {
		t.Fatal("no owner offered to the township doctor")
	}
	form2 := td.get("/family/teams/new?owner=" + owner[1])
	cands := regexp.MustCompile(`name="leader_id"><option value="(\d+)"[^>]*>[^<]*</option><option value="(\d+)"`).FindStringSubmatch(form2.body)
	if cands == nil {
		t.Fatalf("no candidates on the team form: %d", form2.code)
	}
	vals := url.Values{"name": {"新团队"}, "institution_id": {owner[1]}, "leader_id": {cands[1]}, "active": {"1"},
		"member_id": {cands[1], cands[2], ""}, "member_role": {"doctor", "nurse", "doctor"}}
	if r := td.postForm("/family/teams", vals, true); r.code != 303 {
		t.Errorf("create a team: %d", r.code)
	}
	vals.Set("leader_id", "999999")
	if r := td.postForm("/family/teams", vals, true); r.code != 422 {
		t.Errorf("a leader outside the team: %d", r.code)
	}
	if r := vd.postForm("/family/teams", vals, true); r.code != 403 {
		t.Errorf("village doctor creates a team: %d", r.code)
	}
	if r := td.get("/family/teams"); !strings.Contains(r.body, "新团队") {
		t.Error("the new team is not listed")
	}
}
