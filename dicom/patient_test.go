package dicom

import (
	"errors"
	"testing"
)

// patientFile is a 64×64 image of greyElems' patient (Müller^Jürgen) with
// Patient ID id in syntax ts: 8 KiB of pixels after the patient module.
func patientFile(ts, id string) []byte {
	return Encode(ts, greyElems(64, 64, 1, 16, false, "MONOCHROME2", make([]byte, 64*64*2), ts == ExplicitVRBigEndian,
		&Element{Tag: TagPatientID, VR: "LO", Value: []byte(id)},
		&Element{Tag: TagStudyInstanceUID, VR: "UI", Value: []byte("1.2.3")}))
}

// TestParsePatient: the patient is read from a prefix that reaches past
// group 0010, in every uncompressed syntax; a shorter prefix does not
// tell; bytes that are not DICOM are ErrFormat.
func TestParsePatient(t *testing.T) {
	for _, ts := range []string{ExplicitVRLittleEndian, ImplicitVRLittleEndian, ExplicitVRBigEndian} {
		b := patientFile(ts, "110101199003071234")
		name, id, ok, err := ParsePatient(b[:1024])
		if err != nil || !ok || name != "Müller^Jürgen" || id != "110101199003071234" {
			t.Errorf("%s, 1 KiB: %q %q %t %v", ts, name, id, ok, err)
		}
		// Cut before the dataset passes group 0010: not yet known.
		for _, n := range []int{0, 100, 132, 200} {
			if _, _, ok, err := ParsePatient(b[:n]); ok || err != nil {
				t.Errorf("%s, %d bytes: ok %t, %v; want not known yet", ts, n, ok, err)
			}
		}
	}
	if _, _, ok, err := ParsePatient(make([]byte, 4096)); ok || !errors.Is(err, ErrFormat) {
		t.Errorf("zeros: ok %t, %v; want ErrFormat", ok, err)
	}
}

// FuzzParsePatient: any prefix gives an answer or ErrFormat, never a panic,
// and a prefix that tells agrees with Parse of the whole file.
func FuzzParsePatient(f *testing.F) {
	for _, ts := range []string{ExplicitVRLittleEndian, ImplicitVRLittleEndian, ExplicitVRBigEndian} {
		f.Add(patientFile(ts, "X1"), 600)
	}
	f.Fuzz(func(t *testing.T, b []byte, n int) {
		if n < 0 || n > len(b) {
			n = len(b)
		}
		name, id, ok, err := ParsePatient(b[:n])
		if err != nil && !errors.Is(err, ErrFormat) {
			t.Fatalf("error %v is not ErrFormat", err)
		}
		if !ok {
			return
		}
		if whole, err := Parse(b); err == nil && (whole.PersonName(TagPatientName) != name || whole.String(TagPatientID) != id) {
			t.Fatalf("prefix says %q %q, the file %q %q", name, id, whole.PersonName(TagPatientName), whole.String(TagPatientID))
		}
	})
}
