package web_test

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"countycare/appraisal"
	"countycare/audit"
	"countycare/care"
	"countycare/kpi"
	"countycare/store"

	"github.com/xuri/excelize/v2"
)

// TestAppraisal: the analyst's county appraisal scores every item of the
// year's rules from the dashboard's figures, with each line's value,
// target, weight and points and a link to the figures behind it; the API
// gives the same with each line's points by the rule (appraisal.Points)
// and the score scaled over the weights with data; a village clinic is
// its doctors' appraisal; a year that is not, or has no rules, is refused
// with a message; a township doctor sees only their township (another is
// 404 and audited); other roles have none.
func TestAppraisal(t *testing.T) {
	for _, d := range []store.Dialect{store.SQLite, store.Postgres} {
		t.Run(string(d), func(t *testing.T) { testAppraisal(t, d) })
	}
}

type apiAppraisal struct {
	Year int `json:"year"`
	Unit struct {
		Unit      int64  `json:"unit"`
		Set       string `json:"appraisal"`
		Total     int    `json:"total"`
		Available int    `json:"available"`
		Score     *int   `json:"score_centi"`
		Lines     []struct {
			Indicator string `json:"indicator"`
			State     string `json:"state"`
			Num       int    `json:"numerator"`
			Den       int    `json:"denominator"`
			BP        *int   `json:"value_bp"`
			TargetBP  int    `json:"target_bp"`
			Weight    int    `json:"weight"`
			Points    *int   `json:"points_centi"`
		} `json:"lines"`
	} `json:"unit"`
	Children []struct {
		Unit  int64  `json:"unit"`
		Set   string `json:"appraisal"`
		Score *int   `json:"score_centi"`
	} `json:"children"`
}

func testAppraisal(t *testing.T, d store.Dialect) {
	e := newEnv(t, d)
	an := e.as(care.RoleAnalyst)
	year := care.Today(time.Now()).Year
	page := an.get("/appraisal")
	if page.code != 200 {
		t.Fatalf("county appraisal: %d %s", page.code, page.body)
	}
	sc, err := appraisal.DefaultRules().Scheme(year, appraisal.Institutions)
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range sc.Items {
		if !strings.Contains(page.body, `data-indicator="`+it.ID+`"`) {
			t.Errorf("county appraisal without %s", it.ID)
		}
	}
	for _, want := range []string{`id="score"`, "县域内就诊率", "计分规则", `href="/dashboard/units/`} {
		if !strings.Contains(page.body, want) {
			t.Errorf("county appraisal without %q", want)
		}
	}
	// Satisfaction has no answers yet: "no data", not scored, never 0 %.
	sat := regexp.MustCompile(`(?s)<tr data-indicator="satisfaction">.*?</tr>`).FindString(page.body)
	if !strings.Contains(sat, "无数据") || !strings.Contains(sat, "不计分") || !strings.Contains(sat, `data-bp=""`) {
		t.Errorf("satisfaction without answers: %s", sat)
	}

	var out apiAppraisal
	r := an.get("/api/v1/appraisal")
	if r.code != 200 || json.Unmarshal([]byte(r.body), &out) != nil {
		t.Fatalf("API: %d %s", r.code, r.body)
	}
	if out.Year != year || out.Unit.Set != "institution" || out.Unit.Total != 100 || len(out.Unit.Lines) != len(sc.Items) || len(out.Children) == 0 {
		t.Fatalf("API: %+v", out)
	}
	// Every line is scored by the rule from the figures it shows; the
	// score is the points over the weights with data, scaled to 100.
	points, avail := 0, 0
	for i, l := range out.Unit.Lines {
		in, _ := appraisal.Lookup(l.Indicator)
		v := kpi.Of(in, kpi.Rate{Num: l.Num, Den: l.Den})
		if l.Indicator != sc.Items[i].ID || l.Weight != sc.Items[i].Weight || l.TargetBP != sc.Items[i].TargetBP {
			t.Errorf("line %d: %+v, want %+v", i, l, sc.Items[i])
		}
		if !v.OK() {
			if l.Points != nil || l.BP != nil || l.State == "ok" {
				t.Errorf("%s without a value scored: %+v", l.Indicator, l)
			}
			continue
		}
		if l.State != "ok" || *l.BP != v.BP || *l.Points != appraisal.Points(in, v, l.Weight, l.TargetBP) {
			t.Errorf("%s: %+v", l.Indicator, l)
		}
		points += *l.Points
		avail += l.Weight
	}
	if avail == 0 || out.Unit.Available != avail || out.Unit.Score == nil || *out.Unit.Score != (points*100+avail/2)/avail {
		t.Errorf("county score %v over %d, points %d of %d", out.Unit.Score, out.Unit.Available, points, avail)
	}
	// Every figure is the dashboard's, "no data" included.
	dash := an.get("/dashboard")
	withData := 0
	for _, l := range out.Unit.Lines {
		if l.Indicator == appraisal.Satisfaction.ID {
			continue
		}
		m := regexp.MustCompile(`<tr data-indicator="` + l.Indicator + `">\s*<th[^>]*>.*?</th>\s*<td class="num" data-bp="(\d*)"`).FindStringSubmatch(dash.body)
		got := ""
		if l.BP != nil {
			got, withData = strconv.Itoa(*l.BP), withData+1
		}
		if m == nil || m[1] != got {
			t.Errorf("%s: appraisal %q, dashboard %v", l.Indicator, got, m)
		}
	}
	if withData < 2 {
		t.Errorf("only %d lines with data", withData)
	}

	// The same as CSV: a row per unit and indicator, the score as on the page.
	csvr := an.get("/appraisal/export.csv?year=" + strconv.Itoa(year))
	rows, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(csvr.body, "\ufeff"))).ReadAll()
	if csvr.code != 200 || err != nil || !strings.HasPrefix(csvr.body, "\ufeff") || len(rows) <= 1+len(sc.Items) || rows[0][0] != "单位" || rows[1][3] != "高血压规范管理率" {
		t.Fatalf("CSV: %d %v %.300s", csvr.code, err, csvr.body)
	}
	if want := fmt.Sprintf("%d.%d", (*out.Unit.Score+5)/100, (*out.Unit.Score+5)/10%10); rows[1][2] != want {
		t.Errorf("CSV score %q, want %q", rows[1][2], want)
	}
	// And as an XLSX workbook: the same rows, cell for cell.
	xr := an.get("/appraisal/export.xlsx?year=" + strconv.Itoa(year))
	wb, err := excelize.OpenReader(strings.NewReader(xr.body))
	if xr.code != 200 || err != nil || !strings.Contains(xr.header.Get("Content-Type"), "spreadsheetml") {
		t.Fatalf("XLSX: %d %v %q", xr.code, err, xr.header.Get("Content-Type"))
	}
	xrows, _ := wb.GetRows(wb.GetSheetName(0))
	if len(xrows) != len(rows) {
		t.Fatalf("XLSX %d rows, CSV %d", len(xrows), len(rows))
	}
	// A cell may read back as the number it holds ("0" for "0.0").
	same := func(x, c string) bool {
		if x == c {
			return true
		}
		a, errA := strconv.ParseFloat(x, 64)
		b, errB := strconv.ParseFloat(c, 64)
		return errA == nil && errB == nil && a == b
	}
	for i := range rows {
		for j := range rows[i] {
			if j >= len(xrows[i]) && rows[i][j] != "" || j < len(xrows[i]) && !same(xrows[i][j], rows[i][j]) {
				t.Fatalf("XLSX row %d differs from the CSV: %q against %q", i, xrows[i], rows[i])
			}
		}
	}

	// Drill down to a village clinic: its doctors' appraisal.
	id := strconv.FormatInt(out.Children[0].Unit, 10)
	var village string
	for depth := 0; depth < 4 && village == ""; depth++ {
		p := an.get("/appraisal/units/" + id + "?year=" + strconv.Itoa(year))
		if p.code != 200 {
			t.Fatalf("unit %s: %d", id, p.code)
		}
		next := regexp.MustCompile(`<tr data-unit="(\d+)"`).FindStringSubmatch(p.body)
		if next == nil {
			village = id
			if !strings.Contains(p.body, "家庭医生、乡村医生考核") || !strings.Contains(p.body, `id="doctors"`) || strings.Contains(p.body, `data-indicator="in_county"`) {
				t.Errorf("a village clinic's appraisal is not its doctors': %s", p.body)
			}
			break
		}
		id = next[1]
	}
	if village == "" {
		t.Error("no village clinic reached")
	}

	// Years that are not, and a year without rules.
	for _, q := range []string{"abc", strconv.Itoa(year + 1), "1999"} {
		if r := an.get("/appraisal?year=" + q); r.code != 422 || !strings.Contains(r.body, `id="form-error"`) {
			t.Errorf("year %s: %d", q, r.code)
		}
		if r := an.get("/api/v1/appraisal?year=" + q); r.code != 422 {
			t.Errorf("API year %s: %d", q, r.code)
		}
	}
	if r := an.get("/appraisal?year=2020"); r.code != 404 || !strings.Contains(r.body, "2020 年没有考核细则") {
		t.Errorf("a year without rules: %d", r.code)
	}
	if r := an.get("/appraisal/units/abc"); r.code != 404 {
		t.Errorf("a malformed unit: %d", r.code)
	}

	// A township doctor: their township only.
	td := e.as(care.RoleTownshipDoctor)
	var mine apiAppraisal
	if r := td.get("/api/v1/appraisal"); r.code != 200 || json.Unmarshal([]byte(r.body), &mine) != nil || mine.Unit.Set != "institution" {
		t.Fatalf("township appraisal: %d %s", r.code, r.body)
	}
	for _, c := range mine.Children {
		if c.Set != "doctor" {
			t.Errorf("a township's village appraised as %s", c.Set)
		}
	}
	for _, u := range []string{strconv.FormatInt(out.Unit.Unit, 10), "999999"} {
		if r := td.get("/appraisal/units/" + u); r.code != 404 {
			t.Errorf("township doctor, unit %s: %d", u, r.code)
		}
		if r := td.get("/appraisal/export.csv?unit=" + u); r.code != 404 {
			t.Errorf("township doctor CSV, unit %s: %d", u, r.code)
		}
		if r := td.get("/api/v1/appraisal?unit=" + u); r.code != 404 {
			t.Errorf("township doctor API, unit %s: %d", u, r.code)
		}
	}
	e.writer.Flush(t.Context())
	if evs, err := e.st.SearchAudit(t.Context(), audit.Filter{Action: kpi.ActOutOfScope, Limit: 100}); err != nil || len(evs) < 6 || evs[0].Outcome != audit.OutcomeDenied {
		t.Errorf("out-of-scope reads not audited: %v %d", err, len(evs))
	}
	if views, _ := e.st.SearchAudit(t.Context(), audit.Filter{Action: appraisal.ActView, Limit: 100}); len(views) < 4 {
		t.Errorf("appraisal views audited: %d", len(views))
	}
	for _, role := range []care.Role{care.RoleVillageDoctor, care.RoleCountySpecialist, care.RoleAdmin, care.RoleInsuranceOfficer} {
		if _, ok := e.users[role]; !ok {
			continue
		}
		if r := e.as(role).get("/appraisal"); r.code != 403 {
			t.Errorf("%s: %d", role, r.code)
		}
		if r := e.as(role).get("/api/v1/appraisal"); r.code != 403 {
			t.Errorf("%s API: %d", role, r.code)
		}
	}
}
