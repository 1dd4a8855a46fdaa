package web_test

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"countycare/care"
	"countycare/store"
)

// TestVillageApp: the app's page, service worker and manifest are served
// to a village doctor; the page hands its script every message it shows,
// in the reader's language; other roles have no app.
func TestVillageApp(t *testing.T) {
	e := newEnv(t, store.SQLite)
	vd := e.as(care.RoleVillageDoctor)
	page := vd.get("/village/app")
	if page.code != 200 || !strings.Contains(page.body, `id="village"`) || !strings.Contains(page.body, "村医离线工作台") {
		t.Fatalf("app page: %d", page.code)
	}
	js, err := os.ReadFile("static/village.js")
	if err != nil {
		t.Fatal(err)
	}
	// Every t("key") in the script is in the page's messages (both languages).
	keys := regexp.MustCompile(`\bt\("([a-z0-9_.]*[a-z0-9_])"`).FindAllStringSubmatch(string(js), -1)
	if len(keys) < 20 {
		t.Fatalf("only %d message keys found in village.js", len(keys))
	}
	en := vd.do("GET", "/village/app", "", nil, map[string]string{"Cookie": "cc_lang=en"})
	for _, body := range []string{page.body, en.body} {
		for _, k := range keys {
			if !strings.Contains(body, "&#34;"+k[1]+"&#34;:") {
				t.Errorf("message %s missing from the page", k[1])
			}
		}
	}
	if !strings.Contains(en.body, "Waiting to sync") {
		t.Errorf("English page without English messages")
	}
	sw := e.anon().get("/village/sw.js")
	if sw.code != 200 || !strings.Contains(sw.header.Get("Content-Type"), "javascript") || !strings.Contains(sw.body, `"/village/app"`) || !strings.Contains(sw.body, "village.js") {
		t.Errorf("service worker: %d %s", sw.code, sw.header.Get("Content-Type"))
	}
	mf := vd.get("/village/manifest.webmanifest")
	if mf.code != 200 || !strings.Contains(mf.body, `"start_url":"/village/app"`) || !strings.Contains(mf.body, `"display":"standalone"`) {
		t.Errorf("manifest: %d %s", mf.code, mf.body)
	}
	if r := e.as(care.RoleTownshipDoctor).get("/village/app"); r.code != 403 {
		t.Errorf("township doctor opens the village app: %d", r.code)
	}
	if r := e.anon().get("/village/app"); r.code != 303 && r.code != 302 {
		t.Errorf("anonymous: %d", r.code)
	}
}
