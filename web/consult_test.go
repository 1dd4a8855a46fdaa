package web_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"html"
	"mime/multipart"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"countycare/audit"
	"countycare/care"
	"countycare/consult"
	"countycare/resident"
	"countycare/store"
	"countycare/web"
)

// sse opens the client's event stream and returns a channel of event names.
func (c *client) sse(t *testing.T) (<-chan string, func()) {
	t.Helper()
	req, _ := http.NewRequest("GET", c.e.ts.URL+"/events", nil)
	resp, err := c.hc.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("events: %v %v", resp, err)
	}
	ch := make(chan string, 16)
	go func() {
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			if name, ok := strings.CutPrefix(sc.Text(), "event: "); ok {
				ch <- name
			}
		}
		close(ch)
	}()
	return ch, func() { resp.Body.Close() }
}

// TestConsultationPages: a village doctor asks for a consultation from the
// resident page (refused without consent), the specialist on duty sees it
// arrive live, accepts, exchanges a photo, signs an opinion; the village
// doctor records the decision. A wrong file type is refused; a stranger
// gets 404; a retried API request with the same key creates one case.
func TestConsultationPages(t *testing.T) {
	e := newEnv(t, store.SQLite)
	vd, cs := e.as(care.RoleVillageDoctor), e.as(care.RoleCountySpecialist)
	events, stop := cs.sse(t)
	defer stop()
	list := vd.get("/residents?group=elderly65")
	rid := regexp.MustCompile(`href="/residents/(\d+)"`).FindStringSubmatch(list.body)[1]
	if page := vd.get("/residents/" + rid); !strings.Contains(page.body, `id="consult-link"`) {
		t.Fatal("no consultation link on the resident page")
	}
	form := vd.get("/consult/new?resident=" + rid)
	if form.code != 200 {
		t.Fatalf("form: %d", form.code)
	}
	field := func(name string) string {
		m := regexp.MustCompile(`name="` + name + `" value="([^"]*)"`).FindStringSubmatch(form.body)
		if m == nil {
			return ""
		}
		return m[1]
	}
	hub := regexp.MustCompile(`name="to_institution"><option value="(\d+)"`).FindStringSubmatch(form.body)[1]
	vals := url.Values{"resident_id": {rid}, "key": {field("key")}, "kind": {"one_to_one"}, "urgency": {"urgent"}, "to_institution": {hub},
		"specialty": {"cardiology"}, "reason": {"血压控制不佳伴胸闷"}, "purpose": {"调整用药"}, "summary": {"高血压 10 年，近两周 170/100 mmHg"},
		"consent_method": {"written"}, "consent_at": {field("consent_at")}}
	if r := vd.postForm("/consult", vals, true); r.code != 422 || !strings.Contains(r.body, "没有患者知情同意") || !strings.Contains(r.body, "血压控制不佳伴胸闷") {
		t.Fatalf("without consent: %d", r.code)
	}
	vals.Set("consent_by", "patient")
	sent := time.Now()
	r := vd.postForm("/consult", vals, true)
	if r.code != 303 {
		t.Fatalf("request: %d %s", r.code, r.body)
	}
	casePath := strings.TrimSuffix(r.header.Get("Location"), "?ok=requested")
	select {
	case name := <-events:
		if name != "consult.new" {
			t.Errorf("event %q", name)
		}
		if d := time.Since(sent); d > time.Second {
			t.Errorf("live event after %s", d)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("the specialist's browser got no event")
	}
	if q := cs.get("/consult"); !strings.Contains(q.body, `id="queue"`) || !strings.Contains(q.body, "血压控制不佳伴胸闷") {
		t.Errorf("specialist queue: %d", q.code)
	}
	// The queue row: the patient masked (the list may be seen by others), and
	// the countdown to the deadline, in Beijing time for the browser to tick.
	var who struct {
		Name string `json:"name"`
	}
	json.Unmarshal([]byte(vd.get("/api/v1/residents/"+rid).body), &who)
	q := cs.get("/consult")
	// (The masked name is data: translate="no", as every name on a page.)
	patient := regexp.MustCompile(`<span class="patient"><span translate="no">([^<]*)</span>([^<]*)</span>`).FindStringSubmatch(q.body)
	if patient == nil || patient[1] != resident.MaskName(who.Name) || !strings.HasPrefix(patient[2], " · ") || strings.Contains(q.body, who.Name) {
		t.Errorf("queue row's patient %q (name %q)", patient, who.Name)
	}
	cd := regexp.MustCompile(`class="countdown" data-deadline="([^"]+)" role="timer">剩余 (\d+):\d\d<`).FindStringSubmatch(q.body)
	if cd == nil {
		t.Fatalf("no countdown in the queue row: %s", regexp.MustCompile(`class="countdown[^<]*`).FindString(q.body))
	}
	cd[1] = html.UnescapeString(cd[1]) // the attribute escapes "+"
	if dl, err := time.Parse(time.RFC3339, cd[1]); err != nil || !strings.HasSuffix(cd[1], "+08:00") || dl.Sub(sent) < 9*time.Minute || dl.Sub(sent) > 11*time.Minute || (cd[2] != "9" && cd[2] != "10") {
		t.Errorf("countdown deadline %q, %s minutes left: want 10 minutes from the request, in Beijing time", cd[1], cd[2])
	}
	page := cs.get(casePath)
	cs.csrf = regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(page.body)[1]
	if r := cs.postForm(casePath+"/decline", url.Values{"reason": {""}}, true); r.code != 422 {
		t.Errorf("decline without reason: %d", r.code)
	}
	if r := cs.postForm(casePath+"/accept", url.Values{}, true); r.code != 303 {
		t.Fatalf("accept: %d %s", r.code, r.body)
	}
	// A photo (a tiny PNG) is accepted; an executable is not.
	png := []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00\x00\x90wS\xde\x00\x00\x00\x0cIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00\x00\x00IEND\xaeB`\x82")
	upload := func(c *client, name string, data []byte) response {
		var buf bytes.Buffer
		mw := multipart.NewWriter(&buf)
		mw.WriteField("csrf", c.csrf)
		mw.WriteField("body", "心电图照片")
		fw, _ := mw.CreateFormFile("files", name)
		fw.Write(data)
		mw.Close()
		return c.do("POST", casePath+"/messages", mw.FormDataContentType(), buf.Bytes(), nil)
	}
	if r := upload(cs, "virus.exe", []byte("MZ\x90\x00\x03\x00\x00\x00")); r.code != 422 || !strings.Contains(r.body, "virus.exe") {
		t.Errorf("executable: %d", r.code)
	}
	if r := upload(cs, "ecg.png", png); r.code != 303 {
		t.Fatalf("photo: %d %s", r.code, r.body)
	}
	page = cs.get(casePath)
	link := regexp.MustCompile(`href="(` + regexp.QuoteMeta(casePath) + `/files/[0-9a-f]{64})"`).FindStringSubmatch(page.body)
	if link == nil {
		t.Fatal("no attachment link")
	}
	if f := vd.get(link[1]); f.code != 200 || f.header.Get("Content-Type") != "image/png" || f.body != string(png) {
		t.Errorf("download: %d %s", f.code, f.header.Get("Content-Type"))
	}
	if r := cs.postForm(casePath+"/opinion", url.Values{"assessment": {"高血压 3 级"}, "diagnosis_code": {"I10"}, "plan": {"加用氨氯地平"}}, true); r.code != 303 {
		t.Fatalf("opinion: %d %s", r.code, r.body)
	}
	vd.csrf = regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(vd.get(casePath).body)[1]
	if r := vd.postForm(casePath+"/decision", url.Values{"decision": {"advice"}}, true); r.code != 303 {
		t.Fatalf("decision: %d %s", r.code, r.body)
	}
	if p := vd.get(casePath); !strings.Contains(p.body, `id="decision"`) || !strings.Contains(p.body, "SHA-256") || !strings.Contains(p.body, `id="refer-form"`) {
		t.Errorf("closed case page")
	}
	// One step from the consultation to a referral; a second click finds the same one.
	ref1 := vd.postForm(casePath+"/refer", url.Values{"reason": {"htn_not_at_target"}}, true)
	ref2 := vd.postForm(casePath+"/refer", url.Values{"reason": {"htn_not_at_target"}}, true)
	if ref1.code != 303 || !strings.HasPrefix(ref1.header.Get("Location"), "/referrals/") || ref1.header.Get("Location") != ref2.header.Get("Location") {
		t.Errorf("refer: %d %s / %s", ref1.code, ref1.header.Get("Location"), ref2.header.Get("Location"))
	}
	if rp := vd.get(ref1.header.Get("Location")); rp.code != 200 || !strings.Contains(rp.body, "会诊意见") {
		t.Errorf("referral page: %d", rp.code)
	}
	// The resident's page shows the consultation to its parties.
	if p := vd.get("/residents/" + rid); !strings.Contains(p.body, `id="consults"`) || !strings.Contains(p.body, casePath) {
		t.Errorf("resident page lacks the consultation")
	}
	// Strangers: another role, and the analyst.
	if r := e.as(care.RoleAnalyst).get(casePath); r.code != 403 {
		t.Errorf("analyst: %d", r.code)
	}
	if r := e.as(care.RoleTownshipDoctor).get(casePath); r.code != 404 {
		t.Errorf("township doctor of another institution: %d", r.code)
	}

	// Indicators: the closed case counts, answered in time.
	an := e.as(care.RoleAnalyst)
	if p := an.get("/consult/indicators"); p.code != 200 || !strings.Contains(p.body, `id="sla"`) {
		t.Errorf("indicators page: %d", p.code)
	}
	if j := an.get("/api/v1/consultations/indicators"); j.code != 200 || !strings.Contains(j.body, `"total":1`) || !strings.Contains(j.body, `"percent":100`) {
		t.Errorf("indicators API: %d %s", j.code, j.body)
	}
	if j := vd.get("/api/v1/consultations/indicators"); j.code != 403 {
		t.Errorf("village doctor reads county indicators: %d", j.code)
	}

	// The API: a retry with the same Idempotency-Key creates one case.
	id, _ := strconv.ParseInt(rid, 10, 64)
	h, _ := strconv.ParseInt(hub, 10, 64)
	body := map[string]any{"resident_id": id, "kind": "one_to_one", "urgency": "routine", "to_institution": h, "specialty": "cardiology",
		"reason": "复诊", "purpose": "评估", "summary": "血压已控制", "consent": map[string]any{"by": "patient", "method": "electronic", "at": time.Now().Add(-time.Minute)}}
	b, _ := json.Marshal(body)
	post := func() response {
		return vd.do("POST", "/api/v1/consultations", "application/json", b, map[string]string{"X-CSRF-Token": vd.csrf, "Idempotency-Key": "retry-1"})
	}
	// A NUL character in JSON is refused, not stored (PostgreSQL would fail on it).
	nul := bytes.Replace(b, []byte(`"血压已控制"`), []byte(`"a\u0000b"`), 1)
	if r := vd.do("POST", "/api/v1/consultations", "application/json", nul, map[string]string{"X-CSRF-Token": vd.csrf}); r.code != 422 {
		t.Errorf("NUL in JSON: %d %s", r.code, r.body)
	}
	r1, r2 := post(), post()
	var c1, c2 struct{ ID int64 }
	json.Unmarshal([]byte(r1.body), &c1)
	json.Unmarshal([]byte(r2.body), &c2)
	if r1.code != 201 || r2.code != 201 || c1.ID == 0 || c1.ID != c2.ID {
		t.Errorf("idempotent create: %d %d %s %s", r1.code, r2.code, r1.body, r2.body)
	}
}

// TestRehabPlanPage: the rehabilitation plan shows on the case page once
// the guidance is signed, and a session is marked done from it.
func TestRehabPlanPage(t *testing.T) {
	e := newEnv(t, store.SQLite)
	vd, cs := e.as(care.RoleVillageDoctor), e.as(care.RoleCountySpecialist)
	list := vd.get("/api/v1/residents?group=elderly65")
	rid, _ := strconv.ParseInt(regexp.MustCompile(`"id":(\d+)`).FindStringSubmatch(list.body)[1], 10, 64)
	me := cs.get("/api/v1/me")
	hub, _ := strconv.ParseInt(regexp.MustCompile(`"institution_id":(\d+)`).FindStringSubmatch(me.body)[1], 10, 64)
	b, _ := json.Marshal(map[string]any{"resident_id": rid, "kind": "rehab", "urgency": "routine", "to_institution": hub, "specialty": "cardiology",
		"reason": "心脏康复", "purpose": "康复指导", "summary": "PCI 术后", "rehab_sessions": 2,
		"consent": map[string]any{"by": "patient", "method": "electronic", "at": time.Now().Add(-time.Minute)}})
	r := vd.do("POST", "/api/v1/consultations", "application/json", b, map[string]string{"X-CSRF-Token": vd.csrf})
	var c struct{ ID int64 }
	json.Unmarshal([]byte(r.body), &c)
	if r.code != 201 {
		t.Fatalf("create: %d %s", r.code, r.body)
	}
	path := "/api/v1/consultations/" + strconv.FormatInt(c.ID, 10)
	if r := cs.postJSON(path+"/accept", nil); r.code != 200 {
		t.Fatalf("accept: %d %s", r.code, r.body)
	}
	if r := cs.postJSON(path+"/opinion", map[string]any{"assessment": "心功能 II 级", "plan": "每周一次远程运动指导"}); r.code != 200 {
		t.Fatalf("opinion: %d %s", r.code, r.body)
	}
	page := vd.get("/consult/" + strconv.FormatInt(c.ID, 10))
	if page.code != 200 || !strings.Contains(page.body, `id="rehab-plan"`) {
		t.Fatalf("plan missing: %d", page.code)
	}
	vd.csrf = regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(page.body)[1]
	if r := vd.postForm("/consult/"+strconv.FormatInt(c.ID, 10)+"/sessions", url.Values{"n": {"1"}, "note": {"完成"}}, true); r.code != 303 {
		t.Errorf("session: %d %s", r.code, r.body)
	}
	if p := vd.get("/consult/" + strconv.FormatInt(c.ID, 10)); !strings.Contains(p.body, "✓") {
		t.Errorf("session not shown as done")
	}
}

// TestConsultVideoSignal: the video call's signalling. Only parties of an
// open case signal; a stranger gets 404, an oversized payload 413, a full
// call and a closed case 409; signals reach the other participant's event
// stream; a join is on the timeline once, however many candidates follow.
func TestConsultVideoSignal(t *testing.T) {
	e := newEnv(t, store.SQLite)
	vd, cs := e.as(care.RoleVillageDoctor), e.as(care.RoleCountySpecialist)
	list := vd.get("/residents?group=elderly65")
	rid, _ := strconv.ParseInt(regexp.MustCompile(`href="/residents/(\d+)"`).FindStringSubmatch(list.body)[1], 10, 64)
	form := vd.get("/consult/new?resident=" + strconv.FormatInt(rid, 10))
	hub, _ := strconv.ParseInt(regexp.MustCompile(`name="to_institution"><option value="(\d+)"`).FindStringSubmatch(form.body)[1], 10, 64)
	r := vd.postJSON("/api/v1/consultations", map[string]any{"resident_id": rid, "kind": "one_to_one", "urgency": "urgent", "to_institution": hub,
		"specialty": "cardiology", "reason": "胸痛待查", "purpose": "视频会诊", "summary": "胸痛 2 小时",
		"consent": map[string]any{"by": "patient", "method": "electronic", "at": time.Now().Add(-time.Minute)}})
	var c struct{ ID int64 }
	if json.Unmarshal([]byte(r.body), &c); r.code != 201 || c.ID == 0 {
		t.Fatalf("create: %d %s", r.code, r.body)
	}
	path := "/consult/" + strconv.FormatInt(c.ID, 10)
	signal := func(cl *client, typ string, to int64, payload string) response {
		return cl.postForm(path+"/signal", url.Values{"type": {typ}, "to": {strconv.FormatInt(to, 10)}, "payload": {payload}}, true)
	}
	if p := cs.get(path); p.code != 200 || !strings.Contains(p.body, `id="video"`) || !strings.Contains(p.body, "/video.js") {
		t.Fatalf("no video section for the specialist: %d", p.code)
	}

	// A stranger: a township doctor of another institution.
	if r := signal(e.as(care.RoleTownshipDoctor), "join", 0, ""); r.code != 404 {
		t.Errorf("stranger joins: %d %s", r.code, r.body)
	}
	if r := signal(vd, "dance", 0, ""); r.code != 422 {
		t.Errorf("unknown type: %d", r.code)
	}
	if r := signal(vd, "offer", 0, `{"type":"offer","sdp":"v=0"}`); r.code != 409 {
		t.Errorf("offer before joining: %d", r.code)
	}

	vdEvents, stopVD := vd.sse(t)
	defer stopVD()
	csEvents, stopCS := cs.sse(t)
	defer stopCS()
	var joined struct {
		Self  int64
		Peers []struct {
			ID   int64
			Name string
		}
	}
	if r := signal(vd, "join", 0, ""); r.code != 200 || json.Unmarshal([]byte(r.body), &joined) != nil || len(joined.Peers) != 0 {
		t.Fatalf("first join: %d %s", r.code, r.body)
	}
	vdID := joined.Self
	if r := signal(cs, "join", 0, ""); r.code != 200 || json.Unmarshal([]byte(r.body), &joined) != nil || len(joined.Peers) != 1 || joined.Peers[0].ID != vdID {
		t.Fatalf("second join: %d %s", r.code, r.body)
	}
	csID := joined.Self
	expect := func(ch <-chan string, who string) {
		t.Helper()
		select {
		case name := <-ch:
			if name != "consult.signal" {
				t.Errorf("%s got %q", who, name)
			}
		case <-time.After(3 * time.Second):
			t.Fatalf("%s got no signal", who)
		}
	}
	expect(vdEvents, "the village doctor (join)")
	select { // the specialist was called when the village doctor opened the call
	case name := <-csEvents:
		if name != "consult.video" {
			t.Errorf("specialist got %q, want consult.video", name)
		}
	case <-time.After(3 * time.Second):
		t.Error("the specialist was not called")
	}
	if r := signal(cs, "offer", vdID, `{"type":"offer","sdp":"v=0\r\n"}`); r.code != 200 {
		t.Fatalf("offer: %d %s", r.code, r.body)
	}
	expect(vdEvents, "the village doctor (offer)")
	// The API form of the same endpoint, JSON in.
	if r := vd.postJSON("/api/v1/consultations/"+strconv.FormatInt(c.ID, 10)+"/signal", map[string]any{"to": csID, "type": "answer",
		"payload": map[string]string{"type": "answer", "sdp": "v=0\r\n"}}); r.code != 200 {
		t.Fatalf("answer over the API: %d %s", r.code, r.body)
	}
	expect(csEvents, "the specialist (answer)")
	for i := 0; i < 5; i++ {
		if r := signal(vd, "candidate", csID, `{"candidate":"candidate:1 1 udp 2122260223 127.0.0.1 5000 typ host","sdpMid":"0"}`); r.code != 200 {
			t.Fatalf("candidate: %d", r.code)
		}
		expect(csEvents, "the specialist (candidate)")
	}
	big := `{"sdp":"` + strings.Repeat("a", 17<<10) + `"}`
	if r := signal(cs, "offer", vdID, big); r.code != 413 {
		t.Errorf("17 KB payload: %d", r.code)
	}
	if r := signal(cs, "offer", vdID, "not json"); r.code != 422 {
		t.Errorf("payload not JSON: %d", r.code)
	}

	// A full call: with room for one, the second practitioner is refused.
	if r := signal(cs, "leave", 0, ""); r.code != 200 {
		t.Fatalf("leave: %d", r.code)
	}
	expect(vdEvents, "the village doctor (leave)")
	e.srv.Consult.Config.VideoRoom = 1
	r = signal(cs, "join", 0, "")
	e.srv.Consult.Config.VideoRoom = 0
	if r.code != 409 || !strings.Contains(r.body, "consult.video.full") {
		t.Errorf("join a full call: %d %s", r.code, r.body)
	}
	page := vd.get(path)
	if n := strings.Count(page.body, "加入视频会诊"); n != 2 {
		t.Errorf("%d joins on the timeline, want 2", n)
	}
	if n := strings.Count(page.body, "离开视频会诊"); n != 1 {
		t.Errorf("%d leaves on the timeline, want 1", n)
	}
	// Audited: two joins, one leave and the stranger's refusal — not the offers and candidates.
	e.writer.Flush(context.Background())
	if evs, _ := e.st.SearchAudit(context.Background(), audit.Filter{Action: consult.ActVideo}); len(evs) != 4 {
		t.Errorf("%d consult.video audit rows, want 4", len(evs))
	}

	// A closed case: no joining, leaving still works; no video section.
	if r := vd.postForm(path+"/cancel", url.Values{"reason": {"患者已自行就医"}}, true); r.code != 303 {
		t.Fatalf("cancel: %d %s", r.code, r.body)
	}
	if r := signal(vd, "join", 0, ""); r.code != 409 || !strings.Contains(r.body, "consult.video.closed") {
		t.Errorf("join a closed case: %d %s", r.code, r.body)
	}
	if r := signal(cs, "join", 0, ""); r.code != 404 {
		t.Errorf("the hub signals on a withdrawn case (its access ended): %d %s", r.code, r.body)
	}
	if r := signal(vd, "leave", 0, ""); r.code != 200 {
		t.Errorf("leave a closed case: %d", r.code)
	}
	if p := vd.get(path); strings.Contains(p.body, `id="video"`) {
		t.Error("video section on a closed case")
	}
}

// TestEventStreamCap: one practitioner's open streams are capped; the next
// is refused with 429 until one closes.
func TestEventStreamCap(t *testing.T) {
	e := newEnv(t, store.SQLite)
	cs := e.as(care.RoleCountySpecialist)
	var stops []func()
	for i := 0; i < web.DefaultMaxStreams; i++ {
		_, stop := cs.sse(t)
		stops = append(stops, stop)
	}
	if r := cs.get("/events"); r.code != 429 {
		t.Errorf("stream beyond the cap: %d", r.code)
	}
	stops[0]()
	deadline := time.Now().Add(3 * time.Second)
	for {
		req, _ := http.NewRequest("GET", e.ts.URL+"/events", nil)
		resp, err := cs.hc.Do(req)
		if err == nil && resp.StatusCode == 200 {
			resp.Body.Close()
			break
		}
		if resp != nil {
			resp.Body.Close()
		}
		if time.Now().After(deadline) {
			t.Fatal("a closed stream did not free its place")
		}
		time.Sleep(50 * time.Millisecond)
	}
	for _, s := range stops[1:] {
		s()
	}
}
