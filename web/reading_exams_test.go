package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"image"
	"image/png"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"countycare/care"
	"countycare/critical"
	"countycare/store"
)

type wlStudy struct {
	ID        int64  `json:"id"`
	Kind      string `json:"kind"`
	SourceKey string `json:"source_key"`
	Modality  string `json:"modality"`
	Priority  int    `json:"priority"`
	SourceURL string `json:"source_url"`
	Status    string `json:"status"`
}

func worklistAPI(t *testing.T, c *client, modality string) []wlStudy {
	t.Helper()
	var wl struct {
		Studies []wlStudy `json:"studies"`
	}
	r := c.get("/api/v1/reading/worklist?modality=" + modality)
	if err := json.Unmarshal([]byte(r.body), &wl); r.code != 200 || err != nil {
		t.Fatalf("worklist %s: %d %s", modality, r.code, r.body)
	}
	return wl.Studies
}

func readerCenter(t *testing.T, rd *client) int64 {
	t.Helper()
	var me struct {
		Institution int64 `json:"institution_id"`
	}
	json.Unmarshal([]byte(rd.get("/api/v1/me").body), &me)
	if me.Institution == 0 {
		t.Fatal("reader has no center")
	}
	return me.Institution
}

// TestReadingPhotosAndFetalTraces: a fundus photo and fetal traces sent by
// a clinic enter the reading workflow in their upload transaction (FUNDUS
// and FHM worklists, the pathological trace first); the worklist and the
// study page link the photo and the trace; the reader signs the fundus
// template (DR grade per eye) and the FHM template, which marks the photo
// and the trace reported. Both databases.
func TestReadingPhotosAndFetalTraces(t *testing.T) {
	for _, d := range []store.Dialect{store.SQLite, store.Postgres} {
		t.Run(string(d), func(t *testing.T) { testReadingExams(t, d) })
	}
}

func testReadingExams(t *testing.T, d store.Dialect) {
	e := newEnv(t, d)
	rd, vd := e.as(care.RoleReader), e.as(care.RoleVillageDoctor)
	center := readerCenter(t, rd)
	rid := firstResident(t, vd)

	m := image.NewRGBA(image.Rect(0, 0, 160, 120))
	for i := range m.Pix {
		m.Pix[i] = uint8(i)
	}
	var pngBytes bytes.Buffer
	png.Encode(&pngBytes, m)
	r := vd.postJSON("/api/v1/residents/"+rid+"/photos", map[string]any{"center_id": center, "kind": "fundus", "name": "eye.png", "file": pngBytes.Bytes()})
	var photo struct {
		ID int64 `json:"id"`
	}
	if err := json.Unmarshal([]byte(r.body), &photo); r.code != 201 || err != nil || photo.ID == 0 {
		t.Fatalf("photo: %d %s", r.code, r.body)
	}
	fetal := func(csv string) int64 {
		t.Helper()
		r := vd.postJSON("/api/v1/residents/"+rid+"/fetal", map[string]any{"center_id": center, "name": "ctg.csv", "csv": []byte(csv)})
		var out struct {
			ID int64 `json:"id"`
		}
		if err := json.Unmarshal([]byte(r.body), &out); r.code != 201 || err != nil {
			t.Fatalf("fetal: %d %s", r.code, r.body)
		}
		return out.ID
	}
	normalTrace := fetal(fetalTrace(20, 140, 0))
	badTrace := fetal(fetalTrace(30, 140, 360)) // a deceleration over 5 minutes: pathological

	fhm := worklistAPI(t, rd, "FHM")
	if len(fhm) != 2 || fhm[0].SourceKey != strconv.FormatInt(badTrace, 10) || fhm[0].Priority != 2 || fhm[1].SourceKey != strconv.FormatInt(normalTrace, 10) ||
		fhm[0].Kind != "fetal" || fhm[0].SourceURL != "/fetal/"+fhm[0].SourceKey {
		t.Fatalf("FHM worklist (pathological first): %+v", fhm)
	}
	fun := worklistAPI(t, rd, "FUNDUS")
	if len(fun) != 1 || fun[0].Kind != "photo" || fun[0].SourceKey != strconv.FormatInt(photo.ID, 10) || fun[0].SourceURL != "/photos/"+fun[0].SourceKey {
		t.Fatalf("FUNDUS worklist: %+v", fun)
	}
	if len(worklistAPI(t, rd, "SKIN")) != 0 {
		t.Error("a fundus photo on the skin worklist")
	}
	page := rd.get("/reading/worklist")
	if page.code != 200 || !strings.Contains(page.body, `href="/fetal/`+fhm[0].SourceKey+`"`) || !strings.Contains(page.body, `href="/photos/`+fun[0].SourceKey+`"`) ||
		!strings.Contains(page.body, "眼底照片") || !strings.Contains(page.body, "胎心监护") {
		t.Errorf("worklist page does not link the photo and the trace: %d", page.code)
	}
	if p := rd.get("/reading/worklist?modality=FHM"); p.code != 200 || strings.Index(p.body, "/fetal/"+fhm[0].SourceKey) > strings.Index(p.body, "/fetal/"+fhm[1].SourceKey) {
		t.Errorf("FHM tab: %d, pathological not first", p.code)
	}

	// The fundus photo: claim, the page shows the photo and the template.
	sid := strconv.FormatInt(fun[0].ID, 10)
	if r := rd.postForm("/reading/studies/"+sid+"/claim", url.Values{}, true); r.code != http.StatusSeeOther {
		t.Fatalf("claim photo: %d", r.code)
	}
	st := rd.get("/reading/studies/" + sid)
	if st.code != 200 || !strings.Contains(st.body, `<img src="/photos/`+fun[0].SourceKey+`"`) || !strings.Contains(st.body, `name="f_dr_right"`) || !strings.Contains(st.body, "ICDR") {
		t.Fatalf("photo study page: %d", st.code)
	}
	if r := rd.get("/photos/" + fun[0].SourceKey); r.code != 200 || r.header.Get("Content-Type") != "image/png" {
		t.Errorf("reader opens the photo: %d", r.code)
	}
	if r := rd.postJSON("/api/v1/reading/studies/"+sid+"/report", map[string]any{"fields": map[string]string{"dr_right": "5", "impression": "x"}}); r.code != 422 ||
		!strings.Contains(r.body, "dr_right") {
		t.Errorf("DR grade 5: %d %s", r.code, r.body)
	}
	if r := rd.postJSON("/api/v1/reading/studies/"+sid+"/report", map[string]any{"fields": map[string]string{"impression": "x"}}); r.code != 422 {
		t.Errorf("no eye graded: %d %s", r.code, r.body)
	}
	if r := rd.postJSON("/api/v1/reading/studies/"+sid+"/report", map[string]any{"fields": map[string]string{"dr_right": "2", "dr_left": "1", "dme_right": "0",
		"impression": "双眼非增殖期糖尿病视网膜病变", "advice": "3–6 个月复查"}}); r.code != 201 {
		t.Fatalf("sign fundus: %d %s", r.code, r.body)
	}
	ctx := context.Background()
	if p, err := e.st.PhotoStudy(ctx, fhmCounty(t, e, fun[0].ID), photo.ID); err != nil || p.Status != "reported" {
		t.Errorf("photo after the report: %v %+v", err, p)
	}

	// The pathological trace: the page links the trace; the FHM template.
	sid = strconv.FormatInt(fhm[0].ID, 10)
	if r := rd.postJSON("/api/v1/reading/studies/"+sid+"/claim", nil); r.code != 200 {
		t.Fatalf("claim trace: %d %s", r.code, r.body)
	}
	st = rd.get("/reading/studies/" + sid)
	if st.code != 200 || !strings.Contains(st.body, `href="/fetal/`+fhm[0].SourceKey+`"`) || !strings.Contains(st.body, `id="fetal-class"`) ||
		!strings.Contains(st.body, `name="f_decelerations"`) || !strings.Contains(st.body, "FIGO") {
		t.Fatalf("trace study page: %d", st.code)
	}
	if r := rd.postJSON("/api/v1/reading/studies/"+sid+"/report", map[string]any{"fields": map[string]string{"baseline": "140", "variability": "10",
		"accelerations": "无", "decelerations": "延长减速 1 次，6 分钟", "classification": "病理性", "conclusion": "病理性图形，建议立即转诊"}}); r.code != 201 {
		t.Fatalf("sign trace: %d %s", r.code, r.body)
	}
	county := fhmCounty(t, e, fhm[0].ID)
	if f, err := e.st.FetalStudy(ctx, county, badTrace); err != nil || f.Status != "reported" {
		t.Errorf("trace after the report: %v %+v", err, f)
	}
	if f, err := e.st.FetalStudy(ctx, county, normalTrace); err != nil || f.Status != "waiting" {
		t.Errorf("unread trace: %v", err)
	}
	if len(worklistAPI(t, rd, "FHM")) != 1 || len(worklistAPI(t, rd, "FUNDUS")) != 0 {
		t.Error("reported studies still on the worklist")
	}
}

// fhmCounty is the county of a workflow study.
func fhmCounty(t *testing.T, e *env, studyID int64) string {
	t.Helper()
	rd := e.as(care.RoleReader)
	var out struct {
		Study struct {
			ResidentID int64 `json:"resident_id"`
		} `json:"study"`
	}
	json.Unmarshal([]byte(rd.get("/api/v1/reading/studies/"+strconv.FormatInt(studyID, 10)).body), &out)
	res, err := e.st.Resident(context.Background(), out.Study.ResidentID)
	if err != nil {
		t.Fatal(err)
	}
	return res.CountyCode
}

// TestReadingCriticalRaisesAlert: a reader signs an ECG report marked
// critical; the critical-value service raises one alert for the ordering
// clinic, which its doctor sees in GET /api/v1/critical-alerts; a second
// sign (409) and an addendum repeating the finding raise no second alert;
// an addendum with a different critical finding raises its own. Both
// databases.
func TestReadingCriticalRaisesAlert(t *testing.T) {
	for _, d := range []store.Dialect{store.SQLite, store.Postgres} {
		t.Run(string(d), func(t *testing.T) { testReadingCritical(t, d) })
	}
}

func testReadingCritical(t *testing.T, d store.Dialect) {
	e := newEnv(t, d)
	rd, vd := e.as(care.RoleReader), e.as(care.RoleVillageDoctor)
	center := readerCenter(t, rd)
	rid := firstResident(t, vd)
	normal := []float64{0.85, 0.85, 0.85, 0.85, 0.85, 0.85, 0.85, 0.85, 0.85, 0.85}
	r := vd.postJSON("/api/v1/residents/"+rid+"/ecg", map[string]any{"center_id": center, "signal_name": "e.csv", "signal": []byte(ecgCSV(normal)), "urgent": true})
	if r.code != 201 {
		t.Fatalf("ECG upload: %d %s", r.code, r.body)
	}
	wl := worklistAPI(t, rd, "ECG")
	if len(wl) != 1 {
		t.Fatalf("ECG worklist: %+v", wl)
	}
	sid := strconv.FormatInt(wl[0].ID, 10)
	type alerts struct {
		Alerts []struct {
			ID         int64  `json:"id"`
			SourceKind string `json:"source_kind"`
			SourceID   int64  `json:"source_id"`
			ResidentID int64  `json:"resident_id"`
			ClinicID   int64  `json:"clinic_id"`
			Finding    string `json:"finding"`
		} `json:"alerts"`
	}
	list := func() alerts {
		t.Helper()
		var out alerts
		r := vd.get("/api/v1/critical-alerts")
		if err := json.Unmarshal([]byte(r.body), &out); r.code != 200 || err != nil {
			t.Fatalf("critical alerts: %d %s", r.code, r.body)
		}
		return out
	}
	before := len(list().Alerts)

	if r := rd.postJSON("/api/v1/reading/studies/"+sid+"/claim", nil); r.code != 200 {
		t.Fatalf("claim: %d %s", r.code, r.body)
	}
	report := map[string]any{"fields": map[string]string{"rhythm": "窦性心律", "rate": "96", "qrs": "100", "st_t": "V1–V4 ST 段抬高 0.3 mV",
		"conclusion": "急性前壁心肌梗死"}, "critical": true, "critical_text": "急性 ST 段抬高型心肌梗死（前壁）"}
	if r := rd.postJSON("/api/v1/reading/studies/"+sid+"/report", report); r.code != 201 {
		t.Fatalf("sign: %d %s", r.code, r.body)
	}
	got := list()
	if len(got.Alerts) != before+1 {
		t.Fatalf("alerts after the critical report: %d, want %d", len(got.Alerts), before+1)
	}
	al := got.Alerts[0]
	var me struct {
		Institution int64 `json:"institution_id"`
	}
	json.Unmarshal([]byte(vd.get("/api/v1/me").body), &me)
	if al.SourceKind != critical.SourceECGReport || strconv.FormatInt(al.SourceID, 10) != sid || strconv.FormatInt(al.ResidentID, 10) != rid ||
		al.ClinicID != me.Institution || !strings.Contains(al.Finding, "心肌梗死") {
		t.Errorf("alert: %+v (clinic %d)", al, me.Institution)
	}
	if p := vd.get("/critical"); p.code != 200 || !strings.Contains(p.body, "急性 ST 段抬高型心肌梗死") {
		t.Errorf("critical page of the clinic: %d", p.code)
	}

	// Signing again, and an addendum marking it critical again: no second alert.
	if r := rd.postJSON("/api/v1/reading/studies/"+sid+"/report", report); r.code != 409 {
		t.Errorf("second sign: %d", r.code)
	}
	if r := rd.postJSON("/api/v1/reading/studies/"+sid+"/addendum", map[string]any{"text": "复核：前壁心梗，已电话通知。", "critical": true,
		"critical_text": "急性 ST 段抬高型心肌梗死（前壁）"}); r.code != 201 {
		t.Fatalf("addendum: %d %s", r.code, r.body)
	}
	if n := len(list().Alerts); n != before+1 {
		t.Errorf("alerts after the retry and the addendum: %d, want %d", n, before+1)
	}
	// A different critical finding signed in an addendum raises its own
	// alert (issue 18: keyed by the study alone it was lost); the same
	// finding signed again still raises once.
	second := map[string]any{"text": "复核发现：三度房室传导阻滞。", "critical": true, "critical_text": "三度房室传导阻滞"}
	for range 2 {
		if r := rd.postJSON("/api/v1/reading/studies/"+sid+"/addendum", second); r.code != 201 {
			t.Fatalf("addendum with a second finding: %d %s", r.code, r.body)
		}
	}
	got = list()
	if len(got.Alerts) != before+2 || got.Alerts[0].Finding != "三度房室传导阻滞" || strconv.FormatInt(got.Alerts[0].SourceID, 10) != sid ||
		got.Alerts[1].Finding != "急性 ST 段抬高型心肌梗死（前壁）" {
		t.Fatalf("alerts after a second finding, signed twice: %+v, want %d", got.Alerts, before+2)
	}

	// A critical finding whose raise is lost after the commit (the sink is
	// cut off here, as a crash would) is raised by the scheduler's sweep,
	// once, for the ordering clinic.
	r = vd.postJSON("/api/v1/residents/"+rid+"/ecg", map[string]any{"center_id": center, "signal_name": "f.csv", "signal": []byte(ecgCSV(normal)), "urgent": true})
	if r.code != 201 {
		t.Fatalf("second ECG upload: %d %s", r.code, r.body)
	}
	wl = worklistAPI(t, rd, "ECG")
	if len(wl) != 1 {
		t.Fatalf("ECG worklist: %+v", wl)
	}
	sid2 := strconv.FormatInt(wl[0].ID, 10)
	flow := e.srv.ReadFlow
	sink := flow.Critical
	flow.Critical = nil
	if r := rd.postJSON("/api/v1/reading/studies/"+sid2+"/claim", nil); r.code != 200 {
		t.Fatalf("claim: %d %s", r.code, r.body)
	}
	if r := rd.postJSON("/api/v1/reading/studies/"+sid2+"/report", report); r.code != 201 {
		t.Fatalf("sign: %d %s", r.code, r.body)
	}
	// … and a third finding in an addendum to the first study, whose raise is lost too.
	if r := rd.postJSON("/api/v1/reading/studies/"+sid+"/addendum", map[string]any{"text": "再次复核：室性心动过速。", "critical": true,
		"critical_text": "持续性室性心动过速"}); r.code != 201 {
		t.Fatalf("addendum with a third finding: %d %s", r.code, r.body)
	}
	flow.Critical = sink
	if n := len(list().Alerts); n != before+2 {
		t.Fatalf("alerts before the sweep: %d, want %d (the raises were cut off)", n, before+2)
	}
	ctx := context.Background()
	if n, err := flow.SweepCritical(ctx, 0); err != nil || n != 2 {
		t.Fatalf("sweep: %d alerts, %v; want 2 (the second study's report, the first study's third finding)", n, err)
	}
	if n, err := flow.SweepCritical(ctx, 0); err != nil || n != 0 {
		t.Errorf("second sweep: %d alerts, %v; want none", n, err)
	}
	got = list()
	swept := map[string]string{}
	for _, al := range got.Alerts[:2] {
		swept[strconv.FormatInt(al.SourceID, 10)] = al.Finding
	}
	if len(got.Alerts) != before+4 || swept[sid2] != "急性 ST 段抬高型心肌梗死（前壁）" || swept[sid] != "持续性室性心动过速" || got.Alerts[0].ClinicID != me.Institution {
		t.Errorf("alerts after the sweep: %+v", got.Alerts)
	}
}

// TestCriticalFindingKeyMigration: a database from before migration 0025
// (alerts keyed by study alone) upgrades without raising its alerted
// findings again — the backfill gives each reading alert the finding of its
// study's first critical report — and afterwards a different finding in an
// addendum raises its own alert. Both databases.
func TestCriticalFindingKeyMigration(t *testing.T) {
	for _, d := range []store.Dialect{store.SQLite, store.Postgres} {
		t.Run(string(d), func(t *testing.T) {
			e := newEnv(t, d)
			ctx := context.Background()
			rd, vd := e.as(care.RoleReader), e.as(care.RoleVillageDoctor)
			center := readerCenter(t, rd)
			rid := firstResident(t, vd)
			normal := []float64{0.85, 0.85, 0.85, 0.85, 0.85, 0.85, 0.85, 0.85, 0.85, 0.85}
			if r := vd.postJSON("/api/v1/residents/"+rid+"/ecg", map[string]any{"center_id": center, "signal_name": "e.csv", "signal": []byte(ecgCSV(normal))}); r.code != 201 {
				t.Fatalf("ECG upload: %d %s", r.code, r.body)
			}
			sid := strconv.FormatInt(worklistAPI(t, rd, "ECG")[0].ID, 10)
			if r := rd.postJSON("/api/v1/reading/studies/"+sid+"/claim", nil); r.code != 200 {
				t.Fatalf("claim: %d %s", r.code, r.body)
			}
			report := map[string]any{"fields": map[string]string{"rhythm": "窦性心律", "rate": "96", "qrs": "100", "st_t": "ST 段抬高", "conclusion": "急性心肌梗死"},
				"critical": true, "critical_text": "急性 ST 段抬高型心肌梗死"}
			if r := rd.postJSON("/api/v1/reading/studies/"+sid+"/report", report); r.code != 201 {
				t.Fatalf("sign: %d %s", r.code, r.body)
			}
			count := func() int {
				var out struct{ Alerts []json.RawMessage }
				json.Unmarshal([]byte(vd.get("/api/v1/critical-alerts").body), &out)
				return len(out.Alerts)
			}
			before := count()
			// Back to the schema before 0025: no finding_key, one alert per study
			// (Migrate applies every version not recorded, so 0025 alone runs again).
			for _, q := range []string{`DROP INDEX critical_alerts_source`, `ALTER TABLE critical_alerts DROP COLUMN finding_key`,
				`CREATE UNIQUE INDEX critical_alerts_source ON critical_alerts(county_code, source_kind, source_id)`,
				`DELETE FROM schema_migrations WHERE version = 25`} {
				if err := e.st.ExecForTest(ctx, q); err != nil {
					t.Fatalf("%s: %v", q, err)
				}
			}
			if err := e.st.Migrate(ctx); err != nil {
				t.Fatalf("migrate to 0025: %v", err)
			}
			// The alerted finding is not raised again by the sweep…
			if n, err := e.srv.ReadFlow.SweepCritical(ctx, 0); err != nil || n != 0 {
				t.Errorf("sweep after the upgrade: %d alerts, %v; want none", n, err)
			}
			// … an addendum repeating it raises nothing, one with another finding its own alert.
			for _, step := range []struct {
				text string
				want int
			}{{"急性 ST 段抬高型心肌梗死", before}, {"高度房室传导阻滞", before + 1}} {
				text, want := step.text, step.want
				if r := rd.postJSON("/api/v1/reading/studies/"+sid+"/addendum", map[string]any{"text": "复核", "critical": true, "critical_text": text}); r.code != 201 {
					t.Fatalf("addendum: %d %s", r.code, r.body)
				}
				if n := count(); n != want {
					t.Errorf("after an addendum %q: %d alerts, want %d", text, n, want)
				}
			}
		})
	}
}
