package family

import (
	"testing"
	"time"

	"countycare/care"
)

func d(s string) care.Date {
	x, err := care.ParseDate(s)
	if err != nil {
		panic(err)
	}
	return x
}

// TestMinimumTerm: a contract runs at least one year (policy-rules.md §2:
// "period ≥ 1 year"), the last day inclusive.
func TestMinimumTerm(t *testing.T) {
	now := time.Date(2026, 3, 1, 4, 0, 0, 0, time.UTC)
	consent := Consent{By: ConsentSelf, Method: ConsentPaper, At: now.Add(-time.Hour)}
	cases := []struct {
		start, end string
		field      string
	}{
		{"2026-03-01", "2027-02-28", ""},
		{"2026-03-01", "2027-02-27", "end"}, // one day short of a year
		{"2024-02-29", "2025-02-27", "start"},
		{"2026-03-01", "2031-03-02", "end"}, // more than 5 years
	}
	for _, c := range cases {
		tm := Terms{TeamID: 1, PackageID: 1, Start: d(c.start), End: d(c.end), Consent: consent}
		fs := CheckTerms(&tm, now)
		got := ""
		if len(fs) > 0 {
			got = fs[0].Field
		}
		if got != c.field {
			t.Errorf("%s..%s: got %v, want field %q", c.start, c.end, fs, c.field)
		}
	}
	if MinEnd(d("2028-02-29")) != d("2029-02-27") {
		t.Errorf("MinEnd of 29 February: %s", MinEnd(d("2028-02-29")))
	}
}

// TestConsentRequired: no consent, no contract (policy-rules.md §2); a
// guardian names themself, a verbal consent names its witness.
func TestConsentRequired(t *testing.T) {
	now := time.Date(2026, 3, 1, 4, 0, 0, 0, time.UTC)
	base := Terms{TeamID: 1, PackageID: 1, Start: d("2026-03-01"), End: d("2027-02-28")}
	cases := []struct {
		c     Consent
		field string
	}{
		{Consent{}, "consent_by"},
		{Consent{By: ConsentSelf, Method: ConsentPaper}, "consent_at"},
		{Consent{By: ConsentGuardian, Method: ConsentPaper, At: now}, "consent_name"},
		{Consent{By: ConsentSelf, Method: ConsentVerbal, At: now}, "consent_witness"},
		{Consent{By: ConsentSelf, Method: ConsentPaper, At: now.Add(time.Hour)}, "consent_at"},
		{Consent{By: ConsentHouseholdHead, Name: "张三", Method: ConsentPhone, At: now}, ""},
	}
	for _, c := range cases {
		tm := base
		tm.Consent = c.c
		fs := CheckTerms(&tm, now)
		got := ""
		if len(fs) > 0 {
			got = fs[0].Field
		}
		if got != c.field {
			t.Errorf("%+v: got %v, want %q", c.c, fs, c.field)
		}
	}
}

func TestContractYearAndCovers(t *testing.T) {
	c := Contract{Start: d("2025-06-01"), End: d("2027-05-31")}
	if f, to := c.ContractYear(d("2026-07-01")); f != d("2026-06-01") || to != d("2027-05-31") {
		t.Errorf("second year %s..%s", f, to)
	}
	if f, to := c.ContractYear(d("2025-06-01")); f != d("2025-06-01") || to != d("2026-05-31") {
		t.Errorf("first year %s..%s", f, to)
	}
	c.EndedOn = d("2026-01-10")
	if !c.Covers(d("2026-01-09")) || c.Covers(d("2026-01-10")) || c.LastDay() != d("2026-01-09") {
		t.Errorf("ended early: covers %v %v last %s", c.Covers(d("2026-01-09")), c.Covers(d("2026-01-10")), c.LastDay())
	}
}

// TestIndicatorsFixture checks the four indicators (policy-rules.md §2:
// 签约覆盖率 = contracted / residents; 重点人群签约覆盖率 = de-duplicated
// contracted key members / key population; 续签率; 履约率 = delivered /
// due, capped per line) on a fixture computed by hand.
func TestIndicatorsFixture(t *testing.T) {
	basic := Dues{{FollowUp, 4}, {Checkup, 1}}
	from, to := d("2026-01-01"), d("2026-12-31")
	pops := []Population{{VillageID: 1, Residents: 10, Key: 4}, {VillageID: 2, Residents: 5, Key: 1}}
	cs := []ContractFact{
		// Village 1, resident 100 (key): expired on 2026-05-31 and renewed from 2026-06-01.
		{Contract: Contract{ID: 1, ResidentID: 100, Services: basic, Start: d("2025-06-01"), End: d("2026-05-31"), Status: StatusRenewed}, VillageID: 1, Key: true},
		{Contract: Contract{ID: 2, ResidentID: 100, Services: basic, Start: d("2026-06-01"), End: d("2027-05-31"), Status: StatusActive}, VillageID: 1, Key: true,
			// 5 follow-ups (capped at 4; one on the same day twice counts once), no check-up, 1 home visit (not promised).
			Done: []Done{{FollowUp, d("2026-06-10")}, {FollowUp, d("2026-06-10")}, {FollowUp, d("2026-08-01")}, {FollowUp, d("2026-09-01")},
				{FollowUp, d("2026-10-01")}, {FollowUp, d("2026-11-01")}, {HomeVisit, d("2026-07-01")}, {FollowUp, d("2026-05-01")}}},
		// Resident 101 (not key): in force, 1 check-up.
		{Contract: Contract{ID: 3, ResidentID: 101, Services: basic, Start: d("2026-02-01"), End: d("2027-01-31"), Status: StatusActive}, VillageID: 1,
			Done: []Done{{Checkup, d("2026-03-01")}}},
		// Resident 102 (key): expired 2026-03-31, not renewed.
		{Contract: Contract{ID: 4, ResidentID: 102, Services: basic, Start: d("2025-04-01"), End: d("2026-03-31"), Status: StatusActive}, VillageID: 1, Key: true},
		// Resident 103: switched team mid-term (not in the renewal counts); the new contract is in force.
		{Contract: Contract{ID: 5, ResidentID: 103, Services: basic, Start: d("2026-01-01"), End: d("2026-12-31"), Status: StatusSwitched, EndedOn: d("2026-07-01")}, VillageID: 1},
		{Contract: Contract{ID: 6, ResidentID: 103, Services: Dues{{HomeVisit, 2}}, Start: d("2026-07-01"), End: d("2027-06-30"), Status: StatusActive}, VillageID: 1,
			Done: []Done{{HomeVisit, d("2026-08-01")}}},
		// Village 2, resident 200 (key): ended (moved away) in November.
		{Contract: Contract{ID: 7, ResidentID: 200, Services: basic, Start: d("2026-01-01"), End: d("2026-12-31"), Status: StatusEnded, EndedOn: d("2026-11-15")}, VillageID: 2, Key: true},
	}
	got := Compute(pops, cs, from, to)
	// Village 1 on 2026-12-31: contracted 100, 101, 103 → 3/10; key 100 of {100, 102, …} → 1/4.
	// Renewal: contracts with End in 2026 that ran to the end: 1 (renewed), 4 (expired) → 1/2.
	// Fulfilment: contract 2 → follow-ups min(5,4)=4 + check-up 0 of 1 → 4/5;
	// contract 3 → 0/4 + 1/1; contract 6 → 1/2. Total (4+1+1)/(5+5+2) = 6/12.
	want1 := Indicators{Coverage: Rate{3, 10}, KeyCoverage: Rate{1, 4}, Renewal: Rate{1, 2}, Fulfilment: Rate{6, 12}}
	// Village 2: contract 7 ended early → not contracted on the 31st, not in renewal, not in fulfilment.
	want2 := Indicators{Coverage: Rate{0, 5}, KeyCoverage: Rate{0, 1}}
	if got[1] != want1 {
		t.Errorf("village 1: got %+v, want %+v", got[1], want1)
	}
	if got[2] != want2 {
		t.Errorf("village 2: got %+v, want %+v", got[2], want2)
	}
	total := got[1].Add(got[2])
	if total.Coverage != (Rate{3, 15}) || total.Coverage.String() != "20.0%" || total.Fulfilment.String() != "50.0%" || (Rate{}).String() != "—" {
		t.Errorf("county total %+v %s", total, total.Coverage)
	}
	// The key-group rule: resident 100 has 5 services this contract year (4 distinct follow-up days + 1 home visit... 5 follow-ups counted uncapped).
	if n := ServicesIn(Fulfilment(&cs[1].Contract, cs[1].Done, to)); n != 6 {
		t.Errorf("services this year: %d, want 6 (5 follow-up days and a home visit)", n)
	}
}

func TestParseDues(t *testing.T) {
	ds, err := ParseDues("follow_up:4,checkup:1")
	if err != nil || ds.Total() != 5 || ds.String() != "follow_up:4,checkup:1" {
		t.Errorf("got %v %v", ds, err)
	}
	for _, bad := range []string{"x:1", "follow_up:0", "follow_up:1,follow_up:2", "checkup"} {
		if _, err := ParseDues(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
