package points

import (
	"strings"
	"testing"

	"countycare/care"
)

func TestRules(t *testing.T) {
	r := DefaultRules()
	if r.For(Checkup) != 10 || r.For(FollowUp) != 5 || r.For(Education) != 3 || r.For(Reading) != 1 || r.For(Redeem) != 0 {
		t.Errorf("defaults %+v", r)
	}
	for steps, want := range map[int]int64{0: 0, 9999: 0, 10000: 1, 29999: 2, 100000: 3} {
		if got := r.ForSteps(steps); got != want {
			t.Errorf("ForSteps(%d) = %d, want %d", steps, got, want)
		}
	}
	c, err := ParseRules(strings.NewReader(`{"checkup": 20}`))
	if err != nil || c.Checkup != 20 || c.FollowUp != 5 {
		t.Errorf("override: %+v %v", c, err)
	}
	for _, bad := range []string{`{"checkup": -1}`, `{"steps_per_point": 0}`, `{"unknown": 1}`, `[`} {
		if _, err := ParseRules(strings.NewReader(bad)); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
}

func TestCheckReport(t *testing.T) {
	today := care.Date{Year: 2026, Month: 11, Day: 29}
	cases := []struct {
		rule  Rule
		steps int
		on    care.Date
		ok    bool
	}{
		{Steps, 0, today, true},
		{Steps, MaxSteps, today.AddDays(-ReportDays), true},
		{Steps, MaxSteps + 1, today, false},
		{Steps, -5, today, false},
		{Steps, 100, today.AddDays(1), false},
		{Reading, 0, today.AddDays(-ReportDays - 1), false},
		{Checkup, 0, today, false},
	}
	for _, c := range cases {
		if got := len(CheckReport(c.rule, c.steps, c.on, today)) == 0; got != c.ok {
			t.Errorf("%s %d %s: ok %v, want %v", c.rule, c.steps, c.on, got, c.ok)
		}
	}
}
