package huts

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"countycare/chronic"
)

// TestUrgentIsTheFollowUpsRule: a reading is urgent by chronic's own
// urgent-transfer rules (高血压/2 型糖尿病患者健康管理服务规范 二、服务内容
// (二)1): SBP ≥ 180 and/or DBP ≥ 110, glucose ≥ 16.7 or ≤ 3.9 mmol/L for
// everyone; heart rate > 100 only for a resident in the diabetes registry.
func TestUrgentIsTheFollowUpsRule(t *testing.T) {
	c := chronic.DefaultConfig()
	diabetic := []chronic.Registration{{Disease: chronic.Diabetes, Status: chronic.StatusActive}}
	for _, x := range []struct {
		r    Reading
		regs []chronic.Registration
		want []string
	}{
		{Reading{SBP: 179, DBP: 109}, nil, nil},
		{Reading{SBP: 180, DBP: 90}, nil, []string{"chronic.urgent.bp"}},
		{Reading{SBP: 150, DBP: 110}, nil, []string{"chronic.urgent.bp"}},
		{Reading{Glucose: 167}, nil, []string{"chronic.urgent.glucose"}},
		{Reading{Glucose: 39, Fasting: true}, nil, []string{"chronic.urgent.glucose"}},
		{Reading{Glucose: 40}, nil, nil},
		{Reading{SBP: 130, DBP: 80, Pulse: 110}, nil, nil},
		{Reading{SBP: 130, DBP: 80, Pulse: 110}, diabetic, []string{"chronic.urgent.heart_rate"}},
		{Reading{SBP: 190, DBP: 115, Pulse: 101}, diabetic, []string{"chronic.urgent.bp", "chronic.urgent.heart_rate"}},
	} {
		got := Urgent(&x.r, x.regs, c)
		if !slices.Equal(got, x.want) {
			t.Errorf("%+v: got %v, want %v", x.r, got, x.want)
		}
	}
}

// TestCheck: what a device's kind measures is required and nothing else;
// chronic's plausible ranges (chronic.CheckVisit); a plausible BMI; the
// device's clock within the configured tolerance.
func TestCheck(t *testing.T) {
	s := &Service{Config: DefaultConfig()}
	now := time.Date(2026, 12, 7, 4, 0, 0, 0, time.UTC)
	for _, x := range []struct {
		kind Kind
		in   Input
		want string // "" or field:key of the first fault
	}{
		{KindBP, Input{IDNumber: "x", SBP: 130, DBP: 80, Pulse: 70, MeasuredAt: now.Add(-time.Hour)}, ""},
		{KindBP, Input{IDNumber: "x", SBP: 130, MeasuredAt: now}, "dbp:field.required"},
		{KindBP, Input{IDNumber: "x", SBP: 400, DBP: 80, MeasuredAt: now}, "sbp:chronic.value.range"},
		{KindBP, Input{IDNumber: "x", SBP: 130, DBP: 80, Pulse: 300, MeasuredAt: now}, "pulse:chronic.value.range"},
		{KindBP, Input{IDNumber: "x", SBP: 130, DBP: 80, MeasuredAt: now.Add(6 * time.Minute)}, "measured_at:huts.clock_ahead"},
		{KindBP, Input{IDNumber: "x", SBP: 130, DBP: 80, MeasuredAt: now.Add(4 * time.Minute)}, ""},
		{KindBP, Input{IDNumber: "x", SBP: 130, DBP: 80, MeasuredAt: now.Add(-8 * 24 * time.Hour)}, "measured_at:huts.too_old"},
		{KindBP, Input{SBP: 130, DBP: 80, MeasuredAt: now}, "resident:huts.resident_one"},
		{KindBP, Input{IDNumber: "x", QR: "y", SBP: 130, DBP: 80, MeasuredAt: now}, "resident:huts.resident_one"},
		{KindGlucose, Input{IDNumber: "x", Glucose: 61, MeasuredAt: now}, "glucose_for:huts.glucose_for"},
		{KindGlucose, Input{IDNumber: "x", Glucose: 5, GlucoseFor: "fasting", MeasuredAt: now}, "glucose:chronic.value.range"},
		{KindGlucose, Input{IDNumber: "x", Glucose: 61, GlucoseFor: "random", SBP: 120, MeasuredAt: now}, "sbp:huts.not_measured"},
		{KindScale, Input{IDNumber: "x", WeightDg: 150, HeightCm: 170, MeasuredAt: now}, "weight:huts.bmi_impossible"},
		{KindScale, Input{IDNumber: "x", WeightDg: 650, HeightCm: 300, MeasuredAt: now}, "height:chronic.value.range"},
		{KindScale, Input{IDNumber: "x", WeightDg: 650, HeightCm: 170, MeasuredAt: now}, ""},
	} {
		r := &Reading{Kind: x.kind, MeasuredAt: x.in.MeasuredAt, SBP: x.in.SBP, DBP: x.in.DBP, Pulse: x.in.Pulse, Glucose: x.in.Glucose,
			WeightDg: x.in.WeightDg, HeightCm: x.in.HeightCm}
		fs := s.Check(r, x.in, now)
		got := ""
		if len(fs) > 0 {
			got = fs[0].Field + ":" + fs[0].Key
		}
		if got != x.want {
			t.Errorf("%s %+v: got %q (%v), want %q", x.kind, x.in, got, fs, x.want)
		}
	}
}

// TestQR: a token names its resident until it expires; a token signed
// with another key, or altered, is refused.
func TestQR(t *testing.T) {
	now := time.Now()
	s := &Service{Key: KeyFrom([]byte("k1")), Config: DefaultConfig()}
	tok := s.QR(42, now)
	if id, err := s.ParseQR(tok, now.Add(9*time.Minute)); err != nil || id != 42 {
		t.Fatalf("fresh token: %d %v", id, err)
	}
	if _, err := s.ParseQR(tok, now.Add(11*time.Minute)); err == nil || fmt.Sprint(err) == "" {
		t.Error("an expired token was accepted")
	}
	other := &Service{Key: KeyFrom([]byte("k2")), Config: DefaultConfig()}
	if _, err := other.ParseQR(tok, now); err == nil {
		t.Error("a token of another key was accepted")
	}
	bad := []byte(tok)
	bad[5] ^= 1
	if _, err := s.ParseQR(string(bad), now); err == nil {
		t.Error("an altered token was accepted")
	}
}

// TestPrefill: the follow-up form takes the newest BP, fasting glucose and
// weight of the last days, not a random glucose nor an old reading.
func TestPrefill(t *testing.T) {
	now := time.Now()
	rs := []Reading{ // newest first
		{SBP: 150, DBP: 92, Pulse: 80, MeasuredAt: now.Add(-time.Hour)},
		{Glucose: 95, MeasuredAt: now.Add(-2 * time.Hour)},
		{Glucose: 72, Fasting: true, MeasuredAt: now.Add(-3 * time.Hour)},
		{SBP: 120, DBP: 70, MeasuredAt: now.Add(-4 * time.Hour)},
		{WeightDg: 700, HeightCm: 168, MeasuredAt: now.Add(-30 * 24 * time.Hour)},
	}
	v, from := Prefill(rs, now, 7*24*time.Hour)
	if v.SBP != 150 || v.DBP != 92 || v.HeartRate != 80 || v.FPG != 72 || v.WeightDg != 0 || len(from) != 2 {
		t.Errorf("prefill %+v from %d readings", v, len(from))
	}
}
