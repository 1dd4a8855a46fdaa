package web_test

import (
	"encoding/json"
	"strings"
	"testing"

	"countycare/dicom"
	"countycare/store"
)

// TestQIDOIncludeField: includefield adds the attributes asked for (by
// keyword or tag) that the stored file holds, at study, series and
// instance level; "all" adds the level's modules; without it they are
// absent; an unknown keyword is named in the Warning header.
func TestQIDOIncludeField(t *testing.T) {
	e := newEnv(t, store.SQLite)
	f := newDWFixture(t, e)
	const study = "1.2.826.0.1.3680043.8.498.19"
	px := make([]byte, 4*3*2*2)
	extra := []*dicom.Element{
		{Tag: 0x00101010, VR: "AS", Value: []byte("045Y")},
		{Tag: 0x00080080, VR: "LO", Value: []byte("平舆县人民医院")},
		{Tag: 0x00180015, VR: "CS", Value: []byte("CHEST ")},
		{Tag: 0x00204000, VR: "LT", Value: []byte("no comment")},
		{Tag: 0x00081030, VR: "LO", Value: []byte("胸部平扫")},
	}
	body, ctype := stowBody(synthDICOM(f, dicom.ExplicitVRLittleEndian, study, study+".1.1", px, extra...))
	if r := f.gw.do("POST", "/dicomweb/studies", ctype, body, ""); r.code != 200 {
		t.Fatalf("STOW: %d %s", r.code, r.body)
	}
	qido := func(path string) ([]dicomAttrs, response) {
		t.Helper()
		r := f.gw.do("GET", path, "", nil, "application/dicom+json")
		var out []dicomAttrs
		if r.code != 200 || json.Unmarshal([]byte(r.body), &out) != nil || len(out) != 1 {
			t.Fatalf("%s: %d %s", path, r.code, r.body)
		}
		return out, r
	}
	studies := "/dicomweb/studies?StudyInstanceUID=" + study
	series := "/dicomweb/studies/" + study + "/series?"
	insts := "/dicomweb/studies/" + study + "/instances?"
	for _, c := range []struct {
		path    string
		has     map[string]string // tag → first value
		hasNot  []string
		warning string
	}{
		{studies, nil, []string{"00101010", "00080080", "00204000"}, ""},
		{studies + "&includefield=PatientAge", map[string]string{"00101010": "045Y"}, []string{"00080080"}, ""},
		{studies + "&includefield=00080080,PatientAge", map[string]string{"00101010": "045Y", "00080080": "平舆县人民医院"}, nil, ""},
		{studies + "&includefield=PatientAge&includefield=ImageComments", map[string]string{"00101010": "045Y", "00204000": "no comment"}, nil, ""},
		{studies + "&includefield=all", map[string]string{"00101010": "045Y", "00081030": "胸部平扫"}, []string{"00080080", "00204000", "00080018", "7FE00010"}, ""},
		{studies + "&includefield=Bogus,PatientAge", map[string]string{"00101010": "045Y"}, nil, "includefield=Bogus"},
		{studies + "&includefield=PatientWeight", nil, []string{"00101030"}, ""}, // not held
		{series + "includefield=BodyPartExamined", map[string]string{"00180015": "CHEST"}, []string{"00080080"}, ""},
		{series + "includefield=all", map[string]string{"00180015": "CHEST", "00080080": "平舆县人民医院"}, []string{"00101010", "00204000"}, ""},
		{series, nil, []string{"00180015"}, ""},
		{insts + "includefield=ImageComments", map[string]string{"00204000": "no comment"}, []string{"00101010"}, ""},
		{insts + "includefield=all", map[string]string{"00204000": "no comment", "00101010": "045Y", "00180015": "CHEST"}, []string{"7FE00010", "00020010"}, ""},
	} {
		out, r := qido(c.path)
		for tag, want := range c.has {
			if got := out[0].str(tag); got != want {
				t.Errorf("%s: %s = %q, want %q", c.path, tag, got, want)
			}
		}
		for _, tag := range c.hasNot {
			if _, ok := out[0][tag]; ok {
				t.Errorf("%s: %s returned", c.path, tag)
			}
		}
		if w := r.header.Get("Warning"); (c.warning == "") != (w == "") || !strings.Contains(w, c.warning) {
			t.Errorf("%s: Warning %q, want one naming %q", c.path, w, c.warning)
		}
	}
}
