package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"countycare/audit"
	"countycare/care"
	"countycare/critical"
	"countycare/lab"
	"countycare/notify"
	"countycare/reading"
	"countycare/store"
)

// firstResident returns the id of a resident on the village doctor's list.
func firstResident(t testing.TB, c *client) string {
	t.Helper()
	ids := regexp.MustCompile(`href="/residents/(\d+)"`).FindAllStringSubmatch(c.get("/residents").body, -1)
	if len(ids) == 0 {
		t.Fatal("no residents in the village")
	}
	return ids[0][1]
}

// TestLabResultsAndCriticalValues: a village doctor records results from
// the form, the API and a CSV file; a critical potassium is flagged and
// raised as an alert the clinic sees at once; a read-back is required to
// acknowledge; roles and institutions without a part get 403/404; the
// indicator counts the acknowledgement; every step is audited.
func TestLabResultsAndCriticalValues(t *testing.T) {
	for _, d := range []store.Dialect{store.SQLite, store.Postgres} {
		t.Run(string(d), func(t *testing.T) { testLabsAndCritical(t, d) })
	}
}

func testLabsAndCritical(t *testing.T, d store.Dialect) {
	e := newEnv(t, d)
	vd := e.as(care.RoleVillageDoctor)
	rid := firstResident(t, vd)
	if p := vd.get("/residents/" + rid); !strings.Contains(p.body, `id="labs-link"`) {
		t.Error("no lab link on the resident page")
	}
	page := vd.get("/residents/" + rid + "/labs")
	if page.code != 200 || !strings.Contains(page.body, `id="lab-form"`) {
		t.Fatalf("labs page %d", page.code)
	}
	now := time.Now().In(care.Shanghai).Add(-time.Hour).Format("2006-01-02T15:04")
	r := vd.postForm("/residents/"+rid+"/labs", url.Values{"code": {"K"}, "value": {"6.8"}, "unit": {"mmol/L"}, "ref_range": {"3.5-5.1"},
		"doctor": {"郭医生"}, "collected_at": {now}}, true)
	if r.code != 200 || !strings.Contains(r.body, `id="lab-critical"`) || !strings.Contains(r.body, "K⁺ ≥ 6.5 mmol/L") || !strings.Contains(r.body, "<td>3.5–5.1</td>") {
		t.Fatalf("record critical K: %d", r.code)
	}
	r = vd.postForm("/residents/"+rid+"/labs", url.Values{"code": {"K"}, "value": {"6.8"}, "unit": {"mg/dL"}, "doctor": {"郭医生"}, "collected_at": {now}}, true)
	if r.code != 422 || !strings.Contains(r.body, "mg/dL 不适用于 K") {
		t.Errorf("wrong unit: %d", r.code)
	}

	// API: two results, one of them glucose in mg/dL (40 mg/dL = 2.2 mmol/L, critical).
	at := time.Now().Add(-30 * time.Minute).UTC().Format(time.RFC3339)
	r = vd.postJSON("/api/v1/residents/"+rid+"/labs", map[string]any{"results": []map[string]any{
		{"code": "2345-7", "value": 40, "unit": "mg/dL", "doctor": "郭医生", "collected_at": at},
		{"code": "HGB", "value": 12.5, "unit": "g/dL", "ref_range": "11-15", "doctor": "郭医生", "collected_at": at},
	}})
	var rec struct {
		Results []struct {
			ID      int64   `json:"id"`
			ValueSI float64 `json:"value_si"`
			Flag    string  `json:"flag"`
			AlertID int64   `json:"alert_id"`
		} `json:"results"`
	}
	if err := json.Unmarshal([]byte(r.body), &rec); r.code != 201 || err != nil || len(rec.Results) != 2 || rec.Results[0].Flag != "LL" ||
		rec.Results[0].AlertID == 0 || rec.Results[1].ValueSI != 125 || rec.Results[1].AlertID != 0 {
		t.Fatalf("API record: %d %s", r.code, r.body)
	}
	r = vd.postJSON("/api/v1/residents/"+rid+"/labs", map[string]any{"results": []map[string]any{{"code": "NA", "value": 500, "unit": "mmol/L", "doctor": "x", "collected_at": at}}})
	if r.code != 422 || !strings.Contains(r.body, "lab.value_impossible") {
		t.Errorf("impossible sodium: %d %s", r.code, r.body)
	}
	csv := "项目代码,结果,单位,参考范围,采集时间,开单医生\nNA,139,mmol/L,137-147," + time.Now().In(care.Shanghai).Add(-2*time.Hour).Format("2006-01-02 15:04") + ",王医生\n"
	r = vd.do("POST", "/api/v1/residents/"+rid+"/labs/import", "text/csv", []byte(csv), map[string]string{"X-CSRF-Token": vd.csrf})
	if r.code != 201 {
		t.Errorf("CSV import: %d %s", r.code, r.body)
	}
	r = vd.do("POST", "/api/v1/residents/"+rid+"/labs/import", "text/csv", []byte("code,value\nK,4\n"), map[string]string{"X-CSRF-Token": vd.csrf})
	if r.code != 422 || !strings.Contains(r.body, "no unit column") {
		t.Errorf("bad CSV: %d %s", r.code, r.body)
	}
	var list struct {
		Results []json.RawMessage `json:"results"`
	}
	if r := vd.get("/api/v1/residents/" + rid + "/labs"); json.Unmarshal([]byte(r.body), &list) != nil || len(list.Results) != 4 {
		t.Fatalf("results filed: %s", r.body)
	}
	if r := e.as(care.RoleInsuranceOfficer).get("/residents/" + rid + "/labs"); r.code != 403 {
		t.Errorf("insurance officer reads labs: %d", r.code)
	}

	// Critical values: the clinic sees two open alerts.
	cp := vd.get("/critical")
	if cp.code != 200 || strings.Count(cp.body, `action="/critical/`) != 2 {
		t.Fatalf("critical page %d", cp.code)
	}
	alertID := strconv.FormatInt(rec.Results[0].AlertID, 10)
	// What became of the alert's text messages shows on the page, in the
	// API and in the indicators: one delivered (its receipt), one failed.
	ctx := context.Background()
	msgs, err := e.st.MessagesAbout(ctx, "411723", critical.MessageRef(rec.Results[0].AlertID))
	if err != nil || len(msgs) < 2 || msgs[0].Params["value"] != "40 mg/dL" && msgs[0].Params["value"] == "" {
		t.Fatalf("the alert's messages: %+v %v", msgs, err)
	}
	e.st.MarkMessage(ctx, msgs[0].ID, notify.Attempt{Status: notify.StatusSent, Attempts: 1, At: time.Now(), Provider: "aliyun", ProviderID: "900001^0", Delivery: notify.DeliveryPending})
	e.st.RecordReceipts(ctx, "aliyun", []notify.Receipt{{ProviderID: "900001^0", Delivered: true, At: time.Now()}})
	e.st.MarkMessage(ctx, msgs[1].ID, notify.Attempt{Status: notify.StatusFailed, Attempts: 5, LastError: "aliyun: server error", At: time.Now()})
	wantSMS := fmt.Sprintf("短信 %d 条：已送达 1，未送达 1，待回执 %d", len(msgs), len(msgs)-2)
	if p := vd.get("/critical"); !strings.Contains(p.body, wantSMS) {
		t.Errorf("the alert page does not show %q", wantSMS)
	}
	var one struct {
		SMS struct{ Messages, Delivered, Failed, Pending int } `json:"sms"`
	}
	if r := vd.get("/api/v1/critical-alerts/" + alertID); json.Unmarshal([]byte(r.body), &one) != nil || one.SMS.Messages != len(msgs) || one.SMS.Delivered != 1 ||
		one.SMS.Failed != 1 || one.SMS.Pending != len(msgs)-2 {
		t.Errorf("API sms: %s", r.body)
	}
	if r := vd.postJSON("/api/v1/critical-alerts/"+alertID+"/ack", map[string]string{"read_back": "收到"}); r.code != 422 || !strings.Contains(r.body, "critical.read_back_missing") {
		t.Errorf("ack without read-back: %d %s", r.code, r.body)
	}
	if r := e.as(care.RoleCountySpecialist).get("/api/v1/critical-alerts/" + alertID); r.code != 404 {
		t.Errorf("county specialist reads a clinic's unescalated alert: %d", r.code)
	}
	if r := e.as(care.RolePharmacist).get("/critical"); r.code != 403 {
		t.Errorf("pharmacist on /critical: %d", r.code)
	}
	if r := vd.postJSON("/api/v1/critical-alerts/"+alertID+"/ack", map[string]string{"read_back": "血糖 40 mg/dL（2.2 mmol/L）已读回，已电话通知家属"}); r.code != 200 {
		t.Fatalf("ack: %d %s", r.code, r.body)
	}
	if r := vd.postJSON("/api/v1/critical-alerts/"+alertID+"/ack", map[string]string{"read_back": "40"}); r.code != 409 {
		t.Errorf("second ack: %d", r.code)
	}
	var open struct {
		Alerts []struct {
			ID    int64  `json:"id"`
			Value string `json:"value"`
		} `json:"alerts"`
	}
	json.Unmarshal([]byte(vd.get("/api/v1/critical-alerts?open=1").body), &open)
	if len(open.Alerts) != 1 || open.Alerts[0].Value != "6.8 mmol/L" {
		t.Fatalf("open alerts %+v", open.Alerts)
	}
	r = vd.postForm(fmt.Sprintf("/critical/%d/ack", open.Alerts[0].ID), url.Values{"note": {"血钾6.8，已读回"}}, true)
	if r.code != 303 {
		t.Errorf("page ack: %d", r.code)
	}
	if p := vd.get("/critical"); !strings.Contains(p.body, `id="critical-none"`) {
		t.Error("acknowledged alerts still open")
	}
	an := e.as(care.RoleAnalyst)
	var ind struct {
		Raised       int     `json:"raised"`
		Acknowledged int     `json:"acknowledged"`
		Median       float64 `json:"ack_median_seconds"`
	}
	if r := an.get("/api/v1/critical-alerts/indicators"); json.Unmarshal([]byte(r.body), &ind) != nil || ind.Raised != 2 || ind.Acknowledged != 2 {
		t.Errorf("indicator: %d %s", r.code, r.body)
	}
	if p := an.get("/critical/indicators"); p.code != 200 || !strings.Contains(p.body, `id="critical-indicator"`) ||
		!strings.Contains(p.body, `<dd id="critical-sms-delivered">1</dd>`) || !strings.Contains(p.body, `<dd id="critical-sms-failed">1</dd>`) {
		t.Errorf("indicator page %d", p.code)
	}

	e.writer.Flush(context.Background())
	for action, want := range map[string]int{lab.ActRecord: 3, lab.ActRead: 1, critical.ActAck: 2} {
		evs, _ := e.st.SearchAudit(context.Background(), audit.Filter{Action: action})
		if len(evs) < want {
			t.Errorf("audit %s: %d rows, want ≥ %d", action, len(evs), want)
		}
	}
}

// fetalTrace is a 4 Hz CTG export of minutes with baseline bpm and, from
// minute 10, a deceleration of decel seconds.
func fetalTrace(minutes int, bpm, decel float64) string {
	var b strings.Builder
	b.WriteString("time,fhr,uc\n")
	for i := 0; i < minutes*240; i++ {
		t := float64(i) / 4
		v := bpm + 5*math.Sin(2*math.Pi*t/7)
		if t >= 600 && t < 600+decel {
			v -= 40
		}
		fmt.Fprintf(&b, "%.2f,%.1f,%d\n", t, v, 10+(i/40)%30)
	}
	return b.String()
}

// TestPhotosAndFetalTraces: a village doctor sends a fundus photo and a
// fetal trace from the pages (and one through the API); the trace page
// draws the FHR on CTG paper with the FIGO flags; the reading center can
// open both, an insurance officer cannot (scope across clinics is tested
// in store.TestPhotoAndFetalStudies).
func TestPhotosAndFetalTraces(t *testing.T) {
	e := newEnv(t, store.SQLite)
	rd := e.as(care.RoleReader)
	var me struct {
		Institution int64 `json:"institution_id"`
	}
	json.Unmarshal([]byte(rd.get("/api/v1/me").body), &me)
	center := strconv.FormatInt(me.Institution, 10)
	vd := e.as(care.RoleVillageDoctor)
	rid := firstResident(t, vd)
	form := vd.get("/residents/" + rid + "/exams")
	if form.code != 200 || !strings.Contains(form.body, `id="fetal-form"`) || !strings.Contains(form.body, `value="`+center+`"`) {
		t.Fatalf("exams page %d", form.code)
	}
	m := image.NewRGBA(image.Rect(0, 0, 160, 120))
	for i := range m.Pix {
		m.Pix[i] = uint8(i)
	}
	m.Set(0, 0, color.White)
	var pngBytes bytes.Buffer
	png.Encode(&pngBytes, m)
	body, ct := multipartBody(map[string]string{"csrf": vd.csrf, "center_id": center, "kind": "fundus", "device": "Topcon"},
		map[string][2]string{"file": {"eye.png", pngBytes.String()}})
	if r := vd.do("POST", "/residents/"+rid+"/photos", ct, body, nil); r.code != 303 {
		t.Fatalf("photo upload: %d %s", r.code, r.body)
	}
	body, ct = multipartBody(map[string]string{"csrf": vd.csrf, "center_id": center, "kind": "skin"},
		map[string][2]string{"file": {"eye.jpg", "%PDF-1.4 not an image"}})
	if r := vd.do("POST", "/residents/"+rid+"/photos", ct, body, nil); r.code != 422 || !strings.Contains(r.body, "不是 JPEG 或 PNG") && !strings.Contains(r.body, "not a JPEG or PNG") {
		t.Errorf("PDF as photo: %d", r.code)
	}
	body, ct = multipartBody(map[string]string{"csrf": vd.csrf, "center_id": center, "device": "Edan F3"},
		map[string][2]string{"file": {"ctg.csv", fetalTrace(30, 140, 360)}})
	r := vd.do("POST", "/residents/"+rid+"/fetal", ct, body, nil)
	loc := r.header.Get("Location")
	if r.code != 303 || !strings.HasPrefix(loc, "/fetal/") {
		t.Fatalf("fetal upload: %d %s", r.code, r.body)
	}
	p := vd.get(loc)
	if p.code != 200 || !strings.Contains(p.body, "<svg") || !strings.Contains(p.body, "<polyline") || !strings.Contains(p.body, "单次减速超过 5 分钟") {
		t.Fatalf("trace page %d", p.code)
	}
	if r := rd.get(loc); r.code != 200 {
		t.Errorf("reading center opens the trace: %d", r.code)
	}
	if r := rd.get("/fetal/99999999"); r.code != 404 {
		t.Errorf("unknown trace: %d", r.code)
	}
	if r := e.as(care.RoleInsuranceOfficer).get(loc); r.code != 403 {
		t.Errorf("insurance officer opens a trace: %d", r.code)
	}
	var exams struct {
		Photos []struct {
			URL string `json:"url"`
		} `json:"photos"`
		Traces []struct {
			ID       int64 `json:"id"`
			Priority int   `json:"priority"`
			AlertID  int64 `json:"alert_id"`
		} `json:"fetal_traces"`
	}
	if r := vd.get("/api/v1/residents/" + rid + "/exams"); json.Unmarshal([]byte(r.body), &exams) != nil || len(exams.Photos) != 1 || len(exams.Traces) != 1 ||
		exams.Traces[0].Priority != 2 || exams.Traces[0].AlertID == 0 {
		t.Fatalf("exams API: %s", r.body)
	}
	if r := rd.get(exams.Photos[0].URL); r.code != 200 || r.header.Get("Content-Type") != "image/png" {
		t.Errorf("photo file: %d %s", r.code, r.header.Get("Content-Type"))
	}
	r = vd.postJSON("/api/v1/residents/"+rid+"/fetal", map[string]any{"center_id": me.Institution, "name": "n.csv", "csv": []byte(fetalTrace(20, 140, 0))})
	var fs struct {
		ID       int64    `json:"id"`
		Flags    []string `json:"flags"`
		Priority int      `json:"priority"`
	}
	if err := json.Unmarshal([]byte(r.body), &fs); r.code != 201 || err != nil || fs.Priority != 0 || len(fs.Flags) != 0 {
		t.Fatalf("API fetal: %d %s", r.code, r.body)
	}
	var tr struct {
		FHR      []*float64 `json:"fhr"`
		Analysis struct {
			Class    string  `json:"class"`
			Baseline float64 `json:"baseline_bpm"`
		} `json:"analysis"`
	}
	if r := rd.get(fmt.Sprintf("/api/v1/fetal/%d", fs.ID)); json.Unmarshal([]byte(r.body), &tr) != nil || len(tr.FHR) != 1200 || tr.Analysis.Class != reading.ClassNormal || tr.Analysis.Baseline != 140 {
		t.Errorf("API trace: %d", r.code)
	}
	if r := vd.postJSON("/api/v1/residents/"+rid+"/fetal", map[string]any{"center_id": me.Institution, "csv": []byte("time,fhr\n0,140\n")}); r.code != 422 {
		t.Errorf("short trace: %d", r.code)
	}
}
