package web

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"mime"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
)

// Responses are gzip-compressed when the client accepts it and the body is
// text that compresses: HTML, JSON (DICOM JSON included), CSS, JavaScript,
// SVG, CSV and plain text. Never compressed: images other than SVG, PDFs
// (already compressed inside), DICOM files and multipart bulk data, and
// Server-Sent Events streams (text/event-stream: a compressor would hold
// events back). Every response of a compressible type carries
// Vary: Accept-Encoding, so a shared cache keeps both forms apart.
//
// Static files (web/static, embedded) are compressed once at start
// (loadStatic) and sent as they are; pages and API answers are compressed
// as they are written (gzip level 5: most of the gain for a fraction of
// level 9's time). Brotli would save a little more but has no well-kept
// pure-Go encoder in the standard library; gzip is what every browser and
// client accepts. The one exception is a static file built outside Go
// with a brotli form beside it (web/static/echarts.min.js.br, written by
// tools/echarts): it is sent as br to browsers that accept it.

// compressible reports whether a response of this Content-Type is compressed.
func compressible(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return false
	}
	switch mt {
	case "text/html", "application/json", "application/dicom+json", "text/css", "text/javascript", "application/javascript",
		"image/svg+xml", "text/csv", "text/plain":
		return true
	}
	return false
}

// acceptsGzip reports whether the request's Accept-Encoding allows gzip
// (gzip or *, with a q-value above zero).
func acceptsGzip(r *http.Request) bool { return acceptsCoding(r, "gzip") }

// acceptsCoding reports whether the request's Accept-Encoding allows
// content coding want (want or *, with a q-value above zero). Static files
// precompressed with brotli (br) are sent as such to browsers that ask.
func acceptsCoding(r *http.Request, want string) bool {
	for _, h := range r.Header.Values("Accept-Encoding") {
		for _, part := range strings.Split(h, ",") {
			coding, params, _ := strings.Cut(strings.TrimSpace(part), ";")
			coding = strings.ToLower(strings.TrimSpace(coding))
			if coding != want && coding != "*" {
				continue
			}
			q := 1.0
			if k, v, ok := strings.Cut(strings.TrimSpace(params), "="); ok && strings.TrimSpace(k) == "q" {
				if f, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil {
					q = f
				}
			}
			return q > 0
		}
	}
	return false
}

// gzipMinLength is the smallest answer of known length that is compressed.
// Below it gzip saves a few hundred bytes at most — the answer fits one
// TCP segment (MSS 1460) either way — while readying a pooled compressor
// (gzip.Writer.Reset clears its tables) cost 4.8 % of the server's CPU in
// the county-year replay, whose JSON answers are mostly this small
// (docs/benchmarks.md, "county-year replay"). nginx's gzip_min_length
// makes the same trade.
const gzipMinLength = 1024

// gzipLevel is the level of the API's answers (JSON, FHIR, NDJSON, CSV)
// compressed as they are written: the fastest. At levels 2–9 each
// response's gzip.Writer.Reset clears the compressor's hash chains (640
// KiB), and their match search is dearer: 3.6 % of the server's CPU in the
// county-year replay at level 5, for answers of one to a few tens of
// kilobytes (the reading worklist, a settlement); level 1's reset only
// moves an offset, and JSON still shrinks to a third.
const gzipLevel = gzip.BestSpeed

// gzipPageLevel is the level of HTML pages: a page is read on a village
// doctor's phone over a weak link, where its bytes cost more than the
// server's CPU; level 1 made the county dashboard's page 14 % larger (7.7
// against 8.8 KB) and put the 360-px first view over its 150 KB budget
// (TestDashboardInBrowser).
const gzipPageLevel = 5

var (
	gzipPool     = sync.Pool{New: func() any { w, _ := gzip.NewWriterLevel(nil, gzipLevel); return w }}
	gzipPagePool = sync.Pool{New: func() any { w, _ := gzip.NewWriterLevel(nil, gzipPageLevel); return w }}
)

// gzipPoolFor is the pool of compressors for a response of contentType.
func gzipPoolFor(contentType string) *sync.Pool {
	if strings.HasPrefix(contentType, "text/html") {
		return &gzipPagePool
	}
	return &gzipPool
}

// compress wraps h: it compresses compressible responses for clients that
// accept gzip and adds Vary: Accept-Encoding to them.
func compress(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cw := &compressWriter{ResponseWriter: w, accepts: acceptsGzip(r) && r.Method != http.MethodHead}
		defer cw.close()
		h.ServeHTTP(cw, r)
	})
}

// compressWriter decides at the first WriteHeader or Write, from the
// headers the handler set, whether to compress.
type compressWriter struct {
	http.ResponseWriter
	accepts bool
	decided bool
	gz      *gzip.Writer
	pool    *sync.Pool // where gz came from
}

func (w *compressWriter) decide(status int) {
	if w.decided {
		return
	}
	w.decided = true
	h := w.Header()
	if !compressible(h.Get("Content-Type")) {
		return
	}
	h.Add("Vary", "Accept-Encoding")
	if !w.accepts || h.Get("Content-Encoding") != "" || status < 200 || status == http.StatusNoContent || status == http.StatusNotModified {
		return
	}
	if n, err := strconv.Atoi(h.Get("Content-Length")); err == nil && n < gzipMinLength {
		return
	}
	h.Set("Content-Encoding", "gzip")
	h.Del("Content-Length")
	w.pool = gzipPoolFor(h.Get("Content-Type"))
	w.gz = w.pool.Get().(*gzip.Writer)
	w.gz.Reset(w.ResponseWriter)
}

func (w *compressWriter) WriteHeader(status int) {
	if status >= 100 && status < 200 {
		w.ResponseWriter.WriteHeader(status)
		return
	}
	w.decide(status)
	w.ResponseWriter.WriteHeader(status)
}

func (w *compressWriter) Write(b []byte) (int, error) {
	if !w.decided {
		if w.Header().Get("Content-Type") == "" {
			w.Header().Set("Content-Type", http.DetectContentType(b))
		}
		w.WriteHeader(http.StatusOK)
	}
	if w.gz != nil {
		return w.gz.Write(b)
	}
	return w.ResponseWriter.Write(b)
}

// Flush sends what has been compressed so far (http.Flusher and
// http.ResponseController).
func (w *compressWriter) Flush() {
	if w.gz != nil {
		w.gz.Flush()
	}
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// FlushError is Flush for http.ResponseController.
func (w *compressWriter) FlushError() error {
	if w.gz != nil {
		if err := w.gz.Flush(); err != nil {
			return err
		}
	}
	return http.NewResponseController(w.ResponseWriter).Flush()
}

// Hijack passes through (no compressed response is hijacked).
func (w *compressWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	return http.NewResponseController(w.ResponseWriter).Hijack()
}

func (w *compressWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *compressWriter) close() {
	if w.gz != nil {
		w.gz.Close()
		w.gz.Reset(nil)
		w.pool.Put(w.gz)
		w.gz = nil
	}
}

// gzipOnce compresses an embedded file at start, at the best level; nil
// when the file is not worth compressing.
func gzipOnce(b []byte) []byte {
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	zw.Write(b)
	zw.Close()
	if buf.Len() >= len(b) {
		return nil
	}
	return buf.Bytes()
}
