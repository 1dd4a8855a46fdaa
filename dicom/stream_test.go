package dicom

import (
	"bytes"
	"errors"
	"image"
	"io"
	"reflect"
	"testing"
	"testing/iotest"
)

// TestParseFramesShared: streaming the first frame of every shared file
// gives the metadata and frame 0 that Parse gives, reading no more than
// the header and the frame for native pixel data.
func TestParseFramesShared(t *testing.T) {
	for _, c := range sharedFiles {
		b := readShared(t, c.name)
		full, err := Parse(b)
		if err != nil {
			t.Fatal(err)
		}
		cr := &countReader{r: iotest.HalfReader(bytes.NewReader(b))}
		f, err := DefaultLimits.ParseFrames(cr, 1, 1<<30)
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if f.String(TagPatientName) != full.String(TagPatientName) || f.String(TagSOPInstanceUID) != full.String(TagSOPInstanceUID) {
			t.Errorf("%s: metadata differs", c.name)
		}
		a, err1 := Render(full, 0, nil)
		s, err2 := Render(f, 0, nil)
		if err1 != nil || err2 != nil || !reflect.DeepEqual(a, s) {
			t.Errorf("%s: frame 0 differs (%v, %v)", c.name, err1, err2)
		}
		if c.frames > 1 && cr.n >= len(b) {
			t.Errorf("%s: read %d of %d bytes for frame 0", c.name, cr.n, len(b))
		}
	}
}

type countReader struct {
	r io.Reader
	n int
}

func (c *countReader) Read(p []byte) (int, error) {
	k, err := c.r.Read(p)
	c.n += k
	return k, err
}

func TestParseFramesTruncated(t *testing.T) {
	b := readShared(t, "pydicom-MR_small.dcm")
	end := bytes.Index(b, []byte{0xE0, 0x7F, 0x10, 0x00, 'O', 'W'}) + 12 + 64*64*2
	if end < 12+64*64*2 || end > len(b) {
		t.Fatalf("pixel data not found (%d)", end)
	}
	for n := 0; n < end; n += 97 {
		_, err := DefaultLimits.ParseFrames(bytes.NewReader(b[:n]), 1, 1<<20)
		if !errors.Is(err, ErrFormat) {
			t.Fatalf("prefix %d: %v", n, err)
		}
	}
	if _, err := DefaultLimits.ParseFrames(bytes.NewReader(b), 1, 1000); !errors.Is(err, ErrLimit) {
		t.Errorf("max bytes: %v", err)
	}
}

func TestParseFramesCine(t *testing.T) {
	// 30 frames of 64×64 8-bit: frame 0 comes from the first frame's bytes.
	px := make([]byte, 30*64*64)
	for i := range px {
		px[i] = byte(i / (64 * 64))
	}
	b := Encode(ExplicitVRLittleEndian, greyElems(64, 64, 30, 8, false, "MONOCHROME2", px, false))
	cr := &countReader{r: bytes.NewReader(b)}
	f, err := DefaultLimits.ParseFrames(cr, 1, 1<<30)
	if err != nil {
		t.Fatal(err)
	}
	img, err := Render(f, 0, &Window{Center: 127.5, Width: 256})
	if err != nil || img.(*image.Gray).Pix[0] > 1 {
		t.Fatalf("frame 0: %v", err)
	}
	if _, err := Render(f, 1, nil); !errors.Is(err, ErrTruncated) {
		t.Errorf("frame 1 was not read: %v", err)
	}
}
