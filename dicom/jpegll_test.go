package dicom

import (
	"bytes"
	"errors"
	"testing"
)

// jpegLLPairs are JPEG Lossless files with their uncompressed originals
// (testdata/README.md): the pydicom-data files decoded by DCMTK's dcmdjpeg
// (an independent decoder), and pydicom-data originals encoded by DCMTK's
// dcmcjpeg with every predictor (selection values 1–7), a point transform
// and an RGB image. pt is the point transform: the decoded samples equal
// the original's with the pt low bits cleared.
var jpegLLPairs = []struct {
	native, jpeg string
	pt           uint
}{
	{"compressed/JPEG-LL_dcmdjpeg.dcm", "compressed/JPEG-LL.dcm", 0},                                       // 16-bit signed, 1024×256
	{"compressed/JPGLosslessP14SV1_1s_1f_8b_dcmdjpeg.dcm", "compressed/JPGLosslessP14SV1_1s_1f_8b.dcm", 0}, // 8-bit, 1024×768
	{"compressed/emri_small.dcm", "compressed/emri_small_jpeg_ll_sv1.dcm", 0},                              // 16-bit MR, 10 frames
	{"compressed/emri_small.dcm", "compressed/emri_small_jpeg_ll_sv2.dcm", 0},
	{"compressed/emri_small.dcm", "compressed/emri_small_jpeg_ll_sv3.dcm", 0},
	{"compressed/emri_small.dcm", "compressed/emri_small_jpeg_ll_sv4.dcm", 0},
	{"compressed/emri_small.dcm", "compressed/emri_small_jpeg_ll_sv5.dcm", 0},
	{"compressed/emri_small.dcm", "compressed/emri_small_jpeg_ll_sv6.dcm", 0},
	{"compressed/emri_small.dcm", "compressed/emri_small_jpeg_ll_sv7.dcm", 0},
	{"compressed/emri_small.dcm", "compressed/emri_small_jpeg_ll_sv6_pt2.dcm", 2},
	{"compressed/OBXXXX1A.dcm", "compressed/OBXXXX1A_jpeg_ll_sv4.dcm", 0}, // 8-bit RGB
	{"pydicom-CR1.dcm", "compressed/CR1_jpeg_ll_sv7.dcm", 0},              // 16×16 MONOCHROME1
}

// TestJPEGLosslessMatchesUncompressed: JPEG Lossless (T.81 Annex H,
// DICOM process 14) decodes pixel for pixel to the uncompressed original,
// every frame, for every predictor; previews render; transcoding to
// explicit VR little endian gives the original's pixel data (issue 16:
// "JPEG Lossless (process 14, any predictor and point transform)").
func TestJPEGLosslessMatchesUncompressed(t *testing.T) {
	for _, p := range jpegLLPairs {
		checkDecodesTo(t, p.native, p.jpeg, p.pt, DecodeJPEGLossless)
	}
}

// TestJPEGLosslessRefusals: a stream that is not lossless, disagrees with
// the dataset, or is cut anywhere is a format error, never a panic.
func TestJPEGLosslessRefusals(t *testing.T) {
	jf, err := Parse(readShared(t, "compressed/emri_small_jpeg_ll_sv4.dcm"))
	if err != nil {
		t.Fatal(err)
	}
	in, _ := jf.Info()
	b, _ := frameFragments(jf.Get(TagPixelData), in.Frames, 0)
	if _, err := DecodeJPEGLossless(b, in); err != nil {
		t.Fatal(err)
	}
	wrong := in
	wrong.Rows++
	if _, err := DecodeJPEGLossless(b, wrong); !errors.Is(err, ErrFormat) {
		t.Errorf("rows disagree: %v", err)
	}
	for cut := 0; cut < len(b)-2; cut += 97 {
		if _, err := DecodeJPEGLossless(b[:cut], in); !errors.Is(err, ErrFormat) {
			t.Fatalf("cut at %d of %d: %v", cut, len(b), err)
		}
	}
	sof1 := bytes.Replace(b, []byte{0xFF, 0xC3}, []byte{0xFF, 0xC1}, 1)
	if _, err := DecodeJPEGLossless(sof1, in); !errors.Is(err, ErrFormat) {
		t.Errorf("SOF1: %v", err)
	}
	if _, err := DecodeJPEGLossless(b, ImageInfo{Rows: in.Rows, Columns: in.Columns, SamplesPerPixel: 1, BitsAllocated: 32}); !errors.Is(err, ErrFormat) {
		t.Errorf("32 bits allocated: %v", err)
	}
}

// FuzzDecodeJPEGLossless: any stream decodes to exactly the image's size
// or is refused with a format error.
func FuzzDecodeJPEGLossless(f *testing.F) {
	fuzzDecoder(f, "compressed/CR1_jpeg_ll_sv7.dcm", DecodeJPEGLossless, false) // 16×16: a small seed keeps the fuzzer fast
}

// llTestEncoder writes a lossless JPEG (T.81 Annex H) of one component with
// predictor 1 and a restart marker every restartRows rows, with a plain
// Huffman table (each difference category 0–16 a 5-bit code): enough to
// exercise the decoder's restart handling, which no real file here uses.
func llTestEncoder(px []int32, w, h, precision, restartRows int) []byte {
	out := []byte{0xFF, 0xD8}
	seg := func(m byte, body ...byte) {
		out = append(out, 0xFF, m, byte((len(body)+2)>>8), byte(len(body)+2))
		out = append(out, body...)
	}
	seg(0xC3, byte(precision), byte(h>>8), byte(h), byte(w>>8), byte(w), 1, 1, 0x11, 0)
	dht := []byte{0x00, 0, 0, 0, 0, 17, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}
	for k := 0; k <= 16; k++ {
		dht = append(dht, byte(k))
	}
	seg(0xC4, dht...)
	if restartRows > 0 {
		seg(0xDD, byte((restartRows*w)>>8), byte(restartRows*w))
	}
	seg(0xDA, 1, 1, 0x00, 1, 0, 0)
	var acc uint32
	var n int
	put := func(v uint32, bits int) {
		for i := bits - 1; i >= 0; i-- {
			acc = acc<<1 | (v>>uint(i))&1
			n++
			if n == 8 {
				out = append(out, byte(acc))
				if byte(acc) == 0xFF {
					out = append(out, 0)
				}
				acc, n = 0, 0
			}
		}
	}
	flush := func() {
		for n != 0 {
			put(1, 1)
		}
	}
	rst := 0
	first := true
	for y := 0; y < h; y++ {
		if restartRows > 0 && y > 0 && y%restartRows == 0 {
			flush()
			out = append(out, 0xFF, byte(0xD0+rst%8))
			rst++
			first = true
		}
		for x := 0; x < w; x++ {
			var p int32
			switch {
			case first && x == 0:
				p = 1 << uint(precision-1)
			case x == 0:
				p = px[(y-1)*w]
			default:
				p = px[y*w+x-1]
			}
			d := int32(int16(uint16(px[y*w+x] - p))) // modulo 2^16, as T.81 H.1.2.1
			s, mag := 0, d
			if mag < 0 {
				mag = -mag
			}
			for ; mag>>uint(s) != 0; s++ {
			}
			put(uint32(s), 5)
			if s > 0 && s < 16 {
				v := d
				if d < 0 {
					v = d + (1 << uint(s)) - 1
				}
				put(uint32(v), s)
			}
		}
		first = false
	}
	flush()
	return append(out, 0xFF, 0xD9)
}

// TestJPEGLosslessRestart: restart markers (T.81 H.2: a lossless restart
// interval is a whole number of rows) reset the prediction to 2^(P−1) at
// the first sample of each interval and Ra along its first row.
func TestJPEGLosslessRestart(t *testing.T) {
	const w, h = 5, 9
	px := make([]int32, w*h)
	for i := range px {
		px[i] = int32((i*i*37 + 11*i) % 4096)
	}
	in := ImageInfo{Rows: h, Columns: w, SamplesPerPixel: 1, BitsAllocated: 16, BitsStored: 12, HighBit: 11, Frames: 1}
	for _, rows := range []int{0, 1, 2, 4} {
		got, err := DecodeJPEGLossless(llTestEncoder(px, w, h, 12, rows), in)
		if err != nil {
			t.Fatalf("restart every %d rows: %v", rows, err)
		}
		for i, v := range px {
			if g := int32(got[2*i]) | int32(got[2*i+1])<<8; g != v {
				t.Fatalf("restart every %d rows: sample %d = %d, want %d", rows, i, g, v)
			}
		}
	}
	// A restart interval that is not whole rows is refused.
	b := llTestEncoder(px, w, h, 12, 2)
	i := bytes.Index(b, []byte{0xFF, 0xDD})
	b[i+5] = 7
	if _, err := DecodeJPEGLossless(b, in); !errors.Is(err, ErrFormat) {
		t.Errorf("restart interval of 7 samples in 5-sample rows: %v", err)
	}
	// A missing restart marker is refused.
	b = llTestEncoder(px, w, h, 12, 2)
	i = bytes.Index(b, []byte{0xFF, 0xD0})
	b[i+1] = 0xD9
	if _, err := DecodeJPEGLossless(b, in); !errors.Is(err, ErrFormat) {
		t.Errorf("missing restart marker: %v", err)
	}
}
