package e2e

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestLabsCriticalAndFetalOnAPhone: on a 360-px screen a village doctor
// records a critical potassium (the alert shows at once), acknowledges it
// with a read-back on the critical-values page, and sends a fetal heart
// trace whose CTG page scrolls inside its frame; no page is wider than
// the screen and no console error occurs; screenshots are saved.
func TestLabsCriticalAndFetalOnAPhone(t *testing.T) {
	chrome := chromiumPath(t)
	base, logins := startBinary(t)
	user := logins["village_doctor"]
	if user == "" {
		t.Fatalf("no village doctor sign-in printed: %v", logins)
	}
	ctx, console := openPhone(t, chrome)
	step := func(name string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		sctx, scancel := context.WithTimeout(ctx, 20*time.Second)
		defer scancel()
		if err := chromedp.Do(sctx, actions...); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	fits := func(what string) {
		t.Helper()
		wide, err := chromedp.Run(ctx, chromedp.Evaluate[float64]("document.documentElement.scrollWidth"))
		if err != nil || wide > 360 {
			t.Errorf("%s is %v px wide on a 360-px screen (%v)", what, wide, err)
		}
	}
	shot := func(name string) {
		t.Helper()
		b, err := chromedp.Run(ctx, chromedp.FullScreenshot(90))
		if err != nil {
			t.Fatalf("screenshot: %v", err)
		}
		if err := os.WriteFile(filepath.Join(artifactDir(t), name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}

	step("sign in", chromedp.Navigate(base+"/login"), chromedp.WaitVisible("#username"),
		chromedp.SendKeys("#username", user), chromedp.SendKeys("#password", "Countycare-Demo-2026"),
		chromedp.Click("#login"), chromedp.WaitVisible(".tiles"))
	step("residents", chromedp.Navigate(base+"/residents"), chromedp.WaitVisible("main"))
	html, err := chromedp.Run(ctx, chromedp.Evaluate[string]("document.querySelector('main').innerHTML"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`href="/residents/(\d+)"`).FindStringSubmatch(html)
	if m == nil {
		t.Fatal("no resident on the village doctor's list")
	}
	rid := m[1]

	collected := time.Now().In(time.FixedZone("CST", 8*3600)).Add(-time.Hour).Format("2006-01-02T15:04")
	step("lab form", chromedp.Navigate(base+"/residents/"+rid+"/labs"), chromedp.WaitVisible("#lab-form"))
	fits("the lab results page")
	step("record K 6.8", chromedp.SetValue(`#lab-form select[name="code"]`, "K"),
		chromedp.SendKeys(`#lab-form input[name="value"]`, "6.8"), chromedp.SendKeys(`#lab-form input[name="unit"]`, "mmol/L"),
		chromedp.SendKeys(`#lab-form input[name="ref_range"]`, "3.5-5.1"),
		chromedp.SetValue(`#lab-form input[name="collected_at"]`, collected),
		chromedp.Click(`#lab-form button[type="submit"]`), chromedp.WaitVisible("#lab-critical"))
	fits("the lab results page with a critical value")
	shot("browser-360-labs.png")

	step("critical values", chromedp.Navigate(base+"/critical"), chromedp.WaitVisible("#critical-open"))
	fits("the critical values page")
	shot("browser-360-critical.png")
	step("acknowledge", chromedp.SendKeys(`#critical-open input[name="note"]`, "血钾 6.8 mmol/L 已读回"),
		chromedp.Click(`#critical-open button[type="submit"]`))
	waitURL(t, ctx, "ok=critical_acked")
	step("none open", chromedp.WaitVisible("#critical-none"))

	var b strings.Builder
	b.WriteString("time,fhr,uc\n")
	for i := 0; i < 40*240; i++ {
		x := float64(i) / 4
		v := 140 + 5*math.Sin(2*math.Pi*x/7)
		if x >= 900 && x < 1140 {
			v -= 35
		}
		fmt.Fprintf(&b, "%.2f,%.1f,%d\n", x, v, 10+(i/40)%40)
	}
	csv := filepath.Join(t.TempDir(), "ctg.csv")
	if err := os.WriteFile(csv, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	step("exams", chromedp.Navigate(base+"/residents/"+rid+"/exams"), chromedp.WaitVisible("#fetal-form"))
	fits("the exams page")
	step("send a trace", chromedp.SetUploadFiles(`#fetal-form input[type="file"]`, []string{csv}),
		chromedp.Click(`#fetal-form button[type="submit"]`))
	waitURL(t, ctx, "/fetal/")
	step("trace", chromedp.WaitVisible("#ctg"), chromedp.WaitVisible("#fetal-analysis"))
	fits("the fetal trace page")
	shot("browser-360-fetal.png")

	problems := console.Problems()
	if len(problems) > 0 {
		t.Errorf("console errors: %v", problems)
	}
}
