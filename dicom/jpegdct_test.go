package dicom

import (
	"bytes"
	"errors"
	"image"
	"image/color"
	"image/jpeg"
	"math"
	"runtime"
	"testing"
)

// jpegExt12MaxDiff is the largest difference allowed between this
// decoder and DCMTK's (IJG's integer "islow" inverse DCT) on the same
// 12-bit stream: the two inverse DCTs round differently.
const jpegExt12MaxDiff = 2

// TestJPEGExtended12Bit: the 10-frame 12-bit MR that DCMTK's `dcmcjpeg
// +ee` encoded (JPEG Extended, process 4) decodes, every frame, to within
// jpegExt12MaxDiff of DCMTK's own decoding (`dcmdjpeg`) and close to the
// original (PSNR over the 12-bit range); the frames render; the file
// transcodes to explicit VR little endian (issue 16, "JPEG Extended
// 12-bit").
func TestJPEGExtended12Bit(t *testing.T) {
	orig, _ := Parse(readShared(t, "compressed/emri_small.dcm"))
	ref, _ := Parse(readShared(t, "compressed/emri_small_jpeg_ext12_dcmdjpeg.dcm"))
	jf, err := Parse(readShared(t, "compressed/emri_small_jpeg_ext12.dcm"))
	if err != nil {
		t.Fatal(err)
	}
	if jf.TransferSyntax != JPEGExtended {
		t.Fatalf("transfer syntax %s", jf.TransferSyntax)
	}
	in, _ := jf.Info()
	oin, _ := orig.Info()
	rin, _ := ref.Info()
	for i := 0; i < in.Frames; i++ {
		b, err := frameFragments(jf.Get(TagPixelData), in.Frames, i)
		if err != nil {
			t.Fatal(err)
		}
		got, err := DecodeJPEGExtended(b, in)
		if err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
		want := nativeFrame(t, ref, rin, i)
		if d := maxDiff16(got, want); d > jpegExt12MaxDiff {
			t.Errorf("frame %d: differs from dcmdjpeg by up to %d", i, d)
		}
		if p := psnr16(got, nativeFrame(t, orig, oin, i), 4095); p < 50 {
			t.Errorf("frame %d: PSNR %.1f dB against the original", i, p)
		}
		if _, err := Render(jf, i, nil); err != nil {
			t.Errorf("render frame %d: %v", i, err)
		}
	}
	out, err := Transcode(jf, ExplicitVRLittleEndian)
	if err != nil {
		t.Fatal(err)
	}
	tf, err := Parse(out)
	if err != nil {
		t.Fatal(err)
	}
	tin, _ := tf.Info()
	if tin.Frames != 10 || maxDiff16(nativeFrame(t, tf, tin, 9), nativeFrame(t, ref, rin, 9)) > jpegExt12MaxDiff {
		t.Errorf("transcoded file: %d frames, or frame 10 differs", tin.Frames)
	}
	// The 16×16 CR (one partial block row and column per edge, MONOCHROME1).
	cr, _ := Parse(readShared(t, "compressed/CR1_jpeg_ext12.dcm"))
	if _, err := Render(cr, 0, nil); err != nil {
		t.Errorf("CR: %v", err)
	}
}

func maxDiff16(a, b []byte) int {
	m := 0
	for j := 0; j+1 < len(a); j += 2 {
		d := int(a[j]) | int(a[j+1])<<8 - (int(b[j]) | int(b[j+1])<<8)
		m = max(m, d, -d)
	}
	return m
}

func psnr16(a, b []byte, peak float64) float64 {
	var se float64
	for j := 0; j+1 < len(a); j += 2 {
		d := float64(int(a[j])|int(a[j+1])<<8) - float64(int(b[j])|int(b[j+1])<<8)
		se += d * d
	}
	if se == 0 {
		return math.Inf(1)
	}
	return 10 * math.Log10(peak*peak/(se/float64(len(a)/2)))
}

// TestJPEGExtended8Bit: 8-bit streams from Go's encoder — greyscale, and
// colour with 4:2:0 subsampled chroma in interleaved MCUs — decode to
// within 2 of image/jpeg's decoding of the same stream (chroma compared at
// its subsampled positions).
func TestJPEGExtended8Bit(t *testing.T) {
	const w, h = 37, 21 // partial MCUs at both edges
	grey := image.NewGray(image.Rect(0, 0, w, h))
	rgb := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			grey.SetGray(x, y, color.Gray{uint8(x*6 + y*3)})
			rgb.Set(x, y, color.RGBA{uint8(x * 7), uint8(y * 12), uint8((x + y) * 4), 255})
		}
	}
	for _, c := range []struct {
		img image.Image
		nc  int
	}{{grey, 1}, {rgb, 3}} {
		var buf bytes.Buffer
		if err := jpeg.Encode(&buf, c.img, &jpeg.Options{Quality: 90}); err != nil {
			t.Fatal(err)
		}
		in := ImageInfo{Rows: h, Columns: w, Frames: 1, SamplesPerPixel: c.nc, BitsAllocated: 8, BitsStored: 8, HighBit: 7}
		got, err := DecodeJPEGExtended(buf.Bytes(), in)
		if err != nil {
			t.Fatal(err)
		}
		ref, err := jpeg.Decode(bytes.NewReader(buf.Bytes()))
		if err != nil {
			t.Fatal(err)
		}
		worst := 0
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				var want []uint8
				switch r := ref.(type) {
				case *image.Gray:
					want = []uint8{r.GrayAt(x, y).Y}
				case *image.YCbCr:
					ci := r.COffset(x, y)
					want = []uint8{r.Y[r.YOffset(x, y)], r.Cb[ci], r.Cr[ci]}
				}
				for k, v := range want {
					d := int(got[(y*w+x)*c.nc+k]) - int(v)
					worst = max(worst, d, -d)
				}
			}
		}
		if worst > 2 {
			t.Errorf("%d components: differs from image/jpeg by up to %d", c.nc, worst)
		}
		if c.nc != 3 {
			continue
		}
		// A dataset that says RGB over a YCbCr-coded stream gets RGB.
		in.Photometric = "RGB"
		got, err = DecodeJPEGExtended(buf.Bytes(), in)
		if err != nil {
			t.Fatal(err)
		}
		worst = 0
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				r, g, bl, _ := ref.At(x, y).RGBA()
				for k, v := range []uint32{r >> 8, g >> 8, bl >> 8} {
					d := int(got[(y*w+x)*3+k]) - int(v)
					worst = max(worst, d, -d)
				}
			}
		}
		if worst > 4 {
			t.Errorf("RGB: differs from image/jpeg by up to %d", worst)
		}
	}
}

// TestJPEGExtendedRefusals: a header disagreeing with the dataset, a
// progressive frame, and a stream cut anywhere are format errors; a frame
// larger than MaxJPEGPixels is ErrLimit before any allocation.
func TestJPEGExtendedRefusals(t *testing.T) {
	jf, _ := Parse(readShared(t, "compressed/CR1_jpeg_ext12.dcm"))
	in, _ := jf.Info()
	b, _ := frameFragments(jf.Get(TagPixelData), in.Frames, 0)
	if _, err := DecodeJPEGExtended(b, in); err != nil {
		t.Fatal(err)
	}
	wrong := in
	wrong.Columns++
	if _, err := DecodeJPEGExtended(b, wrong); !errors.Is(err, ErrFormat) {
		t.Errorf("columns disagree: %v", err)
	}
	// A header of 32768×32768 (the dataset agreeing): refused from the
	// header, before the 4 GiB its planes would take.
	huge := bytes.Clone(b)
	i := bytes.Index(huge, []byte{0xFF, 0xC1})
	huge[i+5], huge[i+6], huge[i+7], huge[i+8] = 0x80, 0, 0x80, 0
	big := in
	big.Rows, big.Columns = 32768, 32768
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err := DecodeJPEGExtended(huge, big)
	runtime.ReadMemStats(&after)
	if !errors.Is(err, ErrLimit) || after.TotalAlloc-before.TotalAlloc > 64<<10 {
		t.Errorf("32768×32768: %v after %d bytes", err, after.TotalAlloc-before.TotalAlloc)
	}
	prog := bytes.Clone(b)
	i = bytes.Index(prog, []byte{0xFF, 0xC1})
	prog[i+1] = 0xC2
	if _, err := DecodeJPEGExtended(prog, in); !errors.Is(err, ErrFormat) {
		t.Errorf("progressive: %v", err)
	}
	for cut := 0; cut < len(b)-2; cut++ {
		if _, err := DecodeJPEGExtended(b[:cut], in); !errors.Is(err, ErrFormat) {
			t.Fatalf("cut at %d of %d: %v", cut, len(b), err)
		}
	}
}

// FuzzDecodeJPEGExtended: any stream decodes to exactly the image's size
// or is refused with a format error.
func FuzzDecodeJPEGExtended(f *testing.F) {
	fuzzDecoder(f, "compressed/CR1_jpeg_ext12.dcm", DecodeJPEGExtended, false)
}
