package web_test

import (
	"bytes"
	"context"
	"countycare/internal/testfiles"
	"encoding/json"
	"image/png"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"countycare/access"
	"countycare/audit"
	"countycare/care"
	"countycare/dicom"
	"countycare/reading"
	"countycare/store"
)

// TestViewers: a village doctor sends MIT-BIH record 100 and two CT files
// of a resident; the reader opens the ECG viewer from the worklist and
// reads samples and beats as JSON; the doctor opens the image viewer with
// the previous CT beside it and gets windowed PNG frames; bad parameters
// are 422, other roles 403 or 404 (out of scope), and both pages come in
// Chinese and English.
func TestViewers(t *testing.T) {
	mitdb := testfiles.MITDB(t)
	hea, err := os.ReadFile(filepath.Join(mitdb, "100.hea"))
	if err != nil {
		t.Fatalf("MIT-BIH record 100 (testdata/README.md): %v", err)
	}
	dat, _ := os.ReadFile(filepath.Join(mitdb, "100.dat"))
	dcmDir := testfiles.Path(t, "dicom")
	ctSmall, err1 := os.ReadFile(filepath.Join(dcmDir, "pydicom-CT_small.dcm"))
	ct2, err2 := os.ReadFile(filepath.Join(dcmDir, "tcia-5.dcm"))
	if err1 != nil || err2 != nil {
		t.Fatal(err1, err2)
	}
	e := newEnv(t, store.SQLite)
	rd, vd := e.as(care.RoleReader), e.as(care.RoleVillageDoctor)
	var me struct {
		Institution int64 `json:"institution_id"`
	}
	json.Unmarshal([]byte(rd.get("/api/v1/me").body), &me)
	list := vd.get("/residents")
	ids := regexp.MustCompile(`href="/residents/(\d+)"`).FindAllStringSubmatch(list.body, -1)
	if len(ids) == 0 {
		t.Fatal("no residents")
	}
	rid := ids[0][1]
	r := vd.postJSON("/api/v1/residents/"+rid+"/ecg", map[string]any{"center_id": me.Institution, "header_name": "100.hea", "header": hea,
		"signal_name": "100.dat", "signal": dat})
	var up struct {
		ID int64 `json:"id"`
	}
	if err := json.Unmarshal([]byte(r.body), &up); r.code != 201 || err != nil {
		t.Fatalf("upload: %d %s", r.code, r.body)
	}
	sid := strconv.FormatInt(up.ID, 10)

	// The reader reaches the viewer from the worklist.
	if wl := rd.get("/reading/worklist?modality=ECG"); !strings.Contains(wl.body, `href="/ecg/studies/`+sid+`"`) {
		t.Error("no viewer link in the worklist")
	}
	page := rd.get("/ecg/studies/" + sid)
	if page.code != 200 || !strings.Contains(page.body, `id="ecg-viewer"`) || !strings.Contains(page.body, `data-study="`+sid+`"`) ||
		!strings.Contains(page.body, "心电图阅览") || !regexp.MustCompile(`<script src="/static/[0-9a-f]+/ecgview.js"`).MatchString(page.body) {
		t.Fatalf("ECG viewer page: %d", page.code)
	}
	var seg struct {
		Fs      float64 `json:"fs"`
		Start   int     `json:"start"`
		Frames  int     `json:"frames"`
		BeatsFs float64 `json:"beats_fs"`
		Beats   []int   `json:"beats"`
		Leads   []struct {
			Name     string  `json:"name"`
			Gain     float64 `json:"gain"`
			Baseline int     `json:"baseline"`
			Samples  []int   `json:"samples"`
		} `json:"leads"`
	}
	s := rd.get("/api/v1/ecg/studies/" + sid + "/samples?start=60&seconds=20")
	if err := json.Unmarshal([]byte(s.body), &seg); s.code != 200 || err != nil {
		t.Fatalf("samples: %d %s", s.code, s.body)
	}
	if seg.Fs != 360 || seg.Start != 60*360 || seg.Frames != 650000 || len(seg.Leads) != 2 || seg.Leads[1].Name != "V5" ||
		len(seg.Leads[0].Samples) != 20*360 || seg.Leads[0].Gain != 200 || seg.Leads[0].Baseline != 1024 {
		t.Errorf("samples: fs %v start %d frames %d leads %d", seg.Fs, seg.Start, seg.Frames, len(seg.Leads))
	}
	// Record 100 runs at about 75 bpm: some 25 beats in 20 s, all inside it.
	if len(seg.Beats) < 20 || len(seg.Beats) > 30 || seg.Beats[0] < 60*360 || seg.Beats[len(seg.Beats)-1] >= 80*360 || seg.BeatsFs != 360 {
		t.Errorf("beats %v", seg.Beats)
	}
	var meta struct {
		Names []string `json:"lead_names"`
	}
	json.Unmarshal([]byte(rd.get("/api/v1/ecg/studies/"+sid).body), &meta)
	if strings.Join(meta.Names, ",") != "MLII,V5" {
		t.Errorf("lead names %v", meta.Names)
	}
	for _, q := range []string{"?start=abc", "?start=1900", "?seconds=500", "?start=-3"} {
		if r := rd.get("/api/v1/ecg/studies/" + sid + "/samples" + q); r.code != 422 {
			t.Errorf("samples%s: %d", q, r.code)
		}
	}
	if r := e.as(care.RolePharmacist).get("/ecg/studies/" + sid); r.code != 403 {
		t.Errorf("pharmacist: %d", r.code)
	}
	if r := e.anon().get("/api/v1/ecg/studies/" + sid + "/samples"); r.code != 401 {
		t.Errorf("anonymous: %d", r.code)
	}
	cs := e.as(care.RoleCountySpecialist)
	if cs.get("/residents/"+rid).code == 404 {
		if r := cs.get("/api/v1/ecg/studies/" + sid + "/samples"); r.code != 404 {
			t.Errorf("specialist without a care link: %d", r.code)
		}
	}
	if r := rd.get("/api/v1/ecg/studies/987654/samples"); r.code != 404 {
		t.Errorf("missing study: %d", r.code)
	}

	// Two CTs of the resident, stored as the clinic would have sent them.
	ctx := context.Background()
	var saved []*reading.ImagingInstance
	resID, _ := strconv.ParseInt(rid, 10, 64)
	// Two head CTs (tcia-5, a perfusion study of an MCA stroke, given the
	// Body Part Examined it lacks) a year apart: the earlier is the
	// previous study of the same modality and body part. CT_small says no
	// body part and is put beside neither.
	head, err := dicom.WithElement(ct2, &dicom.Element{Tag: dicom.TagBodyPartExamined, VR: "CS", Value: []byte("HEAD")})
	if err != nil {
		t.Fatal(err)
	}
	for i, b := range [][]byte{head, head, ctSmall} {
		in, err := reading.ReadDICOM(b)
		if err != nil {
			t.Fatal(err)
		}
		if i == 1 { // the earlier head CT, its own study
			in.StudyUID, in.SeriesUID, in.SOPUID, in.StudyDate = in.StudyUID+".1", in.SeriesUID+".1", in.SOPUID+".1", "20000101"
		}
		in.CountyCode, in.ResidentID, in.ClinicID, in.CenterID, in.Status = "411723", resID, 0, me.Institution, reading.StatusWaiting
		in.UploadedAt = time.Now().Add(time.Duration(i) * time.Minute)
		var vdMe struct {
			Institution int64 `json:"institution_id"`
		}
		json.Unmarshal([]byte(vd.get("/api/v1/me").body), &vdMe)
		in.ClinicID = vdMe.Institution
		ev := audit.Event{Action: reading.ActDICOMUpload, Outcome: audit.OutcomeOK, ResidentID: resID, CountyCode: "411723", Purpose: care.PurposeTreatment}
		if err := e.st.SaveImagingInstance(ctx, in, &access.CareLink{CountyCode: "411723", ResidentID: resID, InstitutionID: me.Institution,
			Kind: access.LinkStudy, Reason: "imaging"}, ev); err != nil {
			t.Fatal(err)
		}
		saved = append(saved, in)
	}
	cur, prev := saved[0], saved[1]
	cid := strconv.FormatInt(cur.ID, 10)
	if p := vd.get("/residents/" + rid); !strings.Contains(p.body, `href="/residents/`+rid+`/studies"`) {
		t.Error("no studies link on the resident page")
	}
	studies := vd.get("/residents/" + rid + "/studies")
	if studies.code != 200 || !strings.Contains(studies.body, `href="/ecg/studies/`+sid+`"`) || !strings.Contains(studies.body, `href="/imaging/instances/`+cid+`"`) {
		t.Fatalf("studies page: %d", studies.code)
	}
	iv := vd.get("/imaging/instances/" + cid)
	if iv.code != 200 || !strings.Contains(iv.body, `id="img-viewer"`) || !strings.Contains(iv.body, `id="img-previous" data-instance="`+strconv.FormatInt(prev.ID, 10)+`"`) {
		t.Fatalf("image viewer: %d, previous %d shown: %v", iv.code, prev.ID, strings.Contains(iv.body, "img-previous"))
	}
	if p := vd.get("/imaging/instances/" + strconv.FormatInt(saved[2].ID, 10)); strings.Contains(p.body, `id="img-previous"`) || !strings.Contains(p.body, "无同类上次检查") {
		t.Error("a CT that says no body part was put beside a head CT")
	}
	var im struct {
		Greyscale bool `json:"greyscale"`
		Previous  struct {
			ID int64 `json:"id"`
		} `json:"previous"`
		Presets []struct {
			Name string `json:"name"`
		} `json:"presets"`
	}
	json.Unmarshal([]byte(vd.get("/api/v1/imaging/instances/"+cid).body), &im)
	if !im.Greyscale || im.Previous.ID != prev.ID || len(im.Presets) == 0 {
		t.Errorf("imaging API: %+v", im)
	}
	frame := func(q string) []byte {
		t.Helper()
		r := vd.get("/api/v1/imaging/instances/" + cid + "/frames/0" + q)
		if r.code != 200 || r.header.Get("Content-Type") != "image/png" {
			t.Fatalf("frame%s: %d %s", q, r.code, r.body)
		}
		img, err := png.Decode(strings.NewReader(r.body))
		if err != nil || img.Bounds().Dx() != cur.Columns || img.Bounds().Dy() != cur.Rows {
			t.Fatalf("frame%s: %v", q, err)
		}
		return []byte(r.body)
	}
	if bytes.Equal(frame(""), frame("?center=-600&width=1500")) {
		t.Error("the window does not change the frame")
	}
	for _, q := range []string{"/frames/0?center=40&width=0", "/frames/0?center=x&width=400", "/frames/99", "/frames/-1"} {
		if r := vd.get("/api/v1/imaging/instances/" + cid + q); r.code != 422 {
			t.Errorf("%s: %d", q, r.code)
		}
	}
	if r := rd.get("/api/v1/imaging/instances/987654/frames/0"); r.code != 404 {
		t.Errorf("missing instance: %d", r.code)
	}
	en := map[string]string{"Cookie": "cc_lang=en"}
	if r := vd.do("GET", "/imaging/instances/"+cid, "", nil, en); !strings.Contains(r.body, "Image viewer") || !strings.Contains(r.body, "Previous study") {
		t.Error("image viewer in English")
	}
	if r := rd.do("GET", "/ecg/studies/"+sid, "", nil, en); !strings.Contains(r.body, "ECG viewer") || !strings.Contains(r.body, "Calipers") {
		t.Error("ECG viewer in English")
	}
	// The reading study page of the current CT shows it in the image viewer, the previous CT beside it, next to the report.
	var wl struct {
		Studies []struct {
			ID        int64  `json:"id"`
			SourceKey string `json:"source_key"`
		} `json:"studies"`
	}
	json.Unmarshal([]byte(rd.get("/api/v1/reading/worklist?modality=CT").body), &wl)
	found := false
	for _, w := range wl.Studies {
		if w.SourceKey != cur.StudyUID {
			continue
		}
		found = true
		p := rd.get("/reading/studies/" + strconv.FormatInt(w.ID, 10))
		if !strings.Contains(p.body, `id="study-viewer"`) || !strings.Contains(p.body, `data-instance="`+cid+`"`) ||
			!strings.Contains(p.body, `id="img-previous" data-instance="`+strconv.FormatInt(prev.ID, 10)+`"`) || !strings.Contains(p.body, "imgview.js") {
			t.Errorf("the CT's reading study page does not show it in the viewer: %d", p.code)
		}
	}
	if !found {
		t.Errorf("the CT is not on the reader's worklist: %+v", wl.Studies)
	}
}
