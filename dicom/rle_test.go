package dicom

import (
	"bytes"
	"encoding/binary"
	"errors"
	"image"
	"testing"
)

// rlePairs are RLE Lossless files with their uncompressed originals
// (testdata/dicom/compressed, pydicom-data; testdata/README.md).
var rlePairs = []struct{ native, rle string }{
	{"compressed/emri_small.dcm", "compressed/emri_small_RLE.dcm"}, // 16-bit MR, 10 frames
	{"compressed/OBXXXX1A.dcm", "compressed/OBXXXX1A_rle.dcm"},     // 8-bit RGB
}

// nativeFrame returns frame i of a native file's pixel data, little endian
// and interleaved, as DecodeRLE gives it.
func nativeFrame(t *testing.T, f *File, in ImageInfo, i int) []byte {
	t.Helper()
	pd := f.Get(TagPixelData)
	size := in.Rows * in.Columns * in.SamplesPerPixel * in.BitsAllocated / 8
	px := append([]byte(nil), pd.Value[i*size:(i+1)*size]...)
	if f.BigEndian && in.BitsAllocated == 16 {
		for j := 0; j+1 < len(px); j += 2 {
			px[j], px[j+1] = px[j+1], px[j]
		}
	}
	if in.PlanarConfiguration == 1 && in.SamplesPerPixel == 3 {
		n := in.Rows * in.Columns
		il := make([]byte, len(px))
		for p := 0; p < n; p++ {
			il[3*p], il[3*p+1], il[3*p+2] = px[p], px[n+p], px[2*n+p]
		}
		px = il
	}
	return px
}

// TestRLEMatchesUncompressed: RLE Lossless (PS3.5 Annex G) decodes pixel
// for pixel to the uncompressed original, every frame; the rendered
// previews are identical; transcoding to explicit VR little endian gives
// the original's pixel data (issue 16: "lossless decoders are checked
// pixel by pixel against their uncompressed originals").
func TestRLEMatchesUncompressed(t *testing.T) {
	for _, p := range rlePairs {
		nf, err := Parse(readShared(t, p.native))
		if err != nil {
			t.Fatal(err)
		}
		rf, err := Parse(readShared(t, p.rle))
		if err != nil {
			t.Fatal(err)
		}
		if rf.TransferSyntax != RLELossless || !Uncompressed(nf.TransferSyntax) {
			t.Fatalf("%s is %s, %s is %s", p.rle, rf.TransferSyntax, p.native, nf.TransferSyntax)
		}
		nin, _ := nf.Info()
		rin, _ := rf.Info()
		if nin.Rows != rin.Rows || nin.Columns != rin.Columns || nin.Frames != rin.Frames || nin.BitsAllocated != rin.BitsAllocated {
			t.Fatalf("%s and %s differ: %+v %+v", p.native, p.rle, nin, rin)
		}
		pd := rf.Get(TagPixelData)
		for i := 0; i < rin.Frames; i++ {
			b, err := frameFragments(pd, rin.Frames, i)
			if err != nil {
				t.Fatal(err)
			}
			got, err := DecodeRLE(b, rin)
			if err != nil {
				t.Fatalf("%s frame %d: %v", p.rle, i, err)
			}
			want := nativeFrame(t, nf, nin, i)
			if !bytes.Equal(got, want) {
				t.Fatalf("%s frame %d: decoded pixels differ from %s", p.rle, i, p.native)
			}
			a, err := Render(rf, i, nil)
			if err != nil {
				t.Fatalf("render %s frame %d: %v", p.rle, i, err)
			}
			bimg, err := Render(nf, i, nil)
			if err != nil {
				t.Fatal(err)
			}
			if !sameImage(a, bimg) {
				t.Errorf("%s frame %d renders differently from the original", p.rle, i)
			}
		}
		out, err := Transcode(rf, ExplicitVRLittleEndian)
		if err != nil {
			t.Fatalf("transcode %s: %v", p.rle, err)
		}
		tf, err := Parse(out)
		if err != nil {
			t.Fatal(err)
		}
		tin, _ := tf.Info()
		if tf.TransferSyntax != ExplicitVRLittleEndian || tin.PlanarConfiguration != 0 || tf.Get(TagPixelData).Fragments != nil {
			t.Fatalf("transcoded %s: %s planar %d", p.rle, tf.TransferSyntax, tin.PlanarConfiguration)
		}
		for i := 0; i < tin.Frames; i++ {
			if !bytes.Equal(nativeFrame(t, tf, tin, i), nativeFrame(t, nf, nin, i)) {
				t.Fatalf("transcoded %s frame %d differs from %s", p.rle, i, p.native)
			}
		}
	}
	if !CanTranscode(RLELossless, ExplicitVRLittleEndian) || CanTranscode(ExplicitVRLittleEndian, RLELossless) || CanTranscode("1.2.840.10008.1.2.4.100", ExplicitVRLittleEndian) {
		t.Error("CanTranscode: RLE decodes to explicit VR little endian; nothing encodes to RLE; MPEG-2 is not decoded")
	}
}

func sameImage(a, b image.Image) bool {
	if a.Bounds() != b.Bounds() {
		return false
	}
	for y := a.Bounds().Min.Y; y < a.Bounds().Max.Y; y++ {
		for x := a.Bounds().Min.X; x < a.Bounds().Max.X; x++ {
			r1, g1, b1, a1 := a.At(x, y).RGBA()
			r2, g2, b2, a2 := b.At(x, y).RGBA()
			if r1 != r2 || g1 != g2 || b1 != b2 || a1 != a2 {
				return false
			}
		}
	}
	return true
}

// rleFrame builds an RLE frame from segments.
func rleFrame(segs ...[]byte) []byte {
	h := make([]byte, 64)
	binary.LittleEndian.PutUint32(h, uint32(len(segs)))
	off := 64
	var body []byte
	for i, s := range segs {
		binary.LittleEndian.PutUint32(h[4+4*i:], uint32(off))
		off += len(s)
		body = append(body, s...)
	}
	return append(h, body...)
}

// TestDecodeRLERuns pins the PackBits runs of PS3.5 G.3.1 and the byte
// order of G.2 on a hand-made 2×2 16-bit frame: segment 0 holds the most
// significant bytes, segment 1 the least; n ≥ 0 copies n+1 literal bytes,
// -127 ≤ n ≤ -1 repeats the next byte 1-n times, -128 does nothing.
func TestDecodeRLERuns(t *testing.T) {
	in := ImageInfo{Rows: 2, Columns: 2, SamplesPerPixel: 1, BitsAllocated: 16, BitsStored: 16, HighBit: 15, Frames: 1}
	hi := []byte{0x80, 0x01, 0xAB, 0xCD, 0xFF, 0x12} // no-op; copy 2: AB CD; repeat 2 (−1): 12 12
	lo := []byte{0xFD, 0x07}                         // repeat 4 (−3): 07 07 07 07
	got, err := DecodeRLE(rleFrame(hi, lo), in)
	want := []byte{0x07, 0xAB, 0x07, 0xCD, 0x07, 0x12, 0x07, 0x12}
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("DecodeRLE = % x, %v; want % x", got, err, want)
	}
	// Padding after the plane is complete is allowed (segments are even-length).
	if _, err := DecodeRLE(rleFrame(append(hi, 0x00), lo), in); err != nil {
		t.Errorf("trailing padding: %v", err)
	}
	for name, f := range map[string][]byte{
		"short header":        make([]byte, 63),
		"segment count":       rleFrame(hi),
		"too few bytes":       rleFrame(hi, []byte{0xFE, 0x07}),          // 3 of 4
		"literal overflow":    rleFrame(hi, []byte{0x04, 1, 2, 3, 4, 5}), // 5 into 4
		"replicate overflow":  rleFrame(hi, []byte{0xFC, 0x07}),          // 5 into 4
		"literal truncated":   rleFrame(hi, []byte{0x03, 1, 2}),
		"replicate truncated": rleFrame(hi, []byte{0xFD}),
	} {
		if _, err := DecodeRLE(f, in); !errors.Is(err, ErrFormat) {
			t.Errorf("%s: %v, want a format error", name, err)
		}
	}
	bad := rleFrame(hi, lo)
	binary.LittleEndian.PutUint32(bad[8:], uint32(len(bad)+10)) // segment 1 starts past the end
	if _, err := DecodeRLE(bad, in); !errors.Is(err, ErrFormat) {
		t.Errorf("offset past the end: %v", err)
	}
	binary.LittleEndian.PutUint32(bad[8:], 32) // inside the header
	if _, err := DecodeRLE(bad, in); !errors.Is(err, ErrFormat) {
		t.Errorf("offset inside the header: %v", err)
	}
	if _, err := DecodeRLE(rleFrame(hi, lo), ImageInfo{Rows: 2, Columns: 2, SamplesPerPixel: 4, BitsAllocated: 32}); !errors.Is(err, ErrFormat) {
		t.Errorf("16 segments: %v", err)
	}
	if _, err := DecodeRLE(rleFrame(hi, lo), ImageInfo{Rows: 2, Columns: 2, SamplesPerPixel: 1, BitsAllocated: 12}); !errors.Is(err, ErrFormat) {
		t.Errorf("12 bits allocated: %v", err)
	}
}

// FuzzDecodeRLE: any frame decodes or is refused with a format error,
// never panics, and a decoded frame has exactly the image's size.
func FuzzDecodeRLE(f *testing.F) {
	f.Add(rleFrame([]byte{0x80, 0x01, 0xAB, 0xCD, 0xFF, 0x12}, []byte{0xFD, 0x07}), uint8(2), uint8(2), uint8(1), uint8(16))
	f.Add(rleFrame([]byte{0x7F}, []byte{0x81, 0}, []byte{0}), uint8(8), uint8(8), uint8(3), uint8(8))
	f.Fuzz(func(t *testing.T, b []byte, rows, cols, spp, bits uint8) {
		in := ImageInfo{Rows: int(rows), Columns: int(cols), SamplesPerPixel: int(spp%4) + 1, BitsAllocated: int(bits%4+1) * 8, Frames: 1}
		out, err := DecodeRLE(b, in)
		if err != nil {
			if !errors.Is(err, ErrFormat) {
				t.Fatalf("error %v is not a format error", err)
			}
			return
		}
		if len(out) != in.Rows*in.Columns*in.SamplesPerPixel*in.BitsAllocated/8 {
			t.Fatalf("%d bytes for %+v", len(out), in)
		}
	})
}
