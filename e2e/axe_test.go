package e2e

import (
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"net/url"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// axeSource is axe-core, vendored (version, source and licence in
// testdata/axe/README.md).
//
//go:embed testdata/axe/axe.min.js
var axeSource string

// axeTags are the rule sets checked: WCAG 2.0 and 2.1, levels A and AA.
var axeTags = []string{"wcag2a", "wcag2aa", "wcag21a", "wcag21aa"}

// axeViolation is one failed axe rule on a page with the elements that fail it.
type axeViolation struct {
	ID     string    `json:"id"`
	Impact string    `json:"impact"`
	Help   string    `json:"help"`
	Nodes  []axeNode `json:"nodes"`
}

// axeNode is one failing element: its CSS selector path (one entry per
// frame or shadow root) and axe's summary of what to fix.
type axeNode struct {
	Target  []string `json:"target"`
	Summary string   `json:"summary"`
}

func (v axeViolation) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s (%s): %s", v.ID, v.Impact, v.Help)
	for i, n := range v.Nodes {
		if i == 8 {
			fmt.Fprintf(&b, "\n      … and %d more", len(v.Nodes)-i)
			break
		}
		fmt.Fprintf(&b, "\n      %s", strings.Join(n.Target, " >> "))
		if s := strings.TrimSpace(n.Summary); s != "" {
			fmt.Fprintf(&b, "\n        %s", strings.ReplaceAll(s, "\n", "\n        "))
		}
	}
	return b.String()
}

// axeCheck injects axe-core into the page open in ctx (once per document;
// through the DevTools protocol, so the page's CSP does not apply) and runs
// it against the WCAG 2.0/2.1 A and AA rules, returning the violations.
// It is meant as a per-page check for any browser test or crawler.
func axeCheck(ctx context.Context) ([]axeViolation, error) {
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](
		`(function(){ if (!window.axe) { `+axeSource+"\n"+` } return !!window.axe; })()`)); err != nil {
		return nil, fmt.Errorf("inject axe-core: %w", err)
	}
	tags, _ := json.Marshal(axeTags)
	js := `axe.run(document, {runOnly: {type: "tag", values: ` + string(tags) + `}, resultTypes: ["violations"]})
  .then(r => JSON.stringify(r.violations.map(v => ({id: v.id, impact: v.impact || "", help: v.help,
    nodes: v.nodes.map(n => ({target: n.target.map(t => Array.isArray(t) ? t.join(" ") : String(t)), summary: n.failureSummary || ""}))}))))`
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](js, chromedp.EvalAwaitPromise))
	if err != nil {
		return nil, fmt.Errorf("run axe-core: %w", err)
	}
	var out []axeViolation
	if err := json.Unmarshal([]byte(s), &out); err != nil {
		return nil, fmt.Errorf("axe-core result: %w (%.200s)", err, s)
	}
	return out, nil
}

// axeProblems is axeCheck as a list of readable problems (one per
// violated rule, with the failing elements), empty when the page passes:
// the form a crawler's per-page check returns, e.g.
// pageCheck{"axe", func(ctx context.Context, _ *crawledPage) []string { return axeProblems(ctx) }}.
func axeProblems(ctx context.Context) []string {
	vs, err := axeCheck(ctx)
	if err != nil {
		return []string{err.Error()}
	}
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = v.String()
	}
	return out
}

// TestAccessibilityAxe runs axe-core (WCAG 2.1 A and AA) where the page
// crawler (TestEveryPageOnAPhone, which runs it on every page of every role
// at 360 px in Chinese) does not go: the sign-in page in Chinese and
// English, the error page, each role's home page at 1280 px, and the
// image viewer.
// Any violation fails the test; all are listed, by page.
func TestAccessibilityAxe(t *testing.T) {
	chrome := chromiumPath(t)
	base, logins := startBinary(t)
	ctx, _ := openPhone(t, chrome)
	roles := make([]string, 0, len(logins))
	for r := range logins {
		roles = append(roles, r)
	}
	sort.Strings(roles)
	if len(roles) < 10 {
		t.Fatalf("expected ten demo roles, got %v", roles)
	}
	total, checked := 0, 0
	report := func(ctx context.Context, role, p string) {
		t.Helper()
		// Every page has a title of its own before the application's name.
		if title, err := chromedp.Run(ctx, chromedp.Title()); err != nil || strings.HasPrefix(strings.TrimSpace(title), "·") {
			t.Errorf("%s %s: page title %q (%v)", role, p, title, err)
		}
		checked++
		if ps := axeProblems(ctx); len(ps) > 0 {
			total += len(ps)
			t.Errorf("%s %s: %d axe problem(s):\n    %s", role, p, len(ps), strings.Join(ps, "\n    "))
		}
	}
	check := func(role, p string) {
		t.Helper()
		sctx, cancel := context.WithTimeout(ctx, 120*time.Second)
		defer cancel()
		if err := chromedp.Do(sctx, chromedp.Navigate(base+p), chromedp.WaitReady("body")); err != nil {
			t.Errorf("%s %s: %v", role, p, err)
			return
		}
		report(sctx, role, p)
	}
	check("signed out", "/login")
	check("signed out, English", "/lang/en?next=/login") // html lang="en"; cookies are cleared before each role
	for _, role := range roles {
		sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		_, err := chromedp.Call(sctx, network.ClearBrowserCookies, cdp.Empty{})
		if err == nil {
			err = chromedp.Do(sctx, chromedp.Navigate(base+"/login"), chromedp.WaitVisible("#username"),
				chromedp.SendKeys("#username", logins[role]), chromedp.SendKeys("#password", "Countycare-Demo-2026"),
				chromedp.Click("#login"))
		}
		for err == nil {
			var loc string
			if loc, err = chromedp.Run(sctx, chromedp.Location()); err == nil && !strings.Contains(loc, "/login") {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		cancel()
		if err != nil {
			t.Errorf("sign in as %s: %v", role, err)
			continue
		}
		if role == "village_doctor" {
			check(role, "/no-such-page") // the error page
		}
		// The desktop layout (menu and account on one line, wider tables) once per role.
		if err := chromedp.Do(ctx, chromedp.EmulateViewport(1280, 800)); err != nil {
			t.Fatal(err)
		}
		check(role+" at 1280 px", "/")
		if err := chromedp.Do(ctx, chromedp.EmulateViewport(360, 780)); err != nil {
			t.Fatal(err)
		}
		if role == "reader" { // the image viewer is three links deep: reach it through the API
			img, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(async function () {
  var wl = await (await fetch("/api/v1/ecg/worklist")).json();
  for (var i = 0; i < wl.studies.length; i++) {
    var st = await (await fetch("/api/v1/residents/" + wl.studies[i].resident_id + "/studies")).json();
    if (st.imaging.length) { return "/imaging/instances/" + st.imaging[0].id; }
  }
  return "";
})()`, chromedp.EvalAwaitPromise))
			if err != nil || img == "" {
				t.Errorf("reader: no image to open (%v)", err)
			} else {
				check(role, img)
			}
		}
	}
	t.Logf("axe-core checked %d pages: %d violation(s)", checked, total)
}

// TestAxeCheckFindsViolations: axeCheck reports what it should on a page
// made to fail (an image without alt, grey on white at 2.3:1, a select
// without a label, no lang) with the failing elements' selectors, and
// nothing on the same page fixed.
func TestAxeCheckFindsViolations(t *testing.T) {
	chrome := chromiumPath(t)
	ctx, _ := openPhone(t, chrome)
	bad := `<!doctype html><html><head><title>t</title></head><body><main><h1>x</h1>` +
		`<img id="pic" src="data:image/gif;base64,R0lGODlhAQABAAAAACw="><p id="pale" style="color:#aaa;background:#fff">Pale text 淡色文字</p>` +
		`<select id="sel"><option>1</option></select></main></body></html>`
	good := `<!doctype html><html lang="zh-CN"><head><title>t</title></head><body><main><h1>x</h1>` +
		`<img id="pic" alt="图" src="data:image/gif;base64,R0lGODlhAQABAAAAACw="><p id="pale" style="color:#595959;background:#fff">Pale text 淡色文字</p>` +
		`<select id="sel" aria-label="年度"><option>1</option></select></main></body></html>`
	run := func(html string) map[string][]string {
		t.Helper()
		sctx, cancel := context.WithTimeout(ctx, 60*time.Second)
		defer cancel()
		if err := chromedp.Do(sctx, chromedp.Navigate("data:text/html;charset=utf-8,"+url.PathEscape(html)), chromedp.WaitReady("body")); err != nil {
			t.Fatal(err)
		}
		vs, err := axeCheck(sctx)
		if err != nil {
			t.Fatal(err)
		}
		got := map[string][]string{}
		for _, v := range vs {
			for _, n := range v.Nodes {
				got[v.ID] = append(got[v.ID], strings.Join(n.Target, " "))
			}
		}
		return got
	}
	got := run(bad)
	for id, target := range map[string]string{"image-alt": "#pic", "color-contrast": "#pale", "select-name": "#sel", "html-has-lang": "html"} {
		if ts := got[id]; len(ts) != 1 || ts[0] != target {
			t.Errorf("%s: got %v, want [%s] (all: %v)", id, ts, target, got)
		}
	}
	if got := run(good); len(got) != 0 {
		t.Errorf("the fixed page: %v", got)
	}
}
