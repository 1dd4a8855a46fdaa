package store_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"countycare/audit"
	"countycare/care"
	"countycare/demo"
	"countycare/internal/testdb"
	"countycare/org"
	"countycare/reading"
	"countycare/store"
)

// The demo's ECG and imaging reads enter the reading workflow and the
// DICOMweb study table in the bulk load: one workflow entry per study;
// older ones reported with a signed report on the modality's template
// whose seal verifies, signed by a reader of the center within (or just
// over) the turnaround target; the last hours' studies open on the
// center's worklist; every imaging study found by a QIDO-RS search; and
// ordinary uploads after the load get fresh IDs.
func TestDemoBulkReadingWorkflow(t *testing.T) {
	testdb.Each(t, func(t *testing.T, d store.Dialect) {
		now := time.Date(2026, 11, 22, 2, 0, 0, 123456789, time.UTC)
		st := testdb.Open(t, d, func() time.Time { return now })
		ctx := context.Background()
		res, err := demo.Generate(ctx, st, demo.Config{Residents: 1500, Villages: 10, VillageDoctors: 20, Now: now, ECGReads: 8000, ImagingReads: 1500}, quiet)
		if err != nil {
			t.Fatalf("demo: %v", err)
		}
		count := func(q string, args ...any) int64 {
			t.Helper()
			n, err := st.CountForTest(ctx, q, args...)
			if err != nil {
				t.Fatalf("%s: %v", q, err)
			}
			return n
		}
		if n := count(`SELECT COUNT(*) FROM ecg_studies`); n != int64(res.ECGReads) || n == 0 {
			t.Fatalf("%d ECG studies, demo says %d", n, res.ECGReads)
		}
		if n := count(`SELECT COUNT(DISTINCT study_uid) FROM imaging_instances`); n != int64(res.ImagingReads) || n == 0 {
			t.Fatalf("%d imaging studies, demo says %d", n, res.ImagingReads)
		}
		// Exactly one workflow entry per study, and no other.
		if n := count(`SELECT COUNT(*) FROM ecg_studies e WHERE (SELECT COUNT(*) FROM reading_studies r
			WHERE r.county_code = e.county_code AND r.kind = 'ecg' AND r.source_key = CAST(e.id AS TEXT)) <> 1`); n != 0 {
			t.Errorf("%d ECG studies without exactly one workflow entry", n)
		}
		if n := count(`SELECT COUNT(*) FROM imaging_instances i WHERE (SELECT COUNT(*) FROM reading_studies r
			WHERE r.county_code = i.county_code AND r.kind = 'imaging' AND r.source_key = i.study_uid) <> 1`); n != 0 {
			t.Errorf("%d imaging instances without exactly one workflow entry for their study", n)
		}
		total := res.ECGReads + res.ImagingReads
		if n := count(`SELECT COUNT(*) FROM reading_studies`); n != int64(total) {
			t.Errorf("%d workflow entries, want %d", n, total)
		}
		// The source rows' status follows the workflow's.
		if n := count(`SELECT COUNT(*) FROM ecg_studies e JOIN reading_studies r ON r.county_code = e.county_code AND r.kind = 'ecg'
			AND r.source_key = CAST(e.id AS TEXT) WHERE (r.status = 'reported') <> (e.status = 'reported')`); n != 0 {
			t.Errorf("%d ECG studies whose status is not the workflow's", n)
		}
		if n := count(`SELECT COUNT(*) FROM imaging_instances i JOIN reading_studies r ON r.county_code = i.county_code AND r.kind = 'imaging'
			AND r.source_key = i.study_uid WHERE (r.status = 'reported') <> (i.status = 'reported')`); n != 0 {
			t.Errorf("%d imaging instances whose status is not the workflow's", n)
		}

		wf := &reading.Workflow{Repo: st, Audit: nopAudit{}, Targets: reading.DefaultTargets(), Templates: reading.DefaultTemplates(), Now: func() time.Time { return now }}
		county := "411723" // the demo's default county
		insts, err := st.Institutions(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var centers []int64
		for _, in := range insts {
			if in.Kind == org.KindDiagnosis {
				centers = append(centers, in.ID)
			}
		}
		imaging := map[string]int64{} // StudyInstanceUID → resident
		readers := map[int64]*reading.Reader{}
		reader := func(id int64) *reading.Reader {
			if r, ok := readers[id]; ok {
				return r
			}
			r, err := st.StaffAccount(ctx, id)
			if err != nil {
				t.Errorf("account %d: %v", id, err)
				r = &reading.Reader{}
			}
			readers[id] = r
			return r
		}

		// Reported studies: a signed report each, sealed, on the template,
		// by a reader of the center, within or just over the target.
		reported, late := 0, 0
		var signer care.Actor
		for _, in := range insts {
			if in.Kind != org.KindVillageClinic {
				continue
			}
			sts, err := st.ReturnedReports(ctx, county, in.ID, 1_000_000)
			if err != nil {
				t.Fatalf("returned reports of %d: %v", in.ID, err)
			}
			for i := range sts {
				s := &sts[i]
				reported++
				if s.Kind == reading.KindImaging {
					imaging[s.SourceKey] = s.ResidentID
				}
				r := s.Report
				if r == nil {
					t.Errorf("reported study %d has no signed report", s.ID)
					continue
				}
				if !r.SealOK() {
					t.Errorf("study %d: the report's seal %s does not verify (%s)", s.ID, r.Seal, reading.ReportSeal(r))
				}
				tpl := wf.Templates.For(s.Modality)
				if r.Template != tpl.Modality {
					t.Errorf("study %d (%s): report on template %s", s.ID, s.Modality, r.Template)
				}
				if fs := tpl.Validate(r.Fields); len(fs) > 0 {
					t.Errorf("study %d: report fields %v fail the template: %v", s.ID, r.Fields, fs)
				}
				if a := reader(r.SignedBy); a.Role != care.RoleReader || a.InstitutionID != s.CenterID || a.Name != r.SignerName {
					t.Errorf("study %d: signed by %d %q, not a reader of center %d (%+v)", s.ID, r.SignedBy, r.SignerName, s.CenterID, a)
				}
				if !r.SignedAt.Equal(s.ReportedAt) || s.ReportedBy != r.SignedBy || s.ClaimedBy != r.SignedBy {
					t.Errorf("study %d: reported %v by %d, claimed by %d; report signed %v by %d", s.ID, s.ReportedAt, s.ReportedBy, s.ClaimedBy, r.SignedAt, r.SignedBy)
				}
				target := wf.Targets.Target(s.Modality)
				if tat := s.Turnaround(); tat <= 0 || tat > 2*target {
					t.Errorf("study %d (%s): turnaround %v against a target of %v", s.ID, s.Modality, tat, target)
				} else if tat > target {
					late++
					if s.BreachedAt.IsZero() || s.Escalations == 0 {
						t.Errorf("study %d reported late (%v) but never escalated", s.ID, tat)
					}
				}
				if !s.ReportedAt.Before(now) {
					t.Errorf("study %d reported in the future (%v)", s.ID, s.ReportedAt)
				}
				if s.Kind == reading.KindECG && signer.AccountID == 0 {
					a := reader(r.SignedBy)
					signer = care.Actor{AccountID: a.AccountID, Role: a.Role, InstitutionID: a.InstitutionID, CountyCode: county, Name: a.Name}
				}
			}
		}
		if n := count(`SELECT COUNT(*) FROM reading_studies WHERE status = 'reported'`); n != int64(reported) || n != count(`SELECT COUNT(*) FROM reading_reports`) {
			t.Errorf("%d reported studies, %d returned with their reports, %d reports", n, reported, count(`SELECT COUNT(*) FROM reading_reports`))
		}

		// Open studies: on their center's worklist, no report, recent.
		onList := map[int64]bool{}
		for _, c := range centers {
			items, err := wf.Worklist(ctx, care.Actor{AccountID: 1, Role: care.RoleReader, InstitutionID: c, CountyCode: county}, "", 500)
			if err != nil {
				t.Fatalf("worklist of center %d: %v", c, err)
			}
			for _, it := range items {
				if it.CenterID != c {
					t.Errorf("center %d's worklist lists study %d of center %d", c, it.ID, it.CenterID)
				}
				onList[it.ID] = true
			}
		}
		due, err := st.DueReadings(ctx, now.Add(365*24*time.Hour), 1_000_000)
		if err != nil {
			t.Fatal(err)
		}
		claimed := 0
		for _, s := range due {
			if s.Kind == reading.KindImaging {
				imaging[s.SourceKey] = s.ResidentID
			}
			if !onList[s.ID] {
				t.Errorf("open study %d (%s) is not on center %d's worklist", s.ID, s.Status, s.CenterID)
			}
			if s.Status == reading.FlowClaimed {
				claimed++
				if a := reader(s.ClaimedBy); a.InstitutionID != s.CenterID || a.Name != s.ClaimedName || s.ClaimedAt.After(now) {
					t.Errorf("study %d claimed by %d %q at %v, not a reader of center %d", s.ID, s.ClaimedBy, s.ClaimedName, s.ClaimedAt, s.CenterID)
				}
			} else if s.Status != reading.FlowWaiting {
				t.Errorf("open study %d has status %q", s.ID, s.Status)
			}
			if now.Sub(s.UploadedAt) > 24*time.Hour {
				t.Errorf("study %d uploaded %v is still open", s.ID, s.UploadedAt)
			}
			if reps, err := st.ReadingReports(ctx, county, s.ID); err != nil || len(reps) != 0 {
				t.Errorf("open study %d has reports %+v (%v)", s.ID, reps, err)
			}
		}
		if len(due) != len(onList) || reported+len(due) != total {
			t.Errorf("%d open studies, %d on the worklists, %d reported, %d in all", len(due), len(onList), reported, total)
		}
		if reported == 0 || len(due) == 0 || claimed == 0 || late == 0 {
			t.Errorf("%d reported (%d over the target), %d open (%d claimed): want some of each", reported, late, len(due), claimed)
		}
		t.Logf("%d reported (%d over the target), %d open (%d claimed)", reported, late, len(due), claimed)

		// Every imaging study is found by a QIDO-RS study search.
		if len(imaging) != res.ImagingReads {
			t.Fatalf("%d imaging studies in the workflow, want %d", len(imaging), res.ImagingReads)
		}
		var uids []string
		for u := range imaging {
			uids = append(uids, u)
		}
		for i := 0; i < len(uids); i += 100 {
			chunk := uids[i:min(i+100, len(uids))]
			found, err := st.SearchImagingStudies(ctx, reading.StudyQuery{CountyCode: county, Institutions: centers, StudyUIDs: chunk, Limit: 1000})
			if err != nil {
				t.Fatalf("QIDO search: %v", err)
			}
			if len(found) != len(chunk) {
				t.Errorf("QIDO search for %d studies found %d", len(chunk), len(found))
			}
			for _, f := range found {
				if rid, ok := imaging[f.StudyUID]; !ok || rid != f.ResidentID || f.InstanceCount != 1 || f.SeriesCount != 1 || len(f.Modalities) != 1 || f.StudyDate == "" {
					t.Errorf("QIDO search found %+v", f)
				}
			}
		}
		var firstImg string
		for u := range imaging {
			firstImg = u
			break
		}
		rows, err := st.ImagingStudyInstances(ctx, county, imaging[firstImg], firstImg)
		if err != nil || len(rows) != 1 {
			t.Fatalf("instances of study %s: %v %v", firstImg, rows, err)
		}

		// Ordinary uploads after the load: new IDs after the loaded ones.
		ev := audit.Event{Action: "test", Outcome: audit.OutcomeOK, CountyCode: county}
		src, err := st.ECGStudy(ctx, county, 1)
		if err != nil {
			t.Fatalf("ECG study 1: %v", err)
		}
		ne := *src
		ne.ID, ne.Status, ne.UploadedAt = 0, reading.StatusWaiting, now
		if err := st.SaveECGStudy(ctx, &ne, nil, ev); err != nil {
			t.Fatalf("ECG upload after the load: %v", err)
		}
		if ne.ID <= int64(res.ECGReads) {
			t.Errorf("new ECG study got ID %d, not after the %d loaded", ne.ID, res.ECGReads)
		}
		in := rows[0]
		in.ID, in.Status, in.UploadedAt = 0, reading.StatusWaiting, now
		in.StudyUID, in.SeriesUID, in.SOPUID = in.StudyUID+".9", in.SeriesUID+".9", in.SOPUID+".9"
		if err := st.SaveImagingInstance(ctx, &in, nil, ev); err != nil {
			t.Fatalf("DICOM upload after the load: %v", err)
		}
		if in.ID <= int64(res.ImagingReads) {
			t.Errorf("new instance got ID %d, not after the %d loaded", in.ID, res.ImagingReads)
		}
		if n := count(`SELECT COUNT(*) FROM reading_studies`); n != int64(total)+2 {
			t.Errorf("%d workflow entries after two uploads, want %d", n, total+2)
		}
		if n := count(`SELECT MIN(id) FROM reading_studies WHERE uploaded_at >= ?`, nowArg(d, now)); n <= int64(total) {
			t.Errorf("new workflow entry got ID %d, not after the %d loaded", n, total)
		}
		if n := count(`SELECT COUNT(*) FROM imaging_studies`); n != int64(res.ImagingReads)+1 {
			t.Errorf("%d imaging study rows after an upload, want %d", n, res.ImagingReads+1)
		}
		if n := count(`SELECT MAX(id) FROM imaging_studies`); n <= int64(res.ImagingReads) {
			t.Errorf("new imaging study row got ID %d, not after the %d loaded", n, res.ImagingReads)
		}
		// The new entries can be claimed and signed; the report gets a fresh ID.
		rd := signer
		var newID int64
		items, err := wf.Worklist(ctx, rd, "ECG", 500)
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range items {
			if it.SourceKey == strconv.FormatInt(ne.ID, 10) {
				newID = it.ID
			}
		}
		if newID == 0 {
			t.Fatalf("uploaded ECG %d is not on the worklist", ne.ID)
		}
		if _, err := wf.Claim(ctx, rd, newID); err != nil {
			t.Fatalf("claim: %v", err)
		}
		_, rep, err := wf.Sign(ctx, rd, newID, reading.ReportDraft{Normal: true, Fields: map[string]string{"rhythm": "窦性心律", "rate": "72", "qrs": "90", "conclusion": "正常心电图"}})
		if err != nil {
			t.Fatalf("sign: %v", err)
		}
		if rep.ID <= int64(reported) {
			t.Errorf("new report got ID %d, not after the %d loaded", rep.ID, reported)
		}
	})
}

// nowArg is an instant as the dialect stores it.
func nowArg(d store.Dialect, t time.Time) any {
	t = t.UTC().Truncate(time.Microsecond)
	if d == store.SQLite {
		return t.Format("2006-01-02T15:04:05.000000Z")
	}
	return t
}
