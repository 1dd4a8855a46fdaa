package web_test

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"fmt"
	"math/big"
	"regexp"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"countycare/audit"
	"countycare/care"
	"countycare/demo"
	"countycare/kpi"
	"countycare/org"
	"countycare/store"
)

// TestDashboardRecordsExport: the bills behind a township's out-of-pocket
// share are ordered (the highest share of its bill first, then by id) and
// paged by the store — the pages together are the list, each bill once;
// the list's CSV and XLSX exports are every row of it in the page's order
// (name and masked identity number as on the pages), headers in the
// reader's language, one audit row each with the row count; the referral
// list's export is its pages' rows; another township's unit is 404 and
// audited; a bad format is refused. Both databases.
func TestDashboardRecordsExport(t *testing.T) {
	for _, d := range []store.Dialect{store.SQLite, store.Postgres} {
		t.Run(string(d), func(t *testing.T) { testDashboardRecordsExport(t, d) })
	}
}

var (
	reRecBill = regexp.MustCompile(`(?s)<tr data-bill="(\d+)" data-part="(\d+)" data-whole="(\d+)">\s*<th scope="row"><span translate="no">([^<]*)</span><br><small translate="no">([^<]*)</small>`)
	reRecRef  = regexp.MustCompile(`(?s)<tr data-referral="(\d+)"[^>]*>\s*<th scope="row"><span translate="no">([^<]*)</span>.*?<small translate="no">([^<]*)</small>`)
	reNext    = regexp.MustCompile(`<a href="\?([^"]*)" rel="next">`)
)

// pagedRecord is one row of a records page: its id, name and masked
// identity number, and a bill's part and whole.
type pagedRecord struct {
	id, name, masked string
	part, whole      int64
}

// allPages follows a records list's pages from href, returning its rows.
func allPages(t *testing.T, c *client, href string, re *regexp.Regexp) []pagedRecord {
	t.Helper()
	var out []pagedRecord
	base := href[:strings.Index(href, "?")]
	for pages := 0; href != ""; pages++ {
		r := c.get(href)
		if r.code != 200 || pages > 1000 {
			t.Fatalf("%s: %d", href, r.code)
		}
		for _, m := range re.FindAllStringSubmatch(r.body, -1) {
			p := pagedRecord{id: m[1]}
			if len(m) == 6 {
				p.part, _ = strconv.ParseInt(m[2], 10, 64)
				p.whole, _ = strconv.ParseInt(m[3], 10, 64)
				p.name, p.masked = m[4], m[5]
			} else {
				p.name, p.masked = m[2], m[3]
			}
			out = append(out, p)
		}
		href = ""
		if n := reNext.FindStringSubmatch(r.body); n != nil {
			href = base + "?" + strings.ReplaceAll(n[1], "&amp;", "&")
		}
	}
	return out
}

// exportCSV reads a records export as CSV rows (the header first).
func exportCSV(t *testing.T, r response) [][]string {
	t.Helper()
	if r.code != 200 || !strings.HasPrefix(r.header.Get("Content-Type"), "text/csv") {
		t.Fatalf("export: %d %s %.300s", r.code, r.header.Get("Content-Type"), r.body)
	}
	rows, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(r.body, "\ufeff"))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

func testDashboardRecordsExport(t *testing.T, d store.Dialect) {
	e := newEnvWith(t, d, envOptions{demo: &demo.Config{Residents: 2000, Villages: 20, VillageDoctors: 40, Visits: 2500, Referrals: 300}})
	ctx := t.Context()
	now := time.Now()
	year := strconv.Itoa(now.In(care.Shanghai).Year())
	tree, towns := countyTownships(t, e)
	// The township whose institutions settled the most bills this year.
	var busiest *org.Institution
	most := 0
	for _, tw := range towns {
		ids := strings.Trim(strings.Join(strings.Fields(fmt.Sprint(tree.Subtree(tw.ID))), ","), "[]")
		n := e.count("SELECT COUNT(*) FROM settlements WHERE status = 'settled' AND visit_date >= '%s-01-01' AND institution_id IN (%s)", year, ids)
		if n > most {
			busiest, most = tw, n
		}
	}
	if most <= 2*kpi.RecordsPerPage {
		t.Fatalf("the busiest township settled %d bills: too few to page", most)
	}
	an := e.as(care.RoleAnalyst)
	audited := func(action string) []audit.Event {
		e.writer.Flush(ctx)
		evs, err := e.st.SearchAudit(ctx, audit.Filter{Action: action, Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		return evs
	}
	// The pages together: every bill once, the highest share first.
	list := fmt.Sprintf("/dashboard/units/%d/records?indicator=settle_oop_share&period=%s", busiest.ID, year)
	pages := allPages(t, an, list, reRecBill)
	if len(pages) != most {
		t.Fatalf("%d bills on the pages, %d settled", len(pages), most)
	}
	seen := map[string]bool{}
	for i, p := range pages {
		if seen[p.id] {
			t.Fatalf("bill %s on two pages", p.id)
		}
		seen[p.id] = true
		if p.masked != "" && !reMaskedID.MatchString(`<small translate="no">`+p.masked+`</small>`) || regexp.MustCompile(`\d{17}[\dX]`).MatchString(p.masked) {
			t.Errorf("bill %s: identity %q not masked", p.id, p.masked)
		}
		if i == 0 {
			continue
		}
		q := pages[i-1]
		// exact: part/whole as rationals, a bill without a part after those with one
		prev, cur := big.NewRat(0, 1), big.NewRat(0, 1)
		if q.whole > 0 {
			prev.SetFrac64(q.part, q.whole)
		}
		if p.whole > 0 {
			cur.SetFrac64(p.part, p.whole)
		}
		pid, _ := strconv.Atoi(p.id)
		qid, _ := strconv.Atoi(q.id)
		if c := cur.Cmp(prev); c > 0 || c == 0 && pid < qid || q.part == 0 && p.part > 0 {
			t.Fatalf("bill %s (%d/%d) after bill %s (%d/%d)", p.id, p.part, p.whole, q.id, q.part, q.whole)
		}
	}
	// The page links to its export; the CSV is the pages' rows in order.
	first := an.get(list)
	if !strings.Contains(first.body, fmt.Sprintf(`/dashboard/units/%d/records/export?`, busiest.ID)) {
		t.Error("the records page does not link to its export")
	}
	before := len(audited(kpi.ActRecordsExport))
	export := fmt.Sprintf("/dashboard/units/%d/records/export?indicator=settle_oop_share&period=%s&format=", busiest.ID, year)
	rows := exportCSV(t, an.get(export+"csv"))
	if len(rows) != len(pages)+1 || rows[0][1] != "身份证号（已遮蔽）" {
		t.Fatalf("CSV: %d rows for %d bills; header %v", len(rows), len(pages), rows[0])
	}
	for i, p := range pages {
		if rows[i+1][0] != p.name || rows[i+1][1] != p.masked {
			t.Fatalf("CSV row %d: %v, page row %+v", i+1, rows[i+1][:2], p)
		}
	}
	evs := audited(kpi.ActRecordsExport)
	if len(evs) != before+1 || !strings.Contains(evs[0].Detail, fmt.Sprintf("rows %d", len(pages))) {
		t.Fatalf("export audit: %d → %d rows, %+v", before, len(evs), evs)
	}
	// XLSX in English: the same rows, the headers from the catalogue.
	xr := an.do("GET", export+"xlsx", "", nil, map[string]string{"Cookie": "cc_lang=en"})
	if xr.code != 200 {
		t.Fatalf("XLSX: %d %.300s", xr.code, xr.body)
	}
	f, err := excelize.OpenReader(bytes.NewReader([]byte(xr.body)))
	if err != nil {
		t.Fatal(err)
	}
	xrows, err := f.GetRows(f.GetSheetName(0))
	if err != nil {
		t.Fatal(err)
	}
	if len(xrows) != len(pages)+1 || xrows[0][1] != "ID number (masked)" || xrows[1][1] != pages[0].masked || xrows[len(pages)][0] != pages[len(pages)-1].name {
		t.Fatalf("XLSX: %d rows for %d bills; header %v first %v", len(xrows), len(pages), xrows[0], xrows[1])
	}
	if n := len(audited(kpi.ActRecordsExport)); n != before+2 {
		t.Errorf("XLSX export not audited: %d", n)
	}
	// Only those with a part: the flagged rows alone, in the same order.
	only := exportCSV(t, an.get(export+"csv&missing=1"))
	flagged := 0
	for _, p := range pages {
		if p.part > 0 {
			flagged++
		}
	}
	if len(only) != flagged+1 || flagged == 0 {
		t.Fatalf("flagged export: %d rows, %d flagged", len(only)-1, flagged)
	}
	for i := range flagged {
		if only[i+1][0] != pages[i].name || only[i+1][1] != pages[i].masked {
			t.Fatalf("flagged export row %d: %v, page row %+v", i+1, only[i+1][:2], pages[i])
		}
	}
	// The referrals of a township: the export is the pages' rows.
	refs := 0
	for _, tw := range towns {
		href := fmt.Sprintf("/dashboard/units/%d/records?indicator=referral_completion&period=%s", tw.ID, year)
		pages := allPages(t, an, href, reRecRef)
		rows := exportCSV(t, an.get(fmt.Sprintf("/dashboard/units/%d/records/export?indicator=referral_completion&period=%s&format=csv", tw.ID, year)))
		if len(rows) != len(pages)+1 {
			t.Fatalf("%s: referral export %d rows, pages %d", tw.Name, len(rows)-1, len(pages))
		}
		for i, p := range pages {
			if rows[i+1][0] != p.name || rows[i+1][1] != p.masked {
				t.Fatalf("%s referral row %d: %v, page %+v", tw.Name, i+1, rows[i+1][:2], p)
			}
		}
		refs += len(pages)
	}
	if refs == 0 {
		t.Error("no referrals exported")
	}
	// A list with no record (the busiest township's critical values: the
	// demo raises none): the headers alone, as many rows as the page counts.
	crit := fmt.Sprintf("indicator=critical_ack_in_time&period=%s", year)
	_, den := recordCounts(t, an.get(fmt.Sprintf("/dashboard/units/%d/records?%s", busiest.ID, crit)))
	if rows := exportCSV(t, an.get(fmt.Sprintf("/dashboard/units/%d/records/export?%s&format=csv", busiest.ID, crit))); len(rows) != den+1 || rows[0][1] != "身份证号（已遮蔽）" {
		t.Errorf("critical values export: %d rows, the page counts %d; header %v", len(rows)-1, den, rows[0])
	}
	// Refused: a bad format (422); another township's unit (404, audited).
	if r := an.get(export + "pdf"); r.code != 422 {
		t.Errorf("format pdf: %d", r.code)
	}
	td := e.as(care.RoleTownshipDoctor)
	home := e.count("SELECT institution_id FROM accounts WHERE username = '%s'", e.users[care.RoleTownshipDoctor])
	var other *org.Institution
	for _, tw := range towns {
		if !tree.IsWithin(int64(home), tw.ID) && tw.ID != int64(home) && other == nil {
			other = tw
		}
	}
	out := len(audited(kpi.ActOutOfScope))
	if r := td.get(fmt.Sprintf("/dashboard/units/%d/records/export?indicator=settle_oop_share&period=%s&format=csv", other.ID, year)); r.code != 404 {
		t.Errorf("township doctor, another township's export: %d", r.code)
	}
	if n := len(audited(kpi.ActOutOfScope)); n != out+1 {
		t.Errorf("out-of-scope export not audited: %d → %d", out, n)
	}
}

// TestDashboardRecordsExportBoundedMemory: a list of 50,000 bills (one
// village clinic's year) is exported streamed — the server's live heap
// grows by a batch, not by the list (held whole, its records alone would
// be 50,000 × 592 bytes, 28 MiB) — every row written. SQLite.
func TestDashboardRecordsExportBoundedMemory(t *testing.T) {
	const bills = 50000
	e := newEnvWith(t, store.SQLite, envOptions{demo: &demo.Config{Residents: 2000, Villages: 20, VillageDoctors: 40, Visits: 200}})
	ctx := t.Context()
	tree, err := e.srv.Orgs.Tree(ctx)
	if err != nil {
		t.Fatal(err)
	}
	village := tree.OfKind(0, org.KindVillageClinic)[0]
	today := care.Today(time.Now())
	if e.count("SELECT COUNT(*) FROM settlements") == 0 {
		t.Fatal("the demo settled no visit to copy")
	}
	had := e.count("SELECT COUNT(*) FROM settlements WHERE institution_id = %d AND status = 'settled' AND visit_date >= '%d-01-01'", village.ID, today.Year)
	// Copies of a settled bill, of 1,000 residents, with shares that differ.
	err = e.st.ExecForTest(ctx, fmt.Sprintf(`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < %d)
		INSERT INTO settlements (county_code, resident_id, institution_id, visit_id, idempotency_key, claim_hash, policy_id, year, visit_date, visit_type, level,
			poverty, status, total, eligible, basic, critical, assistance, supplementary, bottom_line, patient, drugs, materials, claim, result, created_at)
		SELECT s.county_code, (SELECT MIN(id) FROM residents) + n.i %% 1000, %d, 'mem-' || n.i, 'mem-' || n.i, s.claim_hash, s.policy_id, %d, '%s', s.visit_type, 'village',
			s.poverty, 'settled', 10000 + n.i, 0, 0, 0, 0, 0, 0, (n.i * 7919) %% 10000, 0, 0, s.claim, s.result, s.created_at
		FROM n, (SELECT * FROM settlements ORDER BY id LIMIT 1) s`, bills, village.ID, today.Year, today))
	if err != nil {
		t.Fatal(err)
	}
	an := e.as(care.RoleAnalyst)
	for _, format := range []string{"csv", "xlsx"} {
		url := fmt.Sprintf("%s/dashboard/units/%d/records/export?indicator=settle_oop_share&period=%d&format=%s", e.ts.URL, village.ID, today.Year, format)
		old := debug.SetGCPercent(5)
		runtime.GC()
		var base runtime.MemStats
		runtime.ReadMemStats(&base)
		var peak atomic.Uint64
		stop := make(chan struct{})
		done := make(chan struct{})
		go func() {
			defer close(done)
			var m runtime.MemStats
			for {
				select {
				case <-stop:
					return
				case <-time.After(2 * time.Millisecond):
				}
				runtime.ReadMemStats(&m)
				if m.HeapAlloc > peak.Load() {
					peak.Store(m.HeapAlloc)
				}
			}
		}()
		resp, err := an.hc.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		// Read as it comes: a CSV's lines counted, a workbook kept (the client's).
		var lines int
		var body bytes.Buffer
		if format == "csv" {
			sc := bufio.NewScanner(resp.Body)
			for sc.Scan() {
				lines++
			}
		} else {
			body.ReadFrom(resp.Body)
		}
		resp.Body.Close()
		close(stop)
		<-done
		debug.SetGCPercent(old)
		grew := int64(peak.Load()) - int64(base.HeapAlloc) - int64(body.Cap())
		t.Logf("%s: heap grew %.1f MiB at most (%d lines)", format, float64(grew)/(1<<20), lines)
		if resp.StatusCode != 200 {
			t.Fatalf("%s: %d", format, resp.StatusCode)
		}
		if format == "csv" && lines != had+bills+1 {
			t.Errorf("CSV: %d lines, want %d", lines, had+bills+1)
		}
		if format == "xlsx" {
			f, err := excelize.OpenReader(&body)
			if err != nil {
				t.Fatal(err)
			}
			rows, err := f.Rows(f.GetSheetName(0))
			if err != nil {
				t.Fatal(err)
			}
			n := 0
			for rows.Next() {
				n++
			}
			if n != had+bills+1 {
				t.Errorf("XLSX: %d rows, want %d", n, had+bills+1)
			}
		}
		// A batch of records and the writers' buffers (4.5 MiB measured);
		// excelize keeps up to 16 MiB of a sheet's XML in memory before its
		// temporary file, and compresses it at the end (31 MiB measured).
		limit := int64(8 << 20)
		if format == "xlsx" {
			limit = 40 << 20
		}
		if grew > limit {
			t.Errorf("%s: the heap grew %.1f MiB exporting %d bills (limit %d MiB)", format, float64(grew)/(1<<20), bills, limit>>20)
		}
	}
}
