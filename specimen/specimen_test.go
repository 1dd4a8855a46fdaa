package specimen

import (
	"testing"
	"time"

	"countycare/care"
)

func TestNext(t *testing.T) {
	for _, tc := range []struct {
		cur  Status
		step Step
		want Status
		code string
	}{
		{StatusOrdered, StepCollect, StatusCollected, ""},
		{StatusCollected, StepPack, StatusPacked, ""},
		{StatusPacked, StepHandOver, StatusInTransit, ""},
		{StatusInTransit, StepReceive, StatusReceived, ""},
		{StatusInTransit, StepReject, StatusRejected, ""}, // refused at the door
		{StatusReceived, StepReject, StatusRejected, ""},
		{StatusReceived, StepResult, StatusResulted, ""},
		{StatusOrdered, StepReceive, "", care.ECONFLICT},    // received before it left
		{StatusCollected, StepHandOver, "", care.ECONFLICT}, // handed over unpacked
		{StatusReceived, StepReceive, "", care.ECONFLICT},   // a second receipt
		{StatusResulted, StepReject, "", care.ECONFLICT},
		{StatusRejected, StepResult, "", care.ECONFLICT},
		{StatusOrdered, "teleport", "", care.EINVALID},
	} {
		got, err := Next(tc.cur, tc.step)
		if got != tc.want || care.ErrorCode(err) != tc.code && !(tc.code == "" && err == nil) {
			t.Errorf("Next(%s, %s): got %q, %v; want %q, %s", tc.cur, tc.step, got, err, tc.want, tc.code)
		}
	}
}

func TestBarcode(t *testing.T) {
	bc := BarcodeFor("410522", 42)
	if bc != "4105220000000042" {
		t.Fatalf("barcode %q", bc)
	}
	if c, id, err := ParseBarcode(" " + bc + "\r\n"); err != nil || c != "410522" || id != 42 {
		t.Errorf("parse: %s %d %v", c, id, err)
	}
	for _, bad := range []string{"", "410522000000004", "41052200000000421", "410522000000004x", "4105220000000000", BoxCodeFor(3)} {
		if _, _, err := ParseBarcode(bad); care.ErrorCode(err) != care.EINVALID {
			t.Errorf("ParseBarcode(%q): %v, want invalid", bad, err)
		}
	}
}

func TestConfig(t *testing.T) {
	c, err := ParseConfig([]byte(`{"stability": {"citrate": "3h"}, "overdue": {"in_transit": "8h"}, "temp_min_tenths": 0, "temp_max_tenths": 100}`))
	if err != nil {
		t.Fatal(err)
	}
	if time.Duration(c.Stability[TubeCitrate]) != 3*time.Hour || time.Duration(c.Stability[TubeEDTA]) != 24*time.Hour ||
		time.Duration(c.Overdue[StatusInTransit]) != 8*time.Hour || c.TempMaxTenths != 100 {
		t.Errorf("config %+v", c)
	}
	for _, bad := range []string{`{"stability": {"blood": "3h"}}`, `{"overdue": {"resulted": "1h"}}`, `{"overdue": {"packed": "-1h"}}`,
		`{"temp_min_tenths": 90, "temp_max_tenths": 20}`, `{"stability": {"edta": "soon"}}`} {
		if _, err := ParseConfig([]byte(bad)); err == nil {
			t.Errorf("%s: accepted", bad)
		}
	}
	// too_late only past the tube's stability (DefaultConfig: citrate 4 h).
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	sp := &Specimen{Tube: TubeCitrate, CollectedAt: now.Add(-3 * time.Hour)}
	d := DefaultConfig()
	if err := d.CheckRejection(sp, ReasonTooLate, now); care.ErrorCode(err) != care.EINVALID {
		t.Errorf("3 h citrate too late: %v", err)
	}
	sp.CollectedAt = now.Add(-5 * time.Hour)
	if err := d.CheckRejection(sp, ReasonTooLate, now); err != nil {
		t.Errorf("5 h citrate: %v", err)
	}
	if err := d.CheckRejection(sp, "dropped", now); care.ErrorCode(err) != care.EINVALID {
		t.Errorf("unknown reason: %v", err)
	}
	// Overdue: in transit 6 h from the hand-over scan.
	sp = &Specimen{Status: StatusInTransit, LastScanAt: now.Add(-6 * time.Hour)}
	if d.IsOverdue(sp, now) || !d.IsOverdue(sp, now.Add(time.Second)) {
		t.Errorf("overdue at 6 h")
	}
	sp.Status = StatusResulted
	if d.IsOverdue(sp, now.Add(time.Hour)) {
		t.Errorf("a resulted specimen is never overdue")
	}
}

func TestRates(t *testing.T) {
	base := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	var sps []Specimen
	for i := 1; i <= 10; i++ { // turnarounds 1 h … 10 h
		sps = append(sps, Specimen{ClinicID: 1, ClinicName: "甲", Status: StatusResulted, CollectedAt: base, ReceivedAt: base, ClosedAt: base.Add(time.Duration(i) * time.Hour)})
	}
	sps = append(sps, Specimen{ClinicID: 1, ClinicName: "甲", Status: StatusRejected, ReceivedAt: base, Alerts: 1},
		Specimen{ClinicID: 2, ClinicName: "乙", Status: StatusInTransit})
	rs := Rates(sps)
	if len(rs) != 2 || rs[1].ClinicID != 1 { // by name: 乙 (U+4E59) before 甲 (U+7532)
		t.Fatalf("rates %+v", rs)
	}
	a := rs[1]
	if a.Ordered != 11 || a.Received != 11 || a.Rejected != 1 || a.Resulted != 10 || a.Overdue != 1 ||
		a.TurnaroundMedian != 5*time.Hour || a.TurnaroundP90 != 9*time.Hour {
		t.Errorf("clinic 1: %+v", a)
	}
	if r, ok := a.RejectionRate(); !ok || r != 91 { // 1/11 = 90.9‰
		t.Errorf("rejection %d‰", r)
	}
	if _, ok := rs[0].RejectionRate(); ok {
		t.Errorf("clinic 2 received nothing: no rate")
	}
}
