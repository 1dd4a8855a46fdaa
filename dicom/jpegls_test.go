package dicom

import (
	"bytes"
	"errors"
	"testing"
)

// jpegLSPairs are JPEG-LS files with an uncompressed reference
// (testdata/README.md): pydicom-data's lossless MR and RGB files, against
// the original or DCMTK's dcmdjpls decoding, and files DCMTK's dcmcjpls
// encoded: near-lossless (NEAR 2), line-interleaved RGB, a 16×16 CR.
var jpegLSPairs = []struct{ native, jls string }{
	{"compressed/emri_small.dcm", "compressed/emri_small_jpeg_ls_lossless.dcm"},                     // 16-bit MR, 10 frames
	{"compressed/JLSL_RGB_ILV0_dcmdjpls.dcm", "compressed/JLSL_RGB_ILV0_part10.dcm"},                // RGB, not interleaved
	{"compressed/US1_UNCR.dcm", "compressed/US1_jpeg_ls_ilv1.dcm"},                                  // RGB ultrasound, line-interleaved
	{"pydicom-CR1.dcm", "compressed/CR1_jpeg_ls.dcm"},                                               // 16×16
	{"compressed/emri_small_jpeg_ls_near2_dcmdjpls.dcm", "compressed/emri_small_jpeg_ls_near2.dcm"}, // near-lossless, as DCMTK decodes it
}

// TestJPEGLSMatchesReference: JPEG-LS (ITU-T T.87) decodes pixel for pixel
// to the uncompressed original or to DCMTK's decoding, every frame; the
// near-lossless file is within NEAR (2) of the original everywhere; the
// frames render; transcoding gives the reference's pixel data (issue 16:
// "JPEG-LS lossless and near-lossless").
func TestJPEGLSMatchesReference(t *testing.T) {
	for _, p := range jpegLSPairs {
		checkDecodesTo(t, p.native, p.jls, 0, DecodeJPEGLS)
	}
	// Near-lossless: within NEAR of the true original.
	orig, _ := Parse(readShared(t, "compressed/emri_small.dcm"))
	near, _ := Parse(readShared(t, "compressed/emri_small_jpeg_ls_near2.dcm"))
	oin, _ := orig.Info()
	nin, _ := near.Info()
	for i := 0; i < nin.Frames; i++ {
		b, _ := frameFragments(near.Get(TagPixelData), nin.Frames, i)
		got, err := DecodeJPEGLS(b, nin)
		if err != nil {
			t.Fatal(err)
		}
		want := nativeFrame(t, orig, oin, i)
		for j := 0; j+1 < len(got); j += 2 {
			g, w := int(got[j])|int(got[j+1])<<8, int(want[j])|int(want[j+1])<<8
			if g-w > 2 || w-g > 2 {
				t.Fatalf("near-lossless frame %d sample %d: %d, original %d (NEAR 2)", i, j/2, g, w)
			}
		}
	}
}

// TestJPEGLSRefusals: a header disagreeing with the dataset or a stream cut
// anywhere is a format error, sample interleave "cannot preview"; never a
// panic.
func TestJPEGLSRefusals(t *testing.T) {
	jf, err := Parse(readShared(t, "compressed/CR1_jpeg_ls.dcm"))
	if err != nil {
		t.Fatal(err)
	}
	in, _ := jf.Info()
	b, _ := frameFragments(jf.Get(TagPixelData), in.Frames, 0)
	if _, err := DecodeJPEGLS(b, in); err != nil {
		t.Fatal(err)
	}
	wrong := in
	wrong.Columns++
	if _, err := DecodeJPEGLS(b, wrong); !errors.Is(err, ErrFormat) {
		t.Errorf("columns disagree: %v", err)
	}
	// Sample interleave (ILV 2) is valid but not decoded: "cannot preview".
	rgb, _ := Parse(readShared(t, "compressed/US1_jpeg_ls_ilv1.dcm"))
	rin, _ := rgb.Info()
	rb, _ := frameFragments(rgb.Get(TagPixelData), 1, 0)
	rb = bytes.Clone(rb)
	i := bytes.Index(rb, []byte{0xFF, 0xDA})
	rb[i+4+2*3+2] = 2 // SOS: length(2), Ns, 3 × (Ci, Tmi), NEAR, ILV
	if _, err := DecodeJPEGLS(rb, rin); !errors.Is(err, ErrCannotPreview) {
		t.Errorf("ILV 2: %v, want cannot preview", err)
	}
	for cut := 0; cut < len(b)-2; cut++ {
		if _, err := DecodeJPEGLS(b[:cut], in); !errors.Is(err, ErrFormat) {
			t.Fatalf("cut at %d of %d: %v", cut, len(b), err)
		}
	}
}

// FuzzDecodeJPEGLS: any stream decodes to exactly the image's size or is
// refused with a format error (or "cannot preview" for a feature left out).
func FuzzDecodeJPEGLS(f *testing.F) {
	fuzzDecoder(f, "compressed/CR1_jpeg_ls.dcm", DecodeJPEGLS, true)
}
