package web_test

import (
	"net/url"
	"strings"
	"testing"

	"countycare/care"
	"countycare/store"
)

// TestEduLibraryPage: the analyst maintains the advice library on
// /healthedu/library (zh and en): an unknown ICD-10 prefix refused with
// the field named and nothing stored; an addition saved as a new edition
// (the configured library copied as edition 1 first) and listed; an edit
// through the JSON API with the edition read, a stale one refused; a
// retirement; the doctors' read of GET /api/v1/healthedu/library shows
// the county's edition; a village doctor may not change it. SQLite.
func TestEduLibraryPage(t *testing.T) {
	e := newEnv(t, store.SQLite)
	an := e.as(care.RoleAnalyst)
	page := an.get("/healthedu/library")
	if page.code != 200 || !strings.Contains(page.body, `id="advice-add"`) || !strings.Contains(page.body, `id="advice-b1"`) {
		t.Fatalf("/healthedu/library: %d", page.code)
	}
	if p := an.get("/healthedu"); !strings.Contains(p.body, `href="/healthedu/library"`) {
		t.Error("no link to the library on /healthedu")
	}
	an.csrf = csrfOf(t, page.body)
	if r := an.postForm("/healthedu/library", url.Values{"edition": {"0"}, "prefix": {"E99"}, "code": {"walk"}, "zh": {"每天步行"}}, true); r.code != 422 || !strings.Contains(r.body, `id="prefix-error"`) {
		t.Fatalf("unknown prefix: %d", r.code)
	}
	if n := e.count(`SELECT COUNT(*) FROM edu_editions`); n != 0 {
		t.Fatal("refused change stored")
	}
	if r := an.postForm("/healthedu/library", url.Values{"edition": {"0"}, "prefix": {"I10"}, "code": {"walk"}, "zh": {"每天步行30分钟"}, "en": {"Walk"}}, true); r.code != 303 {
		t.Fatalf("add: %d %s", r.code, r.body)
	}
	id := int64(e.count(`SELECT id FROM edu_advice WHERE code = 'walk' AND until_edition IS NULL`))
	if p := an.get("/healthedu/library?ok=1"); !strings.Contains(p.body, "每天步行30分钟") || !strings.Contains(p.body, `id="edu-editions"`) {
		t.Fatal("the new advice is not listed")
	}
	r := an.postJSON("/api/v1/healthedu/library/"+itoa(id), map[string]any{"edition": 1, "prefix": "I10", "code": "walk", "zh": "快走"})
	if r.code != 409 {
		t.Fatalf("stale edition: %d %s", r.code, r.body)
	}
	r = an.postJSON("/api/v1/healthedu/library/"+itoa(id), map[string]any{"edition": 2, "prefix": "I10", "code": "walk", "zh": "每天快走40分钟"})
	if r.code != 200 || !strings.Contains(r.body, `"edition":3`) {
		t.Fatalf("edit: %d %s", r.code, r.body)
	}
	if r := an.postJSON("/api/v1/healthedu/library/b1/retire", map[string]any{"edition": 3}); r.code != 404 {
		t.Fatalf("a base item's number after the first change: %d", r.code)
	}
	vd := e.as(care.RoleVillageDoctor)
	if r := vd.get("/api/v1/healthedu/library"); r.code != 200 || !strings.Contains(r.body, `"county-e3"`) || !strings.Contains(r.body, "每天快走40分钟") {
		t.Fatalf("the doctors' library: %d %s", r.code, r.body)
	}
	if r := vd.postJSON("/api/v1/healthedu/library", map[string]any{"edition": 3, "prefix": "I10", "code": "x", "zh": "x"}); r.code != 403 {
		t.Fatalf("village doctor changes the library: %d", r.code)
	}
	if r := vd.get("/healthedu/library"); r.code != 403 {
		t.Fatalf("village doctor's page: %d", r.code)
	}
	if n := e.count(`SELECT COUNT(*) FROM audit_events WHERE action = 'healthedu.library'`); n != 2 {
		t.Errorf("audit rows %d", n)
	}
	if p := an.do("GET", "/healthedu/library", "", nil, map[string]string{"Cookie": "cc_lang=en"}); p.code != 200 || !strings.Contains(p.body, "Advice library") {
		t.Errorf("English page: %d", p.code)
	}
}
