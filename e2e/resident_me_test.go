package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"countycare/account"
	"countycare/care"
	"countycare/notify"
	"countycare/store"
)

// TestResidentSignsInByCodeOnAPhone (issue 13 §4): on a 360 px phone a
// resident asks for a code with the phone on their record, types the code
// the outbox holds, lands on /me and sees their blood-pressure trend as a
// chart with one point per follow-up, within the screen's width. The
// browser presents itself as WeChat's in-app browser on Android (its
// user agent: XWEB, MicroMessenger), which is Chromium underneath — the
// nearest this machine comes to WeChat itself.
func TestResidentSignsInByCodeOnAPhone(t *testing.T) {
	chrome := chromiumPath(t)
	base, logins, dbPath := startBinaryDB(t)
	ctx := context.Background()
	st, err := store.Open(ctx, "sqlite://"+dbPath, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	acc, err := st.AccountByUsername(ctx, logins["resident"])
	if err != nil {
		t.Fatal(err)
	}
	res, err := st.Resident(ctx, acc.ResidentID)
	if err != nil || notify.NormalizePhone(res.Phone) == "" {
		t.Fatalf("the demo resident has no mobile number: %v", err)
	}
	rid := fmt.Sprint(res.ID)

	// Three follow-ups by the village doctor, a month apart.
	vd := signIn(t, base, logins["village_doctor"])
	today := care.Today(time.Now())
	code, body := vd.do("POST", "/api/v1/residents/"+rid+"/chronic", map[string]any{"disease": "hypertension", "source": "diagnosis", "enrolled_on": today.AddDays(-90).String()})
	if code != 201 && code != 200 && code != 409 {
		t.Fatalf("enrol: %d %s", code, body)
	}
	_, body = vd.do("GET", "/api/v1/residents/"+rid+"/chronic", nil)
	var regs struct {
		Registrations []struct {
			ID      int64  `json:"id"`
			Disease string `json:"disease"`
		} `json:"registrations"`
	}
	json.Unmarshal(body, &regs)
	reg := int64(0)
	for _, r := range regs.Registrations {
		if r.Disease == "hypertension" {
			reg = r.ID
		}
	}
	if reg == 0 {
		t.Fatalf("no hypertension registration: %s", body)
	}
	for i, bp := range [][2]string{{"152", "96"}, {"141", "90"}, {"132", "84"}} {
		v := url.Values{"date": {today.AddDays(-60 + 30*i).String()}, "mode": {"face"}, "sbp": {bp[0]}, "dbp": {bp[1]}, "fpg": {"6.1"},
			"heart_rate": {"76"}, "adherence": {"regular"}, "confirm": {"1"}}
		if code, u := vd.form(fmt.Sprintf("/chronic/%d/visits", reg), v); code != 200 {
			t.Fatalf("follow-up %d: %d %s", i, code, u)
		}
	}
	visits, err := st.Visits(ctx, reg, 100)
	if err != nil || len(visits) < 3 {
		t.Fatalf("follow-ups stored: %d %v", len(visits), err)
	}

	bctx, console := openPhoneSize(t, chrome, 360, 740)
	step, eval, waitFor := tab{t, bctx}.helpers()
	if _, err := chromedp.Call(bctx, emulation.SetUserAgentOverride, emulation.SetUserAgentOverrideParams{UserAgent: weChatUA, AcceptLanguage: "zh-CN"}); err != nil {
		t.Fatal(err)
	}
	step("phone form", chromedp.Navigate(base+"/login"), chromedp.WaitVisible("#by-code"), chromedp.Click("#by-code"), chromedp.WaitVisible("#phone"),
		chromedp.SendKeys("#phone", res.Phone), chromedp.Click("#send-code"), chromedp.WaitVisible("#code"))
	msgs, err := st.MessagesTo(ctx, res.CountyCode, res.ID, account.CodePurpose, 1)
	if err != nil || len(msgs) != 1 || len(msgs[0].Params["code"]) != account.CodeDigits {
		t.Fatalf("the code's message: %+v %v", msgs, err)
	}
	step("type the code", chromedp.SendKeys("#code", msgs[0].Params["code"]), chromedp.Click("#verify"), chromedp.WaitVisible("#bp-trend"))
	var points int
	eval(`document.querySelectorAll("#bp-trend polyline.sbp")[0].getAttribute("points").trim().split(/\s+/).length`, &points)
	if points != len(visits) {
		t.Errorf("the systolic line has %d points, want %d (one per follow-up)", points, len(visits))
	}
	var widths struct{ SVG, Doc, View float64 }
	eval(`({SVG: document.querySelector("#bp-trend svg").getBoundingClientRect().right, Doc: document.documentElement.scrollWidth, View: window.innerWidth})`, &widths)
	if widths.SVG > widths.View || widths.Doc > widths.View {
		t.Errorf("the chart or page is wider than the 360 px screen: %+v", widths)
	}
	waitFor("next visit date", `!!document.querySelector("#next-visit")`)
	var masked bool
	eval(`!document.querySelector("#me-id-number").textContent.includes(`+fmt.Sprintf("%q", string(res.IDNumber))+`)`, &masked)
	if !masked && res.IDNumber != "" {
		t.Error("the identity number is shown in full on /me")
	}
	var ua string
	eval(`navigator.userAgent`, &ua)
	if ua != weChatUA {
		t.Errorf("the page saw the user agent %q", ua)
	}
	for _, p := range console.Problems() {
		t.Errorf("console: %s", p)
	}
}

// weChatUA is the user agent of WeChat 8.0's in-app browser (XWEB) on Android.
const weChatUA = "Mozilla/5.0 (Linux; Android 12; V2118A Build/SP1A.210812.003; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 " +
	"Chrome/107.0.5304.141 Mobile Safari/537.36 XWEB/5127 MMWEBSDK/20230604 MMWEBID/2585 MicroMessenger/8.0.38.2400(0x2800263B) WeChat/arm64 Weixin NetType/4G Language/zh_CN ABI/arm64"
