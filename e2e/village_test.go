package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httputil"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"countycare/care"
)

// cutProxy is the phone's mobile link: every request of the browser —
// the page's and its service worker's — goes through it, and while it is
// cut every connection is dropped. CDP's network emulation makes the page
// see itself offline (navigator.onLine); the proxy makes sure nothing
// reaches the server meanwhile, service worker included.
type cutProxy struct {
	cut atomic.Bool
	rp  *httputil.ReverseProxy
}

func newCutProxy(t *testing.T) (*cutProxy, string) {
	p := &cutProxy{rp: &httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) { r.Out.URL = r.In.URL; r.Out.Host = r.In.URL.Host }, FlushInterval: -1,
		ErrorLog: log.New(io.Discard, "", 0)}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: p}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return p, "http://" + ln.Addr().String()
}

func (p *cutProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// Only the test's server is reachable: the browser's own calls home
	// (CONNECT to Google's update servers) are dropped like a cut link.
	if p.cut.Load() || r.Method == http.MethodConnect || r.URL.Scheme != "http" {
		if hj, ok := w.(http.Hijacker); ok {
			if c, _, err := hj.Hijack(); err == nil {
				c.Close()
				return
			}
		}
		http.Error(w, "cut", http.StatusBadGateway)
		return
	}
	p.rp.ServeHTTP(w, r)
}

// openDevice is openPhone for a phone whose link goes through proxy
// (loopback included: Chromium bypasses a proxy for it unless told not to).
func openDevice(t *testing.T, chrome, proxy string) (context.Context, *phoneConsole) {
	t.Helper()
	return openPhoneWith(t, chrome, 360, 780, []chromedp.ExecAllocatorOption{chromedp.ProxyServer(proxy), chromedp.Flag("proxy-bypass-list", "<-loopback>")})
}

// pageFaults are the console's problems but the browser's own line for
// each request that failed while the link was down (the live-events
// connection retrying, the service worker trying the network first).
func pageFaults(c *phoneConsole) []string {
	var out []string
	for _, p := range c.Problems() {
		if !strings.Contains(p, "Failed to load resource: net::ERR_INTERNET_DISCONNECTED") {
			out = append(out, p)
		}
	}
	return out
}

// openVillageOffline signs user in on a 360-px phone whose link goes
// through a cut proxy, opens the village app, waits until the village is
// stored and the service worker controls the page, and cuts the link.
func openVillageOffline(t *testing.T, chrome, base, user string) (*cutProxy, context.Context, *phoneConsole) {
	t.Helper()
	proxy, proxyURL := newCutProxy(t)
	ctx, console := openDevice(t, chrome, proxyURL)
	step, _, waitFor := tab{t, ctx}.helpers()
	signInAs(t, ctx, base, user)
	step("open the app", chromedp.Navigate(base+"/village/app"), chromedp.WaitVisible("#village"))
	waitFor("the village downloaded", `!!document.getElementById("village").dataset.synced`)
	waitFor("the service worker controls the page", `!!navigator.serviceWorker.controller`)
	proxy.link(t, ctx, true)
	return proxy, ctx, console
}

// link sets the device's link: offline (proxy cut and CDP emulation) or not.
func (p *cutProxy) link(t *testing.T, ctx context.Context, offline bool) {
	t.Helper()
	p.cut.Store(offline)
	if err := emulateLink(ctx, offline, -1); err != nil {
		t.Fatalf("link offline=%v: %v", offline, err)
	}
}

// TestVillageAppOffline is issue 13 §1's browser test. A village doctor
// opens the village app on a 360-px phone, which downloads the village;
// the link goes (CDP network emulation, and a proxy that drops every
// connection); the doctor records 20 follow-ups (one urgent: the alert
// shows at once) and 2 registrations, and one registration the server
// will refuse; the page is reloaded offline (the service worker's shell,
// IndexedDB's data and queue); the link returns: everything arrives exactly
// once and the refusal is shown. Two devices then edit the same resident's
// phone number: the later is conflicted and shows the server's version.
// Last, the shell's offline load is timed at 4× CPU slowdown.
func TestVillageAppOffline(t *testing.T) {
	chrome := chromiumPath(t)
	base, logins := startBinary(t)
	user := logins["village_doctor"]
	api := signIn(t, base, user)
	today := care.Today(time.Now()).String()

	// The village's registrations not yet seen today (enrol more if needed).
	var pull struct {
		R []struct {
			ID int64  `json:"i"`
			RN string `json:"rn"`
			S  string `json:"s"`
		} `json:"r"`
		G []struct {
			ID       int64  `json:"i"`
			Resident int64  `json:"r"`
			Last     string `json:"lv"`
		} `json:"g"`
	}
	code, body := api.do("GET", "/api/v1/sync/pull", nil)
	if err := json.Unmarshal(body, &pull); code != 200 || err != nil {
		t.Fatalf("pull: %d %v", code, err)
	}
	type target struct {
		reg, res int64
		rn       string
	}
	rn := map[int64]string{}
	for _, r := range pull.R {
		if r.S == "" {
			rn[r.ID] = r.RN
		}
	}
	var targets []target
	for _, g := range pull.G {
		if g.Last != today && rn[g.Resident] != "" && len(targets) < 20 {
			targets = append(targets, target{g.ID, g.Resident, rn[g.Resident]})
		}
	}
	// A small village: enrol its residents in more registries (one
	// follow-up a registration a day).
	for _, d := range []string{"hepatitis", "diabetes", "hypertension"} {
		for id, n := range rn {
			if len(targets) >= 20 {
				break
			}
			code, body := api.do("POST", fmt.Sprintf("/api/v1/residents/%d/chronic", id), map[string]string{"disease": d, "source": "diagnosis", "enrolled_on": today})
			var g struct{ ID int64 }
			if json.Unmarshal(body, &g); code == 201 && g.ID != 0 {
				targets = append(targets, target{g.ID, id, n})
			}
		}
	}
	if len(targets) < 20 {
		t.Fatalf("only %d registrations to follow up", len(targets))
	}

	proxy, proxyURL := newCutProxy(t)
	ctx, console := openDevice(t, chrome, proxyURL)
	step, eval, waitFor := tab{t, ctx}.helpers()
	signInAs(t, ctx, base, user)
	step("open the app", chromedp.Navigate(base+"/village/app"), chromedp.WaitVisible("#village"))
	waitFor("the village downloaded", `document.getElementById("village").dataset.ready && document.getElementById("res-count").textContent !== "" && !document.getElementById("last-sync").textContent.includes("尚未")`)
	waitFor("the service worker controls the page", `!!navigator.serviceWorker.controller`)

	proxy.link(t, ctx, true)
	step("reload offline", chromedp.Reload(), chromedp.WaitVisible("#village"))
	waitFor("the shell and the data offline", `document.getElementById("village").dataset.ready && document.querySelectorAll("#results li .res").length > 0`)
	var offline bool
	eval(`navigator.onLine === false && document.getElementById("net").textContent.includes("离线")`, &offline)
	if !offline {
		t.Fatal("the app does not say it is offline")
	}

	// 20 follow-ups through the form; the 7th is urgent.
	for i, tg := range targets {
		sbp, dbp := 128+i%7, 80+i%5
		if i == 6 {
			sbp, dbp = 192, 114
		}
		var ok bool
		eval(fmt.Sprintf(`(function () {
		  var q = document.getElementById("q"); q.value = %q; q.dispatchEvent(new Event("input"));
		  var b = document.querySelector('.res[data-id="%d"]'); if (!b) { return false; } b.click();
		  var f = document.getElementById("fu-form"); if (f.hidden) { return false; }
		  f.elements.reg.value = "%d"; f.elements.sbp.value = "%d"; f.elements.dbp.value = "%d"; f.elements.confirm.checked = true;
		  f.requestSubmit(); return true; })()`, tg.rn, tg.res, tg.reg, sbp, dbp), &ok)
		if !ok {
			t.Fatalf("follow-up %d: resident %d or registration %d not on the device", i, tg.res, tg.reg)
		}
		waitFor(fmt.Sprintf("follow-up %d queued", i), fmt.Sprintf(`document.getElementById("pending").dataset.n === "%d"`, i+1))
		if i == 6 {
			var urgent bool
			eval(`!document.getElementById("urgent-alert").hidden && document.getElementById("urgent-reasons").children.length > 0`, &urgent)
			if !urgent {
				t.Error("an urgent BP offline did not show the urgent-transfer alert")
			}
		}
	}
	// Two registrations, and a third whose ID number's check digit is wrong (the server refuses it).
	regs := [][3]string{{"柳青禾", "11010519491231002X", "13800001111"}, {"柳青木", "110105195001010012", ""}, {"错号人", "110105194912310021", ""}}
	for i, r := range regs {
		step("register "+r[0], chromedp.Click(`[data-tab="register"]`), chromedp.WaitVisible("#reg-form"))
		var ok bool
		eval(fmt.Sprintf(`(function () { var f = document.getElementById("reg-form");
		  f.elements.name.value = %q; f.elements.id_number.value = %q; f.elements.phone.value = %q; f.requestSubmit(); return true; })()`, r[0], r[1], r[2]), &ok)
		waitFor("registration queued", fmt.Sprintf(`document.getElementById("pending").dataset.n === "%d"`, 21+i))
	}
	step("reload offline again", chromedp.Reload(), chromedp.WaitVisible("#village"))
	waitFor("the queue survived the reload", `document.getElementById("village").dataset.ready && document.getElementById("pending").dataset.n === "23"`)
	var text string
	eval(`document.getElementById("pending").textContent`, &text)
	if !strings.Contains(text, "23") {
		t.Errorf("waiting to sync shows %q", text)
	}

	proxy.link(t, ctx, false)
	waitFor("everything sent", `document.getElementById("pending").dataset.n === "0"`)
	step("sync problems", chromedp.Click(`[data-tab="outbox"]`), chromedp.WaitVisible("#problems"))
	var problems []string
	eval(`Array.prototype.map.call(document.querySelectorAll("#problems .problem"), function (p) { return p.textContent; })`, &problems)
	if len(problems) != 1 || !strings.Contains(problems[0], "未被接受") || !strings.Contains(problems[0], "错号人") {
		t.Errorf("the refused registration is not shown to the doctor: %q", problems)
	}

	// On the server: each follow-up once, each registration once.
	for i, tg := range targets {
		code, body := api.do("GET", fmt.Sprintf("/api/v1/chronic/%d", tg.reg), nil)
		var d struct {
			Visits []struct {
				Date string `json:"date"`
				SBP  int    `json:"sbp"`
			} `json:"visits"`
		}
		json.Unmarshal(body, &d)
		n := 0
		for _, v := range d.Visits {
			if v.Date == today {
				n++
			}
		}
		if code != 200 || n != 1 {
			t.Errorf("follow-up %d (registration %d): %d visits today on the server, want 1", i, tg.reg, n)
		}
	}
	for _, r := range regs[:2] {
		_, body := api.do("GET", "/api/v1/residents?q="+r[1], nil)
		var s struct{ Residents []any }
		json.Unmarshal(body, &s)
		if len(s.Residents) != 1 {
			t.Errorf("%s registered %d times", r[0], len(s.Residents))
		}
	}
	// Syncing again sends nothing twice.
	step("sync again", chromedp.Click("#sync-now"))
	time.Sleep(time.Second)

	// Two devices edit the same resident's phone: A offline, B online; A
	// syncs last and is conflicted with B's number shown.
	proxyB, proxyBURL := newCutProxy(t)
	ctxB, consoleB := openDevice(t, chrome, proxyBURL)
	stepB, evalB, waitForB := tab{t, ctxB}.helpers()
	_ = proxyB
	signInAs(t, ctxB, base, user)
	stepB("device B opens the app", chromedp.Navigate(base+"/village/app"), chromedp.WaitVisible("#village"))
	waitForB("device B downloaded", `document.getElementById("village").dataset.ready && document.querySelectorAll("#results li .res").length > 0`)
	tg := targets[0]
	edit := func(eval func(string, any), phone string) {
		var ok bool
		eval(fmt.Sprintf(`(function () {
		  document.querySelector('[data-tab="residents"]').click();
		  var q = document.getElementById("q"); q.value = %q; q.dispatchEvent(new Event("input"));
		  var b = document.querySelector('.res[data-id="%d"]'); if (!b) { return false; } b.click();
		  var f = document.getElementById("contact-form"); f.elements.phone.value = %q; f.requestSubmit(); return true; })()`, tg.rn, tg.res, phone), &ok)
		if !ok {
			t.Fatalf("resident %d not on the device", tg.res)
		}
	}
	step("device A back to the list", chromedp.Click(`[data-tab="residents"]`))
	proxy.link(t, ctx, true)
	edit(eval, "13911112222")
	waitFor("A's edit queued", `document.getElementById("pending").dataset.n === "1"`)
	edit(evalB, "13933334444")
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		_, body := api.do("GET", fmt.Sprintf("/api/v1/residents/%d", tg.res), nil)
		if strings.Contains(string(body), "139****4444") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("device B's edit did not reach the server: %s", body)
		}
	}
	waitForB("B's queue empty", `document.getElementById("pending").dataset.n === "0"`)
	proxy.link(t, ctx, false)
	waitFor("A synced", `document.getElementById("pending").dataset.n === "0"`)
	step("A's sync problems", chromedp.Click(`[data-tab="outbox"]`), chromedp.WaitVisible("#problems"))
	eval(`Array.prototype.map.call(document.querySelectorAll("#problems .problem"), function (p) { return p.textContent; })`, &problems)
	conflict := false
	for _, p := range problems {
		conflict = conflict || strings.Contains(p, "与服务器冲突") && strings.Contains(p, "13933334444")
	}
	if !conflict {
		t.Errorf("device A's conflicting edit is not shown with the server's version: %q", problems)
	}
	if _, body := api.do("GET", fmt.Sprintf("/api/v1/residents/%d", tg.res), nil); !strings.Contains(string(body), "139****4444") {
		t.Errorf("the server's number is not device B's after A's conflicting edit: %s", body)
	}

	// The shell's offline load at 4× CPU slowdown (Fast-3G-class phone).
	proxy.link(t, ctx, true)
	if _, err := chromedp.Call(ctx, emulation.SetCPUThrottlingRate, emulation.SetCPUThrottlingRateParams{Rate: 4}); err != nil {
		t.Fatal(err)
	}
	var best float64 = -1
	for range 3 {
		step("reload offline, throttled", chromedp.Reload(), chromedp.WaitVisible("#village"))
		waitFor("ready", `!!document.getElementById("village").dataset.ready`)
		var ms float64
		eval(`Number(document.getElementById("village").dataset.ready)`, &ms)
		if best < 0 || ms < best {
			best = ms
		}
	}
	t.Logf("app shell offline at 4× CPU slowdown: ready %.0f ms after navigation start (best of 3)", best)
	// The figure of record (target ≤ 1 s) is read from this log on a quiet
	// machine (docs/benchmarks.md); on a shared, loaded one only a gross
	// regression fails the test.
	if best > 5000 {
		t.Errorf("offline shell took %.0f ms at 4× CPU slowdown (target ≤ 1000 ms; fails beyond 5000)", best)
	}
	if _, err := chromedp.Call(ctx, emulation.SetCPUThrottlingRate, emulation.SetCPUThrottlingRateParams{Rate: 1}); err != nil {
		t.Fatal(err)
	}

	// Too long without contact: opening the app wipes what the phone holds.
	var wiped bool
	eval(`(function () { var rq = indexedDB.open("countycare-village"); rq.onsuccess = function () {
	  var x = rq.result.transaction("meta", "readwrite"), st = x.objectStore("meta"), g = st.get("meta");
	  g.onsuccess = function () { var m = g.result; m.lastContact = new Date(Date.now() - (m.wipeAfter + 3600) * 1000).toISOString(); st.put(m, "meta"); };
	  x.oncomplete = function () { rq.result.close(); window.aged = true; }; }; return true; })()`, &wiped)
	waitFor("the last contact aged", `window.aged === true`)
	step("reopen after too long", chromedp.Reload(), chromedp.WaitVisible("#village"))
	waitFor("wiped", `!!document.getElementById("village").dataset.ready && document.getElementById("sync-msg").textContent.includes("已清除")`)
	eval(`document.querySelectorAll("#results .res").length === 0 && document.getElementById("pending").dataset.n === "0"`, &wiped)
	if !wiped {
		t.Error("the phone kept the village's data after the wipe time without contact")
	}

	// Sign-out wipes the phone: the database and the cached shell go.
	proxy.link(t, ctx, false)
	waitFor("downloaded again", `document.querySelectorAll("#results .res").length > 0`)
	step("sign out", chromedp.Click("#signout"), chromedp.WaitVisible("#username"))
	left, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`indexedDB.databases().then(function (ds) { return ds.map(function (d) { return d.name; }); })`, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatal(err)
	}
	shells, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`caches.keys()`, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range append(left, shells...) {
		if strings.HasPrefix(n, "countycare-village") || strings.HasPrefix(n, "village-") {
			t.Errorf("left on the phone after sign-out: %s", n)
		}
	}
	if p := pageFaults(console); len(p) > 0 {
		t.Errorf("console (device A): %v", p)
	}
	if p := pageFaults(consoleB); len(p) > 0 {
		t.Errorf("console (device B): %v", p)
	}
}
