package web_test

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"countycare/care"
	"countycare/demo"
	"countycare/store"
)

// asLogin signs in with a demo sign-in that is not one of the per-role
// Logins (the county lab's reader).
func (e *env) asLogin(l *demo.Login) *client {
	e.t.Helper()
	if l == nil {
		e.t.Fatal("the demo has no such sign-in")
	}
	c := e.anon()
	body, _ := json.Marshal(map[string]string{"username": l.Username, "password": l.Password})
	resp := c.do("POST", "/api/v1/session", "application/json", body, nil)
	if resp.code != 200 {
		e.t.Fatalf("login %s: %d %s", l.Username, resp.code, resp.body)
	}
	var out struct {
		CSRF string `json:"csrf_token"`
	}
	json.Unmarshal([]byte(resp.body), &out)
	c.csrf = out.CSRF
	return c
}

// TestSpecimenPagesAndAPI: the journey through the pages and the JSON API
// — a village doctor orders (the label is a Code 128 SVG), scans the tube
// collected, packs it at 4.5 °C and hands the box to a courier; the county
// lab scans it in on its page and files results through the API, which
// land on the resident's lab page; bad input is a clear error that writes
// nothing; other roles and institutions get 403/404.
func TestSpecimenPagesAndAPI(t *testing.T) {
	for _, d := range []store.Dialect{store.SQLite, store.Postgres} {
		t.Run(string(d), func(t *testing.T) { testSpecimens(t, d) })
	}
}

func testSpecimens(t *testing.T, d store.Dialect) {
	e := newEnv(t, d)
	vd := e.as(care.RoleVillageDoctor)
	lb := e.asLogin(e.demo.LabLogin)
	rid := firstResident(t, vd)
	if p := vd.get("/residents/" + rid + "/labs"); !strings.Contains(p.body, `id="lab-order-specimen"`) {
		t.Error("no order link on the lab page")
	}
	form := vd.get("/residents/" + rid + "/specimens")
	if form.code != 200 || !strings.Contains(form.body, `id="specimen-order"`) {
		t.Fatalf("order page %d", form.code)
	}
	labID := between(form.body, `<option value="`, `"`)
	// Bad order: no tests, unknown tube → 422 naming both, nothing stored.
	r := vd.postForm("/residents/"+rid+"/specimens", url.Values{"lab_id": {labID}, "tube": {"bucket"}}, true)
	if r.code != 422 || !strings.Contains(r.body, `id="tests-error"`) || !strings.Contains(r.body, `id="tube-error"`) {
		t.Fatalf("bad order: %d", r.code)
	}
	if n := e.count(`SELECT COUNT(*) FROM specimens`); n != 0 {
		t.Fatalf("a refused order stored %d specimens", n)
	}
	r = vd.postForm("/residents/"+rid+"/specimens", url.Values{"lab_id": {labID}, "tube": {"serum"}, "tests": {"GLU", "K"}}, true)
	if r.code != 303 {
		t.Fatalf("order: %d %s", r.code, r.body)
	}
	loc := r.header.Get("Location")
	page := vd.get(strings.SplitN(loc, "?", 2)[0])
	if page.code != 200 || !strings.Contains(page.body, `id="specimen-label"`) {
		t.Fatalf("specimen page %d", page.code)
	}
	id := strings.TrimPrefix(strings.SplitN(loc, "?", 2)[0], "/specimens/")
	var got struct {
		Specimen struct {
			Barcode string `json:"barcode"`
			Status  string `json:"status"`
		} `json:"specimen"`
		Events []struct {
			Step string `json:"step"`
		} `json:"events"`
	}
	json.Unmarshal([]byte(vd.get("/api/v1/specimens/"+id).body), &got)
	bc := got.Specimen.Barcode
	if len(bc) != 16 || got.Specimen.Status != "ordered" {
		t.Fatalf("specimen %+v", got)
	}
	svg := vd.get("/specimens/" + id + "/label.svg")
	if svg.code != 200 || svg.header.Get("Content-Type") != "image/svg+xml" || strings.Count(svg.body, `fill="#000"`) < 20 || !strings.Contains(svg.body, bc) {
		t.Fatalf("label: %d %s", svg.code, svg.header.Get("Content-Type"))
	}
	// Unknown barcode on the scan form: 422 on the field.
	r = vd.postForm("/specimens/scan", url.Values{"barcode": {"123"}, "step": {"collect"}}, true)
	if r.code != 422 || !strings.Contains(r.body, `id="barcode-error"`) {
		t.Fatalf("unknown barcode: %d", r.code)
	}
	// The lab cannot receive it yet (out of order): 409 with the reason.
	rj := lb.postJSON("/api/v1/specimens/scan", map[string]any{"barcode": bc, "step": "receive"})
	if rj.code != 409 || !strings.Contains(rj.body, "specimen.out_of_order.ordered") {
		t.Fatalf("early receipt: %d %s", rj.code, rj.body)
	}
	r = vd.postForm("/specimens/scan", url.Values{"barcode": {bc}, "step": {"collect"}}, true)
	if r.code != 200 || !strings.Contains(r.body, `id="specimen-scanned"`) {
		t.Fatalf("collect: %d", r.code)
	}
	// Packing at 15 °C is refused on the field; at 4,5 °C it packs.
	r = vd.postForm("/specimens/boxes", url.Values{"barcode": {bc}, "temp": {"15"}}, true)
	if r.code != 422 || !strings.Contains(r.body, `id="temp-error"`) {
		t.Fatalf("warm box: %d", r.code)
	}
	if r = vd.postForm("/specimens/boxes", url.Values{"barcode": {bc}, "temp": {"4,5"}}, true); r.code != 303 {
		t.Fatalf("pack: %d %s", r.code, r.body)
	}
	var board struct {
		Boxes []struct {
			ID    int64   `json:"id"`
			TempC float64 `json:"temp_c"`
		} `json:"boxes"`
	}
	json.Unmarshal([]byte(vd.get("/api/v1/specimens").body), &board)
	if len(board.Boxes) != 1 || board.Boxes[0].TempC != 4.5 {
		t.Fatalf("boxes %+v", board)
	}
	box := fmt.Sprint(board.Boxes[0].ID)
	if r := vd.get("/specimens/boxes/" + box + "/label.svg"); r.code != 200 {
		t.Errorf("box label %d", r.code)
	}
	if r = vd.postForm("/specimens/boxes/"+box+"/hand-over", url.Values{"courier": {"李师傅"}, "route": {"东线"}}, true); r.code != 303 {
		t.Fatalf("hand over: %d", r.code)
	}
	// The lab's board lists it in transit; the scan page receives it.
	if p := lb.get("/specimens"); p.code != 200 || !strings.Contains(p.body, bc) {
		t.Fatalf("lab board: %d", p.code)
	}
	if r = lb.postForm("/specimens/scan", url.Values{"barcode": {bc}, "step": {"receive"}}, true); r.code != 200 || !strings.Contains(r.body, `id="specimen-scanned"`) {
		t.Fatalf("receive: %d", r.code)
	}
	// Results: an impossible value is refused naming the field; then filed.
	rj = lb.postJSON("/api/v1/specimens/"+id+"/results", map[string]any{"results": []map[string]any{{"code": "K", "value": 25, "unit": "mmol/L"}}})
	if rj.code != 422 || !strings.Contains(rj.body, "results[0].") {
		t.Fatalf("impossible K: %d %s", rj.code, rj.body)
	}
	if p := lb.get("/specimens/" + id); !strings.Contains(p.body, `id="specimen-results"`) {
		t.Error("no result form for the lab")
	}
	rj = lb.postJSON("/api/v1/specimens/"+id+"/results", map[string]any{"results": []map[string]any{{"code": "GLU", "value": 5.6, "unit": "mmol/L"}, {"code": "K", "value": 4.2, "unit": "mmol/L"}}})
	if rj.code != 201 {
		t.Fatalf("results: %d %s", rj.code, rj.body)
	}
	json.Unmarshal([]byte(vd.get("/api/v1/specimens/"+id).body), &got)
	if got.Specimen.Status != "resulted" || len(got.Events) != 6 {
		t.Errorf("after results: %+v", got)
	}
	if p := vd.get("/residents/" + rid + "/labs"); !strings.Contains(p.body, "5.6") {
		t.Error("the results are not on the resident's lab page")
	}
	// Indicators: lab and analyst see the clinic's row.
	for _, c := range []*client{lb, e.as(care.RoleAnalyst)} {
		if p := c.get("/specimens/indicators"); p.code != 200 || !strings.Contains(p.body, `id="specimen-rates"`) {
			t.Errorf("indicators page: %d", p.code)
		}
	}
	// Roles without a part: 403; the ECG center's reader does not see it.
	for _, role := range []care.Role{care.RolePharmacist, care.RoleAdmin, care.RoleResident} {
		if r := e.as(role).get("/specimens/" + id); r.code != 403 && r.code != 303 {
			t.Errorf("%s: %d", role, r.code)
		}
	}
	if r := e.as(care.RoleReader).get("/api/v1/specimens/" + id); r.code != 404 {
		t.Errorf("another center's reader: %d", r.code)
	}
	if n := e.count(`SELECT COUNT(*) FROM audit_events WHERE action = 'specimen.scan'`); n < 4 {
		t.Errorf("scan audit rows %d", n)
	}
}

func between(s, a, b string) string {
	i := strings.Index(s, a)
	if i < 0 {
		return ""
	}
	s = s[i+len(a):]
	if j := strings.Index(s, b); j >= 0 {
		return s[:j]
	}
	return s
}
