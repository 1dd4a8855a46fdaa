package store_test

import (
	"bytes"
	"context"
	"countycare/internal/testfiles"
	"image"
	"os"
	"path/filepath"
	"testing"
	"time"

	"countycare/account"
	"countycare/audit"
	"countycare/care"
	"countycare/demo"
	"countycare/dicom"
	"countycare/ecg"
	"countycare/internal/testdb"
	"countycare/org"
	"countycare/reading"
	"countycare/resident"
	"countycare/store"
)

// TestViewerStudies: the demo files a year of reads on samples stored
// once in blobs; the viewer reads them back through the hash (ECG samples
// with beats that match the MIT-BIH reference annotations, DICOM frames
// identical to rendering the original file), finds the previous study of
// the modality, refuses residents out of scope and bad segments/frames,
// and audits every read.
func TestViewerStudies(t *testing.T) {
	mitdb := testfiles.MITDB(t)
	atrFile, err := os.Open(filepath.Join(mitdb, "100.atr"))
	if err != nil {
		t.Fatalf("MIT-BIH record 100 (testdata/README.md): %v", err)
	}
	anns, err := ecg.ReadAnnotations(atrFile)
	atrFile.Close()
	if err != nil {
		t.Fatal(err)
	}
	ctFile, err := os.ReadFile(testfiles.Path(t, "dicom", "tcia-5.dcm"))
	if err != nil {
		t.Fatal(err)
	}
	testdb.Each(t, func(t *testing.T, d store.Dialect) {
		ctx := context.Background()
		clk := &clock{t: time.Date(2026, 11, 22, 2, 0, 0, 0, time.UTC)}
		st := testdb.Open(t, d, clk.Now)
		const nECG, nImg = 60, 40
		res, err := demo.Generate(ctx, st, demo.Config{Residents: 3000, Villages: 20, VillageDoctors: 40, Now: clk.Now(), ECGReads: nECG, ImagingReads: nImg}, quiet)
		if err != nil {
			t.Fatalf("demo: %v", err)
		}
		if res.ECGReads != nECG || res.ImagingReads != nImg {
			t.Fatalf("demo reads %d ECG, %d imaging; want %d, %d", res.ECGReads, res.ImagingReads, nECG, nImg)
		}
		count := func(q string) int64 {
			n, err := st.CountForTest(ctx, q)
			if err != nil {
				t.Fatalf("%s: %v", q, err)
			}
			return n
		}
		if n := count(`SELECT COUNT(*) FROM ecg_studies WHERE signal_hash <> '' AND LENGTH(signal) = 0`); n != nECG {
			t.Errorf("%d ECG studies refer to a blob, want %d", n, nECG)
		}
		if n := count(`SELECT COUNT(*) FROM imaging_instances WHERE file_hash <> '' AND LENGTH(file) = 0`); n != nImg {
			t.Errorf("%d instances refer to a blob, want %d", n, nImg)
		}
		// 18 ECG excerpts and 7 DICOM files, each stored once.
		if n := count(`SELECT COUNT(*) FROM blobs`); n != 25 {
			t.Errorf("%d blobs, want 25", n)
		}
		if n := count(`SELECT COUNT(*) FROM ecg_studies e WHERE NOT EXISTS (SELECT 1 FROM blobs b WHERE b.county_code = e.county_code AND b.sha256 = e.signal_hash)`); n != 0 {
			t.Errorf("%d ECG studies refer to a missing blob", n)
		}

		f := &fixture{st: st, clk: clk, demo: res, actors: map[care.Role]care.Actor{}}
		loginAll(t, f)
		v := &reading.Viewer{Repo: st, Residents: f.res, Audit: syncRecorder{st, t}}
		rd, vd, me := f.actors[care.RoleReader], f.actors[care.RoleVillageDoctor], f.actors[care.RoleResident]

		// The demo resident's ECG is 10 s of record 100 from 60 s.
		studies, err := st.ECGStudies(ctx, rd.CountyCode, me.ResidentID)
		if err != nil || len(studies) != 1 {
			t.Fatalf("demo resident's ECGs: %v %d", err, len(studies))
		}
		id := studies[0].ID
		view, err := v.ECG(ctx, rd, id)
		if err != nil || len(view.Leads) != 2 || view.Leads[0] != "MLII" || view.Study.Signal != nil {
			t.Fatalf("ECG view: %v %+v", err, view)
		}
		seg, err := v.ECGSamples(ctx, rd, id, 0, 10)
		if err != nil {
			t.Fatal(err)
		}
		if seg.Fs != 360 || seg.Frames != 3600 || len(seg.Leads) != 2 || len(seg.Leads[1].Samples) != 3600 || seg.Leads[0].Gain != 200 || seg.Leads[0].Baseline != 1024 {
			t.Fatalf("segment: fs %v frames %d leads %d", seg.Fs, seg.Frames, len(seg.Leads))
		}
		var ref []int
		for _, b := range ecg.Beats(anns) {
			if b.Sample >= 60*360 && b.Sample < 70*360 {
				ref = append(ref, int(b.Sample)-60*360)
			}
		}
		if len(ref) < 10 || len(seg.Beats) != len(ref) {
			t.Fatalf("beats %v, reference %v", seg.Beats, ref)
		}
		for i := range ref {
			if dd := seg.Beats[i] - ref[i]; dd < -54 || dd > 54 { // 150 ms at 360 Hz
				t.Errorf("beat %d at %d, reference %d", i, seg.Beats[i], ref[i])
			}
		}
		// A later segment is cut from the same record.
		if late, err := v.ECGSamples(ctx, rd, id, 8, 10); err != nil || late.Start != 8*360 || len(late.Leads[0].Samples) != 2*360 {
			t.Errorf("segment from 8 s: %v", err)
		}
		for _, c := range []struct{ start, secs float64 }{{10, 5}, {-1, 5}, {0, 121}} {
			if _, err := v.ECGSamples(ctx, rd, id, c.start, c.secs); care.ErrorCode(err) != care.EINVALID {
				t.Errorf("segment %v+%v: %v", c.start, c.secs, err)
			}
		}
		// Someone else's ECG is not found for the village doctor.
		var other int64
		for i := int64(1); i <= nECG+1 && other == 0; i++ {
			s, err := st.ECGStudy(ctx, vd.CountyCode, i)
			if err == nil && s.ClinicID != vd.InstitutionID {
				other = i
			}
		}
		if other == 0 {
			t.Fatal("no study outside the demo village")
		}
		if _, err := v.ECGSamples(ctx, vd, other, 0, 10); care.ErrorCode(err) != care.ENOTFOUND {
			t.Errorf("out-of-scope study: %v", err)
		}
		if _, err := v.ECG(ctx, rd, 999999); care.ErrorCode(err) != care.ENOTFOUND {
			t.Errorf("missing study: %v", err)
		}

		// Imaging: the demo resident's head CT of today, the head CT of 200 days ago, a palette image.
		_, _, imgs, err := v.Studies(ctx, vd, me.ResidentID)
		if err != nil || len(imgs) != 3 {
			t.Fatalf("demo resident's images: %v %d", err, len(imgs))
		}
		// The newest of the two head CTs (the list is newest first).
		var ct *reading.ImagingInstance
		for i := range imgs {
			if imgs[i].Modality == "CT" && imgs[i].Frames == 2 && ct == nil {
				ct = &imgs[i]
			}
		}
		if ct == nil {
			t.Fatal("no two-frame CT")
		}
		iv, err := v.Imaging(ctx, vd, ct.ID)
		if err != nil {
			t.Fatal(err)
		}
		if iv.Range == nil || iv.Range.Width <= 1 {
			t.Errorf("no full-range window for the CT: %+v", iv.Range)
		}
		// Beside it the head CT of 200 days ago: the same modality and body
		// part (reading.Viewer.previous; the demo labels both HEAD).
		if iv.Previous == nil || iv.Previous.Modality != "CT" || iv.Previous.ID == ct.ID || !iv.Greyscale || !iv.PreviousGreyscale || len(iv.Presets) == 0 || len(iv.Study) != 1 {
			t.Errorf("imaging view: previous %+v greyscale %v presets %d study %d", iv.Previous, iv.Greyscale, len(iv.Presets), len(iv.Study))
		}
		win := &dicom.Window{Center: 300, Width: 1200}
		got, err := v.ImagingFrame(ctx, vd, ct.ID, 1, win)
		if err != nil {
			t.Fatal(err)
		}
		file, _ := dicom.Parse(ctFile)
		want, _ := dicom.Render(file, 1, win)
		if !samePixels(got, want) {
			t.Error("frame 1 differs from rendering the original file")
		}
		if _, err := v.ImagingFrame(ctx, vd, ct.ID, 2, nil); care.ErrorCode(err) != care.EINVALID {
			t.Errorf("frame 2 of 2: %v", err)
		}
		if _, err := v.ImagingFrame(ctx, vd, ct.ID, 0, &dicom.Window{Center: 0, Width: 0}); care.ErrorCode(err) != care.EINVALID {
			t.Errorf("zero window: %v", err)
		}
		// The stored file is the sample with its body part added by the demo.
		headCT, _ := dicom.WithElement(ctFile, &dicom.Element{Tag: dicom.TagBodyPartExamined, VR: "CS", Value: []byte("HEAD")})
		if b, err := st.ImagingFile(ctx, vd.CountyCode, ct.ID); err != nil || !bytes.Equal(b, headCT) {
			t.Errorf("ImagingFile through the blob: %d bytes (want %d), %v", len(b), len(headCT), err)
		}

		// After the bulk load, new uploads get fresh IDs (PostgreSQL sequences advanced).
		up := &reading.ECGStudy{CountyCode: vd.CountyCode, ResidentID: me.ResidentID, ClinicID: vd.InstitutionID, CenterID: rd.InstitutionID,
			Format: reading.FormatCSV, Signal: []byte("time,II\n"), Fs: 250, Leads: 1, Seconds: 1, Status: reading.StatusWaiting, UploadedAt: clk.Now()}
		if err := st.SaveECGStudy(ctx, up, nil, audit.Event{Action: reading.ActECGUpload, Outcome: audit.OutcomeOK, Purpose: care.PurposeTreatment}); err != nil || up.ID <= nECG {
			t.Errorf("upload after the demo: id %d, %v", up.ID, err)
		}

		// Every read was audited with the resident.
		for _, act := range []string{reading.ActECGView, reading.ActECGSamples, reading.ActImagingView, reading.ActImagingFrame, reading.ActStudiesList} {
			evs, err := st.SearchAudit(ctx, auditFilter(act, me.ResidentID))
			if err != nil || len(evs) == 0 {
				t.Errorf("no audit row %s for the resident: %v", act, err)
			}
		}
		denied, _ := st.SearchAudit(ctx, auditFilter("", 0))
		var refused bool
		for _, e := range denied {
			if e.Outcome == "denied" && e.AccountID == vd.AccountID {
				refused = true
			}
		}
		if !refused {
			t.Error("the out-of-scope attempt was not audited as denied")
		}
	})
}

func samePixels(a, b image.Image) bool {
	if a == nil || b == nil || a.Bounds() != b.Bounds() {
		return false
	}
	r := a.Bounds()
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			if a.At(x, y) != b.At(x, y) {
				return false
			}
		}
	}
	return true
}

// loginAll signs in every demo account of f into f.actors (as newFixture does).
func loginAll(t testing.TB, f *fixture) {
	t.Helper()
	ctx := context.Background()
	f.orgs = &org.Service{Repo: f.st, Now: f.clk.Now}
	f.res = &resident.Service{Repo: f.st, Orgs: f.orgs, Audit: syncRecorder{f.st, t}, Now: f.clk.Now}
	f.accounts = &account.Service{Repo: f.st, Config: account.DefaultConfig(), Now: f.clk.Now, Orgs: f.orgs}
	for _, l := range f.demo.Logins {
		tok, _, err := f.accounts.Login(ctx, account.Credentials{Username: l.Username, Password: l.Password})
		if err != nil {
			t.Fatalf("login %s: %v", l.Username, err)
		}
		_, a, err := f.accounts.Authenticate(ctx, tok)
		if err != nil {
			t.Fatalf("authenticate %s: %v", l.Username, err)
		}
		f.actors[l.Role] = a
	}
}

func auditFilter(action string, residentID int64) audit.Filter {
	f := audit.Filter{Action: action, Limit: 1000}
	if residentID != 0 {
		f.ResidentIDs = []int64{residentID}
	}
	return f
}
