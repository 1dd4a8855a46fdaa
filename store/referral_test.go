package store_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"countycare/audit"
	"countycare/care"
	"countycare/demo"
	"countycare/internal/testdb"
	"countycare/org"
	"countycare/referral"
	"countycare/resident"
	"countycare/store"
)

func referralService(f *fixture, t *testing.T) *referral.Service {
	return &referral.Service{Repo: f.st, Residents: f.res, Orgs: f.orgs, Staff: f.st, Audit: syncRecorder{f.st, t}, Config: referral.DefaultConfig(), Now: f.clk.Now}
}

func countRows(t *testing.T, st *store.Store, f audit.Filter) int {
	t.Helper()
	f.Limit = 1000
	evs, err := st.SearchAudit(context.Background(), f)
	if err != nil {
		t.Fatal(err)
	}
	return len(evs)
}

// TestReferralLifecycle walks an up-referral from a village clinic to a
// county department through acceptance and arrival, down to the village
// again at discharge with tasks to acknowledge, and checks validation,
// idempotency, the state machine, access (404 for others, the care link
// and its expiry after the grace period on the store's clock) and audit.
func TestReferralLifecycle(t *testing.T) {
	testdb.Each(t, func(t *testing.T, d store.Dialect) {
		f := newFixture(t, d)
		svc := referralService(f, t)
		ctx := context.Background()
		vd, cs := f.actors[care.RoleVillageDoctor], f.actors[care.RoleCountySpecialist]
		p, err := f.res.Register(ctx, vd, resident.Input{Name: "王秀英", IDNumber: "411723195503120024", VillageID: vd.InstitutionID, Poverty: "subsistence"})
		if err != nil {
			t.Fatal(err)
		}
		pr, err := f.st.Practitioner(ctx, cs.PractitionerID)
		if err != nil || pr.DepartmentID == 0 {
			t.Fatalf("specialist's department: %v", err)
		}
		tree, _ := f.orgs.Tree(ctx)
		// Validation: every fault named.
		_, err = svc.Create(ctx, vd, referral.Draft{ResidentID: p.ID, Urgency: "soon", ToInst: vd.InstitutionID, ToDept: 99999})
		ce, _ := err.(*care.Error)
		if ce == nil || ce.Code != care.EINVALID {
			t.Fatalf("empty draft: %v", err)
		}
		fields := map[string]bool{}
		for _, fe := range ce.Fields {
			fields[fe.Field] = true
		}
		for _, want := range []string{"reasons", "summary", "urgency", "idempotency_key", "to_institution"} {
			if !fields[want] {
				t.Errorf("no error for %s: %v", want, ce)
			}
		}
		draft := referral.Draft{ResidentID: p.ID, Reasons: []referral.Reason{referral.HTNNotAtTarget, referral.ChronicTwoUncontrolled}, Summary: "规律服药3个月血压仍 165/100",
			Urgency: referral.Routine, ToInst: cs.InstitutionID, ToDept: pr.DepartmentID, RequestedAt: f.clk.Now().Add(48 * time.Hour), IdempotencyKey: "k-1"}
		// Before the referral the county specialist cannot see the resident.
		if _, err := f.res.Get(ctx, cs, p.ID); care.ErrorCode(err) != care.ENOTFOUND {
			t.Fatalf("specialist saw the resident before any referral: %v", err)
		}
		r, err := svc.Create(ctx, vd, draft)
		if err != nil {
			t.Fatal(err)
		}
		if !r.GreenChannel || r.Status != referral.StatusSent || r.OutOfCounty || r.CareLinkID == 0 {
			t.Errorf("referral %+v", r)
		}
		// A retry is harmless; the same key with another body is a conflict.
		again, err := svc.Create(ctx, vd, draft)
		if err != nil || again.ID != r.ID {
			t.Fatalf("retry: %v %v", again, err)
		}
		other := draft
		other.Summary = "不同的摘要"
		if _, err := svc.Create(ctx, vd, other); care.ErrorCode(err) != care.ECONFLICT {
			t.Errorf("same key, other body: %v", err)
		}
		if rs, _ := f.st.Referrals(ctx, referral.Filter{County: r.County, ResidentID: p.ID}); len(rs) != 1 {
			t.Errorf("%d referrals after retries, want 1", len(rs))
		}
		// The receiving institution now sees the resident; another village does not see the referral.
		if _, err := f.res.Get(ctx, cs, p.ID); err != nil {
			t.Errorf("specialist cannot see the referred resident: %v", err)
		}
		var otherVillage int64
		for _, v := range tree.OfKind(0, org.KindVillageClinic) {
			if v.ID != vd.InstitutionID {
				otherVillage = v.ID
				break
			}
		}
		stranger := vd
		stranger.InstitutionID = otherVillage
		if _, err := svc.Get(ctx, stranger, r.ID); care.ErrorCode(err) != care.ENOTFOUND {
			t.Errorf("another village read the referral: %v", err)
		}
		if _, err := svc.Get(ctx, f.actors[care.RolePharmacist], r.ID); care.ErrorCode(err) != care.ENOTFOUND {
			t.Errorf("pharmacist read the referral: %v", err)
		}
		if n := countRows(t, f.st, audit.Filter{Action: referral.AuditRead, Outcome: audit.OutcomeDenied}); n != 2 {
			t.Errorf("denied reads audited %d, want 2", n)
		}
		// The state machine, side by side.
		if _, err := svc.Act(ctx, cs, r.ID, referral.ActCancel, referral.Step{Note: "x"}); care.ErrorCode(err) != care.EFORBIDDEN {
			t.Errorf("receiver cancels: %v", err)
		}
		if _, err := svc.Act(ctx, vd, r.ID, referral.ActAccept, referral.Step{Bed: "3-12"}); care.ErrorCode(err) != care.EFORBIDDEN {
			t.Errorf("sender accepts: %v", err)
		}
		if _, err := svc.Act(ctx, cs, r.ID, referral.ActArrive, referral.Step{}); care.ErrorCode(err) != care.ECONFLICT {
			t.Errorf("routine referral arrives before acceptance: %v", err)
		}
		if _, err := svc.Act(ctx, cs, r.ID, referral.ActAccept, referral.Step{}); care.ErrorCode(err) != care.EINVALID {
			t.Errorf("accept without appointment or bed: %v", err)
		}
		appt := f.clk.Now().Add(24 * time.Hour).Truncate(time.Minute)
		acc, err := svc.Act(ctx, cs, r.ID, referral.ActAccept, referral.Step{Appointment: appt, Note: "心内科门诊"})
		if err != nil || acc.Status != referral.StatusAccepted || !acc.Appointment.Equal(appt) {
			t.Fatalf("accept: %+v %v", acc, err)
		}
		f.clk.Add(20 * time.Hour)
		if _, err := svc.Act(ctx, cs, r.ID, referral.ActArrive, referral.Step{}); err != nil {
			t.Fatal(err)
		}
		msgs, _ := f.st.PendingMessages(ctx, 100)
		purposes := map[string]bool{}
		for _, m := range msgs {
			purposes[m.Purpose] = true
		}
		if !purposes["referral.accept"] || !purposes["referral.arrive"] {
			t.Errorf("sender not notified: %v", purposes)
		}
		// Down-referral at discharge: ICD-10 checked, tasks to the village clinic.
		today := care.Today(f.clk.Now())
		down := referral.DownDraft{ResidentID: p.ID, UpReferralID: r.ID, Summary: "住院 7 天，血压控制", Diagnosis: "X10.99999999", Plan: "氨氯地平 5 mg qd",
			Tasks: []referral.TaskInput{{Kind: referral.TaskBP, Due: today.AddDays(7)}, {Kind: referral.TaskFollowUp, Due: today.AddDays(-1)}}, IdempotencyKey: "d-1"}
		_, err = svc.CreateDown(ctx, cs, down)
		if ce, _ := err.(*care.Error); ce == nil || len(ce.Fields) != 2 {
			t.Fatalf("bad ICD-10 and past due date: %v", err)
		}
		down.Diagnosis, down.Tasks[1].Due = "i10", today.AddDays(30)
		dr, err := svc.CreateDown(ctx, cs, down)
		if err != nil {
			t.Fatal(err)
		}
		if dr.Diagnosis != "I10" || dr.ToInst != vd.InstitutionID || dr.UpReferralID != r.ID {
			t.Errorf("down-referral %+v", dr)
		}
		up, _ := f.st.Referral(ctx, r.ID)
		if up.Status != referral.StatusCompleted || up.ClosedAt.IsZero() {
			t.Errorf("up-referral after discharge: %s", up.Status)
		}
		items, err := svc.List(ctx, vd, referral.BoxTasks, true, 0)
		if err != nil || len(items) != 1 || len(items[0].Tasks) != 2 {
			t.Fatalf("village task inbox: %v %v", items, err)
		}
		if _, err := svc.Act(ctx, cs, dr.ID, referral.ActAcknowledge, referral.Step{}); care.ErrorCode(err) != care.EFORBIDDEN {
			t.Errorf("hospital acknowledges its own down-referral: %v", err)
		}
		if _, err := svc.Act(ctx, vd, dr.ID, referral.ActAcknowledge, referral.Step{}); err != nil {
			t.Fatal(err)
		}
		if items, _ := svc.List(ctx, vd, referral.BoxTasks, true, 0); len(items) != 0 {
			t.Errorf("acknowledged down-referral still open")
		}
		// End to end: the detail links up and down.
		det, err := svc.Get(ctx, vd, r.ID)
		if err != nil || len(det.Related) != 1 || det.Related[0].ID != dr.ID || len(det.Events) != 4 {
			t.Errorf("detail: %v related %d events %d", err, len(det.Related), len(det.Events))
		}
		// The hospital keeps access for the grace period after closing, then loses it.
		f.clk.Add(71 * time.Hour)
		if _, err := f.res.Get(ctx, cs, p.ID); err != nil {
			t.Errorf("access lost within the grace period: %v", err)
		}
		f.clk.Add(2 * time.Hour)
		if _, err := f.res.Get(ctx, cs, p.ID); care.ErrorCode(err) != care.ENOTFOUND {
			t.Errorf("access kept after the grace period: %v", err)
		}
		if n := countRows(t, f.st, audit.Filter{Action: referral.AuditTransition}); n != 3 { // accept, arrive, acknowledge; the completion is part of the down-referral's creation
			t.Errorf("transitions audited %d, want 3", n)
		}
		if n := countRows(t, f.st, audit.Filter{Action: referral.AuditCreate}); n != 2 {
			t.Errorf("creations audited %d, want 2", n)
		}
		if n := countRows(t, f.st, audit.Filter{Action: referral.AuditRead, Outcome: audit.OutcomeOK}); n != 1 {
			t.Errorf("reads audited %d, want 1", n)
		}
	})
}

// TestReferralRedirectEmergencyAndConsultation: an emergency criterion
// makes the referral an emergency that may arrive before acceptance; a
// redirect closes one referral and continues it at another hospital; a
// consultation turns into a referral once.
func TestReferralRedirectEmergencyAndConsultation(t *testing.T) {
	testdb.Each(t, func(t *testing.T, d store.Dialect) {
		f := newFixture(t, d)
		svc := referralService(f, t)
		ctx := context.Background()
		vd, cs := f.actors[care.RoleVillageDoctor], f.actors[care.RoleCountySpecialist]
		people, _, _ := f.res.Search(ctx, vd, "", resident.Filter{BornOnOrBefore: care.Date{Year: 1970, Month: 1, Day: 1}, Limit: 3})
		if len(people) < 3 {
			t.Fatal("no adults")
		}
		tree, _ := f.orgs.Tree(ctx)
		var tcm, partner int64
		for _, h := range tree.OfKind(0, org.KindCountyHospital) {
			if strings.Contains(h.Name, "中医院") {
				tcm = h.ID
			}
		}
		for _, r := range tree.Roots() {
			if r.Kind == org.KindPartner {
				partner = r.ID
			}
		}
		em, err := svc.Create(ctx, vd, referral.Draft{ResidentID: people[0].ID, Reasons: []referral.Reason{referral.EmSevereBP}, Summary: "BP 200/120 剧烈头痛",
			Urgency: referral.Routine, ToInst: cs.InstitutionID, IdempotencyKey: "em-1"})
		if err != nil || em.Urgency != referral.Emergency {
			t.Fatalf("emergency: %+v %v", em, err)
		}
		if _, err := svc.Act(ctx, cs, em.ID, referral.ActArrive, referral.Step{}); err != nil {
			t.Errorf("emergency arrival before acceptance: %v", err)
		}
		r, err := svc.Create(ctx, vd, referral.Draft{ResidentID: people[1].ID, Reasons: []referral.Reason{referral.OtherDiagnosis}, Summary: "腹痛待查",
			Urgency: referral.Routine, ToInst: cs.InstitutionID, IdempotencyKey: "rd-1"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := svc.Act(ctx, cs, r.ID, referral.ActRedirect, referral.Step{ToInst: tcm}); care.ErrorCode(err) != care.EINVALID {
			t.Errorf("redirect without a reason: %v", err)
		}
		next, err := svc.Act(ctx, cs, r.ID, referral.ActRedirect, referral.Step{ToInst: tcm, Note: "本院床位已满"})
		if err != nil || next.ID == r.ID || next.ToInst != tcm || next.RedirectedFrom != r.ID || next.Status != referral.StatusSent || !next.FirstSentAt.Equal(r.FirstSentAt) {
			t.Fatalf("redirect: %+v %v", next, err)
		}
		old, _ := f.st.Referral(ctx, r.ID)
		if old.Status != referral.StatusRedirected {
			t.Errorf("redirected referral status %s", old.Status)
		}
		links, _ := f.st.CareLinks(ctx, r.County, people[1].ID)
		live := 0
		for _, l := range links {
			if l.ExpiresAt.IsZero() && l.InstitutionID == tcm {
				live++
			}
			if l.InstitutionID == cs.InstitutionID && (l.ExpiresAt.IsZero() || !l.ExpiresAt.Equal(f.clk.Now().Add(72*time.Hour).Truncate(time.Microsecond))) {
				t.Errorf("old receiver's link expires %v", l.ExpiresAt)
			}
		}
		if live != 1 {
			t.Errorf("new receiver's live links %d", live)
		}
		// The sender may cancel the continuation; a county doctor can refer out of the county.
		if _, err := svc.Act(ctx, vd, next.ID, referral.ActCancel, referral.Step{}); care.ErrorCode(err) != care.EINVALID {
			t.Errorf("cancel without a reason: %v", err)
		}
		if _, err := svc.Act(ctx, vd, next.ID, referral.ActCancel, referral.Step{Note: "患者拒绝"}); err != nil {
			t.Error(err)
		}
		c1, err := svc.FromConsultation(ctx, vd, 77, referral.Draft{ResidentID: people[2].ID, Reasons: []referral.Reason{referral.OtherBeyond}, Summary: "会诊建议转上级",
			Urgency: referral.Routine, ToInst: partner})
		if err != nil || c1.ConsultationID != 77 || c1.IdempotencyKey != "consultation:77" || !c1.OutOfCounty {
			t.Fatalf("from consultation: %+v %v", c1, err)
		}
		c2, err := svc.FromConsultation(ctx, vd, 77, referral.Draft{ResidentID: people[2].ID, Reasons: []referral.Reason{referral.OtherBeyond}, Summary: "会诊建议转上级",
			Urgency: referral.Routine, ToInst: partner})
		if err != nil || c2.ID != c1.ID {
			t.Errorf("second conversion: %v %v", c2, err)
		}
		if sent, err := svc.List(ctx, vd, referral.BoxSent, false, 0); err != nil || len(sent) != 4 {
			t.Errorf("sent list %d %v", len(sent), err)
		}
		if in, err := svc.List(ctx, cs, referral.BoxIncoming, true, 0); err != nil || len(in) != 1 || in[0].ID != em.ID {
			t.Errorf("incoming open %v %v", in, err)
		}
		// Indicators over the period: every chain end counted once.
		today := care.Today(f.clk.Now())
		rep, err := svc.Indicators(ctx, f.actors[care.RoleAnalyst], today.AddDays(-30), today)
		if err != nil || len(rep.Units) < 2 || rep.Units[0].Depth != 0 {
			t.Fatalf("indicators: %v", err)
		}
		ind := rep.Units[0].Ind
		if ind.Sent[referral.Up] != 3 || ind.UpCompletion != (referral.Rate{Num: 1, Den: 3}) || ind.OutOfCounty != (referral.Rate{Num: 1, Den: 3}) {
			t.Errorf("county indicators sent %v completion %v out-of-county %v", ind.Sent, ind.UpCompletion, ind.OutOfCounty)
		}
		if _, err := svc.Indicators(ctx, vd, today, today); care.ErrorCode(err) != care.EFORBIDDEN {
			t.Errorf("village doctor indicators: %v", err)
		}
		// A client's key cannot take the key the system makes for a
		// consultation's referral: client keys live in the account's space.
		squat := referral.Draft{ResidentID: people[2].ID, Reasons: []referral.Reason{referral.OtherDiagnosis}, Summary: "占用键",
			Urgency: referral.Routine, ToInst: cs.InstitutionID, IdempotencyKey: "consultation:78"}
		if _, err := svc.Create(ctx, vd, squat); err != nil {
			t.Fatal(err)
		}
		c3, err := svc.FromConsultation(ctx, vd, 78, referral.Draft{ResidentID: people[2].ID, Reasons: []referral.Reason{referral.OtherBeyond}, Summary: "会诊建议转上级",
			Urgency: referral.Routine, ToInst: partner})
		if err != nil || c3.ConsultationID != 78 {
			t.Errorf("conversion after a client used the key: %+v %v", c3, err)
		}
	})
}

// TestDemoReferrals: the generator's year of referrals loads on both
// databases through the bulk path, every history replays through the state
// machine, and the indicators read it back.
func TestDemoReferrals(t *testing.T) {
	testdb.Each(t, func(t *testing.T, d store.Dialect) {
		clk := &clock{t: time.Date(2026, 11, 22, 2, 0, 0, 0, time.UTC)}
		st := testdb.Open(t, d, clk.Now)
		ctx := context.Background()
		res, err := demo.Generate(ctx, st, demo.Config{Residents: 3000, Villages: 20, VillageDoctors: 40, Referrals: 300, Now: clk.Now()}, quiet)
		if err != nil {
			t.Fatal(err)
		}
		if res.UpReferrals != 300 || res.DownReferrals == 0 {
			t.Fatalf("generated %d up, %d down", res.UpReferrals, res.DownReferrals)
		}
		facts := 0
		err = st.ReferralFacts(ctx, "411723", care.Today(clk.Now()).AddDays(-400), care.Today(clk.Now()), func(f referral.Fact) error {
			facts++
			r, err := st.Referral(ctx, f.ID)
			if err != nil {
				return err
			}
			evs, err := st.ReferralEvents(ctx, f.ID)
			if err != nil || len(evs) == 0 || evs[0].Action != "create" {
				t.Fatalf("referral %d events %v %v", f.ID, evs, err)
			}
			status := evs[0].To
			for _, e := range evs[1:] {
				to, err := referral.Next(r.Direction, r.Urgency, status, referral.Action(e.Action))
				if err != nil || to != e.To {
					t.Fatalf("referral %d: %s --%s--> %s: %v", r.ID, status, e.Action, e.To, err)
				}
				status = to
			}
			if status != r.Status {
				t.Errorf("referral %d: events end at %s, row says %s", r.ID, status, r.Status)
			}
			return nil
		})
		if err != nil || facts < 300+res.DownReferrals {
			t.Fatalf("facts %d: %v", facts, err)
		}
	})
}
