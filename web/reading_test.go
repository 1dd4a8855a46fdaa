package web_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"countycare/audit"
	"countycare/care"
	"countycare/reading"
	"countycare/store"
)

// TestReadingWorkflowWeb: a village doctor sends an urgent ECG; the reader
// finds it first on the worklist page and API, claims it from the page,
// gets the template's field faults for a bad report, signs a good one
// through the API; the clinic sees the returned report (list, study page,
// resident page), another clinic gets 404, clinic doctors cannot claim;
// an addendum keeps the report; the indicators page and API answer
// readers and analysts in both languages; each step is audited.
func TestReadingWorkflowWeb(t *testing.T) {
	e := newEnv(t, store.SQLite)
	rd, vd := e.as(care.RoleReader), e.as(care.RoleVillageDoctor)
	var me struct {
		Institution int64 `json:"institution_id"`
	}
	json.Unmarshal([]byte(rd.get("/api/v1/me").body), &me)
	ids := regexp.MustCompile(`href="/residents/(\d+)"`).FindAllStringSubmatch(vd.get("/residents").body, -1)
	if len(ids) < 2 {
		t.Fatal("no residents in the village")
	}
	rid, rid2 := ids[0][1], ids[1][1]
	normal := []float64{0.85, 0.85, 0.85, 0.85, 0.85, 0.85, 0.85, 0.85, 0.85, 0.85}
	pause := []float64{0.8, 0.8, 0.8, 0.8, 0.8, 3.6, 0.8, 0.8, 0.8, 0.8}
	up := func(rid string, rr []float64, urgent bool) int64 {
		t.Helper()
		r := vd.postJSON("/api/v1/residents/"+rid+"/ecg", map[string]any{"center_id": me.Institution, "signal_name": "e.csv", "signal": []byte(ecgCSV(rr)), "urgent": urgent})
		var out struct {
			ID int64 `json:"id"`
		}
		if err := json.Unmarshal([]byte(r.body), &out); r.code != 201 || err != nil {
			t.Fatalf("upload: %d %s", r.code, r.body)
		}
		return out.ID
	}
	up(rid2, pause, false)
	urgentECG := up(rid, normal, true)

	var wl struct {
		Studies []struct {
			ID        int64  `json:"id"`
			SourceKey string `json:"source_key"`
			Urgent    bool   `json:"urgent"`
			Modality  string `json:"modality"`
			Status    string `json:"status"`
			Version   int    `json:"version"`
		} `json:"studies"`
	}
	r := rd.get("/api/v1/reading/worklist?modality=ECG")
	if err := json.Unmarshal([]byte(r.body), &wl); r.code != 200 || err != nil || len(wl.Studies) != 2 {
		t.Fatalf("API worklist: %d %s", r.code, r.body)
	}
	if wl.Studies[0].SourceKey != strconv.FormatInt(urgentECG, 10) || !wl.Studies[0].Urgent || wl.Studies[0].Modality != "ECG" {
		t.Errorf("the urgent ECG is not first: %+v", wl.Studies)
	}
	sid := strconv.FormatInt(wl.Studies[0].ID, 10)
	page := rd.get("/reading/worklist")
	if page.code != 200 || !strings.Contains(page.body, `id="reading-worklist"`) || !strings.Contains(page.body, `/reading/studies/`+sid+`/claim`) {
		t.Fatalf("worklist page: %d", page.code)
	}
	if !strings.Contains(page.body, "长 RR 间歇") {
		t.Error("the worklist page does not show the pause the pre-read found")
	}
	if r := vd.get("/reading/worklist"); r.code != 403 {
		t.Errorf("village doctor's worklist page: %d", r.code)
	}
	if r := vd.postJSON("/api/v1/reading/studies/"+sid+"/claim", nil); r.code != 403 {
		t.Errorf("village doctor claims: %d", r.code)
	}

	// Claim from the page; the study page then offers the ECG template.
	claim := rd.postForm("/reading/studies/"+sid+"/claim", url.Values{}, true)
	if claim.code != http.StatusSeeOther {
		t.Fatalf("claim: %d %s", claim.code, claim.body)
	}
	// The notice says the study was claimed, not saved.
	if loc := claim.header.Get("Location"); !strings.HasSuffix(loc, "?ok=claimed") {
		t.Errorf("after a claim: redirected to %q", loc)
	} else if p := rd.get(loc); !strings.Contains(p.body, `role="status">已领取，该检查由您阅片`) || strings.Contains(p.body, "已保存") {
		t.Errorf("the study page after a claim does not say it was claimed: %.200s", regexp.MustCompile(`class="flash"[^<]*`).FindString(p.body))
	}
	st := rd.get("/reading/studies/" + sid)
	if st.code != 200 || !strings.Contains(st.body, `id="report-form"`) || !strings.Contains(st.body, `name="f_qrs"`) || !strings.Contains(st.body, "心律") {
		t.Fatalf("study page after the claim: %d", st.code)
	}
	// The ECG in its viewer beside the form, the form filled in from the pre-read (70.6 bpm, RR 850 ms).
	if !strings.Contains(st.body, `id="study-viewer"`) || !strings.Contains(st.body, `id="ecg-viewer" class="viewer" data-study="`+wl.Studies[0].SourceKey+`"`) {
		t.Error("the study page does not show the ECG viewer")
	}
	if !regexp.MustCompile(`name="f_rate" [^>]*value="71"`).MatchString(st.body) || !strings.Contains(st.body, "RR 间期中位数 850 ms") {
		t.Errorf("the report form is not filled in from the pre-read: %s", regexp.MustCompile(`<input name="f_rate"[^>]*>`).FindString(st.body))
	}
	if regexp.MustCompile(`name="f_qrs" [^>]*value="\d`).MatchString(st.body) {
		t.Error("the QRS duration, which the pre-read does not measure, is filled in")
	}
	bad := rd.postForm("/reading/studies/"+sid+"/report", url.Values{"f_rhythm": {"窦性心律"}, "f_rate": {"999"}, "f_qrs": {"90"}, "f_conclusion": {"x"}}, true)
	if bad.code != 422 || !strings.Contains(bad.body, "10 到 350") {
		t.Errorf("bad report: %d", bad.code)
	}
	r = rd.postJSON("/api/v1/reading/studies/"+sid+"/report", map[string]any{"fields": map[string]string{"rhythm": "窦性心律", "rate": "70", "qrs": "88",
		"conclusion": "正常心电图"}, "normal": true})
	var signed struct {
		Report struct {
			ID     int64  `json:"id"`
			Seal   string `json:"seal"`
			SealOK bool   `json:"seal_ok"`
		} `json:"report"`
	}
	if err := json.Unmarshal([]byte(r.body), &signed); r.code != 201 || err != nil || len(signed.Report.Seal) != 64 || !signed.Report.SealOK {
		t.Fatalf("sign: %d %s", r.code, r.body)
	}
	if r := rd.postJSON("/api/v1/reading/studies/"+sid+"/report", map[string]any{"fields": map[string]string{"rhythm": "x", "rate": "70", "qrs": "88", "conclusion": "x"}}); r.code != 409 {
		t.Errorf("second report: %d", r.code)
	}

	// Returned to the clinic.
	var ret struct {
		Studies []struct {
			ID      int64  `json:"id"`
			Summary string `json:"summary"`
		} `json:"studies"`
	}
	json.Unmarshal([]byte(vd.get("/api/v1/reading/returned").body), &ret)
	if len(ret.Studies) != 1 || strconv.FormatInt(ret.Studies[0].ID, 10) != sid || ret.Studies[0].Summary != "正常心电图" {
		t.Errorf("returned: %+v", ret.Studies)
	}
	if p := vd.get("/reading/returned"); p.code != 200 || !strings.Contains(p.body, "正常心电图") {
		t.Errorf("returned page: %d", p.code)
	}
	if p := vd.get("/reading/studies/" + sid); p.code != 200 || !strings.Contains(p.body, signed.Report.Seal) || strings.Contains(p.body, `id="report-form"`) {
		t.Errorf("clinic's study page: %d", p.code)
	}
	if p := vd.get("/residents/" + rid); !strings.Contains(p.body, `id="readings"`) || !strings.Contains(p.body, "正常心电图") {
		t.Error("the report is not on the resident page")
	}
	if r := e.as(care.RoleTownshipDoctor).get("/api/v1/reading/studies/" + sid); r.code != 404 {
		t.Errorf("another clinic opens the study: %d", r.code)
	}

	// Addendum: the report stays as signed.
	if r := rd.postForm("/reading/studies/"+sid+"/addendum", url.Values{"text": {"复核无误。"}}, true); r.code != http.StatusSeeOther {
		t.Fatalf("addendum: %d %s", r.code, r.body)
	}
	var got struct {
		Reports []struct {
			Kind   string            `json:"kind"`
			Seal   string            `json:"seal"`
			SealOK bool              `json:"seal_ok"`
			Fields map[string]string `json:"fields"`
		} `json:"reports"`
	}
	json.Unmarshal([]byte(vd.get("/api/v1/reading/studies/"+sid).body), &got)
	if len(got.Reports) != 2 || got.Reports[0].Seal != signed.Report.Seal || !got.Reports[0].SealOK || got.Reports[1].Kind != "addendum" || !got.Reports[1].SealOK {
		t.Errorf("reports after the addendum: %+v", got.Reports)
	}

	// Indicators: readers and analysts, both languages; not clinics.
	var ind struct {
		ByModality []struct {
			Name    string `json:"name"`
			Studies int    `json:"studies"`
		} `json:"by_modality"`
		Turnaround []struct {
			Modality string `json:"modality"`
			Reported int    `json:"reported"`
		} `json:"turnaround"`
		PreReadNormal int `json:"preread_normal"`
		Confirmed     int `json:"confirmed_normal"`
	}
	r = rd.get("/api/v1/reading/indicators")
	if err := json.Unmarshal([]byte(r.body), &ind); r.code != 200 || err != nil || len(ind.ByModality) != 1 || ind.ByModality[0].Studies != 2 ||
		len(ind.Turnaround) != 1 || ind.Turnaround[0].Reported != 1 || ind.PreReadNormal != 1 || ind.Confirmed != 1 {
		t.Errorf("indicators: %d %s", r.code, r.body)
	}
	an := e.as(care.RoleAnalyst)
	if p := an.get("/reading/indicators"); p.code != 200 || !strings.Contains(p.body, `id="turnaround"`) {
		t.Errorf("analyst's indicators page: %d", p.code)
	}
	en := an.do("GET", "/reading/indicators", "", nil, map[string]string{"Cookie": "cc_lang=en"})
	if en.code != 200 || !strings.Contains(en.body, "Turnaround (minutes)") {
		t.Errorf("English indicators page: %d", en.code)
	}
	if r := rd.get("/api/v1/reading/indicators?from=2026-13-01"); r.code != 422 {
		t.Errorf("bad period: %d", r.code)
	}
	if r := vd.get("/api/v1/reading/indicators"); r.code != 403 {
		t.Errorf("village doctor's indicators: %d", r.code)
	}

	// The study with a pause: the pre-read's finding fills in the rhythm line.
	pid := strconv.FormatInt(wl.Studies[1].ID, 10)
	if r := rd.postJSON("/api/v1/reading/studies/"+pid+"/claim", nil); r.code != 200 {
		t.Fatalf("claim the second study: %d %s", r.code, r.body)
	}
	if p := rd.get("/reading/studies/" + pid); !regexp.MustCompile(`<textarea name="f_rhythm"[^>]*>长 RR 间歇（停搏）`).MatchString(p.body) {
		t.Errorf("the rhythm is not filled in from the pre-read's pause: %s", regexp.MustCompile(`<textarea name="f_rhythm"[^>]*>[^<]*`).FindString(p.body))
	}

	// Escalated 20 minutes after upload: the page flags it and shows the report
	// deadline (upload + 15 min, past), and the next reminder apart.
	var ps struct {
		Study struct {
			UploadedAt time.Time `json:"uploaded_at"`
		} `json:"study"`
	}
	json.Unmarshal([]byte(rd.get("/api/v1/reading/studies/"+pid).body), &ps)
	clock := e.srv.ReadFlow.Now
	e.srv.ReadFlow.Now = func() time.Time { return clock().Add(20 * time.Minute) }
	n, err := e.srv.ReadFlow.EscalateDue(t.Context())
	e.srv.ReadFlow.Now = clock
	if err != nil || n != 1 {
		t.Fatalf("escalate: %d %v", n, err)
	}
	loc := func(at time.Time) string { return at.In(care.Shanghai).Format("2006-01-02 15:04") }
	p := rd.get("/reading/studies/" + pid)
	if !strings.Contains(p.body, `id="breached"`) || !strings.Contains(p.body, `id="deadline">`+loc(ps.Study.UploadedAt.Add(15*time.Minute))+`<`) ||
		!strings.Contains(p.body, `id="next-escalation">`) {
		t.Errorf("escalated study: %s / %s", regexp.MustCompile(`id="deadline">[^<]*`).FindString(p.body), regexp.MustCompile(`id="next-escalation">[^<]*`).FindString(p.body))
	}

	e.writer.Flush(t.Context())
	for act, min := range map[string]int{reading.ActWorklist: 2, reading.ActClaim: 1, reading.ActReport: 1, reading.ActAddendum: 1, reading.ActStudyRead: 2, reading.ActReturned: 2} {
		rows, _ := e.st.SearchAudit(t.Context(), audit.Filter{Action: act})
		if len(rows) < min {
			t.Errorf("audit %s: %d rows, want at least %d", act, len(rows), min)
		}
	}
}
