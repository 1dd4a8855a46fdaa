package store_test

import (
	"context"
	"countycare/internal/testfiles"
	"fmt"
	"os"
	"testing"
	"time"

	"countycare/audit"
	"countycare/care"
	"countycare/dicom"
	"countycare/internal/testdb"
	"countycare/reading"
	"countycare/resident"
	"countycare/store"
)

// TestImagingStudies: the study row follows its instances in the same
// transaction (counts, modalities in study); a study cannot span two
// residents; QIDO-RS matching on both databases: PN groups with wildcards
// (Chinese and alphabetic), Patient ID, dates, modality, UIDs, scope,
// limit and offset; device credentials.
func TestImagingStudies(t *testing.T) {
	ct, err := os.ReadFile(testfiles.Path(t, "dicom", "pydicom-CT_small.dcm"))
	if err != nil {
		t.Fatalf("test DICOM files (testdata/README.md): %v", err)
	}
	testdb.Each(t, func(t *testing.T, d store.Dialect) {
		f := newFixture(t, d)
		ctx := context.Background()
		vd, rd := f.actors[care.RoleVillageDoctor], f.actors[care.RoleReader]
		people, _, _ := f.res.Search(ctx, vd, "", resident.Filter{Limit: 3})
		p, q := people[0], people[1]
		save := func(r resident.Resident, study, series, sop, modality, pn string) error {
			b, err := dicom.Rewrite(ct, map[dicom.Tag]string{dicom.TagStudyInstanceUID: study, dicom.TagSeriesInstanceUID: series,
				dicom.TagSOPInstanceUID: sop, dicom.TagModality: modality, dicom.TagPatientName: pn, dicom.TagPatientID: string(r.IDNumber)})
			if err != nil {
				t.Fatal(err)
			}
			in, err := reading.ReadDICOM(b)
			if err != nil {
				t.Fatal(err)
			}
			in.CountyCode, in.ResidentID, in.ClinicID, in.CenterID, in.Status, in.UploadedAt = r.CountyCode, r.ID, vd.InstitutionID, rd.InstitutionID, reading.StatusWaiting, f.clk.Now()
			ev := audit.New(ctx, vd, reading.ActSTOW, r.ID)
			ev.CountyCode = r.CountyCode
			return f.st.SaveImagingInstance(ctx, in, nil, ev)
		}
		pn := "Zhang^Xiaoming=" + p.Name
		for i, x := range [][3]string{{"1.9.1", "1.9.1.1", "CT"}, {"1.9.1", "1.9.1.2", "CT"}, {"1.9.2", "1.9.2.1", "MR"}} {
			if err := save(p, "1.9", x[0], x[1], x[2], pn); err != nil {
				t.Fatalf("instance %d: %v", i, err)
			}
		}
		st, err := f.st.ImagingStudyByUID(ctx, p.CountyCode, "1.9")
		if err != nil || st.InstanceCount != 3 || st.SeriesCount != 2 || fmt.Sprint(st.Modalities) != "[CT MR]" || st.PatientName != pn || st.ResidentID != p.ID {
			t.Fatalf("study row: %v %+v", err, st)
		}
		// The same study for another resident: refused, nothing stored.
		err = save(q, "1.9", "1.9.3", "1.9.3.1", "CT", q.Name)
		var ce *care.Error
		if !asCare(err, &ce) || ce.Code != care.ECONFLICT || ce.Key != "reading.study_other_patient" {
			t.Fatalf("other resident: %v", err)
		}
		if ins, _ := f.st.ImagingInstancesOf(ctx, reading.InstanceQuery{CountyCode: p.CountyCode, StudyUID: "1.9"}); len(ins) != 3 {
			t.Errorf("instances after the refusal: %d", len(ins))
		}
		if se, _ := f.st.ImagingSeriesOf(ctx, reading.InstanceQuery{CountyCode: p.CountyCode, StudyUID: "1.9"}); len(se) != 2 || se[0].Instances+se[1].Instances != 3 {
			t.Errorf("series: %+v", se)
		}

		// Bulk rows for matching.
		rows := []reading.ImagingStudy{
			{StudyUID: "2.1", ResidentID: q.ID, PatientName: "Wang^Fang=王^芳", StudyDate: "20260105", Modalities: []string{"DX"}, Accession: "ACC1"},
			{StudyUID: "2.2", ResidentID: q.ID, PatientName: "Wang^Fangfang=王^芳芳", StudyDate: "20260210", Modalities: []string{"US"}},
			{StudyUID: "2.3", ResidentID: q.ID, PatientName: "=李^华", StudyDate: "20260315", Modalities: []string{"CT", "MR"}},
			{StudyUID: "2.4", ResidentID: q.ID, PatientName: "Other^Clinic", StudyDate: "20260401", Modalities: []string{"CT"}, ClinicID: -1},
		}
		for i := range rows {
			rows[i].CountyCode, rows[i].CenterID, rows[i].PatientID, rows[i].UpdatedAt = q.CountyCode, rd.InstitutionID, string(q.IDNumber), time.Now()
			if rows[i].ClinicID == 0 {
				rows[i].ClinicID = vd.InstitutionID
			} else {
				rows[i].ClinicID, rows[i].CenterID = 999999, 999999 // neither sent by nor to the searcher
			}
		}
		if n, err := f.st.LoadImagingStudies(ctx, rows); err != nil || n != 4 {
			t.Fatalf("load: %d %v", n, err)
		}
		search := func(sq reading.StudyQuery) []string {
			t.Helper()
			sq.CountyCode, sq.Institutions = p.CountyCode, []int64{vd.InstitutionID}
			if sq.Limit == 0 {
				sq.Limit = 100
			}
			out, err := f.st.SearchImagingStudies(ctx, sq)
			if err != nil {
				t.Fatal(err)
			}
			var uids []string
			for _, s := range out {
				uids = append(uids, s.StudyUID)
			}
			return uids
		}
		for _, c := range []struct {
			q    reading.StudyQuery
			want string
		}{
			{reading.StudyQuery{}, "[2.3 2.2 2.1 1.9]"},
			{reading.StudyQuery{PatientName: "王*"}, "[2.2 2.1]"},
			{reading.StudyQuery{PatientName: "王芳"}, "[2.1]"},
			{reading.StudyQuery{PatientName: "王^芳"}, "[2.1]"},
			{reading.StudyQuery{PatientName: "王?"}, "[2.1]"},
			{reading.StudyQuery{PatientName: "*芳"}, "[2.2 2.1]"},
			{reading.StudyQuery{PatientName: "wang*"}, "[2.2 2.1]"},
			{reading.StudyQuery{PatientName: "WANG^FANG"}, "[2.1]"},
			{reading.StudyQuery{PatientName: "李华"}, "[2.3]"},
			{reading.StudyQuery{PatientName: p.Name}, "[1.9]"},
			{reading.StudyQuery{PatientName: "*"}, "[2.3 2.2 2.1 1.9]"},
			{reading.StudyQuery{PatientName: "Other*"}, "[]"}, // out of scope
			{reading.StudyQuery{PatientID: string(q.IDNumber)}, "[2.3 2.2 2.1]"},
			{reading.StudyQuery{PatientID: string(q.IDNumber)[:17] + "?"}, "[2.3 2.2 2.1]"},
			{reading.StudyQuery{Accession: "ACC1"}, "[2.1]"},
			{reading.StudyQuery{DateFrom: "20260201", DateTo: "20260331"}, "[2.3 2.2]"},
			{reading.StudyQuery{Modality: "MR"}, "[2.3 1.9]"},
			{reading.StudyQuery{Modality: "DX"}, "[2.1]"},
			{reading.StudyQuery{StudyUIDs: []string{"2.1", "2.4", "1.9"}}, "[2.1 1.9]"},
			{reading.StudyQuery{Limit: 2, Offset: 1}, "[2.2 2.1]"},
			{reading.StudyQuery{Offset: 10}, "[]"},
		} {
			if got := fmt.Sprint(search(c.q)); got != c.want {
				t.Errorf("%+v: %s, want %s", c.q, got, c.want)
			}
		}

		// Device credentials: a taken name is a conflict.
		c := &reading.DICOMwebClient{Name: "gw", CountyCode: p.CountyCode, InstitutionID: vd.InstitutionID, CenterID: rd.InstitutionID, SecretHash: "x", CreatedAt: time.Now()}
		if err := f.st.CreateDICOMwebClient(ctx, c, audit.New(ctx, f.actors[care.RoleAdmin], reading.ActClientCreate, 0)); err != nil {
			t.Fatal(err)
		}
		if err := f.st.CreateDICOMwebClient(ctx, &reading.DICOMwebClient{Name: "gw", CountyCode: p.CountyCode, InstitutionID: vd.InstitutionID,
			CenterID: rd.InstitutionID, SecretHash: "y", CreatedAt: time.Now()}, audit.New(ctx, f.actors[care.RoleAdmin], reading.ActClientCreate, 0)); care.ErrorCode(err) != care.ECONFLICT {
			t.Errorf("taken name: %v", err)
		}
		got, err := f.st.DICOMwebClientByName(ctx, "gw")
		if err != nil || got.ID != c.ID || got.Disabled || got.CenterID != rd.InstitutionID {
			t.Errorf("by name: %v %+v", err, got)
		}
		if _, err := f.st.DICOMwebClientByName(ctx, "nope"); care.ErrorCode(err) != care.ENOTFOUND {
			t.Errorf("unknown: %v", err)
		}
	})
}
