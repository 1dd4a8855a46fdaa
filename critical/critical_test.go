package critical

import (
	"testing"
	"time"
)

func TestReadBackOK(t *testing.T) {
	cases := []struct {
		value, note string
		ok          bool
	}{
		{"6.8 mmol/L", "血钾 6.8 已知晓", true},
		{"6.8 mmol/L", "收到", false},
		{"6.8 mmol/L", "血钾 6.9", false},
		{"40 mg/dL", "血糖40，已通知", true},
		{"2.22 mmol/L", "2.22", true},
		{"", "已知晓", true},              // an ECG finding without a number
		{"", "好", false},               // too short to be a read-back
		{"6.0 min", "减速 6.0 分钟", true}, // "6.0", not "6"
	}
	for _, c := range cases {
		if got := ReadBackOK(c.value, c.note); got != c.ok {
			t.Errorf("ReadBackOK(%q, %q) = %v, want %v", c.value, c.note, got, c.ok)
		}
	}
}

func TestAckTimesNearestRank(t *testing.T) {
	raised := time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC)
	var als []Alert
	for i := 1; i <= 10; i++ { // acknowledged after 1 … 10 minutes
		als = append(als, Alert{RaisedAt: raised, AckAt: raised.Add(time.Duration(i) * time.Minute)})
	}
	als = append(als, Alert{RaisedAt: raised, Level: LevelTownship}) // open, escalated
	ind := AckTimes(als)
	if ind.Raised != 11 || ind.Acknowledged != 10 || ind.Open != 1 || ind.Escalated != 1 ||
		ind.Median != 5*time.Minute || ind.P90 != 9*time.Minute {
		t.Errorf("got %+v; want median 5 min, p90 9 min (nearest rank of 10)", ind)
	}
	if got := AckTimes(nil); got.Median != 0 || got.Raised != 0 {
		t.Errorf("empty: %+v", got)
	}
}

func TestConfigValidate(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Error(err)
	}
	if err := (Config{EscalateAfter: [2]time.Duration{30 * time.Minute, 15 * time.Minute}}).Validate(); err == nil {
		t.Error("decreasing schedule accepted")
	}
	c := DefaultConfig()
	raised := time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC)
	if c.nextDue(raised, LevelClinic) != raised.Add(15*time.Minute) || c.nextDue(raised, LevelTownship) != raised.Add(30*time.Minute) || !c.nextDue(raised, LevelCounty).IsZero() {
		t.Error("schedule")
	}
}

// TestAckTimesCountsTextMessages: the indicator adds up the alerts' text
// messages and counts the alerts none of whose messages arrived.
func TestAckTimesCountsTextMessages(t *testing.T) {
	als := []Alert{
		{SMS: Delivery{Messages: 3, Delivered: 2, Failed: 1}},
		{SMS: Delivery{Messages: 2, Failed: 2}},
		{SMS: Delivery{Messages: 1}},
		{},
	}
	ind := AckTimes(als)
	if ind.SMS != (Delivery{Messages: 6, Delivered: 2, Failed: 3}) || ind.SMSUnreached != 1 || ind.SMS.Pending() != 1 {
		t.Errorf("sms %+v unreached %d", ind.SMS, ind.SMSUnreached)
	}
	for _, tc := range []struct {
		d    Delivery
		want bool
	}{{Delivery{}, false}, {Delivery{Messages: 1, Failed: 1}, true}, {Delivery{Messages: 2, Failed: 1}, false}, {Delivery{Messages: 1, Delivered: 1}, false}} {
		if got := tc.d.Unreached(); got != tc.want {
			t.Errorf("%+v unreached: got %v, want %v", tc.d, got, tc.want)
		}
	}
}

// TestAckInTimeByClinic: 危急值及时确认 per ordering institution
// (docs/critical.md, closed loop): acknowledged by the clinic before the
// first escalation deadline (15 min) is in time; acknowledged after it, or
// only once escalated, is judged and late; open past the deadline is judged
// and late; open within it is not judged yet.
func TestAckInTimeByClinic(t *testing.T) {
	cfg := DefaultConfig()
	t0 := time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)
	at := func(m int) time.Time { return t0.Add(time.Duration(m) * time.Minute) }
	als := []Alert{
		{ClinicID: 5, RaisedAt: at(0), AckAt: at(3)},            // in time
		{ClinicID: 5, RaisedAt: at(0), AckAt: at(15)},           // at the deadline: in time
		{ClinicID: 5, RaisedAt: at(0), AckAt: at(16)},           // a minute late (not yet escalated)
		{ClinicID: 5, RaisedAt: at(0), AckAt: at(20), Level: 1}, // acknowledged once escalated
		{ClinicID: 6, RaisedAt: at(0), Level: 2},                // open, escalated twice
		{ClinicID: 6, RaisedAt: at(50)},                         // open, past its deadline at now (66)
		{ClinicID: 7, RaisedAt: at(60)},                         // open within its deadline: not judged
	}
	got := AckInTimeByClinic(als, cfg, at(66))
	want := map[int64]UnitAck{5: {InTime: 2, Judged: 4}, 6: {InTime: 0, Judged: 2}, 7: {}}
	if len(got) != len(want) || got[5] != want[5] || got[6] != want[6] || got[7] != want[7] {
		t.Errorf("got %+v, want %+v", got, want)
	}
}
