package dicom

import (
	"bytes"
	"testing"
)

// checkDecodesTo checks a compressed file of testdata against its
// uncompressed reference: every frame decoded by decode equals the
// reference's pixel data (with the pt low bits cleared, for a point
// transform), every frame renders, and the whole file transcoded to
// explicit VR little endian carries the reference's pixels (pt 0 only).
func checkDecodesTo(t *testing.T, native, coded string, pt uint, decode func([]byte, ImageInfo) ([]byte, error)) {
	t.Helper()
	nf, err := Parse(readShared(t, native))
	if err != nil {
		t.Fatal(err)
	}
	cf, err := Parse(readShared(t, coded))
	if err != nil {
		t.Fatal(err)
	}
	if !compressedDecoded(cf.TransferSyntax) {
		t.Fatalf("%s is %s", coded, cf.TransferSyntax)
	}
	nin, _ := nf.Info()
	cin, _ := cf.Info()
	pd := cf.Get(TagPixelData)
	for i := 0; i < cin.Frames; i++ {
		b, err := frameFragments(pd, cin.Frames, i)
		if err != nil {
			t.Fatal(err)
		}
		got, err := decode(b, cin)
		if err != nil {
			t.Fatalf("%s frame %d: %v", coded, i, err)
		}
		want := nativeFrame(t, nf, nin, i)
		if pt > 0 {
			for j := 0; j+1 < len(want); j += 2 {
				v := (uint16(want[j]) | uint16(want[j+1])<<8) >> pt << pt
				want[j], want[j+1] = byte(v), byte(v>>8)
			}
		}
		if !bytes.Equal(got, want) {
			n, first := 0, -1
			for j := range got {
				if got[j] != want[j] {
					if first < 0 {
						first = j
					}
					n++
				}
			}
			t.Fatalf("%s frame %d: %d of %d bytes differ from %s (first at byte %d)", coded, i, n, len(got), native, first)
		}
		if _, err := Render(cf, i, nil); err != nil {
			t.Errorf("render %s frame %d: %v", coded, i, err)
		}
	}
	if pt > 0 {
		return
	}
	out, err := Transcode(cf, ExplicitVRLittleEndian)
	if err != nil {
		t.Fatalf("transcode %s: %v", coded, err)
	}
	tf, err := Parse(out)
	if err != nil {
		t.Fatal(err)
	}
	tin, _ := tf.Info()
	for i := 0; i < tin.Frames; i++ {
		if !bytes.Equal(nativeFrame(t, tf, tin, i), nativeFrame(t, nf, nin, i)) {
			t.Fatalf("transcoded %s frame %d differs from %s", coded, i, native)
		}
	}
}
