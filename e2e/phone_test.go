package e2e

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"
)

// phoneConsole collects the console errors, assertions and uncaught
// exceptions of a page; any of them fails the browser tests.
type phoneConsole struct {
	mu       sync.Mutex
	problems []string
}

// Problems returns what was collected so far.
func (c *phoneConsole) Problems() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.problems...)
}

// Reset forgets what was collected (after a step that provokes an error on purpose).
func (c *phoneConsole) Reset() {
	c.mu.Lock()
	c.problems = nil
	c.mu.Unlock()
}

// openPhone starts headless Chromium (chrome is its path) with a 360×780
// CSS-pixel screen, Chinese as its language and a fresh profile, and
// collects the page's console problems. opts adjust the viewport (e.g.
// chromedp.EmulateScale(2)). The browser ends with the test.
func openPhone(t testing.TB, chrome string, opts ...chromedp.EmulateViewportOption) (context.Context, *phoneConsole) {
	t.Helper()
	return openPhoneSize(t, chrome, 360, 780, opts...)
}

// openPhoneSize is openPhone with a screen of width×height CSS pixels.
func openPhoneSize(t testing.TB, chrome string, width, height int64, opts ...chromedp.EmulateViewportOption) (context.Context, *phoneConsole) {
	t.Helper()
	return openPhoneWith(t, chrome, width, height, nil, opts...)
}

// openPhoneWith is openPhoneSize with more of Chromium's start options
// (a proxy for the phone's link, say).
func openPhoneWith(t testing.TB, chrome string, width, height int64, extra []chromedp.ExecAllocatorOption, opts ...chromedp.EmulateViewportOption) (context.Context, *phoneConsole) {
	t.Helper()
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), append([]chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chrome), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck, chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.Flag("disable-quic", true), chromedp.Flag("lang", "zh-CN")}, extra...)...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(width, height, opts...)); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	c := &phoneConsole{}
	msgs := chromedp.Console(ctx)
	go func() {
		for m, err := range msgs {
			if err != nil {
				return
			}
			if m.IsException() || m.Type == "error" || m.Type == "assert" {
				c.mu.Lock()
				c.problems = append(c.problems, m.String())
				c.mu.Unlock()
			}
		}
	}()
	return ctx, c
}

// tab drives one browser tab of a test; each helper fails the test,
// naming what it was doing.
type tab struct {
	t   testing.TB
	ctx context.Context
}

// helpers are the tab's step (run actions, 20 s at most), eval (a JS
// expression's JSON into out) and waitFor (poll a JS condition, 20 s).
func (b tab) helpers() (step func(string, ...chromedp.Action[chromedp.Void]), eval func(string, any), waitFor func(string, string)) {
	t, ctx := b.t, b.ctx
	step = func(name string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		sctx, scancel := context.WithTimeout(ctx, 20*time.Second)
		defer scancel()
		if err := chromedp.Do(sctx, actions...); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	eval = func(expr string, out any) {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Evaluate[string](`JSON.stringify(`+expr+`)`))
		if err != nil {
			t.Fatalf("%s: %v", expr, err)
		}
		if err := json.Unmarshal([]byte(s), out); err != nil {
			t.Fatalf("%s: %v (%s)", expr, err, s)
		}
	}
	waitFor = func(what, expr string) {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for {
			ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](expr))
			if err == nil && ok {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: %s still false (%v)", what, expr, err)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	return step, eval, waitFor
}

// shot saves a full-page screenshot of the tab in artifacts/.
func (b tab) shot(name string) {
	b.t.Helper()
	png, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Fatalf("screenshot: %v", err)
	}
	path := filepath.Join(artifactDir(b.t), name)
	if err := os.WriteFile(path, png, 0o644); err != nil {
		b.t.Fatal(err)
	}
	b.t.Logf("screenshot saved: %s", path)
}

// fits fails the test when the page scrolls sideways on a screen width
// CSS pixels wide.
func (b tab) fits(what string, width float64) {
	b.t.Helper()
	wide, err := chromedp.Run(b.ctx, chromedp.Evaluate[float64]("document.documentElement.scrollWidth"))
	if err != nil {
		b.t.Fatal(err)
	}
	if wide > width {
		b.t.Errorf("%s is %v px wide on a %v-px screen", what, wide, width)
	}
}

// mouseDrag presses the left button at (x0, y0), moves in eight steps to
// (x1, y1) and releases it there.
func mouseDrag(x0, y0, x1, y1 float64) []chromedp.Action[chromedp.Void] {
	held := func(p *input.DispatchMouseEventParams) { p.Button, p.Buttons = input.MouseButtonLeft, 1 }
	acts := []chromedp.Action[chromedp.Void]{chromedp.MouseEvent(chromedp.MousePressed, x0, y0, held, chromedp.ClickCount(1))}
	for i := 1; i <= 8; i++ {
		f := float64(i) / 8
		acts = append(acts, chromedp.MouseEvent(chromedp.MouseMoved, x0+(x1-x0)*f, y0+(y1-y0)*f, held))
	}
	return append(acts, chromedp.MouseEvent(chromedp.MouseReleased, x1, y1, held, chromedp.ClickCount(1)))
}
