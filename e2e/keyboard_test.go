package e2e

import (
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// TestKeyboardOnly is issue 18 §4's keyboard test, on a 360-px phone
// screen with no pointer: the first Tab lands on the skip link, which moves
// focus to the main content; a form that fails comes back with focus on the
// error summary and the failing field tied to its message; the ECG viewer
// pans and measures with calipers from the keyboard (the measurement read
// out in the live region); the image viewer changes window width and level,
// pans, zooms and steps frames with keys and with its visible buttons.
// axe-core checks the failed form and both viewers in use.
func TestKeyboardOnly(t *testing.T) {
	chrome := chromiumPath(t)
	base, logins := startBinary(t)
	user := logins["reader"]
	if user == "" {
		t.Fatalf("no reader sign-in printed: %v", logins)
	}
	ctx, console := openPhone(t, chrome)
	step, eval, waitFor := tab{t, ctx}.helpers()
	keys := func(name string, sel string, ks ...string) {
		t.Helper()
		acts := []chromedp.Action[chromedp.Void]{chromedp.Focus(sel)}
		for _, k := range ks {
			acts = append(acts, chromedp.KeyEvent(k))
		}
		step(name, acts...)
	}
	// axe: the states a page walk does not see (a failed form, the viewers in use).
	axe := func(what string) {
		t.Helper()
		vs, err := axeCheck(ctx)
		if err != nil {
			t.Fatalf("axe on %s: %v", what, err)
		}
		for _, v := range vs {
			t.Errorf("axe on %s: %s", what, v)
		}
	}
	active := func() string {
		t.Helper()
		var s string
		eval(`(function(){var a=document.activeElement;return a.tagName.toLowerCase()+(a.id?"#"+a.id:"")+(a.className?"."+a.className:"")+"|"+a.textContent.trim().slice(0,20);})()`, &s)
		return s
	}

	step("sign in", chromedp.Navigate(base+"/login"), chromedp.WaitVisible("#username"),
		chromedp.SendKeys("#username", user), chromedp.SendKeys("#password", "Countycare-Demo-2026"),
		chromedp.Click("#login"), chromedp.WaitVisible(".tiles"))

	// The first Tab on a page is the skip link; following it focuses <main>.
	step("home", chromedp.Navigate(base+"/"), chromedp.WaitVisible(".tiles"),
		chromedp.KeyEvent(kb.Tab))
	if got := active(); got != "a.skip|跳到主要内容" {
		t.Errorf("first Tab focuses %q, want the skip link", got)
	}
	var visible bool
	eval(`(function(){var r=document.activeElement.getBoundingClientRect();return r.left>=0&&r.top>=0&&r.width>0;})()`, &visible)
	if !visible {
		t.Error("the focused skip link is not on the screen")
	}
	step("follow the skip link", chromedp.KeyEvent(kb.Enter))
	waitFor("focus in main", `document.activeElement && document.activeElement.id === "main"`)

	// A failed form: focus on the summary, the field tied to its message.
	step("password form", chromedp.Navigate(base+"/account/password"), chromedp.WaitVisible(`input[name="current"]`),
		chromedp.SendKeys(`input[name="current"]`, "not-my-password"), chromedp.SendKeys(`input[name="next"]`, "Another-Password-2026"),
		chromedp.SendKeys(`input[name="confirm"]`, "Another-Password-2026"), chromedp.Submit(`input[name="current"]`))
	waitFor("error summary", `!!document.getElementById("form-error")`)
	if got := active(); !strings.HasPrefix(got, "div#form-error") {
		t.Errorf("after a failed submit focus is on %q, want the error summary", got)
	}
	var tied struct {
		Invalid, Described, Message string
	}
	eval(`(function(){var i=document.querySelector("[aria-invalid=true]");if(!i)return {};var d=i.getAttribute("aria-describedby"),m=document.getElementById(d);
  return {Invalid:i.name,Described:d,Message:m?m.textContent:""};})()`, &tied)
	if tied.Invalid == "" || tied.Message == "" {
		t.Errorf("no failing field tied to its message: %+v", tied)
	}
	axe("the password form with errors")
	console.Reset() // the form's 4xx status is logged by Chromium

	// Find the demo resident's ECG and two-frame CT, as TestViewersOnPhone does.
	found, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(async function () {
  var wl = await (await fetch("/api/v1/ecg/worklist")).json();
  for (var i = 0; i < wl.studies.length; i++) {
    var s = wl.studies[i];
    var st = await (await fetch("/api/v1/residents/" + s.resident_id + "/studies")).json();
    var ct = st.imaging.filter(function (x) { return x.modality === "CT" && x.frames === 2; })[0];
    if (ct) { return JSON.stringify({ecg: s.id, img: ct.id}); }
  }
  return "";
})()`, chromedp.EvalAwaitPromise))
	if err != nil || found == "" {
		t.Fatalf("no demo resident with an ECG and a two-frame CT (%v)", err)
	}
	var ids struct{ ECG, Img int64 }
	json.Unmarshal([]byte(found), &ids)

	// ECG: pan with the arrows, then calipers from the keyboard.
	step("ECG viewer", chromedp.Navigate(base+"/ecg/studies/"+itoa(ids.ECG)), chromedp.WaitVisible("#ecg-canvas"))
	waitFor("ECG drawn", `document.getElementById("ecg-canvas").dataset.drawn === "1"`)
	keys("pan", "#ecg-canvas", kb.ArrowRight, kb.ArrowRight)
	if got := active(); !strings.HasPrefix(got, "canvas#ecg-canvas") {
		t.Fatalf("the waveform cannot take focus: %q", got)
	}
	var off float64
	eval(`countycareECG.state.offset`, &off)
	if math.Abs(off-0.4) > 0.001 {
		t.Errorf("two → presses moved the record to %.3f s, want 0.4", off)
	}
	keys("zoom", "#ecg-canvas", "+")
	var zoom float64
	eval(`countycareECG.state.zoom`, &zoom)
	if zoom != 1.25 {
		t.Errorf("+ zoomed to %v, want 1.25", zoom)
	}
	keys("zoom back", "#ecg-canvas", "-")
	var pressed string
	keys("caliper mode", "#ecg-canvas", "c")
	eval(`document.getElementById("ecg-mode").getAttribute("aria-pressed")`, &pressed)
	if pressed != "true" {
		t.Errorf("C did not switch to calipers (aria-pressed %q)", pressed)
	}
	// Enter sets the first marker, ten → move the second by 10 ms each, Enter sets it.
	ks := []string{kb.Enter}
	for i := 0; i < 10; i++ {
		ks = append(ks, kb.ArrowRight)
	}
	keys("place markers", "#ecg-canvas", ks...)
	var live struct{ Text, Role, Live, Ms string }
	readLive := func() {
		t.Helper()
		eval(`(function(){var c=document.getElementById("ecg-caliper");return {Text:c.textContent,Role:c.getAttribute("role"),Live:c.getAttribute("aria-live"),Ms:document.getElementById("ecg-viewer").dataset.caliperMs||""};})()`, &live)
	}
	readLive()
	if live.Ms != "100" || !strings.Contains(live.Text, "Enter") {
		t.Errorf("while moving the second marker: %+v, want 100 ms and the Enter hint", live)
	}
	keys("set the second marker", "#ecg-canvas", kb.Enter)
	readLive()
	if live.Ms != "100" || !strings.Contains(live.Text, "Δt 100 毫秒 · 600 次/分") || live.Role != "status" || live.Live != "polite" {
		t.Errorf("measurement after Enter: %+v, want Δt 100 ms · 600 bpm in a polite status region", live)
	}
	axe("the ECG viewer with calipers set")
	keys("clear", "#ecg-canvas", kb.Escape)
	var cleared bool
	eval(`countycareECG.state.caliper === null`, &cleared)
	if !cleared {
		t.Error("Esc did not clear the calipers")
	}

	// Image viewer: window/level, pan, zoom and frames by keys and buttons.
	step("image viewer", chromedp.Navigate(base+"/imaging/instances/"+itoa(ids.Img)), chromedp.WaitVisible("#img-viewer"))
	waitFor("panes loaded", `Array.prototype.every.call(document.querySelectorAll(".pane"), function(p){return p.dataset.loads >= 1;})`)
	type win struct{ C, W float64 }
	window := func() win {
		t.Helper()
		var w win
		eval(`(function(){var w=countycareImage.window();return w?{C:w.c,W:w.w}:{C:0,W:0};})()`, &w)
		return w
	}
	if w := window(); w.W != 0 {
		t.Fatalf("window set before any key: %+v", w)
	}
	keys("wider window", ".pane canvas", kb.ArrowRight)
	w1 := window()
	if w1.W <= 0 {
		t.Fatalf("→ did not set a window: %+v", w1)
	}
	keys("higher level", ".pane canvas", kb.ArrowUp)
	w2 := window()
	if w2.W != w1.W || w2.C <= w1.C {
		t.Errorf("↑ after →: %+v then %+v, want the same width and a higher level", w1, w2)
	}
	keys("narrower window", ".pane canvas", kb.ArrowLeft, kb.ArrowLeft)
	if w3 := window(); w3.W >= w2.W {
		t.Errorf("← ← did not narrow the window: %+v then %+v", w2, w3)
	}
	waitFor("window rendered", `document.querySelector(".pane").dataset.src.indexOf("center=") > 0`)
	var status string
	eval(`document.getElementById("img-status").textContent`, &status)
	if !strings.Contains(status, "窗宽") {
		t.Errorf("live status after a key: %q", status)
	}
	keys("pan mode, pan, zoom", ".pane canvas", "m", kb.ArrowRight, kb.ArrowDown, "+")
	var pane struct{ Px, Py, Zoom float64 }
	eval(`(function(){var p=countycareImage.panes[0];return {Px:p.px,Py:p.py,Zoom:p.zoom};})()`, &pane)
	if pane.Px != 20 || pane.Py != 20 || pane.Zoom != 1.25 {
		t.Errorf("after M → ↓ +: %+v, want panned 20,20 and zoom 1.25", pane)
	}
	keys("next frame", ".pane canvas", kb.PageDown)
	waitFor("second frame", `document.querySelector(".pane").dataset.src.indexOf("/frames/1") > 0`)
	// The same by the visible buttons.
	before := window()
	step("buttons", chromedp.Click(`[data-act="width-up"]`), chromedp.Click(`[data-act="level-down"]`), chromedp.Click(`[data-act="pan-left"]`),
		chromedp.Click(`.pane [data-act="frame-prev"]`))
	after := window()
	if after.W <= before.W || after.C >= before.C {
		t.Errorf("W+ and L− buttons: %+v then %+v", before, after)
	}
	eval(`(function(){var p=countycareImage.panes[0];return {Px:p.px,Py:p.py,Zoom:p.zoom};})()`, &pane)
	if pane.Px != 0 {
		t.Errorf("← button: pan %v, want back to 0", pane.Px)
	}
	waitFor("first frame", `document.querySelector(".pane").dataset.src.indexOf("/frames/0") > 0`)
	// A preset chosen with the keyboard is applied and announced.
	var preset string
	eval(`(function(){var o=document.querySelector("#img-preset").options;return o[o.length-1].value;})()`, &preset)
	keys("last preset", "#img-preset", kb.End)
	var cw struct{ C, W float64 }
	fmt.Sscanf(preset, "%g/%g", &cw.C, &cw.W)
	if w := window(); w.C != cw.C || w.W != cw.W {
		t.Errorf("preset %s by keyboard gave window %+v", preset, w)
	}
	eval(`document.getElementById("img-status").textContent`, &status)
	if !strings.Contains(status, fmt.Sprintf("窗宽 %.0f / 窗位 %.0f", cw.W, cw.C)) {
		t.Errorf("after choosing preset %s the status reads %q", preset, status)
	}
	axe("the image viewer in use")

	time.Sleep(300 * time.Millisecond)
	if problems := console.Problems(); len(problems) > 0 {
		t.Errorf("browser console errors:\n%s", strings.Join(problems, "\n"))
	}
}
