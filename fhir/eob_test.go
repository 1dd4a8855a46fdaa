package fhir_test

import (
	"context"
	"encoding/json"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"countycare/audit"
	"countycare/care"
	"countycare/fhir"
	"countycare/settle"
)

// fen reads a Money value written by the server back into fen, exactly
// (it must have two decimals).
func fen(t *testing.T, m *fhir.Money) int64 {
	t.Helper()
	s := string(m.Value)
	neg := strings.HasPrefix(s, "-")
	y, c, ok := strings.Cut(strings.TrimPrefix(s, "-"), ".")
	yi, err1 := strconv.ParseInt(y, 10, 64)
	ci, err2 := strconv.ParseInt(c, 10, 64)
	if !ok || len(c) != 2 || err1 != nil || err2 != nil || m.Currency != "CNY" {
		t.Fatalf("money %+v: not yuan with two decimals in CNY", m)
	}
	if neg {
		return -(yi*100 + ci)
	}
	return yi*100 + ci
}

// TestCNY: fen to yuan is exact at the edges float rounding gets wrong.
func TestCNY(t *testing.T) {
	for f, want := range map[settle.Fen]string{0: "0.00", 1: "0.01", 10: "0.10", 29: "0.29", 123456: "1234.56", -5: "-0.05", -1999: "-19.99",
		900719925474099101: "9007199254740991.01"} {
		if got := fhir.CNY(f); string(got.Value) != want || got.Currency != "CNY" {
			t.Errorf("CNY(%d) = %+v, want %s", f, got, want)
		}
	}
}

// TestExplanationOfBenefit: a settlement is an ExplanationOfBenefit
// (docs/fhir.md "ExplanationOfBenefit"): the bill lines as items, the
// totals — billed, eligible, one per payer layer with what it paid, paid
// by insurance, left to the patient — as Money in
// CNY written from integer fen with two decimals — the layers add up to
// the insurance total and insurance plus patient to the bill, exactly —
// the year's basic medical insurance as a contained Coverage, the county's
// insurance office as insurer. The insurance officer reads and searches
// (county scope, audited as settle.read and resident.read); clinicians
// are refused, as on the settlement page.
func TestExplanationOfBenefit(t *testing.T) { testExplanationOfBenefit(t, newEnv(t)) }

func testExplanationOfBenefit(t *testing.T, e *env) {
	io := e.as(care.RoleInsuranceOfficer)
	var pats bundle
	io.get("/fhir/Patient?_count=100", nil, &pats)
	patient := ""
	var raw string
	var eobs []fhir.ExplanationOfBenefit
	for _, p := range pats.patients(t) {
		var b bundle
		code, _, body := io.get("/fhir/ExplanationOfBenefit?patient="+p.ID+"&_include=ExplanationOfBenefit:patient", nil, &b)
		if code != 200 {
			t.Fatalf("search: %d %s", code, body)
		}
		for _, en := range b.Entry {
			var x fhir.ExplanationOfBenefit
			json.Unmarshal(en.Resource, &x)
			if x.ResourceType == "ExplanationOfBenefit" {
				eobs = append(eobs, x)
			} else if !strings.HasSuffix(en.FullURL, "/Patient/"+p.ID) {
				t.Errorf("entry %s", en.FullURL)
			}
		}
		if len(eobs) > 0 {
			patient, raw = p.ID, body
			break
		}
	}
	if patient == "" {
		t.Fatal("no settled patient among the county's first 100")
	}
	// Every amount on the wire is a decimal with two places.
	for _, m := range regexp.MustCompile(`"value":([-0-9.eE+]+),"currency"`).FindAllStringSubmatch(raw, -1) {
		if !regexp.MustCompile(`^-?[0-9]+\.[0-9]{2}$`).MatchString(m[1]) {
			t.Errorf("amount %s is not yuan with two decimals", m[1])
		}
	}
	for _, x := range eobs {
		if x.Patient.Reference != "Patient/"+patient || x.Use != "claim" || x.Outcome != "complete" || (x.Status != "active" && x.Status != "cancelled") ||
			!strings.HasPrefix(x.Insurer.Reference, "Organization/") || !strings.HasPrefix(x.Provider.Reference, "Organization/") ||
			len(x.Contained) != 1 || x.Insurance[0].Coverage.Reference != "#coverage" || x.Contained[0].Beneficiary.Reference != x.Patient.Reference ||
			len(x.Item) == 0 || len(x.Total) < 5 || x.BillablePeriod == nil {
			t.Errorf("eob %+v", x)
			continue
		}
		var items, layers int64
		for _, it := range x.Item {
			items += fen(t, it.Net)
		}
		tot := map[string]int64{}
		for _, tt := range x.Total {
			c := tt.Category.Coding[0]
			tot[c.Code] = fen(t, &tt.Amount)
			if tt.Category.Text == "" {
				t.Errorf("eob %s total %+v has no name", x.ID, tt.Category)
			}
			if c.System == fhir.SystemPayerLayer && c.Code != "patient" {
				layers += tot[c.Code]
			}
		}
		if _, ok := tot[settle.LayerBasic]; !ok {
			t.Errorf("eob %s: no basic insurance layer among %v", x.ID, tot)
		}
		if items != tot["submitted"] || layers != tot["benefit"] || tot["benefit"]+tot["patient"] != tot["submitted"] || tot["eligible"] > tot["submitted"] {
			t.Errorf("eob %s: items %d, layers %d, totals %v: they must add up to the fen", x.ID, items, layers, tot)
		}
		var one fhir.ExplanationOfBenefit
		if code, _, body := io.get("/fhir/ExplanationOfBenefit/"+x.ID, nil, &one); code != 200 || one.ID != x.ID || len(one.Total) != len(x.Total) {
			t.Errorf("read %s: %d %.300s", x.ID, code, body)
		}
		// The claim: the same bill before adjudication.
		var c fhir.Claim
		if code, _, body := io.get("/fhir/"+x.Claim.Reference, nil, &c); code != 200 || c.ID != x.ID || c.Status != x.Status || len(c.Item) != len(x.Item) ||
			fen(t, c.Total) != tot["submitted"] || c.Priority.Coding[0].Code != "normal" || c.Insurance[0].Coverage.Reference != "#coverage" || len(c.Contained) != 1 {
			t.Errorf("claim %s: %d %.300s", x.Claim.Reference, code, body)
		}
	}
	var count bundle
	io.get("/fhir/ExplanationOfBenefit?patient="+patient+"&_summary=count", nil, &count)
	if count.Total == nil || *count.Total != len(eobs) {
		t.Errorf("_summary=count: %v, want %d", count.Total, len(eobs))
	}
	for _, typ := range []string{"ExplanationOfBenefit", "Claim"} {
		var byID bundle
		io.get("/fhir/"+typ+"?_id="+eobs[0].ID, nil, &byID)
		if len(byID.Entry) != 1 || !strings.HasSuffix(byID.Entry[0].FullURL, "/"+typ+"/"+eobs[0].ID) {
			t.Errorf("%s?_id=%s: %d entries", typ, eobs[0].ID, len(byID.Entry))
		}
		var none bundle
		io.get("/fhir/"+typ+"?_id=abc", nil, &none)
		if none.Total == nil || *none.Total != 0 {
			t.Errorf("%s?_id=abc: %v", typ, none.Total)
		}
	}
	var claims bundle
	io.get("/fhir/Claim?patient="+patient, nil, &claims)
	if len(claims.Entry) != len(eobs) {
		t.Errorf("Claim?patient: %d, want %d", len(claims.Entry), len(eobs))
	}
	var o outcome
	code, h, _ := io.get("/fhir/ExplanationOfBenefit?patient="+patient+"&status=draft", nil, &o)
	checkOutcome(t, "status=draft", code, 400, h.Get("Content-Type"), o, "invalid", "status")
	o = outcome{}
	code, h, _ = io.get("/fhir/ExplanationOfBenefit/999999999", nil, &o)
	checkOutcome(t, "missing", code, 404, h.Get("Content-Type"), o, "not-found", "")
	o = outcome{}
	code, h, _ = e.as(care.RoleVillageDoctor).get("/fhir/ExplanationOfBenefit/"+eobs[0].ID, nil, &o)
	checkOutcome(t, "village doctor", code, 403, h.Get("Content-Type"), o, "forbidden", "")
	time.Sleep(50 * time.Millisecond)
	if evs, _ := e.st.SearchAudit(context.Background(), audit.Filter{Action: settle.ActRead, Username: e.users[care.RoleInsuranceOfficer], Limit: 10}); len(evs) == 0 {
		t.Error("no settle.read audit row for the FHIR read")
	}
}
