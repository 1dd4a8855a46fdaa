package web_test

import (
	"encoding/json"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"countycare/care"
	"countycare/store"
)

// TestReferralPagesAndAPI: a village doctor sends an up-referral from the
// resident page (a resubmission creates nothing twice), the county
// department accepts it and confirms arrival on its board, the hospital
// hands the patient back with tasks through the API, the village clinic
// acknowledges them in its inbox, and analysts read the indicators.
func TestReferralPagesAndAPI(t *testing.T) {
	e := newEnv(t, store.SQLite)
	vd := e.as(care.RoleVillageDoctor)
	list := vd.get("/residents?group=elderly65")
	m := regexp.MustCompile(`href="/residents/(\d+)"`).FindStringSubmatch(list.body)
	if m == nil {
		t.Fatal("no elderly resident in the village")
	}
	rid := m[1]
	if p := vd.get("/residents/" + rid); !strings.Contains(p.body, `id="referral-new"`) || strings.Contains(p.body, `id="referrals"`) {
		t.Fatal("no referral link on the resident page")
	}
	form := vd.get("/residents/" + rid + "/referrals/new")
	if form.code != 200 || !strings.Contains(form.body, "规律治疗 2–3 个月血压仍未达标") {
		t.Fatalf("new referral form: %d", form.code)
	}
	key := regexp.MustCompile(`name="key" value="([^"]+)"`).FindStringSubmatch(form.body)[1]
	target := regexp.MustCompile(`option value="(\d+:[1-9]\d*)"`).FindStringSubmatch(form.body)[1]
	if r := vd.postForm("/residents/"+rid+"/referrals", url.Values{"key": {key}, "summary": {"头痛"}, "urgency": {"routine"}, "target": {target}}, true); r.code != 422 || !strings.Contains(r.body, "请至少选择一项转诊原因") {
		t.Errorf("referral without a reason: %d", r.code)
	}
	vals := url.Values{"key": {key}, "reasons": {"htn_not_at_target", "htn_organ_damage"}, "summary": {"血压 170/105，规律服药三个月"}, "urgency": {"routine"}, "target": {target}}
	r := vd.postForm("/residents/"+rid+"/referrals", vals, true)
	if r.code != 303 {
		t.Fatalf("send: %d %s", r.code, r.body)
	}
	loc := strings.TrimSuffix(r.header.Get("Location"), "?ok=referral_sent")
	if again := vd.postForm("/residents/"+rid+"/referrals", vals, true); again.code != 303 || !strings.HasPrefix(again.header.Get("Location"), loc+"?") {
		t.Errorf("resubmission: %d %s, want the same referral %s", again.code, again.header.Get("Location"), loc)
	}
	if p := vd.get("/residents/" + rid); !strings.Contains(p.body, `href="`+loc+`"`) {
		t.Error("the referral is not listed on the resident page")
	}
	if p := vd.get(loc); p.code != 200 || !strings.Contains(p.body, "待接收") || !strings.Contains(p.body, `id="cancel-form"`) {
		t.Errorf("sender's view: %d", p.code)
	}
	cs := e.as(care.RoleCountySpecialist)
	if b := cs.get("/referrals/incoming?dept=0"); b.code != 200 || !strings.Contains(b.body, `href="`+loc+`"`) {
		t.Fatalf("incoming board: %d", b.code)
	}
	if p := cs.get(loc); !strings.Contains(p.body, `id="accept-form"`) || !strings.Contains(p.body, `id="redirect-form"`) {
		t.Error("receiver's actions missing")
	}
	if r := cs.postForm(loc+"/accept", url.Values{}, true); r.code != 422 || !strings.Contains(r.body, "请填写预约时间或床位") {
		t.Errorf("accept without a slot: %d", r.code)
	}
	appt := time.Now().Add(24 * time.Hour).In(care.Shanghai).Format("2006-01-02T15:04")
	if r := cs.postForm(loc+"/accept", url.Values{"appointment": {appt}}, true); r.code != 303 {
		t.Fatalf("accept: %d %s", r.code, r.body)
	}
	if r := cs.postForm(loc+"/complete", url.Values{}, true); r.code != 409 {
		t.Errorf("complete before arrival: %d", r.code)
	}
	if r := cs.postForm(loc+"/arrive", url.Values{}, true); r.code != 303 {
		t.Fatalf("arrive: %d", r.code)
	}
	if p := cs.get(loc); !strings.Contains(p.body, `id="down-link"`) {
		t.Error("no down-referral link on an arrived referral")
	}
	id := strings.TrimPrefix(loc, "/referrals/")
	if r := cs.get("/referrals/down/new?up=" + id); r.code != 200 || !strings.Contains(r.body, `id="down-form"`) {
		t.Errorf("down form: %d", r.code)
	}
	// Down-referral through the API.
	due := care.Today(time.Now()).AddDays(7).String()
	down := map[string]any{"up_referral_id": mustInt(id), "summary": "住院 5 天", "diagnosis": "I10", "plan": "继续服药", "idempotency_key": "api-d-1",
		"tasks": []map[string]string{{"kind": "bp_check", "due": due}}}
	if r := cs.postJSON("/api/v1/referrals/down", map[string]any{"up_referral_id": mustInt(id), "summary": "x", "diagnosis": "ZZZ", "plan": "y", "idempotency_key": "k", "tasks": []any{}}); r.code != 422 {
		t.Errorf("bad down-referral: %d", r.code)
	}
	dr := cs.postJSON("/api/v1/referrals/down", down)
	if dr.code != 201 {
		t.Fatalf("down: %d %s", dr.code, dr.body)
	}
	var out struct {
		ID     int64  `json:"id"`
		Status string `json:"status"`
	}
	json.Unmarshal([]byte(dr.body), &out)
	inbox := vd.get("/referrals/tasks")
	if inbox.code != 200 || !strings.Contains(inbox.body, "测血压") {
		t.Fatalf("village task inbox: %d", inbox.code)
	}
	if r := vd.postJSON("/api/v1/referrals/"+itoa(out.ID)+"/acknowledge", nil); r.code != 200 || !strings.Contains(r.body, `"acknowledged"`) {
		t.Errorf("acknowledge: %d %s", r.code, r.body)
	}
	if g := vd.get("/api/v1/referrals/" + id); g.code != 200 || !strings.Contains(g.body, `"completed"`) || !strings.Contains(g.body, `"related":[`+itoa(out.ID)+`]`) {
		t.Errorf("up-referral end to end: %d %s", g.code, g.body)
	}
	// API creation with an idempotency key: a retry is the same, another body a conflict.
	hosp, dept, _ := strings.Cut(target, ":")
	body := map[string]any{"resident_id": mustInt(rid), "reasons": []string{"em_severe_bp"}, "summary": "BP 210/120", "urgency": "routine", "to_institution": mustInt(hosp), "to_department": mustInt(dept)}
	post := func(b map[string]any) response {
		raw, _ := json.Marshal(b)
		return vd.do("POST", "/api/v1/referrals", "application/json", raw, map[string]string{"X-CSRF-Token": vd.csrf, "Idempotency-Key": "api-1"})
	}
	a1, a2 := post(body), post(body)
	if a1.code != 201 || a2.code != 201 || a1.body != a2.body || !strings.Contains(a1.body, `"urgency":"emergency"`) {
		t.Errorf("API create and retry: %d %d %s", a1.code, a2.code, a1.body)
	}
	body["summary"] = "other"
	if a3 := post(body); a3.code != 409 {
		t.Errorf("same key, other body: %d", a3.code)
	}
	if r := vd.get("/api/v1/referrals/999999"); r.code != 404 {
		t.Errorf("missing referral: %d", r.code)
	}
	if r := e.as(care.RoleAnalyst).get(loc); r.code != 403 {
		t.Errorf("analyst reads a referral: %d", r.code)
	}
	if r := e.as(care.RolePharmacist).get(loc); r.code != 403 {
		t.Errorf("pharmacist reads a referral: %d", r.code)
	}
	for _, p := range []string{"/referrals", "/referrals?all=1", "/referrals/incoming"} {
		if r := vd.get(p); r.code != 200 {
			t.Errorf("GET %s: %d", p, r.code)
		}
	}
	an := e.as(care.RoleAnalyst)
	if r := an.get("/referrals/indicators"); r.code != 200 || !strings.Contains(r.body, `id="referral-indicators"`) || !strings.Contains(r.body, "县域内就诊率") {
		t.Errorf("indicators page: %d", r.code)
	}
	today := care.Today(time.Now()).String()
	if r := an.get("/api/v1/referrals/indicators?from=" + today[:4] + "-01-01&to=" + today); r.code != 200 || !strings.Contains(r.body, `"completion"`) {
		t.Errorf("indicators API: %d %s", r.code, r.body)
	}
	if r := vd.get("/referrals/indicators"); r.code != 403 {
		t.Errorf("village doctor indicators: %d", r.code)
	}
}

func mustInt(s string) int64 {
	var n int64
	for _, c := range s {
		n = n*10 + int64(c-'0')
	}
	return n
}
