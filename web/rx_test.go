package web_test

import (
	"encoding/json"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"countycare/care"
	"countycare/rx"
	"countycare/settle"
	"countycare/store"
)

var rxEngine = func() *rx.Engine {
	e, err := rx.NewEngine()
	if err != nil {
		panic(err)
	}
	return e
}()

func rxLine(code string, dose float64, unit, freq string, days int, qty float64) map[string]any {
	return map[string]any{"drug_code": code, "dose": dose, "dose_unit": unit, "frequency": freq, "route": "po", "days": days, "quantity": qty}
}

func rxRequest(lines ...map[string]any) map[string]any {
	return map[string]any{
		"hook": "order-sign", "hookInstance": "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea",
		"context": map[string]any{"userId": "Practitioner/1", "patientId": "Patient/1", "draftPrescription": map[string]any{
			"issued": care.Today(time.Now()).String(), "kind": "normal", "institution_level": "township",
			"diagnoses": []string{"I10", "E11.9"},
			"patient":   map[string]any{"age_months": 62 * 12, "weight_kg": 64},
			"lines":     lines,
		}},
	}
}

type cdsResponse struct {
	Cards []struct {
		Summary   string `json:"summary"`
		Indicator string `json:"indicator"`
		Source    struct {
			Label string `json:"label"`
		} `json:"source"`
		Extension struct {
			Rule  string `json:"rule"`
			Line  int    `json:"line"`
			Other int    `json:"other_line"`
		} `json:"extension"`
	} `json:"cards"`
	Extension struct {
		Outcome string `json:"outcome"`
	} `json:"extension"`
}

// TestCDSRxReview: the CDS Hooks order-sign service reviews a draft
// prescription for prescribers and pharmacists, answers cards with a
// severity indicator and the rule's source, refuses bad input with field
// errors, and is closed to other roles.
func TestCDSRxReview(t *testing.T) {
	e := newEnv(t, store.SQLite)
	td := e.as(care.RoleTownshipDoctor)

	disc := td.get("/api/v1/cds-services")
	if disc.code != 200 || !strings.Contains(disc.body, `"id":"rx-review"`) || !strings.Contains(disc.body, `"hook":"order-sign"`) {
		t.Fatalf("discovery: %d %s", disc.code, disc.body)
	}

	clean := td.postJSON("/api/v1/cds-services/rx-review", rxRequest(
		rxLine("amlodipine-5t", 5, "mg", "qd", 7, 7),
		rxLine("metformin-500t", 0.5, "g", "tid", 7, 21)))
	var out cdsResponse
	if clean.code != 200 || json.Unmarshal([]byte(clean.body), &out) != nil || out.Extension.Outcome != "pass" || len(out.Cards) != 0 {
		t.Fatalf("clean: %d %s", clean.code, clean.body)
	}

	flagged := td.postJSON("/api/v1/cds-services/rx-review", rxRequest(
		rxLine("warfarin-2.5t", 2.5, "mg", "qd", 7, 7),
		rxLine("ibuprofen-200t", 400, "mg", "tid", 7, 42),
		rxLine("amlodipine-5t", 5, "mg", "qd", 14, 14)))
	out = cdsResponse{}
	if flagged.code != 200 || json.Unmarshal([]byte(flagged.body), &out) != nil {
		t.Fatalf("flagged: %d %s", flagged.code, flagged.body)
	}
	if out.Extension.Outcome != "block" {
		t.Errorf("outcome %q, want block (14 days on a normal prescription)", out.Extension.Outcome)
	}
	var ddi, supply bool
	for _, c := range out.Cards {
		if c.Extension.Rule == rx.RuleInteraction && c.Extension.Line == 1 && c.Extension.Other == 2 && c.Indicator == "warning" &&
			strings.Contains(c.Summary, "华法林") && c.Source.Label != "" {
			ddi = true
		}
		if c.Extension.Rule == rx.RuleSupply && c.Indicator == "critical" && strings.Contains(c.Source.Label, "第十九条") {
			supply = true
		}
		if len([]rune(c.Summary)) > 140 {
			t.Errorf("summary over 140 characters: %q", c.Summary)
		}
	}
	if !ddi || !supply {
		t.Errorf("cards: interaction %v, supply %v: %s", ddi, supply, flagged.body)
	}

	// Bad input: clear field errors, nothing reviewed.
	bad := td.postJSON("/api/v1/cds-services/rx-review", rxRequest(
		rxLine("no-such-drug", 5, "mg", "qd", 7, 7),
		rxLine("amlodipine-5t", 5, "IU", "qd", 7, 7),
		rxLine("metformin-500t", 500, "mg", "tid", 7, 0),
		rxLine("atorvastatin-20t", 20, "mg", "qn", 7, -7)))
	if bad.code != 422 {
		t.Fatalf("bad input: %d %s", bad.code, bad.body)
	}
	for _, want := range []string{
		`"field":"context.draftPrescription.lines[0].drug_code","code":"rx.unknown_drug"`,
		`"field":"context.draftPrescription.lines[1].dose_unit","code":"rx.dose_unit"`,
		`"field":"context.draftPrescription.lines[2].quantity","code":"rx.quantity_positive"`,
		`"field":"context.draftPrescription.lines[3].quantity","code":"rx.quantity_positive"`,
		"不在药品目录中",
	} {
		if !strings.Contains(bad.body, want) {
			t.Errorf("bad input: missing %s in %s", want, bad.body)
		}
	}
	req := rxRequest(rxLine("amlodipine-5t", 5, "mg", "qd", 7, 7))
	req["hook"] = "patient-view"
	if r := td.postJSON("/api/v1/cds-services/rx-review", req); r.code != 422 || !strings.Contains(r.body, "rx.cds.hook") {
		t.Errorf("wrong hook: %d %s", r.code, r.body)
	}
	delete(req, "context")
	req["hook"] = "order-sign"
	if r := td.postJSON("/api/v1/cds-services/rx-review", req); r.code != 422 || !strings.Contains(r.body, "rx.cds.no_prescription") {
		t.Errorf("no prescription: %d %s", r.code, r.body)
	}

	// Pharmacists may call it; other roles may not.
	if r := e.as(care.RolePharmacist).postJSON("/api/v1/cds-services/rx-review", rxRequest(rxLine("amlodipine-5t", 5, "mg", "qd", 7, 7))); r.code != 200 {
		t.Errorf("pharmacist: %d", r.code)
	}
	for _, role := range []care.Role{care.RoleInsuranceOfficer, care.RoleAnalyst, care.RoleResident, care.RoleAdmin} {
		if r := e.as(role).postJSON("/api/v1/cds-services/rx-review", rxRequest(rxLine("amlodipine-5t", 5, "mg", "qd", 7, 7))); r.code != 403 {
			t.Errorf("%s: %d, want 403", role, r.code)
		}
	}
	if r := e.anon().postJSON("/api/v1/cds-services/rx-review", rxRequest()); r.code != 401 {
		t.Errorf("anonymous: %d, want 401", r.code)
	}
}

// TestPrescriptionQueue: a village doctor signs; a flagged prescription
// waits in the pharmacists' queue page and cannot be dispensed; the
// pharmacist approves it from the page; then it is dispensed once. A
// blocked prescription answers 422 with its findings.
func TestPrescriptionQueue(t *testing.T) {
	e := newEnv(t, store.SQLite)
	vd := e.as(care.RoleVillageDoctor)
	list := vd.get("/residents?group=elderly65")
	m := regexp.MustCompile(`href="/residents/(\d+)"`).FindStringSubmatch(list.body)
	if m == nil {
		t.Fatal("no elderly resident in the village")
	}
	body := map[string]any{"kind": "normal", "diagnoses": []string{"I10"}, "patient": map[string]any{"weight_kg": 60}, "lines": []any{
		rxLine("amlodipine-5t", 5, "mg", "qd", 7, 7),
		rxLine("enalapril-10t", 10, "mg", "qd", 7, 7),
		rxLine("losartan-50t", 50, "mg", "qd", 7, 7)}}
	r := vd.postJSON("/api/v1/residents/"+m[1]+"/prescriptions", body)
	var signed struct {
		ID      int64  `json:"id"`
		Status  string `json:"status"`
		Version int    `json:"version"`
	}
	if r.code != 201 || json.Unmarshal([]byte(r.body), &signed) != nil || signed.Status != "pending" {
		t.Fatalf("sign: %d %s", r.code, r.body)
	}
	id := itoa(signed.ID)
	if r := vd.postJSON("/api/v1/prescriptions/"+id+"/dispense", nil); r.code != 409 || !strings.Contains(r.body, "rx.not_reviewed") {
		t.Errorf("dispense unreviewed: %d %s", r.code, r.body)
	}
	ph := e.as(care.RolePharmacist)
	page := ph.get("/rx/queue")
	if page.code != 200 || !strings.Contains(page.body, `id="rx-`+id+`"`) || !strings.Contains(page.body, "审核通过") || !strings.Contains(page.body, "依那普利") {
		t.Fatalf("queue page: %d", page.code)
	}
	ph.csrf = regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(page.body)[1]
	if r := ph.postForm("/rx/"+id+"/decision", url.Values{"decision": {"approved"}, "version": {"1"}}, true); r.code != 303 {
		t.Fatalf("approve: %d %s", r.code, r.body)
	}
	// Dispensing takes stock and settles the bill (issue #7): stock the
	// clinic and file this year's policy first.
	io := e.as(care.RoleInsuranceOfficer)
	pol, _ := settle.ExampleFile("985-2026.json")
	io.do("POST", "/api/v1/settle/policies", "application/json", []byte(strings.ReplaceAll(string(pol), "2026", itoa(int64(time.Now().Year())))), map[string]string{"X-CSRF-Token": io.csrf})
	exp := care.Today(time.Now()).AddDays(100).String()
	for _, code := range []string{"amlodipine-5t", "enalapril-10t", "losartan-50t"} {
		if r := vd.postJSON("/api/v1/pharmacy/stock/movements", map[string]any{"kind": "receipt", "drug_code": code, "batch": "B1", "expiry": exp, "delta": 7}); r.code != 201 {
			t.Fatalf("stock %s: %d %s", code, r.code, r.body)
		}
	}
	if r := vd.postJSON("/api/v1/prescriptions/"+id+"/dispense", map[string]any{"mode": "pickup"}); r.code != 200 || !strings.Contains(r.body, `"status":"dispensed"`) {
		t.Errorf("dispense: %d %s", r.code, r.body)
	}
	if r := vd.postJSON("/api/v1/prescriptions/"+id+"/dispense", map[string]any{"mode": "pickup"}); r.code != 409 {
		t.Errorf("dispense twice: %d", r.code)
	}
	if r := e.as(care.RoleAnalyst).get("/api/v1/prescriptions/indicators"); r.code != 200 || !strings.Contains(r.body, `"decided":1`) || !strings.Contains(r.body, "median_review_seconds") {
		t.Errorf("indicators: %d %s", r.code, r.body)
	}
	if r := ph.get("/api/v1/prescriptions/indicators?from=2026-13-01"); r.code != 422 {
		t.Errorf("bad period: %d", r.code)
	}
	if r := e.as(care.RoleInsuranceOfficer).get("/rx/queue"); r.code != 403 {
		t.Errorf("queue as insurance officer: %d", r.code)
	}
	body["lines"] = []any{rxLine("amlodipine-5t", 5, "mg", "qd", 14, 14)}
	if r := vd.postJSON("/api/v1/residents/"+m[1]+"/prescriptions", body); r.code != 422 || !strings.Contains(r.body, "rx.blocked") || !strings.Contains(r.body, "7日用量") {
		t.Errorf("blocked: %d %s", r.code, r.body)
	}
}
