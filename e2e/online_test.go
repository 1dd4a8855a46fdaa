package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"countycare/store"
)

// TestResidentBooksDoctorPrescribes is issue #7's browser test on a
// 360-px phone screen: a village doctor signs an outpatient prescription
// for gastritis on the prescriber's page (reviewed first); the resident
// books an online follow-up for that condition and writes to the doctor;
// the doctor re-enters the password, tries a psychotropic (refused online)
// and signs a clean prescription, which the resident sees waiting for the
// pharmacist. Pages fit the screen; console errors other than the
// expected 422 fail the test.
func TestResidentBooksDoctorPrescribes(t *testing.T) {
	chrome := chromiumPath(t)
	base, logins, dbPath := startBinaryDB(t)
	doctor, resident := logins["village_doctor"], logins["resident"]
	if doctor == "" || resident == "" {
		t.Fatalf("sign-ins printed: %v", logins)
	}
	// Online visits need ≥ 3 years of practice; the demo's doctor gets 10.
	ctx := context.Background()
	st, err := store.Open(ctx, "sqlite://"+dbPath, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.ExecForTest(ctx, `UPDATE practitioners SET practice_since = '2016-01-01' WHERE id = (SELECT practitioner_id FROM accounts WHERE username = '`+doctor+`')`); err != nil {
		t.Fatal(err)
	}
	acc, err := st.AccountByUsername(ctx, resident)
	if err != nil {
		t.Fatal(err)
	}
	rid := strconv.FormatInt(acc.ResidentID, 10)

	bctx, console := openPhone(t, chrome)
	step := func(name string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		sctx, scancel := context.WithTimeout(bctx, 20*time.Second)
		defer scancel()
		if err := chromedp.Do(sctx, actions...); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	text := func(sel string) string {
		t.Helper()
		sctx, scancel := context.WithTimeout(bctx, 10*time.Second)
		defer scancel()
		s, err := chromedp.Run(sctx, chromedp.Text(sel))
		if err != nil {
			t.Fatalf("text of %s: %v", sel, err)
		}
		return s
	}
	fits := func(what string) {
		t.Helper()
		wide, err := chromedp.Run(bctx, chromedp.Evaluate[float64]("document.documentElement.scrollWidth"))
		if err != nil || wide > 360 {
			t.Errorf("%s is %v px wide on a 360-px screen (%v)", what, wide, err)
		}
	}
	shot := func(name string) {
		t.Helper()
		b, err := chromedp.Run(bctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatalf("screenshot: %v", err)
		}
		if err := os.WriteFile(filepath.Join(artifactDir(t), name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	signIn := func(user string) {
		t.Helper()
		step("sign in "+user, chromedp.Navigate(base+"/login"), chromedp.WaitVisible("#username"),
			chromedp.SendKeys("#username", user), chromedp.SendKeys("#password", "Countycare-Demo-2026"),
			chromedp.Click("#login"), chromedp.WaitReady("#nav-online"))
	}
	signOut := func() {
		t.Helper()
		step("sign out", chromedp.Click("label.menu-button"), chromedp.Click(`form[action="/logout"] button`), chromedp.WaitVisible("#username"))
	}
	fill := func(then chromedp.Action[chromedp.Void], kv ...string) []chromedp.Action[chromedp.Void] {
		var as []chromedp.Action[chromedp.Void]
		for i := 0; i+1 < len(kv); i += 2 {
			as = append(as, chromedp.SetValue(`#rx-form [name="`+kv[i]+`"]`, kv[i+1]))
		}
		return append(as, then)
	}
	omeprazole := []string{"drug0", "omeprazole-20c", "dose0", "20", "unit0", "mg", "freq0", "qd", "route0", "po", "days0", "7", "qty0", "7"}

	// The offline visit: the doctor reviews, then signs.
	signIn(doctor)
	step("prescriber's page", chromedp.Navigate(base+"/residents/"+rid+"/rx/new"), chromedp.WaitVisible("#rx-form"))
	fits("the prescriber's page")
	step("review", fill(chromedp.Click("#rx-review"), append([]string{"diagnoses", "K29.7", "weight_kg", "60"}, omeprazole...)...)...)
	step("findings", chromedp.WaitVisible("#rx-findings"))
	if got := text("#rx-findings"); !strings.Contains(got, "签署前") {
		t.Errorf("findings before signing: %q", got)
	}
	step("sign", chromedp.Click("#rx-sign"))
	waitURL(t, bctx, "signed=")
	step("signed", chromedp.WaitVisible("#rx-signed"))
	if got := text("#rx-findings"); !strings.Contains(got, "签署后") {
		t.Errorf("findings after signing: %q", got)
	}
	shot("browser-360-prescriber.png")
	signOut()

	// The resident books on the phone and writes.
	signIn(resident)
	step("online page", chromedp.Navigate(base+"/online"), chromedp.WaitVisible("#book-diagnosis"))
	fits("the booking page")
	step("book", chromedp.SetValue("#book-diagnosis", "K29.7"), chromedp.SendKeys(`#book textarea[name="complaint"]`, "饭后胃痛，想复诊"),
		chromedp.Click("#book-submit"))
	waitURL(t, bctx, "ok=online_booked")
	loc, err := chromedp.Run(bctx, chromedp.Location())
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`/online/(\d+)`).FindStringSubmatch(loc)
	if m == nil {
		t.Fatalf("after booking: %s", loc)
	}
	vid := m[1]
	step("write", chromedp.WaitVisible("#message-form"), chromedp.SendKeys(`#message-form textarea[name="text"]`, "医生好，药快吃完了"),
		chromedp.Click(`#message-form button[type="submit"]`), chromedp.WaitVisible("#messages"))
	fits("the visit page")
	shot("browser-360-online-resident.png")
	signOut()

	// The doctor steps up and prescribes online.
	signIn(doctor)
	step("visit", chromedp.Navigate(base+"/online/"+vid), chromedp.WaitVisible("#step-up"))
	step("step up", chromedp.SendKeys(`#step-up input[name="password"]`, "Countycare-Demo-2026"), chromedp.Click(`#step-up button`),
		chromedp.WaitVisible("#write-rx"))
	if got := text("#messages"); !strings.Contains(got, "药快吃完了") {
		t.Errorf("doctor sees chat %q", got)
	}
	step("online prescriber's page", chromedp.Navigate(base+"/online/"+vid+"/rx"), chromedp.WaitVisible("#rx-online-hint"))
	step("psychotropic", fill(chromedp.Click("#rx-sign"), "drug0", "diazepam-2.5t", "dose0", "2.5", "unit0", "mg", "freq0", "qn", "route0", "po", "days0", "7", "qty0", "7")...)
	step("refused", chromedp.WaitVisible("#form-error"))
	if got := text("#rx-findings"); !strings.Contains(got, "精神药品") {
		t.Errorf("psychotropic online: %q", got)
	}
	step("clean", fill(chromedp.Click("#rx-sign"), omeprazole...)...)
	waitURL(t, bctx, "ok=online_prescribed")
	fits("the doctor's visit page")
	signOut()

	// The resident sees the prescription waiting for the pharmacist.
	signIn(resident)
	step("visit", chromedp.Navigate(base+"/online/"+vid), chromedp.WaitVisible("#visit-status"))
	if got := text("#rx"); got == "" {
		t.Error("no prescriptions heading")
	}
	body, err := chromedp.Run(bctx, chromedp.Text("main"))
	if err != nil || !strings.Contains(body, "待药师审核") {
		t.Errorf("resident's visit page: %v %q", err, body)
	}
	fits("the resident's visit page with a prescription")
	shot("browser-360-online-prescribed.png")

	time.Sleep(300 * time.Millisecond)
	problems := console.Problems()
	for _, p := range problems {
		if !strings.Contains(p, "status of 422") {
			t.Errorf("browser console error: %s", p)
		}
	}
}

// apiSession signs user in over the JSON API and returns a call function
// that sends the session's CSRF token.
func apiSession(t *testing.T, base, user string) func(method, path string, body any) (int, string) {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	hc := &http.Client{Jar: jar, Timeout: 20 * time.Second}
	csrf := ""
	do := func(method, path string, body any) (int, string) {
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
		if csrf != "" {
			req.Header.Set("X-CSRF-Token", csrf)
		}
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	code, body := do("POST", "/api/v1/session", map[string]string{"username": user, "password": "Countycare-Demo-2026"})
	var sess struct {
		CSRF string `json:"csrf_token"`
	}
	if json.Unmarshal([]byte(body), &sess); code != 200 || sess.CSRF == "" {
		t.Fatalf("API sign-in %s: %d %s", user, code, body)
	}
	csrf = sess.CSRF
	return do
}

// TestOnlineVideoCall: the optional video of an online visit, over the
// consultation's signalling. The resident (on the visit page, a 360-px
// phone) and the doctor (after the step-up) each click Join in their own
// headless Chromium with a fake camera; both must show the other's
// picture on a connected peer connection.
func TestOnlineVideoCall(t *testing.T) {
	chrome := chromiumPath(t)
	base, logins, dbPath := startBinaryDB(t)
	doctor, resident := logins["village_doctor"], logins["resident"]
	ctx := context.Background()
	st, err := store.Open(ctx, "sqlite://"+dbPath, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.ExecForTest(ctx, `UPDATE practitioners SET practice_since = '2016-01-01' WHERE id = (SELECT practitioner_id FROM accounts WHERE username = '`+doctor+`')`); err != nil {
		t.Fatal(err)
	}
	acc, err := st.AccountByUsername(ctx, resident)
	if err != nil {
		t.Fatal(err)
	}
	// The offline prescription and the booking, over the API.
	doc := apiSession(t, base, doctor)
	if code, body := doc("POST", "/api/v1/residents/"+strconv.FormatInt(acc.ResidentID, 10)+"/prescriptions", map[string]any{"kind": "normal",
		"diagnoses": []string{"I10"}, "patient": map[string]any{"weight_kg": 60}, "lines": []any{map[string]any{"drug_code": "amlodipine-5t",
			"dose": 5, "dose_unit": "mg", "frequency": "qd", "route": "po", "days": 7, "quantity": 7}}}); code != 201 {
		t.Fatalf("offline prescription: %d %s", code, body)
	}
	res := apiSession(t, base, resident)
	code, body := res("POST", "/api/v1/online/visits", map[string]any{"diagnosis": "I10", "complaint": "血压复诊"})
	var v struct{ ID int64 }
	if json.Unmarshal([]byte(body), &v); code != 201 || v.ID == 0 {
		t.Fatalf("book: %d %s", code, body)
	}
	visit := base + "/online/" + strconv.FormatInt(v.ID, 10)

	type browser struct {
		name     string
		ctx      context.Context
		mu       sync.Mutex
		problems []string
	}
	open := func(name, user string, then ...chromedp.Action[chromedp.Void]) *browser {
		actx, cancel := chromedp.NewExecAllocator(context.Background(),
			chromedp.ExecPath(chrome), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
			chromedp.NoDefaultBrowserCheck, chromedp.UserDataDir(t.TempDir()),
			chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
			chromedp.Flag("disable-sync", true), chromedp.Flag("disable-quic", true), chromedp.Flag("lang", "zh-CN"),
			chromedp.Flag("use-fake-device-for-media-stream", true), chromedp.Flag("use-fake-ui-for-media-stream", true))
		t.Cleanup(cancel)
		bctx, cancel2 := chromedp.NewContext(actx)
		t.Cleanup(cancel2)
		if err := chromedp.Do(bctx, chromedp.EmulateViewport(360, 780)); err != nil {
			t.Fatalf("start chromium (%s): %v", name, err)
		}
		b := &browser{name: name, ctx: bctx}
		msgs := chromedp.Console(bctx)
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
		sctx, scancel := context.WithTimeout(bctx, 30*time.Second)
		defer scancel()
		steps := append([]chromedp.Action[chromedp.Void]{chromedp.Navigate(base + "/login"), chromedp.WaitVisible("#username"),
			chromedp.SendKeys("#username", user), chromedp.SendKeys("#password", "Countycare-Demo-2026"),
			chromedp.Click("#login"), chromedp.WaitReady("#nav-online"), chromedp.Navigate(visit)}, then...)
		steps = append(steps, chromedp.WaitVisible("#video"), chromedp.WaitEnabled("#video-join"), chromedp.Click("#video-join"))
		if err := chromedp.Do(sctx, steps...); err != nil {
			t.Fatalf("%s: sign in, open the visit and join: %v", name, err)
		}
		return b
	}
	patient := open("resident", resident)
	doctorB := open("doctor", doctor, chromedp.WaitVisible("#step-up"), chromedp.SendKeys(`#step-up input[name="password"]`, "Countycare-Demo-2026"),
		chromedp.Click(`#step-up button`), chromedp.WaitVisible("#write-rx"))

	const connected = `(function () {
  var f = document.querySelector('#video figure.peer[data-state="connected"]');
  return !!f && f.querySelector("video").videoWidth > 0;
})()`
	deadline := time.Now().Add(30 * time.Second)
	for _, b := range []*browser{patient, doctorB} {
		for {
			ok, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool](connected))
			if err == nil && ok {
				break
			}
			if time.Now().After(deadline) {
				state, _ := chromedp.Run(b.ctx, chromedp.Evaluate[string](`document.getElementById("video-state").textContent`))
				t.Fatalf("%s: no connected peer with video (%v): %s", b.name, err, state)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	wide, err := chromedp.Run(patient.ctx, chromedp.Evaluate[float64]("document.documentElement.scrollWidth"))
	if err != nil || wide > 360 {
		t.Errorf("the visit page with the call is %v px wide on a 360-px screen (%v)", wide, err)
	}
	if shot, err := chromedp.Run(patient.ctx, chromedp.FullScreenshot(100)); err == nil {
		os.WriteFile(filepath.Join(artifactDir(t), "browser-360-online-video.png"), shot, 0o644)
	}
	for _, b := range []*browser{patient, doctorB} {
		b.mu.Lock()
		for _, p := range b.problems {
			t.Errorf("%s: script exception: %s", b.name, p)
		}
		b.mu.Unlock()
	}
}
