package store_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"countycare/care"
	"countycare/internal/testdb"
	"countycare/reading"
	"countycare/resident"
	"countycare/store"
)

// TestImagingWildcardCase: QIDO-RS wildcard matching of Patient ID and
// Accession Number is case-sensitive (PS3.4 C.2.2.2.4: every VR but PN)
// and the same on SQLite (whose LIKE ignores ASCII case) and PostgreSQL;
// [ is a literal, not a character class. PatientName stays
// case-insensitive.
func TestImagingWildcardCase(t *testing.T) {
	testdb.Each(t, func(t *testing.T, d store.Dialect) {
		f := newFixture(t, d)
		ctx := context.Background()
		vd, rd := f.actors[care.RoleVillageDoctor], f.actors[care.RoleReader]
		people, _, _ := f.res.Search(ctx, vd, "", resident.Filter{Limit: 1})
		p := people[0]
		rows := []reading.ImagingStudy{
			{StudyUID: "7.1", PatientID: "MixedCase-Pid-01", Accession: "AccX-001", PatientName: "Case^Test"},
			{StudyUID: "7.2", PatientID: "mixedcase-pid-02", Accession: "accx-002", PatientName: "Case^Test"},
			{StudyUID: "7.3", PatientID: "MIXEDCASE-PID-03", Accession: "ACCX-003", PatientName: "Case^Test"},
			{StudyUID: "7.4", PatientID: "MixedCase-Pid-04", Accession: "[AB]-9", PatientName: "Case^Test"},
			{StudyUID: "7.5", PatientID: "MixedCase-Pid-05", Accession: "A-9", PatientName: "Case^Test"},
		}
		for i := range rows {
			rows[i].CountyCode, rows[i].ResidentID, rows[i].ClinicID, rows[i].CenterID = p.CountyCode, p.ID, vd.InstitutionID, rd.InstitutionID
			rows[i].StudyDate, rows[i].Modalities, rows[i].UpdatedAt = fmt.Sprintf("2026010%d", i+1), []string{"CT"}, time.Now()
		}
		if n, err := f.st.LoadImagingStudies(ctx, rows); err != nil || n != len(rows) {
			t.Fatalf("load: %d %v", n, err)
		}
		for _, c := range []struct {
			q    reading.StudyQuery
			want string
		}{
			{reading.StudyQuery{Accession: "AccX*"}, "[7.1]"},
			{reading.StudyQuery{Accession: "accx*"}, "[7.2]"},
			{reading.StudyQuery{Accession: "ACCX-00?"}, "[7.3]"},
			{reading.StudyQuery{Accession: "*X-00?"}, "[7.3 7.1]"},
			{reading.StudyQuery{Accession: "*x-00?"}, "[7.2]"},
			{reading.StudyQuery{Accession: "accx-001"}, "[]"},
			{reading.StudyQuery{Accession: "[AB]*"}, "[7.4]"},
			{reading.StudyQuery{Accession: "?-9"}, "[7.5]"},
			{reading.StudyQuery{PatientID: "MixedCase-*"}, "[7.5 7.4 7.1]"},
			{reading.StudyQuery{PatientID: "mixedcase-*"}, "[7.2]"},
			{reading.StudyQuery{PatientID: "MIXEDCASE-PID-0?"}, "[7.3]"},
			{reading.StudyQuery{PatientID: "*-PID-*"}, "[7.3]"},
			{reading.StudyQuery{PatientName: "case^test", PatientID: "*case-pid-0?"}, "[7.2]"}, // PN ignores case
		} {
			c.q.CountyCode, c.q.Institutions, c.q.Limit = p.CountyCode, []int64{vd.InstitutionID}, 100
			out, err := f.st.SearchImagingStudies(ctx, c.q)
			if err != nil {
				t.Fatal(err)
			}
			var uids []string
			for _, s := range out {
				uids = append(uids, s.StudyUID)
			}
			if got := fmt.Sprint(uids); got != c.want {
				t.Errorf("%s: accession %q patient ID %q: %s, want %s", d, c.q.Accession, c.q.PatientID, got, c.want)
			}
		}
	})
}
