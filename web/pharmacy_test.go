package web_test

import (
	"encoding/json"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"countycare/care"
	"countycare/settle"
	"countycare/store"
)

// pharmacyEnv files this year's "985" policy (payment at dispensing
// settles through it) and returns the demo resident's record ID, found by
// the village doctor who manages them.
func pharmacyEnv(t *testing.T) (*env, *client, *client, int64) {
	e := newEnv(t, store.SQLite)
	io := e.as(care.RoleInsuranceOfficer)
	body, _ := settle.ExampleFile("985-2026.json")
	b := strings.ReplaceAll(string(body), "2026", itoa(int64(time.Now().Year())))
	if r := io.do("POST", "/api/v1/settle/policies", "application/json", []byte(b), map[string]string{"X-CSRF-Token": io.csrf}); r.code != 201 {
		t.Fatalf("policy upload: %d %s", r.code, r.body)
	}
	me := e.as(care.RoleResident)
	var who struct {
		Name string `json:"name"`
	}
	json.Unmarshal([]byte(me.get("/api/v1/me").body), &who)
	vd := e.as(care.RoleVillageDoctor)
	var found struct {
		Residents []struct {
			ID   int64  `json:"id"`
			Name string `json:"name"`
		} `json:"residents"`
	}
	json.Unmarshal([]byte(vd.get("/api/v1/residents?q="+url.QueryEscape(who.Name)).body), &found)
	for _, r := range found.Residents {
		if r.Name == who.Name {
			return e, vd, me, r.ID
		}
	}
	t.Fatalf("the village doctor cannot find the demo resident %q", who.Name)
	return nil, nil, nil, 0
}

func csrfOf(t *testing.T, body string) string {
	m := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(body)
	if m == nil {
		t.Fatal("no csrf field on the page")
	}
	return m[1]
}

// TestPharmacyFlow drives the feature through the API and the pages: the
// village clinic orders drugs, the county pharmacist approves part and
// ships, the clinic confirms and its stock grows; a reviewed prescription
// is dispensed from that stock and paid through settlement, a short one is
// refused with the drug named; the resident sees the pick-up code on their
// page, the clinic hands the drugs over against it; out-of-scope and
// wrong-role requests are refused.
func TestPharmacyFlow(t *testing.T) {
	e, vd, me, rid := pharmacyEnv(t)
	ph := e.as(care.RolePharmacist)

	// Formulary per level: the county's is larger; flags and prices are given.
	var vf, cf struct {
		Drugs []struct {
			Code     string   `json:"code"`
			Classes  []string `json:"chronic_classes"`
			PriceFen int64    `json:"unit_price_fen"`
		} `json:"drugs"`
	}
	json.Unmarshal([]byte(vd.get("/api/v1/pharmacy/formulary?level=village").body), &vf)
	json.Unmarshal([]byte(vd.get("/api/v1/pharmacy/formulary?level=county").body), &cf)
	if len(vf.Drugs) == 0 || len(vf.Drugs) >= len(cf.Drugs) || vf.Drugs[0].PriceFen <= 0 {
		t.Errorf("formulary: village %d, county %d", len(vf.Drugs), len(cf.Drugs))
	}
	if r := vd.get("/api/v1/pharmacy/formulary?level=moon"); r.code != 422 {
		t.Errorf("bad level: %d", r.code)
	}

	// Supply order from the village page form.
	page := vd.get("/pharmacy/orders")
	if page.code != 200 || !strings.Contains(page.body, `id="new-order"`) {
		t.Fatalf("orders page: %d", page.code)
	}
	vd.csrf = csrfOf(t, page.body)
	r := vd.postForm("/pharmacy/orders", url.Values{"drug_0": {"amlodipine-5t"}, "qty_0": {"100"}, "drug_1": {"metformin-500t"}, "qty_1": {"50"}}, true)
	if r.code != 303 {
		t.Fatalf("order: %d %s", r.code, r.body)
	}
	orderPath := strings.SplitN(r.header.Get("Location"), "?", 2)[0]
	oid := strings.TrimPrefix(orderPath, "/pharmacy/orders/")
	if r := vd.postForm("/pharmacy/orders", url.Values{"drug_0": {"no-such-drug"}, "qty_0": {"1"}}, true); r.code != 422 || !strings.Contains(r.body, "no-such-drug") {
		t.Errorf("bad order: %d", r.code)
	}
	// The pharmacist approves part of it on the page and ships.
	page = ph.get(orderPath)
	if page.code != 200 || !strings.Contains(page.body, `id="approve"`) {
		t.Fatalf("pharmacist order page: %d", page.code)
	}
	ph.csrf = csrfOf(t, page.body)
	if r := ph.postForm(orderPath+"/approve", url.Values{"version": {"1"}, "approved_amlodipine-5t": {"100"}, "approved_metformin-500t": {"30"}}, true); r.code != 303 {
		t.Fatalf("approve: %d %s", r.code, r.body)
	}
	exp := care.Today(time.Now()).AddDays(300).String()
	if r := ph.postJSON("/api/v1/supply-orders/"+oid+"/ship", map[string]any{"version": 2, "ship": map[string]any{
		"amlodipine-5t": []map[string]any{{"batch": "A1", "expiry": exp, "quantity": 100}}, "metformin-500t": []map[string]any{{"batch": "M1", "expiry": exp, "quantity": 20}}}}); r.code != 200 ||
		!strings.Contains(r.body, `"status":"shipped"`) || !strings.Contains(r.body, `"partial":true`) {
		t.Fatalf("ship: %d %s", r.code, r.body)
	}
	if r := vd.postJSON("/api/v1/supply-orders/"+oid+"/approve", map[string]any{"version": 3}); r.code != 403 {
		t.Errorf("clinic approving: %d", r.code)
	}
	if r := vd.postJSON("/api/v1/supply-orders/"+oid+"/receive", map[string]any{"version": 3}); r.code != 200 || !strings.Contains(r.body, `"status":"received"`) {
		t.Fatalf("receive: %d %s", r.code, r.body)
	}
	stock := vd.get("/api/v1/pharmacy/stock")
	if stock.code != 200 || !strings.Contains(stock.body, `"batch":"A1"`) || !strings.Contains(stock.body, `"quantity":100`) || !strings.Contains(stock.body, `"shortfalls":[{`) {
		t.Fatalf("stock: %d %s", stock.code, stock.body)
	}

	// Prescriptions for the resident: one covered by stock, one not.
	sign := func(lines ...map[string]any) string {
		body := map[string]any{"kind": "normal", "diagnoses": []string{"I10", "E11"}, "patient": map[string]any{"weight_kg": 60}, "lines": lines}
		r := vd.postJSON("/api/v1/residents/"+itoa(rid)+"/prescriptions", body)
		var out struct {
			ID     int64  `json:"id"`
			Status string `json:"status"`
		}
		if r.code != 201 || json.Unmarshal([]byte(r.body), &out) != nil || out.Status != "passed" {
			t.Fatalf("sign: %d %s", r.code, r.body)
		}
		return itoa(out.ID)
	}
	okID := sign(rxLine("amlodipine-5t", 5, "mg", "qd", 7, 7))
	shortID := sign(rxLine("metformin-500t", 500, "mg", "tid", 7, 21)) // 21 needed, 20 received
	if r := vd.postJSON("/api/v1/prescriptions/"+shortID+"/dispense", map[string]any{"mode": "pickup"}); r.code != 409 || !strings.Contains(r.body, "pharmacy.stock_short") ||
		!strings.Contains(r.body, "二甲双胍") {
		t.Errorf("short dispensing: %d %s", r.code, r.body)
	}
	// The page form dispenses for pick-up.
	page = vd.get("/pharmacy/dispensing")
	vd.csrf = csrfOf(t, page.body)
	if r := vd.postForm("/pharmacy/dispense", url.Values{"prescription_id": {okID}, "mode": {"pickup"}, "insured": {"on"}}, true); r.code != 303 {
		t.Fatalf("dispense: %d %s", r.code, r.body)
	}
	var ful struct {
		Status     string `json:"status"`
		PickupCode string `json:"pickup_code"`
		TotalFen   int64  `json:"total_fen"`
		PatientFen int64  `json:"patient_fen"`
		Settlement int64  `json:"settlement_id"`
		Version    int    `json:"version"`
	}
	r = vd.get("/api/v1/prescriptions/" + okID + "/fulfilment")
	if json.Unmarshal([]byte(r.body), &ful) != nil || ful.Status != "ready" || ful.PickupCode != "" || ful.Settlement == 0 || ful.PatientFen >= ful.TotalFen ||
		!strings.Contains(r.body, `"lots":[{"lot_id":`) || !strings.Contains(r.body, `"batch":"A1"`) {
		t.Fatalf("fulfilment (staff): %d %s", r.code, r.body)
	}
	// The resident sees the code on their page and in the API.
	mine := me.get("/me/orders")
	m := regexp.MustCompile(`<b class="code">(\d{6})</b>`).FindStringSubmatch(mine.body)
	if mine.code != 200 || m == nil {
		t.Fatalf("resident page: %d", mine.code)
	}
	if r := me.get("/api/v1/me/orders"); r.code != 200 || !strings.Contains(r.body, `"pickup_code":"`+m[1]+`"`) {
		t.Errorf("resident API: %d %s", r.code, r.body)
	}
	// Hand-over needs the code.
	if r := vd.postJSON("/api/v1/prescriptions/"+okID+"/fulfilment", map[string]any{"status": "picked_up", "pickup_code": "x", "picked_up_by": "本人", "version": 1}); r.code != 422 {
		t.Errorf("wrong code: %d", r.code)
	}
	if r := vd.postJSON("/api/v1/prescriptions/"+okID+"/fulfilment", map[string]any{"status": "picked_up", "pickup_code": m[1], "picked_up_by": "本人", "version": 1}); r.code != 200 ||
		!strings.Contains(r.body, `"status":"picked_up"`) {
		t.Errorf("pick-up: %d %s", r.code, r.body)
	}
	if !strings.Contains(vd.get("/pharmacy/stock").body, "A1") {
		t.Error("stock page does not list the lot")
	}
	// Scope and roles: a county specialist may not see stock or orders; a
	// township doctor of the county sees the village's order only if it
	// lies below their center, otherwise 404.
	if r := e.as(care.RoleCountySpecialist).get("/api/v1/pharmacy/stock"); r.code != 403 {
		t.Errorf("specialist stock: %d", r.code)
	}
	if r := e.as(care.RoleAnalyst).get("/pharmacy/orders"); r.code != 403 {
		t.Errorf("analyst orders: %d", r.code)
	}
	if r := ph.get("/api/v1/prescriptions/999999/fulfilment"); r.code != 404 {
		t.Errorf("missing fulfilment: %d", r.code)
	}
	for _, p := range []string{"/pharmacy/stock", "/pharmacy/orders", orderPath, "/pharmacy/dispensing"} {
		if r := ph.get(p); r.code != 200 {
			t.Errorf("pharmacist %s: %d", p, r.code)
		}
	}
}
