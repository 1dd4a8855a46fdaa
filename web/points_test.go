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

// TestPointsPages: the resident reports steps and reading on /me (once a
// day, validated) and sees the balance; the village doctor sees it on the
// resident page and redeems, never below zero.
func TestPointsPages(t *testing.T) {
	e := newEnv(t, store.SQLite)
	me := e.as(care.RoleResident)
	page := me.get("/me")
	if page.code != 200 || !strings.Contains(page.body, `id="steps-form"`) || !strings.Contains(page.body, "积分余额：0 分") {
		t.Fatalf("me page: %d", page.code)
	}
	today := care.Today(time.Now()).String()
	if r := me.postForm("/me/points", url.Values{"kind": {"steps"}, "steps": {"100001"}, "date": {today}}, true); r.code != 422 {
		t.Errorf("too many steps: %d", r.code)
	}
	if r := me.postForm("/me/points", url.Values{"kind": {"steps"}, "steps": {"23000"}, "date": {today}}, true); r.code != 303 {
		t.Fatalf("steps: %d %s", r.code, r.body)
	}
	if r := me.postForm("/me/points", url.Values{"kind": {"steps"}, "steps": {"5000"}, "date": {today}}, true); r.code != 409 {
		t.Errorf("second steps report: %d", r.code)
	}
	if r := me.postForm("/me/points", url.Values{"kind": {"reading"}, "date": {today}}, true); r.code != 303 {
		t.Errorf("reading: %d", r.code)
	}
	if r := me.get("/me"); !strings.Contains(r.body, "积分余额：3 分") {
		t.Errorf("balance after steps and reading not shown")
	}
	if r := me.get("/api/v1/me/points"); r.code != 200 || !strings.Contains(r.body, `"balance":3`) {
		t.Errorf("API balance: %d %s", r.code, r.body)
	}
	vd := e.as(care.RoleVillageDoctor)
	var residentID string
	for _, l := range e.demo.Logins {
		if l.Role == care.RoleResident {
			list := vd.get("/residents?q=" + url.QueryEscape(l.Name))
			if m := regexp.MustCompile(`href="/residents/(\d+)"`).FindStringSubmatch(list.body); m != nil {
				residentID = m[1]
			}
		}
	}
	if residentID == "" {
		t.Fatal("the demo resident is not in the village doctor's list")
	}
	page = vd.get("/residents/" + residentID)
	ref := regexp.MustCompile(`name="ref" value="([^"]+)"`).FindStringSubmatch(page.body)
	if !strings.Contains(page.body, `id="points-balance"`) || ref == nil {
		t.Fatalf("points on the resident page missing")
	}
	if r := vd.postForm("/residents/"+residentID+"/points/redeem", url.Values{"points": {"5"}, "ref": {ref[1]}, "note": {"毛巾"}}, true); r.code != 422 || !strings.Contains(r.body, "积分不足") {
		t.Errorf("redeem more than the balance: %d", r.code)
	}
	if r := vd.postForm("/residents/"+residentID+"/points/redeem", url.Values{"points": {"2"}, "ref": {ref[1]}, "note": {"毛巾"}}, true); r.code != 303 {
		t.Errorf("redeem: %d %s", r.code, r.body)
	}
	if r := vd.postForm("/residents/"+residentID+"/points/redeem", url.Values{"points": {"1"}, "ref": {ref[1]}, "note": {"毛巾"}}, true); r.code != 409 {
		t.Errorf("the same form submitted twice: %d", r.code)
	}
	if r := vd.get("/api/v1/residents/" + residentID + "/points"); !strings.Contains(r.body, `"balance":1`) {
		t.Errorf("balance after redemption: %s", r.body)
	}
	if r := e.as(care.RoleAnalyst).get("/api/v1/residents/" + residentID + "/points"); r.code != 403 {
		t.Errorf("analyst reads points: %d", r.code)
	}
}
