package kpi

import (
	"fmt"
	"testing"
	"time"

	"countycare/critical"
	"countycare/referral"
)

// TestJudgeAlert: a critical value counts in 危急值及时确认率 when the
// ordering clinic acknowledged it by the first deadline (15 minutes,
// critical.DefaultConfig; 危急值报告制度, 2018); a late one says how late
// and why; one still inside its deadline is not judged.
func TestJudgeAlert(t *testing.T) {
	cfg := critical.DefaultConfig()
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	raised := now.Add(-2 * time.Hour)
	for _, x := range []struct {
		name          string
		al            critical.Alert
		judged, count bool
		late          int
		why           string
	}{
		{"in time", critical.Alert{RaisedAt: raised, AckAt: raised.Add(15 * time.Minute)}, true, true, 0, ""},
		{"a minute late", critical.Alert{RaisedAt: raised, AckAt: raised.Add(16 * time.Minute)}, true, false, 1, "kpi.why.ack_late [16 15]"},
		{"escalated then acknowledged", critical.Alert{RaisedAt: raised, AckAt: raised.Add(40 * time.Minute), Level: critical.LevelTownship}, true, false, 25, "kpi.why.ack_escalated [25 15]"},
		{"open past its deadline", critical.Alert{RaisedAt: raised}, true, false, 105, "kpi.why.ack_open [15]"},
		{"open inside its deadline", critical.Alert{RaisedAt: now.Add(-14 * time.Minute)}, false, false, 0, ""},
	} {
		rec, judged := JudgeAlert(&x.al, cfg, now)
		why := ""
		if rec.Why != "" {
			why = fmt.Sprint(rec.Why, " ", rec.WhyArgs)
		}
		if judged != x.judged || rec.Counted != x.count || rec.LateMinutes != x.late || why != x.why {
			t.Errorf("%s: judged %v counted %v late %d why %q, want %v %v %d %q", x.name, judged, rec.Counted, rec.LateMinutes, why, x.judged, x.count, x.late, x.why)
		}
	}
}

// TestJudgeBillAndReferral: a bill's part is the indicator's fees; a
// referral counts in the completion when done (up: arrived or completed;
// down: acknowledged) and in the out-of-county rate when it left the county.
func TestJudgeBillAndReferral(t *testing.T) {
	b := Bill{ID: 1, Fees: Fees{Total: 10000, Patient: 3000, Drugs: 4500, Materials: 0}}
	for id, want := range map[string]int64{"settle_oop_share": 3000, "settle_drug_share": 4500, "settle_material_share": 0} {
		if r := JudgeBill(id, b); r.Part != want || r.Whole != 10000 || r.Counted != (want > 0) {
			t.Errorf("%s: part %d of %d, counted %v; want %d", id, r.Part, r.Whole, r.Counted, want)
		}
	}
	for _, x := range []struct {
		f         referral.Fact
		done, out bool
	}{
		{referral.Fact{Direction: referral.Up, Status: referral.StatusArrived, OutOfCounty: true}, true, true},
		{referral.Fact{Direction: referral.Up, Status: referral.StatusAccepted}, false, false},
		{referral.Fact{Direction: referral.Down, Status: referral.StatusAcknowledged}, true, false},
		{referral.Fact{Direction: referral.Down, Status: referral.StatusSent}, false, false},
	} {
		if c := JudgeReferral("referral_completion", &x.f).Counted; c != x.done {
			t.Errorf("%s %s: completed %v", x.f.Direction, x.f.Status, c)
		}
		if c := JudgeReferral("out_of_county", &x.f).Counted; c != x.out {
			t.Errorf("%s %s: out of county %v", x.f.Direction, x.f.Status, c)
		}
	}
}
