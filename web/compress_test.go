package web_test

import (
	"bufio"
	"compress/gzip"
	"context"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"countycare/care"
	"countycare/store"
)

func gunzip(t *testing.T, b string) string {
	t.Helper()
	zr, err := gzip.NewReader(strings.NewReader(b))
	if err != nil {
		t.Fatalf("not gzip: %v", err)
	}
	out, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

// TestCompression: pages, JSON, CSS, JS and SVG are gzip-compressed for a
// client that accepts it (static files precompressed), with
// Vary: Accept-Encoding; a client that does not accept gzip gets the same
// bytes uncompressed; event streams are never compressed. The byte ratio of
// a typical page is logged (and must be under a half).
func TestCompression(t *testing.T) {
	e := newEnv(t, store.SQLite)
	vd := e.as(care.RoleVillageDoctor)
	gz := map[string]string{"Accept-Encoding": "gzip, deflate, br"}
	plain := map[string]string{"Accept-Encoding": "identity"}

	page := vd.do("GET", "/residents", "", nil, plain)
	zpage := vd.do("GET", "/residents", "", nil, gz)
	if page.code != 200 || zpage.code != 200 {
		t.Fatalf("resident list: %d %d", page.code, zpage.code)
	}
	if zpage.header.Get("Content-Encoding") != "gzip" || page.header.Get("Content-Encoding") != "" {
		t.Fatalf("page encodings: with gzip %q, without %q", zpage.header.Get("Content-Encoding"), page.header.Get("Content-Encoding"))
	}
	for _, r := range []response{page, zpage} {
		if !strings.Contains(r.header.Get("Vary"), "Accept-Encoding") {
			t.Errorf("page without Vary: Accept-Encoding: %v", r.header)
		}
	}
	// The same page (the request ID in the footer aside).
	strip := regexp.MustCompile(`[0-9a-f]{16}`)
	if html := gunzip(t, zpage.body); strip.ReplaceAllString(html, "") != strip.ReplaceAllString(page.body, "") {
		t.Errorf("the compressed page differs from the plain one:\n%.300s\n%.300s", html, page.body)
	}
	ratio := float64(len(zpage.body)) / float64(len(page.body))
	t.Logf("GET /residents (village doctor): %d bytes, %d gzipped, ratio %.2f", len(page.body), len(zpage.body), ratio)
	if ratio > 0.5 {
		t.Errorf("a page compresses to %.0f %% only", ratio*100)
	}

	api := vd.do("GET", "/api/v1/residents?q=", "", nil, gz)
	if api.code != 200 || api.header.Get("Content-Encoding") != "gzip" || !strings.HasPrefix(gunzip(t, api.body), "{") {
		t.Errorf("JSON: %d %v", api.code, api.header)
	}

	// Static files: precompressed once, the same bytes on every request.
	for _, name := range []string{"app.css", "app.js", "favicon.svg"} {
		url := regexp.MustCompile(`/static/[0-9a-f]+/` + regexp.QuoteMeta(name)).FindString(page.body)
		if url == "" {
			t.Fatalf("no %s on the page", name)
		}
		raw := vd.do("GET", url, "", nil, plain)
		z1 := vd.do("GET", url, "", nil, gz)
		z2 := vd.do("GET", url, "", nil, gz)
		if z1.header.Get("Content-Encoding") != "gzip" || !strings.Contains(z1.header.Get("Vary"), "Accept-Encoding") || raw.header.Get("Content-Encoding") != "" {
			t.Errorf("%s: headers %v / %v", name, z1.header, raw.header)
			continue
		}
		if gunzip(t, z1.body) != raw.body || z1.body != z2.body || len(z1.body) >= len(raw.body) {
			t.Errorf("%s: compressed %d bytes of %d, stable %v", name, len(z1.body), len(raw.body), z1.body == z2.body)
		}
		if z1.header.Get("Content-Length") != itoa(int64(len(z1.body))) {
			t.Errorf("%s: Content-Length %s for %d bytes", name, z1.header.Get("Content-Length"), len(z1.body))
		}
	}

	// An event stream is never compressed, and its first bytes arrive at once.
	cs := e.as(care.RoleCountySpecialist)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", e.ts.URL+"/events", nil)
	req.Header.Set("Accept-Encoding", "gzip")
	resp, err := cs.hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Encoding") != "" || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		t.Fatalf("event stream: %d %v", resp.StatusCode, resp.Header)
	}
	line, err := bufio.NewReader(resp.Body).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "retry:") {
		t.Errorf("event stream's first line: %q %v", line, err)
	}
}
