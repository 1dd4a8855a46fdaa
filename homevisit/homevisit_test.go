package homevisit

import (
	"testing"
)

// TestVitalsCheck: a vital sign outside the plausible range (the chronic
// follow-up form's limits) or a blood pressure with one half, or a
// diastolic not below the systolic, is refused with the field named.
func TestVitalsCheck(t *testing.T) {
	for _, tc := range []struct {
		name string
		v    Vitals
		want string // the first field refused; "" for none
	}{
		{"none taken", Vitals{}, ""},
		{"plausible", Vitals{SBP: 150, DBP: 90, Pulse: 80, TempDC: 368, GlucoseDmmol: 72}, ""},
		{"systolic 300", Vitals{SBP: 300, DBP: 90}, "sbp"},
		{"pulse 10", Vitals{Pulse: 10}, "pulse"},
		{"temperature 45 °C", Vitals{TempDC: 450}, "temp"},
		{"glucose 50", Vitals{GlucoseDmmol: 500}, "glucose"},
		{"half a pressure", Vitals{SBP: 130}, "dbp"},
		{"diastolic above systolic", Vitals{SBP: 90, DBP: 120}, "dbp"},
	} {
		fs := tc.v.Check()
		got := ""
		if len(fs) > 0 {
			got = fs[0].Field
		}
		if got != tc.want {
			t.Errorf("%s: got %q, want %q", tc.name, got, tc.want)
		}
	}
}

// TestStatusOpen: only a requested or scheduled visit may still be
// scheduled or cancelled.
func TestStatusOpen(t *testing.T) {
	for s, want := range map[Status]bool{Requested: true, Scheduled: true, Done: false, Cancelled: false} {
		if s.Open() != want {
			t.Errorf("%s: got %t, want %t", s, s.Open(), want)
		}
	}
}
