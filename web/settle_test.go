package web_test

import (
	"encoding/json"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"countycare/care"
	"countycare/settle"
	"countycare/store"
)

// settleEnv files the "985" example policy for the demo county and returns
// a poor resident, the resident's own client and a county hospital.
func settleEnv(t *testing.T, d store.Dialect) (*env, *client, int64, int64, *client) {
	e := newEnv(t, d)
	io := e.as(care.RoleInsuranceOfficer)
	body, _ := settle.ExampleFile("985-2026.json")
	// Move the example to this year so "today" is inside it.
	year := time.Now().Year()
	b := strings.ReplaceAll(string(body), "2026", itoa(int64(year)))
	if r := io.do("POST", "/api/v1/settle/policies", "application/json", []byte(b), map[string]string{"X-CSRF-Token": io.csrf}); r.code != 201 {
		t.Fatalf("policy upload: %d %s", r.code, r.body)
	}
	// The demo resident (who has an account) is made poor for the bottom line.
	me := e.as(care.RoleResident)
	var who struct {
		CountyCode string `json:"county_code"`
	}
	json.Unmarshal([]byte(me.get("/api/v1/me").body), &who)
	var list struct {
		Residents []struct {
			ID   int64  `json:"id"`
			Name string `json:"name"`
		} `json:"residents"`
	}
	var inst struct {
		Institutions []struct {
			ID   int64  `json:"id"`
			Kind string `json:"kind"`
		} `json:"institutions"`
	}
	json.Unmarshal([]byte(io.get("/api/v1/institutions").body), &inst)
	hosp := int64(0)
	for _, in := range inst.Institutions {
		if in.Kind == "county_hospital" && hosp == 0 {
			hosp = in.ID
		}
	}
	// Find the resident's own record through their account.
	var self struct {
		ID      int64 `json:"id"`
		Version int   `json:"version"`
	}
	acc := me.get("/me")
	rid := regexp.MustCompile(`健康档案编号</dt><dd>(\d+)`).FindStringSubmatch(acc.body)
	if rid == nil {
		t.Fatalf("no record number on /me: %.300s", acc.body)
	}
	json.Unmarshal([]byte(io.get("/api/v1/residents?q="+rid[1]).body), &list)
	if len(list.Residents) != 1 {
		t.Fatalf("resident not found by record number %s", rid[1])
	}
	self.ID = list.Residents[0].ID
	// The township doctor records the household's subsistence allowance (低保).
	td := e.as(care.RoleTownshipDoctor)
	path := "/api/v1/residents/" + itoa(self.ID)
	var cur map[string]any
	json.Unmarshal([]byte(td.get(path).body), &cur)
	var idn struct {
		IDNumber string `json:"id_number"`
	}
	json.Unmarshal([]byte(td.do("POST", path+"/reveal-id", "", nil, map[string]string{"X-CSRF-Token": td.csrf}).body), &idn)
	upd := map[string]any{"name": cur["name"], "id_number": idn.IDNumber, "phone": "", "address": cur["address"], "relation": cur["relation"],
		"poverty": "subsistence", "version": cur["version"]}
	if r := td.do("PUT", path, "application/json", []byte(mustJSON(upd)), map[string]string{"X-CSRF-Token": td.csrf}); r.code != 200 {
		t.Fatalf("make resident poor: %d %s", r.code, r.body)
	}
	return e, io, self.ID, hosp, me
}

func TestSettlementAPI(t *testing.T) {
	for _, d := range []store.Dialect{store.SQLite, store.Postgres} {
		t.Run(string(d), func(t *testing.T) { testSettlementAPI(t, d) })
	}
}

func testSettlementAPI(t *testing.T, d store.Dialect) {
	e, io, rid, hosp, me := settleEnv(t, d)
	today := care.Today(time.Now()).String()
	bill := map[string]any{"resident_id": rid, "institution_id": hosp, "visit_id": "ZY-1", "date": today, "visit_type": "inpatient",
		"lines": []map[string]string{{"code": "A1", "name": "药", "class": "drug", "category": "A", "amount": "12000.00"}, {"code": "C1", "name": "自费材料", "class": "material", "category": "C", "amount": "500"}}}
	hdr := func(key string) map[string]string {
		return map[string]string{"X-CSRF-Token": io.csrf, "Idempotency-Key": key}
	}
	body := mustJSON(bill)

	r := io.do("POST", "/api/v1/settlements/preview", "application/json", []byte(body), map[string]string{"X-CSRF-Token": io.csrf})
	if r.code != 200 || !strings.Contains(r.body, `"explanation"`) || !strings.Contains(r.body, "起付线") {
		t.Fatalf("preview: %d %.400s", r.code, r.body)
	}
	r = io.do("POST", "/api/v1/settlements", "application/json", []byte(body), hdr("k-1"))
	if r.code != 201 {
		t.Fatalf("settle: %d %s", r.code, r.body)
	}
	var st struct {
		ID     int64 `json:"id"`
		Result struct {
			Total   string `json:"total"`
			Patient string `json:"patient"`
			Layers  []struct {
				Layer string `json:"layer"`
				Paid  string `json:"paid"`
			} `json:"layers"`
		} `json:"result"`
	}
	json.Unmarshal([]byte(r.body), &st)
	if st.Result.Total != "12500.00" || len(st.Result.Layers) != 5 {
		t.Fatalf("result %+v", st.Result)
	}
	id := itoa(st.ID)
	// A retry replays; another bill under the key, or the same visit under another key, is refused.
	if r := io.do("POST", "/api/v1/settlements", "application/json", []byte(body), hdr("k-1")); r.code != 200 || r.header.Get("Idempotent-Replayed") != "true" || !strings.Contains(r.body, "报销基数") {
		t.Errorf("replay: %d %s", r.code, r.header)
	}
	bill2 := map[string]any{}
	json.Unmarshal([]byte(body), &bill2)
	bill2["visit_id"] = "ZY-2"
	if r := io.do("POST", "/api/v1/settlements", "application/json", []byte(mustJSON(bill2)), hdr("k-1")); r.code != 409 || !strings.Contains(r.body, "settle.key_reused") {
		t.Errorf("key reuse: %d %s", r.code, r.body)
	}
	if r := io.do("POST", "/api/v1/settlements", "application/json", []byte(body), hdr("k-2")); r.code != 409 || !strings.Contains(r.body, "settle.visit_settled") {
		t.Errorf("second settlement of one visit: %d %s", r.code, r.body)
	}
	for _, tt := range []struct {
		name, body, key, contains string
		code                      int
	}{
		// Amount faults name the item's field (issue 18).
		{"number as amount", strings.Replace(body, `"12000.00"`, `12000`, 1), "k-3", `"field":"lines[0].amount","code":"settle.line_amount"`, 422},
		{"fraction of a fen", strings.Replace(body, `"12000.00"`, `"12000.001"`, 1), "k-3", `"field":"lines[0].amount","code":"settle.line_amount"`, 422},
		{"negative amount", strings.Replace(body, `"12000.00"`, `"-5"`, 1), "k-3", `"field":"lines[0].amount","code":"settle.amount_negative"`, 422},
		{"zero bill", strings.Replace(strings.Replace(strings.Replace(body, `"12000.00"`, `"0"`, 1), `"500"`, `"0.00"`, 1), "ZY-1", "ZY-3", 1), "k-3", `"field":"lines","code":"settle.total_zero"`, 422},
		{"unknown category", strings.Replace(strings.Replace(body, `"category":"A"`, `"category":"Q"`, 1), "ZY-1", "ZY-3", 1), "k-3", "settle.category_unknown", 422},
		{"date outside every policy", strings.Replace(strings.Replace(body, today, "2001-01-01", 1), "ZY-1", "ZY-3", 1), "k-3", "settle.no_policy", 422},
		{"no idempotency key", strings.Replace(body, "ZY-1", "ZY-3", 1), "", "settle.key_required", 422},
	} {
		h := hdr(tt.key)
		if tt.key == "" {
			delete(h, "Idempotency-Key")
		}
		if r := io.do("POST", "/api/v1/settlements", "application/json", []byte(tt.body), h); r.code != tt.code || !strings.Contains(r.body, tt.contains) {
			t.Errorf("%s: %d %.300s", tt.name, r.code, r.body)
		}
	}
	// The patient reads their own explanation of benefits, in Chinese, and its PDF.
	if r := me.get("/api/v1/settlements/" + id); r.code != 200 || !strings.Contains(r.body, "基本医疗保险") {
		t.Errorf("resident's own settlement: %d", r.code)
	}
	if r := me.get("/settlements/" + id); r.code != 200 || !strings.Contains(r.body, `id="patient-share"`) {
		t.Errorf("resident's EOB page: %d", r.code)
	}
	if r := me.get("/settlements/" + id + "/pdf"); r.code != 200 || !strings.HasPrefix(r.body, "%PDF") {
		t.Errorf("EOB PDF: %d %.50q", r.code, r.body)
	}
	if r := me.get("/me"); !strings.Contains(r.body, "/settlements/"+id) {
		t.Error("the resident's page does not list the settlement")
	}
	// Others may not: a village doctor is refused by role, the analyst too.
	for _, role := range []care.Role{care.RoleVillageDoctor, care.RoleAnalyst, care.RoleCountySpecialist} {
		if r := e.as(role).get("/api/v1/settlements/" + id); r.code != 403 {
			t.Errorf("%s read a settlement: %d", role, r.code)
		}
	}
	// The analyst reads the aggregate reports.
	if r := e.as(care.RoleAnalyst).get("/api/v1/settle/reports"); r.code != 200 || !strings.Contains(r.body, `"Claims"`) {
		t.Errorf("reports for the analyst: %d %.200s", r.code, r.body)
	}
	// Reversal needs a reason, works once, and frees the visit for a new settlement.
	rev := func(reason string) response {
		return io.do("POST", "/api/v1/settlements/"+id+"/reverse", "application/json", []byte(`{"reason":"`+reason+`"}`), map[string]string{"X-CSRF-Token": io.csrf})
	}
	if r := rev(""); r.code != 422 {
		t.Errorf("reversal without reason: %d", r.code)
	}
	if r := rev("金额录错"); r.code != 200 || !strings.Contains(r.body, `"status":"reversed"`) {
		t.Errorf("reversal: %d %s", r.code, r.body)
	}
	if r := rev("again"); r.code != 409 {
		t.Errorf("second reversal: %d", r.code)
	}
	if r := io.do("POST", "/api/v1/settlements", "application/json", []byte(body), hdr("k-4")); r.code != 201 {
		t.Errorf("settling a reversed visit again: %d %s", r.code, r.body)
	}
}

// TestTreatFirstPayLater: a poor resident admitted in the county pays no
// deposit; their share at discharge becomes a balance, paid in
// instalments; a payment is recorded once per key and never over the balance.
func TestTreatFirstPayLater(t *testing.T) {
	e, io, rid, hosp, me := settleEnv(t, store.SQLite)
	today := care.Today(time.Now()).String()
	csrf := map[string]string{"X-CSRF-Token": io.csrf}
	r := io.do("POST", "/api/v1/admissions", "application/json", []byte(mustJSON(map[string]any{"resident_id": rid, "institution_id": hosp, "visit_id": "ZY-9", "admitted_on": today})), csrf)
	if r.code != 201 || !strings.Contains(r.body, `"no_deposit":true`) {
		t.Fatalf("admit: %d %s", r.code, r.body)
	}
	if r := io.do("POST", "/api/v1/admissions", "application/json", []byte(mustJSON(map[string]any{"resident_id": rid, "institution_id": hosp, "visit_id": "ZY-9", "admitted_on": today})), csrf); r.code != 409 {
		t.Errorf("second admission of one visit: %d", r.code)
	}
	bill := map[string]any{"resident_id": rid, "institution_id": hosp, "visit_id": "ZY-9", "date": today, "visit_type": "inpatient",
		"lines": []map[string]string{{"code": "A1", "name": "药", "class": "drug", "category": "A", "amount": "30000"}}}
	r = io.do("POST", "/api/v1/settlements", "application/json", []byte(mustJSON(bill)), map[string]string{"X-CSRF-Token": io.csrf, "Idempotency-Key": "tf-1"})
	if r.code != 201 {
		t.Fatalf("settle: %d %s", r.code, r.body)
	}
	var st struct {
		ID     int64 `json:"id"`
		Result struct {
			Patient string `json:"patient"`
		} `json:"result"`
	}
	json.Unmarshal([]byte(r.body), &st)
	page := io.get("/receivables")
	m := regexp.MustCompile(`action="/receivables/(\d+)/payments"`).FindStringSubmatch(page.body)
	if page.code != 200 || m == nil || !strings.Contains(page.body, "尚欠 "+st.Result.Patient) {
		t.Fatalf("receivable for the patient's share %s not listed: %d %.600s", st.Result.Patient, page.code, page.body)
	}
	payPath := "/api/v1/receivables/" + m[1] + "/payments"
	pay := func(amount, key string) response {
		return io.do("POST", payPath, "application/json", []byte(`{"amount":"`+amount+`","method":"wechat"}`), map[string]string{"X-CSRF-Token": io.csrf, "Idempotency-Key": key})
	}
	owed, _ := settle.ParseYuan(st.Result.Patient)
	if owed < 200 {
		t.Fatalf("patient share %s too small for the test", st.Result.Patient)
	}
	if r := pay((owed + 1).String(), "p0"); r.code != 422 || !strings.Contains(r.body, `"field":"amount"`) {
		t.Errorf("overpayment: %d %s", r.code, r.body)
	}
	// Negative and zero amounts are refused naming the field and the rule (issue 18).
	for amount, rule := range map[string]string{"-5.00": "error.field_negative", "0.00": "settle.payment_positive", "1.005": "error.field_amount"} {
		if r := pay(amount, "p-"+amount); r.code != 422 || !strings.Contains(r.body, `"field":"amount","code":"`+rule+`"`) {
			t.Errorf("payment of %s: %d %s, want 422 naming amount (%s)", amount, r.code, r.body, rule)
		}
	}
	first := settle.Fen(100)
	if r := pay(first.String(), "p1"); r.code != 200 {
		t.Fatalf("payment: %d %s", r.code, r.body)
	}
	if r := pay(first.String(), "p1"); r.code != 200 || r.header.Get("Idempotent-Replayed") != "true" {
		t.Errorf("retried payment: %d", r.code)
	}
	r = pay((owed - first).String(), "p2")
	if r.code != 200 || !strings.Contains(r.body, `"status":"paid"`) || !strings.Contains(r.body, `"owed":"0.00"`) {
		t.Errorf("final payment: %d %s", r.code, r.body)
	}
	// A settlement whose balance has payments cannot simply be reversed.
	if r := io.do("POST", "/api/v1/settlements/"+itoa(st.ID)+"/reverse", "application/json", []byte(`{"reason":"测试"}`), csrf); r.code != 409 || !strings.Contains(r.body, "settle.receivable_paid") {
		t.Errorf("reversal of a paid balance: %d %s", r.code, r.body)
	}
	if r := me.get("/me"); r.code != 200 || !strings.Contains(r.body, "/settlements/"+itoa(st.ID)) {
		t.Errorf("the resident does not see the settlement: %d", r.code)
	}
	_ = e
}

// TestSettlementPages walks the cashier's pages: search, bill form,
// preview (nothing written), confirm, the explanation of benefits, and a
// double-submitted confirmation that settles once.
func TestSettlementPages(t *testing.T) {
	e, io, rid, hosp, _ := settleEnv(t, store.SQLite)
	home := io.get("/")
	io.csrf = regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(home.body)[1]
	for _, p := range []string{"/settlement", "/settlement/new?resident=" + itoa(rid), "/settle/policies", "/receivables", "/settle/reports"} {
		if r := io.get(p); r.code != 200 {
			t.Errorf("GET %s: %d", p, r.code)
		}
	}
	form := url.Values{"resident_id": {itoa(rid)}, "institution_id": {itoa(hosp)}, "visit_id": {"MZ-1"}, "date": {care.Today(time.Now()).String()},
		"visit_type": {"outpatient"}, "insured": {"1"}, "lines": {"X1,阿莫西林胶囊,drug,A,35.50\nX2,血常规,exam,A,20"}}
	bad := url.Values{}
	for k, v := range form {
		bad[k] = v
	}
	bad.Set("lines", "X1,阿莫西林胶囊,drug,A,-35")
	if r := io.postForm("/settlement/preview", bad, true); r.code != 422 || !strings.Contains(r.body, "金额") {
		t.Errorf("bad bill: %d", r.code)
	}
	r := io.postForm("/settlement/preview", form, true)
	key := regexp.MustCompile(`name="idempotency_key" value="([^"]+)"`).FindStringSubmatch(r.body)
	if r.code != 200 || key == nil || !strings.Contains(r.body, `id="preview-patient"`) {
		t.Fatalf("preview: %d %.500s", r.code, r.body)
	}
	if list := io.get("/settlement"); strings.Contains(list.body, "MZ-1") {
		t.Error("the preview wrote a settlement")
	}
	confirm := url.Values{}
	for k, v := range form {
		confirm[k] = v
	}
	confirm.Set("idempotency_key", key[1])
	r1 := io.postForm("/settlement", confirm, true)
	r2 := io.postForm("/settlement", confirm, true) // the button pressed twice
	if r1.code != 303 || r2.code != 303 || r1.header.Get("Location") != r2.header.Get("Location") {
		t.Fatalf("confirm twice: %d %s / %d %s", r1.code, r1.header.Get("Location"), r2.code, r2.header.Get("Location"))
	}
	eob := io.get(strings.TrimSuffix(r1.header.Get("Location"), "?ok=settled"))
	if eob.code != 200 || !strings.Contains(eob.body, "基本医疗保险") || !strings.Contains(eob.body, "55.50") || !strings.Contains(eob.body, "报销基数") {
		t.Errorf("EOB page: %d", eob.code)
	}
	_ = e
}

// TestBadPolicyWritesNothing: a policy with overlapping segments or a ratio
// over 100 % is refused with its faults named, and no version is filed.
func TestBadPolicyWritesNothing(t *testing.T) {
	e, io, _, _, _ := settleEnv(t, store.SQLite)
	_ = e
	before := io.get("/api/v1/settle/policies").body
	body, _ := settle.ExampleFile("example-2026.json")
	for bad, want := range map[string]string{
		strings.Replace(string(body), `{"from": "50000", "to": "100000", "ratio": "65"}`, `{"from": "40000", "to": "100000", "ratio": "65"}`, 1): "settle.policy_invalid",
		// A ratio its type refuses is named with its path and rule (issue 18).
		strings.Replace(string(body), `"ratio": "55"`, `"ratio": "120"`, 1): `"field":"basic.outpatient.levels.township.ratio","code":"error.field_percent"`,
	} {
		r := io.do("POST", "/api/v1/settle/policies", "application/json", []byte(bad), map[string]string{"X-CSRF-Token": io.csrf})
		if r.code != 422 || !strings.Contains(r.body, want) {
			t.Errorf("bad policy: %d %.300s, want %s", r.code, r.body, want)
		}
	}
	if after := io.get("/api/v1/settle/policies").body; after != before {
		t.Errorf("a refused policy was filed:\n%s\n%s", before, after)
	}
}

// TestSettlementAdjustmentsShown: correcting an earlier admission settles
// the later one again (issue 18); the later settlement's page and API show
// the adjustment, what the funds and the patient paid before and after.
// A bill of 0.00 yuan is refused on its field (issue 18).
func TestSettlementAdjustmentsShown(t *testing.T) {
	_, io, rid, hosp, _ := settleEnv(t, store.SQLite)
	year := itoa(int64(time.Now().Year()))
	bill := func(visit, date, amount string) []byte {
		return []byte(mustJSON(map[string]any{"resident_id": rid, "institution_id": hosp, "visit_id": visit, "date": year + date, "visit_type": "inpatient",
			"lines": []map[string]string{{"code": "A1", "name": "治疗", "class": "treatment", "category": "A", "amount": amount}}}))
	}
	post := func(body []byte, key string, replace int64) response {
		if replace != 0 {
			var m map[string]any
			json.Unmarshal(body, &m)
			m["replace"] = replace
			body = []byte(mustJSON(m))
		}
		return io.do("POST", "/api/v1/settlements", "application/json", body, map[string]string{"X-CSRF-Token": io.csrf, "Idempotency-Key": key})
	}
	var a, b struct {
		ID int64 `json:"id"`
	}
	json.Unmarshal([]byte(post(bill("A", "-01-10", "20000"), "adj-a", 0).body), &a)
	json.Unmarshal([]byte(post(bill("B", "-02-10", "20000"), "adj-b", 0).body), &b)
	if a.ID == 0 || b.ID == 0 {
		t.Fatal("settlements not created")
	}
	// The resident is poor (critical-illness deductible 3,135 in 985-2026.json):
	// A corrected to 2,000 leaves 1,020 under it, so B now meets part of the deductible.
	if r := post(bill("A", "-01-10", "2000"), "adj-a2", a.ID); r.code != 201 {
		t.Fatalf("correction: %d %s", r.code, r.body)
	}
	r := io.get("/api/v1/settlements/" + itoa(b.ID))
	var got struct {
		Adjustments []struct {
			Cause   string            `json:"cause"`
			CauseID int64             `json:"cause_settlement_id"`
			Before  map[string]string `json:"before"`
			After   map[string]string `json:"after"`
			Text    string            `json:"text"`
		} `json:"adjustments"`
	}
	json.Unmarshal([]byte(r.body), &got)
	if len(got.Adjustments) != 1 || got.Adjustments[0].Cause != "correction" || got.Adjustments[0].CauseID != a.ID ||
		got.Adjustments[0].Before["patient"] == got.Adjustments[0].After["patient"] || !strings.Contains(got.Adjustments[0].Text, "更正") {
		t.Fatalf("adjustments of the later admission: %.600s", r.body)
	}
	if p := io.get("/settlements/" + itoa(b.ID)); p.code != 200 || !strings.Contains(p.body, `id="adjustments"`) || !strings.Contains(p.body, "按日期顺序重新结算") {
		t.Errorf("settlement page without its adjustment: %d", p.code)
	}
	// The explanation-of-benefits PDF says the same (issue 18 §4).
	if pdftotext, err := exec.LookPath("pdftotext"); err != nil {
		t.Error("pdftotext not found: install Debian's poppler-utils (.ci/run does)")
	} else if p := io.get("/settlements/" + itoa(b.ID) + "/pdf"); p.code != 200 {
		t.Errorf("PDF: %d", p.code)
	} else {
		file := filepath.Join(t.TempDir(), "eob.pdf")
		os.WriteFile(file, []byte(p.body), 0o600)
		out, err := exec.Command(pdftotext, file, "-").CombinedOutput()
		text := strings.Join(strings.Fields(string(out)), "")
		adj := got.Adjustments[0]
		for _, w := range []string{"按日期顺序重新结算", "第" + itoa(a.ID) + "号结算更正", adj.Before["patient"] + "→" + adj.After["patient"]} {
			if err != nil || !strings.Contains(text, w) {
				t.Errorf("the PDF's text lacks %q (%v):\n%s", w, err, out)
			}
		}
	}
	// 0.00 yuan: refused, naming the field.
	if r := post(bill("Z", "-03-10", "0"), "adj-z", 0); r.code != 422 || !strings.Contains(r.body, `"field":"lines"`) || !strings.Contains(r.body, "settle.total_zero") {
		t.Errorf("zero bill: %d %.300s", r.code, r.body)
	}
}

// TestChronicCertificationsAPIAndPage (issue 18): the insurance officer
// records and ends a resident's chronic special-outpatient certification
// (门慢/门特) through the JSON API and the settlement window's page; faults
// name their field; other roles are refused.
func TestChronicCertificationsAPIAndPage(t *testing.T) {
	e, io, rid, _, me := settleEnv(t, store.SQLite)
	year := itoa(int64(time.Now().Year()))
	path := "/api/v1/residents/" + itoa(rid) + "/chronic-certifications"
	h := map[string]string{"X-CSRF-Token": io.csrf}
	body := map[string]string{"category": "HT", "diagnosis": "I10", "valid_from": year + "-01-01", "valid_to": year + "-12-31", "office": "县医疗保障局"}
	bad := map[string]string{}
	for k, v := range body {
		bad[k] = v
	}
	bad["diagnosis"] = "高血压"
	if r := io.do("POST", path, "application/json", []byte(mustJSON(bad)), h); r.code != 422 || !strings.Contains(r.body, `"field":"diagnosis"`) {
		t.Errorf("bad diagnosis: %d %.300s", r.code, r.body)
	}
	r := io.do("POST", path, "application/json", []byte(mustJSON(body)), h)
	if r.code != 201 {
		t.Fatalf("certify: %d %s", r.code, r.body)
	}
	var c struct {
		ID     int64  `json:"id"`
		Status string `json:"status"`
	}
	json.Unmarshal([]byte(r.body), &c)
	if c.ID == 0 || c.Status != "active" {
		t.Fatalf("certification %s", r.body)
	}
	for _, role := range []care.Role{care.RoleVillageDoctor, care.RolePharmacist} {
		if r := e.as(role).get(path); r.code != 403 {
			t.Errorf("%s read certifications: %d", role, r.code)
		}
	}
	if r := me.get(path); r.code != 403 {
		t.Errorf("the resident read the certification API: %d", r.code)
	}
	page := io.get("/settlement/new?resident=" + itoa(rid))
	if page.code != 200 || !strings.Contains(page.body, `id="certs"`) || !strings.Contains(page.body, "县医疗保障局") || !strings.Contains(page.body, "门慢/门特") {
		t.Errorf("window page without the certification: %d", page.code)
	}
	// Ending from the page's form, with a reason.
	form := url.Values{"csrf": {io.csrf}, "resident_id": {itoa(rid)}, "reason": {"复审未通过"}}
	if r := io.do("POST", "/settlement/certifications/"+itoa(c.ID)+"/end", "application/x-www-form-urlencoded", []byte(form.Encode()), nil); r.code != 303 {
		t.Errorf("end from the page: %d %.300s", r.code, r.body)
	}
	r = io.get(path)
	if r.code != 200 || !strings.Contains(r.body, `"status":"ended"`) || !strings.Contains(r.body, "复审未通过") {
		t.Errorf("after the end: %d %.300s", r.code, r.body)
	}
	if r := io.do("POST", "/api/v1/chronic-certifications/"+itoa(c.ID)+"/end", "application/json", []byte(`{"reason":"again"}`), h); r.code != 409 {
		t.Errorf("second end: %d", r.code)
	}
	// The page's form refuses a bad office, naming the field, and keeps what was typed.
	form = url.Values{"csrf": {io.csrf}, "resident_id": {itoa(rid)}, "category": {"DM"}, "diagnosis": {"E11"}, "valid_from": {year + "-01-01"}, "valid_to": {year + "-12-31"}, "office": {""}}
	if r := io.do("POST", "/settlement/certifications", "application/x-www-form-urlencoded", []byte(form.Encode()), nil); r.code != 422 || !strings.Contains(r.body, "请填写发证机构") || !strings.Contains(r.body, `value="E11"`) {
		t.Errorf("bad office from the page: %d", r.code)
	}
}
