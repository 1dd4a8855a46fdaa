package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestDashboardDrillToPatients is issue 14's "which townships are behind on
// hypertension control this quarter, and why", in a browser at 360 and 1280
// px: from the county board the analyst taps the map down to a township and
// a village (each time a unit with a figure), opens the patients behind the
// village's control rate, keeps only those not counted, and reads why one
// patient is not controlled. Every page fits the screen, with no console
// error.
func TestDashboardDrillToPatients(t *testing.T) {
	chrome := chromiumPath(t)
	base, logins := startBinary(t)
	now := time.Now()
	quarter := fmt.Sprintf("%d-Q%d", now.Year(), (int(now.Month())+2)/3)
	for _, w := range []int64{360, 1280} {
		t.Run(fmt.Sprint(w), func(t *testing.T) {
			ctx, console := openPhoneSize(t, chrome, w, 800)
			step, eval, _ := tab{t, ctx}.helpers()
			fits := func(where string) {
				var fit bool
				eval(`document.documentElement.scrollWidth <= window.innerWidth`, &fit)
				if !fit {
					t.Errorf("%s is wider than the screen", where)
				}
			}
			signInAs(t, ctx, base, logins["analyst"])
			step("open the county board on hypertension control this quarter",
				chromedp.Navigate(base+"/dashboard?indicator=htn_controlled&period="+quarter), chromedp.WaitVisible("#ind-chronic"))
			fits("the county board")
			// Down the map: a tile with a figure, until the village (no tiles below).
			var levels []string
			for depth := 0; depth < 4; depth++ {
				var n int
				eval(`document.querySelectorAll("#map .ktile a").length`, &n)
				if n == 0 {
					break
				}
				var name string
				eval(`(function () {
					var tiles = Array.from(document.querySelectorAll("#map .ktile a"));
					var t = tiles.find(function (a) { return /%/.test(a.querySelector("b").innerText); }) || tiles[0];
					t.setAttribute("id", "drill-here");
					return t.querySelector("span").innerText;
				})()`, &name)
				step("tap "+name, chromedp.Click("#drill-here"), chromedp.WaitVisible("#ind-chronic"))
				var h1 string
				eval(`document.querySelector("h1 span").innerText`, &h1)
				if h1 != name {
					t.Fatalf("tapped %q, opened %q", name, h1)
				}
				levels = append(levels, name)
				fits(name + "'s board")
			}
			if len(levels) < 2 {
				t.Fatalf("drilled through %v only", levels)
			}
			// The village's control rate opens the patients behind it.
			step("open the patients behind the control rate",
				chromedp.Click(`tr[data-indicator="htn_controlled"] a.records`), chromedp.WaitVisible("#records-figure"))
			var crumbs string
			eval(`document.querySelector("nav.crumbs").innerText`, &crumbs)
			for _, l := range levels {
				if !strings.Contains(crumbs, l) {
					t.Errorf("breadcrumbs %q without %q", crumbs, l)
				}
			}
			fits("the patients list")
			step("keep those not counted", chromedp.Click("#only-missing"), chromedp.WaitVisible("#records"))
			var why struct {
				Name, ID, Why string
				Counted       int
			}
			eval(`(function () {
				var r = document.querySelector('#records tr[data-counted="false"]');
				return {Name: r.querySelector("th a").innerText, ID: r.querySelector("th small").innerText,
					Why: r.querySelector(".why").innerText,
					Counted: document.querySelectorAll('#records tr[data-counted="true"]').length};
			})()`, &why)
			t.Logf("%v: %s (%s) is not controlled: %s", levels, why.Name, why.ID, why.Why)
			if why.Counted != 0 || why.Name == "" || !strings.Contains(why.ID, "****") {
				t.Errorf("the list of those not counted: %+v", why)
			}
			if !strings.Contains(why.Why, "本期没有随访") && !strings.Contains(why.Why, "未测血压") && !strings.Contains(why.Why, "末次血压") {
				t.Errorf("no reason in words: %q", why.Why)
			}
			fits("the patients not counted")
			for _, p := range console.Problems() {
				t.Errorf("console: %s", p)
			}
		})
	}
}
