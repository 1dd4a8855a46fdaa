package store_test

import (
	"context"
	"countycare/internal/testfiles"
	"fmt"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"countycare/account"
	"countycare/audit"
	"countycare/care"
	"countycare/demo"
	"countycare/ecg"
	"countycare/internal/testdb"
	"countycare/org"
	"countycare/reading"
	"countycare/resident"
	"countycare/store"
)

// criticalSpy records the critical findings it is handed.
type criticalSpy struct {
	mu  sync.Mutex
	got []reading.CriticalFinding
}

func (c *criticalSpy) RaiseCritical(_ context.Context, _ care.Actor, f reading.CriticalFinding) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.got = append(c.got, f)
	return nil
}

// secondReader makes another reader account at the reader's center and
// signs it in.
func secondReader(t *testing.T, f *fixture, rd care.Actor) care.Actor {
	t.Helper()
	ctx := context.Background()
	ps, err := f.st.Practitioners(ctx, org.PractitionerFilter{Institutions: []int64{rd.InstitutionID}})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range ps {
		if p.ID == rd.PractitionerID {
			continue
		}
		name := fmt.Sprintf("reader.two%d", p.ID)
		if _, err := f.accounts.CreateStaffAccount(ctx, f.actors[care.RoleAdmin], account.NewAccount{Username: name, Role: care.RoleReader,
			PractitionerID: p.ID, Password: demo.DefaultPassword}); err != nil {
			continue
		}
		tok, _, err := f.accounts.Login(ctx, account.Credentials{Username: name, Password: demo.DefaultPassword})
		if err != nil {
			t.Fatal(err)
		}
		_, a, err := f.accounts.Authenticate(ctx, tok)
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	t.Fatal("no second practitioner at the reading center")
	return care.Actor{}
}

// TestReadingWorkflow: ECG and DICOM uploads enter the workflow in their
// upload transaction; the worklist puts the clinic's urgent study first,
// then the pre-read priority, then the waiting time; two readers racing
// to claim one study get one claim; assign and release; a report is
// validated against the modality's template, signed (seal), returned to
// the clinic (its list, an SMS) and filed with the resident; a critical
// finding reaches the sink after commit; an addendum leaves the report as
// signed; overdue studies escalate once per missed target, however often
// the scheduler runs; indicators count it all.
func TestReadingWorkflow(t *testing.T) {
	ct, err := os.ReadFile(testfiles.Path(t, "dicom", "pydicom-CT_small.dcm"))
	if err != nil {
		t.Fatalf("shared DICOM files (testdata/README.md): %v", err)
	}
	testdb.Each(t, func(t *testing.T, d store.Dialect) {
		f := newFixture(t, d)
		ctx := context.Background()
		rec := syncRecorder{f.st, t}
		svc := &reading.Service{Repo: f.st, Residents: f.res, Orgs: f.orgs, Audit: rec, PreRead: ecg.DefaultPreReadConfig(), Now: f.clk.Now}
		img := &reading.ImagingService{Repo: f.st, Residents: f.res, Orgs: f.orgs, Now: f.clk.Now}
		spy := &criticalSpy{}
		wf := &reading.Workflow{Repo: f.st, Audit: rec, Targets: reading.DefaultTargets(), Templates: reading.DefaultTemplates(), Critical: spy,
			Now: f.clk.Now, OnError: func(err error) { t.Error(err) }}
		vd, rd := f.actors[care.RoleVillageDoctor], f.actors[care.RoleReader]
		rd2 := secondReader(t, f, rd)
		people, _, _ := f.res.Search(ctx, vd, "", resident.Filter{Limit: 3})
		if len(people) < 3 {
			t.Fatal("no residents in the demo village")
		}
		start := f.clk.Now()
		tick := func(d time.Duration) { f.clk.t = f.clk.t.Add(d) }
		upECG := func(p int, csv []byte, urgent bool) *reading.ECGStudy {
			t.Helper()
			tick(time.Minute)
			st, err := svc.UploadECG(ctx, vd, people[p].ID, reading.ECGUpload{CenterID: rd.InstitutionID, SignalName: "e.csv", Signal: csv, Urgent: urgent})
			if err != nil {
				t.Fatal(err)
			}
			return st
		}
		normal := upECG(0, csvECG(repeatRR(11, 0.85)), false)
		pause := upECG(1, csvECG(append(append(repeatRR(6, 0.8), 3.5), repeatRR(6, 0.8)...)), false)
		urgent := upECG(2, csvECG(repeatRR(11, 0.85)), true)
		tick(time.Minute)
		in, err := img.UploadDICOM(ctx, vd, people[0].ID, reading.DICOMUpload{CenterID: rd.InstitutionID, Name: "ct.dcm", File: ct, ConfirmMismatch: true})
		if err != nil {
			t.Fatal(err)
		}
		// A second instance of the same study (as STOW-RS stores it) joins
		// the study's entry and marks it urgent; it makes no second entry.
		second := *in
		second.ID, second.SOPUID, second.Urgent = 0, in.SOPUID+".2", true
		if err := f.st.SaveImagingInstance(ctx, &second, nil, audit.Event{Action: reading.ActDICOMUpload, Outcome: audit.OutcomeOK, CountyCode: in.CountyCode, ResidentID: in.ResidentID}); err != nil {
			t.Fatal(err)
		}

		all, err := wf.Worklist(ctx, rd, "", 0)
		if err != nil {
			t.Fatal(err)
		}
		var keys []string
		for _, s := range all {
			keys = append(keys, s.Kind+":"+s.SourceKey)
		}
		want := []string{"ecg:" + strconv.FormatInt(urgent.ID, 10), "imaging:" + in.StudyUID, "ecg:" + strconv.FormatInt(pause.ID, 10), "ecg:" + strconv.FormatInt(normal.ID, 10)}
		if fmt.Sprint(keys) != fmt.Sprint(want) {
			t.Fatalf("worklist %v, want %v (urgent by upload order, then pre-read priority, then waiting)", keys, want)
		}
		if all[1].Modality != "CT" || !all[1].DueAt.Equal(in.UploadedAt.Add(time.Hour)) || !all[0].DueAt.Equal(urgent.UploadedAt.Add(15*time.Minute)) {
			t.Errorf("due times: CT %s %s, ECG %s", all[1].Modality, all[1].DueAt, all[0].DueAt)
		}
		if p := all[2]; p.PreRead != reading.PreReadAbnormal || len(p.Findings) == 0 || p.Findings[0] != ecg.FindingPause || p.HeartRate < 50 || all[3].PreRead != reading.PreReadNormal {
			t.Errorf("the reader does not see the pre-read: %+v", p)
		}
		if ecgs, _ := wf.Worklist(ctx, rd, "ECG", 0); len(ecgs) != 3 {
			t.Errorf("ECG worklist has %d studies, want 3", len(ecgs))
		}
		if _, err := wf.Worklist(ctx, vd, "", 0); care.ErrorCode(err) != care.EFORBIDDEN {
			t.Errorf("village doctor's worklist: %v", err)
		}
		pauseID := all[2].ID

		// Two readers claim the same study at once: exactly one gets it.
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for i, a := range []care.Actor{rd, rd2} {
			wg.Add(1)
			go func() { defer wg.Done(); _, errs[i] = wf.Claim(ctx, a, pauseID) }()
		}
		wg.Wait()
		if (errs[0] == nil) == (errs[1] == nil) || (care.ErrorCode(errs[0]) != care.ECONFLICT && care.ErrorCode(errs[1]) != care.ECONFLICT) {
			t.Fatalf("racing claims: %v, %v; want one claim and one ECONFLICT", errs[0], errs[1])
		}
		holder, other := rd, rd2
		if errs[0] != nil {
			holder, other = rd2, rd
		}
		if _, err := wf.Claim(ctx, other, pauseID); care.ErrorCode(err) != care.ECONFLICT {
			t.Errorf("claim of a held study: %v", err)
		}
		if _, err := wf.Release(ctx, other, pauseID); care.ErrorCode(err) != care.ECONFLICT {
			t.Errorf("release by someone else: %v", err)
		}
		if _, err := wf.Release(ctx, holder, pauseID); err != nil {
			t.Fatal(err)
		}
		// Assign to a named reader of the center; not to a village doctor.
		if _, err := wf.Assign(ctx, rd2, pauseID, vd.AccountID); care.ErrorCode(err) != care.EINVALID {
			t.Errorf("assign to a village doctor: %v", err)
		}
		st, err := wf.Assign(ctx, rd2, pauseID, rd.AccountID)
		if err != nil || st.ClaimedBy != rd.AccountID || st.Status != reading.FlowClaimed {
			t.Fatalf("assign: %+v %v", st, err)
		}

		// The report: template faults name the field and store nothing.
		bad := reading.ReportDraft{Fields: map[string]string{"rate": "900", "qrs": "90", "conclusion": "窦性心律", "mood": "x"}}
		_, _, err = wf.Sign(ctx, rd, pauseID, bad)
		var ce *care.Error
		if !asCare(err, &ce) || ce.Code != care.EINVALID || fmt.Sprint(ce.Fields) == "" {
			t.Fatalf("invalid report: %v", err)
		}
		fields := map[string]bool{}
		for _, fe := range ce.Fields {
			fields[fe.Field+"/"+fe.Key] = true
		}
		for _, w := range []string{"rate/reading.field_range", "rhythm/field.required", "mood/reading.field_unknown"} {
			if !fields[w] {
				t.Errorf("report faults %v lack %s", ce.Fields, w)
			}
		}
		good := reading.ReportDraft{Fields: map[string]string{"rhythm": "窦性心律，窦性停搏", "rate": "72", "qrs": "90", "pr": "160",
			"st_t": "V1-V4 ST 段抬高 0.3 mV", "conclusion": "窦性停搏 3.5 s；急性前壁心肌梗死图形"}, Critical: true, CriticalText: "急性前壁 ST 段抬高型心肌梗死图形"}
		if _, _, err := wf.Sign(ctx, rd2, pauseID, good); care.ErrorCode(err) != care.ECONFLICT {
			t.Errorf("sign by a reader who does not hold it: %v", err)
		}
		if _, _, err := wf.Sign(ctx, vd, pauseID, good); care.ErrorCode(err) != care.EFORBIDDEN {
			t.Errorf("sign by a village doctor: %v", err)
		}
		if len(spy.got) != 0 {
			t.Fatalf("critical sink called before a report was signed: %+v", spy.got)
		}
		tick(10*time.Minute + 1234) // nanoseconds the database does not keep: the seal must still check after a reload
		st, rep, err := wf.Sign(ctx, rd, pauseID, good)
		if err != nil {
			t.Fatal(err)
		}
		if st.Status != reading.FlowReported || rep.ID == 0 || !rep.SealOK() || rep.SignerName != rd.Name {
			t.Errorf("signed: %+v %+v", st, rep)
		}
		if len(spy.got) != 1 || spy.got[0].SourceKind != "reading.ecg" || spy.got[0].SourceID != pauseID || spy.got[0].ResidentID != people[1].ID ||
			spy.got[0].ClinicID != vd.InstitutionID || spy.got[0].OrderedBy != vd.AccountID || spy.got[0].ReportID != rep.ID || spy.got[0].Finding != good.CriticalText {
			t.Errorf("critical sink got %+v", spy.got)
		}
		if _, _, err := wf.Sign(ctx, rd, pauseID, good); care.ErrorCode(err) != care.ECONFLICT {
			t.Errorf("second report: %v", err)
		}
		// The ECG leaves both worklists.
		if old, _ := svc.ECGWorklist(ctx, rd, 0); len(old) != 2 {
			t.Errorf("ECG worklist after the report has %d studies, want 2", len(old))
		}

		// Addendum: the report stays as signed.
		if _, err := wf.Addend(ctx, rd2, all[3].ID, "补充", false, ""); care.ErrorCode(err) != care.ECONFLICT {
			t.Errorf("addendum to an unreported study: %v", err)
		}
		add, err := wf.Addend(ctx, rd2, pauseID, "复核：V5-V6 亦见 ST 段抬高。", false, "")
		if err != nil {
			t.Fatal(err)
		}
		_, reps, err := wf.Study(ctx, vd, pauseID)
		if err != nil {
			t.Fatal(err)
		}
		if len(reps) != 2 || reps[0].Seal != rep.Seal || !reps[0].SealOK() || reps[0].Fields["conclusion"] != good.Fields["conclusion"] ||
			reps[1].ID != add.ID || reps[1].ParentID != rep.ID || !reps[1].SealOK() || reps[1].Seal == rep.Seal {
			t.Errorf("reports after the addendum: %+v", reps)
		}
		reps[0].Fields["conclusion"] = "改过"
		if reps[0].SealOK() {
			t.Error("an edited report still matches its seal")
		}

		// Returned to the clinic; another clinic cannot see it.
		ret, err := wf.Returned(ctx, vd, 0)
		if err != nil || len(ret) != 1 || ret[0].ID != pauseID || !ret[0].Critical || ret[0].Summary != good.Fields["conclusion"] {
			t.Errorf("returned: %+v %v", ret, err)
		}
		if _, _, err := wf.Study(ctx, f.actors[care.RoleTownshipDoctor], pauseID); care.ErrorCode(err) != care.ENOTFOUND {
			t.Errorf("another clinic's doctor opens the study: %v", err)
		}
		sts, byStudy, err := wf.ForResident(ctx, vd, people[1].CountyCode, people[1].ID)
		if err != nil || len(sts) != 1 || len(byStudy[pauseID]) != 2 {
			t.Errorf("resident record: %d studies, %d reports, %v", len(sts), len(byStudy[pauseID]), err)
		}
		msgs, _ := f.st.PendingMessages(ctx, 1000)
		returned := 0
		for _, m := range msgs {
			if m.Purpose == reading.PurposeReturned {
				returned++
			}
		}
		if returned != 2 {
			t.Errorf("%d report messages queued, want 2 (report, addendum)", returned)
		}

		// Escalation: at start+17 min the first ECGs are past 15 min, the
		// CT (60 min) is not; a second run escalates nothing more.
		// The boundary: at its due time itself the normal ECG is not late yet
		// (not escalated, not flagged); it is a microsecond later.
		due := normal.UploadedAt.Add(15 * time.Minute).UTC().Truncate(time.Microsecond)
		f.clk.t = due
		if n, err := wf.EscalateDue(ctx); err != nil || n != 0 {
			t.Errorf("at the due time itself: escalated %d, %v; want 0", n, err)
		}
		wlAt, _ := wf.Worklist(ctx, rd, "ECG", 0)
		for _, s := range wlAt {
			if s.SourceKey == strconv.FormatInt(normal.ID, 10) && (!s.DueAt.Equal(due) || s.Breached(due) || !s.Breached(due.Add(time.Microsecond)) || !s.Deadline(wf.Targets).Equal(due)) {
				t.Errorf("at its due time %s the study is flagged %v (due %s, deadline %s)", due, s.Breached(due), s.DueAt, s.Deadline(wf.Targets))
			}
		}
		f.clk.t = start.Add(17*time.Minute + 30*time.Second)
		n, err := wf.EscalateDue(ctx)
		if err != nil || n != 1 {
			t.Fatalf("escalated %d, %v; want 1 (the normal ECG; the urgent one is due at 18 min)", n, err)
		}
		if n, err := wf.EscalateDue(ctx); err != nil || n != 0 {
			t.Errorf("second run escalated %d, %v; want 0", n, err)
		}
		// Two schedulers at once (two servers): each due study escalates once.
		f.clk.t = start.Add(70 * time.Minute)
		var ns [2]int
		var nerrs [2]error
		var swg sync.WaitGroup
		for i := range 2 {
			swg.Add(1)
			go func() { defer swg.Done(); ns[i], nerrs[i] = wf.EscalateDue(ctx) }()
		}
		swg.Wait()
		if nerrs[0] != nil || nerrs[1] != nil || ns[0]+ns[1] != 3 {
			t.Errorf("at 70 min two schedulers escalated %v, %v; want 3 in all (the normal ECG again, the urgent one, the CT)", ns, nerrs)
		}
		open, _ := wf.Worklist(ctx, rd, "", 0)
		for _, s := range open {
			if !s.Breached(f.clk.Now()) || s.Escalations == 0 {
				t.Errorf("open study %d not flagged: %+v", s.ID, s)
			}
			// Once escalated, DueAt is the next reminder, still to come; the
			// report deadline stays upload + target, past.
			if deadline := s.Deadline(wf.Targets); !deadline.Equal(s.UploadedAt.Add(wf.Targets.Target(s.Modality))) || !s.DueAt.After(f.clk.Now()) || deadline.After(f.clk.Now()) {
				t.Errorf("escalated study %d: deadline %s, next reminder %s, now %s", s.ID, deadline, s.DueAt, f.clk.Now())
			}
		}
		escs, _ := f.st.SearchAudit(ctx, audit.Filter{Action: reading.ActEscalate})
		if len(escs) != 4 {
			t.Errorf("%d escalation audit rows, want 4", len(escs))
		}

		// Indicators: the reader's center; an analyst sees the county.
		ind, err := wf.Indicators(ctx, rd, start, start.Add(24*time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		if len(ind.ByModality) != 2 || ind.ByModality[0].Name != "ECG" || ind.ByModality[0].Studies != 3 || ind.ByModality[0].Reported != 1 ||
			len(ind.Turnaround) != 1 || ind.Turnaround[0].Reported != 1 || len(ind.ByReader) != 1 || ind.ByReader[0].Name != rd.Name {
			t.Errorf("indicators %+v", ind)
		}
		if _, err := wf.Indicators(ctx, f.actors[care.RoleAnalyst], start, start.Add(24*time.Hour)); err != nil {
			t.Errorf("analyst indicators: %v", err)
		}
		if _, err := wf.Indicators(ctx, vd, start, start.Add(24*time.Hour)); care.ErrorCode(err) != care.EFORBIDDEN {
			t.Errorf("village doctor indicators: %v", err)
		}
		// Every read and write of the studies is audited.
		for act, min := range map[string]int{reading.ActClaim: 1, reading.ActAssign: 1, reading.ActRelease: 1, reading.ActReport: 1,
			reading.ActAddendum: 1, reading.ActStudyRead: 1, reading.ActWorklist: 3, reading.ActReturned: 1} {
			rows, _ := f.st.SearchAudit(ctx, audit.Filter{Action: act})
			if len(rows) < min {
				t.Errorf("audit %s: %d rows, want at least %d", act, len(rows), min)
			}
		}
	})
}
