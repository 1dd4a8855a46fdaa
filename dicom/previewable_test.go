package dicom

import (
	"bytes"
	"errors"
	"image"
	"image/jpeg"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// previewOutcome sorts an error as Previewable and Render are compared:
// "ok", "cannot preview" or "format".
func previewOutcome(err error) string {
	switch {
	case err == nil:
		return "ok"
	case errors.Is(err, ErrCannotPreview):
		return "cannot preview"
	}
	return "format"
}

// TestPreviewableAgreesWithRender: the header-only check STOW-RS makes
// (issue 16: no frame is rendered at STOW) says what rendering the first
// frame says — for every vendored file (every transfer syntax the server
// decodes) and for files made to fail each check: a syntax not decoded,
// 32 bits allocated, a photometric interpretation not rendered, native
// pixel data cut short, a palette without its tables, an 8-bit JPEG of
// another size than the dataset's, a JPEG 2000 codestream declaring
// 2³¹ pixels.
func TestPreviewableAgreesWithRender(t *testing.T) {
	dir := sharedDir(t)
	files := map[string][]byte{}
	for _, sub := range []string{"", "compressed"} {
		ents, err := os.ReadDir(filepath.Join(dir, sub))
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range ents {
			if e.IsDir() || !strings.HasSuffix(e.Name(), ".dcm") {
				continue
			}
			b, err := os.ReadFile(filepath.Join(dir, sub, e.Name()))
			if err != nil {
				t.Fatal(err)
			}
			files[filepath.Join(sub, e.Name())] = b
		}
	}
	grey := func(ts string, bits int, photometric string, px *Element, extra ...*Element) []byte {
		els := []*Element{
			{Tag: TagSOPInstanceUID, VR: "UI", Value: []byte("1.2.3")},
			{Tag: TagSamplesPerPixel, VR: "US", Value: u16s(1)},
			{Tag: TagPhotometricInterpretation, VR: "CS", Value: []byte(photometric)},
			{Tag: TagRows, VR: "US", Value: u16s(4)},
			{Tag: TagColumns, VR: "US", Value: u16s(4)},
			{Tag: TagBitsAllocated, VR: "US", Value: u16s(uint16(bits))},
			{Tag: TagBitsStored, VR: "US", Value: u16s(uint16(bits))},
			{Tag: TagHighBit, VR: "US", Value: u16s(uint16(bits - 1))},
			{Tag: TagPixelRepresentation, VR: "US", Value: u16s(0)},
		}
		return Encode(ts, append(append(els, extra...), px))
	}
	native := func(n int) *Element { return &Element{Tag: TagPixelData, VR: "OW", Value: make([]byte, n)} }
	frags := func(b []byte) *Element { return &Element{Tag: TagPixelData, VR: "OB", Fragments: [][]byte{nil, b}} }
	siz := sizMarker(1<<16, 1<<15, 1, true)
	made := map[string]struct {
		b    []byte
		want string
	}{
		"MPEG-2":                {grey("1.2.840.10008.1.2.4.100", 16, "MONOCHROME2", frags(make([]byte, 32))), "cannot preview"},
		"32 bits allocated":     {grey(ExplicitVRLittleEndian, 32, "MONOCHROME2", native(64)), "cannot preview"},
		"YBR_PARTIAL_420":       {grey(ExplicitVRLittleEndian, 8, "YBR_PARTIAL_420", native(16)), "cannot preview"},
		"native cut short":      {grey(ExplicitVRLittleEndian, 16, "MONOCHROME2", native(30)), "format"},
		"palette without LUTs":  {grey(ExplicitVRLittleEndian, 8, "PALETTE COLOR", native(16)), "format"},
		"JPEG of another size":  {grey(JPEGBaseline, 8, "MONOCHROME2", frags(tinyJPEG(t, 8, 8))), "format"},
		"JPEG of the same size": {grey(JPEGBaseline, 8, "MONOCHROME2", frags(tinyJPEG(t, 4, 4))), "ok"},
		"JPEG 2000 of 2³¹ px":   {grey(JPEG2000Lossless, 16, "MONOCHROME2", frags(siz)), "format"},
	}
	for name, m := range made {
		files["made: "+name] = m.b
	}
	checked := 0
	for name, b := range files {
		f, err := Parse(b)
		if err == nil {
			_, err = f.Info()
		}
		if err != nil {
			if strings.HasPrefix(name, "made: ") {
				t.Fatalf("%s: %v", name, err)
			}
			continue // refused before any preview (the raw JPEG-LS dataset)
		}
		checked++
		_, rerr := Render(f, 0, nil)
		perr := Previewable(f)
		got, want := previewOutcome(perr), previewOutcome(rerr)
		if got != want {
			t.Errorf("%s: Previewable %s (%v), Render %s (%v)", name, got, perr, want, rerr)
		}
		if m, ok := made[strings.TrimPrefix(name, "made: ")]; ok && got != m.want {
			t.Errorf("%s: Previewable %s (%v), want %s", name, got, perr, m.want)
		}
	}
	if checked < len(made)+40 {
		t.Errorf("only %d files checked", checked)
	}
}

// tinyJPEG is a grey baseline JPEG of w×h pixels.
func tinyJPEG(t *testing.T, w, h int) []byte {
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, image.NewGray(image.Rect(0, 0, w, h)), nil); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}
