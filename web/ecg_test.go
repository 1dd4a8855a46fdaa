package web_test

import (
	"bytes"
	"countycare/internal/testfiles"
	"encoding/json"
	"fmt"
	"math"
	"mime/multipart"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"countycare/care"
	"countycare/store"
)

// multipartBody builds a form with fields and files (field → name, content).
func multipartBody(fields map[string]string, files map[string][2]string) ([]byte, string) {
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	for k, v := range fields {
		mw.WriteField(k, v)
	}
	for k, f := range files {
		w, _ := mw.CreateFormFile(k, f[0])
		w.Write([]byte(f[1]))
	}
	mw.Close()
	return b.Bytes(), mw.FormDataContentType()
}

// ecgCSV is a 250 Hz one-lead export with beats after the given RR intervals.
func ecgCSV(rr []float64) string {
	var beats []float64
	t := 0.5
	for _, r := range append([]float64{0}, rr...) {
		t += r
		beats = append(beats, t)
	}
	var b strings.Builder
	b.WriteString("time,II\n")
	for i := 0; i < int((t+1)*250); i++ {
		x := float64(i) / 250
		v := 0.0
		for _, c := range beats {
			v += math.Exp(-(x - c) * (x - c) / (2 * 0.012 * 0.012))
		}
		fmt.Fprintf(&b, "%.3f,%.4f\n", x, v)
	}
	return b.String()
}

// TestECGSendAndWorklist: a village doctor sends MIT-BIH record 100 from
// the page and an ECG with a pause through the API; bad files are refused
// with the fault named; the reader's worklist shows the pause first.
func TestECGSendAndWorklist(t *testing.T) {
	dir := testfiles.MITDB(t)
	hea, err := os.ReadFile(filepath.Join(dir, "100.hea"))
	if err != nil {
		t.Fatalf("MIT-BIH record 100 (testdata/README.md): %v", err)
	}
	dat, err := os.ReadFile(filepath.Join(dir, "100.dat"))
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, store.SQLite)
	rd := e.as(care.RoleReader)
	var me struct {
		Institution int64 `json:"institution_id"`
	}
	json.Unmarshal([]byte(rd.get("/api/v1/me").body), &me)
	center := strconv.FormatInt(me.Institution, 10)

	vd := e.as(care.RoleVillageDoctor)
	list := vd.get("/residents")
	ids := regexp.MustCompile(`href="/residents/(\d+)"`).FindAllStringSubmatch(list.body, -1)
	if len(ids) < 2 {
		t.Fatal("no residents in the village")
	}
	rid, rid2 := ids[0][1], ids[1][1]
	if p := vd.get("/residents/" + rid); !strings.Contains(p.body, `id="ecg-send"`) {
		t.Error("no ECG link on the resident page")
	}
	form := vd.get("/residents/" + rid + "/ecg")
	if form.code != 200 || !strings.Contains(form.body, `value="`+center+`"`) {
		t.Fatalf("upload page: %d, reader's center %s not offered", form.code, center)
	}
	csrf := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(form.body)[1]
	body, ct := multipartBody(map[string]string{"csrf": csrf, "center_id": center},
		map[string][2]string{"header": {"100.hea", string(hea)}, "signal": {"100.dat", string(dat)}})
	r := vd.do("POST", "/residents/"+rid+"/ecg", ct, body, nil)
	if r.code != 200 || !strings.Contains(r.body, `id="ecg-preread"`) || !strings.Contains(r.body, "早搏") {
		t.Fatalf("send record 100: %d", r.code)
	}
	body, ct = multipartBody(map[string]string{"csrf": csrf, "center_id": center},
		map[string][2]string{"header": {"100.hea", string(hea)}, "signal": {"100.dat", string(dat[:len(dat)-3000])}})
	if r := vd.do("POST", "/residents/"+rid+"/ecg", ct, body, nil); r.code != 422 || !strings.Contains(r.body, "truncated") {
		t.Errorf("truncated record: %d", r.code)
	}

	rr := []float64{0.8, 0.8, 0.8, 0.8, 0.8, 3.6, 0.8, 0.8, 0.8, 0.8}
	cid, _ := strconv.ParseInt(center, 10, 64)
	r = vd.postJSON("/api/v1/residents/"+rid2+"/ecg", map[string]any{"center_id": cid, "signal_name": "pause.csv", "signal": []byte(ecgCSV(rr))})
	var out struct {
		ID      int64 `json:"id"`
		PreRead struct {
			Summary  string   `json:"summary"`
			Priority int      `json:"priority"`
			Findings []string `json:"findings"`
		} `json:"preread"`
	}
	if err := json.Unmarshal([]byte(r.body), &out); r.code != 201 || err != nil || out.PreRead.Priority != 3 || out.PreRead.Summary != "abnormal" {
		t.Fatalf("API upload: %d %s", r.code, r.body)
	}
	if r := vd.postJSON("/api/v1/residents/"+rid2+"/ecg", map[string]any{"center_id": cid, "signal": []byte("time,II\n0,1\n")}); r.code != 422 {
		t.Errorf("one-row CSV: %d %s", r.code, r.body)
	}
	if r := vd.get("/ecg/worklist"); r.code != 403 {
		t.Errorf("village doctor's worklist: %d", r.code)
	}

	// The old ECG-only page redirects to the reading worklist's ECG view (issue 18).
	if r := rd.get("/ecg/worklist"); r.code != 301 || r.header.Get("Location") != "/reading/worklist?modality=ECG" {
		t.Errorf("old worklist: %d → %q", r.code, r.header.Get("Location"))
	}
	wl := rd.get("/reading/worklist?modality=ECG")
	if wl.code != 200 || !strings.Contains(wl.body, `id="reading-worklist"`) || strings.Contains(wl.body, `href="/ecg/worklist"`) {
		t.Fatalf("worklist page: %d", wl.code)
	}
	if i, j := strings.Index(wl.body, "停搏"), strings.Index(wl.body, "早搏"); i < 0 || j < 0 || i > j {
		t.Errorf("worklist order: pause at %d, premature beats at %d", i, j)
	}
	var api struct {
		Studies []struct {
			ID int64 `json:"id"`
		} `json:"studies"`
	}
	json.Unmarshal([]byte(rd.get("/api/v1/ecg/worklist").body), &api)
	if len(api.Studies) != 2 || api.Studies[0].ID != out.ID {
		t.Errorf("API worklist %+v, want the pause (%d) first of 2", api.Studies, out.ID)
	}
}

// TestECGOverLimits: an ECG over the limits of docs/ecg.md "Limits" (16
// leads, 48 h, 45 M samples a lead, 100 M in all) is refused from its
// header with 413, the limit in the user's language and the field named
// (header for WFDB, signal for CSV); nothing is stored (issue 18 §2).
func TestECGOverLimits(t *testing.T) {
	e := newEnv(t, store.SQLite)
	rd, vd, center, rid := ecgSender(t, e)
	sig := func(n int) string { return strings.Repeat("r.dat 212 200 12 0 0 0 0 x\n", n) }
	for _, tc := range []struct {
		name, hea, signal, field, key, text string
	}{
		{"17 leads", "r 17 500 5000\n" + sig(17), "x", "header", "reading.ecg_limit.leads", "心电图有 17 个导联，最多接受 16 个"},
		{"49 h", "r 2 128 22579200\n" + sig(2), "x", "header", "reading.ecg_limit.seconds", "心电图时长 176400 秒，最多接受 172800 秒"},
		{"17-lead CSV", "", "t" + strings.Repeat(",I", 17) + "\n0" + strings.Repeat(",1", 17) + "\n", "signal", "reading.ecg_limit.leads", "心电图有 17 个导联"},
	} {
		in := map[string]any{"center_id": center, "signal_name": "r.dat", "signal": []byte(tc.signal)}
		if tc.hea != "" {
			in["header_name"], in["header"] = "r.hea", []byte(tc.hea)
		}
		r := vd.postJSON("/api/v1/residents/"+rid+"/ecg", in)
		if r.code != 413 || !strings.Contains(r.body, `"key":"`+tc.key+`"`) || !strings.Contains(r.body, `"field":"`+tc.field+`"`) ||
			!strings.Contains(r.body, tc.text) {
			t.Errorf("%s: %d %s", tc.name, r.code, r.body)
		}
	}
	var wl struct {
		Studies []any `json:"studies"`
	}
	if json.Unmarshal([]byte(rd.get("/api/v1/ecg/worklist").body), &wl); len(wl.Studies) != 0 {
		t.Errorf("%d studies stored", len(wl.Studies))
	}
}

// ecgSender is a reader of a diagnosis center and a village doctor who
// sends it ECGs: the reader's center and the doctor's first resident.
func ecgSender(t *testing.T, e *env) (rd, vd *client, center int64, rid string) {
	t.Helper()
	rd = e.as(care.RoleReader)
	var me struct {
		Institution int64 `json:"institution_id"`
	}
	json.Unmarshal([]byte(rd.get("/api/v1/me").body), &me)
	vd = e.as(care.RoleVillageDoctor)
	ids := regexp.MustCompile(`href="/residents/(\d+)"`).FindAllStringSubmatch(vd.get("/residents").body, -1)
	if len(ids) == 0 {
		t.Fatal("no residents in the village")
	}
	return rd, vd, me.Institution, ids[0][1]
}

// holter is a WFDB record of 2 leads in format 212 at 250 Hz, seconds long:
// a 1 mV spike every 0.8 s on a flat line (gain 200/mV).
func holter(seconds int) (hea, dat []byte) {
	n := seconds * 250
	v := func(i int) int {
		if d := i % 200; d < 5 {
			return 200 * (5 - d) / 5
		}
		return 0
	}
	dat = make([]byte, 0, n*3)
	for i := 0; i < n; i++ {
		a, b := v(i)&0xfff, v(i)&0xfff
		dat = append(dat, byte(a), byte(a>>8&0x0f|b>>4&0xf0), byte(b))
	}
	return []byte(fmt.Sprintf("h 2 250 %d\nh.dat 212 200(0)/mV\nh.dat 212 200(0)/mV\n", n)), dat
}

// TestECGUploadBoundedHeap: a 2-hour 2-lead Holter (5.4 MB in format 212,
// 3.6 M samples) sent from the page grows the server's heap by at most the
// file, 2 bytes a sample, 9 per sample of the rhythm lead and 8 MiB
// (docs/ecg.md "Limits and memory"; issue 18 §2); through the JSON API by
// that and the body. Before: the file was read whole again, every sample an
// int and the detector's five float64 arrays: 91.9 MiB from the page.
func TestECGUploadBoundedHeap(t *testing.T) {
	e := newEnv(t, store.SQLite)
	rd := e.as(care.RoleReader)
	var me struct {
		Institution int64 `json:"institution_id"`
	}
	json.Unmarshal([]byte(rd.get("/api/v1/me").body), &me)
	vd := e.as(care.RoleVillageDoctor)
	ids := regexp.MustCompile(`href="/residents/(\d+)"`).FindAllStringSubmatch(vd.get("/residents").body, -1)
	if len(ids) == 0 {
		t.Fatal("no residents in the village")
	}
	const seconds = 2 * 3600
	hea, dat := holter(seconds)
	form := vd.get("/residents/" + ids[0][1] + "/ecg")
	csrf := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(form.body)[1]
	body, ct := multipartBody(map[string]string{"csrf": csrf, "center_id": strconv.FormatInt(me.Institution, 10)},
		map[string][2]string{"header": {"h.hea", string(hea)}, "signal": {"h.dat", string(dat)}})
	hea, dat = nil, nil
	var r response
	peak, alloc := heapPeak(func() { r = vd.do("POST", "/residents/"+ids[0][1]+"/ecg", ct, body, nil) })
	samples := uint64(seconds * 250)
	file := uint64(samples * 3)
	bound := file + 2*2*samples + 9*samples + 8<<20
	t.Logf("%.1f MB file, %d samples: peak heap growth %.1f MiB, allocated %.1f MiB; bound %.1f MiB",
		float64(file)/1e6, 2*samples, float64(peak)/(1<<20), float64(alloc)/(1<<20), float64(bound)/(1<<20))
	if r.code != 200 || !strings.Contains(r.body, `id="ecg-preread"`) {
		t.Fatalf("upload: %d", r.code)
	}
	if peak > bound {
		t.Errorf("the heap grew by %d bytes, bound %d", peak, bound)
	}

	// The same through the JSON API (base64: the body is 4/3 of the file,
	// read once, and decoded into the file): the bound grows by the body.
	hea, dat = holter(seconds)
	js := []byte(mustJSON(map[string]any{"center_id": me.Institution, "header_name": "h.hea", "header": hea, "signal_name": "h.dat", "signal": dat}))
	hea, dat, body = nil, nil, nil
	peak, alloc = heapPeak(func() {
		r = vd.do("POST", "/api/v1/residents/"+ids[0][1]+"/ecg", "application/json", js, map[string]string{"X-CSRF-Token": vd.csrf})
	})
	bound += uint64(len(js))
	t.Logf("API, %.1f MB body: peak heap growth %.1f MiB, allocated %.1f MiB; bound %.1f MiB", float64(len(js))/1e6, float64(peak)/(1<<20), float64(alloc)/(1<<20), float64(bound)/(1<<20))
	if r.code != 201 {
		t.Fatalf("API upload: %d %.300s", r.code, r.body)
	}
	if peak > bound {
		t.Errorf("API: the heap grew by %d bytes, bound %d", peak, bound)
	}
}
