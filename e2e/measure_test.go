package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"
)

// TestMeasureKeyImage is issue 16's browser test: a reader opens a CT of
// the demo county's worklist on a 360-px phone (by touch) and on a
// 1280-px screen (by mouse), claims it, draws a length on the image, and
// the millimetres shown equal the length computed here from the drawn
// points and the file's pixel spacing (within the shown rounding); the
// reader saves it as a key image and signs the report, which then shows
// the key image with the measurement. Console errors fail the test;
// screenshots go to artifacts/.
func TestMeasureKeyImage(t *testing.T) {
	chrome := chromiumPath(t)
	base, logins := startBinary(t)
	user := logins["reader"]
	if user == "" {
		t.Fatalf("no reader sign-in printed: %v", logins)
	}
	// A village doctor sends two real CTs (pixel spacing 0.661468 and
	// 0.388672 mm) to the reading center: one for each screen.
	vd := signIn(t, base, logins["village_doctor"])
	_, list := vd.do("GET", "/residents", nil)
	rm := regexp.MustCompile(`href="/residents/(\d+)"`).FindSubmatch(list)
	if rm == nil {
		t.Fatal("no resident for the village doctor")
	}
	rid := string(rm[1])
	var me struct {
		Institution int64 `json:"institution_id"`
	}
	if _, b := signIn(t, base, user).do("GET", "/api/v1/me", nil); json.Unmarshal(b, &me) != nil || me.Institution == 0 {
		t.Fatalf("the reader's center: %s", b)
	}
	center := me.Institution
	for _, name := range []string{"pydicom-CT_small.dcm", "tcia-5.dcm"} {
		b, err := os.ReadFile(filepath.Join("..", "testdata", "dicom", name))
		if err != nil {
			t.Fatal(err)
		}
		code, body := vd.do("POST", "/api/v1/residents/"+rid+"/imaging", map[string]any{"center_id": center, "confirm_mismatch": true,
			"files": []map[string]any{{"name": name, "data": b}}})
		if code != 201 && code != 200 {
			t.Fatalf("upload %s: %d %s", name, code, body)
		}
	}
	for i, sz := range []struct {
		name  string
		w, h  int64
		touch bool
	}{{"phone", 360, 780, true}, {"desktop", 1280, 900, false}} {
		t.Run(sz.name, func(t *testing.T) {
			opts := []chromedp.EmulateViewportOption{chromedp.EmulateScale(2)}
			if sz.touch {
				opts = append(opts, chromedp.EmulateTouch)
			}
			ctx, console := openPhoneSize(t, chrome, sz.w, sz.h, opts...)
			measureKeyImage(t, ctx, base, user, i, sz.w, sz.touch)
			time.Sleep(300 * time.Millisecond)
			if problems := console.Problems(); len(problems) > 0 {
				t.Errorf("browser console errors:\n%s", strings.Join(problems, "\n"))
			}
		})
	}
}

// touchDrag drags one finger from (x0, y0) to (x1, y1) in steps.
func touchDrag(x0, y0, x1, y1 float64) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		pt := func(x, y float64) []*input.TouchPoint {
			one, id := 1.0, 0.0
			return []*input.TouchPoint{{X: x, Y: y, RadiusX: &one, RadiusY: &one, Force: &one, ID: &id}}
		}
		if _, err := cdp.Call(ctx, t, input.DispatchTouchEvent, input.DispatchTouchEventParams{Type: input.DispatchTouchEventTypeTouchStart, TouchPoints: pt(x0, y0)}); err != nil {
			return err
		}
		for i := 1; i <= 8; i++ {
			f := float64(i) / 8
			if _, err := cdp.Call(ctx, t, input.DispatchTouchEvent, input.DispatchTouchEventParams{Type: input.DispatchTouchEventTypeTouchMove,
				TouchPoints: pt(x0+(x1-x0)*f, y0+(y1-y0)*f)}); err != nil {
				return err
			}
		}
		_, err := cdp.Call(ctx, t, input.DispatchTouchEvent, input.DispatchTouchEventParams{Type: input.DispatchTouchEventTypeTouchEnd, TouchPoints: []*input.TouchPoint{}})
		return err
	})
}

func measureKeyImage(t *testing.T, ctx context.Context, base, user string, pick int, width int64, touch bool) {
	step, eval, waitFor := tab{t, ctx}.helpers()
	tb := tab{t, ctx}
	shot := tb.shot
	fits := func(what string) { t.Helper(); tb.fits(what, float64(width)) }
	step("sign in", chromedp.Navigate(base+"/login"), chromedp.WaitVisible("#username"),
		chromedp.SendKeys("#username", user), chromedp.SendKeys("#password", "Countycare-Demo-2026"),
		chromedp.Click("#login"), chromedp.WaitVisible(".tiles"))
	found, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(async function () {
  var wl = await (await fetch("/api/v1/reading/worklist?modality=CT")).json();
  var open = wl.studies.filter(function (s) { return s.status === "waiting"; });
  return open.length ? String(open[0].id) : ""; // the first screen signed the other
})()`, chromedp.EvalAwaitPromise))
	if err != nil || found == "" {
		t.Fatalf("no waiting CT study number %d on the reader's worklist (%v)", pick+1, err)
	}
	study := base + "/reading/studies/" + found
	step("study", chromedp.Navigate(study), chromedp.WaitVisible(`#actions form[action$="/claim"] button`))
	step("claim", chromedp.Click(`#actions form[action$="/claim"] button`), chromedp.WaitVisible("#key-image-form"))
	waitFor("image loaded", `document.querySelector(".pane").dataset.loads >= 1`)
	fits("the study page with its viewer")
	step("length tool", chromedp.Evaluate[chromedp.Void](`document.getElementById("tool-length").scrollIntoView({block:"center"})`), chromedp.Click("#tool-length"))
	var r struct{ X, Y, W, H float64 }
	eval(`(function(){var e=document.querySelector(".pane canvas");e.scrollIntoView({block:"center"});var r=e.getBoundingClientRect();return {X:r.left,Y:r.top,W:r.width,H:r.height};})()`, &r)
	x0, y0, x1, y1 := r.X+r.W*0.3, r.Y+r.H*0.35, r.X+r.W*0.7, r.Y+r.H*0.6
	if touch {
		step("draw a length by touch", touchDrag(x0, y0, x1, y1))
	} else {
		step("draw a length by mouse", mouseDrag(x0, y0, x1, y1)...)
	}
	waitFor("measured", `document.querySelectorAll("#img-measures li").length === 1`)
	var got struct {
		Text, Value, RowMM, ColMM string
		Pts                       []struct{ X, Y float64 }
		Ends                      []struct{ X, Y float64 }
	}
	eval(`(function(){var p=countycareImage.panes[0],li=document.querySelector("#img-measures li"),m=p.measures[0];
  return {Text: li.textContent, Value: li.dataset.value, RowMM: p.fig.dataset.rowMm, ColMM: p.fig.dataset.colMm, Pts: m.points,
    Ends: m.points.map(function(q){var s=countycareImage.toScreen(p,q);return {X:s.x,Y:s.y};})};})()`, &got)
	var row, col, server float64
	fmt.Sscan(got.RowMM, &row)
	fmt.Sscan(got.ColMM, &col)
	fmt.Sscan(got.Value, &server)
	if row <= 0 || col <= 0 || len(got.Pts) != 2 {
		t.Fatalf("no pixel spacing or points on the pane: %+v", got)
	}
	// The drawn ends are where the pointer went (the image is scaled and
	// scrolled into view, so compare on the screen).
	if math.Hypot(got.Ends[0].X-x0, got.Ends[0].Y-y0) > 1.5 || math.Hypot(got.Ends[1].X-x1, got.Ends[1].Y-y1) > 1.5 {
		t.Errorf("drawn from %+v to %+v, pointer from (%.1f,%.1f) to (%.1f,%.1f)", got.Ends[0], got.Ends[1], x0, y0, x1, y1)
	}
	want := math.Hypot((got.Pts[1].X-got.Pts[0].X)*col, (got.Pts[1].Y-got.Pts[0].Y)*row)
	if math.Abs(server-want) > 1e-6*math.Max(1, want) {
		t.Errorf("server length %.6f mm, from the pixel spacing %.6f mm", server, want)
	}
	shown := fmt.Sprintf("长度 %.1f 毫米", want)
	if got.Text != shown {
		t.Errorf("shown %q, want %q (%.4f mm from the spacing %.6f × %.6f)", got.Text, shown, want, row, col)
	}
	var cal string
	eval(`document.getElementById("img-calibration").textContent`, &cal)
	if !strings.HasPrefix(cal, "按像素间距") {
		t.Errorf("calibration stated as %q", cal)
	}
	shot(fmt.Sprintf("measure-%d-length.png", width))

	step("note", chromedp.SendKeys(`#key-image-form textarea[name="note"]`, "测量病灶"))
	step("save key image", chromedp.Click("#key-image-save"), chromedp.WaitVisible("#key-images"))
	var pending string
	eval(`document.getElementById("key-images").textContent`, &pending)
	if !strings.Contains(pending, shown) || !strings.Contains(pending, "测量病灶") {
		t.Errorf("the saved key image reads %q", pending)
	}
	step("findings", chromedp.SendKeys(`#report-form textarea[name="f_findings"]`, "右肺见结节"), chromedp.SendKeys(`#report-form textarea[name="f_impression"]`, "建议随访"))
	step("sign", chromedp.Click(`#report-form button[type="submit"]`), chromedp.WaitVisible(".report #key-images"))
	var report string
	eval(`document.querySelector(".report #key-images").textContent`, &report)
	if !strings.Contains(report, shown) {
		t.Errorf("the signed report's key images read %q, want %q", report, shown)
	}
	fits("the signed report")
	shot(fmt.Sprintf("measure-%d-report.png", width))
	var js string
	eval(`JSON.stringify(Array.prototype.map.call(document.querySelectorAll(".report #key-images line"),function(l){return l.getAttribute("x1");}))`, &js)
	var xs []string
	if json.Unmarshal([]byte(js), &xs) != nil || len(xs) != 1 {
		t.Errorf("the key image in the report draws %s", js)
	}
}
