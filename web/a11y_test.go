package web_test

import (
	"net/url"
	"regexp"
	"strings"
	"testing"

	"countycare/care"
	"countycare/store"
)

// TestFormErrorsTiedToFields: a form that fails validation comes back with
// the summary at the top focusable (tabindex="-1", focused by app.js), and
// each failing field marked aria-invalid="true" and pointing with
// aria-describedby to its own message, rendered by the shared
// "field-error" partial (WCAG 2.1 SC 3.3.1, 1.3.1). Fields without an error
// carry neither attribute.
func TestFormErrorsTiedToFields(t *testing.T) {
	e := newEnv(t, store.SQLite)
	c := e.as(care.RoleVillageDoctor)
	r := c.postForm("/residents", url.Values{"name": {"李四"}, "id_number": {"11010519491231002Y"}, "relation": {"head"}}, true)
	if r.code != 422 {
		t.Fatalf("bad form: %d", r.code)
	}
	input := regexp.MustCompile(`<input name="id_number"[^>]*>`).FindString(r.body)
	if !strings.Contains(input, `aria-invalid="true"`) || !strings.Contains(input, `aria-describedby="id_number-error"`) {
		t.Errorf("the failing field is not marked: %s", input)
	}
	if !regexp.MustCompile(`<p class="field-error" id="id_number-error">[^<]*身份证号第 18 位不是数字`).MatchString(r.body) {
		t.Errorf("no message with the id the field points to")
	}
	if name := regexp.MustCompile(`<input name="name"[^>]*>`).FindString(r.body); strings.Contains(name, "aria-invalid") || strings.Contains(name, "aria-describedby") {
		t.Errorf("a valid field is marked: %s", name)
	}
	if !strings.Contains(r.body, `<div class="alert" role="alert" id="form-error" tabindex="-1">`) {
		t.Errorf("no focusable error summary")
	}
	// The same form without errors marks nothing.
	if ok := c.get("/residents/new"); strings.Contains(ok.body, "aria-invalid") || strings.Contains(ok.body, `id="form-error"`) {
		t.Errorf("a fresh form is marked invalid")
	}
}

// TestSkipLinkAndLandmarks: on every page the first link is "跳到主要内容"
// to the main landmark (focusable as a target), the language switch is a
// labelled navigation whose link text is marked with its own language,
// and <html lang> follows the page's language.
func TestSkipLinkAndLandmarks(t *testing.T) {
	e := newEnv(t, store.SQLite)
	c := e.as(care.RoleVillageDoctor)
	for _, p := range []string{"/", "/residents", "/residents/new", "/org"} {
		b := c.get(p).body
		body := b[strings.Index(b, "<body>"):]
		first := regexp.MustCompile(`<(a|button|input|select|textarea)\b[^>]*>[^<]*`).FindString(body)
		if first != `<a class="skip" href="#main">跳到主要内容` {
			t.Errorf("%s: first focusable element is %q", p, first)
		}
		if !strings.Contains(b, `<main id="main" tabindex="-1">`) {
			t.Errorf("%s: no main landmark the skip link can focus", p)
		}
		if !strings.Contains(b, `<html lang="zh-CN">`) || !regexp.MustCompile(`<nav class="lang" aria-label="语言"><a href="/lang/en\?next=[^"]*" hreflang="en" lang="en">English</a>`).MatchString(b) {
			t.Errorf("%s: language of the page or of the switch not marked", p)
		}
		if m := regexp.MustCompile(`<title>([^<]*)</title>`).FindStringSubmatch(b); m == nil || strings.HasPrefix(strings.TrimSpace(m[1]), "·") {
			t.Errorf("%s: page has no title of its own: %v", p, m)
		}
	}
	c.get("/lang/en?next=/")
	b := c.get("/").body
	if !strings.Contains(b, `<html lang="en">`) || !strings.Contains(b, `<a class="skip" href="#main">Skip to main content</a>`) || !strings.Contains(b, `lang="zh-CN">中文</a>`) {
		t.Errorf("English page: lang or skip link wrong")
	}
}

// TestPrescriptionLineErrorsTiedToFields: the prescriber's page names its
// faults by line (not through the "field-error" partial); each failing
// input of a line points to its own message.
func TestPrescriptionLineErrorsTiedToFields(t *testing.T) {
	e := newEnv(t, store.SQLite)
	rid := itoa(seniorDoctor(t, e))
	vd := e.as(care.RoleVillageDoctor)
	bad := vd.postForm("/residents/"+rid+"/rx", url.Values{"action": {"review"}, "kind": {"normal"}, "diagnoses": {"K29.7"}, "weight_kg": {"60"},
		"drug0": {"no-such-drug"}, "dose0": {"1"}, "unit0": {"mg"}, "freq0": {"qd"}, "route0": {"po"}, "days0": {"7"}, "qty0": {"7"},
		"drug1": {"amlodipine-5t"}, "dose1": {"5"}, "unit1": {"mg"}, "freq1": {"qd"}, "route1": {"po"}, "days1": {"7"}, "qty1": {"0"}}, true)
	if bad.code != 422 {
		t.Fatalf("bad draft: %d", bad.code)
	}
	for _, f := range []string{"drug0", "qty1"} {
		input := regexp.MustCompile(`<input name="` + f + `"[^>]*>`).FindString(bad.body)
		if !strings.Contains(input, `aria-invalid="true"`) || !strings.Contains(input, `aria-describedby="`+f+`-error"`) {
			t.Errorf("%s not marked: %s", f, input)
		}
		if !strings.Contains(bad.body, `<p class="field-error" id="`+f+`-error">`) {
			t.Errorf("no message with id %s-error", f)
		}
	}
	if input := regexp.MustCompile(`<input name="drug1"[^>]*>`).FindString(bad.body); strings.Contains(input, "aria-invalid") {
		t.Errorf("a valid line is marked: %s", input)
	}
}
