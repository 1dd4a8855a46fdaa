package points

// Boundary tests added for mutation testing (issue 18 §6). They pin the
// rules of rules.json (seed 001, 积分制) and the package's stated limits:
// one point per 10,000 steps, at most 3 a day; values must not be
// negative, steps_per_point and redeem_max must be positive; a
// zero-valued rule earns nothing; the balance is the exact sum of the rows.

import (
	"strings"
	"testing"

	"countycare/care"
)

// TestStepsCap pins ForSteps: one point per StepsPerPoint (10,000), at most
// StepsDailyCap (3) for a day.
func TestStepsCap(t *testing.T) {
	r := DefaultRules()
	for steps, want := range map[int]int64{19999: 1, 20000: 2, 30000: 3, 39999: 3, 40000: 3} {
		if got := r.ForSteps(steps); got != want {
			t.Errorf("ForSteps(%d) = %d, want %d", steps, got, want)
		}
	}
	r.StepsDailyCap = 0 // a county may switch step points off
	if r.ForSteps(50000) != 0 {
		t.Error("a zero daily cap still gives step points")
	}
}

// TestRuleValues pins rules.json (checkup 10, follow-up 5, home visit 2,
// education 3, rehab 2, reading 1) and ParseRules' bounds: zero is allowed
// for a rule (it disables it), a negative value is not; steps_per_point and
// redeem_max must be at least 1.
func TestRuleValues(t *testing.T) {
	r := DefaultRules()
	for rule, want := range map[Rule]int64{Checkup: 10, FollowUp: 5, HomeVisit: 2, Education: 3, Rehab: 2, Reading: 1, Steps: 0, Redeem: 0, "bogus": 0} {
		if got := r.For(rule); got != want {
			t.Errorf("For(%s) = %d, want %d", rule, got, want)
		}
	}
	if r.RedeemMax != 1000 || r.StepsPerPoint != 10000 || r.StepsDailyCap != 3 {
		t.Errorf("defaults %+v", r)
	}
	for _, ok := range []string{`{"checkup": 0, "follow_up": 0, "home_visit": 0, "education": 0, "rehab": 0, "reading": 0, "steps_daily_cap": 0}`,
		`{"steps_per_point": 1, "redeem_max": 1}`} {
		if _, err := ParseRules(strings.NewReader(ok)); err != nil {
			t.Errorf("%s refused: %v", ok, err)
		}
	}
	for _, field := range []string{"checkup", "follow_up", "home_visit", "education", "rehab", "reading", "steps_daily_cap"} {
		if _, err := ParseRules(strings.NewReader(`{"` + field + `": -1}`)); err == nil {
			t.Errorf("%s = -1 accepted", field)
		}
	}
	for _, bad := range []string{`{"redeem_max": 0}`, `{"steps_per_point": -1}`} {
		if _, err := ParseRules(strings.NewReader(bad)); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
}

// TestZeroRuleEarnsNothing pins Service.Entry: "nil when the rule is worth
// nothing"; otherwise the entry carries the rule's points.
func TestZeroRuleEarnsNothing(t *testing.T) {
	s := &Service{Rules: DefaultRules()}
	s.Rules.Education = 0
	if e := s.Entry("411723", 1, Education, "family_service:1", dayForTest, 9); e != nil {
		t.Errorf("a zero-valued rule earned %+v", e)
	}
	e := s.Entry("411723", 1, Checkup, "family_service:2", dayForTest, 9)
	if e == nil || e.Points != 10 || e.Rule != Checkup || e.EventRef != "family_service:2" || e.ResidentID != 1 {
		t.Errorf("checkup entry %+v", e)
	}
	s.Rules.Rehab = 1 // the smallest award
	if e := s.Entry("411723", 1, Rehab, "family_service:3", dayForTest, 9); e == nil || e.Points != 1 {
		t.Errorf("one-point rule entry %+v", e)
	}
}

// TestBalanceIsTheSum pins Balance: the exact sum of the rows, redemptions
// counting negative.
func TestBalanceIsTheSum(t *testing.T) {
	if b := Balance([]Entry{{Points: 10}, {Points: 5}, {Points: -12}, {Points: 3}}); b != 6 {
		t.Errorf("balance %d, want 6", b)
	}
	if Balance(nil) != 0 {
		t.Error("empty ledger")
	}
}

var dayForTest = care.Date{Year: 2026, Month: 11, Day: 29}
