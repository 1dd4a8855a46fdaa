package kpi

import (
	"fmt"
	"testing"
	"time"

	"countycare/care"
	"countycare/chronic"
	"countycare/consult"
	"countycare/org"
	"countycare/rx"
)

// TestJudgePatient: the records page says why a patient is not counted,
// by the rules the figure is counted with (policy-rules.md §1.1, §1.2):
// control at < 140/90 and 3.9 < FPG < 7.0 mmol/L, per-spec management at
// floor(days/90) face-to-face follow-ups.
func TestJudgePatient(t *testing.T) {
	c := chronic.DefaultConfig()
	q3 := Period{Kind: Quarter, Year: 2026, N: 3} // 92 days: one visit due
	from, to := q3.From(), q3.To(care.Date{Year: 2027, Month: 1, Day: 1})
	htn := func(visits, f2f, sbp, dbp int) *chronic.PatientPeriod {
		return &chronic.PatientPeriod{RegistrationID: 7, Disease: chronic.Hypertension, Visits: visits, FaceToFace: f2f, LastSBP: sbp, LastDBP: dbp}
	}
	dm := func(visits, fpg int) *chronic.PatientPeriod {
		return &chronic.PatientPeriod{RegistrationID: 8, Disease: chronic.Diabetes, Visits: visits, FaceToFace: visits, LastFPG: fpg}
	}
	for _, x := range []struct {
		id      string
		p       *chronic.PatientPeriod
		counted bool
		why     string
		args    string
	}{
		{"htn_controlled", htn(1, 1, 139, 89), true, "", "[]"},
		{"htn_controlled", htn(1, 1, 140, 80), false, "kpi.why.bp_high", "[140 80 140 90]"},
		{"htn_controlled", htn(1, 1, 130, 90), false, "kpi.why.bp_high", "[130 90 140 90]"},
		{"htn_controlled", htn(0, 0, 0, 0), false, "kpi.why.no_visit", "[]"},
		{"htn_controlled", htn(2, 0, 0, 0), false, "kpi.why.no_bp", "[]"},
		{"dm_controlled", dm(1, 69), true, "", "[]"},
		{"dm_controlled", dm(1, 70), false, "kpi.why.fpg_off", "[7.0 3.9 7.0]"},
		{"dm_controlled", dm(1, c.UrgentFPGLow), false, "kpi.why.fpg_off", "[3.9 3.9 7.0]"},
		{"dm_controlled", dm(1, c.UrgentFPGLow+1), true, "", "[]"},
		{"dm_controlled", dm(1, 0), false, "kpi.why.no_fpg", "[]"},
		{"dm_controlled", dm(0, 0), false, "kpi.why.no_visit", "[]"},
		{"htn_standardised", htn(1, 1, 150, 95), true, "", "[]"},
		{"htn_standardised", htn(3, 0, 130, 80), false, "kpi.why.visits", "[0 1]"},
		{"dm_standardised", dm(1, 90), true, "", "[]"},
		{"htn_health_managed", htn(0, 0, 0, 0), true, "", "[]"},
	} {
		r := JudgePatient(x.id, x.p, from, to, c)
		if r.Counted != x.counted || r.Why != x.why || fmt.Sprint(r.WhyArgs) != x.args {
			t.Errorf("%s %+v: got %v %q %v, want %v %q %s", x.id, *x.p, r.Counted, r.Why, r.WhyArgs, x.counted, x.why, x.args)
		}
		if r.RegistrationID != x.p.RegistrationID || r.SBP != x.p.LastSBP || r.FPG != x.p.LastFPG || r.Visits != x.p.Visits || r.FaceToFace != x.p.FaceToFace {
			t.Errorf("%s: the record does not carry the patient's figures: %+v", x.id, r)
		}
	}
	if got := mmol(123); got != "12.3" {
		t.Errorf("mmol(123) = %q", got)
	}
}

// TestHasRecords: which figures list their records, at which units.
func TestHasRecords(t *testing.T) {
	for _, x := range []struct {
		id   string
		kind org.Kind
		want bool
	}{
		{"htn_controlled", org.KindVillageClinic, true},
		{"dm_standardised", org.KindVillageClinic, true},
		{"htn_controlled", org.KindTownshipHC, false},
		{"in_county", org.KindVillageClinic, false},
		{"family_coverage", org.KindVillageClinic, true},
		{"family_fulfilment", org.KindTownshipHC, false},
		{"referral_completion", org.KindTownshipHC, true},
		{"out_of_county", org.KindVillageClinic, false},
		{"out_of_county", org.KindCounty, false},
		{"critical_ack_in_time", org.KindCentralHC, true},
		{"critical_ack_in_time", org.KindCommunity, false},
		{"settle_drug_share", org.KindVillageClinic, true},
		{"settle_fund_use", org.KindTownshipHC, false},
		{"consult_sla", org.KindVillageClinic, true},
		{"consult_sla", org.KindCentralHC, true},
		{"consult_sla", org.KindCommunity, false},
		{"consult_sla", org.KindCounty, false},
		{"consult_escalated", org.KindVillageClinic, false},
	} {
		if got := HasRecords(x.id, x.kind); got != x.want {
			t.Errorf("HasRecords(%s, %s) = %v, want %v", x.id, x.kind, got, x.want)
		}
	}
}

// TestJudgeConsultation: the 10-minute promise as consult.Compute judges
// it — accepted by the first deadline (10 minutes routine, 5 emergency:
// consult.DefaultConfig) is in time; accepted after it, or past it with
// nobody accepting, is late; cancelled or still within it is not judged.
func TestJudgeConsultation(t *testing.T) {
	cfg := consult.DefaultConfig()
	sent := time.Date(2026, 9, 1, 8, 0, 0, 0, time.UTC)
	now := sent.Add(time.Hour)
	for _, x := range []struct {
		name    string
		c       consult.Consultation
		now     time.Time
		judged  bool
		counted bool
		why     string
		args    string
	}{
		{"accepted at the deadline", consult.Consultation{Urgency: consult.Routine, AcceptedAt: sent.Add(10 * time.Minute)}, now, true, true, "", "[]"},
		{"accepted a second late", consult.Consultation{Urgency: consult.Routine, AcceptedAt: sent.Add(10*time.Minute + time.Second)}, now, true, false, "kpi.why.consult_late", "[10 10]"},
		{"emergency accepted after 7 minutes", consult.Consultation{Urgency: consult.Emergency, AcceptedAt: sent.Add(7 * time.Minute)}, now, true, false, "kpi.why.consult_late", "[7 5]"},
		{"nobody accepted", consult.Consultation{Urgency: consult.Routine, Status: consult.StatusRequested}, now, true, false, "kpi.why.consult_unanswered", "[10]"},
		{"cancelled", consult.Consultation{Urgency: consult.Routine, Status: consult.StatusCancelled}, now, false, true, "", "[]"},
		{"still within its deadline", consult.Consultation{Urgency: consult.Routine, Status: consult.StatusRequested}, sent.Add(10 * time.Minute), false, true, "", "[]"},
	} {
		x.c.ID, x.c.ResidentID, x.c.CreatedAt = 3, 9, sent
		r, judged := JudgeConsultation(&x.c, cfg, x.now)
		if judged != x.judged || r.Counted != x.counted || r.Why != x.why || fmt.Sprint(r.WhyArgs) != x.args || r.ConsultationID != 3 || r.ResidentID != 9 || !r.Sent.Equal(sent) {
			t.Errorf("%s: got %v %+v, want judged %v counted %v %q %s", x.name, judged, r, x.judged, x.counted, x.why, x.args)
		}
	}
}

// TestJudgePrescription: a prescription is in the review outcomes'
// denominator once its review is over (any status but pending) and in the
// prescribing rates' once its classes are kept; it counts as
// store.PrescriptionSums counts it — passed when it took effect (an
// automatic pass, a pharmacist's approval, dispensed), returned, rejected;
// with an antimicrobial or an injection line (rx.Classes) — and where
// lower is better the counted ones are the flagged ones (Records).
func TestJudgePrescription(t *testing.T) {
	signed := time.Date(2026, 7, 1, 2, 0, 0, 0, time.UTC)
	row := func(st rx.Status, c rx.Classes, classified bool) RxRow {
		return RxRow{ID: 9, ResidentID: 3, Institution: 5, SignedAt: signed, Status: st, Classes: c, Classified: classified}
	}
	for _, tc := range []struct {
		id              string
		r               RxRow
		judged, counted bool
	}{
		{"rx_passed", row(rx.StatusPassed, 0, true), true, true},
		{"rx_passed", row(rx.StatusApproved, 0, true), true, true},
		{"rx_passed", row(rx.StatusDispensed, 0, true), true, true},
		{"rx_passed", row(rx.StatusReturned, 0, true), true, false},
		{"rx_passed", row(rx.StatusRejected, 0, true), true, false},
		{"rx_passed", row(rx.StatusPending, 0, true), false, false},
		{"rx_returned", row(rx.StatusReturned, 0, true), true, true},
		{"rx_returned", row(rx.StatusPassed, 0, true), true, false},
		{"rx_returned", row(rx.StatusPending, 0, true), false, false},
		{"rx_rejected", row(rx.StatusRejected, 0, true), true, true},
		{"rx_rejected", row(rx.StatusDispensed, 0, true), true, false},
		{"rx_antibiotic", row(rx.StatusPending, rx.WithAntimicrobial, true), true, true},
		{"rx_antibiotic", row(rx.StatusPassed, rx.WithInjection, true), true, false},
		{"rx_antibiotic", row(rx.StatusPassed, rx.WithAntimicrobial, false), false, true},
		{"rx_injection", row(rx.StatusPassed, rx.WithInjection|rx.WithAntimicrobial, true), true, true},
		{"rx_injection", row(rx.StatusPassed, rx.WithAntimicrobial, true), true, false},
		{"rx_injection", row(rx.StatusPassed, 0, false), false, false},
		{"htn_controlled", row(rx.StatusPassed, 0, true), false, false},
	} {
		rec, judged := JudgePrescription(tc.id, tc.r)
		if judged != tc.judged || (judged && rec.Counted != tc.counted) {
			t.Errorf("%s %s classes %b classified %v: judged %v counted %v, want %v %v", tc.id, tc.r.Status, tc.r.Classes, tc.r.Classified, judged, rec.Counted, tc.judged, tc.counted)
		}
		if rec.PrescriptionID != 9 || rec.ResidentID != 3 || rec.FromInstitution != 5 || !rec.Sent.Equal(signed) || rec.RxStatus != tc.r.Status {
			t.Errorf("%s: record %+v does not carry the prescription", tc.id, rec)
		}
	}
	for _, tc := range []struct {
		id string
		k  org.Kind
		ok bool
	}{
		{"rx_antibiotic", org.KindVillageClinic, true}, {"rx_returned", org.KindTownshipHC, true},
		{"rx_passed", org.KindCommunity, false}, {"rx_injection", org.KindCounty, false},
	} {
		if HasRecords(tc.id, tc.k) != tc.ok {
			t.Errorf("HasRecords(%s, %s) = %v", tc.id, tc.k, !tc.ok)
		}
	}
}
