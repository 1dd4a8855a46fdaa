package e2e

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestVillageAppNewPatientOffline is issue 13 §1's "all of it works with
// no network for days" for a patient the doctor meets for the first time:
// on a 360-px phone with the link cut, the village doctor registers a
// resident, finds them in the list at once (marked as waiting to sync),
// enrols them in the hypertension registry, and records an urgent
// follow-up on that registration (the urgent-transfer alert shows at
// once); a reload offline keeps all three; when the link returns they
// reach the server exactly once — the resident, their registration, and
// the follow-up on it — and the phone then shows the server's copies.
func TestVillageAppNewPatientOffline(t *testing.T) {
	chrome := chromiumPath(t)
	base, logins := startBinary(t)
	user := logins["village_doctor"]
	api := signIn(t, base, user)

	proxy, ctx, console := openVillageOffline(t, chrome, base, user)
	step, eval, waitFor := tab{t, ctx}.helpers()

	const name, idNumber = "柳新农", "11010519491231002X"
	step("register", chromedp.Click(`[data-tab="register"]`), chromedp.WaitVisible("#reg-form"))
	var ok bool
	eval(fmt.Sprintf(`(function () { var f = document.getElementById("reg-form");
	  f.elements.name.value = %q; f.elements.id_number.value = %q; f.elements.phone.value = "13800002222"; f.requestSubmit(); return true; })()`, name, idNumber), &ok)
	waitFor("registration queued", `document.getElementById("pending").dataset.n === "1"`)

	open := func() {
		t.Helper()
		step("the residents", chromedp.Click(`[data-tab="residents"]`), chromedp.WaitVisible("#q"))
		eval(fmt.Sprintf(`(function () { var q = document.getElementById("q"); q.value = %q; q.dispatchEvent(new Event("input"));
		  var b = Array.prototype.filter.call(document.querySelectorAll("#results .res"), function (b) { return b.textContent.indexOf(%q) >= 0; })[0];
		  if (!b) { return false; } b.click(); return !document.getElementById("v-resident").hidden; })()`, name, name), &ok)
		if !ok {
			t.Fatalf("%s is not in the phone's list", name)
		}
	}
	open()
	var text string
	eval(`document.getElementById("results").textContent`, &text)
	if !strings.Contains(text, "待同步") {
		t.Errorf("the new resident is not marked as waiting to sync: %q", text)
	}
	eval(`(function () { var f = document.getElementById("enrol-form");
	  f.elements.disease.value = "hypertension"; f.elements.source.value = "screening"; f.requestSubmit(); return true; })()`, &ok)
	waitFor("enrolment queued", `document.getElementById("pending").dataset.n === "2" && !document.getElementById("fu-form").hidden`)
	eval(`(function () { var f = document.getElementById("fu-form");
	  f.elements.sbp.value = "186"; f.elements.dbp.value = "112"; f.elements.confirm.checked = true; f.requestSubmit(); return true; })()`, &ok)
	waitFor("follow-up queued", `document.getElementById("pending").dataset.n === "3"`)
	// The alert shows once the follow-up is stored on the phone (the queue's count comes a moment before).
	waitFor("the urgent-transfer alert for an urgent BP on a registration made offline",
		`!document.getElementById("urgent-alert").hidden && document.getElementById("urgent-reasons").children.length > 0`)

	step("reload offline", chromedp.Reload(), chromedp.WaitVisible("#village"))
	waitFor("the three records survived the reload", `!!document.getElementById("village").dataset.ready && document.getElementById("pending").dataset.n === "3"`)
	open()
	eval(`document.getElementById("res-regs").textContent`, &text)
	if !strings.Contains(text, "高血压") || !strings.Contains(text, "待同步") {
		t.Errorf("the registration made offline after the reload: %q", text)
	}

	proxy.link(t, ctx, false)
	waitFor("everything sent", `document.getElementById("pending").dataset.n === "0"`)
	var problems []string
	eval(`Array.prototype.map.call(document.querySelectorAll("#problems .problem"), function (p) { return p.textContent; })`, &problems)
	if len(problems) != 0 {
		t.Errorf("sync problems: %q", problems)
	}

	// On the server: one resident, one hypertension registration, one follow-up on it.
	_, body := api.do("GET", "/api/v1/residents?q="+idNumber, nil)
	var found struct {
		Residents []struct {
			ID int64 `json:"id"`
		}
	}
	json.Unmarshal(body, &found)
	if len(found.Residents) != 1 {
		t.Fatalf("%s registered %d times", name, len(found.Residents))
	}
	rid := found.Residents[0].ID
	_, body = api.do("GET", fmt.Sprintf("/api/v1/residents/%d/chronic", rid), nil)
	var regs struct {
		Registrations []struct {
			ID      int64  `json:"id"`
			Disease string `json:"disease"`
			Source  string `json:"source"`
		}
	}
	json.Unmarshal(body, &regs)
	if len(regs.Registrations) != 1 || regs.Registrations[0].Disease != "hypertension" || regs.Registrations[0].Source != "screening" {
		t.Fatalf("registrations of the new resident: %s", body)
	}
	_, body = api.do("GET", fmt.Sprintf("/api/v1/chronic/%d", regs.Registrations[0].ID), nil)
	var d struct {
		Visits []struct {
			SBP int `json:"sbp"`
		} `json:"visits"`
	}
	json.Unmarshal(body, &d)
	if len(d.Visits) != 1 || d.Visits[0].SBP != 186 {
		t.Errorf("follow-ups on the registration made offline: %s", body)
	}

	// The phone now holds the server's copies, not its own.
	waitFor("the server's copy on the phone", fmt.Sprintf(`!!document.querySelector('#results .res[data-id="%d"]') || (function () {
	  var q = document.getElementById("q"); q.value = %q; q.dispatchEvent(new Event("input")); return false; })()`, rid, name))
	eval(`document.getElementById("results").textContent`, &text)
	if strings.Contains(text, "待同步") || strings.Count(text, name) != 1 {
		t.Errorf("after the sync the list shows %q", text)
	}
	if p := pageFaults(console); len(p) > 0 {
		t.Errorf("console problems: %q", p)
	}
}
