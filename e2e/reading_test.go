package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/cookiejar"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// apiClient signs in through the JSON API.
type apiClient struct {
	t    *testing.T
	base string
	hc   *http.Client
	csrf string
}

func signIn(t *testing.T, base, user string) *apiClient {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &apiClient{t: t, base: base, hc: &http.Client{Jar: jar, Timeout: 30 * time.Second}}
	code, body := c.do("POST", "/api/v1/session", map[string]string{"username": user, "password": "Countycare-Demo-2026"})
	var out struct {
		CSRF string `json:"csrf_token"`
	}
	if err := json.Unmarshal(body, &out); code != 200 || err != nil {
		t.Fatalf("sign in %s: %d %s", user, code, body)
	}
	c.csrf = out.CSRF
	return c
}

func (c *apiClient) do(method, path string, v any) (int, []byte) {
	c.t.Helper()
	var rd io.Reader
	if v != nil {
		b, _ := json.Marshal(v)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, c.base+path, rd)
	if v != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.csrf != "" {
		req.Header.Set("X-CSRF-Token", c.csrf)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// restingCSV is a 250 Hz one-lead export with regular beats.
func restingCSV() []byte {
	var b strings.Builder
	b.WriteString("time,II\n")
	for i := 0; i < 12*250; i++ {
		x := float64(i) / 250
		v := 0.0
		for c := 0.5; c < 12; c += 0.85 {
			v += math.Exp(-(x - c) * (x - c) / (2 * 0.012 * 0.012))
		}
		fmt.Fprintf(&b, "%.3f,%.4f\n", x, v)
	}
	return []byte(b.String())
}

// TestReaderReportsOnAPhone: a village doctor sends an urgent ECG (API);
// the reader, on a 360-px-wide screen, finds it on the reading worklist,
// claims it, fills in the ECG template and signs; every page fits the
// screen and the browser logs no error.
func TestReaderReportsOnAPhone(t *testing.T) {
	chrome := chromiumPath(t)
	base, logins := startBinary(t)
	if logins["village_doctor"] == "" || logins["reader"] == "" {
		t.Fatalf("demo sign-ins: %v", logins)
	}
	vd, rd := signIn(t, base, logins["village_doctor"]), signIn(t, base, logins["reader"])
	var me struct {
		Institution int64 `json:"institution_id"`
	}
	_, body := rd.do("GET", "/api/v1/me", nil)
	json.Unmarshal(body, &me)
	_, body = vd.do("GET", "/residents", nil)
	ids := regexp.MustCompile(`href="/residents/(\d+)"`).FindSubmatch(body)
	if ids == nil {
		t.Fatal("no resident in the village doctor's list")
	}
	if code, b := vd.do("POST", "/api/v1/residents/"+string(ids[1])+"/ecg", map[string]any{"center_id": me.Institution, "signal_name": "rest.csv",
		"signal": restingCSV(), "urgent": true}); code != 201 {
		t.Fatalf("send ECG: %d %s", code, b)
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
		b, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatalf("screenshot: %v", err)
		}
		if err := os.WriteFile(filepath.Join(artifactDir(t), name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}

	step("sign in", chromedp.Navigate(base+"/login"), chromedp.WaitVisible("#username"),
		chromedp.SendKeys("#username", logins["reader"]), chromedp.SendKeys("#password", "Countycare-Demo-2026"),
		chromedp.Click("#login"), chromedp.WaitVisible(".tiles"))
	step("worklist", chromedp.Navigate(base+"/reading/worklist"), chromedp.WaitVisible("#reading-worklist"))
	fits("the reading worklist")
	shot("browser-360-reading-worklist.png")
	step("claim", chromedp.Click(`#reading-worklist li:first-child form button`))
	waitURL(t, ctx, "ok=claimed")
	step("report form", chromedp.WaitVisible("#report-form"), chromedp.WaitVisible("#study-viewer #ecg-canvas"))
	fits("the study page with the report form")
	// The form is filled in from the pre-read (heart rate), and sits below the ECG on a phone.
	layout := func() string {
		t.Helper()
		v, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(function () {
  var a = document.querySelector(".study-main").getBoundingClientRect(), b = document.querySelector(".study-side").getBoundingClientRect();
  return [a.left, a.right, a.bottom, b.left, b.top].map(Math.round).join(" "); })()`))
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	if rate, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector('#report-form [name="f_rate"]').value`)); err != nil || !regexp.MustCompile(`^\d{2,3}$`).MatchString(rate) {
		t.Errorf("the rate is not filled in from the pre-read: %q %v", rate, err)
	}
	var aL, aR, aB, bL, bT int
	fmt.Sscan(layout(), &aL, &aR, &aB, &bL, &bT)
	if bT < aB-1 {
		t.Errorf("360 px: the report form is not below the viewer: viewer bottom %d, form top %d", aB, bT)
	}
	shot("browser-360-reading-study.png")
	step("fill in", chromedp.SendKeys(`[name="f_rhythm"]`, "窦性心律"),
		chromedp.SendKeys(`[name="f_qrs"]`, "88"), chromedp.SendKeys(`[name="f_conclusion"]`, "正常心电图"),
		chromedp.Click(`#report-form input[name="normal"]`), chromedp.Click(`#report-form button[type="submit"]`))
	step("signed", chromedp.WaitVisible("section.report"), chromedp.WaitVisible("#addendum-form"))
	fits("the signed report")
	shot("browser-360-reading-report.png")
	got, err := chromedp.Run(ctx, chromedp.Text("section.report"))
	if err != nil || !strings.Contains(got, "正常心电图") || !strings.Contains(got, "SHA-256") {
		t.Errorf("signed report shows %q (%v)", got, err)
	}

	// On a wide screen the viewer and the report stand side by side.
	step("wide", chromedp.EmulateViewport(1280, 800), chromedp.Reload(), chromedp.WaitVisible("#study-viewer #ecg-canvas"))
	fmt.Sscan(layout(), &aL, &aR, &aB, &bL, &bT)
	if bL < aR || aR-aL < 500 {
		t.Errorf("1280 px: viewer %d–%d, report from %d: not side by side", aL, aR, bL)
	}
	if b, err := chromedp.Run(ctx, chromedp.FullScreenshot(90)); err == nil {
		os.WriteFile(filepath.Join(artifactDir(t), "browser-1280-reading-study.png"), b, 0o644)
	}
	time.Sleep(300 * time.Millisecond)
	problems := console.Problems()
	for _, p := range problems {
		t.Errorf("browser console error: %s", p)
	}
}
