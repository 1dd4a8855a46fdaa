package family

// Boundary tests added for mutation testing (issue 18 §6). They pin the
// contract rules of policy-rules.md §2 (a term of at least one year, at
// most MaxContractYears; no consent, no contract), the package and team
// limits stated in family.go, and the indicator formulas of
// docs/family.md / indicators.go (rates rounded half up to 0.1 %).

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

func firstField(t *Terms, now time.Time) string {
	fs := CheckTerms(t, now)
	if len(fs) == 0 {
		return ""
	}
	return fs[0].Field
}

// TestTermWindows pins CheckTerms: the start at most a year back or ahead
// of today, the end at most MaxContractYears (5) after the start, consent
// given between a year ago and now, names of at most 40 characters.
func TestTermWindows(t *testing.T) {
	now := time.Date(2026, 3, 1, 4, 0, 0, 0, time.UTC)
	consent := Consent{By: ConsentSelf, Method: ConsentPaper, At: now}
	for _, tt := range []struct {
		name       string
		start, end string
		c          Consent
		want       string
	}{
		{"start a year back", "2025-03-01", "2026-02-28", consent, ""},
		{"start a year and a day back", "2025-02-28", "2026-02-27", consent, "start"},
		{"start a year ahead", "2027-03-01", "2028-02-29", consent, ""},
		{"start a year and a day ahead", "2027-03-02", "2028-03-01", consent, "start"},
		{"five years exactly", "2026-03-01", "2031-03-01", consent, ""},
		{"consent now", "2026-03-01", "2027-02-28", consent, ""},
		{"consent a second from now", "2026-03-01", "2027-02-28", Consent{By: ConsentSelf, Method: ConsentPaper, At: now.Add(time.Second)}, "consent_at"},
		{"consent a year ago", "2026-03-01", "2027-02-28", Consent{By: ConsentSelf, Method: ConsentPaper, At: now.AddDate(-1, 0, 0)}, ""},
		{"consent a year and a day ago", "2026-03-01", "2027-02-28", Consent{By: ConsentSelf, Method: ConsentPaper, At: now.AddDate(-1, 0, -1)}, "consent_at"},
		{"guardian named in 40 characters", "2026-03-01", "2027-02-28", Consent{By: ConsentGuardian, Name: strings.Repeat("名", 40), Method: ConsentPaper, At: now}, ""},
		{"guardian named in 41 characters", "2026-03-01", "2027-02-28", Consent{By: ConsentGuardian, Name: strings.Repeat("名", 41), Method: ConsentPaper, At: now}, "consent_name"},
		{"witness of 40 characters", "2026-03-01", "2027-02-28", Consent{By: ConsentSelf, Method: ConsentVerbal, Witness: strings.Repeat("证", 40), At: now}, ""},
		{"witness of 41 characters", "2026-03-01", "2027-02-28", Consent{By: ConsentSelf, Method: ConsentVerbal, Witness: strings.Repeat("证", 41), At: now}, "consent_name"},
		{"household head with name, verbal with witness", "2026-03-01", "2027-02-28", Consent{By: ConsentHouseholdHead, Name: "郭福", Method: ConsentVerbal, Witness: "李", At: now}, ""},
	} {
		tm := Terms{TeamID: 1, PackageID: 1, Start: d(tt.start), End: d(tt.end), Consent: tt.c}
		if got := firstField(&tm, now); got != tt.want {
			t.Errorf("%s: first fault %q, want %q (%v)", tt.name, got, tt.want, CheckTerms(&tm, now))
		}
	}
	tm := Terms{Start: d("2026-03-01"), End: d("2027-02-28"), Consent: consent}
	if got := firstField(&tm, now); got != "team_id" || len(CheckTerms(&tm, now)) != 2 {
		t.Errorf("no team, no package: %v", CheckTerms(&tm, now))
	}
}

// TestDuesLimits pins ParseDues: counts 1–52 (MaxPerYear, weekly at most),
// each kind once; an empty list is no services.
func TestDuesLimits(t *testing.T) {
	for s, ok := range map[string]bool{"follow_up:1": true, "follow_up:52": true, "follow_up:0": false, "follow_up:53": false,
		"follow_up:4,checkup:1": true, "follow_up:4,follow_up:1": false, "follow_up": false, "dance:1": false} {
		ds, err := ParseDues(s)
		if (err == nil) != ok {
			t.Errorf("ParseDues(%q): %v, want ok=%v", s, err, ok)
		}
		if ok && ds.String() != s {
			t.Errorf("ParseDues(%q).String() = %q", s, ds.String())
		}
	}
	if ds, err := ParseDues("  "); ds != nil || err != nil {
		t.Errorf("blank: %v %v", ds, err)
	}
	ds, _ := ParseDues("follow_up:4,checkup:1,home_visit:2")
	if ds.Total() != 7 || ds.Of(HomeVisit) != 2 || ds.Of(Rehab) != 0 {
		t.Errorf("total %d, home visits %d", ds.Total(), ds.Of(HomeVisit))
	}
}

// TestTeamLimits pins Team.Validate: a name of 1–60 characters, an owner,
// 2–30 (MaxTeamMembers) distinct members with valid roles, a leader among them.
func TestTeamLimits(t *testing.T) {
	members := func(n int) []Member {
		ms := make([]Member, n)
		for i := range ms {
			ms[i] = Member{PractitionerID: int64(i + 1), Role: MemberRoles[i%len(MemberRoles)]}
		}
		return ms
	}
	keys := func(tm Team) string {
		var ks []string
		for _, f := range tm.Validate() {
			ks = append(ks, f.Key)
		}
		return strings.Join(ks, ",")
	}
	for _, tt := range []struct {
		name string
		team Team
		want string
	}{
		{"two members", Team{Name: "一队", InstitutionID: 1, LeaderID: 1, Members: members(2)}, ""},
		{"one member", Team{Name: "一队", InstitutionID: 1, LeaderID: 1, Members: members(1)}, "family.team.size"},
		{"30 members", Team{Name: "一队", InstitutionID: 1, LeaderID: 1, Members: members(MaxTeamMembers)}, ""},
		{"31 members", Team{Name: "一队", InstitutionID: 1, LeaderID: 1, Members: members(MaxTeamMembers + 1)}, "family.team.size"},
		{"60-character name", Team{Name: strings.Repeat("队", 60), InstitutionID: 1, LeaderID: 2, Members: members(2)}, ""},
		{"61-character name", Team{Name: strings.Repeat("队", 61), InstitutionID: 1, LeaderID: 2, Members: members(2)}, "family.team.name"},
		{"no owner", Team{Name: "一队", LeaderID: 1, Members: members(2)}, "family.team.owner"},
		{"leader not a member", Team{Name: "一队", InstitutionID: 1, LeaderID: 9, Members: members(2)}, "family.team.leader"},
		{"member twice", Team{Name: "一队", InstitutionID: 1, LeaderID: 1, Members: append(members(2), Member{PractitionerID: 2, Role: MemberNurse})}, "family.team.member"},
		{"unknown role", Team{Name: "一队", InstitutionID: 1, LeaderID: 1, Members: []Member{{PractitionerID: 1, Role: MemberDoctor}, {PractitionerID: 2, Role: "cook"}}}, "family.team.member"},
	} {
		if got := keys(tt.team); got != tt.want {
			t.Errorf("%s: %q, want %q", tt.name, got, tt.want)
		}
	}
}

// TestContractDays pins Contract.Covers and LastDay: in force from Start
// to End inclusive, and not from EndedOn (the first day no longer covered).
func TestContractDays(t *testing.T) {
	c := Contract{Start: d("2026-03-01"), End: d("2027-02-28")}
	for day, want := range map[string]bool{"2026-02-28": false, "2026-03-01": true, "2027-02-28": true, "2027-03-01": false} {
		if c.Covers(d(day)) != want {
			t.Errorf("Covers(%s) = %v", day, !want)
		}
	}
	if c.LastDay() != d("2027-02-28") {
		t.Errorf("LastDay %s", c.LastDay())
	}
	c.EndedOn = d("2026-09-01")
	if !c.Covers(d("2026-08-31")) || c.Covers(d("2026-09-01")) || c.LastDay() != d("2026-08-31") {
		t.Errorf("ended on 2026-09-01: covers 08-31 %v, 09-01 %v, last day %s", c.Covers(d("2026-08-31")), c.Covers(d("2026-09-01")), c.LastDay())
	}
	c.EndedOn = d("2027-02-28") // ended on its last day: the day before is the last
	if c.LastDay() != d("2027-02-27") {
		t.Errorf("ended on End: last day %s", c.LastDay())
	}
	c.EndedOn = d("2027-03-01") // after End: End stays the last day
	if c.LastDay() != d("2027-02-28") {
		t.Errorf("ended after End: last day %s", c.LastDay())
	}
	// Contract years run from Start's anniversaries.
	long := Contract{Start: d("2026-03-01"), End: d("2028-02-29")}
	for day, want := range map[string][2]string{
		"2027-02-28": {"2026-03-01", "2027-02-28"},
		"2027-03-01": {"2027-03-01", "2028-02-29"},
	} {
		if f, to := long.ContractYear(d(day)); f != d(want[0]) || to != d(want[1]) {
			t.Errorf("ContractYear(%s) = %s..%s, want %s..%s", day, f, to, want[0], want[1])
		}
	}
}

// TestFulfilmentWindow pins Fulfilment: services of the contract year up
// to the day count, each (kind, day) once, capped at the line's due count
// (Line.Counted); unpromised kinds show with Due 0.
func TestFulfilmentWindow(t *testing.T) {
	c := Contract{Start: d("2026-03-01"), End: d("2027-02-28"), Services: Dues{{FollowUp, 2}, {Checkup, 1}}}
	done := []Done{
		{FollowUp, d("2026-02-28")}, // before the contract year
		{FollowUp, d("2026-03-01")}, // its first day
		{FollowUp, d("2026-03-01")}, // the same service twice
		{FollowUp, d("2026-06-01")},
		{FollowUp, d("2026-07-01")}, // a third: over the due count
		{Checkup, d("2026-07-02")},  // after the day asked about
		{Education, d("2026-05-01")},
	}
	lines := Fulfilment(&c, done, d("2026-07-01"))
	want := []Line{{FollowUp, 2, 3}, {Checkup, 1, 0}, {Education, 0, 1}}
	if len(lines) != len(want) {
		t.Fatalf("lines %+v", lines)
	}
	for i := range want {
		if lines[i] != want[i] {
			t.Errorf("line %d: %+v, want %+v", i, lines[i], want[i])
		}
	}
	if lines[0].Counted() != 2 || ServicesIn(lines) != 4 {
		t.Errorf("counted %d, services %d", lines[0].Counted(), ServicesIn(lines))
	}
	if r := FulfilmentRate([]ContractFact{{Contract: c, Done: done}}, d("2026-07-01")); r != (Rate{2, 3}) {
		t.Errorf("fulfilment %+v, want 2/3", r)
	}
}

// TestRateRounding pins Rate.PerMille and String: tenths of a percent,
// rounded half up; "—" without a denominator.
func TestRateRounding(t *testing.T) {
	for _, tt := range []struct {
		r    Rate
		pm   int
		show string
	}{
		{Rate{1, 3}, 333, "33.3%"}, {Rate{2, 3}, 667, "66.7%"}, {Rate{1, 2000}, 1, "0.1%"}, {Rate{1, 2001}, 0, "0.0%"},
		{Rate{3, 3}, 1000, "100.0%"}, {Rate{0, 5}, 0, "0.0%"}, {Rate{1, 0}, -1, "—"},
	} {
		if tt.r.PerMille() != tt.pm || tt.r.String() != tt.show {
			t.Errorf("%d/%d: %d ‰ %q, want %d %q", tt.r.Num, tt.r.Den, tt.r.PerMille(), tt.r.String(), tt.pm, tt.show)
		}
	}
	if (Rate{1, 2}).Add(Rate{3, 4}) != (Rate{4, 6}) {
		t.Error("Rate.Add")
	}
}

// TestRenewalWindow pins RenewalRate: contracts whose End falls in [from,
// to] inclusive and that ran to their end; switched or ended contracts
// count in neither part.
func TestRenewalWindow(t *testing.T) {
	mk := func(end, status string) ContractFact {
		return ContractFact{Contract: Contract{End: d(end), Status: status}}
	}
	cs := []ContractFact{
		mk("2026-01-01", StatusRenewed), // first day: counted, renewed
		mk("2026-12-31", StatusExpired), // last day: counted, not renewed
		mk("2026-06-30", StatusActive),  // still active at its end: not renewed
		mk("2025-12-31", StatusRenewed), // before the period
		mk("2027-01-01", StatusRenewed), // after it
		mk("2026-05-01", StatusSwitched),
		mk("2026-05-01", StatusEnded),
	}
	if r := RenewalRate(cs, d("2026-01-01"), d("2026-12-31")); r != (Rate{1, 3}) {
		t.Errorf("renewal %+v, want 1/3", r)
	}
	// Coverage counts a resident once however many contracts cover the day.
	a := ContractFact{Contract: Contract{ResidentID: 1, Start: d("2026-01-01"), End: d("2026-12-31")}, Key: true}
	b := a
	b.TeamID = 2
	other := ContractFact{Contract: Contract{ResidentID: 2, Start: d("2026-01-01"), End: d("2026-12-31")}}
	p := Population{Residents: 10, Key: 4}
	if got := SigningCoverage(p, []ContractFact{a, b, other}, d("2026-12-31")); got != (Rate{2, 10}) {
		t.Errorf("coverage %+v, want 2/10", got)
	}
	if got := KeyCoverage(p, []ContractFact{a, b, other}, d("2026-12-31")); got != (Rate{1, 4}) {
		t.Errorf("key coverage %+v, want 1/4", got)
	}
	if got := SigningCoverage(p, []ContractFact{a}, d("2027-01-01")); got != (Rate{0, 10}) {
		t.Errorf("coverage after the end %+v", got)
	}
}

// TestShortfallOrder pins SortShortfalls (the key-group shortfall list,
// seed 002 "重点人群每年至少 4 次服务"): fewest services first, then the
// contract year ending soonest, then the resident id; and Yuan's two
// decimals for package fees.
func TestShortfallOrder(t *testing.T) {
	s := []Shortfall{
		{ResidentID: 5, Services: 2, YearEnds: d("2027-01-31")},
		{ResidentID: 4, Services: 0, YearEnds: d("2027-06-30")},
		{ResidentID: 3, Services: 2, YearEnds: d("2026-12-31")},
		{ResidentID: 2, Services: 2, YearEnds: d("2026-12-31")},
		{ResidentID: 1, Services: 3, YearEnds: d("2026-01-31")},
	}
	SortShortfalls(s)
	var got []int64
	for _, x := range s {
		got = append(got, x.ResidentID)
	}
	if fmt.Sprint(got) != "[4 2 3 5 1]" {
		t.Errorf("order %v, want [4 2 3 5 1]", got)
	}
	for fen, want := range map[int64]string{12000: "120.00", 5: "0.05", 1234: "12.34", 0: "0.00"} {
		if got := Yuan(fen); got != want {
			t.Errorf("Yuan(%d) = %q, want %q", fen, got, want)
		}
	}
}
