package dicom

import (
	"bytes"
	"compress/flate"
	"errors"
	"image"
	"testing"
)

// TestDeflatedFramesMatchNative: the 3-frame 1-bit segmentation stored
// with Deflated Image Frame Compression inflates, frame by frame, to the
// bits of its native copy; both render to the same images (a binary mask:
// 0 black, 1 white); the deflated file transcodes to the native pixel data.
func TestDeflatedFramesMatchNative(t *testing.T) {
	nf, err := Parse(readShared(t, "compressed/liver.dcm"))
	if err != nil {
		t.Fatal(err)
	}
	df, err := Parse(readShared(t, "compressed/liver_deflate.dcm"))
	if err != nil {
		t.Fatal(err)
	}
	in, _ := df.Info()
	native := nf.Get(TagPixelData).Value
	size := frameBytes(in)
	ones := 0
	for i := 0; i < in.Frames; i++ {
		b, err := frameFragments(df.Get(TagPixelData), in.Frames, i)
		if err != nil {
			t.Fatal(err)
		}
		got, err := DecodeDeflatedFrame(b, in)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, native[i*size:(i+1)*size]) {
			t.Fatalf("frame %d differs from the native file", i)
		}
		a, err := Render(df, i, nil)
		if err != nil {
			t.Fatal(err)
		}
		n, err := Render(nf, i, nil)
		if err != nil {
			t.Fatal(err)
		}
		if !sameImage(a, n) {
			t.Fatalf("frame %d renders differently", i)
		}
		for _, v := range a.(*image.Gray).Pix {
			switch v {
			case 255:
				ones++
			case 0:
			default:
				t.Fatalf("frame %d: grey level %d in a binary mask", i, v)
			}
		}
	}
	if ones == 0 {
		t.Error("no segmented pixel rendered white")
	}
	out, err := Transcode(df, ExplicitVRLittleEndian)
	if err != nil {
		t.Fatal(err)
	}
	tf, err := Parse(out)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(tf.Get(TagPixelData).Value, native[:size*in.Frames]) {
		t.Error("transcoded pixel data differs from the native file")
	}
}

// TestDeflatedFrameBounds: a frame inflating past its size is ErrLimit
// after reading one byte more than the frame; short or not deflate is a
// format error.
func TestDeflatedFrameBounds(t *testing.T) {
	in := ImageInfo{Rows: 16, Columns: 16, Frames: 1, SamplesPerPixel: 1, BitsAllocated: 8, BitsStored: 8, HighBit: 7}
	deflate := func(n int) []byte {
		var buf bytes.Buffer
		w, _ := flate.NewWriter(&buf, flate.BestCompression)
		w.Write(make([]byte, n))
		w.Close()
		return buf.Bytes()
	}
	if _, err := DecodeDeflatedFrame(deflate(256), in); err != nil {
		t.Fatal(err)
	}
	if _, err := DecodeDeflatedFrame(deflate(64<<20), in); !errors.Is(err, ErrLimit) {
		t.Errorf("64 MiB for a 256-byte frame: %v", err)
	}
	if _, err := DecodeDeflatedFrame(deflate(255), in); !errors.Is(err, ErrTruncated) {
		t.Errorf("short frame: %v", err)
	}
	if _, err := DecodeDeflatedFrame([]byte{0xFF, 0xFF, 0xFF}, in); !errors.Is(err, ErrFormat) {
		t.Errorf("not deflate: %v", err)
	}
}
