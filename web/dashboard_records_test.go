package web_test

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"countycare/audit"
	"countycare/care"
	"countycare/demo"
	"countycare/kpi"
	"countycare/org"
	"countycare/store"
)

// TestDashboardRecords: a village clinic's chronic figures link to the
// patients behind them; the list holds exactly the figure's denominator,
// those counted are its numerator, each one not counted says why, identity
// numbers are masked and each patient links to their registration; the read
// is audited with the residents listed; a unit out of scope is 404 and
// audited; a unit above the village, an unknown indicator and a bad page
// are refused with a message.
func TestDashboardRecords(t *testing.T) {
	for _, d := range []store.Dialect{store.SQLite, store.Postgres} {
		t.Run(string(d), func(t *testing.T) { testDashboardRecords(t, d) })
	}
}

var (
	reUnitRow  = regexp.MustCompile(`<tr data-unit="(\d+)"`)
	reRecLink  = regexp.MustCompile(`href="(/dashboard/units/\d+/records\?indicator=htn_controlled[^"]*)"`)
	reFigure   = regexp.MustCompile(`<tr data-indicator="(\w+)">\n<th scope="row">(?:[^\n]*)</th>\n<td class="num" [^>]*>(?:<a [^>]*>)?[\d.]+%<br><small>(\d+)/(\d+)</small>`)
	reCounts   = regexp.MustCompile(`分母 (\d+) 人，计入分子 (\d+) 人`)
	reRecord   = regexp.MustCompile(`(?s)<tr data-registration="(\d+)" data-counted="(true|false)">(.*?)</tr>`)
	reMaskedID = regexp.MustCompile(`<small translate="no">(\d{6}\*+[\dX]{4})</small>`)
)

func testDashboardRecords(t *testing.T, d store.Dialect) {
	// The demo county with its registries, a year of follow-ups and this year's settled visits.
	e := newEnvWith(t, d, envOptions{demo: &demo.Config{Residents: 2000, Villages: 20, VillageDoctors: 40, FollowUps: 1500, Visits: 600, Consultations: 300, Prescriptions: 400}})
	an := e.as(care.RoleAnalyst)
	now := time.Now().In(care.Shanghai)
	quarter := fmt.Sprintf("%d-Q%d", now.Year(), (int(now.Month())+2)/3)
	// County → community → township → village, the way a person clicks.
	id, path := "", []string{}
	body := an.get("/dashboard?period=" + quarter).body
	for depth := 0; depth < 4; depth++ {
		m := reUnitRow.FindStringSubmatch(body)
		if m == nil {
			break
		}
		id = m[1]
		path = append(path, id)
		body = an.get("/dashboard/units/" + id + "?period=" + quarter).body
	}
	if len(path) < 2 {
		t.Fatalf("drill-down stopped after %v", path)
	}
	village := id
	testDashboardSettlement(t, e, an, strconv.Itoa(now.Year()))
	testFundUse(t, e, an, now)
	testConsultRecords(t, an, path[0], strconv.Itoa(now.Year()))
	testRxRecords(t, e, an, path[0], strconv.Itoa(now.Year()))
	// The village board's hypertension control figure links to its records.
	link := reRecLink.FindStringSubmatch(body)
	if link == nil {
		t.Fatalf("village board without a link to the records: %.2000s", body)
	}
	var num, den string
	for _, m := range reFigure.FindAllStringSubmatch(body, -1) {
		if m[1] == "htn_controlled" {
			num, den = m[2], m[3]
		}
	}
	if den == "" {
		i := strings.Index(body, `data-indicator="htn_controlled"`)
		t.Fatalf("the village has no hypertension control figure: %.1500s", body[max(i, 0):])
	}
	href := strings.ReplaceAll(link[1], "&amp;", "&")
	rec := an.get(href)
	if rec.code != 200 {
		t.Fatalf("records: %d %s", rec.code, rec.body)
	}
	c := reCounts.FindStringSubmatch(rec.body)
	if c == nil || c[1] != den || c[2] != num {
		t.Fatalf("records count %v, the board shows %s/%s", c, num, den)
	}
	rows := reRecord.FindAllStringSubmatch(rec.body, -1)
	wantRows, _ := strconv.Atoi(den)
	if len(rows) != min(wantRows, kpi.RecordsPerPage) {
		t.Errorf("%d rows on the first page, denominator %d", len(rows), wantRows)
	}
	notCounted, counted := 0, 0
	seenCounted := false
	for _, r := range rows {
		if !strings.Contains(r[3], `href="/chronic/`+r[1]+`"`) {
			t.Errorf("record %s does not link to its registration", r[1])
		}
		if r[2] == "true" {
			counted, seenCounted = counted+1, true
			continue
		}
		notCounted++
		if seenCounted {
			t.Error("a record not counted listed after a counted one")
		}
		if !regexp.MustCompile(`本期没有随访|本期随访未测血压|末次血压 \d+/\d+ mmHg，未低于 140/90`).MatchString(r[3]) {
			t.Errorf("record %s not counted without a reason: %s", r[1], r[3])
		}
	}
	n, _ := strconv.Atoi(num)
	if wantRows <= kpi.RecordsPerPage && counted != n {
		t.Errorf("%d counted on the page, numerator %d", counted, n)
	}
	if notCounted == 0 {
		t.Fatal("no patient not counted in the village: the test has nothing to explain")
	}
	for _, m := range reMaskedID.FindAllStringSubmatch(rec.body, -1) {
		if len(m[1]) != 18 {
			t.Errorf("masked id %q", m[1])
		}
	}
	if len(reMaskedID.FindAllStringSubmatch(rec.body, -1)) == 0 {
		t.Error("no masked identity number on the page")
	}
	// Only those not counted, by the page's own link.
	m := regexp.MustCompile(`<a href="\?([^"]+)" id="only-missing">`).FindStringSubmatch(rec.body)
	if m == nil || !strings.Contains(m[1], "missing=1") {
		t.Fatalf("no link to those not counted: %v", m)
	}
	only := an.get(strings.SplitN(href, "?", 2)[0] + "?" + strings.ReplaceAll(m[1], "&amp;", "&"))
	if got := len(reRecord.FindAllStringSubmatch(only.body, -1)); only.code != 200 || got != min(wantRows-n, kpi.RecordsPerPage) || strings.Contains(only.body, `data-counted="true"`) {
		t.Errorf("only those not counted: %d, %d rows", only.code, got)
	}
	// In English, the reason too.
	en := an.do("GET", href, "", nil, map[string]string{"Cookie": "cc_lang=en"})
	if !regexp.MustCompile(`no follow-up in the period|no blood pressure measured|last blood pressure \d+/\d+ mmHg, not below 140/90`).MatchString(en.body) {
		t.Error("the English page without a reason")
	}
	// The year: counted from the kept per-patient figures, the same as the board.
	year := strconv.Itoa(now.Year())
	yb := an.get("/dashboard/units/" + village + "?period=" + year).body
	yr := an.get("/dashboard/units/" + village + "/records?indicator=htn_standardised&period=" + year)
	for _, m := range reFigure.FindAllStringSubmatch(yb, -1) {
		if m[1] == "htn_standardised" {
			if c := reCounts.FindStringSubmatch(yr.body); c == nil || c[1] != m[3] || c[2] != m[2] {
				t.Errorf("year records %v, the board %s/%s", c, m[2], m[3])
			}
		}
	}
	// Paging past the end shows the last page; a bad page is refused.
	if r := an.get(href + "&page=999"); r.code != 200 {
		t.Errorf("page past the end: %d", r.code)
	}
	for _, q := range []string{"&page=0", "&page=x"} {
		if r := an.get(href + q); r.code != 422 || !strings.Contains(r.body, `id="form-error"`) {
			t.Errorf("%s: %d", q, r.code)
		}
	}
	// Above the village, an indicator without records, an unknown one: refused.
	for _, u := range []string{path[len(path)-2] + "/records?indicator=htn_controlled", village + "/records?indicator=in_county", village + "/records?indicator=nope", village + "/records?indicator=htn_controlled&period=2026-13"} {
		if r := an.get("/dashboard/units/" + u); r.code != 422 || !strings.Contains(r.body, `id="form-error"`) {
			t.Errorf("%s: %d", u, r.code)
		}
	}
	e.writer.Flush(t.Context())
	evs, err := e.st.SearchAudit(t.Context(), audit.Filter{Action: kpi.ActRecords, Limit: 100})
	if err != nil || len(evs) == 0 || !strings.Contains(evs[len(evs)-1].Detail+evs[0].Detail, "residents ") {
		t.Fatalf("records reads not audited: %v %d", err, len(evs))
	}
	// A township doctor: a village of another township is 404 and audited.
	td := e.as(care.RoleTownshipDoctor)
	home := regexp.MustCompile(`data-src="/api/v1/dashboard/trend\?[^"]*unit=(\d+)`).FindStringSubmatch(td.get("/dashboard").body)
	if home == nil {
		t.Fatal("township board without its unit")
	}
	other := ""
	for _, m := range reUnitRow.FindAllStringSubmatch(an.get("/dashboard/units/"+path[0]).body, -1) {
		if m[1] != home[1] && other == "" {
			if v := reUnitRow.FindStringSubmatch(an.get("/dashboard/units/" + m[1]).body); v != nil {
				other = v[1]
			}
		}
	}
	if other == "" {
		t.Fatal("no village outside the township doctor's township")
	}
	e.writer.Flush(t.Context())
	before, _ := e.st.SearchAudit(t.Context(), audit.Filter{Action: kpi.ActOutOfScope, Limit: 1000})
	if r := td.get("/dashboard/units/" + other + "/records?indicator=htn_controlled"); r.code != 404 {
		t.Errorf("township doctor, another township's village: %d", r.code)
	}
	e.writer.Flush(t.Context())
	after, _ := e.st.SearchAudit(t.Context(), audit.Filter{Action: kpi.ActOutOfScope, Limit: 1000})
	if len(after) != len(before)+1 {
		t.Errorf("out-of-scope records not audited: %d → %d", len(before), len(after))
	}
	if r := e.as(care.RoleVillageDoctor).get(href); r.code != 403 {
		t.Errorf("village doctor: %d", r.code)
	}
}

// testDashboardSettlement: the county board's drug share is the settled
// visits' drug fees over their bills, shown as a share of yuan: the visits
// the county's own institutions settled (a partner hospital outside the
// county is no unit of its dashboard).
func testDashboardSettlement(t *testing.T, e *env, an *client, year string) {
	drugs := e.count("SELECT COALESCE(SUM(drugs), 0) FROM settlements WHERE status = 'settled' AND visit_date >= '%s-01-01' AND institution_id IN (SELECT id FROM institutions WHERE kind <> 'partner_hospital')", year)
	total := e.count("SELECT COALESCE(SUM(total), 0) FROM settlements WHERE status = 'settled' AND visit_date >= '%s-01-01' AND institution_id IN (SELECT id FROM institutions WHERE kind <> 'partner_hospital')", year)
	if total == 0 {
		t.Fatal("the demo settled no visit this year")
	}
	page := an.get("/dashboard?period=" + year).body
	row := regexp.MustCompile(`(?s)<tr data-indicator="settle_drug_share">.*?</tr>`).FindString(page)
	want := fmt.Sprintf("%d.%02d/%d.%02d 元", drugs/100, drugs%100, total/100, total%100)
	bp := (drugs*10000 + total/2) / total
	if !strings.Contains(row, want) || !strings.Contains(row, fmt.Sprintf(`data-bp="%d"`, bp)) {
		t.Errorf("county drug share: want %s (%d bp) in %s", want, bp, row)
	}
}

var reConsultCounts = regexp.MustCompile(`分母 (\d+) 次会诊，按时响应 (\d+) 次`)

// testConsultRecords: a township's 10-minute promise links to the
// consultations its institutions sent that the promise judges — as many
// as the figure's denominator, those in time its numerator — each late one
// saying how long it waited; only its parties get a link to it (consult's
// rule), so the analyst gets none.
func testConsultRecords(t *testing.T, an *client, community, year string) {
	checked := 0
	for _, m := range reUnitRow.FindAllStringSubmatch(an.get("/dashboard/units/"+community+"?period="+year).body, -1) {
		body := an.get("/dashboard/units/" + m[1] + "?period=" + year).body
		var num, den string
		for _, f := range reFigure.FindAllStringSubmatch(body, -1) {
			if f[1] == "consult_sla" {
				num, den = f[2], f[3]
			}
		}
		link := regexp.MustCompile(`href="(/dashboard/units/\d+/records\?indicator=consult_sla[^"]*)"`).FindStringSubmatch(body)
		if link == nil {
			t.Fatalf("township %s: the 10-minute promise without a link to its consultations", m[1])
		}
		if den == "" {
			continue
		}
		rec := an.get(strings.ReplaceAll(link[1], "&amp;", "&"))
		c := reConsultCounts.FindStringSubmatch(rec.body)
		if rec.code != 200 || c == nil || c[1] != den || c[2] != num {
			t.Fatalf("township %s: consultations %d %v, the board shows %s/%s", m[1], rec.code, c, num, den)
		}
		for _, r := range regexp.MustCompile(`(?s)<tr data-consultation="(\d+)" data-counted="(true|false)">(.*?)</tr>`).FindAllStringSubmatch(rec.body, -1) {
			if strings.Contains(r[3], `href="/consult/`) {
				t.Errorf("consultation %s links the analyst to a page only its parties open", r[1])
			}
			if r[2] == "false" && !regexp.MustCompile(`等待 \d+ 分钟才被接诊，应在 (10|5) 分钟内|(10|5) 分钟内无人接诊`).MatchString(r[3]) {
				t.Errorf("late consultation %s without a reason: %s", r[1], r[3])
			}
		}
		checked++
	}
	if checked == 0 {
		t.Error("no township with a judged consultation")
	}
}

var (
	reRxCounts = regexp.MustCompile(`分母 (\d+) 张处方，计入分子 (\d+) 张`)
	reRxRecord = regexp.MustCompile(`(?s)<tr data-prescription="(\d+)" data-counted="(true|false)">(.*?)</tr>`)
)

// testRxRecords: a township's prescribing figures (issue 14 §1) link to the
// prescriptions its institutions signed — as many as the figure's
// denominator, those counted its numerator — each with its review status
// and drug classes (a counted one of the antibiotic rate holds an
// antimicrobial); where lower is better the flagged list is the counted
// prescriptions; the reads are audited with the residents listed; the
// county's returned share is the prescriptions returned over those decided.
func testRxRecords(t *testing.T, e *env, an *client, community, year string) {
	e.writer.Flush(t.Context())
	before, _ := e.st.SearchAudit(t.Context(), audit.Filter{Action: kpi.ActRecords, Limit: 1000})
	checked, reads := 0, 0
	for _, m := range reUnitRow.FindAllStringSubmatch(an.get("/dashboard/units/"+community+"?period="+year).body, -1) {
		body := an.get("/dashboard/units/" + m[1] + "?period=" + year).body
		for _, id := range []string{"rx_antibiotic", "rx_returned"} {
			var num, den string
			for _, f := range reFigure.FindAllStringSubmatch(body, -1) {
				if f[1] == id {
					num, den = f[2], f[3]
				}
			}
			link := regexp.MustCompile(`href="(/dashboard/units/\d+/records\?indicator=` + id + `[^"]*)"`).FindStringSubmatch(body)
			if link == nil {
				t.Fatalf("township %s: %s without a link to its prescriptions", m[1], id)
			}
			if den == "" {
				continue
			}
			href := strings.ReplaceAll(link[1], "&amp;", "&")
			rec := an.get(href)
			reads++
			c := reRxCounts.FindStringSubmatch(rec.body)
			if rec.code != 200 || c == nil || c[1] != den || c[2] != num {
				t.Fatalf("township %s %s: prescriptions %d %v, the board shows %s/%s", m[1], id, rec.code, c, num, den)
			}
			rows := reRxRecord.FindAllStringSubmatch(rec.body, -1)
			if len(rows) == 0 || len(rows) > kpi.RecordsPerPage {
				t.Fatalf("township %s %s: %d rows listed", m[1], id, len(rows))
			}
			counted := 0
			for i, r := range rows {
				if r[2] == "true" {
					counted++
					if id == "rx_antibiotic" && !strings.Contains(r[3], "含抗菌药物") {
						t.Errorf("prescription %s counted as an antibiotic one without an antimicrobial: %s", r[1], r[3])
					}
					if id == "rx_returned" && !strings.Contains(r[3], "退回") {
						t.Errorf("prescription %s counted as returned: %s", r[1], r[3])
					}
				}
				if i > 0 && r[2] == "true" && rows[i-1][2] == "false" {
					t.Errorf("%s: a counted (flagged) prescription after one not counted", id)
				}
			}
			only := an.get(href + "&missing=1")
			reads++
			if n, _ := strconv.Atoi(num); len(reRxRecord.FindAllStringSubmatch(only.body, -1)) != min(n, kpi.RecordsPerPage) || strings.Contains(only.body, `data-counted="false"`) {
				t.Errorf("%s: the flagged list is not the %s counted prescriptions", id, num)
			}
			if !strings.Contains(only.body, "只看计入分子的") {
				t.Errorf("%s: where lower is better the flagged list is of those counted", id)
			}
			checked++
		}
	}
	if checked == 0 {
		t.Error("no township with a prescribing figure")
	}
	e.writer.Flush(t.Context())
	after, _ := e.st.SearchAudit(t.Context(), audit.Filter{Action: kpi.ActRecords, Limit: 1000})
	if len(after) != len(before)+reads {
		t.Errorf("prescription records audited %d times, read %d times", len(after)-len(before), reads)
	}
	for _, ev := range after {
		if strings.Contains(ev.Detail, "records rx_") && !strings.Contains(ev.Detail, " residents ") {
			t.Errorf("audit row without the residents listed: %s", ev.Detail)
		}
	}
	page := an.get("/dashboard?period=" + year).body
	row := regexp.MustCompile(`(?s)<tr data-indicator="rx_returned">.*?</tr>`).FindString(page)
	returned := e.count("SELECT COUNT(*) FROM prescriptions WHERE status = 'returned'")
	decided := e.count("SELECT COUNT(*) FROM prescriptions WHERE status <> 'pending'")
	m := regexp.MustCompile(`<small>(\d+)/(\d+)</small>`).FindStringSubmatch(row)
	if m == nil {
		t.Fatalf("county returned share without counts: %s", row)
	}
	num, _ := strconv.Atoi(m[1])
	den, _ := strconv.Atoi(m[2])
	if den == 0 || den > decided || num > returned {
		t.Errorf("county returned share %d/%d: the demo's year has %d returned of %d decided", num, den, returned, decided)
	}
}

// testFundUse: with the communities' global budgets configured, the county
// board's fund use is the basic fund paid this year for the visits the
// communities' institutions settled over the sum of their budgets, judged
// against the share of the year elapsed (the target column shows the pace).
func testFundUse(t *testing.T, e *env, an *client, now time.Time) {
	tree, err := e.srv.Orgs.Tree(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	var file strings.Builder
	var paid, budget int
	fmt.Fprintf(&file, `{"version": 1, "budgets": {`)
	for i, c := range tree.OfKind(0, org.KindCommunity) {
		ids := tree.Subtree(c.ID)
		args := make([]string, len(ids))
		for j, id := range ids {
			args[j] = strconv.FormatInt(id, 10)
		}
		paid += e.count("SELECT COALESCE(SUM(basic), 0) FROM settlements WHERE status = 'settled' AND visit_date >= '%d-01-01' AND institution_id IN (%s)", now.Year(), strings.Join(args, ","))
		b := 1_000_000_00 * (i + 1) // 1 million yuan, in fen
		budget += b
		if i > 0 {
			file.WriteString(",")
		}
		fmt.Fprintf(&file, `%q: {"%d": %d}`, c.Code, now.Year(), b)
	}
	file.WriteString("}}")
	bs, err := kpi.LoadBudgets(strings.NewReader(file.String()), tree)
	if err != nil || budget == 0 || paid == 0 {
		t.Fatalf("budgets %s: %v (paid %d)", file.String(), err, paid)
	}
	e.srv.Dashboard.Budgets = bs
	e.srv.Dashboard.Invalidate()
	defer func() { e.srv.Dashboard.Budgets = nil; e.srv.Dashboard.Invalidate() }()
	row := regexp.MustCompile(`(?s)<tr data-indicator="settle_fund_use">.*?</tr>`).FindString(an.get("/dashboard?period=" + strconv.Itoa(now.Year())).body)
	want := fmt.Sprintf("%d.%02d/%d.%02d 元", paid/100, paid%100, budget/100, budget%100)
	pace := kpi.ElapsedBP(care.Today(now))
	if tenth := (pace + 5) / 10; !strings.Contains(row, want) || !strings.Contains(row, fmt.Sprintf("≤ %d.%d%%", tenth/10, tenth%10)) {
		t.Errorf("county fund use: want %s against the pace %d bp in %s", want, pace, row)
	}
}
