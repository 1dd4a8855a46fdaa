package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"countycare/care"
	"countycare/huts"
	"countycare/internal/testdb"
	"countycare/store"
)

// simDevice is a simulated measuring device of a health hut: a Go client
// that posts readings with its bearer token, as the real ones do.
type simDevice struct {
	base, token string
	hc          *http.Client
	seq         int
}

// reading is what the device measured; send fills reading_id (the
// device's own counter) and measured_at (its clock) unless set.
type measurement map[string]any

func (d *simDevice) send(t testing.TB, r measurement) (int, map[string]any) {
	t.Helper()
	if _, ok := r["reading_id"]; !ok {
		d.seq++
		r["reading_id"] = fmt.Sprintf("SIM-%06d", d.seq)
	}
	if _, ok := r["measured_at"]; !ok {
		r["measured_at"] = time.Now().Add(-time.Minute).Format(time.RFC3339)
	}
	b, _ := json.Marshal(r)
	req, _ := http.NewRequest("POST", d.base+"/api/v1/devices/readings", bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+d.token)
	resp, err := d.hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var out map[string]any
	json.Unmarshal(body, &out)
	return resp.StatusCode, out
}

// newDevice registers a device of kind at institution inst through the
// administrator's API and returns it, simulated.
func (e *env) newDevice(admin *client, kind string, inst int64) *simDevice {
	e.t.Helper()
	r := admin.postJSON("/api/v1/devices", map[string]any{"name": "hut " + kind, "kind": kind, "institution_id": inst})
	if r.code != 201 {
		e.t.Fatalf("register device: %d %s", r.code, r.body)
	}
	var out struct {
		Token string `json:"token"`
	}
	json.Unmarshal([]byte(r.body), &out)
	if !strings.HasPrefix(out.Token, "hut_") {
		e.t.Fatalf("no token: %s", r.body)
	}
	return &simDevice{base: e.ts.URL, token: out.Token, hc: &http.Client{}}
}

func errOf(out map[string]any) (key string, fields []string) {
	er, _ := out["error"].(map[string]any)
	key, _ = er["key"].(string)
	fs, _ := er["fields"].([]any)
	for _, f := range fs {
		m := f.(map[string]any)
		fields = append(fields, m["field"].(string)+":"+m["code"].(string))
	}
	return key, fields
}

// TestHutDevicesAndReadings: an administrator registers a blood-pressure
// monitor, a glucose meter and a scale at a village clinic (the token
// shown once, stored hashed); a simulated device posts readings for the
// clinic's residents by ID number and by the QR token of /me; a retry of
// the same reading ID is the same answer, written once; impossible values,
// values the kind does not measure, a clock ahead, a stale reading, a
// resident of another village, a wrong or revoked token are refused with
// their reason and nothing written; an urgent value carries the chronic
// urgent reasons and raises a critical alert to the resident's clinic;
// the clinic's doctor sees the readings, a county specialist without a
// care link does not; every write and refusal is audited.
func TestHutDevicesAndReadings(t *testing.T) { testdbBoth(t, testHutDevices) }

func testHutDevices(t *testing.T, d store.Dialect) {
	e := newEnv(t, d)
	admin := e.as(care.RoleAdmin)
	vd := e.as(care.RoleVillageDoctor)
	rid := firstResident(t, vd)
	ctx := context.Background()
	var village int64
	var idNumber string
	if err := e.st.QueryRowForTest(ctx, `SELECT village_id, id_number FROM residents WHERE id = `+rid, &village, &idNumber); err != nil {
		t.Fatal(err)
	}
	var otherID string
	if err := e.st.QueryRowForTest(ctx, fmt.Sprintf(`SELECT id_number FROM residents WHERE village_id <> %d AND id_number <> '' ORDER BY id LIMIT 1`, village), &otherID); err != nil {
		t.Fatal(err)
	}

	// Only the administrator registers devices; the page shows the token once.
	if r := vd.get("/admin/devices"); r.code != 403 {
		t.Fatalf("village doctor on /admin/devices: %d", r.code)
	}
	page := admin.postForm("/admin/devices", url.Values{"name": {"小屋血压计"}, "kind": {"bp"}, "institution_id": {strconv.FormatInt(village, 10)}}, true)
	if page.code != 201 || !strings.Contains(page.body, `id="device-token"`) || !strings.Contains(page.body, "hut_") {
		t.Fatalf("device page create: %d", page.code)
	}
	if r := admin.postForm("/admin/devices", url.Values{"name": {""}, "kind": {"thermometer"}, "institution_id": {strconv.FormatInt(village, 10)}}, true); r.code != 422 ||
		!strings.Contains(r.body, `id="name-error"`) || !strings.Contains(r.body, `id="kind-error"`) {
		t.Fatalf("bad device: %d", r.code)
	}
	if n := e.count(`SELECT COUNT(*) FROM hut_devices WHERE token_hash LIKE 'hut_%%'`); n != 0 {
		t.Fatal("a token is stored in clear")
	}
	bp := e.newDevice(admin, "bp", village)

	// A reading by ID number: 201; the same reading ID again: 200, the same answer, one row.
	first := measurement{"reading_id": "BP-1", "id_number": idNumber, "sbp": 142, "dbp": 88, "pulse": 76}
	code, out := bp.send(t, first)
	if code != 201 {
		t.Fatalf("reading: %d %v", code, out)
	}
	got := out["reading"].(map[string]any)
	if got["sbp"].(float64) != 142 || len(got["urgent"].([]any)) != 0 || fmt.Sprint(got["resident_id"]) != rid {
		t.Fatalf("reading: %v", got)
	}
	code, again := bp.send(t, first)
	if code != 200 || again["created"] != false || fmt.Sprint(again["reading"].(map[string]any)["id"]) != fmt.Sprint(got["id"]) {
		t.Fatalf("repeat: %d %v", code, again)
	}
	if n := e.count(`SELECT COUNT(*) FROM device_readings WHERE device_ref = 'BP-1'`); n != 1 {
		t.Fatalf("the repeated reading was written %d times", n)
	}

	// Bad input: each refused with its reason, nothing written.
	before := e.count(`SELECT COUNT(*) FROM device_readings`)
	for _, c := range []struct {
		name   string
		r      measurement
		status int
		want   string
	}{
		{"impossible", measurement{"id_number": idNumber, "sbp": 400, "dbp": 20}, 422, "sbp:chronic.value.range"},
		{"order", measurement{"id_number": idNumber, "sbp": 80, "dbp": 120}, 422, "sbp:chronic.bp.order"},
		{"not measured", measurement{"id_number": idNumber, "sbp": 120, "dbp": 80, "weight_kg": 60}, 422, "weight:huts.not_measured"},
		{"clock ahead", measurement{"id_number": idNumber, "sbp": 120, "dbp": 80, "measured_at": time.Now().Add(time.Hour).Format(time.RFC3339)}, 422, "measured_at:huts.clock_ahead"},
		{"too old", measurement{"id_number": idNumber, "sbp": 120, "dbp": 80, "measured_at": time.Now().Add(-30 * 24 * time.Hour).Format(time.RFC3339)}, 422, "measured_at:huts.too_old"},
		{"no resident", measurement{"sbp": 120, "dbp": 80}, 422, "resident:huts.resident_one"},
		{"bad ID", measurement{"id_number": "110101199003070000", "sbp": 120, "dbp": 80}, 422, "id_number:huts.id_number_invalid"},
		{"bad QR", measurement{"qr": "R1AAAA", "sbp": 120, "dbp": 80}, 422, "qr:huts.qr_invalid"},
		{"outside", measurement{"id_number": otherID, "sbp": 120, "dbp": 80}, 404, "huts.resident_outside"},
		{"wrong type", measurement{"id_number": idNumber, "sbp": "high", "dbp": 80}, 422, "sbp:"},
	} {
		code, out := bp.send(t, c.r)
		key, fields := errOf(out)
		if code != c.status || !strings.Contains(key+" "+strings.Join(fields, " "), c.want) {
			t.Errorf("%s: %d %s %v, want %d %s", c.name, code, key, fields, c.status, c.want)
		}
	}
	if n := e.count(`SELECT COUNT(*) FROM device_readings`); n != before {
		t.Fatalf("refused readings wrote %d rows", n-before)
	}
	e.writer.Flush(ctx)
	if n := e.count(`SELECT COUNT(*) FROM audit_events WHERE action = 'huts.reading' AND outcome = 'denied'`); n != 1 {
		t.Errorf("the reading for a resident of another village: %d denied audit rows, want 1", n)
	}
	if n := e.count(`SELECT COUNT(*) FROM audit_events WHERE action = 'huts.reading' AND outcome = 'invalid'`); n < 5 {
		t.Errorf("invalid readings: %d audit rows", n)
	}

	// An urgent value: the chronic urgent-transfer reasons and a critical alert to the clinic.
	code, out = bp.send(t, measurement{"id_number": idNumber, "sbp": 186, "dbp": 112, "pulse": 90})
	got = out["reading"].(map[string]any)
	if code != 201 || fmt.Sprint(got["urgent"]) != "[chronic.urgent.bp]" || got["alert_id"] == nil {
		t.Fatalf("urgent reading: %d %v", code, out)
	}
	if n := e.count(`SELECT COUNT(*) FROM critical_alerts WHERE source_kind = 'device_reading' AND clinic_id = %d AND resident_id = %s`, village, rid); n != 1 {
		t.Fatalf("urgent reading: %d alerts", n)
	}

	// A glucose meter: a random 17.2 mmol/L is urgent; a scale: 15 kg at 1.70 m is impossible.
	gl := e.newDevice(admin, "glucose", village)
	code, out = gl.send(t, measurement{"id_number": idNumber, "glucose_mmol": 17.2, "glucose_for": "random"})
	if code != 201 || fmt.Sprint(out["reading"].(map[string]any)["urgent"]) != "[chronic.urgent.glucose]" {
		t.Fatalf("glucose: %d %v", code, out)
	}
	sc := e.newDevice(admin, "scale", village)
	if code, out = sc.send(t, measurement{"id_number": idNumber, "weight_kg": 15, "height_cm": 170}); code != 422 {
		t.Fatalf("15 kg at 1.70 m: %d %v", code, out)
	}

	// By the QR token of /me (valid 10 minutes), and an expired one.
	qr := (&huts.Service{Key: huts.KeyFrom(testdb.AuditKey), Config: huts.DefaultConfig()})
	id, _ := strconv.ParseInt(rid, 10, 64)
	if code, out = sc.send(t, measurement{"qr": qr.QR(id, time.Now()), "weight_kg": 61.5, "height_cm": 165}); code != 201 {
		t.Fatalf("by QR: %d %v", code, out)
	}
	if code, out = sc.send(t, measurement{"qr": qr.QR(id, time.Now().Add(-time.Hour)), "weight_kg": 61.5}); code != 422 {
		t.Fatalf("expired QR: %d %v", code, out)
	}

	// Wrong and revoked tokens: 401.
	if code, _ := (&simDevice{base: e.ts.URL, token: "hut_nope", hc: &http.Client{}}).send(t, measurement{"id_number": idNumber, "sbp": 120, "dbp": 80}); code != 401 {
		t.Fatalf("wrong token: %d", code)
	}
	var devID int64
	if err := e.st.QueryRowForTest(ctx, `SELECT MIN(id) FROM hut_devices WHERE kind = 'glucose'`, &devID); err != nil {
		t.Fatal(err)
	}
	if r := admin.postJSON(fmt.Sprintf("/api/v1/devices/%d/revoke", devID), nil); r.code != 200 {
		t.Fatalf("revoke: %d %s", r.code, r.body)
	}
	if code, _ := gl.send(t, measurement{"id_number": idNumber, "glucose_mmol": 6.0, "glucose_for": "fasting"}); code != 401 {
		t.Fatalf("revoked token: %d %s", code, e.logs.String())
	}

	// The resident's readings: the clinic's doctor sees them; a county specialist without a link does not.
	p := vd.get("/residents/" + rid + "/readings")
	if p.code != 200 || !strings.Contains(p.body, "186/112") || !strings.Contains(p.body, `class="urgent"`) {
		t.Fatalf("readings page: %d", p.code)
	}
	if r := vd.get("/api/v1/residents/" + rid + "/device-readings"); r.code != 200 || strings.Count(r.body, `"reading_id"`) < 4 {
		t.Fatalf("readings API: %d %s", r.code, r.body)
	}
	if r := e.as(care.RoleCountySpecialist).get("/residents/" + rid + "/readings"); r.code != 404 {
		t.Fatalf("county specialist: %d", r.code)
	}

	// The chronic follow-up form offers the week's readings as its measurements.
	var regID int64
	if e.count(`SELECT COUNT(*) FROM chronic_registrations WHERE resident_id = %s AND disease = 'hypertension'`, rid) == 0 {
		if r := vd.postJSON("/api/v1/residents/"+rid+"/chronic", map[string]any{"disease": "hypertension", "source": "screening",
			"enrolled_on": care.Today(time.Now()).String()}); r.code != 201 {
			t.Fatalf("enrol: %d %s", r.code, r.body)
		}
	}
	if err := e.st.QueryRowForTest(ctx, `SELECT id FROM chronic_registrations WHERE disease = 'hypertension' AND resident_id = `+rid, &regID); err != nil {
		t.Fatal(err)
	}
	if code, out := bp.send(t, measurement{"id_number": idNumber, "sbp": 151, "dbp": 93, "pulse": 77, "measured_at": time.Now().Format(time.RFC3339)}); code != 201 {
		t.Fatalf("reading for the patient: %d %v", code, out)
	}
	if p := vd.get(fmt.Sprintf("/chronic/%d", regID)); p.code != 200 || !strings.Contains(p.body, `id="prefill-note"`) || !strings.Contains(p.body, `value="151"`) {
		t.Fatalf("follow-up form not prefilled: %d", p.code)
	}

	// The resident's QR code on /me: an SVG for the resident, no one else.
	me := e.as(care.RoleResident)
	if p := me.get("/me"); !strings.Contains(p.body, `src="/me/hut-qr.svg"`) {
		t.Fatal("/me shows no QR code")
	}
	if r := me.get("/me/hut-qr.svg"); r.code != 200 || r.header.Get("Content-Type") != "image/svg+xml" || !strings.Contains(r.body, "<path") {
		t.Fatalf("QR code: %d %s", r.code, r.header.Get("Content-Type"))
	}
	if r := vd.get("/me/hut-qr.svg"); r.code != 403 {
		t.Fatalf("a village doctor's QR code: %d", r.code)
	}
}
