package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestVideoCall is issue #3's browser test of the video call: the village
// doctor and the county specialist, each in their own headless Chromium
// with fake camera and microphone on a 360-px screen, open the same
// consultation and click Join; both pages must report the peer connection
// "connected" and show the other's picture (a remote video with a width).
// Signalling goes through countycare; the media flows browser to browser
// on loopback, with no STUN or TURN server.
func TestVideoCall(t *testing.T) {
	chrome := chromiumPath(t)
	base, logins := startBinary(t)
	vd, cs := logins["village_doctor"], logins["county_specialist"]
	if vd == "" || cs == "" {
		t.Fatalf("demo sign-ins missing: %v", logins)
	}
	id := openConsultation(t, base, vd)
	casePath := fmt.Sprintf("%s/consult/%d", base, id)

	type browser struct {
		name     string
		ctx      context.Context
		mu       sync.Mutex
		problems []string
	}
	open := func(name, user string) *browser {
		actx, cancel := chromedp.NewExecAllocator(context.Background(),
			chromedp.ExecPath(chrome), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
			chromedp.NoDefaultBrowserCheck, chromedp.UserDataDir(t.TempDir()),
			chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
			chromedp.Flag("disable-sync", true), chromedp.Flag("disable-quic", true), chromedp.Flag("lang", "zh-CN"),
			chromedp.Flag("use-fake-device-for-media-stream", true), chromedp.Flag("use-fake-ui-for-media-stream", true))
		t.Cleanup(cancel)
		ctx, cancel2 := chromedp.NewContext(actx)
		t.Cleanup(cancel2)
		if err := chromedp.Do(ctx, chromedp.EmulateViewport(360, 780)); err != nil {
			t.Fatalf("start chromium (%s): %v", name, err)
		}
		b := &browser{name: name, ctx: ctx}
		msgs := chromedp.Console(ctx)
		go func() {
			for m, err := range msgs {
				if err != nil {
					return
				}
				if m.IsException() {
					b.mu.Lock()
					b.problems = append(b.problems, m.String())
					b.mu.Unlock()
				}
			}
		}()
		sctx, scancel := context.WithTimeout(ctx, 20*time.Second)
		defer scancel()
		if err := chromedp.Do(sctx, chromedp.Navigate(base+"/login"), chromedp.WaitVisible("#username"),
			chromedp.SendKeys("#username", user), chromedp.SendKeys("#password", "Countycare-Demo-2026"),
			chromedp.Click("#login"), chromedp.WaitReady("#nav-consult"),
			chromedp.Navigate(casePath), chromedp.WaitVisible("#video"),
			chromedp.WaitEnabled("#video-join"), chromedp.Click("#video-join")); err != nil {
			t.Fatalf("%s: sign in, open the case and join: %v", name, err)
		}
		return b
	}
	start := time.Now()
	inviter := open("village doctor", vd)
	specialist := open("county specialist", cs)

	const connected = `(function () {
  var f = document.querySelector('#video figure.peer[data-state="connected"]');
  return !!f && f.querySelector("video").videoWidth > 0;
})()`
	deadline := time.Now().Add(25 * time.Second)
	for _, b := range []*browser{inviter, specialist} {
		for {
			ok, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool](connected))
			if err == nil && ok {
				break
			}
			if time.Now().After(deadline) {
				state, _ := chromedp.Run(b.ctx, chromedp.Evaluate[string](`document.getElementById("video-state").textContent + " / " +
  Array.prototype.map.call(document.querySelectorAll("#video figure.peer"), function (f) { return (f.dataset.peer || "-") + ":" + (f.dataset.state || "-"); }).join(",")`))
				t.Fatalf("%s: no connected peer with video after %s (%v): %s", b.name, time.Since(start).Round(time.Millisecond), err, state)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	t.Logf("both connected with video %s after the first sign-in", time.Since(start).Round(time.Millisecond))
	status, err := chromedp.Run(specialist.ctx, chromedp.Text("#video-state"))
	if err != nil || status != "视频通话中" {
		t.Errorf("specialist's call status: %q %v", status, err)
	}
	if shown, err := chromedp.Run(specialist.ctx, chromedp.Evaluate[bool](`getComputedStyle(document.getElementById("video-join")).display !== "none"`)); err != nil || shown {
		t.Errorf("the Join button still shows during the call (%v)", err)
	}
	wide, err := chromedp.Run(specialist.ctx, chromedp.Evaluate[float64]("document.documentElement.scrollWidth"))
	if err != nil || wide > 360 {
		t.Errorf("the case page with the call is %v px wide on a 360-px screen (%v)", wide, err)
	}

	if shot, err := chromedp.Run(specialist.ctx, chromedp.FullScreenshot(100)); err == nil {
		path := filepath.Join(artifactDir(t), "browser-360-video.png")
		if err := os.WriteFile(path, shot, 0o644); err == nil {
			t.Logf("screenshot saved: %s", path)
		}
	}

	// Hang up: the other side sees the connection go.
	if err := chromedp.Do(specialist.ctx, chromedp.Click("#video-leave")); err != nil {
		t.Fatal(err)
	}
	deadline = time.Now().Add(10 * time.Second)
	for {
		n, err := chromedp.Run(inviter.ctx, chromedp.Evaluate[float64](`document.querySelectorAll('#video figure.peer:not([hidden])').length`))
		if err == nil && n == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the village doctor still shows %v remote pictures after the specialist hung up (%v)", n, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	for _, b := range []*browser{inviter, specialist} {
		b.mu.Lock()
		for _, p := range b.problems {
			t.Errorf("%s: script exception: %s", b.name, p)
		}
		b.mu.Unlock()
	}
}

// openConsultation signs the village doctor in over the API and asks the
// county's cardiology (the demo specialist is on duty) about one of the
// village's residents; it returns the case's ID.
func openConsultation(t *testing.T, base, user string) int64 {
	t.Helper()
	return requestConsultation(t, base, user, "video-e2e").ID
}

// requestedCase is what the consultation API answers to a request.
type requestedCase struct {
	ID         int64     `json:"id"`
	ResidentID int64     `json:"resident_id"`
	Deadline   time.Time `json:"deadline"`
}

// requestConsultation is openConsultation under an idempotency key of the
// caller's (a new key, a new case), answering the API's case.
func requestConsultation(t *testing.T, base, user, key string) requestedCase {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	hc := &http.Client{Jar: jar, Timeout: 20 * time.Second}
	do := func(method, path string, body any, hdr map[string]string) (int, string) {
		t.Helper()
		var rd io.Reader
		if body != nil {
			b, _ := json.Marshal(body)
			rd = bytes.NewReader(b)
		}
		req, _ := http.NewRequest(method, base+path, rd)
		if body != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	code, body := do("POST", "/api/v1/session", map[string]string{"username": user, "password": "Countycare-Demo-2026"}, nil)
	var sess struct {
		CSRF string `json:"csrf_token"`
	}
	if json.Unmarshal([]byte(body), &sess); code != 200 || sess.CSRF == "" {
		t.Fatalf("API sign-in: %d %s", code, body)
	}
	_, list := do("GET", "/residents?group=elderly65", nil, nil)
	m := regexp.MustCompile(`href="/residents/(\d+)"`).FindStringSubmatch(list)
	if m == nil {
		t.Fatal("no resident in the village doctor's list")
	}
	_, form := do("GET", "/consult/new?resident="+m[1], nil, nil)
	h := regexp.MustCompile(`name="to_institution"><option value="(\d+)"`).FindStringSubmatch(form)
	if h == nil {
		t.Fatal("no hub on the request form")
	}
	var rid, hub int64
	fmt.Sscan(m[1], &rid)
	fmt.Sscan(h[1], &hub)
	code, body = do("POST", "/api/v1/consultations", map[string]any{"resident_id": rid, "kind": "one_to_one", "urgency": "urgent", "to_institution": hub,
		"specialty": "cardiology", "reason": "胸闷待查，请视频会诊", "purpose": "视频会诊", "summary": "活动后胸闷 3 天",
		"consent": map[string]any{"by": "patient", "method": "electronic", "at": time.Now().Add(-time.Minute)}}, map[string]string{"X-CSRF-Token": sess.CSRF, "Idempotency-Key": key})
	var c requestedCase
	if json.Unmarshal([]byte(body), &c); code != 201 || c.ID == 0 {
		t.Fatalf("request a consultation: %d %s", code, strings.TrimSpace(body))
	}
	return c
}
