package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestConsultArrivesLive is issue 18 §4.2: the county specialist has the
// consultation page open on a 360-px phone with an empty queue; a village
// doctor asks; without a reload the banner appears wholly within the
// screen, the queue gains the case with the patient masked (surname, sex,
// age) and a countdown to the response deadline that ticks in the browser
// and agrees with the server's deadline. Then the same on a 1280-px screen.
func TestConsultArrivesLive(t *testing.T) {
	chrome := chromiumPath(t)
	base, logins := startBinary(t)
	vd, cs := logins["village_doctor"], logins["county_specialist"]
	if vd == "" || cs == "" {
		t.Fatalf("demo sign-ins missing: %v", logins)
	}
	ctx, console := openPhone(t, chrome)
	sctx, scancel := context.WithTimeout(ctx, 30*time.Second)
	defer scancel()
	if err := chromedp.Do(sctx, chromedp.Navigate(base+"/login"), chromedp.WaitVisible("#username"),
		chromedp.SendKeys("#username", cs), chromedp.SendKeys("#password", "Countycare-Demo-2026"),
		chromedp.Click("#login"), chromedp.WaitReady("#nav-consult"),
		chromedp.Navigate(base+"/consult"), chromedp.WaitVisible("#queue-section")); err != nil {
		t.Fatalf("sign in and open /consult: %v", err)
	}
	eval := func(js string) string {
		t.Helper()
		v, err := chromedp.Run(ctx, chromedp.Evaluate[string](js))
		if err != nil {
			t.Fatalf("%s: %v", js, err)
		}
		return v
	}
	if n := eval(`String(document.querySelectorAll("#queue-list li").length) + (document.getElementById("queue-empty") ? " empty" : "")`); n != "0 empty" {
		t.Fatalf("the queue is not empty before the request: %s", n)
	}
	eval(`window.scrollTo(0, document.body.scrollHeight); ""`) // a doctor who scrolled down still sees the banner

	masked := regexp.MustCompile(`^\p{Han}\*+\p{Han}? · [男女] · \d+ 岁$`)
	countdown := regexp.MustCompile(`^剩余 (\d+):(\d\d)$`)
	arrive := func(width, height int, key string) {
		t.Helper()
		c := requestConsultation(t, base, vd, key)
		row := fmt.Sprintf(`#queue-list li[data-id="%d"]`, c.ID)
		deadline := time.Now().Add(15 * time.Second)
		for eval(`document.querySelector('`+row+`') ? "yes" : ""`) == "" {
			if time.Now().After(deadline) {
				t.Fatalf("%d px: case #%d not in the queue without a reload; banner %q", width, c.ID, eval(`document.getElementById("live-banner").textContent`))
			}
			time.Sleep(100 * time.Millisecond)
		}
		// The banner: shown, naming the case, wholly inside the viewport.
		box := eval(`(function () { var b = document.getElementById("live-banner"), r = b.getBoundingClientRect();
  return [b.hidden ? 1 : 0, r.top, r.left, r.bottom, r.right, window.innerWidth, window.innerHeight].map(Math.round).join(" ") + "|" + b.textContent; })()`)
		var hidden, top, left, bottom, right, vw, vh int
		var text string
		if _, err := fmt.Sscanf(regexp.MustCompile(`\|`).ReplaceAllString(box, " "), "%d %d %d %d %d %d %d %s", &hidden, &top, &left, &bottom, &right, &vw, &vh, &text); err != nil {
			t.Fatalf("banner box %q: %v", box, err)
		}
		if hidden == 1 || top < 0 || left < 0 || bottom > vh || right > vw || bottom-top < 20 || vw != width {
			t.Errorf("%d px: banner not wholly visible: %s", width, box)
		}
		if !regexp.MustCompile(`新的会诊请求 #` + strconv.FormatInt(c.ID, 10)).MatchString(box) {
			t.Errorf("%d px: banner text %q", width, box)
		}
		if eval(`document.getElementById("queue-empty") ? "still" : ""`) != "" {
			t.Errorf("%d px: the queue still says it is empty", width)
		}
		if p := eval(`document.querySelector('` + row + ` .patient').textContent`); !masked.MatchString(p) {
			t.Errorf("%d px: patient %q, want a masked name, sex and age", width, p)
		}
		// The countdown ticks in the browser and agrees with the server's deadline.
		read := func() time.Duration {
			m := countdown.FindStringSubmatch(eval(`document.querySelector('` + row + ` .countdown').textContent`))
			if m == nil {
				t.Fatalf("%d px: countdown %q", width, eval(`document.querySelector('`+row+` .countdown').textContent`))
			}
			min, _ := strconv.Atoi(m[1])
			sec, _ := strconv.Atoi(m[2])
			return time.Duration(min)*time.Minute + time.Duration(sec)*time.Second
		}
		first := read()
		want := time.Until(c.Deadline)
		if d := first - want; d > 3*time.Second || d < -3*time.Second {
			t.Errorf("%d px: countdown %s, the server's deadline is in %s", width, first, want.Round(time.Second))
		}
		time.Sleep(2200 * time.Millisecond)
		if second := read(); first-second < time.Second || first-second > 4*time.Second {
			t.Errorf("%d px: countdown went from %s to %s in 2.2 s", width, first, second)
		}
		if png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot()); err == nil {
			os.WriteFile(filepath.Join(artifactDir(t), fmt.Sprintf("consult-live-%d.png", width)), png, 0o644)
		}
	}
	arrive(360, 780, "live-e2e-1")
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(1280, 800)); err != nil {
		t.Fatal(err)
	}
	eval(`document.getElementById("live-close").click(); ""`)
	arrive(1280, 800, "live-e2e-2")
	if n := eval(`String(document.querySelectorAll("#queue-list li").length)`); n != "2" {
		t.Errorf("the queue holds %s cases, want 2", n)
	}
	if p := console.Problems(); len(p) > 0 {
		t.Errorf("console problems: %v", p)
	}
}
