package web

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
)

// TestCompressionSkipsBinaryTypes: images, PDFs and DICOM bulk data pass
// through unchanged even for a client that accepts gzip.
func TestCompressionSkipsBinaryTypes(t *testing.T) {
	body := bytes.Repeat([]byte("compressible "), 500)
	for _, ct := range []string{"image/png", "image/jpeg", "application/pdf", "application/dicom", `multipart/related; type="application/dicom"; boundary=x`, "text/event-stream", "application/octet-stream"} {
		h := compress(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", ct)
			w.Write(body)
		}))
		req, _ := http.NewRequest("GET", "/x", nil)
		req.Header.Set("Accept-Encoding", "gzip")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Header().Get("Content-Encoding") != "" || !bytes.Equal(rec.Body.Bytes(), body) {
			t.Errorf("%s was compressed", ct)
		}
	}
}

// TestAcceptsGzip reads Accept-Encoding with q-values.
func TestAcceptsGzip(t *testing.T) {
	for h, want := range map[string]bool{"": false, "gzip": true, "br, gzip;q=0.8": true, "gzip;q=0": false, "identity": false, "*": true, "deflate, GZIP": true, "gzip; q=0.000": false} {
		r, _ := http.NewRequest("GET", "/", nil)
		if h != "" {
			r.Header.Set("Accept-Encoding", h)
		}
		if got := acceptsGzip(r); got != want {
			t.Errorf("Accept-Encoding %q: %v, want %v", h, got, want)
		}
	}
}

// TestCompressionSkipsSmallJSON: a JSON answer shorter than gzipMinLength
// is sent as it is, with its length (readying the compressor cost more
// than it saved in the county-year replay); a longer one is compressed.
func TestCompressionSkipsSmallJSON(t *testing.T) {
	for _, c := range []struct {
		n    int
		gzip bool
	}{{10, false}, {gzipMinLength - 20, false}, {gzipMinLength + 20, true}} {
		v := map[string]string{"k": strings.Repeat("a", c.n)}
		h := compress(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { writeJSON(w, http.StatusCreated, v) }))
		req, _ := http.NewRequest("POST", "/x", nil)
		req.Header.Set("Accept-Encoding", "gzip")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		want, _ := json.Marshal(v)
		body := rec.Body.Bytes()
		if got := rec.Header().Get("Content-Encoding") == "gzip"; got != c.gzip {
			t.Errorf("%d-byte value: compressed %v, want %v", c.n, got, c.gzip)
		}
		if c.gzip {
			zr, err := gzip.NewReader(bytes.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			body, _ = io.ReadAll(zr)
		} else if rec.Header().Get("Content-Length") != strconv.Itoa(len(body)) {
			t.Errorf("%d-byte value: Content-Length %q for %d bytes", c.n, rec.Header().Get("Content-Length"), len(body))
		}
		if rec.Code != http.StatusCreated || !bytes.Equal(bytes.TrimSpace(body), want) || rec.Header().Get("Vary") != "Accept-Encoding" {
			t.Errorf("%d-byte value: %d %q %v", c.n, rec.Code, body, rec.Header())
		}
	}
}

// TestCompressionLevelByType: pages are compressed at gzipPageLevel (a
// phone on a weak link reads them), the API's answers at the fastest
// level; the same repetitive body comes out smaller as a page than as
// JSON, and each is exactly what its level makes.
func TestCompressionLevelByType(t *testing.T) {
	var b strings.Builder
	for i := range 400 {
		b.WriteString(`<tr><td class="n">` + strconv.Itoa(i*7919%1000) + `</td><td>平舆县卫生健康委员会 村卫生室 ` + strconv.Itoa(i) + `</td></tr>`)
	}
	body := []byte(b.String())
	sizes := map[string]int{}
	for _, c := range []struct {
		ct    string
		level int
	}{{"text/html; charset=utf-8", gzipPageLevel}, {"application/json", gzipLevel}} {
		h := compress(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", c.ct)
			w.Write(body)
		}))
		req, _ := http.NewRequest("GET", "/x", nil)
		req.Header.Set("Accept-Encoding", "gzip")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		var want bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&want, c.level)
		zw.Write(body)
		zw.Close()
		if !bytes.Equal(rec.Body.Bytes(), want.Bytes()) {
			t.Errorf("%s: %d bytes, want level %d's %d", c.ct, rec.Body.Len(), c.level, want.Len())
		}
		sizes[c.ct] = rec.Body.Len()
	}
	if sizes["text/html; charset=utf-8"] >= sizes["application/json"] {
		t.Errorf("page %d bytes, not smaller than the API's %d", sizes["text/html; charset=utf-8"], sizes["application/json"])
	}
}
