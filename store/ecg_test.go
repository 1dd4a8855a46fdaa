package store_test

import (
	"context"
	"countycare/internal/testfiles"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"countycare/audit"
	"countycare/care"
	"countycare/ecg"
	"countycare/internal/testdb"
	"countycare/org"
	"countycare/reading"
	"countycare/resident"
	"countycare/store"
)

// csvECG makes a one-lead CSV export at 250 Hz with beats at the given RR
// intervals (seconds): narrow Gaussian QRS complexes on a flat line.
func csvECG(rr []float64) []byte {
	const fs = 250.0
	var beats []float64
	t := 0.5
	for _, r := range append([]float64{0}, rr...) {
		t += r
		beats = append(beats, t)
	}
	var b strings.Builder
	b.WriteString("Time (s),II (mV)\n")
	for i := 0; i < int((t+1)*fs); i++ {
		x := float64(i) / fs
		v := 0.0
		for _, c := range beats {
			d := x - c
			v += math.Exp(-d*d/(2*0.012*0.012)) + 0.2*math.Exp(-(d-0.25)*(d-0.25)/(2*0.04*0.04))
		}
		fmt.Fprintf(&b, "%.3f,%.4f\n", x, v)
	}
	return []byte(b.String())
}

func repeatRR(n int, rr float64) []float64 {
	s := make([]float64, n)
	for i := range s {
		s[i] = rr
	}
	return s
}

// TestECGUploadAndWorklist: a village doctor sends three ECGs (a normal
// resting ECG, MIT-BIH record 100 in WFDB form, one with a 3.5 s pause) to
// the ECG center; the reader's worklist lists them pause first, then the
// record with premature beats, then the normal one; bad files store nothing.
func TestECGUploadAndWorklist(t *testing.T) {
	dir := testfiles.MITDB(t)
	hea, err := os.ReadFile(filepath.Join(dir, "100.hea"))
	if err != nil {
		t.Fatalf("MIT-BIH record 100 (testdata/README.md): %v", err)
	}
	dat, err := os.ReadFile(filepath.Join(dir, "100.dat"))
	if err != nil {
		t.Fatal(err)
	}
	testdb.Each(t, func(t *testing.T, d store.Dialect) {
		f := newFixture(t, d)
		ctx := context.Background()
		svc := &reading.Service{Repo: f.st, Residents: f.res, Orgs: f.orgs, Audit: syncRecorder{f.st, t}, PreRead: ecg.DefaultPreReadConfig(), Now: f.clk.Now}
		vd, rd := f.actors[care.RoleVillageDoctor], f.actors[care.RoleReader]
		tree, err := f.orgs.Tree(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if in := tree.Get(rd.InstitutionID); in == nil || in.Kind != org.KindDiagnosis {
			t.Fatalf("the demo reader works at %v, not a diagnosis center", in)
		}
		people, _, _ := f.res.Search(ctx, vd, "", resident.Filter{Limit: 3})
		if len(people) < 3 {
			t.Fatal("no residents in the demo village")
		}
		up := func(p int, u reading.ECGUpload) (*reading.ECGStudy, error) {
			u.CenterID = rd.InstitutionID
			f.clk.t = f.clk.t.Add(1e9 * 60)
			return svc.UploadECG(ctx, vd, people[p].ID, u)
		}
		normal, err := up(0, reading.ECGUpload{SignalName: "resting.csv", Signal: csvECG(repeatRR(11, 0.85))})
		if err != nil {
			t.Fatal(err)
		}
		if normal.PreRead.Abnormal() || normal.Format != reading.FormatCSV || normal.Fs != 250 {
			t.Errorf("normal ECG: %+v", normal.PreRead)
		}
		rec100, err := up(1, reading.ECGUpload{HeaderName: "100.hea", Header: hea, SignalName: "100.dat", Signal: dat})
		if err != nil {
			t.Fatal(err)
		}
		if rec100.Leads != 2 || rec100.PreRead.Priority != 1 || rec100.PreRead.HeartRate < 70 || rec100.PreRead.HeartRate > 80 {
			t.Errorf("record 100: %d leads, %+v", rec100.Leads, rec100.PreRead)
		}
		pause, err := up(2, reading.ECGUpload{SignalName: "pause.csv", Signal: csvECG(append(append(repeatRR(6, 0.8), 3.5), repeatRR(6, 0.8)...))})
		if err != nil {
			t.Fatal(err)
		}
		if pause.PreRead.Priority != 3 || pause.PreRead.Pauses != 1 {
			t.Errorf("pause: %+v", pause.PreRead)
		}

		// Bad input: named fault, nothing stored.
		for _, tc := range []struct {
			name string
			u    reading.ECGUpload
			code string
			want string
		}{
			{"truncated signal", reading.ECGUpload{Header: hea, Signal: dat[:len(dat)/2]}, care.EINVALID, "truncated"},
			{"corrupt signal", reading.ECGUpload{Header: hea, Signal: append(append([]byte{}, dat[:999]...), append([]byte{0xff}, dat[1000:]...)...)}, care.EINVALID, "checksum"},
			{"CSV with a gap", reading.ECGUpload{Signal: []byte("time,I\n0,1\n0.004,1\n0.012,1\n0.016,1\n")}, care.EINVALID, "time step"},
		} {
			_, err := up(0, tc.u)
			var ce *care.Error
			if care.ErrorCode(err) != tc.code || !asCare(err, &ce) || len(ce.Args) == 0 || !strings.Contains(fmt.Sprint(ce.Args[0]), tc.want) {
				t.Errorf("%s: got %v, want %s naming %q", tc.name, err, tc.code, tc.want)
			}
		}
		u := reading.ECGUpload{Signal: csvECG(repeatRR(11, 0.85))}
		u.CenterID = vd.InstitutionID // a village clinic is not a diagnosis center
		if _, err := svc.UploadECG(ctx, vd, people[0].ID, u); care.ErrorCode(err) != care.EINVALID {
			t.Errorf("upload to a village clinic: %v", err)
		}
		if _, err := svc.UploadECG(ctx, vd, 1<<40, reading.ECGUpload{CenterID: rd.InstitutionID, Signal: u.Signal}); care.ErrorCode(err) != care.ENOTFOUND {
			t.Errorf("unknown resident: %v", err)
		}

		list, err := svc.ECGWorklist(ctx, rd, 0)
		if err != nil {
			t.Fatal(err)
		}
		var ids []int64
		for _, it := range list {
			ids = append(ids, it.StudyID)
		}
		if fmt.Sprint(ids) != fmt.Sprint([]int64{pause.ID, rec100.ID, normal.ID}) {
			t.Errorf("worklist %v, want pause %d, record 100 %d, normal %d", ids, pause.ID, rec100.ID, normal.ID)
		}
		if len(list) == 3 && (list[0].ResidentName != people[2].Name || list[0].ClinicName == "" || list[0].PreRead.Findings[0] != ecg.FindingPause) {
			t.Errorf("first row %+v", list[0])
		}
		if _, err := svc.ECGWorklist(ctx, vd, 0); care.ErrorCode(err) != care.EFORBIDDEN {
			t.Errorf("village doctor's worklist: %v", err)
		}
		// The reader may now open the residents (care link of kind study).
		if _, err := f.res.Get(ctx, rd, people[1].ID); err != nil {
			t.Errorf("reader opens the resident of a study: %v", err)
		}
		// Every upload and the worklist read are in the audit trail.
		ups, _ := f.st.SearchAudit(ctx, audit.Filter{Action: reading.ActECGUpload})
		reads, _ := f.st.SearchAudit(ctx, audit.Filter{Action: reading.ActECGWorklist})
		if len(ups) != 3 || len(reads) != 2 || ups[0].CountyCode == "" {
			t.Errorf("audit: %d uploads, %d worklist reads", len(ups), len(reads))
		}
	})
}

func asCare(err error, ce **care.Error) bool {
	e, ok := err.(*care.Error)
	*ce = e
	return ok
}
