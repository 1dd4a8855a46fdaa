package web_test

import (
	"net/url"
	"regexp"
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
