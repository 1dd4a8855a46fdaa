package settle

// Tests of settle.Service (service.go) with the in-memory repository of
// service_fakes_test.go (issue 18 §6: the service layer was tested only
// from store and web, which gremlins does not run). Each test names the
// rule it pins: a section of docs/settlement.md, docs/architecture.md
// ("Access", "Audit trail") or the method's own documented contract.
//
// Amounts come from settle/policies/example-2026.json (policy-rules.md §5
// examples): an outpatient visit at a county hospital has an annual
// deductible of 100.00 yuan and a 50 % ratio, so a first 300.00 bill pays
// (300 − 100) × 50 % = 100.00 and a second one 150.00.

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"testing"

	"countycare/audit"
	"countycare/care"
)

var bg = context.Background()

// outpatient is a 300.00 yuan outpatient bill of resident 100 at the
// county hospital (institution 3).
func outpatient(visit, date string) Input {
	return Input{ResidentID: 100, InstitutionID: 3, VisitID: visit, Date: date, VisitType: Outpatient, Insured: true, Lines: bill("300")}
}

func mustSettle(t *testing.T, s *Service, a care.Actor, in Input, key string) *Settlement {
	t.Helper()
	st, replay, err := s.Settle(bg, a, in, key, 0)
	if err != nil || replay {
		t.Fatalf("settle %s: replay=%v %v", in.VisitID, replay, err)
	}
	return st
}

// TestUploadPolicyVersions pins docs/settlement.md "Policy files": a file
// is validated (every fault listed), belongs to the uploader's county, and
// nothing is overwritten — each upload is the next version for its year;
// the upload is audited with the data.
func TestUploadPolicyVersions(t *testing.T) {
	s, repo, _ := newSettleService()
	body, _ := ExampleFile("example-2026.json")
	sp, err := s.UploadPolicy(bg, officerA, body)
	if err != nil || sp.Version != 1 || sp.Year != 2026 || sp.County != countyA || sp.CreatedBy != 7 || sp.ID == 0 ||
		sp.From.String() != "2026-01-01" || sp.To.String() != "2026-12-31" || sp.Name == "" || sp.Policy == nil || string(sp.Body) != string(body) {
		t.Fatalf("first upload: %+v %v", sp, err)
	}
	if ev := repo.events.of(ActPolicySave); len(ev) != 1 || ev[0].Detail != "policy 411723 2026 v1" || ev[0].AccountID != 7 || ev[0].ResidentID != 0 {
		t.Errorf("upload audit %+v", repo.events.events)
	}
	if sp, err := s.UploadPolicy(bg, officerA, body); err != nil || sp.Version != 2 {
		t.Fatalf("second upload of 2026: %+v %v, want version 2", sp, err)
	}
	next := strings.NewReplacer(`"year": 2026`, `"year": 2027`, `"2026-01-01"`, `"2027-01-01"`, `"2026-12-31"`, `"2027-12-31"`).Replace(string(body))
	if sp, err := s.UploadPolicy(bg, officerA, []byte(next)); err != nil || sp.Version != 1 || sp.Year != 2027 {
		t.Fatalf("first upload of 2027: %+v %v, want version 1", sp, err)
	}
	if sp, err := s.UploadPolicy(bg, officerA, body); err != nil || sp.Version != 3 {
		t.Fatalf("third upload of 2026 after one of 2027: %+v %v, want version 3", sp, err)
	}
	if ps, _ := s.Policies(bg, officerA); len(ps) != 4 || ps[0].Year != 2027 || ps[1].Version != 3 {
		t.Errorf("county A's policies: %d, newest %+v", len(ps), ps)
	}
	if ps, _ := s.Policies(bg, officerB); len(ps) != 0 {
		t.Errorf("county B sees %d of county A's policies", len(ps))
	}

	_, err = s.UploadPolicy(bg, officerB, body)
	if ceCode(err) != care.EINVALID || !slices.Equal(fieldKeys(err), []string{"policy:settle.policy_other_county"}) {
		t.Errorf("another county's policy: %v %v", err, fieldKeys(err))
	}
	if len(repo.policies) != 4 {
		t.Errorf("a refused upload was stored: %d policies", len(repo.policies))
	}

	// Every fault of the file is named, joined, without the Go prefix.
	two := strings.Replace(strings.Replace(string(body), `"county": "411723"`, `"county": "4117"`, 1), `"effective_to": "2026-12-31"`, `"effective_to": "2025-12-31"`, 1)
	_, err = s.UploadPolicy(bg, officerA, []byte(two))
	ce, _ := err.(*care.Error)
	if ce == nil || ce.Code != care.EINVALID || ce.Key != "settle.policy_invalid" || len(ce.Fields) != 1 || ce.Fields[0].Field != "policy" {
		t.Fatalf("faulty policy: %v", err)
	}
	msg, _ := ce.Args[0].(string)
	if strings.HasPrefix(msg, "policy: ") || !strings.Contains(msg, "county must be a 6-digit code") || !strings.Contains(msg, "; ") || ce.Fields[0].Args[0] != msg {
		t.Errorf("faults %q", msg)
	}
	// A file that is not JSON at all says so.
	_, err = s.UploadPolicy(bg, officerA, []byte("{"))
	if ce, _ := err.(*care.Error); ce == nil || ce.Key != "settle.policy_invalid" || !strings.HasPrefix(ce.Args[0].(string), "policy: ") {
		t.Errorf("not JSON: %v", err)
	}
}

// TestClipLongFaults pins clip (service.go): a policy's faults are shown
// up to 500 characters, longer lists end with an ellipsis.
func TestClipLongFaults(t *testing.T) {
	if s := strings.Repeat("错", 500); clip(s, 500) != s {
		t.Error("500 characters were clipped")
	}
	if got := clip(strings.Repeat("错", 501), 500); got != strings.Repeat("错", 500)+"…" {
		t.Errorf("501 characters: %d runes", len([]rune(got)))
	}
}

// TestPreviewClaim pins Service.claim and Preview (docs/settlement.md "The
// layers, in order": the level comes from the institution — out of the
// county is the county's own institutions elsewhere or any city,
// province or national hospital; the poverty category from the resident's
// record): a preview writes nothing, is audited, and uses the
// year-to-date totals.
func TestPreviewClaim(t *testing.T) {
	s, repo, log := newSettleService()
	withExamplePolicy(repo)
	for inst, level := range map[int64]string{3: County, 10: Township, 11: Village, 31: OutOfCounty, 20: OutOfCounty, 21: OutOfCounty, 22: OutOfCounty} {
		in := outpatient("V1", "2026-03-01")
		in.InstitutionID = inst
		_, c, err := s.Preview(bg, officerA, in)
		if err != nil || c.Level != level {
			t.Errorf("institution %d: %+v %v, want level %s", inst, c, err, level)
		}
	}
	in := outpatient(" V1 ", "2026-03-01")
	in.ResidentID, in.Referred, in.DRG = 101, true, "GB19"
	res, c, err := s.Preview(bg, officerA, in)
	if err != nil || c.VisitID != "V1" || c.Poverty != "extreme" || !c.Referred || !c.Insured || c.Date != "2026-03-01" || c.VisitType != Outpatient || len(c.Lines) != 1 {
		t.Fatalf("claim %+v %v", c, err)
	}
	if res.Paid(LayerBasic) != yuan("100") || res.Patient != yuan("200") {
		t.Errorf("preview: basic %s patient %s, want 100.00 and 200.00", res.Paid(LayerBasic), res.Patient)
	}
	if len(repo.sts) != 0 || len(repo.events.events) != 0 {
		t.Errorf("a preview wrote %d settlements, %d rows", len(repo.sts), len(repo.events.events))
	}
	ev := log.of(ActPreview)
	if n := len(ev); n != 8 || ev[7].ResidentID != 101 || ev[7].CountyCode != countyA || ev[7].Detail != "visit V1" || ev[7].AccountID != 7 {
		t.Errorf("preview audit: %d rows, last %+v", n, ev[n-1])
	}
	// The year-to-date totals: the deductible is spent by a settled visit.
	mustSettle(t, s, officerA, outpatient("V1", "2026-03-01"), "k1")
	if res, _, err := s.Preview(bg, officerA, outpatient("V2", "2026-04-01")); err != nil || res.Paid(LayerBasic) != yuan("150") {
		t.Errorf("second visit's preview: %v %v, want 150.00 (deductible used)", res, err)
	}
}

// TestClaimFieldRules pins the field rules of Service.claim and
// policyFor: a visit number of 1–40 characters without markup or spaces,
// a DRG of at most 20 bytes, a known institution with a level, a date with
// a policy in force; every fault is named in one answer; a resident out of
// the actor's scope is not found (docs/architecture.md "Access").
func TestClaimFieldRules(t *testing.T) {
	s, repo, _ := newSettleService()
	withExamplePolicy(repo)
	for _, tt := range []struct {
		name string
		mod  func(*Input)
		want []string
	}{
		{"40 characters", func(in *Input) { in.VisitID = strings.Repeat("号", 40) }, nil},
		{"41 characters", func(in *Input) { in.VisitID = strings.Repeat("号", 41) }, []string{"visit_id:settle.visit_id_invalid"}},
		{"empty", func(in *Input) { in.VisitID = "  " }, []string{"visit_id:settle.visit_id_invalid"}},
		{"<", func(in *Input) { in.VisitID = "V<1" }, []string{"visit_id:settle.visit_id_invalid"}},
		{">", func(in *Input) { in.VisitID = "V>1" }, []string{"visit_id:settle.visit_id_invalid"}},
		{"quote", func(in *Input) { in.VisitID = `V"1` }, []string{"visit_id:settle.visit_id_invalid"}},
		{"apostrophe", func(in *Input) { in.VisitID = "V'1" }, []string{"visit_id:settle.visit_id_invalid"}},
		{"space", func(in *Input) { in.VisitID = "V 1" }, []string{"visit_id:settle.visit_id_invalid"}},
		{"20-byte DRG", func(in *Input) { in.DRG = strings.Repeat("D", 20) }, nil},
		{"21-byte DRG", func(in *Input) { in.DRG = strings.Repeat("D", 21) }, []string{"drg:field.too_long"}},
		{"insurance office", func(in *Input) { in.InstitutionID = 5 }, []string{"institution_id:settle.institution_invalid"}},
		{"no such institution", func(in *Input) { in.InstitutionID = 999 }, []string{"institution_id:settle.institution_invalid"}},
		{"all three", func(in *Input) { in.VisitID, in.DRG, in.InstitutionID = "", strings.Repeat("D", 21), 999 },
			[]string{"visit_id:settle.visit_id_invalid", "drg:field.too_long", "institution_id:settle.institution_invalid"}},
		{"no such day", func(in *Input) { in.Date = "2026-02-30" }, []string{"date:settle.date_invalid"}},
		{"no policy in force", func(in *Input) { in.Date = "2025-06-01" }, []string{"date:settle.no_policy"}},
	} {
		in := outpatient("V1", "2026-03-01")
		tt.mod(&in)
		_, _, err := s.Preview(bg, officerA, in)
		if got := fieldKeys(err); !slices.Equal(got, tt.want) || (tt.want == nil) != (err == nil) {
			t.Errorf("%s: %v %v, want %v", tt.name, got, err, tt.want)
		}
	}
	in := outpatient("V1", "2026-03-01")
	in.DRG = strings.Repeat("D", 21)
	if _, _, err := s.Preview(bg, officerA, in); err.(*care.Error).Fields[0].Args[0] != 20 {
		t.Errorf("the DRG limit is not named: %v", err)
	}
	in.DRG, in.Date = "", "2025-06-01"
	if _, _, err := s.Preview(bg, officerA, in); err.(*care.Error).Fields[0].Args[0] != "2025-06-01" {
		t.Errorf("the day without a policy is not named: %v", err)
	}
	// A fault the engine finds names its field too (claimError).
	in = outpatient("V1", "2026-03-01")
	in.VisitType = "dental"
	_, _, err := s.Preview(bg, officerA, in)
	if ce, ok := err.(*care.Error); !ok || ce.Code != care.EINVALID || ce.Key != "settle.visit_type_invalid" || len(ce.Fields) != 1 || ce.Fields[0].Field != "visit_type" {
		t.Errorf("engine fault: %#v", err)
	}
	for _, a := range []care.Actor{officerB, villageA} {
		in := outpatient("V1", "2026-03-01")
		if a == villageA {
			in.ResidentID = 300
		}
		if _, _, err := s.Preview(bg, a, in); ceCode(err) != care.ENOTFOUND {
			t.Errorf("%s previewing a resident out of scope: %v", a.Username, err)
		}
	}
}

// TestSettleOnce pins docs/settlement.md "Bookkeeping": the idempotency
// key (1–100 bytes, required) replays the first settlement and pays
// nothing more; the same key with another bill, or a second live
// settlement of a visit under another key, is refused; the settlement is
// audited with the data and comes back explained.
func TestSettleOnce(t *testing.T) {
	s, repo, _ := newSettleService()
	sp := withExamplePolicy(repo)
	for _, key := range []string{"", "   ", strings.Repeat("k", 101)} {
		if _, _, err := s.Settle(bg, officerA, outpatient("V1", "2026-03-01"), key, 0); !slices.Equal(fieldKeys(err), []string{"idempotency_key:settle.key_required"}) {
			t.Errorf("key %q: %v", key, err)
		}
	}
	p, err := s.Prepare(bg, officerA, Input{ResidentID: 100, InstitutionID: 3, VisitID: " V1 ", Date: "2026-03-01", VisitType: Outpatient, Insured: true, DRG: " GB19 ", Lines: bill("300")}, " "+strings.Repeat("k", 100)+" ")
	if err != nil {
		t.Fatalf("prepare with a 100-byte key: %v", err)
	}
	ps := p.Settlement
	if ps.County != countyA || ps.ResidentID != 100 || ps.InstitutionID != 3 || ps.VisitID != "V1" || ps.Key != strings.Repeat("k", 100) || ps.PolicyID != sp.ID ||
		ps.Year != 2026 || ps.DRG != "GB19" || ps.Status != StatusSettled || ps.CreatedBy != 7 || ps.ClaimHash != ClaimHash(&ps.Claim) || ps.Claim.Level != County {
		t.Errorf("pending %+v", ps)
	}
	if p.Event.Action != ActSettle || p.Event.ResidentID != 100 || p.Event.CountyCode != countyA || len(repo.sts) != 0 {
		t.Errorf("prepare: event %+v, %d stored", p.Event, len(repo.sts))
	}
	if res, err := p.Compute(Accumulators{}); err != nil || res.Paid(LayerBasic) != yuan("100") || p.Event.Detail != "visit V1 total 300.00 insurers 100.00 patient 200.00" {
		t.Errorf("compute: %v %v, detail %q", res, err, p.Event.Detail)
	}
	empty := outpatient("V1", "2026-03-01")
	empty.Lines = nil
	if _, err := s.Prepare(bg, officerA, empty, "k"); !slices.Equal(fieldKeys(err), []string{"lines:settle.no_lines"}) {
		t.Errorf("no lines: %v", err)
	}
	if _, err := s.Prepare(bg, officerA, outpatient("V1", "2025-03-01"), "k"); !slices.Equal(fieldKeys(err), []string{"date:settle.no_policy"}) {
		t.Errorf("no policy: %v", err)
	}
	if _, err := s.Prepare(bg, officerB, outpatient("V1", "2026-03-01"), "k"); ceCode(err) != care.ENOTFOUND {
		t.Errorf("out of scope: %v", err)
	}

	st, replay, err := s.Settle(bg, officerA, outpatient("V1", "2026-03-01"), "k1", 0)
	if err != nil || replay || st.ID == 0 || !st.Explained || st.Result.Paid(LayerBasic) != yuan("100") || st.Result.Patient != yuan("200") || len(st.Result.Layers[0].Steps) == 0 {
		t.Fatalf("settle: %+v replay=%v %v", st, replay, err)
	}
	if ev := repo.events.of(ActSettle); len(ev) != 1 || ev[0].Detail != "visit V1 total 300.00 insurers 100.00 patient 200.00" || ev[0].ResidentID != 100 {
		t.Errorf("settle audit %+v", repo.events.events)
	}
	again, replay, err := s.Settle(bg, officerA, outpatient("V1", "2026-03-01"), " k1 ", 0)
	if err != nil || !replay || again.ID != st.ID || !again.Explained || len(again.Result.Layers[0].Steps) == 0 || again.Result.Patient != st.Result.Patient {
		t.Errorf("retry: %+v replay=%v %v", again, replay, err)
	}
	if len(repo.sts) != 1 || len(repo.events.of(ActSettle)) != 1 {
		t.Errorf("a retry paid again: %d settlements", len(repo.sts))
	}
	other := outpatient("V1", "2026-03-01")
	other.Lines = bill("310")
	if _, _, err := s.Settle(bg, officerA, other, "k1", 0); ceCode(err) != care.ECONFLICT || errKey(err) != "settle.key_reused" {
		t.Errorf("same key, another bill: %v", err)
	}
	if _, _, err := s.Settle(bg, officerA, outpatient("V1", "2026-03-01"), "k2", 0); ceCode(err) != care.ECONFLICT || errKey(err) != "settle.visit_settled" {
		t.Errorf("the visit again under another key: %v", err)
	}
}

// TestSettleCorrection pins the correction of docs/settlement.md
// "Bookkeeping" (issue 18 §3): replace names a settlement of the same
// resident and visit — anything else is refused on the field replace; the
// corrected bill takes the old one's place in date order and the later
// bills of the year are settled again, each change with an adjustment.
func TestSettleCorrection(t *testing.T) {
	s, repo, _ := newSettleService()
	withExamplePolicy(repo)
	v1 := mustSettle(t, s, officerA, outpatient("V1", "2026-03-01"), "k1")
	v2 := mustSettle(t, s, officerA, outpatient("V2", "2026-04-01"), "k2")
	w := outpatient("W1", "2026-03-05")
	w.ResidentID = 101
	w1 := mustSettle(t, s, officerA, w, "k3")
	if v2.Result.Paid(LayerBasic) != yuan("150") {
		t.Fatalf("second visit: basic %s, want 150.00", v2.Result.Paid(LayerBasic))
	}
	for name, tt := range map[string]struct {
		in      Input
		replace int64
	}{
		"no such settlement":        {outpatient("V1", "2026-03-01"), 999},
		"another resident's":        {outpatient("W1", "2026-03-05"), w1.ID},
		"another visit of the same": {outpatient("V2", "2026-04-01"), v1.ID},
	} {
		if _, _, err := s.Settle(bg, officerA, tt.in, "c-"+name, tt.replace); !slices.Equal(fieldKeys(err), []string{"replace:settle.replace_other_visit"}) {
			t.Errorf("%s: %v", name, err)
		}
	}
	fixed := outpatient("V1", "2026-03-01")
	fixed.Lines = bill("50")
	st, replay, err := s.Settle(bg, officerA, fixed, "k1-fixed", v1.ID)
	if err != nil || replay || st.ID == v1.ID || st.Result.Paid(LayerBasic) != 0 || st.Result.Patient != yuan("50") {
		t.Fatalf("correction: %+v %v", st, err)
	}
	old, _ := repo.Settlement(bg, v1.ID)
	if old.Status != StatusReversed || old.ReplacedBy != st.ID {
		t.Errorf("corrected settlement: %s replaced by %d", old.Status, old.ReplacedBy)
	}
	// V2 now meets the 50.00 of the deductible left: (300 − 50) × 50 %.
	got, err := s.Get(bg, officerA, v2.ID)
	if err != nil || got.Result.Paid(LayerBasic) != yuan("125") || len(got.Adjustments) != 1 {
		t.Fatalf("later visit after the correction: %+v %v", got, err)
	}
	if a := got.Adjustments[0]; a.Cause != CauseCorrection || a.CauseID != v1.ID || a.Before[LayerBasic] != yuan("150") || a.After[LayerBasic] != yuan("125") {
		t.Errorf("adjustment %+v", a)
	}
	if ev := repo.events.of(ActSettle); !strings.HasSuffix(ev[len(ev)-1].Detail, "; 1 later visit(s) of the year settled again") {
		t.Errorf("correction audit %q", ev[len(ev)-1].Detail)
	}
	if w, _ := s.Get(bg, officerA, w1.ID); len(w.Adjustments) != 0 {
		t.Errorf("another resident's year was adjusted: %+v", w.Adjustments)
	}
}

// TestReverseRules pins Service.Reverse (docs/settlement.md
// "Bookkeeping": a reversal withdraws the settlement and settles again the
// bills after it): a reason of 2–200 characters, the settlement in the
// actor's scope (not found otherwise, like a missing one), audited with
// the visit and the reason; a settlement is reversed once.
func TestReverseRules(t *testing.T) {
	s, repo, _ := newSettleService()
	withExamplePolicy(repo)
	v1 := mustSettle(t, s, officerA, outpatient("V1", "2026-03-01"), "k1")
	v2 := mustSettle(t, s, officerA, outpatient("V2", "2026-04-01"), "k2")
	v3 := mustSettle(t, s, officerA, outpatient("V3", "2026-05-01"), "k3")
	for _, reason := range []string{"", "  ", "错", " 错 ", strings.Repeat("错", 201)} {
		if _, err := s.Reverse(bg, officerA, v1.ID, reason); !slices.Equal(fieldKeys(err), []string{"reason:settle.reason_required"}) {
			t.Errorf("reason %q: %v", reason, err)
		}
	}
	if _, err := s.Reverse(bg, officerB, v1.ID, "错账"); ceCode(err) != care.ENOTFOUND || errKey(err) != "settle.not_found" {
		t.Errorf("another county's officer: %v", err)
	}
	if _, err := s.Reverse(bg, officerA, 999, "错账"); ceCode(err) != care.ENOTFOUND || errKey(err) != "settle.not_found" {
		t.Errorf("no such settlement: %v", err)
	}
	if len(repo.events.of(ActReverse)) != 0 {
		t.Fatal("a refused reversal was written")
	}
	st, err := s.Reverse(bg, officerA, v1.ID, " 错账 ")
	if err != nil || st.Status != StatusReversed || st.ID != v1.ID || st.ReversedBy != 7 || st.ReversalReason != "错账" {
		t.Fatalf("reverse: %+v %v", st, err)
	}
	ev := repo.events.of(ActReverse)
	if len(ev) != 1 || ev[0].Detail != "visit V1: 错账; 1 later visit(s) of the year settled again" || ev[0].ResidentID != 100 || ev[0].CountyCode != countyA {
		t.Errorf("reversal audit %+v", ev)
	}
	// V2 pays what a first visit pays; V3 what a second one pays.
	g2, _ := s.Get(bg, officerA, v2.ID)
	g3, _ := s.Get(bg, officerA, v3.ID)
	if g2.Result.Paid(LayerBasic) != yuan("100") || g3.Result.Paid(LayerBasic) != yuan("150") || len(g2.Adjustments) != 1 || g2.Adjustments[0].Cause != CauseReversal || len(g3.Adjustments) != 0 {
		t.Errorf("after the reversal: V2 %s %+v, V3 %s %+v", g2.Result.Paid(LayerBasic), g2.Adjustments, g3.Result.Paid(LayerBasic), g3.Adjustments)
	}
	if _, err := s.Reverse(bg, officerA, v1.ID, "错账"); ceCode(err) != care.ECONFLICT {
		t.Errorf("reversed twice: %v", err)
	}
	if _, err := s.Reverse(bg, officerA, v3.ID, strings.Repeat("错", 200)); err != nil {
		t.Errorf("a 200-character reason: %v", err)
	}
}

// TestGetIsScopedAndAudited pins Service.Get and ForResident
// (docs/architecture.md "Access": a record out of scope is not found,
// exactly like one that does not exist; "Audit trail": each read is
// audited): the settlement comes back with its adjustments and its
// explanation derived again.
func TestGetIsScopedAndAudited(t *testing.T) {
	s, repo, log := newSettleService()
	withExamplePolicy(repo)
	v1 := mustSettle(t, s, officerA, outpatient("V1", "2026-03-01"), "k1")
	v2 := mustSettle(t, s, officerA, outpatient("V2", "2026-04-01"), "k2")
	w := outpatient("W1", "2026-03-05")
	w.ResidentID = 101
	w1 := mustSettle(t, s, officerA, w, "k3")

	st, err := s.Get(bg, officerA, v1.ID)
	if err != nil || st.ID != v1.ID || !st.Explained || len(st.Result.Layers[0].Steps) == 0 || st.Adjustments != nil {
		t.Fatalf("get: %+v %v", st, err)
	}
	reads := log.of(ActRead)
	if len(reads) != 1 || reads[0].ResidentID != 100 || reads[0].CountyCode != countyA || reads[0].Detail != "settlement "+itoa(v1.ID) || reads[0].AccountID != 7 {
		t.Errorf("read audit %+v", reads)
	}
	if st, err := s.Get(bg, resident0, v2.ID); err != nil || st.ID != v2.ID {
		t.Errorf("a resident reading their own settlement: %v", err)
	}
	for name, tt := range map[string]struct {
		a  care.Actor
		id int64
	}{
		"no such settlement":       {officerA, 999},
		"another county's officer": {officerB, v1.ID},
		"another resident":         {resident0, w1.ID},
	} {
		before := len(log.of(ActRead))
		if _, err := s.Get(bg, tt.a, tt.id); ceCode(err) != care.ENOTFOUND || errKey(err) != "settle.not_found" {
			t.Errorf("%s: %v", name, err)
		}
		if len(log.of(ActRead)) != before {
			t.Errorf("%s: a refused read was audited as a read", name)
		}
	}
	denied := 0
	for _, e := range log.of(audit.ActResidentRead) {
		if e.Outcome == audit.OutcomeDenied {
			denied++
		}
	}
	if denied != 2 {
		t.Errorf("%d denied resident reads, want 2 (the other county, the other resident)", denied)
	}

	list, err := s.ForResident(bg, resident0, 100)
	if err != nil || len(list) != 2 || list[0].ID != v2.ID || list[1].ID != v1.ID || !list[0].Explained || !list[1].Explained {
		t.Errorf("own list: %d %v", len(list), err)
	}
	if _, err := s.ForResident(bg, resident0, 101); ceCode(err) != care.ENOTFOUND {
		t.Errorf("another resident's list: %v", err)
	}
	if _, err := s.ForResident(bg, officerB, 100); ceCode(err) != care.ENOTFOUND {
		t.Errorf("another county's list: %v", err)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// TestExplainKeepsStoredAmounts pins Service.Explain (docs/settlement.md
// "Bookkeeping", Explanations: derived again from the stored bill, the
// accumulators before it and the policy version; if the amounts no longer
// reproduce, the stored ones stand and the settlement is marked
// unexplained) and Service.policy (versions never change, so each is read
// once).
func TestExplainKeepsStoredAmounts(t *testing.T) {
	s, repo, _ := newSettleService()
	sp := withExamplePolicy(repo)
	v1 := mustSettle(t, s, officerA, outpatient("V1", "2026-03-01"), "k1")
	stored, _ := repo.Settlement(bg, v1.ID)
	if stored.Explained || len(stored.Result.Layers[0].Steps) != 0 {
		t.Fatal("stored with its explanation")
	}
	ok := clone(stored)
	if err := s.Explain(bg, ok); err != nil || !ok.Explained || !slices.EqualFunc(ok.Result.Layers, v1.Result.Layers, func(a, b LayerResult) bool { return len(a.Steps) == len(b.Steps) && len(a.Steps) > 0 }) {
		t.Errorf("explain: %v %+v", err, ok.Result.Layers)
	}
	moved := -1
	for i, l := range stored.Result.Layers {
		if l.Paid > 0 && i+1 < len(stored.Result.Layers) {
			moved = i
		}
	}
	if moved < 0 {
		t.Fatalf("no layer paid: %+v", stored.Result.Layers)
	}
	for name, tamper := range map[string]func(*Settlement){
		"patient's share":               func(st *Settlement) { st.Result.Patient++ },
		"a layer fewer":                 func(st *Settlement) { st.Result.Layers = st.Result.Layers[:len(st.Result.Layers)-1] },
		"a fen between layers":          func(st *Settlement) { st.Result.Layers[moved].Paid--; st.Result.Layers[moved+1].Paid++ },
		"layers in other order":         func(st *Settlement) { st.Result.Layers[0].Layer = "other" },
		"a bill that no longer settles": func(st *Settlement) { st.Claim.VisitType = "dental" },
	} {
		st := clone(stored)
		tamper(st)
		patient := st.Result.Patient
		if err := s.Explain(bg, st); err != nil || st.Explained || st.Result.Patient != patient || len(st.Result.Layers[0].Steps) != 0 {
			t.Errorf("%s: explained=%v %v", name, st.Explained, err)
		}
	}
	if repo.policyReads != 1 {
		t.Errorf("policy %d read %d times, want once", sp.ID, repo.policyReads)
	}
	lost := clone(stored)
	lost.PolicyID = 999
	if err := s.Explain(bg, lost); ceCode(err) != care.ENOTFOUND || lost.Explained {
		t.Errorf("a settlement under a policy that is gone: %v", err)
	}
}
