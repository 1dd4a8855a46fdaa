package dicom

import (
	"bytes"
	"compress/flate"
	"encoding/binary"
	"errors"
	"image"
	"image/jpeg"
	"strconv"
	"testing"
)

// greyElems is a small greyscale image module; values little endian unless big.
func greyElems(rows, cols, frames, bits int, signed bool, photometric string, px []byte, big bool, extra ...*Element) []*Element {
	us := func(v int) []byte {
		if big {
			return binary.BigEndian.AppendUint16(nil, uint16(v))
		}
		return binary.LittleEndian.AppendUint16(nil, uint16(v))
	}
	pr := 0
	if signed {
		pr = 1
	}
	vr := "OW"
	if bits == 8 {
		vr = "OB"
	}
	els := []*Element{
		{Tag: TagSpecificCharacterSet, VR: "CS", Value: []byte("ISO_IR 100")},
		{Tag: TagModality, VR: "CS", Value: []byte("CT")},
		{Tag: TagPatientName, VR: "PN", Value: []byte("M\xfcller^J\xfcrgen")},
		{Tag: TagSamplesPerPixel, VR: "US", Value: us(1)},
		{Tag: TagPhotometricInterpretation, VR: "CS", Value: []byte(photometric)},
		{Tag: TagNumberOfFrames, VR: "IS", Value: []byte(itoa(frames))},
		{Tag: TagRows, VR: "US", Value: us(rows)},
		{Tag: TagColumns, VR: "US", Value: us(cols)},
		{Tag: TagBitsAllocated, VR: "US", Value: us(bits)},
		{Tag: TagBitsStored, VR: "US", Value: us(bits)},
		{Tag: TagHighBit, VR: "US", Value: us(bits - 1)},
		{Tag: TagPixelRepresentation, VR: "US", Value: us(pr)},
		{Tag: TagPixelData, VR: vr, Value: px},
	}
	return append(els, extra...)
}

func itoa(n int) string { return strconv.Itoa(n) }

func TestTransferSyntaxes(t *testing.T) {
	// 2×2 signed 16-bit: -1000, 0, 1000, 3000 with rescale 1/-0 → window from min/max.
	vals := []int16{-1000, 0, 1000, 3000}
	le, be := []byte{}, []byte{}
	for _, v := range vals {
		le = binary.LittleEndian.AppendUint16(le, uint16(v))
		be = binary.BigEndian.AppendUint16(be, uint16(v))
	}
	seq := &Element{Tag: 0x00081140, VR: "SQ", Undefined: true, Items: []*Dataset{{Elements: []*Element{{Tag: TagSOPInstanceUID, VR: "UI", Value: []byte("1.2.3")}}}}}
	for _, c := range []struct {
		ts  string
		px  []byte
		big bool
	}{
		{ImplicitVRLittleEndian, le, false},
		{ExplicitVRLittleEndian, le, false},
		{ExplicitVRBigEndian, be, true},
	} {
		b := Encode(c.ts, greyElems(2, 2, 1, 16, true, "MONOCHROME2", c.px, c.big, seq))
		f, err := Parse(b)
		if err != nil {
			t.Fatalf("%s: %v", c.ts, err)
		}
		if f.PersonName(TagPatientName) != "Müller^Jürgen" {
			t.Errorf("%s: Latin-1 name %q", c.ts, f.PersonName(TagPatientName))
		}
		if it := f.Items(0x00081140); len(it) != 1 || it[0].String(TagSOPInstanceUID) != "1.2.3" {
			t.Errorf("%s: sequence %v", c.ts, it)
		}
		img, err := Render(f, 0, nil)
		if err != nil {
			t.Fatalf("%s: %v", c.ts, err)
		}
		g := img.(*image.Gray).Pix
		if g[0] != 0 || g[3] != 255 || !(g[1] < g[2]) {
			t.Errorf("%s: grey %v", c.ts, g)
		}
		// A narrow window on 0..1000 saturates 3000 and blacks out -1000.
		img, _ = Render(f, 0, &Window{Center: 500, Width: 1000})
		if g := img.(*image.Gray).Pix; g[0] != 0 || g[3] != 255 || g[1] > 1 || g[2] < 254 {
			t.Errorf("%s: windowed %v", c.ts, g)
		}
	}
	// Deflated: the explicit LE dataset after the meta group, raw-deflated.
	plain := Encode(ExplicitVRLittleEndian, greyElems(2, 2, 1, 16, true, "MONOCHROME1", le, false))
	hdr := Encode(DeflatedExplicitVRLittleEndian, nil)
	metaEnd := len(Encode(ExplicitVRLittleEndian, nil))
	var z bytes.Buffer
	w, _ := flate.NewWriter(&z, flate.BestCompression)
	w.Write(plain[metaEnd:])
	w.Close()
	f, err := Parse(append(hdr, z.Bytes()...))
	if err != nil {
		t.Fatal(err)
	}
	img, err := Render(f, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	if g := img.(*image.Gray).Pix; g[0] != 255 || g[3] != 0 { // MONOCHROME1: inverted
		t.Errorf("deflated MONOCHROME1 %v", g)
	}
}

func TestRescaleAndFileWindow(t *testing.T) {
	// Unsigned 12-bit CT values 0..4095 stored, rescale -1024: window 40/400 (brain).
	var px []byte
	for _, v := range []uint16{0, 1024 + 40 - 200, 1024 + 40, 4095} {
		px = binary.LittleEndian.AppendUint16(px, v)
	}
	els := greyElems(2, 2, 1, 16, false, "MONOCHROME2", px, false,
		&Element{Tag: TagRescaleIntercept, VR: "DS", Value: []byte("-1024")},
		&Element{Tag: TagRescaleSlope, VR: "DS", Value: []byte("1")},
		&Element{Tag: TagWindowCenter, VR: "DS", Value: []byte(`40\300`)},
		&Element{Tag: TagWindowWidth, VR: "DS", Value: []byte(`400\1500`)})
	f, err := Parse(Encode(ExplicitVRLittleEndian, els))
	if err != nil {
		t.Fatal(err)
	}
	img, err := Render(f, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	g := img.(*image.Gray).Pix
	if g[0] != 0 || g[1] > 1 || g[2] < 126 || g[2] > 129 || g[3] != 255 {
		t.Errorf("file window: %v", g)
	}
}

func TestMultiFrameAndColour(t *testing.T) {
	// 3 frames of 8-bit grey: frame k is all k*100.
	px := make([]byte, 3*4)
	for k := 0; k < 3; k++ {
		for i := 0; i < 4; i++ {
			px[4*k+i] = byte(k*100 + i)
		}
	}
	f, err := Parse(Encode(ExplicitVRLittleEndian, greyElems(2, 2, 3, 8, false, "MONOCHROME2", px, false)))
	if err != nil {
		t.Fatal(err)
	}
	img, err := Render(f, 2, &Window{Center: 127.5, Width: 256})
	if err != nil {
		t.Fatal(err)
	}
	if g := img.(*image.Gray).Pix; g[0] != 200 || g[3] != 203 {
		t.Errorf("frame 2: %v", g)
	}
	// Planar RGB: R plane, G plane, B plane.
	rgb := []byte{10, 11, 12, 13, 20, 21, 22, 23, 30, 31, 32, 33}
	els := []*Element{
		{Tag: TagSamplesPerPixel, VR: "US", Value: u16s(3)},
		{Tag: TagPhotometricInterpretation, VR: "CS", Value: []byte("RGB")},
		{Tag: TagPlanarConfiguration, VR: "US", Value: u16s(1)},
		{Tag: TagRows, VR: "US", Value: u16s(2)},
		{Tag: TagColumns, VR: "US", Value: u16s(2)},
		{Tag: TagBitsAllocated, VR: "US", Value: u16s(8)},
		{Tag: TagPixelData, VR: "OB", Value: rgb},
	}
	f, err = Parse(Encode(ExplicitVRLittleEndian, els))
	if err != nil {
		t.Fatal(err)
	}
	img, err = Render(f, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	if p := img.(*image.RGBA).Pix; p[4] != 11 || p[5] != 21 || p[6] != 31 {
		t.Errorf("planar RGB pixel 1: %v", p[4:8])
	}
}

func TestJPEGBaseline(t *testing.T) {
	src := image.NewGray(image.Rect(0, 0, 16, 8))
	for i := range src.Pix {
		src.Pix[i] = byte(i * 2)
	}
	var frames [][]byte
	for k := 0; k < 2; k++ {
		var buf bytes.Buffer
		if err := jpeg.Encode(&buf, src, &jpeg.Options{Quality: 95}); err != nil {
			t.Fatal(err)
		}
		frames = append(frames, buf.Bytes())
	}
	els := greyElems(8, 16, 2, 8, false, "MONOCHROME2", nil, false)
	els[len(els)-1] = &Element{Tag: TagPixelData, VR: "OB", Fragments: [][]byte{nil, frames[0], frames[1]}}
	f, err := Parse(Encode(JPEGBaseline, els))
	if err != nil {
		t.Fatal(err)
	}
	for fr := 0; fr < 2; fr++ {
		img, err := Render(f, fr, nil)
		if err != nil || img.Bounds().Dx() != 16 {
			t.Fatalf("frame %d: %v", fr, err)
		}
	}
	// A corrupt JPEG stream is a preview failure, not a rejected file.
	els[len(els)-1] = &Element{Tag: TagPixelData, VR: "OB", Fragments: [][]byte{nil, []byte("not a jpeg"), []byte("nope")}}
	f, err = Parse(Encode(JPEGBaseline, els))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Render(f, 1, nil); !errors.Is(err, ErrCannotPreview) {
		t.Errorf("corrupt JPEG: %v", err)
	}
}

func TestBadInput(t *testing.T) {
	good := readShared(t, "pydicom-CT_small.dcm")
	deflated := readShared(t, "tcia-6.dcm")
	relabel := func(b []byte, from, to string) []byte {
		return bytes.Replace(append([]byte(nil), b...), []byte(from), []byte(to), 1)
	}
	cases := []struct {
		name string
		b    []byte
		kind error
	}{
		{"empty", nil, ErrFormat},
		{"no DICM", make([]byte, 200), ErrFormat},
		{"truncated header", good[:140], ErrTruncated},
		{"truncated pixel data", good[:len(good)-100], ErrTruncated},
		{"truncated mid-file", good[:len(good)/2], ErrTruncated},
		// Explicit VR data labelled implicit, and the reverse.
		{"explicit claimed implicit", relabel(good, ExplicitVRLittleEndian+"\x00", ImplicitVRLittleEndian+"\x00\x00\x00"), ErrTransferSyntax},
		{"explicit claimed big endian", relabel(good, ExplicitVRLittleEndian+"\x00", ExplicitVRBigEndian+"\x00"), ErrTransferSyntax},
		{"plain claimed deflated", relabel(good, ExplicitVRLittleEndian+"\x00", DeflatedExplicitVRLittleEndian), ErrFormat},
		{"corrupt deflate", append(append([]byte(nil), deflated[:len(deflated)-2000]...), bytes.Repeat([]byte{0xFF}, 50)...), ErrFormat},
	}
	for _, c := range cases {
		_, err := Parse(c.b)
		if !errors.Is(err, c.kind) || !errors.Is(err, ErrFormat) {
			t.Errorf("%s: %v, want %v", c.name, err, c.kind)
		}
	}
}

func TestLimits(t *testing.T) {
	// Sequences nested 20 deep.
	inner := &Element{Tag: TagSOPInstanceUID, VR: "UI", Value: []byte("1")}
	for i := 0; i < 20; i++ {
		inner = &Element{Tag: 0x00081140, VR: "SQ", Undefined: i%2 == 0, Items: []*Dataset{{Elements: []*Element{inner}}}}
	}
	b := Encode(ExplicitVRLittleEndian, []*Element{inner})
	if _, err := Parse(b); !errors.Is(err, ErrLimit) {
		t.Errorf("deep nesting: %v", err)
	}
	l := DefaultLimits
	l.MaxDepth = 30
	if _, err := l.Parse(b); err != nil {
		t.Errorf("deep nesting under a raised limit: %v", err)
	}
	l = DefaultLimits
	l.MaxElements = 50
	if _, err := l.Parse(readShared(t, "pydicom-CT_small.dcm")); !errors.Is(err, ErrLimit) {
		t.Errorf("element count: %v", err)
	}
	// A deflate bomb: 64 MiB of zeros inflates past a 1 MiB limit.
	var z bytes.Buffer
	w, _ := flate.NewWriter(&z, flate.BestCompression)
	w.Write(make([]byte, 64<<20))
	w.Close()
	l = DefaultLimits
	l.MaxInflated = 1 << 20
	if _, err := l.Parse(append(Encode(DeflatedExplicitVRLittleEndian, nil), z.Bytes()...)); !errors.Is(err, ErrLimit) {
		t.Errorf("deflate bomb: %v", err)
	}
	if _, err := ParseReader(bytes.NewReader(make([]byte, 1000)), 500); !errors.Is(err, ErrLimit) {
		t.Errorf("oversized upload: %v", err)
	}
}

func TestCharsets(t *testing.T) {
	for _, c := range []struct{ cs, raw, want string }{
		{"ISO_IR 192", "Wang^XiaoDong=王^小東=", "Wang^XiaoDong=王^小東="},
		{"ISO_IR 100", "Buc^J\xe9r\xf4me", "Buc^Jérôme"},
		{"GB18030", "Wang^XiaoDong=\xcd\xf5^\xd0\xa1\xb6\xab=", "Wang^XiaoDong=王^小东="},
		{"GBK", "\xcd\xf5^\xd0\xa1\xb6\xab", "王^小东"},
		{"", "Smith^John", "Smith^John"},
	} {
		els := []*Element{{Tag: TagPatientName, VR: "PN", Value: []byte(c.raw)}}
		if c.cs != "" {
			els = append(els, &Element{Tag: TagSpecificCharacterSet, VR: "CS", Value: []byte(c.cs)})
		}
		f, err := Parse(Encode(ExplicitVRLittleEndian, els))
		if err != nil {
			t.Fatal(err)
		}
		if got := f.PersonName(TagPatientName); got != c.want {
			t.Errorf("%s: %q, want %q", c.cs, got, c.want)
		}
	}
}

func TestBigEndian8BitOW(t *testing.T) {
	// 8-bit samples 1,2,3,4 in big-endian OW arrive as 2,1,4,3.
	els := greyElems(2, 2, 1, 8, false, "MONOCHROME2", []byte{2, 1, 4, 3}, true)
	els[len(els)-1].VR = "OW"
	f, err := Parse(Encode(ExplicitVRBigEndian, els))
	if err != nil {
		t.Fatal(err)
	}
	img, err := Render(f, 0, &Window{Center: 127.5, Width: 256})
	if err != nil {
		t.Fatal(err)
	}
	if g := img.(*image.Gray).Pix; !(g[0] < g[1] && g[1] < g[2] && g[2] < g[3]) {
		t.Errorf("big-endian 8-bit OW: %v", g)
	}
}

func TestYBRFull(t *testing.T) {
	// Y=76 Cb=85 Cr=255 is pure red; Y=150 Cb=44 Cr=21 green.
	els := []*Element{
		{Tag: TagSamplesPerPixel, VR: "US", Value: u16s(3)},
		{Tag: TagPhotometricInterpretation, VR: "CS", Value: []byte("YBR_FULL")},
		{Tag: TagRows, VR: "US", Value: u16s(1)},
		{Tag: TagColumns, VR: "US", Value: u16s(2)},
		{Tag: TagBitsAllocated, VR: "US", Value: u16s(8)},
		{Tag: TagPixelData, VR: "OB", Value: []byte{76, 85, 255, 150, 44, 21}},
	}
	f, err := Parse(Encode(ExplicitVRLittleEndian, els))
	if err != nil {
		t.Fatal(err)
	}
	img, err := Render(f, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	p := img.(*image.RGBA).Pix
	if p[0] < 250 || p[1] > 5 || p[2] > 5 || p[4] > 5 || p[5] < 250 || p[6] > 5 {
		t.Errorf("YBR_FULL: %v", p)
	}
}
