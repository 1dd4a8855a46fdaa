package e2e

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"countycare/store"
)

// TestSpecimenJourneyOnAPhone is issue 17's browser test: on a 360-px
// screen a village doctor orders a lab test (the barcode label shows),
// scans the tube collected, packs it at 4.5 °C and hands the box to a
// courier; on another phone the county lab's reader scans it in and files
// the results, which the village doctor then sees on the resident's lab
// page. No page is wider than the screen, no console error occurs;
// screenshots are saved.
func TestSpecimenJourneyOnAPhone(t *testing.T) {
	chrome := chromiumPath(t)
	base, logins, dbPath := startBinaryDB(t)
	st, err := store.Open(context.Background(), "sqlite://"+dbPath, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var labUser string
	err = st.QueryForTest(context.Background(), `SELECT username FROM accounts WHERE username LIKE 'lab.%'`, &labUser)
	st.Close()
	if err != nil || logins["village_doctor"] == "" {
		t.Fatalf("sign-ins: village %q, lab %q (%v)", logins["village_doctor"], labUser, err)
	}
	type phone struct {
		ctx     context.Context
		console *phoneConsole
	}
	open := func(user string) phone {
		ctx, console := openPhone(t, chrome)
		p := phone{ctx, console}
		run(t, ctx, "sign in "+user, chromedp.Navigate(base+"/login"), chromedp.WaitVisible("#username"),
			chromedp.SendKeys("#username", user), chromedp.SendKeys("#password", "Countycare-Demo-2026"),
			chromedp.Click("#login"), chromedp.WaitVisible(".tiles"))
		return p
	}
	fits := func(ctx context.Context, what string) {
		t.Helper()
		wide, err := chromedp.Run(ctx, chromedp.Evaluate[float64]("document.documentElement.scrollWidth"))
		if err != nil || wide > 360 {
			t.Errorf("%s is %v px wide on a 360-px screen (%v)", what, wide, err)
		}
	}
	shot := func(ctx context.Context, name string) {
		t.Helper()
		b, err := chromedp.Run(ctx, chromedp.FullScreenshot(90))
		if err != nil {
			t.Fatalf("screenshot: %v", err)
		}
		if err := os.WriteFile(filepath.Join(artifactDir(t), name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	text := func(ctx context.Context, js string) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Evaluate[string](js))
		if err != nil {
			t.Fatalf("%s: %v", js, err)
		}
		return s
	}

	vd := open(logins["village_doctor"])
	run(t, vd.ctx, "residents", chromedp.Navigate(base+"/residents"), chromedp.WaitVisible("main"))
	m := regexp.MustCompile(`href="/residents/(\d+)"`).FindStringSubmatch(text(vd.ctx, "document.querySelector('main').innerHTML"))
	if m == nil {
		t.Fatal("no resident on the village doctor's list")
	}
	rid := m[1]
	run(t, vd.ctx, "lab page", chromedp.Navigate(base+"/residents/"+rid+"/labs"), chromedp.WaitVisible("#lab-order-specimen"),
		chromedp.Click("#lab-order-specimen"), chromedp.WaitVisible("#specimen-order"))
	fits(vd.ctx, "the order form")
	run(t, vd.ctx, "order", chromedp.Click(`#specimen-order input[value="GLU"]`), chromedp.Click(`#specimen-order input[value="K"]`),
		chromedp.SetValue(`#specimen-order select[name="tube"]`, "serum"), chromedp.Click(`#specimen-order button[type="submit"]`))
	waitURL(t, vd.ctx, "ok=specimen_ordered")
	run(t, vd.ctx, "label", chromedp.WaitVisible("#specimen-label img"))
	ok := text(vd.ctx, `String(document.querySelector('#specimen-label img').naturalWidth > 200)`)
	if ok != "true" {
		t.Error("the barcode label did not load")
	}
	barcode := strings.TrimSpace(text(vd.ctx, `document.querySelector('h1 span').textContent`))
	loc := text(vd.ctx, "location.pathname")
	if len(barcode) != 16 {
		t.Fatalf("barcode %q", barcode)
	}
	fits(vd.ctx, "the specimen page")
	shot(vd.ctx, "browser-360-specimen-label.png")

	run(t, vd.ctx, "collect", chromedp.Navigate(base+"/specimens"), chromedp.WaitVisible("#specimen-scan"),
		chromedp.SendKeys(`#specimen-scan input[name="barcode"]`, barcode), chromedp.Click(`#specimen-scan button[type="submit"]`),
		chromedp.WaitVisible("#specimen-scanned"))
	run(t, vd.ctx, "pack", chromedp.WaitVisible(`#specimen-pack input[value="`+barcode+`"]`),
		chromedp.SendKeys(`#specimen-pack input[name="temp"]`, "4.5"), chromedp.Click(`#specimen-pack button[type="submit"]`))
	waitURL(t, vd.ctx, "ok=specimen_packed")
	fits(vd.ctx, "the clinic's specimen board")
	shot(vd.ctx, "browser-360-specimens-clinic.png")
	for i := 0; i < 5; i++ { // hand every waiting box to the courier (the demo village may have one packed already)
		run(t, vd.ctx, "board", chromedp.Navigate(base+"/specimens"), chromedp.WaitVisible("#specimen-scan"))
		if n := text(vd.ctx, `String(document.querySelectorAll('#specimen-boxes form').length)`); n == "0" {
			break
		}
		run(t, vd.ctx, "hand over", chromedp.SendKeys(`#specimen-boxes input[name="courier"]`, "李师傅"),
			chromedp.SendKeys(`#specimen-boxes input[name="route"]`, "东线"), chromedp.Click(`#specimen-boxes button[type="submit"]`))
		waitURL(t, vd.ctx, "ok=specimen_handed")
	}

	lab := open(labUser)
	run(t, lab.ctx, "lab board", chromedp.Navigate(base+"/specimens"), chromedp.WaitVisible("#specimen-open"))
	if !strings.Contains(text(lab.ctx, "document.querySelector('#specimen-open').textContent"), barcode) {
		t.Error("the specimen is not on the lab's in-transit list")
	}
	fits(lab.ctx, "the lab's specimen board")
	shot(lab.ctx, "browser-360-specimens-lab.png")
	run(t, lab.ctx, "receive", chromedp.SendKeys(`#specimen-scan input[name="barcode"]`, barcode),
		chromedp.SetValue(`#specimen-scan select[name="step"]`, "receive"), chromedp.Click(`#specimen-scan button[type="submit"]`),
		chromedp.WaitVisible("#specimen-scanned"))
	run(t, lab.ctx, "results form", chromedp.Navigate(base+loc), chromedp.WaitVisible("#specimen-results"),
		chromedp.SendKeys(`#specimen-results input[name="value.GLU"]`, "5.6"), chromedp.SendKeys(`#specimen-results input[name="value.K"]`, "4.2"))
	fits(lab.ctx, "the lab's result form")
	run(t, lab.ctx, "file results", chromedp.Click(`#specimen-results button[type="submit"]`))
	waitURL(t, lab.ctx, "ok=specimen_resulted")
	if s := text(lab.ctx, "document.querySelector('#specimen-status').textContent"); !strings.Contains(s, "已出结果") {
		t.Errorf("status after results: %q", s)
	}
	if n := text(lab.ctx, `String(document.querySelectorAll('#specimen-events li').length)`); n != "6" {
		t.Errorf("%s steps on the history, want 6", n)
	}
	shot(lab.ctx, "browser-360-specimen-resulted.png")

	run(t, vd.ctx, "results back", chromedp.Navigate(base+"/residents/"+rid+"/labs"), chromedp.WaitVisible("#lab-results"))
	if s := text(vd.ctx, "document.querySelector('#lab-results').textContent"); !strings.Contains(s, "5.6") {
		t.Error("the lab's results are not on the resident's lab page")
	}
	for _, p := range []phone{vd, lab} {
		if problems := p.console.Problems(); len(problems) > 0 {
			t.Errorf("console errors: %v", problems)
		}
	}
}

// run does actions in ctx within 20 s.
func run(t *testing.T, ctx context.Context, name string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	sctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if err := chromedp.Do(sctx, actions...); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
}
