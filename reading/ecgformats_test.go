package reading

import (
	"bytes"
	"errors"
	"slices"
	"strings"
	"testing"

	"countycare/ecg"
	"countycare/internal/testfiles"
)

func formatFile(t *testing.T, name string) []byte {
	t.Helper()
	return testfiles.Read(t, "ecg", "formats", name)
}

// TestDetectECGFormat tells each real file's format from its content.
func TestDetectECGFormat(t *testing.T) {
	for name, want := range map[string]string{
		"pydicom-waveform_ecg.dcm": FormatDICOM, "ecgtoolkit-Example.dcm": FormatDICOM,
		"ecgtoolkit-Example.scp": FormatSCP, "ecgtoolkit-Example.xml": FormatAECG,
	} {
		if got := DetectECGFormat(formatFile(t, name)); got != want {
			t.Errorf("%s: %s, want %s", name, got, want)
		}
	}
	if got := DetectECGFormat([]byte("\xEF\xBB\xBF \n<AnnotatedECG/>")); got != FormatAECG {
		t.Errorf("XML with a byte order mark: %s", got)
	}
	if got := DetectECGFormat([]byte("time,II\n0,1\n")); got != FormatCSV {
		t.Errorf("CSV: %s", got)
	}
}

// TestECGFromDICOM maps pydicom's 12-lead ECG to a record: lead names from
// the SCPECG codes, µV to mV (pydicom: raw 80 is 100 µV), the patient
// fields and the machine's statements and measurements.
func TestECGFromDICOM(t *testing.T) {
	rec, err := ECGFromDICOM(formatFile(t, "pydicom-waveform_ecg.dcm"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, l := range rec.Leads {
		names = append(names, l.Name)
	}
	if strings.Join(names, " ") != "I II III aVR aVL aVF V1 V2 V3 V4 V5 V6" || rec.Fs != 1000 || len(rec.Leads[0].Samples) != 10000 {
		t.Fatalf("leads %v at %v Hz, %d samples", names, rec.Fs, len(rec.Leads[0].Samples))
	}
	if v := rec.Leads[0].Physical()[:2]; v[0] != 0.1 || v[1] != 0.08125 {
		t.Errorf("lead I starts %v mV, want 0.1, 0.08125", v)
	}
	in := rec.Info
	if in.PatientID != "642341" || in.Sex != "F" || in.BirthDate != "1971-01-23" || in.Acquired != "2013-01-25 10:59:19" ||
		!slices.Equal(in.Statements, []string{"RITMO SINUSALE", "ECG NORMALE"}) {
		t.Errorf("info %+v", in)
	}
	var qt ecg.Measurement
	for _, m := range in.Measurements {
		if m.Kind == "qt" {
			qt = m
		}
	}
	if qt.Value != 368 || qt.Unit != "ms" {
		t.Errorf("QT %+v", qt)
	}
}

// TestDICOMAgreesWithSCP: the toolkit's DICOM (implicit VR) and SCP-ECG
// files of one ECG read to the same samples and calibration, lead by lead.
func TestDICOMAgreesWithSCP(t *testing.T) {
	d, err := ECGFromDICOM(formatFile(t, "ecgtoolkit-Example.dcm"))
	if err != nil {
		t.Fatal(err)
	}
	s, err := ecg.ReadSCP(bytes.NewReader(formatFile(t, "ecgtoolkit-Example.scp")))
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]ecg.Lead{}
	for _, l := range s.Leads {
		byName[l.Name] = l
	}
	for _, l := range d.Leads {
		o := byName[l.Name]
		if !slices.Equal(l.Samples, o.Samples) || l.Gain != o.Gain || l.Baseline != o.Baseline {
			t.Errorf("lead %s differs between DICOM and SCP-ECG", l.Name)
		}
	}
	if d.Info.PatientID != "SBJ-123" || d.Info.Acquired != "2002-11-22 09:10:00" {
		t.Errorf("info %+v", d.Info)
	}
}

// TestECGFromDICOMRefuses: an image is not an ECG; a truncated file and
// short waveform data are format errors.
func TestECGFromDICOMRefuses(t *testing.T) {
	ct := testfiles.DICOM(t, "pydicom-CT_small.dcm")
	b := formatFile(t, "pydicom-waveform_ecg.dcm")
	for name, tc := range map[string]struct {
		b    []byte
		want string
	}{
		"CT image":  {ct, "not an ECG waveform"},
		"truncated": {b[:len(b)-1000], "truncated"},
	} {
		_, err := ECGFromDICOM(tc.b)
		if err == nil || !errors.Is(err, ecg.ErrFormat) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v", name, err)
		}
	}
}
