package web_test

import (
	"fmt"
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

// TestDashboardTeamPoints: on a demo county whose family doctors delivered
// services (each earning its points), the county board has the points
// group collapsed; opened, it lists each unit below with its family-doctor
// teams, their awards and points (kept per team and month, migration
// 0058) and the points per contracted resident (the board's coverage
// numerator); a team's points open the awards behind them, as many as the
// figure and summing to it, the residents masked and the read audited; a
// team outside the unit, a team that does not exist and another
// township's unit are 404 (audited); other roles 403. Both databases.
func TestDashboardTeamPoints(t *testing.T) {
	for _, d := range []store.Dialect{store.SQLite, store.Postgres} {
		t.Run(string(d), func(t *testing.T) { testDashboardTeamPoints(t, d) })
	}
}

var (
	reTeamRow    = regexp.MustCompile(`<tr data-team="(\d+)"><th scope="row" translate="no">[^<]*</th><td class="num">(\d+)</td><td class="num"><a class="records" href="([^"]+)"[^>]*>(\d+)</a></td><td class="num" data-contracted="(\d+)">([^<]*)`)
	reAwardRow   = regexp.MustCompile(`<tr data-award="\d+" data-points="(\d+)">`)
	reAwardNext  = regexp.MustCompile(`<a href="\?([^"]+)" rel="next">`)
	reAwardTotal = regexp.MustCompile(`<p class="hint" id="records-figure">[^\n]*共 (\d+) 分，(\d+) 次奖励</p>`)
)

func testDashboardTeamPoints(t *testing.T, d store.Dialect) {
	e := newEnvWith(t, d, envOptions{demo: &demo.Config{Residents: 2000, Villages: 20, VillageDoctors: 40, Contracts: 600}})
	an := e.as(care.RoleAnalyst)
	year := strconv.Itoa(time.Now().In(care.Shanghai).Year())
	today := care.Today(time.Now()).String()
	board := an.get("/dashboard?period=" + year)
	if !strings.Contains(board.body, `<details class="dash-lazy" id="grp-points"`) {
		t.Fatal("no collapsed points group on the county board")
	}
	group := lazyGroups(t, an, board.body)
	rows := reTeamRow.FindAllStringSubmatch(group, -1)
	if len(rows) == 0 {
		t.Fatalf("no team with points: %.2000s", group)
	}
	total := regexp.MustCompile(`id="points-total">共 (\d+) 分`).FindStringSubmatch(group)
	sum := 0
	for _, r := range rows {
		n, _ := strconv.Atoi(r[4])
		sum += n
	}
	if total == nil || total[1] == "0" {
		t.Fatalf("no county total: %v", total)
	}
	// The county's teams are listed once under the units below (each unit's subtree).
	if strconv.Itoa(sum) != total[1] {
		t.Errorf("teams' points %d, county total %s", sum, total[1])
	}
	// Per contracted resident: the county's points over its residents under
	// contract, the board's family-doctor coverage numerator.
	per := regexp.MustCompile(`<span id="points-per-resident">每签约居民 (\d+)\.(\d) 分（签约 (\d+) 人）</span>`).FindStringSubmatch(group)
	cov := regexp.MustCompile(`<tr data-indicator="family_coverage">\n<th scope="row">[^\n]*</th>\n<td class="num"[^>]*>(?:<a[^>]*>)?[\d.]+%<br><small>(\d+)/`).FindStringSubmatch(board.body)
	if per == nil || cov == nil || per[3] != cov[1] {
		t.Fatalf("points per contracted resident %v, the board's contracted residents %v", per, cov)
	}
	pts, _ := strconv.Atoi(total[1])
	n, _ := strconv.Atoi(per[3])
	whole, _ := strconv.Atoi(per[1])
	tenth, _ := strconv.Atoi(per[2])
	if tenths := (pts*10 + n/2) / n; whole*10+tenth != tenths {
		t.Errorf("per contracted resident %s.%s, want %d tenths of %d/%d", per[1], per[2], tenths, pts, n)
	}
	// Per team: its points over its residents under contract at the period's
	// end (counted here from the contracts: family.Contract.Covers), so a
	// large team compares with a small one; no figure without any.
	perTeam := 0
	for _, r := range rows {
		pts, _ := strconv.Atoi(r[4])
		c, _ := strconv.Atoi(r[5])
		want := e.count(`SELECT COUNT(DISTINCT c.resident_id) FROM family_contracts c JOIN residents r ON r.id = c.resident_id
			WHERE c.team_id = %s AND r.status = 'active' AND c.start_date <= '%s' AND c.end_date >= '%s' AND (c.ended_on IS NULL OR c.ended_on > '%s')`, r[1], today, today, today)
		if c != want {
			t.Errorf("team %s: %d under contract, the contracts say %d", r[1], c, want)
		}
		if c == 0 {
			if r[6] != "" {
				t.Errorf("team %s without residents under contract: %q", r[1], r[6])
			}
			continue
		}
		perTeam++
		if tenths := (pts*10 + c/2) / c; r[6] != fmt.Sprintf("%d.%d", tenths/10, tenths%10) {
			t.Errorf("team %s: %s per contracted resident, want %d points / %d", r[1], r[6], pts, c)
		}
	}
	if perTeam == 0 {
		t.Error("no team with a figure per contracted resident")
	}
	// The family-doctor appraisal of a team's township, and of a village
	// clinic under it, shows the team with the same figure.
	for _, r := range rows[:1] {
		town := e.count("SELECT institution_id FROM family_teams WHERE id = %s", r[1])
		village := e.count("SELECT COALESCE(MIN(id), 0) FROM institutions WHERE parent_id = %d AND kind = 'village_clinic'", town)
		for _, u := range []int{town, village} {
			if u == 0 {
				continue
			}
			ap := an.get(fmt.Sprintf("/appraisal/units/%d?year=%s", u, year))
			m := regexp.MustCompile(`<tr data-team="` + r[1] + `"><th scope="row" translate="no">[^<]*</th><td class="num">(\d+)</td><td class="num" data-contracted="(\d+)">([^<]*)`).FindStringSubmatch(ap.body)
			if ap.code != 200 || m == nil || m[1] != r[4] || m[2] != r[5] || m[3] != r[6] {
				t.Errorf("appraisal of unit %d: %d, team %s %v, the dashboard's %v", u, ap.code, r[1], m, r[4:])
			}
		}
	}
	// The awards behind the first team, page by page.
	r := rows[0]
	link := html.UnescapeString(r[3])
	page := an.get(link)
	if page.code != 200 {
		t.Fatalf("awards behind team %s: %d", r[1], page.code)
	}
	if f := reAwardTotal.FindStringSubmatch(page.body); f == nil || f[1] != r[4] || f[2] != r[2] {
		t.Errorf("the page's figure %v, the group's %s points %s awards", f, r[4], r[2])
	}
	awards, points := 0, 0
	base := link[:strings.Index(link, "?")]
	for i := 0; i < 100; i++ {
		for _, a := range reAwardRow.FindAllStringSubmatch(page.body, -1) {
			n, _ := strconv.Atoi(a[1])
			awards, points = awards+1, points+n
		}
		nx := reAwardNext.FindStringSubmatch(page.body)
		if nx == nil {
			break
		}
		page = an.get(base + "?" + html.UnescapeString(nx[1]))
	}
	if strconv.Itoa(awards) != r[2] || strconv.Itoa(points) != r[4] {
		t.Errorf("listed %d awards worth %d, the figure: %s awards worth %s", awards, points, r[2], r[4])
	}
	if strings.Contains(page.body, "_") && regexp.MustCompile(`>\w+_\w+<`).MatchString(page.body) {
		t.Error("a code on the page")
	}
	e.writer.Flush(t.Context())
	if evs, _ := e.st.SearchAudit(t.Context(), audit.Filter{Action: kpi.ActRecords, Limit: 50}); len(evs) == 0 || !strings.Contains(evs[0].Detail, "points team "+r[1]) {
		t.Errorf("the awards' read not audited: %d", len(evs))
	}
	// Out of scope: no such team; a township's team asked for at another township.
	for _, u := range []string{strings.Replace(link, "team="+r[1], "team=999999", 1), strings.Replace(link, "team="+r[1], "team=x", 1)} {
		if g := an.get(u); g.code != 404 {
			t.Errorf("%s: %d", u, g.code)
		}
	}
	units := regexp.MustCompile(`<caption><a href="/dashboard/units/(\d+)\?`).FindAllStringSubmatch(group, -1)
	if len(units) > 1 {
		teams := map[string][]string{}
		for _, blk := range strings.Split(group, "<caption>")[1:] {
			u := regexp.MustCompile(`^<a href="/dashboard/units/(\d+)\?`).FindStringSubmatch(blk)
			for _, tr := range reTeamRow.FindAllStringSubmatch(blk, -1) {
				teams[u[1]] = append(teams[u[1]], tr[1])
			}
		}
		a, b := units[0][1], units[1][1]
		if len(teams[b]) > 0 {
			if g := an.get("/dashboard/units/" + a + "/records?indicator=points&period=" + year + "&team=" + teams[b][0]); g.code != 404 {
				t.Errorf("a team of unit %s asked for at unit %s: %d", b, a, g.code)
			}
		}
		if part := an.get("/dashboard/groups/points?part=1&period=" + year + "&unit=" + a); part.code != 200 || !strings.Contains(part.body, `id="points-total"`) {
			t.Errorf("a unit's points group: %d", part.code)
		}
	}
	e.writer.Flush(t.Context())
	if evs, _ := e.st.SearchAudit(t.Context(), audit.Filter{Action: kpi.ActOutOfScope, Limit: 10}); len(evs) == 0 {
		t.Error("an out-of-scope team not audited")
	}
	en := an.do("GET", "/dashboard/groups/points?period="+year, "", nil, map[string]string{"Cookie": "cc_lang=en"})
	if en.code != 200 || !strings.Contains(en.body, "Family-doctor team points") {
		t.Errorf("the group's page in English: %d", en.code)
	}
	if g := an.get("/dashboard/groups/points?period=2026-13"); g.code != 422 {
		t.Errorf("a bad period: %d", g.code)
	}
	if g := e.as(care.RoleVillageDoctor).get("/dashboard/groups/points"); g.code != 403 {
		t.Errorf("village doctor: %d", g.code)
	}
	if g := e.as(care.RoleVillageDoctor).get(link); g.code != 403 {
		t.Errorf("village doctor, the awards: %d", g.code)
	}
}
