package dicom

import (
	"bytes"
	"errors"
	"reflect"
	"testing"
)

// TestTranscode: big-endian, implicit and deflated files become explicit
// VR little endian files with the same values and the same rendered
// pixels; compressed files are refused.
func TestTranscode(t *testing.T) {
	le := make([]byte, 2*3*2*2) // 2×3, 2 frames, 16 bits
	be := make([]byte, len(le))
	for i := 0; i < len(le); i += 2 {
		v := uint16(i*300 + 7)
		le[i], le[i+1] = byte(v), byte(v>>8)
		be[i], be[i+1] = byte(v>>8), byte(v)
	}
	seq := func() *Element {
		return &Element{Tag: 0x00081140, VR: "SQ", Items: []*Dataset{{Elements: []*Element{{Tag: TagModality, VR: "CS", Value: []byte("CT")}}}}}
	}
	want, err := Parse(Encode(ExplicitVRLittleEndian, greyElems(2, 3, 2, 16, true, "MONOCHROME2", le, false, seq())))
	if err != nil {
		t.Fatal(err)
	}
	head := greyElems(2, 3, 2, 16, true, "MONOCHROME2", nil, false, seq())
	for name, b := range map[string][]byte{
		"big endian": Encode(ExplicitVRBigEndian, greyElems(2, 3, 2, 16, true, "MONOCHROME2", be, true, seq())),
		"implicit":   Encode(ImplicitVRLittleEndian, greyElems(2, 3, 2, 16, true, "MONOCHROME2", le, false, seq())),
		"deflated":   DeflatedZeros(append(head[:12:12], head[13:]...), int64(len(le))),
	} {
		f, err := Parse(b)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !CanTranscode(f.TransferSyntax, ExplicitVRLittleEndian) {
			t.Errorf("%s: CanTranscode false", name)
		}
		out, err := Transcode(f, ExplicitVRLittleEndian)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		g, err := Parse(out)
		if err != nil {
			t.Fatalf("%s: the converted file does not parse: %v", name, err)
		}
		if g.TransferSyntax != ExplicitVRLittleEndian || g.Meta.String(TagTransferSyntaxUID) != ExplicitVRLittleEndian {
			t.Errorf("%s: transfer syntax %s", name, g.TransferSyntax)
		}
		wi, _ := want.Info()
		gi, err := g.Info()
		if err != nil || !reflect.DeepEqual(gi, wi) {
			t.Errorf("%s: info %+v %v, want %+v", name, gi, err, wi)
		}
		if g.PersonName(TagPatientName) != want.PersonName(TagPatientName) || len(g.Items(0x00081140)) != 1 {
			t.Errorf("%s: values differ: %q", name, g.PersonName(TagPatientName))
		}
		pix := le
		if name == "deflated" {
			pix = make([]byte, len(le))
		}
		if fr, _, err := Frame(g, 1); err != nil || !bytes.Equal(fr, pix[len(pix)/2:]) {
			t.Errorf("%s: frame 2 = %v %v, want %v", name, fr, err, pix[len(pix)/2:])
		}
		if name != "deflated" {
			a, _ := Render(want, 1, nil)
			c, err := Render(g, 1, nil)
			if err != nil || !reflect.DeepEqual(a, c) {
				t.Errorf("%s: rendered frame 2 differs (%v)", name, err)
			}
		}
	}
	els := greyElems(2, 2, 1, 8, false, "MONOCHROME2", nil, false)
	els[len(els)-1] = &Element{Tag: TagPixelData, VR: "OB", Fragments: [][]byte{{}, {0xFF, 0xD8, 0xFF, 0xD9}}}
	const mpeg2 = "1.2.840.10008.1.2.4.100"
	mp, err := Parse(Encode(mpeg2, els))
	if err != nil {
		t.Fatal(err)
	}
	if CanTranscode(mpeg2, ExplicitVRLittleEndian) || CanTranscode(ExplicitVRLittleEndian, ExplicitVRLittleEndian) || CanTranscode(ImplicitVRLittleEndian, JPEGBaseline) {
		t.Error("CanTranscode allows a conversion Transcode does not make")
	}
	if _, err := Transcode(mp, ExplicitVRLittleEndian); !errors.Is(err, ErrCannotTranscode) {
		t.Errorf("MPEG-2 to explicit VR little endian: %v", err)
	}
	// JPEG Baseline is decoded for conversion; an empty stream is a format error.
	jp, err := Parse(Encode(JPEGBaseline, els))
	if err != nil {
		t.Fatal(err)
	}
	if !CanTranscode(JPEGBaseline, ExplicitVRLittleEndian) {
		t.Error("CanTranscode: JPEG Baseline decodes to explicit VR little endian")
	}
	if _, err := Transcode(jp, ExplicitVRLittleEndian); !errors.Is(err, ErrFormat) {
		t.Errorf("an empty JPEG to explicit VR little endian: %v", err)
	}
	if _, err := Transcode(want, JPEGBaseline); !errors.Is(err, ErrCannotTranscode) {
		t.Errorf("to JPEG: %v", err)
	}
}
