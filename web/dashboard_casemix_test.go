package web_test

import (
	"context"
	"fmt"
	"html"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"countycare/care"
	"countycare/demo"
	"countycare/org"
	"countycare/settle"
	"countycare/store"
)

// TestDashboardCMI: the county's case mix index on the dashboard is the
// insurance office's (/settle/reports: settle.CostIndicators over the
// same settlements and the configured weight table, policy-rules.md §6),
// with the in-patient cases left out for want of a weight counted; it sits
// in a collapsed group, so the board's first view does not carry it, and
// the group's page shows it in English too.
func TestDashboardCMI(t *testing.T) {
	for _, d := range []store.Dialect{store.SQLite, store.Postgres} {
		t.Run(string(d), func(t *testing.T) { testDashboardCMI(t, d) })
	}
}

func testDashboardCMI(t *testing.T, d store.Dialect) {
	e := newEnvWith(t, d, envOptions{demo: &demo.Config{Residents: 2000, Villages: 20, VillageDoctors: 40, Visits: 600}})
	ctx := context.Background()
	now := time.Now().In(care.Shanghai)
	// Two in-patient cases with a DRG the table lacks, one without a DRG.
	for i, drg := range []string{"XX99", "XX99", ""} {
		if err := e.st.ExecForTest(ctx, fmt.Sprintf(`UPDATE settlements SET drg = '%s' WHERE id = (SELECT id FROM settlements WHERE visit_type = 'inpatient' AND status = 'settled' AND drg <> 'XX99' AND drg <> '' ORDER BY id LIMIT 1 OFFSET %d)`, drg, i)); err != nil {
			t.Fatal(err)
		}
	}
	from, _ := care.MakeDate(now.Year(), 1, 1)
	rows, err := e.st.SettlementTotals(ctx, "411723", from, care.Today(now))
	if err != nil {
		t.Fatal(err)
	}
	// The dashboard counts the cases the county's own institutions settled
	// (per unit, as its other settlement figures); the office's report
	// also counts its insured's bills from hospitals outside the county.
	tree, err := e.srv.Orgs.Tree(ctx)
	if err != nil {
		t.Fatal(err)
	}
	county := tree.OfKind(0, org.KindCounty)[0]
	var own []settle.Totals
	for _, r := range rows {
		if tree.IsWithin(r.InstitutionID, county.ID) {
			own = append(own, r)
		}
	}
	if len(own) == len(rows) {
		t.Log("no bill from outside the county")
	}
	ind := settle.CostIndicators(own, settle.ExampleWeights().Weights)
	if ind.CasesWithDRG == 0 || ind.UnknownDRGCases != 2 {
		t.Fatalf("the demo's in-patient cases: %+v", ind)
	}
	an := e.as(care.RoleAnalyst)
	board := an.get("/dashboard")
	if board.code != 200 || !strings.Contains(board.body, `id="grp-casemix"`) || strings.Contains(board.body, `data-indicator="settle_cmi"`) {
		t.Fatalf("the board: %d; the case mix group collapsed and not on the first view?", board.code)
	}
	src := regexp.MustCompile(`id="grp-casemix" data-src="([^"]+)"`).FindStringSubmatch(board.body)
	part := an.get(html.UnescapeString(src[1]))
	m := regexp.MustCompile(`(?s)<tr data-indicator="settle_cmi">.*?<td class="num" data-bp="(\d+)">(\d+\.\d\d)<br><small>(\d+) 例有权重 · (\d+|&lt;5) 例无权重未计入</small>`).FindStringSubmatch(part.body)
	if part.code != 200 || m == nil {
		t.Fatalf("the case mix group: %d %.3000s", part.code, part.body)
	}
	bp, _ := strconv.Atoi(m[1])
	weighted, _ := strconv.Atoi(m[3])
	// Three cases without a weight: a count under 5 is shown as "<5" (cell).
	if want := fmt.Sprintf("%.2f", ind.CMI); m[2] != want || bp != int(ind.CMI*10000+0.5) || weighted != ind.CasesWithDRG || m[4] != "&lt;5" || ind.InpatientCases-ind.CasesWithDRG != 3 {
		t.Errorf("dashboard CMI %s (bp %d, %d weighted, %s not), settlement reports %s (%d weighted of %d in-patient cases)",
			m[2], bp, weighted, m[4], want, ind.CasesWithDRG, ind.InpatientCases)
	}
	if !strings.Contains(part.body, `id="below-casemix"`) {
		t.Error("the case mix group without the units below")
	}
	en := an.do("GET", "/dashboard/groups/casemix", "", nil, map[string]string{"Cookie": "cc_lang=en"})
	if en.code != 200 || !strings.Contains(en.body, "Case mix index (CMI)") || !strings.Contains(en.body, "cases without a weight left out") || !strings.Contains(en.body, "≥ 1.00") {
		t.Errorf("the group's page in English: %d", en.code)
	}
	// The CSV export gives the index and the weights summed, not a percentage.
	csv := an.get("/dashboard/export?format=csv")
	if csv.code != 200 || !strings.Contains(csv.body, fmt.Sprintf("病例组合指数（CMI）,%.2f,", ind.CMI)) {
		t.Errorf("CSV: %d %v", csv.code, strings.Contains(csv.body, "病例组合指数"))
	}
}
