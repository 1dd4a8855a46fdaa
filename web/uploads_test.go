package web_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"countycare/care"
	"countycare/store"
	"countycare/upload"
)

// tusMeta encodes Upload-Metadata from key, value pairs.
func tusMeta(kv ...string) string {
	var parts []string
	for i := 0; i+1 < len(kv); i += 2 {
		parts = append(parts, kv[i]+" "+base64.StdEncoding.EncodeToString([]byte(kv[i+1])))
	}
	return strings.Join(parts, ",")
}

// tus sends a tus 1.0 request with the session's CSRF token; a PATCH, and
// a POST with a body, carry application/offset+octet-stream.
func (c *client) tus(method, path string, hdr map[string]string, body []byte) response {
	c.e.t.Helper()
	h := map[string]string{"Tus-Resumable": "1.0.0", "X-CSRF-Token": c.csrf}
	for k, v := range hdr {
		h[k] = v
	}
	ct := ""
	if method == "PATCH" || (method == "POST" && len(body) > 0) {
		ct = "application/offset+octet-stream"
	}
	if v, ok := h["Content-Type"]; ok {
		ct = v
		delete(h, "Content-Type")
	}
	return c.do(method, path, ct, body, h)
}

// count runs a COUNT query (values formatted into q with fmt: test data only).
func (e *env) count(q string, args ...any) int {
	e.t.Helper()
	q = fmt.Sprintf(q, args...)
	var n int
	if err := e.st.QueryRowForTest(context.Background(), q, &n); err != nil {
		e.t.Fatalf("%s: %v", q, err)
	}
	return n
}

func errKey(t *testing.T, r response) string {
	t.Helper()
	var out struct {
		Error struct {
			Key string `json:"key"`
		} `json:"error"`
	}
	json.Unmarshal([]byte(r.body), &out)
	return out.Error.Key
}

// TestUploadProtocol: the tus 1.0 endpoint — discovery, the version check,
// creation refused before any byte for a wrong file type, size, resident
// or center; chunks out of order, overlapping, past the declared length,
// of the wrong type or with a wrong checksum refused with nothing stored;
// another user's upload is 404; the last chunk imports the ECG (audited,
// as the one-shot upload); a file the import path refuses gets its error
// and nothing is stored; termination.
func TestUploadProtocol(t *testing.T) {
	testdbBoth(t, testUploadProtocol)
}

func testdbBoth(t *testing.T, f func(*testing.T, store.Dialect)) {
	for _, d := range []store.Dialect{store.SQLite, store.Postgres} {
		t.Run(string(d), func(t *testing.T) { f(t, d) })
	}
}

func testUploadProtocol(t *testing.T, d store.Dialect) {
	e := newEnv(t, d)
	f := newDWFixture(t, e)
	vd := f.vd
	td := e.as(care.RoleTownshipDoctor) // also a sender, but not the upload's owner
	res, center := itoa(f.resident), itoa(f.center)
	csv := []byte(ecgCSV([]float64{0.8, 0.8, 0.8, 0.8, 0.8, 0.8, 0.8, 0.8}))
	meta := tusMeta("kind", "ecg", "resident_id", res, "center_id", center, "filename", "rest.csv")
	length := strconv.Itoa(len(csv))

	r := vd.do("OPTIONS", "/api/v1/uploads", "", nil, nil)
	if r.code != 204 || r.header.Get("Tus-Version") != "1.0.0" || !strings.Contains(r.header.Get("Tus-Extension"), "checksum") ||
		!strings.Contains(r.header.Get("Tus-Extension"), "termination") || !strings.Contains(r.header.Get("Tus-Checksum-Algorithm"), "sha256") {
		t.Fatalf("OPTIONS: %d %v", r.code, r.header)
	}
	r = vd.do("POST", "/api/v1/uploads", "", nil, map[string]string{"X-CSRF-Token": vd.csrf, "Upload-Length": length, "Upload-Metadata": meta})
	if r.code != 412 || r.header.Get("Tus-Version") != "1.0.0" {
		t.Fatalf("POST without Tus-Resumable: %d %s", r.code, r.body)
	}

	// Refused at creation, before any byte: nothing is stored.
	var me struct {
		Institution int64 `json:"institution_id"`
	}
	json.Unmarshal([]byte(vd.get("/api/v1/me").body), &me)
	clinic := me.Institution
	var other int64
	if err := e.st.QueryRowForTest(context.Background(), fmt.Sprintf(`SELECT id FROM residents WHERE village_id <> (SELECT village_id FROM residents WHERE id = %d) LIMIT 1`, f.resident), &other); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name   string
		length string
		meta   string
		code   int
		key    string
	}{
		{"an executable", length, tusMeta("kind", "ecg", "resident_id", res, "center_id", center, "filename", "setup.exe"), 422, "error.invalid"},
		{"a Holter past the limit", strconv.Itoa(200 << 20), meta, 413, "reading.ecg_too_large"},
		{"a DICOM past the limit", strconv.Itoa(300 << 20), tusMeta("kind", "dicom", "resident_id", res, "center_id", center, "filename", "ct.dcm"), 413, "reading.dicom_too_large"},
		{"a resident of another village", length, tusMeta("kind", "ecg", "resident_id", itoa(other), "center_id", center, "filename", "rest.csv"), 404, "resident.not_found"},
		{"a clinic as the center", length, tusMeta("kind", "ecg", "resident_id", res, "center_id", itoa(clinic), "filename", "rest.csv"), 422, "reading.center_invalid"},
		{"an unknown kind", length, tusMeta("kind", "video", "resident_id", res, "center_id", center, "filename", "a.mp4"), 422, "error.invalid"},
		{"no length", "", meta, 422, "error.invalid"},
		{"a bad header", length, tusMeta("kind", "ecg", "resident_id", res, "center_id", center, "filename", "100.dat", "header_name", "100.hea", "header", "not a header"), 422, "reading.ecg_unreadable"},
		{"broken metadata", length, "kind !!!", 422, "upload.metadata_invalid"},
	} {
		r := vd.tus("POST", "/api/v1/uploads", map[string]string{"Upload-Length": c.length, "Upload-Metadata": c.meta}, nil)
		if r.code != c.code || errKey(t, r) != c.key {
			t.Errorf("create with %s: %d %s, want %d %s", c.name, r.code, r.body, c.code, c.key)
		}
	}
	if n := e.count(`SELECT COUNT(*) FROM uploads`); n != 0 {
		t.Fatalf("%d uploads stored by refused creations", n)
	}

	r = vd.tus("POST", "/api/v1/uploads", map[string]string{"Upload-Length": length, "Upload-Metadata": meta}, nil)
	loc := r.header.Get("Location")
	if r.code != 201 || !strings.HasPrefix(loc, "/api/v1/uploads/") || r.header.Get("Upload-Expires") == "" {
		t.Fatalf("create: %d %s %v", r.code, r.body, r.header)
	}
	offset := func(c *client) string { return c.tus("HEAD", loc, nil, nil).header.Get("Upload-Offset") }
	if got := offset(vd); got != "0" {
		t.Fatalf("HEAD of a new upload: offset %q", got)
	}
	third := len(csv) / 3
	patch := func(c *client, off int, b []byte, hdr ...string) response {
		h := map[string]string{"Upload-Offset": strconv.Itoa(off)}
		for i := 0; i+1 < len(hdr); i += 2 {
			h[hdr[i]] = hdr[i+1]
		}
		return c.tus("PATCH", loc, h, b)
	}
	if r := patch(vd, 0, csv[:third]); r.code != 204 || r.header.Get("Upload-Offset") != strconv.Itoa(third) {
		t.Fatalf("first chunk: %d %s %v", r.code, r.body, r.header)
	}
	// Another account: the upload does not exist for it.
	for _, r := range []response{td.tus("HEAD", loc, nil, nil), patch(td, third, csv[third:2*third]), td.tus("DELETE", loc, nil, nil)} {
		if r.code != 404 {
			t.Errorf("another user's request: %d %s", r.code, r.body)
		}
	}
	sum := sha256.Sum256(csv[third : 2*third])
	for _, c := range []struct {
		name string
		r    response
		code int
	}{
		{"out of order (a gap)", patch(vd, 2*third, csv[2*third:]), 409},
		{"overlapping", patch(vd, third/2, csv[third/2:2*third]), 409},
		{"past the declared length", patch(vd, third, append(append([]byte{}, csv[third:]...), "9,9\n"...)), 413},
		{"not octets", patch(vd, third, csv[third:2*third], "Content-Type", "application/json"), 415},
		{"a wrong checksum", patch(vd, third, csv[third:2*third], "Upload-Checksum", "sha256 "+base64.StdEncoding.EncodeToString(make([]byte, 32))), 460},
		{"an unknown checksum algorithm", patch(vd, third, csv[third:2*third], "Upload-Checksum", "md5 "+base64.StdEncoding.EncodeToString(sum[:])), 422},
		{"no Tus-Resumable", vd.do("PATCH", loc, "application/offset+octet-stream", csv[third:2*third], map[string]string{"X-CSRF-Token": vd.csrf, "Upload-Offset": strconv.Itoa(third)}), 412},
	} {
		if c.r.code != c.code {
			t.Errorf("%s: %d %s, want %d", c.name, c.r.code, c.r.body, c.code)
		}
		if got := offset(vd); got != strconv.Itoa(third) {
			t.Fatalf("after %s the offset is %s, want %d", c.name, got, third)
		}
	}
	if r := patch(vd, third, csv[third:2*third], "Upload-Checksum", "sha256 "+base64.StdEncoding.EncodeToString(sum[:])); r.code != 204 {
		t.Fatalf("checksummed chunk: %d %s", r.code, r.body)
	}
	studies := e.count(`SELECT COUNT(*) FROM ecg_studies`)
	r = patch(vd, 2*third, csv[2*third:])
	result := r.header.Get("Upload-Result")
	if r.code != 204 || !strings.HasPrefix(result, "/ecg/studies/") || r.header.Get("Upload-Offset") != length {
		t.Fatalf("last chunk: %d %s %v", r.code, r.body, r.header)
	}
	if n := e.count(`SELECT COUNT(*) FROM ecg_studies`); n != studies+1 {
		t.Fatalf("ecg studies: %d, want %d", n, studies+1)
	}
	if h := vd.tus("HEAD", loc, nil, nil); h.header.Get("Upload-Result") != result {
		t.Errorf("HEAD after completion: %v", h.header)
	}
	if p := vd.get(result); p.code != 200 {
		t.Errorf("the study's viewer %s: %d", result, p.code)
	}
	var signal []byte
	id, _ := strconv.ParseInt(strings.TrimPrefix(result, "/ecg/studies/"), 10, 64)
	if err := e.st.QueryRowForTest(context.Background(), fmt.Sprintf(`SELECT signal FROM ecg_studies WHERE id = %d`, id), &signal); err != nil || string(signal) != string(csv) {
		t.Fatalf("stored signal differs (%d bytes, want %d): %v", len(signal), len(csv), err)
	}
	if n := e.count(`SELECT COUNT(*) FROM upload_pieces`); n != 0 {
		t.Errorf("%d pieces left after the import", n)
	}
	for _, act := range []string{upload.ActCreate, upload.ActWrite, "reading.ecg_upload"} {
		if n := e.count(`SELECT COUNT(*) FROM audit_events WHERE action = '%s' AND resident_id = %d`, act, f.resident); n == 0 {
			t.Errorf("no %s audit row", act)
		}
	}

	// Creation with upload: a small file in the creating request.
	r = vd.tus("POST", "/api/v1/uploads", map[string]string{"Upload-Length": length, "Upload-Metadata": tusMeta("kind", "ecg", "resident_id", res, "center_id", center, "filename", "again.csv", "urgent", "1")}, csv)
	if r.code != 201 || !strings.HasPrefix(r.header.Get("Upload-Result"), "/ecg/studies/") {
		t.Fatalf("creation with upload: %d %s %v", r.code, r.body, r.header)
	}

	// A file the import path refuses: the one-shot upload's error, nothing stored.
	bad := []byte("this is not an ECG export\n")
	r = vd.tus("POST", "/api/v1/uploads", map[string]string{"Upload-Length": strconv.Itoa(len(bad)), "Upload-Metadata": tusMeta("kind", "ecg", "resident_id", res, "center_id", center, "filename", "bad.csv")}, nil)
	loc = r.header.Get("Location")
	studies = e.count(`SELECT COUNT(*) FROM ecg_studies`)
	r = patch(vd, 0, bad)
	if r.code != 422 || errKey(t, r) != "reading.ecg_unreadable" || !strings.Contains(r.body, `"message"`) {
		t.Fatalf("a bad file: %d %s", r.code, r.body)
	}
	if n := e.count(`SELECT COUNT(*) FROM ecg_studies`); n != studies {
		t.Errorf("a refused file stored a study")
	}
	if r := vd.tus("DELETE", loc, nil, nil); r.code != 204 {
		t.Fatalf("terminate: %d %s", r.code, r.body)
	}
	if r := vd.tus("HEAD", loc, nil, nil); r.code != 404 {
		t.Errorf("HEAD after termination: %d", r.code)
	}
	if n := e.count(`SELECT COUNT(*) FROM upload_pieces WHERE upload_id = '%s'`, strings.TrimPrefix(loc, "/api/v1/uploads/")); n != 0 {
		t.Errorf("%d pieces left after termination", n)
	}

	// A DICOM file of another patient, or no DICOM file at all, is refused
	// once its first 64 KiB are in, not after the whole file; confirmed, the
	// other patient's file is sent whole and stored, flagged.
	stranger := bigDICOM("X-OTHER-1", "ZHANG^SAN", "1.2.826.0.1.3680043.8.498.77.9.1", 256, 256, 2)
	instances := e.count(`SELECT COUNT(*) FROM imaging_instances`)
	create := func(b []byte, confirm string) {
		t.Helper()
		r := vd.tus("POST", "/api/v1/uploads", map[string]string{"Upload-Length": strconv.Itoa(len(b)),
			"Upload-Metadata": tusMeta("kind", "dicom", "resident_id", res, "center_id", center, "filename", "ct.dcm", "confirm_mismatch", confirm)}, nil)
		if r.code != 201 {
			t.Fatalf("create: %d %s", r.code, r.body)
		}
		loc = r.header.Get("Location")
	}
	create(stranger, "0")
	if r := patch(vd, 0, stranger[:upload.HeadBytes]); r.code != 422 || errKey(t, r) != "reading.dicom_patient_mismatch" || !strings.Contains(r.body, "ZHANG") {
		t.Errorf("another patient's first 64 KiB: %d %s", r.code, r.body)
	}
	create(make([]byte, 100<<10), "0")
	if r := patch(vd, 0, make([]byte, upload.HeadBytes)); r.code != 422 || errKey(t, r) != "reading.dicom_unreadable" {
		t.Errorf("zeros as DICOM: %d %s", r.code, r.body)
	}
	create(stranger, "1")
	if r := patch(vd, 0, stranger[:upload.HeadBytes]); r.code != 204 {
		t.Fatalf("confirmed, first 64 KiB: %d %s", r.code, r.body)
	}
	if r := patch(vd, upload.HeadBytes, stranger[upload.HeadBytes:]); r.code != 204 || !strings.HasPrefix(r.header.Get("Upload-Result"), "/imaging/instances/") {
		t.Fatalf("confirmed, the rest: %d %s", r.code, r.body)
	}
	if n := e.count(`SELECT COUNT(*) FROM imaging_instances`); n != instances+1 {
		t.Errorf("imaging instances: %d, want %d (only the confirmed one)", n, instances+1)
	}
}

// TestUploadExpires: an upload past its expiry is refused (404 with
// upload.expired) and the sweep deletes it with its bytes.
func TestUploadExpires(t *testing.T) {
	var now atomic.Int64
	now.Store(time.Now().UnixNano())
	clock := func() time.Time { return time.Unix(0, now.Load()) }
	cfg := upload.DefaultConfig()
	cfg.Expiry = 2 * time.Hour
	e := newEnvWith(t, store.SQLite, envOptions{uploads: cfg, uploadNow: clock})
	f := newDWFixture(t, e)
	r := f.vd.tus("POST", "/api/v1/uploads", map[string]string{"Upload-Length": "1000",
		"Upload-Metadata": tusMeta("kind", "dicom", "resident_id", itoa(f.resident), "center_id", itoa(f.center), "filename", "ct.dcm")}, nil)
	loc := r.header.Get("Location")
	if r.code != 201 {
		t.Fatalf("create: %d %s", r.code, r.body)
	}
	if r := f.vd.tus("PATCH", loc, map[string]string{"Upload-Offset": "0"}, make([]byte, 400)); r.code != 204 {
		t.Fatalf("chunk: %d %s", r.code, r.body)
	}
	now.Add(int64(time.Hour)) // a write moves the expiry: still alive an hour later
	if r := f.vd.tus("PATCH", loc, map[string]string{"Upload-Offset": "400"}, make([]byte, 100)); r.code != 204 {
		t.Fatalf("chunk an hour later: %d %s", r.code, r.body)
	}
	svc := e.srv.Uploads
	if n, err := svc.Sweep(context.Background()); err != nil || n != 0 {
		t.Fatalf("sweep before expiry: %d %v", n, err)
	}
	now.Add(int64(2*time.Hour + time.Second))
	if r := f.vd.tus("HEAD", loc, nil, nil); r.code != 404 {
		t.Errorf("HEAD after expiry: %d", r.code)
	}
	if r := f.vd.tus("PATCH", loc, map[string]string{"Upload-Offset": "500"}, make([]byte, 100)); r.code != 404 || errKey(t, r) != "upload.expired" {
		t.Errorf("PATCH after expiry: %d %s", r.code, r.body)
	}
	if n, err := svc.Sweep(context.Background()); err != nil || n != 1 {
		t.Fatalf("sweep: %d %v", n, err)
	}
	if n := e.count(`SELECT COUNT(*) FROM upload_pieces`); n != 0 {
		t.Errorf("%d pieces left after the sweep", n)
	}
}

// cutProxy forwards loopback TCP connections to target; the first
// connection is closed, both ways, once cutAfter bytes have gone from the
// client to the server. forwarded counts what went that way on it.
type cutProxy struct {
	ln        net.Listener
	target    string
	cutAfter  int64
	forwarded atomic.Int64
	cut       atomic.Bool
	reset     bool // cut with an RST rather than a FIN
	once      sync.Once
}

func newCutProxy(t testing.TB, target string, cutAfter int64) *cutProxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &cutProxy{ln: ln, target: target, cutAfter: cutAfter}
	t.Cleanup(func() { ln.Close() })
	go p.serve()
	return p
}

func (p *cutProxy) serve() {
	first := true
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		s, err := net.Dial("tcp", p.target)
		if err != nil {
			c.Close()
			continue
		}
		cutting := first && p.cutAfter > 0
		first = false
		go func() { io.Copy(c, s); c.Close() }()
		go func() {
			defer s.Close()
			if !cutting {
				io.Copy(s, c)
				return
			}
			buf := make([]byte, 32<<10)
			for {
				n, err := c.Read(buf)
				if n > 0 {
					if left := p.cutAfter - p.forwarded.Load(); int64(n) > left {
						n = int(left)
					}
					s.Write(buf[:n])
					if p.forwarded.Add(int64(n)) >= p.cutAfter {
						p.cut.Store(true)
						if p.reset {
							// Abortive close: an RST to the server, which may drop
							// what its kernel had buffered but not yet handed over.
							s.(*net.TCPConn).SetLinger(0)
						}
						c.Close()
						return
					}
				}
				if err != nil {
					return
				}
			}
		}()
	}
}

// TestUploadResumesAfterCut: a 50 MiB DICOM instance is sent in one PATCH
// through a loopback proxy that drops the connection at half of it; the
// client asks HEAD where to resume and sends the rest; the stored instance
// is byte-identical (SHA-256). What crosses the link twice: after a close
// (FIN) the server keeps every byte that reached it, so only the request's
// headers; after a reset (RST) what the server's kernel had buffered is
// lost too, and the piece being received (upload.Config.PieceBytes) — at
// most one chunk of the page's client (tus.js: 4 MiB). SQLite is cut with
// a FIN, PostgreSQL with an RST.
func TestUploadResumesAfterCut(t *testing.T) {
	if testing.Short() {
		t.Skip("sends 50 MiB twice over loopback")
	}
	for _, c := range []struct {
		d     store.Dialect
		reset bool
		most  int64
	}{{store.SQLite, false, 4 << 10}, {store.Postgres, true, 4 << 20}} {
		t.Run(string(c.d), func(t *testing.T) {
			e := newEnv(t, c.d)
			f := newDWFixture(t, e)
			file := bigDICOM(f.idNumber, f.name, "1.2.826.0.1.3680043.8.498.77.50.1", 4096, 3200, 2)
			resent, stored := cutAndResume(t, e, f, file, c.reset)
			if resent > c.most {
				t.Errorf("%d bytes to send again after the cut, want at most %d", resent, c.most)
			}
			want := sha256.Sum256(file)
			if got := sha256.Sum256(stored); got != want {
				t.Fatalf("stored file: %d bytes, SHA-256 %x, want %d bytes %x", len(stored), got, len(file), want)
			}
			t.Logf("stored %d bytes, SHA-256 %x: byte-identical", len(stored), want)
		})
	}
}

// cutAndResume creates an upload of file, sends it in one PATCH through a
// proxy that cuts the connection at half of it (with an RST if reset),
// resumes from HEAD's offset and returns the bytes that crossed the link
// twice and the instance as stored.
func cutAndResume(t testing.TB, e *env, f *dwFixture, file []byte, reset bool) (resent int64, stored []byte) {
	r := f.vd.tus("POST", "/api/v1/uploads", map[string]string{"Upload-Length": strconv.Itoa(len(file)),
		"Upload-Metadata": tusMeta("kind", "dicom", "resident_id", itoa(f.resident), "center_id", itoa(f.center), "filename", "ct-50mb.dcm")}, nil)
	loc := r.header.Get("Location")
	if r.code != 201 {
		t.Fatalf("create: %d %s", r.code, r.body)
	}
	// The PATCH request's headers are a few hundred bytes: cut at half the body.
	p := newCutProxy(t, e.ts.Listener.Addr().String(), int64(len(file))/2)
	p.reset = reset
	hc := &http.Client{Jar: f.vd.hc.Jar, Transport: &http.Transport{DisableKeepAlives: true}}
	base := "http://" + p.ln.Addr().String()
	send := func(method string, off int) (*http.Response, error) {
		var body io.Reader
		if method == "PATCH" {
			body = bytes.NewReader(file[off:])
		}
		req, _ := http.NewRequest(method, base+loc, body)
		req.Header.Set("Tus-Resumable", "1.0.0")
		req.Header.Set("X-CSRF-Token", f.vd.csrf)
		if method == "PATCH" {
			req.Header.Set("Content-Type", "application/offset+octet-stream")
			req.Header.Set("Upload-Offset", strconv.Itoa(off))
		}
		resp, err := hc.Do(req)
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
		return resp, err
	}
	if resp, err := send("PATCH", 0); err == nil {
		t.Fatalf("the cut PATCH answered %d", resp.StatusCode)
	}
	if !p.cut.Load() {
		t.Fatal("the proxy did not cut the connection")
	}
	// The server may still be committing what it read before the cut:
	// resume from the offset once HEAD reports the same one twice.
	off := -1
	var resp *http.Response
	var err error
	for i := 0; i < 50; i++ {
		if resp, err = send("HEAD", 0); err != nil {
			t.Fatal(err)
		}
		n, _ := strconv.Atoi(resp.Header.Get("Upload-Offset"))
		if n == off {
			break
		}
		off = n
		time.Sleep(200 * time.Millisecond)
	}
	sent := p.forwarded.Load() // request line and headers included
	resent = sent - int64(off)
	t.Logf("cut (reset %t) after %d bytes on the link; the server kept %d (%.1f%%); %d bytes to send again", reset, sent, off, 100*float64(off)/float64(len(file)), resent)
	if off <= 0 || off > len(file)/2 {
		t.Fatalf("offset after the cut: %d of %d", off, len(file))
	}
	if resp, err = send("PATCH", off); err != nil || resp.StatusCode != 204 {
		t.Fatalf("resume: %v %v", resp, err)
	}
	result := resp.Header.Get("Upload-Result")
	if !strings.HasPrefix(result, "/imaging/instances/") {
		t.Fatalf("no result after the resumed upload: %v", resp.Header)
	}
	id, _ := strconv.ParseInt(strings.TrimPrefix(result, "/imaging/instances/"), 10, 64)
	if err := e.st.QueryRowForTest(context.Background(), fmt.Sprintf(`SELECT file FROM imaging_instances WHERE id = %d`, id), &stored); err != nil {
		t.Fatal(err)
	}
	return resent, stored
}
