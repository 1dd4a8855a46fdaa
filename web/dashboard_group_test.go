package web_test

import (
	"html"
	"regexp"
	"strings"
	"testing"

	"countycare/audit"
	"countycare/care"
	"countycare/kpi"
	"countycare/store"
)

// lazyGroups fetches the body of every collapsed group of a board page,
// as dashboard.js does when a group is opened, and returns them joined.
func lazyGroups(t *testing.T, c *client, page string) string {
	t.Helper()
	var out strings.Builder
	for _, m := range regexp.MustCompile(`<details class="dash-lazy" id="grp-\w+" data-src="([^"]+)"`).FindAllStringSubmatch(page, -1) {
		r := c.get(html.UnescapeString(m[1]))
		if r.code != 200 {
			t.Errorf("collapsed group %s: %d", m[1], r.code)
		}
		out.WriteString(r.body)
	}
	return out.String()
}

// TestDashboardCollapsedGroup: a collapsed group (the reading centers) is
// on the board as a <details> with no rows, fetched on demand as a
// fragment (no layout) holding the group's indicators at the unit and the
// units below, each number a link to that unit's board; without script
// the link inside opens the group's own page; the table of units below
// leaves its columns out. Scope and audit as the board's: another
// township's group is 404 and audited, an unknown group 404, other roles
// 403.
func TestDashboardCollapsedGroup(t *testing.T) {
	for _, d := range []store.Dialect{store.SQLite, store.Postgres} {
		t.Run(string(d), func(t *testing.T) { testDashboardCollapsedGroup(t, d) })
	}
}

func testDashboardCollapsedGroup(t *testing.T, d store.Dialect) {
	e := newEnv(t, d)
	an := e.as(care.RoleAnalyst)
	page := an.get("/dashboard")
	if page.code != 200 {
		t.Fatalf("county board: %d", page.code)
	}
	lazy := regexp.MustCompile(`(?s)<details class="dash-lazy" id="grp-reading" data-src="([^"]+)"><summary><h2>诊断中心与危急值</h2></summary>\s*<div class="lazy-body"><p><a href="([^"]+)">`).FindStringSubmatch(page.body)
	if lazy == nil {
		t.Fatal("the reading group is not collapsed on the board")
	}
	if strings.Contains(page.body, `data-indicator="critical_ack_in_time"`) {
		t.Error("a collapsed group's rows or columns are on the board")
	}
	part := an.get(html.UnescapeString(lazy[1]))
	if part.code != 200 || strings.Contains(part.body, "<html") || strings.Contains(part.body, "<nav") {
		t.Fatalf("fragment: %d, a whole page? %v", part.code, strings.Contains(part.body, "<html"))
	}
	for _, in := range kpi.Catalogue {
		has := strings.Contains(part.body, `<tr data-indicator="`+in.ID+`"`)
		if has != (in.Group == "reading") {
			t.Errorf("fragment: indicator %s listed %v", in.ID, has)
		}
	}
	below := regexp.MustCompile(`<tr data-unit="(\d+)"><th scope="row"><a href="/dashboard/units/(\d+)\?`).FindAllStringSubmatch(part.body, -1)
	if len(below) == 0 {
		t.Fatal("fragment without the units below")
	}
	if !strings.Contains(part.body, `<td class="num" data-indicator="critical_ack_in_time"><a href="/dashboard/units/`+below[0][1]+`?`) {
		t.Error("a unit's figure does not open that unit's board")
	}
	full := an.get(html.UnescapeString(lazy[2]))
	if full.code != 200 || !strings.Contains(full.body, "<html") || !strings.Contains(full.body, `id="ind-reading"`) || !strings.Contains(full.body, `id="below-reading"`) {
		t.Fatalf("the group's page: %d", full.code)
	}
	// The group of a unit below, in English.
	en := an.do("GET", "/dashboard/groups/reading?unit="+below[0][1], "", nil, map[string]string{"Cookie": "cc_lang=en"})
	if en.code != 200 || !strings.Contains(en.body, "Reading centers and critical values") {
		t.Errorf("a unit's group page: %d", en.code)
	}
	for _, u := range []string{"/dashboard/groups/nope", "/dashboard/groups/reading?unit=999999", "/dashboard/groups/reading?unit=x"} {
		if r := an.get(u); r.code != 404 {
			t.Errorf("%s: %d", u, r.code)
		}
	}
	if r := an.get("/dashboard/groups/reading?period=2026-13"); r.code != 422 {
		t.Errorf("a bad period: %d", r.code)
	}
	td := e.as(care.RoleTownshipDoctor)
	home := regexp.MustCompile(`data-src="/api/v1/dashboard/trend\?[^"]*unit=(\d+)`).FindStringSubmatch(td.get("/dashboard").body)
	for _, u := range below {
		if home != nil && u[1] != home[1] {
			if r := td.get("/dashboard/groups/reading?unit=" + u[1]); r.code != 404 {
				t.Errorf("township doctor, another township's group: %d", r.code)
			}
			break
		}
	}
	e.writer.Flush(t.Context())
	if evs, err := e.st.SearchAudit(t.Context(), audit.Filter{Action: kpi.ActOutOfScope, Limit: 10}); err != nil || len(evs) == 0 {
		t.Errorf("out-of-scope group not audited: %v %d", err, len(evs))
	}
	if r := e.as(care.RoleVillageDoctor).get("/dashboard/groups/reading"); r.code != 403 {
		t.Errorf("village doctor: %d", r.code)
	}
}
