package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"countycare/access"
	"countycare/account"
	"countycare/care"
	"countycare/org"
	"countycare/store"
	"countycare/survey"
	"countycare/web"
)

// The page crawler (issue 18 §4): every role of the demo county signs in
// on a 360×740 phone and visits every HTML page its routes allow, in
// Chinese and then in English, following the links its own pages show (so
// path parameters are real IDs the role can see). Each page goes through
// every pageCheck; another check (e.g. accessibility) is one more entry in
// pageChecks.
//
// The crawl is complete by construction: the page routes are read from the
// route table (web.Server.Routes, every route registered through handle),
// and a page route that no crawl reaches fails the test. The only routes
// left out are those that answer with something other than an HTML page
// (nonPages, each with its reason). What the demo county lacks to reach a
// page (a township consultation, a township study, a visit in session, a
// department head's account, a one-time reset link) seedPages creates
// through the platform's own API and forms, as the users who would.

// crawledPage is what a check sees of one page, read after it loaded.
type crawledPage struct {
	Role     string // the signed-in role ("" before sign-in)
	Lang     string // the language the crawl asked for: "zh" or "en"
	HTMLLang string // the page's <html lang>
	Pattern  string // the route pattern the URL matched
	URL      string
	Status   int
	// Text is document.body.innerText without the elements that carry
	// data (translate="no": names, addresses, free text people typed,
	// codes, IDs) and without parts marked as another language (the
	// language switch's "English"/"中文", lang="…").
	Text    string
	Options []string // the texts of every <option> (not in innerText), with the same exclusions
	Data    []string // the texts of the elements marked translate="no"
	Title   string
	Scroll  float64 // document.documentElement.scrollWidth
	Inner   float64 // innerWidth
	Header  float64 // height of the page header (header.top)
	Height  float64 // innerHeight
	Links   []string
}

// pageCheck is one check run on every crawled page; it returns the
// problems it found (empty when the page passes). ctx is the browser tab
// showing the page, for checks that run their own script.
type pageCheck struct {
	name string
	run  func(ctx context.Context, p *crawledPage) []string
}

// pageChecks are run on every page the crawler visits.
var pageChecks = []pageCheck{
	{"status", checkStatus},
	{"raw text", checkRawText},
	{"sideways scroll", checkFits},
	{"header height", checkHeader},
	{"page title", checkTitle},
	{"page language", checkLang},
	{"Chinese on an English page", checkHan},
	{"accessibility (axe-core, WCAG 2.1 A/AA)", func(ctx context.Context, _ *crawledPage) []string { return axeProblems(ctx) }},
}

// checkTitle: every page has a title of its own before the application's
// name (WCAG 2.1 SC 2.4.2).
func checkTitle(_ context.Context, p *crawledPage) []string {
	if t := strings.TrimSpace(p.Title); t == "" || strings.HasPrefix(t, "·") {
		return []string{fmt.Sprintf("page title %q has no title of its own", p.Title)}
	}
	return nil
}

// checkLang: the page is in the language the crawl asked for (<html
// lang>: zh-CN or en; WCAG 2.1 SC 3.1.1), so the English crawl cannot pass
// on Chinese pages it never saw.
func checkLang(_ context.Context, p *crawledPage) []string {
	want := map[string]string{"zh": "zh-CN", "en": "en"}[p.Lang]
	if p.HTMLLang != want {
		return []string{fmt.Sprintf("<html lang=%q>, want %q", p.HTMLLang, want)}
	}
	return nil
}

// reHan is Chinese text: Han characters and the CJK and full-width
// punctuation (，。：（）) that comes with them.
var reHan = regexp.MustCompile(`[\p{Han}\x{3000}-\x{303F}\x{FF00}-\x{FFEF}]+`)

// checkHan: an English page shows no Chinese of its own. What a page
// shows in Chinese on purpose is data: residents', doctors' and
// institutions' names, addresses, drug names, the words people typed
// (complaints, opinions, chat). The templates mark each element that
// renders data translate="no" (HTML's own attribute for text that must not
// be translated, which also keeps a browser's page translation off a
// patient's name), and pageScript leaves those elements out of Text: what
// is left is the page's own words, from the catalogue and the formatters,
// and every Chinese character there is a missing translation. Marking the
// elements, rather than guessing from the text (a name is two or three Han
// characters — so is 待审核), keeps the check exact; the price is that a
// template must mark its data, which web/a11y_templates_test.go does not
// check: a data element left unmarked shows up here as a finding. A
// page's <title> cannot mark a part of itself; Chinese there passes when a
// data element of the page shows it (the resident's name in the heading).
func checkHan(_ context.Context, p *crawledPage) []string {
	if p.Lang != "en" {
		return nil
	}
	var out []string
	for i, s := range append([]string{p.Title, p.Text}, p.Options...) {
		where := ""
		switch {
		case i == 0:
			where = " (title)"
		case i > 1:
			where = " (option)"
		}
		for _, m := range reHan.FindAllString(s, -1) {
			if i == 0 && slices.ContainsFunc(p.Data, func(d string) bool { return strings.Contains(d, m) }) {
				continue // the title repeats the page's heading: a name the page marks as data
			}
			out = append(out, fmt.Sprintf("Chinese%s %q", where, m))
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// checkHeader: the header (brand, language, the folded menu) takes less
// than 15 % of a phone's screen height.
func checkHeader(_ context.Context, p *crawledPage) []string {
	if p.Inner < 768 && p.Header >= 0.15*p.Height {
		return []string{fmt.Sprintf("header is %v px high, %.0f %% of the %v-px screen", p.Header, 100*p.Header/p.Height, p.Height)}
	}
	return nil
}

// perPattern is how many URLs of one route pattern the crawler opens
// (two residents, a list with and without ?all=1).
const perPattern = 2

// nonPages are GET routes that answer with something other than an HTML
// page (files, streams, images); the crawler does not open them.
var nonPages = map[string]string{
	"GET /events":                               "server-sent events",
	"GET /online/{id}/events":                   "server-sent events",
	"GET /consult/{id}/files/{sha}":             "an attachment",
	"GET /online/{id}/images/{sha}":             "an image",
	"GET /photos/{id}":                          "an image",
	"GET /me/hut-qr.svg":                        "an image (the resident's QR code for health huts)",
	"GET /settlements/{id}/pdf":                 "a PDF",
	"GET /poverty-watch/export.csv":             "a CSV file",
	"GET /poverty-watch/export.xlsx":            "an XLSX workbook",
	"GET /appraisal/export.csv":                 "a CSV file",
	"GET /appraisal/export.xlsx":                "an XLSX workbook",
	"GET /dashboard/export":                     "a CSV or XLSX file",
	"GET /dashboard/units/{id}/records/export":  "a CSV or XLSX file of the records behind a figure",
	"GET /dashboard/report.pdf":                 "a PDF",
	"GET /residents/{id}/imaging/{iid}/preview": "a PNG",
	"GET /me/reports/{id}/preview":              "a JPEG thumbnail",
	"GET /static/{hash}/{file}":                 "a static file",
	"GET /lang/{lang}":                          "switches the language",
	"GET /ecg/worklist":                         "a redirect for old bookmarks (to /reading/worklist?modality=ECG)",
	"GET /healthz":                              "operations",
	"GET /village/sw.js":                        "the village app's service worker (JavaScript)",
	"GET /village/manifest.webmanifest":         "the village app's web app manifest (JSON)",
	"GET /specimens/{id}/label.svg":             "an SVG label to print",
	"GET /specimens/boxes/{id}/label.svg":       "an SVG label to print",
}

func checkStatus(_ context.Context, p *crawledPage) []string {
	if p.Status != http.StatusOK {
		return []string{fmt.Sprintf("status %d", p.Status)}
	}
	return nil
}

func checkFits(_ context.Context, p *crawledPage) []string {
	if p.Scroll > p.Inner {
		return []string{fmt.Sprintf("page is %v px wide in a %v-px window (scrolls sideways)", p.Scroll, p.Inner)}
	}
	return nil
}

var (
	reSnake    = regexp.MustCompile(`\b[A-Za-z][A-Za-z0-9]*(?:_[A-Za-z0-9]+)+\b`)
	reGoDur    = regexp.MustCompile(`\b\d+h\d+m[\d.]+s\b|\b\d+m[\d.]+s\b|\b\d+h\d+m\b|\b\d+(?:\.\d+)?(?:ms|µs|ns|s)\b`)
	reISO      = regexp.MustCompile(`\d{4}-\d\d-\d\dT\d\d:\d\d|\b\d\d:\d\d(?::\d\d)?(?:\.\d+)?Z\b|[+-]0000\b|\bUTC\b|\bGMT\b`)
	reCode     = regexp.MustCompile(`\b[a-z][a-z_]*:\d+\b`)
	reDebug    = regexp.MustCompile(`\b[a-z][A-Za-z_]*=\S+`)
	reFile     = regexp.MustCompile(`\b[\w.-]+/[\w./-]*\.(?:md|go|json|csv|sql|txt|html|yaml|toml)\b`)
	reWord     = regexp.MustCompile(`[A-Za-z][A-Za-z'-]*`)
	reLowerish = regexp.MustCompile(`^[a-z][a-z-]*$`)
)

// allowedWords are lower-case Latin words a Chinese page may show: units.
var allowedWords = map[string]bool{
	"mmol": true, "mg": true, "ml": true, "mL": true, "kg": true, "bpm": true, "mm": true, "mv": true,
	"cm": true, "min": true, "ms": true, "mmhg": true, "umol": true, "g": true, "h": true, "s": true,
	"d": true, "l": true, "x": true, "mcg": true, "iu": true, "u": true, "mol": true, "ug": true,
}

// moduleDirs are the repository's top-level directories: "docs/…",
// "rx/kb" on a page are paths, not words for users.
func moduleDirs(t *testing.T) []string {
	ents, err := os.ReadDir("..")
	if err != nil {
		t.Fatal(err)
	}
	var ds []string
	for _, e := range ents {
		if e.IsDir() && !strings.HasPrefix(e.Name(), ".") {
			ds = append(ds, regexp.QuoteMeta(e.Name()))
		}
	}
	return ds
}

var reRepoPath *regexp.Regexp

func checkRawText(_ context.Context, p *crawledPage) []string {
	var out []string
	add := func(what string, ms []string) {
		for _, m := range ms {
			out = append(out, fmt.Sprintf("%s %q", what, m))
		}
	}
	for i, s := range append([]string{p.Title, p.Text}, p.Options...) {
		where := ""
		if i > 1 {
			where = " (option)"
		}
		add("snake_case identifier"+where, reSnake.FindAllString(s, -1))
		add("Go duration"+where, reGoDur.FindAllString(s, -1))
		add("UTC or ISO time"+where, reISO.FindAllString(s, -1))
		add("code with a number"+where, reCode.FindAllString(s, -1))
		add("debug text"+where, reDebug.FindAllString(s, -1))
		add("file path"+where, reFile.FindAllString(s, -1))
		add("repository path"+where, reRepoPath.FindAllString(s, -1))
		for _, ix := range reWord.FindAllStringIndex(s, -1) {
			w := s[ix[0]:ix[1]]
			if ix[0] > 0 && s[ix[0]-1] == '.' { // a file type: ".csv", ".hea"
				continue
			}
			if p.Lang != "en" && reLowerish.MatchString(w) && !allowedWords[strings.ToLower(w)] && len(w) > 1 {
				out = append(out, fmt.Sprintf("English word on a Chinese page%s %q", where, w))
			}
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// pageScript reads what the checks need from the loaded page.
const pageScript = `(function () {
  var lang = document.documentElement.lang || "";
  var data = function (e) {
    for (; e && e !== document.documentElement; e = e.parentElement) {
      if (e.getAttribute("translate") === "no") { return true; }
      var l = e.getAttribute("lang");
      if (l && l.slice(0, 2) !== lang.slice(0, 2)) { return true; }
    }
    return false;
  };
  var skip = Array.from(document.querySelectorAll('[translate="no"], body [lang]')).filter(function (e) { return data(e); });
  var text = document.body.innerText;
  // The longest first: a username inside an audit row's detail goes with the detail.
  skip.map(function (e) { return e.innerText; }).filter(Boolean).sort(function (a, b) { return b.length - a.length; })
    .forEach(function (s) { text = text.split(s).join(" "); });
  var marked = Array.from(document.querySelectorAll('[translate="no"]')).map(function (e) { return (e.innerText || e.text || "").trim(); }).filter(Boolean);
  var opts = Array.from(document.querySelectorAll("option")).filter(function (o) { return !data(o); }).map(function (o) { return o.text; });
  var nav = performance.getEntriesByType("navigation")[0];
  var h = document.querySelector("header.top");
  return JSON.stringify({
    URL: location.href, Status: nav ? nav.responseStatus : 0, HTMLLang: lang, Text: text, Options: opts, Data: marked, Title: document.title,
    Scroll: document.documentElement.scrollWidth, Inner: window.innerWidth,
    Header: h ? h.getBoundingClientRect().height : 0, Height: window.innerHeight,
    Links: Array.from(document.querySelectorAll("a[href]")).map(function (a) { return a.href; })
  });
})()`

// pageRoutes returns the route registry's GET page patterns (HTML, not
// the API, files or streams) and a mux that names the pattern of a path.
func pageRoutes(t *testing.T) ([]web.Route, *http.ServeMux) {
	t.Helper()
	srv, err := web.New(web.Config{FontPath: "testdata/no-font.ttf"}, web.Deps{Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	var pages []web.Route
	for _, r := range srv.Routes() {
		mux.HandleFunc(r.Pattern, func(http.ResponseWriter, *http.Request) {})
		if !strings.HasPrefix(r.Pattern, "GET ") || r.API || r.Policy.IsDevice() || r.Policy.IsOps() {
			continue
		}
		if _, no := nonPages[r.Pattern]; no {
			continue
		}
		pages = append(pages, r)
	}
	return pages, mux
}

// admits reports whether role may open route r.
func admits(r web.Route, role string) bool {
	if r.Policy.IsPublic() {
		return role == ""
	}
	rs := r.Policy.Roles()
	if len(rs) == 0 {
		return role != ""
	}
	return slices.Contains(rs, care.Role(role))
}

// crawlResult is what one crawl of one sign-in found.
type crawlResult struct {
	problems []string
	urls     []string        // the URLs it opened, in order (the English pass opens them again)
	seen     map[string]bool // the route patterns it visited
}

// crawl visits every page route role may open, starting from starts and
// following the links of the pages it visits (up to perPattern URLs per
// route pattern), in lang (the language cookie already set), and runs the
// checks on each page.
// Links to the patterns in done (visited by an earlier sign-in of the same
// role) are not followed.
func crawl(t *testing.T, ctx context.Context, base, role, lang string, starts []string, done map[string]bool, pages []web.Route, mux *http.ServeMux, visit func(*crawledPage)) crawlResult {
	t.Helper()
	want := map[string]bool{}
	for _, r := range pages {
		if admits(r, role) {
			want[r.Pattern] = true
		}
	}
	res := crawlResult{seen: map[string]bool{}}
	taken := map[string]int{}   // URLs queued per pattern
	queued := map[string]bool{} // URLs queued
	queue := append([]string(nil), starts...)
	for _, u := range starts {
		queued[u] = true
		taken[patternOf(mux, base+u)]++
	}
	for len(queue) > 0 {
		u := queue[0]
		queue = queue[1:]
		p, problems := checkPage(t, ctx, base, role, lang, u, mux)
		res.problems = append(res.problems, problems...)
		if p == nil {
			continue
		}
		res.urls = append(res.urls, u)
		res.seen[p.Pattern] = true
		res.seen[patternOf(mux, base+u)] = true // the route asked for, also when it redirects (a resident's / opens /me)
		taken[p.Pattern] = max(taken[p.Pattern], 1)
		if visit != nil {
			visit(p)
		}
		for _, l := range p.Links {
			lu, err := url.Parse(l)
			if err != nil || !strings.HasPrefix(l, base) {
				continue
			}
			path := lu.Path
			if lu.RawQuery != "" {
				path += "?" + lu.RawQuery
			}
			pat := patternOf(mux, l)
			if want[pat] && !done[pat] && !queued[path] && taken[pat] < perPattern {
				taken[pat]++
				queued[path] = true
				queue = append(queue, path)
			}
		}
	}
	return res
}

// revisit opens urls again in lang (the English pass over the pages the
// Chinese crawl found: same sign-in, same browser, no second link walk)
// and runs the checks on each.
func revisit(t *testing.T, ctx context.Context, base, role, lang string, urls []string, mux *http.ServeMux, visit func(*crawledPage)) crawlResult {
	t.Helper()
	res := crawlResult{seen: map[string]bool{}}
	for _, u := range urls {
		p, problems := checkPage(t, ctx, base, role, lang, u, mux)
		res.problems = append(res.problems, problems...)
		if p == nil {
			continue
		}
		res.urls = append(res.urls, u)
		res.seen[p.Pattern] = true
		res.seen[patternOf(mux, base+u)] = true
		if visit != nil {
			visit(p)
		}
	}
	return res
}

// checkPage opens u, reads the page and runs every pageCheck on it. The
// page is nil when it could not be opened (the problem says why).
func checkPage(t *testing.T, ctx context.Context, base, role, lang, u string, mux *http.ServeMux) (*crawledPage, []string) {
	t.Helper()
	who := role
	if who == "" {
		who = "anonymous"
	}
	who += " " + lang
	sctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	err := chromedp.Do(sctx, chromedp.Navigate(base+u))
	var raw string
	if err == nil {
		raw, err = chromedp.Run(sctx, chromedp.Evaluate[string](pageScript))
	}
	cancel()
	if err != nil {
		return nil, []string{fmt.Sprintf("%s %s: %v", who, u, err)}
	}
	p := &crawledPage{Role: role, Lang: lang}
	if err := json.Unmarshal([]byte(raw), p); err != nil {
		t.Fatalf("%s: %v", u, err)
	}
	p.Pattern = patternOf(mux, p.URL)
	var problems []string
	for _, c := range pageChecks {
		for _, m := range c.run(ctx, p) {
			problems = append(problems, fmt.Sprintf("%s %s [%s]: %s", who, u, c.name, m))
		}
	}
	return p, problems
}

// switchLang sets the language cookie through the page's own switch
// (/lang/{lang}), as a user's tap on "English" or "中文" does.
func switchLang(t *testing.T, ctx context.Context, base, lang string) {
	t.Helper()
	sctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if err := chromedp.Do(sctx, chromedp.Navigate(base+"/lang/"+lang+"?next=/")); err != nil {
		t.Fatalf("switch to %s: %v", lang, err)
	}
}

func patternOf(mux *http.ServeMux, u string) string {
	req, err := http.NewRequest("GET", u, nil)
	if err != nil {
		return ""
	}
	_, pat := mux.Handler(req)
	return pat
}

// signInAs signs user in with the demo password through the sign-in form
// (signing out whoever was signed in).
func signInAs(t testing.TB, ctx context.Context, base, user string) {
	t.Helper()
	signInWith(t, ctx, base, user, demoPassword)
}

// demoPassword is every demo account's password.
const demoPassword = "Countycare-Demo-2026"

// signInWith signs user in with password through the sign-in form
// (signing out whoever was signed in).
func signInWith(t testing.TB, ctx context.Context, base, user, password string) {
	t.Helper()
	sctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	// Sign out from a page without the live-events connection (which
	// would reconnect after sign-out and log an error): read the token,
	// leave for /healthz, post the sign-out from there.
	csrf, err := chromedp.Run(sctx, chromedp.Evaluate[string](`(function(){var i=document.querySelector('form[action="/logout"] input[name="csrf"]');return i?i.value:""})()`))
	if err != nil {
		t.Fatalf("sign out: %v", err)
	}
	if csrf != "" {
		if err := chromedp.Do(sctx, chromedp.Navigate(base+"/healthz")); err != nil {
			t.Fatalf("sign out: %v", err)
		}
		if _, err := chromedp.Run(sctx, chromedp.Evaluate[int](`fetch("/logout", {method: "POST", headers: {"Content-Type": "application/x-www-form-urlencoded"}, body: "csrf=" + encodeURIComponent(`+jsString(csrf)+`)}).then(function (r) { return r.status; })`, chromedp.EvalAwaitPromise)); err != nil {
			t.Fatalf("sign out: %v", err)
		}
	}
	if err := chromedp.Do(sctx, chromedp.Navigate(base+"/login"), chromedp.WaitVisible("#username"),
		chromedp.SendKeys("#username", user), chromedp.SendKeys("#password", password),
		chromedp.Click("#login"), chromedp.WaitReady("header.top .who")); err != nil {
		t.Fatalf("sign in %s: %v", user, err)
	}
}

// crawlUser is one sign-in of the crawl: a demo role's account, or an
// account seedPages made where the demo's own cannot reach a page (a
// department head for the duty roster). prepare runs in the browser after
// the sign-in (a password step-up, which is bound to the browser's session).
type crawlUser struct {
	role, username, password string
	starts                   []string
	prepare                  func(t *testing.T, ctx context.Context)
}

// TestEveryPageOnAPhone crawls every page of every demo role at 360×740,
// in Chinese and in English, and fails on raw identifiers, codes, Go
// durations, UTC times, file paths and debug text in what the page shows,
// on Chinese words left on English pages, on pages wider than the screen,
// on axe-core violations, and on any page route of the route table that no
// crawl of a role it admits reaches.
func TestEveryPageOnAPhone(t *testing.T) {
	chrome := chromiumPath(t)
	reRepoPath = regexp.MustCompile(`\b(?:` + strings.Join(moduleDirs(t), "|") + `)/[\w./-]+`)
	pages, mux := pageRoutes(t)
	t.Setenv("COUNTYCARE_SURVEY_INVITE_EVERY", "1s") // the survey invitations the crawl opens (surveyLinks)
	base, logins, dbPath := startBinaryDB(t)
	roles := make([]string, 0, len(logins))
	for r := range logins {
		roles = append(roles, r)
	}
	sort.Strings(roles)
	if len(roles) < 10 {
		t.Fatalf("the demo printed sign-ins for %d roles, want all ten: %v", len(roles), logins)
	}
	seeds := seedPages(t, base, dbPath, logins)
	users := []crawlUser{{role: "", starts: append([]string{"/login"}, seeds.starts[""]...)}}
	for _, role := range roles {
		users = append(users, crawlUser{role: role, username: logins[role], password: demoPassword,
			starts: append([]string{"/"}, seeds.starts[role]...), prepare: seeds.prepare[role]})
	}
	users = append(users, seeds.users...)

	ctx, console := openPhoneSize(t, chrome, 360, 740)
	var all []string
	seen := map[string]map[string]bool{} // role → route patterns visited (in both languages)
	visited := map[string]int{}          // pages opened by language
	began := time.Now()
	for _, u := range users {
		if u.role != "" {
			signInWith(t, ctx, base, u.username, u.password)
		}
		if u.prepare != nil {
			u.prepare(t, ctx)
		}
		if seen[u.role] == nil {
			seen[u.role] = map[string]bool{}
		}
		zh := crawl(t, ctx, base, u.role, "zh", u.starts, seen[u.role], pages, mux, func(*crawledPage) { visited["zh"]++ })
		switchLang(t, ctx, base, "en")
		en := revisit(t, ctx, base, u.role, "en", zh.urls, mux, func(*crawledPage) { visited["en"]++ })
		switchLang(t, ctx, base, "zh")
		all = append(all, zh.problems...)
		all = append(all, en.problems...)
		t.Logf("%-18s %3d pages, %3d problems, %v", u.role, len(zh.urls)+len(en.urls), len(zh.problems)+len(en.problems), time.Since(began).Round(time.Second))
		for pat := range zh.seen {
			if en.seen[pat] {
				seen[u.role][pat] = true
			} else {
				all = append(all, fmt.Sprintf("%s: %s opened in Chinese but not in English", u.role, pat))
			}
		}
	}
	all = append(all, unreached(pages, seen)...)
	t.Logf("visited %d pages in Chinese and %d in English as %d sign-ins in %v", visited["zh"], visited["en"], len(users), time.Since(began).Round(time.Second))
	for _, p := range console.Problems() {
		if !strings.Contains(p, "status of 4") {
			all = append(all, "console: "+p)
		}
	}
	if len(all) > 0 {
		t.Errorf("%d problems:\n%s", len(all), strings.Join(all, "\n"))
	}
}

// unreached lists the page routes a crawl did not visit: for each role
// crawled (the anonymous visitor as ""), each page route the role may open
// that none of its sign-ins reached, and each page route no role reached
// at all (one whose policy admits no crawled role).
func unreached(pages []web.Route, seen map[string]map[string]bool) []string {
	var out []string
	for role, got := range seen {
		who := role
		if who == "" {
			who = "anonymous"
		}
		for _, r := range pages {
			if admits(r, role) && !got[r.Pattern] {
				out = append(out, who+": no link or seed leads to "+r.Pattern)
			}
		}
	}
	for _, r := range pages {
		any := false
		for _, got := range seen {
			any = any || got[r.Pattern]
		}
		if !any {
			out = append(out, "no role's crawl reached "+r.Pattern)
		}
	}
	sort.Strings(out)
	return slices.Compact(out)
}

// TestPhoneHomeAndMenu: at 360×740 the village doctor's home opens on the
// patient search box and the day's counts, which match the lists the
// database gives through the API; the header takes less than 15 % of the
// screen; the folded menu opens with a tap and with the keyboard, without
// script.
func TestPhoneHomeAndMenu(t *testing.T) {
	chrome := chromiumPath(t)
	base, logins := startBinary(t)
	user := logins["village_doctor"]
	ctx, console := openPhoneSize(t, chrome, 360, 740)
	signInAs(t, ctx, base, user)
	eval := func(expr string) string {
		t.Helper()
		sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		v, err := chromedp.Run(sctx, chromedp.Evaluate[string](expr))
		if err != nil {
			t.Fatalf("%s: %v", expr, err)
		}
		return v
	}
	sctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if err := chromedp.Do(sctx, chromedp.Navigate(base+"/"), chromedp.WaitVisible("#home-q"), chromedp.WaitVisible("#home-counts")); err != nil {
		t.Fatalf("home: %v", err)
	}
	if h, err := strconv.ParseFloat(eval(`String(document.querySelector("header.top").getBoundingClientRect().height / innerHeight)`), 64); err != nil || h >= 0.15 {
		t.Errorf("header takes %v of the screen (%v)", h, err)
	}
	if got := eval(`String(document.querySelector("#site-menu").offsetHeight)`); got != "0" {
		t.Errorf("menu not folded on a phone: %s px", got)
	}
	// The counts are the lengths of the lists the API returns.
	api := signIn(t, base, user)
	count := func(path, key string) int {
		t.Helper()
		code, body := api.do("GET", path, nil)
		var out map[string][]json.RawMessage
		if err := json.Unmarshal(body, &out); code != 200 || err != nil {
			t.Fatalf("GET %s: %d %v", path, code, err)
		}
		return len(out[key])
	}
	for id, want := range map[string]int{
		"overdue":  count("/api/v1/chronic/overdue", "overdue"),
		"critical": count("/api/v1/critical-alerts?open=1", "alerts"),
		"tasks":    count("/api/v1/referrals?box=tasks", "referrals"),
	} {
		got := eval(`document.querySelector("#count-` + id + ` b").textContent`)
		if got != fmt.Sprint(want) {
			t.Errorf("home count %s = %s, the list has %d", id, got, want)
		}
	}
	if eval(`document.querySelector("#count-overdue b").textContent`) == "0" {
		t.Errorf("the demo village has no overdue follow-ups: the count is not tested")
	}
	// The menu opens with a tap on its button and with the keyboard.
	if err := chromedp.Do(sctx, chromedp.Click("label.menu-button"), chromedp.WaitVisible("#nav-consult")); err != nil {
		t.Fatalf("menu does not open with a tap: %v", err)
	}
	if err := chromedp.Do(sctx, chromedp.Click("label.menu-button"), chromedp.WaitNotVisible("#nav-consult")); err != nil {
		t.Fatalf("menu does not close: %v", err)
	}
	if err := chromedp.Do(sctx, chromedp.Focus("#menu-toggle"), chromedp.KeyEvent(" "), chromedp.WaitVisible("#nav-consult")); err != nil {
		t.Fatalf("menu does not open with the keyboard: %v", err)
	}
	// In English too (the unfolded menu took 49 % of the screen).
	if err := chromedp.Do(sctx, chromedp.Navigate(base+"/lang/en?next=/"), chromedp.WaitVisible("#home-q")); err != nil {
		t.Fatalf("English home: %v", err)
	}
	if h, err := strconv.ParseFloat(eval(`String(document.querySelector("header.top").getBoundingClientRect().height / innerHeight)`), 64); err != nil || h >= 0.15 {
		t.Errorf("English header takes %v of the screen (%v)", h, err)
	}
	if problems := console.Problems(); len(problems) > 0 {
		t.Errorf("console: %v", problems)
	}
}

// signInPassword is signIn with another password than the demo's.
func signInPassword(t *testing.T, base, user, password string) *apiClient {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &apiClient{t: t, base: base, hc: &http.Client{Jar: jar, Timeout: 30 * time.Second}}
	code, body := c.do("POST", "/api/v1/session", map[string]string{"username": user, "password": password})
	var out struct {
		CSRF string `json:"csrf_token"`
	}
	if err := json.Unmarshal(body, &out); code != 200 || err != nil {
		t.Fatalf("sign in %s: %d %s", user, code, body)
	}
	c.csrf = out.CSRF
	return c
}

// form posts a page's form (the session's CSRF token in its field) and
// follows the redirect, returning the final status and URL.
func (c *apiClient) form(path string, v url.Values) (int, string) {
	c.t.Helper()
	v.Set("csrf", c.csrf)
	resp, err := c.hc.PostForm(c.base+path, v)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, resp.Request.URL.String()
}

// crawlSeeds is what seedPages made for the crawl: extra start URLs per
// role ("" the anonymous visitor), steps to run in the browser after a
// role's sign-in, and extra sign-ins.
type crawlSeeds struct {
	starts  map[string][]string
	prepare map[string]func(t *testing.T, ctx context.Context)
	users   []crawlUser
}

// seedPages writes what the demo county lacks, through the API and the
// forms as the roles who would (one open consultation, a fetal heart
// trace, a settled bill for the demo resident, a township consultation and
// ECG, online visits to step up to, a department head's account, a
// one-time reset link), and returns extra start URLs per role: the detail
// pages of data each role can see that no page of the first residents
// links to (a returned report, that resident's studies).
func seedPages(t *testing.T, base, dbPath string, logins map[string]string) *crawlSeeds {
	t.Helper()
	seeds := map[string][]string{}
	out := &crawlSeeds{starts: seeds, prepare: map[string]func(*testing.T, context.Context){}}
	// The records behind a figure (the crawl's two boards per pattern stop
	// above the units that have them): down the analyst's boards to one.
	seeds["analyst"] = append(seeds["analyst"], villageRecords(t, base, logins["analyst"]))

	// One open consultation (the demo's are closed): its page shows the
	// scheduler's events, the specialist's queue lists it.
	openConsultation(t, base, logins["village_doctor"])

	// A returned report and its resident's studies, for each clinic doctor.
	for _, role := range []string{"village_doctor", "township_doctor"} {
		c := signIn(t, base, logins[role])
		code, body := c.do("GET", "/api/v1/reading/returned", nil)
		var ret struct {
			Studies []struct {
				ID         int64  `json:"id"`
				ResidentID int64  `json:"resident_id"`
				Modality   string `json:"modality"`
			} `json:"studies"`
		}
		if err := json.Unmarshal(body, &ret); code != 200 || err != nil {
			t.Fatalf("%s: returned reports: %d %v %.200s", role, code, err, body)
		}
		if len(ret.Studies) == 0 { // the demo township sends none of its own
			continue
		}
		st := ret.Studies[0]
		seeds[role] = append(seeds[role], fmt.Sprintf("/reading/studies/%d", st.ID), fmt.Sprintf("/residents/%d/studies", st.ResidentID))
		for _, x := range ret.Studies { // a resident with DICOM images: the imaging page's previews
			if x.Modality == "CT" || x.Modality == "DR" || x.Modality == "MR" || x.Modality == "US" {
				seeds[role] = append(seeds[role], fmt.Sprintf("/residents/%d/imaging", x.ResidentID))
				break
			}
		}
	}

	// A fetal heart trace from the village, sent to its reading center.
	vd := signIn(t, base, logins["village_doctor"])
	rid := seeds["village_doctor"][1][len("/residents/") : len(seeds["village_doctor"][1])-len("/studies")]
	_, exams := vd.do("GET", "/residents/"+rid+"/exams", nil)
	m := regexp.MustCompile(`name="center_id"><option value="(\d+)"`).FindStringSubmatch(string(exams))
	if m == nil {
		t.Fatal("no reading center on the exams page")
	}
	var b strings.Builder
	b.WriteString("time,fhr,uc\n")
	for i := 0; i < 40*240; i++ {
		fmt.Fprintf(&b, "%.2f,%.1f,%d\n", float64(i)/4, 140+5*math.Sin(2*math.Pi*float64(i)/28), 10+(i/40)%40)
	}
	center, _ := strconv.ParseInt(m[1], 10, 64)
	code, body := vd.do("POST", "/api/v1/residents/"+rid+"/fetal", map[string]any{"center_id": center, "device": "CTG", "name": "ctg.csv", "csv": []byte(b.String())})
	var fetal struct {
		ID int64 `json:"id"`
	}
	if err := json.Unmarshal(body, &fetal); code != 201 || err != nil {
		t.Fatalf("fetal trace: %d %.300s", code, body)
	}
	seeds["village_doctor"] = append(seeds["village_doctor"], fmt.Sprintf("/fetal/%d", fetal.ID))
	// The township doctor sees the residents of the center's villages.
	// (A study's page is the ordering clinic's: not the township's.)
	if len(seeds["township_doctor"]) == 0 {
		seeds["township_doctor"] = seeds["village_doctor"][1:]
	}

	// A settled outpatient bill of the demo resident: the window's and the
	// resident's explanation of benefits, the correction form.
	st, err := store.Open(context.Background(), "sqlite://"+dbPath, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	// Specimens (issue 17): one sent to the crawled reader's center (the
	// demo's go to the county lab, whose reader is not a crawled sign-in)
	// and one ordered by the township doctor, so that each has a specimen
	// page linked from its board.
	rd, err := st.AccountByUsername(context.Background(), logins["reader"])
	if err != nil {
		t.Fatal(err)
	}
	for _, role := range []string{"village_doctor", "township_doctor"} {
		c := signIn(t, base, logins[role])
		code, body := c.do("POST", "/api/v1/residents/"+rid+"/specimens", map[string]any{"lab_id": rd.InstitutionID, "tests": []string{"GLU"}, "tube": "fluoride"})
		if code != 201 {
			t.Fatalf("%s: a specimen for the reader's center: %d %.300s", role, code, body)
		}
	}
	acc, err := st.AccountByUsername(context.Background(), logins["resident"])
	if err != nil {
		t.Fatal(err)
	}
	res := strconv.FormatInt(acc.ResidentID, 10)
	io := signIn(t, base, logins["insurance_officer"])
	_, form := io.do("GET", "/settlement/new?resident="+res, nil)
	h := regexp.MustCompile(`name="institution_id"><option value="(\d+)"`).FindStringSubmatch(string(form))
	if h == nil {
		t.Fatal("no institution on the bill form")
	}
	hosp, _ := strconv.ParseInt(h[1], 10, 64)
	bill, _ := json.Marshal(map[string]any{"resident_id": acc.ResidentID, "institution_id": hosp, "visit_id": "MZ-CRAWL-1",
		"date": time.Now().In(time.FixedZone("CST", 8*3600)).Format("2006-01-02"), "visit_type": "outpatient",
		"lines": []map[string]string{{"code": "X1", "name": "阿莫西林胶囊", "class": "drug", "category": "A", "amount": "35.50"}, {"code": "X2", "name": "血常规", "class": "exam", "category": "A", "amount": "20"}}})
	req, _ := http.NewRequest("POST", base+"/api/v1/settlements", strings.NewReader(string(bill)))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-CSRF-Token", io.csrf)
	req.Header.Set("Idempotency-Key", "crawl-1")
	resp, err := io.hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var settled struct {
		ID int64 `json:"id"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&settled); resp.StatusCode != 201 || err != nil {
		t.Fatalf("settle: %d %v", resp.StatusCode, err)
	}
	seeds["insurance_officer"] = append(seeds["insurance_officer"], fmt.Sprintf("/settlements/%d", settled.ID), "/settlement/new?resident="+res)
	// The resident's household on the poverty watch (the demo's households
	// may all be below the line, so the list need not link one).
	var hh struct {
		HouseholdID int64 `json:"household_id"`
	}
	if _, b := io.do("GET", "/api/v1/residents/"+res, nil); json.Unmarshal(b, &hh) != nil || hh.HouseholdID == 0 {
		t.Fatalf("the resident's household: %.200s", b)
	}
	seeds["insurance_officer"] = append(seeds["insurance_officer"], fmt.Sprintf("/poverty-watch/households/%d", hh.HouseholdID))

	// An online follow-up visit the demo resident books for a condition
	// diagnosed offline (the registry or a prescription the demo wrote);
	// the village doctor starts it after signing in (the password step-up
	// is bound to the browser's session), which opens /online/{id}/rx.
	me := signIn(t, base, logins["resident"])
	out.prepare["village_doctor"] = stepUpOnline(bookOnline(t, me, acc.ResidentID))

	// The township doctor's own work: a consultation it asks for, an ECG
	// it sends to the reading center (the study page is the ordering
	// clinic's), and an online visit it books for a resident of a village
	// of its center and starts.
	td := signIn(t, base, logins["township_doctor"])
	tcase := requestConsultation(t, base, logins["township_doctor"], "crawl-township")
	trid := strconv.FormatInt(tcase.ResidentID, 10)
	_, texams := td.do("GET", "/residents/"+trid+"/exams", nil)
	tm := regexp.MustCompile(`name="center_id"><option value="(\d+)"`).FindStringSubmatch(string(texams))
	if tm == nil {
		t.Fatal("no reading center on the township's exams page")
	}
	tcenter, _ := strconv.ParseInt(tm[1], 10, 64)
	code, body = td.do("POST", "/api/v1/residents/"+trid+"/ecg", map[string]any{"center_id": tcenter, "signal_name": "rest.csv", "signal": restingCSV()})
	var ecg struct {
		ID int64 `json:"id"`
	}
	if err := json.Unmarshal(body, &ecg); code != 201 || err != nil || ecg.ID == 0 {
		t.Fatalf("township ECG: %d %v %.300s", code, err, body)
	}
	// The resident's page links the study's page (/reading/studies/{id}: the
	// workflow's ID, not the ECG's).
	seeds["township_doctor"] = append(seeds["township_doctor"], fmt.Sprintf("/consult/%d", tcase.ID), "/residents/"+trid)
	out.prepare["township_doctor"] = stepUpOnline(bookOnline(t, td, townshipPatient(t, td)))

	// The duty roster is its department head's: the administrator gives
	// the head of the demo specialist's department an account (the
	// accounts form), and the crawl signs in as the head too.
	ad := signIn(t, base, logins["admin"])
	spec, err := st.AccountByUsername(context.Background(), logins["county_specialist"])
	if err != nil {
		t.Fatal(err)
	}
	sp, err := st.Practitioner(context.Background(), spec.PractitionerID)
	if err != nil {
		t.Fatal(err)
	}
	deps, err := st.Departments(context.Background(), sp.InstitutionID)
	if err != nil {
		t.Fatal(err)
	}
	head := int64(0)
	for _, d := range deps {
		if d.ID == sp.DepartmentID {
			head = d.HeadID
		}
	}
	if head == 0 || head == sp.ID {
		t.Fatalf("the demo specialist's department has head %d (the specialist is %d)", head, sp.ID)
	}
	const headPassword = "Crawl-Head-Pass-2026"
	if code, u := ad.form("/admin/accounts", url.Values{"username": {"crawl.head"}, "role": {string(care.RoleCountySpecialist)},
		"practitioner_id": {strconv.FormatInt(head, 10)}, "password": {headPassword}}); code != 200 || !strings.Contains(u, "ok=account_created") {
		t.Fatalf("the department head's account: %d %s", code, u)
	}
	out.users = append(out.users, crawlUser{role: string(care.RoleCountySpecialist), username: "crawl.head", password: headPassword,
		starts: []string{"/consult", "/consult/roster"}})

	// A one-time password-reset link: the administrator asks to reset the
	// auditor's password, a second administrator (made through the
	// accounts form) approves, and the owner's text message carries the
	// link, which the anonymous crawl opens (opening it does not use it).
	out.starts[""] = append(out.starts[""], "/reset?t="+resetLink(t, base, st, ad, logins))

	// The demo resident's survey after that bill: its text message's link
	// (the anonymous crawl) and the resident's own page (/me links it).
	link, id := surveyLinks(t, st, acc.ResidentID)
	out.starts[""] = append(out.starts[""], link)
	out.starts["resident"] = append(out.starts["resident"], fmt.Sprintf("/me/surveys/%d", id))
	return out
}

// villageRecords follows the analyst's boards down (county, community,
// township, village) and returns the first link to the records behind a
// figure: a township's consultations or a village's patients.
func villageRecords(t *testing.T, base, login string) string {
	t.Helper()
	c := signIn(t, base, login)
	unit, rec := regexp.MustCompile(`<tr data-unit="(\d+)"`), regexp.MustCompile(`href="(/dashboard/units/\d+/records\?[^"]+)"`)
	_, body := c.do("GET", "/dashboard", nil)
	for depth := 0; depth < 5; depth++ {
		if m := rec.FindSubmatch(body); m != nil {
			return strings.ReplaceAll(string(m[1]), "&amp;", "&")
		}
		m := unit.FindSubmatch(body)
		if m == nil {
			break
		}
		_, body = c.do("GET", "/dashboard/units/"+string(m[1]), nil)
	}
	t.Fatal("no board of the analyst's links to records")
	return ""
}

// surveyLinks waits (the server invites every second: TestEveryPageOnAPhone
// sets COUNTYCARE_SURVEY_INVITE_EVERY) for the resident's open survey and
// returns its text message's link and its ID.
func surveyLinks(t *testing.T, st *store.Store, residentID int64) (string, int64) {
	t.Helper()
	ctx := context.Background()
	r, err := st.Resident(ctx, residentID)
	if err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(250 * time.Millisecond) {
		invs, err := st.OpenInvitations(ctx, r.CountyCode, residentID, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		msgs, err := st.MessagesTo(ctx, r.CountyCode, residentID, survey.Purpose, 1)
		if err != nil {
			t.Fatal(err)
		}
		if len(invs) > 0 && len(msgs) > 0 {
			m := regexp.MustCompile(`/s\?t=[A-Za-z0-9_-]+`).FindString(msgs[0].Params["link"])
			if m == "" {
				t.Fatalf("no link in the survey message %q", msgs[0].Body)
			}
			return m, invs[0].ID
		}
	}
	t.Fatal("no survey invitation for the demo resident within 30 s")
	return "", 0
}

// bookOnline books an online follow-up visit for resident rid as c (the
// resident themself or their doctor), for the first condition the
// resident has a prior offline diagnosis of, and returns the visit's ID.
func bookOnline(t *testing.T, c *apiClient, rid int64) int64 {
	t.Helper()
	code, body := c.do("GET", fmt.Sprintf("/api/v1/residents/%d/online/conditions", rid), nil)
	var conds struct {
		Documents []struct {
			Codes []string `json:"codes"`
		} `json:"documents"`
	}
	if err := json.Unmarshal(body, &conds); code != 200 || err != nil {
		t.Fatalf("online conditions: %d %v %.200s", code, err, body)
	}
	for _, d := range conds.Documents {
		if len(d.Codes) == 0 {
			continue
		}
		code, body = c.do("POST", "/api/v1/online/visits", map[string]any{"resident_id": rid, "diagnosis": d.Codes[0], "complaint": "药快吃完了，想复诊"})
		var v struct {
			ID int64 `json:"id"`
		}
		if err := json.Unmarshal(body, &v); code != 201 || err != nil {
			t.Fatalf("book an online visit: %d %.300s", code, body)
		}
		return v.ID
	}
	t.Fatalf("resident %d has no offline diagnosis to follow up online", rid)
	return 0
}

// townshipPatient is a resident the township doctor may book an online
// visit for: one of its list with an offline diagnosis.
func townshipPatient(t *testing.T, td *apiClient) int64 {
	t.Helper()
	_, list := td.do("GET", "/residents?group=elderly65", nil)
	for _, m := range regexp.MustCompile(`href="/residents/(\d+)"`).FindAllStringSubmatch(string(list), 20) {
		code, body := td.do("GET", "/api/v1/residents/"+m[1]+"/online/conditions", nil)
		if code == 200 && strings.Contains(string(body), `"codes":["`) {
			id, _ := strconv.ParseInt(m[1], 10, 64)
			return id
		}
	}
	t.Fatal("no resident with an offline diagnosis in the township's list")
	return 0
}

// stepUpOnline returns the browser step that starts visit vid as the
// signed-in doctor: the password step-up on the visit's page, after which
// the page links the online prescription (/online/{id}/rx).
func stepUpOnline(vid int64) func(t *testing.T, ctx context.Context) {
	return func(t *testing.T, ctx context.Context) {
		t.Helper()
		sctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		defer cancel()
		if err := chromedp.Do(sctx, chromedp.Navigate(fmt.Sprintf("%s/online/%d", baseOf(t, ctx), vid)), chromedp.WaitVisible("#step-up"),
			chromedp.SendKeys(`#step-up input[name="password"]`, demoPassword), chromedp.Click(`#step-up button`),
			chromedp.WaitVisible("#write-rx")); err != nil {
			t.Fatalf("start online visit %d: %v", vid, err)
		}
	}
}

// baseOf is the origin of the page open in ctx.
func baseOf(t *testing.T, ctx context.Context) string {
	t.Helper()
	loc, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(loc)
	if err != nil {
		t.Fatal(err)
	}
	return u.Scheme + "://" + u.Host
}

// resetLink has the demo administrator request a reset of the auditor's
// password and a second administrator (an account the first creates)
// approve it, and returns the one-time link's token from the text message
// queued to the owner (the outbox, read through the store).
func resetLink(t *testing.T, base string, st *store.Store, ad *apiClient, logins map[string]string) string {
	t.Helper()
	ctx := context.Background()
	aud, err := st.AccountByUsername(ctx, logins["auditor"])
	if err != nil {
		t.Fatal(err)
	}
	if code, u := ad.form(fmt.Sprintf("/admin/accounts/%d/reset-request", aud.ID), url.Values{}); code != 200 || !strings.Contains(u, "ok=reset_requested") {
		t.Fatalf("reset request: %d %s", code, u)
	}
	const pw = "Second-Admin-Pass-2026"
	ps, err := st.Practitioners(ctx, org.PractitionerFilter{Limit: 500})
	if err != nil {
		t.Fatal(err)
	}
	var second *apiClient
	for _, p := range ps {
		name := fmt.Sprintf("crawl.admin%d", p.ID)
		if code, u := ad.form("/admin/accounts", url.Values{"username": {name}, "role": {string(care.RoleAdmin)},
			"practitioner_id": {strconv.FormatInt(p.ID, 10)}, "password": {pw}}); code == 200 && strings.Contains(u, "ok=account_created") {
			second = signInPassword(t, base, name, pw)
			break
		}
	}
	if second == nil {
		t.Fatal("no practitioner could get a second administrator account")
	}
	rs, err := st.PendingResets(ctx, time.Now())
	if err != nil || len(rs) != 1 {
		t.Fatalf("pending resets: %v %v", rs, err)
	}
	if code, u := second.form(fmt.Sprintf("/admin/resets/%d/approve", rs[0].ID), url.Values{}); code != 200 || !strings.Contains(u, "ok=reset_link_sent") {
		t.Fatalf("approve the reset: %d %s", code, u)
	}
	_, body := second.do("GET", "/api/v1/me", nil)
	var me struct {
		County string `json:"county_code"`
	}
	json.Unmarshal(body, &me)
	msgs, err := st.MessagesTo(ctx, me.County, 0, account.ResetPurpose, 1)
	if err != nil || len(msgs) != 1 {
		t.Fatalf("the owner's one-time link: %v %v", msgs, err)
	}
	m := regexp.MustCompile(`/reset\?t=([A-Za-z0-9_-]+)`).FindStringSubmatch(msgs[0].Body)
	if m == nil {
		t.Fatalf("no link in the owner's message %q", msgs[0].Body)
	}
	return m[1]
}

// TestPageChecksCatchKnownOffenders: the crawler's text and layout checks
// flag what issue 18 found on the pages, and pass clean Chinese text.
func TestPageChecksCatchKnownOffenders(t *testing.T) {
	reRepoPath = regexp.MustCompile(`\b(?:` + strings.Join(moduleDirs(t), "|") + `)/[\w./-]+`)
	for _, bad := range []string{"专科：cardiology", "one_to_one routine", "head=false deadline 2026-12-06T16:10:00Z",
		"等待 19h3m0s", "供货 supply:3", "公式见 docs/referral.md。", "（WHO ATC classification, rx/kb）", "药品,drug,A",
		"2026-12-07 01:40:39 +0000 UTC", "0s"} {
		if ps := checkRawText(context.Background(), &crawledPage{Text: "页面 " + bad}); len(ps) == 0 {
			t.Errorf("%q passes", bad)
		}
	}
	if ps := checkRawText(context.Background(), &crawledPage{Options: []string{"cardiology"}}); len(ps) == 0 {
		t.Error("an option's raw code passes")
	}
	good := "心血管内科 · 应答截止 2026-12-07 00:10 · 等待 19小时3分 · 供货单 #3 · 血钾 6.8 mmol/L · 心电 ECG · 上传 .hea 和 .dat 文件 · CT 512×512"
	if ps := checkRawText(context.Background(), &crawledPage{Text: good}); len(ps) > 0 {
		t.Errorf("clean text flagged: %v", ps)
	}
	// English pages (issue 18 §4): English words are the page's own, the
	// raw-text checks still apply, and Chinese outside the elements marked
	// as data is a missing translation — the "、" of a list joined in
	// Chinese, the full-width brackets of a template, a word from zh.json.
	en := func(text string) *crawledPage { return &crawledPage{Lang: "en", HTMLLang: "en", Text: text} }
	if ps := checkRawText(context.Background(), en("Pre-read abnormal · Heart rate 73 bpm · Waiting 19 h 3 min")); len(ps) > 0 {
		t.Errorf("clean English text flagged: %v", ps)
	}
	for _, bad := range []string{"Waiting 19h3m0s", "ref_range is optional", "deadline 2026-12-06T16:10:00Z", "see docs/referral.md"} {
		if ps := checkRawText(context.Background(), en(bad)); len(ps) == 0 {
			t.Errorf("English page: %q passes", bad)
		}
	}
	for _, bad := range []string{"Could add: captopril、enalapril", "Dr Li（Village doctor）", "Status: 待审核", "Reason：none"} {
		if ps := checkHan(context.Background(), en(bad)); len(ps) == 0 {
			t.Errorf("English page: %q passes", bad)
		}
	}
	if ps := checkHan(context.Background(), &crawledPage{Lang: "en", Options: []string{"儿科"}}); len(ps) == 0 {
		t.Error("English page: a Chinese option outside the data passes")
	}
	if ps := checkHan(context.Background(), &crawledPage{Lang: "zh", Text: "待审核"}); len(ps) > 0 {
		t.Errorf("Chinese page flagged for Chinese: %v", ps)
	}
	// A title cannot mark its data: a name in it passes when the page shows
	// it as data (the heading), not otherwise.
	if ps := checkHan(context.Background(), &crawledPage{Lang: "en", Title: "孟健发 · County Medical Community Platform", Data: []string{"孟健发"}}); len(ps) > 0 {
		t.Errorf("a resident's name in the title flagged: %v", ps)
	}
	if ps := checkHan(context.Background(), &crawledPage{Lang: "en", Title: "居民 · County Medical Community Platform", Data: []string{"孟健发"}}); len(ps) == 0 {
		t.Error("an untranslated title passes")
	}
	if ps := checkLang(context.Background(), &crawledPage{Lang: "en", HTMLLang: "zh-CN"}); len(ps) == 0 {
		t.Error("a Chinese page passes as English")
	}
	if ps := checkLang(context.Background(), &crawledPage{Lang: "zh", HTMLLang: "zh-CN"}); len(ps) > 0 {
		t.Errorf("a Chinese page flagged: %v", ps)
	}
	if ps := checkFits(context.Background(), &crawledPage{Scroll: 866, Inner: 360}); len(ps) == 0 {
		t.Error("an 866-px page on a 360-px screen passes")
	}
	if ps := checkHeader(context.Background(), &crawledPage{Header: 200, Height: 740, Inner: 360}); len(ps) == 0 {
		t.Error("a 200-px header passes")
	}
}

// TestUnreachedNamesEveryMissingPage: the completeness check names, per
// role, each page route the role may open that none of its sign-ins
// reached, and each page route no role reached at all.
func TestUnreachedNamesEveryMissingPage(t *testing.T) {
	pages := []web.Route{
		{Pattern: "GET /residents", Policy: access.Allow(care.RoleVillageDoctor, care.RoleTownshipDoctor)},
		{Pattern: "GET /audit", Policy: access.Allow(care.RoleAuditor)},
		{Pattern: "GET /login", Policy: access.Public()},
	}
	got := unreached(pages, map[string]map[string]bool{
		"":                              {"GET /login": true},
		string(care.RoleVillageDoctor):  {"GET /residents": true},
		string(care.RoleTownshipDoctor): {},
	})
	want := []string{"no role's crawl reached GET /audit", "township_doctor: no link or seed leads to GET /residents"}
	if !slices.Equal(got, want) {
		t.Errorf("unreached = %q, want %q", got, want)
	}
	if got := unreached(pages, map[string]map[string]bool{"": {"GET /login": true}, "auditor": {"GET /audit": true},
		"village_doctor": {"GET /residents": true}, "township_doctor": {"GET /residents": true}}); len(got) > 0 {
		t.Errorf("a complete crawl: %q", got)
	}
}
