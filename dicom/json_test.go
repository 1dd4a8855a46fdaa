package dicom

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestJSONShared: every shared file converts to the DICOM JSON model
// (PS3.18 F.2): PN groups (the GB18030/ISO 2022 Chinese name), numbers for
// IS/DS and binary VRs, sequences, pixel data as a BulkDataURI.
func TestJSONShared(t *testing.T) {
	for _, sf := range sharedFiles {
		f, err := Parse(readShared(t, sf.name))
		if err != nil {
			t.Fatal(err)
		}
		j := JSON(f.Dataset, func(tg Tag) string {
			if tg == TagPixelData {
				return "http://x/frames/1"
			}
			return ""
		})
		b, err := json.Marshal(j)
		if err != nil {
			t.Fatalf("%s: %v", sf.name, err)
		}
		var back map[string]struct {
			VR    string            `json:"vr"`
			Value []json.RawMessage `json:"Value"`
			Bulk  string            `json:"BulkDataURI"`
		}
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatal(err)
		}
		if back["7FE00010"].Bulk != "http://x/frames/1" {
			t.Errorf("%s: pixel data %+v", sf.name, back["7FE00010"])
		}
		if r := back["00280010"]; r.VR != "US" || len(r.Value) != 1 || string(r.Value[0]) != jsonInt(sf.rows) {
			t.Errorf("%s: rows %+v", sf.name, r)
		}
		if _, ok := back["00020010"]; ok {
			t.Errorf("%s: file meta in the dataset", sf.name)
		}
		if sf.name == "pydicom-chrX1.dcm" && !strings.Contains(string(back["00100010"].Value[0]), `"Ideographic":"王^小東"`) {
			t.Errorf("chrX1 name: %s", back["00100010"].Value[0])
		}
	}
}

func jsonInt(n int) string { b, _ := json.Marshal(n); return string(b) }

// TestFrameAndRewrite: Frame cuts native frames; Rewrite replaces and adds
// string elements and keeps the pixel data.
func TestFrameAndRewrite(t *testing.T) {
	px := make([]byte, 3*4)
	for i := range px {
		px[i] = byte(i)
	}
	b := Encode(ExplicitVRLittleEndian, greyElems(2, 2, 3, 8, false, "MONOCHROME2", px, false))
	f, err := Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	fr, compressed, err := Frame(f, 2)
	if err != nil || compressed || string(fr) != string(px[8:12]) {
		t.Errorf("frame 2: %v %v %v", fr, compressed, err)
	}
	if _, _, err := Frame(f, 3); err == nil {
		t.Error("frame 3 of 3 frames")
	}
	out, err := Rewrite(b, map[Tag]string{TagPatientID: "11010519491231002X", TagPatientName: "Li^Hua=李^华", TagStudyInstanceUID: "1.2.3"})
	if err != nil {
		t.Fatal(err)
	}
	g, err := Parse(out)
	if err != nil {
		t.Fatal(err)
	}
	if g.String(TagPatientID) != "11010519491231002X" || g.PersonName(TagPatientName) != "Li^Hua=李^华" || g.String(TagStudyInstanceUID) != "1.2.3" {
		t.Errorf("rewritten: %q %q %q", g.String(TagPatientID), g.PersonName(TagPatientName), g.String(TagStudyInstanceUID))
	}
	if fr, _, _ := Frame(g, 1); string(fr) != string(px[4:8]) {
		t.Errorf("pixel data changed: %v", fr)
	}
	if _, err := Rewrite(readShared(t, "tcia-6.dcm"), map[Tag]string{TagPatientID: "x"}); err == nil {
		t.Error("rewrote a deflated file")
	}
}
