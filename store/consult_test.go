package store_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"countycare/audit"
	"countycare/care"
	"countycare/consult"
	"countycare/internal/testdb"
	"countycare/org"
	"countycare/resident"
	"countycare/store"
)

type fakeLive struct {
	mu     sync.Mutex
	online map[int64]bool
	got    map[int64][]string
}

func (f *fakeLive) Publish(ps []int64, kind string, id int64, text string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, p := range ps {
		f.got[p] = append(f.got[p], kind)
	}
}
func (f *fakeLive) Online(p int64) bool { f.mu.Lock(); defer f.mu.Unlock(); return f.online[p] }

func consultService(f *fixture, live consult.Publisher) *consult.Service {
	return &consult.Service{Repo: f.st, Residents: f.res, Orgs: f.orgs, Audit: syncRecorder{f.st, nil}, Live: live, Config: consult.DefaultConfig(), Now: f.clk.Now}
}

func draftFor(f *fixture, t *testing.T, residentID int64, key string) consult.Draft {
	t.Helper()
	hosp := f.actors[care.RoleCountySpecialist].InstitutionID
	return consult.Draft{ResidentID: residentID, Kind: consult.OneToOne, Urgency: consult.Urgent, Reason: "血压控制不佳伴胸闷", Purpose: "明确诊断与调整用药",
		Summary: "68 岁男性，高血压 10 年，近两周血压 170/100 mmHg，活动后胸闷。", Specialty: "cardiology", ToInstitution: hosp, Key: key,
		Consent: consult.Consent{By: consult.ConsentPatient, Method: consult.ConsentWritten, At: f.clk.Now().Add(-time.Minute)}}
}

// TestConsultationFlow walks a case through the service on both databases:
// consent required, idempotent retries, routing to the doctor on duty,
// escalation when the deadline passes (also after a "restart": a new
// service over the same store), decline with reason to the next doctor,
// acceptance, a signed opinion, the decision, and the hub's access to the
// record ending after the grace period. Strangers get 404; every step is audited.
func TestConsultationFlow(t *testing.T) {
	testdb.Each(t, func(t *testing.T, d store.Dialect) {
		f := newFixture(t, d)
		live := &fakeLive{online: map[int64]bool{}, got: map[int64][]string{}}
		svc := consultService(f, live)
		ctx := context.Background()
		vd, cs := f.actors[care.RoleVillageDoctor], f.actors[care.RoleCountySpecialist]
		people, _, _ := f.res.Search(ctx, vd, "", resident.Filter{BornOnOrBefore: care.Date{Year: 1970, Month: 1, Day: 1}, Limit: 1})
		pid := people[0].ID

		// No consent, no request.
		dr := draftFor(f, t, pid, "k1")
		dr.Consent = consult.Consent{}
		if _, err := svc.Request(ctx, vd, dr); care.ErrorCode(err) != care.EINVALID {
			t.Fatalf("without consent: %v", err)
		}
		if _, err := svc.Request(ctx, cs, draftFor(f, t, pid, "k0")); care.ErrorCode(err) != care.EFORBIDDEN {
			t.Errorf("a specialist opened a request: %v", err)
		}
		// The specialist cannot read the resident before the request.
		if _, err := f.res.Get(ctx, cs, pid); care.ErrorCode(err) != care.ENOTFOUND {
			t.Fatalf("specialist read the resident before any case: %v", err)
		}
		c, err := svc.Request(ctx, vd, draftFor(f, t, pid, "k1"))
		if err != nil {
			t.Fatal(err)
		}
		if c.AssignedTo != cs.PractitionerID || c.Status != consult.StatusRequested || !c.Deadline.Equal(f.clk.Now().Add(10*time.Minute)) {
			t.Fatalf("routing: assigned %d (specialist %d), %s, deadline %s", c.AssignedTo, cs.PractitionerID, c.Status, c.Deadline)
		}
		// A retry with the same key returns the same case; a changed body with the key is refused.
		again, err := svc.Request(ctx, vd, draftFor(f, t, pid, "k1"))
		if err != nil || again.ID != c.ID {
			t.Fatalf("retry: %v %v", again, err)
		}
		changed := draftFor(f, t, pid, "k1")
		changed.Reason = "其他"
		if _, err := svc.Request(ctx, vd, changed); care.ErrorCode(err) != care.ECONFLICT {
			t.Errorf("reused key: %v", err)
		}
		if list, _ := f.st.ListConsultations(ctx, consult.Filter{County: vd.CountyCode, ResidentID: pid}); len(list) != 1 {
			t.Errorf("%d cases after a retry", len(list))
		}
		if got := live.got[cs.PractitionerID]; len(got) != 1 || got[0] != "consult.new" {
			t.Errorf("live events to the specialist: %v", got)
		}
		// The offline specialist also gets a text message, about this case,
		// with its template parameters.
		if ms, _ := f.st.PendingMessages(ctx, 10); len(ms) != 1 || ms[0].Purpose != consult.PurposeAlert || ms[0].Ref != consult.MessageRef(c.ID) ||
			ms[0].Practitioner != cs.PractitionerID || ms[0].Params["urgency"] == "" || ms[0].Params["minutes"] == "" {
			t.Errorf("outbox %+v", ms)
		}
		// Now the hub may read the record.
		if _, err := f.res.Get(ctx, cs, pid); err != nil {
			t.Fatalf("specialist cannot read the resident during the case: %v", err)
		}
		// A doctor not party to the case (another village) gets 404.
		other := vd
		other.InstitutionID = f.actors[care.RoleTownshipDoctor].InstitutionID
		other.Role = care.RoleTownshipDoctor
		if _, _, _, err := svc.Detail(ctx, other, c.ID); care.ErrorCode(err) != care.ENOTFOUND {
			t.Errorf("stranger: %v", err)
		}
		// A video call's join is a timeline event with its audit row, and calls the assignee.
		if _, _, err := svc.Signal(ctx, vd, c.ID, consult.Signal{Type: consult.SigJoin}); err != nil {
			t.Fatalf("video join: %v", err)
		}
		if evs, _ := f.st.ConsultationEvents(ctx, c.ID); len(evs) == 0 || evs[len(evs)-1].Kind != consult.EvVideoIn || evs[len(evs)-1].Practitioner != vd.PractitionerID {
			t.Errorf("timeline after a video join: %+v", evs)
		}
		if got := live.got[cs.PractitionerID]; len(got) != 2 || got[1] != "consult.video" {
			t.Errorf("live events to the specialist after the join: %v", got)
		}
		// Nobody answers: 10 minutes later the scheduler escalates to the next on duty.
		f.clk.Add(9 * time.Minute)
		if n, _ := svc.EscalateDue(ctx); n != 0 {
			t.Fatalf("escalated before the deadline: %d", n)
		}
		f.clk.Add(61 * time.Second)
		restarted := consultService(f, live) // a new process over the same database
		if n, err := restarted.EscalateDue(ctx); err != nil || n != 1 {
			t.Fatalf("escalation: %d %v", n, err)
		}
		c2, chain, head, _ := f.st.Consultation(ctx, c.ID)
		if c2.Step != 1 || c2.AssignedTo == cs.PractitionerID || len(chain) < 2 || c2.AssignedTo != chain[1] || c2.Escalations != 1 {
			t.Fatalf("after escalation: step %d assigned %d chain %v head %d", c2.Step, c2.AssignedTo, chain, head)
		}
		// The first specialist can no longer accept; the new assignee declines with a reason → head.
		if _, err := svc.Accept(ctx, cs, c.ID); care.ErrorCode(err) != care.EFORBIDDEN {
			t.Errorf("accept by the previous assignee: %v", err)
		}
		second := cs
		second.PractitionerID = c2.AssignedTo
		if _, err := svc.Decline(ctx, second, c.ID, ""); care.ErrorCode(err) != care.EINVALID {
			t.Errorf("decline without a reason: %v", err)
		}
		c3, err := svc.Decline(ctx, second, c.ID, "正在抢救患者")
		if err != nil {
			t.Fatal(err)
		}
		headActor := cs
		headActor.PractitionerID = c3.AssignedTo
		if c3.Status != consult.StatusRequested || c3.Step != 2 {
			t.Fatalf("after a decline: %+v", c3)
		}
		if _, err := svc.Accept(ctx, headActor, c.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := svc.Sign(ctx, headActor, c.ID, consult.Opinion{Assessment: "高血压 3 级，很高危", DiagnosisCode: "1I0", Plan: "加用氨氯地平"}); care.ErrorCode(err) != care.EINVALID {
			t.Errorf("bad ICD-10 shape: %v", err)
		}
		c4, err := svc.Sign(ctx, headActor, c.ID, consult.Opinion{Assessment: "高血压 3 级，很高危", DiagnosisCode: "I10", DiagnosisText: "原发性高血压", Plan: "加用氨氯地平，2 周复查"})
		if err != nil || c4.Status != consult.StatusAnswered || len(c4.Opinion.Hash) != 64 {
			t.Fatalf("opinion: %+v %v", c4, err)
		}
		if _, err := svc.Decide(ctx, headActor, c.ID, consult.DecisionAdvice, ""); care.ErrorCode(err) != care.EFORBIDDEN {
			t.Errorf("the invited doctor decided: %v", err)
		}
		if _, err := svc.Decide(ctx, vd, c.ID, consult.DecisionAdvice, "按会诊意见调整用药"); err != nil {
			t.Fatal(err)
		}
		if _, err := svc.Decide(ctx, vd, c.ID, consult.DecisionAdvice, ""); care.ErrorCode(err) != care.ECONFLICT {
			t.Errorf("second decision: %v", err)
		}
		_, evs, _, err := svc.Detail(ctx, vd, c.ID)
		kinds := map[string]int{}
		for _, e := range evs {
			kinds[e.Kind]++
		}
		if err != nil || kinds[consult.EvEscalated] != 1 || kinds[consult.EvPassed] != 1 || kinds[consult.EvOpinion] != 1 || kinds[consult.EvDecision] != 1 {
			t.Errorf("timeline %v %v", kinds, err)
		}
		// Access ends after the grace period.
		f.clk.Add(71 * time.Hour)
		if _, err := f.res.Get(ctx, cs, pid); err != nil {
			t.Errorf("access within the grace period: %v", err)
		}
		f.clk.Add(2 * time.Hour)
		if _, err := f.res.Get(ctx, cs, pid); care.ErrorCode(err) != care.ENOTFOUND {
			t.Errorf("access after the grace period: %v", err)
		}
		// The case itself closes to the hub with the record: its summary and files too.
		if _, _, _, err := svc.Detail(ctx, headActor, c.ID); care.ErrorCode(err) != care.ENOTFOUND {
			t.Errorf("the hub reads a case closed past its grace period: %v", err)
		}
		if _, _, _, err := svc.Detail(ctx, vd, c.ID); err != nil {
			t.Errorf("the inviting clinic keeps its case: %v", err)
		}
		if evs, _ := f.st.SearchAudit(ctx, audit.Filter{Action: consult.ActEscalate}); len(evs) != 1 {
			t.Errorf("escalation audit rows: %d", len(evs))
		}
	})
}

// TestRehabSessions: a remote rehabilitation case lays out its sessions a
// week apart once the guidance is signed; each is recorded once.
func TestRehabSessions(t *testing.T) {
	testdb.Each(t, func(t *testing.T, d store.Dialect) {
		f := newFixture(t, d)
		svc := consultService(f, nil)
		ctx := context.Background()
		vd, cs := f.actors[care.RoleVillageDoctor], f.actors[care.RoleCountySpecialist]
		people, _, _ := f.res.Search(ctx, vd, "", resident.Filter{BornOnOrBefore: care.Date{Year: 1960, Month: 1, Day: 1}, Limit: 1})
		dr := draftFor(f, t, people[0].ID, "rehab-1")
		dr.Kind, dr.RehabSessions = consult.Rehab, 3
		c, err := svc.Request(ctx, vd, dr)
		if err != nil {
			t.Fatal(err)
		}
		if err := svc.SessionDone(ctx, vd, c.ID, 1, ""); care.ErrorCode(err) != care.ECONFLICT {
			t.Errorf("a session before the guidance: %v", err)
		}
		if _, err := svc.Accept(ctx, cs, c.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := svc.Sign(ctx, cs, c.ID, consult.Opinion{Assessment: "脑卒中后偏瘫", Plan: "每周一次远程步态训练指导"}); err != nil {
			t.Fatal(err)
		}
		if err := svc.SessionDone(ctx, vd, c.ID, 1, "步态训练"); err != nil {
			t.Fatal(err)
		}
		if err := svc.SessionDone(ctx, cs, c.ID, 1, ""); care.ErrorCode(err) != care.ECONFLICT {
			t.Errorf("session 1 twice: %v", err)
		}
		if err := svc.SessionDone(ctx, vd, c.ID, 4, ""); care.ErrorCode(err) != care.EINVALID {
			t.Errorf("session 4 of 3: %v", err)
		}
		got, evs, _, _ := svc.Detail(ctx, vd, c.ID)
		plan := consult.RehabPlan(got, evs)
		if len(plan) != 3 || plan[0].Done.IsZero() || !plan[1].Done.IsZero() || plan[0].Note != "步态训练" {
			t.Errorf("plan %+v", plan)
		}
	})
}

// TestConsultationFiles: a file sent on an open case is downloaded by the
// parties with an audit row each time; nothing is attached to a closed case,
// and a withdrawn case closes to the hub at once.
func TestConsultationFiles(t *testing.T) {
	testdb.Each(t, func(t *testing.T, d store.Dialect) {
		f := newFixture(t, d)
		svc := consultService(f, nil)
		ctx := context.Background()
		vd, cs := f.actors[care.RoleVillageDoctor], f.actors[care.RoleCountySpecialist]
		people, _, _ := f.res.Search(ctx, vd, "", resident.Filter{BornOnOrBefore: care.Date{Year: 1970, Month: 1, Day: 1}, Limit: 1})
		c, err := svc.Request(ctx, vd, draftFor(f, t, people[0].ID, "files-1"))
		if err != nil {
			t.Fatal(err)
		}
		pdf := []byte("%PDF-1.4\n% test\n")
		at, err := svc.Attach(ctx, vd, c.ID, "报告\xff.pdf", pdf)
		if err != nil || at.Type != "application/pdf" || at.Name != "报告\uFFFD.pdf" {
			t.Fatalf("attach: %+v %v", at, err)
		}
		if _, err := svc.Post(ctx, vd, c.ID, "检查报告", []consult.Attachment{at}); err != nil {
			t.Fatal(err)
		}
		if _, data, err := svc.File(ctx, cs, c.ID, at.SHA256); err != nil || string(data) != string(pdf) {
			t.Fatalf("download: %v", err)
		}
		if evs, _ := f.st.SearchAudit(ctx, audit.Filter{Action: consult.ActFile}); len(evs) != 1 || evs[0].ResidentID != people[0].ID {
			t.Errorf("file audit rows: %+v", evs)
		}
		if _, err := svc.Cancel(ctx, vd, c.ID, "患者已好转"); err != nil {
			t.Fatal(err)
		}
		if _, err := svc.Attach(ctx, vd, c.ID, "b.pdf", pdf); care.ErrorCode(err) != care.ECONFLICT {
			t.Errorf("attach to a withdrawn case: %v", err)
		}
		if _, _, err := svc.File(ctx, cs, c.ID, at.SHA256); care.ErrorCode(err) != care.ENOTFOUND {
			t.Errorf("the hub downloads from a withdrawn case: %v", err)
		}
	})
}

// TestMDTDepartments: a multidisciplinary case invites other departments
// of the same hospital only; their doctors become parties.
func TestMDTDepartments(t *testing.T) {
	testdb.Each(t, func(t *testing.T, d store.Dialect) {
		f := newFixture(t, d)
		svc := consultService(f, nil)
		ctx := context.Background()
		vd, cs := f.actors[care.RoleVillageDoctor], f.actors[care.RoleCountySpecialist]
		people, _, _ := f.res.Search(ctx, vd, "", resident.Filter{BornOnOrBefore: care.Date{Year: 1970, Month: 1, Day: 1}, Limit: 1})
		ds, _ := f.st.Departments(ctx, cs.InstitutionID)
		var endo int64
		for _, x := range ds {
			if x.Specialty == "endocrinology" {
				endo = x.ID
			}
		}
		dr := draftFor(f, t, people[0].ID, "mdt-1")
		dr.Kind, dr.Departments = consult.MDT, []int64{999999}
		if _, err := svc.Request(ctx, vd, dr); care.ErrorCode(err) != care.EINVALID {
			t.Errorf("a department of no hospital: %v", err)
		}
		dr.Departments = []int64{endo}
		c, err := svc.Request(ctx, vd, dr)
		if err != nil || len(c.Departments) != 2 || c.Departments[1] != endo {
			t.Fatalf("MDT: %+v %v", c, err)
		}
		// A partner hospital's department joins another MDT: its doctor is a
		// party and reads the record while the case lasts (a second care link).
		tr, _ := f.orgs.Tree(ctx)
		partner := tr.OfKind(0, org.KindPartner)[0]
		pdep := &org.Department{InstitutionID: partner.ID, Name: "心内科", Specialty: "cardiology"}
		if err := f.st.CreateDepartment(ctx, pdep, audit.Event{Action: "test"}); err != nil {
			t.Fatal(err)
		}
		pdoc := &org.Practitioner{InstitutionID: partner.ID, DepartmentID: pdep.ID, Name: "省专家", Sex: "F", Title: org.TitleChief, Specialty: "cardiology",
			PracticeSince: care.Date{Year: 2000, Month: 1, Day: 1}, Active: true}
		if err := f.st.CreatePractitioner(ctx, pdoc, audit.Event{Action: "test"}); err != nil {
			t.Fatal(err)
		}
		expert := care.Actor{AccountID: 999, PractitionerID: pdoc.ID, Role: care.RoleCountySpecialist, InstitutionID: partner.ID, CountyCode: vd.CountyCode}
		if _, err := f.res.Get(ctx, expert, people[0].ID); care.ErrorCode(err) != care.ENOTFOUND {
			t.Fatalf("the partner read the resident before being invited: %v", err)
		}
		dr2 := draftFor(f, t, people[0].ID, "mdt-2")
		dr2.Kind, dr2.Departments = consult.MDT, []int64{pdep.ID}
		c2, err := svc.Request(ctx, vd, dr2)
		if err != nil || len(c2.ExtraLinks) != 1 {
			t.Fatalf("MDT with a partner: %+v %v", c2, err)
		}
		if _, _, _, err := svc.Detail(ctx, expert, c2.ID); err != nil {
			t.Errorf("the partner's expert on the case: %v", err)
		}
		if _, _, _, err := svc.Detail(ctx, expert, c.ID); care.ErrorCode(err) != care.ENOTFOUND {
			t.Errorf("the partner's expert on a case not inviting them: %v", err)
		}
		if _, err := f.res.Get(ctx, expert, people[0].ID); err != nil {
			t.Errorf("the partner reads the record during the case: %v", err)
		}
		if _, err := svc.Cancel(ctx, vd, c2.ID, "已转上级"); err != nil {
			t.Fatal(err)
		}
		f.clk.Add(time.Minute)
		if _, _, _, err := svc.Detail(ctx, expert, c2.ID); care.ErrorCode(err) != care.ENOTFOUND {
			t.Errorf("the partner keeps a withdrawn case: %v", err)
		}
		if _, err := f.res.Get(ctx, expert, people[0].ID); care.ErrorCode(err) != care.ENOTFOUND {
			t.Errorf("the partner keeps the record after the case: %v", err)
		}
		// An endocrinologist of the hub is a party.
		ps, _ := f.st.Practitioners(ctx, org.PractitionerFilter{Institutions: []int64{cs.InstitutionID}, Limit: 500})
		for _, p := range ps {
			if p.DepartmentID == endo {
				other := cs
				other.PractitionerID = p.ID
				if _, _, _, err := svc.Detail(ctx, other, c.ID); err != nil {
					t.Errorf("invited department's doctor: %v", err)
				}
				break
			}
		}
	})
}
