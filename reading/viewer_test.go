package reading

import (
	"container/list"
	"encoding/binary"
	"fmt"
	"math"
	"strings"
	"testing"

	"countycare/dicom"
	"countycare/ecg"
)

func u16(v int) []byte { return binary.LittleEndian.AppendUint16(nil, uint16(v)) }

// greyFile is a 4×4 image of 16 bits allocated, 12 stored, with the given
// raw values, pixel representation and rescale.
func greyFile(t *testing.T, vals []int, signed bool, slope, icpt string) (*dicom.File, dicom.ImageInfo) {
	t.Helper()
	var px []byte
	for _, v := range vals {
		px = append(px, u16(v)...)
	}
	pr := 0
	if signed {
		pr = 1
	}
	b := dicom.Encode(dicom.ExplicitVRLittleEndian, []*dicom.Element{
		{Tag: dicom.TagSamplesPerPixel, VR: "US", Value: u16(1)},
		{Tag: dicom.TagPhotometricInterpretation, VR: "CS", Value: []byte("MONOCHROME2")},
		{Tag: dicom.TagRows, VR: "US", Value: u16(4)}, {Tag: dicom.TagColumns, VR: "US", Value: u16(4)},
		{Tag: dicom.TagBitsAllocated, VR: "US", Value: u16(16)}, {Tag: dicom.TagBitsStored, VR: "US", Value: u16(12)},
		{Tag: dicom.TagHighBit, VR: "US", Value: u16(11)}, {Tag: dicom.TagPixelRepresentation, VR: "US", Value: u16(pr)},
		{Tag: dicom.TagRescaleIntercept, VR: "DS", Value: []byte(icpt)}, {Tag: dicom.TagRescaleSlope, VR: "DS", Value: []byte(slope)},
		{Tag: dicom.TagPixelData, VR: "OW", Value: px},
	})
	f, err := dicom.Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	in, err := f.Info()
	if err != nil {
		t.Fatal(err)
	}
	return f, in
}

// TestFrameRange: the full-range window follows the modality LUT (PS3.3
// C.11.1): stored bits masked, sign-extended, then slope and intercept.
func TestFrameRange(t *testing.T) {
	vals := make([]int, 16)
	for i := range vals {
		vals[i] = 100 + i*10
	}
	vals[3] = 0xF000 | 4000 // bits above Bits Stored are not part of the value
	f, in := greyFile(t, vals, false, "2", "-1024")
	w := frameRange(f, in)
	// Stored 100 … 4000 → −824 … 6976.
	if w == nil || w.Center != (-824+6976)/2.0 || w.Width != 6976+824+1 {
		t.Errorf("unsigned: %+v, want center 3076 width 7801", w)
	}
	vals[3] = 0x0FFF // −1 in 12-bit two's complement
	vals[5] = 0x0800 // −2048
	f, in = greyFile(t, vals, true, "1", "0")
	if w := frameRange(f, in); w == nil || w.Center != (-2048+250)/2.0 || w.Width != 250+2048+1 {
		t.Errorf("signed: %+v, want −2048 … 250", w)
	}
}

func TestWindowPresets(t *testing.T) {
	ct := WindowPresets("ct")
	if len(ct) != 5 || ct[1].Name != "lung" || ct[1].Center != -600 || ct[1].Width != 1500 {
		t.Errorf("CT presets %+v", ct)
	}
	if WindowPresets("US") != nil {
		t.Error("ultrasound has no HU presets")
	}
}

// TestSegment: a segment is cut at frame boundaries, carries each lead's
// calibration and the beats detected in it (with the margin, a beat at
// the edge is found), and one starting past the end is refused.
func TestSegment(t *testing.T) {
	var b strings.Builder
	b.WriteString("time,II,V1\n")
	fs := 250.0
	for i := 0; i < 30*250; i++ {
		x := float64(i) / fs
		v := 0.0
		for c := 0.5; c < 30; c += 1.0 { // 60 bpm
			v += math.Exp(-(x - c) * (x - c) / (2 * 0.012 * 0.012))
		}
		fmt.Fprintf(&b, "%.3f,%.4f,%.4f\n", x, v, -v/2)
	}
	rec, err := ecg.ReadCSV(strings.NewReader(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	seg, err := Segment(rec, 10, 5)
	if err != nil {
		t.Fatal(err)
	}
	if seg.Start != 2500 || seg.Frames != 7500 || len(seg.Leads) != 2 || len(seg.Leads[0].Samples) != 1250 || seg.Leads[1].Name != "V1" {
		t.Fatalf("segment: start %d frames %d leads %d", seg.Start, seg.Frames, len(seg.Leads))
	}
	// Beats at 10.5, 11.5 … 14.5 s.
	if len(seg.Beats) != 5 {
		t.Fatalf("beats %v, want 5", seg.Beats)
	}
	for i, bt := range seg.Beats {
		if want := int((10.5 + float64(i)) * fs); bt < want-5 || bt > want+5 {
			t.Errorf("beat %d at %d, want %d", i, bt, want)
		}
	}
	if tail, err := Segment(rec, 28, 10); err != nil || len(tail.Leads[0].Samples) != 500 {
		t.Errorf("the last 2 s: %v", err)
	}
	if _, err := Segment(rec, 30, 5); err == nil {
		t.Error("a segment past the end was cut")
	}
}

func TestLRUEvicts(t *testing.T) {
	c := &lru{max: 100, items: map[string]*list.Element{}, order: list.New()}
	c.put("a", 1, 40)
	c.put("b", 2, 40)
	c.get("a")
	c.put("c", 3, 40) // evicts b, the least recently used
	if _, ok := c.get("b"); ok {
		t.Error("b was kept")
	}
	if _, ok := c.get("a"); !ok {
		t.Error("a was evicted")
	}
	c.put("huge", 4, 60) // more than half the budget: not cached
	if _, ok := c.get("huge"); ok || c.size != 80 {
		t.Errorf("huge entry cached; size %d", c.size)
	}
}
