package dicom

import (
	"encoding/binary"
	"errors"
	"math"
	"runtime"
	"testing"
)

// TestJPEG2000MatchesUncompressed: JPEG 2000 lossless decodes pixel for
// pixel to the uncompressed original, every frame (10-frame 12-bit MR;
// RGB ultrasound with the reversible component transform, YBR_RCT; the MR
// again as HTJ2K lossless); the
// frames render; transcoding gives the original's pixel data (issue 16:
// "JPEG 2000 lossless … checked pixel by pixel").
func TestJPEG2000MatchesUncompressed(t *testing.T) {
	checkDecodesTo(t, "compressed/emri_small.dcm", "compressed/emri_small_jpeg_2k_lossless.dcm", 0, DecodeJPEG2000)
	checkDecodesTo(t, "compressed/US1_UNCR.dcm", "compressed/US1_J2KR.dcm", 0, DecodeJPEG2000)
	// HTJ2K (Part 15): the same MR, each frame encoded by OpenJPH.
	checkDecodesTo(t, "compressed/emri_small.dcm", "compressed/emri_small_htj2k_lossless.dcm", 0, DecodeJPEG2000)
	if h, _ := ReadJ2KHeader(frameOf(t, "compressed/emri_small_htj2k_lossless.dcm", 0)); !h.HT {
		t.Error("the HTJ2K codestream does not announce Part 15 capabilities")
	}
	f, _ := Parse(readShared(t, "compressed/US1_J2KR.dcm"))
	out, err := Transcode(f, ExplicitVRLittleEndian)
	if err != nil {
		t.Fatal(err)
	}
	tf, _ := Parse(out)
	if p := tf.String(TagPhotometricInterpretation); p != "RGB" {
		t.Errorf("transcoded YBR_RCT file says %q, want RGB", p)
	}
}

// j2kLossyMinPSNR is the least PSNR (dB, over 8-bit samples) the lossy
// JPEG 2000 ultrasound (US1_J2KI, irreversible transform, YBR_ICT) must
// reach against its original: it is compressed 15.6:1 (922 KB of RGB into
// 59 KB), and OpenJPEG's decoding gives 36.6 dB. A decoder that swapped or
// mis-transformed components would fall far below.
const j2kLossyMinPSNR = 35.0

// j2kHTLossyMinPSNR is the least PSNR (dB, over the 12-bit range) of each
// frame of the lossy HTJ2K MR against its original (68.5 dB measured).
const j2kHTLossyMinPSNR = 60.0

// TestJPEG2000LossyWithinTolerance: lossy JPEG 2000 decodes to within the
// stated PSNR of its uncompressed original, renders as RGB, transcodes.
func TestJPEG2000LossyWithinTolerance(t *testing.T) {
	orig, _ := Parse(readShared(t, "compressed/US1_UNCR.dcm"))
	lossy, _ := Parse(readShared(t, "compressed/US1_J2KI.dcm"))
	oin, _ := orig.Info()
	lin, _ := lossy.Info()
	b, err := frameFragments(lossy.Get(TagPixelData), 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	got, err := DecodeJPEG2000(b, lin)
	if err != nil {
		t.Fatal(err)
	}
	if p := psnr8(got, nativeFrame(t, orig, oin, 0)); p < j2kLossyMinPSNR {
		t.Errorf("lossy JPEG 2000: PSNR %.1f dB, want ≥ %.1f", p, j2kLossyMinPSNR)
	} else {
		t.Logf("lossy JPEG 2000: PSNR %.1f dB", p)
	}
	if _, err := Render(lossy, 0, nil); err != nil {
		t.Errorf("render: %v", err)
	}
	// HTJ2K lossy (9/7 wavelet, OpenJPH's quantisation step 0.001): each
	// frame of the 12-bit MR within j2kHTLossyMinPSNR of the original.
	ht, _ := Parse(readShared(t, "compressed/emri_small_htj2k_lossy.dcm"))
	hin, _ := ht.Info()
	mr, _ := Parse(readShared(t, "compressed/emri_small.dcm"))
	mrin, _ := mr.Info()
	for i := 0; i < hin.Frames; i++ {
		got, err := DecodedFrame(ht, i)
		if err != nil {
			t.Fatalf("HTJ2K lossy frame %d: %v", i, err)
		}
		if p := psnr16(got, nativeFrame(t, mr, mrin, i), 4095); p < j2kHTLossyMinPSNR {
			t.Errorf("HTJ2K lossy frame %d: PSNR %.1f dB, want ≥ %.1f", i, p, j2kHTLossyMinPSNR)
		} else if i == 0 {
			t.Logf("HTJ2K lossy frame 1: PSNR %.1f dB", p)
		}
	}
	if _, err := Transcode(lossy, ExplicitVRLittleEndian); err != nil {
		t.Errorf("transcode: %v", err)
	}
}

// psnr8 is the peak signal-to-noise ratio of 8-bit samples.
func psnr8(a, b []byte) float64 {
	var se float64
	for i := range a {
		d := float64(a[i]) - float64(b[i])
		se += d * d
	}
	if se == 0 {
		return math.Inf(1)
	}
	return 10 * math.Log10(255*255/(se/float64(len(a))))
}

// sizMarker is a codestream start with an image and tile size marker of
// w×h pixels and nc components (nc component entries written when
// entries, else none: a lying header).
func sizMarker(w, h uint32, nc int, entries bool) []byte {
	b := []byte{0xFF, 0x4F, 0xFF, 0x51}
	b = binary.BigEndian.AppendUint16(b, uint16(38+3*nc))
	b = binary.BigEndian.AppendUint16(b, 0)
	for _, v := range []uint32{w, h, 0, 0, w, h, 0, 0} {
		b = binary.BigEndian.AppendUint32(b, v)
	}
	b = binary.BigEndian.AppendUint16(b, uint16(nc))
	if entries {
		for c := 0; c < nc; c++ {
			b = append(b, 7, 1, 1)
		}
	}
	return b
}

// TestJPEG2000HostileHeaders: a codestream declaring 65,535 components or
// a 2³¹-pixel image is refused with ErrLimit from its header alone, before
// any allocation for the image and before the decoder runs (issue 16,
// "Bad input"); other lies are format errors.
func TestJPEG2000HostileHeaders(t *testing.T) {
	in := ImageInfo{Rows: 64, Columns: 64, Frames: 1, SamplesPerPixel: 1, BitsAllocated: 16, BitsStored: 12}
	for _, c := range []struct {
		name string
		b    []byte
		kind error
	}{
		{"65535 components", sizMarker(64, 64, 65535, false), ErrLimit},
		{"2^31 pixels", sizMarker(1<<16, 1<<15, 1, true), ErrLimit},
		{"4 GiB reference grid", sizMarker(0xFFFFFFFF, 0xFFFFFFFF, 1, true), ErrLimit},
		{"no SIZ", []byte{0xFF, 0x4F, 0xFF, 0x52, 0, 2}, ErrFormat},
		{"truncated SIZ", sizMarker(64, 64, 1, true)[:20], ErrTruncated},
		{"JP2 box past the end", []byte{0, 0, 0, 12, 'j', 'P', ' ', ' ', 0x0D, 0x0A, 0x87, 0x0A, 0, 0, 1, 0, 'j', 'p', '2', 'c'}, ErrTruncated},
	} {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		_, err := DecodeJPEG2000(c.b, in)
		runtime.ReadMemStats(&after)
		if !errors.Is(err, c.kind) || !errors.Is(err, ErrFormat) {
			t.Errorf("%s: %v, want %v", c.name, err, c.kind)
		}
		if n := after.TotalAlloc - before.TotalAlloc; n > 64<<10 {
			t.Errorf("%s: %d bytes allocated before refusing", c.name, n)
		}
	}
	h, err := ReadJ2KHeader(sizMarker(64, 64, 1, true))
	if err != nil || h.Width != 64 || h.Height != 64 || h.Components != 1 || h.Precision[0] != 8 || h.Signed[0] {
		t.Errorf("good header: %+v, %v", h, err)
	}
	// A header that agrees but a codestream with nothing after it: the
	// decoder's refusal is a format error naming JPEG 2000.
	if _, err := DecodeJPEG2000(sizMarker(64, 64, 1, true), ImageInfo{Rows: 64, Columns: 64, Frames: 1, SamplesPerPixel: 1, BitsAllocated: 8, BitsStored: 8}); !errors.Is(err, ErrFormat) {
		t.Errorf("empty codestream: %v", err)
	}
}

// TestJPEG2000Refusals: a header disagreeing with the dataset, and a real
// frame cut short, are format errors; never a panic.
func TestJPEG2000Refusals(t *testing.T) {
	f, _ := Parse(readShared(t, "compressed/emri_small_jpeg_2k_lossless.dcm"))
	in, _ := f.Info()
	b, _ := frameFragments(f.Get(TagPixelData), in.Frames, 0)
	wrong := in
	wrong.Rows++
	if _, err := DecodeJPEG2000(b, wrong); !errors.Is(err, ErrFormat) {
		t.Errorf("rows disagree: %v", err)
	}
	narrow := in
	narrow.BitsAllocated, narrow.BitsStored, narrow.HighBit = 8, 8, 7
	if _, err := DecodeJPEG2000(b, narrow); !errors.Is(err, ErrFormat) {
		t.Errorf("12-bit codestream in 8 bits allocated: %v", err)
	}
	for _, cut := range []int{len(b) / 2, 60} {
		if _, err := DecodeJPEG2000(b[:cut], in); !errors.Is(err, ErrFormat) {
			t.Errorf("cut at %d of %d: %v", cut, len(b), err)
		}
	}
}

// FuzzDecodeJPEG2000: any bytes are refused by the header check or by the
// decoder with a format error, or decode to exactly the image's size.
// Small images only reach the decoder (one process per input).
func FuzzDecodeJPEG2000(f *testing.F) {
	fuzzDecoder(f, "compressed/emri_small_jpeg_2k_lossless.dcm", DecodeJPEG2000, false,
		sizMarker(64, 64, 65535, false), sizMarker(1<<16, 1<<15, 1, true))
}

// frameOf is frame n of a testdata file as stored.
func frameOf(t testing.TB, name string, n int) []byte {
	t.Helper()
	f, err := Parse(readShared(t, name))
	if err != nil {
		t.Fatal(err)
	}
	b, _, err := Frame(f, n)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
