package web_test

import (
	"context"
	"encoding/json"
	"math"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"countycare/access"
	"countycare/audit"
	"countycare/care"
	"countycare/internal/testfiles"
	"countycare/reading"
	"countycare/store"
)

// TestMeasureAndKeyImages (issue 16), on SQLite and PostgreSQL: on the real
// CT pydicom-CT_small.dcm (Pixel Spacing 0.661468 mm, Rescale Intercept
// −1024) the server measures a 3-4-5 length as 3.3 mm by pixel spacing and
// a 2×2-pixel rectangle as mean 71.5 HU, SD 90.6 HU (hand-computed in
// dicom.TestMeasureCT); the viewer page states the calibration and shows
// the orientation letters; bad measurements are 422 with the field, a
// doctor of another clinic gets 404; the reader holding the study saves a
// key image with its measurement (recomputed, audited), and the signed
// report shows it with the measurement's text, in Chinese and English.
func TestMeasureAndKeyImages(t *testing.T) {
	ct, err := os.ReadFile(filepath.Join(testfiles.Path(t, "dicom"), "pydicom-CT_small.dcm"))
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range []store.Dialect{store.SQLite, store.Postgres} {
		t.Run(string(d), func(t *testing.T) {
			e := newEnv(t, d)
			rd, vd := e.as(care.RoleReader), e.as(care.RoleVillageDoctor)
			var me, vdMe struct {
				Institution int64 `json:"institution_id"`
			}
			json.Unmarshal([]byte(rd.get("/api/v1/me").body), &me)
			json.Unmarshal([]byte(vd.get("/api/v1/me").body), &vdMe)
			ids := regexp.MustCompile(`href="/residents/(\d+)"`).FindAllStringSubmatch(vd.get("/residents").body, -1)
			if len(ids) == 0 {
				t.Fatal("no residents")
			}
			resID, _ := strconv.ParseInt(ids[0][1], 10, 64)
			in, err := reading.ReadDICOM(ct)
			if err != nil {
				t.Fatal(err)
			}
			in.CountyCode, in.ResidentID, in.ClinicID, in.CenterID, in.Status = "411723", resID, vdMe.Institution, me.Institution, reading.StatusWaiting
			in.UploadedAt = time.Now()
			ev := audit.Event{Action: reading.ActDICOMUpload, Outcome: audit.OutcomeOK, ResidentID: resID, CountyCode: "411723", Purpose: care.PurposeTreatment}
			if err := e.st.SaveImagingInstance(context.Background(), in, &access.CareLink{CountyCode: "411723", ResidentID: resID, InstitutionID: me.Institution,
				Kind: access.LinkStudy, Reason: "imaging"}, ev); err != nil {
				t.Fatal(err)
			}
			iid := strconv.FormatInt(in.ID, 10)

			// The page states the calibration and the orientation.
			page := rd.get("/imaging/instances/" + iid)
			for _, want := range []string{`id="img-calibration" data-kind="pixel_spacing">按像素间距`, `data-row-mm="0.661468"`, `id="or-top" aria-hidden="true">A<`,
				`id="tool-length"`, `id="tool-ellipse"`} {
				if !strings.Contains(page.body, want) {
					t.Errorf("viewer page lacks %s", want)
				}
			}
			measure := func(c *client, q string) (response, map[string]any) {
				t.Helper()
				r := c.get("/api/v1/imaging/instances/" + iid + "/measure?" + q)
				var out map[string]any
				json.Unmarshal([]byte(r.body), &out)
				return r, out
			}
			r, out := measure(rd, "kind=length&points=10,10,13,14")
			m, _ := out["measurement"].(map[string]any)
			if r.code != 200 || m == nil || math.Abs(m["value"].(float64)-3.30734) > 1e-6 || m["unit"] != "mm" || m["calibration"] != "pixel_spacing" ||
				out["text"] != "长度 3.3 毫米" || out["calibration_text"] != "按像素间距" {
				t.Fatalf("length: %d %s", r.code, r.body)
			}
			r, out = measure(rd, "kind=rectangle&points=60,60,62,62")
			m, _ = out["measurement"].(map[string]any)
			roi, _ := m["roi"].(map[string]any)
			if r.code != 200 || roi == nil || roi["mean"] != 71.5 || math.Abs(roi["sd"].(float64)-90.61319) > 1e-4 || m["value_unit"] != "HU" ||
				!strings.Contains(out["text"].(string), "均值 71.5 HU，标准差 90.6 HU（4 像素）") {
				t.Fatalf("rectangle: %d %s", r.code, r.body)
			}
			if r, out = measure(rd, "kind=angle&points=20,10,10,10,10,20"); r.code != 200 || out["text"] != "角度 90.0°" {
				t.Errorf("angle: %d %s", r.code, r.body)
			}
			for q, field := range map[string]string{"kind=circle&points=1,1,2,2": "kind", "kind=length&points=1,1": "points", "kind=length&points=1,1,500,2": "points",
				"kind=length&points=a,b,c,d": "points", "kind=length&frame=3&points=1,1,2,2": "frame", "kind=rectangle&points=5.6,5.6,5.9,5.9": "points"} {
				if r := rd.get("/api/v1/imaging/instances/" + iid + "/measure?" + q); r.code != 422 || !strings.Contains(r.body, `"field":"`+field+`"`) {
					t.Errorf("%s: %d %s, want 422 on %s", q, r.code, r.body, field)
				}
			}
			if r := e.as(care.RoleAnalyst).get("/api/v1/imaging/instances/" + iid + "/measure?kind=length&points=1,1,2,2"); r.code != 403 {
				t.Errorf("analyst measures: %d", r.code)
			}
			if n := e.count(`SELECT COUNT(*) FROM audit_events WHERE action = 'reading.imaging_measure' AND resident_id = %d`, resID); n == 0 {
				// The audit writer is asynchronous: give it a moment.
				time.Sleep(500 * time.Millisecond)
				if e.count(`SELECT COUNT(*) FROM audit_events WHERE action = 'reading.imaging_measure' AND resident_id = %d`, resID) == 0 {
					t.Error("no audit row for the measurements")
				}
			}

			// The reading study: the reader claims it and saves a key image.
			var wl struct {
				Studies []struct {
					ID        int64  `json:"id"`
					SourceKey string `json:"source_key"`
				} `json:"studies"`
			}
			json.Unmarshal([]byte(rd.get("/api/v1/reading/worklist?modality=CT").body), &wl)
			sid := ""
			for _, w := range wl.Studies {
				if w.SourceKey == in.StudyUID {
					sid = strconv.FormatInt(w.ID, 10)
				}
			}
			if sid == "" {
				t.Fatalf("the CT is not on the worklist")
			}
			ki := url.Values{"instance_id": {iid}, "frame": {"0"}, "center": {"40"}, "width": {"400"}, "note": {"右肺小结节"},
				"measurements": {`[{"kind":"length","points":[{"x":10,"y":10},{"x":13,"y":14}]}]`}}
			if r := rd.postForm("/reading/studies/"+sid+"/key-image", ki, true); r.code != 409 && !strings.Contains(r.body, `role="alert"`) {
				t.Errorf("a key image before claiming: %d", r.code)
			}
			rd.postForm("/reading/studies/"+sid+"/claim", url.Values{}, true)
			study := rd.get("/reading/studies/" + sid)
			if !strings.Contains(study.body, `id="key-image-form"`) {
				t.Fatal("no key image form for the reader holding the study")
			}
			bad := url.Values{"instance_id": {iid}, "frame": {"0"}, "note": {strings.Repeat("长", 501)},
				"measurements": {`[{"kind":"length","points":[{"x":10,"y":10},{"x":900,"y":14}]}]`}}
			if r := rd.postForm("/reading/studies/"+sid+"/key-image", bad, true); r.code != 422 {
				t.Errorf("a bad key image: %d", r.code)
			}
			if r := rd.postForm("/reading/studies/"+sid+"/key-image", url.Values{"instance_id": {"987654"}, "frame": {"0"}}, true); r.code != 404 {
				t.Errorf("a key image of another instance: %d", r.code)
			}
			if e.count(`SELECT COUNT(*) FROM reading_key_images`) != 0 {
				t.Fatal("a refused key image was stored")
			}
			if r := rd.postForm("/reading/studies/"+sid+"/key-image", ki, true); r.code != 303 || r.header.Get("Location") != "/reading/studies/"+sid+"?ok=key_image#key-images" {
				t.Fatalf("key image: %d %s", r.code, r.header.Get("Location"))
			}
			if p := rd.get("/reading/studies/" + sid + "?ok=key_image"); !strings.Contains(p.body, "关键图像已保存") || !strings.Contains(p.body, "签发报告时随报告发出") {
				t.Error("no notice or pending key images after saving")
			}
			if n := e.count(`SELECT COUNT(*) FROM audit_events WHERE action = 'reading.key_image_save' AND outcome = 'ok' AND resident_id = %d`, resID); n != 1 {
				t.Errorf("%d audit rows for the saved key image", n)
			}
			// Signed, the report carries it with the measurement's text.
			r = rd.postForm("/reading/studies/"+sid+"/report", url.Values{"f_findings": {"右肺上叶小结节"}, "f_impression": {"随访"}}, true)
			if r.code != 303 {
				t.Fatalf("sign: %d %s", r.code, r.body)
			}
			for who, c := range map[string]*client{"reader": rd, "ordering doctor": vd} {
				p := c.get("/reading/studies/" + sid)
				rep := p.body[strings.Index(p.body, `class="card report"`)+1:]
				if !strings.Contains(rep, `id="key-images"`) || !strings.Contains(rep, "长度 3.3 毫米") || !strings.Contains(rep, "右肺小结节") ||
					!strings.Contains(rep, `<line x1="10" y1="10" x2="13" y2="14"`) || !strings.Contains(rep, "/frames/0?center=40.0&amp;width=400.0") {
					t.Errorf("the signed report does not show the key image (%s)", who)
				}
			}
			en := vd.do("GET", "/reading/studies/"+sid, "", nil, map[string]string{"Cookie": "cc_lang=en"})
			if !strings.Contains(en.body, "Key images") || !strings.Contains(en.body, "Length 3.3 mm") {
				t.Error("key images in English")
			}
			if r := rd.postForm("/reading/studies/"+sid+"/key-image", ki, true); r.code != 409 {
				t.Errorf("a key image after signing: %d", r.code)
			}
		})
	}
}
