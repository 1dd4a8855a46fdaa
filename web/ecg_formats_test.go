package web_test

import (
	"bytes"
	"encoding/json"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"countycare/audit"
	"countycare/internal/testfiles"
	"countycare/reading"
	"countycare/store"
)

// TestECGUploadFormats: a village doctor sends the ECGs real machines write
// — pydicom's and the ECG Toolkit's DICOM 12-lead waveforms, the toolkit's
// SCP-ECG and HL7 aECG files — each as one file whose format is found from
// its content; each is pre-read with the 12-lead measurements; the reader
// sees 12 leads, the measurements and the machine's own statements; a
// corrupt SCP-ECG, an aECG with an external entity and a truncated DICOM
// are refused with their fault and nothing stored; every upload is audited
// with its format. On SQLite and PostgreSQL.
func TestECGUploadFormats(t *testing.T) {
	for _, d := range []store.Dialect{store.SQLite, store.Postgres} {
		t.Run(string(d), func(t *testing.T) { testECGUploadFormats(t, d) })
	}
}

func testECGUploadFormats(t *testing.T, d store.Dialect) {
	e := newEnv(t, d)
	rd, vd, center, rid := ecgSender(t, e)
	file := func(name string) []byte { return testfiles.Read(t, "ecg", "formats", name) }

	type upload struct {
		ID           int64   `json:"id"`
		Format       string  `json:"format"`
		Fs           float64 `json:"fs"`
		Leads        int     `json:"leads"`
		Measurements *struct {
			HeartRate float64  `json:"heart_rate"`
			PR        *float64 `json:"pr_ms"`
			QRS       float64  `json:"qrs_ms"`
			QT        *float64 `json:"qt_ms"`
			Axis      *float64 `json:"axis_deg"`
			Statement string   `json:"statement"`
		} `json:"measurements"`
	}
	send := func(name string, b []byte) (response, upload) {
		r := vd.postJSON("/api/v1/residents/"+rid+"/ecg", map[string]any{"center_id": center, "signal_name": name, "signal": b})
		var u upload
		json.Unmarshal([]byte(r.body), &u)
		return r, u
	}
	var pydicomID int64
	for _, tc := range []struct {
		file, format string
		fs           float64
	}{
		{"pydicom-waveform_ecg.dcm", reading.FormatDICOM, 1000},
		{"ecgtoolkit-Example.dcm", reading.FormatDICOM, 500},
		{"ecgtoolkit-Example.scp", reading.FormatSCP, 500},
		{"ecgtoolkit-Example.xml", reading.FormatAECG, 500},
	} {
		r, u := send("ecg.bin", file(tc.file)) // the name says nothing: the content does
		if r.code != 201 || u.Format != tc.format || u.Leads != 12 || u.Fs != tc.fs || u.Measurements == nil ||
			u.Measurements.HeartRate < 40 || u.Measurements.QRS < 40 || u.Measurements.QT == nil || u.Measurements.Axis == nil {
			t.Fatalf("%s: %d %s", tc.file, r.code, r.body)
		}
		if tc.file == "pydicom-waveform_ecg.dcm" {
			pydicomID = u.ID
		}
	}

	// The upload page: the SCP file, its pre-read with the measurements.
	form := vd.get("/residents/" + rid + "/ecg")
	csrf := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(form.body)[1]
	body, ct := multipartBody(map[string]string{"csrf": csrf, "center_id": strconv.FormatInt(center, 10)},
		map[string][2]string{"signal": {"Example.scp", string(file("ecgtoolkit-Example.scp"))}})
	if r := vd.do("POST", "/residents/"+rid+"/ecg", ct, body, nil); r.code != 200 || !strings.Contains(r.body, `id="ecg-measures"`) ||
		!strings.Contains(r.body, "QRS 时限") || !strings.Contains(r.body, "窦性心律") {
		t.Errorf("upload page with an SCP-ECG: %d", r.code)
	}

	// The reader: 12 leads, the measurements and the machine's statements.
	p := rd.get("/ecg/studies/" + strconv.FormatInt(pydicomID, 10))
	if p.code != 200 || !strings.Contains(p.body, `id="ecg-measures"`) || !strings.Contains(p.body, `id="ecg-machine"`) ||
		!strings.Contains(p.body, "RITMO SINUSALE") || !strings.Contains(p.body, "QT 间期（毫秒）") {
		t.Errorf("viewer page: %d", p.code)
	}
	var meta struct {
		Leads   []string `json:"lead_names"`
		Machine struct {
			Statements []string `json:"statements"`
		} `json:"machine"`
	}
	json.Unmarshal([]byte(rd.get("/api/v1/ecg/studies/"+strconv.FormatInt(pydicomID, 10)).body), &meta)
	if strings.Join(meta.Leads, " ") != "I II III aVR aVL aVF V1 V2 V3 V4 V5 V6" || len(meta.Machine.Statements) != 2 {
		t.Errorf("viewer API: leads %v, statements %v", meta.Leads, meta.Machine.Statements)
	}
	var seg struct {
		Leads []struct {
			Name    string  `json:"name"`
			Samples []int16 `json:"samples"`
		} `json:"leads"`
	}
	s := rd.get("/api/v1/ecg/studies/" + strconv.FormatInt(pydicomID, 10) + "/samples?start=0&seconds=2")
	if json.Unmarshal([]byte(s.body), &seg); s.code != 200 || len(seg.Leads) != 12 || len(seg.Leads[0].Samples) != 2000 {
		t.Errorf("samples: %d, %d leads", s.code, len(seg.Leads))
	}

	// Bad input: each refused with its fault, nothing stored.
	scp := bytes.Clone(file("ecgtoolkit-Example.scp"))
	scp[20000] ^= 0x40
	dcm := file("pydicom-waveform_ecg.dcm")
	for _, tc := range []struct {
		name string
		b    []byte
		want string
	}{
		{"SCP-ECG with a wrong CRC", scp, "CRC"},
		{"aECG with an external entity", []byte(`<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><AnnotatedECG>&x;</AnnotatedECG>`), "DOCTYPE"},
		{"truncated DICOM", dcm[:len(dcm)-5000], "truncated"},
	} {
		if r, _ := send("bad", tc.b); r.code != 422 || !strings.Contains(r.body, tc.want) {
			t.Errorf("%s: %d %s", tc.name, r.code, r.body)
		}
	}
	var wl struct {
		Studies []any `json:"studies"`
	}
	if json.Unmarshal([]byte(rd.get("/api/v1/ecg/worklist").body), &wl); len(wl.Studies) != 5 {
		t.Errorf("%d studies in the worklist, want the 5 good uploads", len(wl.Studies))
	}

	e.writer.Flush(t.Context())
	rows, _ := e.st.SearchAudit(t.Context(), audit.Filter{Action: reading.ActECGUpload})
	formats := map[string]int{}
	for _, r := range rows {
		for _, f := range []string{"dicom", "scp", "aecg"} {
			if strings.Contains(r.Detail, "format="+f+" ") {
				formats[f]++
			}
		}
	}
	if formats["dicom"] != 2 || formats["scp"] != 2 || formats["aecg"] != 1 {
		t.Errorf("audited uploads by format: %v", formats)
	}
}
