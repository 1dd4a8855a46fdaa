package web_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"mime/multipart"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"countycare/audit"
	"countycare/care"
	"countycare/demo"
	"countycare/store"
)

var tinyPNG = []byte{0x89, 'P', 'N', 'G', 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0x0d, 'I', 'H', 'D', 'R', 0, 0, 0, 1, 0, 0, 0, 1, 8, 6, 0, 0, 0, 0x1f, 0x15, 0xc4, 0x89}

// seniorDoctor gives the demo's village doctor 5 years of independent
// practice (online visits need ≥ 3, 互联网诊疗管理办法 2018) and returns
// the doctor's and the demo resident's IDs.
func seniorDoctor(t *testing.T, e *env) (residentID int64) {
	t.Helper()
	ctx := context.Background()
	acc, err := e.st.AccountByUsername(ctx, e.users[care.RoleVillageDoctor])
	if err != nil {
		t.Fatal(err)
	}
	p, err := e.st.Practitioner(ctx, acc.PractitionerID)
	if err != nil {
		t.Fatal(err)
	}
	p.PracticeSince = care.Today(time.Now()).AddDays(-5 * 366)
	if err := e.st.UpdatePractitioner(ctx, p, audit.Event{Action: audit.ActOrgChange, Outcome: audit.OutcomeOK}); err != nil {
		t.Fatal(err)
	}
	me, err := e.st.AccountByUsername(ctx, e.users[care.RoleResident])
	if err != nil {
		t.Fatal(err)
	}
	return me.ResidentID
}

// TestPrescriberPage: the prescriber's page reviews a draft before
// signing and shows the findings again after; unknown drugs, wrong units
// and zero quantities are clear errors by line; other roles may not use it.
func TestPrescriberPage(t *testing.T) {
	e := newEnv(t, store.SQLite)
	rid := itoa(seniorDoctor(t, e))
	vd := e.as(care.RoleVillageDoctor)
	page := vd.get("/residents/" + rid + "/rx/new")
	if page.code != 200 || !strings.Contains(page.body, `id="rx-form"`) || !strings.Contains(page.body, `<option value="omeprazole-20c">`) {
		t.Fatalf("page: %d", page.code)
	}
	form := func(action string, kv ...string) url.Values {
		v := url.Values{"action": {action}, "kind": {"normal"}, "diagnoses": {"K29.7"}, "weight_kg": {"60"}}
		for i := 0; i+1 < len(kv); i += 2 {
			v.Set(kv[i], kv[i+1])
		}
		return v
	}
	bad := vd.postForm("/residents/"+rid+"/rx", form("review",
		"drug0", "no-such-drug", "dose0", "1", "unit0", "mg", "freq0", "qd", "route0", "po", "days0", "7", "qty0", "7",
		"drug1", "omeprazole-20c", "dose1", "20", "unit1", "IU", "freq1", "qd", "route1", "po", "days1", "7", "qty1", "7",
		"drug2", "amlodipine-5t", "dose2", "5", "unit2", "mg", "freq2", "qd", "route2", "po", "days2", "7", "qty2", "0"), true)
	if bad.code != 422 {
		t.Fatalf("bad draft: %d", bad.code)
	}
	for _, want := range []string{"不在药品目录中", "第 1 行", "第 2 行", "剂量单位", "第 3 行", "数量必须大于零"} {
		if !strings.Contains(bad.body, want) {
			t.Errorf("bad draft: missing %q", want)
		}
	}
	clean := []string{"drug0", "omeprazole-20c", "dose0", "20", "unit0", "mg", "freq0", "qd", "route0", "po", "days0", "7", "qty0", "7"}
	rev := vd.postForm("/residents/"+rid+"/rx", form("review", clean...), true)
	if rev.code != 200 || !strings.Contains(rev.body, "审方结果（签署前）") || !strings.Contains(rev.body, "未发现问题") {
		t.Fatalf("review: %d", rev.code)
	}
	// Overlong supply: blocked at signing, findings shown, nothing stored.
	long := append([]string{}, clean...)
	long[11] = "30"
	long[13] = "30"
	if r := vd.postForm("/residents/"+rid+"/rx", form("sign", long...), true); r.code != 422 || !strings.Contains(r.body, "处方管理办法") || !strings.Contains(r.body, "须修改后才能签署") {
		t.Errorf("blocked sign: %d", r.code)
	}
	sign := vd.postForm("/residents/"+rid+"/rx", form("sign", clean...), true)
	loc := sign.header.Get("Location")
	if sign.code != 303 || !strings.Contains(loc, "/rx/new?signed=") {
		t.Fatalf("sign: %d %s", sign.code, loc)
	}
	after := vd.get(loc)
	if after.code != 200 || !strings.Contains(after.body, "审方结果（签署后）") || !strings.Contains(after.body, "系统审核通过") || !strings.Contains(after.body, "奥美拉唑") {
		t.Errorf("after signing: %d", after.code)
	}
	if r := vd.get("/api/v1/formulary?q=奥美拉唑"); r.code != 200 || !strings.Contains(r.body, `"code":"omeprazole-20c"`) {
		t.Errorf("formulary search: %d %s", r.code, r.body)
	}
	if r := vd.postJSON("/api/v1/residents/"+rid+"/prescriptions/review", map[string]any{"kind": "normal", "diagnoses": []string{"K29.7"},
		"lines": []any{rxLine("diazepam-2.5t", 2.5, "mg", "qn", 7, 7)}}); r.code != 200 || !strings.Contains(r.body, `"outcome"`) {
		t.Errorf("review API: %d %s", r.code, r.body)
	}
	for _, role := range []care.Role{care.RolePharmacist, care.RoleResident, care.RoleInsuranceOfficer} {
		if r := e.as(role).get("/residents/" + rid + "/rx/new"); r.code != 403 {
			t.Errorf("%s: %d, want 403", role, r.code)
		}
	}
}

// TestOnlineVisitPages: the resident books an online follow-up on the
// phone page only for a condition diagnosed offline (a first visit is
// refused with a clear error); the doctor re-enters the password to start
// (the rights end with the sign-in session), chats with an image,
// prescribes online (a psychotropic is blocked; the clean prescription
// waits in the pharmacists' queue) and redirects offline with a reason the
// resident sees. Another resident's visit is not found.
func TestOnlineVisitPages(t *testing.T) {
	e := newEnv(t, store.SQLite)
	rid := itoa(seniorDoctor(t, e))
	me := e.as(care.RoleResident)
	vd := e.as(care.RoleVillageDoctor)

	if r := me.postJSON("/api/v1/online/visits", map[string]any{"diagnosis": "K29.5"}); r.code != 422 || !strings.Contains(r.body, "online.first_visit") ||
		!strings.Contains(r.body, "首诊不能在线进行") {
		t.Fatalf("first visit: %d %s", r.code, r.body)
	}
	// The offline visit: the village doctor prescribes for gastritis.
	if r := vd.postJSON("/api/v1/residents/"+rid+"/prescriptions", map[string]any{"kind": "normal", "diagnoses": []string{"K29.7"},
		"patient": map[string]any{"weight_kg": 60}, "lines": []any{rxLine("omeprazole-20c", 20, "mg", "qd", 7, 7)}}); r.code != 201 {
		t.Fatalf("offline prescription: %d %s", r.code, r.body)
	}
	page := me.get("/online")
	if page.code != 200 || !strings.Contains(page.body, `<option value="K29.7"`) || !strings.Contains(page.body, "门诊处方") {
		t.Fatalf("booking page: %d", page.code)
	}
	book := me.postForm("/online", url.Values{"diagnosis": {"K29.7"}, "complaint": {"胃痛两周复诊"}}, true)
	m := regexp.MustCompile(`^/online/(\d+)`).FindStringSubmatch(book.header.Get("Location"))
	if book.code != 303 || m == nil {
		t.Fatalf("book: %d %s", book.code, book.body)
	}
	vid := m[1]
	show := me.get("/online/" + vid)
	if show.code != 200 || !strings.Contains(show.body, "待接诊") || !strings.Contains(show.body, `id="message-form"`) {
		t.Fatalf("visit page: %d", show.code)
	}
	if r := vd.get("/online"); r.code != 200 || !strings.Contains(r.body, `id="visit-`+vid+`"`) {
		t.Errorf("doctor's list: %d", r.code)
	}

	// Step-up: nothing before it; a wrong password is refused.
	if r := vd.postJSON("/api/v1/online/visits/"+vid+"/messages", map[string]any{"text": "您好"}); r.code != 403 || !strings.Contains(r.body, "online.step_up") {
		t.Errorf("before step-up: %d %s", r.code, r.body)
	}
	if r := vd.get("/online/" + vid); !strings.Contains(r.body, `id="step-up"`) {
		t.Error("no step-up form")
	}
	if r := vd.postJSON("/api/v1/online/visits/"+vid+"/start", map[string]any{"password": "wrong-password-1"}); r.code != 401 {
		t.Errorf("wrong password: %d %s", r.code, r.body)
	}
	if r := vd.postForm("/online/"+vid+"/start", url.Values{"password": {demo.DefaultPassword}}, true); r.code != 303 {
		t.Fatalf("start: %d %s", r.code, r.body)
	}
	// Chat: resident text, doctor image.
	if r := me.postForm("/online/"+vid+"/messages", url.Values{"text": {"饭后还是胃痛"}}, true); r.code != 303 {
		t.Fatalf("resident message: %d %s", r.code, r.body)
	}
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	mw.WriteField("csrf", vd.csrf)
	mw.WriteField("text", "请看这张图")
	fw, _ := mw.CreateFormFile("image", "a.png")
	fw.Write(tinyPNG)
	mw.Close()
	if r := vd.do("POST", "/online/"+vid+"/messages", mw.FormDataContentType(), buf.Bytes(), nil); r.code != 303 {
		t.Fatalf("image message: %d %s", r.code, r.body)
	}
	if r := vd.postJSON("/api/v1/online/visits/"+vid+"/messages", map[string]any{"image": map[string]any{"data": base64.StdEncoding.EncodeToString([]byte("%PDF-1.4"))}}); r.code != 422 {
		t.Errorf("pdf as image: %d", r.code)
	}
	var chat struct {
		Messages []struct {
			From     string `json:"from"`
			ImageURL string `json:"image_url"`
		} `json:"messages"`
	}
	r := me.get("/api/v1/online/visits/" + vid + "/messages")
	if r.code != 200 || json.Unmarshal([]byte(r.body), &chat) != nil || len(chat.Messages) != 2 || chat.Messages[1].ImageURL == "" {
		t.Fatalf("chat: %d %s", r.code, r.body)
	}
	if img := me.get(chat.Messages[1].ImageURL); img.code != 200 || img.header.Get("Content-Type") != "image/png" {
		t.Errorf("image: %d %s", img.code, img.header.Get("Content-Type"))
	}

	vd2 := e.as(care.RoleVillageDoctor) // a second sign-in session of the same doctor
	// Optional video, through the consultation's signalling: the resident
	// listens on the visit's event stream and joins; the doctor in session
	// joins and offers to the resident; a third party is refused.
	resAcc, err := e.st.AccountByUsername(context.Background(), e.users[care.RoleResident])
	if err != nil {
		t.Fatal(err)
	}
	if r := me.get("/online/" + vid); !strings.Contains(r.body, `data-signal-url="/online/`+vid+`/signal"`) || !strings.Contains(r.body, `data-events="/online/`+vid+`/events"`) {
		t.Error("no video section on the resident's page")
	}
	sctx, stop := context.WithCancel(context.Background())
	defer stop()
	req, _ := http.NewRequestWithContext(sctx, "GET", e.ts.URL+"/online/"+vid+"/events", nil)
	stream, err := me.hc.Do(req)
	if err != nil || stream.StatusCode != 200 {
		t.Fatalf("resident's event stream: %v", err)
	}
	defer stream.Body.Close()
	for i := 0; i < 100 && !e.srv.Live.Online(-resAcc.ID); i++ {
		time.Sleep(10 * time.Millisecond)
	}
	if r := me.postForm("/online/"+vid+"/signal", url.Values{"type": {"join"}}, true); r.code != 200 || !strings.Contains(r.body, `"peers":[]`) {
		t.Fatalf("resident joins: %d %s", r.code, r.body)
	}
	r = vd.postForm("/online/"+vid+"/signal", url.Values{"type": {"join"}}, true)
	if r.code != 200 || !strings.Contains(r.body, `"id":-`+itoa(resAcc.ID)) {
		t.Fatalf("doctor joins: %d %s", r.code, r.body)
	}
	if r := vd.postForm("/online/"+vid+"/signal", url.Values{"type": {"offer"}, "to": {"-" + itoa(resAcc.ID)}, "payload": {`{"type":"offer","sdp":"v=0"}`}}, true); r.code != 200 {
		t.Errorf("offer: %d %s", r.code, r.body)
	}
	buf2 := make([]byte, 4096)
	got := ""
	for i := 0; i < 20 && !strings.Contains(got, `"type":"offer"`); i++ {
		n, _ := stream.Body.Read(buf2)
		got += string(buf2[:n])
	}
	if !strings.Contains(got, "event: online.signal") || !strings.Contains(got, `"sdp":"v=0"`) {
		t.Errorf("resident's stream: %q", got)
	}
	if r := vd2.postForm("/online/"+vid+"/signal", url.Values{"type": {"join"}}, true); r.code != 403 {
		t.Errorf("doctor's other session joins: %d", r.code)
	}
	if r := me.postForm("/online/"+vid+"/signal", url.Values{"type": {"dance"}}, true); r.code != 422 {
		t.Errorf("bad signal: %d", r.code)
	}
	if r := vd.postForm("/online/"+vid+"/signal", url.Values{"type": {"leave"}}, true); r.code != 200 {
		t.Errorf("leave: %d", r.code)
	}
	stop()

	// A new sign-in session of the doctor must step up again.
	if r := vd2.postJSON("/api/v1/online/visits/"+vid+"/messages", map[string]any{"text": "hi"}); r.code != 403 {
		t.Errorf("new session without step-up: %d", r.code)
	}

	// Online prescribing through the page: a psychotropic is blocked; the
	// clean one waits for a pharmacist.
	if p := vd.get("/online/" + vid + "/rx"); p.code != 200 || !strings.Contains(p.body, `id="rx-online-hint"`) || !strings.Contains(p.body, `value="K29.7"`) {
		t.Fatalf("online rx page: %d", p.code)
	}
	psy := url.Values{"action": {"sign"}, "kind": {"normal"}, "diagnoses": {"K29.7"}, "drug0": {"diazepam-2.5t"}, "dose0": {"2.5"}, "unit0": {"mg"},
		"freq0": {"qn"}, "route0": {"po"}, "days0": {"7"}, "qty0": {"7"}}
	if r := vd.postForm("/online/"+vid+"/rx", psy, true); r.code != 422 || !strings.Contains(r.body, "互联网诊疗不得开具麻醉药品、精神药品处方") {
		t.Errorf("psychotropic online: %d", r.code)
	}
	ok := url.Values{"action": {"sign"}, "kind": {"normal"}, "diagnoses": {"K29.7"}, "weight_kg": {"60"}, "drug0": {"omeprazole-20c"}, "dose0": {"20"}, "unit0": {"mg"},
		"freq0": {"qd"}, "route0": {"po"}, "days0": {"7"}, "qty0": {"7"}}
	if r := vd.postForm("/online/"+vid+"/rx", ok, true); r.code != 303 {
		t.Fatalf("online prescription: %d %s", r.code, r.body)
	}
	if q := e.as(care.RolePharmacist).get("/rx/queue"); !strings.Contains(q.body, "奥美拉唑") || !strings.Contains(q.body, "互联网处方") {
		t.Error("online prescription not in the pharmacists' queue, or not marked online")
	}
	if r := me.get("/online/" + vid); !strings.Contains(r.body, "待药师审核") {
		t.Error("resident does not see the prescription's status")
	}

	// Redirect offline: reason required, then the resident sees it.
	if r := vd.postForm("/online/"+vid+"/end", url.Values{"action": {"redirect"}}, true); r.code != 422 || !strings.Contains(r.body, "转线下就诊须填写理由") {
		t.Errorf("redirect without reason: %d", r.code)
	}
	if r := vd.postForm("/online/"+vid+"/end", url.Values{"action": {"redirect"}, "reason": {"疼痛加重，请今天到卫生院门诊"}}, true); r.code != 303 {
		t.Fatalf("redirect: %d %s", r.code, r.body)
	}
	if r := me.get("/online/" + vid); !strings.Contains(r.body, `id="redirect-reason"`) || !strings.Contains(r.body, "疼痛加重") || strings.Contains(r.body, `id="message-form"`) {
		t.Error("resident does not see the redirection")
	}
	if r := me.get("/online?lang=en"); r.code != 200 {
		t.Errorf("list: %d", r.code)
	}

	// Scope and roles.
	if r := e.as(care.RoleTownshipDoctor).get("/api/v1/online/visits/" + vid); r.code != 200 && r.code != 404 {
		t.Errorf("township doctor: %d", r.code)
	}
	for _, role := range []care.Role{care.RolePharmacist, care.RoleCountySpecialist, care.RoleAnalyst} {
		if r := e.as(role).get("/online/" + vid); r.code != 403 {
			t.Errorf("%s: %d, want 403", role, r.code)
		}
	}
	if r := me.get("/api/v1/online/visits/999999"); r.code != 404 {
		t.Errorf("unknown visit: %d", r.code)
	}
	if r := me.get("/api/v1/residents/" + rid + "1" + "/online/conditions"); r.code != 404 {
		t.Errorf("another resident's conditions: %d", r.code)
	}
}
