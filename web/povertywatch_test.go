package web_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"countycare/care"
	"countycare/povertywatch"
	"countycare/settle"
	"countycare/store"

	"github.com/xuri/excelize/v2"
)

// TestPovertyWatch: a household's yearly out-of-pocket total follows its
// members' settlements (a settlement adds its patient share, a reversal
// takes it away), crossing the line lists it and raises one alert, an
// action handles the alert, a recorded income lowers the line, and only
// the insurance office sees it (issue 14 §3; 国办发〔2021〕42号 §(五)).
func TestPovertyWatch(t *testing.T) {
	for _, d := range []store.Dialect{store.SQLite, store.Postgres} {
		t.Run(string(d), func(t *testing.T) { testPovertyWatch(t, d) })
	}
}

type watchList struct {
	Households []struct {
		HouseholdID int64  `json:"household_id"`
		TotalOOP    string `json:"total_oop"`
		InPolicyOOP string `json:"in_policy_oop"`
		Level       string `json:"level"`
		Threshold   string `json:"threshold"`
		ByIncome    bool   `json:"threshold_by_income"`
	} `json:"households"`
	Alerts []struct {
		HouseholdID int64 `json:"household_id"`
		Open        bool  `json:"open"`
	} `json:"alerts"`
}

type watchHousehold struct {
	Household struct {
		TotalOOP    string `json:"total_oop"`
		InPolicyOOP string `json:"in_policy_oop"`
		Level       string `json:"level"`
		Threshold   string `json:"threshold"`
		ByIncome    bool   `json:"threshold_by_income"`
	} `json:"household"`
	Bills []struct {
		SettlementID int64  `json:"settlement_id"`
		Eligible     string `json:"eligible"`
		InPolicyOOP  string `json:"in_policy_oop"`
		Patient      string `json:"patient"`
	} `json:"bills"`
	Alert *struct {
		Open bool `json:"open"`
	} `json:"alert"`
	Actions []struct {
		Kind string `json:"kind"`
	} `json:"actions"`
}

func fen(t *testing.T, s string) settle.Fen {
	t.Helper()
	f, err := settle.ParseYuan(s)
	if err != nil {
		t.Fatalf("amount %q: %v", s, err)
	}
	return f
}

func testPovertyWatch(t *testing.T, d store.Dialect) {
	e, io, rid, hosp, _ := settleEnv(t, d)
	ctx := context.Background()
	year := time.Now().Year()
	var res struct {
		HouseholdID int64 `json:"household_id"`
	}
	json.Unmarshal([]byte(io.get("/api/v1/residents/"+itoa(rid)).body), &res)
	if res.HouseholdID == 0 {
		t.Fatal("the resident has no household")
	}
	hpath := "/api/v1/poverty-watch/households/" + itoa(res.HouseholdID) + "?year=" + itoa(int64(year))
	household := func() watchHousehold {
		t.Helper()
		r := io.get(hpath)
		if r.code != 200 {
			t.Fatalf("household: %d %s", r.code, r.body)
		}
		var h watchHousehold
		json.Unmarshal([]byte(r.body), &h)
		return h
	}
	before := household()
	// The household's totals are its bills' sums, to the fen.
	sum := func(h watchHousehold) (patient, inPolicy settle.Fen) {
		for _, b := range h.Bills {
			patient += fen(t, b.Patient)
			inPolicy += fen(t, b.InPolicyOOP)
		}
		return
	}
	if p, ip := sum(before); fen(t, before.Household.TotalOOP) != p || fen(t, before.Household.InPolicyOOP) != ip {
		t.Fatalf("totals %s/%s, bills sum to %s/%s", before.Household.TotalOOP, before.Household.InPolicyOOP, p, ip)
	}

	// A large admission with self-paid (category C) material: the household crosses ¥10,000.
	today := care.Today(time.Now()).String()
	bill := map[string]any{"resident_id": rid, "institution_id": hosp, "visit_id": "PW-1", "date": today, "visit_type": "inpatient",
		"lines": []map[string]string{{"code": "A1", "name": "药", "class": "drug", "category": "A", "amount": "30000.00"},
			{"code": "C1", "name": "自费材料", "class": "material", "category": "C", "amount": "15000"}}}
	r := io.do("POST", "/api/v1/settlements", "application/json", []byte(mustJSON(bill)), map[string]string{"X-CSRF-Token": io.csrf, "Idempotency-Key": "pw-1"})
	if r.code != 201 {
		t.Fatalf("settle: %d %s", r.code, r.body)
	}
	var st struct {
		ID     int64 `json:"id"`
		Result struct {
			Patient  string `json:"patient"`
			Eligible string `json:"eligible"`
			Layers   []struct {
				Paid string `json:"paid"`
			} `json:"layers"`
		} `json:"result"`
	}
	json.Unmarshal([]byte(r.body), &st)
	after := household()
	if got, want := fen(t, after.Household.TotalOOP)-fen(t, before.Household.TotalOOP), fen(t, st.Result.Patient); got != want {
		t.Fatalf("the settlement added %s to the household, its patient share is %s", got, want)
	}
	// The in-policy part: the eligible cost less what every layer paid.
	inPolicy := fen(t, st.Result.Eligible)
	for _, l := range st.Result.Layers {
		inPolicy -= fen(t, l.Paid)
	}
	if got := fen(t, after.Household.InPolicyOOP) - fen(t, before.Household.InPolicyOOP); got != max(inPolicy, 0) {
		t.Fatalf("the settlement added %s in-policy, eligible less layers is %s", got, inPolicy)
	}
	if p, ip := sum(after); fen(t, after.Household.TotalOOP) != p || fen(t, after.Household.InPolicyOOP) != ip {
		t.Fatalf("after: totals %s/%s, bills sum to %s/%s", after.Household.TotalOOP, after.Household.InPolicyOOP, p, ip)
	}
	if fen(t, after.Household.TotalOOP) < 10000*settle.Yuan || after.Household.Level != "crossed" || after.Household.Threshold != "10000.00" {
		t.Fatalf("after the admission: %+v", after.Household)
	}
	if after.Alert != nil {
		t.Fatal("an alert before the scan")
	}

	// The scan raises one alert, once, and texts the offices once (in
	// the alert's transaction).
	e.watch.Config.OfficePhones = []string{"13900001111"}
	defer func() { e.watch.Config.OfficePhones = nil }()
	raised, err := e.watch.Scan(ctx, "411723", year)
	if err != nil || raised < 1 {
		t.Fatalf("scan: %d %v", raised, err)
	}
	if n, err := e.watch.Scan(ctx, "411723", year); err != nil || n != 0 {
		t.Fatalf("second scan raised %d (%v), want 0", n, err)
	}
	pending, _ := e.st.PendingMessages(ctx, 10000)
	texts, ours := 0, false
	for _, m := range pending {
		if m.Purpose == povertywatch.PurposeCrossed && m.Recipient == "13900001111" {
			texts++
			if m.Ref == "poverty:"+itoa(res.HouseholdID)+":"+itoa(int64(year)) {
				ours = m.Params["line"] == "10000.00" && m.Params["year"] == itoa(int64(year)) && m.Params["household"] != ""
			}
		}
	}
	if texts != raised || !ours {
		t.Errorf("%d texts to the office for %d new alerts; the household's text right: %v", texts, raised, ours)
	}
	var l watchList
	r = io.get("/api/v1/poverty-watch?year=" + itoa(int64(year)))
	json.Unmarshal([]byte(r.body), &l)
	found := false
	for _, h := range l.Households {
		if h.HouseholdID == res.HouseholdID {
			found = h.Level == "crossed"
		}
		if h.Level != "crossed" && h.Level != "approaching" {
			t.Errorf("listed a household at level %q", h.Level)
		}
	}
	if !found {
		t.Fatalf("the household is not listed as crossed: %.500s", r.body)
	}
	alerts := 0
	for _, a := range l.Alerts {
		if a.HouseholdID == res.HouseholdID && a.Open {
			alerts++
		}
	}
	if alerts != 1 {
		t.Fatalf("open alerts for the household: %d", alerts)
	}
	if p := io.get("/poverty-watch?level=crossed"); p.code != 200 || !strings.Contains(p.body, "/poverty-watch/households/"+itoa(res.HouseholdID)) || !strings.Contains(p.body, "超过预警线") {
		t.Errorf("watch page: %d", p.code)
	}
	// The list as CSV for the assistance offices: Excel's BOM, the household, its level in words; audited.
	if c := io.get("/poverty-watch/export.csv?level=crossed"); c.code != 200 || !strings.HasPrefix(c.header.Get("Content-Type"), "text/csv") ||
		!strings.HasPrefix(c.body, "\ufeff户号,") || !strings.Contains(c.body, "超过预警线") || strings.Contains(c.body, "crossed") {
		t.Errorf("export: %d %q %.300s", c.code, c.header.Get("Content-Type"), c.body)
	}
	// And as an XLSX workbook: the same header and the household's row, its level in words.
	x := io.get("/poverty-watch/export.xlsx?level=crossed")
	if x.code != 200 || !strings.Contains(x.header.Get("Content-Type"), "spreadsheetml") {
		t.Fatalf("xlsx export: %d %q", x.code, x.header.Get("Content-Type"))
	}
	wb, err := excelize.OpenReader(strings.NewReader(x.body))
	if err != nil {
		t.Fatal(err)
	}
	rows, _ := wb.GetRows(wb.GetSheetName(0))
	listed := false
	for _, row := range rows[1:] {
		listed = listed || len(row) > 10 && row[10] == "超过预警线"
	}
	if len(rows) < 2 || rows[0][0] != "户号" || !listed {
		t.Errorf("xlsx rows: %q", rows)
	}
	var exports int
	if err := e.st.QueryRowForTest(ctx, `SELECT COUNT(*) FROM audit_events WHERE action = 'povertywatch.export'`, &exports); err != nil || exports != 2 {
		t.Errorf("export audited: %d %v", exports, err)
	}
	if c := e.as(care.RoleAnalyst).get("/poverty-watch/export.csv"); c.code != 403 {
		t.Errorf("analyst export: %d", c.code)
	}
	if p := io.get("/poverty-watch/households/" + itoa(res.HouseholdID)); p.code != 200 || !strings.Contains(p.body, "/settlements/"+itoa(st.ID)) || !strings.Contains(p.body, "待处理") {
		t.Errorf("household page: %d", p.code)
	}

	// Actions: validated, and the first one handles the alert.
	act := func(body string) response {
		return io.do("POST", "/api/v1/poverty-watch/households/"+itoa(res.HouseholdID)+"/actions", "application/json", []byte(body), map[string]string{"X-CSRF-Token": io.csrf})
	}
	y := itoa(int64(year))
	for _, tt := range []struct{ body, want string }{
		{`{"year":` + y + `,"kind":"no_action_needed"}`, "povertywatch.note_required"},
		{`{"year":` + y + `,"kind":"pray"}`, "povertywatch.action_kind"},
		{`{"year":` + y + `,"kind":"followed_up","note":"` + strings.Repeat("长", 501) + `"}`, "povertywatch.note_long"},
		{`{"year":1999,"kind":"followed_up"}`, "povertywatch.no_thresholds"},
	} {
		if r := act(tt.body); r.code != 422 || !strings.Contains(r.body, tt.want) {
			t.Errorf("%.60s: %d %.200s", tt.body, r.code, r.body)
		}
	}
	if h := household(); len(h.Actions) != 0 || h.Alert == nil || !h.Alert.Open {
		t.Fatalf("refused actions were stored: %+v", h)
	}
	if r := act(`{"year":` + y + `,"kind":"assistance_applied","note":"已提交医疗救助申请"}`); r.code != 201 {
		t.Fatalf("action: %d %s", r.code, r.body)
	}
	if h := household(); len(h.Actions) != 1 || h.Alert == nil || h.Alert.Open {
		t.Fatalf("after the action: %+v", h)
	}
	// The same through the page's form, which shows a refused note in place.
	form := "csrf=" + io.csrf + "&kind=no_action_needed&note="
	if p := io.do("POST", "/poverty-watch/households/"+itoa(res.HouseholdID)+"/actions?year="+y, "application/x-www-form-urlencoded", []byte(form), nil); p.code != 422 || !strings.Contains(p.body, "请写明理由") {
		t.Errorf("form without a note: %d", p.code)
	}

	// A recorded income lowers the line to its share (50 % of ¥8,000 = ¥4,000).
	inc := func(body string) response {
		return io.do("PUT", "/api/v1/poverty-watch/households/"+itoa(res.HouseholdID)+"/income", "application/json", []byte(body), map[string]string{"X-CSRF-Token": io.csrf})
	}
	if r := inc(`{"year":` + y + `,"income":"-1"}`); r.code != 422 {
		t.Errorf("negative income: %d %s", r.code, r.body)
	}
	if r := inc(`{"year":` + y + `,"income":"8000"}`); r.code != 204 {
		t.Fatalf("income: %d %s", r.code, r.body)
	}
	if h := household(); h.Household.Threshold != "4000.00" || !h.Household.ByIncome {
		t.Errorf("line with income: %+v", h.Household)
	}

	// The bottom-line report: the admission of a subsistence patient under
	// the "985" policy reached its 90 % (the engine topped it up).
	var bl struct {
		Checked     int `json:"checked"`
		ByVisitType []struct {
			VisitType string `json:"visit_type"`
			Bills     int    `json:"bills"`
			Share     string `json:"share"`
		} `json:"by_visit_type"`
		Shortfalls []struct {
			SettlementID int64 `json:"settlement_id"`
		} `json:"shortfalls"`
	}
	r = io.get("/api/v1/poverty-watch/bottom-line?year=" + y)
	json.Unmarshal([]byte(r.body), &bl)
	if r.code != 200 || bl.Checked < 1 || len(bl.ByVisitType) == 0 || bl.ByVisitType[0].VisitType != "inpatient" || bl.ByVisitType[0].Share == "" {
		t.Errorf("bottom line: %d %.300s", r.code, r.body)
	}
	for _, x := range bl.Shortfalls {
		if x.SettlementID == st.ID {
			t.Errorf("the topped-up admission is listed as short: %s", r.body)
		}
	}
	if p := io.get("/poverty-watch/bottom-line"); p.code != 200 || !strings.Contains(p.body, `id="by-type"`) {
		t.Errorf("bottom-line page: %d", p.code)
	}
	if r := e.as(care.RoleAnalyst).get("/api/v1/poverty-watch/bottom-line"); r.code != 403 {
		t.Errorf("analyst read the bottom-line report: %d", r.code)
	}

	// A reversal takes the bill's share away again.
	if r := io.do("POST", "/api/v1/settlements/"+itoa(st.ID)+"/reverse", "application/json", []byte(`{"reason":"录错"}`), map[string]string{"X-CSRF-Token": io.csrf}); r.code != 200 {
		t.Fatalf("reverse: %d %s", r.code, r.body)
	}
	if h := household(); h.Household.TotalOOP != before.Household.TotalOOP || h.Household.InPolicyOOP != before.Household.InPolicyOOP {
		t.Errorf("after the reversal: %s/%s, before the admission %s/%s", h.Household.TotalOOP, h.Household.InPolicyOOP, before.Household.TotalOOP, before.Household.InPolicyOOP)
	}

	// Every read of the household is audited against each member.
	var n int
	if err := e.st.QueryRowForTest(ctx, `SELECT COUNT(*) FROM audit_events WHERE action = 'povertywatch.read' AND resident_id = `+itoa(rid), &n); err != nil || n == 0 {
		t.Errorf("household reads audited against the member: %d %v", n, err)
	}

	// Only the insurance office: clinicians and the analyst are refused; an unknown household is 404.
	for _, role := range []care.Role{care.RoleVillageDoctor, care.RoleTownshipDoctor, care.RoleAnalyst, care.RoleAdmin, care.RoleResident} {
		if r := e.as(role).get("/api/v1/poverty-watch"); r.code != 403 {
			t.Errorf("%s: %d", role, r.code)
		}
	}
	if r := io.get("/api/v1/poverty-watch/households/999999999"); r.code != 404 {
		t.Errorf("unknown household: %d", r.code)
	}
	// A year the province has not configured is said clearly.
	if r := io.get("/api/v1/poverty-watch?year=2001"); r.code != 422 || !strings.Contains(r.body, "povertywatch.no_thresholds") {
		t.Errorf("unconfigured year: %d %.200s", r.code, r.body)
	}
	if p := io.get("/poverty-watch?year=2001"); p.code != 200 || !strings.Contains(p.body, `id="no-thresholds"`) {
		t.Errorf("unconfigured year page: %d", p.code)
	}
}

// TestSpecialTreatment: the major-illness register enrols only a poor
// resident with a listed disease whose diagnosis the disease covers, at a
// hospital designated for it; follows the case to its end; refuses a
// second open case and a stale update; and is the insurance office's only.
func TestSpecialTreatment(t *testing.T) {
	for _, d := range []store.Dialect{store.SQLite, store.Postgres} {
		t.Run(string(d), func(t *testing.T) { testSpecialTreatment(t, d) })
	}
}

func testSpecialTreatment(t *testing.T, d store.Dialect) {
	e, io, rid, hosp, _ := settleEnv(t, d) // rid is in the subsistence allowance (低保)
	var inst struct {
		Institutions []struct {
			ID   int64  `json:"id"`
			Kind string `json:"kind"`
		} `json:"institutions"`
	}
	json.Unmarshal([]byte(io.get("/api/v1/institutions").body), &inst)
	var partner, township int64
	for _, in := range inst.Institutions {
		switch {
		case in.Kind == "partner_hospital" && partner == 0:
			partner = in.ID
		case in.Kind == "township_hc" && township == 0:
			township = in.ID
		}
	}
	// A resident who is not poor.
	var list struct {
		Residents []struct {
			ID      int64  `json:"id"`
			Poverty string `json:"poverty"`
		} `json:"residents"`
	}
	json.Unmarshal([]byte(io.get("/api/v1/residents?limit=50").body), &list)
	notPoor := int64(0)
	for _, r := range list.Residents {
		if r.Poverty == "" && r.ID != rid {
			notPoor = r.ID
			break
		}
	}
	if partner == 0 || township == 0 || notPoor == 0 {
		t.Fatalf("partner %d township %d not poor %d", partner, township, notPoor)
	}
	enrol := func(body string) response {
		return io.do("POST", "/api/v1/poverty-watch/special", "application/json", []byte(body), map[string]string{"X-CSRF-Token": io.csrf})
	}
	body := func(resident int64, disease, dx string, hospital int64) string {
		return `{"resident_id":` + itoa(resident) + `,"disease":"` + disease + `","diagnosis":"` + dx + `","hospital_id":` + itoa(hospital) + `}`
	}
	for _, tt := range []struct{ name, body, want string }{
		{"unknown disease", body(rid, "flu", "J11", hosp), "povertywatch.special_disease"},
		{"diagnosis of another disease", body(rid, "gastric_cancer", "C15.9", hosp), "povertywatch.special_diagnosis_mismatch"},
		{"not a designated hospital", body(rid, "gastric_cancer", "C16.0", township), "povertywatch.special_hospital"},
		{"children's heart surgery at the county hospital", body(rid, "chd_asd", "Q21.1", hosp), "povertywatch.special_hospital"},
		{"not poor", body(notPoor, "gastric_cancer", "C16.0", hosp), "povertywatch.special_not_poor"},
	} {
		if r := enrol(tt.body); r.code != 422 || !strings.Contains(r.body, tt.want) {
			t.Errorf("%s: %d %.200s", tt.name, r.code, r.body)
		}
	}
	r := enrol(body(rid, "gastric_cancer", "c16.0", hosp))
	if r.code != 201 {
		t.Fatalf("enrol: %d %s", r.code, r.body)
	}
	var c struct {
		ID        int64  `json:"id"`
		Status    string `json:"status"`
		Diagnosis string `json:"diagnosis"`
		Version   int    `json:"version"`
	}
	json.Unmarshal([]byte(r.body), &c)
	if c.Status != "enrolled" || c.Diagnosis != "C16.0" || c.Version != 1 {
		t.Fatalf("case %+v", c)
	}
	if r := enrol(body(rid, "gastric_cancer", "C16.9", partner)); r.code != 409 || !strings.Contains(r.body, "povertywatch.special_open") {
		t.Errorf("second open case: %d %s", r.code, r.body)
	}
	step := func(s, note string, version int) response {
		return io.do("POST", "/api/v1/poverty-watch/special/"+itoa(c.ID)+"/"+s, "application/json", []byte(`{"note":"`+note+`","version":`+itoa(int64(version))+`}`), map[string]string{"X-CSRF-Token": io.csrf})
	}
	if r := step("complete", "", 1); r.code != 422 {
		t.Errorf("complete before admission: %d", r.code)
	}
	if r := step("start", "", 1); r.code != 200 || !strings.Contains(r.body, `"status":"treating"`) {
		t.Fatalf("start: %d %s", r.code, r.body)
	}
	if r := step("complete", "", 1); r.code != 409 {
		t.Errorf("stale version: %d %s", r.code, r.body)
	}
	if r := step("complete", "", 2); r.code != 200 || !strings.Contains(r.body, `"status":"completed"`) {
		t.Fatalf("complete: %d %s", r.code, r.body)
	}
	// Closed: a new case of the same disease may open.
	if r := enrol(body(rid, "gastric_cancer", "C16.9", partner)); r.code != 201 {
		t.Errorf("a new case after the first closed: %d %s", r.code, r.body)
	}
	var reg struct {
		Counts []struct {
			Disease    string `json:"disease"`
			Enrolled   int    `json:"enrolled"`
			Completed  int    `json:"completed"`
			Completion string `json:"completion"`
		} `json:"counts"`
	}
	r = io.get("/api/v1/poverty-watch/special")
	json.Unmarshal([]byte(r.body), &reg)
	found := false
	for _, x := range reg.Counts {
		if x.Disease == "gastric_cancer" {
			found = x.Enrolled == 1 && x.Completed == 1 && x.Completion == "100"
		}
	}
	if !found {
		t.Errorf("register counts: %.600s", r.body)
	}
	if p := io.get("/poverty-watch/special"); p.code != 200 || !strings.Contains(p.body, `id="special-cases"`) || !strings.Contains(p.body, "胃癌") {
		t.Errorf("register page: %d", p.code)
	}
	// Enrolment and steps are audited against the patient.
	var n int
	if err := e.st.QueryRowForTest(context.Background(), `SELECT COUNT(*) FROM audit_events WHERE action IN ('povertywatch.special_enrol', 'povertywatch.special_update') AND resident_id = `+itoa(rid), &n); err != nil || n != 4 {
		t.Errorf("audit rows: %d %v, want 2 enrolments and 2 steps", n, err)
	}
	for _, role := range []care.Role{care.RoleCountySpecialist, care.RoleTownshipDoctor, care.RoleAnalyst} {
		if r := e.as(role).get("/api/v1/poverty-watch/special"); r.code != 403 {
			t.Errorf("%s: %d", role, r.code)
		}
	}
}
