package store_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"countycare/audit"
	"countycare/care"
	"countycare/dicom"
	"countycare/internal/testdb"
	"countycare/internal/testfiles"
	"countycare/reading"
	"countycare/resident"
	"countycare/store"
)

// TestSaveImagingInstancesBatch: STOW-RS's group commit (issue 16), on
// both databases. In one batch, an instance that cannot be stored (a
// duplicate SOP instance, a study filed under another resident) is left
// out alone with its reason while the others are stored, with their study
// row, reading entry and audit row; concurrent batches share commits and
// every one is stored and audited once; a transaction that fails at
// commit stores nothing of any batch in its group and says so to each
// caller; the audit chain verifies after all of it.
func TestSaveImagingInstancesBatch(t *testing.T) {
	ct := testfiles.Read(t, "dicom", "pydicom-CT_small.dcm")
	testdb.Each(t, func(t *testing.T, d store.Dialect) {
		f := newFixture(t, d)
		ctx := context.Background()
		vd, rd := f.actors[care.RoleVillageDoctor], f.actors[care.RoleReader]
		people, _, _ := f.res.Search(ctx, vd, "", resident.Filter{Limit: 3})
		p, q := people[0], people[1]
		item := func(r resident.Resident, study, sop string) reading.ImagingSave {
			b, err := dicom.Rewrite(ct, map[dicom.Tag]string{dicom.TagStudyInstanceUID: study, dicom.TagSeriesInstanceUID: study + ".1",
				dicom.TagSOPInstanceUID: sop, dicom.TagPatientID: string(r.IDNumber)})
			if err != nil {
				t.Fatal(err)
			}
			in, err := reading.ReadDICOM(b)
			if err != nil {
				t.Fatal(err)
			}
			in.CountyCode, in.ResidentID, in.ClinicID, in.CenterID, in.Status, in.UploadedAt = r.CountyCode, r.ID, vd.InstitutionID, rd.InstitutionID, reading.StatusWaiting, f.clk.Now()
			ev := audit.New(ctx, vd, reading.ActSTOW, r.ID)
			ev.CountyCode, ev.Detail = r.CountyCode, "sop="+sop
			return reading.ImagingSave{Instance: in, Event: ev}
		}
		stowRows := func(sop string) int {
			rows, err := f.st.SearchAudit(ctx, audit.Filter{Action: reading.ActSTOW, Limit: 1000})
			if err != nil {
				t.Fatal(err)
			}
			n := 0
			for _, e := range rows {
				if e.Detail == "sop="+sop {
					n++
				}
			}
			return n
		}
		if err := f.st.SaveImagingInstances(ctx, []reading.ImagingSave{item(q, "2.25.1", "2.25.1.1")}); err != nil {
			t.Fatal(err)
		}

		// One batch: stored, a duplicate of itself, stored, another resident's study, stored.
		batch := []reading.ImagingSave{item(p, "2.25.2", "2.25.2.1"), item(p, "2.25.2", "2.25.2.1"), item(p, "2.25.2", "2.25.2.2"),
			item(p, "2.25.1", "2.25.1.9"), item(p, "2.25.2", "2.25.2.3")}
		if err := f.st.SaveImagingInstances(ctx, batch); err != nil {
			t.Fatal(err)
		}
		for i, want := range []string{"", "conflict", "", "reading.study_other_patient", ""} {
			got := ""
			var ce *care.Error
			if errors.As(batch[i].Err, &ce) {
				got = string(ce.Code)
				if ce.Key == "reading.study_other_patient" {
					got = ce.Key
				}
			} else if batch[i].Err != nil {
				got = batch[i].Err.Error()
			}
			if got != want {
				t.Errorf("item %d: %q (%v), want %q", i, got, batch[i].Err, want)
			}
		}
		st, err := f.st.ImagingStudyByUID(ctx, p.CountyCode, "2.25.2")
		if err != nil || st.InstanceCount != 3 || st.ResidentID != p.ID {
			t.Fatalf("study of the batch: %v %+v", err, st)
		}
		if st, err := f.st.ImagingStudyByUID(ctx, q.CountyCode, "2.25.1"); err != nil || st.InstanceCount != 1 || st.ResidentID != q.ID {
			t.Fatalf("the other resident's study: %v %+v", err, st)
		}
		for sop, want := range map[string]int{"2.25.2.1": 1, "2.25.2.2": 1, "2.25.2.3": 1, "2.25.1.9": 0} {
			if n := stowRows(sop); n != want {
				t.Errorf("audit rows of %s: %d, want %d", sop, n, want)
			}
		}

		// Concurrent batches, committed in shared groups: all stored, each once.
		var wg sync.WaitGroup
		errs := make([]error, 8)
		for g := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				var b []reading.ImagingSave
				for i := range 3 {
					b = append(b, item(p, fmt.Sprintf("2.25.3%d", g), fmt.Sprintf("2.25.3%d.%d", g, i)))
				}
				errs[g] = f.st.SaveImagingInstances(ctx, b)
				for i := range b {
					if errs[g] == nil && b[i].Err != nil {
						errs[g] = b[i].Err
					}
				}
			}()
		}
		wg.Wait()
		for g, err := range errs {
			if err != nil {
				t.Fatalf("concurrent batch %d: %v", g, err)
			}
			st, err := f.st.ImagingStudyByUID(ctx, p.CountyCode, fmt.Sprintf("2.25.3%d", g))
			if err != nil || st.InstanceCount != 3 {
				t.Fatalf("concurrent batch %d: %v %+v", g, err, st)
			}
			if n := stowRows(fmt.Sprintf("2.25.3%d.2", g)); n != 1 {
				t.Fatalf("concurrent batch %d: %d audit rows of its last instance", g, n)
			}
		}

		// A commit that fails: nothing of the batch is stored, and the caller is told.
		crash := errors.New("crash before commit")
		f.st.FailAfterForTest("stow.commit", crash)
		failed := []reading.ImagingSave{item(p, "2.25.4", "2.25.4.1"), item(p, "2.25.4", "2.25.4.2")}
		if err := f.st.SaveImagingInstances(ctx, failed); !errors.Is(err, crash) {
			t.Fatalf("failed commit: %v", err)
		}
		f.st.FailAfterForTest("", nil)
		if _, err := f.st.ImagingStudyByUID(ctx, p.CountyCode, "2.25.4"); !care.IsCode(err, care.ENOTFOUND) {
			t.Fatalf("a study of a failed commit: %v", err)
		}
		if n := stowRows("2.25.4.1"); n != 0 {
			t.Fatalf("a failed commit left %d audit rows", n)
		}
		// The same instances again: stored now (nothing was left half-written).
		if err := f.st.SaveImagingInstances(ctx, failed); err != nil || failed[0].Err != nil || failed[1].Err != nil {
			t.Fatalf("after the failed commit: %v %v %v", err, failed[0].Err, failed[1].Err)
		}
		// WADO-RS reads an instance into a buffer it reuses: the same bytes as stored.
		buf := make([]byte, 0, 16)
		for _, it := range failed {
			got, err := f.st.ImagingFileAppend(ctx, p.CountyCode, it.Instance.ID, buf)
			want, _ := f.st.ImagingFile(ctx, p.CountyCode, it.Instance.ID)
			if err != nil || len(want) < 1000 || string(got) != string(want) || string(got) != string(it.Instance.File) {
				t.Fatalf("ImagingFileAppend: %v, %d bytes, stored %d", err, len(got), len(want))
			}
			buf = got
		}
		if _, err := f.st.ImagingFileAppend(ctx, p.CountyCode, 1<<40, buf); !care.IsCode(err, care.ENOTFOUND) {
			t.Fatalf("ImagingFileAppend of no instance: %v", err)
		}
		v, err := f.st.VerifyAudit(ctx, testdb.AuditKey)
		if err != nil || !v.OK() {
			t.Fatalf("audit chain: %v %v", err, v.Problems)
		}
	})
}
