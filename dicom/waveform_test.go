package dicom

import (
	"encoding/binary"
	"errors"
	"slices"
	"strings"
	"testing"

	"countycare/internal/testfiles"
)

func waveformECG(t testing.TB, name string) *File {
	t.Helper()
	f, err := Parse(testfiles.Read(t, "ecg", "formats", name))
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// TestWaveformsPydicom reads pydicom's 12-lead ECG: the values pydicom's
// own tests assert (tests/test_waveform.py) — two multiplex groups, the
// first 10,000 × 12 at 1 kHz starting 80 65 50 35 37 (raw) and 100, 81.25
// … µV once calibrated, the second 1,200 × 12 starting 10 10 30 35 25.
func TestWaveformsPydicom(t *testing.T) {
	f := waveformECG(t, "pydicom-waveform_ecg.dcm")
	if sop := f.String(TagSOPClassUID); sop != SOP12LeadECG {
		t.Fatalf("SOP class %s", sop)
	}
	groups, err := Waveforms(f.Dataset, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if len(groups) != 2 {
		t.Fatalf("%d multiplex groups, want 2", len(groups))
	}
	g := groups[0]
	if len(g.Channels) != 12 || len(g.Samples[0]) != 10000 || g.Fs != 1000 || g.BitsAllocated != 16 || g.Interpretation != "SS" {
		t.Fatalf("group 1: %d channels × %d at %v Hz, %d bits %s", len(g.Channels), len(g.Samples[0]), g.Fs, g.BitsAllocated, g.Interpretation)
	}
	raw := func(g Multiplex, c int) []int {
		out := make([]int, 5)
		for i := range out {
			out[i] = int(g.Samples[c][i]) - g.Offset
		}
		return out
	}
	if got := raw(g, 0); !slices.Equal(got, []int{80, 65, 50, 35, 37}) {
		t.Errorf("channel 1 starts %v", got)
	}
	if got := raw(g, 1); !slices.Equal(got, []int{90, 85, 80, 75, 77}) {
		t.Errorf("channel 2 starts %v", got)
	}
	for i, want := range []float64{100, 81.25, 62.5, 43.75, 46.25} {
		if got := g.Physical(0, i); got != want {
			t.Errorf("channel 1 sample %d = %v %s, want %v", i, got, g.Channels[0].SensitivityUnit, want)
		}
	}
	if g.Channels[0].SensitivityUnit != "uV" || g.Channels[0].Source.Value != "5.6.3-9-1" || g.Channels[0].Source.Meaning != "Lead I (Einthoven)" {
		t.Errorf("channel 1: %+v", g.Channels[0])
	}
	if got := raw(groups[1], 0); len(groups[1].Samples[0]) != 1200 || !slices.Equal(got, []int{10, 10, 30, 35, 25}) {
		t.Errorf("group 2: %d samples starting %v", len(groups[1].Samples[0]), got)
	}
	anns := WaveformAnnotations(f.Dataset)
	var text []string
	var qt float64
	for _, a := range anns {
		if a.Text != "" {
			text = append(text, a.Text)
		}
		if a.Name.Meaning == "QT Interval" {
			qt = a.Value
		}
	}
	if strings.Join(text, "|") != "RITMO SINUSALE|ECG NORMALE" || qt != 368 {
		t.Errorf("annotations: text %q, QT %v", text, qt)
	}
}

// TestWaveformsImplicitVR: the ECG Toolkit writes its DICOM ECG in
// implicit VR, whose sequences are found through the dictionary.
func TestWaveformsImplicitVR(t *testing.T) {
	f := waveformECG(t, "ecgtoolkit-Example.dcm")
	if f.TransferSyntax != ImplicitVRLittleEndian {
		t.Fatalf("transfer syntax %s", f.TransferSyntax)
	}
	groups, err := Waveforms(f.Dataset, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	g := groups[0]
	if len(g.Channels) != 12 || len(g.Samples[0]) != 5000 || g.Fs != 500 || g.Physical(0, 0) != -5 {
		t.Fatalf("%d channels × %d at %v Hz, first %v µV", len(g.Channels), len(g.Samples[0]), g.Fs, g.Physical(0, 0))
	}
}

// waveformFile is a one-group, two-channel waveform of n samples in
// explicit VR little endian.
func waveformFile(bits int, interp string, data []byte, n int) []byte {
	us := func(v int) []byte { return binary.LittleEndian.AppendUint16(nil, uint16(v)) }
	ch := func(label string) *Dataset {
		return &Dataset{Elements: []*Element{
			{Tag: TagChannelLabel, VR: "SH", Value: []byte(label)},
			{Tag: TagChannelSensitivity, VR: "DS", Value: []byte("2 ")},
			{Tag: TagChannelSensitivityUnitsSeq, VR: "SQ", Items: []*Dataset{{Elements: []*Element{{Tag: TagCodeValue, VR: "SH", Value: []byte("uV")}}}}},
			{Tag: TagChannelSensitivityCorrection, VR: "DS", Value: []byte("1 ")},
			{Tag: TagChannelBaseline, VR: "DS", Value: []byte("10")},
		}}
	}
	vr := "OW"
	if bits == 8 {
		vr = "OB"
	}
	item := &Dataset{Elements: []*Element{
		{Tag: TagNumberOfWaveformChannels, VR: "US", Value: us(2)},
		{Tag: TagNumberOfWaveformSamples, VR: "UL", Value: binary.LittleEndian.AppendUint32(nil, uint32(n))},
		{Tag: TagSamplingFrequency, VR: "DS", Value: []byte("500 ")},
		{Tag: TagChannelDefinitionSequence, VR: "SQ", Items: []*Dataset{ch("I"), ch("II")}},
		{Tag: TagWaveformBitsAllocated, VR: "US", Value: us(bits)},
		{Tag: TagWaveformSampleInterpretation, VR: "CS", Value: []byte(interp)},
		{Tag: TagWaveformData, VR: vr, Value: data},
	}}
	return Encode(ExplicitVRLittleEndian, []*Element{
		{Tag: TagSOPClassUID, VR: "UI", Value: []byte(SOPGeneralECG + "\x00")},
		{Tag: TagWaveformSequence, VR: "SQ", Items: []*Dataset{item}},
	})
}

// TestWaveformInterpretations decodes each bits allocated / sample
// interpretation pair, calibrated: (stored + baseline 10) × 2 µV.
func TestWaveformInterpretations(t *testing.T) {
	cases := []struct {
		bits   int
		interp string
		data   []byte
		want   []float64 // channel 1 then 2 of the first frame
	}{
		{16, "SS", []byte{0xFF, 0xFF, 0x02, 0x00}, []float64{18, 24}},     // −1, 2
		{16, "US", []byte{0xFF, 0xFF, 0x02, 0x00}, []float64{131090, 24}}, // 65535, 2
		{8, "SB", []byte{0xFE, 0x05}, []float64{16, 30}},                  // −2, 5
		{8, "UB", []byte{0xFE, 0x05}, []float64{528, 30}},                 // 254, 5
		{8, "MB", []byte{0xFF, 0x80}, []float64{20, 2 * (32124 + 10)}},    // µ-law 0, +32124
		{8, "AB", []byte{0xD5, 0x55}, []float64{36, 4}},                   // A-law +8, −8
	}
	for _, tc := range cases {
		t.Run(tc.interp, func(t *testing.T) {
			f, err := Parse(waveformFile(tc.bits, tc.interp, tc.data, 1))
			if err != nil {
				t.Fatal(err)
			}
			g, err := Waveforms(f.Dataset, 100)
			if err != nil {
				t.Fatal(err)
			}
			for c, want := range tc.want {
				if got := g[0].Physical(c, 0); got != want {
					t.Errorf("channel %d = %v µV, want %v", c+1, got, want)
				}
			}
		})
	}
}

// TestWaveformsBadInput: data shorter than the header says, more samples
// than allowed, an unsupported encoding and a file without waveform are
// refused with their own error.
func TestWaveformsBadInput(t *testing.T) {
	cases := []struct {
		name string
		file []byte
		max  int
		kind error
		want string
	}{
		{"short data", waveformFile(16, "SS", make([]byte, 6), 2), 100, ErrTruncated, "Waveform Data holds 6 bytes"},
		{"over the limit", waveformFile(16, "SS", make([]byte, 400), 100), 100, ErrLimit, "more than 100 samples"},
		{"bits and interpretation", waveformFile(16, "SB", make([]byte, 4), 1), 100, nil, "not supported"},
		{"no waveform", Encode(ExplicitVRLittleEndian, []*Element{{Tag: TagModality, VR: "CS", Value: []byte("CT")}}), 100, nil, "no Waveform Sequence"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f, err := Parse(tc.file)
			if err != nil {
				t.Fatal(err)
			}
			_, err = Waveforms(f.Dataset, tc.max)
			if err == nil || !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), tc.want) || (tc.kind != nil && !errors.Is(err, tc.kind)) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
		})
	}
}

func TestG711(t *testing.T) {
	for b, want := range map[byte]int16{0xFF: 0, 0x7F: 0, 0x80: 32124, 0x00: -32124} {
		if got := ulaw(b); got != want {
			t.Errorf("ulaw(%02X) = %d, want %d", b, got, want)
		}
	}
	for b, want := range map[byte]int16{0xD5: 8, 0x55: -8, 0xAA: 32256, 0x2A: -32256} {
		if got := alaw(b); got != want {
			t.Errorf("alaw(%02X) = %d, want %d", b, got, want)
		}
	}
}
