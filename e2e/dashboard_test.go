package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// dashboardBudget is issue 14's transfer budget for the county dashboard
// at 360 px: the page, its CSS and scripts, the charts' library and data.
const dashboardBudget = 150_000

// TestDashboardInBrowser is issue 14 §1's browser test, at 360 and 1280
// px: the analyst's county dashboard draws its charts on canvas with no
// console error; the bar chart shows the numbers of the table below it,
// and the map's tiles the same; a tap on a tile drills down to that unit;
// the trend chart draws the months; a township doctor asking for the
// county's board gets 404. At 360 px it logs the bytes transferred (cold
// cache), which docs/benchmarks.md records, and fails over the budget.
func TestDashboardInBrowser(t *testing.T) {
	chrome := chromiumPath(t)
	base, logins := startBinary(t)
	for _, w := range []int64{360, 1280} {
		t.Run(fmt.Sprint(w), func(t *testing.T) {
			ctx, console := openPhoneSize(t, chrome, w, 800)
			step, eval, waitFor := tab{t, ctx}.helpers()
			signInAs(t, ctx, base, logins["analyst"])
			if _, err := chromedp.Call(ctx, network.ClearBrowserCache, cdp.Empty{}); err != nil {
				t.Fatalf("clear the cache: %v", err)
			}
			step("open the county dashboard", chromedp.Navigate(base+"/dashboard"), chromedp.WaitVisible("#ind-chronic"))
			waitFor("bar chart drawn", `!!document.querySelector("#chart-bars canvas")`)
			waitFor("trend drawn", `document.querySelector("#chart-trend") && document.querySelector("#chart-trend").dataset.drawn > 0 && !!document.querySelector("#chart-trend canvas")`)
			var fit bool
			eval(`document.documentElement.scrollWidth <= window.innerWidth`, &fit)
			if !fit {
				t.Error("the dashboard is wider than the screen")
			}
			// The bar chart and the map show what the table says.
			var cmp struct {
				Table []float64 `json:"table"`
				Chart []float64 `json:"chart"`
				Tiles []string  `json:"tiles"`
				Cells []string  `json:"cells"`
			}
			eval(`(function () {
				var ind = document.querySelector('select[name="indicator"]').value;
				var cells = Array.from(document.querySelectorAll('#children td[data-indicator="' + ind + '"]'));
				var pct = function (s) { var m = /(\d+\.\d)%/.exec(s); return m ? parseFloat(m[1]) : -1; };
				var opt = echarts.getInstanceByDom(document.getElementById("chart-bars")).getOption();
				return {
					table: cells.map(function (c) { return pct(c.innerText); }),
					chart: opt.series[0].data.map(function (d) { return d.value === null ? -1 : Math.round(d.value * 10) / 10; }),
					tiles: Array.from(document.querySelectorAll("#map .ktile b")).map(function (b) { return b.innerText.trim(); }),
					cells: cells.map(function (c) { return c.querySelector("a").innerText.split("\n")[0].trim(); })
				};
			})()`, &cmp)
			if len(cmp.Table) == 0 || fmt.Sprint(cmp.Table) != fmt.Sprint(cmp.Chart) || fmt.Sprint(cmp.Tiles) != fmt.Sprint(cmp.Cells) {
				t.Errorf("chart and table differ: table %v chart %v; tiles %v cells %v", cmp.Table, cmp.Chart, cmp.Tiles, cmp.Cells)
			}
			if w == 360 {
				var bytes struct{ Total, Doc int }
				eval(`(function () {
					var n = performance.getEntriesByType("navigation")[0];
					var r = performance.getEntriesByType("resource");
					return {Total: r.reduce(function (s, e) { return s + e.transferSize; }, n.transferSize), Doc: n.transferSize};
				})()`, &bytes)
				t.Logf("county dashboard at 360 px: %d bytes transferred (page %d), budget %d", bytes.Total, bytes.Doc, dashboardBudget)
				if bytes.Total > dashboardBudget || bytes.Total < 50000 {
					t.Errorf("county dashboard transferred %d bytes, budget %d", bytes.Total, dashboardBudget)
				}
				if png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)); err == nil {
					os.WriteFile(filepath.Join(artifactDir(t), "dashboard-360.png"), png, 0o644)
				}
			}
			// A collapsed group: closed, without its rows, until opened; then
			// its rows are fetched and shown (the indicators and the units below).
			var before int
			eval(`document.querySelectorAll("#grp-reading tr[data-indicator]").length`, &before)
			step("open the reading group", chromedp.Click("#grp-reading > summary"), chromedp.WaitVisible("#grp-reading #ind-reading"))
			var rows struct{ Rows, Below, Bytes int }
			eval(`(function () {
				var e = performance.getEntriesByType("resource").filter(function (e) { return e.name.indexOf("/dashboard/groups/reading") >= 0; })[0];
				return {Rows: document.querySelectorAll("#grp-reading #ind-reading tr[data-indicator]").length,
					Below: document.querySelectorAll("#grp-reading #below-reading tr[data-unit]").length, Bytes: e ? e.transferSize : -1};
			})()`, &rows)
			if before != 0 || rows.Rows < 7 || rows.Below == 0 {
				t.Errorf("the reading group: %d rows before opening, %d after, %d units below", before, rows.Rows, rows.Below)
			}
			t.Logf("the reading group's rows on demand: %d bytes transferred", rows.Bytes)
			// Drill down: tap the first tile, then the first tile below it.
			var county, first string
			eval(`document.querySelector("h1 span").innerText`, &county)
			eval(`document.querySelector("#map .ktile a span").innerText`, &first)
			step("drill down", chromedp.Click("#map .ktile a"), chromedp.WaitVisible("#ind-chronic"))
			var h1, crumbs string
			eval(`document.querySelector("h1 span").innerText`, &h1)
			eval(`document.querySelector("nav.crumbs").innerText`, &crumbs)
			if h1 != first || !strings.Contains(crumbs, county) {
				t.Errorf("drill-down: h1 %q want %q, crumbs %q", h1, first, crumbs)
			}
			waitFor("unit trend drawn", `document.querySelector("#chart-trend").dataset.drawn > 0`)
			var countyURL string
			eval(`document.querySelector("nav.crumbs a").getAttribute("href")`, &countyURL)

			// Out of scope: a township doctor asking for the county.
			signInAs(t, ctx, base, logins["township_doctor"])
			step("own township", chromedp.Navigate(base+"/dashboard"), chromedp.WaitVisible("#ind-chronic"))
			var status int
			status, err := chromedp.Run(ctx, chromedp.Evaluate[int](`fetch(`+jsString(countyURL)+`).then(function (r) { return r.status; })`, chromedp.EvalAwaitPromise))
			if err != nil || status != 404 {
				t.Errorf("township doctor opening %s: %d %v", countyURL, status, err)
			}
			time.Sleep(200 * time.Millisecond)
			for _, p := range console.Problems() {
				if !strings.Contains(p, "status of 404") {
					t.Errorf("console: %s", p)
				}
			}
		})
	}
}
