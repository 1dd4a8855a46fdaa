package store_test

import (
	"context"
	"testing"
	"time"

	"countycare/audit"
	"countycare/care"
	"countycare/demo"
	"countycare/idcard"
	"countycare/internal/testdb"
	"countycare/online"
	"countycare/resident"
	"countycare/rx"
	"countycare/store"
)

// png1x1 is a 1×1 PNG.
var png1x1 = []byte{0x89, 'P', 'N', 'G', 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0x0d, 'I', 'H', 'D', 'R', 0, 0, 0, 1, 0, 0, 0, 1, 8, 6, 0, 0, 0, 0x1f, 0x15, 0xc4, 0x89}

func hasAudit(t *testing.T, st *store.Store, residentID int64, action, outcome string) bool {
	t.Helper()
	evs, err := st.SearchAudit(context.Background(), audit.Filter{ResidentIDs: []int64{residentID}, Action: action, Outcome: outcome, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	return len(evs) > 0
}

// TestOnlineVisit: a resident cannot book an online follow-up for a
// condition never diagnosed offline (互联网诊疗管理办法 2018 第十六条); after an
// offline prescription with that diagnosis the booking records it as the
// prior document. The doctor re-authenticates (wrong password refused)
// and the visit's rights belong to that sign-in session; chat with an
// image; an online prescription refuses a psychotropic drug and a new
// diagnosis, and a clean one waits for a pharmacist; redirecting offline
// needs a reason the resident sees; chat purges refuse anything younger
// than 3 years (监管细则 2022). Every step is audited. Both databases.
func TestOnlineVisit(t *testing.T) {
	testdb.Each(t, func(t *testing.T, d store.Dialect) {
		f := newFixture(t, d)
		ctx := context.Background()
		rec := syncRecorder{f.st, t}
		rxs := rxService(t, f)
		svc := &online.Service{Repo: f.st, Residents: f.res, Staff: f.st, Accounts: f.accounts, Rx: rxs, Audit: rec, Now: f.clk.Now}
		me, vd, admin := f.actors[care.RoleResident], f.actors[care.RoleVillageDoctor], f.actors[care.RoleAdmin]

		// A first visit is refused, with nothing stored and an audit row.
		_, err := svc.Book(ctx, me, me.ResidentID, online.BookInput{Diagnosis: "K29.5", Complaint: "胃痛"})
		if !care.IsCode(err, care.EINVALID) || err.(*care.Error).Key != "online.first_visit" {
			t.Fatalf("first visit: %v", err)
		}
		if list, _ := svc.List(ctx, me); len(list) != 0 {
			t.Fatalf("first visit stored: %+v", list)
		}
		if !hasAudit(t, f.st, me.ResidentID, online.ActFirstVisit, audit.OutcomeInvalid) {
			t.Error("refused first visit not audited")
		}
		if _, err := svc.Book(ctx, me, me.ResidentID, online.BookInput{Diagnosis: "not-icd"}); !care.IsCode(err, care.EINVALID) {
			t.Errorf("bad code: %v", err)
		}
		// Another resident's record: not found.
		if _, err := svc.Book(ctx, me, me.ResidentID+1, online.BookInput{Diagnosis: "K29.5"}); !care.IsCode(err, care.ENOTFOUND) {
			t.Errorf("other resident: %v", err)
		}

		// The offline visit: a prescription for gastritis.
		off, _, err := rxs.Sign(ctx, vd, me.ResidentID, &rx.Prescription{Kind: rx.KindNormal, Diagnoses: []string{"K29.7"}, Patient: rx.Patient{WeightKg: 60},
			Lines: []rx.Line{{DrugCode: "omeprazole-20c", Dose: 20, DoseUnit: "mg", Frequency: "qd", Route: "po", Days: 7, Quantity: 7}}})
		if err != nil {
			t.Fatalf("offline prescription: %v", err)
		}
		v, err := svc.Book(ctx, me, me.ResidentID, online.BookInput{Diagnosis: "k29.5", Complaint: "胃痛复诊"})
		if err != nil {
			t.Fatalf("book: %v", err)
		}
		if v.PriorKind != online.DocPrescription || v.PriorID != off.ID || v.PriorCode != "K29.7" || v.Status != online.StatusBooked || v.Diagnosis != "K29.5" {
			t.Errorf("booked %+v", v)
		}

		// Nothing before the step-up.
		if _, err := svc.Send(ctx, vd, v.ID, "您好", nil); !care.IsCode(err, care.EFORBIDDEN) {
			t.Errorf("message before step-up: %v", err)
		}
		// Under 3 years of independent practice: no online visits.
		p, err := f.st.Practitioner(ctx, vd.PractitionerID)
		if err != nil {
			t.Fatal(err)
		}
		p.PracticeSince = care.Today(f.clk.Now()).AddDays(-2 * 366)
		if err := f.orgs.SavePractitioner(ctx, admin, p); err != nil {
			t.Fatal(err)
		}
		if _, err := svc.Start(ctx, vd, v.ID, demo.DefaultPassword); !care.IsCode(err, care.EFORBIDDEN) || err.(*care.Error).Key != "online.practice_years" {
			t.Fatalf("under 3 years of practice: %v", err)
		}
		p.PracticeSince = care.Today(f.clk.Now()).AddDays(-5 * 366)
		if err := f.orgs.SavePractitioner(ctx, admin, p); err != nil {
			t.Fatal(err)
		}
		if _, err := svc.Start(ctx, vd, v.ID, "wrong-password"); !care.IsCode(err, care.EUNAUTHORIZED) {
			t.Fatalf("wrong password: %v", err)
		}
		if !hasAuditAny(t, f.st, "auth.step_up_failed") {
			t.Error("failed step-up not audited")
		}
		v, err = svc.Start(ctx, vd, v.ID, demo.DefaultPassword)
		if err != nil {
			t.Fatalf("start: %v", err)
		}
		if v.Status != online.StatusInSession || v.DoctorSession != vd.SessionID || v.DoctorAccount != vd.AccountID {
			t.Errorf("started %+v", v)
		}
		if !hasAudit(t, f.st, me.ResidentID, online.ActStepUp, audit.OutcomeOK) {
			t.Error("step-up not audited")
		}
		// Another sign-in session of the same doctor has no rights.
		other := vd
		other.SessionID += 1000
		if _, err := svc.Send(ctx, other, v.ID, "hi", nil); !care.IsCode(err, care.EFORBIDDEN) {
			t.Errorf("other session: %v", err)
		}

		// Chat.
		if _, err := svc.Send(ctx, me, v.ID, "医生好，还是饭后胃痛", nil); err != nil {
			t.Fatal(err)
		}
		m, err := svc.Send(ctx, vd, v.ID, "请拍一下药盒", &online.Image{Type: "image/png", Data: png1x1})
		if err != nil || m.ImageSHA == "" {
			t.Fatalf("image message: %v %+v", err, m)
		}
		if _, err := svc.Send(ctx, me, v.ID, "", &online.Image{Type: "application/pdf", Data: []byte("%PDF")}); !care.IsCode(err, care.EINVALID) {
			t.Errorf("pdf image: %v", err)
		}
		if _, err := svc.Send(ctx, me, v.ID, "  ", nil); !care.IsCode(err, care.EINVALID) {
			t.Errorf("empty message: %v", err)
		}
		msgs, err := svc.Messages(ctx, me, v.ID)
		if err != nil || len(msgs) != 2 || msgs[0].From != online.FromResident || msgs[1].From != online.FromDoctor {
			t.Fatalf("messages: %v %+v", err, msgs)
		}
		img, err := svc.Image(ctx, me, v.ID, m.ImageSHA)
		if err != nil || img.Type != "image/png" || len(img.Data) != len(png1x1) {
			t.Errorf("image: %v", err)
		}
		if _, err := f.st.OnlineImage(ctx, v.CountyCode, v.ID+1, m.ImageSHA); !care.IsCode(err, care.ENOTFOUND) {
			t.Errorf("image of another visit: %v", err)
		}

		// Online prescriptions: psychotropics blocked, new diagnoses refused,
		// a clean one waits for a pharmacist.
		_, fs, err := svc.Prescribe(ctx, vd, v.ID, &rx.Prescription{Kind: rx.KindNormal, Patient: rx.Patient{WeightKg: 60},
			Lines: []rx.Line{{DrugCode: "diazepam-2.5t", Dose: 2.5, DoseUnit: "mg", Frequency: "qn", Route: "po", Days: 7, Quantity: 7}}})
		blocked := false
		for _, x := range fs {
			blocked = blocked || (x.Rule == rx.RuleOnlineClass && x.Severity == rx.Block)
		}
		if !care.IsCode(err, care.EINVALID) || !blocked {
			t.Errorf("psychotropic online: %v %+v", err, fs)
		}
		if _, _, err := svc.Prescribe(ctx, vd, v.ID, &rx.Prescription{Kind: rx.KindNormal, Diagnoses: []string{"I10"},
			Lines: []rx.Line{{DrugCode: "omeprazole-20c", Dose: 20, DoseUnit: "mg", Frequency: "qd", Route: "po", Days: 7, Quantity: 7}}}); !care.IsCode(err, care.EINVALID) ||
			err.(*care.Error).Fields[0].Key != "online.rx_diagnosis" {
			t.Errorf("new diagnosis online: %v", err)
		}
		if ids, _ := f.st.VisitPrescriptions(ctx, v.CountyCode, v.ID); len(ids) != 0 {
			t.Fatalf("refused prescriptions stored: %v", ids)
		}
		sg, _, err := svc.Prescribe(ctx, vd, v.ID, &rx.Prescription{Kind: rx.KindNormal, Patient: rx.Patient{WeightKg: 60},
			Lines: []rx.Line{{DrugCode: "omeprazole-20c", Dose: 20, DoseUnit: "mg", Frequency: "qd", Route: "po", Days: 7, Quantity: 7}}})
		if err != nil || sg.Status != rx.StatusPending || !sg.Prescription.Online || sg.Prescription.Diagnoses[0] != "K29.5" {
			t.Fatalf("online prescription: %v %+v", err, sg)
		}
		_, ids, err := svc.Get(ctx, me, v.ID)
		if err != nil || len(ids) != 1 || ids[0] != sg.ID {
			t.Errorf("visit prescriptions: %v %v", err, ids)
		}
		// An online prescription is no offline diagnosis document.
		docs, _ := f.st.PriorDiagnoses(ctx, v.CountyCode, me.ResidentID)
		for _, d := range docs {
			if d.Kind == online.DocPrescription && d.ID == sg.ID {
				t.Error("online prescription counted as an offline document")
			}
		}

		// Another doctor of the resident's township cannot take the visit
		// while the step-up holds it; after the hold, with a step-up of
		// their own, they can.
		td := f.actors[care.RoleTownshipDoctor]
		tp, err := f.st.Practitioner(ctx, td.PractitionerID)
		if err != nil {
			t.Fatal(err)
		}
		tp.PracticeSince = care.Today(f.clk.Now()).AddDays(-10 * 366)
		if err := f.orgs.SavePractitioner(ctx, admin, tp); err != nil {
			t.Fatal(err)
		}
		if _, err := svc.Start(ctx, td, v.ID, demo.DefaultPassword); !care.IsCode(err, care.ECONFLICT) {
			t.Fatalf("take over a held visit: %v", err)
		}
		f.clk.Add(online.HoldFor + time.Minute)
		if got, err := svc.Start(ctx, td, v.ID, demo.DefaultPassword); err != nil || got.DoctorAccount != td.AccountID {
			t.Fatalf("take over after the hold: %v", err)
		}
		if _, err := svc.Send(ctx, vd, v.ID, "还在吗", nil); !care.IsCode(err, care.EFORBIDDEN) {
			t.Errorf("the first doctor keeps rights after the takeover: %v", err)
		}
		if _, err := svc.Start(ctx, vd, v.ID, demo.DefaultPassword); !care.IsCode(err, care.ECONFLICT) {
			t.Errorf("the first doctor takes it back at once: %v", err)
		}
		f.clk.Add(online.HoldFor + time.Minute)
		if v, err = svc.Start(ctx, vd, v.ID, demo.DefaultPassword); err != nil {
			t.Fatal(err)
		}

		// Redirect offline: reason required, the resident sees it, the visit closes.
		if _, err := svc.End(ctx, vd, v.ID, true, " "); !care.IsCode(err, care.EINVALID) {
			t.Errorf("redirect without reason: %v", err)
		}
		if _, err := svc.End(ctx, vd, v.ID, true, "腹痛性质改变，请到卫生院门诊就诊"); err != nil {
			t.Fatal(err)
		}
		got, _, err := svc.Get(ctx, me, v.ID)
		if err != nil || got.Status != online.StatusRedirected || got.EndReason == "" {
			t.Errorf("resident sees %+v %v", got, err)
		}
		if _, err := svc.Send(ctx, me, v.ID, "还在吗", nil); !care.IsCode(err, care.ECONFLICT) {
			t.Errorf("message after the end: %v", err)
		}
		if !hasAudit(t, f.st, me.ResidentID, online.ActRedirect, audit.OutcomeOK) || !hasAudit(t, f.st, me.ResidentID, online.ActChatRead, audit.OutcomeOK) {
			t.Error("redirect or chat read not audited")
		}

		// Retention: nothing younger than 3 years is purged.
		if _, err := svc.Purge(ctx, admin, f.clk.Now().AddDate(-2, -11, 0)); !care.IsCode(err, care.EINVALID) {
			t.Errorf("purge under 3 years: %v", err)
		}
		if _, err := svc.Purge(ctx, vd, f.clk.Now().AddDate(-4, 0, 0)); !care.IsCode(err, care.EFORBIDDEN) {
			t.Errorf("purge by a doctor: %v", err)
		}
		if n, err := svc.Purge(ctx, admin, f.clk.Now().AddDate(-3, 0, -1)); err != nil || n != 0 {
			t.Errorf("purge old: %d %v", n, err)
		}
		f.clk.Add(3*366*24*time.Hour + time.Hour)
		if n, err := svc.Purge(ctx, admin, f.clk.Now().AddDate(-3, 0, 0)); err != nil || n != 2 {
			t.Errorf("purge after 3 years: %d %v", n, err)
		}
		if _, err := f.st.OnlineImage(ctx, v.CountyCode, v.ID, m.ImageSHA); !care.IsCode(err, care.ENOTFOUND) {
			t.Errorf("image kept after purge: %v", err)
		}
		if _, _, err := svc.Get(ctx, me, v.ID); err != nil {
			t.Errorf("the visit record stays: %v", err)
		}
	})
}

func hasAuditAny(t *testing.T, st *store.Store, action string) bool {
	t.Helper()
	evs, err := st.SearchAudit(context.Background(), audit.Filter{Action: action, Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	return len(evs) > 0
}

// TestStepUpLocks: wrong passwords at the online step-up count like failed
// sign-ins: the fifth in a row locks the account and ends its sessions.
func TestStepUpLocks(t *testing.T) {
	testdb.Each(t, func(t *testing.T, d store.Dialect) {
		f := newFixture(t, d)
		ctx := context.Background()
		vd := f.actors[care.RoleVillageDoctor]
		for i := 1; i <= f.accounts.Config.MaxFailures; i++ {
			err := f.accounts.Reauthenticate(ctx, vd, "not-the-password", "online visit 1")
			if !care.IsCode(err, care.EUNAUTHORIZED) {
				t.Fatalf("attempt %d: %v", i, err)
			}
		}
		acc, err := f.st.Account(ctx, vd.AccountID)
		if err != nil || !acc.Locked(f.clk.Now()) {
			t.Fatalf("not locked after %d failures: %v", f.accounts.Config.MaxFailures, err)
		}
		if err := f.accounts.Reauthenticate(ctx, vd, demo.DefaultPassword, "online visit 1"); !care.IsCode(err, care.EUNAUTHORIZED) {
			t.Errorf("the right password while locked: %v", err)
		}
		if err := f.accounts.Reauthenticate(ctx, f.actors[care.RoleTownshipDoctor], "", "x"); !care.IsCode(err, care.EINVALID) {
			t.Errorf("empty password: %v", err)
		}
		evs, err := f.st.SearchAudit(ctx, audit.Filter{AccountID: vd.AccountID, Action: "auth.step_up_failed", Limit: 100})
		if err != nil || len(evs) < f.accounts.Config.MaxFailures {
			t.Errorf("failed step-ups audited: %d %v", len(evs), err)
		}
	})
}

// TestOnlineChildNeedsGuardian: a child under 6 is booked only with a
// guardian present (互联网诊疗管理办法 2018 第十九条), an adult with a valid ID
// number; the guardian is recorded and counts as present on the online
// prescription.
func TestOnlineChildNeedsGuardian(t *testing.T) {
	testdb.Each(t, func(t *testing.T, d store.Dialect) {
		f := newFixture(t, d)
		ctx := context.Background()
		rxs := rxService(t, f)
		svc := &online.Service{Repo: f.st, Residents: f.res, Staff: f.st, Accounts: f.accounts, Rx: rxs, Audit: syncRecorder{f.st, t}, Now: f.clk.Now}
		vd, admin := f.actors[care.RoleVillageDoctor], f.actors[care.RoleAdmin]
		today := care.Today(f.clk.Now())
		kids, _, err := f.res.Search(ctx, vd, "", resident.Filter{BornOnOrAfter: today.AddDays(-5 * 365), Limit: 1})
		if err != nil || len(kids) == 0 {
			t.Fatalf("no child under 6 in the village: %v", err)
		}
		kid := kids[0]
		_, err = svc.Book(ctx, vd, kid.ID, online.BookInput{Diagnosis: "J45"})
		if !care.IsCode(err, care.EINVALID) || err.(*care.Error).Fields[0].Key != "online.guardian_required" {
			t.Fatalf("child without guardian: %v", err)
		}
		minor := string(idcard.Make("510722", time.Date(2015, 4, 5, 0, 0, 0, 0, time.UTC), 12))
		if _, err := svc.Book(ctx, vd, kid.ID, online.BookInput{Diagnosis: "J45", Guardian: online.Guardian{Name: "李秀兰", IDNumber: minor}}); !care.IsCode(err, care.EINVALID) ||
			err.(*care.Error).Fields[0].Key != "online.guardian_adult" {
			t.Fatalf("minor as guardian: %v", err)
		}
		adult := string(idcard.Make("510722", time.Date(1992, 4, 5, 0, 0, 0, 0, time.UTC), 12))
		g := online.Guardian{Name: "李秀兰", IDNumber: adult}
		if _, err := svc.Book(ctx, vd, kid.ID, online.BookInput{Diagnosis: "J45", Guardian: g}); !care.IsCode(err, care.EINVALID) || err.(*care.Error).Key != "online.first_visit" {
			t.Fatalf("with a guardian, still a first visit: %v", err)
		}
		// Offline asthma visit, then the follow-up with the guardian.
		if _, _, err := rxs.Sign(ctx, vd, kid.ID, &rx.Prescription{Kind: rx.KindNormal, Diagnoses: []string{"J45.9"}, Patient: rx.Patient{WeightKg: 16},
			Lines: []rx.Line{{DrugCode: "salbutamol-aerosol", Dose: 100, DoseUnit: "ug", Frequency: "prn", Route: "inh", Days: 7, Quantity: 1}}}); err != nil {
			t.Fatalf("offline prescription: %v", err)
		}
		v, err := svc.Book(ctx, vd, kid.ID, online.BookInput{Diagnosis: "J45", Guardian: g})
		if err != nil || v.Guardian.IDNumber != adult {
			t.Fatalf("book with guardian: %v", err)
		}
		p, err := f.st.Practitioner(ctx, vd.PractitionerID)
		if err != nil {
			t.Fatal(err)
		}
		p.PracticeSince = today.AddDays(-5 * 366)
		if err := f.orgs.SavePractitioner(ctx, admin, p); err != nil {
			t.Fatal(err)
		}
		if _, err := svc.Start(ctx, vd, v.ID, demo.DefaultPassword); err != nil {
			t.Fatal(err)
		}
		fs, err := svc.Preview(ctx, vd, v.ID, &rx.Prescription{Kind: rx.KindNormal, Patient: rx.Patient{WeightKg: 16},
			Lines: []rx.Line{{DrugCode: "salbutamol-aerosol", Dose: 100, DoseUnit: "ug", Frequency: "prn", Route: "inh", Days: 7, Quantity: 1}}})
		if err != nil {
			t.Fatal(err)
		}
		for _, x := range fs {
			if x.Rule == rx.RuleOnlineChild {
				t.Errorf("guardian recorded, still %+v", x)
			}
		}
	})
}
