// Package e2e runs the countycare binary as a user would and drives it
// with a real headless Chromium (Debian's chromium package).
package e2e

import (
	"bufio"
	"bytes"
	"context"
	"image/png"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"countycare/idcard"
)

// startBinary builds countycare, runs `serve --demo` on a free loopback
// port with a fresh SQLite database, and returns the URL and the demo
// sign-ins by role.
func startBinary(t testing.TB) (string, map[string]string) {
	t.Helper()
	u, logins, _ := startBinaryDB(t)
	return u, logins
}

// startBinaryDB is startBinary that also returns the SQLite file's path.
func startBinaryDB(t testing.TB) (string, map[string]string, string) {
	t.Helper()
	dir := t.TempDir()
	bin := buildBinary(t, dir)
	db := filepath.Join(dir, "cc.db")
	u, logins := serveBinary(t, bin, "--demo", "--residents", "3000", "--db", "sqlite://"+db)
	return u, logins, db
}

// buildBinary builds countycare into dir and returns its path.
func buildBinary(t testing.TB, dir string) string {
	t.Helper()
	bin := filepath.Join(dir, "countycare")
	build := exec.Command("go", "build", "-o", bin, "../cmd/countycare")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	return bin
}

// serveBinary runs bin serve with args on a loopback port until the test
// ends, and returns its URL and the sign-ins it printed (with --demo).
func serveBinary(t testing.TB, bin string, args ...string) (string, map[string]string) {
	t.Helper()
	cmd := exec.Command(bin, append(append([]string{"serve"}, args...), "--addr", "127.0.0.1:0", "--log-format", "text")...)
	stdout, _ := cmd.StdoutPipe()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
		}
	})
	logins := map[string]string{}
	urlRe := regexp.MustCompile(`serving .* on (http://\S+)`)
	sc := bufio.NewScanner(stdout)
	deadline := time.AfterFunc(90*time.Second, func() { cmd.Process.Kill() })
	defer deadline.Stop()
	for sc.Scan() {
		line := sc.Text()
		if m := loginRe.FindStringSubmatch(line); m != nil {
			logins[m[1]] = m[2]
		}
		if m := urlRe.FindStringSubmatch(line); m != nil {
			go func() {
				for sc.Scan() {
				}
			}()
			return m[1], logins
		}
	}
	t.Fatalf("server did not start: %s", stderr.String())
	return "", nil
}

// loginRe is a printed demo sign-in: role, then user name.
var loginRe = regexp.MustCompile(`^\s+(\w+)\s+(\S+)\s`)

func chromiumPath(t testing.TB) string {
	for _, p := range []string{os.Getenv("CHROMIUM"), "/usr/bin/chromium", "/usr/bin/chromium-browser"} {
		if p == "" {
			continue
		}
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	if os.Getenv("COUNTYCARE_SKIP_BROWSER") == "1" {
		t.Skip("SKIPPED: no Chromium and COUNTYCARE_SKIP_BROWSER=1")
	}
	t.Fatal("Chromium not found: install Debian's chromium package (.ci/run does) or set CHROMIUM")
	return ""
}

// artifactDir is where screenshots are saved (COUNTYCARE_ARTIFACTS or ./artifacts at the repository root).
func artifactDir(t testing.TB) string {
	d := os.Getenv("COUNTYCARE_ARTIFACTS")
	if d == "" {
		d = filepath.Join("..", "artifacts")
	}
	if err := os.MkdirAll(d, 0o755); err != nil {
		t.Fatal(err)
	}
	return d
}

// TestVillageDoctorRegistersAndFindsResident is issue #2's browser test: a
// village doctor signs in on a 360-px-wide phone screen, registers a
// resident, and finds them again by pinyin initials; any console error
// fails the test; a screenshot is saved.
func TestVillageDoctorRegistersAndFindsResident(t *testing.T) {
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
	text := func(sel string) string {
		t.Helper()
		sctx, scancel := context.WithTimeout(ctx, 10*time.Second)
		defer scancel()
		s, err := chromedp.Run(sctx, chromedp.Text(sel))
		if err != nil {
			t.Fatalf("text of %s: %v", sel, err)
		}
		return s
	}
	shot := func(name string) {
		t.Helper()
		b, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatalf("screenshot: %v", err)
		}
		path := filepath.Join(artifactDir(t), name)
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("screenshot saved: %s", path)
	}

	step("sign in", chromedp.Navigate(base+"/login"), chromedp.WaitVisible("#username"),
		chromedp.SendKeys("#username", user), chromedp.SendKeys("#password", "Countycare-Demo-2026"),
		chromedp.Click("#login"), chromedp.WaitVisible(".tiles"))

	// A resident with a surname read differently as a surname: 覃 = Qín.
	id := string(idcard.Make("411723", time.Date(1979, 3, 8, 0, 0, 0, 0, time.UTC), 357))
	step("open the form", chromedp.Navigate(base+"/residents/new"), chromedp.WaitVisible("#name"))
	shot("browser-360-register.png")
	step("register", chromedp.SendKeys("#name", "覃海波"), chromedp.SendKeys("#id_number", id), chromedp.SendKeys("#phone", "13912340000"),
		chromedp.Click("#save"))
	waitURL(t, ctx, "ok=registered")
	step("resident page", chromedp.WaitVisible("#resident-name"))
	if got := text("#resident-name"); got != "覃海波" {
		t.Fatalf("after registering, page shows %q", got)
	}
	if got := text("#id-number"); strings.Contains(got, id[6:14]) {
		t.Errorf("ID number shown unmasked: %s", got)
	}

	// The family doctor panel on the same page: sign a contract on the phone.
	fits := func(what string) {
		t.Helper()
		wide, err := chromedp.Run(ctx, chromedp.Evaluate[float64]("document.documentElement.scrollWidth"))
		if err != nil || wide > 360 {
			t.Errorf("%s is %v px wide on a 360-px screen (%v)", what, wide, err)
		}
	}
	step("family panel", chromedp.WaitVisible("#sign-form"))
	fits("the resident page with the contract panel")
	step("sign a contract", chromedp.SetValue(`#sign-form select[name="consent_by"]`, "self"),
		chromedp.SetValue(`#sign-form select[name="consent_method"]`, "paper_signature"),
		chromedp.Click(`#sign-form button[type="submit"]`))
	waitURL(t, ctx, "ok=contract_signed")
	step("contract", chromedp.WaitVisible("#fulfilment"))
	fits("the resident page with a contract")
	shot("browser-360-family.png")

	// The resident's imaging page (upload form, studies) fits the phone too.
	if loc, err := chromedp.Run(ctx, chromedp.Location()); err == nil {
		if u, err := url.Parse(loc); err == nil {
			step("imaging page", chromedp.Navigate(base+u.Path+"/imaging"), chromedp.WaitVisible(`input[name="files"]`))
			fits("the imaging page")
		}
	}

	step("search by pinyin initials", chromedp.Navigate(base+"/residents"), chromedp.WaitVisible("#q"),
		chromedp.SendKeys("#q", "qhb"), chromedp.Click("#search"))
	waitURL(t, ctx, "q=qhb")
	step("results", chromedp.WaitVisible("#results"))
	if got := text("#results"); !strings.Contains(got, "覃海波") {
		t.Fatalf("search qhb found: %s", got)
	}
	// The page fits the phone: nothing wider than the 360-px viewport.
	wide, err := chromedp.Run(ctx, chromedp.Evaluate[float64]("document.documentElement.scrollWidth"))
	if err != nil || wide > 360 {
		t.Errorf("page is %v px wide on a 360-px screen (%v)", wide, err)
	}
	shot("browser-360-search.png")
	b, _ := os.ReadFile(filepath.Join(artifactDir(t), "browser-360-search.png"))
	if img, err := png.Decode(bytes.NewReader(b)); err != nil || img.Bounds().Dx() != 360 {
		t.Errorf("screenshot is not 360 px wide: %v", err)
	}

	time.Sleep(300 * time.Millisecond) // let late console messages arrive
	if problems := console.Problems(); len(problems) > 0 {
		t.Errorf("browser console errors:\n%s", strings.Join(problems, "\n"))
	}
	console.Reset()

	// A bad ID number is refused with a message naming the fault, in the
	// form. The page comes back with status 422, which Chromium logs; that
	// one entry is expected, nothing else is.
	step("bad ID", chromedp.Navigate(base+"/residents/new"), chromedp.WaitVisible("#name"),
		chromedp.SendKeys("#name", "李四"), chromedp.SendKeys("#id_number", id[:17]+wrongCheck(id[17])),
		chromedp.Click("#save"), chromedp.WaitVisible("#id_number-error"))
	if got := text("#id_number-error"); !strings.Contains(got, "校验码") {
		t.Errorf("bad ID number message: %q", got)
	}

	time.Sleep(300 * time.Millisecond)
	problems := console.Problems()
	for _, p := range problems {
		if !strings.Contains(p, "status of 422") {
			t.Errorf("browser console error: %s", p)
		}
	}
}

// waitURL waits until the page's URL contains part (a form submission has
// navigated), so the next query does not read the previous page.
func waitURL(t *testing.T, ctx context.Context, part string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		loc, err := chromedp.Run(ctx, chromedp.Location())
		if err == nil && strings.Contains(loc, part) {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("page never reached a URL with %q", part)
}

func wrongCheck(c byte) string {
	if c == '1' {
		return "2"
	}
	return "1"
}
