package dicom

import (
	"bytes"
	"encoding/binary"
	"testing"
)

// ct512 is a synthetic 512×512 unsigned 12-in-16-bit CT with a file window.
func ct512() []byte {
	px := make([]byte, 0, 2*512*512)
	for i := 0; i < 512*512; i++ {
		px = binary.LittleEndian.AppendUint16(px, uint16((i*7)%4096))
	}
	els := greyElems(512, 512, 1, 16, false, "MONOCHROME2", px, false,
		&Element{Tag: TagWindowCenter, VR: "DS", Value: []byte("40")},
		&Element{Tag: TagWindowWidth, VR: "DS", Value: []byte("400")},
		&Element{Tag: TagRescaleIntercept, VR: "DS", Value: []byte("-1024")})
	return Encode(ExplicitVRLittleEndian, els)
}

// BenchmarkPreview512 is issue #5's "512×512 16-bit image rendered to a
// windowed PNG ≤ 30 ms": parse, render, PNG encode.
func BenchmarkPreview512(b *testing.B) {
	for _, c := range []struct {
		name string
		data []byte
	}{{"synthetic", ct512()}, {"tcia-5", readShared(b, "tcia-5.dcm")}} {
		b.Run(c.name, func(b *testing.B) {
			var buf bytes.Buffer
			for b.Loop() {
				f, err := Parse(c.data)
				if err != nil {
					b.Fatal(err)
				}
				img, err := Render(f, 0, nil)
				if err != nil {
					b.Fatal(err)
				}
				buf.Reset()
				if err := EncodePNG(&buf, img); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkParse(b *testing.B) {
	data := readShared(b, "tcia-1.dcm")
	for b.Loop() {
		if _, err := Parse(data); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseDeflated(b *testing.B) {
	data := readShared(b, "tcia-6.dcm")
	for b.Loop() {
		if _, err := Parse(data); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecode measures the decoders on real frames, as MB/s of decoded
// pixel data: go test ./dicom -run '^$' -bench Decode -cpu 1. JPEG 2000
// counts the opj_decompress process it starts for each frame.
func BenchmarkDecode(b *testing.B) {
	for _, c := range []struct{ name, file string }{
		{"RLE-MR16", "compressed/emri_small_RLE.dcm"},
		{"JPEGLossless-CT16-1024x256", "compressed/JPEG-LL.dcm"},
		{"JPEGLossless-8bit-1024x768", "compressed/JPGLosslessP14SV1_1s_1f_8b.dcm"},
		{"JPEGLS-MR16", "compressed/emri_small_jpeg_ls_dcmcjpls.dcm"},
		{"JPEGLS-RGB-US", "compressed/US1_jpeg_ls_ilv1.dcm"},
		{"JPEG12-MR16", "compressed/emri_small_jpeg_ext12.dcm"},
		{"JPEG12-CT16-1024x256", "compressed/JPEG-LL_jpeg_ext12.dcm"},
		{"J2KLossless-MR16", "compressed/emri_small_jpeg_2k_lossless.dcm"},
		{"J2KLossless-RGB-US", "compressed/US1_J2KR.dcm"},
		{"J2KLossy-RGB-US", "compressed/US1_J2KI.dcm"},
		{"DeflatedFrame-SEG1bit-512", "compressed/liver_deflate.dcm"},
	} {
		f, err := Parse(readShared(b, c.file))
		if err != nil {
			b.Fatal(err)
		}
		in, _ := f.Info()
		frame, err := frameFragments(f.Get(TagPixelData), in.Frames, 0)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(int64(frameBytes(in)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := decodeFrame(f.TransferSyntax, frame, in); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
