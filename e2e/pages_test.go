package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
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

	"countycare/care"
	"countycare/store"
	"countycare/web"
)

// The page crawler (issue 18 §4): every role of the demo county signs in
// on a 360×740 phone in Chinese and visits every HTML page its routes
// allow, following the links its own pages show (so path parameters are
// real IDs the role can see). Each page goes through every pageCheck;
// another check (e.g. accessibility) is one more entry in pageChecks.

// crawledPage is what a check sees of one page, read after it loaded.
type crawledPage struct {
	Role    string // the signed-in role ("" before sign-in)
	Pattern string // the route pattern the URL matched
	URL     string
	Status  int
	Text    string   // document.body.innerText without elements marked translate="no" (data: names, codes, IDs)
	Options []string // the texts of every <option> (not in innerText) outside translate="no"
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

// notInDemo are the page routes a role's links cannot reach because the
// demo county (with what seedPages adds) has nothing of the kind the role
// can see. The crawler logs them; a link to one of them makes the crawler
// visit and check it like any other.
var notInDemo = map[string]string{
	"GET /online/{id}/rx":       "linked once the doctor has started the visit (a password step-up)",
	"GET /consult/{id}":         "the demo's consultations are closed and come from other clinics",
	"GET /consult/roster":       "linked for department heads; the demo specialist is not one",
	"GET /reading/studies/{id}": "a study's page is the ordering clinic's; the demo township orders none",
	"GET /reset":                "opened only from the one-time link texted to a privileged account's owner after a second administrator approves",
}

// nonPages are GET routes that answer with something other than an HTML
// page (files, streams, images); the crawler does not open them.
var nonPages = map[string]string{
	"GET /events":                               "server-sent events",
	"GET /online/{id}/events":                   "server-sent events",
	"GET /consult/{id}/files/{sha}":             "an attachment",
	"GET /online/{id}/images/{sha}":             "an image",
	"GET /photos/{id}":                          "an image",
	"GET /settlements/{id}/pdf":                 "a PDF",
	"GET /residents/{id}/imaging/{iid}/preview": "a PNG",
	"GET /static/{hash}/{file}":                 "a static file",
	"GET /lang/{lang}":                          "switches the language",
	"GET /ecg/worklist":                         "a redirect for old bookmarks (to /reading/worklist?modality=ECG)",
	"GET /healthz":                              "operations",
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
			if reLowerish.MatchString(w) && !allowedWords[strings.ToLower(w)] && len(w) > 1 {
				out = append(out, fmt.Sprintf("English word on a Chinese page%s %q", where, w))
			}
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// pageScript reads what the checks need from the loaded page.
const pageScript = `(function () {
  var skip = Array.from(document.querySelectorAll('[translate="no"]'));
  var text = document.body.innerText;
  skip.forEach(function (e) { var s = e.innerText; if (s) { text = text.split(s).join(" "); } });
  var opts = Array.from(document.querySelectorAll("option")).filter(function (o) { return !o.closest('[translate="no"]'); }).map(function (o) { return o.text; });
  var nav = performance.getEntriesByType("navigation")[0];
  var h = document.querySelector("header.top");
  return JSON.stringify({
    URL: location.href, Status: nav ? nav.responseStatus : 0, Text: text, Options: opts, Title: document.title,
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

// crawlRole visits every page route role may open, starting from start
// and following the links of the pages it visits (one URL per route
// pattern), runs the checks and returns the problems by URL and the
// patterns it could not reach.
func crawlRole(t *testing.T, ctx context.Context, base, role string, starts []string, pages []web.Route, mux *http.ServeMux, visit func(*crawledPage)) (problems []string, unreached []string) {
	t.Helper()
	want := map[string]bool{}
	for _, r := range pages {
		if admits(r, role) {
			want[r.Pattern] = true
		}
	}
	seen := map[string]bool{}   // patterns visited or queued
	taken := map[string]int{}   // URLs queued per pattern
	queued := map[string]bool{} // URLs queued
	queue := append([]string(nil), starts...)
	for _, u := range starts {
		queued[u] = true
		pat := patternOf(mux, base+u)
		seen[pat] = true // even when it redirects (a resident's / opens /me)
		taken[pat]++
	}
	for len(queue) > 0 {
		u := queue[0]
		queue = queue[1:]
		sctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		err := chromedp.Do(sctx, chromedp.Navigate(base+u))
		var raw string
		if err == nil {
			raw, err = chromedp.Run(sctx, chromedp.Evaluate[string](pageScript))
		}
		cancel()
		if err != nil {
			problems = append(problems, fmt.Sprintf("%s %s: %v", role, u, err))
			continue
		}
		p := &crawledPage{Role: role}
		if err := json.Unmarshal([]byte(raw), p); err != nil {
			t.Fatalf("%s: %v", u, err)
		}
		p.Pattern = patternOf(mux, p.URL)
		seen[p.Pattern] = true
		taken[p.Pattern] = max(taken[p.Pattern], 1)
		if visit != nil {
			visit(p)
		}
		for _, c := range pageChecks {
			for _, m := range c.run(ctx, p) {
				problems = append(problems, fmt.Sprintf("%s %s [%s]: %s", role, u, c.name, m))
			}
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
			if want[pat] && !queued[path] && taken[pat] < perPattern {
				seen[pat] = true
				taken[pat]++
				queued[path] = true
				queue = append(queue, path)
			}
		}
	}
	for pat := range want {
		if seen[pat] {
			continue
		}
		if why, ok := notInDemo[pat]; ok {
			t.Logf("%s: not visited: %s (%s)", role, pat, why)
			continue
		}
		unreached = append(unreached, pat)
	}
	sort.Strings(unreached)
	return problems, unreached
}

func patternOf(mux *http.ServeMux, u string) string {
	req, err := http.NewRequest("GET", u, nil)
	if err != nil {
		return ""
	}
	_, pat := mux.Handler(req)
	return pat
}

// signInAs signs user in through the sign-in form (signing out whoever was signed in).
func signInAs(t *testing.T, ctx context.Context, base, user string) {
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
		chromedp.SendKeys("#username", user), chromedp.SendKeys("#password", "Countycare-Demo-2026"),
		chromedp.Click("#login"), chromedp.WaitReady("header.top .who")); err != nil {
		t.Fatalf("sign in %s: %v", user, err)
	}
}

// TestEveryPageOnAPhone crawls every page of every demo role at 360×740
// in Chinese and fails on raw identifiers, codes, Go durations, UTC
// times, file paths and debug text in what the page shows, on pages
// wider than the screen, and on page routes no link of the role leads to.
func TestEveryPageOnAPhone(t *testing.T) {
	chrome := chromiumPath(t)
	reRepoPath = regexp.MustCompile(`\b(?:` + strings.Join(moduleDirs(t), "|") + `)/[\w./-]+`)
	pages, mux := pageRoutes(t)
	base, logins, dbPath := startBinaryDB(t)
	ctx, console := openPhoneSize(t, chrome, 360, 740)
	var all []string
	anon, unreached := crawlRole(t, ctx, base, "", []string{"/login"}, pages, mux, nil)
	all = append(all, anon...)
	for _, u := range unreached {
		all = append(all, "anonymous: no link leads to "+u)
	}
	roles := make([]string, 0, len(logins))
	for r := range logins {
		roles = append(roles, r)
	}
	sort.Strings(roles)
	if len(roles) < 10 {
		t.Fatalf("the demo printed sign-ins for %d roles, want all ten: %v", len(roles), logins)
	}
	seeds := seedPages(t, base, dbPath, logins)
	visited := 0
	for _, role := range roles {
		signInAs(t, ctx, base, logins[role])
		ps, unreached := crawlRole(t, ctx, base, role, append([]string{"/"}, seeds[role]...), pages, mux, func(*crawledPage) { visited++ })
		all = append(all, ps...)
		for _, u := range unreached {
			all = append(all, role+": no link leads to "+u)
		}
	}
	t.Logf("visited %d pages as %d roles", visited, len(roles))
	for _, p := range console.Problems() {
		if !strings.Contains(p, "status of 4") {
			all = append(all, "console: "+p)
		}
	}
	if len(all) > 0 {
		t.Errorf("%d problems:\n%s", len(all), strings.Join(all, "\n"))
	}
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

// seedPages writes what the demo county lacks, through the API as the
// roles who would (one open consultation, a fetal heart trace, a settled
// bill for the demo resident), and returns extra start URLs per role: the
// detail pages of data each role can see that no page of the first
// residents links to (a returned report, that resident's studies).
func seedPages(t *testing.T, base, dbPath string, logins map[string]string) map[string][]string {
	t.Helper()
	seeds := map[string][]string{}
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

	// An online follow-up visit the demo resident books for a condition
	// diagnosed offline (the registry or a prescription the demo wrote).
	me := signIn(t, base, logins["resident"])
	code, body = me.do("GET", "/api/v1/residents/"+res+"/online/conditions", nil)
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
		code, body = me.do("POST", "/api/v1/online/visits", map[string]any{"diagnosis": d.Codes[0], "complaint": "药快吃完了，想复诊"})
		if code != 201 {
			t.Fatalf("book an online visit: %d %.300s", code, body)
		}
		break
	}
	return seeds
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
	if ps := checkFits(context.Background(), &crawledPage{Scroll: 866, Inner: 360}); len(ps) == 0 {
		t.Error("an 866-px page on a 360-px screen passes")
	}
	if ps := checkHeader(context.Background(), &crawledPage{Header: 200, Height: 740, Inner: 360}); len(ps) == 0 {
		t.Error("a 200-px header passes")
	}
}
