package web_test

import (
	"html"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"countycare/audit"
	"countycare/care"
	"countycare/demo"
	"countycare/kpi"
	"countycare/store"
)

// TestDashboardTurnaround: on a demo county with a year of ECG and imaging
// reads, the county board's collapsed reading group shows the ECG and
// imaging turnaround median and p90 in minutes with the reports behind
// them and a light; the ECG p90 links to its reports, slowest first, whose
// page shows the same figure read from the reports themselves (the kept
// histogram and the rows agree) and as many reports as the board counts;
// "only over the target" lists those over it alone; the read is audited
// with the residents listed; a township doctor cannot reach another
// township's reports (404). Both databases.
func TestDashboardTurnaround(t *testing.T) {
	for _, d := range []store.Dialect{store.SQLite, store.Postgres} {
		t.Run(string(d), func(t *testing.T) { testDashboardTurnaround(t, d) })
	}
}

var (
	reTATRow   = regexp.MustCompile(`<tr data-indicator="tat_ecg_p90">\n<th scope="row">[^\n]*</th>\n<td class="num" data-bp="\d+"><a class="records" href="([^"]+)"[^>]*>(\d+) 分钟<br><small>(\d+) 份报告</small></a></td>`)
	reTATFig   = regexp.MustCompile(`<p class="hint" id="records-figure">[^\n]*?(\d+) 分钟<br><small>(\d+) 份报告</small>`)
	reTATCount = regexp.MustCompile(`共 (\d+) 份报告，(\d+) 份在目标时长内`)
	reTATRec   = regexp.MustCompile(`(?s)<tr data-study="(\d+)" data-counted="(true|false)">.*?<td class="num">(\d+) 分钟</td>`)
)

func testDashboardTurnaround(t *testing.T, d store.Dialect) {
	e := newEnvWith(t, d, envOptions{demo: &demo.Config{Residents: 2000, Villages: 20, VillageDoctors: 40, ECGReads: 300, ImagingReads: 40}})
	an := e.as(care.RoleAnalyst)
	year := strconv.Itoa(time.Now().In(care.Shanghai).Year())
	board := an.get("/dashboard?period=" + year)
	group := lazyGroups(t, an, board.body)
	for _, id := range []string{"tat_ecg_median", "tat_ecg_p90", "tat_imaging_median", "tat_imaging_p90"} {
		if !regexp.MustCompile(`<tr data-indicator="` + id + `">\n<th scope="row">[^\n]*</th>\n<td class="num" data-bp="\d+"><a class="records"[^>]*>\d+ 分钟<br>`).MatchString(group) {
			t.Errorf("the county's %s has no value in minutes", id)
		}
	}
	m := reTATRow.FindStringSubmatch(group)
	if m == nil {
		t.Fatalf("no ECG p90 with a link to its reports: %.3000s", group)
	}
	p90, reports := m[2], m[3]
	page := an.get(html.UnescapeString(m[1]))
	if page.code != 200 {
		t.Fatalf("the ECG p90's reports: %d", page.code)
	}
	if f := reTATFig.FindStringSubmatch(page.body); f == nil || f[1] != p90 || f[2] != reports {
		t.Errorf("the reports' figure %v, the board's %s min over %s reports", f, p90, reports)
	}
	c := reTATCount.FindStringSubmatch(page.body)
	if c == nil || c[1] != reports {
		t.Fatalf("the reports counted %v, the board's %s", c, reports)
	}
	recs := reTATRec.FindAllStringSubmatch(page.body, -1)
	if len(recs) == 0 {
		t.Fatal("no reports listed")
	}
	prev := 1 << 30
	for _, r := range recs {
		m, _ := strconv.Atoi(r[3])
		if m > prev {
			t.Errorf("report %s (%d min) after one of %d: not slowest first", r[1], m, prev)
		}
		prev = m
		if (r[2] == "true") != (m <= 15) { // the shipped ECG p90 target: 15 minutes
			t.Errorf("report %s of %d min counted %s against 15", r[1], m, r[2])
		}
	}
	within, _ := strconv.Atoi(c[2])
	total, _ := strconv.Atoi(c[1])
	over := an.get(html.UnescapeString(m[1]) + "&missing=1")
	for _, r := range reTATRec.FindAllStringSubmatch(over.body, -1) {
		if r[2] != "false" {
			t.Errorf("only over the target lists report %s within it", r[1])
		}
	}
	if n := len(reTATRec.FindAllStringSubmatch(over.body, -1)); n != min(total-within, kpi.RecordsPerPage) {
		t.Errorf("over the target: %d listed, want %d", n, min(total-within, kpi.RecordsPerPage))
	}
	e.writer.Flush(t.Context())
	evs, err := e.st.SearchAudit(t.Context(), audit.Filter{Action: kpi.ActRecords, Limit: 10})
	if err != nil || len(evs) == 0 || !strings.Contains(evs[0].Detail, "tat_ecg_p90") || !strings.Contains(evs[0].Detail, "residents ") {
		t.Errorf("the reports' read is not audited: %v %v", evs, err)
	}
	// A township doctor: another township's reports are not theirs.
	td := e.as(care.RoleTownshipDoctor)
	home := regexp.MustCompile(`data-src="/api/v1/dashboard/trend\?[^"]*unit=(\d+)`).FindStringSubmatch(td.get("/dashboard").body)
	for _, u := range reUnitRow.FindAllStringSubmatch(board.body, -1) {
		if home != nil && u[1] != home[1] {
			if r := td.get("/dashboard/units/" + u[1] + "/records?indicator=tat_ecg_p90"); r.code != 404 {
				t.Errorf("township doctor, the county's reports: %d", r.code)
			}
		}
	}
}
