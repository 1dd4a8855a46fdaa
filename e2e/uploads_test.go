package e2e

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"countycare/internal/testdicom"
	"countycare/internal/testfiles"
)

// emulateLink emulates the phone's link: throttled to bytesPerSecond
// upstream, or offline (navigator.onLine follows).
func emulateLink(ctx context.Context, offline bool, bytesPerSecond float64) error {
	if _, err := chromedp.Call(ctx, network.Enable, network.EnableParams{}); err != nil {
		return err
	}
	if _, err := chromedp.Call(ctx, network.EmulateNetworkConditionsByRule, network.EmulateNetworkConditionsByRuleParams{
		MatchedNetworkConditions: []*network.Conditions{{Offline: offline, DownloadThroughput: -1, UploadThroughput: bytesPerSecond}}}); err != nil {
		return err
	}
	_, err := chromedp.Call(ctx, network.OverrideNetworkState, network.OverrideNetworkStateParams{Offline: offline, DownloadThroughput: -1, UploadThroughput: bytesPerSecond})
	return err
}

// TestImagingUploadResumesAfterOffline: on a 360-px phone a village doctor
// sends a 12 MiB DICOM instance from the imaging page over a throttled
// link; the browser goes offline (CDP network emulation) part-way, the page
// says it is offline, and when the link returns the upload continues from
// the server's offset — not from zero — and the instance is stored; pause
// holds the upload and resume continues it. Then a WFDB ECG (MIT-BIH
// record 100, header and signal) is sent from the ECG page the same way.
func TestImagingUploadResumesAfterOffline(t *testing.T) {
	chrome := chromiumPath(t)
	base, logins := startBinary(t)
	user := logins["village_doctor"]
	ctx, console := openPhone(t, chrome)
	step, eval, waitFor := tab{t, ctx}.helpers()
	var ok bool

	file := filepath.Join(t.TempDir(), "ct.dcm")
	if err := os.WriteFile(file, testdicom.CT("E2E-13", "TEST^UPLOAD", "1.2.826.0.1.3680043.8.498.13.2.1", 2048, 1536, 2), 0o644); err != nil {
		t.Fatal(err)
	}
	step("sign in", chromedp.Navigate(base+"/login"), chromedp.WaitVisible("#username"),
		chromedp.SendKeys("#username", user), chromedp.SendKeys("#password", demoPassword),
		chromedp.Click("#login"), chromedp.WaitVisible(".tiles"))
	step("residents", chromedp.Navigate(base+"/residents"), chromedp.WaitVisible("main"))
	var html string
	eval("document.querySelector('main').innerHTML", &html)
	m := regexp.MustCompile(`href="/residents/(\d+)"`).FindStringSubmatch(html)
	if m == nil {
		t.Fatal("no resident on the village doctor's list")
	}
	step("imaging page", chromedp.Navigate(base+"/residents/"+m[1]+"/imaging"), chromedp.WaitVisible("form[data-tus]"))
	if err := emulateLink(ctx, false, 2<<20); err != nil {
		t.Fatalf("throttle: %v", err)
	}
	step("send", chromedp.SetUploadFiles(`form[data-tus] input[type="file"]`, []string{file}),
		chromedp.Click(`form[data-tus] input[name="confirm_mismatch"]`),
		chromedp.Click(`form[data-tus] button[type="submit"]`))
	waitFor("some sent", `document.querySelector(".tus-bar").value >= 10`)
	step("pause", chromedp.Click(".tus-pause"))
	time.Sleep(time.Second)
	var paused, later int
	eval(`document.querySelector(".tus-bar").value`, &paused)
	time.Sleep(1500 * time.Millisecond)
	eval(`document.querySelector(".tus-bar").value`, &later)
	eval(`document.querySelector(".tus-state").textContent === document.querySelector(".tus-box").dataset.tPaused`, &ok)
	if later != paused || !ok {
		t.Errorf("paused at %d%%, %d%% 1.5 s later, paused state shown: %t", paused, later, ok)
	}
	step("resume", chromedp.Click(".tus-resume"))
	waitFor("a third sent", `document.querySelector(".tus-bar").value >= 30`)
	if err := emulateLink(ctx, true, 2<<20); err != nil {
		t.Fatalf("offline: %v", err)
	}
	var before int
	eval(`document.querySelector(".tus-bar").value`, &before)
	waitFor("the page says it is offline", `document.querySelector(".tus-state").textContent === document.querySelector(".tus-box").dataset.tOffline`)
	time.Sleep(2 * time.Second)
	var results int
	eval(`document.querySelectorAll(".tus-results li").length`, &results)
	if results != 0 {
		t.Fatal("the upload finished while offline")
	}
	// From now on, the lowest the bar shows: resumed from the server's
	// offset, it never goes back to zero.
	eval(`(function () { var b = document.querySelector(".tus-bar"); window.lowest = b.value;
	  window.watchBar = setInterval(function () { window.lowest = Math.min(window.lowest, b.value); }, 10); return true; })()`, &ok)
	if err := emulateLink(ctx, false, -1); err != nil {
		t.Fatalf("online: %v", err)
	}
	waitFor("stored", `!!document.querySelector(".tus-results a[href^='/imaging/instances/']")`)
	var lowest int
	eval(`window.lowest`, &lowest)
	t.Logf("offline at %d%%; after the link returned the bar went no lower than %d%%", before, lowest)
	if lowest < before/2 {
		t.Errorf("the upload went back to %d%% after the link returned (was at %d%%)", lowest, before)
	}
	var href string
	eval(`document.querySelector(".tus-results a").getAttribute("href")`, &href)
	step("the instance", chromedp.Navigate(base+href), chromedp.WaitVisible("main"))

	// An ECG in WFDB format from its page: the header travels in the
	// upload's metadata, the signal in chunks; the study is stored.
	if err := emulateLink(ctx, false, -1); err != nil {
		t.Fatal(err)
	}
	dir := testfiles.MITDB(t)
	step("ECG page", chromedp.Navigate(base+"/residents/"+m[1]+"/ecg"), chromedp.WaitVisible("form[data-tus]"))
	fits, err := chromedp.Run(ctx, chromedp.Evaluate[float64]("document.documentElement.scrollWidth"))
	if err != nil || fits > 360 {
		t.Errorf("the ECG page is %v px wide on a 360-px screen (%v)", fits, err)
	}
	step("send an ECG", chromedp.SetUploadFiles(`form[data-tus] input[name="header"]`, []string{filepath.Join(dir, "100.hea")}),
		chromedp.SetUploadFiles(`form[data-tus] input[name="signal"]`, []string{filepath.Join(dir, "100.dat")}),
		chromedp.Click(`form[data-tus] button[type="submit"]`))
	waitFor("ECG stored", `!!document.querySelector(".tus-results a[href^='/ecg/studies/']")`)
	for _, p := range console.Problems() {
		// The requests the emulated outage failed are expected; nothing else is.
		if !strings.Contains(p, "net::ERR_INTERNET_DISCONNECTED") {
			t.Errorf("console error: %v", p)
		}
	}
}
