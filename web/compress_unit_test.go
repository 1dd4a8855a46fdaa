package web

import (
	"bytes"
	"net/http"
	"net/http/httptest"
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
