package e2e

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"countycare/care"
)

// TestVillageAppScreeningOffline is issue 17's "village doctors record
// measurements (offline too, where the village app exists)" on a 360-px
// phone: the township plans a campaign over the village; the app downloads
// it with the residents still to screen; the link goes; the doctor opens
// the campaign, picks a resident, types an impossible pressure (named at
// once, nothing queued), then a random glucose of 12.5 mmol/L (规范第三版
// 2 型糖尿病 筛查: suspected diabetes); the resident leaves the list at
// once and the record survives a reload offline; the link returns: the
// screening reaches the server once, the phone shows the case routed to
// the township, and the township doctor sees it on the follow-up list.
func TestVillageAppScreeningOffline(t *testing.T) {
	chrome := chromiumPath(t)
	base, logins := startBinary(t)
	user := logins["village_doctor"]
	api, township := signIn(t, base, user), signIn(t, base, logins["township_doctor"])
	today := care.Today(time.Now())

	var me struct {
		Institution int64 `json:"institution_id"`
	}
	if _, body := api.do("GET", "/api/v1/me", nil); json.Unmarshal(body, &me) != nil || me.Institution == 0 {
		t.Fatalf("me: %s", body)
	}
	code, body := township.do("POST", "/api/v1/screening/campaigns", map[string]any{"name": "冬季两病筛查", "diseases": []string{"hypertension", "diabetes"},
		"villages": []int64{me.Institution}, "starts_on": today.AddDays(-1).String(), "ends_on": today.AddDays(30).String()})
	var camp struct{ ID int64 }
	if json.Unmarshal(body, &camp) != nil || code != 201 {
		t.Fatalf("plan: %d %s", code, body)
	}

	// A resident still to screen with no suspected diabetes pending
	// already (the demo county screens too): the new case is theirs.
	var pull struct {
		SC []struct {
			ID       int64   `json:"i"`
			ToScreen []int64 `json:"td"`
		} `json:"sc"`
	}
	var pending struct {
		Cases []struct {
			Resident int64  `json:"resident_id"`
			Disease  string `json:"disease"`
		} `json:"cases"`
	}
	if _, body := api.do("GET", "/api/v1/sync/pull", nil); json.Unmarshal(body, &pull) != nil {
		t.Fatalf("pull: %s", body)
	}
	if _, body := township.do("GET", "/api/v1/screening/follow-ups", nil); json.Unmarshal(body, &pending) != nil {
		t.Fatalf("follow-ups: %s", body)
	}
	if len(pending.Cases) >= 150 {
		t.Fatalf("the demo township has %d pending cases: the new one may fall off the follow-up list", len(pending.Cases))
	}
	chosen := int64(0)
	for _, c := range pull.SC {
		for _, id := range c.ToScreen {
			busy := false
			for _, p := range pending.Cases {
				busy = busy || (p.Resident == id && p.Disease == "diabetes")
			}
			if c.ID == camp.ID && !busy && chosen == 0 {
				chosen = id
			}
		}
	}
	if chosen == 0 {
		t.Fatal("no resident to screen without a pending diabetes case")
	}

	proxy, ctx, console := openVillageOffline(t, chrome, base, user)
	step, eval, waitFor := tab{t, ctx}.helpers()

	sel := fmt.Sprintf(`.campaign[data-id="%d"]`, camp.ID)
	step("the screening tab", chromedp.Click(`[data-tab="screening"]`), chromedp.WaitVisible(sel))
	var left int
	eval(fmt.Sprintf(`Number(document.querySelector('%s .left').dataset.n)`, sel), &left)
	if left < 10 {
		t.Fatalf("%d residents to screen in the village's campaign", left)
	}
	var name string
	eval(fmt.Sprintf(`(function () { var b = document.querySelector('%s .res[data-id="%d"]'); var n = b.firstChild.textContent; b.click(); return n; })()`, sel, chosen), &name)
	waitFor("the resident's screening form", `!document.getElementById("v-resident").hidden && !document.getElementById("scr-form").hidden`)
	step("the form at 360 px", chromedp.ScrollIntoView("#scr-form"))
	var wide bool
	eval(`document.documentElement.scrollWidth > window.innerWidth`, &wide)
	if wide {
		t.Error("the screening form scrolls sideways at 360 px")
	}
	fill := func(sbp1 string) {
		t.Helper()
		var ok bool
		eval(fmt.Sprintf(`(function () { var f = document.getElementById("scr-form");
		  if (f.elements.campaign.value !== "%d") { return false; }
		  f.elements.sbp1.value = %q; f.elements.dbp1.value = "82"; f.elements.sbp2.value = "126"; f.elements.dbp2.value = "80";
		  f.elements.glucose.value = "12.5"; f.elements.meal_hours.value = "2"; f.requestSubmit(); return true; })()`, camp.ID, sbp1), &ok)
		if !ok {
			t.Fatal("the form is not set to the campaign opened")
		}
	}
	fill("400")
	var msg string
	eval(`(document.getElementById("scr-form-sbp1-error") || {}).textContent || ""`, &msg)
	if msg != "收缩压应在 60–280 mmHg 之间" {
		t.Errorf("an SBP of 400: the phone says %q", msg)
	}
	fill("128")
	waitFor("screening queued", `document.getElementById("pending").dataset.n === "1"`)
	step("the list", chromedp.Click(`[data-tab="screening"]`), chromedp.WaitVisible(sel))
	waitFor("the resident left the list", fmt.Sprintf(`Number(document.querySelector('%s .left').dataset.n) === %d`, sel, left-1))

	// Someone met for the first time: registered offline, then screened
	// from the campaign's list (resident_ref), before any sync.
	const newName, newID = "柳筛新", "11010519491231002X"
	step("register", chromedp.Click(`[data-tab="register"]`), chromedp.WaitVisible("#reg-form"))
	var ok bool
	eval(fmt.Sprintf(`(function () { var f = document.getElementById("reg-form");
	  f.elements.name.value = %q; f.elements.id_number.value = %q; f.requestSubmit(); return true; })()`, newName, newID), &ok)
	waitFor("registration queued", `document.getElementById("pending").dataset.n === "2"`)
	step("the list again", chromedp.Click(`[data-tab="screening"]`), chromedp.WaitVisible(sel))
	eval(fmt.Sprintf(`(function () { var b = Array.prototype.filter.call(document.querySelectorAll('%s .res'), function (b) { return b.textContent.indexOf(%q) >= 0; })[0];
	  if (!b) { return false; } b.click(); return true; })()`, sel, newName), &ok)
	if !ok {
		t.Fatalf("%s, registered offline, is not on the campaign's list", newName)
	}
	eval(fmt.Sprintf(`(function () { var f = document.getElementById("scr-form"); if (f.hidden || f.elements.campaign.value !== "%d") { return false; }
	  f.elements.sbp1.value = "152"; f.elements.dbp1.value = "96"; f.elements.sbp2.value = "150"; f.elements.dbp2.value = "94"; f.requestSubmit(); return true; })()`, camp.ID), &ok)
	if !ok {
		t.Fatal("no screening form for the resident registered offline")
	}
	waitFor("their screening queued", `document.getElementById("pending").dataset.n === "3"`)

	step("reload offline", chromedp.Reload(), chromedp.WaitVisible("#village"))
	waitFor("the records survived the reload", `!!document.getElementById("village").dataset.ready && document.getElementById("pending").dataset.n === "3"`)

	proxy.link(t, ctx, false)
	waitFor("everything sent", `document.getElementById("pending").dataset.n === "0"`)
	var problems []string
	eval(`Array.prototype.map.call(document.querySelectorAll("#problems .problem"), function (p) { return p.textContent; })`, &problems)
	if len(problems) != 0 {
		t.Errorf("sync problems: %q", problems)
	}
	step("the screening tab again", chromedp.Click(`[data-tab="screening"]`), chromedp.WaitVisible("#routed"))
	waitFor("the case routed, on the phone", fmt.Sprintf(`document.getElementById("routed").textContent.indexOf(%q) >= 0`, name))
	var routed string
	eval(`document.getElementById("routed").textContent`, &routed)
	if !strings.Contains(routed, "糖尿病") || !strings.Contains(routed, today.AddDays(14).String()) {
		t.Errorf("the phone's routed cases: %q", routed)
	}
	if p := pageFaults(console); len(p) > 0 {
		t.Errorf("console problems: %q", p)
	}

	// The resident registered offline: on the server once, screened once (raised BP: a re-check).
	_, body = api.do("GET", "/api/v1/residents?q="+newID, nil)
	var found struct {
		Residents []struct {
			ID int64 `json:"id"`
		}
	}
	if json.Unmarshal(body, &found) != nil || len(found.Residents) != 1 {
		t.Fatalf("%s on the server: %s", newName, body)
	}
	_, body = api.do("GET", fmt.Sprintf("/api/v1/residents/%d/screening", found.Residents[0].ID), nil)
	var theirs struct {
		Measurements []struct {
			Campaign int64             `json:"campaign_id"`
			SBP1     int               `json:"sbp1"`
			Results  map[string]string `json:"results"`
		} `json:"measurements"`
	}
	if json.Unmarshal(body, &theirs) != nil || len(theirs.Measurements) != 1 || theirs.Measurements[0].Campaign != camp.ID ||
		theirs.Measurements[0].SBP1 != 152 || theirs.Measurements[0].Results["hypertension"] != "recheck" {
		t.Errorf("the screening of the resident registered offline: %s", body)
	}

	// The township's follow-up list, on the same phone.
	signInAs(t, ctx, base, logins["township_doctor"])
	step("the township's follow-ups", chromedp.Navigate(base+"/screening/follow-ups"), chromedp.WaitVisible("#follow-ups"))
	var row string
	eval(fmt.Sprintf(`(function () { var a = document.querySelector('#follow-ups a[href="/residents/%d/screening"]'); return a ? a.closest("li").textContent : ""; })()`, chosen), &row)
	if !strings.Contains(row, name) || !strings.Contains(row, "糖尿病") || !strings.Contains(row, today.AddDays(14).String()) {
		t.Errorf("the township's follow-up list does not show %s's suspected diabetes due in 14 days: %q", name, row)
	}
	eval(`document.documentElement.scrollWidth > window.innerWidth`, &wide)
	if wide {
		t.Error("the follow-up list scrolls sideways at 360 px")
	}
}
