package dicom

import (
	"bytes"
	"errors"
	"image"
	"image/png"
	"testing"
)

// TestRenderShared renders every frame of every shared file (or gets
// ErrCannotPreview for a documented reason) and round-trips it through PNG.
func TestRenderShared(t *testing.T) {
	want := map[string]string{ // file → image type
		"pydicom-CR1.dcm":              "gray",
		"pydicom-CT_small.dcm":         "gray",
		"pydicom-MR_small.dcm":         "gray",
		"pydicom-SC_rgb_jpeg_dcmd.dcm": "rgba",
		"pydicom-chrX1.dcm":            "gray",
		"pydicom-examples_palette.dcm": "rgba",
		"tcia-1.dcm":                   "gray",
		"tcia-3.dcm":                   "gray",
		"tcia-5.dcm":                   "gray",
		"tcia-6.dcm":                   "gray",
	}
	for _, c := range sharedFiles {
		f, err := Parse(readShared(t, c.name))
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		for fr := 0; fr < c.frames; fr++ {
			img, err := Render(f, fr, nil)
			if err != nil {
				t.Errorf("%s frame %d: %v", c.name, fr, err)
				continue
			}
			kind := "other"
			switch img.(type) {
			case *image.Gray:
				kind = "gray"
			case *image.RGBA:
				kind = "rgba"
			}
			if kind != want[c.name] || img.Bounds() != image.Rect(0, 0, c.cols, c.rows) {
				t.Errorf("%s: %s %v", c.name, kind, img.Bounds())
			}
			if distinct(img) < 2 {
				t.Errorf("%s frame %d renders flat", c.name, fr)
			}
			var buf bytes.Buffer
			if err := EncodePNG(&buf, img); err != nil {
				t.Fatal(err)
			}
			back, err := png.Decode(&buf)
			if err != nil || back.Bounds() != img.Bounds() {
				t.Errorf("%s: PNG round trip %v", c.name, err)
			}
		}
		if _, err := Render(f, c.frames, nil); err == nil {
			t.Errorf("%s: frame %d past the end rendered", c.name, c.frames)
		}
	}
}

func distinct(img image.Image) int {
	seen := map[uint32]bool{}
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y += 3 {
		for x := b.Min.X; x < b.Max.X; x += 3 {
			r, g, bl, _ := img.At(x, y).RGBA()
			seen[r<<16^g<<8^bl] = true
		}
	}
	return len(seen)
}

func TestCannotPreview(t *testing.T) {
	// Re-label the CT as MPEG-2 (not decoded) with encapsulated pixel data.
	px := make([]byte, 64)
	b := Encode("1.2.840.10008.1.2.4.100", []*Element{
		{Tag: TagModality, VR: "CS", Value: []byte("CT")},
		{Tag: TagSamplesPerPixel, VR: "US", Value: u16s(1)},
		{Tag: TagPhotometricInterpretation, VR: "CS", Value: []byte("MONOCHROME2 ")},
		{Tag: TagRows, VR: "US", Value: u16s(4)},
		{Tag: TagColumns, VR: "US", Value: u16s(4)},
		{Tag: TagBitsAllocated, VR: "US", Value: u16s(16)},
		{Tag: TagBitsStored, VR: "US", Value: u16s(12)},
		{Tag: TagHighBit, VR: "US", Value: u16s(11)},
		{Tag: TagPixelRepresentation, VR: "US", Value: u16s(0)},
		{Tag: TagPixelData, VR: "OB", Fragments: [][]byte{nil, px}},
	})
	f, err := Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	_, err = Render(f, 0, nil)
	var cp *CannotPreviewError
	if !errors.Is(err, ErrCannotPreview) || !errors.As(err, &cp) || cp.TransferSyntax != "1.2.840.10008.1.2.4.100" {
		t.Fatalf("MPEG-2: %v", err)
	}
	if !bytes.Contains([]byte(err.Error()), []byte("MPEG2")) {
		t.Errorf("error does not name the transfer syntax: %v", err)
	}
}
