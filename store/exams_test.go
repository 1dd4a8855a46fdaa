package store_test

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"math"
	"strings"
	"testing"

	"countycare/care"
	"countycare/critical"
	"countycare/internal/testdb"
	"countycare/reading"
	"countycare/resident"
	"countycare/store"
)

// fetalCSV is a 4 Hz trace: baseline 140 with normal variability and,
// if decelSecs > 0, a 40 bpm deceleration of that length at minute 10.
func fetalCSV(minutes int, decelSecs float64) []byte {
	var b strings.Builder
	b.WriteString("time,fhr\n")
	for i := 0; i < minutes*240; i++ {
		t := float64(i) / 4
		v := 140 + 5*math.Sin(2*math.Pi*t/7)
		if t >= 600 && t < 600+decelSecs {
			v -= 40
		}
		fmt.Fprintf(&b, "%.2f,%.1f\n", t, v)
	}
	return []byte(b.String())
}

func testJPEG(t *testing.T) []byte {
	m := image.NewRGBA(image.Rect(0, 0, 200, 150))
	for y := 0; y < 150; y++ {
		for x := 0; x < 200; x++ {
			m.Set(x, y, color.RGBA{uint8(x), uint8(y), 60, 255})
		}
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, m, nil); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestPhotoAndFetalStudies: a village doctor sends a fundus photo and two
// fetal traces to the county center; a trace with a 6-minute deceleration
// raises a critical alert in the same transaction; bad files store
// nothing; a doctor of another clinic cannot open them.
func TestPhotoAndFetalStudies(t *testing.T) {
	testdb.Each(t, func(t *testing.T, d store.Dialect) {
		f := newFixture(t, d)
		ctx := context.Background()
		rec := syncRecorder{f.st, t}
		pub := &livePub{}
		crit := &critical.Service{Repo: f.st, Residents: f.res, Orgs: f.orgs, Staff: f.st, Audit: rec, Live: pub, Config: critical.DefaultConfig(), Now: f.clk.Now}
		svc := &reading.ExamService{Repo: f.st, Residents: f.res, Orgs: f.orgs, Critical: crit, Audit: rec, Now: f.clk.Now}
		vd, rd := f.actors[care.RoleVillageDoctor], f.actors[care.RoleReader]
		people, _, _ := f.res.Search(ctx, vd, "", resident.Filter{Limit: 1})
		p := people[0]

		ph, err := svc.UploadPhoto(ctx, vd, p.ID, reading.PhotoUpload{CenterID: rd.InstitutionID, Kind: reading.PhotoFundus, Device: "Topcon TRC-NW8", Name: "../eye.jpg", File: testJPEG(t)})
		if err != nil || ph.ID == 0 || ph.Width != 200 || ph.ContentType != "image/jpeg" || ph.FileName != "eye.jpg" {
			t.Fatalf("photo: %v %+v", err, ph)
		}
		if _, err := svc.UploadPhoto(ctx, vd, p.ID, reading.PhotoUpload{CenterID: rd.InstitutionID, Kind: reading.PhotoSkin, Name: "x.jpg", File: []byte("%PDF-1.7")}); !care.IsCode(err, care.EINVALID) {
			t.Errorf("PDF as photo: %v", err)
		}
		if _, err := svc.UploadPhoto(ctx, vd, p.ID, reading.PhotoUpload{CenterID: vd.InstitutionID, Kind: reading.PhotoSkin, File: testJPEG(t)}); !care.IsCode(err, care.EINVALID) {
			t.Errorf("a clinic as reading center: %v", err)
		}
		normal, err := svc.UploadFetal(ctx, vd, p.ID, reading.FetalUpload{CenterID: rd.InstitutionID, Device: "Edan F3", Name: "ctg.csv", CSV: fetalCSV(30, 0)})
		if err != nil || normal.Priority != 0 || normal.AlertID != 0 {
			t.Fatalf("normal trace: %v %+v", err, normal)
		}
		bad, err := svc.UploadFetal(ctx, vd, p.ID, reading.FetalUpload{CenterID: rd.InstitutionID, Name: "ctg2.csv", CSV: fetalCSV(30, 360)})
		if err != nil || bad.Priority != 2 || bad.AlertID == 0 {
			t.Fatalf("pathological trace: %v %+v", err, bad)
		}
		if _, err := svc.UploadFetal(ctx, vd, p.ID, reading.FetalUpload{CenterID: rd.InstitutionID, CSV: []byte("time,fhr\n0,140\n1,400\n")}); !care.IsCode(err, care.EINVALID) {
			t.Errorf("impossible FHR: %v", err)
		}
		al, err := crit.Get(ctx, vd, bad.AlertID)
		if err != nil || al.SourceKind != critical.SourceFetal || al.SourceID != bad.ID || al.Value != "6.0 min" {
			t.Fatalf("alert %v %+v", err, al)
		}

		_, ps, fs, err := svc.Exams(ctx, vd, p.ID)
		if err != nil || len(ps) != 1 || len(fs) != 2 || fs[0].ID != bad.ID || fs[0].AlertID != bad.AlertID || len(fs[0].Flags) == 0 {
			t.Fatalf("exams: %v %d photos %d traces %+v", err, len(ps), len(fs), fs)
		}
		got, err := svc.Photo(ctx, rd, ph.ID)
		if err != nil || !bytes.Equal(got.File, ph.File) {
			t.Fatalf("reader opens the photo: %v", err)
		}
		st, tr, an, _, err := svc.Fetal(ctx, rd, bad.ID)
		if err != nil || st.ID != bad.ID || tr.Seconds() != 1800 || an.Class != reading.ClassPathological {
			t.Fatalf("reader opens the trace: %v", err)
		}
		other := vd
		other.InstitutionID, other.PractitionerID = rd.InstitutionID+100000, 0
		other.Role = care.RoleVillageDoctor
		if _, err := svc.Photo(ctx, other, ph.ID); !care.IsCode(err, care.ENOTFOUND) {
			t.Errorf("another clinic opens the photo: %v", err)
		}
		if _, _, _, _, err := svc.Fetal(ctx, other, bad.ID); !care.IsCode(err, care.ENOTFOUND) {
			t.Errorf("another clinic opens the trace: %v", err)
		}
	})
}
