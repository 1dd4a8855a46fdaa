package e2e

import (
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestViewersOnPhone is issue #5's browser test: a reader signs in on a
// 360-px phone screen with two device pixels per CSS pixel, opens the ECG
// viewer and checks the grid's calibration (25 mm/s → 94.49 CSS px per
// second, the major lines 5 mm apart on the canvas itself), measures one
// second with the calipers, then opens the image viewer of a two-frame CT
// with the previous CT beside it, moves the window/level by dragging and
// steps to the second frame. Any console error fails the test;
// screenshots go to artifacts/.
func TestViewersOnPhone(t *testing.T) {
	chrome := chromiumPath(t)
	base, logins := startBinary(t)
	user := logins["reader"]
	if user == "" {
		t.Fatalf("no reader sign-in printed: %v", logins)
	}
	ctx, console := openPhone(t, chrome, chromedp.EmulateScale(2))
	step, eval, waitFor := tab{t, ctx}.helpers()
	tb := tab{t, ctx}
	shot := tb.shot
	fits := func(what string) { t.Helper(); tb.fits(what, 360) }
	rect := func(sel string) (x, y, w, h float64) {
		t.Helper()
		var r struct{ X, Y, W, H float64 }
		eval(`(function(){var e=document.querySelector(`+jsString(sel)+`);e.scrollIntoView({block:"center"});var r=e.getBoundingClientRect();return {X:r.left,Y:r.top,W:r.width,H:r.height};})()`, &r)
		return r.X, r.Y, r.W, r.H
	}
	drag := func(name string, x0, y0, x1, y1 float64) {
		t.Helper()
		step(name, mouseDrag(x0, y0, x1, y1)...)
	}

	step("sign in", chromedp.Navigate(base+"/login"), chromedp.WaitVisible("#username"),
		chromedp.SendKeys("#username", user), chromedp.SendKeys("#password", "Countycare-Demo-2026"),
		chromedp.Click("#login"), chromedp.WaitVisible(".tiles"))
	step("worklist", chromedp.Navigate(base+"/reading/worklist?modality=ECG"), chromedp.WaitVisible("#reading-worklist"))
	// The demo resident has a waiting ECG and two CTs; find them through the API.
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
		t.Fatalf("no demo resident with an ECG and a two-frame CT in the reader's worklist (%v)", err)
	}
	var ids struct{ ECG, Img int64 }
	json.Unmarshal([]byte(found), &ids)

	// ECG viewer.
	step("ECG viewer", chromedp.Click(`#reading-worklist a[href="/ecg/studies/`+itoa(ids.ECG)+`"]`), chromedp.WaitVisible("#ecg-canvas"))
	waitFor("ECG drawn", `document.getElementById("ecg-canvas").dataset.drawn === "1"`)
	fits("the ECG viewer")
	var cal struct {
		PxPerSecond, PxPerMm, Dpr, CanvasW, CSSW float64
		Beats                                    string
	}
	eval(`(function(){var c=document.getElementById("ecg-canvas");return {PxPerSecond: countycareECG.pxPerSecond(), PxPerMm: countycareECG.pxPerMm(),
  Dpr: devicePixelRatio, CanvasW: c.width, CSSW: c.clientWidth, Beats: c.dataset.beats};})()`, &cal)
	wantPPS := 25 * 96 / 25.4
	if math.Abs(cal.PxPerSecond-wantPPS) > 0.01 || math.Abs(cal.PxPerMm-96/25.4) > 0.001 {
		t.Errorf("25 mm/s gives %.3f CSS px/s (%.4f px/mm); want %.3f", cal.PxPerSecond, cal.PxPerMm, wantPPS)
	}
	if cal.Dpr != 2 || math.Abs(cal.CanvasW-2*cal.CSSW) > 1 {
		t.Errorf("canvas %v device px for %v CSS px at ratio %v", cal.CanvasW, cal.CSSW, cal.Dpr)
	}
	if cal.Beats == "" || cal.Beats == "0" {
		t.Error("no beat marks drawn")
	}
	// The major lines on the canvas itself: scan a row 2.5 mm below the
	// top of the grid for the major-line colour and measure the spacing.
	var spacing struct{ N, Mean float64 }
	eval(`(function(){var c=document.getElementById("ecg-canvas"),d=c.getContext("2d");var y=Math.round((16+2.5*countycareECG.pxPerMm())*devicePixelRatio);
  var px=d.getImageData(0,y,c.width,1).data,xs=[],prev=-10;
  for(var x=0;x<c.width;x++){var r=px[4*x],g=px[4*x+1],b=px[4*x+2];if(Math.abs(r-224)<4&&Math.abs(g-138)<4&&Math.abs(b-138)<4){if(x-prev>3){xs.push(x);}prev=x;}}
  return {N:xs.length,Mean:xs.length>1?(xs[xs.length-1]-xs[0])/(xs.length-1):0};})()`, &spacing)
	wantMajor := 5 * 96 / 25.4 * 2 // device px
	if spacing.N < 5 || math.Abs(spacing.Mean-wantMajor) > 0.6 {
		t.Errorf("major grid lines: %v found, %.2f device px apart; want 5 mm = %.2f", spacing.N, spacing.Mean, wantMajor)
	}
	// Calipers over one second: 94.49 CSS px at 25 mm/s.
	step("calipers", chromedp.Click("#ecg-mode"))
	x, y, _, _ := rect("#ecg-canvas")
	drag("caliper drag", x+40, y+60, x+40+wantPPS, y+60)
	var ms string
	eval(`document.getElementById("ecg-viewer").dataset.caliperMs || ""`, &ms)
	if got := atoi(ms); got < 985 || got > 1015 {
		t.Errorf("calipers over %.1f px read %s ms, want 1000", wantPPS, ms)
	}
	var calText string
	eval(`document.getElementById("ecg-caliper").textContent`, &calText)
	if !strings.Contains(calText, "60 次/分") {
		t.Errorf("caliper readout %q, want 60 bpm", calText)
	}
	shot("viewer-360-ecg.png")
	// Pan: back to the hand, drag left by 2 s.
	step("pan mode", chromedp.Click("#ecg-mode"))
	x, y, _, _ = rect("#ecg-canvas")
	drag("pan", x+300, y+60, x+300-2*wantPPS, y+60)
	var off float64
	eval(`countycareECG.state.offset`, &off)
	if math.Abs(off-2) > 0.1 {
		t.Errorf("after dragging 2 s, the record starts at %.2f s", off)
	}

	// Image viewer, with the previous CT beside it.
	step("image viewer", chromedp.Navigate(base+"/imaging/instances/"+itoa(ids.Img)), chromedp.WaitVisible("#img-viewer"))
	waitFor("both panes loaded", `Array.prototype.every.call(document.querySelectorAll(".pane"), function(p){return p.dataset.loads >= 1;}) && document.querySelectorAll(".pane").length === 2`)
	fits("the image viewer")
	var before string
	eval(`document.querySelector(".pane").dataset.wl`, &before)
	shot("viewer-360-image.png")
	x, y, w, h := rect(".pane canvas")
	drag("window/level", x+w/2, y+h/2, x+w/2+90, y+h/2-60)
	waitFor("window applied", `document.querySelector(".pane").dataset.src.indexOf("center=") > 0`)
	waitFor("settled", `!countycareImage.panes.some(function(p){return p.loading;})`)
	var after, prevWL string
	eval(`document.querySelector(".pane").dataset.wl`, &after)
	eval(`document.getElementById("img-previous").dataset.wl`, &prevWL)
	// Each study keeps its own window (issue 16).
	if before != "file" || after == "file" || prevWL != "file" {
		t.Errorf("window/level: %q before the drag, %q after, previous study %q", before, after, prevWL)
	}
	x, y, w, h = rect("#img-previous canvas")
	drag("previous window/level", x+w/2, y+h/2, x+w/2-60, y+h/2+40)
	waitFor("previous window applied", `document.getElementById("img-previous").dataset.src.indexOf("center=") > 0`)
	var after2 string
	eval(`document.querySelector(".pane").dataset.wl`, &after2)
	eval(`document.getElementById("img-previous").dataset.wl`, &prevWL)
	if after2 != after || prevWL == "file" || prevWL == after {
		t.Errorf("the previous study's window %q moved the current one's from %q to %q", prevWL, after, after2)
	}
	shot("viewer-360-image-wl.png")
	step("frame 2", chromedp.SetValue(".pane input.frame", "2"))
	eval(`(function(){var s=document.querySelector(".pane input.frame");s.dispatchEvent(new Event("input"));return true;})()`, new(bool))
	waitFor("second frame", `document.querySelector(".pane").dataset.src.indexOf("/frames/1") > 0`)

	time.Sleep(300 * time.Millisecond) // let late console messages arrive
	problems := console.Problems()
	if len(problems) > 0 {
		t.Errorf("browser console errors:\n%s", strings.Join(problems, "\n"))
	}
}

func jsString(s string) string { b, _ := json.Marshal(s); return string(b) }

func itoa(n int64) string { b, _ := json.Marshal(n); return string(b) }

func atoi(s string) int {
	var n int
	json.Unmarshal([]byte(s), &n)
	return n
}
