package web_test

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"countycare/care"
	"countycare/store"
)

// TestSterilePacks: the sterile supply center adds a pack type and a
// cycle of packs; a clinic orders; a pack cannot leave before the cycle's
// physical and chemical indicators pass (WS 310.3-2016 4.4); the clinic
// receives packs by scan (counted against its order), uses one on a
// patient (audited, traceable patient → pack → cycle and cycle →
// patient); a pack past its expiry date (WS 310.2-2016 4.4.8.2: textile,
// 14 days) is refused with an alert and nothing else written; a failed
// biological indicator recalls the cycle's unused packs, and a use of
// one is refused with an alert; roles without a part get 403.
func TestSterilePacks(t *testing.T) { testdbBoth(t, testSterile) }

func testSterile(t *testing.T, d store.Dialect) {
	var offset atomic.Int64 // the sterile supply's clock runs ahead by this
	e := newEnvWith(t, d, envOptions{sterileNow: func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }})
	center := e.as(care.RoleCountySpecialist)
	vd := e.as(care.RoleVillageDoctor)
	rid := firstResident(t, vd)

	if r := center.get("/sterile"); r.code != 200 || !strings.Contains(r.body, `id="sterile-cycle"`) {
		t.Fatalf("center page: %d", r.code)
	}
	if r := vd.get("/sterile"); r.code != 200 || !strings.Contains(r.body, `id="sterile-scan"`) {
		t.Fatalf("clinic page: %d", r.code)
	}
	if r := e.as(care.RoleAnalyst).get("/sterile"); r.code != 403 {
		t.Fatalf("analyst: %d", r.code)
	}
	if r := vd.postJSON("/api/v1/sterile/types", map[string]any{"code": "X", "name": "x", "packaging": "textile"}); r.code != 403 {
		t.Fatalf("a village doctor adds a pack type: %d", r.code)
	}
	if r := center.postJSON("/api/v1/sterile/types", map[string]any{"code": "HY 1", "name": "换药包", "packaging": "bag"}); r.code != 422 ||
		!strings.Contains(r.body, `"code":"sterile.code_invalid"`) || !strings.Contains(r.body, `"sterile.packaging_invalid"`) {
		t.Fatalf("bad type: %d %s", r.code, r.body)
	}
	r := center.postJSON("/api/v1/sterile/types", map[string]any{"code": "HY", "name": "换药包", "packaging": "textile"})
	if r.code != 201 {
		t.Fatalf("type: %d %s", r.code, r.body)
	}
	var typ struct{ ID int64 }
	json.Unmarshal([]byte(r.body), &typ)
	if r := vd.postJSON("/api/v1/sterile/orders", map[string]any{"pack_type_id": typ.ID, "quantity": 2}); r.code != 201 {
		t.Fatalf("order: %d %s", r.code, r.body)
	}
	r = center.postJSON("/api/v1/sterile/cycles", map[string]any{"cycle_no": "C-001", "sterilizer": "压力蒸汽灭菌器 1",
		"lines": []map[string]any{{"pack_type_id": typ.ID, "count": 3}}})
	if r.code != 201 {
		t.Fatalf("cycle: %d %s", r.code, r.body)
	}
	var cyc struct {
		Cycle struct{ ID int64 }
		Packs []struct {
			Barcode   string `json:"barcode"`
			ExpiresOn string `json:"expires_on"`
		}
	}
	json.Unmarshal([]byte(r.body), &cyc)
	if len(cyc.Packs) != 3 || cyc.Packs[0].ExpiresOn != care.Today(time.Now()).AddDays(14).String() {
		t.Fatalf("packs: %s", r.body)
	}
	p1, p2, p3 := cyc.Packs[0].Barcode, cyc.Packs[1].Barcode, cyc.Packs[2].Barcode
	scan := func(c *client, code, step string, resident string) response {
		body := map[string]any{"barcode": code, "step": step}
		if resident != "" {
			body["resident_id"] = json.Number(resident)
		}
		return c.postJSON("/api/v1/sterile/scan", body)
	}
	if r := scan(vd, p1, "deliver", ""); r.code != 409 || errKey(t, r) != "sterile.not_released" {
		t.Fatalf("before the indicators: %d %s", r.code, r.body)
	}
	ind := func(which, result string) response {
		return center.postJSON(fmt.Sprintf("/api/v1/sterile/cycles/%d/indicators", cyc.Cycle.ID), map[string]any{"indicator": which, "result": result})
	}
	for _, i := range []string{"physical", "chemical"} {
		if r := ind(i, "pass"); r.code != 200 {
			t.Fatalf("%s: %d %s", i, r.code, r.body)
		}
	}
	for _, p := range []string{p1, p2, p3} {
		if r := scan(vd, p, "deliver", ""); r.code != 200 {
			t.Fatalf("deliver %s: %d %s", p, r.code, r.body)
		}
	}
	if n := e.count(`SELECT COUNT(*) FROM sterile_orders WHERE status = 'delivered' AND delivered = 2`); n != 1 {
		t.Fatalf("the order was not counted delivered")
	}
	if r := scan(vd, p1, "deliver", ""); r.code != 409 || errKey(t, r) != "sterile.out_of_order.delivered" {
		t.Fatalf("delivered twice: %d %s", r.code, r.body)
	}

	// Use on a patient; traceable both ways; audited with the resident.
	if r := scan(vd, p1, "use", rid); r.code != 200 {
		t.Fatalf("use: %d %s", r.code, r.body)
	}
	if r := vd.get("/api/v1/residents/" + rid + "/sterile-packs"); r.code != 200 || !strings.Contains(r.body, p1) || !strings.Contains(r.body, `"cycle":"C-001"`) {
		t.Fatalf("patient → pack → cycle: %d %s", r.code, r.body)
	}
	if p := vd.get("/residents/" + rid + "/sterile-packs"); p.code != 200 || !strings.Contains(p.body, "C-001") {
		t.Fatalf("resident packs page: %d", p.code)
	}
	e.writer.Flush(t.Context())
	if n := e.count(`SELECT COUNT(*) FROM audit_events WHERE action = 'sterile.scan' AND resident_id = %s`, rid); n != 1 {
		t.Fatalf("use audit rows: %d", n)
	}

	// Past its expiry date: refused with an alert, the pack unchanged.
	offset.Store(int64(15 * 24 * time.Hour))
	if r := scan(vd, p2, "use", rid); r.code != 409 || errKey(t, r) != "sterile.expired" {
		t.Fatalf("expired: %d %s", r.code, r.body)
	}
	offset.Store(0)
	if n := e.count(`SELECT COUNT(*) FROM sterile_packs WHERE barcode = '%s' AND status = 'delivered' AND resident_id = 0`, p2); n != 1 {
		t.Fatal("the refused use changed the pack")
	}
	if p := vd.get("/sterile"); !strings.Contains(p.body, `id="sterile-alerts"`) {
		t.Fatal("the clinic's page shows no alert for the refused use")
	}
	if r := vd.get("/api/v1/sterile"); r.code != 200 || !strings.Contains(r.body, `"reason":"sterile.refused.expired"`) || !strings.Contains(r.body, `"packaging":"textile"`) {
		t.Fatalf("the clinic's board API: %d %s", r.code, r.body)
	}

	// A failed biological indicator recalls the cycle's unused packs.
	r = ind("biological", "fail")
	if r.code != 200 || !strings.Contains(r.body, `"recalled_packs":2`) {
		t.Fatalf("recall: %d %s", r.code, r.body)
	}
	if r := scan(vd, p3, "use", rid); r.code != 409 || errKey(t, r) != "sterile.recalled" {
		t.Fatalf("recalled pack used: %d %s", r.code, r.body)
	}
	if r := ind("physical", "pass"); r.code != 409 {
		t.Fatalf("indicator on a recalled cycle: %d", r.code)
	}
	// Cycle → the patients it touched (the recall's list).
	if p := center.get(fmt.Sprintf("/sterile/cycles/%d", cyc.Cycle.ID)); p.code != 200 || strings.Count(p.body, "translate=\"no\">"+p1) != 1 {
		t.Fatalf("cycle page: %d", p.code)
	}
	var name string
	if err := e.st.QueryRowForTest(t.Context(), `SELECT name FROM residents WHERE id = `+rid, &name); err != nil {
		t.Fatal(err)
	}
	if p := center.get(fmt.Sprintf("/sterile/cycles/%d", cyc.Cycle.ID)); !strings.Contains(p.body, name) {
		t.Fatal("the cycle page does not name the patient it touched")
	}
	if r := vd.get(fmt.Sprintf("/sterile/cycles/%d", cyc.Cycle.ID)); r.code != 403 {
		t.Fatalf("a village doctor on the cycle page: %d", r.code)
	}

	// The pages' forms: a bad scan is a clear error on the page.
	if r := vd.postForm("/sterile/scan", url.Values{"barcode": {"NOPE"}, "step": {"deliver"}}, true); r.code != 404 && r.code != 422 {
		t.Fatalf("unknown pack from the page: %d", r.code)
	}
}
