package web_test

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"countycare/audit"
	"countycare/care"
	"countycare/critical"
	"countycare/demo"
	"countycare/kpi"
	"countycare/org"
	"countycare/store"
)

// TestDashboardRecordsGroups: the referral, critical-value and settlement
// figures of a township center and a village clinic link to the records
// behind them (issue 14 §1) — each list's counts are the board's numerator
// and denominator for that unit and period (the bills' in fen), the
// referral parts (up, down, the poor) are the referral report's, the late
// critical values come first and say how late, the bills with the highest
// share first; identity numbers are masked, every view is audited, another
// township's unit is 404 and audited, and a bad filter is refused.
func TestDashboardRecordsGroups(t *testing.T) {
	for _, d := range []store.Dialect{store.SQLite, store.Postgres} {
		t.Run(string(d), func(t *testing.T) { testDashboardRecordsGroups(t, d) })
	}
}

var (
	reRecCounts = regexp.MustCompile(`id="records-counts" data-num="(\d+)" data-den="(\d+)"`)
	reRecRow    = regexp.MustCompile(`(?s)<tr data-(?:bill|alert|referral)="(\d+)"([^>]*)>(.*?)</tr>`)
)

// recordCounts reads the numerator and denominator a records page lists.
func recordCounts(t *testing.T, r response) (int, int) {
	t.Helper()
	m := reRecCounts.FindStringSubmatch(r.body)
	if r.code != 200 || m == nil {
		t.Fatalf("records page: %d %.1500s", r.code, r.body)
	}
	num, _ := strconv.Atoi(m[1])
	den, _ := strconv.Atoi(m[2])
	return num, den
}

func testDashboardRecordsGroups(t *testing.T, d store.Dialect) {
	e := newEnvWith(t, d, envOptions{demo: &demo.Config{Residents: 2000, Villages: 20, VillageDoctors: 40, Visits: 600, Referrals: 300, Contracts: 600}})
	ctx := context.Background()
	now := time.Now()
	year := strconv.Itoa(now.In(care.Shanghai).Year())
	tree, towns := countyTownships(t, e)
	county := tree.OfKind(0, org.KindCounty)[0]
	// Critical values ordered by one village clinic: in time, late, open
	// past the deadline, escalated, and one still within its deadline.
	var village *org.Institution
	for _, tw := range towns {
		for _, c := range tree.Children(tw.ID) {
			if c.Kind == org.KindVillageClinic && village == nil {
				village = c
			}
		}
	}
	resident := int64(e.count("SELECT MIN(id) FROM residents"))
	raise := func(n int, raised time.Duration, ack time.Duration, level int) {
		al := &critical.Alert{CountyCode: county.CountyCode, SourceKind: "lab", SourceID: int64(900000 + n), ResidentID: resident, ClinicID: village.ID,
			Finding: "血钾 6.8 mmol/L", Value: "6.8 mmol/L", RaisedBy: 1, RaisedAt: now.Add(-raised)}
		ev := audit.Event{Time: now, CountyCode: county.CountyCode, Action: "test.raise", Outcome: audit.OutcomeOK}
		if _, err := e.st.RaiseAlert(ctx, al, nil, ev); err != nil {
			t.Fatal(err)
		}
		if ack > 0 {
			al.AckAt, al.AckBy = al.RaisedAt.Add(ack), 1
			if err := e.st.AckAlert(ctx, al, ev); err != nil {
				t.Fatal(err)
			}
		}
		if level > 0 {
			if err := e.st.ExecForTest(ctx, fmt.Sprintf("UPDATE critical_alerts SET level = %d WHERE id = %d", level, al.ID)); err != nil {
				t.Fatal(err)
			}
		}
	}
	raise(1, 3*time.Hour, 5*time.Minute, 0)  // in time
	raise(2, 3*time.Hour, 40*time.Minute, 0) // 40 minutes: late
	raise(3, 2*time.Hour, 0, 0)              // open, past 15 minutes
	raise(4, 2*time.Hour, 0, 1)              // escalated to the township
	raise(5, 2*time.Minute, 0, 0)            // within its deadline: not judged
	an := e.as(care.RoleAnalyst)
	analyst := care.Actor{AccountID: 1, Role: care.RoleAnalyst, CountyCode: county.CountyCode}
	p, err := kpi.ParsePeriod(year, care.Today(now))
	if err != nil {
		t.Fatal(err)
	}
	e.writer.Flush(ctx)
	audited := func(action string) int {
		e.writer.Flush(ctx)
		return e.count("SELECT COUNT(*) FROM audit_events WHERE action = '%s'", action)
	}
	before := audited(kpi.ActRecords)
	reads := 0
	// Every figure with records, at every township and at the village: the
	// list's counts are the board's.
	ids := []string{"referral_completion", "out_of_county", "critical_ack_in_time", "settle_oop_share", "settle_drug_share", "settle_material_share",
		"family_coverage", "family_key_coverage", "family_fulfilment"}
	checked := map[string]int{}
	units := append([]*org.Institution{}, towns...)
	units = append(units, tree.OfKind(county.ID, org.KindVillageClinic)...)
	for _, u := range units {
		b, err := e.srv.Dashboard.Board(ctx, analyst, u.ID, p)
		if err != nil {
			t.Fatal(err)
		}
		page := an.get("/dashboard/units/" + strconv.FormatInt(u.ID, 10) + "?period=" + year).body
		for _, row := range b.Rows {
			id := row.Indicator.ID
			if !slices.Contains(ids, id) || !b.HasRecords(id) {
				continue
			}
			href := fmt.Sprintf("/dashboard/units/%d/records?indicator=%s&period=%s", u.ID, id, year)
			shown := page
			if row.Indicator.Group == "reading" { // a collapsed group: its rows come with the group when opened
				shown = an.get(fmt.Sprintf("/dashboard/groups/reading?unit=%d&period=%s&part=1", u.ID, year)).body
			}
			if !strings.Contains(shown, strings.ReplaceAll(href, "&", "&amp;")) {
				t.Errorf("%s board: %s without a link to its records", u.Name, id)
			}
			num, den := recordCounts(t, an.get(href))
			reads++
			if num != row.Value.Rate.Num || den != row.Value.Rate.Den {
				t.Errorf("%s %s: the records count %d/%d, the board %d/%d", u.Name, id, num, den, row.Value.Rate.Num, row.Value.Rate.Den)
			}
			if den > 0 {
				checked[id]++
			}
		}
	}
	for _, id := range ids {
		if checked[id] == 0 {
			t.Errorf("%s: no unit with records to compare", id)
		}
	}
	// The referral parts are the referral report's figures.
	rep, err := e.srv.Referral.Indicators(ctx, analyst, p.From(), p.To(care.Today(now)))
	if err != nil {
		t.Fatal(err)
	}
	parts := 0
	for _, ur := range rep.Units {
		if ur.Depth != 1 {
			continue
		}
		// The township centers within the unit, as the board sums them (a
		// sub-center's townships with it).
		sums := map[string]struct{ Num, Den int }{}
		for _, in := range rep.Units {
			if in.Depth != 1 || !tree.IsWithin(in.Unit.ID, ur.Unit.ID) {
				continue
			}
			for q, r := range map[string]struct{ Num, Den int }{
				"referral_completion&direction=up":   {in.Ind.UpCompletion.Num, in.Ind.UpCompletion.Den},
				"referral_completion&direction=down": {in.Ind.DownCompletion.Num, in.Ind.DownCompletion.Den},
				"out_of_county&poor=1":               {in.Ind.OutOfCountyPoor.Num, in.Ind.OutOfCountyPoor.Den},
			} {
				x := sums[q]
				sums[q] = struct{ Num, Den int }{x.Num + r.Num, x.Den + r.Den}
			}
		}
		base := fmt.Sprintf("/dashboard/units/%d/records?period=%s&indicator=", ur.Unit.ID, year)
		for q, want := range sums {
			r := an.get(base + q)
			reads++
			num, den := recordCounts(t, r)
			if num != want.Num || den != want.Den {
				t.Errorf("%s %s: the records count %d/%d, the referral report %d/%d", ur.Unit.Name, q, num, den, want.Num, want.Den)
			}
			for _, row := range reRecRow.FindAllStringSubmatch(r.body, -1) {
				if strings.HasSuffix(q, "poor=1") && !strings.Contains(row[2], `data-poor="true"`) ||
					strings.HasSuffix(q, "=up") && !strings.Contains(row[2], `data-direction="up"`) {
					t.Errorf("%s %s: a referral of another part: %s", ur.Unit.Name, q, row[2])
				}
			}
			if den > 0 {
				parts++
			}
		}
	}
	if parts == 0 {
		t.Error("no township with referrals to compare by part")
	}
	// The village's critical values: the late first, each saying how late;
	// the one within its deadline is not listed.
	vhref := fmt.Sprintf("/dashboard/units/%d/records?indicator=critical_ack_in_time&period=%s", village.ID, year)
	r := an.get(vhref)
	reads++
	if num, den := recordCounts(t, r); num != 1 || den != 4 {
		t.Errorf("village critical values %d/%d, want 1/4", num, den)
	}
	rows := reRecRow.FindAllStringSubmatch(r.body, -1)
	if len(rows) != 4 || !strings.Contains(rows[3][2], `data-counted="true"`) {
		t.Fatalf("critical values listed: %v", rows)
	}
	for _, want := range []string{"40 分钟后才确认，应在 15 分钟内", "15 分钟内未确认，至今未确认", "已逐级上报"} {
		if !strings.Contains(r.body, want) {
			t.Errorf("critical values: no %q", want)
		}
	}
	if !regexp.MustCompile(`data-late="(\d+)"`).MatchString(rows[0][2]) || strings.Contains(rows[0][2], `data-late="0"`) {
		t.Errorf("a late critical value without how late: %s", rows[0][2])
	}
	en := an.do("GET", vhref, "", nil, map[string]string{"Cookie": "cc_lang=en"})
	if !strings.Contains(en.body, "acknowledged after 40 minutes; 15 were allowed") {
		t.Error("critical values: no English reason")
	}
	reads++
	// The bills of a township: the highest share first, identity masked.
	masked := 0
	for _, tw := range towns {
		r := an.get(fmt.Sprintf("/dashboard/units/%d/records?indicator=settle_oop_share&period=%s", tw.ID, year))
		reads++
		rows := reRecRow.FindAllStringSubmatch(r.body, -1)
		prev := 2.0
		for _, row := range rows {
			m := regexp.MustCompile(`data-part="(\d+)" data-whole="(\d+)"`).FindStringSubmatch(row[2])
			part, _ := strconv.ParseFloat(m[1], 64)
			whole, _ := strconv.ParseFloat(m[2], 64)
			if share := part / whole; share > prev+1e-12 {
				t.Errorf("%s: bill %s (share %.4f) after a lower share %.4f", tw.Name, row[1], share, prev)
			} else {
				prev = share
			}
			if reMaskedID.MatchString(row[3]) {
				masked++
			}
			if regexp.MustCompile(`\d{17}[\dX]`).MatchString(row[3]) {
				t.Errorf("bill %s shows an identity number unmasked: %s", row[1], row[3])
			}
		}
	}
	if masked == 0 {
		t.Error("no masked identity number on the bills")
	}
	// A village's services due but not delivered: only those, each saying
	// how many are missing.
	short := 0
	for _, u := range units {
		if u.Kind != org.KindVillageClinic {
			continue
		}
		r := an.get(fmt.Sprintf("/dashboard/units/%d/records?indicator=family_fulfilment&period=%s&missing=1", u.ID, year))
		reads++
		for _, row := range regexp.MustCompile(`(?s)<tr data-contract="\d+" data-service="\w+" data-part="(\d+)" data-whole="(\d+)" data-counted="(\w+)">(.*?)</tr>`).FindAllStringSubmatch(r.body, -1) {
			short++
			if row[3] != "false" || row[1] == row[2] || !regexp.MustCompile(`还差 \d+ 次（本签约年度应提供 \d+ 次）`).MatchString(row[4]) {
				t.Errorf("a service line listed as not delivered: %v", row)
			}
		}
	}
	if short == 0 {
		t.Error("no service due but not delivered in the county's villages")
	}
	// Every view was audited with the residents listed.
	if n := audited(kpi.ActRecords) - before; n != reads {
		t.Errorf("records audited %d times, read %d times", n, reads)
	}
	// A township's staff: their own township's lists; another's is 404, audited.
	own := int64(e.count("SELECT institution_id FROM accounts WHERE username = '%s'", e.users[care.RoleTownshipDoctor]))
	td := e.as(care.RoleTownshipDoctor)
	if r := td.get(fmt.Sprintf("/dashboard/units/%d/records?indicator=referral_completion&period=%s", own, year)); r.code != 200 {
		t.Errorf("own township's referrals: %d", r.code)
	}
	for _, tw := range towns {
		if tw.ID == own {
			continue
		}
		denied := audited(kpi.ActOutOfScope)
		if r := td.get(fmt.Sprintf("/dashboard/units/%d/records?indicator=referral_completion&period=%s", tw.ID, year)); r.code != 404 {
			t.Errorf("another township's referrals: %d", r.code)
		}
		if audited(kpi.ActOutOfScope) != denied+1 {
			t.Error("out of scope records not audited")
		}
		break
	}
	// Bad filters and units are refused with a message.
	for q, key := range map[string]string{
		fmt.Sprintf("%d/records?indicator=referral_completion&direction=sideways&period=%s", towns[0].ID, year): "方向只能是上转或下转",
		fmt.Sprintf("%d/records?indicator=settle_oop_share&poor=1&period=%s", towns[0].ID, year):                "只看贫困人口仅用于转诊指标",
		fmt.Sprintf("%d/records?indicator=referral_completion&period=%s", village.ID, year):                     "转诊在乡镇卫生院一级查看",
		fmt.Sprintf("%d/records?indicator=settle_fund_use&period=%s", towns[0].ID, year):                        "没有可列出的明细",
	} {
		if r := an.get("/dashboard/units/" + q); r.code != 422 || !strings.Contains(r.body, key) {
			t.Errorf("%s: %d, want 422 with %q", q, r.code, key)
		}
	}
}

// countyTownships is the test county's institution tree and its township
// centers (sub-centers, central and township health centers): the units
// whose records lists the dashboard tests page through.
func countyTownships(t *testing.T, e *env) (*org.Tree, []*org.Institution) {
	t.Helper()
	tree, err := e.srv.Orgs.Tree(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	county := tree.OfKind(0, org.KindCounty)[0]
	var towns []*org.Institution
	for _, k := range []org.Kind{org.KindSubCenter, org.KindCentralHC, org.KindTownshipHC} {
		towns = append(towns, tree.OfKind(county.ID, k)...)
	}
	return tree, towns
}
