package web_test

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"github.com/xuri/excelize/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"countycare/audit"
	"countycare/care"
	"countycare/kpi"
	"countycare/store"
	"countycare/web"
)

// TestDashboard: the analyst's county board lists every indicator with its
// value, target and light, and the units below with a link per number;
// drilling down reaches a township and a village; a township doctor sees
// only their township, and another township's board is 404 and audited;
// bad periods and indicators are refused with a message; the trend API
// returns the months; other roles have no dashboard.
func TestDashboard(t *testing.T) {
	for _, d := range []store.Dialect{store.SQLite, store.Postgres} {
		t.Run(string(d), func(t *testing.T) { testDashboard(t, d) })
	}
}

func testDashboard(t *testing.T, d store.Dialect) {
	e := newEnv(t, d)
	an := e.as(care.RoleAnalyst)
	page := an.get("/dashboard")
	if page.code != 200 {
		t.Fatalf("county board: %d %s", page.code, page.body)
	}
	// Every indicator is on the board, or in a collapsed group the board
	// fetches when it is opened.
	all := page.body + lazyGroups(t, an, page.body)
	for _, in := range kpi.Catalogue {
		if !strings.Contains(all, `data-indicator="`+in.ID+`"`) {
			t.Errorf("county board without %s", in.ID)
		}
	}
	for _, want := range []string{`id="chart-bars"`, `id="chart-trend"`, `id="map"`, "echarts.min.js", "高血压规范管理率", "国家基本公共卫生服务规范"} {
		if !strings.Contains(page.body, want) {
			t.Errorf("county board without %q", want)
		}
	}
	if strings.Contains(page.body, ">0.0%<") && strings.Contains(page.body, "<small>0/0") {
		t.Error("an empty denominator shown as 0 %")
	}
	// Every shown share is at most 100 %.
	for _, m := range regexp.MustCompile(`data-bp="(\d+)"`).FindAllStringSubmatch(page.body, -1) {
		if bp, _ := strconv.Atoi(m[1]); bp > 10000 {
			t.Errorf("a share above 100 %%: %s bp", m[1])
		}
	}
	units := regexp.MustCompile(`<tr data-unit="(\d+)"`).FindAllStringSubmatch(page.body, -1)
	if len(units) == 0 {
		t.Fatal("no unit below the county")
	}
	// Drill down until a village.
	id, depth := units[0][1], 0
	for ; depth < 4; depth++ {
		p := an.get("/dashboard/units/" + id + "?period=" + strconv.Itoa(time.Now().Year()))
		if p.code != 200 {
			t.Fatalf("unit %s: %d", id, p.code)
		}
		next := regexp.MustCompile(`<tr data-unit="(\d+)"`).FindStringSubmatch(p.body)
		if next == nil {
			if strings.Contains(p.body, `data-indicator="in_county"`) {
				t.Error("a village board shows township-level referral indicators")
			}
			break
		}
		id = next[1]
	}
	if depth == 0 || depth == 4 {
		t.Errorf("drill-down depth %d", depth)
	}
	// Periods and indicators that are not.
	for _, q := range []string{"?period=2026-13", "?period=2026-Q5", "?period=abc", "?period=" + strconv.Itoa(time.Now().Year()+1), "?indicator=nope"} {
		for _, p := range []string{"/dashboard", "/dashboard/units/" + units[0][1]} {
			if r := an.get(p + q); r.code != 422 || !strings.Contains(r.body, `id="form-error"`) {
				t.Errorf("%s%s: %d", p, q, r.code)
			}
		}
	}
	if r := an.get("/dashboard/units/abc"); r.code != 404 {
		t.Errorf("a malformed unit: %d", r.code)
	}
	// The trend API.
	tr := an.get("/api/v1/dashboard/trend?indicator=htn_controlled")
	var out struct {
		Points []struct {
			Month string `json:"month"`
			BP    *int   `json:"bp"`
		} `json:"points"`
	}
	if tr.code != 200 || json.Unmarshal([]byte(tr.body), &out) != nil || len(out.Points) != int(time.Now().In(care.Shanghai).Month()) {
		t.Errorf("trend: %d %s", tr.code, tr.body)
	}
	if r := an.get("/api/v1/dashboard/trend?indicator=nope"); r.code != 422 {
		t.Errorf("trend of an unknown indicator: %d", r.code)
	}

	// Exports (issue 14 §1): the same figures as the page, as CSV and XLSX.
	testDashboardExport(t, e, an, page.body, units[0][1])

	// A township doctor: their township, nothing else.
	td := e.as(care.RoleTownshipDoctor)
	mine := td.get("/dashboard")
	if mine.code != 200 {
		t.Fatalf("township board: %d", mine.code)
	}
	home := regexp.MustCompile(`data-src="/api/v1/dashboard/trend\?[^"]*unit=(\d+)`).FindStringSubmatch(mine.body)
	if home == nil {
		t.Fatal("township board without its unit")
	}
	var other string
	for _, u := range units {
		if u[1] != home[1] {
			other = u[1]
		}
	}
	county := regexp.MustCompile(`data-src="/api/v1/dashboard/trend\?[^"]*unit=(\d+)`).FindStringSubmatch(page.body)[1]
	for _, u := range []string{county, other, "999999"} {
		if u == "" {
			continue
		}
		if r := td.get("/dashboard/units/" + u); r.code != 404 {
			t.Errorf("township doctor, unit %s: %d", u, r.code)
		}
		if r := td.get("/api/v1/dashboard/trend?indicator=htn_controlled&unit=" + u); r.code != 404 {
			t.Errorf("township doctor trend, unit %s: %d", u, r.code)
		}
		if r := td.get("/dashboard/export?format=csv&unit=" + u); r.code != 404 {
			t.Errorf("township doctor export, unit %s: %d", u, r.code)
		}
	}
	e.writer.Flush(t.Context())
	evs, err := e.st.SearchAudit(t.Context(), audit.Filter{Action: kpi.ActOutOfScope, Limit: 100})
	if err != nil || len(evs) < 2 || evs[0].Outcome != audit.OutcomeDenied {
		t.Errorf("out-of-scope reads not audited: %v %d", err, len(evs))
	}
	views, _ := e.st.SearchAudit(t.Context(), audit.Filter{Action: kpi.ActView, Limit: 100})
	if len(views) < 3 {
		t.Errorf("dashboard views audited: %d", len(views))
	}
	// Least privilege: no dashboard for other roles.
	for _, role := range []care.Role{care.RoleVillageDoctor, care.RoleCountySpecialist, care.RoleAdmin, care.RoleInsuranceOfficer} {
		if _, ok := e.users[role]; !ok {
			continue
		}
		if r := e.as(role).get("/dashboard"); r.code != 403 {
			t.Errorf("%s: %d", role, r.code)
		}
	}
}

// TestDashboardScriptsPrecompressed: the charting library is served at a
// content-hashed URL with a year's immutable caching, as the brotli file
// built beside it to browsers that accept br (it is 130 KB that way, about
// 24 % less than gzip), as gzip to the others, and as itself to neither.
func TestDashboardScriptsPrecompressed(t *testing.T) {
	e := newEnv(t, store.SQLite)
	page := e.as(care.RoleAnalyst).get("/dashboard")
	m := regexp.MustCompile(`data-echarts="(/static/[0-9a-f]+/echarts\.min\.js)"`).FindStringSubmatch(page.body)
	if m == nil {
		t.Fatal("no ECharts URL on the dashboard")
	}
	plain, err := os.ReadFile("static/echarts.min.js")
	if err != nil {
		t.Fatal(err)
	}
	br, err := os.ReadFile("static/echarts.min.js.br")
	if err != nil {
		t.Fatal(err)
	}
	anon := e.anon()
	for _, c := range []struct {
		accept, encoding string
		body             []byte
	}{
		{"gzip, deflate, br, zstd", "br", br},
		{"br;q=1.0, gzip;q=0.8", "br", br},
		{"gzip", "gzip", nil},
		{"identity", "", plain},
	} {
		r := anon.do("GET", m[1], "", nil, map[string]string{"Accept-Encoding": c.accept})
		if r.code != 200 || r.header.Get("Content-Encoding") != c.encoding || !strings.Contains(r.header.Get("Cache-Control"), "immutable") {
			t.Errorf("%s: %d %q %q", c.accept, r.code, r.header.Get("Content-Encoding"), r.header.Get("Cache-Control"))
		}
		if c.body != nil && r.body != string(c.body) {
			t.Errorf("%s: body of %d bytes, want %d", c.accept, len(r.body), len(c.body))
		}
	}
	if len(br) > 140_000 || len(br) > len(plain)/3 {
		t.Errorf("the brotli file is %d bytes (of %d): rebuild it with tools/echarts", len(br), len(plain))
	}
	if r := anon.get("/static/0000/echarts.min.js.br"); r.code != 404 {
		t.Errorf("the .br file is not a static file of its own: %d", r.code)
	}
}

// TestConsultSLAWithoutCases: the consultation indicators of a period
// without cases say "no data" for the 10-minute share, not 0.0 % (issue
// 14, bad input).
func TestConsultSLAWithoutCases(t *testing.T) {
	e := newEnv(t, store.SQLite)
	p := e.as(care.RoleAnalyst).get("/consult/indicators?from=2020-01-01&to=2020-01-31")
	m := regexp.MustCompile(`<dd id="sla">([^<]*)`).FindStringSubmatch(p.body)
	if p.code != 200 || m == nil || m[1] != "无数据" {
		t.Errorf("consult indicators without cases: %d %q", p.code, m)
	}
}

// testDashboardExport: the county's dashboard downloads as CSV (UTF-8 with
// a BOM, in the reader's language, one row per unit and indicator, the
// county first) and as an XLSX workbook whose cells hold the same figures;
// a bad format is refused; each download is audited.
func testDashboardExport(t *testing.T, e *env, an *client, page, child string) {
	t.Helper()
	if !strings.Contains(page, `href="/dashboard/export?format=xlsx&amp;period=`) {
		t.Error("the dashboard has no link to its export")
	}
	r := an.get("/dashboard/export?format=csv")
	if r.code != 200 || !strings.HasPrefix(r.body, "\ufeff") {
		t.Fatalf("csv: %d %.200s", r.code, r.body)
	}
	rows, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(r.body, "\ufeff"))).ReadAll()
	if err != nil || len(rows) < 1+len(kpi.Catalogue) {
		t.Fatalf("csv rows %d: %v", len(rows), err)
	}
	if strings.Join(rows[0], ",") != "单位,级别,类别,指标,数值,分子,分母,目标,状态" {
		t.Errorf("csv header %q", rows[0])
	}
	county := rows[1][0]
	htn := -1
	for i, row := range rows[1:] {
		if row[0] == county && row[3] == "高血压规范管理率" {
			htn = i + 1
		}
		for _, c := range row {
			if strings.Contains(c, "_") {
				t.Errorf("a code in the export: %q", row)
			}
		}
	}
	if htn < 0 {
		t.Fatalf("no county hypertension row in %q", rows[:3])
	}
	// The county's value in the export is the page's.
	m := regexp.MustCompile(`data-indicator="htn_standardised">[\s\S]*?data-bp="(\d*)"`).FindStringSubmatch(page)
	if m == nil {
		t.Fatal("page without the hypertension value")
	}
	if bp, _ := strconv.Atoi(m[1]); m[1] != "" && rows[htn][4] != fmt.Sprintf("%d.%d%%", (bp+5)/10/10, (bp+5)/10%10) {
		t.Errorf("export %q, page %s bp", rows[htn][4], m[1])
	}
	if en := an.do("GET", "/dashboard/export?format=csv", "", nil, map[string]string{"Cookie": "cc_lang=en"}); !strings.Contains(en.body, "Numerator") {
		t.Errorf("english export header: %.120s", en.body)
	}
	x := an.get("/dashboard/export?format=xlsx&unit=" + child)
	if x.code != 200 || !strings.HasPrefix(x.body, "PK") {
		t.Fatalf("xlsx: %d", x.code)
	}
	f, err := excelize.OpenReader(strings.NewReader(x.body))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if got := f.GetSheetList(); len(got) != 2 || got[0] != "指标明细" || got[1] != "各单位对比" {
		t.Errorf("sheets %q", got)
	}
	if v, _ := f.GetCellValue("指标明细", "D1"); v != "指标" {
		t.Errorf("xlsx header D1 %q", v)
	}
	xrows, _ := f.GetRows("指标明细")
	numbers := 0
	for i, row := range xrows[1:] {
		if len(row) > 5 && row[5] != "" {
			// A number cell has no type attribute (Unset) or t="n"; text is an inline or shared string.
			if typ, _ := f.GetCellType("指标明细", fmt.Sprintf("F%d", i+2)); typ == excelize.CellTypeInlineString || typ == excelize.CellTypeSharedString {
				t.Errorf("a count written as text (%v): %q", typ, row)
			}
			numbers++
		}
	}
	if numbers == 0 || len(xrows) < 1+len(kpi.Catalogue) {
		t.Errorf("xlsx: %d rows, %d with counts", len(xrows), numbers)
	}
	// The printable report: its title, the county's hypertension value as
	// the CSV has it, and the units compared, as text a reader can copy.
	pdftotext, err := exec.LookPath("pdftotext")
	if err != nil {
		t.Fatal("pdftotext not found: install Debian's poppler-utils (.ci/run does)")
	}
	pr := an.get("/dashboard/report.pdf")
	if pr.code != 200 || !strings.HasPrefix(pr.body, "%PDF") {
		t.Fatalf("report: %d %.100q", pr.code, pr.body)
	}
	file := filepath.Join(t.TempDir(), "report.pdf")
	if d := os.Getenv("COUNTYCARE_ARTIFACTS"); d != "" { // to look at it
		os.WriteFile(filepath.Join(d, "dashboard-report.pdf"), []byte(pr.body), 0o644)
	}
	os.WriteFile(file, []byte(pr.body), 0o600)
	out, err := exec.Command(pdftotext, "-layout", file, "-").CombinedOutput()
	if err != nil {
		t.Fatalf("pdftotext: %v %s", err, out)
	}
	text := string(out)
	for _, want := range []string{county + " · 医共体运行情况报告", "高血压规范管理率", rows[htn][4], "各单位对比", "会诊 10 分钟响应率"} {
		if !strings.Contains(text, want) {
			t.Errorf("the report lacks %q:\n%.2000s", want, text)
		}
	}
	for _, row := range rows[1:] {
		if row[0] != county && !strings.Contains(text, row[0]) {
			t.Errorf("the report does not compare %s", row[0])
			break
		}
	}
	if r := an.get("/dashboard/report.pdf?period=2026-13"); r.code != 422 {
		t.Errorf("report of a bad period: %d", r.code)
	}
	for _, q := range []string{"?format=pdf", "?format=", "?format=csv&period=2026-13"} {
		if r := an.get("/dashboard/export" + q); r.code != 422 {
			t.Errorf("export%s: %d", q, r.code)
		}
	}
	e.writer.Flush(t.Context())
	if evs, _ := e.st.SearchAudit(t.Context(), audit.Filter{Action: kpi.ActExport, Limit: 10}); len(evs) < 3 || !strings.Contains(evs[0].Detail+evs[len(evs)-1].Detail, "csv") {
		t.Errorf("exports audited: %d", len(evs))
	}
}

// TestDashboardBoundaries: with the county's boundary file (serve
// --boundaries), the units below that have an outline are drawn as a map
// coloured by their light, each a link to its own board; units without
// one stay tiles; a board whose units have no outline has no map.
func TestDashboardBoundaries(t *testing.T) {
	var feats []string
	for i := 0; i < 40; i++ { // the demo's townships are 411723101, 102, …
		x, y := 114.0+float64(i%8)*0.05, 33.0+float64(i/8)*0.05
		feats = append(feats, fmt.Sprintf(`{"type":"Feature","properties":{"adcode":%d},"geometry":{"type":"Polygon","coordinates":[[[%g,%g],[%g,%g],[%g,%g],[%g,%g],[%g,%g]]]}}`,
			411723101+i, x, y, x+0.05, y, x+0.05, y+0.05, x, y+0.05, x, y))
	}
	b, err := kpi.LoadBoundaries(strings.NewReader(`{"type":"FeatureCollection","features":[` + strings.Join(feats, ",") + `]}`))
	if err != nil {
		t.Fatal(err)
	}
	e := newEnvWith(t, store.SQLite, envOptions{cfg: web.Config{Boundaries: b}})
	an := e.as(care.RoleAnalyst)
	county := an.get("/dashboard")
	if county.code != 200 || strings.Contains(county.body, `id="geomap"`) {
		t.Fatalf("county board (its units below are communities, without outlines): %d, map %t", county.code, strings.Contains(county.body, `id="geomap"`))
	}
	var drawn []string
	for _, u := range regexp.MustCompile(`<tr data-unit="(\d+)"`).FindAllStringSubmatch(county.body, -1) {
		p := an.get("/dashboard/units/" + u[1])
		m := regexp.MustCompile(`<svg class="kgeo" id="geomap" viewBox="0 0 (\d+) (\d+)"[^>]*>(.*?)</svg>`).FindStringSubmatch(p.body)
		if m == nil {
			continue
		}
		for _, a := range regexp.MustCompile(`<a href="/dashboard/units/(\d+)\?[^"]*" data-unit="(\d+)"><path class="(green|amber|red|none)" d="M[^"]+Z"><title>[^<]+ · [^<]+</title>`).FindAllStringSubmatch(m[3], -1) {
			drawn = append(drawn, a[1])
			if regexp.MustCompile(`<li class="ktile [a-z]+"><a href="/dashboard/units/` + a[1] + `\?`).MatchString(p.body) {
				t.Errorf("township %s is drawn and a tile too", a[1])
			}
			if !strings.Contains(p.body, `<tr data-unit="`+a[1]+`"`) {
				t.Errorf("township %s is drawn but not in the accessible table", a[1])
			}
		}
		if w, _ := strconv.Atoi(m[1]); w != 1000 {
			t.Errorf("map width %s", m[1])
		}
	}
	if len(drawn) == 0 {
		t.Fatal("no township drawn from the boundary file")
	}
	p := an.get("/dashboard/units/" + drawn[0])
	if p.code != 200 {
		t.Fatalf("a drawn township's board: %d", p.code)
	}
}
