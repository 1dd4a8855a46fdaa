package outreach

import (
	"slices"
	"testing"
	"time"

	"countycare/care"
)

func date(s string) care.Date {
	d, err := care.ParseDate(s)
	if err != nil {
		panic(err)
	}
	return d
}

func TestMakeSlots(t *testing.T) {
	tests := []struct {
		start, end string
		minutes    int
		want       []string
	}{
		{"08:00", "09:00", 30, []string{"08:00", "08:30"}},
		{"08:30", "11:30", 30, []string{"08:30", "09:00", "09:30", "10:00", "10:30", "11:00"}},
		{"08:00", "08:50", 30, []string{"08:00"}}, // the last slot must fit
		{"09:00", "08:00", 30, nil},
		{"08:00", "08:20", 30, nil},
		{"8:00", "09:00", 30, nil},
		{"08:00", "24:00", 30, nil},
		{"08:00", "09:00", 4, nil},
		{"00:00", "23:55", 5, nil}, // more than MaxSlots
	}
	for _, tt := range tests {
		got, ok := MakeSlots(tt.start, tt.end, tt.minutes)
		if !slices.Equal(got, tt.want) || ok != (tt.want != nil) {
			t.Errorf("MakeSlots(%s, %s, %d) = %v, %v; want %v", tt.start, tt.end, tt.minutes, got, ok, tt.want)
		}
	}
}

func TestSiteCovers(t *testing.T) {
	mask, _ := WeekdayMask([]int{1, 3}) // Monday, Wednesday
	p := PracticeSite{Weekdays: mask, Dates: []care.Date{date("2026-12-12")}, ValidFrom: date("2026-12-01"), ValidTo: date("2026-12-31")}
	for d, want := range map[string]bool{
		"2026-12-07": true,  // Monday
		"2026-12-08": false, // Tuesday
		"2026-12-09": true,  // Wednesday
		"2026-12-12": true,  // a listed Saturday
		"2026-11-30": false, // a Monday before the validity
		"2027-01-04": false, // a Monday after it
	} {
		if got := p.Covers(date(d)); got != want {
			t.Errorf("Covers(%s) = %v, want %v", d, got, want)
		}
	}
	p.Revoked = true
	if p.Covers(date("2026-12-07")) {
		t.Error("a revoked site covers a day")
	}
	if _, ok := WeekdayMask([]int{7}); ok {
		t.Error("weekday 7 accepted")
	}
	if got := WeekdaysOf(mask); !slices.Equal(got, []int{1, 3}) {
		t.Errorf("WeekdaysOf = %v", got)
	}
}

func TestSlotStartIsShanghaiTime(t *testing.T) {
	s := Session{Date: date("2026-12-08"), Slots: []string{"08:30", "09:00"}, SlotMinutes: 30, Capacity: 3}
	got, ok := s.SlotStart("08:30")
	if !ok || !got.Equal(time.Date(2026, 12, 8, 0, 30, 0, 0, time.UTC)) {
		t.Errorf("SlotStart = %v, %v", got, ok)
	}
	if _, ok := s.SlotStart("10:00"); ok {
		t.Error("a slot the session does not have")
	}
	if s.Places() != 6 || s.SlotEnd() != "09:30" {
		t.Errorf("places %d, end %s", s.Places(), s.SlotEnd())
	}
}

func TestDefaultConfigChecks(t *testing.T) {
	if err := DefaultConfig().Check(); err != nil {
		t.Fatal(err)
	}
	c := DefaultConfig()
	c.CancelCutoffHours = -1
	if c.Check() == nil {
		t.Error("a negative cut-off passes")
	}
}
